package stats

import (
	"math"
	"runtime"
	"sort"
)

// Nelder–Mead stops when the simplex's function values agree to nmFtol
// (relative and absolute) and its vertices to nmXtol (relative); Newton
// steps then take the interior coordinates to full precision.
const (
	nmFtol = 1e-8
	nmXtol = 1e-3
)

// workers is the number of goroutines a deviance evaluation may use.
func workers() int { return max(1, runtime.GOMAXPROCS(0)) }

// minimizeBounded minimises f over x ≥ lower (elementwise; −Inf for no
// bound). Nelder–Mead (reflection 1, expansion 2, contraction ½, shrink ½,
// trial points projected onto the bounds) is restarted from its best
// point until a restart no longer improves f by more than nmFtol
// relative; Newton steps with finite-difference derivatives then polish
// the coordinates that are off their bounds. A bounded coordinate that
// ends within 1e-3 of its bound is also tried on the bound (the others
// re-optimised), and the better of the two is kept: a variance at the
// boundary is then exactly zero, as lme4's bounded BOBYQA reports it. It
// returns the minimiser, the number of evaluations and whether the search
// converged within maxEval evaluations.
func minimizeBounded(f func([]float64) float64, x0, lower []float64, maxEval int) ([]float64, int, bool) {
	x, fx, evals, ok := nelderMeadRestarts(f, x0, lower, maxEval)
	if !ok {
		return x, evals, ok
	}
	x, fx, e := newtonPolish(f, x, fx, lower)
	evals += e
	for i := range x {
		if math.IsInf(lower[i], -1) || x[i]-lower[i] >= 1e-3 || x[i] == lower[i] {
			continue
		}
		free := make([]int, 0, len(x)-1)
		for j := range x {
			if j != i {
				free = append(free, j)
			}
		}
		full := func(z []float64) []float64 {
			y := make([]float64, len(x))
			y[i] = lower[i]
			for k, j := range free {
				y[j] = z[k]
			}
			return y
		}
		var y []float64
		var fy float64
		if len(free) == 0 {
			y = full(nil)
			fy = f(y)
			evals++
		} else {
			z0 := make([]float64, len(free))
			zl := make([]float64, len(free))
			for k, j := range free {
				z0[k], zl[k] = x[j], lower[j]
			}
			z, fz, e, zok := nelderMeadRestarts(func(z []float64) float64 { return f(full(z)) }, z0, zl, maxEval-evals)
			evals += e
			if !zok {
				return x, evals, false
			}
			y, fy, e = newtonPolish(f, full(z), fz, lower)
			evals += e
		}
		if fy <= fx {
			x, fx = y, fy
		}
	}
	return x, evals, true
}

// nelderMeadRestarts runs Nelder–Mead searches from x0, each restarted
// from the best point of the last, until a restart improves f by no more
// than nmFtol relative.
func nelderMeadRestarts(f func([]float64) float64, x0, lower []float64, maxEval int) ([]float64, float64, int, bool) {
	evals := 0
	eval := func(x []float64) float64 {
		evals++
		v := f(x)
		if math.IsNaN(v) {
			return math.Inf(1)
		}
		return v
	}
	clamp := func(x []float64) {
		for i := range x {
			if x[i] < lower[i] {
				x[i] = lower[i]
			}
		}
	}
	best := append([]float64(nil), x0...)
	clamp(best)
	fbest := eval(best)
	step := 0.2
	for restart := 0; restart < 20; restart++ {
		x, fx, ok := nelderMead(eval, clamp, best, fbest, step, &evals, maxEval)
		improved := fbest - fx
		if fx <= fbest {
			best, fbest = x, fx
		}
		if !ok {
			return best, fbest, evals, false
		}
		if restart > 0 && improved <= nmFtol*math.Max(1, math.Abs(fbest)) {
			return best, fbest, evals, true
		}
		step = 0.05
	}
	return best, fbest, evals, true
}

// nelderMead runs one Nelder–Mead search from x0 with an initial simplex
// of x0 and x0 + step·e_i. It stops when the function values of the
// simplex agree to nmFtol (relative and absolute) and its vertices lie
// within nmXtol (relative) of the best; ok is false when maxEval is
// reached first.
func nelderMead(eval func([]float64) float64, clamp func([]float64), x0 []float64, f0, step float64, evals *int, maxEval int) ([]float64, float64, bool) {
	k := len(x0)
	type vertex struct {
		x []float64
		f float64
	}
	s := make([]vertex, k+1)
	s[0] = vertex{append([]float64(nil), x0...), f0}
	for i := 0; i < k; i++ {
		x := append([]float64(nil), x0...)
		h := step * math.Max(1, math.Abs(x[i]))
		x[i] += h
		clamp(x)
		s[i+1] = vertex{x, eval(x)}
	}
	centroid := make([]float64, k)
	point := func(c float64, worst []float64) []float64 {
		x := make([]float64, k)
		for i := range x {
			x[i] = centroid[i] + c*(worst[i]-centroid[i])
		}
		clamp(x)
		return x
	}
	for {
		sort.SliceStable(s, func(i, j int) bool { return s[i].f < s[j].f })
		fl, fh := s[0].f, s[k].f
		spread := 0.0
		for _, v := range s[1:] {
			for i := range v.x {
				spread = math.Max(spread, math.Abs(v.x[i]-s[0].x[i]))
			}
		}
		if fh-fl <= nmFtol*math.Abs(fl)+nmFtol && spread <= nmXtol*math.Max(1, maxAbs(s[0].x)) {
			return s[0].x, s[0].f, true
		}
		if spread == 0 {
			// Collapsed simplex (every vertex projected onto one point).
			return s[0].x, s[0].f, true
		}
		if *evals >= maxEval {
			return s[0].x, s[0].f, false
		}
		for i := range centroid {
			centroid[i] = 0
			for _, v := range s[:k] {
				centroid[i] += v.x[i]
			}
			centroid[i] /= float64(k)
		}
		worst := s[k]
		xr := point(-1, worst.x)
		fr := eval(xr)
		switch {
		case fr < s[0].f:
			xe := point(-2, worst.x)
			if fe := eval(xe); fe < fr {
				s[k] = vertex{xe, fe}
			} else {
				s[k] = vertex{xr, fr}
			}
		case fr < s[k-1].f:
			s[k] = vertex{xr, fr}
		default:
			var xc []float64
			if fr < worst.f {
				xc = point(-0.5, worst.x) // outside contraction
			} else {
				xc = point(0.5, worst.x) // inside contraction
			}
			fc := eval(xc)
			if fc < math.Min(fr, worst.f) {
				s[k] = vertex{xc, fc}
				continue
			}
			for j := 1; j <= k; j++ {
				for i := range s[j].x {
					s[j].x[i] = s[0].x[i] + 0.5*(s[j].x[i]-s[0].x[i])
				}
				clamp(s[j].x)
				s[j].f = eval(s[j].x)
			}
		}
	}
}

func maxAbs(x []float64) float64 {
	m := 0.0
	for _, v := range x {
		m = math.Max(m, math.Abs(v))
	}
	return m
}

// newtonPolish refines x, a minimiser found by Nelder–Mead, by Newton
// steps on the coordinates not on their bound, with the gradient and the
// Hessian's diagonal from central differences and its cross terms from
// forward ones (step 1e-4 relative). A step is
// accepted only if it lowers f (halved up to 10 times); polishing stops
// when the step is below 1e-6 relative or lowers f by no more than 1e-12
// relative, when the Hessian is not positive definite, or after 8 steps.
// It returns the point, f there and the evaluations used.
func newtonPolish(f func([]float64) float64, x []float64, fx float64, lower []float64) ([]float64, float64, int) {
	x, fx, evals, _ := newtonSteps(f, x, fx, lower)
	return x, fx, evals
}

// newtonSteps is newtonPolish, also reporting whether it stopped because
// the step or the improvement became negligible after an accepted step
// with a positive definite Hessian (converged), rather than on a failed
// step, an indefinite Hessian or the step limit.
func newtonSteps(f func([]float64) float64, x []float64, fx float64, lower []float64) ([]float64, float64, int, bool) {
	converged := false
	evals := 0
	eval := func(y []float64) float64 {
		evals++
		v := f(y)
		if math.IsNaN(v) {
			return math.Inf(1)
		}
		return v
	}
	x = append([]float64(nil), x...)
	for iter := 0; iter < 8; iter++ {
		var free []int
		for i := range x {
			if x[i] > lower[i] {
				free = append(free, i)
			}
		}
		m := len(free)
		if m == 0 {
			break
		}
		h := make([]float64, m)
		for a, i := range free {
			h[a] = 1e-4 * math.Max(math.Abs(x[i]), 0.1)
			if x[i]-h[a] < lower[i] {
				h[a] = (x[i] - lower[i]) / 2
			}
		}
		at := func(da, db int, sa, sb float64) float64 {
			y := append([]float64(nil), x...)
			if da >= 0 {
				y[free[da]] += sa * h[da]
			}
			if db >= 0 {
				y[free[db]] += sb * h[db]
			}
			return eval(y)
		}
		// Central differences for the gradient and the diagonal; each
		// cross term from one more point, f(x+ha+hb) − f(x+ha) − f(x+hb) + f(x),
		// whose O(h) error only slows Newton's convergence a little while
		// the gradient (which fixes the optimum) stays central: 2m + m(m−1)/2
		// evaluations a step instead of 2m + 2m(m−1).
		grad := make([]float64, m)
		hess := make([]float64, m*m)
		fplus := make([]float64, m)
		for a := 0; a < m; a++ {
			fp, fm := at(a, -1, 1, 0), at(a, -1, -1, 0)
			fplus[a] = fp
			grad[a] = (fp - fm) / (2 * h[a])
			hess[a*m+a] = (fp - 2*fx + fm) / (h[a] * h[a])
			for b := 0; b < a; b++ {
				v := (at(a, b, 1, 1) - fp - fplus[b] + fx) / (h[a] * h[b])
				hess[a*m+b], hess[b*m+a] = v, v
			}
		}
		step, ok := solveSPD(hess, grad, m)
		if !ok {
			break
		}
		accepted := false
		fprev := fx
		for t := 1.0; t > 1e-3; t /= 2 {
			y := append([]float64(nil), x...)
			for a, i := range free {
				y[i] -= t * step[a]
				if y[i] < lower[i] {
					y[i] = lower[i]
				}
			}
			if fy := eval(y); fy <= fx {
				x, fx, accepted = y, fy, true
				break
			}
		}
		size := 0.0
		for a, i := range free {
			size = math.Max(size, math.Abs(step[a])/math.Max(1, math.Abs(x[i])))
		}
		// Below these the step is lost in the rounding of a sum over
		// many groups.
		if !accepted {
			break
		}
		if size < 1e-6 || fprev-fx <= 1e-12*math.Abs(fx) {
			converged = true
			break
		}
	}
	return x, fx, evals, converged
}

// solveSPD solves a·x = b for a symmetric positive definite m×m matrix by
// Cholesky decomposition; ok is false when a is not positive definite.
func solveSPD(a, b []float64, m int) (x []float64, ok bool) {
	l := make([]float64, m*m)
	for i := 0; i < m; i++ {
		for j := 0; j <= i; j++ {
			s := a[i*m+j]
			for k := 0; k < j; k++ {
				s -= l[i*m+k] * l[j*m+k]
			}
			if i == j {
				if !(s > 0) {
					return nil, false
				}
				l[i*m+i] = math.Sqrt(s)
			} else {
				l[i*m+j] = s / l[j*m+j]
			}
		}
	}
	x = make([]float64, m)
	for i := 0; i < m; i++ {
		s := b[i]
		for k := 0; k < i; k++ {
			s -= l[i*m+k] * x[k]
		}
		x[i] = s / l[i*m+i]
	}
	for i := m - 1; i >= 0; i-- {
		s := x[i]
		for k := i + 1; k < m; k++ {
			s -= l[k*m+i] * x[k]
		}
		x[i] = s / l[i*m+i]
	}
	return x, true
}
