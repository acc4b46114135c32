package pipeline

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kapstat/kapstat/synth"
)

// A hand-built cohort pinning the edges of SPEC 6. The first dose is on day D = 2025-03-01
// for every treated patient; scores are PHQ-9 totals given without items.
//
//	p1  baseline D−30 (exactly 30 days: included) 20; D+14 12; D+56 10 (endpoint, in window:
//	    response since 10 ≤ 20/2, change −10 → improved, not recovered as 10 is not < 10);
//	    follow-up D+84 12 (a spike) then D+112 6, D+140 7: no relapse, censored at 140−56 = 84
//	p2  only score at D−31 (31 days: outside) → no_baseline
//	p3  baseline on the dose day D (same-day baseline) 15; next score D+57 (outside) → no_endpoint
//	p4  baseline D−1 16; D+56 8 (8 ≤ 8: response; recovered); D+70 12, D+84 11 → relapse at 70−56 = 14
//	p5  baseline D−2 18; D+28 6 (response day D+28); D+56 4 (remission); D+90 14 is the last
//	    score → relapse at 90−28 = 62
//	p6  baseline D−3 20; D+56 5 (response, recovered), no later score → no_followup_after_response
//	p7  preparation session only → no_dosing_session
//	=HYPERLINK("x") baseline D−1 12, no endpoint; its id must stay inert in exports
func handCohort(t *testing.T, withSessions bool) (string, []string) {
	dir := t.TempDir()
	d0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	day := func(n int) string { return d0.AddDate(0, 0, n).Format("2006-01-02") }
	scores := []struct {
		p     string
		d, sc int
	}{
		{"p1", -30, 20}, {"p1", 14, 12}, {"p1", 56, 10}, {"p1", 84, 12}, {"p1", 112, 6}, {"p1", 140, 7},
		{"p2", -31, 20},
		{"p3", 0, 15}, {"p3", 57, 5},
		{"p4", -1, 16}, {"p4", 56, 8}, {"p4", 70, 12}, {"p4", 84, 11},
		{"p5", -2, 18}, {"p5", 28, 6}, {"p5", 56, 4}, {"p5", 90, 14},
		{"p6", -3, 20}, {"p6", 56, 5},
		{"p7", 0, 20}, {"p7", 28, 5},
		{`=HYPERLINK("x")`, -1, 12},
	}
	var a strings.Builder
	w := csv.NewWriter(&a)
	w.Write([]string{"patient_id", "clinic_id", "instrument", "date", "total"})
	for _, s := range scores {
		w.Write([]string{s.p, "north", "PHQ9", day(s.d), fmt.Sprint(s.sc)})
	}
	w.Flush()
	files := []string{filepath.Join(dir, "assessments.csv")}
	os.WriteFile(files[0], []byte(a.String()), 0o644)
	if withSessions {
		var s strings.Builder
		s.WriteString("patient_id,clinic_id,date,session_type,route,program\n")
		for _, p := range []string{"p1", "p2", "p3", "p4", "p5", "p6", `"=HYPERLINK(""x"")"`} {
			fmt.Fprintf(&s, "%s,north,%s,dosing,sublingual,kap\n", p, day(0))
		}
		fmt.Fprintf(&s, "p7,north,%s,preparation,,kap\n", day(-7))
		files = append(files, filepath.Join(dir, "sessions.csv"))
		os.WriteFile(files[1], []byte(s.String()), 0o644)
	}
	return dir, files
}

func TestAnalyzeHandCohort(t *testing.T) {
	w, dir := openTemp(t)
	_, files := handCohort(t, true)
	ctx := context.Background()
	if _, err := w.Ingest(ctx, files, testOptions()); err != nil {
		t.Fatal(err)
	}
	a, err := w.Analyze(ctx, AnalyzeOptions{Config: DefaultConfig(), Write: true})
	if err != nil {
		t.Fatal(err)
	}
	if a.Cohort.Patients != 8 || a.Cohort.Treated != 7 || a.Cohort.Excluded["no_dosing_session"] != 1 || a.Cohort.AssessmentOnly {
		t.Errorf("cohort %+v", a.Cohort)
	}
	m := a.Measures["PHQ9"]
	// With baseline: p1 p3 p4 p5 p6 and the =HYPERLINK patient; p2 has none.
	if m.WithBaseline != 6 || m.WithEndpoint != 4 || m.Eligible != 6 || m.Excluded["no_baseline"] != 1 || m.Excluded["no_endpoint"] != 2 {
		t.Errorf("counts: baseline %d endpoint %d eligible %d excluded %v", m.WithBaseline, m.WithEndpoint, m.Eligible, m.Excluded)
	}
	// Changes −10 (p1), −8 (p4), −14 (p5), −15 (p6): mean −11.75.
	if m.Change.N != 4 || m.Change.Mean != -11.75 {
		t.Errorf("change %+v", m.Change)
	}
	// Response 4 of 4 completers, 4 of 6 eligible (ITT); remission only p5 (4 < 5).
	if m.Response.Events != 4 || m.Response.N != 4 || m.ResponseITT.N != 6 || m.Remission.Events != 1 {
		t.Errorf("response %+v itt %+v remission %+v", m.Response, m.ResponseITT, m.Remission)
	}
	if rc := m.ReliableChange; rc["improved"] != 1 || rc["recovered"] != 3 || rc["unchanged"] != 0 || rc["deteriorated"] != 0 {
		t.Errorf("reliable change %v", rc)
	}
	// At risk: p1 (censored 84), p4 (event 14), p5 (event 62). Kaplan–Meier: S = 2/3 after
	// day 14, 1/3 after day 62; the curve first drops below 0.5 at 62, the median.
	r := m.Relapse
	if r.AtRisk != 3 || r.Events != 2 || r.MedianDays == nil || *r.MedianDays != 62 || r.Excluded["no_followup_after_response"] != 1 {
		t.Errorf("relapse at risk %d events %d median %v excluded %v", r.AtRisk, r.Events, r.MedianDays, r.Excluded)
	}
	for _, pt := range r.RelapseFree {
		want := map[float64]float64{28: 2.0 / 3, 56: 2.0 / 3, 84: 1.0 / 3}[pt.Time]
		if want != 0 && math.Abs(pt.Survival-want) > 1e-12 {
			t.Errorf("relapse-free at %v = %v, want %v", pt.Time, pt.Survival, want)
		}
	}
	// The relapse table holds the same times.
	got := map[string]string{}
	rows, err := w.DB().Query(`SELECT patient_id, coalesce(CAST(time_days AS VARCHAR), reason) || '/' || coalesce(CAST(event AS VARCHAR), '-') FROM relapse`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var p, v string
		rows.Scan(&p, &v)
		got[p] = v
	}
	rows.Close()
	want := map[string]string{"p1": "84/false", "p4": "14/true", "p5": "62/true", "p6": "no_followup_after_response/-", "p3": "no_response/-",
		`=HYPERLINK("x")`: "no_response/-"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("relapse table\n got %v\nwant %v", got, want)
	}

	// Export: one row per patient and instrument, the formula-like id defused.
	files2, err := w.Export(ctx, filepath.Join(dir, "export"), "csv")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(files2[0])
	recs, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1+7 || len(recs[0]) != len(ExportDictionary) {
		t.Fatalf("export: %d rows, %d columns; want 8 rows, %d columns", len(recs), len(recs[0]), len(ExportDictionary))
	}
	if recs[1][0] != `'=HYPERLINK("x")` {
		t.Errorf("formula-like id exported as %q", recs[1][0])
	}
	col := map[string]int{}
	for i, c := range recs[0] {
		col[c] = i
	}
	for _, r := range recs[1:] {
		if r[0] == "p4" && (r[col["relapse_time_days"]] != "14" || r[col["relapse_event"]] != "true" || r[col["reliable_change"]] != "recovered") {
			t.Errorf("p4 export row %v", r)
		}
	}
	if _, err := w.Export(ctx, filepath.Join(dir, "export-pq"), "parquet"); err != nil {
		t.Fatal(err)
	}
}

// Assessment-only mode: no sessions at all, so the index day is each patient's first
// assessment. p1's first score (D−30) is then its baseline, and the acute window is
// (D−30, D+26]: its endpoint is the D+14 score 12.
func TestAnalyzeAssessmentOnly(t *testing.T) {
	w, _ := openTemp(t)
	_, files := handCohort(t, false)
	ctx := context.Background()
	if _, err := w.Ingest(ctx, files, testOptions()); err != nil {
		t.Fatal(err)
	}
	a, err := w.Analyze(ctx, AnalyzeOptions{Config: DefaultConfig(), Write: true})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Cohort.AssessmentOnly || a.Cohort.Treated != 8 {
		t.Errorf("cohort %+v", a.Cohort)
	}
	var endpoint int
	if err := w.DB().QueryRow(`SELECT endpoint FROM episodes WHERE patient_id = 'p1'`).Scan(&endpoint); err != nil || endpoint != 12 {
		t.Errorf("p1 endpoint %d (%v), want 12", endpoint, err)
	}
	if a.Measures["PHQ9"].WithBaseline != 8 {
		t.Errorf("with baseline %d, want 8 (every patient's first score)", a.Measures["PHQ9"].WithBaseline)
	}
}

// As-of: analysing as of D+60 ignores every later row, so p4's relapse (D+70) is not seen.
func TestAnalyzeAsOf(t *testing.T) {
	w, _ := openTemp(t)
	_, files := handCohort(t, true)
	ctx := context.Background()
	if _, err := w.Ingest(ctx, files, testOptions()); err != nil {
		t.Fatal(err)
	}
	asOf := time.Date(2025, 4, 30, 0, 0, 0, 0, time.UTC) // D+60
	a, err := w.Analyze(ctx, AnalyzeOptions{Config: DefaultConfig(), AsOf: &asOf})
	if err != nil {
		t.Fatal(err)
	}
	r := a.Measures["PHQ9"].Relapse
	// Only p5 has follow-up after its response (D+56 after D+28) by D+60: censored, no event.
	if r.AtRisk != 1 || r.Events != 0 || a.AsOf == nil || *a.AsOf != "2025-04-30" {
		t.Errorf("as of D+60: at risk %d events %d as_of %v", r.AtRisk, r.Events, a.AsOf)
	}
}

// TestClassSample: with class_sample below the cohort size the classes are estimated on a
// seeded sample and every patient is assigned; a rerun gives the same classes.
func TestClassSample(t *testing.T) {
	w, dir := openTemp(t)
	if _, err := synth.Write(filepath.Join(dir, "c"), synth.Config{Patients: 2500, Seed: 4, End: testAsOf}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := w.Ingest(ctx, []string{filepath.Join(dir, "c", "assessments.csv"), filepath.Join(dir, "c", "sessions.csv")}, testOptions()); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.ClassSample = 1000
	a, err := w.Analyze(ctx, AnalyzeOptions{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	m := a.Measures["PHQ9"]
	if m.Classes == nil || m.ClassesFittedOn != 1000 || m.Classes.Patients != m.WithBaseline {
		t.Fatalf("classes %+v fitted on %d, with baseline %d", m.Classes, m.ClassesFittedOn, m.WithBaseline)
	}
	n := 0
	for _, c := range m.Classes.Classes {
		n += c.N
	}
	if n != m.WithBaseline {
		t.Errorf("class sizes add to %d, want every patient with a baseline (%d)", n, m.WithBaseline)
	}
	b, _ := w.Analyze(ctx, AnalyzeOptions{Config: cfg})
	if fmt.Sprint(b.Measures["PHQ9"].Classes.Classes) != fmt.Sprint(m.Classes.Classes) {
		t.Error("rerun gave other classes")
	}
}

// TestAnalyzeChunks: reading patients in many small id ranges gives the same analysis as
// reading them in one.
func TestAnalyzeChunks(t *testing.T) {
	w, dir := openTemp(t)
	if _, err := synth.Write(filepath.Join(dir, "c"), synth.Config{Patients: 500, Seed: 9, End: testAsOf, BadRows: true}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := w.Ingest(ctx, []string{filepath.Join(dir, "c", "assessments.csv"), filepath.Join(dir, "c", "sessions.csv")}, testOptions()); err != nil {
		t.Fatal(err)
	}
	run := func(chunk int) string {
		old := analyzeChunk
		analyzeChunk = chunk
		defer func() { analyzeChunk = old }()
		a, err := w.Analyze(ctx, AnalyzeOptions{Config: DefaultConfig()})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(a)
		return string(b)
	}
	one, many := run(100000), run(37)
	if one != many {
		t.Error("analysis read in 37-patient ranges differs from one read in a single range")
	}
	if !strings.Contains(one, `"patients":500`) {
		t.Error("cohort size missing")
	}
}

// A cohort as of A = 2025-06-30 for open acute windows (SPEC 6.4) and the Safety list (SPEC
// 6.14). PHQ-9 rows give items (item 9 last) or a total only. Windows last 56 days.
//
//	o1  dosed A−3 (window open until A+53), baseline A−5 total 18: still in treatment
//	o2  dosed A−28, baseline A−30 20, week-4 score A−2 of 8 (8 ≤ 10 would be a response): open,
//	    an interim score; its latest PHQ-9 rates item 9 at 2 → on the Safety list
//	c1  dosed A−60 (window closed at A−4), baseline A−61 16 (item 9 = 1), A−10 6 (item 9 = 0):
//	    completer, responder (6 ≤ 8), remitter (6 is not < 5: no), change −10; not on the list
//	c2  dosed A−100, baseline A−100 14, nothing after: closed without an end score (dropout)
//	s1  preparation session only, PHQ-9 item 9 = 2 → untreated, but on the Safety list
//	s2  preparation only; item 9 = 3 at A−40, then a total-only PHQ-9 at A−20 → listed with
//	    the A−40 rating and A−20 as the later PHQ-9 without item 9
//	s3  preparation only; item 9 = 1 at A−40, then item 9 skipped (prorated) at A−20 → listed
//	s4  preparation only; item 9 = 2 at A−40, then 0 at A−20 → not listed
//
// Expected PHQ-9 counts: 4 treated with scores, all with a baseline; 2 open; of the 2 closed,
// 1 completer and 1 dropout; eligible (closed, baseline ≥ 10) 2; response 1/1 completers, 1/2
// intention to treat. Quarters: c1 index+56 = A−4 and c2 index+56 = A−44 are both 2025Q2;
// the open ones are in no quarter.
func openWindowCohort(t *testing.T) []string {
	dir := t.TempDir()
	A := time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)
	day := func(n int) string { return A.AddDate(0, 0, n).Format("2006-01-02") }
	var a strings.Builder
	a.WriteString("patient_id,clinic_id,instrument,date,item_1,item_2,item_3,item_4,item_5,item_6,item_7,item_8,item_9,total\n")
	row := func(p string, d int, items string, total string) {
		fmt.Fprintf(&a, "%s,north,PHQ9,%s,%s,%s\n", p, day(d), items, total)
	}
	noItems := ",,,,,,,,"
	row("o1", -5, noItems, "18")
	row("o2", -30, noItems, "20")
	row("o2", -2, "1,1,1,1,1,1,0,0,2", "8")
	row("c1", -61, "2,2,2,2,2,2,2,1,1", "16")
	row("c1", -10, "1,1,1,1,1,1,0,0,0", "6")
	row("c2", -100, noItems, "14")
	row("s1", -10, "2,2,2,2,2,2,2,2,2", "18")
	row("s2", -40, "2,2,2,2,2,2,2,1,3", "18")
	row("s2", -20, noItems, "12")
	row("s3", -40, "1,1,1,1,1,1,1,1,1", "9")
	row("s3", -20, "1,1,1,1,1,1,1,1,", "") // item 9 skipped: prorated 8 × 9/8 = 9
	row("s4", -40, "2,2,2,2,2,2,2,2,2", "18")
	row("s4", -20, "1,1,1,1,1,1,1,1,0", "8")
	var s strings.Builder
	s.WriteString("patient_id,clinic_id,date,session_type,route,program\n")
	for p, d := range map[string]int{"o1": -3, "o2": -28, "c1": -60, "c2": -100} {
		fmt.Fprintf(&s, "%s,north,%s,dosing,sublingual,kap\n", p, day(d))
	}
	for _, p := range []string{"s1", "s2", "s3", "s4"} {
		fmt.Fprintf(&s, "%s,north,%s,preparation,,kap\n", p, day(-45))
	}
	files := []string{filepath.Join(dir, "assessments.csv"), filepath.Join(dir, "sessions.csv")}
	os.WriteFile(files[0], []byte(a.String()), 0o644)
	os.WriteFile(files[1], []byte(s.String()), 0o644)
	return files
}

func TestAnalyzeOpenWindows(t *testing.T) {
	w, _ := openTemp(t)
	ctx := context.Background()
	if _, err := w.Ingest(ctx, openWindowCohort(t), testOptions()); err != nil {
		t.Fatal(err)
	}
	asOf := time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)
	a, err := w.Analyze(ctx, AnalyzeOptions{Config: DefaultConfig(), AsOf: &asOf, Write: true})
	if err != nil {
		t.Fatal(err)
	}
	m := a.Measures["PHQ9"]
	if m.Patients != 4 || m.WithBaseline != 4 || m.AcuteWindowOpen != 2 || m.WithEndpoint != 1 || m.Eligible != 2 {
		t.Errorf("patients %d with baseline %d open %d with endpoint %d eligible %d", m.Patients, m.WithBaseline,
			m.AcuteWindowOpen, m.WithEndpoint, m.Eligible)
	}
	wantAttrition := map[string]int{"no_baseline": 0, "acute_window_open": 2, "no_endpoint": 1}
	if fmt.Sprint(m.Excluded) != fmt.Sprint(wantAttrition) {
		t.Errorf("attrition %v, want %v", m.Excluded, wantAttrition)
	}
	if m.Response.Events != 1 || m.Response.N != 1 || m.ResponseITT.N != 2 || m.Change.N != 1 || m.Change.Mean != -10 {
		t.Errorf("response %+v itt %+v change %+v", m.Response, m.ResponseITT, m.Change)
	}
	if m.Baseline.N != 4 || m.Baseline.Mean != 17 { // (18+20+16+14)/4
		t.Errorf("baseline %+v, want n 4 mean 17", m.Baseline)
	}
	// Every treated patient belongs to 2025Q2 or to no quarter yet.
	if fmt.Sprint(a.Quarters) != "[2025Q2]" {
		t.Errorf("quarters %v, want [2025Q2]", a.Quarters)
	}
	q := map[string]GroupOutcome{}
	for _, g := range m.ByGroup {
		if g.Dimension == "quarter" {
			q[g.Group] = g
		}
	}
	if g := q["2025Q2"]; g.WithBaseline != 2 || g.Eligible != 2 || g.WithEndpoint != 1 || g.Response.Events != 1 {
		t.Errorf("2025Q2 %+v", g)
	}
	if g := q["acute_window_open"]; g.WithBaseline != 2 || g.AcuteWindowOpen != 2 || g.Eligible != 0 || g.WithEndpoint != 0 {
		t.Errorf("open group %+v", g)
	}
	// Relapse counts patients who reached half their baseline at any acute visit, open window
	// or not: o2 (8 ≤ 10 on A−2) and c1 (6 ≤ 8 on A−10) did, with nothing later; c2 never did
	// in its closed window; o1 has not yet, with its window open.
	r := m.Relapse
	if r.Eligible != 4 || r.AtRisk != 0 || r.Excluded["acute_window_open"] != 1 || r.Excluded["no_response"] != 1 || r.Excluded["no_followup_after_response"] != 2 {
		t.Errorf("relapse eligible %d at risk %d excluded %v", r.Eligible, r.AtRisk, r.Excluded)
	}
	var reason string
	if err := w.DB().QueryRow(`SELECT excluded_reason || '/' || coalesce(quarter, 'none') FROM episodes WHERE patient_id = 'o2'`).Scan(&reason); err != nil || reason != "acute_window_open/none" {
		t.Errorf("o2 episode row: %q (%v)", reason, err)
	}
	// Cohort: the four preparation-only patients are untreated; every reason is listed.
	if a.Cohort.Treated != 4 || fmt.Sprint(a.Cohort.Excluded) != "map[no_assessments:0 no_dosing_session:4]" {
		t.Errorf("cohort %+v", a.Cohort)
	}
	// Safety: o2, s1, s2 (with its later total-only PHQ-9) and s3 (with its later PHQ-9 that
	// skipped item 9); not c1 or s4, whose latest recorded item 9 is 0.
	var got []string
	for _, f := range a.Safety {
		got = append(got, fmt.Sprintf("%s:%s:%d:%d:%s", f.PatientID, f.Date, f.Item9, f.Total, f.LaterDate))
	}
	want := []string{"o2:2025-06-28:2:8:", "s1:2025-06-20:2:18:", "s2:2025-05-21:3:18:2025-06-10", "s3:2025-05-21:1:9:2025-06-10"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("safety list\n got %v\nwant %v", got, want)
	}
	// The stored flag of a PHQ-9 that skipped item 9 is unknown (NULL), never false.
	var flag any = "unset"
	if err := w.DB().QueryRow(`SELECT safety_flag FROM assessments WHERE patient_id = 's3' AND item_9 IS NULL`).Scan(&flag); err != nil || flag != nil {
		t.Errorf("s3's later PHQ-9: safety_flag %v (%v), want NULL", flag, err)
	}
}

// Without --as-of, dated data are analysed as of today (the clock), and every acute window
// that has not closed by then is open.
func TestAnalyzeDefaultAsOfIsToday(t *testing.T) {
	w, _ := openTemp(t)
	ctx := context.Background()
	if _, err := w.Ingest(ctx, openWindowCohort(t), testOptions()); err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2025, 6, 30, 15, 0, 0, 0, time.UTC) }
	a, err := w.Analyze(ctx, AnalyzeOptions{Config: DefaultConfig(), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if a.AsOf == nil || *a.AsOf != "2025-06-30" || a.Measures["PHQ9"].AcuteWindowOpen != 2 {
		t.Errorf("as of %v, open %d; want 2025-06-30 and 2", a.AsOf, a.Measures["PHQ9"].AcuteWindowOpen)
	}
}
