package stats

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
)

// The expectations in this file were computed by testdata/models.R with
// R 4.2.2, lme4 1.1-31 and survival 3.5-3; each case names its R call.

// designFrom builds a design from the named columns of a testdata CSV:
// a column whose values all parse as numbers is numeric, any other is
// categorical with the reference level given in refs (default: the first
// in sorted order).
func designFrom(t *testing.T, file string, cols []string, refs map[string]string) (*Design, func(string) []float64) {
	t.Helper()
	h, rows := readCSV(t, file)
	d := NewDesign(len(rows))
	for _, c := range cols {
		v := column(t, h, rows, c)
		numeric := true
		for _, s := range v {
			if _, err := strconv.ParseFloat(s, 64); err != nil {
				numeric = false
				break
			}
		}
		var err error
		switch {
		case numeric && refs[c] == "":
			err = d.AddNumeric(c, floats(t, v))
		case refs[c] != "":
			err = d.AddCategoricalRef(c, v, refs[c])
		default:
			err = d.AddCategorical(c, v)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return d, func(name string) []float64 { return floats(t, column(t, h, rows, name)) }
}

func TestFitLinearReference(t *testing.T) {
	terms := records(t, "lm_terms.csv")
	fits := map[string]map[string]string{}
	for _, f := range records(t, "lm_fit.csv") {
		fits[f["case"]] = f
	}
	for _, tc := range []struct {
		name, file, y string
		cols          []string
		refs          map[string]string
	}{
		{"mtcars", "mtcars.csv", "mpg", []string{"wt", "hp", "cyl"}, map[string]string{"cyl": "4"}},
		{"mtcars_ref8", "mtcars.csv", "mpg", []string{"wt", "hp", "cyl"}, map[string]string{"cyl": "8"}},
		{"toothgrowth", "toothgrowth.csv", "len", []string{"supp", "dose"}, nil},
		// R's tension levels are L, M, H: reference L, chosen here.
		{"warpbreaks", "warpbreaks.csv", "breaks", []string{"wool", "tension"}, map[string]string{"tension": "L"}},
		{"intercept_only", "mtcars.csv", "mpg", nil, nil},
	} {
		rcall := strings.ReplaceAll(fits[tc.name]["call"], ";", ",")
		d, col := designFrom(t, tc.file, tc.cols, tc.refs)
		fit, err := FitLinear(col(tc.y), d)
		if err != nil {
			t.Fatalf("%s: %v", rcall, err)
		}
		w := fits[tc.name]
		if strconv.Itoa(fit.N) != w["n"] || strconv.Itoa(fit.DF) != w["df"] ||
			!equalRel(fit.SigmaResidual, num(t, w["sigma"]), 1e-9) || !scalarClose(fit.RSquared, num(t, w["r_squared"]), 1e-9) {
			t.Errorf("%s: n %d, df %d, sigma %.12g, R² %.12g; want %v", rcall, fit.N, fit.DF, fit.SigmaResidual, fit.RSquared, w)
		}
		n := 0
		for _, r := range terms {
			if r["case"] != tc.name {
				continue
			}
			n++
			g, ok := fit.Term(r["term"])
			if !ok {
				t.Errorf("%s: no term %s in %+v", rcall, r["term"], fit.Terms)
				continue
			}
			for _, c := range []struct {
				name      string
				got, want float64
			}{
				{"estimate", g.Estimate, num(t, r["estimate"])}, {"se", g.SE, num(t, r["se"])},
				{"t", g.T, num(t, r["t"])}, {"p", g.P, num(t, r["p"])},
				{"lower95", g.Lower95, num(t, r["lower95"])}, {"upper95", g.Upper95, num(t, r["upper95"])},
			} {
				if !equalRel(c.got, c.want, 1e-6) {
					t.Errorf("%s: %s %s = %.12g, want %.12g", rcall, r["term"], c.name, c.got, c.want)
				}
			}
		}
		if n != len(fit.Terms) {
			t.Errorf("%s: %d terms, R has %d", rcall, len(fit.Terms), n)
		}
	}
}

func scalarClose(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

func TestFitLinearErrors(t *testing.T) {
	// lm(mpg ~ wt + I(2 * wt), mtcars) reports the second coefficient as NA.
	d, col := designFrom(t, "mtcars.csv", []string{"wt"}, nil)
	wt := col("wt")
	twice := make([]float64, len(wt))
	for i, v := range wt {
		twice[i] = 2 * v
	}
	if err := d.AddNumeric("wt2", twice); err != nil {
		t.Fatal(err)
	}
	_, err := FitLinear(col("mpg"), d)
	var ae *AliasedError
	if !errors.As(err, &ae) || ae.Term != "wt2" {
		t.Errorf("collinear design: err = %v, want an AliasedError for wt2", err)
	}
	// Missing responses are left out: mtcars with the first two mpg
	// missing is lm on rows 3..32, n = 30, df = 28.
	d, col = designFrom(t, "mtcars.csv", []string{"wt"}, nil)
	y := col("mpg")
	y[0], y[1] = nan, nan
	fit, err := FitLinear(y, d)
	if err != nil {
		t.Fatal(err)
	}
	if fit.N != 30 || fit.Missing != 2 || fit.DF != 28 {
		t.Errorf("missing y: n %d, missing %d, df %d; want 30, 2, 28", fit.N, fit.Missing, fit.DF)
	}
	// Two observations, two coefficients: no residual df.
	d = NewDesign(2)
	d.AddNumeric("x", []float64{1, 2})
	if _, err := FitLinear([]float64{1, 3}, d); err == nil || !strings.Contains(err.Error(), "no residual degrees of freedom") {
		t.Errorf("n = k: err = %v", err)
	}
}

func TestFitLogisticReference(t *testing.T) {
	terms := records(t, "glm_terms.csv")
	fits := map[string]map[string]string{}
	for _, f := range records(t, "glm_fit.csv") {
		fits[f["case"]] = f
	}
	for _, tc := range []struct {
		name, file, y string
		cols          []string
	}{
		{"infert", "infert.csv", "case", []string{"spontaneous", "induced", "education", "age"}},
		{"esoph", "esoph.csv", "case", []string{"agegp", "alcgp"}},
		{"mtcars", "mtcars.csv", "am", []string{"wt", "hp"}},
		{"overlap", "glm_separation.csv", "y", []string{"overlap"}},
		{"complete", "glm_separation.csv", "y", []string{"x"}},
		{"quasi", "glm_quasi.csv", "y", []string{"g", "z"}},
	} {
		w := fits[tc.name]
		rcall := strings.ReplaceAll(w["call"], ";", ",")
		d, col := designFrom(t, tc.file, tc.cols, nil)
		fit, err := FitLogistic(col(tc.y), d)
		if w["separation"] == "1" {
			// R's glm returns numbers here (with or without its warning);
			// the linear program of models.R finds separation.
			var se *SeparationError
			if !errors.Is(err, ErrSeparation) || !errors.As(err, &se) || fit != nil {
				t.Errorf("%s: separation not reported: fit %+v, err %v", rcall, fit, err)
				continue
			}
			if se.Complete != (tc.name == "complete") {
				t.Errorf("%s: complete = %v", rcall, se.Complete)
			}
			t.Logf("%s: %v", rcall, err)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", rcall, err)
		}
		if strconv.Itoa(fit.N) != w["n"] || strconv.Itoa(fit.Iterations) != w["iter"] || !fit.Converged ||
			!equalRel(fit.Deviance, num(t, w["deviance"]), 1e-9) || !equalRel(fit.NullDeviance, num(t, w["null_deviance"]), 1e-9) {
			t.Errorf("%s: n %d, iter %d, converged %v, deviance %.12g, null %.12g; want %v", rcall, fit.N, fit.Iterations, fit.Converged, fit.Deviance, fit.NullDeviance, w)
		}
		if len(fit.Warnings) != 0 {
			t.Errorf("%s: warnings %q", rcall, fit.Warnings)
		}
		n := 0
		for _, r := range terms {
			if r["case"] != tc.name {
				continue
			}
			n++
			g, ok := fit.Term(r["term"])
			if !ok {
				t.Errorf("%s: no term %s", rcall, r["term"])
				continue
			}
			for _, c := range []struct {
				name      string
				got, want float64
			}{
				{"coef", g.Coef, num(t, r["coef"])}, {"se", g.SE, num(t, r["se"])},
				{"z", g.Z, num(t, r["z"])}, {"p", g.P, num(t, r["p"])},
				{"odds_ratio", g.OddsRatio, num(t, r["odds_ratio"])},
				{"lower95", g.Lower95, num(t, r["lower95"])}, {"upper95", g.Upper95, num(t, r["upper95"])},
			} {
				if !equalRel(c.got, c.want, 1e-6) {
					t.Errorf("%s: %s %s = %.12g, want %.12g", rcall, r["term"], c.name, c.got, c.want)
				}
			}
		}
		if n != len(fit.Terms) {
			t.Errorf("%s: %d terms, R has %d", rcall, len(fit.Terms), n)
		}
	}
}

func TestFitLogisticSeparationTerms(t *testing.T) {
	// glm_quasi: level c of g has no events, so its coefficient goes to −∞
	// (R: coef -19.6 after 17 iterations, no warning).
	d, col := designFrom(t, "glm_quasi.csv", []string{"g", "z"}, nil)
	_, err := FitLogistic(col("y"), d)
	var se *SeparationError
	if !errors.As(err, &se) || strings.Join(se.Terms, ",") != "g=c" {
		t.Errorf("quasi-complete separation: err = %v, want the diverging term g=c", err)
	}
	// Not 0/1.
	d = NewDesign(3)
	d.AddNumeric("x", []float64{1, 2, 3})
	if _, err := FitLogistic([]float64{0, 2, 1}, d); err == nil || !strings.Contains(err.Error(), "not 0 or 1") {
		t.Errorf("outcome 2: err = %v", err)
	}
	if _, err := FitLogistic([]float64{1, 1, 1}, d); err == nil || !strings.Contains(err.Error(), "both outcomes") {
		t.Errorf("no non-events: err = %v", err)
	}
}

func TestDesign(t *testing.T) {
	d := NewDesign(5)
	grp := []string{"b", "a", "c", "b", "b"}
	if err := d.AddCategoricalRef("g", grp, MostFrequent(grp)); err != nil {
		t.Fatal(err)
	}
	if err := d.AddInteraction("t", []float64{1, 2, 3, 4, 5}, "g"); err != nil {
		t.Fatal(err)
	}
	want := []string{"g=a", "g=c", "t:g=a", "t:g=c"}
	wantR := []string{"ga", "gc", "t:ga", "t:gc"}
	if strings.Join(d.Terms, " ") != strings.Join(want, " ") || strings.Join(d.RTerms, " ") != strings.Join(wantR, " ") {
		t.Errorf("terms %v / %v, want %v / %v", d.Terms, d.RTerms, want, wantR)
	}
	// t:g=c is t on the rows of level c: 0, 0, 3, 0, 0.
	if c := d.Cols[3]; c[2] != 3 || c[0] != 0 || c[3] != 0 {
		t.Errorf("t:g=c = %v", c)
	}
	if err := d.AddCategoricalRef("h", grp, "z"); err == nil {
		t.Error("a reference level that does not occur is accepted")
	}
	if err := d.AddInteraction("t", []float64{1, 2, 3, 4, 5}, "nope"); err == nil {
		t.Error("an interaction with a variable not in the design is accepted")
	}
	if m := MostFrequent([]string{"y", "x", "", "", "", "y", "x"}); m != "x" {
		t.Errorf("MostFrequent tie = %q, want x (first in sorted order)", m)
	}
}

func TestFitCoxCountingReference(t *testing.T) {
	terms := records(t, "coxcp_terms.csv")
	fits := map[string]map[string]string{}
	for _, f := range records(t, "coxcp_fit.csv") {
		fits[f["case"]] = f
	}
	for _, tc := range []struct {
		name, file, start, stop, event string
		cols                           []string
	}{
		// transplant is the time-varying covariate: 0 until the transplant, 1 after.
		{"heart", "heart.csv", "start", "stop", "event", []string{"age", "transplant", "surgery"}},
		// survSplit(veteran) with karno_late time-varying and celltype (4 levels).
		{"veteran_split", "veteran_split.csv", "tstart", "time", "status", []string{"trt", "karno", "karno_late", "celltype"}},
	} {
		w := fits[tc.name]
		rcall := strings.ReplaceAll(w["call"], ";", ",")
		d, col := designFrom(t, tc.file, tc.cols, nil)
		ev := col(tc.event)
		event := make([]bool, len(ev))
		for i, v := range ev {
			event[i] = v == 1
		}
		fit, err := FitCoxCounting(col(tc.start), col(tc.stop), event, d)
		if err != nil {
			t.Fatalf("%s: %v", rcall, err)
		}
		var want []map[string]string
		for _, r := range terms {
			if r["case"] == tc.name {
				want = append(want, r)
			}
		}
		if len(fit.Terms) != len(want) {
			t.Fatalf("%s: %d terms, want %d", rcall, len(fit.Terms), len(want))
		}
		for i, r := range want {
			g := fit.Terms[i]
			if g.Term != r["term"] || !equalRel(g.Coef, num(t, r["coef"]), 1e-6) || !equalRel(g.SE, num(t, r["se"]), 1e-6) ||
				!equalRel(g.HazardRatio, num(t, r["hazard_ratio"]), 1e-6) || !equalRel(g.Lower95, num(t, r["lower95"]), 1e-6) ||
				!equalRel(g.Upper95, num(t, r["upper95"]), 1e-6) || !equalRel(g.P, num(t, r["p"]), 1e-6) {
				t.Errorf("%s: term %+v, want %v", rcall, g, r)
			}
		}
		if strconv.Itoa(fit.N) != w["n"] || strconv.Itoa(fit.Events) != w["events"] ||
			!equalRel(fit.LogLik[0], num(t, w["loglik0"]), 1e-9) || !equalRel(fit.LogLik[1], num(t, w["loglik"]), 1e-9) ||
			!equalRel(fit.LRChisq, num(t, w["lr_chisq"]), 1e-6) || strconv.Itoa(fit.LRDF) != w["df"] || !equalRel(fit.LRP, num(t, w["p"]), 1e-6) {
			t.Errorf("%s: fit %+v, want %v", rcall, fit, w)
		}
	}
}

// TestFitCoxCountingRightCensored: with every start at 0 the risk sets are
// those of right-censored data, so the fit is FitCox's on the same rows.
func TestFitCoxCountingRightCensored(t *testing.T) {
	times, ev, _ := readSurvival(t, "surv3.csv")
	h, rows := readCSV(t, "surv3.csv")
	mk := func() *Design {
		d := NewDesign(len(times))
		d.AddCategorical("arm", column(t, h, rows, "arm"))
		d.AddNumeric("age", floats(t, column(t, h, rows, "age")))
		return d
	}
	want, err := FitCox(times, ev, mk())
	if err != nil {
		t.Fatal(err)
	}
	got, err := FitCoxCounting(make([]float64, len(times)), times, ev, mk())
	if err != nil {
		t.Fatal(err)
	}
	for j := range want.Terms {
		if !equalRel(got.Terms[j].Coef, want.Terms[j].Coef, 1e-10) || !equalRel(got.Terms[j].SE, want.Terms[j].SE, 1e-10) {
			t.Errorf("term %d: counting %+v, right-censored %+v", j, got.Terms[j], want.Terms[j])
		}
	}
	d := NewDesign(2)
	d.AddNumeric("x", []float64{1, 2})
	if _, err := FitCoxCounting([]float64{0, 5}, []float64{3, 5}, []bool{true, true}, d); err == nil || !strings.Contains(err.Error(), "not before stop") {
		t.Errorf("start = stop: err = %v", err)
	}
}
