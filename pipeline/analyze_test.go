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
