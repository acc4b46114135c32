package stats

import "testing"

// TestPatternsBounded checks that the per-pattern sums of FitLMMDesign are
// used for a few patterns (y ~ t * arm) and not for a patient-level
// covariate with a value per patient, whose patterns would make each
// deviance evaluation cost chunks × patterns (quadratic in the groups).
func TestPatternsBounded(t *testing.T) {
	const groups = 20_000
	g, x, y := synthLMM(groups, 4, 3)
	arm := make([]string, len(g))
	score := make([]float64, len(g))
	for i, gi := range g {
		arm[i] = []string{"a", "b"}[gi%2]
		score[i] = float64(gi % 5000) // 5000 patterns, a quarter of the groups
	}
	for _, c := range []struct {
		name      string
		covariate bool
		patterns  bool
	}{{"t * arm", false, true}, {"t * arm + score", true, false}} {
		d := NewDesign(len(g))
		must := func(err error) {
			if err != nil {
				t.Fatal(err)
			}
		}
		must(d.AddNumeric("t", x))
		must(d.AddCategorical("arm", arm))
		if c.covariate {
			must(d.AddNumeric("score", score))
		}
		must(d.AddInteraction("t", x, "arm"))
		data, _, _, _, _, err := newLMMXData(g, x, y, d, LMMOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := data.pattern != nil; got != c.patterns {
			t.Errorf("%s: patterns used %v, want %v (%d patterns)", c.name, got, c.patterns, len(data.patterns)/data.k)
		}
		// Without patterns, each group's nonzero constants: intercept, t, the
		// group's arm dummy and t × arm (b only), score (0 for a fifth).
		if !c.patterns && (data.spOff == nil || len(data.spIdx) > 5*groups) {
			t.Errorf("%s: sparse constants not kept (%d entries for %d groups)", c.name, len(data.spIdx), groups)
		}
	}
}
