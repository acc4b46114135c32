package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/kapstat/kapstat/pipeline"
	"github.com/kapstat/kapstat/synth"
)

// newFlags returns a FlagSet whose errors and help go to stderr.
func newFlags(name, args string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: kapstat %s [flags] %s\n\nflags:\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags; -h is not an error (nil, true), a bad flag is a usage error.
func parse(fs *flag.FlagSet, args []string) (done bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return true, fmt.Errorf("%w: %s: %v", errUsage, fs.Name(), err)
	}
	return false, nil
}

func parseDate(flagName, s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return nil, fmt.Errorf("%w: --%s %q: want YYYY-MM-DD", errUsage, flagName, s)
	}
	return &t, nil
}

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fmt.Fprintf(stdout, "kapstat %s (warehouse schema %d)\n", pipeline.Version, pipeline.SchemaVersion)
	return nil
}

func runSynth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("synth", "", stderr)
	n := fs.Int("patients", 2000, "number of patients")
	seed := fs.Uint64("seed", 1, "random seed (the same seed writes the same bytes)")
	out := fs.String("out", "", "output directory (required)")
	end := fs.String("end", "2026-09-30", "no row is dated after this day")
	clean := fs.Bool("clean", false, "write no bad rows")
	if done, err := parse(fs, args); done {
		return err
	}
	if *out == "" {
		return fmt.Errorf("%w: synth: --out is required", errUsage)
	}
	e, err := parseDate("end", *end)
	if err != nil {
		return err
	}
	cfg := synth.Config{Patients: *n, Seed: *seed, End: *e, BadRows: !*clean}
	sum, err := synth.Write(*out, cfg)
	if err != nil {
		return err
	}
	for i, rows := range []int{sum.AssessmentRows, sum.SessionRows, sum.PatientRows} {
		fmt.Fprintf(stdout, "%s (%d rows)\n", filepath.Join(*out, synth.Files[i]), rows)
	}
	return nil
}

type ingestFlags struct {
	db, lake, config, asOf, mapFile *string
	json, replace                   *bool
}

func addIngestFlags(fs *flag.FlagSet, withDB bool) ingestFlags {
	var f ingestFlags
	if withDB {
		f.db = fs.String("db", "kapstat.duckdb", "warehouse file")
		f.lake = fs.String("lake", "", "Parquet lake directory (default: lake/ beside the warehouse)")
		f.replace = fs.Bool("replace", false, "load the files again even if ingested before, replacing every earlier load of the same content or path in the same transaction")
	}
	f.config = fs.String("config", "", "TOML file with definitions' parameters")
	f.mapFile = fs.String("map", "", "mapping file (TOML) for inputs not in the canonical format")
	f.asOf = fs.String("as-of", "", "rows dated after this day are quarantined as future_date (default: today)")
	f.json = fs.Bool("json", false, "print a JSON summary of each file's counts")
	return f
}

func (f ingestFlags) options() (pipeline.IngestOptions, error) {
	cfg, err := pipeline.LoadConfig(*f.config)
	if err != nil {
		return pipeline.IngestOptions{}, err
	}
	opt := pipeline.IngestOptions{Config: cfg, Map: *f.mapFile}
	if f.replace != nil {
		opt.Replace = *f.replace
	}
	asOf, err := parseDate("as-of", *f.asOf)
	if err != nil {
		return opt, err
	}
	if asOf != nil {
		opt.AsOf = *asOf
	}
	return opt, nil
}

func printReports(w io.Writer, reports []*pipeline.FileReport, asJSON bool) {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(reports)
		return
	}
	for _, r := range reports {
		if r.Skipped {
			fmt.Fprintf(w, "%s: skipped, %s\n", r.Path, r.SkipReason)
			continue
		}
		fmt.Fprintf(w, "%s (%s): %d rows read = %d accepted + %d duplicates + %d quarantined\n",
			r.Path, r.Kind, r.RowsRead, r.Accepted, r.Duplicates, r.Quarantined)
	}
}

func runIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("ingest", "FILE...", stderr)
	f := addIngestFlags(fs, true)
	if done, err := parse(fs, args); done {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: ingest: no input files", errUsage)
	}
	opt, err := f.options()
	if err != nil {
		return err
	}
	w, err := pipeline.OpenWarehouse(ctx, *f.db, *f.lake, false)
	if err != nil {
		return err
	}
	pl, stdout, _ := startProgress(stdout, stderr)
	defer pl.Close()
	opt.Progress = pl.Func("ingest")
	reports, err := w.Ingest(ctx, fs.Args(), opt)
	pl.Clear()
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	printReports(stdout, reports, *f.json)
	return nil
}

func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("validate", "FILE...", stderr)
	f := addIngestFlags(fs, false)
	if done, err := parse(fs, args); done {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: validate: no input files", errUsage)
	}
	opt, err := f.options()
	if err != nil {
		return err
	}
	pl, stdout, _ := startProgress(stdout, stderr)
	defer pl.Close()
	opt.Progress = pl.Func("validate")
	reports, findings, err := pipeline.Validate(ctx, fs.Args(), opt)
	pl.Clear()
	if err != nil {
		return err
	}
	for _, fd := range findings {
		fmt.Fprintln(stdout, fd.String())
	}
	printReports(stdout, reports, *f.json)
	if len(findings) > 0 {
		return fmt.Errorf("%w: %d rows would be quarantined", errQuiet, len(findings))
	}
	return nil
}

func runAnalyze(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("analyze", "", stderr)
	db := fs.String("db", "kapstat.duckdb", "warehouse file")
	config := fs.String("config", "", "TOML file with definitions' parameters")
	asOf := fs.String("as-of", "", "ignore every row dated after this day (YYYY-MM-DD)")
	jsonOut := fs.String("json", "", "write the analysis JSON to this file (- for stdout)")
	if done, err := parse(fs, args); done {
		return err
	}
	cfg, err := pipeline.LoadConfig(*config)
	if err != nil {
		return err
	}
	t, err := parseDate("as-of", *asOf)
	if err != nil {
		return err
	}
	// Writable (the analysis tables are written), but never created: a mistyped path is an error.
	w, err := pipeline.Open(ctx, *db, pipeline.OpenOptions{})
	if err != nil {
		return err
	}
	pl, stdout, _ := startProgress(stdout, stderr)
	defer pl.Close()
	a, err := w.Analyze(ctx, pipeline.AnalyzeOptions{Config: cfg, AsOf: t, Write: true, Progress: pl.Func("analyze")})
	pl.Clear()
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if *jsonOut != "" {
		if err := writeJSON(*jsonOut, a, stdout); err != nil {
			return err
		}
	}
	if *jsonOut != "-" {
		printAnalysisSummary(stdout, a)
	}
	return nil
}

func printAnalysisSummary(w io.Writer, a *pipeline.Analysis) {
	fmt.Fprintf(w, "%d patients, %d treated\n", a.Cohort.Patients, a.Cohort.Treated)
	for _, m := range a.Instruments() {
		fmt.Fprintf(w, "%s: %d with baseline (%d still in the acute window), %d with endpoint; mean change %s; response %s (completers), remission %s\n",
			m.Name, m.WithBaseline, m.AcuteWindowOpen, m.WithEndpoint, orNA(m.Change.Mean, "%.1f", 1), orNA(m.Response.Rate, "%.1f%%", 100),
			orNA(m.Remission.Rate, "%.1f%%", 100))
	}
}

// orNA formats scale·v, or "n/a" when v is undefined (no patient to compute it on).
func orNA(v float64, format string, scale float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	return fmt.Sprintf(format, scale*v)
}

// writeJSON writes v indented to path atomically (temporary name, then rename), or to stdout for "-".
func writeJSON(path string, v any, stdout io.Writer) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "-" {
		_, err := stdout.Write(b)
		return err
	}
	return writeFileAtomic(path, b)
}

func writeFileAtomic(path string, b []byte) error {
	// An ordinary file's mode, the user's umask applied (the analysis holds per-patient data).
	tmp, err := pipeline.CreateOutputTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func runRetract(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("retract", "RUN", stderr)
	db := fs.String("db", "kapstat.duckdb", "warehouse file")
	lake := fs.String("lake", "", "Parquet lake directory (default: lake/ beside the warehouse)")
	if done, err := parse(fs, args); done {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: retract: give one run id (the run_id column of ingest_runs)", errUsage)
	}
	run, err := strconv.Atoi(fs.Arg(0))
	if err != nil || run <= 0 {
		return fmt.Errorf("%w: retract: run %q: want a positive integer", errUsage, fs.Arg(0))
	}
	w, err := pipeline.Open(ctx, *db, pipeline.OpenOptions{Lake: *lake})
	if err != nil {
		return err
	}
	gone, err := w.Retract(ctx, run, time.Now())
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	for _, r := range gone {
		fmt.Fprintf(stdout, "retracted run %d file %d: %s (%d rows read)\n", r.Run, r.File, r.Path, r.Rows)
	}
	fmt.Fprintln(stdout, "the analysis tables are those of the last analyze: run kapstat analyze to update them")
	return nil
}

func runSQL(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sql", "QUERY", stderr)
	db := fs.String("db", "kapstat.duckdb", "warehouse file")
	mem := fs.String("memory-limit", pipeline.DefaultQueryLimits.Memory, "DuckDB memory for the query; past it DuckDB spills to temporary files")
	tmp := fs.String("temp-limit", pipeline.DefaultQueryLimits.Temp, "most temporary file space the query may use")
	if done, err := parse(fs, args); done {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: sql: give one query (quote it)", errUsage)
	}
	w, err := pipeline.OpenWarehouse(ctx, *db, "", true)
	if err != nil {
		return err
	}
	defer w.Close()
	// Rows are written as DuckDB hands them over: a large result is streamed, never held.
	cw := csv.NewWriter(stdout)
	err = w.Query(ctx, fs.Arg(0), pipeline.QueryLimits{Memory: *mem, Temp: *tmp}, func(rec []string) error {
		return cw.Write(rec)
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	return err
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", "", stderr)
	dir := fs.String("dir", "kapstat-demo", "output directory")
	n := fs.Int("patients", 2000, "number of synthetic patients")
	seed := fs.Uint64("seed", 1, "random seed")
	if done, err := parse(fs, args); done {
		return err
	}
	start := time.Now()
	pl, stdout, stderr := startProgress(stdout, stderr)
	defer pl.Close()
	// Start from a clean slate in the demo directory, touching only what the demo writes.
	for _, p := range []string{"kapstat.duckdb", "kapstat.duckdb.wal", "lake", "cohort", "report.xlsx", "analysis.json"} {
		if err := os.RemoveAll(filepath.Join(*dir, p)); err != nil {
			return err
		}
	}
	cohort := filepath.Join(*dir, "cohort")
	end := time.Date(2026, 9, 30, 0, 0, 0, 0, time.UTC)
	pl.Step("synth", "writing the cohort")
	sum, err := synth.Write(cohort, synth.Config{Patients: *n, Seed: *seed, End: end, BadRows: true})
	pl.Clear()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "synth: %d patients, %d assessment rows, %d session rows, %d patients rows\n",
		sum.Patients, sum.AssessmentRows, sum.SessionRows, sum.PatientRows)
	cfg := pipeline.DefaultConfig()
	dbPath := filepath.Join(*dir, "kapstat.duckdb")
	w, err := pipeline.OpenWarehouse(ctx, dbPath, "", false)
	if err != nil {
		return err
	}
	var files []string
	for _, name := range synth.Files {
		files = append(files, filepath.Join(cohort, name))
	}
	reports, err := w.Ingest(ctx, files, pipeline.IngestOptions{Config: cfg, AsOf: end, Progress: pl.Func("ingest")})
	pl.Clear()
	if err != nil {
		w.Close()
		return err
	}
	printReports(stderr, reports, false)
	// The synthetic data end on the same day: analysed as of then, the latest patients are
	// still in their acute window, as they would be in a real export.
	a, err := w.Analyze(ctx, pipeline.AnalyzeOptions{Config: cfg, AsOf: &end, Write: true, Progress: pl.Func("analyze")})
	pl.Clear()
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	jsonPath := filepath.Join(*dir, "analysis.json")
	if err := writeJSON(jsonPath, a, stdout); err != nil {
		return err
	}
	xlsx := filepath.Join(*dir, "report.xlsx")
	if err := writeReport(ctx, dbPath, xlsx, reportOptions{quarter: "2026Q3", audience: "internal", config: cfg, log: stderr, progress: pl}); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "done in %.1fs\n", time.Since(start).Seconds())
	for _, p := range []string{dbPath, filepath.Join(*dir, "lake") + string(filepath.Separator), jsonPath, xlsx} {
		fmt.Fprintln(stdout, p)
	}
	return nil
}
