package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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
		// COPY onto the warehouse's own files, which DuckDB keeps on its allowed lists even
		// with external access off (not a database write, so read-only mode lets it through)
		"COPY (SELECT 'x') TO '" + db + "' (FORMAT csv, USE_TMP_FILE false)",
		"COPY (SELECT 'x') TO '" + db + ".wal' (FORMAT csv, USE_TMP_FILE false)",
		"COPY (SELECT 'x') TO '" + db + ".tmp/x.csv' (FORMAT csv)",
		// a second statement hidden from a hand-made splitter by dollar-quoted and E'' strings
		"SELECT $$'$$; COPY (SELECT 'x') TO '" + db + "' (FORMAT csv, USE_TMP_FILE false)",
		"SELECT $$'$$; DROP TABLE assessments",
		"SELECT $tag$ ' $tag$; DELETE FROM assessments",
		"SELECT E'\\''; COPY (SELECT 'x') TO '" + db + "' (FORMAT csv, USE_TMP_FILE false); SELECT '",
		"SELECT E'it\\'s'; DROP TABLE assessments; SELECT '",
		// statements that are not queries, even when DuckDB would run them read-only
		"CHECKPOINT", "VACUUM", "PRAGMA enable_checkpoint_on_shutdown", "PRAGMA table_info('assessments')",
		"CREATE TEMP TABLE t AS SELECT 1 AS a", "CREATE TEMP TABLE t AS SELECT 1 AS a; SELECT * FROM t",
		"EXPLAIN SELECT 1", "CALL duckdb_tables()", "BEGIN", "PREPARE p AS SELECT 1",
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
	if after := sum(); after != before {
		t.Errorf("the warehouse file changed through kapstat sql")
	}
	if _, err := os.Stat(db + ".wal"); err == nil {
		t.Errorf("kapstat sql left a write-ahead log")
	}
	if _, err := os.Stat(db + ".tmp"); err == nil {
		t.Errorf("kapstat sql left DuckDB's temporary directory beside the warehouse")
	}
	for _, p := range []string{other, out("evil.duckdb_extension"), out("profile.json"), out("a.csv"), out("b.parquet"), out("dump"), out("tmp")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("kapstat sql created %s", p)
		}
	}
	stdout, errs, code := kapstat(t, "sql", "--db", db,
		"SELECT (SELECT count(*) FROM assessments) || '/' || (SELECT count(*) FROM sessions) || '/' || (SELECT count(*) FROM quarantine) || '/' || (SELECT count(*) FROM ingest_runs) || '/' || (SELECT count(*) FROM information_schema.tables) AS s")
	// 8 catalog entries: kapstat_meta, ingest_runs, assessment_rows, the assessments view,
	// sessions, patients, quarantine, ingest_retractions
	if code != 0 || stdout != "s\n53/21/0/2/8\n" {
		t.Errorf("warehouse after refused statements: exit %d %q %s", code, stdout, errs)
	}
	// Reading is still allowed, catalog queries included.
	for _, q := range []string{
		"SELECT instrument, count(*) AS n FROM assessments GROUP BY ALL ORDER BY 1",
		"SELECT * FROM pragma_table_info('assessments')",
		"DESCRIBE assessments",
		"SUMMARIZE sessions",
		"FROM ingest_runs",
		"SELECT * FROM duckdb_tables()",
		"WITH x AS (SELECT 1 AS a) SELECT * FROM x",
	} {
		if stdout, errs, code := kapstat(t, "sql", "--db", db, q); code != 0 || stdout == "" {
			t.Errorf("%s: exit %d, want 0: %s", q, code, errs)
		}
	}
}

// TestSQLOneStatement: `kapstat sql` runs one query. DuckDB's parser counts the statements, so
// semicolons inside dollar-quoted, E” and ordinary strings, identifiers and comments do not
// count, and a string of several statements is refused before any of them runs.
func TestSQLOneStatement(t *testing.T) {
	db := filepath.Join(t.TempDir(), "k.duckdb")
	if _, errs, code := kapstat(t, "ingest", "--db", db, "--as-of", "2026-09-30", exampleFiles[0]); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errs)
	}
	for _, q := range []string{"SELECT 1 AS a; SELECT 2 AS b", "SELECT 1 AS a;; SELECT 2 AS b",
		"SELECT $$;$$ AS a; SELECT 2 AS b", "SELECT 1 AS a /* ; */; SELECT 2 AS b"} {
		if out, errs, code := kapstat(t, "sql", "--db", db, q); code != 1 || !strings.Contains(errs, "exactly one statement (found 2)") {
			t.Errorf("%s: exit %d %q %s, want 1 (one query only)", q, code, out, errs)
		}
	}
	for q, want := range map[string]string{
		"SELECT $$a;b$$ AS s":             "s\na;b\n",
		"SELECT $x$ ; ' $x$ AS s;":        "s\n\" ; ' \"\n", // quoted for its leading space
		"SELECT ';' AS s":                 "s\n;\n",
		`SELECT 1 AS "a;b"`:               "a;b\n1\n",
		"SELECT 1 AS s -- ; DROP TABLE x": "s\n1\n",
		"SELECT 1 AS s /* ; DROP */ ;;":   "s\n1\n",
		"SELECT E'a\\tb;' AS s":           "s\na\tb;\n",
	} {
		if out, errs, code := kapstat(t, "sql", "--db", db, q); code != 0 || out != want {
			t.Errorf("%s: exit %d %q %s, want %q", q, code, out, errs, want)
		}
	}
	for _, q := range []string{"", ";", "SELEC 1", "SELECT 'unterminated; DROP TABLE assessments"} {
		if _, errs, code := kapstat(t, "sql", "--db", db, q); code != 1 || errs == "" {
			t.Errorf("%q: exit %d, want 1 with a message", q, code)
		}
	}
}

// heapWriter counts what is written and samples the Go heap every 256 KiB written.
type heapWriter struct {
	n, next  int
	peakHeap uint64
}

func (h *heapWriter) Write(p []byte) (int, error) {
	h.n += len(p)
	if h.n >= h.next {
		h.next = h.n + 256<<10
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		h.peakHeap = max(h.peakHeap, ms.HeapAlloc)
	}
	return len(p), nil
}

// TestSQLStreams: a result of two million rows (about 45 MB of CSV) is written as DuckDB hands
// it over; the Go heap never holds it (held whole, as [][]string, it takes about 300 MB).
func TestSQLStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("two million rows")
	}
	db := filepath.Join(t.TempDir(), "k.duckdb")
	if _, errs, code := kapstat(t, "ingest", "--db", db, "--as-of", "2026-09-30", exampleFiles[0]); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errs)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	hw := &heapWriter{}
	var errb bytes.Buffer
	err := run(context.Background(), []string{"sql", "--db", db,
		"SELECT range AS i, 'row-' || range || '-of-the-result' AS s FROM range(2000000)"}, hw, &errb)
	if err != nil {
		t.Fatalf("sql: %v %s", err, errb.String())
	}
	// header "i,s\n" (4 bytes) and the rows: "k,row-k-of-the-result\n" is 2·digits(k) + 20 bytes
	want := 4
	for k, d := 0, 1; k < 2000000; k++ {
		if k == 10 || k == 100 || k == 1000 || k == 10000 || k == 100000 || k == 1000000 {
			d++
		}
		want += 2*d + 20
	}
	if hw.n != want {
		t.Errorf("wrote %d bytes, want %d", hw.n, want)
	}
	if grew := int64(hw.peakHeap) - int64(base); grew > 64<<20 {
		t.Errorf("Go heap grew by %d MB while writing the result; rows must be streamed", grew>>20)
	}
}

// TestSQLTempLimit: a query that spills more than --temp-limit to disk fails with DuckDB's
// reason, and its temporary directory is removed (nothing left beside the warehouse either).
func TestSQLTempLimit(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp")
	os.Mkdir(tmp, 0o700)
	t.Setenv("TMPDIR", tmp)
	db := filepath.Join(dir, "k.duckdb")
	if _, errs, code := kapstat(t, "ingest", "--db", db, "--as-of", "2026-09-30", exampleFiles[0]); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errs)
	}
	q := "SELECT i, hash(i) AS h FROM range(4000000) t(i) ORDER BY h"
	_, errs, code := kapstat(t, "sql", "--db", db, "--memory-limit", "16MB", "--temp-limit", "1MB", q)
	// DuckDB: "failed to offload data block of size … (… KiB/976.5 KiB used)": 1MB = 976.5 KiB
	if code != 1 || !strings.Contains(errs, "976.5 KiB used") {
		t.Errorf("exit %d, want 1 with the temporary-space limit reached: %s", code, errs)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	if _, err := os.Stat(db + ".tmp"); err == nil {
		t.Errorf("temporary directory created beside the warehouse")
	}
	if _, errs, code := kapstat(t, "sql", "--db", db, "--temp-limit", "1 zillion", "SELECT 1"); code != 1 || !strings.Contains(errs, "1 zillion") {
		t.Errorf("bad size: exit %d %s", code, errs)
	}
}
