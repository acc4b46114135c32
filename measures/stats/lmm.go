package stats

import (
	"errors"
	"fmt"
	"math"
	"sync"
)

// LMMOptions selects the variant of the linear mixed model fitted by FitLMM.
type LMMOptions struct {
	// ML fits by maximum likelihood; the default is REML (lme4's REML = TRUE).
	ML bool
	// InterceptOnly fits y ~ 1 + t + (1 | group) instead of the random
	// intercept and slope model.
	InterceptOnly bool
	// GroupNames, when not nil, labels group index g as GroupNames[g] in the
	// BLUPs; it must have at least as many entries as the largest index + 1.
	// Without it groups are labelled by their decimal index.
	GroupNames []string
	// BLUPs requests the conditional modes of the random effects per group.
	BLUPs bool
	// MaxEvaluations caps the deviance evaluations of the optimiser
	// (default 10000).
	MaxEvaluations int
}

// Estimate is a fixed-effect estimate with its standard error.
type Estimate struct {
	Estimate float64 `json:"estimate"`
	SE       float64 `json:"se"`
}

// FixedEffects are the population intercept and slope.
type FixedEffects struct {
	Intercept Estimate `json:"intercept"`
	Slope     Estimate `json:"slope"`
}

// BLUP holds the conditional modes of one group's random effects
// (ranef in lme4): the group's deviation from the fixed intercept and slope.
// Slope is NaN for the random-intercept-only model.
type BLUP struct {
	Group     string  `json:"group"`
	Intercept float64 `json:"intercept"`
	Slope     float64 `json:"slope"`
}

// MarshalJSON writes the BLUP with NaN as null.
func (b BLUP) MarshalJSON() ([]byte, error) {
	type plain BLUP
	return marshalFinite(plain(b))
}

// LMMFit is the result of FitLMM. Undefined quantities are NaN and are
// written as null by MarshalJSON.
type LMMFit struct {
	NObs    int          `json:"n_obs"`
	NGroups int          `json:"n_groups"`
	Fixed   FixedEffects `json:"fixed"`
	// SDIntercept and SDSlope are the standard deviations of the random
	// intercept and slope; Corr is their correlation (NaN when either
	// standard deviation is zero, and for the intercept-only model).
	SDIntercept float64 `json:"sd_intercept"`
	SDSlope     float64 `json:"sd_slope"`
	Corr        float64 `json:"corr"`
	SDResidual  float64 `json:"sd_residual"`
	// LogLik is the restricted (REML fits) or ordinary (ML fits)
	// log-likelihood at the optimum, −d(θ̂)/2, as lme4's logLik reports it.
	LogLik float64 `json:"loglik"`
	REML   bool    `json:"reml"`
	// Theta is the relative covariance factor at the optimum in lme4's
	// order (Lambda[0,0], Lambda[1,0], Lambda[1,1]); one value for the
	// intercept-only model.
	Theta []float64 `json:"theta"`
	// Singular reports a boundary fit (lme4's isSingular, tolerance 1e-4).
	Singular    bool     `json:"singular"`
	Converged   bool     `json:"converged"`
	Evaluations int      `json:"evaluations"`
	Warnings    []string `json:"warnings"`
	BLUPs       []BLUP   `json:"blups,omitempty"`
}

// MarshalJSON writes the fit with NaN as null.
func (f LMMFit) MarshalJSON() ([]byte, error) {
	type plain LMMFit
	return marshalFinite(plain(f))
}

// groupSums are the sufficient statistics of one group: the number of
// observations and the sums of t, t², y, t·y and y² (y centred on its
// overall mean). Everything the profiled deviance needs from a group is in
// them (Σy² only for the starting value).
type groupSums struct {
	n, st, stt, sy, sty, syy float64
}

// lmmData are the data of a fit reduced to sufficient statistics.
type lmmData struct {
	groups []groupSums
	// totals over all observations
	n, st, stt, sy, sty, syy float64
	ybar                     float64
	interceptOnly            bool
	reml                     bool
}

// lmmState is everything computed by one evaluation of the profiled deviance.
type lmmState struct {
	dev    float64
	beta   [2]float64 // for centred y
	rx     [3]float64 // Cholesky factor of RX'RX: r11, r21, r22
	sigma2 float64
	ok     bool
}

// lmmChunk is the number of groups one goroutine sums at a time. A fixed
// chunk size keeps the order of floating-point sums, and so the result,
// independent of the number of CPUs.
const lmmChunk = 1 << 12

// partial sums accumulated over groups in one deviance evaluation.
type lmmPartial struct {
	ldL2                  float64 // log det of Lambda'Z'Z Lambda + I
	cucu                  float64 // |c_u|²
	a11, a21, a22, v1, v2 float64 // Σ RZX'RZX and Σ RZX'c_u
}

// FitLMM fits the linear mixed model
//
//	y_ij = β0 + β1·t_ij + b0_i + b1_i·t_ij + ε_ij,
//	(b0_i, b1_i) ~ N(0, Σ) with Σ unstructured 2×2,  ε_ij ~ N(0, σ²),
//
// for observations j of group i, by REML (default) or ML. It matches
// lme4's lmer(y ~ 1 + t + (1 + t | group), REML = !ML); with
// opt.InterceptOnly the random slope is dropped: lmer(y ~ 1 + t + (1 | group)).
//
// As in lme4, Σ = σ²·ΛΛ' with Λ lower triangular, θ = (Λ11, Λ21, Λ22),
// Λ11, Λ22 ≥ 0, and the deviance is profiled over β and σ²:
//
//	ML:   d(θ) = log|L_θ|² + n·(1 + log(2π·r²(θ)/n))
//	REML: d(θ) = log|L_θ|² + log|R_X|² + (n−p)·(1 + log(2π·r²(θ)/(n−p)))
//
// where L_θ is the Cholesky factor of Λ'Z'ZΛ + I, R_X that of the
// Schur complement for the fixed effects, and r² the penalised residual sum
// of squares. Z'Z is block diagonal with one 2×2 block per group, so each
// evaluation works from per-group sums of 1, t, t², y and t·y collected
// once: its cost is O(groups), with no n×n matrix, and the groups are
// summed in parallel in fixed-size chunks (the result does not depend on
// the number of CPUs). θ is found by a bounded Nelder–Mead search with
// restarts, polished by Newton steps, starting from lme4's θ = (1, 0, 1);
// lme4 uses BOBYQA for the same bounded problem and stops earlier, so its
// estimates can differ from the optimum in the fifth digit where the
// deviance is flat (see testdata/reference.R). LogLik is −d(θ̂)/2, as
// logLik reports it for the fit. Singular follows lme4's isSingular: a
// bounded θ below 1e-4.
//
// group[k] is the group index (0 ≤ group[k], any set of indices; unused
// indices are ignored) of observation k with time t[k] and response y[k].
// Observations with NaN in t or y are dropped explicitly (they do not enter
// n_obs). FitLMM returns an error when the slices differ in length, a
// group index is negative, t or y is infinite, t has no variation, or
// there are not more observations than random effects (lme4's
// check.nobs.vs.nRE).
func FitLMM(group []int, t, y []float64, opt LMMOptions) (*LMMFit, error) {
	d, index, singletons, err := newLMMData(group, t, y, opt)
	if err != nil {
		return nil, err
	}
	nobs := int(d.n)
	G := len(d.groups)
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
		st := d.deviance(th, nil)
		if !st.ok {
			return math.Inf(1)
		}
		return st.dev
	}
	startEvals := 0
	if !opt.InterceptOnly {
		if th := d.momentStart(); th != nil {
			startEvals = 2
			if devf(th) < devf(theta0) {
				theta0 = th
			}
		}
	}
	theta, evals, converged := minimizeBounded(devf, theta0, lower, maxEval)
	evals += startEvals

	fit := &LMMFit{
		NObs:        nobs,
		NGroups:     G,
		REML:        d.reml,
		Theta:       theta,
		Converged:   converged,
		Evaluations: evals,
		Warnings:    []string{},
	}
	var blups []BLUP
	if opt.BLUPs {
		blups = make([]BLUP, G)
		for i, g := range index {
			name := ""
			if opt.GroupNames != nil {
				name = opt.GroupNames[g]
			} else {
				name = fmt.Sprint(g)
			}
			blups[i].Group = name
		}
	}
	st := d.deviance(theta, blups)
	if !st.ok {
		return nil, errors.New("stats: FitLMM: the model matrix is rank deficient at the optimum")
	}
	sigma := math.Sqrt(st.sigma2)
	fit.SDResidual = sigma
	fit.LogLik = -st.dev / 2
	fit.Fixed.Intercept.Estimate = st.beta[0] + d.ybar
	fit.Fixed.Slope.Estimate = st.beta[1]
	// vcov(β) = σ²·(R_X'R_X)⁻¹ with R_X'R_X = LLᵀ, L = [[r11,0],[r21,r22]].
	r11, r21, r22 := st.rx[0], st.rx[1], st.rx[2]
	// L⁻¹ = [[1/r11, 0], [−r21/(r11 r22), 1/r22]]; (LLᵀ)⁻¹ = L⁻ᵀL⁻¹.
	i11, i21, i22 := 1/r11, -r21/(r11*r22), 1/r22
	v00 := i11*i11 + i21*i21
	v11 := i22 * i22
	fit.Fixed.Intercept.SE = sigma * math.Sqrt(v00)
	fit.Fixed.Slope.SE = sigma * math.Sqrt(v11)
	if opt.InterceptOnly {
		fit.SDIntercept = sigma * theta[0]
		fit.SDSlope = math.NaN()
		fit.Corr = math.NaN()
		fit.Singular = theta[0] < 1e-4
	} else {
		a, b, c := theta[0], theta[1], theta[2]
		fit.SDIntercept = sigma * a
		l2 := math.Hypot(b, c)
		fit.SDSlope = sigma * l2
		if a > 0 && l2 > 0 {
			fit.Corr = b / l2
		} else {
			fit.Corr = math.NaN()
		}
		fit.Singular = a < 1e-4 || c < 1e-4
	}
	if fit.Singular {
		fit.Warnings = append(fit.Warnings, "boundary (singular) fit: a random-effect standard deviation is estimated as zero or the intercept-slope correlation as ±1; the data do not support the full random-effects structure")
	}
	if G < 5 {
		fit.Warnings = append(fit.Warnings, fmt.Sprintf("only %d groups: fewer than 5 groups give unreliable variance estimates", G))
	}
	if singletons > 0 {
		fit.Warnings = append(fit.Warnings, fmt.Sprintf("%d groups have a single observation", singletons))
	}
	if !converged {
		fit.Warnings = append(fit.Warnings, fmt.Sprintf("the optimiser did not converge within %d evaluations", maxEval))
	}
	fit.BLUPs = blups
	return fit, nil
}

// deviance evaluates the profiled deviance at theta. When blups is not nil
// (one per group), it also fills in the conditional modes b = Λu with
// u_i = L_i⁻ᵀ(c_u,i − RZX_i·β).
func (d *lmmData) deviance(theta []float64, blups []BLUP) lmmState {
	var p lmmPartial
	nchunks := (len(d.groups) + lmmChunk - 1) / lmmChunk
	if nchunks <= 1 {
		p = d.partial(theta, d.groups)
	} else {
		parts := make([]lmmPartial, nchunks)
		var wg sync.WaitGroup
		sem := make(chan struct{}, workers())
		for c := 0; c < nchunks; c++ {
			lo := c * lmmChunk
			hi := min(lo+lmmChunk, len(d.groups))
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				parts[c] = d.partial(theta, d.groups[lo:hi])
				<-sem
			}()
		}
		wg.Wait()
		for _, q := range parts {
			p.ldL2 += q.ldL2
			p.cucu += q.cucu
			p.a11 += q.a11
			p.a21 += q.a21
			p.a22 += q.a22
			p.v1 += q.v1
			p.v2 += q.v2
		}
	}
	var s lmmState
	// R_X'R_X = X'X − Σ RZX'RZX; X'y − Σ RZX'c_u.
	m11 := d.n - p.a11
	m21 := d.st - p.a21
	m22 := d.stt - p.a22
	w1 := d.sy - p.v1
	w2 := d.sty - p.v2
	if !(m11 > 0) {
		return s
	}
	r11 := math.Sqrt(m11)
	r21 := m21 / r11
	r22sq := m22 - r21*r21
	if !(r22sq > 0) {
		return s
	}
	r22 := math.Sqrt(r22sq)
	cb1 := w1 / r11
	cb2 := (w2 - r21*cb1) / r22
	b2 := cb2 / r22
	b1 := (cb1 - r21*b2) / r11
	r2 := d.syy - p.cucu - cb1*cb1 - cb2*cb2
	if !(r2 > 0) {
		return s
	}
	n := d.n
	var dev float64
	if d.reml {
		dof := n - 2
		dev = p.ldL2 + 2*math.Log(r11*r22) + dof*(1+math.Log(2*math.Pi*r2/dof))
		s.sigma2 = r2 / dof
	} else {
		dev = p.ldL2 + n*(1+math.Log(2*math.Pi*r2/n))
		s.sigma2 = r2 / n
	}
	s.dev = dev
	s.beta = [2]float64{b1, b2}
	s.rx = [3]float64{r11, r21, r22}
	s.ok = !math.IsNaN(dev)
	if blups != nil && s.ok {
		d.conditionalModes(theta, s.beta, blups)
	}
	return s
}

// partial accumulates, over groups gs, the per-group pieces of the
// penalised least-squares system. For group i with A = Z_i'Z_i = X_i'X_i,
// M = Λ'AΛ + I = L_i L_i', W = Λ'A and z = Λ'Z_i'y:
//
//	|c_u|² = z'M⁻¹z,  RZX'RZX = W'M⁻¹W,  RZX'c_u = W'M⁻¹z,  log|L_i|² = log det M,
//
// computed with the explicit 2×2 inverse: one division per group, no
// square root, no logarithm (see below).
func (d *lmmData) partial(theta []float64, gs []groupSums) lmmPartial {
	// log|L_θ|² = Σ log det(M_i). Logarithms cost more than the rest of a
	// group's arithmetic, so the determinants (each ≥ 1) are multiplied
	// and the product's binary exponent is taken out before it can
	// overflow; one logarithm per chunk remains.
	prod, exp2, logs := 1.0, 0, 0.0
	// Scalars, not fields of a struct, so that the compiler keeps them in
	// registers.
	var cucu, a11, a21, a22, v1, v2 float64
	if d.interceptOnly {
		a := theta[0]
		a2 := a * a
		for i := range gs {
			g := &gs[i]
			m := a2*g.n + 1
			if m < 1e100 {
				prod *= m
				if prod > 1e200 {
					frac, e := math.Frexp(prod)
					prod, exp2 = frac, exp2+e
				}
			} else {
				logs += math.Log(m)
			}
			inv := 1 / m
			z := a * g.sy
			w1 := a * g.n
			w2 := a * g.st
			cucu += z * z * inv
			a11 += w1 * w1 * inv
			a21 += w1 * w2 * inv
			a22 += w2 * w2 * inv
			v1 += w1 * z * inv
			v2 += w2 * z * inv
		}
	} else {
		a, b, c := theta[0], theta[1], theta[2]
		for i := range gs {
			g := &gs[i]
			// W = Λ'A, rows [a n + b s, a s + b q] and [c s, c q].
			w11 := a*g.n + b*g.st
			w12 := a*g.st + b*g.stt
			w21 := c * g.st
			w22 := c * g.stt
			// M = Λ'AΛ + I = WΛ + I.
			m11 := a*w11 + b*w12 + 1
			m21 := c * w12
			m22 := c*w22 + 1
			det := m11*m22 - m21*m21
			if det < 1e100 {
				prod *= det
				if prod > 1e200 {
					frac, e := math.Frexp(prod)
					prod, exp2 = frac, exp2+e
				}
			} else {
				logs += math.Log(det)
			}
			inv := 1 / det
			// z = Λ'Z'y; q = M⁻¹z.
			z1 := a*g.sy + b*g.sty
			z2 := c * g.sty
			q1 := (m22*z1 - m21*z2) * inv
			q2 := (m11*z2 - m21*z1) * inv
			// Columns of M⁻¹W.
			s11 := (m22*w11 - m21*w21) * inv
			s21 := (m11*w21 - m21*w11) * inv
			s12 := (m22*w12 - m21*w22) * inv
			s22 := (m11*w22 - m21*w12) * inv
			cucu += z1*q1 + z2*q2
			a11 += w11*s11 + w21*s21
			a21 += w12*s11 + w22*s21
			a22 += w12*s12 + w22*s22
			v1 += w11*q1 + w21*q2
			v2 += w12*q1 + w22*q2
		}
	}
	return lmmPartial{
		ldL2: logs + math.Log(prod) + float64(exp2)*math.Ln2,
		cucu: cucu, a11: a11, a21: a21, a22: a22, v1: v1, v2: v2,
	}
}

// conditionalModes fills blups with b_i = Λ·L_i⁻ᵀ(c_u,i − RZX_i·β).
func (d *lmmData) conditionalModes(theta []float64, beta [2]float64, blups []BLUP) {
	if d.interceptOnly {
		a := theta[0]
		for i := range d.groups {
			g := &d.groups[i]
			l := math.Sqrt(a*a*g.n + 1)
			cu := a * g.sy / l
			r1 := a * g.n / l
			r2 := a * g.st / l
			u := (cu - r1*beta[0] - r2*beta[1]) / l
			blups[i].Intercept = a * u
			blups[i].Slope = math.NaN()
		}
		return
	}
	a, b, c := theta[0], theta[1], theta[2]
	for i := range d.groups {
		g := &d.groups[i]
		la11 := a*g.n + b*g.st
		la12 := a*g.st + b*g.stt
		la21 := c * g.st
		la22 := c * g.stt
		m11 := a*la11 + b*la12 + 1
		m21 := c * la12
		m22 := c*la22 + 1
		l11 := math.Sqrt(m11)
		l21 := m21 / l11
		l22 := math.Sqrt(m22 - l21*l21)
		z1 := a*g.sy + b*g.sty
		z2 := c * g.sty
		cu1 := z1 / l11
		cu2 := (z2 - l21*cu1) / l22
		r11 := la11 / l11
		r12 := la12 / l11
		r21 := (la21 - l21*r11) / l22
		r22 := (la22 - l21*r12) / l22
		e1 := cu1 - r11*beta[0] - r12*beta[1]
		e2 := cu2 - r21*beta[0] - r22*beta[1]
		// Solve L'u = e with L' = [[l11, l21], [0, l22]].
		u2 := e2 / l22
		u1 := (e1 - l21*u2) / l11
		blups[i].Intercept = a * u1
		blups[i].Slope = b*u1 + c*u2
	}
}

// newLMMData checks the input of FitLMM and reduces it to per-group
// sufficient statistics. It returns the original index of each group kept
// and the number of groups with a single observation.
func newLMMData(group []int, t, y []float64, opt LMMOptions) (d *lmmData, index []int, singletons int, err error) {
	if len(group) != len(t) || len(t) != len(y) {
		return nil, nil, 0, fmt.Errorf("stats: FitLMM: lengths differ: group %d, t %d, y %d", len(group), len(t), len(y))
	}
	maxG := -1
	nobs := 0
	var ysum float64
	for k, g := range group {
		if g < 0 {
			return nil, nil, 0, fmt.Errorf("stats: FitLMM: observation %d: negative group index %d", k, g)
		}
		if math.IsInf(t[k], 0) || math.IsInf(y[k], 0) {
			return nil, nil, 0, fmt.Errorf("stats: FitLMM: observation %d: infinite value", k)
		}
		if math.IsNaN(t[k]) || math.IsNaN(y[k]) {
			continue
		}
		if g > maxG {
			maxG = g
		}
		nobs++
		ysum += y[k]
	}
	if nobs == 0 {
		return nil, nil, 0, errors.New("stats: FitLMM: no observations")
	}
	if opt.GroupNames != nil && len(opt.GroupNames) <= maxG {
		return nil, nil, 0, fmt.Errorf("stats: FitLMM: %d group names for group index %d", len(opt.GroupNames), maxG)
	}
	d = &lmmData{interceptOnly: opt.InterceptOnly, reml: !opt.ML}
	d.ybar = ysum / float64(nobs)
	sums := make([]groupSums, maxG+1)
	for k, g := range group {
		if math.IsNaN(t[k]) || math.IsNaN(y[k]) {
			continue
		}
		tk, yk := t[k], y[k]-d.ybar
		sums[g].add(tk, yk)
		d.syy += yk * yk
	}
	// Keep only groups with observations, remembering their indices.
	index = make([]int, 0, len(sums))
	d.groups = make([]groupSums, 0, len(sums))
	for g, s := range sums {
		if s.n == 0 {
			continue
		}
		if s.n == 1 {
			singletons++
		}
		index = append(index, g)
		d.groups = append(d.groups, s)
		d.n += s.n
		d.st += s.st
		d.stt += s.stt
		d.sy += s.sy
		d.sty += s.sty
	}
	G := len(d.groups)
	q := 2 * G
	if opt.InterceptOnly {
		q = G
	}
	if nobs <= q {
		return nil, nil, 0, fmt.Errorf("stats: FitLMM: %d observations are not more than the %d random effects of %d groups; the variance components cannot be identified", nobs, q, G)
	}
	if nobs <= 2 {
		return nil, nil, 0, fmt.Errorf("stats: FitLMM: %d observations", nobs)
	}
	// Variation in t: n·Σt² − (Σt)² > 0, relative to scale.
	if vt := d.n*d.stt - d.st*d.st; !(vt > 1e-12*d.n*d.stt) {
		return nil, nil, 0, errors.New("stats: FitLMM: t has no variation; the slope cannot be estimated")
	}

	return d, index, singletons, nil
}

// momentStart returns a starting θ for the random intercept and slope
// model from per-group least squares (groups with at least 3
// observations): with b_i the group's OLS coefficients, σ̂² the pooled
// residual variance and V_i = (X_i'X_i)⁻¹,
//
//	Σ̂ = cov(b_i) − σ̂²·mean(V_i),  θ0 = chol(Σ̂/σ̂²).
//
// It returns nil when fewer than 3 groups qualify or Σ̂'s intercept
// variance is not positive; a non-positive Schur complement gives Λ22 = 0.
// lme4 starts at θ = (1, 0, 1); FitLMM keeps whichever start has the lower
// deviance, which saves evaluations on large data.
func (d *lmmData) momentStart() []float64 {
	var k, s0, s1, s00, s11, s01, rss, dof, v00, v01, v11 float64
	for i := range d.groups {
		g := &d.groups[i]
		det := g.n*g.stt - g.st*g.st
		if g.n < 3 || !(det > 1e-12*g.n*g.stt) {
			continue
		}
		b0 := (g.stt*g.sy - g.st*g.sty) / det
		b1 := (g.n*g.sty - g.st*g.sy) / det
		k++
		s0 += b0
		s1 += b1
		s00 += b0 * b0
		s11 += b1 * b1
		s01 += b0 * b1
		rss += g.syy - b0*g.sy - b1*g.sty
		dof += g.n - 2
		v00 += g.stt / det
		v01 -= g.st / det
		v11 += g.n / det
	}
	if k < 3 || !(rss > 0) {
		return nil
	}
	sigma2 := rss / dof
	c00 := (s00-s0*s0/k)/(k-1) - sigma2*v00/k
	c01 := (s01-s0*s1/k)/(k-1) - sigma2*v01/k
	c11 := (s11-s1*s1/k)/(k-1) - sigma2*v11/k
	if !(c00 > 0) {
		return nil
	}
	l11 := math.Sqrt(c00 / sigma2)
	l21 := c01 / sigma2 / l11
	l22 := 0.0
	if r := c11/sigma2 - l21*l21; r > 0 {
		l22 = math.Sqrt(r)
	}
	if math.IsNaN(l21) || math.IsInf(l21, 0) {
		return nil
	}
	return []float64{l11, l21, l22}
}
