package source

import (
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestCanonicalCSV(t *testing.T) {
	tests := []struct {
		name   string
		file   string // file name: its extension picks the format
		in     string
		kind   Kind
		header string
		want   []row
	}{{
		name:   "comma LF",
		file:   "a.csv",
		in:     "patient_id,instrument,date,item_1,total\np1,PHQ9,2025-03-01,1,\np2,GAD7,2025-03-02,,5\n",
		kind:   KindAssessments,
		header: "patient_id|instrument|date|item_1|total",
		want:   []row{{2, "p1|PHQ9|2025-03-01|1|"}, {3, "p2|GAD7|2025-03-02||5"}},
	}, {
		name:   "semicolon CRLF",
		file:   "a.csv",
		in:     "patient_id;instrument;day;total\r\np1;PHQ9;0;7\r\np1;PHQ9;28;3\r\n",
		kind:   KindAssessments,
		header: "patient_id|instrument|day|total",
		want:   []row{{2, "p1|PHQ9|0|7"}, {3, "p1|PHQ9|28|3"}},
	}, {
		name:   "BOM and header case and spaces",
		file:   "a.csv",
		in:     "\ufeffPatient_ID, Instrument ,DAY,Total\np1,PHQ9,0,7\n",
		kind:   KindAssessments,
		header: "patient_id|instrument|day|total",
		want:   []row{{2, "p1|PHQ9|0|7"}},
	}, {
		name:   "quoted fields with delimiter, quote and line break",
		file:   "a.csv",
		in:     "patient_id,clinic_id,instrument,day,total\n\"p,1\",\"north \"\"A\"\"\",PHQ9,0,7\n\"p\n2\",south,GAD7,1,3\n",
		kind:   KindAssessments,
		header: "patient_id|clinic_id|instrument|day|total",
		want:   []row{{2, "p,1|north \"A\"|PHQ9|0|7"}, {3, "p\n2|south|GAD7|1|3"}},
	}, {
		name:   "semicolon sniffed though a quoted header name holds commas",
		file:   "a.txt",
		in:     "patient_id;instrument;day;\"total\"\np1;PHQ9;0;1,5\n",
		kind:   KindAssessments,
		header: "patient_id|instrument|day|total",
		want:   []row{{2, "p1|PHQ9|0|1,5"}},
	}, {
		name:   "tab-separated",
		file:   "a.tsv",
		in:     "patient_id\tsession_type\tday\troute\np1\tdosing\t0\tim\n",
		kind:   KindSessions,
		header: "patient_id|session_type|day|route",
		want:   []row{{2, "p1|dosing|0|im"}},
	}, {
		name:   "ragged rows malformed, blank lines skipped",
		file:   "a.csv",
		in:     "patient_id,instrument,day,total\np1,PHQ9,0\n\np2,PHQ9,0,7,9\n",
		kind:   KindAssessments,
		header: "patient_id|instrument|day|total",
		want:   []row{{2, "!: malformed_row (3 fields, header has 4)"}, {4, "!: malformed_row (5 fields, header has 4)"}},
	}, {
		name:   "sessions",
		file:   "s.csv",
		in:     "patient_id,clinic_id,date,session_type,route,dose_mg,program,setting\np1,north,2025-03-01,dosing,sublingual,300,kap,home\n",
		kind:   KindSessions,
		header: "patient_id|clinic_id|date|session_type|route|dose_mg|program|setting",
		want:   []row{{2, "p1|north|2025-03-01|dosing|sublingual|300|kap|home"}},
	}, {
		name:   "header only",
		file:   "a.csv",
		in:     "patient_id,instrument,day,total\n",
		kind:   KindAssessments,
		header: "patient_id|instrument|day|total",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, rows, err := readAll(t, writeFile(t, tt.file, tt.in), nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.Kind() != tt.kind {
				t.Errorf("kind %q, want %q", r.Kind(), tt.kind)
			}
			if h := strings.Join(r.Header(), "|"); h != tt.header {
				t.Errorf("header %q, want %q", h, tt.header)
			}
			equalRows(t, rows, tt.want)
		})
	}
}

// TestCanonicalErrors covers whole-file faults: each names the line and column, never a value.
func TestCanonicalErrors(t *testing.T) {
	tests := []struct {
		name   string
		file   string
		in     string
		line   int
		column string
		reason string // a substring of the reason
	}{
		{"empty file", "a.csv", "", 0, "", "empty file"},
		{"unbalanced quote", "a.csv", "patient_id,instrument,day,total\np1,PHQ9,0,7\np2,\"PHQ9,0,7\n", 3, "14", "extraneous or missing \" in quoted-field"},
		{"bare quote", "a.csv", "patient_id,instrument,day,total\np1,PH\"Q9,0,7\n", 2, "6", "bare \" in non-quoted-field"},
		{"invalid UTF-8", "a.csv", "patient_id,clinic_id,instrument,day,total\np1,s\xffd,PHQ9,0,7\n", 2, "clinic_id", "invalid UTF-8"},
		{"no kind", "a.csv", "patient_id,day,total\n", 1, "", "neither instrument"},
		{"both kinds", "a.csv", "patient_id,day,instrument,session_type\n", 1, "", "both instrument and session_type"},
		{"unknown column", "a.csv", "patient_id,day,instrument,score\n", 1, `4 ("score")`, "unknown column"},
		{"duplicate column", "a.csv", "patient_id,day,instrument,DAY\n", 1, "day", "named twice"},
		{"no patient", "a.csv", "clinic_id,day,instrument\n", 1, "", "no patient_id"},
		{"no date or day", "a.csv", "patient_id,instrument\n", 1, "", "neither a date nor a day"},
		{"unknown extension", "a.json", "{}", 0, "", "unknown file type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readAll(t, writeFile(t, tt.file, tt.in), nil)
			fe := fileError(t, err)
			if fe.Line != tt.line || fe.Column != tt.column || !strings.Contains(fe.Reason, tt.reason) {
				t.Errorf("got line %d column %q reason %q; want line %d column %q reason containing %q",
					fe.Line, fe.Column, fe.Reason, tt.line, tt.column, tt.reason)
			}
			if strings.Contains(err.Error(), "\xff") {
				t.Errorf("error echoes the value: %q", err)
			}
		})
	}
}

func TestRaw(t *testing.T) {
	p := writeFile(t, "a.csv", "patient_id;instrument;day;total\r\n\"p;1\";PHQ9;0;7\r\n")
	r, err := Open(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rec, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rec.Raw(), "p;1,PHQ9,0,7"; got != want {
		t.Errorf("Raw() = %q, want %q", got, want)
	}
}

func TestSniffDelimiter(t *testing.T) {
	tests := []struct {
		in   string
		want rune
	}{
		{"a,b,c\n", ','},
		{"a;b;c\n", ';'},
		{"a\tb\tc\n", '\t'},
		{"a;b,c\n", ','}, // tie: comma
		{"\"a,b,c\";d;e\n", ';'},
		{"a;b\nc,d,e,f\n", ';'}, // the first line only
		{"", ','},
	}
	for _, tt := range tests {
		if got := sniffDelimiter([]byte(tt.in)); got != tt.want {
			t.Errorf("sniffDelimiter(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestCROnlyLineEnds: a file saved with classic Mac OS line ends (CR alone) reads line by
// line, as LF and CRLF files do; CRLF and quoted line breaks inside it keep their meaning.
func TestCROnlyLineEnds(t *testing.T) {
	in := "patient_id,clinic_id,instrument,day,total\rp1,north,PHQ9,0,7\r\rp2,\"south\rwest\",GAD7,3,5\rp3,east,PCL5,1,40"
	r, rows, err := readAll(t, writeFile(t, "mac.csv", in), nil)
	if err != nil {
		t.Fatal(err)
	}
	if h := strings.Join(r.Header(), "|"); h != "patient_id|clinic_id|instrument|day|total" {
		t.Errorf("header %q", h)
	}
	equalRows(t, rows, []row{{2, "p1|north|PHQ9|0|7"}, {4, "p2|south\nwest|GAD7|3|5"}, {6, "p3|east|PCL5|1|40"}})

	// An SSN on line 3 is found on line 3, in its column, and not echoed.
	_, _, err = readAll(t, writeFile(t, "mac.csv", "patient_id,clinic_id,instrument,day,total\rp1,north,PHQ9,0,7\rp2,123-45-6789,PHQ9,0,7\r"), nil)
	fe := fileError(t, err)
	if fe.Line != 3 || fe.Column != "clinic_id (SSN)" || strings.Contains(shown(t, err), "6789") {
		t.Errorf("%v, want line 3 column clinic_id (SSN) and no value", err)
	}
}

// TestHeaderNeverEchoesIdentifiers: a header cell that looks like an identifier's value (a
// data row read as the header) refuses the file naming its position only — before the
// checks that name header cells (a column named twice, an unknown column).
func TestHeaderNeverEchoesIdentifiers(t *testing.T) {
	for _, tc := range []struct {
		name, in, column string
	}{
		{"named twice", "patient_id,123-45-6789,instrument,123-45-6789\n", "2"},
		{"unknown column", "patient_id,instrument,day,jane@example.org\n", "4"},
		{"mapped file", "id,d,i,555-123-4567\n", "4"},
		{"full-width", "patient_id,instrument,day,１２３-４５-６７８９\n", "4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m *Map
			if strings.HasPrefix(tc.in, "id,") {
				var err error
				if m, err = parseMap("m.toml", "other_columns = \"drop\"\n[columns]\npatient_id = \"id\"\nday = \"d\"\ninstrument = \"i\"\n"); err != nil {
					t.Fatal(err)
				}
			}
			_, _, err := readAll(t, writeFile(t, "a.csv", tc.in), m)
			fe := fileError(t, err)
			if fe.Line != 1 || fe.Column != tc.column || !strings.Contains(fe.Reason, "refused") {
				t.Errorf("%v, want line 1 column %s refused", err, tc.column)
			}
			for _, secret := range []string{"6789", "jane", "4567", "６７８９"} {
				if strings.Contains(shown(t, err), secret) {
					t.Errorf("error echoes the header: %v", err)
				}
			}
		})
	}
	// A code as a header name (SNOMED CT 715252007, the PHQ-9 total score) is not a value.
	m, err := parseMap("m.toml", "other_columns = \"drop\"\n[columns]\npatient_id = \"id\"\nday = \"d\"\ninstrument = \"i\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if _, rows, err := readAll(t, writeFile(t, "a.csv", "id,d,i,715252007\np1,0,PHQ9,12\n"), m); err != nil || len(rows) != 1 {
		t.Errorf("a code as a header: %v, %v", rows, err)
	}
}

// TestRowFieldCap: a row wider than its header keeps at most the header's width of fields
// (the rest are counted, never held) and is malformed; the same through encoding/csv's path.
func TestRowFieldCap(t *testing.T) {
	const hdr = "patient_id,instrument,day,total\n"
	wide := "p1,PHQ9,0,7" + strings.Repeat(",9", 1_000_000-4)
	for name, in := range map[string]string{
		"plain":  hdr + wide + "\np2,PHQ9,0,8\n",
		"quoted": hdr + "\"p1\"" + wide[2:] + "\np2,PHQ9,0,8\n",
		"slow":   hdr + "\"p\n0\",PHQ9,0,8\n" + wide[:200_000] + "\np2,PHQ9,0,8\n", // after a quoted line break
	} {
		t.Run(name, func(t *testing.T) {
			r, err := Open(writeFile(t, "wide.csv", in), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var got []string
			for {
				rec, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if rec.Problem != nil {
					got = append(got, fmt.Sprintf("%d %s (%s) source %d fields", rec.Line, rec.Problem.Reason, rec.Problem.Detail, len(rec.Source)))
				} else {
					got = append(got, fmt.Sprintf("%d %s", rec.Line, strings.Join(rec.Fields, "|")))
				}
			}
			n := 1_000_000
			want := []string{fmt.Sprintf("2 malformed_row (%d fields, header has 4) source 4 fields", n), "3 p2|PHQ9|0|8"}
			if name == "slow" {
				n = strings.Count(wide[:200_000], ",") + 1
				want = []string{"2 p\n0|PHQ9|0|8", fmt.Sprintf("4 malformed_row (%d fields, header has 4) source 4 fields", n), "5 p2|PHQ9|0|8"}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("records %q, want %q", got, want)
			}
		})
	}
}

// TestLongLines: one line, or one record with no end, cannot take the memory: past the limit
// the file is refused with the line where it starts.
func TestLongLines(t *testing.T) {
	const hdr = "patient_id,instrument,day,total\n"
	_, rows, err := readAll(t, writeFile(t, "long.csv", hdr+"p1,PHQ9,0,7\np2,PHQ9,0,"+strings.Repeat("9", maxLineBytes)+"\n"), nil)
	if fe := fileError(t, err); fe.Line != 3 || !strings.Contains(fe.Reason, "a line longer than 16 MiB") {
		t.Errorf("%v, want line 3 and a line longer than 16 MiB", err)
	}
	equalRows(t, rows, []row{{2, "p1|PHQ9|0|7"}})
	// A quote that never closes, over many short lines.
	_, _, err = readAll(t, writeFile(t, "open.csv", hdr+"p1,PHQ9,0,7\n\"p2,PHQ9,0,7\n"+strings.Repeat("p3,PHQ9,0,7\n", 200_000)), nil)
	if fe := fileError(t, err); fe.Line != 3 || !strings.Contains(fe.Reason, "a record longer than 1 MiB") {
		t.Errorf("%v, want line 3 and a record longer than 1 MiB", err)
	}
	// A header of more columns than a worksheet can have.
	_, _, err = readAll(t, writeFile(t, "wide.csv", "patient_id"+strings.Repeat(",x", maxColumns)+"\n"), nil)
	if fe := fileError(t, err); fe.Line != 1 || !strings.Contains(fe.Reason, "16385 columns") {
		t.Errorf("%v, want the header's 16385 columns", err)
	}
}

// TestMappedRawKeepsDeclaredColumns: the source row a mapped record carries (the quarantine
// table's raw text) holds the columns the map reads, never a column it drops or leaves
// undeclared; a row with values under no header column is malformed unless the map drops
// other columns.
func TestMappedRawKeepsDeclaredColumns(t *testing.T) {
	m, err := parseMap("m.toml", `drop = ["Name", "SSN"]
other_columns = "drop"
[columns]
patient_id = "id"
day = "d"
instrument = "i"
total = "score"
`)
	if err != nil {
		t.Fatal(err)
	}
	in := "Name,id,SSN,d,note,i,score\nJane Doe,p1,123-45-6789,0,private note,PHQ9,99\nJohn Roe,p2,987-65-4321,1,x,GAD7,5,,\n"
	r, err := Open(writeFile(t, "a.csv", in), m)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var raws []string
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, rec.Raw())
	}
	if want := []string{"p1,0,PHQ9,99", "p2,1,GAD7,5"}; !reflect.DeepEqual(raws, want) {
		t.Errorf("raw rows %q, want %q (declared columns only)", raws, want)
	}

	m.OtherColumns = "error"
	m.Drop = []string{"Name", "SSN", "note"}
	_, rows, err := readAll(t, writeFile(t, "b.csv", in[:len(in)-1]+"extra\n"), m)
	if err != nil {
		t.Fatal(err)
	}
	equalRows(t, rows, []row{{2, "p1|PHQ9|0|99"}, {3, "!: malformed_row (values in 9 fields, header has 7)"}})
}
