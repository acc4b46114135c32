package pipeline

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
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
	{"excluded_reason", "text", "no_baseline or no_endpoint; empty for completers"},
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
	{"relapse_reason", "text", "why not at risk: no_response, no_followup_after_response"},
	{"response_day", "integer", "day of the first response (the relapse clock starts here)"},
	{"relapse_time_days", "integer", "days from response to relapse, or to the last follow-up when censored"},
	{"relapse_event", "boolean", "true = relapse, false = censored"},
}

// Export writes the analysis-ready per-patient table (one row per patient and instrument)
// as patients.parquet or patients.csv into dir, with dictionary.csv. It reads the tables the
// last analyze wrote.
func (w *Warehouse) Export(ctx context.Context, dir, format string) ([]string, error) {
	if format != "parquet" && format != "csv" {
		return nil, fmt.Errorf("export: format %q: want parquet or csv", format)
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
	q := `SELECT e.patient_id, e.instrument, e.clinic, e.route, e.program, e.setting, e.integration, e.quarter,
		e.excluded_reason, e.baseline_day, e.baseline, e.endpoint_day, e.endpoint, e.change, e.eligible, e.response,
		e.remission, e.reliable_change, e.class, e.class_posterior, b.intercept AS blup_intercept, b.slope AS blup_slope,
		r.at_risk AS relapse_at_risk, r.reason AS relapse_reason, r.response_day, r.time_days AS relapse_time_days,
		r.event AS relapse_event
		FROM episodes e
		LEFT JOIN trajectory_blups b USING (patient_id, instrument)
		LEFT JOIN relapse r USING (patient_id, instrument)
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
		tmp := p + ".tmp"
		if _, err := w.db.ExecContext(ctx, `COPY (`+q+`) TO `+sqlString(tmp)+` (FORMAT parquet, COMPRESSION zstd)`); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		if err := os.Rename(tmp, p); err != nil {
			return nil, err
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
	f, err := os.CreateTemp(dir, ".patients.csv.tmp-*")
	if err != nil {
		return nil, err
	}
	// CreateTemp makes the file 0600; outputs are ordinary files (0644 before umask).
	if err := f.Chmod(0o644); err != nil {
		f.Close()
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
	}
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
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	// CreateTemp makes the file 0600; outputs are ordinary files (0644 before umask).
	if err := f.Chmod(0o644); err != nil {
		f.Close()
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
