package pipeline

import (
	"context"
	"database/sql"
	"encoding/csv"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kapstat/kapstat/synth"
)

// patientRows renders the patients table, one "id age sex diagnosis prior" line per row, NULL
// as "-".
func patientRows(t *testing.T, w *Warehouse, where string) []string {
	t.Helper()
	var out []string
	for _, l := range rowsText(t, w.DB(), `SELECT patient_id, coalesce(CAST(age AS VARCHAR), '-') AS age,
		coalesce(sex, '-') AS sex, coalesce(diagnosis, '-') AS diagnosis, coalesce(CAST(prior_treatments AS VARCHAR), '-') AS prior
		FROM patients `+where+` ORDER BY patient_id`) {
		out = append(out, l)
	}
	return out
}

// findingRows renders findings as "line column: reason (detail)".
func findingRows(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, strings.TrimPrefix(f.String(), f.File+":"))
	}
	return out
}

// TestValidatePatients: every rule of the patients kind, each bad value quarantined with its
// line, column, reason and detail; equal characteristics written differently (F and female,
// 95 and 90+) are duplicates, different ones for one patient are conflicts; rows read =
// accepted + duplicates + quarantined in the report, ingest_runs and the tables.
func TestValidatePatients(t *testing.T) {
	path := writeTemp(t, "patients.csv", []byte(`patient_id,age,sex,diagnosis,prior_treatments
a1,34,F,depression,2
a2,95,m,PTSD,0
a3,90+,,,
a4,12,Other,Bipolar,30
a5,89,unknown,unknown,
a6,,FEMALE, anxiety , 0
b1,11,female,depression,1
b2,121,female,depression,1
b3,forty,female,depression,1
b4,40.0,female,depression,1
b5,40,X,depression,1
b6,40,female,schizophrenia,1
b7,40,female,depression,31
b8,40,female,depression,-1
b9,40,female,depression,1.5
,40,female,depression,1
c1,40,female,depression,1,extra
d1,50,female,other,3
d1,50,F,Other,3
e1,50,male,anxiety,3
e1,51,male,anxiety,3
f1,90+,male,ptsd,5
f1,97,M,ptsd,5
`))
	r, fs, w := accepted(t, path, testOptions())
	// 23 rows: a1–a6, d1 and f1 accepted (8); the second d1 and f1 are duplicates (2); b1–b9,
	// the row without an id, the malformed row and both e1 rows quarantined (13).
	want := FileReport{Path: path, SHA256: r.SHA256, Kind: KindPatients, RowsRead: 23, Accepted: 8, Duplicates: 2, Quarantined: 13,
		Reasons: map[string]int64{ReasonOutOfRange: 4, ReasonNotInteger: 3, ReasonUnknownSex: 1, ReasonUnknownDiagnosis: 1,
			ReasonMissingField: 1, ReasonMalformed: 1, ReasonConflict: 2, "duplicate": 2}}
	if !reflect.DeepEqual(*r, want) {
		t.Errorf("report\n got %+v\nwant %+v", *r, want)
	}
	wantFindings := []string{
		"8 column age: out_of_range (ages are 12–89, or 90 and over (90+))",
		"9 column age: out_of_range (ages are 12–89, or 90 and over (90+))",
		"10 column age: not_integer (whole years, or 90+)",
		"11 column age: not_integer (whole years, or 90+)",
		"12 column sex: unknown_sex (female, male, other or unknown (F, M))",
		"13 column diagnosis: unknown_diagnosis (depression, ptsd, anxiety, bipolar or other)",
		"14 column prior_treatments: out_of_range (prior treatments are 0–30)",
		"15 column prior_treatments: out_of_range (prior treatments are 0–30)",
		"16 column prior_treatments: not_integer",
		"17 column patient_id: missing_field",
		"18: malformed_row (6 fields, header has 5)",
		"21: conflict (rows of this file share patient_id but differ; first at line 21)",
		"22: conflict (rows of this file share patient_id but differ; first at line 21)",
	}
	slices.SortStableFunc(fs, func(a, b Finding) int { return a.Line - b.Line })
	if got := findingRows(fs); !reflect.DeepEqual(got, wantFindings) {
		t.Errorf("findings\n got %q\nwant %q", got, wantFindings)
	}
	// The conflicting rows' raw text is rebuilt from their values, 90 and over as 90+.
	for _, f := range fs {
		if f.Line == 21 && f.Raw != "e1,50,male,anxiety,3" || f.Line == 7 && f.Raw != "b1,11,female,depression,1" {
			t.Errorf("line %d raw %q", f.Line, f.Raw)
		}
	}
	wantRows := []string{
		"patient_id=a1 age=34 sex=female diagnosis=depression prior=2",
		"patient_id=a2 age=90 sex=male diagnosis=ptsd prior=0",
		"patient_id=a3 age=90 sex=- diagnosis=- prior=-",
		"patient_id=a4 age=12 sex=other diagnosis=bipolar prior=30",
		"patient_id=a5 age=89 sex=- diagnosis=- prior=-",
		"patient_id=a6 age=- sex=female diagnosis=anxiety prior=0",
		"patient_id=d1 age=50 sex=female diagnosis=other prior=3",
		"patient_id=f1 age=90 sex=male diagnosis=ptsd prior=5",
	}
	if got := patientRows(t, w, ""); !reflect.DeepEqual(got, wantRows) {
		t.Errorf("patients table\n got %q\nwant %q", got, wantRows)
	}
	if n := count(t, w, `SELECT count(*) FROM ingest_runs WHERE kind = 'patients' AND rows_read = 23`); n != 1 {
		t.Errorf("ingest_runs rows for the patients file: %d", n)
	}

	// validate finds the same, writing nothing.
	reps, vfs, err := Validate(context.Background(), []string{path}, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if reps[0].Accepted != 8 || reps[0].Duplicates != 2 || reps[0].Quarantined != 13 || len(vfs) != 13 {
		t.Errorf("validate: %+v, %d findings", *reps[0], len(vfs))
	}
}

// TestPatientsAgainstWarehouse: a later run's row for a patient already in the warehouse is
// a duplicate when it says the same and a conflict otherwise; the stored row stays.
func TestPatientsAgainstWarehouse(t *testing.T) {
	w, _ := openTemp(t)
	ctx := context.Background()
	first := writeTemp(t, "first.csv", []byte("patient_id,age,sex\np1,40,female\np2,70,male\n"))
	if _, err := w.Ingest(ctx, []string{first}, testOptions()); err != nil {
		t.Fatal(err)
	}
	second := writeTemp(t, "second.csv", []byte("patient_id,sex,age\np1,F,40\np2,male,71\np3,other,30\n"))
	reps, err := w.Ingest(ctx, []string{second}, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	r := reps[0]
	checkInvariant(t, w, r)
	if r.RowsRead != 3 || r.Accepted != 1 || r.Duplicates != 1 || r.Quarantined != 1 || r.Reasons[ReasonConflict] != 1 {
		t.Errorf("second run %+v", *r)
	}
	fs, _ := w.Findings(ctx, 0)
	if len(fs) != 1 || fs[0].Line != 3 || fs[0].Detail != "differs from the warehouse row of file 1 line 3" || fs[0].Raw != "p2,71,male,," {
		t.Errorf("findings %+v", fs)
	}
	want := []string{
		"patient_id=p1 age=40 sex=female diagnosis=- prior=-",
		"patient_id=p2 age=70 sex=male diagnosis=- prior=-",
		"patient_id=p3 age=30 sex=other diagnosis=- prior=-",
	}
	if got := patientRows(t, w, ""); !reflect.DeepEqual(got, want) {
		t.Errorf("patients\n got %q\nwant %q", got, want)
	}
}

// TestPatientsLakeRetractReplace: accepted patients go to lake/patients/part-*.parquet (no
// partitions), readable by DuckDB as they are; retract and --replace take them out with their
// run, lake file included.
func TestPatientsLakeRetractReplace(t *testing.T) {
	w, dir := openTemp(t)
	ctx := context.Background()
	path := writeTemp(t, "p.csv", []byte("patient_id,age,sex,diagnosis,prior_treatments\np1,93,F,ptsd,2\np2,33,male,,\n"))
	if _, err := w.Ingest(ctx, []string{path}, testOptions()); err != nil {
		t.Fatal(err)
	}
	lake := filepath.Join(dir, "lake")
	if got := lakeFiles(t, lake); !slices.Contains(got, filepath.Join("patients", "part-1-1-0.parquet")) {
		t.Fatalf("lake files %v", got)
	}
	got := rowsText(t, w.DB(), `SELECT patient_id, age, coalesce(sex, '-') AS sex, coalesce(diagnosis, '-') AS diagnosis, file_id
		FROM read_parquet('`+lake+`/patients/*.parquet') ORDER BY patient_id`)
	if want := []string{"patient_id=p1 age=90 sex=female diagnosis=ptsd file_id=1", "patient_id=p2 age=33 sex=male diagnosis=- file_id=1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("lake rows\n got %q\nwant %q", got, want)
	}

	// --replace: the same path with a changed row loads again, replacing the first load.
	os.WriteFile(path, []byte("patient_id,age,sex,diagnosis,prior_treatments\np1,93,F,ptsd,3\np2,33,male,,\n"), 0o644)
	opt := testOptions()
	opt.Replace = true
	reps, err := w.Ingest(ctx, []string{path}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if reps[0].Accepted != 2 || reps[0].Quarantined != 0 {
		t.Errorf("replace: %+v (the replaced load must not count as a conflict)", *reps[0])
	}
	if got := patientRows(t, w, "WHERE patient_id = 'p1'"); !reflect.DeepEqual(got, []string{"patient_id=p1 age=90 sex=female diagnosis=ptsd prior=3"}) {
		t.Errorf("after replace %q", got)
	}
	if got := lakeFiles(t, lake); slices.Contains(got, filepath.Join("patients", "part-1-1-0.parquet")) || !slices.Contains(got, filepath.Join("patients", "part-2-2-0.parquet")) {
		t.Errorf("lake after replace %v", got)
	}
	if _, err := w.Retract(ctx, 2, time.Date(2026, 10, 2, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if n := count(t, w, `SELECT count(*) FROM patients`); n != 0 {
		t.Errorf("%d patients rows after retracting the run", n)
	}
	if n := count(t, w, `SELECT count(*) FROM ingest_retractions WHERE kind = 'patients'`); n != 2 {
		t.Errorf("%d retractions recorded, want 2 (the replaced and the retracted load)", n)
	}
	for _, f := range lakeFiles(t, lake) {
		if strings.HasPrefix(f, "patients") {
			t.Errorf("lake file %s left after retract", f)
		}
	}
}

// TestPatientsNoOrigin: patients have no day, so they take part in no origin check: a
// patients row beside dated assessments and beside day-offset sessions of other patients
// loads, while dates and offsets for one patient are still refused.
func TestPatientsNoOrigin(t *testing.T) {
	w, _ := openTemp(t)
	ctx := context.Background()
	dated := writeTemp(t, "a.csv", []byte("patient_id,instrument,date,total\nm-1,PHQ9,2025-01-01,12\n"))
	offsets := writeTemp(t, "s.csv", []byte("patient_id,day,session_type,route\nm-2,0,dosing,iv\n"))
	pats := writeTemp(t, "p.csv", []byte("patient_id,age\nm-1,40\nm-2,50\n"))
	if _, err := w.Ingest(ctx, []string{dated, offsets, pats}, testOptions()); err != nil {
		t.Fatalf("patients beside one origin each: %v", err)
	}
	mixed := writeTemp(t, "s2.csv", []byte("patient_id,day,session_type,route\nm-1,0,dosing,iv\n"))
	if _, err := w.Ingest(ctx, []string{mixed}, testOptions()); err == nil || !strings.Contains(err.Error(), `patient "m-1" has rows with dates`) {
		t.Errorf("mixed origins: %v", err)
	}
}

// TestPatientsIdentifiers: a patients file naming a birth date, a name or an SSN column, or
// holding identifier-like values, is refused whole as any other file; nothing changes.
func TestPatientsIdentifiers(t *testing.T) {
	for name, tt := range map[string]struct {
		in, column string
		secrets    []string
	}{
		"dob column":           {"patient_id,dob,age\np1,1980-05-12,45\n", "dob", []string{"1980"}},
		"date_of_birth column": {"patient_id,age,date_of_birth\np1,45,12/05/1980\n", "date_of_birth", []string{"1980"}},
		"name column":          {"patient_id,Name,sex\np1,Jane Doe,female\n", "name", []string{"Jane"}},
		"ssn in diagnosis":     {"patient_id,age,diagnosis\np1,45,depression\np2,46,123-45-6789\n", "diagnosis (SSN)", []string{"123-45"}},
		"name in patient id":   {"patient_id,age\nsmith_john,45\n", "patient_id (person's name)", []string{"smith"}},
	} {
		t.Run(name, func(t *testing.T) {
			fe := refused(t, writeTemp(t, "p.csv", []byte(tt.in)), testOptions(), tt.secrets...)
			if fe.Column != tt.column {
				t.Errorf("column %q, want %q (%v)", fe.Column, tt.column, fe)
			}
		})
	}
}

// TestIngestMappedPatients ingests the sample intake export through its map: codes recoded,
// the dropped birth date nowhere, a gender code the map does not list and a fractional age
// quarantined naming the export's column.
func TestIngestMappedPatients(t *testing.T) {
	opt := testOptions()
	opt.Map = filepath.Join(mapsDir, "intake", "map.toml")
	r, fs, w := accepted(t, filepath.Join(mapsDir, "intake", "patients.csv"), opt)
	if r.RowsRead != 7 || r.Accepted != 5 || r.Quarantined != 2 {
		t.Errorf("report %+v", *r)
	}
	got := findingRows(fs)
	want := []string{
		"7 column gender (sex): unknown_sex (female, male, other or unknown (F, M))",
		"8 column age_at_intake (age): not_integer (whole years, or 90+)",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("findings\n got %q\nwant %q", got, want)
	}
	for _, f := range fs {
		if strings.Contains(f.Raw, "2006-01-15") || strings.Contains(f.Raw, "1962-03-03") {
			t.Errorf("raw row holds the dropped birth date: %q", f.Raw)
		}
	}
	if f := fs[0]; f.Raw != "r006,19,4,MDD,0" {
		t.Errorf("raw of line 7 %q, want the declared columns as the export has them", f.Raw)
	}
	wantRows := []string{
		"patient_id=r001 age=34 sex=female diagnosis=depression prior=2",
		"patient_id=r002 age=90 sex=male diagnosis=ptsd prior=0",
		"patient_id=r003 age=51 sex=female diagnosis=depression prior=-",
		"patient_id=r004 age=28 sex=other diagnosis=anxiety prior=1",
		"patient_id=r005 age=47 sex=- diagnosis=bipolar prior=4",
	}
	if got := patientRows(t, w, ""); !reflect.DeepEqual(got, wantRows) {
		t.Errorf("patients\n got %q\nwant %q", got, wantRows)
	}
}

// TestExportPatients: kapstat export joins each patient's characteristics to the per-patient
// table, ages of 90 and over shown as 90+ (age) and counted as 90 (age_years), a patient
// without a patients row empty; the dictionary describes every column.
func TestExportPatients(t *testing.T) {
	w, dir := openTemp(t)
	_, files := handCohort(t, true)
	pats := writeTemp(t, "patients.csv", []byte("patient_id,age,sex,diagnosis,prior_treatments\np1,93,F,depression,3\np4,41,male,ptsd,0\n"))
	ctx := context.Background()
	if _, err := w.Ingest(ctx, append(files, pats), testOptions()); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Analyze(ctx, AnalyzeOptions{Config: DefaultConfig(), Write: true}); err != nil {
		t.Fatal(err)
	}
	out, err := w.Export(ctx, filepath.Join(dir, "export"), "csv")
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(out[0])
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, c := range recs[0] {
		col[c] = i
	}
	got := map[string]string{}
	for _, r := range recs[1:] {
		got[r[0]] = strings.Join([]string{r[col["age"]], r[col["age_years"]], r[col["sex"]], r[col["diagnosis"]], r[col["prior_treatments"]]}, "|")
	}
	for id, want := range map[string]string{"p1": "90+|90|female|depression|3", "p4": "41|41|male|ptsd|0", "p5": "||||"} {
		if got[id] != want {
			t.Errorf("%s exported %q, want %q", id, got[id], want)
		}
	}
	dict, _ := os.ReadFile(out[1])
	for _, c := range []string{"age,text,", "age_years,integer,", "sex,text,", "diagnosis,text,", "prior_treatments,integer,"} {
		if !strings.Contains(string(dict), "\n"+c) {
			t.Errorf("dictionary lacks %q", c)
		}
	}
	pq, err := w.Export(ctx, filepath.Join(dir, "export-pq"), "parquet")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got2 := rowsText(t, db, `SELECT patient_id, age, age_years, typeof(age_years) AS t, sex FROM read_parquet('`+pq[0]+`') WHERE patient_id = 'p1'`)
	if want := []string{"patient_id=p1 age=90+ age_years=90 t=INTEGER sex=female"}; !reflect.DeepEqual(got2, want) {
		t.Errorf("parquet export %q, want %q", got2, want)
	}
}

// TestIngestSynthCohort ingests a synthetic cohort's three files: the quarantine reasons of
// the patients file and of the sessions file are the bad rows synth says it planted, and
// rows read = accepted + duplicates + quarantined holds for each file.
func TestIngestSynthCohort(t *testing.T) {
	w, dir := openTemp(t)
	sum, err := synth.Write(filepath.Join(dir, "c"), synth.Config{Patients: 400, Seed: 6, End: testAsOf, BadRows: true})
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, f := range synth.Files {
		files = append(files, filepath.Join(dir, "c", f))
	}
	reps, err := w.Ingest(context.Background(), files, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reps {
		checkInvariant(t, w, r)
	}
	for i, want := range map[int]map[string]int{1: sum.BadSessionRows, 2: sum.BadPatientRows} {
		got := map[string]int{}
		for k, v := range reps[i].Reasons {
			got[k] = int(v)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: reasons %v, synth planted %v", synth.Files[i], got, want)
		}
	}
	if r := reps[2]; r.Kind != KindPatients || r.RowsRead != int64(sum.PatientRows) || r.Accepted < 390 {
		t.Errorf("patients %+v", *r)
	}
	// Every dosing session's safety values are stored; other sessions have none.
	if n := count(t, w, `SELECT count(*) FROM sessions WHERE session_type IN ('preparation', 'integration')
		AND coalesce(sbp_pre, dbp_pre, hr_pre, sbp_max, dbp_max, hr_max, dissociation) IS NOT NULL OR side_effects IS NOT NULL AND session_type = 'integration'`); n != 0 {
		t.Errorf("%d therapy sessions with safety values", n)
	}
	if n := count(t, w, `SELECT count(*) FROM sessions WHERE session_type = 'dosing' AND side_effects IS NOT NULL`); n < 1000 {
		t.Errorf("only %d dosing sessions with side effects", n)
	}
}
