package stats

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Design is a model matrix for FitCox: one row per observation, one
// column per term.
type Design struct {
	Terms []string
	// X holds the rows; X[i][j] is term j of observation i.
	X [][]float64
}

// NewDesign returns an empty design for n observations.
func NewDesign(n int) *Design {
	return &Design{X: make([][]float64, n)}
}

// AddNumeric adds a numeric covariate as one term named name.
func (d *Design) AddNumeric(name string, v []float64) error {
	if len(v) != len(d.X) {
		return fmt.Errorf("stats: covariate %s has %d values for %d observations", name, len(v), len(d.X))
	}
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("stats: covariate %s: observation %d: value %g is not a finite number", name, i, x)
		}
		d.X[i] = append(d.X[i], x)
	}
	d.Terms = append(d.Terms, name)
	return nil
}

// AddCategorical adds a categorical covariate with treatment coding
// against its first level in sorted (byte) order, as R's factor with
// contr.treatment for levels sorted in the C locale: one 0/1 term
// "name=level" per other level. An empty value is an error; a single
// level adds no term and is an error too, since it cannot be estimated.
func (d *Design) AddCategorical(name string, v []string) error {
	if len(v) != len(d.X) {
		return fmt.Errorf("stats: covariate %s has %d values for %d observations", name, len(v), len(d.X))
	}
	set := map[string]bool{}
	for i, s := range v {
		if s == "" {
			return fmt.Errorf("stats: covariate %s: observation %d: empty value", name, i)
		}
		set[s] = true
	}
	levels := make([]string, 0, len(set))
	for s := range set {
		levels = append(levels, s)
	}
	sort.Strings(levels)
	if len(levels) < 2 {
		return fmt.Errorf("stats: covariate %s has a single level %q", name, levels[0])
	}
	col := map[string]int{}
	for j, l := range levels[1:] {
		col[l] = j
		d.Terms = append(d.Terms, name+"="+l)
	}
	for i, s := range v {
		row := make([]float64, len(levels)-1)
		if j, ok := col[s]; ok {
			row[j] = 1
		}
		d.X[i] = append(d.X[i], row...)
	}
	return nil
}

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
	if len(d.X) != len(time) {
		return nil, fmt.Errorf("stats: FitCox: design has %d rows for %d times", len(d.X), len(time))
	}
	p := len(d.Terms)
	if p == 0 {
		return nil, errors.New("stats: FitCox: no covariates")
	}
	// Order by time, descending, so risk sets accumulate.
	sort.SliceStable(keep, func(a, b int) bool { return time[keep[a]] > time[keep[b]] })
	n := len(keep)
	x := make([]float64, n*p)
	means := make([]float64, p)
	for r, i := range keep {
		if len(d.X[i]) != p {
			return nil, fmt.Errorf("stats: FitCox: design row %d has %d values for %d terms", i, len(d.X[i]), p)
		}
		copy(x[r*p:], d.X[i])
		for j := 0; j < p; j++ {
			means[j] += d.X[i][j]
		}
	}
	for j := range means {
		means[j] /= float64(n)
	}
	for r := 0; r < n; r++ {
		for j := 0; j < p; j++ {
			x[r*p+j] -= means[j]
		}
	}
	c := coxData{p: p, x: x}
	c.time = make([]float64, n)
	c.event = make([]bool, n)
	events := 0
	for r, i := range keep {
		c.time[r] = time[i]
		c.event[r] = event[i]
		if event[i] {
			events++
		}
	}
	if events == 0 {
		return nil, errors.New("stats: FitCox: no events")
	}

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
			Term:        d.Terms[j],
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

// coxData are observations sorted by time, descending, with centred
// covariates in row-major x.
type coxData struct {
	p     int
	x     []float64
	time  []float64
	event []bool
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
