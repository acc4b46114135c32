package stats

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/floats/scalar"
)

var nan = math.NaN()

type refEstimate struct{ Estimate, SE float64 }

type refLMM struct {
	NObs    int `json:"n_obs"`
	NGroups int `json:"n_groups"`
	Fixed   struct {
		Intercept refEstimate
		Slope     refEstimate
	}
	SDIntercept float64 `json:"sd_intercept"`
	SDSlope     float64 `json:"sd_slope"`
	Corr        float64
	SDResidual  float64 `json:"sd_residual"`
	LogLik      float64
	BLUP        BLUP `json:"blup_first_group"`
}

func TestFitLMMSleepstudy(t *testing.T) {
	var ref struct {
		REML refLMM `json:"reml"`
		ML   refLMM `json:"ml"`
	}
	readJSON(t, "expected.json", &ref)
	h, rows := readCSV(t, "sleepstudy.csv")
	g, names := indexLevels(column(t, h, rows, "Subject"))
	days := floats(t, column(t, h, rows, "Days"))
	reaction := floats(t, column(t, h, rows, "Reaction"))
	for _, tc := range []struct {
		rcall string
		ml    bool
		want  refLMM
	}{
		{"lmer(Reaction ~ Days + (Days | Subject), sleepstudy)", false, ref.REML},
		{"lmer(Reaction ~ Days + (Days | Subject), sleepstudy, REML = FALSE)", true, ref.ML},
	} {
		fit, err := FitLMM(g, days, reaction, LMMOptions{ML: tc.ml, GroupNames: names, BLUPs: true})
		if err != nil {
			t.Fatalf("%s: %v", tc.rcall, err)
		}
		checkLMM(t, tc.rcall, fit, tc.want, 1e-4)
		if b := fit.BLUPs[0]; b.Group != tc.want.BLUP.Group ||
			!scalar.EqualWithinAbsOrRel(b.Intercept, tc.want.BLUP.Intercept, 1e-4, 1e-4) ||
			!scalar.EqualWithinAbsOrRel(b.Slope, tc.want.BLUP.Slope, 1e-4, 1e-4) {
			t.Errorf("%s: ranef first group = %+v, want %+v", tc.rcall, b, tc.want.BLUP)
		}
		t.Logf("%s: %d evaluations, theta %v", tc.rcall, fit.Evaluations, fit.Theta)
	}
}

func checkLMM(t *testing.T, rcall string, fit *LMMFit, want refLMM, tol float64) {
	t.Helper()
	if fit.NObs != want.NObs || fit.NGroups != want.NGroups {
		t.Errorf("%s: n_obs, n_groups = %d, %d, want %d, %d", rcall, fit.NObs, fit.NGroups, want.NObs, want.NGroups)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"intercept", fit.Fixed.Intercept.Estimate, want.Fixed.Intercept.Estimate},
		{"intercept se", fit.Fixed.Intercept.SE, want.Fixed.Intercept.SE},
		{"slope", fit.Fixed.Slope.Estimate, want.Fixed.Slope.Estimate},
		{"slope se", fit.Fixed.Slope.SE, want.Fixed.Slope.SE},
		{"sd_intercept", fit.SDIntercept, want.SDIntercept},
		{"sd_slope", fit.SDSlope, want.SDSlope},
		{"corr", fit.Corr, want.Corr},
		{"sd_residual", fit.SDResidual, want.SDResidual},
		{"loglik", fit.LogLik, want.LogLik},
	} {
		if math.IsNaN(c.want) {
			if !math.IsNaN(c.got) {
				t.Errorf("%s: %s = %v, want NaN", rcall, c.name, c.got)
			}
			continue
		}
		if !scalar.EqualWithinAbsOrRel(c.got, c.want, tol, tol) {
			t.Errorf("%s: %s = %.10g, want %.10g", rcall, c.name, c.got, c.want)
		}
	}
}
