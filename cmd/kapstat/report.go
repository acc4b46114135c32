package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/kapstat/kapstat/internal/progress"
	"github.com/kapstat/kapstat/measures/outcome"
	"github.com/kapstat/kapstat/pipeline"
	"github.com/kapstat/kapstat/reports"
)

type reportOptions struct {
	quarter, audience string
	config            pipeline.Config
	// log receives one line saying whether the stored analysis was used, and if not why
	// (nil: not said).
	log      io.Writer
	progress *progress.Line // nil: none
}

// writeReport writes the workbook of the warehouse as of the quarter's last day (or as of
// today for dated data). When kapstat analyze stored the analysis this would compute (same
// as-of day, configuration, build and ingested files), the workbook is written from it;
// otherwise the warehouse is analysed again, and the line on log says why. Either way a
// report for a past quarter rerun later gives the same numbers.
func writeReport(ctx context.Context, db, out string, opt reportOptions) error {
	if opt.audience != "internal" && opt.audience != "external" {
		return fmt.Errorf("%w: --audience %q: want internal or external", errUsage, opt.audience)
	}
	var asOf *time.Time
	if opt.quarter != "" {
		var err error
		if opt.quarter, err = normalizeQuarter(opt.quarter); err != nil {
			return err
		}
		if asOf, err = quarterEnd(opt.quarter); err != nil {
			return err
		}
	}
	w, err := pipeline.OpenWarehouse(ctx, db, "", true)
	if err != nil {
		return err
	}
	aopt := pipeline.AnalyzeOptions{Config: opt.config, AsOf: asOf, Quarter: opt.quarter}
	opt.progress.Step("report", "reading the stored analysis")
	a, why, err := w.StoredAnalysis(ctx, aopt)
	opt.progress.Clear()
	if err == nil && a == nil {
		aopt.Progress = opt.progress.Func("analyze")
		a, err = w.Analyze(ctx, aopt)
		opt.progress.Clear()
		if err == nil && opt.log != nil {
			fmt.Fprintf(opt.log, "report: analysed the warehouse (%s)\n", why)
		}
	} else if err == nil && opt.log != nil {
		fmt.Fprintf(opt.log, "report: from the analysis kapstat analyze stored (%s)\n", asOfText(a))
	}
	w.Close()
	if err != nil {
		return err
	}
	return reportFrom(out, a, opt)
}

func asOfText(a *pipeline.Analysis) string {
	if a.AsOf == nil {
		return "every window closed"
	}
	return "as of " + *a.AsOf
}

// reportFrom writes the workbook of an analysis already made.
func reportFrom(out string, a *pipeline.Analysis, opt reportOptions) error {
	err := reports.Write(out, a, reports.Options{Audience: opt.audience, Quarter: opt.quarter,
		SuppressBelow: opt.config.SuppressBelow, Now: reportTime(), Progress: opt.progress.Func("workbook")})
	opt.progress.Clear()
	return err
}

// reportTime is the workbook's creation time: now, or SOURCE_DATE_EPOCH (seconds since
// 1970) when set, the reproducible-builds convention, so that a workbook can be rebuilt byte
// for byte.
func reportTime() time.Time {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.Unix(n, 0).UTC()
		}
	}
	return time.Now()
}

// normalizeQuarter is the canonical form of a quarter typed on the command line or in a job
// ("2026q3" is 2026Q3), so that comparisons and output names do not depend on the case.
func normalizeQuarter(q string) (string, error) {
	n, err := outcome.NormalizeQuarter(q)
	if err != nil {
		return "", fmt.Errorf("%w: quarter: %v", errUsage, err)
	}
	return n, nil
}

// quarterEnd is the last day of a quarter such as 2026Q3.
func quarterEnd(q string) (*time.Time, error) {
	_, last, err := outcome.QuarterBounds(q)
	if err != nil {
		return nil, fmt.Errorf("%w: quarter: %v", errUsage, err)
	}
	t := pipeline.DayDate(int32(last))
	return &t, nil
}

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("report", "", stderr)
	db := fs.String("db", "kapstat.duckdb", "warehouse file")
	config := fs.String("config", "", "TOML file with definitions' parameters")
	quarter := fs.String("quarter", "", "report the quarter, e.g. 2026Q3 (as of its last day)")
	audience := fs.String("audience", "internal", "internal, or external (no patient-level sheets, small counts suppressed)")
	out := fs.String("out", "report.xlsx", "workbook to write")
	if done, err := parse(fs, args); done {
		return err
	}
	cfg, err := pipeline.LoadConfig(*config)
	if err != nil {
		return err
	}
	pl, stdout, stderr := startProgress(stdout, stderr)
	defer pl.Close()
	if err := writeReport(ctx, *db, *out, reportOptions{quarter: *quarter, audience: *audience, config: cfg, log: stderr, progress: pl}); err != nil {
		return err
	}
	fmt.Fprintln(stdout, *out)
	return nil
}

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", "", stderr)
	db := fs.String("db", "kapstat.duckdb", "warehouse file")
	out := fs.String("out", "", "output directory (required)")
	format := fs.String("format", "parquet", "parquet or csv")
	if done, err := parse(fs, args); done {
		return err
	}
	if *out == "" {
		return fmt.Errorf("%w: export: --out is required", errUsage)
	}
	w, err := pipeline.OpenWarehouse(ctx, *db, "", true)
	if err != nil {
		return err
	}
	defer w.Close()
	pl, stdout, _ := startProgress(stdout, stderr)
	defer pl.Close()
	files, err := w.Export(ctx, *out, *format, pipeline.ExportOptions{Progress: pl.Func("export")})
	pl.Clear()
	if err != nil {
		return err
	}
	for _, f := range files {
		fmt.Fprintln(stdout, f)
	}
	return nil
}
