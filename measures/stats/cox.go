package stats

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"
)

// CoxTerm is one coefficient of a Cox model.
type CoxTerm struct {
	Term        string  `json:"term"`
	Coef        float64 `json:"coef"`
	SE          float64 `json:"se"`
	HazardRatio float64 `json:"hazard_ratio"`
	Lower95     float64 `json:"lower95"`
	Upper95     float64 `json:"upper95"`
	Z           float64 `json:"z"`
	P           float64 `json:"p"`
}

// CoxFit is the result of FitCox.
type CoxFit struct {
	N      int       `json:"n"`
	Events int       `json:"events"`
	Terms  []CoxTerm `json:"terms"`
	// LogLik holds the partial log-likelihood at β = 0 and at the estimate.
	LogLik [2]float64 `json:"loglik"`
	// LRChisq = 2·(LogLik[1] − LogLik[0]) with LRDF degrees of freedom.
	LRChisq    float64 `json:"lr_chisq"`
	LRDF       int     `json:"lr_df"`
	LRP        float64 `json:"lr_p"`
	Iterations int     `json:"iterations"`
	Converged  bool    `json:"converged"`
}

// MarshalJSON writes the fit with NaN as null.
func (f CoxFit) MarshalJSON() ([]byte, error) {
	type plain CoxFit
	return marshalFinite(plain(f))
}

// FitCox fits the Cox proportional hazards model
//
//	h(t | x) = h0(t)·exp(x'β)
//
// to right-censored times by maximising the partial likelihood with
// Efron's handling of ties, as R's coxph(Surv(time, event) ~ x,
// ties = "efron"). At an event time with d tied events D, risk set R and
// r_i = exp(x_i'β), Efron's log partial likelihood term is
//
//	Σ_{i∈D} x_i'β − Σ_{j=0}^{d−1} log(Σ_{i∈R} r_i − (j/d)·Σ_{i∈D} r_i).
//
// Newton–Raphson starts at β = 0 and stops, as coxph does (eps = 1e-9,
// iter.max = 20), when |1 − ℓ_old/ℓ_new| ≤ eps; a step that lowers the
// likelihood is halved. Standard errors come from the inverse of the
// information matrix; p is the two-sided Wald p-value, 2Φ(−|β/se|), and
// the 95% limits are exp(β ± 1.96·se). Covariates are centred on their
// means internally (β is unchanged).
//
// Observations with a NaN time are dropped; a negative time, no events, or
// a design whose information matrix is singular (e.g. a constant
// covariate) is an error.
func FitCox(time []float64, event []bool, d *Design) (*CoxFit, error) {
	keep, _, err := checkSurvival(time, event)
	if err != nil {
		return nil, err
	}
	if d.n != len(time) {
		return nil, fmt.Errorf("stats: FitCox: design has %d rows for %d times", d.n, len(time))
	}
	c, err := newCoxData(keep, nil, time, event, d)
	if err != nil {
		return nil, err
	}
	return c.fit(d.Terms)
}

// FitCoxCounting fits the Cox model of FitCox to counting-process data,
// one row per interval (start, stop] of a subject's follow-up with the
// covariates in force during it and event set when the interval ends in
// an event, as R's coxph(Surv(start, stop, event) ~ x, ties = "efron").
// The risk set at an event time τ is the rows with start < τ ≤ stop, so a
// subject whose covariate changes at time m contributes the row (0, m]
// with its old value and (m, stop] with the new one (a time-varying
// covariate), and a row that starts after τ is not at risk at τ (delayed
// entry). Efron's term, Newton–Raphson, the standard errors, limits and
// likelihood-ratio test are those of FitCox; with every start below the
// smallest stop the fit is FitCox's.
//
// Rows with a NaN start or stop are dropped; an infinite or negative time,
// a start not below its stop, no events, or a singular information matrix
// is an error.
func FitCoxCounting(start, stop []float64, event []bool, d *Design) (*CoxFit, error) {
	if len(start) != len(stop) {
		return nil, fmt.Errorf("stats: FitCoxCounting: lengths differ: start %d, stop %d", len(start), len(stop))
	}
	keep, _, err := checkSurvival(stop, event)
	if err != nil {
		return nil, err
	}
	if d.n != len(stop) {
		return nil, fmt.Errorf("stats: FitCoxCounting: design has %d rows for %d times", d.n, len(stop))
	}
	kept := keep[:0]
	for _, i := range keep {
		s := start[i]
		switch {
		case math.IsNaN(s):
			continue
		case math.IsInf(s, 0):
			return nil, fmt.Errorf("stats: FitCoxCounting: observation %d: infinite start time", i)
		case s < 0:
			return nil, fmt.Errorf("stats: FitCoxCounting: observation %d: negative start time %g", i, s)
		case !(s < stop[i]):
			return nil, fmt.Errorf("stats: FitCoxCounting: observation %d: start time %g is not before stop time %g", i, s, stop[i])
		}
		kept = append(kept, i)
	}
	c, err := newCoxData(kept, start, stop, event, d)
	if err != nil {
		return nil, err
	}
	return c.fit(d.Terms)
}

// newCoxData gathers observations keep, sorted by stop time descending so
// that risk sets accumulate, with the covariates centred on their means.
// start is nil for right-censored data.
func newCoxData(keep []int, start, time []float64, event []bool, d *Design) (*coxData, error) {
	p := len(d.Cols)
	if p == 0 {
		return nil, errors.New("stats: FitCox: no covariates")
	}
	keep = append([]int(nil), keep...)
	sort.SliceStable(keep, func(a, b int) bool { return time[keep[a]] > time[keep[b]] })
	n := len(keep)
	if n == 0 {
		return nil, errors.New("stats: FitCox: no observations")
	}
	x := make([]float64, n*p)
	for j, col := range d.Cols {
		var mean float64
		for _, i := range keep {
			mean += col[i]
		}
		mean /= float64(n)
		for r, i := range keep {
			x[r*p+j] = col[i] - mean
		}
	}
	c := &coxData{p: p, x: x}
	c.time = make([]float64, n)
	c.event = make([]bool, n)
	for r, i := range keep {
		c.time[r] = time[i]
		c.event[r] = event[i]
		if event[i] {
			c.events++
		}
	}
	if c.events == 0 {
		return nil, errors.New("stats: FitCox: no events")
	}
	if start != nil {
		c.start = make([]float64, n)
		for r, i := range keep {
			c.start[r] = start[i]
		}
		c.byStart = make([]int, n)
		for r := range c.byStart {
			c.byStart[r] = r
		}
		sort.SliceStable(c.byStart, func(a, b int) bool { return c.start[c.byStart[a]] > c.start[c.byStart[b]] })
	}
	return c, nil
}

// fit maximises the partial likelihood by Newton–Raphson as coxph does.
func (c *coxData) fit(terms []string) (*CoxFit, error) {
	p, n, events := c.p, len(c.time), c.events
	const eps, iterMax = 1e-9, 20
	beta := make([]float64, p)
	u := make([]float64, p)
	info := make([]float64, p*p)
	ll0 := c.eval(beta, u, info)
	loglik := ll0
	newBeta := make([]float64, p)
	if err := newtonStep(beta, u, info, newBeta); err != nil {
		return nil, err
	}
	converged := false
	iter := 0
	halving := false
	for iter = 1; iter <= iterMax; iter++ {
		newU := make([]float64, p)
		newInfo := make([]float64, p*p)
		newLL := c.eval(newBeta, newU, newInfo)
		if !halving && math.Abs(1-loglik/newLL) <= eps {
			copy(beta, newBeta)
			u, info, loglik = newU, newInfo, newLL
			converged = true
			break
		}
		if newLL < loglik || math.IsNaN(newLL) {
			// Step halving towards the last accepted β.
			halving = true
			for j := range newBeta {
				newBeta[j] = (newBeta[j] + beta[j]) / 2
			}
			continue
		}
		halving = false
		copy(beta, newBeta)
		u, info, loglik = newU, newInfo, newLL
		if err := newtonStep(beta, u, info, newBeta); err != nil {
			return nil, err
		}
	}
	iter = min(iter, iterMax)
	cov, err := invertSym(info, p)
	if err != nil {
		return nil, err
	}
	fit := &CoxFit{N: n, Events: events, LogLik: [2]float64{ll0, loglik}, Iterations: iter, Converged: converged}
	fit.LRChisq = 2 * (loglik - ll0)
	fit.LRDF = p
	fit.LRP = distuv.ChiSquared{K: float64(p)}.Survival(fit.LRChisq)
	for j := 0; j < p; j++ {
		se := math.Sqrt(cov[j*p+j])
		z := beta[j] / se
		fit.Terms = append(fit.Terms, CoxTerm{
			Term:        terms[j],
			Coef:        beta[j],
			SE:          se,
			HazardRatio: math.Exp(beta[j]),
			Lower95:     math.Exp(beta[j] - z975*se),
			Upper95:     math.Exp(beta[j] + z975*se),
			Z:           z,
			P:           2 * distuv.UnitNormal.CDF(-math.Abs(z)),
		})
	}
	return fit, nil
}

// coxData are observations sorted by (stop) time, descending, with
// centred covariates in row-major x. For counting-process data start holds
// the start times and byStart the rows in order of start, descending.
type coxData struct {
	p       int
	x       []float64
	time    []float64
	event   []bool
	events  int
	start   []float64
	byStart []int
}

// eval returns the Efron log partial likelihood at beta and writes its
// gradient into u and the information matrix (minus the Hessian) into info.
func (c *coxData) eval(beta, u, info []float64) float64 {
	p := c.p
	for j := range u {
		u[j] = 0
	}
	for j := range info {
		info[j] = 0
	}
	s1 := make([]float64, p)
	s2 := make([]float64, p*p)
	d1 := make([]float64, p)
	d2 := make([]float64, p*p)
	a := make([]float64, p)
	var s0, ll float64
	n := len(c.time)
	ks := 0 // rows c.byStart[:ks] have left the risk set
	for i := 0; i < n; {
		t := c.time[i]
		var d0 float64
		nd := 0
		for j := range d1 {
			d1[j] = 0
		}
		for j := range d2 {
			d2[j] = 0
		}
		for ; i < n && c.time[i] == t; i++ {
			xi := c.x[i*p : (i+1)*p]
			eta := 0.0
			for j, b := range beta {
				eta += xi[j] * b
			}
			r := math.Exp(eta)
			s0 += r
			for j := 0; j < p; j++ {
				s1[j] += r * xi[j]
				for k := 0; k <= j; k++ {
					s2[j*p+k] += r * xi[j] * xi[k]
				}
			}
			if c.event[i] {
				nd++
				d0 += r
				ll += eta
				for j := 0; j < p; j++ {
					u[j] += xi[j]
					d1[j] += r * xi[j]
					for k := 0; k <= j; k++ {
						d2[j*p+k] += r * xi[j] * xi[k]
					}
				}
			}
		}
		// Counting-process data: rows that start at or after t are not at
		// risk at t. They stop after t, so they were added before.
		for ; c.start != nil && ks < n && c.start[c.byStart[ks]] >= t; ks++ {
			k := c.byStart[ks]
			xk := c.x[k*p : (k+1)*p]
			eta := 0.0
			for j, b := range beta {
				eta += xk[j] * b
			}
			r := math.Exp(eta)
			s0 -= r
			for j := 0; j < p; j++ {
				s1[j] -= r * xk[j]
				for l := 0; l <= j; l++ {
					s2[j*p+l] -= r * xk[j] * xk[l]
				}
			}
		}
		for e := 0; e < nd; e++ {
			f := float64(e) / float64(nd)
			den := s0 - f*d0
			ll -= math.Log(den)
			for j := 0; j < p; j++ {
				a[j] = (s1[j] - f*d1[j]) / den
				u[j] -= a[j]
			}
			for j := 0; j < p; j++ {
				for k := 0; k <= j; k++ {
					info[j*p+k] += (s2[j*p+k]-f*d2[j*p+k])/den - a[j]*a[k]
				}
			}
		}
	}
	for j := 0; j < p; j++ {
		for k := 0; k < j; k++ {
			info[k*p+j] = info[j*p+k]
		}
	}
	return ll
}

// newtonStep writes beta + info⁻¹·u into next.
func newtonStep(beta, u, info, next []float64) error {
	p := len(beta)
	var ch mat.Cholesky
	if !ch.Factorize(mat.NewSymDense(p, append([]float64(nil), info...))) {
		return errors.New("stats: FitCox: the information matrix is singular (a covariate is constant or collinear with others)")
	}
	var step mat.VecDense
	if err := ch.SolveVecTo(&step, mat.NewVecDense(p, append([]float64(nil), u...))); err != nil {
		return fmt.Errorf("stats: FitCox: %w", err)
	}
	for j := range next {
		next[j] = beta[j] + step.AtVec(j)
	}
	return nil
}

// invertSym inverts a symmetric positive definite p×p matrix.
func invertSym(a []float64, p int) ([]float64, error) {
	var ch mat.Cholesky
	if !ch.Factorize(mat.NewSymDense(p, append([]float64(nil), a...))) {
		return nil, errors.New("stats: FitCox: the information matrix is singular (a covariate is constant or collinear with others)")
	}
	var inv mat.SymDense
	if err := ch.InverseTo(&inv); err != nil {
		return nil, fmt.Errorf("stats: FitCox: %w", err)
	}
	out := make([]float64, p*p)
	for i := 0; i < p; i++ {
		for j := 0; j < p; j++ {
			out[i*p+j] = inv.At(i, j)
		}
	}
	return out, nil
}
