package stats

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/floats/scalar"
)

type refAML struct {
	KM      []KMRow `json:"km"`
	Median  float64 `json:"median"`
	LogRank struct {
		Chisq float64 `json:"chisq"`
		DF    int     `json:"df"`
		P     float64 `json:"p"`
	} `json:"logrank"`
	Cox struct {
		Term        string  `json:"term"`
		Coef        float64 `json:"coef"`
		SE          float64 `json:"se"`
		HazardRatio float64 `json:"hazard_ratio"`
		WaldP       float64 `json:"wald_p"`
		LRChisq     float64 `json:"lr_chisq"`
	} `json:"cox"`
}

// readSurvival reads time, status (0/1) and group columns of a testdata CSV.
func readSurvival(t *testing.T, name string) ([]float64, []bool, []string) {
	t.Helper()
	h, rows := readCSV(t, name)
	times := floats(t, column(t, h, rows, "time"))
	status := column(t, h, rows, "status")
	ev := make([]bool, len(status))
	for i, s := range status {
		ev[i] = s == "1"
	}
	var group []string
	for _, c := range h {
		if c == "group" {
			group = column(t, h, rows, "group")
		}
	}
	return times, ev, group
}

func equalRel(got, want, tol float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	return scalar.EqualWithinAbsOrRel(got, want, tol, tol)
}

func checkKMTable(t *testing.T, rcall string, got, want []KMRow, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d", rcall, len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Time != w.Time || g.NRisk != w.NRisk || g.NEvent != w.NEvent ||
			!equalRel(g.Survival, w.Survival, tol) || !equalRel(g.StdErr, w.StdErr, tol) ||
			!equalRel(g.Lower95, w.Lower95, tol) || !equalRel(g.Upper95, w.Upper95, tol) {
			t.Errorf("%s: row %d = %+v, want %+v", rcall, i, g, w)
		}
	}
}

func TestAML(t *testing.T) {
	var ref struct {
		AML refAML `json:"aml"`
	}
	readJSON(t, "expected.json", &ref)
	want := ref.AML
	times, ev, group := readSurvival(t, "aml.csv")

	const rcallKM = "summary(survfit(Surv(time, status) ~ 1, aml))"
	km, err := KaplanMeier(times, ev)
	if err != nil {
		t.Fatal(err)
	}
	checkKMTable(t, rcallKM, km.Table, want.KM, 1e-6)
	if km.Median != want.Median {
		t.Errorf("print(survfit(Surv(time, status) ~ 1, aml)): median = %v, want %v", km.Median, want.Median)
	}

	g, _ := indexLevels(group)
	lr, err := LogRankTest(times, ev, g)
	if err != nil {
		t.Fatal(err)
	}
	if !equalRel(lr.Chisq, want.LogRank.Chisq, 1e-6) || lr.DF != want.LogRank.DF || !equalRel(lr.P, want.LogRank.P, 1e-6) {
		t.Errorf("survdiff(Surv(time, status) ~ group, aml) = %+v, want %+v", lr, want.LogRank)
	}

	d := NewDesign(len(times))
	if err := d.AddCategorical("group", group); err != nil {
		t.Fatal(err)
	}
	cox, err := FitCox(times, ev, d)
	if err != nil {
		t.Fatal(err)
	}
	term := cox.Terms[0]
	if term.Term != "group=Nonmaintained" || !equalRel(term.Coef, want.Cox.Coef, 1e-6) ||
		!equalRel(term.SE, want.Cox.SE, 1e-6) || !equalRel(term.HazardRatio, want.Cox.HazardRatio, 1e-6) ||
		!equalRel(term.P, want.Cox.WaldP, 1e-6) || !equalRel(cox.LRChisq, want.Cox.LRChisq, 1e-6) {
		t.Errorf("coxph(Surv(time, status) ~ group, aml, ties = \"efron\") = %+v lr %v, want %+v", term, cox.LRChisq, want.Cox)
	}
}
