package source

import (
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestKindFromHeader: a file's kind is told by its header — instrument → assessments,
// session_type → sessions, any of age, sex, diagnosis, prior_treatments without either →
// patients (which need no date or day).
func TestKindFromHeader(t *testing.T) {
	tests := []struct {
		header string
		kind   Kind
	}{
		{"patient_id,age,sex,diagnosis,prior_treatments", KindPatients},
		{"patient_id,sex", KindPatients},
		{"Patient_ID, AGE", KindPatients},
		{"patient_id,diagnosis", KindPatients},
		{"patient_id,prior_treatments", KindPatients},
		{"patient_id,day,instrument,total", KindAssessments},
		{"patient_id,day,session_type,sbp_pre,side_effects", KindSessions},
	}
	for _, tt := range tests {
		r, _, err := readAll(t, writeFile(t, "a.csv", tt.header+"\n"), nil)
		if err != nil {
			t.Errorf("%s: %v", tt.header, err)
			continue
		}
		if r.Kind() != tt.kind {
			t.Errorf("%s: kind %s, want %s", tt.header, r.Kind(), tt.kind)
		}
	}
}

func TestKindErrors(t *testing.T) {
	tests := []struct {
		name, in, column, reason string
	}{
		// the patient columns belong to patients files only
		{"age in an assessments file", "patient_id,day,instrument,total,age\n", `5 ("age")`, "unknown column in the canonical assessments format"},
		{"sex in a sessions file", "patient_id,day,session_type,sex\n", `4 ("sex")`, "unknown column in the canonical sessions format"},
		// and a patients file has no day: the characteristics are the patient's, not a visit's
		{"day in a patients file", "patient_id,day,age\n", `2 ("day")`, "unknown column in the canonical patients format"},
		{"clinic in a patients file", "patient_id,clinic_id,age\n", `2 ("clinic_id")`, "unknown column in the canonical patients format"},
		{"no patient id", "age,sex\n", "", "no patient_id"},
		{"none of the kinds", "patient_id,clinic_id\n", "", "nor age, sex, diagnosis or prior_treatments (patients)"},
		// identifiers are refused before the kind is told, as before
		{"birth date", "patient_id,dob,age\n", "dob", "the header names direct identifiers"},
		{"date of birth", "patient_id,date_of_birth,sex\n", "date_of_birth", "the header names direct identifiers"},
		{"name", "patient_id,first_name,age\n", "first_name", "the header names direct identifiers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readAll(t, writeFile(t, "a.csv", tt.in), nil)
			fe := fileError(t, err)
			if fe.Line != 1 || fe.Column != tt.column || !strings.Contains(fe.Reason, tt.reason) {
				t.Errorf("line %d column %q reason %q; want line 1 column %q reason containing %q", fe.Line, fe.Column, fe.Reason, tt.column, tt.reason)
			}
		})
	}
}

// TestPatientValuesRefused: the identifier guard reads patients files like the others.
func TestPatientValuesRefused(t *testing.T) {
	for name, tt := range map[string]struct{ in, column string }{
		"SSN in sex":           {"patient_id,age,sex\np1,40,female\np2,41,123-45-6789\n", "sex (SSN)"},
		"phone in diagnosis":   {"patient_id,diagnosis\np1,(555) 123-4567\n", "diagnosis (phone number)"},
		"birth date in the id": {"patient_id,age\nP-1980-05-12,45\n", "patient_id (date)"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := readAll(t, writeFile(t, "p.csv", tt.in), nil)
			fe := fileError(t, err)
			if fe.Column != tt.column || !strings.Contains(fe.Reason, "direct identifiers") {
				t.Errorf("column %q reason %q, want column %q", fe.Column, fe.Reason, tt.column)
			}
			for _, v := range []string{"123-45-6789", "555", "1980"} {
				if strings.Contains(shown(t, err), v) {
					t.Errorf("error echoes %q: %v", v, err)
				}
			}
		})
	}
}

// TestFreeTextPositions: every record of a file with a side_effects column names its position
// in Source, canonical or mapped (where Source holds the declared columns only), and
// RawWithheld replaces what it is told to.
func TestFreeTextPositions(t *testing.T) {
	in := "patient_id,day,session_type,route,side_effects,serious_adverse_event\np1,0,dosing,im,told Jane,no\n"
	r, err := Open(writeFile(t, "s.csv", in), nil)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := r.Next()
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rec.FreeText, []int{4}) || rec.Source[4] != "told Jane" {
		t.Fatalf("FreeText %v, Source %q", rec.FreeText, rec.Source)
	}
	if got := rec.RawWithheld(func(i int, _ string) bool { return i == 4 }); got != "p1,0,dosing,im,[withheld],no" {
		t.Errorf("RawWithheld = %q", got)
	}

	m, err := parseMap("m.toml", `kind = "sessions"
drop = ["MRN"]
[columns]
patient_id = "Pt"
day = "Day"
session_type = "Type"
side_effects = "AE_NOTE"
`)
	if err != nil {
		t.Fatal(err)
	}
	r, err = Open(writeFile(t, "e.csv", "MRN,Pt,AE_NOTE,Day,Type\n12,p1,nausea,0,dosing\n"), m)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rec, err = r.Next()
	if err != nil {
		t.Fatal(err)
	}
	// Source is Pt, AE_NOTE, Day, Type (MRN dropped): the note is at position 1.
	if !reflect.DeepEqual(rec.FreeText, []int{1}) || rec.Source[1] != "nausea" {
		t.Errorf("mapped FreeText %v, Source %q", rec.FreeText, rec.Source)
	}

	r2, err := Open(writeFile(t, "a.csv", "patient_id,day,instrument,total\np1,0,PHQ9,3\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if rec, _ := r2.Next(); rec.FreeText != nil {
		t.Errorf("assessments FreeText %v, want none", rec.FreeText)
	}
}

// TestSessionSafetyColumns: the safety columns are canonical session columns, read as they are.
func TestSessionSafetyColumns(t *testing.T) {
	hdr := "patient_id,date,session_type,route," + strings.Join(SafetyColumns, ",")
	r, rows, err := readAll(t, writeFile(t, "s.csv", hdr+"\np1,2025-03-01,dosing,im,121,79,70,160,95,88,11,Nausea; dizziness,no\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind() != KindSessions || strings.Join(r.Header(), ",") != hdr {
		t.Errorf("kind %s header %q", r.Kind(), r.Header())
	}
	equalRows(t, rows, []row{{2, "p1|2025-03-01|dosing|im|121|79|70|160|95|88|11|Nausea; dizziness|no"}})
}

// TestMapPatients reads the sample intake export through its map: gender and diagnosis
// codes recoded, age_at_intake and prior trials renamed, -9 missing, the name and birth date
// columns dropped.
func TestMapPatients(t *testing.T) {
	r, rows, err := readAll(t, filepath.Join(mapsDir, "intake", "patients.csv"), loadMap(t, "intake"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind() != KindPatients || strings.Join(r.Header(), "|") != "patient_id|age|sex|diagnosis|prior_treatments" {
		t.Fatalf("kind %s header %q", r.Kind(), r.Header())
	}
	equalRows(t, rows, []row{
		{2, "r001|34|female|depression|2"},
		{3, "r002|92|male|ptsd|0"},
		{4, "r003|51|female|depression|"},  // -9: prior trials not known
		{5, "r004|28|other|anxiety|1"},     // gender 3
		{6, "r005|47||bipolar|4"},          // gender 9: unknown
		{7, "r006|19|4|depression|0"},      // a gender code the map does not list: passed on
		{8, "r007|63.5|male|depression|3"}, // not a whole number: passed on for the validator
	})
}

// TestMapEHRSessions reads the sample EHR vitals export through its map: vital signs from
// separate pre/max columns, a US date format, 1/0 recoded to yes/no for the serious adverse
// event, the free-text nursing note dropped.
func TestMapEHRSessions(t *testing.T) {
	r, rows, err := readAll(t, filepath.Join(mapsDir, "ehr-sessions", "vitals.csv"), loadMap(t, "ehr-sessions"))
	if err != nil {
		t.Fatal(err)
	}
	want := "patient_id|clinic_id|date|session_type|route|dose_mg|program|setting|" + strings.Join(SafetyColumns, "|")
	if r.Kind() != KindSessions || strings.Join(r.Header(), "|") != want {
		t.Fatalf("kind %s header %q\nwant %q", r.Kind(), strings.Join(r.Header(), "|"), want)
	}
	// Values are passed on as the export writes them (the validator reads codes in any case);
	// sbp_max 300 is for the validator to quarantine.
	equalRows(t, rows, []row{
		{2, "e01|east|2025-05-06|dosing|IM|50|kap|in_person|128|82|71|151|94|88|14|Nausea|no"},
		{3, "e01|east|2025-05-13|dosing|IM|55|kap|in_person|131|85|74|184|112|96|9|Hypertension; Headache|no"},
		{4, "e01|east|2025-05-20|dosing|IM|55|kap|in_person|||||||6|None|no"},
		{5, "e02|east|2025-05-07|dosing|IM|40|kap|in_person|118|76|66|139|88|80||Nausea;Dizziness|"},
		{6, "e02|east|2025-05-14|dosing|IM|40|kap|in_person|122|79|68|300|90|84|10|None|yes"},
	})
}

// TestMapRecodeErrors: column_recode names a source column of [columns] that is not an item,
// a total or the patient id.
func TestMapRecodeErrors(t *testing.T) {
	tests := []struct{ name, toml, reason string }{
		{"unknown column", "kind = \"patients\"\n[columns]\npatient_id = \"id\"\nsex = \"gender\"\n[column_recode]\nsexe = {1 = \"male\"}\n", "column_recode.sexe: not a source column of [columns]"},
		{"patient id", "kind = \"patients\"\n[columns]\npatient_id = \"id\"\nsex = \"gender\"\n[column_recode]\nid = {1 = \"p1\"}\n", "patient_id values are not recoded here"},
		{"a total", "[columns]\npatient_id = \"id\"\nday = \"d\"\ninstrument = \"i\"\ntotal = \"t\"\n[column_recode]\nt = {1 = 2}\n", "total values are not recoded here"},
		{"a table value", "kind = \"patients\"\n[columns]\npatient_id = \"id\"\nsex = \"g\"\n[column_recode]\ng = {1 = [\"male\"]}\n", "column_recode.g.1"},
		{"patients without a trait", "kind = \"patients\"\n[columns]\npatient_id = \"id\"\n", "at least one of age, sex, diagnosis or prior_treatments"},
		{"patients with a date", "kind = \"patients\"\n[columns]\npatient_id = \"id\"\nage = \"a\"\ndate = \"d\"\n", "columns.date: not a column of the canonical patients format"},
		{"patients with instruments", "kind = \"patients\"\n[columns]\npatient_id = \"id\"\nage = \"a\"\n[[instruments]]\nname = \"PHQ9\"\ntotal = \"t\"\n", "a patients map has no instruments"},
		{"bad kind", "kind = \"visits\"\n", "must be assessments, sessions or patients"},
		{"a key twice", "kind = \"patients\"\n[columns]\npatient_id = \"id\"\nsex = \"g\"\n[column_recode]\ng = {Y = \"male\", y = \"female\"}\n", "column_recode.g: y is given twice"},
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

// TestColumnRecode: keys match trimmed, in any case, a zero fraction dropped; an unlisted
// value passes unchanged; a recoding to "" is missing.
func TestColumnRecode(t *testing.T) {
	m, err := parseMap("m.toml", `kind = "sessions"
[columns]
patient_id = "id"
day = "d"
session_type = "t"
serious_adverse_event = "sae"
[column_recode]
SAE = { 1 = "yes", 0 = "no", Y = "yes", "N" = "no", 9 = "" }
`)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(writeFile(t, "s.csv", "id,d,t,sae\np1,0,dosing,1.0\np1,1,dosing, y \np1,2,dosing,9\np1,3,dosing,2\n"), m)
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
		got = append(got, rec.Fields[len(rec.Fields)-1])
	}
	if want := []string{"yes", "yes", "", "2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("recoded %q, want %q", got, want)
	}
}

// TestXLSXPatients: a patients workbook with numbers stored as numbers reads as canonical text.
func TestXLSXPatients(t *testing.T) {
	p := writeXLSX(t, []string{"Patients"}, map[string]map[string]any{"Patients": {
		"A1": "patient_id", "B1": "age", "C1": "sex", "D1": "prior_treatments",
		"A2": "p1", "B2": 93, "C2": "F", "D2": 2,
		"A3": "p2", "B3": "90+", "C3": "male",
	}})
	r, rows, err := readAll(t, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind() != KindPatients {
		t.Errorf("kind %s", r.Kind())
	}
	equalRows(t, rows, []row{{2, "p1|93|F|2"}, {3, "p2|90+|male|"}})
}
