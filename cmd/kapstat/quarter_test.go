package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapstat/kapstat/reports"
)

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A quarter typed in lower case is the same quarter: 2025q1 must not take in the rows of
// 2025Q2 (the string "2025Q2" sorts before "2025q1"). Patients a and b are dosed on 2024-12-01
// and 2025-03-01: their acute windows end on 2025-01-26 (2025Q1) and 2025-04-26 (2025Q2).
func TestReportQuarterCase(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "assessments.csv", "patient_id,clinic_id,instrument,date,total\n"+
		"a,north,PHQ9,2024-11-30,20\na,north,PHQ9,2025-01-20,8\n"+
		"b,north,PHQ9,2025-02-28,18\nb,north,PHQ9,2025-04-20,6\n")
	s := writeFile(t, dir, "sessions.csv", "patient_id,clinic_id,date,session_type,route\n"+
		"a,north,2024-12-01,dosing,iv\nb,north,2025-03-01,dosing,iv\n")
	db := filepath.Join(dir, "k.duckdb")
	if _, errs, code := kapstat(t, "ingest", "--db", db, "--as-of", "2025-06-30", a, s); code != 0 {
		t.Fatalf("ingest: %s", errs)
	}
	dumps := map[string]string{}
	for _, q := range []string{"2025Q1", "2025q1"} {
		out := filepath.Join(dir, q+".xlsx")
		if _, errs, code := kapstat(t, "report", "--db", db, "--quarter", q, "--out", out); code != 0 {
			t.Fatalf("report %s: %s", q, errs)
		}
		d, err := reports.Dump(out)
		if err != nil {
			t.Fatal(err)
		}
		dumps[q] = d
	}
	if dumps["2025Q1"] != dumps["2025q1"] {
		t.Error("--quarter 2025q1 and 2025Q1 give different workbooks")
	}
	// As of 2025-03-31 patient b is still in the acute window: no 2025Q2 row, b counted apart.
	d := dumps["2025q1"]
	if strings.Contains(d, "2025Q2") {
		t.Error("the 2025Q1 workbook shows a row for 2025Q2")
	}
	if !strings.Contains(d, "Quarter 2025Q1.") {
		t.Error("the workbook does not name the quarter 2025Q1")
	}
}

// On a warehouse of day offsets nothing can be cut off at a quarter's end: --quarter is refused
// with one line, exit 1, and no workbook is written.
func TestReportQuarterRefusedWithOffsets(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "assessments.csv", "patient_id,clinic_id,instrument,day,total\np1,north,PHQ9,0,5\np1,north,PHQ9,40,3\n")
	db := filepath.Join(dir, "k.duckdb")
	if _, errs, code := kapstat(t, "ingest", "--db", db, a); code != 0 {
		t.Fatalf("ingest: %s", errs)
	}
	out := filepath.Join(dir, "r.xlsx")
	_, errs, code := kapstat(t, "report", "--db", db, "--quarter", "2026Q3", "--out", out)
	if code != 1 || !strings.Contains(errs, "day offsets") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Errorf("exit %d, stderr %q; want exit 1 and one line about day offsets", code, errs)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a workbook was written")
	}
	// Without --quarter the report is made, and analyze prints no NaN for a rate with no
	// patient (p1 starts below the cutoff of 10, so nobody is eligible for response).
	if _, errs, code := kapstat(t, "report", "--db", db, "--out", out); code != 0 {
		t.Errorf("report without --quarter: %s", errs)
	}
	stdout, _, _ := kapstat(t, "analyze", "--db", db)
	if strings.Contains(stdout, "NaN") {
		t.Errorf("analyze prints NaN: %s", stdout)
	}
}
