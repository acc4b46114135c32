package pipeline

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2" // also registers the "duckdb" driver (cgo; DuckDB is linked statically)
)

// SchemaVersion is the warehouse layout this kapstat writes. A warehouse with a newer
// version is refused; older ones are migrated (migrations).
const SchemaVersion = 4

// Warehouse is the DuckDB file and the Parquet lake beside it.
type Warehouse struct {
	Path     string
	Lake     string
	ReadOnly bool
	// ID identifies the warehouse (kapstat_meta warehouse_id); the lake it writes records it.
	ID string
	db *sql.DB
	// staging is where ingest makes its staging directory when there is no lake.
	staging string
	// tmp is the private temporary directory of a read-only open, removed by Close.
	tmp string
}

// ErrBusy is returned when another process holds the warehouse open for writing.
var ErrBusy = errors.New("warehouse is in use by another kapstat process")

// OpenOptions are how a warehouse is opened.
type OpenOptions struct {
	// Lake is the Parquet lake directory ("" = "lake" beside the file).
	Lake     string
	ReadOnly bool
	// Create allows a new, empty warehouse to be made at the path; without it a missing file is
	// an error (analyze, report, export and sql never make one).
	Create bool
	// Allow names directories DuckDB may read and write besides the warehouse's own files
	// (and, when writable, the lake): external access is off for everything else.
	Allow []string
}

// OpenWarehouse opens the DuckDB file at path: read-only, or writable and created when missing
// (ingest). lake is the Parquet lake directory ("" = "lake" beside the file).
func OpenWarehouse(ctx context.Context, path, lake string, readOnly bool) (*Warehouse, error) {
	return Open(ctx, path, OpenOptions{Lake: lake, ReadOnly: readOnly, Create: !readOnly})
}

// Open opens the warehouse at path ("" = a private in-memory one). DuckDB runs with external
// access off (files other than its own, the lake and o.Allow cannot be read or written, so a
// view planted in a hostile file reads nothing) and without loading extensions on demand, and
// the file must hold kapstat's relations only (checkRelations). A writable open migrates an
// older schema, removes what an interrupted ingest left (clean) and checks that the lake is
// this warehouse's (claimLake).
func Open(ctx context.Context, path string, o OpenOptions) (*Warehouse, error) {
	lake := o.Lake
	if lake == "" && path != "" {
		lake = filepath.Join(filepath.Dir(path), "lake")
	}
	w := &Warehouse{Path: path, Lake: lake, ReadOnly: o.ReadOnly}
	if path != "" && (o.ReadOnly || !o.Create) {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no warehouse at %s: ingest files into it first (kapstat ingest --db %s FILE...)", path, path)
		} else if err != nil {
			return nil, fmt.Errorf("open warehouse: %w", err)
		}
	}
	// DuckDB keeps its own memory outside the Go heap; the limit keeps the process flat as
	// inputs grow (DuckDB spills to a temporary directory beside the file past it).
	dsn := path + "?threads=2&memory_limit=400MB&autoload_known_extensions=false&autoinstall_known_extensions=false"
	if o.ReadOnly {
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
	fail := func(err error) (*Warehouse, error) {
		w.Close()
		return nil, err
	}
	allow := o.Allow
	if !o.ReadOnly && lake != "" {
		allow = append([]string{lake}, allow...)
	}
	if o.ReadOnly {
		// A reader's spill files go to a private directory removed at Close, never beside
		// the warehouse (whose directory it may not own), capped by QueryLimits for sql.
		if w.tmp, err = os.MkdirTemp("", "kapstat-tmp-"); err != nil {
			return fail(err)
		}
		if _, err := db.ExecContext(ctx, "SET temp_directory = "+sqlString(w.tmp)); err != nil {
			os.RemoveAll(w.tmp)
			return fail(err)
		}
	}
	if err := w.restrict(ctx, allow); err != nil {
		return fail(err)
	}
	if err := w.checkSchema(ctx); err != nil {
		return fail(err)
	}
	if err := w.checkRelations(ctx); err != nil {
		return fail(err)
	}
	if err := w.db.QueryRowContext(ctx, `SELECT value FROM kapstat_meta WHERE key = 'warehouse_id'`).Scan(&w.ID); err != nil {
		return fail(fmt.Errorf("%s: no warehouse id: %w", path, err))
	}
	if o.ReadOnly {
		if err := w.checkNoTornRun(ctx); err != nil {
			return fail(err)
		}
		return w, nil
	}
	if err := w.clean(ctx); err != nil {
		return fail(err)
	}
	return w, nil
}

// restrict switches DuckDB's external access off for the database's lifetime, leaving it the
// directories in allow (DuckDB adds the warehouse's own files itself).
func (w *Warehouse) restrict(ctx context.Context, allow []string) error {
	var dirs []string
	for _, d := range allow {
		abs, err := filepath.Abs(d)
		if err != nil {
			return err
		}
		dirs = append(dirs, sqlString(strings.TrimSuffix(abs, string(filepath.Separator))+string(filepath.Separator)))
	}
	for _, q := range []string{
		"SET allowed_directories = [" + strings.Join(dirs, ", ") + "]",
		"SET enable_external_access = false",
	} {
		if _, err := w.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("open warehouse %s: %w", w.Path, err)
		}
	}
	return nil
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
func (w *Warehouse) Close() error {
	err := w.db.Close()
	if w.tmp != "" {
		os.RemoveAll(w.tmp)
	}
	return err
}

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
	sessionsDDL,
	patientsDDL,
	`CREATE TABLE IF NOT EXISTS quarantine (run_id INTEGER, file_id INTEGER, file VARCHAR, line BIGINT,
		column_name VARCHAR, reason VARCHAR, detail VARCHAR, raw VARCHAR)`,
	retractionsDDL,
}

// sessionsDDL is the sessions table: one row per accepted session. The session-safety columns
// (version 4) are NULL when not recorded: sbp_pre … hr_max in mmHg and bpm, dissociation the
// CADSS-6 total, side_effects the codes sorted and joined by ";" or "none",
// serious_adverse_event true for yes.
const sessionsDDL = `CREATE TABLE IF NOT EXISTS sessions (run_id INTEGER, file_id INTEGER, source_line BIGINT,
	patient_id VARCHAR, clinic_id VARCHAR, day INTEGER, date DATE, year VARCHAR, session_type VARCHAR,
	route VARCHAR, dose_mg DOUBLE, program VARCHAR, setting VARCHAR,
	sbp_pre SMALLINT, dbp_pre SMALLINT, hr_pre SMALLINT, sbp_max SMALLINT, dbp_max SMALLINT, hr_max SMALLINT,
	dissociation SMALLINT, side_effects VARCHAR, serious_adverse_event BOOLEAN, responses_hash UBIGINT)`

// patientsDDL is the patients table (version 4): one row per accepted patients row, at most
// one per patient (a second, different row for a patient is a conflict). age is 12–89, or 90
// for 90 and over (one category, shown as 90+); sex is female, male or other; diagnosis is
// depression, ptsd, anxiety, bipolar or other; prior_treatments 0–30. NULL is not given (or
// unknown).
const patientsDDL = `CREATE TABLE IF NOT EXISTS patients (run_id INTEGER, file_id INTEGER, source_line BIGINT,
	patient_id VARCHAR, age SMALLINT, sex VARCHAR, diagnosis VARCHAR, prior_treatments SMALLINT, responses_hash UBIGINT)`

// retractionsDDL records the loads removed by ingest --replace or kapstat retract: the file as
// ingest_runs had it, when, and why. Their run and file ids are never given out again.
const retractionsDDL = `CREATE TABLE IF NOT EXISTS ingest_retractions (run_id INTEGER, file_id INTEGER, path VARCHAR,
	sha256 VARCHAR, kind VARCHAR, rows_read BIGINT, accepted BIGINT, retracted_at TIMESTAMP, reason VARCHAR)`

// newWarehouseID is the SQL that gives a warehouse its id once.
const newWarehouseID = `INSERT INTO kapstat_meta SELECT 'warehouse_id', CAST(uuid() AS VARCHAR)
	WHERE NOT EXISTS (SELECT 1 FROM kapstat_meta WHERE key = 'warehouse_id')`

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
	if _, err := tx.ExecContext(ctx, newWarehouseID); err != nil {
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
	// Version 4 gives the warehouse an id (the lake's owner), records retracted loads, and
	// writes the assessments view as this kapstat defines it (read-only opens compare it). It
	// also stores a PHQ-9's safety flag as unknown (NULL) when item 9 was not answered: earlier
	// versions stored false, "no risk", for a skipped item 9 (item 9 is the 9th 3-bit field of
	// items, 0 = missing; the flag is bits 56–57 of scores, 0 = NULL).
	//
	// It adds the patients table and the session-safety columns of sessions (placed before
	// responses_hash, as a new warehouse has them: the table is rebuilt, its rows kept in
	// order with the new columns NULL, not recorded).
	3: {retractionsDDL, newWarehouseID, assessmentsView,
		`UPDATE assessment_rows SET scores = scores & ~(3::BIGINT << 56) WHERE instrument = 'PHQ9' AND ((items >> 24) & 7) = 0`,
		`ALTER TABLE sessions RENAME TO sessions_v3`,
		sessionsDDL,
		`INSERT INTO sessions SELECT run_id, file_id, source_line, patient_id, clinic_id, day, date, year, session_type,
			route, dose_mg, program, setting, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, responses_hash
			FROM sessions_v3 ORDER BY run_id, file_id, source_line`,
		`DROP TABLE sessions_v3`,
		patientsDDL},
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
// earlier builds named them (no file id: m[2] is then "").
var partFile = regexp.MustCompile(`^part-(\d+)-(\d+)(-\d+)?\.parquet$`)

// lakeMarker is the file in the lake that names the warehouse owning it.
const lakeMarker = ".kapstat-lake"

// loadKey is one file's load: its run and file id.
type loadKey struct{ run, file int }

// partKey reads the run and file of a lake file name (file −1 for the older naming).
func partKey(name string) (loadKey, bool) {
	m := partFile.FindStringSubmatch(name)
	if m == nil {
		return loadKey{}, false
	}
	run, _ := strconv.Atoi(m[1])
	if m[3] == "" { // part-<run>-<n>.parquet
		return loadKey{run, -1}, true
	}
	file, _ := strconv.Atoi(m[2])
	return loadKey{run, file}, true
}

// committedLoads returns the (run, file) pairs in ingest_runs, and the runs.
func (w *Warehouse) committedLoads(ctx context.Context) (map[loadKey]bool, map[int]bool, error) {
	loads, runs := map[loadKey]bool{}, map[int]bool{}
	rows, err := w.db.QueryContext(ctx, `SELECT run_id, file_id FROM ingest_runs`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k loadKey
		if err := rows.Scan(&k.run, &k.file); err != nil {
			return nil, nil, err
		}
		loads[k], runs[k.run] = true, true
	}
	return loads, runs, rows.Err()
}

func (k loadKey) committed(loads map[loadKey]bool, runs map[int]bool) bool {
	if k.file < 0 {
		return runs[k.run]
	}
	return loads[k]
}

// uncommittedRows counts the rows of assessment_rows, sessions, patients and quarantine whose load is not
// in ingest_runs: rows of an ingest that did not commit whole (ingest_runs is written last,
// so a run is visible only through its ingest_runs rows), or of a load retracted and not yet
// cleaned. The largest such run is returned too.
func (w *Warehouse) uncommittedRows(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (n int64, run int, err error) {
	err = q.QueryRowContext(ctx, `SELECT count(*), coalesce(max(run_id), 0) FROM (
		SELECT run_id, file_id FROM assessment_rows UNION ALL SELECT run_id, file_id FROM sessions
		UNION ALL SELECT run_id, file_id FROM patients
		UNION ALL SELECT run_id, file_id FROM quarantine) ANTI JOIN ingest_runs USING (run_id, file_id)`).Scan(&n, &run)
	return n, run, err
}

// checkNoTornRun refuses a read-only open of a warehouse holding rows of an ingest that never
// committed whole: a writable open removes them (clean), a reader must not count them.
func (w *Warehouse) checkNoTornRun(ctx context.Context) error {
	n, run, err := w.uncommittedRows(ctx, w.db)
	if err != nil {
		return fmt.Errorf("read %s: %w", w.Path, err)
	}
	if n > 0 {
		return fmt.Errorf("%s holds %d rows of run %d, an ingest that never committed: open it for writing once (kapstat ingest or analyze) to remove them", w.Path, n, run)
	}
	return nil
}

// clean removes what an interrupted ingest left, on a writable open: rows whose load is not in
// ingest_runs, then, in the lake, this warehouse's staging directories (finishing the lake
// files of a run that did commit) and lake files whose load is not in ingest_runs.
func (w *Warehouse) clean(ctx context.Context) error {
	if n, _, err := w.uncommittedRows(ctx, w.db); err != nil {
		return fmt.Errorf("clean %s: %w", w.Path, err)
	} else if n > 0 {
		tx, err := w.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		for _, t := range []string{"assessment_rows", "sessions", "patients", "quarantine"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+t+` t WHERE NOT EXISTS
				(SELECT 1 FROM ingest_runs r WHERE r.run_id = t.run_id AND r.file_id = t.file_id)`); err != nil {
				return fmt.Errorf("clean %s: %w", w.Path, err)
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("clean %s: %w", w.Path, err)
		}
	}
	if w.Lake == "" {
		return nil
	}
	if _, err := os.Stat(w.Lake); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	loads, runs, err := w.committedLoads(ctx)
	if err != nil {
		return err
	}
	if err := w.claimLake(loads, runs); err != nil {
		return err
	}
	return w.cleanLake(loads, runs)
}

// stagingPrefix starts the names of this warehouse's staging directories in the lake:
// .staging-<warehouse id>-<run>-<random>.
func (w *Warehouse) stagingPrefix() string { return ".staging-" + w.ID + "-" }

// cleanLake finishes or removes this warehouse's staging directories and removes lake files
// whose load is not in ingest_runs. Together with moving lake files in only after the commit,
// this makes the lake follow the warehouse's transaction. Another warehouse's staging
// directories are never touched (claimLake refuses a lake that is not this warehouse's).
func (w *Warehouse) cleanLake(loads map[loadKey]bool, runs map[int]bool) error {
	entries, err := os.ReadDir(w.Lake)
	if err != nil {
		return fmt.Errorf("clean lake: %w", err)
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), w.stagingPrefix())
		if !ok || !e.IsDir() {
			continue
		}
		dir := filepath.Join(w.Lake, e.Name())
		runText, _, _ := strings.Cut(rest, "-")
		if run, err := strconv.Atoi(runText); err == nil && runs[run] {
			// The run committed but was stopped before its lake files were moved in.
			if _, err := w.publishLake(filepath.Join(dir, "lake")); err != nil {
				return fmt.Errorf("clean lake: %w", err)
			}
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("clean lake: %w", err)
		}
	}
	return filepath.WalkDir(w.Lake, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != w.Lake && strings.HasPrefix(d.Name(), ".staging-") {
				return filepath.SkipDir
			}
			return nil
		}
		if k, ok := partKey(d.Name()); ok && !k.committed(loads, runs) {
			return os.Remove(p)
		}
		return nil
	})
}

// claimLake makes sure the lake is this warehouse's: its marker file names this warehouse's
// id. A lake without a marker (made by an earlier kapstat) is claimed when every lake file in
// it is a load this warehouse committed; a lake of another warehouse is refused, so that two
// warehouses never share (and clean up) one lake.
func (w *Warehouse) claimLake(loads map[loadKey]bool, runs map[int]bool) error {
	marker := filepath.Join(w.Lake, lakeMarker)
	owner, err := readLakeOwner(marker)
	if err == nil {
		return w.checkOwner(owner)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	var foreign string
	filepath.WalkDir(w.Lake, func(p string, d os.DirEntry, err error) error {
		if err != nil || foreign != "" {
			return filepath.SkipAll
		}
		if d.IsDir() && p != w.Lake && strings.HasPrefix(d.Name(), ".staging-") {
			return filepath.SkipDir
		}
		if k, ok := partKey(d.Name()); ok && !d.IsDir() && !k.committed(loads, runs) {
			foreign = p
		}
		return nil
	})
	if foreign != "" {
		return fmt.Errorf("lake %s has no owner and holds %s, which warehouse %s did not write: give this warehouse a lake of its own (--lake)", w.Lake, foreign, w.Path)
	}
	abs, _ := filepath.Abs(w.Path)
	f, err := os.OpenFile(marker, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if errors.Is(err, fs.ErrExist) { // another warehouse claimed it first
		owner, err := readLakeOwner(marker)
		if err != nil {
			return err
		}
		return w.checkOwner(owner)
	}
	if err != nil {
		return fmt.Errorf("claim lake: %w", err)
	}
	_, err = fmt.Fprintf(f, "kapstat lake\nwarehouse_id = %s\nwarehouse = %s\n", w.ID, abs)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(w.Lake)
	}
	if err != nil {
		os.Remove(marker)
		return fmt.Errorf("claim lake: %w", err)
	}
	return nil
}

// lakeOwner is what a lake's marker file says.
type lakeOwner struct{ id, path string }

func readLakeOwner(marker string) (lakeOwner, error) {
	b, err := os.ReadFile(marker)
	if err != nil {
		return lakeOwner{}, err
	}
	var o lakeOwner
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "warehouse_id":
			o.id = strings.TrimSpace(v)
		case "warehouse":
			o.path = strings.TrimSpace(v)
		}
	}
	if o.id == "" {
		return o, fmt.Errorf("lake marker %s names no warehouse_id", marker)
	}
	return o, nil
}

func (w *Warehouse) checkOwner(o lakeOwner) error {
	if o.id != w.ID {
		return fmt.Errorf("lake %s belongs to another warehouse (%s, id %s): give warehouse %s a lake of its own (--lake)", w.Lake, o.path, o.id, w.Path)
	}
	return nil
}

// syncDir makes a directory's entries (files created or renamed in it) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// checkRelations refuses a warehouse that holds a view or a macro kapstat did not make: the
// only view is assessments, exactly as kapstat defines it (a view named like a kapstat table,
// or one over read_csv('/etc/passwd'), never gets read), and there are no macros (which could
// stand in for functions kapstat's queries call).
func (w *Warehouse) checkRelations(ctx context.Context) error {
	want, err := expectedViewSQL()
	if err != nil {
		return err
	}
	rows, err := w.db.QueryContext(ctx, `SELECT schema_name, view_name, sql FROM duckdb_views()
		WHERE NOT internal AND NOT temporary AND database_name = current_database() ORDER BY ALL`)
	if err != nil {
		return fmt.Errorf("read %s: %w", w.Path, err)
	}
	defer rows.Close()
	found := false
	for rows.Next() {
		var schema, name, text string
		if err := rows.Scan(&schema, &name, &text); err != nil {
			return err
		}
		if schema == "main" && name == "assessments" && slices.Contains(want, text) {
			found = true
			continue
		}
		return fmt.Errorf("%s holds a view kapstat did not make (%s.%s): kapstat reads only relations it made", w.Path, schema, name)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%s has no assessments view as kapstat makes it", w.Path)
	}
	var macro string
	err = w.db.QueryRowContext(ctx, `SELECT schema_name || '.' || function_name FROM duckdb_functions()
		WHERE NOT internal AND database_name = current_database() ORDER BY ALL LIMIT 1`).Scan(&macro)
	if err == nil {
		return fmt.Errorf("%s holds a macro kapstat did not make (%s)", w.Path, macro)
	}
	if err != sql.ErrNoRows {
		return fmt.Errorf("read %s: %w", w.Path, err)
	}
	return nil
}

// expectedViewSQL are the texts DuckDB stores for the assessments view as kapstat defines it:
// the text right after CREATE VIEW, and the text once the database is reopened (DuckDB prints
// the stored view again, differing in quoting), both read from a scratch database.
var expectedViewSQL = sync.OnceValues(func() ([]string, error) {
	dir, err := os.MkdirTemp("", "kapstat-view-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "v.duckdb")
	var texts []string
	for i, stmts := range [][]string{{assessmentRowsDDL, assessmentsView}, nil} {
		db, err := sql.Open("duckdb", path+"?enable_external_access=false")
		if err != nil {
			return nil, err
		}
		for _, q := range stmts {
			if _, err := db.Exec(q); err != nil {
				db.Close()
				return nil, fmt.Errorf("assessments view: %w", err)
			}
		}
		var text string
		err = db.QueryRow(`SELECT sql FROM duckdb_views() WHERE view_name = 'assessments' AND NOT internal`).Scan(&text)
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("assessments view (%d): %w", i, err)
		}
		texts = append(texts, text)
	}
	return texts, nil
})

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
// statements) is refused before any of it runs. The warehouse must be opened read-only (so
// external access and extension loading are off, and temporary files go to a private directory
// removed at Close); their space is capped by lim.Temp and the configuration is locked before
// the query.
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
	conn, err := w.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, s := range []string{
		"SET memory_limit = " + sqlString(lim.Memory),
		"SET max_temp_directory_size = " + sqlString(lim.Temp),
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
