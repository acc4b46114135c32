package reports

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapstat/kapstat/measures/stats"
	"github.com/kapstat/kapstat/measures/stats/lcga"
	"github.com/kapstat/kapstat/pipeline"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func f64(v float64) *float64 { return &v }

// smallAnalysis is a hand-made analysis of one instrument: 60 treated patients at two clinics,
// with small cells (a clinic of 8, 3 deteriorated) for the external edition to hide.
func smallAnalysis() *pipeline.Analysis {
	asOf := "2026-09-30"
	prop := func(e, n int, lo, hi float64) stats.Proportion {
		return stats.Proportion{N: n, Events: e, Rate: float64(e) / float64(n), Lower95: lo, Upper95: hi}
	}
	m := &pipeline.MeasureResult{
		// 56 with a baseline: 4 still in the acute window, 50 completers, 2 dropouts.
		Instrument: "PHQ9", Name: "PHQ-9", Patients: 58, WithBaseline: 56, AcuteWindowOpen: 4, WithEndpoint: 50, Eligible: 48,
		Excluded: map[string]int{"no_baseline": 2, "acute_window_open": 4, "no_endpoint": 2},
		Baseline: stats.Summary{N: 56, Mean: 16.25, SD: 4.5}, Endpoint: stats.Summary{N: 50, Mean: 8.5, SD: 5.25},
		Change:   stats.TTest{N: 50, Mean: -7.75, SD: 5.5, Lower95: -9.31, Upper95: -6.19, T: -9.96, DF: 49, P: 2.1e-13, CohensDz: -1.41},
		Response: prop(26, 43, 0.456, 0.737), ResponseITT: prop(26, 48, 0.401, 0.676),
		Remission: prop(12, 43, 0.167, 0.428), RemissionITT: prop(12, 48, 0.149, 0.386),
		ReliableChange: map[string]int{"recovered": 24, "improved": 8, "unchanged": 15, "deteriorated": 3},
		Trajectory: &stats.LMMFit{NObs: 280, NGroups: 56, Fixed: stats.FixedEffects{
			Intercept: stats.Estimate{Estimate: 15.5, SE: 0.6}, Slope: stats.Estimate{Estimate: -0.95, SE: 0.08}},
			SDIntercept: 4.1, SDSlope: 0.45, Corr: -0.2, SDResidual: 2.5, REML: true, Converged: true,
			Warnings: []string{"4 groups have a single observation"}},
		Weekly: []pipeline.Weekly{
			{Week: 0, MeanCI: stats.MeanCI{N: 56, Mean: 16.25, SD: 4.5, Lower95: 15.04, Upper95: 17.46}},
			{Week: 4, MeanCI: stats.MeanCI{N: 9, Mean: 11.5, SD: 5, Lower95: 7.66, Upper95: 15.34}},
			{Week: 8, MeanCI: stats.MeanCI{N: 50, Mean: 8.5, SD: 5.25, Lower95: 7.01, Upper95: 9.99}},
		},
		Classes: &lcga.Result{K: 2, Patients: 56, Classes: []lcga.Class{
			{Label: "rapid improvement", N: 40, Share: 40.0 / 56, Intercept: 16, Slope: -1.25},
			{Label: "no change", N: 16, Share: 16.0 / 56, Intercept: 17, Slope: -0.1}}},
		// 51 eligible for relapse: the 48 whose window closed and 3 still in it; 24 + 24 + 1 + 2.
		Relapse: pipeline.RelapseSummary{Eligible: 51, AtRisk: 24, Events: 5, MedianDays: nil,
			// Relapses by each day from the curve below: 2 by day 28, 4 by 56, 5 by 84 and 182.
			RelapseFree: []pipeline.RelapsePoint{{Time: 28, NRisk: 20, Events: 2, Survival: 0.9, Lower95: 0.78, Upper95: 1},
				{Time: 56, NRisk: 14, Events: 4, Survival: 0.8, Lower95: 0.64, Upper95: 0.99}, {Time: 84, NRisk: 6, Events: 5, Survival: 0.75, Lower95: 0.57, Upper95: 0.98},
				{Time: 182, NRisk: 0, Events: 5, Survival: math.NaN(), Lower95: math.NaN(), Upper95: math.NaN()}},
			At8Weeks: pipeline.RelapsePoint{Time: 56, NRisk: 14, Events: 4, Survival: 0.8, Lower95: 0.64, Upper95: 0.99},
			Excluded: map[string]int{"no_response": 24, "acute_window_open": 1, "no_followup_after_response": 2},
			Curve: []stats.KMRow{{Time: 20, NRisk: 22, NEvent: 2, Survival: 0.909, Lower95: 0.8, Upper95: 1},
				{Time: 50, NRisk: 15, NEvent: 2, Survival: 0.788, Lower95: 0.63, Upper95: 0.98},
				{Time: 70, NRisk: 8, NEvent: 1, Survival: 0.69, Lower95: 0.5, Upper95: 0.95}},
			ByProgram: pipeline.ProgramRelapse{Curves: map[string]pipeline.ProgramCurve{
				"kap": {AtRisk: 24, Events: 5, RelapseFree: []pipeline.RelapsePoint{{Time: 28, NRisk: 20, Events: 2, Survival: 0.9, Lower95: 0.78, Upper95: 1}},
					Curve: []stats.KMRow{{Time: 20, NRisk: 22, NEvent: 2, Survival: 0.909, Lower95: 0.8, Upper95: 1}}}},
				Note: "only one program among patients at risk: no comparison"},
			CoxNote: "Cox model not fitted: too few events"},
	}
	g := func(dim, group string, wb, open, we, el, rn, re, rem int, rc [4]int, atRisk, events int) pipeline.GroupOutcome {
		return pipeline.GroupOutcome{Dimension: dim, Group: group, WithBaseline: wb, AcuteWindowOpen: open, WithEndpoint: we, Eligible: el,
			Baseline: stats.Summary{N: wb, Mean: 16, SD: 4.5}, Endpoint: stats.Summary{N: we, Mean: 8.5, SD: 5},
			Change: stats.Summary{N: we, Mean: -7.5, SD: 5}, CohensDz: -1.5,
			Response: prop(re, rn, 0.4, 0.7), ResponseITT: prop(re, el, 0.35, 0.65), Remission: prop(rem, rn, 0.15, 0.4),
			RemissionITT:   prop(rem, el, 0.12, 0.38),
			ReliableChange: map[string]int{"recovered": rc[0], "improved": rc[1], "unchanged": rc[2], "deteriorated": rc[3]},
			Relapse: pipeline.GroupRelapse{AtRisk: atRisk, Events: events,
				At8Weeks: pipeline.RelapsePoint{Time: 56, NRisk: atRisk / 2, Events: events / 2, Survival: 0.8, Lower95: 0.6, Upper95: 0.95}}}
	}
	m.ByGroup = []pipeline.GroupOutcome{
		g("clinic", "=HYPERLINK(\"x\")", 8, 1, 7, 7, 6, 4, 2, [4]int{3, 1, 2, 1}, 3, 1),
		g("clinic", "north", 48, 3, 43, 41, 37, 22, 10, [4]int{21, 7, 13, 2}, 21, 4),
		g("program", "kap", 56, 4, 50, 48, 43, 26, 12, [4]int{24, 8, 15, 3}, 24, 5),
		g("quarter", "2026Q2", 28, 0, 27, 26, 24, 15, 7, [4]int{14, 4, 8, 1}, 14, 3),
		g("quarter", "2026Q3", 24, 0, 23, 22, 19, 11, 5, [4]int{10, 4, 7, 2}, 10, 2),
		g("quarter", "acute_window_open", 4, 4, 0, 0, 0, 0, 0, [4]int{0, 0, 0, 0}, 0, 0),
	}
	return &pipeline.Analysis{
		KapstatVersion: "0.3.0", AsOf: &asOf, Config: pipeline.DefaultConfig(), DatesAvailable: true,
		Inputs: []pipeline.Input{
			{Path: "in/assessments.csv", SHA256: strings.Repeat("ab", 32), Kind: "assessments", RowsRead: 412, Accepted: 400, Duplicates: 3, Quarantined: 9,
				Reasons: map[string]int64{"duplicate": 3, "out_of_range": 2, "conflict": 7}},
			{Path: "in/sessions.csv", SHA256: strings.Repeat("cd", 32), Kind: "sessions", RowsRead: 300, Accepted: 300, Reasons: map[string]int64{}},
		},
		Cohort:   pipeline.Cohort{Patients: 62, Treated: 60, Excluded: map[string]int{"no_dosing_session": 2, "no_assessments": 0}},
		Measures: map[string]*pipeline.MeasureResult{"PHQ9": m},
		Safety: []pipeline.SafetyFlag{{PatientID: "p-007", ClinicID: "north", Date: "2026-09-02", Item9: 1, Total: 14,
			Later: true, LaterDate: "2026-09-20"},
			{PatientID: "=HYPERLINK(\"http://x\",\"y\")", ClinicID: "north", Day: 40, Item9: 2, Total: 19}},
		SafetyFlags: 2,
		Quarters:    []string{"2026Q2", "2026Q3"},
	}
}

func TestGolden(t *testing.T) {
	for _, audience := range []string{"internal", "external"} {
		t.Run(audience, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "small.xlsx")
			if err := Write(path, smallAnalysis(), Options{Audience: audience, Quarter: "2026Q3", Title: "Test clinic network", SuppressBelow: 11, Now: fixedNow}); err != nil {
				t.Fatal(err)
			}
			got, err := Dump(path)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "small-"+audience+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
				for i := 0; i < len(gl) || i < len(wl); i++ {
					var g, w string
					if i < len(gl) {
						g = gl[i]
					}
					if i < len(wl) {
						w = wl[i]
					}
					if g != w {
						t.Fatalf("dump differs from %s at line %d:\n got %s\nwant %s\n(run go test -update after checking the change)", golden, i+1, g, w)
					}
				}
			}
		})
	}
}
