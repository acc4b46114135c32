package lcga

import "math"

// wsum accumulates posterior-weighted sufficient statistics of one class.
type wsum struct {
	w float64 // Σ posterior (expected number of patients)
	suff
}

func (s *wsum) add(w float64, p *suff) {
	s.w += w
	s.n += w * p.n
	s.t += w * p.t
	s.tt += w * p.tt
	s.y += w * p.y
	s.ty += w * p.ty
	s.yy += w * p.yy
}

// line solves the weighted normal equations
//
//	[Σn  Σt ] [a]   [Σy ]
//	[Σt  Σt²] [b] = [Σty]
//
// and returns the residual sum of squares at (a, b). ok is false when the
// design is singular: no spread in t.
func (s *wsum) line() (a, b, rss float64, ok bool) {
	det := s.n*s.tt - s.t*s.t
	if !(s.n > 0) || !(det > 1e-12*s.n*s.tt) {
		return 0, 0, 0, false
	}
	b = (s.n*s.ty - s.t*s.y) / det
	a = (s.y - b*s.t) / s.n
	return a, b, max(s.rss(a, b), 0), true
}

// rss is Σ(y − a − b·t)² expanded over the sufficient statistics.
func (s *suff) rss(a, b float64) float64 {
	return s.yy - 2*a*s.y - 2*b*s.ty + a*a*s.n + 2*a*b*s.t + b*b*s.tt
}

// estep evaluates the log-likelihood at f. With acc non-nil it accumulates
// each class's weighted statistics; with post non-nil it stores the
// posteriors, patient-major.
//
// A patient's log joint density in class c is linear in its statistics:
//
//	log π_c − n/2·ln(2πσ²) − (Σy² − 2aΣy − 2bΣty + a²n + 2abΣt + b²Σt²)/(2σ²)
//
// so its coefficients are computed once per class and pass.
func (d *data) estep(f *fit, acc []wsum, post []float64) float64 {
	k := f.k
	co := make([]suff, k) // coefficients of n, t, tt, y, ty, yy
	c0 := f.logPi[:k]
	for c := range co {
		a, b, inv := f.a[c], f.b[c], 0.5/f.s2[c]
		co[c] = suff{
			n:  -0.5*math.Log(2*math.Pi*f.s2[c]) - a*a*inv,
			t:  -2 * a * b * inv,
			tt: -b * b * inv,
			y:  2 * a * inv,
			ty: 2 * b * inv,
			yy: -inv,
		}
	}
	lp := make([]float64, k)
	for c := range acc {
		acc[c] = wsum{}
	}
	var ll float64
	for i := range d.pats {
		p := &d.pats[i]
		m := math.Inf(-1)
		for c := range lp {
			q := &co[c]
			v := c0[c] + q.n*p.n + q.t*p.t + q.tt*p.tt + q.y*p.y + q.ty*p.ty + q.yy*p.yy
			lp[c] = v
			if v > m {
				m = v
			}
		}
		var s float64
		for c, v := range lp {
			// exp(−40) < ε/2: such terms cannot change the sum, which is ≥ 1.
			var e float64
			switch x := v - m; {
			case x == 0:
				e = 1
			case x > -40:
				e = math.Exp(x)
			}
			lp[c] = e
			s += e
		}
		ll += m
		if s != 1 {
			ll += math.Log(s)
		}
		is := 1 / s
		if acc != nil {
			for c, e := range lp {
				if e != 0 {
					acc[c].add(e*is, p)
				}
			}
		}
		if post != nil {
			row := post[i*k : (i+1)*k]
			for c, e := range lp {
				row[c] = e * is
			}
		}
	}
	return ll
}

// posteriors stores f's posteriors in post (patients × K).
func (d *data) posteriors(f *fit, post []float64) {
	d.estep(f, nil, post)
}

// mstep sets f's parameters from the weighted statistics. It reports false
// when a class has vanished or has no spread in t.
func (d *data) mstep(f *fit, acc []wsum, v VarianceModel, floor float64) bool {
	nPat := float64(len(d.pats))
	var rssAll float64
	for c := range f.k {
		if acc[c].w < 0.5 {
			return false
		}
		a, b, rss, ok := acc[c].line()
		if !ok {
			return false
		}
		f.a[c], f.b[c] = a, b
		f.logPi[c] = math.Log(acc[c].w / nPat)
		f.s2[c] = max(rss/acc[c].n, floor)
		rssAll += rss
	}
	if v == SharedVariance {
		s2 := max(rssAll/d.nObs, floor)
		for c := range f.k {
			f.s2[c] = s2
		}
	}
	return true
}

// run is one start's EM in progress.
type run struct {
	f       *fit
	acc     []wsum
	prev    float64
	it      int  // M-steps taken
	done    bool // converged or out of iterations
	dropped bool // degenerate, see the package documentation
	start   int
}

func newRun(f *fit, start int) *run {
	return &run{f: f, acc: make([]wsum, f.k), prev: math.Inf(-1), start: start}
}

// advance runs EM until it converges, is dropped, takes opt.MaxIter steps,
// or has taken until steps. Once done, it applies the class-size rule.
func (d *data) advance(r *run, opt Options, floor float64, until int) {
	until = min(until, opt.MaxIter)
	f := r.f
	for !r.done && !r.dropped && r.it < until {
		ll := d.estep(f, r.acc, nil)
		f.ll = ll
		if r.it > 0 && math.Abs(ll-r.prev) <= opt.Tol*(1+math.Abs(ll)) {
			f.converged = true
			r.done = true
			break
		}
		r.prev = ll
		if !d.mstep(f, r.acc, opt.Variance, floor) {
			r.dropped = true
			return
		}
		r.it++
	}
	if r.dropped || (!r.done && r.it < opt.MaxIter) {
		return
	}
	if !f.converged {
		f.ll = d.estep(f, nil, nil) // the parameters moved after the last evaluation
		r.done = true
	}
	if math.IsNaN(f.ll) || math.IsInf(f.ll, 0) {
		r.dropped = true
		return
	}
	minN := max(opt.MinShare*float64(len(d.pats)), 2)
	for c := range f.k {
		if math.Exp(f.logPi[c])*float64(len(d.pats)) < minN {
			r.dropped = true
			return
		}
	}
}
