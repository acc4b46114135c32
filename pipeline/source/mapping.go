package source

import (
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/kapstat/kapstat/measures"
)

// Map says how a file that is not in the canonical format maps onto it. It is read from a TOML
// mapping file (LoadMap); testdata/maps/README.md at the repository root documents the format
// with an annotated example.
//
// Source column names are matched without regard to case or surrounding spaces. Every column of
// the file must be declared (by a role, an instrument, or in Drop) unless OtherColumns is
// "drop"; every declared column must be in the file.
type Map struct {
	Kind       Kind     // assessments (default), sessions or patients
	Sheet      string   // XLSX: the worksheet to read (default: the first)
	Missing    []string // codes meaning "missing" in every item and total column ("" always is)
	DateFormat string   // Go layout of date cells that are not YYYY-MM-DD, e.g. "01/02/2006"
	// OtherColumns is what happens to a column the map does not declare: "error" (default)
	// or "drop". A column whose name is a direct identifier is refused unless listed in Drop.
	OtherColumns string
	Drop         []string            // source columns to ignore
	Columns      map[string]string   // canonical column → source column
	Constants    map[string]string   // canonical column → value, for columns the file lacks
	ColumnCodes  map[string][]string // source column → its own missing codes
	// ColumnRecode maps, per source column of a text field (not an item or a total), a
	// source value to a canonical one ("1" → "male"); keys are matched after trimming,
	// without regard to case, a zero fraction dropped ("1.0" is "1"). A value the table does
	// not list is passed on as it is, for the validator to judge.
	ColumnRecode map[string]map[string]string
	Instruments  []InstrumentMap // wide files: one record per instrument present in a row
}

// InstrumentMap declares the columns of one instrument in a wide row and how their values are
// coded.
type InstrumentMap struct {
	Name  string   // PHQ9, GAD7 or PCL5 (any spelling measures.Normalize accepts)
	Items []string // source column of item k at index k-1; "" for an item the file lacks
	Total string   // source column of the total score, if any
	// Item value coding: Recode maps a source code to a canonical one (a code it does not list
	// is passed on marked as unmapped, so the validator quarantines the row); otherwise
	// Subtract is taken from every integer value. Totals are never recoded.
	Recode   map[string]string
	Subtract int
	Missing  []string // codes meaning "missing" in this instrument's columns, besides Map.Missing
}

// mapFile is the TOML shape of a mapping file.
type mapFile struct {
	Kind         string                    `toml:"kind"`
	Sheet        string                    `toml:"sheet"`
	Missing      []any                     `toml:"missing"`
	DateFormat   string                    `toml:"date_format"`
	OtherColumns string                    `toml:"other_columns"`
	Drop         []string                  `toml:"drop"`
	Columns      map[string]string         `toml:"columns"`
	Constants    map[string]any            `toml:"constants"`
	ColumnCodes  map[string][]any          `toml:"column_missing"`
	ColumnRecode map[string]map[string]any `toml:"column_recode"`
	Instruments  []instrumentMapFile       `toml:"instruments"`
}

type instrumentMapFile struct {
	Name         string         `toml:"name"`
	Items        []string       `toml:"items"`
	ItemsPattern string         `toml:"items_pattern"`
	Total        string         `toml:"total"`
	Recode       map[string]any `toml:"recode"`
	Subtract     int            `toml:"subtract"`
	Missing      []any          `toml:"missing"`
}

// LoadMap reads and checks a mapping file. Unknown keys are an error naming the key.
func LoadMap(path string) (*Map, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := parseMap(path, string(b))
	if err != nil {
		return nil, err
	}
	return m, nil
}

func mapErr(path, format string, args ...any) error {
	return &FileError{Path: path, Reason: fmt.Sprintf(format, args...)}
}

// parseMap parses the TOML text of a mapping file; path names it in errors.
func parseMap(path, data string) (*Map, error) {
	var mf mapFile
	md, err := toml.Decode(data, &mf)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &FileError{Path: path, Line: pe.Position.Line, Reason: "invalid TOML: " + pe.Message}
		}
		return nil, mapErr(path, "invalid mapping: %v", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, mapErr(path, "unknown key %s", strings.Join(keys, ", "))
	}
	m := &Map{Kind: Kind(mf.Kind), Sheet: mf.Sheet, DateFormat: mf.DateFormat, OtherColumns: mf.OtherColumns,
		Drop: mf.Drop, Columns: map[string]string{}, Constants: map[string]string{}, ColumnCodes: map[string][]string{},
		ColumnRecode: map[string]map[string]string{}}
	if m.Kind == "" {
		m.Kind = KindAssessments
	}
	if m.Kind != KindAssessments && m.Kind != KindSessions && m.Kind != KindPatients {
		return nil, mapErr(path, "kind %q: must be assessments, sessions or patients", mf.Kind)
	}
	switch m.OtherColumns {
	case "":
		m.OtherColumns = "error"
	case "error", "drop":
	default:
		return nil, mapErr(path, "other_columns %q: must be error or drop", mf.OtherColumns)
	}
	if m.Missing, err = texts(mf.Missing); err != nil {
		return nil, mapErr(path, "missing: %v", err)
	}
	for src, codes := range mf.ColumnCodes {
		if m.ColumnCodes[src], err = texts(codes); err != nil {
			return nil, mapErr(path, "column_missing.%s: %v", src, err)
		}
	}
	wide := len(mf.Instruments) > 0
	if wide && m.Kind != KindAssessments {
		return nil, mapErr(path, "instruments: a %s map has no instruments", m.Kind)
	}
	for canon, src := range mf.Columns {
		if !isCanonical(m.Kind, canon) {
			return nil, mapErr(path, "columns.%s: not a column of the canonical %s format", canon, m.Kind)
		}
		if wide && (canon == "instrument" || canon == "total" || strings.HasPrefix(canon, "item_")) {
			return nil, mapErr(path, "columns.%s: a map with [[instruments]] declares items and totals there", canon)
		}
		if strings.TrimSpace(src) == "" {
			return nil, mapErr(path, "columns.%s: empty source column name", canon)
		}
		m.Columns[canon] = src
	}
	for canon, v := range mf.Constants {
		if !isCanonical(m.Kind, canon) || canon == "patient_id" || canon == "total" || strings.HasPrefix(canon, "item_") {
			return nil, mapErr(path, "constants.%s: not a column that can be constant", canon)
		}
		if _, ok := m.Columns[canon]; ok {
			return nil, mapErr(path, "constants.%s: also mapped in [columns]", canon)
		}
		if wide && canon == "instrument" {
			return nil, mapErr(path, "constants.instrument: a map with [[instruments]] names the instrument there")
		}
		if m.Constants[canon], err = text(v); err != nil {
			return nil, mapErr(path, "constants.%s: %v", canon, err)
		}
	}
	for i, im := range mf.Instruments {
		in, ok := measures.Lookup(im.Name)
		if !ok {
			return nil, mapErr(path, "instruments[%d]: unknown instrument %q (PHQ9, GAD7 or PCL5)", i+1, im.Name)
		}
		out := InstrumentMap{Name: in.Code, Items: im.Items, Total: im.Total, Subtract: im.Subtract, Recode: map[string]string{}}
		if im.ItemsPattern != "" {
			if len(im.Items) > 0 {
				return nil, mapErr(path, "instruments[%d]: items and items_pattern both given", i+1)
			}
			if !strings.Contains(im.ItemsPattern, "{k}") {
				return nil, mapErr(path, "instruments[%d]: items_pattern must contain {k}", i+1)
			}
			for k := 1; k <= in.Items; k++ {
				out.Items = append(out.Items, strings.ReplaceAll(im.ItemsPattern, "{k}", strconv.Itoa(k)))
			}
		}
		if len(out.Items) > in.Items {
			return nil, mapErr(path, "instruments[%d]: %d items given, %s has %d", i+1, len(out.Items), in.Name, in.Items)
		}
		if len(out.Items) == 0 && out.Total == "" {
			return nil, mapErr(path, "instruments[%d]: %s has neither items nor a total", i+1, in.Code)
		}
		if len(im.Recode) > 0 && im.Subtract != 0 {
			return nil, mapErr(path, "instruments[%d]: recode and subtract both given", i+1)
		}
		for from, to := range im.Recode {
			t, err := text(to)
			if err != nil {
				return nil, mapErr(path, "instruments[%d].recode.%s: %v", i+1, from, err)
			}
			out.Recode[normNumber(strings.TrimSpace(from))] = t
		}
		if out.Missing, err = texts(im.Missing); err != nil {
			return nil, mapErr(path, "instruments[%d].missing: %v", i+1, err)
		}
		for _, prev := range m.Instruments {
			if prev.Name == out.Name {
				return nil, mapErr(path, "instruments[%d]: %s declared twice", i+1, out.Name)
			}
		}
		m.Instruments = append(m.Instruments, out)
	}
	if _, ok := m.Columns["patient_id"]; !ok {
		return nil, mapErr(path, "columns.patient_id: the map must name the patient id column")
	}
	if !m.has("date") && !m.has("day") && m.Kind != KindPatients {
		return nil, mapErr(path, "the map must give a date or day column, or a constant day")
	}
	if m.Kind == KindAssessments && !wide && !m.has("instrument") {
		return nil, mapErr(path, "an assessments map needs [[instruments]] (wide rows) or an instrument column or constant (long rows)")
	}
	if m.Kind == KindSessions && !m.has("session_type") {
		return nil, mapErr(path, "a sessions map needs a session_type column or constant")
	}
	if m.Kind == KindPatients {
		trait := false
		for _, c := range PatientColumns[1:] {
			trait = trait || m.has(c)
		}
		if !trait {
			return nil, mapErr(path, "a patients map needs at least one of age, sex, diagnosis or prior_treatments")
		}
	}
	// Recodings of text columns: the source column must be one [columns] maps to a column
	// that is not an item or a total (items are recoded per instrument; totals never).
	for src, table := range mf.ColumnRecode {
		canon := ""
		for c, s := range m.Columns {
			if fold(s) == fold(src) {
				canon = c
			}
		}
		if canon == "" {
			return nil, mapErr(path, "column_recode.%s: not a source column of [columns]", src)
		}
		if canon == "total" || strings.HasPrefix(canon, "item_") || canon == "patient_id" {
			return nil, mapErr(path, "column_recode.%s: %s values are not recoded here", src, canon)
		}
		out := make(map[string]string, len(table))
		for _, from := range sortedKeys(table) {
			t, err := text(table[from])
			if err != nil {
				return nil, mapErr(path, "column_recode.%s.%s: %v", src, from, err)
			}
			k := recodeKey(from)
			if _, dup := out[k]; dup {
				return nil, mapErr(path, "column_recode.%s: %s is given twice (keys match in any case, 1.0 as 1)", src, from)
			}
			out[k] = strings.TrimSpace(t)
		}
		m.ColumnRecode[fold(src)] = out
	}
	// A source column has one role.
	seen := map[string]string{}
	claim := func(src, role string) error {
		if src == "" {
			return nil
		}
		k := fold(src)
		if prev, ok := seen[k]; ok {
			return mapErr(path, "source column %q is declared twice (%s and %s)", src, prev, role)
		}
		seen[k] = role
		return nil
	}
	for _, canon := range sortedKeys(m.Columns) {
		if err := claim(m.Columns[canon], "columns."+canon); err != nil {
			return nil, err
		}
	}
	for _, im := range m.Instruments {
		for k, src := range im.Items {
			if err := claim(src, fmt.Sprintf("%s item %d", im.Name, k+1)); err != nil {
				return nil, err
			}
		}
		if err := claim(im.Total, im.Name+" total"); err != nil {
			return nil, err
		}
	}
	for _, src := range m.Drop {
		if err := claim(src, "drop"); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Map) has(canon string) bool {
	_, c := m.Columns[canon]
	_, k := m.Constants[canon]
	return c || k
}

func fold(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// recodeKey is how a column_recode key and a value are compared: trimmed, lower case, a zero
// fraction dropped.
func recodeKey(s string) string { return normNumber(fold(s)) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// text turns a TOML scalar into canonical text.
func text(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10), nil
		}
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return "", fmt.Errorf("expected a string or a number, got %T", v)
}

func texts(vs []any) ([]string, error) {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		t, err := text(v)
		if err != nil {
			return nil, err
		}
		out = append(out, strings.TrimSpace(t))
	}
	return out, nil
}

// normNumber writes a number with a zero fraction as an integer ("93705.0" → "93705",
// "-9.00" → "-9"); any other text, including "1.5", is returned unchanged for the validator to
// judge. It works on the text, so leading zeros of identifiers ("007") survive.
func normNumber(s string) string {
	dot := strings.IndexByte(s, '.')
	if dot < 0 {
		return s
	}
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	if i == dot {
		return s
	}
	for j := i; j < dot; j++ {
		if !isDigit(s[j]) {
			return s
		}
	}
	for j := dot + 1; j < len(s); j++ {
		if s[j] != '0' {
			return s
		}
	}
	if s[0] == '+' {
		return s[1:dot]
	}
	return s[:dot]
}
