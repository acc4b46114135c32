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
