package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

var testAsOf = time.Date(2026, 9, 30, 0, 0, 0, 0, time.UTC)

func testOptions() IngestOptions {
	return IngestOptions{Config: DefaultConfig(), AsOf: testAsOf,
		Now: func() time.Time { return time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC) }}
}

func openTemp(t *testing.T) (*Warehouse, string) {
	t.Helper()
	dir := t.TempDir()
	w, err := OpenWarehouse(context.Background(), filepath.Join(dir, "kapstat.duckdb"), "", false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w, dir
}

func count(t *testing.T, w *Warehouse, q string) int64 {
	t.Helper()
	var n int64
	if err := w.DB().QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestValidateBadRows: one row of each reason in testdata/bad-rows.csv (16 data rows).
func TestValidateBadRows(t *testing.T) {
	reports, findings, err := Validate(context.Background(), []string{"testdata/bad-rows.csv"}, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	r := reports[0]
	// Rows: ok-1 twice (1 accepted, 1 duplicate), ok-2 (PHQ-9 with items 8–9 missing, prorated
	// 7/7×9 = 9, accepted), 11 bad single rows and the bad-11 conflicting pair: 2+1+13 = 16.
	want := FileReport{Path: "testdata/bad-rows.csv", SHA256: r.SHA256, Kind: KindAssessments,
		RowsRead: 16, Accepted: 2, Duplicates: 1, Quarantined: 13,
		Reasons: map[string]int64{
			ReasonMissingField: 1, ReasonUnknownInstrument: 1, ReasonBadDate: 1, ReasonFutureDate: 1,
			ReasonNotInteger: 1, ReasonOutOfRange: 2, ReasonExtraItem: 1, ReasonTooManyMissing: 1,
			ReasonTotalMismatch: 1, ReasonMalformed: 1, ReasonConflict: 2, "duplicate": 1,
		}}
	if !reflect.DeepEqual(*r, want) {
		t.Errorf("report\n got %+v\nwant %+v", *r, want)
	}
	wantLines := map[int]string{5: ReasonMissingField, 6: ReasonUnknownInstrument, 7: ReasonBadDate, 8: ReasonFutureDate,
		9: ReasonNotInteger, 10: ReasonOutOfRange, 11: ReasonExtraItem, 12: ReasonTooManyMissing, 13: ReasonTotalMismatch,
		14: ReasonMalformed, 15: ReasonConflict, 16: ReasonConflict, 17: ReasonOutOfRange}
	got := map[int]string{}
	for _, f := range findings {
		if f.File != "testdata/bad-rows.csv" || f.Raw == "" {
			t.Errorf("finding without file or raw row: %+v", f)
		}
		got[f.Line] = f.Reason
	}
	if !reflect.DeepEqual(got, wantLines) {
		t.Errorf("findings by line\n got %v\nwant %v", got, wantLines)
	}
}

func TestIngestExamplesTwice(t *testing.T) {
	w, dir := openTemp(t)
	ctx := context.Background()
	files := []string{"testdata/example-assessments.csv", "testdata/example-sessions.csv"}
	reports, err := w.Ingest(ctx, files, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	// The published examples are clean: 53 assessment rows and 21 session rows, all accepted.
	if r := reports[0]; r.RowsRead != 53 || r.Accepted != 53 || r.Quarantined != 0 || r.Duplicates != 0 {
		t.Errorf("assessments: %+v", r)
	}
	if r := reports[1]; r.Kind != KindSessions || r.RowsRead != 21 || r.Accepted != 21 {
		t.Errorf("sessions: %+v", r)
	}
	tables := []string{"assessments", "sessions", "quarantine", "ingest_runs"}
	before := map[string]int64{}
	for _, tb := range tables {
		before[tb] = count(t, w, "SELECT count(*) FROM "+tb)
	}
	lakeBefore := lakeFiles(t, filepath.Join(dir, "lake"))
	again, err := w.Ingest(ctx, files, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range again {
		if !r.Skipped || r.SkipReason == "" {
			t.Errorf("second ingest of %s not skipped: %+v", r.Path, r)
		}
	}
	for _, tb := range tables {
		if n := count(t, w, "SELECT count(*) FROM "+tb); n != before[tb] {
			t.Errorf("%s: %d rows after re-ingest, %d before", tb, n, before[tb])
		}
	}
	if got := lakeFiles(t, filepath.Join(dir, "lake")); !reflect.DeepEqual(got, lakeBefore) {
		t.Errorf("lake changed: %v -> %v", lakeBefore, got)
	}
	// DuckDB reads the lake as it is, with the Hive partitions.
	q := `SELECT count(*) FROM read_parquet('` + filepath.Join(dir, "lake") + `/assessments/**/*.parquet', hive_partitioning = true)
		WHERE instrument = 'PHQ9' AND year = 2025`
	if n, want := count(t, w, q), count(t, w, `SELECT count(*) FROM assessments WHERE instrument = 'PHQ9' AND year = '2025'`); n != want || n == 0 {
		t.Errorf("lake PHQ9/2025 rows %d, warehouse %d", n, want)
	}
}

func lakeFiles(t *testing.T, dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}
