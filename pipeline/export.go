package pipeline

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// ExportColumn documents one column of the exported patient table.
type ExportColumn struct{ Name, Type, Meaning string }

// ExportDictionary is the data dictionary written beside every export.
var ExportDictionary = []ExportColumn{
	{"patient_id", "text", "pseudonymous patient id as ingested"},
	{"instrument", "text", "PHQ9, GAD7 or PCL5"},
	{"clinic", "text", "clinic of the first dosing session (of the baseline assessment in assessment-only mode)"},
	{"route", "text", "route of the first dosing session"},
	{"program", "text", "kap (with psychotherapy) or infusion (infusion only)"},
	{"setting", "text", "setting of the first dosing session"},
	{"integration", "text", "integration sessions in the acute window: 0, 1-3, >=4"},
	{"quarter", "text", "calendar quarter of index day + acute_days (unknown without dates)"},
	{"excluded_reason", "text", "no_baseline, acute_window_open (still in the acute window) or no_endpoint; empty for completers"},
	{"baseline_day", "integer", "day of the baseline score (days since 1970-01-01 for dated input)"},
	{"baseline", "integer", "baseline total score"},
	{"endpoint_day", "integer", "day of the endpoint score"},
	{"endpoint", "integer", "endpoint total score (last score in the acute window)"},
	{"change", "integer", "endpoint − baseline (negative is improvement)"},
	{"eligible", "boolean", "baseline at or above the clinical cutoff"},
	{"response", "boolean", "eligible and endpoint ≤ response_fraction × baseline"},
	{"remission", "boolean", "eligible and endpoint below the remission threshold"},
	{"reliable_change", "text", "recovered, improved, unchanged or deteriorated (Jacobson–Truax)"},
	{"class", "text", "trajectory class label (latent class growth analysis)"},
	{"class_posterior", "number", "posterior probability of the assigned class"},
	{"blup_intercept", "number", "patient's random intercept (deviation from the fixed intercept)"},
	{"blup_slope", "number", "patient's random slope per week (deviation from the fixed slope)"},
	{"relapse_at_risk", "boolean", "responded and has follow-up after the response day"},
	{"relapse_reason", "text", "why not at risk: no_response, acute_window_open (not yet at half of baseline, window open), no_followup_after_response"},
	{"response_day", "integer", "day of the first response (the relapse clock starts here)"},
	{"relapse_time_days", "integer", "days from response to relapse, or to the last follow-up when censored"},
	{"relapse_event", "boolean", "true = relapse, false = censored"},
	{"age", "text", "age in years from the patients file, 12–89, or 90+ (ages of 90 and over are one category, HIPAA Safe Harbor); empty when not given"},
	{"age_years", "integer", "age as a number for models: 90+ counts as 90"},
	{"sex", "text", "female, male or other; empty when not given or unknown"},
	{"diagnosis", "text", "primary diagnosis: depression, ptsd, anxiety, bipolar or other; empty when not given"},
	{"prior_treatments", "integer", "prior adequate antidepressant trials, 0–30 (treatment-resistant depression: 2 or more)"},
	{"acute_window_open", "boolean", "the acute window had not ended by the as-of date: no acute outcome yet"},
	{"response_days", "integer", "days from the first dose to the first acute-window score at or below response_fraction × baseline, or to the last acute-window score when censored (time to response)"},
	{"response_event", "boolean", "true = responded in the acute window, false = censored"},
	{"remission_days", "integer", "days from the first dose to the first acute-window score below the remission threshold, or to the last acute-window score when censored"},
	{"remission_event", "boolean", "true = remitted in the acute window, false = censored"},
	{"response_dose", "integer", "the dose number the first responding score came after"},
	{"doses", "integer", "dosing sessions from the first dose to the end of the acute window"},
	{"total_mg", "number", "total ketamine of those doses in mg, when every dose's mg was recorded"},
	{"maintenance", "boolean", "a maintenance session within maintenance_days of the first dose"},
	{"dosing_sessions_bp_recorded", "integer", "dosing sessions with the pre-dose and highest blood pressure recorded"},
	{"dosing_sessions_bp_elevated", "integer", "of those, sessions with an elevation (session_safety thresholds)"},
	{"serious_adverse_events", "integer", "dosing sessions recording a serious adverse event"},
}

// ExportOptions are the optional settings of Export.
type ExportOptions struct {
	// Progress, when set, is told the rows written out of their number, stage "rows"
	// (pipeline/progress.go).
	Progress func(stage string, done, total int64)
}

// Export writes the analysis-ready per-patient table (one row per patient and instrument)
// as patients.parquet or patients.csv into dir, with dictionary.csv. It reads the tables the
// last analyze wrote, and the characteristics of the patients table (empty for a patient
// without a patients row). At most one ExportOptions is used.
func (w *Warehouse) Export(ctx context.Context, dir, format string, options ...ExportOptions) ([]string, error) {
	if format != "parquet" && format != "csv" {
		return nil, fmt.Errorf("export: format %q: want parquet or csv", format)
	}
	var opt ExportOptions
	if len(options) > 0 {
		opt = options[0]
	}
	var n int
	if err := w.db.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_name = 'episodes'`).Scan(&n); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("export: %s has no analysis tables: run kapstat analyze first", w.Path)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// tell reports the rows written (every 16k and at the end) out of the episodes' number.
	tell := func(int64, bool) {}
	if opt.Progress != nil {
		var total int64
		if err := w.db.QueryRowContext(ctx, `SELECT count(*) FROM episodes`).Scan(&total); err != nil {
			return nil, err
		}
		tell = func(n int64, last bool) {
			if last || n%16384 == 0 {
				opt.Progress("rows", n, max(total, n))
			}
		}
		tell(0, false)
	}
	q := `SELECT e.patient_id, e.instrument, e.clinic, e.route, e.program, e.setting, e.integration, e.quarter,
		e.excluded_reason, e.baseline_day, e.baseline, e.endpoint_day, e.endpoint, e.change, e.eligible, e.response,
		e.remission, e.reliable_change, e.class, e.class_posterior, b.intercept AS blup_intercept, b.slope AS blup_slope,
		r.at_risk AS relapse_at_risk, r.reason AS relapse_reason, r.response_day, r.time_days AS relapse_time_days,
		r.event AS relapse_event,
		CASE WHEN p.age >= 90 THEN '90+' ELSE CAST(p.age AS VARCHAR) END AS age, CAST(p.age AS INTEGER) AS age_years,
		p.sex, p.diagnosis, CAST(p.prior_treatments AS INTEGER) AS prior_treatments,
		c.acute_window_open, c.response_days, c.response_event, c.remission_days, c.remission_event, c.response_dose,
		t.doses, t.total_mg, t.maintenance,
		s.bp_recorded AS dosing_sessions_bp_recorded, s.bp_elevated AS dosing_sessions_bp_elevated, s.sae AS serious_adverse_events
		FROM episodes e
		LEFT JOIN trajectory_blups b USING (patient_id, instrument)
		LEFT JOIN relapse r USING (patient_id, instrument)
		LEFT JOIN patients p USING (patient_id)
		LEFT JOIN course c USING (patient_id, instrument)
		LEFT JOIN retention t USING (patient_id)
		LEFT JOIN (SELECT patient_id, CAST(count(*) FILTER (bp_recorded) AS INTEGER) AS bp_recorded,
			CAST(count(*) FILTER (bp_elevated) AS INTEGER) AS bp_elevated,
			CAST(count(*) FILTER (serious_adverse_event) AS INTEGER) AS sae FROM session_safety GROUP BY ALL) s USING (patient_id)
		ORDER BY e.patient_id, e.instrument`
	var out []string
	dictPath := filepath.Join(dir, "dictionary.csv")
	dict := [][]string{{"column", "type", "meaning"}}
	for _, c := range ExportDictionary {
		dict = append(dict, []string{c.Name, c.Type, c.Meaning})
	}
	if err := writeCSVAtomic(dictPath, dict); err != nil {
		return nil, err
	}
	if format == "parquet" {
		p := filepath.Join(dir, "patients.parquet")
		if err := w.exportParquet(ctx, q, p, tell); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		return append(out, p, dictPath), nil
	}
	rows, err := w.db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	p := filepath.Join(dir, "patients.csv")
	f, err := CreateOutputTemp(dir, ".patients.csv.tmp-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	cw := csv.NewWriter(f)
	cw.Write(cols)
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	rec := make([]string, len(cols))
	var written int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			f.Close()
			return nil, err
		}
		for i, v := range vals {
			if v == nil {
				rec[i] = ""
			} else {
				rec[i] = CSVSafe(fmt.Sprint(v))
			}
		}
		cw.Write(rec)
		written++
		tell(written, false)
	}
	tell(written, true)
	cw.Flush()
	if err := cw.Error(); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return nil, err
	}
	return append(out, p, dictPath), rows.Err()
}

// CSVSafe defuses a text cell a spreadsheet would run as a formula: one starting with
// = + - @ (or a tab or carriage return) gets a leading apostrophe. Plain numbers, including
// negative ones such as "-6", are left alone.
func CSVSafe(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if s[0] == '-' || s[0] == '+' {
			if _, err := strconv.ParseFloat(s, 64); err == nil {
				return s
			}
		}
		return "'" + s
	}
	return s
}

func writeCSVAtomic(path string, rows [][]string) error {
	f, err := CreateOutputTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	cw := csv.NewWriter(f)
	cw.WriteAll(rows)
	if err := cw.Error(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// CreateOutputTemp creates a new file for an output in dir, named from pattern as
// os.CreateTemp names it, but with the mode an ordinary file gets: 0666 less the user's umask
// (os.CreateTemp makes 0600 files, and a fixed chmod such as 0644 would ignore the umask, which
// matters for outputs holding patient-level data). The caller writes it, then renames it into
// place.
func CreateOutputTemp(dir, pattern string) (*os.File, error) {
	prefix, suffix, _ := strings.Cut(pattern, "*")
	for range 100 {
		name := filepath.Join(dir, prefix+strconv.FormatUint(uint64(rand.Uint32()), 36)+suffix)
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, fmt.Errorf("create temporary file in %s: too many name collisions", dir)
}

// exportParquet writes the rows of q to path (zstd, statistics on) through a temporary file
// renamed into place. It is written here rather than by DuckDB's COPY, so that DuckDB keeps
// external access off while it reads the warehouse. tell is told the rows written so far.
func (w *Warehouse) exportParquet(ctx context.Context, q, path string, tell func(n int64, last bool)) error {
	rows, err := w.db.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return err
	}
	var fields []arrow.Field
	for _, ct := range types {
		var t arrow.DataType
		switch ct.DatabaseTypeName() {
		case "BOOLEAN":
			t = arrow.FixedWidthTypes.Boolean
		case "TINYINT", "SMALLINT", "INTEGER":
			t = arrow.PrimitiveTypes.Int32
		case "BIGINT":
			t = arrow.PrimitiveTypes.Int64
		case "FLOAT", "DOUBLE":
			t = arrow.PrimitiveTypes.Float64
		case "VARCHAR":
			t = arrow.BinaryTypes.String
		default:
			return fmt.Errorf("column %s: type %s has no Parquet mapping here", ct.Name(), ct.DatabaseTypeName())
		}
		fields = append(fields, field(ct.Name(), t))
	}
	schema := arrow.NewSchema(fields, nil)
	f, err := CreateOutputTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithMaxRowGroupLength(256*1024), parquet.WithCreatedBy("kapstat "+Version))
	fw, err := pqarrow.NewFileWriter(schema, f, props, pqarrow.DefaultWriterProps())
	if err != nil {
		f.Close()
		return err
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	flush := func() error {
		rec := b.NewRecordBatch()
		defer rec.Release()
		if rec.NumRows() == 0 {
			return nil
		}
		return fw.WriteBuffered(rec)
	}
	vals := make([]any, len(fields))
	ptrs := make([]any, len(fields))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			fw.Close()
			return err
		}
		for i, v := range vals {
			if err := appendValue(b.Field(i), v); err != nil {
				fw.Close()
				return fmt.Errorf("column %s: %w", fields[i].Name, err)
			}
		}
		if n++; n%65536 == 0 {
			if err := flush(); err != nil {
				fw.Close()
				return err
			}
		}
		tell(int64(n), false)
	}
	tell(int64(n), true)
	if err := rows.Err(); err != nil {
		fw.Close()
		return err
	}
	if err := flush(); err != nil {
		fw.Close()
		return err
	}
	if err := fw.Close(); err != nil { // closes f too
		return err
	}
	return os.Rename(f.Name(), path)
}

// appendValue appends a scanned DuckDB value to an Arrow builder of the column's type.
func appendValue(b array.Builder, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	switch b := b.(type) {
	case *array.BooleanBuilder:
		x, ok := v.(bool)
		if !ok {
			return fmt.Errorf("value %T, want bool", v)
		}
		b.Append(x)
	case *array.Int32Builder:
		switch x := v.(type) {
		case int8:
			b.Append(int32(x))
		case int16:
			b.Append(int32(x))
		case int32:
			b.Append(x)
		default:
			return fmt.Errorf("value %T, want a 32-bit integer", v)
		}
	case *array.Int64Builder:
		x, ok := v.(int64)
		if !ok {
			return fmt.Errorf("value %T, want int64", v)
		}
		b.Append(x)
	case *array.Float64Builder:
		switch x := v.(type) {
		case float32:
			b.Append(float64(x))
		case float64:
			b.Append(x)
		default:
			return fmt.Errorf("value %T, want a float", v)
		}
	case *array.StringBuilder:
		x, ok := v.(string)
		if !ok {
			return fmt.Errorf("value %T, want string", v)
		}
		b.Append(x)
	default:
		return fmt.Errorf("builder %T", b)
	}
	return nil
}
