package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kapstat/kapstat/pipeline"
	"github.com/kapstat/kapstat/reports"
)

// kapstat runs the command line in-process and returns stdout, stderr and the exit code.
func kapstat(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	if err != nil {
		errb.WriteString(err.Error())
	}
	return out.String(), errb.String(), exitCode(err)
}

func TestUsage(t *testing.T) {
	if _, _, code := kapstat(t); code != 2 {
		t.Errorf("no command: exit %d, want 2", code)
	}
	if _, _, code := kapstat(t, "frobnicate"); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
	if _, _, code := kapstat(t, "ingest", "--nope"); code != 2 {
		t.Errorf("bad flag: exit %d, want 2", code)
	}
	if _, _, code := kapstat(t, "ingest", "-h"); code != 0 {
		t.Errorf("-h: exit %d, want 0", code)
	}
}

func TestValidateExitCodes(t *testing.T) {
	bad := filepath.Join("..", "..", "pipeline", "testdata", "bad-rows.csv")
	out, _, code := kapstat(t, "validate", "--as-of", "2026-09-30", bad)
	if code != 1 {
		t.Fatalf("bad rows: exit %d, want 1", code)
	}
	// Each bad row is listed with file, line and reason (pipeline/testdata/bad-rows.csv).
	for _, want := range []string{
		bad + ":5 column patient_id: missing_field",
		bad + ":6 column instrument: unknown_instrument",
		bad + ":7 column date: bad_date",
		bad + ":8 column date: future_date",
		bad + ":9 column item_4: not_integer",
		bad + ":10 column item_3: out_of_range",
		bad + ":11 column item_8: extra_item",
		bad + ":12: too_many_missing",
		bad + ":13 column total: total_mismatch",
		bad + ":14: malformed_row",
		bad + ":15: conflict",
		bad + ":16: conflict",
		bad + ":17 column total: out_of_range",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("validate output lacks %q:\n%s", want, out)
		}
	}
	clean := filepath.Join("..", "..", "pipeline", "testdata", "example-assessments.csv")
	if out, _, code := kapstat(t, "validate", "--as-of", "2026-09-30", clean); code != 0 {
		t.Errorf("clean file: exit %d, want 0\n%s", code, out)
	}
}

func TestIngestTwiceAndSQL(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "k.duckdb")
	files := []string{filepath.Join("..", "..", "pipeline", "testdata", "example-assessments.csv"),
		filepath.Join("..", "..", "pipeline", "testdata", "example-sessions.csv")}
	out, errs, code := kapstat(t, append([]string{"ingest", "--db", db, "--as-of", "2026-09-30"}, files...)...)
	if code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "53 rows read = 53 accepted + 0 duplicates + 0 quarantined") {
		t.Errorf("ingest output: %s", out)
	}
	out, _, code = kapstat(t, append([]string{"ingest", "--db", db, "--as-of", "2026-09-30"}, files...)...)
	if code != 0 || strings.Count(out, "skipped, same content already ingested in run 1") != 2 {
		t.Errorf("second ingest: exit %d\n%s", code, out)
	}
	out, errs, code = kapstat(t, "sql", "--db", db, "SELECT count(*) AS n FROM assessments")
	if code != 0 || out != "n\n53\n" {
		t.Errorf("sql count: exit %d %q %s", code, out, errs)
	}
	for _, q := range []string{"DROP TABLE assessments", "DELETE FROM assessments",
		"COPY (SELECT 1) TO '" + filepath.Join(dir, "x.csv") + "'", "SET enable_external_access = true"} {
		if _, _, code := kapstat(t, "sql", "--db", db, q); code != 1 {
			t.Errorf("%s: exit %d, want 1 (refused)", q, code)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.csv")); err == nil {
		t.Error("COPY TO wrote a file through kapstat sql")
	}
	out, _, _ = kapstat(t, "sql", "--db", db, "SELECT count(*) AS n FROM assessments")
	if out != "n\n53\n" {
		t.Errorf("rows changed after refused statements: %q", out)
	}
}

func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	out, errs, code := kapstat(t, "demo", "--dir", dir, "--patients", "300")
	if code != 0 {
		t.Fatalf("demo: exit %d\n%s", code, errs)
	}
	for _, p := range []string{"kapstat.duckdb", "analysis.json", "report.xlsx"} {
		if !strings.Contains(out, filepath.Join(dir, p)) {
			t.Errorf("demo did not print %s:\n%s", p, out)
		}
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Error(err)
		}
	}
	var a pipeline.Analysis
	b, err := os.ReadFile(filepath.Join(dir, "analysis.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	if a.Cohort.Patients != 300 || a.Measures["PHQ9"] == nil || a.Measures["PHQ9"].WithBaseline == 0 {
		t.Errorf("analysis: cohort %+v", a.Cohort)
	}
	// DuckDB's own reader sees the lake with its instrument and year partitions, and the
	// same rows as the warehouse.
	db := filepath.Join(dir, "kapstat.duckdb")
	q := `SELECT count(*) FILTER (instrument = 'PHQ9') || ',' || count(DISTINCT year) FROM read_parquet('` +
		filepath.Join(dir, "lake", "assessments", "**", "*.parquet") + `', hive_partitioning = true)`
	w, err := pipeline.OpenWarehouse(context.Background(), db, "", false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var lake, wh string
	if err := w.DB().QueryRow(q).Scan(&lake); err != nil {
		t.Fatal(err)
	}
	w.DB().QueryRow(`SELECT count(*) FILTER (instrument = 'PHQ9') || ',' || count(DISTINCT year) FROM assessments`).Scan(&wh)
	if lake != wh || strings.HasPrefix(lake, "0,") {
		t.Errorf("lake %s, warehouse %s (PHQ-9 rows, years)", lake, wh)
	}
}

type proportion struct {
	N, Events              int
	Rate, Lower95, Upper95 float64
}

// TestSummaryMatchesJSON: the Summary sheet of the demo workbook shows the numbers of
// analysis.json (the same run), cell by cell.
func TestSummaryMatchesJSON(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	if _, errs, code := kapstat(t, "demo", "--dir", dir, "--patients", "500", "--seed", "3"); code != 0 {
		t.Fatalf("demo: %s", errs)
	}
	var a struct {
		Measures map[string]struct {
			WithBaseline int `json:"with_baseline"`
			Baseline     struct{ Mean, SD float64 }
			Endpoint     struct{ Mean, SD float64 }
			Change       struct {
				Mean, SD, Lower95, Upper95 float64
				CohensDz                   float64 `json:"cohens_dz"`
			}
			Response     proportion
			ResponseITT  proportion `json:"response_itt"`
			Remission    proportion
			RemissionITT proportion `json:"remission_itt"`
			Relapse      struct {
				AtRisk   int `json:"at_risk"`
				At8Weeks struct {
					Time                       float64
					NRisk                      int `json:"n_risk"`
					Events                     int
					Survival, Lower95, Upper95 float64
				} `json:"relapse_free_8_weeks"`
			}
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "analysis.json"))
	// Field names differ from the JSON keys only in case; encoding/json matches them.
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	dump, err := reports.Dump(filepath.Join(dir, "report.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	// rows[section][label][column] = value, from lines "Summary!B20 = 0.60 | 0.0%".
	rows := map[string]map[string]map[string]string{}
	section, labels := "", map[string]string{}
	for _, line := range strings.Split(dump, "\n") {
		if !strings.HasPrefix(line, "Summary!") {
			continue
		}
		cell, rest, _ := strings.Cut(strings.TrimPrefix(line, "Summary!"), " = ")
		val, _, _ := strings.Cut(rest, " | ")
		col, row := cell[:1], cell[1:]
		if col == "A" {
			for _, name := range []string{"PHQ-9", "GAD-7", "PCL-5"} {
				if strings.HasPrefix(val, name+" (") {
					section = name
				}
			}
			labels[row] = val
			continue
		}
		if rows[section] == nil {
			rows[section] = map[string]map[string]string{}
		}
		if rows[section][labels[row]] == nil {
			rows[section][labels[row]] = map[string]string{}
		}
		rows[section][labels[row]][col] = val
	}
	num := func(s string) float64 {
		var f float64
		if _, err := fmt.Sscan(s, &f); err != nil {
			t.Fatalf("cell %q is not a number", s)
		}
		return f
	}
	for code, name := range map[string]string{"PHQ9": "PHQ-9", "GAD7": "GAD-7", "PCL5": "PCL-5"} {
		m := a.Measures[code]
		sec := rows[name]
		if sec == nil {
			t.Fatalf("no %s section on the Summary sheet", name)
		}
		check := func(label, col string, want float64) {
			t.Helper()
			got, ok := sec[label][col]
			if !ok {
				t.Errorf("%s: %q column %s missing", name, label, col)
				return
			}
			if g := num(got); math.Abs(g-want) > 1e-12*math.Max(1, math.Abs(want)) {
				t.Errorf("%s: %q column %s = %v, analysis.json %v", name, label, col, g, want)
			}
		}
		check("Patients with a baseline score", "B", float64(m.WithBaseline))
		check("Baseline mean score", "B", m.Baseline.Mean)
		check("Baseline mean score", "C", m.Baseline.SD)
		check("End-of-treatment mean score", "B", m.Endpoint.Mean)
		check("Mean change (end minus baseline)", "B", m.Change.Mean)
		check("Mean change (end minus baseline)", "D", m.Change.Lower95)
		check("Mean change (end minus baseline)", "E", m.Change.Upper95)
		check("Effect size of the change (Cohen's d_z)", "B", m.Change.CohensDz)
		for label, p := range map[string]proportion{"Response rate, completers": m.Response, "Response rate, intention to treat": m.ResponseITT,
			"Remission rate, completers": m.Remission, "Remission rate, intention to treat": m.RemissionITT} {
			check(label, "B", p.Rate)
			check(label, "D", p.Lower95)
			check(label, "E", p.Upper95)
			check(label, "F", float64(p.N))
			check(label, "G", float64(p.Events))
		}
		p56 := m.Relapse.At8Weeks
		check("Relapse-free 8 weeks (56 days) after reaching half of baseline", "B", p56.Survival)
		check("Relapse-free 8 weeks (56 days) after reaching half of baseline", "F", float64(p56.NRisk))
		check("Relapse-free 8 weeks (56 days) after reaching half of baseline", "G", float64(p56.Events))
	}
}

// copyDir copies a directory tree (small fixtures only).
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestJob(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, filepath.Join("..", "..", "testdata", "jobs"), dir)
	job := filepath.Join(dir, "quarterly.toml")
	out, errs, code := kapstat(t, "run", job)
	if code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errs)
	}
	// The examples hold 53 assessment rows and 21 session rows, all accepted. As of
	// 2025-06-30 only ex-1 (first dose 2025-01-24) is in the data; ex-2 starts in November.
	if !strings.HasPrefix(out, "ok "+job+": quarter=2025Q2 files=2 skipped=0 rows_read=74 accepted=74 duplicates=0 quarantined=0 patients=1 treated=1 outputs=4") {
		t.Errorf("summary line: %q", out)
	}
	for _, p := range []string{"analysis-2025Q2.json", "report-2025Q2-internal.xlsx", "report-2025Q2-external.xlsx", "export-2025Q2/patients.csv"} {
		if _, err := os.Stat(filepath.Join(dir, "out", p)); err != nil {
			t.Error(err)
		}
	}
	// As of 2025-06-30: nothing dated later is used.
	b, _ := os.ReadFile(filepath.Join(dir, "out", "analysis-2025Q2.json"))
	if !strings.Contains(string(b), `"as_of": "2025-06-30"`) {
		t.Error("analysis is not as of the quarter's end")
	}
	// The job writes its workbooks from its own analysis: the same workbook as kapstat
	// report gives for the quarter on the same warehouse.
	for _, aud := range []string{"internal", "external"} {
		alone := filepath.Join(dir, "alone-"+aud+".xlsx")
		if o, e, c := kapstat(t, "report", "--db", filepath.Join(dir, "work", "kapstat.duckdb"), "--quarter", "2025Q2", "--audience", aud, "--out", alone); c != 0 {
			t.Fatalf("report: exit %d\n%s\n%s", c, o, e)
		}
		fromJob, err1 := reports.Dump(filepath.Join(dir, "out", "report-2025Q2-"+aud+".xlsx"))
		fromReport, err2 := reports.Dump(alone)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if fromJob != fromReport || len(fromJob) < 1000 {
			t.Errorf("%s workbook of the job differs from kapstat report's (%d and %d bytes of dump)", aud, len(fromJob), len(fromReport))
		}
	}
	// A rerun skips the files and gives the same numbers.
	out2, _, code := kapstat(t, "run", job)
	if code != 0 || !strings.Contains(out2, "files=2 skipped=2") {
		t.Errorf("rerun: %q", out2)
	}
	b2, _ := os.ReadFile(filepath.Join(dir, "out", "analysis-2025Q2.json"))
	if string(b) != string(b2) {
		t.Error("rerun changed analysis.json")
	}
	// A broken job fails with one line.
	os.WriteFile(job, []byte("warehouse = \"w.duckdb\"\nbogus = 1\n"), 0o644)
	out, _, code = kapstat(t, "run", job)
	if code != 1 || !strings.HasPrefix(out, "FAILED ") || !strings.Contains(out, "unknown keys bogus") {
		t.Errorf("broken job: exit %d %q", code, out)
	}
}

// The Go heap's soft limit is a quarter of the machine's memory and never below 1 GiB (an
// unknown size counts as none).
func TestSoftMemoryLimit(t *testing.T) {
	const gib = 1 << 30
	for _, c := range []struct {
		ram  uint64
		want int64
	}{{0, gib}, {2 * gib, gib}, {4 * gib, gib}, {24 * gib, 6 * gib}, {23*gib + gib/2, (23*gib + gib/2) / 4}} {
		if got := softMemoryLimit(c.ram); got != c.want {
			t.Errorf("softMemoryLimit(%d) = %d, want %d", c.ram, got, c.want)
		}
	}
	if runtime.GOOS == "linux" && physicalMemory() == 0 {
		t.Error("physicalMemory cannot read /proc/meminfo on Linux")
	}
}
