package source

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mapsDir holds the example mapping files and their sample inputs.
var mapsDir = filepath.Join("..", "..", "testdata", "maps")

func loadMap(t testing.TB, name string) *Map {
	t.Helper()
	m, err := LoadMap(filepath.Join(mapsDir, name, "map.toml"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// wideRow joins the leading fields, the items padded with "" to n item columns, and the
// trailing fields, as the tests' row strings do.
func wideRow(lead string, n int, items string, trail ...string) string {
	it := strings.Split(items, ",")
	for len(it) < n {
		it = append(it, "")
	}
	return strings.Join(append(append([]string{lead}, it...), trail...), "|")
}

func TestMapREDCap(t *testing.T) {
	r, rows, err := readAll(t, filepath.Join(mapsDir, "redcap", "export.csv"), loadMap(t, "redcap"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(r.Header(), ","), "patient_id,clinic_id,instrument,date,"+strings.Join(itemNames[:], ","); got != want {
		t.Errorf("header %s\nwant %s", got, want)
	}
	// The export codes items from 1: PHQ-9 and PCL-5 take subtract = 1, GAD-7 a recode table.
	equalRows(t, rows, []row{
		{2, wideRow("r001|north|PHQ9|2025-03-01", 20, "1,2,1,3,0,1,2,1,0")},
		{2, wideRow("r001|north|GAD7|2025-03-01", 20, "2,2,1,1,3,0,1")},
		// -9 and empty are missing; GAD-7 is all -9, so it makes no record.
		{3, wideRow("r001|north|PHQ9|2025-03-29", 20, "0,0,,1,0,,0,0,0")},
		{3, wideRow("r001|north|PCL5|2025-03-29", 20, "0,1,2,3,4,0,1,2,3,4,0,1,2,3,4,0,1,2,3,4")},
		// line 4 is empty throughout: one record of the first instrument with every item
		// empty, for the validator to quarantine (too_many_missing).
		{4, wideRow("r002|south|PHQ9|2025-04-02", 20, "")},
		// 1.5 is passed on for the validator to reject (not_integer); 5 is no GAD-7 code.
		{5, wideRow("r002|south|PHQ9|2025-04-30", 20, "0,1.5,0,0,0,0,0,0,0")},
		{5, wideRow("r002|south|GAD7|2025-04-30", 20, "0,0,0,0,0,0,?5")},
	})
	if r.Empty() != 1 {
		t.Errorf("Empty() = %d, want 1", r.Empty())
	}
}

func TestMapREDCapRaw(t *testing.T) {
	r, err := Open(filepath.Join(mapsDir, "redcap", "export.csv"), loadMap(t, "redcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, _ := os.ReadFile(filepath.Join(mapsDir, "redcap", "export.csv"))
	line2 := strings.Split(string(b), "\n")[1]
	// The raw row holds the columns the map reads, never one it drops (redcap_event_name).
	line2 = strings.Replace(line2, "r001,baseline_arm_1,", "r001,", 1)
	for i := 0; i < 2; i++ { // both records of line 2 carry the source row
		rec, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if rec.Raw() != line2 {
			t.Errorf("record %d Raw() = %q, want %q", i, rec.Raw(), line2)
		}
	}
}

func TestMapLOINC(t *testing.T) {
	r, rows, err := readAll(t, filepath.Join(mapsDir, "loinc", "export.csv"), loadMap(t, "loinc"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(r.Header(), ","), "patient_id,clinic_id,instrument,date,"+strings.Join(itemNames[:9], ",")+",total"; got != want {
		t.Errorf("header %s\nwant %s", got, want)
	}
	equalRows(t, rows, []row{
		{2, wideRow("p-001|ehr|PHQ9|2025-01-10", 9, "2,2,1,3,1,2,1,1,0", "13")},
		{2, wideRow("p-001|ehr|GAD7|2025-01-10", 9, "", "12")},
		{3, wideRow("p-002|ehr|PHQ9|2025-01-11", 9, "", "15")},
		{3, wideRow("p-002|ehr|PCL5|2025-01-11", 9, "", "40")},
		// line 4: every total is "." (missing): one empty PHQ-9 record, quarantined later.
		{4, wideRow("p-003|ehr|PHQ9|2025-01-12", 9, "", "")},
		{5, wideRow("p-004|ehr|PHQ9|2025-01-13", 9, "0,1,0,1,0,0,,0,1", "")},
		{5, wideRow("p-004|ehr|GAD7|2025-01-13", 9, "", "7")},
	})
	if r.Empty() != 1 {
		t.Errorf("Empty() = %d, want 1", r.Empty())
	}
}

// TestMapNHANES reads the real NHANES 2017–2018 file: 5,533 rows, of which 440 have all nine
// items missing (439 empty, 1 refused throughout; counted from the CSV). Every row becomes a
// record; those 440 have no item and are quarantined by the validator.
func TestMapNHANES(t *testing.T) {
	path := filepath.Join(mapsDir, "nhanes", "nhanes_2017_2018_DPQ_J.csv")
	r, rows, err := readAll(t, path, loadMap(t, "nhanes"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(r.Header(), ","), "patient_id,clinic_id,instrument,day,"+strings.Join(itemNames[:9], ","); got != want {
		t.Errorf("header %s\nwant %s", got, want)
	}
	if len(rows) != 5533 || r.Empty() != 440 {
		t.Errorf("%d records and %d empty rows, want 5533 and 440", len(rows), r.Empty())
	}
	// A few rows checked by hand against the CSV.
	want := map[string]string{
		"93705":  "93705|nhanes|PHQ9|0|0|0|0|0|0|0|0|0|0",  // 93705.0,0.0 × 9
		"93717":  "93717|nhanes|PHQ9|0|1|1|0|1|0|1|1|0|0",  // 1.0,1.0,0.0,1.0,0.0,1.0,1.0,0.0,0.0
		"93887":  "93887|nhanes|PHQ9|0|0||||||||",          // 0.0 then 9.0 (don't know) × 8
		"94327":  "94327|nhanes|PHQ9|0||0|||||||",          // 7.0 (refused), 0.0, then 7.0 × 7
		"95471":  "95471|nhanes|PHQ9|0|0|0|0||2|0|0|1|0",   // item 4 is 7.0
		"102956": "102956|nhanes|PHQ9|0|1|1|1|1|1|1|1|0|0", // the last row
	}
	got := map[string]string{}
	for _, rw := range rows {
		id := rw.Fields[:strings.IndexByte(rw.Fields, '|')]
		if _, ok := want[id]; ok {
			got[id] = rw.Fields
		}
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("SEQN %s: got %q, want %q", id, got[id], w)
		}
	}
	for _, id := range []string{"93709", "99820"} { // all empty; all refused
		if _, ok := got[id]; ok {
			t.Errorf("SEQN %s made a record", id)
		}
	}
	// Every record line is the CSV line of its SEQN.
	f, _ := os.Open(path)
	defer f.Close()
	all, _ := csv.NewReader(f).ReadAll()
	for _, rw := range rows {
		id := rw.Fields[:strings.IndexByte(rw.Fields, '|')]
		if src := all[rw.Line-1][0]; src != id+".0" {
			t.Fatalf("record at line %d has SEQN %s, the CSV line has %s", rw.Line, id, src)
		}
	}
}

func TestMapErrors(t *testing.T) {
	tests := []struct {
		name   string
		toml   string
		reason string // substring of the error
	}{
		{"unknown top-level key", "missng = [\"-9\"]\n[columns]\npatient_id = \"id\"\n", `unknown key missng`},
		{"unknown nested key", "[columns]\npatient_id = \"id\"\nday = \"d\"\ninstrument = \"i\"\n[[instruments]]\nname = \"PHQ9\"\nitem = [\"a\"]\n", `unknown key instruments.item`},
		{"bad TOML", "[columns\n", "invalid TOML"},
		{"no patient id", "[constants]\nday = 0\ninstrument = \"PHQ9\"\n", "patient id"},
		{"no date", "[columns]\npatient_id = \"id\"\ninstrument = \"i\"\n", "date or day"},
		{"no instrument", "[columns]\npatient_id = \"id\"\nday = \"d\"\n", "instruments"},
		{"unknown instrument", "[columns]\npatient_id = \"id\"\nday = \"d\"\n[[instruments]]\nname = \"BDI\"\ntotal = \"t\"\n", `unknown instrument "BDI"`},
		{"too many items", "[columns]\npatient_id = \"id\"\nday = \"d\"\n[[instruments]]\nname = \"GAD7\"\nitems_pattern = \"g{k}\"\n[[instruments]]\nname = \"PHQ9\"\nitems = [\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\"]\n", "10 items given, PHQ-9 has 9"},
		{"recode and subtract", "[columns]\npatient_id = \"id\"\nday = \"d\"\n[[instruments]]\nname = \"GAD7\"\nitems_pattern = \"g{k}\"\nsubtract = 1\nrecode = {1 = 0}\n", "recode and subtract"},
		{"column twice", "[columns]\npatient_id = \"id\"\nday = \"ID\"\ninstrument = \"i\"\n", "declared twice"},
		{"not canonical", "[columns]\npatient_id = \"id\"\nday = \"d\"\ninstrument = \"i\"\nscore = \"s\"\n", "columns.score"},
		{"items in columns of a wide map", "[columns]\npatient_id = \"id\"\nday = \"d\"\nitem_1 = \"x\"\n[[instruments]]\nname = \"PHQ9\"\ntotal = \"t\"\n", "columns.item_1"},
		{"bad kind", "kind = \"visits\"\n", "kind"},
		{"constant table value", "[columns]\npatient_id = \"id\"\ninstrument = \"i\"\n[constants]\nday = [0]\n", "constants.day"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseMap("m.toml", tt.toml)
			if err == nil || !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %v, want one containing %q", err, tt.reason)
			}
		})
	}
}

// TestMapFileErrors covers a map that does not fit the file.
func TestMapFileErrors(t *testing.T) {
	const long = "[columns]\npatient_id = \"id\"\nday = \"d\"\ninstrument = \"form\"\ntotal = \"score\"\n"
	tests := []struct {
		name   string
		toml   string
		in     string
		column string
		reason string
	}{
		{"declared column missing", long, "id,d,form\n", "score", "declared in the map but not in the file"},
		{"undeclared column", long, "id,d,form,score,extra\n", "extra", "not declared in the map"},
		{"sheet on a CSV", "sheet = \"x\"\n" + long, "id,d,form,score\n", "", "not a workbook"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := parseMap("m.toml", tt.toml)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = readAll(t, writeFile(t, "a.csv", tt.in), m)
			fe := fileError(t, err)
			if fe.Column != tt.column || !strings.Contains(fe.Reason, tt.reason) {
				t.Errorf("column %q reason %q; want column %q reason containing %q", fe.Column, fe.Reason, tt.column, tt.reason)
			}
		})
	}
}

// TestMapLong maps a long file whose columns are named otherwise, with a constant instrument,
// number normalisation and per-column missing codes.
func TestMapLong(t *testing.T) {
	m, err := parseMap("m.toml", `
other_columns = "drop"
missing = ["-9"]
[columns]
patient_id = "ID"
day = "Week"
item_1 = "q1"
item_2 = "q2"
total = "Score"
[constants]
instrument = "phq-9"
clinic_id = "c1"
[column_missing]
Week = ["."]
`)
	if err != nil {
		t.Fatal(err)
	}
	in := "ID,Week,q1,q2,Score,note\n007,0.0,1.0,-9,3,x\n008,.,2,1.5,-9.0,\n"
	r, rows, err := readAll(t, writeFile(t, "a.csv", in), m)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(r.Header(), "|"), "patient_id|clinic_id|instrument|day|item_1|item_2|total"; got != want {
		t.Errorf("header %q, want %q", got, want)
	}
	equalRows(t, rows, []row{{2, "007|c1|phq-9|0|1||3"}, {3, "008|c1|phq-9||2|1.5|"}})
}

func TestMapSessions(t *testing.T) {
	m, err := parseMap("m.toml", `
kind = "sessions"
[columns]
patient_id = "pid"
date = "when"
session_type = "visit"
dose_mg = "mg"
[constants]
route = "im"
program = "kap"
`)
	if err != nil {
		t.Fatal(err)
	}
	r, rows, err := readAll(t, writeFile(t, "s.csv", "pid,when,visit,mg\np1,2025-03-01T10:00:00Z,dosing,50.0\n"), m)
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind() != KindSessions || strings.Join(r.Header(), "|") != "patient_id|date|session_type|route|dose_mg|program" {
		t.Errorf("kind %q header %q", r.Kind(), r.Header())
	}
	equalRows(t, rows, []row{{2, "p1|2025-03-01|dosing|im|50|kap"}})
}

func TestNormNumber(t *testing.T) {
	for in, want := range map[string]string{
		"93705.0": "93705", "0.0": "0", "-9.00": "-9", "+3.0": "3", "1.5": "1.5", "1.": "1", ".0": ".0",
		"007": "007", "abc.0": "abc.0", "": "", "1e3": "1e3", "2025-03-01": "2025-03-01", "-.0": "-.0",
	} {
		if got := normNumber(in); got != want {
			t.Errorf("normNumber(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMapREADME parses the annotated example of testdata/maps/README.md, so that the
// documentation stays a valid map.
func TestMapREADME(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(mapsDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```toml\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("no TOML example in the README")
	}
	m, err := parseMap("README.md", example)
	if err != nil {
		t.Fatal(err)
	}
	if m.Sheet != "Export" || len(m.Instruments) != 1 || len(m.Instruments[0].Items) != 9 || m.Instruments[0].Items[8] != "phq9_9" {
		t.Errorf("parsed %+v", m)
	}
}

// TestMapParquet reads a Parquet file through a map: typed columns become canonical text
// before mapping.
func TestMapParquet(t *testing.T) {
	m, err := parseMap("m.toml", `
other_columns = "drop"
[columns]
patient_id = "patient_id"
date = "date"
[[instruments]]
name = "gad-7"
items = ["item_1"]
total = "total"
`)
	if err != nil {
		t.Fatal(err)
	}
	_, rows, err := readAll(t, writeParquet(t, 3, 1<<20), m)
	if err != nil {
		t.Fatal(err)
	}
	equalRows(t, rows, []row{
		{2, "p1|GAD7|2025-03-01|0|7"},
		{3, "p2|GAD7|2025-03-02||1.5"},
		{4, "p3|GAD7|2025-03-03|2|"},
	})
}
