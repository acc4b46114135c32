package stats

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"
)

// McNemarTest is McNemar's test of a paired 2×2 table.
type McNemarTest struct {
	// B and C are the discordant counts (first yes and second no, first
	// no and second yes).
	B     int     `json:"b"`
	C     int     `json:"c"`
	Chisq float64 `json:"chisq"`
	DF    int     `json:"df"`
	P     float64 `json:"p"`
}

// MarshalJSON writes the test with NaN as null.
func (m McNemarTest) MarshalJSON() ([]byte, error) {
	type plain McNemarTest
	return marshalFinite(plain(m))
}

// McNemar tests whether the paired proportions of a 2×2 table
//
//	             second yes  second no
//	first yes        a           b
//	first no         c           d
//
// differ, with the continuity correction, as R's mcnemar.test(x) with
// x = matrix(c(a, c, b, d), 2) (correct = TRUE):
//
//	χ² = (|b − c| − 1)²/(b + c),  df = 1,  p = P(χ²_1 > χ²),
//
// where R applies the correction only when b ≠ c (with b = c, χ² = 0 and
// p = 1). Only the discordant counts matter. With b + c = 0 the statistic
// is 0/0: Chisq and P are NaN (R's NaN), not an error. A negative count is
// an error.
func McNemar(a, b, c, d int) (McNemarTest, error) {
	if a < 0 || b < 0 || c < 0 || d < 0 {
		return McNemarTest{}, fmt.Errorf("stats: McNemar: negative count in %d, %d, %d, %d", a, b, c, d)
	}
	m := McNemarTest{B: b, C: c, DF: 1, Chisq: math.NaN(), P: math.NaN()}
	if b+c == 0 {
		return m, nil
	}
	diff := math.Abs(float64(b - c))
	if b != c {
		diff--
	}
	m.Chisq = diff * diff / float64(b+c)
	m.P = distuv.ChiSquared{K: 1}.Survival(m.Chisq)
	return m, nil
}

// PoissonRate is an event count over an exposure with its exact 95%
// interval.
type PoissonRate struct {
	Events   int     `json:"events"`
	Exposure float64 `json:"exposure"`
	Rate     float64 `json:"rate"`
	Lower95  float64 `json:"lower95"`
	Upper95  float64 `json:"upper95"`
}

// MarshalJSON writes the rate with NaN as null.
func (p PoissonRate) MarshalJSON() ([]byte, error) {
	type plain PoissonRate
	return marshalFinite(plain(p))
}

// PoissonInterval returns the rate x/T of x events over exposure T with
// the exact (Garwood) 95% interval, as R's poisson.test(x, T)$conf.int:
//
//	lower = G⁻¹(0.025; x, 1)/T  (0 when x = 0),
//	upper = G⁻¹(0.975; x + 1, 1)/T,
//
// with G⁻¹(p; a, 1) the p-quantile of the gamma distribution with shape a
// and rate 1 (half the χ² quantile with 2a degrees of freedom). Rates per
// 1,000 sessions are PoissonInterval(x, sessions/1000). A negative count,
// or an exposure that is not positive and finite, is an error.
func PoissonInterval(events int, exposure float64) (PoissonRate, error) {
	if events < 0 || !(exposure > 0) || math.IsInf(exposure, 0) {
		return PoissonRate{}, fmt.Errorf("stats: PoissonInterval: %d events over exposure %g", events, exposure)
	}
	x := float64(events)
	r := PoissonRate{Events: events, Exposure: exposure, Rate: x / exposure}
	if events > 0 {
		r.Lower95 = distuv.Gamma{Alpha: x, Beta: 1}.Quantile(0.025) / exposure
	}
	r.Upper95 = distuv.Gamma{Alpha: x + 1, Beta: 1}.Quantile(0.975) / exposure
	return r, nil
}

// SMD returns the standardized mean difference of a continuous variable
// between two groups,
//
//	d = (mean(a) − mean(b)) / sqrt((sd(a)² + sd(b)²)/2),
//
// with sample (n − 1) standard deviations: the balance measure of Austin
// (2009) that R's tableone::ExtractSmd reports (tableone prints |d|; the
// sign here says which group is higher). NaN values are left out. With
// fewer than two values in a group, or both standard deviations zero and
// equal means, the result is NaN; zero standard deviations and different
// means give ±Inf. An infinite value is an error.
func SMD(a, b []float64) (float64, error) {
	sa, err := Describe(a)
	if err != nil {
		return math.NaN(), err
	}
	sb, err := Describe(b)
	if err != nil {
		return math.NaN(), err
	}
	if sa.N < 2 || sb.N < 2 {
		return math.NaN(), nil
	}
	return (sa.Mean - sb.Mean) / math.Sqrt((sa.SD*sa.SD+sb.SD*sb.SD)/2), nil
}

// SMDCategorical returns the standardized mean difference of a
// categorical variable with levels 1..K between two groups, as defined by
// Yang and Dalton (2012) and computed by R's tableone: with p_a and p_b
// the proportions of levels 2..K in each group (the first level in sorted
// order is dropped; the result does not depend on which) and
//
//	S = (S_a + S_b)/2,  S_g[k][k] = p_gk(1 − p_gk),  S_g[k][l] = −p_gk·p_gl,
//
// the average of the two groups' multinomial covariance matrices,
//
//	d = sqrt((p_a − p_b)' S⁻¹ (p_a − p_b)).
//
// With two levels it is |p_a − p_b|/sqrt((p_a q_a + p_b q_b)/2). The
// empty string marks a missing value and is left out; levels seen in
// neither group do not exist. A group without values, or fewer than two
// levels overall, gives NaN. When S is singular (each group has a single
// level) the distance is +Inf if the proportions differ along S's null
// space, else computed with the pseudo-inverse of S.
func SMDCategorical(a, b []string) (float64, error) {
	count := func(v []string) (map[string]float64, float64) {
		m := map[string]float64{}
		n := 0.0
		for _, s := range v {
			if s != "" {
				m[s]++
				n++
			}
		}
		return m, n
	}
	ca, na := count(a)
	cb, nb := count(b)
	if na == 0 || nb == 0 {
		return math.NaN(), nil
	}
	set := map[string]bool{}
	for l := range ca {
		set[l] = true
	}
	for l := range cb {
		set[l] = true
	}
	levels := make([]string, 0, len(set))
	for l := range set {
		levels = append(levels, l)
	}
	sort.Strings(levels)
	if len(levels) < 2 {
		return math.NaN(), nil
	}
	levels = levels[1:]
	k := len(levels)
	pa := make([]float64, k)
	pb := make([]float64, k)
	diff := make([]float64, k)
	for i, l := range levels {
		pa[i], pb[i] = ca[l]/na, cb[l]/nb
		diff[i] = pa[i] - pb[i]
	}
	s := mat.NewSymDense(k, nil)
	for i := 0; i < k; i++ {
		for j := 0; j <= i; j++ {
			v := -(pa[i]*pa[j] + pb[i]*pb[j]) / 2
			if i == j {
				v = (pa[i]*(1-pa[i]) + pb[i]*(1-pb[i])) / 2
			}
			s.SetSym(i, j, v)
		}
	}
	var ch mat.Cholesky
	if ch.Factorize(s) {
		var x mat.VecDense
		if err := ch.SolveVecTo(&x, mat.NewVecDense(k, diff)); err == nil {
			q := mat.Dot(&x, mat.NewVecDense(k, diff))
			return math.Sqrt(math.Max(q, 0)), nil
		}
	}
	// S is singular: the distance is infinite when the difference has a
	// component in S's null space, and otherwise uses the pseudo-inverse.
	var eig mat.EigenSym
	if !eig.Factorize(s, true) {
		return math.NaN(), nil
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	top := 0.0
	for _, v := range vals {
		top = math.Max(top, math.Abs(v))
	}
	q, norm := 0.0, 0.0
	for _, v := range diff {
		norm += v * v
	}
	for i, v := range vals {
		proj := 0.0
		for j := 0; j < k; j++ {
			proj += vecs.At(j, i) * diff[j]
		}
		if v <= 1e-12*top {
			if proj*proj > 1e-20*norm {
				return math.Inf(1), nil
			}
			continue
		}
		q += proj * proj / v
	}
	return math.Sqrt(math.Max(q, 0)), nil
}
