package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestMissingWarehouse: analyze, report, export, sql and retract on a warehouse path that does
// not exist say so and exit 1, creating nothing (a mistyped --db used to give an empty
// warehouse and a blank report).
func TestMissingWarehouse(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "typo.duckdb")
	for _, args := range [][]string{
		{"analyze", "--db", db},
		{"report", "--db", db, "--out", filepath.Join(dir, "r.xlsx")},
		{"export", "--db", db, "--out", filepath.Join(dir, "x")},
		{"sql", "--db", db, "SELECT 1"},
		{"retract", "--db", db, "1"},
	} {
		_, errs, code := kapstat(t, args...)
		if code != 1 || !strings.Contains(errs, "no warehouse at "+db) {
			t.Errorf("%s: exit %d, want 1 saying there is no warehouse: %s", args[0], code, errs)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("created %v", entries)
	}
}

// TestOutputsFollowUmask: the workbook, the analysis JSON and the exports are created with
// the user's umask (0600 under umask 077: the internal workbook lists patients), as ordinary
// files are; 0644 under 022.
func TestOutputsFollowUmask(t *testing.T) {
	db := analyzedWarehouse(t)
	dir := t.TempDir()
	for _, c := range []struct {
		umask int
		want  os.FileMode
	}{{0o077, 0o600}, {0o022, 0o644}, {0o027, 0o640}} {
		old := syscall.Umask(c.umask)
		out := filepath.Join(dir, strings.ReplaceAll(c.want.String(), "-", "m"))
		os.Mkdir(out, 0o755)
		for _, args := range [][]string{
			{"report", "--db", db, "--out", filepath.Join(out, "report.xlsx")},
			{"analyze", "--db", db, "--json", filepath.Join(out, "analysis.json")},
			{"export", "--db", db, "--out", filepath.Join(out, "csv"), "--format", "csv"},
			{"export", "--db", db, "--out", filepath.Join(out, "pq"), "--format", "parquet"},
		} {
			if _, errs, code := kapstat(t, args...); code != 0 {
				t.Fatalf("%v: exit %d: %s", args, code, errs)
			}
		}
		syscall.Umask(old)
		for _, p := range []string{"report.xlsx", "analysis.json", "csv/patients.csv", "csv/dictionary.csv", "pq/patients.parquet", "pq/dictionary.csv"} {
			fi, err := os.Stat(filepath.Join(out, p))
			if err != nil {
				t.Error(err)
				continue
			}
			if fi.Mode().Perm() != c.want {
				t.Errorf("umask %03o: %s has mode %v, want %v", c.umask, p, fi.Mode().Perm(), c.want)
			}
		}
	}
}

// TestJobChecksBeforeWriting: a job whose quarter, export format or map is wrong fails before
// anything is written: no warehouse, no lake, no output.
func TestJobChecksBeforeWriting(t *testing.T) {
	for name, c := range map[string]struct{ edit, want string }{
		"quarter": {`quarter = "2025Q2"`, `quarter = "2025Q5"`},
		"format":  {`format = "csv"`, `format = "xlsx"`},
		"map":     {`# map = "maps/redcap.toml"`, `map = "maps/missing.toml"`},
		"output":  {`json = "out/analysis-{quarter}.json"`, `json = "incoming/example-sessions.csv/analysis.json"`},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			copyDir(t, filepath.Join("..", "..", "testdata", "jobs"), dir)
			job := filepath.Join(dir, "quarterly.toml")
			b, _ := os.ReadFile(job)
			if !strings.Contains(string(b), c.edit) {
				t.Fatalf("job file lacks %q", c.edit)
			}
			os.WriteFile(job, []byte(strings.Replace(string(b), c.edit, c.want, 1)), 0o644)
			out, _, code := kapstat(t, "run", job)
			if code != 1 || !strings.HasPrefix(out, "FAILED ") {
				t.Errorf("exit %d %q, want FAILED", code, out)
			}
			for _, p := range []string{"work", "out"} {
				if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
					t.Errorf("%s was written by a job that failed its checks (%s)", p, out)
				}
			}
		})
	}
}

// TestHostileWarehouseReport: a warehouse file whose ingest_runs (read for the Data quality
// sheet) was replaced by a view over a local file is refused by report, analyze, export and
// sql; no workbook is written and the file's content appears nowhere.
func TestHostileWarehouseReport(t *testing.T) {
	db := analyzedWarehouse(t)
	dir := filepath.Dir(db)
	secret := filepath.Join(dir, "passwd")
	os.WriteFile(secret, []byte("file_id,path,sha256,kind,rows_read,accepted,duplicates,quarantined\n1,root:x:0:0:SECRET,a,assessments,1,1,0,0\n"), 0o644)
	p, err := sql.Open("duckdb", db)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"ALTER TABLE ingest_runs RENAME TO r0",
		"CREATE VIEW ingest_runs AS SELECT * FROM read_csv('" + secret + "')"} {
		if _, err := p.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	p.Close()
	out := filepath.Join(dir, "report.xlsx")
	for _, args := range [][]string{
		{"report", "--db", db, "--out", out},
		{"analyze", "--db", db, "--json", "-"},
		{"export", "--db", db, "--out", filepath.Join(dir, "x")},
		{"sql", "--db", db, "SELECT * FROM ingest_runs"},
	} {
		stdout, errs, code := kapstat(t, args...)
		if code != 1 || !strings.Contains(errs, "view kapstat did not make (main.ingest_runs)") || strings.Contains(stdout+errs, "SECRET") {
			t.Errorf("%s: exit %d: %s %s", args[0], code, errs, stdout)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a workbook was written from a hostile warehouse")
	}
}

// TestReplaceAndRetractCommands: ingest --replace reloads a file ingested before (here after
// the as-of date was fixed), retract removes a run, and both say what they did.
func TestReplaceAndRetractCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "k.duckdb")
	// As of 2025-06-30 the example's 20 rows dated later are future_date.
	out, errs, code := kapstat(t, "ingest", "--db", db, "--as-of", "2025-06-30", exampleFiles[0])
	if code != 0 || !strings.Contains(out, "53 rows read = 33 accepted + 0 duplicates + 20 quarantined") {
		t.Fatalf("first ingest: exit %d %q %s", code, out, errs)
	}
	out, _, _ = kapstat(t, "ingest", "--db", db, "--as-of", "2026-09-30", exampleFiles[0])
	if !strings.Contains(out, "skipped, same content already ingested in run 1") {
		t.Errorf("plain re-ingest: %q", out)
	}
	out, errs, code = kapstat(t, "ingest", "--db", db, "--as-of", "2026-09-30", "--replace", exampleFiles[0])
	if code != 0 || !strings.Contains(out, "53 rows read = 53 accepted + 0 duplicates + 0 quarantined") {
		t.Errorf("ingest --replace: exit %d %q %s", code, out, errs)
	}
	out, _, _ = kapstat(t, "sql", "--db", db, "SELECT (SELECT count(*) FROM assessments) || '/' || (SELECT count(*) FROM quarantine) || '/' || (SELECT string_agg(run_id::VARCHAR, ',') FROM ingest_runs) || '/' || (SELECT string_agg(run_id || ':' || reason, ',') FROM ingest_retractions) AS s")
	if out != "s\n53/0/2/1:replaced by run 2 file 2 ("+exampleFiles[0]+")\n" {
		t.Errorf("after --replace: %q", out)
	}
	out, errs, code = kapstat(t, "retract", "--db", db, "2")
	if code != 0 || !strings.HasPrefix(out, "retracted run 2 file 2: "+exampleFiles[0]+" (53 rows read)\n") {
		t.Errorf("retract: exit %d %q %s", code, out, errs)
	}
	out, _, _ = kapstat(t, "sql", "--db", db, "SELECT (SELECT count(*) FROM assessments) || '/' || (SELECT count(*) FROM ingest_runs) AS s")
	if out != "s\n0/0\n" {
		t.Errorf("after retract: %q", out)
	}
	if _, _, code := kapstat(t, "retract", "--db", db, "two"); code != 2 {
		t.Errorf("retract two: exit %d, want 2", code)
	}
	if _, errs, code := kapstat(t, "retract", "--db", db, "7"); code != 1 || !strings.Contains(errs, "no run 7") {
		t.Errorf("retract 7: exit %d %s", code, errs)
	}
	lake, _ := os.ReadDir(filepath.Join(dir, "lake", "assessments"))
	for _, d := range lake {
		if files, _ := filepath.Glob(filepath.Join(dir, "lake", "assessments", d.Name(), "*", "*.parquet")); len(files) != 0 {
			t.Errorf("lake files left after retract: %v", files)
		}
	}
}
