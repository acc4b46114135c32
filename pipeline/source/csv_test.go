package source

import (
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
