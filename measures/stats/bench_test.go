package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// synthLMM simulates groups × perGroup observations from
// y = 20 − 1.5·t + b0 + b1·t + ε, sd(b0) = 4, sd(b1) = 0.8, corr −0.3,
// sd(ε) = 2, t = 0..perGroup−1 weeks, with a fixed seed.
func synthLMM(groups, perGroup int, seed uint64) (g []int, t, y []float64) {
	r := rand.New(rand.NewPCG(seed, 1))
	n := groups * perGroup
	g = make([]int, 0, n)
	t = make([]float64, 0, n)
	y = make([]float64, 0, n)
	for i := 0; i < groups; i++ {
		z1, z2 := r.NormFloat64(), r.NormFloat64()
		b0 := 4 * z1
		b1 := 0.8 * (-0.3*z1 + math.Sqrt(1-0.09)*z2)
		for j := 0; j < perGroup; j++ {
			tj := float64(j)
			g = append(g, i)
			t = append(t, tj)
			y = append(y, 20-1.5*tj+b0+b1*tj+2*r.NormFloat64())
		}
	}
	return g, t, y
}

// BenchmarkLMM fits the random intercept and slope model by REML to
// 1k–1M groups of 8 observations; the cost per fit grows linearly with
// the number of groups.
func BenchmarkLMM(b *testing.B) {
	for _, groups := range []int{1_000, 10_000, 100_000, 1_000_000} {
		g, t, y := synthLMM(groups, 8, 42)
		b.Run(fmt.Sprintf("groups=%d", groups), func(b *testing.B) {
			b.ReportAllocs()
			var fit *LMMFit
			for b.Loop() {
				var err error
				fit, err = FitLMM(g, t, y, LMMOptions{})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(fit.Evaluations), "evals/fit")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(groups), "ns/group")
		})
	}
}

func TestSynthLMMRecovers(t *testing.T) {
	g, x, y := synthLMM(2000, 8, 42)
	fit, err := FitLMM(g, x, y, LMMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Simulation truth; tolerances are a few standard errors.
	for _, c := range []struct {
		name           string
		got, want, tol float64
	}{
		{"intercept", fit.Fixed.Intercept.Estimate, 20, 0.4},
		{"slope", fit.Fixed.Slope.Estimate, -1.5, 0.1},
		{"sd_intercept", fit.SDIntercept, 4, 0.3},
		{"sd_slope", fit.SDSlope, 0.8, 0.1},
		{"corr", fit.Corr, -0.3, 0.1},
		{"sd_residual", fit.SDResidual, 2, 0.1},
	} {
		if math.Abs(c.got-c.want) > c.tol {
			t.Errorf("%s = %v, simulated %v", c.name, c.got, c.want)
		}
	}
}

// BenchmarkLMMDeviance times one evaluation of the profiled REML deviance
// at lme4's starting point for 100k groups: the unit of work FitLMM
// repeats a few hundred times.
func BenchmarkLMMDeviance(b *testing.B) {
	g, t, y := synthLMM(100_000, 8, 42)
	d, _, _, err := newLMMData(g, t, y, LMMOptions{})
	if err != nil {
		b.Fatal(err)
	}
	theta := []float64{1, 0, 1}
	for b.Loop() {
		d.deviance(theta, nil)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100_000, "ns/group")
}

// BenchmarkLMMDesign fits y ~ t * group + (t | patient) by REML
// (FitLMMDesign, four fixed effects) to 100k groups of 8 observations.
func BenchmarkLMMDesign(b *testing.B) {
	const groups = 100_000
	g, t, y := synthLMM(groups, 8, 42)
	arm := make([]string, len(g))
	for i, gi := range g {
		arm[i] = []string{"a", "b"}[gi%2]
		if gi%2 == 1 {
			y[i] -= 0.5 * t[i]
		}
	}
	d := NewDesign(len(g))
	d.AddNumeric("t", t)
	d.AddCategorical("arm", arm)
	d.AddInteraction("t", t, "arm")
	b.ReportAllocs()
	var fit *LMMDesignFit
	for b.Loop() {
		var err error
		if fit, err = FitLMMDesign(g, t, y, d, LMMOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(fit.Evaluations), "evals/fit")
}

// BenchmarkLogistic fits a logistic regression with an intercept, two
// continuous covariates and a three-level factor to n observations,
// including the separation check (a linear program with k = 5 rows).
func BenchmarkLogistic(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		r := rand.New(rand.NewPCG(7, 1))
		y := make([]float64, n)
		age := make([]float64, n)
		base := make([]float64, n)
		prog := make([]string, n)
		for i := range y {
			age[i] = math.Round(18 + 60*r.Float64())
			base[i] = math.Round(27 * r.Float64())
			prog[i] = []string{"a", "b", "c"}[r.IntN(3)]
			eta := -1 + 0.02*(age[i]-45) - 0.05*(base[i]-13)
			if prog[i] == "b" {
				eta += 0.4
			}
			if r.Float64() < 1/(1+math.Exp(-eta)) {
				y[i] = 1
			}
		}
		d := NewDesign(n)
		d.AddNumeric("age", age)
		d.AddNumeric("baseline", base)
		d.AddCategorical("program", prog)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := FitLogistic(y, d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
