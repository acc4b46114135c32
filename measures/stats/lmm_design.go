package stats

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"gonum.org/v1/gonum/stat/distuv"
)

// LMMTerm is one fixed effect of FitLMMDesign.
type LMMTerm struct {
	// Term is R's name ("(Intercept)", "t", "t:groupB"), Label
	// kapstat's ("(Intercept)", "t", "t:group=B").
	Term     string  `json:"term"`
	Label    string  `json:"label"`
	Estimate float64 `json:"estimate"`
	SE       float64 `json:"se"`
	// Z is Estimate/SE (lme4's "t value"); P is its two-sided normal
	// p-value 2Φ(−|Z|) and Lower95, Upper95 the normal (Wald) limits
	// Estimate ± 1.959964·SE; lme4 reports neither, having no agreed
	// degrees of freedom, and with hundreds of groups the normal
	// reference is what is used.
	Z       float64 `json:"z"`
	P       float64 `json:"p"`
	Lower95 float64 `json:"lower95"`
	Upper95 float64 `json:"upper95"`
}

// LMMDesignFit is the result of FitLMMDesign. Undefined quantities are NaN
// and are written as null by MarshalJSON.
type LMMDesignFit struct {
	NObs    int       `json:"n_obs"`
	NGroups int       `json:"n_groups"`
	Fixed   []LMMTerm `json:"fixed"`
	// The variance components, as in LMMFit.
	SDIntercept float64 `json:"sd_intercept"`
	SDSlope     float64 `json:"sd_slope"`
	Corr        float64 `json:"corr"`
	SDResidual  float64 `json:"sd_residual"`
	// LogLik is the REML (or ML) log-likelihood as lme4's logLik reports it.
	LogLik      float64   `json:"loglik"`
	REML        bool      `json:"reml"`
	Theta       []float64 `json:"theta"`
	Singular    bool      `json:"singular"`
	Converged   bool      `json:"converged"`
	Evaluations int       `json:"evaluations"`
	Warnings    []string  `json:"warnings"`
	// Cov is the covariance matrix of the fixed effects (vcov in lme4),
	// row-major in the order of Fixed.
	Cov []float64 `json:"-"`
}

// MarshalJSON writes the fit with NaN as null.
func (f LMMDesignFit) MarshalJSON() ([]byte, error) {
	type plain LMMDesignFit
	return marshalFinite(plain(f))
}

// Term returns the fixed effect named name (kapstat's or R's name), or
// false when there is none.
func (f *LMMDesignFit) Term(name string) (LMMTerm, bool) {
	for _, t := range f.Fixed {
		if t.Term == name || t.Label == name {
			return t, true
		}
	}
	return LMMTerm{}, false
}

// lmmxData are the data of FitLMMDesign reduced to per-group
// cross-products. Group g's record in sums, of length stride = 5 + 2k,
// holds n_g, Σt, Σt², then Z_g'X_g (the row of ones, then the row of t,
// k values each) and Z_g'y_g (Σy, Σt·y), with y centred on its mean.
type lmmxData struct {
	k, stride     int
	sums          []float64
	xtx           []float64 // X'X, k×k
	xty           []float64 // X'y
	yty, n, ybar  float64
	interceptOnly bool
	reml          bool

	// When every column of X is, within each group, either a constant c
	// or t times a constant c (intercept, group dummies, t, t × group,
	// patient-level covariates), Z_g'X_g = A_g·E_g with A_g = Z_g'Z_g and
	// E_g's column j equal to c_gj·e_{colType[j]}. If the groups share
	// few distinct vectors c_g (patterns), a deviance evaluation sums the
	// 2×2 matrices A_g P_g A_g and vectors A_g P_g Z_g'y_g per pattern and
	// expands them once: O(groups + patterns·k²) instead of O(groups·k²).
	// pattern is nil otherwise.
	pattern  []int32   // pattern of each group
	patterns []float64 // c vectors, k per pattern
	colType  []int     // 0: constant within groups, 1: t times a constant

	// When the columns are of those two types but the groups have too
	// many patterns (a continuous patient-level covariate such as the
	// baseline score), each group's c_g is kept sparse instead: its
	// nonzero entries (category dummies are mostly zero) at
	// spIdx/spVal[spOff[g]:spOff[g+1]], so that an evaluation costs
	// O(Σ_g nnz_g²) rather than O(groups·k²).
	spOff []int32
	spIdx []int32
	spVal []float64
}

func (d *lmmxData) groups() int { return len(d.sums) / d.stride }

// lmmxPartial are the sums over groups of one deviance evaluation:
// log det of Λ'Z'ZΛ + I, |c_u|², RZX'RZX (k×k, lower triangle) and
// RZX'c_u.
type lmmxPartial struct {
	ldL2, cucu float64
	a, v       []float64
	// per pattern: A P A (3 values) and A P Z'y (2), when d.pattern is set
	pq, pu []float64
}

// FitLMMDesign fits the linear mixed model with arbitrary fixed effects
// and a random intercept and slope per group,
//
//	y_ij = x_ij'β + b0_i + b1_i·t_ij + ε_ij,
//	(b0_i, b1_i) ~ N(0, Σ), Σ unstructured 2×2,  ε_ij ~ N(0, σ²),
//
// by REML (default) or ML, where x_ij is the row of the model matrix: an
// intercept followed by the columns of d (patient-level covariates, group
// dummies, t and products such as t × group, or observation-level
// columns). It matches lme4's lmer(y ~ x + (1 + t | group), REML = !ML),
// for example lmer(y ~ t * arm + age + (t | patient)) with d built by
// AddNumeric("t"), AddCategorical("arm"), AddNumeric("age") and
// AddInteraction("t", t, "arm"); opt.InterceptOnly gives (1 | group).
// FitLMM is the case d = {t}, kept apart for its speed and its BLUPs.
//
// The deviance is profiled as in FitLMM (see there):
//
//	REML: d(θ) = log|L_θ|² + log|R_X|² + (n−k)·(1 + log(2π·r²(θ)/(n−k)))
//	ML:   d(θ) = log|L_θ|² + n·(1 + log(2π·r²(θ)/n))
//
// with k fixed effects. Z'Z is block diagonal, so one evaluation needs,
// per group, only Z_g'Z_g (3 numbers), Z_g'X_g (2k) and Z_g'y_g (2),
// collected in one pass over the observations together with X'X and X'y:
// with M_g = Λ'Z_g'Z_gΛ + I,
//
//	R_X'R_X = X'X − Σ_g X_g'Z_gΛ M_g⁻¹ Λ'Z_g'X_g,
//	|c_u|²  = Σ_g y_g'Z_gΛ M_g⁻¹ Λ'Z_g'y_g,
//
// so an evaluation costs O(groups·k²) whatever the number of
// observations, and the groups are summed in parallel in fixed-size
// chunks (the result does not depend on the number of CPUs). When every
// column is, within each group, a constant or t times a constant (the
// intercept, group dummies, t, t × group, patient-level covariates) and
// the groups share few vectors of those constants (y ~ t * group), the
// sums are collected per such pattern and an evaluation costs O(groups),
// as FitLMM's. θ is found as
// in FitLMM (bounded Nelder–Mead with restarts and Newton polishing) from
// the better of lme4's start (1, 0, 1) and a moment estimate on the
// least-squares residuals; from the moment estimate, Newton steps are
// tried first, and an interior minimum they converge to (positive
// definite Hessian, variance factors above 1e-3) is the estimate without
// the search. The covariance of β̂ is σ̂²(R_X'R_X)⁻¹ (vcov);
// each fixed effect gets normal limits and p-value (LMMTerm).
//
// group[k] is the group index of observation k (≥ 0; unused indices are
// ignored), t[k] its time (the random slope's covariate) and y[k] its
// response; d has one row per observation. Observations with NaN in t or
// y are dropped (d has no missing values: leave such observations out
// before building it). Mismatched lengths, a negative group index, an
// infinite t or y, t without variation (random slope model), no more
// observations than random effects, or collinear columns of the model
// matrix (*AliasedError; lme4 drops such a column with a message) are
// errors. opt.GroupNames, opt.BLUPs are ignored.
func FitLMMDesign(group []int, t, y []float64, d *Design, opt LMMOptions) (*LMMDesignFit, error) {
	return fitLMMX(func() (*lmmxData, []groupSums, int, []string, []string, error) {
		return newLMMXData(group, t, y, d, opt)
	}, opt)
}

// fitLMMX fits the model of the data build returns (FitLMMDesign, FitLMMGroups).
func fitLMMX(build func() (*lmmxData, []groupSums, int, []string, []string, error), opt LMMOptions) (*LMMDesignFit, error) {
	data, gs, singletons, terms, rterms, err := build()
	if err != nil {
		return nil, err
	}
	G := data.groups()
	var theta0, lower []float64
	if opt.InterceptOnly {
		theta0, lower = []float64{1}, []float64{0}
	} else {
		theta0, lower = []float64{1, 0, 1}, []float64{0, math.Inf(-1), 0}
	}
	maxEval := opt.MaxEvaluations
	if maxEval <= 0 {
		maxEval = 10000
	}
	devf := func(th []float64) float64 {
		dev, _, _, _, ok := data.deviance(th)
		if !ok {
			return math.Inf(1)
		}
		return dev
	}
	startEvals := 0
	var theta []float64
	var evals int
	var converged bool
	if !opt.InterceptOnly {
		if th := (&lmmData{groups: gs}).momentStart(); th != nil {
			startEvals = 2
			f0, f1 := devf(th), devf(theta0)
			if f0 < f1 {
				theta0 = th
				// From the moment start, Newton steps usually reach the
				// optimum in a few dozen evaluations; an interior
				// stationary point with a positive definite Hessian is
				// taken as it is, anything else goes to the search.
				x, _, e, ok := newtonSteps(devf, th, f0, lower)
				startEvals += e
				if ok && x[0] >= 1e-3 && x[2] >= 1e-3 {
					theta, evals, converged = x, 0, true
				}
			}
		}
	}
	if theta == nil {
		theta, evals, converged = minimizeBounded(devf, theta0, lower, maxEval)
	}
	dev, beta, cov, sigma2, ok := data.deviance(theta)
	if !ok {
		return nil, errors.New("stats: FitLMMDesign: the fixed-effects matrix is rank deficient at the optimum")
	}
	k := data.k
	fit := &LMMDesignFit{
		NObs: int(data.n), NGroups: G, REML: data.reml, Theta: theta,
		Converged: converged, Evaluations: evals + startEvals, Warnings: []string{},
		LogLik: -dev / 2, Cov: make([]float64, k*k),
	}
	sigma := math.Sqrt(sigma2)
	fit.SDResidual = sigma
	beta[0] += data.ybar
	for j := 0; j < k; j++ {
		for l := 0; l < k; l++ {
			fit.Cov[j*k+l] = sigma2 * cov[j*k+l]
		}
		se := math.Sqrt(fit.Cov[j*k+j])
		z := beta[j] / se
		fit.Fixed = append(fit.Fixed, LMMTerm{
			Term: rterms[j], Label: terms[j], Estimate: beta[j], SE: se, Z: z,
			P:       2 * distuv.UnitNormal.CDF(-math.Abs(z)),
			Lower95: beta[j] - z975*se, Upper95: beta[j] + z975*se,
		})
	}
	if opt.InterceptOnly {
		fit.SDIntercept = sigma * theta[0]
		fit.SDSlope, fit.Corr = math.NaN(), math.NaN()
		fit.Singular = theta[0] < 1e-4
	} else {
		a, b, c := theta[0], theta[1], theta[2]
		fit.SDIntercept = sigma * a
		l2 := math.Hypot(b, c)
		fit.SDSlope = sigma * l2
		fit.Corr = math.NaN()
		if a > 0 && l2 > 0 {
			fit.Corr = b / l2
		}
		fit.Singular = a < 1e-4 || c < 1e-4
	}
	fit.Warnings = lmmWarnings(fit.Singular, G, singletons, converged, maxEval)
	return fit, nil
}

// lmmWarnings are the plain-language warnings of a mixed-model fit.
func lmmWarnings(singular bool, groups, singletons int, converged bool, maxEval int) []string {
	w := []string{}
	if singular {
		w = append(w, "boundary (singular) fit: a random-effect standard deviation is estimated as zero or the intercept-slope correlation as ±1; the data do not support the full random-effects structure")
	}
	if groups < 5 {
		w = append(w, fmt.Sprintf("only %d groups: fewer than 5 groups give unreliable variance estimates", groups))
	}
	if singletons > 0 {
		w = append(w, fmt.Sprintf("%d groups have a single observation", singletons))
	}
	if !converged {
		w = append(w, fmt.Sprintf("the optimiser did not converge within %d evaluations", maxEval))
	}
	return w
}

// deviance evaluates the profiled deviance at theta and returns it with
// β̂ (for centred y), (R_X'R_X)⁻¹ and σ̂²; ok is false when R_X'R_X is not
// positive definite or r² ≤ 0.
func (d *lmmxData) deviance(theta []float64) (dev float64, beta, cov []float64, sigma2 float64, ok bool) {
	k := d.k
	G := d.groups()
	var p lmmxPartial
	nchunks := (G + lmmChunk - 1) / lmmChunk
	partial := d.partial
	if d.pattern != nil || d.spOff != nil {
		partial = d.partialQ
	}
	if nchunks <= 1 {
		p = partial(theta, 0, G)
	} else {
		parts := make([]lmmxPartial, nchunks)
		var wg sync.WaitGroup
		sem := make(chan struct{}, workers())
		for c := 0; c < nchunks; c++ {
			lo := c * lmmChunk
			hi := min(lo+lmmChunk, G)
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				parts[c] = partial(theta, lo, hi)
				<-sem
			}()
		}
		wg.Wait()
		p = parts[0]
		for _, q := range parts[1:] {
			p.ldL2 += q.ldL2
			p.cucu += q.cucu
			for j := range p.a {
				p.a[j] += q.a[j]
			}
			for j := range p.v {
				p.v[j] += q.v[j]
			}
			for j := range p.pq {
				p.pq[j] += q.pq[j]
			}
			for j := range p.pu {
				p.pu[j] += q.pu[j]
			}
		}
	}
	if d.pattern != nil {
		d.expandPatterns(&p)
	}
	// R_X'R_X = X'X − Σ RZX'RZX, factorised in place as L L'.
	l := make([]float64, k*k)
	w := make([]float64, k)
	for j := 0; j < k; j++ {
		for m := 0; m <= j; m++ {
			l[j*k+m] = d.xtx[j*k+m] - p.a[j*k+m]
		}
		w[j] = d.xty[j] - p.v[j]
	}
	ldRX2 := 0.0
	for j := 0; j < k; j++ {
		for m := 0; m <= j; m++ {
			s := l[j*k+m]
			for r := 0; r < m; r++ {
				s -= l[j*k+r] * l[m*k+r]
			}
			if j == m {
				if !(s > 0) {
					return 0, nil, nil, 0, false
				}
				l[j*k+j] = math.Sqrt(s)
				ldRX2 += 2 * math.Log(l[j*k+j])
			} else {
				l[j*k+m] = s / l[m*k+m]
			}
		}
	}
	// c_β = L⁻¹w, β = L'⁻¹c_β, r² = y'y − |c_u|² − |c_β|².
	cb := make([]float64, k)
	cb2 := 0.0
	for j := 0; j < k; j++ {
		s := w[j]
		for r := 0; r < j; r++ {
			s -= l[j*k+r] * cb[r]
		}
		cb[j] = s / l[j*k+j]
		cb2 += cb[j] * cb[j]
	}
	beta = make([]float64, k)
	for j := k - 1; j >= 0; j-- {
		s := cb[j]
		for r := j + 1; r < k; r++ {
			s -= l[r*k+j] * beta[r]
		}
		beta[j] = s / l[j*k+j]
	}
	r2 := d.yty - p.cucu - cb2
	if !(r2 > 0) {
		return 0, nil, nil, 0, false
	}
	n := d.n
	if d.reml {
		dof := n - float64(k)
		dev = p.ldL2 + ldRX2 + dof*(1+math.Log(2*math.Pi*r2/dof))
		sigma2 = r2 / dof
	} else {
		dev = p.ldL2 + n*(1+math.Log(2*math.Pi*r2/n))
		sigma2 = r2 / n
	}
	// (L L')⁻¹ = L'⁻¹ L⁻¹: invert L column by column.
	li := make([]float64, k*k)
	for c := 0; c < k; c++ {
		for j := c; j < k; j++ {
			s := 0.0
			if j == c {
				s = 1
			}
			for r := c; r < j; r++ {
				s -= l[j*k+r] * li[r*k+c]
			}
			li[j*k+c] = s / l[j*k+j]
		}
	}
	cov = make([]float64, k*k)
	for j := 0; j < k; j++ {
		for m := 0; m <= j; m++ {
			s := 0.0
			for r := j; r < k; r++ {
				s += li[r*k+j] * li[r*k+m]
			}
			cov[j*k+m], cov[m*k+j] = s, s
		}
	}
	return dev, beta, cov, sigma2, !math.IsNaN(dev)
}

// partial accumulates groups lo..hi−1 of the penalised least-squares
// system at theta (see FitLMMDesign) through P_g = Λ M_g⁻¹ Λ', with the
// explicit inverse of each 2×2 (or 1×1) M_g.
func (d *lmmxData) partial(theta []float64, lo, hi int) lmmxPartial {
	k, st := d.k, d.stride
	p := lmmxPartial{a: make([]float64, k*k), v: make([]float64, k)}
	r1 := make([]float64, k)
	r2 := make([]float64, k)
	var ld logDetSum // log|L_θ|² = Σ log det M_g
	a := p.a
	for g := lo; g < hi; g++ {
		rec := d.sums[g*st : (g+1)*st]
		zx0 := rec[3 : 3+k]
		zx1 := rec[3+k : 3+2*k]
		zy0, zy1 := rec[3+2*k], rec[4+2*k]
		if d.interceptOnly {
			th := theta[0]
			m := th*th*rec[0] + 1
			ld.add(m)
			inv := 1 / m
			z := th * zy0
			p.cucu += z * z * inv
			for j := 0; j < k; j++ {
				r1[j] = th * zx0[j]
				p.v[j] += r1[j] * z * inv
			}
			for j := 0; j < k; j++ {
				rj := r1[j] * inv
				row := a[j*k : j*k+j+1]
				for m := range row {
					row[m] += rj * r1[m]
				}
			}
			continue
		}
		// P = Λ M⁻¹ Λ' (2×2), so that RZX'RZX = (Z'X)'P(Z'X),
		// RZX'c_u = (Z'X)'P(Z'y) and |c_u|² = (Z'y)'P(Z'y).
		det, p00, p01, p11 := groupP(theta, rec[0], rec[1], rec[2])
		ld.add(det)
		w0 := p00*zy0 + p01*zy1
		w1 := p01*zy0 + p11*zy1
		p.cucu += zy0*w0 + zy1*w1
		for j := 0; j < k; j++ {
			x0, x1 := zx0[j], zx1[j]
			r1[j] = p00*x0 + p01*x1
			r2[j] = p01*x0 + p11*x1
			p.v[j] += x0*w0 + x1*w1
		}
		for j := 0; j < k; j++ {
			x0, x1 := zx0[j], zx1[j]
			row := a[j*k : j*k+j+1]
			u0, u1 := r1[:len(row)], r2[:len(row)]
			for m := range row {
				row[m] += x0*u0[m] + x1*u1[m]
			}
		}
	}
	p.ldL2 = ld.value()
	return p
}

// partialQ is partial for data with patterns or sparse constants (see
// lmmxData): per group, with M = Λ'AΛ + I (A = Z'Z), P = Λ M⁻¹ Λ',
// Q = A P A and u = A P Z'y, it adds Q and u to the group's pattern, or
// c_j·c_m·Q[type j][type m] and c_j·u[type j] over the group's nonzero
// constants. One function for both, with groupP's arithmetic in line: a
// call a group cost a sixth of the mixed models' time at a million
// patients.
func (d *lmmxData) partialQ(theta []float64, lo, hi int) lmmxPartial {
	k, st := d.k, d.stride
	p := lmmxPartial{a: make([]float64, k*k), v: make([]float64, k)}
	if d.pattern != nil {
		npat := len(d.patterns) / k
		p.pq, p.pu = make([]float64, 3*npat), make([]float64, 2*npat)
	}
	var ld logDetSum
	ta, tb, tc := theta[0], theta[1], theta[2]
	for g := lo; g < hi; g++ {
		rec := d.sums[g*st : (g+1)*st]
		n, sumT, sumTT := rec[0], rec[1], rec[2]
		zy0, zy1 := rec[3+2*k], rec[4+2*k]
		w11 := ta*n + tb*sumT
		w12 := ta*sumT + tb*sumTT
		w22 := tc * sumTT
		m11 := ta*w11 + tb*w12 + 1
		m21 := tc * w12
		m22 := tc*w22 + 1
		det := m11*m22 - m21*m21
		ld.add(det)
		inv := 1 / det
		i11, i21, i22 := m22*inv, -m21*inv, m11*inv
		p00 := ta * ta * i11
		p01 := ta * (tb*i11 + tc*i21)
		p11 := tb*tb*i11 + 2*tb*tc*i21 + tc*tc*i22
		p.cucu += zy0*(p00*zy0+p01*zy1) + zy1*(p01*zy0+p11*zy1)
		// A P, then A P A (symmetric) and A P Z'y.
		ap00 := n*p00 + sumT*p01
		ap01 := n*p01 + sumT*p11
		ap10 := sumT*p00 + sumTT*p01
		ap11 := sumT*p01 + sumTT*p11
		q00, q01, q11 := ap00*n+ap01*sumT, ap00*sumT+ap01*sumTT, ap10*sumT+ap11*sumTT
		u0, u1 := ap00*zy0+ap01*zy1, ap10*zy0+ap11*zy1
		if d.pattern != nil {
			q := p.pq[3*d.pattern[g]:]
			q[0] += q00
			q[1] += q01
			q[2] += q11
			u := p.pu[2*d.pattern[g]:]
			u[0] += u0
			u[1] += u1
			continue
		}
		q := [2][2]float64{{q00, q01}, {q01, q11}}
		u := [2]float64{u0, u1}
		idx := d.spIdx[d.spOff[g]:d.spOff[g+1]]
		val := d.spVal[d.spOff[g]:d.spOff[g+1]]
		for a, j := range idx {
			sj := d.colType[j]
			cj := val[a]
			p.v[j] += cj * u[sj]
			qj := &q[sj]
			row := p.a[int(j)*k:]
			for b, m := range idx[:a+1] {
				row[m] += cj * val[b] * qj[d.colType[m]]
			}
		}
	}
	p.ldL2 = ld.value()
	return p
}

// groupP returns, for a group with n observations, Σt and Σt² at theta,
// det M and P = Λ M⁻¹ Λ' (p00, p01, p11), M = Λ'AΛ + I with A = Z'Z.
func groupP(theta []float64, n, sumT, sumTT float64) (det, p00, p01, p11 float64) {
	ta, tb, tc := theta[0], theta[1], theta[2]
	w11 := ta*n + tb*sumT
	w12 := ta*sumT + tb*sumTT
	w22 := tc * sumTT
	m11 := ta*w11 + tb*w12 + 1
	m21 := tc * w12
	m22 := tc*w22 + 1
	det = m11*m22 - m21*m21
	inv := 1 / det
	i11, i21, i22 := m22*inv, -m21*inv, m11*inv
	p00 = ta * ta * i11
	p01 = ta * (tb*i11 + tc*i21)
	p11 = tb*tb*i11 + 2*tb*tc*i21 + tc*tc*i22
	return det, p00, p01, p11
}

// logDetSum adds up log det M_g over groups: the determinants are
// multiplied up with the binary exponent taken out, one logarithm per
// chunk (as lmmData.partial), huge ones logged one by one.
type logDetSum struct {
	prod, logs float64
	exp2       int
	started    bool
}

func (l *logDetSum) add(det float64) {
	if !l.started {
		l.prod, l.started = 1, true
	}
	if det < 1e100 {
		l.prod *= det
		if l.prod > 1e200 {
			frac, e := math.Frexp(l.prod)
			l.prod, l.exp2 = frac, l.exp2+e
		}
	} else {
		l.logs += math.Log(det)
	}
}

func (l *logDetSum) value() float64 {
	if !l.started {
		return 0
	}
	return l.logs + math.Log(l.prod) + float64(l.exp2)*math.Ln2
}

// expandPatterns adds Σ_patterns E'(A P A)E to p.a and E'(A P Z'y) to
// p.v.
func (d *lmmxData) expandPatterns(p *lmmxPartial) {
	k := d.k
	for pi := 0; pi < len(d.patterns)/k; pi++ {
		c := d.patterns[pi*k : (pi+1)*k]
		q := [2][2]float64{{p.pq[3*pi], p.pq[3*pi+1]}, {p.pq[3*pi+1], p.pq[3*pi+2]}}
		u := [2]float64{p.pu[2*pi], p.pu[2*pi+1]}
		for j := 0; j < k; j++ {
			sj := d.colType[j]
			p.v[j] += c[j] * u[sj]
			for m := 0; m <= j; m++ {
				p.a[j*k+m] += c[j] * c[m] * q[sj][d.colType[m]]
			}
		}
	}
}

// maxPatterns caps the patterns of lmmxData. Each chunk of lmmChunk groups
// sums into its own 5 values per pattern, which are then added up over the
// chunks and expanded with k² operations each, so a deviance evaluation
// costs O(groups + chunks·patterns + patterns·k²): with patterns bounded
// by a constant below lmmChunk that stays O(groups), while a bound that
// grows with the groups (it was a quarter of them) made it quadratic — a
// million patients with age and baseline score as covariates had about
// 250 thousand patterns and took gigabytes and seconds per evaluation.
const maxPatterns = lmmChunk / 8

// findPatterns sets d.colType when every column is, within every group,
// a constant or t times a constant (checked on the observations to a
// relative 1e-12), and then each group's sparse constants, or d.pattern
// when the groups have fewer distinct vectors of those constants than a
// quarter of the groups and than maxPatterns (groupPatterns).
func (d *lmmxData) findPatterns(group []int, t, y []float64, des *Design, pos []int) {
	k, st := d.k, d.stride
	G := d.groups()
	if d.interceptOnly || G < 8 {
		return
	}
	// Candidate constants from the sums: c = Σx/n (type 0) or
	// Σt·x/Σt² (type 1); a column is of a type if every observation
	// agrees.
	ok0 := make([]bool, k)
	ok1 := make([]bool, k)
	for j := range ok0 {
		ok0[j], ok1[j] = true, true
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(math.Abs(a), math.Abs(b)) }
	for i, g := range group {
		if math.IsNaN(t[i]) || math.IsNaN(y[i]) {
			continue
		}
		rec := d.sums[pos[g]*st:]
		for j := 0; j < k; j++ {
			if !ok0[j] && !ok1[j] {
				continue
			}
			x := 1.0
			if j > 0 {
				x = des.Cols[j-1][i]
			}
			if ok0[j] && !near(x, rec[3+j]/rec[0]) {
				ok0[j] = false
			}
			if ok1[j] {
				c := 0.0
				if rec[2] > 0 {
					c = rec[3+k+j] / rec[2]
				}
				if !near(x, t[i]*c) {
					ok1[j] = false
				}
			}
		}
	}
	d.colType = make([]int, k)
	for j := 0; j < k; j++ {
		switch {
		case ok0[j]:
			d.colType[j] = 0
		case ok1[j]:
			d.colType[j] = 1
		default:
			d.colType = nil
			return
		}
	}
	// Each group's constants, kept sparse, then as patterns when there are few.
	d.sparse()
	d.groupPatterns()
}

// sparse keeps each group's vector c_g of nonzero constants (see
// lmmxData.spOff), from the sums, once the columns have types.
func (d *lmmxData) sparse() {
	k, st := d.k, d.stride
	G := d.groups()
	d.spOff = make([]int32, G+1)
	for g := 0; g < G; g++ {
		rec := d.sums[g*st : (g+1)*st]
		for j := 0; j < k; j++ {
			c := 0.0
			if d.colType[j] == 0 {
				c = rec[3+j] / rec[0]
			} else if rec[2] > 0 {
				c = rec[3+k+j] / rec[2]
			}
			if c != 0 {
				d.spIdx = append(d.spIdx, int32(j))
				d.spVal = append(d.spVal, c)
			}
		}
		d.spOff[g+1] = int32(len(d.spIdx))
	}
}

// newLMMXData checks the input of FitLMMDesign and reduces it to per-group
// cross-products. It also returns per-group sums of t and of the
// least-squares residuals for the moment start, the number of groups with
// one observation, and the names of the fixed effects.
func newLMMXData(group []int, t, y []float64, d *Design, opt LMMOptions) (data *lmmxData, gs []groupSums, singletons int, terms, rterms []string, err error) {
	fail := func(format string, a ...any) (*lmmxData, []groupSums, int, []string, []string, error) {
		return nil, nil, 0, nil, nil, fmt.Errorf("stats: FitLMMDesign: "+format, a...)
	}
	if len(group) != len(t) || len(t) != len(y) || d.n != len(y) {
		return fail("lengths differ: group %d, t %d, y %d, design %d", len(group), len(t), len(y), d.n)
	}
	maxG, nobs, ysum, err := scanObservations(group, t, y, -1)
	if err != nil {
		return nil, nil, 0, nil, nil, err
	}
	k := len(d.Cols) + 1
	terms = append([]string{"(Intercept)"}, d.Terms...)
	rterms = append([]string{"(Intercept)"}, d.RTerms...)
	data = &lmmxData{k: k, stride: 5 + 2*k, interceptOnly: opt.InterceptOnly, reml: !opt.ML,
		xtx: make([]float64, k*k), xty: make([]float64, k)}
	data.ybar = ysum / float64(nobs)
	st := data.stride
	sums := make([]float64, (maxG+1)*st)
	x := make([]float64, k)
	nz := make([]int, 0, k)
	x[0] = 1
	for i, g := range group {
		if math.IsNaN(t[i]) || math.IsNaN(y[i]) {
			continue
		}
		for j, c := range d.Cols {
			x[j+1] = c[i]
		}
		ti, yi := t[i], y[i]-data.ybar
		rec := sums[g*st : (g+1)*st]
		rec[0]++
		rec[1] += ti
		rec[2] += ti * ti
		// Only the nonzero entries of the row add anything, and most of a
		// row of category dummies is zero: O(nnz²) rather than O(k²).
		nz = nz[:0]
		for j, v := range x {
			if v != 0 {
				nz = append(nz, j)
			}
		}
		for a, j := range nz {
			v := x[j]
			rec[3+j] += v
			rec[3+k+j] += ti * v
			data.xty[j] += v * yi
			row := data.xtx[j*k:]
			for _, m := range nz[:a+1] {
				row[m] += v * x[m]
			}
		}
		rec[3+2*k] += yi
		rec[4+2*k] += ti * yi
		data.yty += yi * yi
	}
	for j := 0; j < k; j++ {
		for m := 0; m < j; m++ {
			data.xtx[m*k+j] = data.xtx[j*k+m]
		}
	}
	// Collinear columns: the Cholesky factor of X'X scaled to unit
	// diagonal has a pivot below 1e-10 (1 − R² of the column on those
	// before it).
	if j := aliasedColumn(data.xtx, k); j >= 0 {
		return nil, nil, 0, nil, nil, &AliasedError{Term: terms[j]}
	}
	// Keep the groups with observations.
	var index []int
	kept := sums[:0]
	for g := 0; g <= maxG; g++ {
		rec := sums[g*st : (g+1)*st]
		if rec[0] == 0 {
			continue
		}
		if rec[0] == 1 {
			singletons++
		}
		index = append(index, g)
		kept = append(kept, rec...)
	}
	data.sums = kept
	data.n = float64(nobs)
	if err := data.identifiable(opt.InterceptOnly); err != nil {
		return nil, nil, 0, nil, nil, err
	}
	if opt.InterceptOnly {
		return data, nil, singletons, terms, rterms, nil
	}
	pos := make([]int, maxG+1)
	for i, g := range index {
		pos[g] = i
	}
	data.findPatterns(group, t, y, d, pos)
	// Per-group sums of the least-squares residuals for the moment start.
	bols, ok := solveSPD(data.xtx, data.xty, k)
	if !ok {
		return data, nil, singletons, terms, rterms, nil
	}
	gs = make([]groupSums, data.groups())
	for i, g := range group {
		if math.IsNaN(t[i]) || math.IsNaN(y[i]) {
			continue
		}
		r := y[i] - data.ybar - bols[0]
		for j, c := range d.Cols {
			r -= bols[j+1] * c[i]
		}
		gs[pos[g]].add(t[i], r)
	}
	return data, gs, singletons, terms, rterms, nil
}

// add adds an observation at time t with value (or residual) r.
func (s *groupSums) add(t, r float64) {
	s.n++
	s.st += t
	s.stt += t * t
	s.sy += r
	s.sty += t * r
	s.syy += r * r
}

// scanObservations checks the observations of FitLMMDesign and
// FitLMMGroups (a group index below rows when rows ≥ 0, no infinite t or y)
// and returns the largest group index, the number of observations without
// a NaN and the sum of their y.
func scanObservations(group []int, t, y []float64, rows int) (maxG, nobs int, ysum float64, err error) {
	maxG = -1
	for i, g := range group {
		if g < 0 {
			return 0, 0, 0, fmt.Errorf("stats: FitLMMDesign: observation %d: negative group index %d", i, g)
		}
		if rows >= 0 && g >= rows {
			return 0, 0, 0, fmt.Errorf("stats: FitLMMDesign: observation %d: group index %d is not a row of the %d-row group design", i, g, rows)
		}
		if math.IsInf(t[i], 0) || math.IsInf(y[i], 0) {
			return 0, 0, 0, fmt.Errorf("stats: FitLMMDesign: observation %d: infinite value", i)
		}
		if math.IsNaN(t[i]) || math.IsNaN(y[i]) {
			continue
		}
		maxG = max(maxG, g)
		nobs++
		ysum += y[i]
	}
	if nobs == 0 {
		return 0, 0, 0, errors.New("stats: FitLMMDesign: no observations")
	}
	return maxG, nobs, ysum, nil
}

// identifiable checks that the model of d (its groups' sums and n set) can
// be estimated: more observations than random effects and than fixed
// effects, and t varying when there is a random slope.
func (d *lmmxData) identifiable(interceptOnly bool) error {
	G, st, k := d.groups(), d.stride, d.k
	nobs := int(d.n)
	q := 2 * G
	if interceptOnly {
		q = G
	}
	if nobs <= q {
		return fmt.Errorf("stats: FitLMMDesign: %d observations are not more than the %d random effects of %d groups; the variance components cannot be identified", nobs, q, G)
	}
	if nobs <= k {
		return fmt.Errorf("stats: FitLMMDesign: %d observations for %d fixed effects", nobs, k)
	}
	var sT, sTT float64
	for g := 0; g < G; g++ {
		sT += d.sums[g*st+1]
		sTT += d.sums[g*st+2]
	}
	if vt := d.n*sTT - sT*sT; !interceptOnly && !(vt > 1e-12*d.n*sTT) {
		return errors.New("stats: FitLMMDesign: t has no variation; the random slope cannot be estimated")
	}
	return nil
}

// aliasedColumn returns the first column of the k×k cross-product matrix
// a (row-major, symmetric) that is, to 1e-10 in 1 − R², a linear
// combination of the columns before it, or −1 when there is none.
func aliasedColumn(a []float64, k int) int {
	l := make([]float64, k*k)
	for j := 0; j < k; j++ {
		if !(a[j*k+j] > 0) {
			return j
		}
	}
	for j := 0; j < k; j++ {
		for m := 0; m <= j; m++ {
			s := a[j*k+m] / math.Sqrt(a[j*k+j]*a[m*k+m])
			for r := 0; r < m; r++ {
				s -= l[j*k+r] * l[m*k+r]
			}
			if j == m {
				if !(s > 1e-10) {
					return j
				}
				l[j*k+j] = math.Sqrt(s)
			} else {
				l[j*k+m] = s / l[m*k+m]
			}
		}
	}
	return -1
}
