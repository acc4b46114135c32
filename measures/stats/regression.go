package stats

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize/convex/lp"
	"gonum.org/v1/gonum/stat/distuv"
)

// LinearTerm is one coefficient of a linear regression.
type LinearTerm struct {
	// Term is R's name of the coefficient ("(Intercept)", "age",
	// "sexmale"); Label is kapstat's ("(Intercept)", "age", "sex=male").
	Term     string  `json:"term"`
	Label    string  `json:"label"`
	Estimate float64 `json:"estimate"`
	SE       float64 `json:"se"`
	T        float64 `json:"t"`
	P        float64 `json:"p"`
	Lower95  float64 `json:"lower95"`
	Upper95  float64 `json:"upper95"`
}

// LinearFit is the result of FitLinear.
type LinearFit struct {
	// N is the number of observations used; Missing the number left out
	// because y was NaN.
	N       int `json:"n"`
	Missing int `json:"n_missing"`
	// DF is the residual degrees of freedom n − k (k coefficients).
	DF    int          `json:"df"`
	Terms []LinearTerm `json:"terms"`
	// SigmaResidual is the residual standard error sqrt(RSS/DF).
	SigmaResidual float64 `json:"sigma_residual"`
	RSquared      float64 `json:"r_squared"`
}

// MarshalJSON writes the fit with NaN as null.
func (f LinearFit) MarshalJSON() ([]byte, error) {
	type plain LinearFit
	return marshalFinite(plain(f))
}

// Term returns the coefficient named name (kapstat's or R's name), or
// false when there is none.
func (f *LinearFit) Term(name string) (LinearTerm, bool) {
	for _, t := range f.Terms {
		if t.Term == name || t.Label == name {
			return t, true
		}
	}
	return LinearTerm{}, false
}

// AliasedError reports a design whose columns are linearly dependent
// (collinear): R's lm reports such a coefficient as NA ("not defined
// because of singularities"); the fits here refuse the design instead.
type AliasedError struct {
	// Term is the first column (in design order, the intercept first)
	// that is a linear combination of the columns before it.
	Term string
}

func (e *AliasedError) Error() string {
	return fmt.Sprintf("stats: the design is rank deficient: %s is a linear combination of the terms before it (collinear, or a level with no observations)", e.Term)
}

// aliasTol is the relative norm below which a column counts as a linear
// combination of the columns before it, as in R's lm (qr tol = 1e-7).
const aliasTol = 1e-7

// FitLinear fits the linear model y = β0 + Xβ + ε by ordinary least
// squares, as R's lm(y ~ x) with summary and confint: with k coefficients
// (the intercept and the columns of d), n observations and
// df = n − k,
//
//	β̂ = (X'X)⁻¹X'y,  σ̂² = RSS/df,  se(β̂_j) = σ̂·sqrt([(X'X)⁻¹]_jj),
//	t = β̂_j/se,  p = 2·P(T_df > |t|),  95% limits β̂_j ± t_{0.975,df}·se,
//
// computed from the QR decomposition of X. Categorical covariates enter
// through d's treatment coding (R's contr.treatment, reference chosen by
// the caller), so a coefficient is the adjusted difference from the
// reference level.
//
// Observations with a NaN y are left out and counted in Missing (d has no
// missing values). An infinite y, no residual degrees of freedom (n ≤ k),
// or collinear columns (an *AliasedError: R reports NA for such a
// coefficient) are errors.
func FitLinear(y []float64, d *Design) (*LinearFit, error) {
	x, n, k, terms, rterms, missing, err := regressionData(y, d, "FitLinear")
	if err != nil {
		return nil, err
	}
	yy := make([]float64, 0, n)
	for _, v := range y {
		if !math.IsNaN(v) {
			yy = append(yy, v)
		}
	}
	if n <= k {
		return nil, fmt.Errorf("stats: FitLinear: %d observations for %d coefficients: no residual degrees of freedom", n, k)
	}
	ones := make([]float64, n)
	for i := range ones {
		ones[i] = 1
	}
	beta, cov, err := leastSquares(x, n, k, ones, yy, aliasTol, terms)
	if err != nil {
		return nil, err
	}
	var rss, ybar, tss float64
	for _, v := range yy {
		ybar += v
	}
	ybar /= float64(n)
	for i := 0; i < n; i++ {
		fitted := 0.0
		for j := 0; j < k; j++ {
			fitted += x[i*k+j] * beta[j]
		}
		r := yy[i] - fitted
		rss += r * r
		tss += (yy[i] - ybar) * (yy[i] - ybar)
	}
	df := n - k
	sigma2 := rss / float64(df)
	fit := &LinearFit{N: n, Missing: missing, DF: df, SigmaResidual: math.Sqrt(sigma2), RSquared: 1 - rss/tss}
	if tss == 0 || k == 1 {
		// R's summary.lm: r.squared is 0 for an intercept-only model.
		fit.RSquared = 0
	}
	dist := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}
	q := dist.Quantile(0.975)
	for j := 0; j < k; j++ {
		se := math.Sqrt(sigma2 * cov[j*k+j])
		t := beta[j] / se
		fit.Terms = append(fit.Terms, LinearTerm{
			Term: rterms[j], Label: terms[j], Estimate: beta[j], SE: se, T: t,
			P:       2 * dist.Survival(math.Abs(t)),
			Lower95: beta[j] - q*se, Upper95: beta[j] + q*se,
		})
	}
	return fit, nil
}

// regressionData checks y against d and returns the rows with a y as a
// row-major n×k matrix with a leading intercept column.
func regressionData(y []float64, d *Design, fn string) (x []float64, n, k int, terms, rterms []string, missing int, err error) {
	if len(y) != d.n {
		return nil, 0, 0, nil, nil, 0, fmt.Errorf("stats: %s: %d responses for a design of %d rows", fn, len(y), d.n)
	}
	for i, v := range y {
		if math.IsInf(v, 0) {
			return nil, 0, 0, nil, nil, 0, fmt.Errorf("stats: %s: observation %d: infinite response", fn, i)
		}
		if math.IsNaN(v) {
			missing++
		}
	}
	all, k, terms, rterms := d.matrix(true)
	if missing == 0 {
		return all, d.n, k, terms, rterms, 0, nil
	}
	x = make([]float64, 0, (d.n-missing)*k)
	for i, v := range y {
		if !math.IsNaN(v) {
			x = append(x, all[i*k:(i+1)*k]...)
		}
	}
	n = d.n - missing
	if n == 0 {
		return nil, 0, 0, nil, nil, 0, fmt.Errorf("stats: %s: no observations with a response", fn)
	}
	return x, n, k, terms, rterms, missing, nil
}

// leastSquares minimises Σ (w_i z_i − w_i x_i'β)² by the QR decomposition
// of the row-scaled matrix WX and returns β and (X'W²X)⁻¹ (row-major
// k×k). A column whose part orthogonal to the columns before it has a
// norm below tol times its own norm is aliased (R's dqrdc2 criterion).
func leastSquares(x []float64, n, k int, w, z []float64, tol float64, terms []string) (beta, cov []float64, err error) {
	wx := mat.NewDense(n, k, nil)
	wz := mat.NewDense(n, 1, nil)
	norms := make([]float64, k)
	for i := 0; i < n; i++ {
		for j := 0; j < k; j++ {
			v := w[i] * x[i*k+j]
			wx.Set(i, j, v)
			norms[j] += v * v
		}
		wz.Set(i, 0, w[i]*z[i])
	}
	var qr mat.QR
	qr.Factorize(wx)
	var r mat.Dense
	qr.RTo(&r)
	for j := 0; j < k; j++ {
		if !(math.Abs(r.At(j, j)) > tol*math.Sqrt(norms[j])) {
			return nil, nil, &AliasedError{Term: terms[j]}
		}
	}
	var b mat.Dense
	if err := qr.SolveTo(&b, false, wz); err != nil {
		var c mat.Condition
		if !errors.As(err, &c) {
			return nil, nil, fmt.Errorf("stats: least squares: %w", err)
		}
	}
	beta = make([]float64, k)
	for j := range beta {
		beta[j] = b.At(j, 0)
	}
	// (X'W²X)⁻¹ = R⁻¹R⁻ᵀ.
	rt := mat.NewTriDense(k, mat.Upper, nil)
	for i := 0; i < k; i++ {
		for j := i; j < k; j++ {
			rt.SetTri(i, j, r.At(i, j))
		}
	}
	var ri mat.TriDense
	if err := ri.InverseTri(rt); err != nil {
		var c mat.Condition
		if !errors.As(err, &c) {
			return nil, nil, fmt.Errorf("stats: least squares: %w", err)
		}
	}
	var v mat.Dense
	v.Mul(&ri, ri.T())
	cov = make([]float64, k*k)
	for i := 0; i < k; i++ {
		for j := 0; j < k; j++ {
			cov[i*k+j] = v.At(i, j)
		}
	}
	return beta, cov, nil
}

// LogisticTerm is one coefficient of a logistic regression.
type LogisticTerm struct {
	// Term is R's name of the coefficient, Label kapstat's (see
	// LinearTerm).
	Term  string  `json:"term"`
	Label string  `json:"label"`
	Coef  float64 `json:"coef"`
	SE    float64 `json:"se"`
	Z     float64 `json:"z"`
	P     float64 `json:"p"`
	// OddsRatio is exp(Coef); Lower95 and Upper95 are the Wald limits
	// exp(Coef ± 1.959964·SE).
	OddsRatio float64 `json:"odds_ratio"`
	Lower95   float64 `json:"lower95"`
	Upper95   float64 `json:"upper95"`
}

// LogisticFit is the result of FitLogistic.
type LogisticFit struct {
	N       int            `json:"n"`
	Missing int            `json:"n_missing"`
	Events  int            `json:"events"`
	Terms   []LogisticTerm `json:"terms"`
	// Deviance is −2 times the log-likelihood at the estimate;
	// NullDeviance that of the intercept-only model.
	Deviance     float64 `json:"deviance"`
	NullDeviance float64 `json:"null_deviance"`
	DF           int     `json:"df"`
	Iterations   int     `json:"iterations"`
	Converged    bool    `json:"converged"`
	// Warnings are glm's warnings in plain words (no convergence; fitted
	// probabilities numerically 0 or 1).
	Warnings []string `json:"warnings"`
}

// MarshalJSON writes the fit with NaN as null.
func (f LogisticFit) MarshalJSON() ([]byte, error) {
	type plain LogisticFit
	return marshalFinite(plain(f))
}

// Term returns the coefficient named name (kapstat's or R's name), or
// false when there is none.
func (f *LogisticFit) Term(name string) (LogisticTerm, bool) {
	for _, t := range f.Terms {
		if t.Term == name || t.Label == name {
			return t, true
		}
	}
	return LogisticTerm{}, false
}

// ErrSeparation is matched (errors.Is) by the *SeparationError of
// FitLogistic.
var ErrSeparation = errors.New("stats: complete or quasi-complete separation")

// SeparationError reports data in which the outcome is perfectly
// predicted by a linear combination of the covariates for some
// observations (quasi-complete separation) or all of them (complete), so
// that some coefficients have no finite maximum likelihood estimate (Albert
// and Anderson 1984): what glm reports for them is an arbitrary large
// number from the iteration where it stopped. Callers report no estimate.
type SeparationError struct {
	// Complete is set when every observation is perfectly predicted
	// (the deviance goes to 0).
	Complete bool
	// Terms are the coefficients (kapstat's labels, e.g. "g=c") that were still moving off towards ±∞
	// when the iterations stopped (may be empty when that is unclear).
	Terms []string
}

func (e *SeparationError) Error() string {
	msg := "stats: FitLogistic: quasi-complete separation: the outcome is perfectly predicted for some observations, so some odds ratios have no finite estimate"
	if e.Complete {
		msg = "stats: FitLogistic: complete separation: the outcome is perfectly predicted for every observation, so the odds ratios have no finite estimate"
	}
	if len(e.Terms) > 0 {
		msg += " (diverging: " + strings.Join(e.Terms, ", ") + ")"
	}
	return msg
}

// Is reports whether target is ErrSeparation.
func (e *SeparationError) Is(target error) bool { return target == ErrSeparation }

// glm's control: epsilon and maxit of glm.control, and the thresholds of
// the logit link in C (family.c): |η| > 30 is clamped.
const (
	glmEpsilon = 1e-8
	glmMaxIter = 25
	logitClamp = 30
	dblEpsilon = 2.220446049250313e-16
)

// FitLogistic fits the logistic regression
//
//	logit P(y = 1) = β0 + Xβ
//
// by iteratively reweighted least squares exactly as R's glm(y ~ x,
// family = binomial) does (glm.fit: start μ = (y + ½)/2, working response
// z = η + (y − μ)/μ', weights μ'²/(μ(1 − μ)), stop when
// |dev − dev_old|/(|dev| + 0.1) < 1e-8, at most 25 iterations; R's clamping
// of the logit link at |η| > 30). Standard errors are sqrt(diag((X'WX)⁻¹))
// from the last weighted least-squares step (summary.glm, dispersion 1);
// z = β/se, p = 2Φ(−|z|), and odds ratios exp(β) with Wald limits
// exp(β ± 1.959964·se).
//
// Separation is checked first, as Konis (2007) defines it and R's
// detectseparation::detect_separation decides it: with G = diag(2y − 1)X,
// the maximum likelihood estimate has infinite components if and only if
// the linear program
//
//	max 1'Gb  subject to  Gb ≥ 0,  −1 ≤ b ≤ 1
//
// has a positive optimum; it is solved through its dual (k equality
// constraints) with gonum's simplex. Then the result is a
// *SeparationError (errors.Is(err, ErrSeparation)) and no fit: glm would
// return coefficients and standard errors that are artefacts of where its
// iterations stopped, with or without its warning "fitted probabilities
// numerically 0 or 1 occurred".
//
// y takes 0 and 1; NaN marks a missing outcome and is left out (counted in
// Missing). Any other value, no events or no non-events, fewer
// observations than coefficients, or collinear columns (*AliasedError)
// are errors.
func FitLogistic(y []float64, d *Design) (*LogisticFit, error) {
	x, n, k, terms, rterms, missing, err := regressionData(y, d, "FitLogistic")
	if err != nil {
		return nil, err
	}
	yy := make([]float64, 0, n)
	events := 0
	for i, v := range y {
		switch v {
		case 0:
		case 1:
			events++
		default:
			if math.IsNaN(v) {
				continue
			}
			return nil, fmt.Errorf("stats: FitLogistic: observation %d: outcome %g is not 0 or 1", i, v)
		}
		yy = append(yy, v)
	}
	if events == 0 || events == n {
		return nil, fmt.Errorf("stats: FitLogistic: %d events in %d observations: both outcomes are needed", events, n)
	}
	if n < k {
		return nil, fmt.Errorf("stats: FitLogistic: %d observations for %d coefficients", n, k)
	}
	ones := make([]float64, n)
	for i := range ones {
		ones[i] = 1
	}
	// Collinear columns first, with lm's tolerance.
	if _, _, err := leastSquares(x, n, k, ones, yy, aliasTol, terms); err != nil {
		return nil, err
	}
	separated, sepErr := separation(x, n, k, yy)

	mu := make([]float64, n)
	eta := make([]float64, n)
	w := make([]float64, n)
	z := make([]float64, n)
	for i, v := range yy {
		mu[i] = (v + 0.5) / 2
		eta[i] = math.Log(mu[i] / (1 - mu[i]))
	}
	devold := binomialDeviance(yy, mu)
	var beta, cov []float64
	var history [][]float64
	dev := devold
	converged := false
	iter := 0
	for iter = 1; iter <= glmMaxIter; iter++ {
		for i := range yy {
			me := logitMuEta(eta[i])
			z[i] = eta[i] + (yy[i]-mu[i])/me
			w[i] = math.Sqrt(me * me / (mu[i] * (1 - mu[i])))
		}
		beta, cov, err = leastSquares(x, n, k, w, z, math.Min(1e-7, glmEpsilon/1000), terms)
		if err != nil {
			if separated {
				break
			}
			return nil, fmt.Errorf("stats: FitLogistic: iteration %d: %w", iter, err)
		}
		history = append(history, beta)
		for i := 0; i < n; i++ {
			e := 0.0
			for j := 0; j < k; j++ {
				e += x[i*k+j] * beta[j]
			}
			eta[i] = e
			mu[i] = logitLinkInv(e)
		}
		dev = binomialDeviance(yy, mu)
		if math.Abs(dev-devold)/(math.Abs(dev)+0.1) < glmEpsilon {
			converged = true
			break
		}
		devold = dev
	}
	iter = min(iter, glmMaxIter)
	if separated {
		e := &SeparationError{Complete: dev < 1e-6*float64(n)}
		if m := len(history); m >= 2 {
			first, last := history[max(0, m-6)], history[m-1]
			for j := 0; j < k; j++ {
				scale := 0.0
				for i := 0; i < n; i++ {
					scale = math.Max(scale, math.Abs(x[i*k+j]))
				}
				if math.Abs(last[j]-first[j])*scale > 1 {
					e.Terms = append(e.Terms, terms[j])
				}
			}
		}
		return nil, e
	}
	fit := &LogisticFit{N: n, Missing: missing, Events: events, Deviance: dev, DF: n - k,
		Iterations: iter, Converged: converged, Warnings: []string{}}
	if sepErr != nil {
		fit.Warnings = append(fit.Warnings, "the separation check failed ("+sepErr.Error()+"); estimates may be unreliable")
	}
	if !converged {
		fit.Warnings = append(fit.Warnings, fmt.Sprintf("the algorithm did not converge in %d iterations", glmMaxIter))
	}
	for _, m := range mu {
		if m > 1-10*dblEpsilon || m < 10*dblEpsilon {
			fit.Warnings = append(fit.Warnings, "fitted probabilities numerically 0 or 1 occurred")
			break
		}
	}
	ybar := float64(events) / float64(n)
	for i := range mu {
		mu[i] = ybar
	}
	fit.NullDeviance = binomialDeviance(yy, mu)
	for j := 0; j < k; j++ {
		se := math.Sqrt(cov[j*k+j])
		zj := beta[j] / se
		fit.Terms = append(fit.Terms, LogisticTerm{
			Term: rterms[j], Label: terms[j], Coef: beta[j], SE: se, Z: zj,
			P:         2 * distuv.UnitNormal.CDF(-math.Abs(zj)),
			OddsRatio: math.Exp(beta[j]),
			Lower95:   math.Exp(beta[j] - z975*se),
			Upper95:   math.Exp(beta[j] + z975*se),
		})
	}
	return fit, nil
}

// logitLinkInv is R's C_logit_linkinv: e^η/(1 + e^η) with η clamped to
// ±30 (e^η replaced by ε or 1/ε).
func logitLinkInv(eta float64) float64 {
	var t float64
	switch {
	case eta < -logitClamp:
		t = dblEpsilon
	case eta > logitClamp:
		t = 1 / dblEpsilon
	default:
		t = math.Exp(eta)
	}
	return t / (1 + t)
}

// logitMuEta is R's C_logit_mu_eta: dμ/dη = e^η/(1 + e^η)², ε beyond ±30.
func logitMuEta(eta float64) float64 {
	if eta > logitClamp || eta < -logitClamp {
		return dblEpsilon
	}
	o := 1 + math.Exp(eta)
	return math.Exp(eta) / (o * o)
}

// binomialDeviance is Σ −2·log μ_i over y_i = 1 and −2·log(1 − μ_i) over
// y_i = 0 (binomial()$dev.resids summed).
func binomialDeviance(y, mu []float64) float64 {
	var d float64
	for i, v := range y {
		if v == 1 {
			d -= 2 * math.Log(mu[i])
		} else {
			d -= 2 * math.Log(1-mu[i])
		}
	}
	return d
}

// separation reports whether the linear program of Konis (2007) (see
// FitLogistic) has a positive optimum. The primal, with g_i the rows of
// G, is max c'b subject to g_i'b ≥ 0, −1 ≤ b ≤ 1, where c = Σ g_i; its dual
// in standard form is
//
//	min 1'u + 1'v  subject to  −G'λ + u − v = c,  λ, u, v ≥ 0,
//
// with k equality constraints whatever the number of observations, and the
// basis of u_j (c_j ≥ 0) or v_j (c_j < 0) is feasible at the start. The
// columns of X are scaled to a largest absolute value of 1 and repeated
// rows of G are kept once, which changes neither whether the optimum is
// positive nor the solution's support.
func separation(x []float64, n, k int, y []float64) (bool, error) {
	scale := make([]float64, k)
	for i := 0; i < n; i++ {
		for j := 0; j < k; j++ {
			scale[j] = math.Max(scale[j], math.Abs(x[i*k+j]))
		}
	}
	seen := map[string]bool{}
	var rows [][]float64
	key := make([]byte, 0, 8*k)
	for i := 0; i < n; i++ {
		g := make([]float64, k)
		zero := true
		key = key[:0]
		for j := 0; j < k; j++ {
			g[j] = (2*y[i] - 1) * x[i*k+j] / scale[j]
			if g[j] != 0 {
				zero = false
			}
			b := math.Float64bits(g[j])
			key = append(key, byte(b), byte(b>>8), byte(b>>16), byte(b>>24), byte(b>>32), byte(b>>40), byte(b>>48), byte(b>>56))
		}
		if zero || seen[string(key)] {
			continue
		}
		seen[string(key)] = true
		rows = append(rows, g)
	}
	m := len(rows)
	c := make([]float64, k)
	for _, g := range rows {
		for j := range c {
			c[j] += g[j]
		}
	}
	a := mat.NewDense(k, m+2*k, nil)
	for i, g := range rows {
		for j := 0; j < k; j++ {
			a.Set(j, i, -g[j])
		}
	}
	cost := make([]float64, m+2*k)
	basic := make([]int, k)
	for j := 0; j < k; j++ {
		a.Set(j, m+j, 1)
		a.Set(j, m+k+j, -1)
		cost[m+j], cost[m+k+j] = 1, 1
		if c[j] >= 0 {
			basic[j] = m + j
		} else {
			basic[j] = m + k + j
		}
	}
	opt, _, err := lp.Simplex(cost, a, c, 1e-10, basic)
	if err != nil {
		return false, err
	}
	return opt > 1e-6, nil
}
