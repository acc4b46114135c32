package lcga

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
)

// VarianceModel says whether classes share one residual variance.
type VarianceModel int

const (
	// SharedVariance fits one residual variance for all classes (the default).
	SharedVariance VarianceModel = iota
	// ClassVariance fits a residual variance per class.
	ClassVariance
)

// Options configures Fit. Zero fields take the defaults noted.
type Options struct {
	MaxK    int     // largest number of classes tried; default 4
	MinK    int     // smallest number of classes chosen; default 1
	Starts  int     // starts per K ≥ 2; default 20
	Seed    uint64  // seed of the PCG generator; any value, 0 included
	MaxIter int     // EM iterations per start; default 1000
	Tol     float64 // stop when |ΔlogL| ≤ Tol·(1+|logL|); default 1e-8
	// Every start gets ScreenIter EM iterations (default 20); then only the
	// Finalists (default 3) with the highest log-likelihood are run on to
	// convergence, or the next Finalists if all of those are dropped.
	ScreenIter int
	Finalists  int
	MinShare   float64       // smallest class share kept; default 0.01
	Variance   VarianceModel // SharedVariance (default) or ClassVariance
	Label      LabelOptions  // required: MeaningfulChange > 0
}

// Result is a fitted model, with the number of classes chosen by BIC.
type Result struct {
	K         int       `json:"k"`
	BIC       []float64 `json:"bic"` // BIC[k−1] for k = 1…MaxK; NaN when no start was kept or 1 < k < MinK
	LogLik    float64   `json:"log_lik"`
	Entropy   float64   `json:"entropy"`
	Converged bool      `json:"converged"`
	Patients  int       `json:"patients"` // N: groups with at least one observation
	Classes   []Class   `json:"classes"`

	// Observations is the number of observations fitted.
	Observations int `json:"-"`
	// Models[k−1] is the best fit with k classes, k = 1…MaxK (Models[K−1]
	// is the chosen one); nil for a k below MinK (other than 1) or with no
	// start kept.
	Models []*Model `json:"-"`

	// Posterior[g][c] is the posterior probability that group g is in
	// class c; nil for a group with no observations.
	Posterior [][]float64 `json:"-"`
	// Assigned[g] is the class with the largest posterior, −1 for a group
	// with no observations.
	Assigned []int `json:"-"`
}

// Model is the best fit found with K classes. Its classes' N, the
// entropy and the labels are computed as for the chosen model.
type Model struct {
	K         int
	LogLik    float64
	BIC       float64
	Params    int // free parameters counted in BIC: 3K shared, 4K − 1 per-class variances
	Entropy   float64
	Converged bool
	// Finalists is the number of starts run to convergence and kept (1 for
	// K = 1, which has one solution), and Replicated how many of them reached
	// the best log-likelihood, within 10⁻⁶ relative. A best log-likelihood
	// reached once may be a local maximum: try more starts.
	Finalists  int
	Replicated int
	Classes    []Class
}

// Class is one trajectory class. Intercept is the expected score at t = 0
// (baseline) and Slope the change per unit of t (per week).
type Class struct {
	Label     string  `json:"label"`
	N         int     `json:"n"`
	Share     float64 `json:"share"`
	Intercept float64 `json:"intercept"`
	Slope     float64 `json:"slope"`
	Sigma     float64 `json:"sigma"`
}

// Errors returned by Fit, alone or inside an *InputError.
var (
	ErrEmpty        = errors.New("no observations")
	ErrLength       = errors.New("group, t and y differ in length")
	ErrNotFinite    = errors.New("value is NaN or infinite")
	ErrGroupRange   = errors.New("group index out of range")
	ErrOptions      = errors.New("invalid options")
	ErrNoTimeSpread = errors.New("all observations at one time; slope undefined")
	ErrExactLine    = errors.New("all observations lie on one line; residual variance is zero")
	ErrNoFit        = errors.New("no number of classes in the range could be fitted")
)

// InputError reports a bad value at one observation.
type InputError struct {
	Index int    // observation index into group, t and y
	Field string // "group", "t" or "y"
	Err   error
}

func (e *InputError) Error() string {
	return fmt.Sprintf("lcga: observation %d: %s: %v", e.Index, e.Field, e.Err)
}

func (e *InputError) Unwrap() error { return e.Err }

// suff holds one patient's sufficient statistics, in centred units.
type suff struct{ n, t, tt, y, ty, yy float64 }

// data is the prepared input.
type data struct {
	pats   []suff // patients with at least one observation
	index  []int  // index[p] = group of pats[p]
	groups int
	nObs   float64
	tBar   float64
	yBar   float64
}

// Fit fits models with K = 1…opt.MaxK classes to observations
// (group[j], t[j], y[j]), groups numbered 0…nGroups−1, and returns the model
// with the smallest BIC among K = MinK…MaxK, with every K's best fit in
// Result.Models. K = 1 is fitted whatever MinK. Groups without observations are allowed and left
// out (Posterior nil, Assigned −1); a group with a single observation
// informs the intercepts only.
//
// It returns an error for empty or mismatched input, NaN or infinite values
// (an *InputError naming the observation), a group outside 0…nGroups−1,
// invalid options, observations all at one time, observations lying
// exactly on one line, or (ErrNoFit) MinK > 1 and no K in MinK…MaxK with a
// start kept.
//
// Starts run on GOMAXPROCS goroutines; the result does not depend on how
// many.
func Fit(group []int, t, y []float64, nGroups int, opt Options) (*Result, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	d, err := prepare(group, t, y, nGroups)
	if err != nil {
		return nil, err
	}

	one, err := fitOne(d, opt)
	if err != nil {
		return nil, err
	}
	floor := varianceFloorRatio * one.s2[0]

	best := make([]*fit, opt.MaxK)
	best[0] = one
	runStarts(d, opt, floor, best)

	nPat := float64(len(d.pats))
	bic := make([]float64, opt.MaxK)
	models := make([]*Model, opt.MaxK)
	results := make([]*Result, opt.MaxK)
	chosen := 0
	for k := 1; k <= opt.MaxK; k++ {
		f := best[k-1]
		bic[k-1] = math.NaN()
		if f == nil || (k > 1 && k < opt.MinK) {
			continue
		}
		p := opt.Variance.params(k)
		bic[k-1] = -2*f.ll + float64(p)*math.Log(nPat)
		r := d.result(f, opt.Label)
		results[k-1] = r
		models[k-1] = &Model{K: k, LogLik: r.LogLik, BIC: bic[k-1], Params: p,
			Entropy: r.Entropy, Converged: r.Converged, Finalists: f.finalists, Replicated: f.replicated,
			Classes: append([]Class(nil), r.Classes...)}
		if k >= opt.MinK && (chosen == 0 || bic[k-1] < bic[chosen-1]) {
			chosen = k
		}
	}
	if chosen == 0 {
		return nil, fmt.Errorf("lcga: K = %d…%d: %w", opt.MinK, opt.MaxK, ErrNoFit)
	}
	r := results[chosen-1]
	r.BIC = bic
	r.Models = models
	r.Observations = int(d.nObs)
	return r, nil
}

// params is the number of free parameters of a K-class model.
func (v VarianceModel) params(k int) int {
	if v == ClassVariance {
		return 4*k - 1
	}
	return 3 * k
}

// varianceFloorRatio times the K = 1 residual variance is the smallest
// variance a class may have.
const varianceFloorRatio = 1e-3

func (o Options) withDefaults() (Options, error) {
	if o.MaxK == 0 {
		o.MaxK = 4
	}
	if o.MinK == 0 {
		o.MinK = 1
	}
	if o.Starts == 0 {
		o.Starts = 20
	}
	if o.MaxIter == 0 {
		o.MaxIter = 1000
	}
	if o.Tol == 0 {
		o.Tol = 1e-8
	}
	if o.ScreenIter == 0 {
		o.ScreenIter = 20
	}
	if o.Finalists == 0 {
		o.Finalists = 3
	}
	if o.MinShare == 0 {
		o.MinShare = 0.01
	}
	if o.Label.Weeks == 0 {
		o.Label.Weeks = 8
	}
	switch {
	case o.MaxK < 1:
		return o, fmt.Errorf("lcga: MaxK %d: %w", o.MaxK, ErrOptions)
	case o.MinK < 1 || o.MinK > o.MaxK:
		return o, fmt.Errorf("lcga: MinK %d with MaxK %d: %w", o.MinK, o.MaxK, ErrOptions)
	case o.Starts < 1:
		return o, fmt.Errorf("lcga: Starts %d: %w", o.Starts, ErrOptions)
	case o.MaxIter < 1:
		return o, fmt.Errorf("lcga: MaxIter %d: %w", o.MaxIter, ErrOptions)
	case o.ScreenIter < 1:
		return o, fmt.Errorf("lcga: ScreenIter %d: %w", o.ScreenIter, ErrOptions)
	case o.Finalists < 1:
		return o, fmt.Errorf("lcga: Finalists %d: %w", o.Finalists, ErrOptions)
	case !(o.Tol > 0) || math.IsInf(o.Tol, 0):
		return o, fmt.Errorf("lcga: Tol %v: %w", o.Tol, ErrOptions)
	case !(o.MinShare > 0 && o.MinShare < 1):
		return o, fmt.Errorf("lcga: MinShare %v: %w", o.MinShare, ErrOptions)
	case o.Variance != SharedVariance && o.Variance != ClassVariance:
		return o, fmt.Errorf("lcga: Variance %d: %w", o.Variance, ErrOptions)
	}
	if err := o.Label.validate(); err != nil {
		return o, err
	}
	return o, nil
}

func prepare(group []int, t, y []float64, nGroups int) (*data, error) {
	if len(group) != len(t) || len(t) != len(y) {
		return nil, fmt.Errorf("lcga: %d groups, %d times, %d scores: %w", len(group), len(t), len(y), ErrLength)
	}
	if len(y) == 0 {
		return nil, fmt.Errorf("lcga: %w", ErrEmpty)
	}
	if nGroups < 1 {
		return nil, fmt.Errorf("lcga: nGroups %d: %w", nGroups, ErrGroupRange)
	}
	var tSum, ySum float64
	for j := range y {
		switch {
		case group[j] < 0 || group[j] >= nGroups:
			return nil, &InputError{Index: j, Field: "group", Err: ErrGroupRange}
		case math.IsNaN(t[j]) || math.IsInf(t[j], 0):
			return nil, &InputError{Index: j, Field: "t", Err: ErrNotFinite}
		case math.IsNaN(y[j]) || math.IsInf(y[j], 0):
			return nil, &InputError{Index: j, Field: "y", Err: ErrNotFinite}
		}
		tSum += t[j]
		ySum += y[j]
	}
	nObs := float64(len(y))
	d := &data{groups: nGroups, nObs: nObs, tBar: tSum / nObs, yBar: ySum / nObs}

	byGroup := make([]suff, nGroups)
	for j := range y {
		tc, yc := t[j]-d.tBar, y[j]-d.yBar
		s := &byGroup[group[j]]
		s.n++
		s.t += tc
		s.tt += tc * tc
		s.y += yc
		s.ty += tc * yc
		s.yy += yc * yc
	}
	for g, s := range byGroup {
		if s.n > 0 {
			d.pats = append(d.pats, s)
			d.index = append(d.index, g)
		}
	}
	return d, nil
}

// fit is one fitted model in centred units.
type fit struct {
	k         int
	a, b, s2  []float64
	logPi     []float64
	ll        float64
	converged bool
	// finalists is the number of runs to convergence kept for this K, and
	// replicated how many of them reached this fit's log-likelihood.
	finalists, replicated int
}

// fitOne is the K = 1 model: pooled OLS with ML variance.
func fitOne(d *data, opt Options) (*fit, error) {
	var acc wsum
	for i := range d.pats {
		acc.add(1, &d.pats[i])
	}
	a, b, rss, ok := acc.line()
	if !ok {
		return nil, fmt.Errorf("lcga: %w", ErrNoTimeSpread)
	}
	s2 := rss / acc.n
	if !(s2 > 0) {
		return nil, fmt.Errorf("lcga: %w", ErrExactLine)
	}
	f := &fit{k: 1, a: []float64{a}, b: []float64{b}, s2: []float64{s2}, logPi: []float64{0}, converged: true,
		finalists: 1, replicated: 1}
	f.ll = -0.5 * acc.n * (math.Log(2*math.Pi*s2) + 1)
	return f, nil
}

// runStarts fits every K ≥ 2 and stores the best start of each K in
// best[K−1] (nil when all were dropped). Every start first gets
// opt.ScreenIter EM steps; then the opt.Finalists with the highest
// log-likelihood are run to convergence, and if all of those are dropped
// the next Finalists are, and so on.
func runStarts(d *data, opt Options, floor float64, best []*fit) {
	byK := make([][]*run, opt.MaxK+1)
	var all []*run
	for k := opt.MaxK; k >= max(opt.MinK, 2); k-- { // largest K first: they take longest
		for s := range opt.Starts {
			if f := d.start(k, opt.Seed, s, opt.Variance, floor); f != nil {
				r := newRun(f, s)
				byK[k] = append(byK[k], r)
				all = append(all, r)
			}
		}
	}
	parallel(len(all), func(i int) { d.advance(all[i], opt, floor, opt.ScreenIter) })

	for k := 2; k <= opt.MaxK; k++ {
		rs := byK[k][:0]
		for _, r := range byK[k] {
			if !r.dropped {
				rs = append(rs, r)
			}
		}
		sort.SliceStable(rs, func(i, j int) bool { return better(rs[i], rs[j]) })
		byK[k] = rs
	}
	for {
		var batch []*run
		for k := 2; k <= opt.MaxK; k++ {
			if best[k-1] != nil || len(byK[k]) == 0 {
				continue
			}
			n := min(opt.Finalists, len(byK[k]))
			batch = append(batch, byK[k][:n]...)
			byK[k] = byK[k][n:]
		}
		if len(batch) == 0 {
			return
		}
		parallel(len(batch), func(i int) { d.advance(batch[i], opt, floor, opt.MaxIter) })
		for i := 0; i < len(batch); {
			j := i + 1
			for j < len(batch) && batch[j].f.k == batch[i].f.k {
				j++
			}
			if top := finish(batch[i:j]); top != nil {
				best[top.k-1] = top
			}
			i = j
		}
	}
}

// replicateTol is the relative difference within which two runs count as
// reaching the same log-likelihood.
const replicateTol = 1e-6

// finish returns the best of runs (one K's finalists run to convergence),
// with the number kept and the number that reached its log-likelihood, or
// nil when all were dropped.
func finish(runs []*run) *fit {
	var top *run
	kept := 0
	for _, r := range runs {
		if r.dropped {
			continue
		}
		kept++
		if top == nil || better(r, top) {
			top = r
		}
	}
	if top == nil {
		return nil
	}
	top.f.finalists = kept
	for _, r := range runs {
		if !r.dropped && r.f.ll >= top.f.ll-replicateTol*math.Abs(top.f.ll) {
			top.f.replicated++
		}
	}
	return top.f
}

// better orders runs by log-likelihood, then by start number, so the
// choice among equal fits does not depend on scheduling.
func better(a, b *run) bool {
	if a.f.ll != b.f.ll {
		return a.f.ll > b.f.ll
	}
	return a.start < b.start
}

// parallel calls fn(0…n−1) on GOMAXPROCS goroutines.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// result turns the chosen fit into a Result: posteriors, sorted classes,
// labels, entropy.
func (d *data) result(f *fit, lo LabelOptions) *Result {
	k := f.k
	order := make([]int, k)
	for c := range order {
		order[c] = c
	}
	intercept := func(c int) float64 { return f.a[c] + d.yBar - f.b[c]*d.tBar }
	sort.SliceStable(order, func(i, j int) bool {
		ci, cj := order[i], order[j]
		if f.b[ci] != f.b[cj] {
			return f.b[ci] < f.b[cj]
		}
		return intercept(ci) < intercept(cj)
	})

	r := &Result{
		K:         k,
		LogLik:    f.ll,
		Converged: f.converged,
		Patients:  len(d.pats),
		Classes:   make([]Class, k),
		Posterior: make([][]float64, d.groups),
		Assigned:  make([]int, d.groups),
	}
	for g := range r.Assigned {
		r.Assigned[g] = -1
	}
	for i, c := range order {
		r.Classes[i] = Class{
			Share:     math.Exp(f.logPi[c]),
			Intercept: intercept(c),
			Slope:     f.b[c],
			Sigma:     math.Sqrt(f.s2[c]),
		}
	}

	post := make([]float64, len(d.pats)*k)
	d.posteriors(f, post)
	var ent float64
	flat := make([]float64, len(d.pats)*k)
	for p, g := range d.index {
		row := flat[p*k : (p+1)*k : (p+1)*k]
		arg := 0
		for i, c := range order {
			v := post[p*k+c]
			row[i] = v
			if v > row[arg] {
				arg = i
			}
			if v > 0 {
				ent -= v * math.Log(v)
			}
		}
		r.Posterior[g] = row
		r.Assigned[g] = arg
		r.Classes[arg].N++
	}
	if k == 1 {
		r.Entropy = 1
	} else {
		r.Entropy = 1 - ent/(float64(len(d.pats))*math.Log(float64(k)))
	}
	lo.labelClasses(r.Classes)
	return r
}
