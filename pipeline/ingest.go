package pipeline

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"
)

// checkpoint is called at named points of an ingest run; tests set it to stop the process
// there (a kill -9 at each point must leave warehouse and lake as before the run).
var checkpoint = func(point string) {}

// IngestOptions are the settings of one ingest or validate run.
type IngestOptions struct {
	Config Config
	// AsOf is the as-of date: rows dated after it are quarantined as future_date. Zero means now.
	AsOf time.Time
	// Map is the mapping file for inputs not in the canonical format ("" = canonical), and
	// Maps overrides it per input path.
	Map  string
	Maps map[string]string
	// Progress, when set, is told how far the run is (pipeline/progress.go): "read F" with
	// the bytes of F read out of its size as each file is read (about every 16k rows), then
	// the loading steps as named steps.
	Progress func(stage string, done, total int64)
	// Now is the clock for ingest_runs timestamps (tests pass a fixed one). Nil means time.Now.
	Now func() time.Time
	// Replace loads each file again even when its content was ingested before, removing in the
	// same transaction every earlier load of the same content or the same path (rows,
	// quarantined rows, lake files; the removal is recorded in ingest_retractions).
	Replace bool
}

func (o IngestOptions) asOf() time.Time {
	if o.AsOf.IsZero() {
		return o.now()
	}
	return o.AsOf
}

func (o IngestOptions) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// FileReport is what happened to one input file.
type FileReport struct {
	Path        string           `json:"path"`
	SHA256      string           `json:"sha256"`
	Kind        Kind             `json:"kind,omitempty"`
	RowsRead    int64            `json:"rows_read"`
	Accepted    int64            `json:"accepted"`
	Duplicates  int64            `json:"duplicates"`
	Quarantined int64            `json:"quarantined"`
	Reasons     map[string]int64 `json:"reasons,omitempty"`
	Skipped     bool             `json:"skipped,omitempty"`
	SkipReason  string           `json:"skip_reason,omitempty"`
}

// stagedFile is a parsed file waiting to be loaded: its accepted-by-validation rows and its
// findings, each in a Parquet file in the staging directory.
type stagedFile struct {
	report   *FileReport
	fileID   int
	rows     string
	findings string
	nFind    int64
}

// FileSHA256 returns the hex SHA-256 of a file's content.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// stage parses, validates and scores one file into two Parquet files under dir.
func stage(ctx context.Context, path, dir string, fileID int, opt IngestOptions) (*stagedFile, error) {
	cr, err := openInput(path, opt.mapFor(path))
	if err != nil {
		return nil, err
	}
	defer cr.Close()
	kind := cr.Kind()
	sf := &stagedFile{report: &FileReport{Path: path, Kind: kind}, fileID: fileID,
		rows: filepath.Join(dir, fmt.Sprintf("rows-%d.parquet", fileID)), findings: filepath.Join(dir, fmt.Sprintf("findings-%d.parquet", fileID))}
	schema := assessmentStageSchema
	switch kind {
	case KindSessions:
		schema = sessionStageSchema
	case KindPatients:
		schema = patientStageSchema
	}
	rw, err := newParquetWriter(sf.rows, schema)
	if err != nil {
		return nil, err
	}
	fw, err := newParquetWriter(sf.findings, findingStageSchema)
	if err != nil {
		rw.close()
		return nil, err
	}
	header := cr.Header()
	cols := make(map[string]int, len(header))
	for i, h := range header {
		cols[h] = i
	}
	rc := newRowChecker(path, opt.Config, opt.asOf(), cols, len(header))
	// tell reports the bytes read: the reader's own measure (bytes of text, inflated bytes
	// of a worksheet, rows of Parquet) scaled to the file's size.
	tell := func() {}
	if opt.Progress != nil {
		size := int64(-1)
		if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
		tell = func() {
			done, total := cr.Progress()
			if total > 0 && size >= 0 {
				done, total = int64(float64(size)*min(1, float64(done)/float64(total))), size
			} else {
				total = -1
			}
			opt.Progress("read "+path, done, total)
		}
		tell()
	}

	// A pipeline over the cores: this goroutine reads records and hands them out in batches;
	// validators check and score the batches in parallel; the writer goroutine appends the
	// results to Parquet in the order the batches were read, so the staging files keep the
	// input's order whatever the number of validators.
	type batch struct {
		recs []Record
		as   []Assessment
		ss   []Session
		ps   []Patient
		fs   []Finding
		done chan struct{}
	}
	const batchRows = 4096
	validators := max(1, runtime.GOMAXPROCS(0))
	work := make(chan *batch, 2*validators)
	ordered := make(chan *batch, 2*validators+2)
	var wg sync.WaitGroup
	for range validators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				switch kind {
				case KindAssessments:
					b.as = make([]Assessment, 0, len(b.recs))
				case KindSessions:
					b.ss = make([]Session, 0, len(b.recs))
				case KindPatients:
					b.ps = make([]Patient, 0, len(b.recs))
				}
				for _, rec := range b.recs {
					var f *Finding
					switch kind {
					case KindAssessments:
						var a Assessment
						if a, f = rc.assessment(rec); f == nil {
							b.as = append(b.as, a)
						}
					case KindSessions:
						var s Session
						if s, f = rc.session(rec); f == nil {
							b.ss = append(b.ss, s)
						}
					case KindPatients:
						var p Patient
						if p, f = rc.patient(rec); f == nil {
							b.ps = append(b.ps, p)
						}
					}
					if f != nil {
						b.fs = append(b.fs, *f)
					}
				}
				b.recs = nil
				close(b.done)
			}
		}()
	}
	werr := make(chan error, 1)
	var nFind int64
	go func() {
		var err error
		for b := range ordered {
			<-b.done
			if err != nil {
				continue // drain
			}
			nFind += int64(len(b.fs))
			for i := range b.as {
				if err = rw.appendAssessment(&b.as[i]); err != nil {
					break
				}
			}
			for i := 0; err == nil && i < len(b.ss); i++ {
				err = rw.appendSession(&b.ss[i])
			}
			for i := 0; err == nil && i < len(b.ps); i++ {
				err = rw.appendPatient(&b.ps[i])
			}
			for i := 0; err == nil && i < len(b.fs); i++ {
				err = fw.appendFinding(&b.fs[i])
			}
		}
		werr <- err
	}()
	send := func(b *batch) {
		work <- b
		ordered <- b
	}
	finish := func(readErr error) error {
		close(work)
		close(ordered)
		err := <-werr
		wg.Wait()
		sf.nFind = nFind
		if cerr := rw.close(); err == nil {
			err = cerr
		}
		if cerr := fw.close(); err == nil {
			err = cerr
		}
		if readErr != nil {
			return readErr
		}
		if err != nil {
			return fmt.Errorf("stage %s: %w", path, err)
		}
		return nil
	}
	newBatch := func() *batch {
		return &batch{recs: make([]Record, 0, batchRows), done: make(chan struct{})}
	}
	cur := newBatch()
	// Readers may reuse a record's slices for the next one; a batch outlives that, so the
	// field values are copied into one slab per batch.
	var slab []string
	for {
		rec, err := cr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			finish(err)
			return nil, err
		}
		sf.report.RowsRead++
		if sf.report.RowsRead%16384 == 0 {
			if ctx.Err() != nil {
				finish(ctx.Err())
				return nil, ctx.Err()
			}
			tell()
		}
		same := len(rec.Source) == len(rec.Fields) && (len(rec.Source) == 0 || &rec.Source[0] == &rec.Fields[0])
		need := len(rec.Fields)
		if !same {
			need += len(rec.Source)
		}
		if cap(slab)-len(slab) < need {
			slab = make([]string, 0, batchRows*need)
		}
		n := len(slab)
		slab = append(slab, rec.Fields...)
		rec.Fields = slab[n:len(slab):len(slab)]
		if same {
			rec.Source = rec.Fields
		} else {
			n = len(slab)
			slab = append(slab, rec.Source...)
			rec.Source = slab[n:len(slab):len(slab)]
		}
		cur.recs = append(cur.recs, rec)
		if len(cur.recs) == batchRows {
			send(cur)
			cur = newBatch()
		}
	}
	send(cur)
	if err := finish(nil); err != nil {
		return nil, err
	}
	tell()
	return sf, nil
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// coalesced wraps each of the comma-separated columns in a cast to text with NULL as the empty
// string, so that concat_ws keeps a place for a NULL (it skips NULLs).
func coalesced(cols string) string {
	var out []string
	for _, c := range strings.Split(cols, ",") {
		out = append(out, "coalesce(CAST("+strings.TrimSpace(c)+" AS VARCHAR), '')")
	}
	return strings.Join(out, ", ")
}

// keyColumns are the columns that identify one administration or session: rows sharing them
// are duplicates (same responses) or conflicts (different responses).
var keyColumns = map[Kind]string{
	KindAssessments: "patient_id, instrument, day",
	KindSessions:    "patient_id, day, session_type",
	KindPatients:    "patient_id",
}

// Batches of staged files are loaded together, so that the number of statements a run
// executes does not grow with its number of files (one statement set per file ran DuckDB out
// of memory at about 1,200 small files): consecutive files of one kind, up to these bounds.
const (
	loadBatchFiles = 512
	loadBatchRows  = 4 << 20
)

// batches groups the staged files into load batches (consecutive, one kind each).
func batches(staged []*stagedFile) [][]*stagedFile {
	var out [][]*stagedFile
	var rows int64
	for _, sf := range staged {
		n := len(out)
		if n == 0 || out[n-1][0].report.Kind != sf.report.Kind || len(out[n-1]) >= loadBatchFiles || rows+sf.report.RowsRead > loadBatchRows {
			out = append(out, nil)
			n++
			rows = 0
		}
		out[n-1] = append(out[n-1], sf)
		rows += sf.report.RowsRead
	}
	return out
}

// load moves a batch of staged files (of one kind) into the warehouse tables inside the
// caller's transaction, classifying rows as accepted, duplicate or conflict (SPEC 3.3) file by
// file in file order, as if each file were loaded after the ones before it, and writes their
// accepted rows as lake files under lakeDir ("" = no lake).
func load(ctx context.Context, tx *sql.Tx, batch []*stagedFile, runID int, lakeDir string, progress func(string, int64, int64)) error {
	kind := batch[0].report.Kind
	table := string(kind)
	if kind == KindAssessments {
		table = "assessment_rows" // the physical table behind the assessments view
	}
	key := keyColumns[kind]
	name := batch[0].report.Path
	if len(batch) > 1 {
		name = fmt.Sprintf("%s and %d more files", name, len(batch)-1)
	}
	exec := func(q string, args ...any) error {
		t0 := time.Now()
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("load %s: %w", name, err)
		}
		if tracing {
			fmt.Fprintf(os.Stderr, "ingest:   %6.2f s  %.70s\n", time.Since(t0).Seconds(), strings.Join(strings.Fields(q), " "))
		}
		return nil
	}
	// bf maps each staging file of the batch to its file id and path.
	var vals, rowFiles, findFiles []string
	for _, sf := range batch {
		vals = append(vals, fmt.Sprintf("(%s, %s, %d, %s)", sqlString(sf.rows), sqlString(sf.findings), sf.fileID, sqlString(sf.report.Path)))
		rowFiles = append(rowFiles, sqlString(sf.rows))
		findFiles = append(findFiles, sqlString(sf.findings))
	}
	if err := exec(`CREATE OR REPLACE TEMP TABLE bf AS SELECT * FROM (VALUES ` + strings.Join(vals, ", ") + `) v(rows_file, findings_file, file_id, path)`); err != nil {
		return err
	}
	rowsScan := `(SELECT file_id, * EXCLUDE (filename, file_id) FROM read_parquet([` + strings.Join(rowFiles, ", ") +
		`], filename = true) JOIN (SELECT rows_file AS filename, file_id FROM bf) USING (filename))`
	if len(batch) > 1 {
		// Many small files: read them once into memory rather than once per statement.
		if err := exec(`CREATE OR REPLACE TEMP TABLE stgp AS SELECT * FROM ` + rowsScan); err != nil {
			return err
		}
		rowsScan = "stgp"
	}
	stgCols := "*"
	if kind == KindAssessments {
		stgCols = "file_id, key_hash, " + stagedAssessmentColumns
	}
	if err := exec(`CREATE OR REPLACE TEMP VIEW stg AS SELECT ` + stgCols + ` FROM ` + rowsScan); err != nil {
		return err
	}
	// cls: the status of every staged row that is not simply accepted. Only keys held by more
	// than one row of the batch or already in the warehouse (e) can make a row a duplicate or a
	// conflict; both sets are small next to the batch, so the batch is joined only against
	// them. Repeated keys are found among the rows whose key hash occurs more than once, an
	// integer GROUP BY, then grouped on the key itself (a hash collision only adds rows).
	//
	// Files are classified in file order, each as if loaded after the ones before: per key,
	// g holds each file's rows (differ: different responses within the file, a conflict for all
	// of them), and the row a file is compared with is the warehouse's (e) or else the first
	// row of the earliest earlier file whose rows agree (that row is accepted, fg).
	step(progress, "load "+string(kind)+" (classify)")
	if err := exec(`CREATE OR REPLACE TEMP TABLE cls AS
		WITH multi AS (SELECT key_hash FROM stg GROUP BY key_hash HAVING count(*) > 1),
		     rk AS (SELECT ` + key + ` FROM stg SEMI JOIN multi USING (key_hash) GROUP BY ALL HAVING count(*) > 1),
		     e AS (SELECT ` + key + `, any_value(responses_hash) AS hash, any_value(file_id) AS file_id,
		                  any_value(source_line) AS line
		           FROM ` + table + ` SEMI JOIN stg USING (` + key + `) GROUP BY ALL),
		     s AS (SELECT file_id, source_line, ` + key + `, responses_hash FROM stg SEMI JOIN
		           (SELECT ` + key + ` FROM rk UNION SELECT ` + key + ` FROM e) USING (` + key + `)),
		     g AS (SELECT ` + key + `, file_id, min(responses_hash) <> max(responses_hash) AS differ,
		                  min(responses_hash) AS hash, min(source_line) AS first_line
		           FROM s GROUP BY ALL),
		     fg AS (SELECT ` + key + `, min(file_id) AS file_id, arg_min(hash, file_id) AS hash,
		                   arg_min(first_line, file_id) AS line
		            FROM g WHERE NOT differ GROUP BY ALL),
		     c AS (SELECT s.file_id, s.source_line, s.responses_hash, g.differ, g.first_line,
		                  coalesce(e.hash, CASE WHEN fg.file_id < s.file_id THEN fg.hash END) AS rep_hash,
		                  CASE WHEN e.hash IS NOT NULL THEN e.file_id ELSE fg.file_id END AS rep_file,
		                  CASE WHEN e.hash IS NOT NULL THEN e.line ELSE fg.line END AS rep_line
		           FROM s JOIN g USING (` + key + `, file_id) LEFT JOIN e USING (` + key + `) LEFT JOIN fg USING (` + key + `))
		SELECT file_id, source_line,
		  CASE WHEN differ OR rep_hash <> responses_hash THEN 'conflict' ELSE 'duplicate' END AS status,
		  CASE WHEN differ THEN 'rows of this file share ` + key + ` but differ; first at line ' || first_line
		       WHEN rep_hash <> responses_hash THEN 'differs from the warehouse row of file ' || rep_file || ' line ' || rep_line
		  END AS detail
		FROM c
		WHERE differ OR rep_hash IS NOT NULL OR source_line <> first_line`); err != nil {
		return err
	}
	// One select list for the warehouse table and the lake, in the table's column order.
	var cols, insert string
	if kind == KindAssessments {
		cols = `patient_id, clinic_id, instrument, day, ` + dateYearColumns + `, ` + itemList +
			`, total_given, total, prorated, answered, band, safety_flag, cluster_b, cluster_c, cluster_d, cluster_e, provisional_ptsd`
		// packed as staged: assessment_rows has the staging file's columns
		insert = fmt.Sprintf(`INSERT INTO assessment_rows SELECT %d, file_id, source_line, patient_id, clinic_id, instrument,
			day, has_date, items, scores, band, responses_hash
			FROM %s ANTI JOIN cls USING (file_id, source_line)`, runID, rowsScan)
	} else if kind == KindSessions {
		cols = `patient_id, clinic_id, day, ` + dateYearColumns + `, session_type, route, dose_mg, program, setting, ` + sessionSafetyColumns
		insert = fmt.Sprintf(`INSERT INTO sessions SELECT %d, file_id, source_line, %s, responses_hash
			FROM stg ANTI JOIN cls USING (file_id, source_line)`, runID, cols)
	} else {
		cols = `patient_id, age, sex, diagnosis, prior_treatments`
		insert = fmt.Sprintf(`INSERT INTO patients SELECT %d, file_id, source_line, %s, responses_hash
			FROM stg ANTI JOIN cls USING (file_id, source_line)`, runID, cols)
	}
	step(progress, "load "+string(kind)+" (insert)")
	if err := exec(insert); err != nil {
		return err
	}
	// The lake files of the batch, Hive-partitioned, written from the staging rows (scanning
	// the rows just inserted, which this transaction has not committed, is slower) into the
	// staging directory, under file_part=<file id>/ so that each lake file holds one input
	// file's rows (batches of one kind share the directory; their file ids differ, hence
	// OVERWRITE_OR_IGNORE overwrites nothing); publishLake moves them into the lake, named
	// part-<run>-<file>-<n>, after the commit.
	if lakeDir != "" {
		partition := ", instrument, year"
		switch kind {
		case KindSessions:
			partition = ", year"
		case KindPatients:
			partition = "" // one row per patient, no day: nothing to partition by
		}
		out := filepath.Join(lakeDir, string(kind))
		if err := os.MkdirAll(lakeDir, 0o755); err != nil {
			return err
		}
		step(progress, "load "+string(kind)+" (lake)")
		if err := exec(fmt.Sprintf(`COPY (SELECT file_id AS file_part, CAST(file_id AS INTEGER) AS file_id, source_line, %s
			FROM stg ANTI JOIN cls USING (file_id, source_line))
			TO %s (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (file_part%s), FILENAME_PATTERN 'part-%d-{i}', ROW_GROUP_SIZE 262144, OVERWRITE_OR_IGNORE true)`,
			cols, sqlString(out), partition, runID)); err != nil {
			return fmt.Errorf("write lake: %w", err)
		}
	}
	var raw string
	if kind == KindAssessments {
		raw = `concat_ws(',', patient_id, clinic_id, instrument, CASE WHEN has_date THEN CAST(DATE '1970-01-01' + day AS VARCHAR) ELSE CAST(day AS VARCHAR) END, ` +
			itemList + `, total_given)`
	} else if kind == KindSessions {
		raw = `concat_ws(',', patient_id, clinic_id, CASE WHEN has_date THEN CAST(DATE '1970-01-01' + day AS VARCHAR) ELSE CAST(day AS VARCHAR) END, session_type, route, dose_mg, program, setting)` +
			` || ',' || concat_ws(',', ` + coalesced(sessionSafetyColumns) + `)`
	} else {
		raw = `concat_ws(',', patient_id, CASE WHEN age >= 90 THEN '90+' ELSE coalesce(CAST(age AS VARCHAR), '') END, ` +
			coalesced("sex, diagnosis, prior_treatments") + `)`
	}
	step(progress, "load "+string(kind)+" (quarantine)")
	if err := exec(fmt.Sprintf(`INSERT INTO quarantine
		SELECT %d, file_id, path, source_line, NULL, 'conflict', detail, %s
		FROM stg JOIN cls USING (file_id, source_line) JOIN bf USING (file_id) WHERE status = 'conflict' ORDER BY file_id, source_line`, runID, raw)); err != nil {
		return err
	}
	if err := exec(fmt.Sprintf(`INSERT INTO quarantine
		SELECT %d, file_id, path, line, nullif(column_name, ''), reason, nullif(detail, ''), raw
		FROM read_parquet([%s], filename = true) JOIN (SELECT findings_file AS filename, file_id, path FROM bf) USING (filename)
		ORDER BY file_id, line`, runID, strings.Join(findFiles, ", "))); err != nil {
		return err
	}
	byID := map[int]*stagedFile{}
	for _, sf := range batch {
		byID[sf.fileID] = sf
		sf.report.Accepted, sf.report.Duplicates = 0, 0
		sf.report.Quarantined = sf.nFind
		sf.report.Reasons = map[string]int64{}
	}
	rows, err := tx.QueryContext(ctx, `SELECT file_id, coalesce(sum(staged), 0), coalesce(sum(dup), 0), coalesce(sum(conf), 0) FROM (
		SELECT file_id, count(*) AS staged, 0 AS dup, 0 AS conf FROM stg GROUP BY file_id
		UNION ALL SELECT file_id, 0, count(*) FILTER (status = 'duplicate'), count(*) FILTER (status = 'conflict') FROM cls GROUP BY file_id)
		GROUP BY file_id`)
	if err != nil {
		return fmt.Errorf("load %s: %w", name, err)
	}
	for rows.Next() {
		var id int
		var staged, dup, conf int64
		if err := rows.Scan(&id, &staged, &dup, &conf); err != nil {
			rows.Close()
			return err
		}
		r := byID[id].report
		r.Accepted, r.Duplicates, r.Quarantined = staged-dup-conf, dup, r.Quarantined+conf
	}
	rows.Close()
	rows, err = tx.QueryContext(ctx, `SELECT file_id, reason, count(*) FROM quarantine WHERE run_id = ? AND file_id IN (SELECT file_id FROM bf) GROUP BY ALL`, runID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int
		var reason string
		var n int64
		rows.Scan(&id, &reason, &n)
		byID[id].report.Reasons[reason] = n
	}
	rows.Close()
	for _, sf := range batch {
		r := sf.report
		if r.Duplicates > 0 {
			r.Reasons["duplicate"] = r.Duplicates
		}
		if r.Accepted+r.Duplicates+r.Quarantined != r.RowsRead {
			return fmt.Errorf("load %s: rows read %d != accepted %d + duplicates %d + quarantined %d",
				r.Path, r.RowsRead, r.Accepted, r.Duplicates, r.Quarantined)
		}
	}
	return nil
}

// Ingest validates, scores and loads files into the warehouse and the lake, atomically: all
// files of the call commit together or not at all. A file whose content was ingested before is
// skipped and reported so, unless opt.Replace is set.
//
// The run becomes visible through its ingest_runs rows, written last in the transaction: a
// writable open removes rows of loads that are not in ingest_runs. Lake files are written to a
// hidden staging directory in the lake and synced before the commit, and renamed into place
// after it; the next writable open finishes the renaming for a run that committed and removes
// the files of one that did not.
func (w *Warehouse) Ingest(ctx context.Context, files []string, opt IngestOptions) ([]*FileReport, error) {
	if w.ReadOnly {
		return nil, fmt.Errorf("ingest: warehouse opened read-only")
	}
	started, t0 := opt.now(), time.Now()
	// Staging allocates short-lived strings at a high rate over a small live heap: the default
	// GOGC would collect every few megabytes and cost a fifth of staging's CPU. The Go heap
	// stays in the tens of megabytes; a soft limit of 256 MiB bounds what the higher GOGC lets it
	// grow to (BENCHMARKS.md has the peak RSS).
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(256 << 20))
	// Ingest holds the Go side's staging buffers on top of DuckDB's: a lower DuckDB limit
	// than the warehouse default keeps the whole process under 1 GiB at a million patients
	// (DuckDB spills the rest to its temporary directory).
	if _, err := w.db.ExecContext(ctx, "SET memory_limit = '320MB'"); err != nil {
		return nil, err
	}
	// Run and file ids are never given out twice, retracted ones included.
	var runID, fileID int
	if err := w.db.QueryRowContext(ctx, `SELECT greatest(coalesce(max(run_id), 0), (SELECT coalesce(max(run_id), 0) FROM ingest_retractions)) + 1,
		greatest(coalesce(max(file_id), 0), (SELECT coalesce(max(file_id), 0) FROM ingest_retractions)) FROM ingest_runs`).Scan(&runID, &fileID); err != nil {
		return nil, err
	}
	stagingRoot := w.Lake
	if stagingRoot == "" {
		stagingRoot = w.staging
	}
	if stagingRoot == "" {
		stagingRoot = os.TempDir()
	}
	if err := os.MkdirAll(stagingRoot, 0o755); err != nil {
		return nil, err
	}
	if w.Lake != "" {
		loads, runs, err := w.committedLoads(ctx)
		if err != nil {
			return nil, err
		}
		if err := w.claimLake(loads, runs); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp(stagingRoot, fmt.Sprintf("%s%d-", w.stagingPrefix(), runID))
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	var reports []*FileReport
	var staged []*stagedFile
	seen := map[string]string{}
	for _, path := range files {
		step(opt.Progress, "hash "+path)
		sum, err := FileSHA256(path)
		if err != nil {
			return nil, err
		}
		rep := &FileReport{Path: path, SHA256: sum}
		var prevRun int
		var prevPath string
		err = w.db.QueryRowContext(ctx, `SELECT run_id, path FROM ingest_runs WHERE sha256 = ? ORDER BY run_id LIMIT 1`, sum).Scan(&prevRun, &prevPath)
		switch {
		case seen[sum] != "":
			rep.Skipped, rep.SkipReason = true, "same content as "+seen[sum]+" in this run"
		case err == nil && !opt.Replace:
			rep.Skipped, rep.SkipReason = true, fmt.Sprintf("same content already ingested in run %d (%s)", prevRun, prevPath)
		case err != nil && err != sql.ErrNoRows:
			return nil, err
		}
		reports = append(reports, rep)
		if rep.Skipped {
			continue
		}
		seen[sum] = path
		fileID++
		sf, err := stage(ctx, path, dir, fileID, opt)
		if err != nil {
			return nil, err
		}
		sf.report.SHA256 = sum
		*rep = *sf.report
		sf.report = rep
		staged = append(staged, sf)
	}
	if len(staged) == 0 {
		return reports, nil
	}
	checkpoint("staged")
	tracePhase(t0, "staged")
	// Give the staging buffers back to the system before DuckDB takes its share.
	debug.FreeOSMemory()

	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var replaced map[loadKey]bool
	if opt.Replace {
		step(opt.Progress, "replace earlier loads")
		if replaced, err = retractLoads(ctx, tx, staged, runID, opt.now()); err != nil {
			return nil, err
		}
	}
	lakeDir := ""
	if w.Lake != "" {
		lakeDir = filepath.Join(dir, "lake")
	}
	for _, b := range batches(staged) {
		if err := load(ctx, tx, b, runID, lakeDir, opt.Progress); err != nil {
			return nil, err
		}
	}
	step(opt.Progress, "check")
	if err := insertRuns(ctx, tx, staged, runID, started, opt); err != nil {
		return nil, err
	}
	if err := checkOneOrigin(ctx, tx, runID); err != nil {
		return nil, err
	}
	checkpoint("loaded")
	tracePhase(t0, "loaded")
	if lakeDir != "" {
		step(opt.Progress, "sync lake")
		if err := syncTree(lakeDir); err != nil {
			return nil, fmt.Errorf("write lake: %w", err)
		}
	}
	checkpoint("lake-written")
	tracePhase(t0, "lake written")
	step(opt.Progress, "commit")
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit ingest: %w", err)
	}
	checkpoint("committed")
	tracePhase(t0, "committed")
	if lakeDir != "" {
		// Committed: the run's lake files go into place; should this stop half-way, the next
		// writable open finishes it (cleanLake).
		if _, err := w.publishLake(lakeDir); err != nil {
			return reports, fmt.Errorf("ingest committed, but moving its lake files failed (the next ingest or analyze finishes it): %w", err)
		}
		if err := w.removeLakeFiles(replaced); err != nil {
			return reports, fmt.Errorf("ingest committed, but removing replaced lake files failed (the next ingest or analyze finishes it): %w", err)
		}
	}
	return reports, nil
}

// insertRuns records the run's files in ingest_runs: the last rows the transaction writes,
// which make the run visible (a load not in ingest_runs is removed at the next writable open).
func insertRuns(ctx context.Context, tx *sql.Tx, staged []*stagedFile, runID int, started time.Time, opt IngestOptions) error {
	for _, sf := range staged {
		r := sf.report
		if _, err := tx.ExecContext(ctx, `INSERT INTO ingest_runs (run_id, file_id, path, sha256, kind, rows_read, accepted, duplicates, quarantined,
			kapstat_version, started_at, finished_at, as_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS DATE))`,
			runID, sf.fileID, r.Path, r.SHA256, string(r.Kind), r.RowsRead, r.Accepted, r.Duplicates, r.Quarantined,
			Version, started.UTC(), opt.now().UTC(), opt.asOf().Format("2006-01-02")); err != nil {
			return fmt.Errorf("load %s: %w", r.Path, err)
		}
	}
	return nil
}

// retractLoads removes, inside the ingest's transaction, every earlier load of the staged
// files' content or paths, recording each in ingest_retractions. It returns the loads removed,
// whose lake files go after the commit.
func retractLoads(ctx context.Context, tx *sql.Tx, staged []*stagedFile, runID int, now time.Time) (map[loadKey]bool, error) {
	out := map[loadKey]bool{}
	for _, sf := range staged {
		rows, err := tx.QueryContext(ctx, `SELECT run_id, file_id FROM ingest_runs WHERE sha256 = ? OR path = ?`, sf.report.SHA256, sf.report.Path)
		if err != nil {
			return nil, err
		}
		var keys []loadKey
		for rows.Next() {
			var k loadKey
			rows.Scan(&k.run, &k.file)
			keys = append(keys, k)
		}
		rows.Close()
		for _, k := range keys {
			if err := retractLoad(ctx, tx, k, now, fmt.Sprintf("replaced by run %d file %d (%s)", runID, sf.fileID, sf.report.Path)); err != nil {
				return nil, err
			}
			out[k] = true
		}
	}
	return out, nil
}

// retractLoad removes one file's load from every table, recording it in ingest_retractions.
func retractLoad(ctx context.Context, tx *sql.Tx, k loadKey, now time.Time, reason string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO ingest_retractions SELECT run_id, file_id, path, sha256, kind, rows_read, accepted, ?, ?
		FROM ingest_runs WHERE run_id = ? AND file_id = ?`, now.UTC(), reason, k.run, k.file); err != nil {
		return fmt.Errorf("retract run %d file %d: %w", k.run, k.file, err)
	}
	for _, t := range []string{"assessment_rows", "sessions", "patients", "quarantine", "ingest_runs"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+t+` WHERE run_id = ? AND file_id = ?`, k.run, k.file); err != nil {
			return fmt.Errorf("retract run %d file %d: %w", k.run, k.file, err)
		}
	}
	return nil
}

// Retraction is one file's load removed by Retract.
type Retraction struct {
	Run, File int
	Path      string
	Rows      int64
}

// Retract removes an ingest run from the warehouse and the lake atomically (one transaction;
// lake files after the commit, or at the next writable open). Its files can then be ingested
// again. The removal is recorded in ingest_retractions; the analysis tables keep what the last
// analyze wrote until analyze runs again.
func (w *Warehouse) Retract(ctx context.Context, runID int, now time.Time) ([]Retraction, error) {
	if w.ReadOnly {
		return nil, fmt.Errorf("retract: warehouse opened read-only")
	}
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT file_id, path, rows_read FROM ingest_runs WHERE run_id = ? ORDER BY file_id`, runID)
	if err != nil {
		return nil, err
	}
	var out []Retraction
	for rows.Next() {
		r := Retraction{Run: runID}
		rows.Scan(&r.File, &r.Path, &r.Rows)
		out = append(out, r)
	}
	rows.Close()
	if len(out) == 0 {
		var last int
		tx.QueryRowContext(ctx, `SELECT coalesce(max(run_id), 0) FROM ingest_runs`).Scan(&last)
		return nil, fmt.Errorf("retract: %s has no run %d (runs go up to %d; kapstat sql --db %s \"SELECT * FROM ingest_runs\" lists them)", w.Path, runID, last, w.Path)
	}
	keys := map[loadKey]bool{}
	for _, r := range out {
		k := loadKey{runID, r.File}
		if err := retractLoad(ctx, tx, k, now, "retracted"); err != nil {
			return nil, err
		}
		keys[k] = true
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("retract: commit: %w", err)
	}
	if w.Lake != "" {
		if err := w.removeLakeFiles(keys); err != nil {
			return out, fmt.Errorf("retract committed, but removing its lake files failed (the next ingest or analyze finishes it): %w", err)
		}
	}
	return out, nil
}

// removeLakeFiles removes the lake files of the given loads.
func (w *Warehouse) removeLakeFiles(keys map[loadKey]bool) error {
	if len(keys) == 0 {
		return nil
	}
	if _, err := os.Stat(w.Lake); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return filepath.WalkDir(w.Lake, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != w.Lake && strings.HasPrefix(d.Name(), ".staging-") {
			return filepath.SkipDir
		}
		if k, ok := partKey(d.Name()); ok && !d.IsDir() && keys[k] {
			return os.Remove(p)
		}
		return nil
	})
}

// MixedOriginError refuses a run that would give a patient both dated rows and rows with day
// offsets (SPEC 3.1: one origin per patient, in every file and every run).
type MixedOriginError struct {
	Patient string
	// Dated and Offsets are the files holding the patient's dated rows and day-offset rows;
	// files of earlier runs are followed by "(run N)".
	Dated, Offsets []string
	// Others is the number of further patients in the same case.
	Others int
}

func (e *MixedOriginError) Error() string {
	more := ""
	if e.Others > 0 {
		more = fmt.Sprintf(" (and %d more patients)", e.Others)
	}
	return fmt.Sprintf("patient %q has rows with dates (%s) and rows with day offsets (%s)%s: all of a patient's rows must use one origin, dates or day offsets; nothing of this run was loaded",
		e.Patient, strings.Join(e.Dated, ", "), strings.Join(e.Offsets, ", "), more)
}

// checkOneOrigin refuses the run (inside its transaction, after its rows and ingest_runs rows
// are inserted) when a
// patient of the run has dated and day-offset rows, within the run or against the warehouse.
func checkOneOrigin(ctx context.Context, tx *sql.Tx, runID int) error {
	const rowsOf = `SELECT patient_id, has_date, run_id, file_id FROM assessment_rows
		UNION ALL SELECT patient_id, date IS NOT NULL, run_id, file_id FROM sessions`
	var patient string
	var others int
	err := tx.QueryRowContext(ctx, `WITH r AS (SELECT DISTINCT patient_id, has_date FROM (`+rowsOf+`) WHERE run_id = ?),
		mixed AS (SELECT DISTINCT patient_id FROM (`+rowsOf+`) a SEMI JOIN r ON a.patient_id = r.patient_id AND a.has_date <> r.has_date)
		SELECT patient_id, count(*) OVER () - 1 FROM mixed ORDER BY patient_id LIMIT 1`, runID).Scan(&patient, &others)
	if err == sql.ErrNoRows {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check origins: %w", err)
	}
	e := &MixedOriginError{Patient: patient, Others: others}
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT has_date, run_id, path
		FROM (`+rowsOf+`) JOIN ingest_runs USING (run_id, file_id) WHERE patient_id = ? ORDER BY ALL`, patient)
	if err != nil {
		return fmt.Errorf("check origins: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var dated bool
		var run int
		var path string
		if err := rows.Scan(&dated, &run, &path); err != nil {
			return err
		}
		if run != runID {
			path += fmt.Sprintf(" (run %d)", run)
		}
		if dated {
			e.Dated = append(e.Dated, path)
		} else {
			e.Offsets = append(e.Offsets, path)
		}
	}
	return e
}

// publishLake renames the run's lake files, written by load and synced, from the staging
// directory lakeDir into the lake, and syncs the directories they went into:
// lakeDir/<kind>/file_part=<file>/<partitions>/part-<run>-<i>.parquet becomes
// <lake>/<kind>/<partitions>/part-<run>-<file>-<i>.parquet. It runs after the commit (or, for
// a run that committed but stopped before, at the next writable open).
func (w *Warehouse) publishLake(lakeDir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(lakeDir, func(path string, d os.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == lakeDir {
			return filepath.SkipDir // no accepted rows at all
		}
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("write lake: %w", err)
	}
	sort.Strings(files)
	var moved []string
	dirs := map[string]bool{}
	for _, f := range files {
		rel, _ := filepath.Rel(lakeDir, f)
		parts := strings.Split(filepath.ToSlash(rel), "/")
		file, ok := strings.CutPrefix(parts[min(1, len(parts)-1)], "file_part=")
		m := stagedPart.FindStringSubmatch(parts[len(parts)-1])
		if len(parts) < 3 || !ok || m == nil {
			return moved, fmt.Errorf("write lake: unexpected staged lake file %s", f)
		}
		parts[len(parts)-1] = fmt.Sprintf("part-%s-%s-%s.parquet", m[1], file, m[2])
		dst := filepath.Join(w.Lake, parts[0], filepath.Join(parts[2:]...))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return moved, err
		}
		if err := os.Rename(f, dst); err != nil {
			return moved, fmt.Errorf("write lake: %w", err)
		}
		moved = append(moved, dst)
		for d := filepath.Dir(dst); len(d) >= len(w.Lake); d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return moved, fmt.Errorf("write lake: %w", err)
		}
	}
	return moved, nil
}

// stagedPart is the name DuckDB gives a staged lake file: part-<run>-<i>.parquet.
var stagedPart = regexp.MustCompile(`^part-(\d+)-(\d+)\.parquet$`)

// syncTree makes every file and directory under dir durable (fsync), so that what a commit
// refers to is on disk before the commit.
func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == dir {
			return filepath.SkipDir
		}
		if err != nil {
			return err
		}
		if d.IsDir() {
			return syncDir(p)
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	})
}

// Validate runs every check of ingest on files without writing anything: the files are loaded
// into a private in-memory warehouse, so duplicates and conflicts within and across the given
// files are found as ingest would find them. Its staging rows go to a directory of this
// user's only (validateRoot), removed afterwards, and those of a validate that was killed are
// removed by the next one.
func Validate(ctx context.Context, files []string, opt IngestOptions) ([]*FileReport, []Finding, error) {
	root, err := validateRoot()
	if err != nil {
		return nil, nil, fmt.Errorf("validate: %w", err)
	}
	dir, err := os.MkdirTemp(root, "validate-")
	if err != nil {
		return nil, nil, fmt.Errorf("validate: %w", err)
	}
	defer os.RemoveAll(dir)
	release, err := holdDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("validate: %w", err)
	}
	defer release()
	w, err := Open(ctx, "", OpenOptions{Create: true, Allow: []string{dir}})
	if err != nil {
		return nil, nil, err
	}
	defer w.Close()
	w.staging = dir
	reports, err := w.Ingest(ctx, files, opt)
	if err != nil {
		return nil, nil, err
	}
	findings, err := w.Findings(ctx, 0)
	return reports, findings, err
}

// validateRoot is kapstat-<uid> in the temporary directory, private to this user (0700,
// checked), with the staging directories of validate runs that no live process holds removed.
func validateRoot() (string, error) {
	root := filepath.Join(os.TempDir(), fmt.Sprintf("kapstat-%d", os.Getuid()))
	if err := os.Mkdir(root, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	if err := checkPrivateDir(root); err != nil {
		return "", err
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "validate-") || !e.IsDir() {
			continue
		}
		dir := filepath.Join(root, e.Name())
		old := func() bool {
			fi, err := e.Info()
			return err == nil && time.Since(fi.ModTime()) > time.Hour
		}
		if abandoned(dir, old) {
			os.RemoveAll(dir)
		}
	}
	return root, nil
}

// Findings returns quarantined rows in file and line order (limit 0 = all).
func (w *Warehouse) Findings(ctx context.Context, limit int) ([]Finding, error) {
	q := `SELECT file, line, coalesce(column_name, ''), reason, coalesce(detail, ''), coalesce(raw, '') FROM quarantine ORDER BY file_id, line`
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := w.db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Finding
	for rows.Next() {
		var f Finding
		if err := rows.Scan(&f.File, &f.Line, &f.Column, &f.Reason, &f.Detail, &f.Raw); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// tracing is on when KAPSTAT_TRACE is set: ingest then prints to stderr the time of each
// phase and of each load statement (BENCHMARKS.md, "What bounds ingest").
var tracing = os.Getenv("KAPSTAT_TRACE") != ""

// tracePhase prints the seconds since start at the end of an ingest phase.
func tracePhase(start time.Time, phase string) {
	if tracing {
		fmt.Fprintf(os.Stderr, "ingest: %-12s %6.2f s\n", phase, time.Since(start).Seconds())
	}
}
