package reports

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kapstat/kapstat/pipeline"
)

// dumpOf writes the workbook of a and returns its text dump.
func dumpOf(t *testing.T, a *pipeline.Analysis, audience string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), audience+".xlsx")
	if err := Write(path, a, Options{Audience: audience, Quarter: "2026Q3", SuppressBelow: 11, Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	d, err := Dump(path)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Every text that states a threshold or window states the value in force. The configuration
// here changes each of them from its default (baseline 30 → 21 days, acute 56 → 42, PHQ-9
// cutoff 10 → 12, remission 5 → 4, reliable change 6 → 5, missing items 2 → 1, response 50% →
// 40%); the workbook must show the new values and never the old ones in those texts.
func TestTextsStateValuesInForce(t *testing.T) {
	a := smallAnalysis()
	cfg := pipeline.DefaultConfig()
	cfg.BaselineDays, cfg.AcuteDays, cfg.ResponseFraction = 21, 42, 0.4
	phq := cfg.Instruments["PHQ9"]
	phq.Cutoff, phq.Remission, phq.ReliableChange, phq.MaxMissing = 12, 4, 5, 1
	cfg.Instruments["PHQ9"] = phq
	a.Config = cfg
	d := dumpOf(t, a, "internal")
	for _, want := range []string{
		"the latest score in the 21 days up to and including the day of the first dose",
		"the last score in the 42 days after it",
		"PHQ-9 total 0–27 (12 or more counts as depression at or above the cutoff)",
		"end score at most 40% of baseline; remission: end score below 4",
		"(PHQ-9: below 4)",
		"(PHQ-9: 5 points)",
		"(PHQ-9: 12)",
		"Left out: no score in the 21 days up to and including the day of the first dose",
		"Dropped out: no score in the 42 days after the first dose",
		"A reliable change is a change of at least 5 points",
		"In force: a change of 5 points or more (changed in the configuration)",
		"In force: total ≥ 12 (changed in the configuration)",
		"In force: up to 1 missing items, prorated (changed in the configuration)",
		"In force: endpoint ≤ 40% of baseline (changed in the configuration)",
		"In force: endpoint PHQ-9 below 4",
		"21 days up to and including the day of the first dose",
	} {
		if !strings.Contains(strings.ToLower(d), strings.ToLower(want)) {
			t.Errorf("the workbook does not say %q", want)
		}
	}
	// The defaults may appear only as the published values beside the ones in force.
	for _, stale := range []string{"30 days", "56 days after", "below 5 (PHQ-9", "(10 or more", "6 points", "up to 2 missing items: total"} {
		for _, line := range strings.Split(d, "\n") {
			if strings.Contains(line, stale) && !strings.Contains(line, "Published:") {
				t.Errorf("a default survives in %q", line)
			}
		}
	}
}

// The Summary's 8-week row pairs the 8-week estimate with its own n and outcome: patients
// still followed on day 56 (14 in the fixture) and relapses by day 56 (4), not everyone
// followed (24) and every relapse (5); and it keeps showing day 56 when relapse_days does not
// list it.
func TestSummaryEightWeeksRow(t *testing.T) {
	a := smallAnalysis()
	a.Config.RelapseDays = []int{30, 90}
	d := dumpOf(t, a, "internal")
	row := rowOf(t, d, "Summary", "Relapse-free 8 weeks (56 days) after reaching half of baseline")
	for _, want := range []string{"B = 0.8 |", "F = 14 |", "G = 4 |"} {
		if !strings.Contains(row, want) {
			t.Errorf("8-week row %q lacks %q", row, want)
		}
	}
}

// rowOf returns the dump lines of the row whose column A is label on a sheet, joined, with
// the cell references reduced to their column letter ("B = 0.8 | 0.0%").
func rowOf(t *testing.T, dump, sheet, label string) string {
	t.Helper()
	row := ""
	for _, line := range strings.Split(dump, "\n") {
		if strings.HasPrefix(line, sheet+"!A") && strings.Contains(line, "= "+label+" |") {
			row = strings.TrimSuffix(strings.SplitN(strings.TrimPrefix(line, sheet+"!A"), " ", 2)[0], "")
			break
		}
	}
	if row == "" {
		t.Fatalf("%s: no row %q", sheet, label)
	}
	var cells []string
	for _, line := range strings.Split(dump, "\n") {
		rest, ok := strings.CutPrefix(line, sheet+"!")
		if !ok {
			continue
		}
		ref, _, _ := strings.Cut(rest, " ")
		col := strings.TrimRight(ref, "0123456789")
		if strings.TrimPrefix(ref, col) == row {
			cells = append(cells, col+strings.TrimPrefix(rest, ref))
		}
	}
	return strings.Join(cells, " ; ")
}

// Relapse is followed in patients who reached half of baseline at any acute visit, not in the
// end-of-treatment responders: no text may call them responders, and the Summary says how they
// differ.
func TestRelapsePopulationNamed(t *testing.T) {
	d := dumpOf(t, smallAnalysis(), "internal")
	for _, wrong := range []string{"responders followed", "Median days from response", "after response", "All responders"} {
		if strings.Contains(d, wrong) {
			t.Errorf("the workbook still says %q", wrong)
		}
	}
	if !strings.Contains(d, "a wider group than the responders above, who are judged on the end score alone") {
		t.Error("the Summary does not say how the relapse population differs from the responders")
	}
}

// Small texts: the Kaplan–Meier note names what the cells show ("n/a"), the effect size note
// speaks of its size whatever the sign, the baseline window includes the dose day, and in
// assessment-only mode no row speaks of dosing sessions.
func TestSmallTexts(t *testing.T) {
	d := dumpOf(t, smallAnalysis(), "internal")
	if strings.Contains(d, "A dash marks a day beyond") || !strings.Contains(d, `"n/a" marks a day beyond the longest follow-up`) {
		t.Error("the Kaplan–Meier note does not match the n/a cells")
	}
	if !strings.Contains(d, "Cohen's d_z is the mean change divided by its SD (0.8 or more, ignoring the sign, is large)") {
		t.Error("the d_z note does not speak of its size")
	}
	if strings.Contains(d, "before the first dose.") {
		t.Error(`a text says "before the first dose" for a window that includes the dose day`)
	}
	a := smallAnalysis()
	a.Cohort.AssessmentOnly = true
	d = dumpOf(t, a, "internal")
	if strings.Contains(d, "Treated (at least one dosing session)") || !strings.Contains(d, "Patients with at least one score (no sessions supplied)") {
		t.Error("assessment-only mode still speaks of dosing sessions")
	}
}

// With a quarter, the All patients row equals the quarter rows plus the patients still in the
// acute window (SPEC 6.4): on a generated cohort analysed as of 2026-06-30, for every
// instrument, in the internal model.
func TestQuarterRowsAddUp(t *testing.T) {
	dir := t.TempDir()
	files := attackCohort(t, dir, 3, 60)
	ctx := context.Background()
	w, err := pipeline.OpenWarehouse(ctx, filepath.Join(dir, "k.duckdb"), "", false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Ingest(ctx, files, pipeline.IngestOptions{Config: pipeline.DefaultConfig(), AsOf: time.Date(2026, 9, 30, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	asOf := time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)
	a, err := w.Analyze(ctx, pipeline.AnalyzeOptions{Config: pipeline.DefaultConfig(), AsOf: &asOf, Quarter: "2026Q2"})
	if err != nil {
		t.Fatal(err)
	}
	b := &builder{a: a, opt: Options{Quarter: "2026Q2"}}
	for _, m := range a.Instruments() {
		rows, omitted := b.groupRows(m, "quarter")
		sum, open := 0, 0
		for _, g := range append(rows, omitted...) {
			sum += g.WithBaseline
			if g.Group == "acute_window_open" {
				open = g.WithBaseline
			}
		}
		if sum != m.WithBaseline || open != m.AcuteWindowOpen {
			t.Errorf("%s: quarter rows add to %d (open %d), all patients %d (open %d)", m.Instrument, sum, open, m.WithBaseline, m.AcuteWindowOpen)
		}
		if m.AcuteWindowOpen == 0 {
			t.Errorf("%s: no patient is still in the acute window; the cohort should have some", m.Instrument)
		}
	}
}
