package pipeline

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// Attacks on the warehouse and the lake as stores: two warehouses sharing a lake, a hostile
// warehouse file, a run torn at the commit, re-loading a file after a fix, mixed origins.

// plainDB opens a DuckDB file without kapstat's checks, as an attacker or another tool would.
func plainDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func mustExec(t *testing.T, db *sql.DB, qs ...string) {
	t.Helper()
	for _, q := range qs {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestLakeBelongsToOneWarehouse: two warehouses in one directory default to the same lake/.
// The first to write it owns it (its id in lake/.kapstat-lake and in kapstat_meta); the
// second is refused before it changes anything, so it can neither delete the first's lake
// files (it does not know their runs) nor mix its own among them. Staging directories of
// another warehouse are left alone.
func TestLakeBelongsToOneWarehouse(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, err := OpenWarehouse(ctx, filepath.Join(dir, "a.duckdb"), "", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Ingest(ctx, []string{"testdata/example-assessments.csv", "testdata/example-sessions.csv"}, testOptions()); err != nil {
		t.Fatal(err)
	}
	a.Close()
	lake := filepath.Join(dir, "lake")
	files := lakeFiles(t, lake)
	// 53 assessments (PHQ-9, GAD-7, PCL-5 in 2024 and 2025) and 21 sessions: at least one file
	// per instrument and year, the marker, and nothing else.
	if len(files) < 5 || files[0] != lakeMarker {
		t.Fatalf("lake after the first ingest: %v", files)
	}
	marker, _ := os.ReadFile(filepath.Join(lake, lakeMarker))
	a, _ = OpenWarehouse(ctx, filepath.Join(dir, "a.duckdb"), "", true)
	if a.ID == "" || !strings.Contains(string(marker), "warehouse_id = "+a.ID+"\n") {
		t.Errorf("marker %q does not name warehouse %q", marker, a.ID)
	}
	a.Close()
	// Another warehouse's staging directory, as a concurrent ingest of it would leave.
	foreign := filepath.Join(lake, ".staging-00000000-0000-0000-0000-000000000000-1-123")
	os.Mkdir(foreign, 0o700)

	_, err = OpenWarehouse(ctx, filepath.Join(dir, "b.duckdb"), "", false)
	if err == nil || !strings.Contains(err.Error(), "belongs to another warehouse") || !strings.Contains(err.Error(), "a.duckdb") {
		t.Errorf("second warehouse on the same lake: err = %v, want refused naming a.duckdb", err)
	}
	if got := lakeFiles(t, lake); !reflect.DeepEqual(got, files) {
		t.Errorf("the refused warehouse changed the lake:\nbefore %v\nafter  %v", files, got)
	}
	// With a lake of its own it works, and leaves the first lake alone.
	b, err := OpenWarehouse(ctx, filepath.Join(dir, "b.duckdb"), filepath.Join(dir, "lake-b"), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Ingest(ctx, []string{"testdata/example-assessments.csv"}, testOptions()); err != nil {
		t.Fatal(err)
	}
	b.Close()
	a, err = OpenWarehouse(ctx, filepath.Join(dir, "a.duckdb"), "", false)
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	if got := lakeFiles(t, lake); !reflect.DeepEqual(got, files) {
		t.Errorf("lake of a changed:\nbefore %v\nafter  %v", files, got)
	}
	if _, err := os.Stat(foreign); err != nil {
		t.Errorf("another warehouse's staging directory was removed: %v", err)
	}
	// A lake without a marker (an earlier kapstat) holding a file this warehouse did not
	// write is refused, not cleaned.
	c, _ := OpenWarehouse(ctx, filepath.Join(dir, "c.duckdb"), filepath.Join(dir, "lake-c"), false)
	c.Close()
	stray := filepath.Join(dir, "lake-c", "assessments", "instrument=PHQ9", "year=2025", "part-7-1-0.parquet")
	os.MkdirAll(filepath.Dir(stray), 0o755)
	os.WriteFile(stray, []byte("not ours"), 0o644)
	if _, err := OpenWarehouse(ctx, filepath.Join(dir, "c.duckdb"), filepath.Join(dir, "lake-c"), false); err == nil || !strings.Contains(err.Error(), "has no owner") {
		t.Errorf("unmarked lake with a foreign file: err = %v", err)
	}
	if _, err := os.Stat(stray); err != nil {
		t.Errorf("the foreign file was removed: %v", err)
	}
}

// TestHostileWarehouseFile: a warehouse file edited by someone else — a view in place of a
// kapstat table reading local files, the assessments view redefined, an extra view, a macro —
// is refused by every open, read-only or writable, naming the relation. Every open has
// external access and extension autoloading off, so even a view that got through could not
// read a file.
func TestHostileWarehouseFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.csv")
	os.WriteFile(secret, []byte("path,sha256\nroot:x:0:0,secret\n"), 0o644)
	good := filepath.Join(dir, "good.duckdb")
	w, err := OpenWarehouse(ctx, good, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Ingest(ctx, []string{"testdata/example-assessments.csv"}, testOptions()); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]string{
		"enable_external_access":       "false",
		"autoload_known_extensions":    "false",
		"autoinstall_known_extensions": "false",
	} {
		var v string
		w.DB().QueryRow("SELECT current_setting('" + q + "')::VARCHAR").Scan(&v)
		if v != want {
			t.Errorf("writable open: %s = %q, want %s", q, v, want)
		}
	}
	if _, err := w.DB().Exec("SELECT * FROM read_csv(" + sqlString(secret) + ")"); err == nil {
		t.Errorf("a writable warehouse read a file outside it")
	}
	w.Close()
	good0, _ := os.ReadFile(good)
	for name, stmts := range map[string][]string{
		"main.ingest_runs": {"ALTER TABLE ingest_runs RENAME TO ingest_runs_old",
			"CREATE VIEW ingest_runs AS SELECT * FROM read_csv(" + sqlString(secret) + ")"},
		"main.assessments": {"CREATE OR REPLACE VIEW assessments AS SELECT * FROM read_csv(" + sqlString(secret) + ")"},
		"main.extra":       {"CREATE VIEW extra AS SELECT 1 AS x"},
		"main.coalesce":    {"CREATE MACRO coalesce(a, b) AS 0"},
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "w.duckdb")
			os.WriteFile(p, good0, 0o644)
			db := plainDB(t, p)
			mustExec(t, db, stmts...)
			db.Close()
			for _, ro := range []bool{true, false} {
				w, err := OpenWarehouse(ctx, p, "", ro)
				if err == nil {
					w.Close()
					t.Errorf("read-only %v: opened a warehouse holding %s", ro, name)
					continue
				}
				if !strings.Contains(err.Error(), "kapstat did not make ("+name+")") || strings.Contains(err.Error(), "root:x") {
					t.Errorf("read-only %v: err = %v", ro, err)
				}
			}
		})
	}
	// A read-only open cannot read files either.
	w, err = OpenWarehouse(ctx, good, "", true)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.DB().Exec("SELECT * FROM read_csv(" + sqlString(secret) + ")"); err == nil {
		t.Errorf("a read-only warehouse read a file outside it")
	}
}

// TestUncommittedRowsRemoved: rows of a load that is not in ingest_runs (what a commit torn by
// a kill leaves when part of the transaction reaches the file: see TestKillDuringCommitWAL)
// are refused by a read-only open and removed by the next writable open; the rerun then loads
// the file as new.
func TestUncommittedRowsRemoved(t *testing.T) {
	ctx := context.Background()
	w, dir := openTemp(t)
	if _, err := w.Ingest(ctx, []string{"testdata/example-assessments.csv"}, testOptions()); err != nil {
		t.Fatal(err)
	}
	before := tableState(t, w)
	w.Close()
	db := filepath.Join(dir, "kapstat.duckdb")
	// run 2's sessions, without its ingest_runs row
	p := plainDB(t, db)
	mustExec(t, p, `INSERT INTO sessions (run_id, file_id, source_line, patient_id, clinic_id, day, session_type, program, setting)
		SELECT 2, 2, i + 2, 'ex-' || i, 'south', 20000 + i, 'dosing', 'kap', 'in_person' FROM range(21) t(i)`,
		`INSERT INTO quarantine (run_id, file_id, file, line, reason) VALUES (2, 2, 's.csv', 30, 'conflict')`)
	p.Close()
	if ro, err := OpenWarehouse(ctx, db, "", true); err == nil || !strings.Contains(err.Error(), "holds 22 rows of run 2, an ingest that never committed") {
		t.Errorf("read-only open of a torn warehouse: %v", err)
		if err == nil {
			ro.Close()
		}
	}
	w, err := OpenWarehouse(ctx, db, "", false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if after := tableState(t, w); !reflect.DeepEqual(after, before) {
		t.Errorf("after the writable open\n got %v\nwant %v", after, before)
	}
	reps, err := w.Ingest(ctx, []string{"testdata/example-sessions.csv"}, testOptions())
	if err != nil || reps[0].Skipped || reps[0].Accepted != 21 || reps[0].Duplicates != 0 {
		t.Errorf("rerun: %v %+v", err, reps[0])
	}
}

// replaceFixture writes a file whose rows are wrongly quarantined as future_date under the first
// as-of date (2025-06-30) and accepted under a later one (2026-09-30): re-loading it after the
// fix is what --replace is for.
func replaceFixture(t *testing.T) string {
	return writeTemp(t, "late.csv", []byte(canonicalHeader+"\n"+strings.Join([]string{
		arow("r-1", "north", "PHQ9", "2025-06-01", phqItems, "13"),
		arow("r-1", "north", "PHQ9", "2025-07-15", phqItems, "13"), // future before the fix
		arow("r-2", "north", "GAD7", "2025-08-01", gadItems, "21"), // future before the fix
	}, "\n")+"\n"))
}

// TestReplaceReloadsAFile: the same bytes are skipped by a plain ingest even after the as-of
// date was fixed; with Replace the file's earlier load is removed (rows, quarantine, lake
// files) and the file loaded again, in one transaction, and the retraction is recorded.
func TestReplaceReloadsAFile(t *testing.T) {
	ctx := context.Background()
	w, dir := openTemp(t)
	late := replaceFixture(t)
	early := testOptions()
	early.AsOf = time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)
	if _, err := w.Ingest(ctx, []string{"testdata/example-assessments.csv"}, testOptions()); err != nil {
		t.Fatal(err)
	}
	reps, err := w.Ingest(ctx, []string{late}, early)
	if err != nil || reps[0].Accepted != 1 || reps[0].Quarantined != 2 {
		t.Fatalf("first load: %v %+v", err, reps)
	}
	lakeBefore := lakeFiles(t, filepath.Join(dir, "lake"))
	// Without Replace, the fixed as-of changes nothing: same content, skipped.
	if reps, _ := w.Ingest(ctx, []string{late}, testOptions()); !reps[0].Skipped {
		t.Errorf("plain re-ingest not skipped: %+v", reps[0])
	}
	opt := testOptions()
	opt.Replace = true
	reps, err = w.Ingest(ctx, []string{late}, opt)
	if err != nil {
		t.Fatal(err)
	}
	r := reps[0]
	if r.Skipped || r.Accepted != 3 || r.Quarantined != 0 || r.Duplicates != 0 {
		t.Errorf("replacing load: %+v, want 3 accepted", r)
	}
	checkInvariant(t, w, r)
	// The warehouse holds the example (53 rows, run 1) and the new load only (run 3).
	if got := rowsText(t, w.DB(), `SELECT run_id, file_id, count(*) AS n FROM assessments GROUP BY ALL ORDER BY ALL`); !reflect.DeepEqual(got,
		[]string{"run_id=1 file_id=1 n=53", "run_id=3 file_id=3 n=3"}) {
		t.Errorf("assessments by load: %v", got)
	}
	if n := count(t, w, `SELECT count(*) FROM quarantine`); n != 0 {
		t.Errorf("quarantine keeps %d rows of the replaced load", n)
	}
	if got := rowsText(t, w.DB(), `SELECT run_id, file_id, rows_read, accepted, reason FROM ingest_retractions`); !reflect.DeepEqual(got,
		[]string{"run_id=2 file_id=2 rows_read=3 accepted=1 reason=replaced by run 3 file 3 (" + late + ")"}) {
		t.Errorf("retractions: %v", got)
	}
	// Lake: run 2's file (r-1's June row) gone, run 3's three rows in.
	var lake []string
	for _, f := range lakeFiles(t, filepath.Join(dir, "lake")) {
		if strings.Contains(f, "part-2-") || strings.Contains(f, "part-3-") {
			lake = append(lake, filepath.ToSlash(f))
		}
	}
	sort.Strings(lake)
	want := []string{"assessments/instrument=GAD7/year=2025/part-3-3-0.parquet", "assessments/instrument=PHQ9/year=2025/part-3-3-0.parquet"}
	if !reflect.DeepEqual(lake, want) {
		t.Errorf("lake files of runs 2 and 3: %v, want %v (before: %v)", lake, want, lakeBefore)
	}
	q := `SELECT count(*) FROM read_parquet('` + filepath.Join(dir, "lake") + `/assessments/**/*.parquet', hive_partitioning = true) WHERE patient_id LIKE 'r-%'`
	p := plainDB(t, "") // a warehouse keeps external access off: read the lake from outside
	defer p.Close()
	var n int
	p.QueryRow(q).Scan(&n)
	if n != 3 {
		t.Errorf("lake rows of late.csv: %d, want 3", n)
	}
}

// TestRetractRun: a retracted run leaves nothing in the tables or the lake, is recorded, its
// files can be ingested again, and its run id is not given out again.
func TestRetractRun(t *testing.T) {
	ctx := context.Background()
	w, dir := openTemp(t)
	files := []string{"testdata/example-assessments.csv", "testdata/example-sessions.csv"}
	if _, err := w.Ingest(ctx, files[:1], testOptions()); err != nil {
		t.Fatal(err)
	}
	before := tableState(t, w)
	if _, err := w.Ingest(ctx, files[1:], testOptions()); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Retract(ctx, 9, time.Now()); err == nil || !strings.Contains(err.Error(), "no run 9") {
		t.Errorf("retract of a missing run: %v", err)
	}
	gone, err := w.Retract(ctx, 2, time.Date(2026, 10, 2, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if len(gone) != 1 || gone[0].Path != files[1] || gone[0].Rows != 21 {
		t.Errorf("retracted %+v", gone)
	}
	if after := tableState(t, w); !reflect.DeepEqual(after, before) {
		t.Errorf("after retract\n got %v\nwant %v", after, before)
	}
	if got := rowsText(t, w.DB(), `SELECT run_id, path, retracted_at, reason FROM ingest_retractions`); !reflect.DeepEqual(got,
		[]string{"run_id=2 path=" + files[1] + " retracted_at=2026-10-02T00:00:00Z reason=retracted"}) {
		t.Errorf("retractions: %v", got)
	}
	reps, err := w.Ingest(ctx, files[1:], testOptions())
	if err != nil || reps[0].Skipped || reps[0].Accepted != 21 {
		t.Fatalf("ingest after retract: %v %+v", err, reps)
	}
	if got := rowsText(t, w.DB(), `SELECT run_id, file_id FROM ingest_runs ORDER BY ALL`); !reflect.DeepEqual(got,
		[]string{"run_id=1 file_id=1", "run_id=3 file_id=3"}) {
		t.Errorf("runs after retract and reload: %v", got)
	}
	_ = dir
}

// TestOneOriginPerPatient: a run that would give a patient dated rows and day-offset rows —
// within the run (two files) or against the warehouse — is refused whole, naming the patient
// and the files; nothing is loaded. Validate reports the same.
func TestOneOriginPerPatient(t *testing.T) {
	ctx := context.Background()
	dated := writeTemp(t, "dated.csv", []byte(canonicalHeader+"\n"+
		arow("m-1", "north", "PHQ9", "2025-03-01", phqItems, "13")+"\n"+
		arow("m-2", "north", "PHQ9", "2025-03-01", phqItems, "13")+"\n"))
	offsetHeader := strings.Replace(canonicalHeader, ",date,", ",day,", 1)
	offsets := writeTemp(t, "offsets.csv", []byte(offsetHeader+"\n"+
		arow("m-1", "north", "GAD7", "14", gadItems, "21")+"\n"+
		arow("m-3", "north", "GAD7", "14", gadItems, "21")+"\n"))
	sessions := writeTemp(t, "sessions.csv", []byte("patient_id,clinic_id,day,session_type,route\nm-2,north,0,dosing,iv\n"))

	w, _ := openTemp(t)
	// the lake's owner marker is written before anything else: start from there
	if err := os.MkdirAll(w.Lake, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := w.claimLake(nil, nil); err != nil {
		t.Fatal(err)
	}
	before := tableState(t, w)
	_, err := w.Ingest(ctx, []string{dated, offsets}, testOptions())
	var me *MixedOriginError
	if !errors.As(err, &me) || me.Patient != "m-1" || !reflect.DeepEqual(me.Dated, []string{dated}) || !reflect.DeepEqual(me.Offsets, []string{offsets}) || me.Others != 0 {
		t.Fatalf("within the run: err = %v (%+v)", err, me)
	}
	if !strings.Contains(err.Error(), `patient "m-1" has rows with dates (`+dated+`) and rows with day offsets (`+offsets+`)`) {
		t.Errorf("message: %v", err)
	}
	if after := tableState(t, w); !reflect.DeepEqual(after, before) {
		t.Errorf("a refused run changed the warehouse: %v -> %v", before, after)
	}
	// Against the warehouse: the dated file first, then day offsets for m-1 (GAD-7) and a
	// dosing session by day offset for m-2.
	if _, err := w.Ingest(ctx, []string{dated}, testOptions()); err != nil {
		t.Fatal(err)
	}
	before = tableState(t, w)
	_, err = w.Ingest(ctx, []string{offsets, sessions}, testOptions())
	if !errors.As(err, &me) || me.Patient != "m-1" || !reflect.DeepEqual(me.Dated, []string{dated + " (run 1)"}) ||
		!reflect.DeepEqual(me.Offsets, []string{offsets}) || me.Others != 1 {
		t.Fatalf("against the warehouse: err = %v (%+v)", err, me)
	}
	if !strings.Contains(err.Error(), "(and 1 more patients)") {
		t.Errorf("message: %v", err)
	}
	if after := tableState(t, w); !reflect.DeepEqual(after, before) {
		t.Errorf("a refused run changed the warehouse: %v -> %v", before, after)
	}
	// One origin each: accepted.
	if _, err := w.Ingest(ctx, []string{writeTemp(t, "more.csv", []byte(canonicalHeader+"\n"+arow("m-2", "north", "GAD7", "2025-04-01", gadItems, "21")+"\n"))}, testOptions()); err != nil {
		t.Errorf("dated rows for a dated patient: %v", err)
	}
	if _, _, err := Validate(ctx, []string{dated, offsets}, testOptions()); !errors.As(err, &me) || me.Patient != "m-1" {
		t.Errorf("validate: %v", err)
	}
}

// TestBatchedLoadAsFileByFile: files loaded together in one batch are classified exactly as
// when each is ingested on its own after the ones before (duplicates and conflicts within a
// file, against earlier files of the run and against the warehouse), row for row.
func TestBatchedLoadAsFileByFile(t *testing.T) {
	ctx := context.Background()
	row := func(pid, date string, items []string, total string) string {
		return arow(pid, "north", "PHQ9", date, items, total)
	}
	other := strings.Split("0,0,0,0,0,0,0,0,1", ",") // total 1
	files := []string{
		writeTemp(t, "f1.csv", []byte(canonicalHeader+"\n"+strings.Join([]string{
			row("b-1", "2025-01-01", phqItems, "13"), row("b-1", "2025-01-01", phqItems, "13"), // duplicate within
			row("b-2", "2025-01-01", phqItems, "13"), row("b-2", "2025-01-01", other, "1"), // conflict within
			row("b-3", "2025-01-01", phqItems, "13"),
			row("w-1", "2025-01-01", phqItems, "13"), // duplicate of the warehouse
			row("w-2", "2025-01-01", other, "1"),     // conflicts with the warehouse
		}, "\n")+"\n")),
		writeTemp(t, "f2.csv", []byte(canonicalHeader+"\n"+strings.Join([]string{
			row("b-3", "2025-01-01", phqItems, "13"), // duplicate of f1
			row("b-2", "2025-01-01", phqItems, "13"), // f1's b-2 rows were all conflicts: accepted
			row("b-4", "2025-01-01", other, "1"),
			row("b-4", "2025-01-01", other, "1"),
		}, "\n")+"\n")),
		writeTemp(t, "f3.csv", []byte(canonicalHeader+"\n"+strings.Join([]string{
			row("b-3", "2025-01-01", other, "1"),     // conflicts with f1's row
			row("b-2", "2025-01-01", other, "1"),     // conflicts with f2's row
			row("b-4", "2025-01-01", other, "1"),     // duplicate of f2
			row("b-5", "2025-01-01", phqItems, "13"), // new
		}, "\n")+"\n")),
	}
	base := writeTemp(t, "base.csv", []byte(canonicalHeader+"\n"+row("w-1", "2025-01-01", phqItems, "13")+"\n"+row("w-2", "2025-01-01", phqItems, "13")+"\n"))
	result := func(perCall bool) []string {
		dir := t.TempDir()
		w, err := OpenWarehouse(ctx, filepath.Join(dir, "k.duckdb"), "", false)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		calls := [][]string{{base}, files}
		if perCall {
			calls = [][]string{{base}, files[:1], files[1:2], files[2:]}
		}
		var out []string
		for _, c := range calls {
			reps, err := w.Ingest(ctx, c, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range reps {
				out = append(out, fmt.Sprintf("%s: %d accepted, %d duplicates, %d quarantined", filepath.Base(r.Path), r.Accepted, r.Duplicates, r.Quarantined))
			}
		}
		out = append(out, rowsText(t, w.DB(), `SELECT file_id - min(file_id) OVER () AS f, line, reason, detail FROM quarantine ORDER BY ALL`)...)
		out = append(out, rowsText(t, w.DB(), `SELECT file_id - min(file_id) OVER () AS f, source_line FROM assessments ORDER BY ALL`)...)
		return out
	}
	batched, perFile := result(false), result(true)
	// f1: accepted b-1 (line 2) and b-3 (6); duplicates b-1 (3) and w-1 (7); conflicts b-2 (4, 5)
	// and w-2 (8).
	// f2: b-3 duplicate, b-2 accepted, b-4 line 4 accepted and line 5 duplicate.
	// f3: b-3 and b-2 conflicts, b-4 duplicate, b-5 accepted.
	want := []string{
		"base.csv: 2 accepted, 0 duplicates, 0 quarantined",
		"f1.csv: 2 accepted, 2 duplicates, 3 quarantined",
		"f2.csv: 2 accepted, 2 duplicates, 0 quarantined",
		"f3.csv: 1 accepted, 1 duplicates, 2 quarantined",
	}
	if !reflect.DeepEqual(batched[:4], want) {
		t.Errorf("batched counts %v, want %v", batched[:4], want)
	}
	if !reflect.DeepEqual(batched, perFile) {
		t.Errorf("batched and file-by-file loads differ:\nbatched  %v\nper file %v", batched, perFile)
	}
}

// TestManySmallFiles: one ingest of 1,300 small files (DuckDB ran out of its 320 MB at about
// 1,200 when every file was loaded by its own statements) loads them all.
func TestManySmallFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("1,300 files")
	}
	ctx := context.Background()
	dir := t.TempDir()
	var files []string
	for i := range 1300 {
		p := filepath.Join(dir, fmt.Sprintf("f%04d.csv", i))
		os.WriteFile(p, []byte(canonicalHeader+"\n"+arow(fmt.Sprintf("s-%d", i), "north", "PHQ9", "2025-03-01", phqItems, "13")+"\n"), 0o644)
		files = append(files, p)
	}
	w, err := OpenWarehouse(ctx, filepath.Join(dir, "k.duckdb"), "", false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	reps, err := w.Ingest(ctx, files, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 1300 || count(t, w, "SELECT count(*) FROM assessments") != 1300 || count(t, w, "SELECT count(DISTINCT file_id) FROM ingest_runs") != 1300 {
		t.Errorf("%d reports, %d rows", len(reps), count(t, w, "SELECT count(*) FROM assessments"))
	}
	// one lake file per input file, plus the marker
	if n := len(lakeFiles(t, w.Lake)); n != 1301 {
		t.Errorf("%d lake files, want 1301", n)
	}
}

// TestConfigRanges: every parameter is checked with its key named; NaN and infinities are
// refused; the suppression threshold never goes under 11.
func TestConfigRanges(t *testing.T) {
	for body, want := range map[string]string{
		"response_fraction = nan":                  "response_fraction = NaN: want a number in (0, 1)",
		"response_fraction = inf":                  "response_fraction = +Inf",
		"response_fraction = -inf":                 "response_fraction = -Inf",
		"suppress_below = 1":                       "suppress_below = 1: want 11..1000",
		"suppress_below = 0":                       "suppress_below = 0: want 11..1000",
		"acute_days = 9223372036854775807":         "acute_days = 9223372036854775807: want 1..3650",
		"baseline_days = 100000":                   "baseline_days = 100000: want 0..3650",
		"class_starts = -3":                        "class_starts = -3: want 1..1000",
		"class_starts = 0":                         "class_starts = 0: want 1..1000",
		"relapse_days = [28, -1]":                  "relapse_days[1] = -1: want 1..3650",
		"[instruments.PHQ9]\nremission = 40":       "instruments.PHQ9.remission = 40: want 1..27",
		"[instruments.PHQ9]\nremission = 0":        "instruments.PHQ9.remission = 0: want 1..27",
		"[instruments.GAD7]\nreliable_change = 0":  "instruments.GAD7.reliable_change = 0: want 1..21",
		"[instruments.PCL5]\nreliable_change = 81": "instruments.PCL5.reliable_change = 81: want 1..80",
		"[instruments.PCL5]\ncutoff = 81":          "instruments.PCL5.cutoff = 81: want 0..80",
	} {
		p := writeTemp(t, "c.toml", []byte(body+"\n"))
		_, err := LoadConfig(p)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", body, err, want)
		}
	}
	p := writeTemp(t, "ok.toml", []byte("suppress_below = 20\nresponse_fraction = 0.4\n[instruments.PHQ9]\nremission = 27\n"))
	if c, err := LoadConfig(p); err != nil || c.SuppressBelow != 20 || c.Instruments["PHQ9"].Remission != 27 {
		t.Errorf("valid config: %v %+v", err, c)
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}
