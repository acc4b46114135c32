package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kapstat/kapstat/synth"
)

// BenchmarkPipeline times ingest and analyze of a synthetic cohort. The size comes from
// KAPSTAT_BENCH_PATIENTS (default 20000), e.g.
//
//	KAPSTAT_BENCH_PATIENTS=100000 go test ./pipeline -run '^$' -bench Pipeline -benchtime 1x
func BenchmarkPipeline(b *testing.B) {
	n := 20000
	if s := os.Getenv("KAPSTAT_BENCH_PATIENTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	dir := b.TempDir()
	sum, err := synth.Write(filepath.Join(dir, "cohort"), synth.Config{Patients: n, Seed: 1, End: testAsOf, BadRows: true})
	if err != nil {
		b.Fatal(err)
	}
	files := []string{filepath.Join(dir, "cohort", "assessments.csv"), filepath.Join(dir, "cohort", "sessions.csv")}
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		db := filepath.Join(dir, strconv.Itoa(i), "k.duckdb")
		os.MkdirAll(filepath.Dir(db), 0o755)
		w, err := OpenWarehouse(ctx, db, "", false)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if _, err := w.Ingest(ctx, files, testOptions()); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := w.Analyze(ctx, AnalyzeOptions{Config: DefaultConfig(), Write: true}); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		w.Close()
		b.ReportMetric(float64(sum.AssessmentRows+sum.SessionRows)/t1.Sub(t0).Seconds(), "ingest-rows/s")
		b.ReportMetric(t1.Sub(t0).Seconds(), "ingest-s")
		b.ReportMetric(t2.Sub(t1).Seconds(), "analyze-s")
	}
}

// BenchmarkIngestVsDuckDB ingests the synthetic assessments CSV and, in the same run on the
// same file, times DuckDB's own CSV → Parquet copy (the floor for ingest):
//
//	KAPSTAT_BENCH_PATIENTS=100000 go test ./pipeline -run '^$' -bench IngestVsDuckDB -benchtime 1x
func BenchmarkIngestVsDuckDB(b *testing.B) {
	n := 20000
	if s := os.Getenv("KAPSTAT_BENCH_PATIENTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	dir := b.TempDir()
	sum, err := synth.Write(filepath.Join(dir, "cohort"), synth.Config{Patients: n, Seed: 1, End: testAsOf, BadRows: true})
	if err != nil {
		b.Fatal(err)
	}
	csvPath := filepath.Join(dir, "cohort", "assessments.csv")
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		mem, err := OpenWarehouse(ctx, "", "", false)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if _, err := mem.DB().Exec(`COPY (SELECT * FROM read_csv(` + sqlString(csvPath) + `)) TO ` +
			sqlString(filepath.Join(dir, "duck.parquet")) + ` (FORMAT parquet, COMPRESSION zstd)`); err != nil {
			b.Fatal(err)
		}
		duck := time.Since(t0)
		mem.Close()
		db := filepath.Join(dir, strconv.Itoa(i), "k.duckdb")
		os.MkdirAll(filepath.Dir(db), 0o755)
		w, err := OpenWarehouse(ctx, db, "", false)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := w.Ingest(ctx, []string{csvPath}, testOptions()); err != nil {
			b.Fatal(err)
		}
		ours := time.Since(t1)
		w.Close()
		b.ReportMetric(float64(sum.AssessmentRows)/ours.Seconds(), "rows/s")
		b.ReportMetric(duck.Seconds(), "duckdb-copy-s")
		b.ReportMetric(ours.Seconds(), "ingest-s")
		b.ReportMetric(ours.Seconds()/duck.Seconds(), "ratio")
	}
}

// BenchmarkAnalyze times analyze alone on an ingested warehouse given by KAPSTAT_BENCH_DB
// (skipped without it), e.g. after `kapstat ingest --db /tmp/k.duckdb ...`:
//
//	KAPSTAT_BENCH_DB=/tmp/k.duckdb go test ./pipeline -run '^$' -bench Analyze -benchtime 1x
func BenchmarkAnalyze(b *testing.B) {
	db := os.Getenv("KAPSTAT_BENCH_DB")
	if db == "" {
		b.Skip("set KAPSTAT_BENCH_DB to an ingested warehouse")
	}
	ctx := context.Background()
	// KAPSTAT_BENCH_WRITE=1: also write the analysis tables and the stored analysis, as
	// kapstat analyze does (the warehouse is then opened for writing).
	write := os.Getenv("KAPSTAT_BENCH_WRITE") == "1"
	w, err := OpenWarehouse(ctx, db, "", !write)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	opt := AnalyzeOptions{Config: DefaultConfig(), Write: write}
	if os.Getenv("KAPSTAT_BENCH_STEPS") != "" {
		// one line per step with the seconds since the last one
		last, prev := time.Now(), ""
		opt.Progress = func(stage string, done, total int64) {
			if stage != prev {
				if h := os.Getenv("KAPSTAT_BENCH_HEAP"); h != "" && strings.HasPrefix(stage, os.Getenv("KAPSTAT_BENCH_HEAP_AT")) {
					// the live heap when the step named begins
					runtime.GC()
					if f, err := os.Create(h); err == nil {
						pprof.WriteHeapProfile(f)
						f.Close()
					}
				}
				fmt.Fprintf(os.Stderr, "%6.2fs  %s\n", time.Since(last).Seconds(), prev)
				last, prev = time.Now(), stage
			}
		}
	}
	for i := 0; i < b.N; i++ {
		if _, err := w.Analyze(ctx, opt); err != nil {
			b.Fatal(err)
		}
	}
}
