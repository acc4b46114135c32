package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// safetyHeader is a sessions header with every safety column.
const safetyHeader = "patient_id,day,session_type,route,sbp_pre,dbp_pre,hr_pre,sbp_max,dbp_max,hr_max,dissociation,side_effects,serious_adverse_event"

// sessionSafetyRows renders the safety columns of the sessions table by day, NULL as "-".
func sessionSafetyRows(t *testing.T, w *Warehouse, where string) []string {
	t.Helper()
	var cols []string
	for _, c := range strings.Split(sessionSafetyColumns, ", ") {
		cols = append(cols, "coalesce(CAST("+c+" AS VARCHAR), '-')")
	}
	return rowsText(t, w.DB(), `SELECT day, concat_ws(' ', `+strings.Join(cols, ", ")+`) AS safety FROM sessions `+where+` ORDER BY patient_id, day`)
}

// TestValidateSessionSafety: every rule of the optional session columns, each bad value
// quarantined with its line, column, reason and detail; what is accepted is stored as read
// (side effects as sorted codes, yes/no as a boolean), and what is empty is not recorded.
func TestValidateSessionSafety(t *testing.T) {
	path := writeTemp(t, "sessions.csv", []byte(safetyHeader+`
s1,0,dosing,im,120,80,70,150,95,90,12,Nausea; dizziness,no
s1,1,dosing,im,,,,,,,,none,
s1,2,dosing,im,60,30,30,260,160,220,0, nausea ;NAUSEA;,YES
s1,3,dosing,im,120,80,70,,,,24,,y
s1,4,integration,,,,,,,,,,
s1,5,dosing,im,130,85,75,170,100,99,3,OTHER;Hypertension;Vomiting;Headache;Confusion;Anxiety;Dissociation,False
s1,6,dosing,im,59,80,70,150,95,90,12,nausea,no
s1,7,dosing,im,120,80,70,261,95,90,12,nausea,no
s1,8,dosing,im,120,29,70,150,95,90,12,nausea,no
s1,9,dosing,im,120,80,70,150,161,90,12,nausea,no
s1,10,dosing,im,120,80,29,150,95,90,12,nausea,no
s1,11,dosing,im,120,80,70,150,95,221,12,nausea,no
s1,12,dosing,im,120.5,80,70,150,95,90,12,nausea,no
s1,13,dosing,im,120,80,70,150,95,90,25,nausea,no
s1,14,dosing,im,120,80,70,150,95,90,-1,nausea,no
s1,15,dosing,im,120,80,70,150,95,90,12,seizure,no
s1,16,dosing,im,120,80,70,150,95,90,12,none;nausea,no
s1,17,dosing,im,120,80,70,150,95,90,12,;,no
s1,18,dosing,im,120,80,70,150,95,90,12,nausea,maybe
s1,19,dosing,im,120,80,70,150,95,90,12,nausea,1
s1,20,dosing,im,120,80,70,150,95,90,high,nausea,no
`))
	r, fs, w := accepted(t, path, testOptions())
	if r.Kind != KindSessions || r.RowsRead != 21 || r.Accepted != 6 || r.Duplicates != 0 || r.Quarantined != 15 {
		t.Errorf("report %+v", *r)
	}
	slices.SortStableFunc(fs, func(a, b Finding) int { return a.Line - b.Line })
	want := []string{
		"8 column sbp_pre: out_of_range (sbp_pre is 60–260 mmHg)",
		"9 column sbp_max: out_of_range (sbp_max is 60–260 mmHg)",
		"10 column dbp_pre: out_of_range (dbp_pre is 30–160 mmHg)",
		"11 column dbp_max: out_of_range (dbp_max is 30–160 mmHg)",
		"12 column hr_pre: out_of_range (hr_pre is 30–220 bpm)",
		"13 column hr_max: out_of_range (hr_max is 30–220 bpm)",
		"14 column sbp_pre: not_integer",
		"15 column dissociation: out_of_range (dissociation is 0–24 (the CADSS-6 total))",
		"16 column dissociation: out_of_range (dissociation is 0–24 (the CADSS-6 total))",
		"17 column side_effects: unknown_side_effect (entry 1 of 1 is not a code; want codes separated by ; from nausea, vomiting, dizziness, headache, confusion, anxiety, dissociation, hypertension, other, or none alone)",
		"18 column side_effects: unknown_side_effect (none with other codes; want codes separated by ; from nausea, vomiting, dizziness, headache, confusion, anxiety, dissociation, hypertension, other, or none alone)",
		"19 column side_effects: unknown_side_effect (no code; want codes separated by ; from nausea, vomiting, dizziness, headache, confusion, anxiety, dissociation, hypertension, other, or none alone)",
		"20 column serious_adverse_event: bad_serious_adverse_event (yes or no)",
		"21 column serious_adverse_event: bad_serious_adverse_event (yes or no)",
		"22 column dissociation: not_integer",
	}
	if got := findingRows(fs); !reflect.DeepEqual(got, want) {
		t.Errorf("findings\n got %q\nwant %q", got, want)
	}
	// A code outside the list (seizure) is withheld from the raw row; codes of the list are
	// kept, even in a combination that is refused.
	for _, f := range fs {
		switch f.Line {
		case 17:
			if f.Raw != "s1,15,dosing,im,120,80,70,150,95,90,12,[withheld],no" {
				t.Errorf("line 17 raw %q", f.Raw)
			}
		case 18:
			if f.Raw != "s1,16,dosing,im,120,80,70,150,95,90,12,none;nausea,no" {
				t.Errorf("line 18 raw %q", f.Raw)
			}
		}
	}
	wantRows := []string{
		"day=0 safety=120 80 70 150 95 90 12 dizziness;nausea false",
		"day=1 safety=- - - - - - - none -",
		"day=2 safety=60 30 30 260 160 220 0 nausea true",
		"day=3 safety=120 80 70 - - - 24 - true",
		"day=4 safety=- - - - - - - - -",
		"day=5 safety=130 85 75 170 100 99 3 anxiety;confusion;dissociation;headache;hypertension;other;vomiting false",
	}
	if got := sessionSafetyRows(t, w, ""); !reflect.DeepEqual(got, wantRows) {
		t.Errorf("sessions\n got %q\nwant %q", got, wantRows)
	}
	// The lake holds the same columns.
	got := rowsText(t, w.DB(), `SELECT day, sbp_max, side_effects, serious_adverse_event FROM read_parquet('`+w.Lake+`/sessions/**/*.parquet', hive_partitioning = true) WHERE day = 0`)
	if want := []string{"day=0 sbp_max=150 side_effects=dizziness;nausea serious_adverse_event=false"}; !reflect.DeepEqual(got, want) {
		t.Errorf("lake %q, want %q", got, want)
	}
}

// TestSessionSafetyDuplicates: the safety columns are part of what a session says. Rows that
// agree once read (codes in another order and case, y for yes) are duplicates; rows that
// differ in any of them are all conflicts; a session without safety columns hashes as before
// they existed, so a file of the same sessions with the columns empty is all duplicates of it,
// and one that records something for them conflicts.
func TestSessionSafetyDuplicates(t *testing.T) {
	path := writeTemp(t, "s.csv", []byte(safetyHeader+`
d1,0,dosing,im,120,80,70,150,95,90,12,Nausea;Dizziness,yes
d1,0,dosing,im,120,80,70,150,95,90,12,dizziness; nausea,y
d2,0,dosing,im,120,80,70,150,95,90,12,nausea,no
d2,0,dosing,im,120,80,70,150,95,90,12,nausea;headache,no
d3,0,dosing,im,120,80,70,150,95,90,12,,
d3,0,dosing,im,120,80,70,150,95,90,13,,
`))
	r, fs, _ := accepted(t, path, testOptions())
	if r.RowsRead != 6 || r.Accepted != 1 || r.Duplicates != 1 || r.Quarantined != 4 || r.Reasons[ReasonConflict] != 4 {
		t.Errorf("report %+v", *r)
	}
	for _, f := range fs {
		if f.Line == 4 && f.Raw != "d2,unknown,0,dosing,im,kap,in_person,120,80,70,150,95,90,12,nausea,false" {
			t.Errorf("conflict raw %q", f.Raw)
		}
	}

	// Hash stability: the published example sessions, then the same sessions with the
	// safety columns empty (duplicates), then one of them with a blood pressure (a conflict).
	ctx := context.Background()
	w2, _ := openTemp(t)
	if _, err := w2.Ingest(ctx, []string{"testdata/example-sessions.csv"}, testOptions()); err != nil {
		t.Fatal(err)
	}
	plain := writeTemp(t, "plain.csv", []byte("patient_id,clinic_id,date,session_type,route,dose_mg,program,sbp_pre,side_effects,serious_adverse_event\n"+
		"ex-1,south,2025-01-24,dosing,sublingual,86,kap,,,\n"))
	reps, err := w2.Ingest(ctx, []string{plain}, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if reps[0].Duplicates != 1 || reps[0].Accepted != 0 {
		t.Errorf("the same session with empty safety columns: %+v, want a duplicate", *reps[0])
	}
	recorded := writeTemp(t, "recorded.csv", []byte("patient_id,clinic_id,date,session_type,route,dose_mg,program,sbp_pre\n"+
		"ex-1,south,2025-01-24,dosing,sublingual,86,kap,128\n"))
	reps, err = w2.Ingest(ctx, []string{recorded}, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if reps[0].Reasons[ReasonConflict] != 1 {
		t.Errorf("the same session with a blood pressure: %+v, want a conflict", *reps[0])
	}
}

// TestFreeTextNeverStored: side_effects takes codes from a closed list; anything else may be
// a note naming someone, and never reaches the warehouse, the quarantine table or a message.
func TestFreeTextNeverStored(t *testing.T) {
	secrets := []string{"Jane", "Doe", "555", "867", "5309", "husband"}
	// Messages name the input file, whose temporary directory has random digits that may hold
	// "555" or "867": paths under the temporary directory are left out of the search.
	tempPath := regexp.MustCompile(regexp.QuoteMeta(os.TempDir()) + `/[^\s:]*`)
	noSecret := func(t *testing.T, what, s string) {
		t.Helper()
		s = tempPath.ReplaceAllString(s, "FILE")
		for _, x := range secrets {
			if strings.Contains(s, x) {
				t.Errorf("%s holds %q: %q", what, x, s)
			}
		}
	}
	// A note with a name and a phone number: quarantined as unknown_side_effect, the note
	// withheld from the raw row; nothing of it anywhere in the warehouse.
	t.Run("name and phone number", func(t *testing.T) {
		path := writeTemp(t, "s.csv", []byte(safetyHeader+"\n"+
			"f1,0,dosing,im,120,80,70,150,95,90,12,nausea,no\n"+
			`f1,1,dosing,im,120,80,70,150,95,90,12,"nausea; Jane Doe's husband called, 555-867-5309",no`+"\n"))
		r, fs, w := accepted(t, path, testOptions())
		if r.Accepted != 1 || r.Quarantined != 1 || len(fs) != 1 {
			t.Fatalf("report %+v", *r)
		}
		if f := fs[0]; f.Line != 3 || f.Column != "side_effects" || f.Reason != ReasonUnknownSideEffect ||
			f.Raw != "f1,1,dosing,im,120,80,70,150,95,90,12,[withheld],no" {
			t.Errorf("finding %+v", f)
		}
		var all string
		if err := w.DB().QueryRow(`SELECT string_agg(concat_ws(' ', file, column_name, reason, detail, raw), ' ') FROM quarantine`).Scan(&all); err != nil {
			t.Fatal(err)
		}
		noSecret(t, "quarantine", all)
	})
	// A value that is a phone number, as in any column, makes the identifier guard refuse the
	// file whole, naming the column and line, never the value; nothing of it is stored.
	t.Run("phone number", func(t *testing.T) {
		path := writeTemp(t, "s.csv", []byte(safetyHeader+"\n"+
			"f1,0,dosing,im,120,80,70,150,95,90,12,nausea,no\n"+
			"f1,1,dosing,im,120,80,70,150,95,90,12,555-867-5309,no\n"))
		fe := refused(t, path, testOptions(), secrets...)
		if fe.Line != 3 || fe.Column != "side_effects (phone number)" {
			t.Errorf("refused at line %d column %q, want line 3 column side_effects (phone number)", fe.Line, fe.Column)
		}
	})
	// A name alone: the row is quarantined as unknown_side_effect; the raw row keeps every other
	// value and withholds the note, the detail says where without the value. The same for a row
	// quarantined for another reason (a bad date) whose note is never read as codes, and for a
	// row an unquoted comma in the note split into more fields than the header has (every
	// value withheld: the note could sit under any column). A code of the list is kept.
	t.Run("name", func(t *testing.T) {
		path := writeTemp(t, "s.csv", []byte("patient_id,date,session_type,route,side_effects,serious_adverse_event\n"+
			"f1,2025-03-01,dosing,im,nausea,no\n"+
			"f1,2025-03-08,dosing,im,Jane Doe's husband drove her home,no\n"+
			"f1,2025-02-30,dosing,im,nausea; husband of Jane Doe upset,no\n"+
			"f1,2025-03-15,dosing,im,nausea, then Jane Doe cried,no\n"+
			"f1,2025-03-22,dosing,intramuscular,nausea,no\n"))
		r, fs, w := accepted(t, path, testOptions())
		if r.Accepted != 1 || r.Quarantined != 4 {
			t.Errorf("report %+v", *r)
		}
		slices.SortStableFunc(fs, func(a, b Finding) int { return a.Line - b.Line })
		want := []struct{ line, column, reason, raw string }{
			{"3", "side_effects", ReasonUnknownSideEffect, "f1,2025-03-08,dosing,im,[withheld],no"},
			{"4", "date", ReasonBadDate, "f1,2025-02-30,dosing,im,[withheld],no"},
			{"5", "", ReasonMalformed, "[withheld],[withheld],[withheld],[withheld],[withheld],[withheld]"},
			{"6", "route", ReasonUnknownRoute, "f1,2025-03-22,dosing,intramuscular,nausea,no"},
		}
		if len(fs) != len(want) {
			t.Fatalf("%d findings: %v", len(fs), fs)
		}
		for i, f := range fs {
			wl := want[i]
			if got := []string{strings.TrimPrefix(f.String(), f.File+":")[:1], f.Column, f.Reason, f.Raw}; !reflect.DeepEqual(got, []string{wl.line, wl.column, wl.reason, wl.raw}) {
				t.Errorf("finding %d: %q, want %q", i, got, wl)
			}
			noSecret(t, "finding", f.String()+" "+f.Raw)
		}
		for _, q := range []string{
			`SELECT coalesce(string_agg(concat_ws(' ', column_name, reason, detail, raw), ' '), '') FROM quarantine`,
			`SELECT coalesce(string_agg(coalesce(side_effects, ''), ' '), '') FROM sessions`,
		} {
			var s string
			if err := w.DB().QueryRow(q).Scan(&s); err != nil {
				t.Fatal(err)
			}
			noSecret(t, "the warehouse", s)
		}
		// validate reports the same rows, without the note
		_, vfs, err := Validate(context.Background(), []string{path}, testOptions())
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range vfs {
			noSecret(t, "validate", f.String()+" "+f.Raw)
		}
	})
	// Through a map the note's column is found among the declared columns.
	t.Run("mapped", func(t *testing.T) {
		opt := testOptions()
		opt.Map = filepath.Join(mapsDir, "ehr-sessions", "map.toml")
		path := writeTemp(t, "vitals.csv", []byte("PAT_ID,DEPT,VISIT_DATE,VISIT_TYPE,ROUTE,DOSE_MG,BP_SYS_PRE,BP_DIA_PRE,PULSE_PRE,BP_SYS_MAX,BP_DIA_MAX,PULSE_MAX,CADSS6,AE_LIST,SAE,NURSING_NOTE\n"+
			"e9,east,05/06/2025,dosing,IM,50,128,82,71,151,94,88,14,spoke to Jane Doe,0,fine\n"))
		r, fs, _ := accepted(t, path, opt)
		if r.Quarantined != 1 || len(fs) != 1 {
			t.Fatalf("report %+v", *r)
		}
		if f := fs[0]; f.Column != "AE_LIST (side_effects)" || f.Reason != ReasonUnknownSideEffect ||
			f.Raw != "e9,east,05/06/2025,dosing,IM,50,128,82,71,151,94,88,14,[withheld],0" {
			t.Errorf("finding %+v", f)
		}
	})
}

// TestIngestMappedSessions ingests the sample EHR vitals export through its map: 5 rows, one
// with an implausible blood pressure quarantined naming the export's column.
func TestIngestMappedSessions(t *testing.T) {
	opt := testOptions()
	opt.Map = filepath.Join(mapsDir, "ehr-sessions", "map.toml")
	r, fs, w := accepted(t, filepath.Join(mapsDir, "ehr-sessions", "vitals.csv"), opt)
	if r.RowsRead != 5 || r.Accepted != 4 || r.Quarantined != 1 {
		t.Errorf("report %+v", *r)
	}
	if got := findingRows(fs); !reflect.DeepEqual(got, []string{"6 column BP_SYS_MAX (sbp_max): out_of_range (sbp_max is 60–260 mmHg)"}) {
		t.Errorf("findings %q", got)
	}
	want := []string{
		"day=20214 safety=128 82 71 151 94 88 14 nausea false",
		"day=20221 safety=131 85 74 184 112 96 9 headache;hypertension false",
		"day=20228 safety=- - - - - - 6 none false",
		"day=20215 safety=118 76 66 139 88 80 - dizziness;nausea -",
	}
	if got := sessionSafetyRows(t, w, "WHERE patient_id LIKE 'e%'"); !reflect.DeepEqual(got, want) {
		t.Errorf("sessions\n got %q\nwant %q", got, want)
	}
	if n := count(t, w, `SELECT count(*) FROM sessions WHERE patient_id LIKE 'e%' AND route = 'im' AND program = 'kap' AND setting = 'in_person' AND clinic_id = 'east'`); n != 4 {
		t.Errorf("%d sessions with route, program, setting and clinic as mapped", n)
	}
}
