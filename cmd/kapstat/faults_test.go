package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kapstat/kapstat/pipeline"
	"github.com/kapstat/kapstat/synth"
)

var exampleFiles = []string{filepath.Join("..", "..", "pipeline", "testdata", "example-assessments.csv"),
	filepath.Join("..", "..", "pipeline", "testdata", "example-sessions.csv")}

// analyzedWarehouse ingests a small synthetic cohort and analyzes it, through the command line.
func analyzedWarehouse(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := synth.Write(filepath.Join(dir, "in"), synth.Config{Patients: 150, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "k.duckdb")
	if _, errs, code := kapstat(t, "ingest", "--db", db, "--as-of", "2026-09-30",
		filepath.Join(dir, "in", "assessments.csv"), filepath.Join(dir, "in", "sessions.csv")); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errs)
	}
	if _, errs, code := kapstat(t, "analyze", "--db", db, "--as-of", "2026-09-30"); code != 0 {
		t.Fatalf("analyze: exit %d: %s", code, errs)
	}
	return db
}

// readOnlyDir mounts a read-only tmpfs (as root, chmod does not stop writes) and unmounts it
// at the end of the test; it skips when not root or when mounting fails.
func readOnlyDir(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a read-only tmpfs")
	}
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (%v): %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	if err := os.WriteFile(filepath.Join(dir, "probe"), nil, 0o644); err == nil {
		t.Fatal("the read-only tmpfs took a write")
	}
	return dir
}

// TestReadOnlyOutputDir: report and export into a read-only directory fail with exit 1 and
// an error saying so, and write nothing.
func TestReadOnlyOutputDir(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a file system")
	}
	ro := readOnlyDir(t)
	db := analyzedWarehouse(t)
	for _, args := range [][]string{
		{"report", "--db", db, "--out", filepath.Join(ro, "report.xlsx")},
		{"report", "--db", db, "--audience", "external", "--quarter", "2026Q2", "--out", filepath.Join(ro, "sub", "report.xlsx")},
		{"export", "--db", db, "--out", filepath.Join(ro, "x")},
		{"export", "--db", db, "--format", "csv", "--out", ro},
		{"analyze", "--db", db, "--json", filepath.Join(ro, "analysis.json")},
	} {
		out, errs, code := kapstat(t, args...)
		t.Logf("%s: exit %d: %s", args[0], code, errs)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1\n%s%s", strings.Join(args, " "), code, out, errs)
		}
		// Into a missing subdirectory of the read-only one, "no such file" is the clear error.
		if e := strings.ToLower(errs); !strings.Contains(e, "read-only file system") && !strings.Contains(e, "no such file or directory") {
			t.Errorf("%s: error does not say why: %q", args[0], errs)
		}
		if entries, _ := os.ReadDir(ro); len(entries) > 0 {
			t.Errorf("%s wrote into the read-only directory: %v", args[0], entries)
		}
	}
	// The warehouse itself is untouched and still reports.
	out, errs, code := kapstat(t, "report", "--db", db, "--out", filepath.Join(t.TempDir(), "ok.xlsx"))
	if code != 0 {
		t.Errorf("report after the failures: exit %d %s%s", code, out, errs)
	}
}

// TestHoldWarehouseChild is the child process of TestIngestWhileHeld: it opens the warehouse
// KAPSTAT_HOLD_DB for writing, writes a marker file, and waits to be killed.
func TestHoldWarehouseChild(t *testing.T) {
	db := os.Getenv("KAPSTAT_HOLD_DB")
	if db == "" {
		t.Skip("child process of TestIngestWhileHeld")
	}
	w, err := pipeline.OpenWarehouse(context.Background(), db, "", false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	os.WriteFile(db+".held", []byte("held"), 0o644)
	time.Sleep(time.Hour)
}

// TestIngestWhileHeld: while another process holds the warehouse, `kapstat ingest` (and
// analyze, and sql, which DuckDB cannot open beside a writer either) exits 1 at once with a
// message saying the warehouse is in use, and changes nothing; once the other process is gone
// the same command succeeds.
func TestIngestWhileHeld(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a process")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "k.duckdb")
	if _, errs, code := kapstat(t, "ingest", "--db", db, "--as-of", "2026-09-30", exampleFiles[0]); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errs)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHoldWarehouseChild$")
	cmd.Env = append(os.Environ(), "KAPSTAT_HOLD_DB="+db)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	kill := func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
			killed = true
		}
	}
	defer kill()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(db + ".held"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("child never opened the warehouse")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, args := range [][]string{
		{"ingest", "--db", db, "--as-of", "2026-09-30", exampleFiles[1]},
		{"analyze", "--db", db},
		{"sql", "--db", db, "SELECT count(*) FROM assessments"},
	} {
		t0 := time.Now()
		out, errs, code := kapstat(t, args...)
		t.Logf("%s while held: exit %d: %s", args[0], code, errs)
		if code != 1 {
			t.Errorf("%s while held: exit %d, want 1\n%s%s", args[0], code, out, errs)
		}
		if !strings.Contains(errs, "in use") || !strings.Contains(errs, db) {
			t.Errorf("%s while held: message %q does not say the warehouse %s is in use", args[0], errs, db)
		}
		if d := time.Since(t0); d > 10*time.Second {
			t.Errorf("%s waited %v for the lock", args[0], d)
		}
	}
	kill()
	out, errs, code := kapstat(t, "ingest", "--db", db, "--as-of", "2026-09-30", exampleFiles[1])
	if code != 0 || !strings.Contains(out, "21 rows read = 21 accepted") {
		t.Errorf("ingest after the holder exited: exit %d\n%s%s", code, out, errs)
	}
	out, _, _ = kapstat(t, "sql", "--db", db, "SELECT count(*) AS n FROM ingest_runs")
	if out != "n\n2\n" {
		t.Errorf("ingest_runs after: %q, want 2 rows", out)
	}
}

// TestSQLRefusesWrites: `kapstat sql` runs one read-only query with external access off.
// Statements that attach, install or load code, create, insert, change settings, read files
// outside the warehouse, or smuggle a second statement are refused (exit 1), and the
// warehouse and the file system are unchanged.
func TestSQLRefusesWrites(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "k.duckdb")
	if _, errs, code := kapstat(t, append([]string{"ingest", "--db", db, "--as-of", "2026-09-30"}, exampleFiles...)...); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errs)
	}
	secret := filepath.Join(dir, "secret.csv")
	if err := os.WriteFile(secret, []byte("a,b\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.duckdb")
	out := func(name string) string { return filepath.Join(dir, "out", name) }
	os.Mkdir(filepath.Join(dir, "out"), 0o755)
	refused := []string{
		// attach another database, in memory or on disk (creating it)
		"ATTACH '" + other + "' AS o",
		"ATTACH ':memory:' AS m",
		"ATTACH '" + other + "' AS o (READ_ONLY)",
		"DETACH k",
		// extensions: install (network, disk) and load code
		"INSTALL httpfs",
		"FORCE INSTALL httpfs",
		"LOAD httpfs",
		"LOAD '" + out("evil.duckdb_extension") + "'",
		// writes to the warehouse
		"CREATE TABLE x AS SELECT 1 AS a",
		"CREATE TABLE main.x (a INTEGER)",
		"CREATE VIEW v AS SELECT 1",
		"CREATE SCHEMA s",
		"CREATE SEQUENCE q",
		"INSERT INTO assessments (patient_id) VALUES ('x')",
		"INSERT INTO ingest_runs SELECT * FROM ingest_runs",
		"UPDATE assessments SET total = 0",
		"ALTER TABLE assessments ADD COLUMN x INTEGER",
		"TRUNCATE quarantine",
		"CALL dbgen(sf = 0.001)",
		// settings, including through PRAGMA
		"PRAGMA enable_external_access",
		"PRAGMA threads = 64",
		"PRAGMA memory_limit = '1TB'",
		"PRAGMA enable_profiling = 'json'",
		"PRAGMA profiling_output = '" + out("profile.json") + "'",
		"SET lock_configuration = false",
		"RESET enable_external_access",
		"SET temp_directory = '" + out("tmp") + "'",
		// files outside the warehouse, read or written
		"SELECT * FROM read_csv('/etc/passwd')",
		"SELECT * FROM read_csv_auto('/etc/passwd')",
		"SELECT * FROM read_text('/etc/passwd')",
		"SELECT * FROM read_blob('/etc/passwd')",
		"SELECT * FROM '/etc/passwd'",
		"SELECT * FROM read_csv('" + secret + "')",
		"SELECT * FROM '" + secret + "'",
		"SELECT * FROM read_parquet('" + filepath.Join(dir, "lake") + "/**/*.parquet')",
		"SELECT * FROM glob('/etc/*')",
		"SELECT * FROM read_json('https://127.0.0.1:1/x.json')",
		"COPY assessments TO '" + out("a.csv") + "'",
		"COPY (SELECT 1) TO '" + out("b.parquet") + "' (FORMAT parquet)",
		"EXPORT DATABASE '" + out("dump") + "'",
		"COPY assessments FROM '" + secret + "'",
		// a second statement after a harmless one
		"SELECT 1; DROP TABLE assessments",
		"SELECT 1; ATTACH '" + other + "' AS o",
		"SELECT 1; SET enable_external_access = true; SELECT * FROM read_csv('/etc/passwd')",
		"SELECT count(*) FROM assessments; DELETE FROM assessments",
		"SELECT 1; CREATE TABLE x AS SELECT 1 AS a",
	}
	sum := func() string {
		s, err := pipeline.FileSHA256(db)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := sum()
	for _, q := range refused {
		stdout, errs, code := kapstat(t, "sql", "--db", db, q)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1 (refused)\n%s", q, code, stdout)
		}
		if strings.Contains(stdout, "root:") {
			t.Errorf("%s: printed /etc/passwd", q)
		}
		if errs == "" {
			t.Errorf("%s: refused without a message", q)
		}
	}
	// Statements DuckDB accepts on a read-only connection but that change nothing stored:
	// checkpoints are no-ops, temporary objects live in memory for the one query.
	for _, q := range []string{"CHECKPOINT", "VACUUM", "PRAGMA enable_checkpoint_on_shutdown",
		"CREATE TEMP TABLE t AS SELECT 1 AS a", "CREATE TEMP TABLE t AS SELECT 1 AS a; SELECT * FROM t"} {
		kapstat(t, "sql", "--db", db, q)
	}
	if after := sum(); after != before {
		t.Errorf("the warehouse file changed through kapstat sql")
	}
	if _, err := os.Stat(db + ".wal"); err == nil {
		t.Errorf("kapstat sql left a write-ahead log")
	}
	for _, p := range []string{other, out("evil.duckdb_extension"), out("profile.json"), out("a.csv"), out("b.parquet"), out("dump"), out("tmp")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("kapstat sql created %s", p)
		}
	}
	stdout, errs, code := kapstat(t, "sql", "--db", db,
		"SELECT (SELECT count(*) FROM assessments) || '/' || (SELECT count(*) FROM sessions) || '/' || (SELECT count(*) FROM quarantine) || '/' || (SELECT count(*) FROM ingest_runs) || '/' || (SELECT count(*) FROM information_schema.tables) AS s")
	// 6 catalog entries: kapstat_meta, ingest_runs, assessment_rows, the assessments view,
	// sessions, quarantine
	if code != 0 || stdout != "s\n53/21/0/2/6\n" {
		t.Errorf("warehouse after refused statements: exit %d %q %s", code, stdout, errs)
	}
	// Reading is still allowed, catalog queries included.
	for _, q := range []string{
		"SELECT instrument, count(*) AS n FROM assessments GROUP BY ALL ORDER BY 1",
		"PRAGMA table_info('assessments')",
		"DESCRIBE assessments",
		"SELECT * FROM duckdb_tables()",
		"WITH x AS (SELECT 1 AS a) SELECT * FROM x",
	} {
		if stdout, errs, code := kapstat(t, "sql", "--db", db, q); code != 0 || stdout == "" {
			t.Errorf("%s: exit %d, want 0: %s", q, code, errs)
		}
	}
}

// TestSQLOneStatement: `kapstat sql` is documented to run one query (pipeline.Warehouse.Query:
// "runs one read-only statement"); a string of several statements is refused.
func TestSQLOneStatement(t *testing.T) {
	db := filepath.Join(t.TempDir(), "k.duckdb")
	if _, errs, code := kapstat(t, "ingest", "--db", db, "--as-of", "2026-09-30", exampleFiles[0]); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errs)
	}
	if out, _, code := kapstat(t, "sql", "--db", db, "SELECT 1 AS a; SELECT 2 AS b"); code != 1 {
		t.Errorf("two statements: exit %d %q, want 1 (one query only)", code, out)
	}
}
