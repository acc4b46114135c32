package pipeline

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2" // also registers the "duckdb" driver (cgo; DuckDB is linked statically)
)

// SchemaVersion is the warehouse layout this kapstat writes. A warehouse with a newer
// version is refused; older ones are migrated (migrations).
const SchemaVersion = 3

// Warehouse is the DuckDB file and the Parquet lake beside it.
type Warehouse struct {
	Path     string
	Lake     string
	ReadOnly bool
	db       *sql.DB
}

// ErrBusy is returned when another process holds the warehouse open for writing.
var ErrBusy = errors.New("warehouse is in use by another kapstat process")

// OpenWarehouse opens (creating when writable) the DuckDB file at path. lake is the Parquet
// lake directory ("" = "lake" beside the file). A read-only open never creates or changes it.
func OpenWarehouse(ctx context.Context, path, lake string, readOnly bool) (*Warehouse, error) {
	if lake == "" && path != "" {
		lake = filepath.Join(filepath.Dir(path), "lake")
	}
	w := &Warehouse{Path: path, Lake: lake, ReadOnly: readOnly}
	// DuckDB keeps its own memory outside the Go heap; the limit keeps the process flat as
	// inputs grow (DuckDB spills to a temporary directory beside the file past it).
	dsn := path + "?threads=2&memory_limit=400MB"
	if readOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("open warehouse: %w", err)
		}
		dsn += "&access_mode=read_only"
	}
	db, err := sql.Open("duckdb", dsn)
	if err == nil {
		err = db.PingContext(ctx)
	}
	if err != nil {
		if db != nil {
			db.Close()
		}
		if strings.Contains(err.Error(), "lock") {
			return nil, fmt.Errorf("open %s: %w (%v)", path, ErrBusy, firstLine(err.Error()))
		}
		return nil, fmt.Errorf("open warehouse %s: %w", path, err)
	}
	w.db = db
	if err := w.checkSchema(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if !readOnly {
		if err := w.cleanLake(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	return w, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// DB is the underlying database handle.
func (w *Warehouse) DB() *sql.DB { return w.db }

// Close checkpoints and closes the warehouse.
func (w *Warehouse) Close() error { return w.db.Close() }

// itemList is "item_1, item_2, …, item_20".
var itemList = func() string {
	var s []string
	for k := 1; k <= 20; k++ {
		s = append(s, fmt.Sprintf("item_%d", k))
	}
	return strings.Join(s, ", ")
}()

var itemColumnsDDL = strings.ReplaceAll(itemList, ",", " TINYINT,") + " TINYINT, "

// schemaDDL creates the tables of SPEC 5 that ingest fills. analyze replaces its own tables.
var schemaDDL = []string{
	`CREATE TABLE IF NOT EXISTS kapstat_meta (key VARCHAR, value VARCHAR)`,
	`CREATE TABLE IF NOT EXISTS ingest_runs (run_id INTEGER, file_id INTEGER, path VARCHAR, sha256 VARCHAR,
		kind VARCHAR, rows_read BIGINT, accepted BIGINT, duplicates BIGINT, quarantined BIGINT,
		kapstat_version VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP, as_of DATE)`,
	assessmentRowsDDL,
	assessmentsView,
	`CREATE TABLE IF NOT EXISTS sessions (run_id INTEGER, file_id INTEGER, source_line BIGINT,
		patient_id VARCHAR, clinic_id VARCHAR, day INTEGER, date DATE, year VARCHAR, session_type VARCHAR,
		route VARCHAR, dose_mg DOUBLE, program VARCHAR, setting VARCHAR, responses_hash UBIGINT)`,
	`CREATE TABLE IF NOT EXISTS quarantine (run_id INTEGER, file_id INTEGER, file VARCHAR, line BIGINT,
		column_name VARCHAR, reason VARCHAR, detail VARCHAR, raw VARCHAR)`,
}

func (w *Warehouse) checkSchema(ctx context.Context) error {
	var n int
	err := w.db.QueryRowContext(ctx,
		`SELECT count(*) FROM information_schema.tables WHERE table_name = 'kapstat_meta'`).Scan(&n)
	if err != nil {
		return fmt.Errorf("read schema of %s: %w", w.Path, err)
	}
	if n == 0 {
		var others int
		w.db.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.tables`).Scan(&others)
		if others > 0 {
			return fmt.Errorf("%s is a DuckDB file but not a kapstat warehouse (no kapstat_meta table)", w.Path)
		}
		if w.ReadOnly {
			return fmt.Errorf("%s is empty: ingest files into it first", w.Path)
		}
		return w.createSchema(ctx)
	}
	var v string
	if err := w.db.QueryRowContext(ctx, `SELECT value FROM kapstat_meta WHERE key = 'schema_version'`).Scan(&v); err != nil {
		return fmt.Errorf("%s: no schema version: %w", w.Path, err)
	}
	ver, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("%s: bad schema version %q", w.Path, v)
	}
	if ver > SchemaVersion {
		return fmt.Errorf("%s has warehouse schema version %d, newer than this kapstat %s understands (%d): use a newer kapstat",
			w.Path, ver, Version, SchemaVersion)
	}
	if ver < SchemaVersion {
		if w.ReadOnly {
			return fmt.Errorf("%s has schema version %d: run ingest or analyze once to migrate it to %d", w.Path, ver, SchemaVersion)
		}
		return w.migrate(ctx, ver)
	}
	return nil
}

func (w *Warehouse) createSchema(ctx context.Context) error {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range schemaDDL {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create warehouse schema: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO kapstat_meta VALUES ('schema_version', ?), ('created_by', ?)`,
		strconv.Itoa(SchemaVersion), "kapstat "+Version); err != nil {
		return err
	}
	return tx.Commit()
}

// assessmentRowsDDL is the physical table of assessments: items and scores are stored packed
// in two integers (layout in stage.go), as staging writes them, because DuckDB's cost of
// storing a row grows with its number of columns and ingest stores millions of rows. Readers use
// the assessments view, which has one column per item and score.
const assessmentRowsDDL = `CREATE TABLE IF NOT EXISTS assessment_rows (run_id INTEGER, file_id INTEGER,
	source_line BIGINT, patient_id VARCHAR, clinic_id VARCHAR, instrument VARCHAR, day INTEGER, has_date BOOLEAN,
	items BIGINT, scores BIGINT, band VARCHAR, responses_hash UBIGINT)`

// assessmentsView is the assessments table of SPEC 5, one column per item and score: run_id,
// file_id, source_line, patient_id, clinic_id, instrument, day, date, year, item_1 … item_20,
// total_given, total, prorated, answered, band, safety_flag, cluster_b … cluster_e,
// provisional_ptsd, responses_hash.
var assessmentsView = `CREATE OR REPLACE VIEW assessments AS SELECT run_id, file_id, source_line, patient_id,
	clinic_id, instrument, day, ` + dateYearColumns + `, ` + unpackedScoreColumns + `, responses_hash FROM assessment_rows`

// migrations[v] upgrades a warehouse from version v to v+1.
var migrations = map[int][]string{
	// Version 2 records the as-of date each file was validated against (future_date).
	1: {`ALTER TABLE ingest_runs ADD COLUMN as_of DATE`},
	// Version 3 stores assessments packed (assessment_rows) behind the assessments view.
	2: {assessmentRowsDDL,
		`INSERT INTO assessment_rows SELECT run_id, file_id, source_line, patient_id, clinic_id, instrument, day,
			date IS NOT NULL, ` + packItemsSQL + `, ` + packScoresSQL + `, band, responses_hash FROM assessments ORDER BY run_id, file_id, source_line`,
		`DROP TABLE assessments`,
		assessmentsView},
}

// packItemsSQL and packScoresSQL pack a version-2 assessments row as packAssessment does.
var packItemsSQL = func() string {
	var t []string
	for k := 0; k < 20; k++ {
		t = append(t, fmt.Sprintf("(coalesce(item_%d + 1, 0)::BIGINT << %d)", k+1, 3*k))
	}
	return strings.Join(t, " | ")
}()

var packScoresSQL = func() string {
	tri := func(col string, bit int) string {
		return fmt.Sprintf("(CASE WHEN %s IS NULL THEN 0 WHEN %s THEN 2 ELSE 1 END::BIGINT << %d)", col, col, bit)
	}
	t := []string{"coalesce(total_given + 1, 0)::BIGINT", "(total::BIGINT << 8)", "(answered::BIGINT << 16)"}
	for c, col := range []string{"cluster_b", "cluster_c", "cluster_d", "cluster_e"} {
		t = append(t, fmt.Sprintf("(coalesce(%s + 1, 0)::BIGINT << %d)", col, 8*(3+c)))
	}
	t = append(t, tri("safety_flag", 56), tri("provisional_ptsd", 58), "(CASE WHEN prorated THEN 1 ELSE 0 END::BIGINT << 60)")
	return strings.Join(t, " | ")
}()

func (w *Warehouse) migrate(ctx context.Context, from int) error {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for v := from; v < SchemaVersion; v++ {
		for _, q := range migrations[v] {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("migrate warehouse from version %d: %w", v, err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE kapstat_meta SET value = ? WHERE key = 'schema_version'`, strconv.Itoa(SchemaVersion)); err != nil {
		return err
	}
	return tx.Commit()
}

// partFile matches lake files: part-<run>-<file>-<n>.parquet, and part-<run>-<n>.parquet as
// earlier builds named them.
var partFile = regexp.MustCompile(`^part-(\d+)-\d+(-\d+)?\.parquet$`)

// cleanLake removes what an interrupted ingest left: staging directories, and lake files of
// runs that never committed (their run id is not in ingest_runs). Together with writing lake
// files before the commit, this makes the lake follow the warehouse's transaction.
func (w *Warehouse) cleanLake(ctx context.Context) error {
	if _, err := os.Stat(w.Lake); os.IsNotExist(err) {
		return nil
	}
	committed := map[int]bool{}
	rows, err := w.db.QueryContext(ctx, `SELECT DISTINCT run_id FROM ingest_runs`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int
		rows.Scan(&id)
		committed[id] = true
	}
	rows.Close()
	entries, _ := os.ReadDir(w.Lake)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".staging-") {
			if err := os.RemoveAll(filepath.Join(w.Lake, e.Name())); err != nil {
				return fmt.Errorf("clean lake: %w", err)
			}
		}
	}
	return filepath.WalkDir(w.Lake, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if m := partFile.FindStringSubmatch(d.Name()); m != nil {
			id, _ := strconv.Atoi(m[1])
			if !committed[id] {
				return os.Remove(p)
			}
		}
		return nil
	})
}

// QueryLimits bound what one `kapstat sql` query may take: DuckDB's memory and the temporary
// files it spills to past that (both in DuckDB's size syntax, e.g. "400MB", "4GiB").
type QueryLimits struct {
	Memory string
	Temp   string
}

// DefaultQueryLimits are the limits of `kapstat sql` when none are given.
var DefaultQueryLimits = QueryLimits{Memory: "400MB", Temp: "4GiB"}

var sizeSyntax = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?\s*([KMGT]i?B|B)$`)

// Query runs one read-only query and hands its column names, then each row as text (NULL as the
// empty string), to emit as DuckDB produces them, so a large result is never held whole.
//
// Only a query runs: DuckDB's own parser (json_serialize_sql, which serializes SELECT statements
// only) must find exactly one statement and it must be a SELECT, and the prepared statement's
// type must say SELECT too; anything else (COPY, ATTACH, SET, PRAGMA, CALL, EXPLAIN, several
// statements) is refused before any of it runs. The warehouse must be opened read-only, external
// access and extension loading are off, temporary files go to a private directory capped by
// lim.Temp and removed afterwards, and the configuration is locked before the query.
func (w *Warehouse) Query(ctx context.Context, q string, lim QueryLimits, emit func(rec []string) error) error {
	if !w.ReadOnly {
		return fmt.Errorf("query: warehouse must be opened read-only")
	}
	if lim.Memory == "" {
		lim.Memory = DefaultQueryLimits.Memory
	}
	if lim.Temp == "" {
		lim.Temp = DefaultQueryLimits.Temp
	}
	for _, v := range []string{lim.Memory, lim.Temp} {
		if !sizeSyntax.MatchString(v) {
			return fmt.Errorf("query: size %q: want a number and a unit such as 400MB or 4GiB", v)
		}
	}
	tmp, err := os.MkdirTemp("", "kapstat-sql-")
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer os.RemoveAll(tmp)
	conn, err := w.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, s := range []string{
		"SET memory_limit = " + sqlString(lim.Memory),
		"SET temp_directory = " + sqlString(tmp),
		"SET max_temp_directory_size = " + sqlString(lim.Temp),
		"SET enable_external_access = false",
		"SET autoload_known_extensions = false",
		"SET autoinstall_known_extensions = false",
		"SET lock_configuration = true",
	} {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("query: %w", err)
		}
	}
	if err := checkOneQuery(ctx, conn, q); err != nil {
		return err
	}
	return conn.Raw(func(dc any) error {
		st, err := dc.(driver.ConnPrepareContext).PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("query: %s", firstLine(err.Error()))
		}
		defer st.Close()
		ds, ok := st.(*duckdb.Stmt)
		if !ok {
			return fmt.Errorf("query: unexpected driver statement %T", st)
		}
		if t, err := ds.StatementType(); err != nil || t != duckdb.STATEMENT_TYPE_SELECT {
			return fmt.Errorf("query: only a query (SELECT) may run, not this statement (type %d)", t)
		}
		rows, err := ds.QueryContext(ctx, nil)
		if err != nil {
			return fmt.Errorf("query: %s", firstLine(err.Error()))
		}
		defer rows.Close()
		cols := rows.Columns()
		if err := emit(cols); err != nil {
			return err
		}
		vals := make([]driver.Value, len(cols))
		rec := make([]string, len(cols))
		for {
			if err := rows.Next(vals); err == io.EOF {
				return nil
			} else if err != nil {
				return fmt.Errorf("query: %s", firstLine(err.Error()))
			}
			for i, v := range vals {
				rec[i] = formatValue(v)
			}
			if err := emit(rec); err != nil {
				return err
			}
		}
	})
}

// checkOneQuery parses q with DuckDB's parser: exactly one statement, and a SELECT (the only
// kind json_serialize_sql serializes; DESCRIBE, SUMMARIZE, SHOW, VALUES and FROM-first queries
// parse as SELECT too). Nothing is executed.
func checkOneQuery(ctx context.Context, conn *sql.Conn, q string) error {
	var js string
	if err := conn.QueryRowContext(ctx, `SELECT json_serialize_sql(CAST(? AS VARCHAR))::VARCHAR`, q).Scan(&js); err != nil {
		return fmt.Errorf("query: parse: %s", firstLine(err.Error()))
	}
	var parsed struct {
		Error      bool              `json:"error"`
		ErrorType  string            `json:"error_type"`
		Message    string            `json:"error_message"`
		Statements []json.RawMessage `json:"statements"`
	}
	if err := json.Unmarshal([]byte(js), &parsed); err != nil {
		return fmt.Errorf("query: parse: %w", err)
	}
	switch {
	case parsed.Error && parsed.ErrorType == "not implemented":
		return fmt.Errorf("query: only a query (SELECT, DESCRIBE, SUMMARIZE, SHOW) may run: the text holds another kind of statement")
	case parsed.Error:
		return fmt.Errorf("query: %s", firstLine(parsed.Message))
	case len(parsed.Statements) != 1:
		return fmt.Errorf("query: give exactly one statement (found %d)", len(parsed.Statements))
	}
	return nil
}

func formatValue(v driver.Value) string {
	switch x := v.(type) {
	case nil:
		return ""
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			return x.Format("2006-01-02")
		}
		return x.Format(time.RFC3339)
	case []byte:
		return string(x)
	default:
		return fmt.Sprint(x)
	}
}
