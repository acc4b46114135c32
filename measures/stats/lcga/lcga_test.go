package lcga

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// planted is one simulated trajectory class.
type planted struct {
	share, intercept, slope, sigma float64
}

// simulate draws nPat patients observed at weeks 0…nObs−1; class sizes are
// round(share × nPat) in order, so the planted shares are exact. It returns
// flat observations and each patient's planted class.
func simulate(seed uint64, nPat, nObs int, cls []planted) (group []int, t, y []float64, truth []int) {
	rng := rand.New(rand.NewPCG(seed, 1))
	truth = make([]int, nPat)
	p := 0
	for c, pc := range cls {
		n := int(math.Round(pc.share * float64(nPat)))
		if c == len(cls)-1 {
			n = nPat - p
		}
		for range n {
			truth[p] = c
			p++
		}
	}
	for i := range nPat {
		pc := cls[truth[i]]
		for j := range nObs {
			w := float64(j)
			group = append(group, i)
			t = append(t, w)
			y = append(y, pc.intercept+pc.slope*w+pc.sigma*rng.NormFloat64())
		}
	}
	return group, t, y, truth
}

var phq9 = LabelOptions{MeaningfulChange: 5, Weeks: 8}

// threeClasses are well separated over 8 weekly observations: after 7
// weeks the means are 5.4, 12.4 and 17, and per-patient OLS slopes (SE
// σ/√Σ(t−t̄)² = 2/√42 ≈ 0.31) sit 3.2 SE apart between neighbours.
var threeClasses = []planted{
	{share: 0.55, intercept: 18, slope: -1.8, sigma: 2},
	{share: 0.30, intercept: 18, slope: -0.8, sigma: 2},
	{share: 0.15, intercept: 17, slope: 0.0, sigma: 2},
}

func TestRecoverThreeClasses(t *testing.T) {
	for _, v := range []VarianceModel{SharedVariance, ClassVariance} {
		group, ts, ys, truth := simulate(11, 600, 8, threeClasses)
		r, err := Fit(group, ts, ys, 600, Options{Seed: 1, Variance: v, Label: phq9})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("variance %d: BIC %.1f, logL %.2f, entropy %.3f, converged %v", v, r.BIC, r.LogLik, r.Entropy, r.Converged)
		for _, c := range r.Classes {
			t.Logf("  %+v", c)
		}
		if r.K != 3 {
			t.Fatalf("variance %d: K = %d, want 3 (BIC %v)", v, r.K, r.BIC)
		}
		if !r.Converged {
			t.Errorf("variance %d: not converged", v)
		}
		// Classes are sorted by slope, as the planted ones are, so class c
		// matches planted class c.
		agree := 0
		for i, c := range r.Assigned {
			if c == truth[i] {
				agree++
			}
		}
		if frac := float64(agree) / 600; frac < 0.9 {
			t.Errorf("variance %d: agreement %.3f, want ≥ 0.9", v, frac)
		}
		// Tolerances are 4 standard errors for the smallest class (90
		// patients × 8 observations, Σ(t−t̄)² = 42 per patient):
		//   slope     σ/√(90·42)                     = 0.033 → 0.15
		//   intercept σ·√(1/720 + 3.5²/(90·42))      = 0.136 → 0.6
		//   sigma     σ/√(2·90·8) (per class)        = 0.053 → 0.25
		//   share     √(0.15·0.85/600)               = 0.015 → 0.06
		for c, pc := range threeClasses {
			got := r.Classes[c]
			check(t, "slope", c, got.Slope, pc.slope, 0.15)
			check(t, "intercept", c, got.Intercept, pc.intercept, 0.6)
			check(t, "sigma", c, got.Sigma, pc.sigma, 0.25)
			check(t, "share", c, got.Share, pc.share, 0.06)
		}
		// Labels for PHQ-9 (M = 5 over 8 weeks): −1.8·8 = −14.4 ≤ −10,
		// −0.8·8 = −6.4 ≤ −5, 0·8 = 0.
		wantLabels := []string{RapidImprovement, GradualImprovement, NoChange}
		for c, w := range wantLabels {
			if r.Classes[c].Label != w {
				t.Errorf("variance %d: class %d label %q, want %q", v, c, r.Classes[c].Label, w)
			}
		}
		checkInvariants(t, r, v)
	}
}

func check(t *testing.T, what string, c int, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("class %d %s = %.4f, want %.4f ± %g", c, what, got, want, tol)
	}
}

// checkInvariants recomputes what Result derives from the posteriors.
func checkInvariants(t *testing.T, r *Result, v VarianceModel) {
	t.Helper()
	n := r.Patients
	k := float64(r.K)
	params := 3 * k
	if v == ClassVariance {
		params = 4*k - 1
	}
	if want := -2*r.LogLik + params*math.Log(float64(n)); math.Abs(r.BIC[r.K-1]-want) > 1e-9*math.Abs(want) {
		t.Errorf("BIC[%d] = %v, want −2logL + %v·ln %d = %v", r.K-1, r.BIC[r.K-1], params, n, want)
	}
	counts := make([]int, r.K)
	var ent, share float64
	for g, row := range r.Posterior {
		if row == nil {
			continue
		}
		arg, sum := 0, 0.0
		for c, p := range row {
			sum += p
			if p > row[arg] {
				arg = c
			}
			if p > 0 {
				ent -= p * math.Log(p)
			}
		}
		if math.Abs(sum-1) > 1e-12 {
			t.Fatalf("group %d posteriors sum to %v", g, sum)
		}
		if r.Assigned[g] != arg {
			t.Fatalf("group %d assigned %d, max posterior at %d", g, r.Assigned[g], arg)
		}
		counts[arg]++
	}
	minN := max(0.01*float64(n), 2) // default MinShare
	for c, cl := range r.Classes {
		share += cl.Share
		if cl.Share*float64(n) < minN {
			t.Errorf("class %d share %v below the minimum of %v patients", c, cl.Share, minN)
		}
		if cl.N != counts[c] {
			t.Errorf("class %d N = %d, want %d", c, cl.N, counts[c])
		}
		if c > 0 && cl.Slope < r.Classes[c-1].Slope {
			t.Errorf("classes not sorted by slope: %v", r.Classes)
		}
	}
	if math.Abs(share-1) > 1e-12 {
		t.Errorf("shares sum to %v", share)
	}
	want := 1.0
	if r.K > 1 {
		want = 1 - ent/(float64(n)*math.Log(k))
	}
	if math.Abs(r.Entropy-want) > 1e-12 {
		t.Errorf("entropy %v, want %v", r.Entropy, want)
	}
}

func TestOneClassChosen(t *testing.T) {
	for _, v := range []VarianceModel{SharedVariance, ClassVariance} {
		group, ts, ys, _ := simulate(5, 400, 8, []planted{{share: 1, intercept: 15, slope: -1, sigma: 3}})
		r, err := Fit(group, ts, ys, 400, Options{Seed: 3, Variance: v, Label: phq9})
		if err != nil {
			t.Fatal(err)
		}
		if r.K != 1 {
			t.Fatalf("variance %d: K = %d, want 1 (BIC %v)", v, r.K, r.BIC)
		}
		if r.Entropy != 1 || len(r.Classes) != 1 || r.Classes[0].N != 400 || r.Classes[0].Share != 1 {
			t.Errorf("variance %d: %+v", v, r)
		}
		// −1·8 = −8: between −2M and −M.
		if r.Classes[0].Label != GradualImprovement {
			t.Errorf("label %q", r.Classes[0].Label)
		}
		checkInvariants(t, r, v)
	}
}

// TestOneClassIsOLS: with K = 1 the model is y = a + b·t + e, e ~ N(0, σ²)
// for every observation, so the ML estimates are pooled OLS:
//
//	b = Σ(t−t̄)(y−ȳ) / Σ(t−t̄)²,  a = ȳ − b·t̄,  σ² = RSS/n,
//	logL = −n/2 · (ln(2πσ²) + 1).
//
// By hand for the data below: n = 6, t̄ = 1, ȳ = 85/6, Σ(t−t̄)² = 4,
// Σ(t−t̄)(y−ȳ) = −6, so b = −3/2, a = 85/6 + 3/2 = 47/3;
// Σ(y−ȳ)² = 545/6, RSS = 545/6 − 6²/4 = 491/6, σ² = 491/36.
func TestOneClassIsOLS(t *testing.T) {
	group := []int{0, 0, 0, 1, 1, 2}
	ts := []float64{0, 1, 2, 0, 2, 1}
	ys := []float64{20, 18, 15, 12, 11, 9}

	// The closed form, computed directly.
	n := float64(len(ys))
	var tBar, yBar float64
	for i := range ys {
		tBar += ts[i] / n
		yBar += ys[i] / n
	}
	var sxx, sxy float64
	for i := range ys {
		sxx += (ts[i] - tBar) * (ts[i] - tBar)
		sxy += (ts[i] - tBar) * (ys[i] - yBar)
	}
	b := sxy / sxx
	a := yBar - b*tBar
	var rss float64
	for i := range ys {
		e := ys[i] - a - b*ts[i]
		rss += e * e
	}
	s2 := rss / n
	ll := -n / 2 * (math.Log(2*math.Pi*s2) + 1)

	// The hand values agree with the closed form.
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"b", b, -1.5}, {"a", a, 47.0 / 3}, {"σ²", s2, 491.0 / 36},
	} {
		if math.Abs(c.got-c.want) > 1e-12 {
			t.Fatalf("closed form %s = %v, hand %v", c.name, c.got, c.want)
		}
	}

	r, err := Fit(group, ts, ys, 3, Options{MaxK: 1, Label: phq9})
	if err != nil {
		t.Fatal(err)
	}
	got := r.Classes[0]
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"intercept", got.Intercept, a},
		{"slope", got.Slope, b},
		{"sigma", got.Sigma, math.Sqrt(s2)},
		{"logLik", r.LogLik, ll},
		{"BIC", r.BIC[0], -2*ll + 3*math.Log(3)},
	} {
		if math.Abs(c.got-c.want) > 1e-12*math.Max(1, math.Abs(c.want)) {
			t.Errorf("%s = %.15g, want %.15g", c.name, c.got, c.want)
		}
	}
	if r.K != 1 || !r.Converged || r.Entropy != 1 || got.N != 3 || got.Share != 1 {
		t.Errorf("result %+v", r)
	}
	// −1.5·8 = −12 ≤ −2·5.
	if got.Label != RapidImprovement {
		t.Errorf("label %q", got.Label)
	}

	// Three patients cannot hold two classes of at least two patients each:
	// K ≥ 2 has no start kept, BIC NaN, JSON null.
	r, err = Fit(group, ts, ys, 3, Options{MaxK: 3, Label: phq9})
	if err != nil {
		t.Fatal(err)
	}
	if r.K != 1 || !math.IsNaN(r.BIC[1]) || !math.IsNaN(r.BIC[2]) {
		t.Errorf("K = %d, BIC %v", r.K, r.BIC)
	}
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `,null,null],"log_lik":`) {
		t.Errorf("JSON %s: want null BIC for K = 2, 3", js)
	}
}

// TestVarianceFloor: 30% of patients score exactly 0 every week (a floor
// effect). With a variance per class, that class's variance would go to zero
// and the likelihood to infinity; it stops at the floor, 10⁻³ × the K = 1
// (pooled OLS, ML) residual variance.
func TestVarianceFloor(t *testing.T) {
	group, ts, ys, truth := simulate(3, 600, 8, []planted{
		{share: 0.3, intercept: 0, slope: 0, sigma: 0},
		{share: 0.7, intercept: 18, slope: -1.5, sigma: 2},
	})
	one, err := Fit(group, ts, ys, 600, Options{MaxK: 1, Label: phq9})
	if err != nil {
		t.Fatal(err)
	}
	floor := math.Sqrt(1e-3) * one.Classes[0].Sigma

	r, err := Fit(group, ts, ys, 600, Options{Seed: 1, Variance: ClassVariance, Label: phq9})
	if err != nil {
		t.Fatal(err)
	}
	if r.K != 2 || math.IsInf(r.LogLik, 0) {
		t.Fatalf("K = %d, logL %v, BIC %v; want K = 2", r.K, r.LogLik, r.BIC)
	}
	// Sorted by slope: the improving class first.
	zero := r.Classes[1]
	if math.Abs(zero.Intercept) > 1e-9 || math.Abs(zero.Slope) > 1e-9 || zero.N != 180 || zero.Label != NoChange {
		t.Errorf("zero class %+v", zero)
	}
	if math.Abs(zero.Sigma-floor) > 1e-12*floor {
		t.Errorf("zero class sigma %v, want the floor %v", zero.Sigma, floor)
	}
	for i, c := range r.Assigned {
		if c != 1-truth[i] {
			t.Fatalf("patient %d in class %d, planted %d", i, c, truth[i])
		}
	}
	checkInvariants(t, r, ClassVariance)
}

// TestScreening: screening every start for one iteration and finishing one
// finalist reaches the same three-class optimum as the defaults on
// well-separated data.
func TestScreening(t *testing.T) {
	group, ts, ys, _ := simulate(11, 600, 8, threeClasses)
	def, err := Fit(group, ts, ys, 600, Options{Seed: 1, Label: phq9})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Fit(group, ts, ys, 600, Options{Seed: 1, ScreenIter: 1, Finalists: 1, Label: phq9})
	if err != nil {
		t.Fatal(err)
	}
	if r.K != 3 || math.Abs(r.LogLik-def.LogLik) > 1e-3 {
		t.Fatalf("K = %d, logL %v; defaults K = %d, logL %v", r.K, r.LogLik, def.K, def.LogLik)
	}
	for c := range r.Classes {
		check(t, "slope", c, r.Classes[c].Slope, def.Classes[c].Slope, 1e-3)
		check(t, "intercept", c, r.Classes[c].Intercept, def.Classes[c].Intercept, 1e-3)
	}
}

func TestDeterministic(t *testing.T) {
	group, ts, ys, _ := simulate(11, 600, 8, threeClasses)
	opt := Options{Seed: 42, Label: phq9}
	r1, err := Fit(group, ts, ys, 600, opt)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := Fit(group, ts, ys, 600, opt)
	if err != nil {
		t.Fatal(err)
	}
	prev := runtime.GOMAXPROCS(1)
	r3, err := Fit(group, ts, ys, 600, opt)
	runtime.GOMAXPROCS(prev)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r1, r2) || !reflect.DeepEqual(r1, r3) {
		t.Errorf("same seed, different results:\n%+v\n%+v\n%+v", r1, r2, r3)
	}
	j1, _ := json.Marshal(r1)
	j3, _ := json.Marshal(r3)
	if string(j1) != string(j3) {
		t.Errorf("JSON differs:\n%s\n%s", j1, j3)
	}
}

func TestSparsePatients(t *testing.T) {
	// Groups 0 and 5 have no observations; group 3 has one.
	group := []int{1, 1, 1, 2, 2, 3, 4, 4, 4, 4}
	ts := []float64{0, 1, 2, 0, 3, 0, 0, 1, 2, 3}
	ys := []float64{20, 17, 15, 18, 16, 21, 14, 12, 11, 9}
	r, err := Fit(group, ts, ys, 6, Options{MaxK: 1, Label: phq9})
	if err != nil {
		t.Fatal(err)
	}
	if r.Patients != 4 || r.Classes[0].N != 4 {
		t.Errorf("patients %d, N %d, want 4", r.Patients, r.Classes[0].N)
	}
	for _, g := range []int{0, 5} {
		if r.Posterior[g] != nil || r.Assigned[g] != -1 {
			t.Errorf("group %d: posterior %v, assigned %d", g, r.Posterior[g], r.Assigned[g])
		}
	}
	if r.Assigned[3] != 0 || r.Posterior[3][0] != 1 {
		t.Errorf("group 3: posterior %v, assigned %d", r.Posterior[3], r.Assigned[3])
	}
}

// TestBaselineOnly: every fifth patient has only the baseline observation;
// those patients inform the intercepts only, and the three classes are
// still found.
func TestBaselineOnly(t *testing.T) {
	group, ts, ys, _ := simulate(11, 600, 8, threeClasses)
	var g2 []int
	var t2, y2 []float64
	for j := range group {
		if group[j]%5 == 0 && ts[j] > 0 {
			continue
		}
		g2, t2, y2 = append(g2, group[j]), append(t2, ts[j]), append(y2, ys[j])
	}
	r, err := Fit(g2, t2, y2, 600, Options{Seed: 1, Label: phq9})
	if err != nil {
		t.Fatal(err)
	}
	if r.K != 3 || r.Patients != 600 {
		t.Fatalf("K = %d, patients %d; want 3, 600 (BIC %v)", r.K, r.Patients, r.BIC)
	}
	checkInvariants(t, r, SharedVariance)
}

func TestJSON(t *testing.T) {
	r := &Result{
		K: 2, BIC: []float64{100.5, 90.25}, LogLik: -40, Entropy: 0.8, Converged: true, Patients: 10,
		Classes: []Class{
			{Label: RapidImprovement, N: 6, Share: 0.6, Intercept: 18, Slope: -1.5, Sigma: 2},
			{Label: NoChange, N: 4, Share: 0.4, Intercept: 17, Slope: 0, Sigma: 2},
		},
		Posterior: [][]float64{{1, 0}},
		Assigned:  []int{0},
	}
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"k":2,"bic":[100.5,90.25],"log_lik":-40,"entropy":0.8,"converged":true,"patients":10,"classes":[` +
		`{"label":"rapid improvement","n":6,"share":0.6,"intercept":18,"slope":-1.5,"sigma":2},` +
		`{"label":"no change","n":4,"share":0.4,"intercept":17,"slope":0,"sigma":2}]}`
	if string(js) != want {
		t.Errorf("got  %s\nwant %s", js, want)
	}
}

func TestErrors(t *testing.T) {
	ok := Options{Label: phq9}
	g, ts, ys := []int{0, 0, 1}, []float64{0, 1, 0}, []float64{10, 8, 12}
	nan, inf := math.NaN(), math.Inf(1)
	for _, tc := range []struct {
		name    string
		group   []int
		t, y    []float64
		nGroups int
		opt     Options
		want    error
		index   int // for an *InputError; −1 otherwise
	}{
		{"empty", nil, nil, nil, 1, ok, ErrEmpty, -1},
		{"lengths", []int{0}, []float64{0, 1}, []float64{1, 2}, 1, ok, ErrLength, -1},
		{"nan t", g, []float64{0, nan, 0}, ys, 2, ok, ErrNotFinite, 1},
		{"nan y", g, ts, []float64{10, 8, nan}, 2, ok, ErrNotFinite, 2},
		{"inf y", g, ts, []float64{inf, 8, 12}, 2, ok, ErrNotFinite, 0},
		{"group negative", []int{0, -1, 1}, ts, ys, 2, ok, ErrGroupRange, 1},
		{"group too big", []int{0, 0, 2}, ts, ys, 2, ok, ErrGroupRange, 2},
		{"no groups", g, ts, ys, 0, ok, ErrGroupRange, -1},
		{"one time", g, []float64{3, 3, 3}, ys, 2, ok, ErrNoTimeSpread, -1},
		{"exact line", g, ts, []float64{10, 8, 10}, 2, ok, ErrExactLine, -1},
		{"no meaningful change", g, ts, ys, 2, Options{}, ErrOptions, -1},
		{"negative weeks", g, ts, ys, 2, Options{Label: LabelOptions{MeaningfulChange: 5, Weeks: -1}}, ErrOptions, -1},
		{"negative MaxK", g, ts, ys, 2, Options{MaxK: -1, Label: phq9}, ErrOptions, -1},
		{"MinShare 1", g, ts, ys, 2, Options{MinShare: 1, Label: phq9}, ErrOptions, -1},
		{"NaN Tol", g, ts, ys, 2, Options{Tol: nan, Label: phq9}, ErrOptions, -1},
		{"variance model", g, ts, ys, 2, Options{Variance: 7, Label: phq9}, ErrOptions, -1},
		{"negative Starts", g, ts, ys, 2, Options{Starts: -1, Label: phq9}, ErrOptions, -1},
		{"negative ScreenIter", g, ts, ys, 2, Options{ScreenIter: -1, Label: phq9}, ErrOptions, -1},
		{"negative Finalists", g, ts, ys, 2, Options{Finalists: -2, Label: phq9}, ErrOptions, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Fit(tc.group, tc.t, tc.y, tc.nGroups, tc.opt)
			if !errors.Is(err, tc.want) || r != nil {
				t.Fatalf("got %v, %v; want %v", r, err, tc.want)
			}
			var ie *InputError
			if errors.As(err, &ie) != (tc.index >= 0) || (ie != nil && ie.Index != tc.index) {
				t.Errorf("error %v: want observation %d", err, tc.index)
			}
		})
	}
}

// BenchmarkFit100k is the production scale: 100,000 patients × 8 weekly
// observations, K = 1…4, 10 starts each.
func BenchmarkFit100k(b *testing.B) {
	group, ts, ys, _ := simulate(7, 100_000, 8, threeClasses)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Fit(group, ts, ys, 100_000, Options{Seed: 1, Label: phq9}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestClassifyReproducesFit: classifying the data a model was fitted on gives back the fit's
// own posteriors, assignments, class sizes and entropy (the E-step at the optimum).
func TestClassifyReproducesFit(t *testing.T) {
	group, tt, y, _ := simulate(11, 600, 8, threeClasses)
	n := 600
	r, err := Fit(group, tt, y, n, Options{Seed: 3, Label: phq9})
	if err != nil {
		t.Fatal(err)
	}
	want := *r
	wantPost := append([][]float64(nil), r.Posterior...)
	wantN := make([]int, len(r.Classes))
	for i, c := range r.Classes {
		wantN[i] = c.N
	}
	if err := r.Classify(group, tt, y, n); err != nil {
		t.Fatal(err)
	}
	for g := range wantPost {
		for c := range wantPost[g] {
			if math.Abs(r.Posterior[g][c]-wantPost[g][c]) > 1e-9 {
				t.Fatalf("group %d class %d: posterior %v, fit %v", g, c, r.Posterior[g][c], wantPost[g][c])
			}
		}
	}
	for i, c := range r.Classes {
		if c.N != wantN[i] {
			t.Errorf("class %d: N %d, fit %d", i, c.N, wantN[i])
		}
	}
	if math.Abs(r.Entropy-want.Entropy) > 1e-9 || r.Patients != want.Patients {
		t.Errorf("entropy %v patients %d, fit %v %d", r.Entropy, r.Patients, want.Entropy, want.Patients)
	}
}

// TestClassifyLargerSample: a model fitted on a random 20% of patients assigns all patients
// to the planted classes as well as the full fit does (agreement ≥ 0.9).
func TestClassifyLargerSample(t *testing.T) {
	group, tt, y, truth := simulate(21, 3000, 8, threeClasses)
	var sg []int
	var st, sy []float64
	idx := map[int]int{}
	for i, g := range group {
		if g%5 != 0 {
			continue
		}
		if _, ok := idx[g]; !ok {
			idx[g] = len(idx)
		}
		sg, st, sy = append(sg, idx[g]), append(st, tt[i]), append(sy, y[i])
	}
	r, err := Fit(sg, st, sy, len(idx), Options{Seed: 1, Label: phq9})
	if err != nil {
		t.Fatal(err)
	}
	if r.K != 3 {
		t.Fatalf("K = %d on the sample", r.K)
	}
	if err := r.Classify(group, tt, y, 3000); err != nil {
		t.Fatal(err)
	}
	// Classes are sorted by slope ascending, as the planted ones are.
	agree := 0
	for g, c := range r.Assigned {
		if c == truth[g] {
			agree++
		}
	}
	if frac := float64(agree) / 3000; frac < 0.9 {
		t.Errorf("agreement %.3f < 0.9", frac)
	}
	if r.Patients != 3000 || r.Classes[0].N+r.Classes[1].N+r.Classes[2].N != 3000 {
		t.Errorf("patients %d, sizes %v", r.Patients, r.Classes)
	}
}

// TestModels: Result.Models holds every K's best fit, and the chosen one is
// the Result itself.
func TestModels(t *testing.T) {
	group, ts, ys, _ := simulate(11, 600, 8, threeClasses)
	r, err := Fit(group, ts, ys, 600, Options{Seed: 1, Label: phq9})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Models) != 4 || r.Observations != 600*8 {
		t.Fatalf("%d models, %d observations; want 4, 4800", len(r.Models), r.Observations)
	}
	for k, m := range r.Models {
		k++
		if m == nil || m.K != k || len(m.Classes) != k {
			t.Fatalf("Models[%d] = %+v", k-1, m)
		}
		// 3K parameters with a shared variance: 2K coefficients, 1 variance, K − 1 shares.
		if m.Params != 3*k || m.BIC != r.BIC[k-1] || m.BIC != -2*m.LogLik+float64(3*k)*math.Log(600) {
			t.Errorf("K=%d: params %d, BIC %v, r.BIC %v", k, m.Params, m.BIC, r.BIC[k-1])
		}
		if m.Replicated < 1 || m.Replicated > m.Finalists || m.Finalists > 3 || (k == 1 && m.Finalists != 1) {
			t.Errorf("K=%d: replicated %d of %d finalists", k, m.Replicated, m.Finalists)
		}
		n := 0
		for _, c := range m.Classes {
			n += c.N
		}
		if n != 600 {
			t.Errorf("K=%d: class sizes sum to %d", k, n)
		}
	}
	m := r.Models[r.K-1]
	if m.LogLik != r.LogLik || m.Entropy != r.Entropy || !reflect.DeepEqual(m.Classes, r.Classes) {
		t.Errorf("chosen model %+v differs from the result %+v", m, r)
	}
	// Well-separated planted classes: every finalist reaches the three-class maximum.
	if m.Replicated != m.Finalists {
		t.Errorf("K=3: best log-likelihood reached by %d of %d finalists", m.Replicated, m.Finalists)
	}
}

// TestMinK: K is chosen among MinK…MaxK; K = 1 is still fitted, the K
// between 1 and MinK are not.
func TestMinK(t *testing.T) {
	group, ts, ys, _ := simulate(5, 400, 8, []planted{{share: 1, intercept: 15, slope: -1, sigma: 3}})
	r, err := Fit(group, ts, ys, 400, Options{Seed: 3, MinK: 3, Label: phq9})
	if err != nil {
		t.Fatal(err)
	}
	// One planted class: BIC would choose K = 1 (TestOneClassChosen), so the
	// smallest K allowed wins.
	if r.K != 3 || r.Models[1] != nil || !math.IsNaN(r.BIC[1]) || r.Models[0] == nil || math.IsNaN(r.BIC[0]) || r.Models[3] == nil {
		t.Errorf("K = %d, BIC %v, models %v", r.K, r.BIC, r.Models)
	}
	if r.BIC[0] > r.BIC[2] {
		t.Errorf("BIC %v: K = 1 should be better than K = 3 on one planted class", r.BIC)
	}
	// Three patients cannot hold two classes of two patients each.
	_, err = Fit([]int{0, 0, 1, 1, 2, 2}, []float64{0, 1, 0, 1, 0, 1}, []float64{3, 4, 8, 6, 5, 5}, 3, Options{MinK: 2, MaxK: 2, Label: phq9})
	if !errors.Is(err, ErrNoFit) {
		t.Errorf("err = %v, want ErrNoFit", err)
	}
	_, err = Fit(group, ts, ys, 400, Options{MinK: 5, Label: phq9})
	if !errors.Is(err, ErrOptions) {
		t.Errorf("MinK 5 > MaxK 4: err = %v, want ErrOptions", err)
	}
}
