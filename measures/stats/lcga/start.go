package lcga

import (
	"math"
	"math/rand/v2"
)

// features are the per-patient OLS lines that starting values are drawn
// from: patients with at least two distinct times.
type features struct {
	a, b   []float64 // intercept (centred units) and slope
	sa, sb float64   // their standard deviations, for distances
	s2     float64   // K = 1 residual variance: the starting variance
	nPat   int
}

func (d *data) features() *features {
	ft := &features{nPat: len(d.pats)}
	var all wsum
	for i := range d.pats {
		p := &d.pats[i]
		all.add(1, p)
		s := wsum{w: 1, suff: *p}
		if a, b, _, ok := s.line(); ok {
			ft.a = append(ft.a, a)
			ft.b = append(ft.b, b)
		}
	}
	if _, _, rss, ok := all.line(); ok {
		ft.s2 = rss / all.n
	}
	ft.sa, ft.sb = sd(ft.a), sd(ft.b)
	return ft
}

func sd(x []float64) float64 {
	if len(x) < 2 {
		return 1
	}
	var m float64
	for _, v := range x {
		m += v
	}
	m /= float64(len(x))
	var ss float64
	for _, v := range x {
		ss += (v - m) * (v - m)
	}
	s := math.Sqrt(ss / float64(len(x)-1))
	if !(s > 0) {
		return 1
	}
	return s
}

// dist2 is the squared standardised distance between patient i and a centre.
func (ft *features) dist2(i int, a, b float64) float64 {
	da := (ft.a[i] - a) / ft.sa
	db := (ft.b[i] - b) / ft.sb
	return da*da + db*db
}

// start draws K centres by k-means++ (the first uniformly, each next with
// probability proportional to the squared distance to the nearest centre
// drawn), moves each to the mean of the patients nearest to it, and returns
// the starting model: those lines, the pooled variance and proportions from
// the cluster sizes. It returns nil when fewer than K patients have a line.
func (ft *features) start(k int, seed uint64, start int) *fit {
	m := len(ft.a)
	if m < k {
		return nil
	}
	rng := rand.New(rand.NewPCG(seed, uint64(k)<<32|uint64(start)))
	ca := make([]float64, 0, k)
	cb := make([]float64, 0, k)
	near := make([]float64, m)
	first := rng.IntN(m)
	ca, cb = append(ca, ft.a[first]), append(cb, ft.b[first])
	for i := range near {
		near[i] = ft.dist2(i, ca[0], cb[0])
	}
	for len(ca) < k {
		var total float64
		for _, v := range near {
			total += v
		}
		pick := rng.IntN(m)
		if total > 0 {
			u := rng.Float64() * total
			for i, v := range near {
				u -= v
				if u < 0 {
					pick = i
					break
				}
			}
		}
		ca, cb = append(ca, ft.a[pick]), append(cb, ft.b[pick])
		c := len(ca) - 1
		for i := range near {
			near[i] = min(near[i], ft.dist2(i, ca[c], cb[c]))
		}
	}

	// One Lloyd step: centre = mean of its nearest patients.
	sumA := make([]float64, k)
	sumB := make([]float64, k)
	cnt := make([]float64, k)
	for i := range m {
		best, bd := 0, math.Inf(1)
		for c := range k {
			if dd := ft.dist2(i, ca[c], cb[c]); dd < bd {
				best, bd = c, dd
			}
		}
		sumA[best] += ft.a[i]
		sumB[best] += ft.b[i]
		cnt[best]++
	}
	f := &fit{
		k:     k,
		a:     make([]float64, k),
		b:     make([]float64, k),
		s2:    make([]float64, k),
		logPi: make([]float64, k),
	}
	for c := range k {
		f.a[c], f.b[c] = ca[c], cb[c]
		if cnt[c] > 0 {
			f.a[c], f.b[c] = sumA[c]/cnt[c], sumB[c]/cnt[c]
		}
		f.s2[c] = ft.s2
		// Every class keeps some prior weight, so none starts dead.
		f.logPi[c] = math.Log((cnt[c] + 1) / float64(m+k))
	}
	return f
}
