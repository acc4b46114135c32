package pipeline

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
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

func TestMigrateFromVersion1(t *testing.T) {
	path := makeDB(t, schemaV1)
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
	if v != "2" {
		t.Errorf("schema version after migration %q, want 2", v)
	}
	if n := count(t, w, `SELECT count(*) FROM ingest_runs WHERE path = 'old.csv' AND as_of IS NULL`); n != 1 {
		t.Errorf("the old run was not kept: %d", n)
	}
	// The migrated warehouse takes a new ingest, recording its as-of date.
	if _, err := w.Ingest(context.Background(), []string{"testdata/example-assessments.csv"}, testOptions()); err != nil {
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

func TestCountStatements(t *testing.T) {
	for q, want := range map[string]int{
		"SELECT 1":                      1,
		"SELECT 1;":                     1,
		"  SELECT 1 ;  \n":              1,
		"SELECT 1; SELECT 2":            2,
		"SELECT ';' AS semi":            1,
		`SELECT 1 AS "a;b"`:             1,
		"SELECT 1 -- ; DROP TABLE x\n":  1,
		"SELECT 1 /* ; DROP TABLE x */": 1,
		"SELECT 1; /* c */ ; ":          1,
		"":                              0,
		";;":                            0,
		"CREATE TEMP TABLE t AS SELECT 1; SELECT * FROM t": 2,
		"SELECT 'unterminated; DROP":                       1,
	} {
		if got := countStatements(q); got != want {
			t.Errorf("countStatements(%q) = %d, want %d", q, got, want)
		}
	}
}
