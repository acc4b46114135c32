package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/kapstat/kapstat/internal/progress"
	"github.com/kapstat/kapstat/pipeline"
)

// runJob runs a declared batch job: ingest every input with its map, analyze (as of the
// quarter's end when a quarter is given), then write the JSON, the workbooks and the export.
// It ends with one line for monitoring, on stdout, starting "ok" or "FAILED".
func runJob(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", "JOB.toml", stderr)
	if done, err := parse(fs, args); done {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: run: give one job file", errUsage)
	}
	start := time.Now()
	pl, stdout, stderr := startProgress(stdout, stderr)
	defer pl.Close()
	summary, err := job(ctx, fs.Arg(0), start, stderr, pl)
	if err != nil {
		fmt.Fprintf(stdout, "FAILED %s: %v (%.1fs)\n", fs.Arg(0), err, time.Since(start).Seconds())
		return fmt.Errorf("%w: %v", errQuiet, err)
	}
	fmt.Fprintf(stdout, "ok %s: %s (%.1fs)\n", fs.Arg(0), summary, time.Since(start).Seconds())
	return nil
}

func job(ctx context.Context, path string, now time.Time, stderr io.Writer, pl *progress.Line) (string, error) {
	j, err := pipeline.LoadJob(path)
	if err != nil {
		return "", err
	}
	cfg, err := pipeline.LoadConfig(j.Path(j.Config))
	if err != nil {
		return "", err
	}
	quarter, err := j.ResolveQuarter(now)
	if err != nil {
		return "", err
	}
	inputs, err := j.Files()
	if err != nil {
		return "", err
	}
	// Everything the job declares is checked before anything is written.
	if err := j.Check(quarter, inputs); err != nil {
		return "", err
	}
	var asOf *time.Time
	if quarter != "" {
		if asOf, err = quarterEnd(quarter); err != nil {
			return "", err
		}
	}
	db := j.Path(j.Warehouse)
	if err := os.MkdirAll(filepath.Dir(db), 0o755); err != nil {
		return "", err
	}
	w, err := pipeline.OpenWarehouse(ctx, db, j.Path(j.Lake), false)
	if err != nil {
		return "", err
	}
	opt := pipeline.IngestOptions{Config: cfg, Maps: map[string]string{}, Progress: pl.Func("ingest")}
	var files []string
	for _, in := range inputs {
		files = append(files, in.Files)
		opt.Maps[in.Files] = in.Map
	}
	reports, err := w.Ingest(ctx, files, opt)
	pl.Clear()
	if err != nil {
		w.Close()
		return "", err
	}
	printReports(stderr, reports, false)
	a, err := w.Analyze(ctx, pipeline.AnalyzeOptions{Config: cfg, AsOf: asOf, Quarter: quarter, Write: true, Progress: pl.Func("analyze")})
	pl.Clear()
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	outs := 0
	if j.Outputs.JSON != "" {
		if err := mkWriteJSON(j.OutputPath(j.Outputs.JSON, quarter), a); err != nil {
			return "", err
		}
		outs++
	}
	for _, wb := range j.Outputs.Workbooks {
		p := j.OutputPath(wb.Path, quarter)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		// The job's analysis is the one writeReport would compute (same warehouse, config and
		// as-of): every workbook is written from it rather than analysing again.
		if err := reportFrom(p, a, reportOptions{quarter: quarter, audience: wb.Audience, config: cfg, progress: pl}); err != nil {
			return "", err
		}
		outs++
	}
	if e := j.Outputs.Export; e != nil {
		format := e.Format
		if format == "" {
			format = "parquet"
		}
		rw, err := pipeline.OpenWarehouse(ctx, db, "", true)
		if err != nil {
			return "", err
		}
		_, err = rw.Export(ctx, j.OutputPath(e.Dir, quarter), format, pipeline.ExportOptions{Progress: pl.Func("export")})
		pl.Clear()
		rw.Close()
		if err != nil {
			return "", err
		}
		outs++
	}
	var read, acc, dup, quar, skipped int64
	for _, r := range reports {
		if r.Skipped {
			skipped++
		}
		read, acc, dup, quar = read+r.RowsRead, acc+r.Accepted, dup+r.Duplicates, quar+r.Quarantined
	}
	q := quarter
	if q == "" {
		q = "all"
	}
	return fmt.Sprintf("quarter=%s files=%d skipped=%d rows_read=%d accepted=%d duplicates=%d quarantined=%d patients=%d treated=%d outputs=%d",
		q, len(reports), skipped, read, acc, dup, quar, a.Cohort.Patients, a.Cohort.Treated, outs), nil
}

func mkWriteJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return writeJSON(path, v, io.Discard)
}
