package stats

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/floats/scalar"
)

// lmmxCase builds the data of a case of testdata/lmmx_fit.csv (written by
// models.R): the group index, t, y and the design of R's formula.
func lmmxCase(t *testing.T, name string) (g []int, x, y []float64, d *Design, opt LMMOptions) {
	t.Helper()
	var file, group, time, resp, by string
	var covs []string
	switch {
	case strings.HasPrefix(name, "sleepstudy_arm"):
		// Reaction ~ Days * arm + age + (Days | Subject)
		file, group, time, resp, by, covs = "sleepstudy_groups.csv", "Subject", "Days", "Reaction", "arm", []string{"age"}
	case strings.HasPrefix(name, "covariates"):
		// score ~ week * program + age + sex + diagnosis + remote + (week | patient)
		file, group, time, resp, by, covs = "lmm_covariates.csv", "patient", "week", "score", "program", []string{"age", "sex", "diagnosis", "remote"}
	case strings.HasPrefix(name, "by_only"):
		// score ~ week * program + (week | patient)
		file, group, time, resp, by = "lmm_covariates.csv", "patient", "week", "score", "program"
	default:
		t.Fatalf("no case %s", name)
	}
	h, rows := readCSV(t, file)
	g, _ = indexLevels(column(t, h, rows, group))
	x = floats(t, column(t, h, rows, time))
	y = floats(t, column(t, h, rows, resp))
	d = NewDesign(len(rows))
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Terms in R's order: t, by, covariates, t:by.
	must(d.AddNumeric(time, x))
	must(d.AddCategorical(by, column(t, h, rows, by)))
	for _, c := range covs {
		v := column(t, h, rows, c)
		if _, err := strconv.ParseFloat(v[0], 64); err == nil {
			must(d.AddNumeric(c, floats(t, v)))
		} else {
			must(d.AddCategorical(c, v))
		}
	}
	must(d.AddInteraction(time, x, by))
	opt = LMMOptions{ML: strings.HasSuffix(name, "_ml"), InterceptOnly: strings.Contains(name, "intercept")}
	return g, x, y, d, opt
}

// TestFitLMMDesignReference compares FitLMMDesign with lmer at the
// optimum ("optimum" rows: the better of BOBYQA and Nelder_Mead refitted
// with tight tolerances) and with lmer as called ("default" rows), to
// 1e-4 relative.
func TestFitLMMDesignReference(t *testing.T) {
	terms := records(t, "lmmx_terms.csv")
	for _, w := range records(t, "lmmx_fit.csv") {
		name, fitKind := w["case"], w["fit"]
		rcall := strings.ReplaceAll(w["call"], ";", ",")
		t.Run(name+"/"+fitKind, func(t *testing.T) {
			g, x, y, d, opt := lmmxCase(t, name)
			fit, err := FitLMMDesign(g, x, y, d, opt)
			if err != nil {
				t.Fatalf("%s: %v", rcall, err)
			}
			if strconv.Itoa(fit.NObs) != w["n_obs"] || strconv.Itoa(fit.NGroups) != w["n_groups"] {
				t.Errorf("%s: n_obs %d, n_groups %d; want %s, %s", rcall, fit.NObs, fit.NGroups, w["n_obs"], w["n_groups"])
			}
			for _, c := range []struct {
				name      string
				got, want float64
			}{
				{"sd_intercept", fit.SDIntercept, num(t, w["sd_intercept"])},
				{"sd_slope", fit.SDSlope, num(t, w["sd_slope"])},
				{"corr", fit.Corr, num(t, w["corr"])},
				{"sd_residual", fit.SDResidual, num(t, w["sd_residual"])},
				{"loglik", fit.LogLik, num(t, w["loglik"])},
			} {
				if math.IsNaN(c.want) != math.IsNaN(c.got) || !math.IsNaN(c.want) && !scalar.EqualWithinAbsOrRel(c.got, c.want, 1e-4, 1e-4) {
					t.Errorf("%s: %s = %.10g, want %.10g", rcall, c.name, c.got, c.want)
				}
			}
			if fit.Singular != (w["singular"] == "1") {
				t.Errorf("%s: singular = %v", rcall, fit.Singular)
			}
			n := 0
			for _, r := range terms {
				if r["case"] != name || r["fit"] != fitKind {
					continue
				}
				n++
				got, ok := fit.Term(r["term"])
				if !ok {
					t.Errorf("%s: no term %s in %+v", rcall, r["term"], fit.Fixed)
					continue
				}
				// Estimates near zero are compared on the scale of their SE.
				est, se := num(t, r["estimate"]), num(t, r["se"])
				if !scalar.EqualWithinAbsOrRel(got.Estimate, est, 1e-4*se, 1e-4) || !scalar.EqualWithinAbsOrRel(got.SE, se, 1e-4, 1e-4) {
					t.Errorf("%s: %s = %.10g (se %.10g), want %.10g (%.10g)", rcall, r["term"], got.Estimate, got.SE, est, se)
				}
				if z := est / se; !scalar.EqualWithinAbsOrRel(got.Lower95, est-1.959963984540054*se, 1e-4*se, 1e-4) ||
					!scalar.EqualWithinAbsOrRel(got.P, 2*0.5*math.Erfc(math.Abs(z)/math.Sqrt2), 1e-4, 1e-4) {
					t.Errorf("%s: %s limits/p %+v, want estimate ± 1.959964·se and p = 2Φ(−|%.6g|)", rcall, r["term"], got, z)
				}
			}
			if n != len(fit.Fixed) {
				t.Errorf("%s: %d fixed effects, lme4 has %d", rcall, len(fit.Fixed), n)
			}
			t.Logf("%s: %d evaluations, theta %v (lme4 %s)", rcall, fit.Evaluations, fit.Theta, w["theta"])
		})
	}
}

// TestFitLMMDesignSpecialCase: with the design {t}, FitLMMDesign is FitLMM.
func TestFitLMMDesignSpecialCase(t *testing.T) {
	h, rows := readCSV(t, "sleepstudy.csv")
	g, _ := indexLevels(column(t, h, rows, "Subject"))
	days := floats(t, column(t, h, rows, "Days"))
	reaction := floats(t, column(t, h, rows, "Reaction"))
	for _, opt := range []LMMOptions{{}, {ML: true}, {InterceptOnly: true}} {
		want, err := FitLMM(g, days, reaction, opt)
		if err != nil {
			t.Fatal(err)
		}
		d := NewDesign(len(days))
		d.AddNumeric("Days", days)
		got, err := FitLMMDesign(g, days, reaction, d, opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range [][2]float64{
			{got.Fixed[0].Estimate, want.Fixed.Intercept.Estimate}, {got.Fixed[0].SE, want.Fixed.Intercept.SE},
			{got.Fixed[1].Estimate, want.Fixed.Slope.Estimate}, {got.Fixed[1].SE, want.Fixed.Slope.SE},
			{got.SDIntercept, want.SDIntercept}, {got.SDResidual, want.SDResidual}, {got.LogLik, want.LogLik},
		} {
			if !scalar.EqualWithinAbsOrRel(c[0], c[1], 1e-6, 1e-6) {
				t.Errorf("%+v: FitLMMDesign %v, FitLMM %v", opt, c[0], c[1])
			}
		}
	}
}

func TestFitLMMDesignErrors(t *testing.T) {
	g, x, y, d, opt := lmmxCase(t, "by_only_reml")
	// A copy of t is collinear with t.
	if err := d.AddNumeric("week2", x); err != nil {
		t.Fatal(err)
	}
	_, err := FitLMMDesign(g, x, y, d, opt)
	if ae, ok := err.(*AliasedError); !ok || ae.Term != "week2" {
		t.Errorf("collinear design: err = %v, want an AliasedError for week2", err)
	}
	if _, err := FitLMMDesign(g[:10], x, y, d, opt); err == nil || !strings.Contains(err.Error(), "lengths differ") {
		t.Errorf("short group: err = %v", err)
	}
}

// TestLMMDesignDevianceAtLme4Theta: the profiled deviance at lme4's θ is
// lme4's −2·logLik to 1e-9, for every case and both of lme4's fits; this
// checks the deviance apart from the optimiser.
func TestLMMDesignDevianceAtLme4Theta(t *testing.T) {
	for _, w := range records(t, "lmmx_fit.csv") {
		g, x, y, d, opt := lmmxCase(t, w["case"])
		data, _, _, _, _, err := newLMMXData(g, x, y, d, opt)
		if err != nil {
			t.Fatal(err)
		}
		var theta []float64
		for _, f := range strings.Fields(w["theta"]) {
			theta = append(theta, num(t, f))
		}
		dev, _, _, _, ok := data.deviance(theta)
		if want := -2 * num(t, w["loglik"]); !ok || !equalRel(dev, want, 1e-9) {
			t.Errorf("%s (%s): deviance at lme4's theta %v = %.12g, want %.12g", w["case"], w["fit"], theta, dev, want)
		}
	}
}

// TestLMMDesignPatterns: y ~ t * program has four patterns of per-patient
// constants (kap and infusion, each also for the patients seen only at
// week 0, whose t-columns are all 0), so the deviance is summed per pattern; it
// must equal the general per-group sum. With patient-level age added
// (sleepstudy: one pattern per subject) the columns still have types and
// each subject's nonzero constants are summed (sparse); it must equal the
// general sum too. With the visit-level remote the general sum is used.
func TestLMMDesignPatterns(t *testing.T) {
	for _, tc := range []struct {
		name     string
		patterns int
		sparse   bool
	}{{"by_only_reml", 4, false}, {"covariates_reml", 0, false}, {"sleepstudy_arm_reml", 0, true}} {
		g, x, y, d, opt := lmmxCase(t, tc.name)
		data, _, _, _, _, err := newLMMXData(g, x, y, d, opt)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(data.patterns) / data.k; got != tc.patterns || (tc.patterns > 0) != (data.pattern != nil) {
			t.Fatalf("%s: %d patterns, want %d", tc.name, got, tc.patterns)
		}
		if got := data.spOff != nil; got != tc.sparse {
			t.Fatalf("%s: sparse constants %v, want %v", tc.name, got, tc.sparse)
		}
		if data.pattern == nil && data.spOff == nil {
			continue
		}
		for _, theta := range [][]float64{{1, 0, 1}, {1.6, -0.05, 0.27}, {0.2, 0.3, 0}} {
			dev, beta, _, _, _ := data.deviance(theta)
			general := *data
			general.pattern, general.spOff = nil, nil
			want, wantBeta, _, _, _ := general.deviance(theta)
			if !equalRel(dev, want, 1e-10) {
				t.Errorf("%s: theta %v: deviance by pattern or sparse %.15g, by group %.15g", tc.name, theta, dev, want)
			}
			for j := range beta {
				if !scalar.EqualWithinAbsOrRel(beta[j], wantBeta[j], 1e-9, 1e-9) {
					t.Errorf("%s: theta %v: beta %v, by group %v", tc.name, theta, beta, wantBeta)
					break
				}
			}
		}
	}
}

// groupDesign builds, for a case whose covariates are all patient-level, the
// one-row-per-group design FitLMMGroups takes: each group's covariates from
// its first observation, the slope's column and its interactions with t = 1.
func groupDesign(t *testing.T, name string, g []int) *Design {
	t.Helper()
	var file, time, by string
	var covs []string
	switch {
	case strings.HasPrefix(name, "sleepstudy_arm"):
		file, time, by, covs = "sleepstudy_groups.csv", "Days", "arm", []string{"age"}
	case strings.HasPrefix(name, "patient_covariates"):
		file, time, by, covs = "lmm_covariates.csv", "week", "program", []string{"age", "sex", "diagnosis"}
	case strings.HasPrefix(name, "by_only"):
		file, time, by = "lmm_covariates.csv", "week", "program"
	}
	h, rows := readCSV(t, file)
	G := 0
	for _, gi := range g {
		G = max(G, gi+1)
	}
	first := make([]int, G)
	for i := range first {
		first[i] = -1
	}
	for i, gi := range g {
		if first[gi] < 0 {
			first[gi] = i
		}
	}
	pick := func(col []string) []string {
		out := make([]string, G)
		for gi, i := range first {
			out[gi] = col[i]
		}
		return out
	}
	ones := make([]float64, G)
	for i := range ones {
		ones[i] = 1
	}
	d := NewDesign(G)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(d.AddNumeric(time, ones))
	must(d.AddCategorical(by, pick(column(t, h, rows, by))))
	for _, c := range covs {
		v := pick(column(t, h, rows, c))
		if _, err := strconv.ParseFloat(v[0], 64); err == nil {
			must(d.AddNumeric(c, floats(t, v)))
		} else {
			must(d.AddCategorical(c, v))
		}
	}
	must(d.AddInteraction(time, ones, by))
	return d
}

// TestLMMGroupsEqualsDesign: FitLMMGroups, from one row of constants per
// group, gives FitLMMDesign's fit of the expanded design (itself checked
// against lme4 above) — by REML and ML, with a few patterns (by_only) and
// with a patient-level numeric covariate (sparse constants).
func TestLMMGroupsEqualsDesign(t *testing.T) {
	for _, name := range []string{"sleepstudy_arm_reml", "sleepstudy_arm_ml", "by_only_reml", "patient_covariates_reml"} {
		caseName := name
		if strings.HasPrefix(name, "patient_covariates") {
			caseName = "covariates_reml"
		}
		g, x, y, d, opt := lmmxCase(t, caseName)
		if strings.HasPrefix(name, "patient_covariates") {
			// the covariates case without the visit-level remote
			d = dropTerms(d, "remote")
		}
		want, err := FitLMMDesign(g, x, y, d, opt)
		if err != nil {
			t.Fatal(err)
		}
		gd := groupDesign(t, name, g)
		got, err := FitLMMGroups(g, x, y, gd, d.vars[0], opt)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		data, _, _, _, _, err := newLMMGroupData(g, x, y, gd, d.vars[0], opt)
		if err != nil {
			t.Fatal(err)
		}
		if patterns := strings.HasPrefix(name, "by_only"); (data.pattern != nil) != patterns || (data.spOff != nil) == patterns {
			t.Errorf("%s: patterns %v, sparse constants %v; want patterns %v", name, data.pattern != nil, data.spOff != nil, patterns)
		}
		if len(got.Fixed) != len(want.Fixed) || got.NGroups != want.NGroups || got.NObs != want.NObs {
			t.Fatalf("%s: %d terms, %d groups, %d observations; want %d, %d, %d", name, len(got.Fixed), got.NGroups, got.NObs,
				len(want.Fixed), want.NGroups, want.NObs)
		}
		if !equalRel(got.LogLik, want.LogLik, 1e-10) {
			t.Errorf("%s: loglik %.12g, want %.12g", name, got.LogLik, want.LogLik)
		}
		for j, w := range want.Fixed {
			f := got.Fixed[j]
			if f.Term != w.Term || !scalar.EqualWithinAbsOrRel(f.Estimate, w.Estimate, 1e-7, 1e-7) || !scalar.EqualWithinAbsOrRel(f.SE, w.SE, 1e-7, 1e-7) {
				t.Errorf("%s: %s = %.10g (SE %.10g), want %s = %.10g (SE %.10g)", name, f.Term, f.Estimate, f.SE, w.Term, w.Estimate, w.SE)
			}
		}
		for _, c := range [][2]float64{{got.SDIntercept, want.SDIntercept}, {got.SDSlope, want.SDSlope}, {got.SDResidual, want.SDResidual}} {
			if !scalar.EqualWithinAbsOrRel(c[0], c[1], 1e-6, 1e-6) {
				t.Errorf("%s: variance components %v %v %v, want %v %v %v", name, got.SDIntercept, got.SDSlope, got.SDResidual,
					want.SDIntercept, want.SDSlope, want.SDResidual)
				break
			}
		}
	}
}

// dropTerms returns d without the columns of variable v.
func dropTerms(d *Design, v string) *Design {
	out := NewDesign(d.n)
	for j := range d.Cols {
		if d.vars[j] != v {
			out.add(d.vars[j], d.Terms[j], d.RTerms[j], d.Cols[j])
		}
	}
	return out
}
