package pipeline

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/kapstat/kapstat/synth"
)

// schemaV1 is the warehouse layout of schema version 1 (kapstat 0.3.0), kept to test the
// migration: ingest_runs had no as_of column.
var schemaV1 = []string{
	`CREATE TABLE kapstat_meta (key VARCHAR, value VARCHAR)`,
	`INSERT INTO kapstat_meta VALUES ('schema_version', '1'), ('created_by', 'kapstat 0.3.0')`,
	`CREATE TABLE ingest_runs (run_id INTEGER, file_id INTEGER, path VARCHAR, sha256 VARCHAR,
		kind VARCHAR, rows_read BIGINT, accepted BIGINT, duplicates BIGINT, quarantined BIGINT,
		kapstat_version VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP)`,
	`INSERT INTO ingest_runs VALUES (1, 1, 'old.csv', 'abc', 'assessments', 0, 0, 0, 0, '0.3.0', now(), now())`,
	`CREATE TABLE assessments (run_id INTEGER, file_id INTEGER, source_line BIGINT,
		patient_id VARCHAR, clinic_id VARCHAR, instrument VARCHAR, day INTEGER, date DATE, year VARCHAR, ` +
		itemColumnsDDL + `total_given SMALLINT, total SMALLINT, prorated BOOLEAN, answered TINYINT, band VARCHAR,
		safety_flag BOOLEAN, cluster_b SMALLINT, cluster_c SMALLINT, cluster_d SMALLINT, cluster_e SMALLINT,
		provisional_ptsd BOOLEAN, responses_hash UBIGINT)`,
	`CREATE TABLE sessions (run_id INTEGER, file_id INTEGER, source_line BIGINT,
		patient_id VARCHAR, clinic_id VARCHAR, day INTEGER, date DATE, year VARCHAR, session_type VARCHAR,
		route VARCHAR, dose_mg DOUBLE, program VARCHAR, setting VARCHAR, responses_hash UBIGINT)`,
	`CREATE TABLE quarantine (run_id INTEGER, file_id INTEGER, file VARCHAR, line BIGINT,
		column_name VARCHAR, reason VARCHAR, detail VARCHAR, raw VARCHAR)`,
}

func makeDB(t *testing.T, stmts []string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "w.duckdb")
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	return path
}

// rowsText renders a query's rows, every column as text, one line per row.
func rowsText(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		v := make([]sql.NullString, len(cols))
		p := make([]any, len(cols))
		for i := range v {
			p[i] = &v[i]
		}
		if err := rows.Scan(p...); err != nil {
			t.Fatal(err)
		}
		var f []string
		for i, x := range v {
			if x.Valid {
				f = append(f, cols[i]+"="+x.String)
			} else {
				f = append(f, cols[i]+"=NULL")
			}
		}
		out = append(out, strings.Join(f, " "))
	}
	return out
}

const allAssessments = `SELECT * REPLACE (CAST(date AS VARCHAR) AS date) FROM assessments ORDER BY run_id, file_id, source_line`

func TestMigrateFromVersion1(t *testing.T) {
	// A version-1 warehouse holding real assessments: rows ingested by this version (PHQ-9, GAD-7
	// and PCL-5; prorated, total-only and dated and undated rows), copied into the version-1
	// table, whose columns are those of today's assessments view.
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := synth.Write(filepath.Join(dir, "cohort"), synth.Config{Patients: 60, Seed: 3, End: testAsOf, BadRows: true}); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "src.duckdb")
	w0, err := OpenWarehouse(ctx, src, "", false)
	if err != nil {
		t.Fatal(err)
	}
	// day offsets instead of dates, a total-only row, a PCL-5 with cluster C unanswered
	offsets := filepath.Join(dir, "offsets.csv")
	os.WriteFile(offsets, []byte("patient_id,instrument,day,"+strings.ReplaceAll(itemList, " ", "")+",total\n"+
		"d-1,PHQ9,0,1,2,3,0,1,2,3,0,1,,,,,,,,,,,,\n"+
		"d-1,PHQ9,14,,,,,,,,,,,,,,,,,,,,,7\n"+
		"d-1,PCL5,14,1,2,3,4,0,,,1,2,3,4,0,1,2,3,4,0,1,2,3,\n"), 0o644)
	if _, err := w0.Ingest(ctx, []string{filepath.Join(dir, "cohort", "assessments.csv"), "testdata/example-assessments.csv", offsets}, testOptions()); err != nil {
		t.Fatal(err)
	}
	want := rowsText(t, w0.DB(), allAssessments)
	var kinds int64
	w0.DB().QueryRow(`SELECT count(DISTINCT instrument) + count(*) FILTER (prorated) * 0 + (count(*) FILTER (total_given IS NULL) > 0)::INT
		+ (count(*) FILTER (item_1 IS NULL) > 0)::INT + (count(*) FILTER (date IS NULL) > 0)::INT FROM assessments`).Scan(&kinds)
	if len(want) < 500 || kinds != 6 {
		t.Fatalf("test data too narrow: %d rows, %d kinds", len(want), kinds)
	}
	w0.Close()
	path := makeDB(t, append(append([]string(nil), schemaV1...),
		`ATTACH `+sqlString(src)+` AS src (READ_ONLY)`,
		`INSERT INTO assessments SELECT * FROM src.assessments`,
		`INSERT INTO ingest_runs SELECT * EXCLUDE (as_of) FROM src.ingest_runs WHERE run_id > 1 OR file_id > 1`))
	// Read-only opening cannot migrate and says so.
	if _, err := OpenWarehouse(context.Background(), path, "", true); err == nil || !strings.Contains(err.Error(), "schema version 1") {
		t.Errorf("read-only open of a v1 warehouse: %v", err)
	}
	w, err := OpenWarehouse(context.Background(), path, "", false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var v string
	w.DB().QueryRow(`SELECT value FROM kapstat_meta WHERE key = 'schema_version'`).Scan(&v)
	if v != strconv.Itoa(SchemaVersion) {
		t.Errorf("schema version after migration %q, want %d", v, SchemaVersion)
	}
	// Version 3 stores them packed: the assessments view gives back every value.
	if got := rowsText(t, w.DB(), allAssessments); !reflect.DeepEqual(got, want) {
		t.Errorf("assessments changed in the migration: %d rows, want %d", len(got), len(want))
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("first difference:\n got %s\nwant %s", got[i], want[i])
			}
		}
	}
	if n := count(t, w, `SELECT count(*) FROM ingest_runs WHERE path = 'old.csv' AND as_of IS NULL`); n != 1 {
		t.Errorf("the old run was not kept: %d", n)
	}
	// The migrated warehouse takes a new ingest, recording its as-of date.
	more := filepath.Join(dir, "more.csv")
	os.WriteFile(more, []byte("patient_id,instrument,day,total\nd-2,PHQ9,0,12\n"), 0o644)
	if _, err := w.Ingest(context.Background(), []string{more}, testOptions()); err != nil {
		t.Fatal(err)
	}
	if n := count(t, w, `SELECT count(*) FROM ingest_runs WHERE as_of = DATE '2026-09-30'`); n != 1 {
		t.Errorf("new run without as_of: %d", n)
	}
}

func TestRefuseNewerSchema(t *testing.T) {
	path := makeDB(t, []string{`CREATE TABLE kapstat_meta (key VARCHAR, value VARCHAR)`,
		`INSERT INTO kapstat_meta VALUES ('schema_version', '99')`})
	_, err := OpenWarehouse(context.Background(), path, "", false)
	if err == nil || !strings.Contains(err.Error(), "schema version 99, newer than this kapstat") {
		t.Errorf("err = %v", err)
	}
}

func TestRefuseForeignDuckDB(t *testing.T) {
	path := makeDB(t, []string{`CREATE TABLE t (x INTEGER)`})
	if _, err := OpenWarehouse(context.Background(), path, "", false); err == nil || !strings.Contains(err.Error(), "not a kapstat warehouse") {
		t.Errorf("err = %v", err)
	}
}

// Versions before 4 stored a PHQ-9 whose item 9 was skipped with safety_flag false ("no
// risk"); the migration makes it unknown (NULL) and leaves answered items as they were. The
// old state is made by hand: a warehouse of this version set back to version 3 with the flag
// bits of the skipped row packed as false (1), as version 3 packed them.
func TestMigrateSafetyFlag(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "k.duckdb")
	w, err := OpenWarehouse(ctx, path, "", false)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "a.csv")
	os.WriteFile(f, []byte("patient_id,instrument,day,item_1,item_2,item_3,item_4,item_5,item_6,item_7,item_8,item_9\n"+
		"s,PHQ9,0,1,1,1,1,1,1,1,1,\n"+ // item 9 skipped: unknown
		"s,PHQ9,7,1,1,1,1,1,1,1,1,0\n"+ // answered 0: no
		"s,PHQ9,14,1,1,1,1,1,1,1,1,2\n"), 0o644) // answered 2: yes
	if _, err := w.Ingest(ctx, []string{f}, testOptions()); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE assessment_rows SET scores = scores | (1::BIGINT << 56) WHERE day = 0`,
		`UPDATE kapstat_meta SET value = '3' WHERE key = 'schema_version'`,
	} {
		if _, err := w.DB().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if got := rowsText(t, w.DB(), `SELECT day, coalesce(CAST(safety_flag AS VARCHAR), 'null') AS flag FROM assessments ORDER BY day`); !reflect.DeepEqual(got, []string{"day=0 flag=false", "day=7 flag=false", "day=14 flag=true"}) {
		t.Fatalf("before the migration: %v", got)
	}
	w.Close()
	w, err = OpenWarehouse(ctx, path, "", false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if got := rowsText(t, w.DB(), `SELECT day, coalesce(CAST(safety_flag AS VARCHAR), 'null') AS flag FROM assessments ORDER BY day`); !reflect.DeepEqual(got, []string{"day=0 flag=null", "day=7 flag=false", "day=14 flag=true"}) {
		t.Errorf("after the migration: %v, want day 0 null", got)
	}
}

// schemaV3 is the warehouse layout of schema version 3 as far as the version-4 migration
// changes it: sessions without the safety columns, and no patients table.
var schemaV3 = []string{
	`CREATE TABLE kapstat_meta (key VARCHAR, value VARCHAR)`,
	`INSERT INTO kapstat_meta VALUES ('schema_version', '3'), ('created_by', 'kapstat 0.5.0')`,
	`CREATE TABLE ingest_runs (run_id INTEGER, file_id INTEGER, path VARCHAR, sha256 VARCHAR,
		kind VARCHAR, rows_read BIGINT, accepted BIGINT, duplicates BIGINT, quarantined BIGINT,
		kapstat_version VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP, as_of DATE)`,
	assessmentRowsDDL,
	`CREATE VIEW assessments AS SELECT * FROM assessment_rows`,
	`CREATE TABLE sessions (run_id INTEGER, file_id INTEGER, source_line BIGINT,
		patient_id VARCHAR, clinic_id VARCHAR, day INTEGER, date DATE, year VARCHAR, session_type VARCHAR,
		route VARCHAR, dose_mg DOUBLE, program VARCHAR, setting VARCHAR, responses_hash UBIGINT)`,
	`CREATE TABLE quarantine (run_id INTEGER, file_id INTEGER, file VARCHAR, line BIGINT,
		column_name VARCHAR, reason VARCHAR, detail VARCHAR, raw VARCHAR)`,
}

// TestMigrateFromVersion3: a version-3 warehouse holding sessions (those of a synthetic
// cohort, loaded by this version and copied without the safety columns) is migrated to the
// layout a new warehouse has — the same tables with the same columns in the same order —
// every session kept with its values and hash, the safety columns not recorded; the
// migrated warehouse then takes a patients file and sessions with safety columns, and a
// re-ingest of the old sessions is all duplicates.
func TestMigrateFromVersion3(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := synth.Write(filepath.Join(dir, "cohort"), synth.Config{Patients: 40, Seed: 3, End: testAsOf}); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dir, "old-sessions.csv")
	// the cohort's sessions as a version-3 kapstat read them: the columns before the safety ones
	b, err := os.ReadFile(filepath.Join(dir, "cohort", "sessions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		lines = append(lines, strings.Join(strings.Split(l, ",")[:8], ","))
	}
	os.WriteFile(old, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	src := filepath.Join(dir, "src.duckdb")
	w0, err := OpenWarehouse(ctx, src, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w0.Ingest(ctx, []string{old}, testOptions()); err != nil {
		t.Fatal(err)
	}
	const allSessions = `SELECT * EXCLUDE (` + sessionSafetyColumns + `) REPLACE (CAST(date AS VARCHAR) AS date) FROM sessions ORDER BY run_id, file_id, source_line`
	want := rowsText(t, w0.DB(), allSessions)
	if len(want) < 200 {
		t.Fatalf("test data too narrow: %d sessions", len(want))
	}
	fresh := map[string][]string{}
	for _, tb := range []string{"sessions", "patients", "ingest_runs", "quarantine", "assessment_rows", "ingest_retractions", "kapstat_meta"} {
		fresh[tb] = rowsText(t, w0.DB(), `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '`+tb+`' ORDER BY ordinal_position`)
	}
	w0.Close()

	path := makeDB(t, append(append([]string(nil), schemaV3...),
		`ATTACH `+sqlString(src)+` AS src (READ_ONLY)`,
		`INSERT INTO sessions SELECT * EXCLUDE (`+sessionSafetyColumns+`) FROM src.sessions`,
		`INSERT INTO ingest_runs SELECT * FROM src.ingest_runs`))
	if _, err := OpenWarehouse(ctx, path, "", true); err == nil || !strings.Contains(err.Error(), "schema version 3") {
		t.Errorf("read-only open of a v3 warehouse: %v", err)
	}
	w, err := OpenWarehouse(ctx, path, "", false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for tb, cols := range fresh {
		if got := rowsText(t, w.DB(), `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '`+tb+`' ORDER BY ordinal_position`); !reflect.DeepEqual(got, cols) {
			t.Errorf("%s after the migration:\n got %q\nwant %q (as a new warehouse has it)", tb, got, cols)
		}
	}
	if got := rowsText(t, w.DB(), allSessions); !reflect.DeepEqual(got, want) {
		t.Errorf("sessions changed in the migration: %d rows, want %d", len(got), len(want))
	}
	if n := count(t, w, `SELECT count(*) FROM sessions WHERE coalesce(sbp_pre, dbp_pre, hr_pre, sbp_max, dbp_max, hr_max, dissociation) IS NOT NULL
		OR side_effects IS NOT NULL OR serious_adverse_event IS NOT NULL`); n != 0 {
		t.Errorf("%d migrated sessions with safety values", n)
	}
	if n := count(t, w, `SELECT count(*) FROM kapstat_meta WHERE key = 'warehouse_id'`); n != 1 {
		t.Errorf("warehouse id rows %d", n)
	}
	// The old sessions again (with CRLF line ends, so another file): every one a duplicate, as
	// the hash of a session without safety values is what version 3 stored. One of them with a
	// blood pressure conflicts; a new session with safety values and a patients file load.
	again := filepath.Join(dir, "again.csv")
	os.WriteFile(again, []byte(strings.Join(lines, "\r\n")+"\r\n"), 0o644)
	first := strings.Split(lines[1], ",")
	safety := filepath.Join(dir, "safety.csv")
	os.WriteFile(safety, []byte(lines[0]+",sbp_pre,side_effects\n"+lines[1]+",128,\n"+
		strings.Join(append([]string{first[0], first[1], "2026-09-01"}, "dosing", "im", "50", "kap", "in_person", "131", "nausea"), ",")+"\n"), 0o644)
	pats := filepath.Join(dir, "patients.csv")
	os.WriteFile(pats, []byte("patient_id,age,sex\n"+first[0]+",40,female\n"), 0o644)
	reps, err := w.Ingest(ctx, []string{again, safety, pats}, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if r := reps[0]; r.Duplicates != r.RowsRead || r.RowsRead != int64(len(want)) {
		t.Errorf("old sessions again: %+v, want all %d duplicates", *r, len(want))
	}
	if r := reps[1]; r.Accepted != 1 || r.Reasons[ReasonConflict] != 1 {
		t.Errorf("sessions with safety values after the migration: %+v, want 1 conflict and 1 accepted", *r)
	}
	if r := reps[2]; r.Kind != KindPatients || r.Accepted != 1 {
		t.Errorf("patients after the migration: %+v", *r)
	}
	if got := rowsText(t, w.DB(), `SELECT sbp_pre, side_effects FROM sessions WHERE date = DATE '2026-09-01'`); !reflect.DeepEqual(got, []string{"sbp_pre=131 side_effects=nausea"}) {
		t.Errorf("new session %q", got)
	}
}
