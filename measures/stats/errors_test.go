package stats

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestBadInput(t *testing.T) {
	inf := math.Inf(1)
	for _, tc := range []struct {
		name string
		run  func() error
		want string
	}{
		{"lmm lengths", func() error { _, err := FitLMM([]int{0, 1}, []float64{1}, []float64{1, 2}, LMMOptions{}); return err }, "lengths differ"},
		{"lmm negative group", func() error {
			_, err := FitLMM([]int{0, -1, 1}, []float64{0, 1, 2}, []float64{1, 2, 3}, LMMOptions{})
			return err
		}, "negative group index"},
		{"lmm infinite y", func() error {
			_, err := FitLMM([]int{0, 0, 1}, []float64{0, 1, 2}, []float64{1, inf, 3}, LMMOptions{})
			return err
		}, "infinite"},
		{"lmm all missing", func() error {
			_, err := FitLMM([]int{0, 1}, []float64{nan, 1}, []float64{1, nan}, LMMOptions{})
			return err
		}, "no observations"},
		{"lmm constant t", func() error {
			_, err := FitLMM([]int{0, 0, 0, 1, 1, 1, 2, 2, 2}, []float64{1, 1, 1, 1, 1, 1, 1, 1, 1}, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9}, LMMOptions{InterceptOnly: true})
			return err
		}, "no variation"},
		{"lmm not identifiable", func() error {
			_, err := FitLMM([]int{0, 0, 1, 1}, []float64{0, 1, 0, 1}, []float64{1, 2, 3, 4}, LMMOptions{})
			return err
		}, "not more than the 4 random effects"},
		{"lmm short names", func() error {
			_, err := FitLMM([]int{0, 0, 1, 1, 2}, []float64{0, 1, 0, 1, 0}, []float64{1, 2, 3, 4, 5}, LMMOptions{GroupNames: []string{"a"}, InterceptOnly: true})
			return err
		}, "group names"},
		{"km negative time", func() error { _, err := KaplanMeier([]float64{1, -1}, []bool{true, false}); return err }, "negative time"},
		{"km lengths", func() error { _, err := KaplanMeier([]float64{1, 2}, []bool{true}); return err }, "lengths differ"},
		{"km empty", func() error { _, err := KaplanMeier(nil, nil); return err }, "no observations"},
		{"km all missing", func() error { _, err := KaplanMeier([]float64{nan}, []bool{true}); return err }, "no observations"},
		{"logrank one group", func() error {
			_, err := LogRankTest([]float64{1, 2, 3}, []bool{true, true, false}, []int{0, 0, 0})
			return err
		}, "fewer than two groups"},
		{"cox no events", func() error {
			d := NewDesign(3)
			d.AddNumeric("x", []float64{1, 2, 3})
			_, err := FitCox([]float64{1, 2, 3}, []bool{false, false, false}, d)
			return err
		}, "no events"},
		{"cox constant covariate", func() error {
			d := NewDesign(3)
			d.AddNumeric("x", []float64{1, 1, 1})
			_, err := FitCox([]float64{1, 2, 3}, []bool{true, false, true}, d)
			return err
		}, "singular"},
		{"cox NaN covariate", func() error { return NewDesign(2).AddNumeric("x", []float64{1, nan}) }, "not a finite number"},
		{"cox single level", func() error { return NewDesign(2).AddCategorical("arm", []string{"a", "a"}) }, "single level"},
		{"cox empty level", func() error { return NewDesign(2).AddCategorical("arm", []string{"a", ""}) }, "empty value"},
		{"paired t one value", func() error { _, err := PairedT([]float64{1, nan}); return err }, "at least 2"},
		{"paired t constant", func() error { _, err := PairedT([]float64{2, 2, 2}); return err }, "constant"},
		{"wilson events > n", func() error { _, err := Wilson(5, 3); return err }, "5 events out of 3"},
		{"quantile empty", func() error { _, err := Quantile7([]float64{nan}, 0.5); return err }, "no values"},
		{"quantile p", func() error { _, err := Quantile7([]float64{1, 2}, 1.5); return err }, "outside [0, 1]"},
		{"describe infinite", func() error { _, err := Describe([]float64{1, inf}); return err }, "infinite"},
	} {
		err := tc.run()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestUndefinedIsNull(t *testing.T) {
	// Describe of one value: sd undefined; R's sd(5) is NA.
	s, err := Describe([]float64{5, nan})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"n":1,"mean":5,"sd":null}`; got != want {
		t.Errorf("Describe(5, NaN) = %s, want %s", got, want)
	}
	// A curve that never reaches 0.5 has no median (print.survfit: NA).
	km, err := KaplanMeier([]float64{1, 2, 3}, []bool{true, false, false})
	if err != nil {
		t.Fatal(err)
	}
	b, err = json.Marshal(km)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"median":null`) {
		t.Errorf("KaplanMeier JSON %s lacks a null median", b)
	}
	// Wilson with no denominator.
	p, _ := Wilson(0, 0)
	if b, _ := json.Marshal(p); string(b) != `{"n":0,"events":0,"rate":null,"lower95":null,"upper95":null}` {
		t.Errorf("Wilson(0, 0) = %s", b)
	}
}

func TestHedgesG(t *testing.T) {
	// Hand calculation for d = (1, 2, 3, 4, 6): mean 3.2, sd = sqrt(3.7),
	// d_z = 3.2/sqrt(3.7) = 1.66360..., J(4) = Γ(2)/(sqrt(2)·Γ(1.5)) =
	// 1/(sqrt(2)·0.886227) = 0.797885, g = 1.327361.
	r, err := PairedT([]float64{1, 2, 3, 4, 6})
	if err != nil {
		t.Fatal(err)
	}
	dz := 3.2 / math.Sqrt(3.7)
	j := 1 / (math.Sqrt2 * math.Gamma(1.5))
	g := j * dz
	h := 1.959963984540054 * j * math.Sqrt(1.0/5+dz*dz/10)
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"cohens_dz", r.CohensDz, dz}, {"hedges_g", r.HedgesG, g},
		{"lower", r.HedgesGLower95, g - h}, {"upper", r.HedgesGUpper95, g + h},
	} {
		if !equalRel(c.got, c.want, 1e-12) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if !equalRel(g, 1.327361, 1e-6) {
		t.Errorf("hand value of g = %v", g)
	}
}
