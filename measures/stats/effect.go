package stats

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// Summary is the size, mean and sample standard deviation of a sample.
type Summary struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	SD   float64 `json:"sd"`
}

// MarshalJSON writes the summary with NaN as null.
func (s Summary) MarshalJSON() ([]byte, error) {
	type plain Summary
	return marshalFinite(plain(s))
}

// finite returns the values of x that are not NaN; an infinite value is an
// error, since it is never a valid score.
func finite(x []float64) ([]float64, error) {
	out := make([]float64, 0, len(x))
	for i, v := range x {
		if math.IsNaN(v) {
			continue
		}
		if math.IsInf(v, 0) {
			return nil, fmt.Errorf("stats: value %d is infinite", i)
		}
		out = append(out, v)
	}
	return out, nil
}

// Describe returns n, the mean and the sample standard deviation of the
// non-missing values of x (NaN marks a missing value and is left out):
//
//	mean = Σx/n,  sd = sqrt(Σ(x − mean)²/(n − 1))
//
// as R's length(x), mean(x), sd(x) after na.omit. With n = 0 the mean is
// NaN, with n < 2 the SD is NaN. An infinite value is an error.
func Describe(x []float64) (Summary, error) {
	v, err := finite(x)
	if err != nil {
		return Summary{}, err
	}
	s := Summary{N: len(v), Mean: math.NaN(), SD: math.NaN()}
	if s.N == 0 {
		return s, nil
	}
	var sum float64
	for _, a := range v {
		sum += a
	}
	mean := sum / float64(s.N)
	// Second pass with a compensation term, as gonum's stat.Variance.
	var ss, comp float64
	for _, a := range v {
		d := a - mean
		ss += d * d
		comp += d
	}
	s.Mean = mean
	if s.N > 1 {
		s.SD = math.Sqrt((ss - comp*comp/float64(s.N)) / float64(s.N-1))
	}
	return s, nil
}

// MeanCI is a sample summary with the t-based 95% confidence interval of
// its mean.
type MeanCI struct {
	N       int     `json:"n"`
	Mean    float64 `json:"mean"`
	SD      float64 `json:"sd"`
	Lower95 float64 `json:"lower95"`
	Upper95 float64 `json:"upper95"`
}

// MarshalJSON writes the interval with NaN as null.
func (m MeanCI) MarshalJSON() ([]byte, error) {
	type plain MeanCI
	return marshalFinite(plain(m))
}

// MeanInterval returns Describe(x) with the 95% confidence interval of the
// mean
//
//	mean ± t_{0.975, n−1}·sd/√n
//
// as R's t.test(x)$conf.int. The limits are NaN when n < 2.
func MeanInterval(x []float64) (MeanCI, error) {
	s, err := Describe(x)
	if err != nil {
		return MeanCI{}, err
	}
	m := MeanCI{N: s.N, Mean: s.Mean, SD: s.SD, Lower95: math.NaN(), Upper95: math.NaN()}
	if s.N >= 2 {
		q := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(s.N - 1)}.Quantile(0.975)
		h := q * s.SD / math.Sqrt(float64(s.N))
		m.Lower95, m.Upper95 = s.Mean-h, s.Mean+h
	}
	return m, nil
}

// TTest is a paired (one-sample on differences) t-test with effect sizes.
type TTest struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	SD   float64 `json:"sd"`
	// Lower95 and Upper95 bound the 95% confidence interval of the mean.
	Lower95 float64 `json:"lower95"`
	Upper95 float64 `json:"upper95"`
	T       float64 `json:"t"`
	DF      int     `json:"df"`
	P       float64 `json:"p"`
	// CohensDz is mean/sd of the differences.
	CohensDz float64 `json:"cohens_dz"`
	// HedgesG is CohensDz corrected for small-sample bias, with its
	// approximate 95% interval (see PairedT).
	HedgesG        float64 `json:"hedges_g"`
	HedgesGLower95 float64 `json:"hedges_g_lower95"`
	HedgesGUpper95 float64 `json:"hedges_g_upper95"`
}

// MarshalJSON writes the test with NaN as null.
func (t TTest) MarshalJSON() ([]byte, error) {
	type plain TTest
	return marshalFinite(plain(t))
}

// PairedT tests whether the mean of the paired differences d (for
// example endpoint − baseline) is zero, as R's t.test(d) or
// t.test(x, y, paired = TRUE) with d = x − y:
//
//	t = mean/(sd/√n),  df = n − 1,  p = 2·P(T_df > |t|),
//	95% CI = mean ± t_{0.975,df}·sd/√n.
//
// Effect sizes: Cohen's d_z = mean/sd; Hedges' g = J·d_z with the exact
// small-sample correction J = Γ(df/2)/(sqrt(df/2)·Γ((df−1)/2)); the 95%
// interval of g is the normal approximation g ± 1.96·J·sqrt(1/n + d_z²/(2n)),
// using the large-sample variance of a standardised mean (Hedges & Olkin
// 1985, Statistical Methods for Meta-Analysis, ch. 5).
//
// NaN values are left out. Fewer than 2 values, or differences that are
// all equal (sd = 0, where R's t.test stops with "data are essentially
// constant"), are an error.
func PairedT(d []float64) (TTest, error) {
	s, err := Describe(d)
	if err != nil {
		return TTest{}, err
	}
	if s.N < 2 {
		return TTest{}, fmt.Errorf("stats: PairedT: %d differences; at least 2 are needed", s.N)
	}
	if !(s.SD > 1e-14*math.Max(1, math.Abs(s.Mean))) {
		return TTest{}, errors.New("stats: PairedT: the differences are constant")
	}
	n := float64(s.N)
	df := n - 1
	se := s.SD / math.Sqrt(n)
	dist := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}
	q := dist.Quantile(0.975)
	r := TTest{N: s.N, Mean: s.Mean, SD: s.SD, DF: s.N - 1}
	r.T = s.Mean / se
	r.P = 2 * dist.Survival(math.Abs(r.T))
	r.Lower95, r.Upper95 = s.Mean-q*se, s.Mean+q*se
	r.CohensDz = s.Mean / s.SD
	j := hedgesJ(df)
	r.HedgesG = j * r.CohensDz
	h := z975 * j * math.Sqrt(1/n+r.CohensDz*r.CohensDz/(2*n))
	r.HedgesGLower95, r.HedgesGUpper95 = r.HedgesG-h, r.HedgesG+h
	return r, nil
}

// PairedDifferences returns x[i] − y[i] for the pairs where both are
// present (not NaN), as t.test(x, y, paired = TRUE) uses them.
func PairedDifferences(x, y []float64) ([]float64, error) {
	if len(x) != len(y) {
		return nil, fmt.Errorf("stats: PairedDifferences: lengths differ: %d and %d", len(x), len(y))
	}
	d := make([]float64, 0, len(x))
	for i := range x {
		if math.IsNaN(x[i]) || math.IsNaN(y[i]) {
			continue
		}
		d = append(d, x[i]-y[i])
	}
	return d, nil
}

// hedgesJ is the exact bias correction Γ(m/2)/(sqrt(m/2)·Γ((m−1)/2)).
func hedgesJ(m float64) float64 {
	if m < 2 {
		return math.NaN()
	}
	a, _ := math.Lgamma(m / 2)
	b, _ := math.Lgamma((m - 1) / 2)
	return math.Exp(a-b) / math.Sqrt(m/2)
}

// Proportion is a rate with its Wilson 95% interval.
type Proportion struct {
	N       int     `json:"n"`
	Events  int     `json:"events"`
	Rate    float64 `json:"rate"`
	Lower95 float64 `json:"lower95"`
	Upper95 float64 `json:"upper95"`
}

// MarshalJSON writes the proportion with NaN as null.
func (p Proportion) MarshalJSON() ([]byte, error) {
	type plain Proportion
	return marshalFinite(plain(p))
}

// Wilson returns events/n with the Wilson score 95% interval
//
//	(p̂ + z²/2n ± z·sqrt(p̂(1 − p̂)/n + z²/4n²)) / (1 + z²/n),  z = qnorm(0.975),
//
// which is R's prop.test(events, n, correct = FALSE)$conf.int. With
// n = 0 the rate and limits are NaN (no denominator, no estimate);
// events < 0, n < 0 or events > n is an error.
func Wilson(events, n int) (Proportion, error) {
	if n < 0 || events < 0 || events > n {
		return Proportion{}, fmt.Errorf("stats: Wilson: %d events out of %d", events, n)
	}
	p := Proportion{N: n, Events: events}
	if n == 0 {
		p.Rate, p.Lower95, p.Upper95 = math.NaN(), math.NaN(), math.NaN()
		return p, nil
	}
	nf := float64(n)
	ph := float64(events) / nf
	z2 := z975 * z975
	den := 1 + z2/nf
	center := (ph + z2/(2*nf)) / den
	half := z975 * math.Sqrt(ph*(1-ph)/nf+z2/(4*nf*nf)) / den
	p.Rate = ph
	p.Lower95 = math.Max(0, center-half)
	p.Upper95 = math.Min(1, center+half)
	return p, nil
}

// Quantile7 returns the quantiles of x at probabilities probs by R's
// default definition (quantile(x, probs, type = 7)): with the sorted
// non-missing values x_(1) ≤ … ≤ x_(n) and h = (n − 1)·p + 1,
//
//	Q(p) = x_(⌊h⌋) + (h − ⌊h⌋)·(x_(⌊h⌋+1) − x_(⌊h⌋)),
//
// the same as Excel's PERCENTILE.INC. NaN values are left out (R's
// na.rm = TRUE); gonum's stat.Quantile is a different definition. No
// non-missing values, or a probability outside [0, 1], is an error.
func Quantile7(x []float64, probs ...float64) ([]float64, error) {
	v, err := finite(x)
	if err != nil {
		return nil, err
	}
	if len(v) == 0 {
		return nil, errors.New("stats: Quantile7: no values")
	}
	sort.Float64s(v)
	n := len(v)
	out := make([]float64, len(probs))
	for k, p := range probs {
		if !(p >= 0 && p <= 1) {
			return nil, fmt.Errorf("stats: Quantile7: probability %g outside [0, 1]", p)
		}
		index := float64(n-1) * p // 0-based
		lo := math.Floor(index)
		hi := math.Ceil(index)
		q := v[int(lo)]
		if index > lo && v[int(hi)] != q {
			h := index - lo
			q = (1-h)*q + h*v[int(hi)]
		}
		out[k] = q
	}
	return out, nil
}

// MeanIntervalSums is MeanInterval from the count, sum and sum of squares of the values,
// for data too large to keep (weekly means of a million patients):
//
//	mean = Σx/n,  sd² = (Σx² − (Σx)²/n)/(n − 1)
//
// The formula cancels badly when the SD is tiny next to the mean; for integer scores
// (|x| ≤ 80, n ≤ 10⁷) Σx, Σx² and (Σx)² are exact in float64 and the result agrees with
// MeanInterval to about 1e-12.
func MeanIntervalSums(n int, sum, sumSq float64) (MeanCI, error) {
	if n < 0 || math.IsNaN(sum) || math.IsNaN(sumSq) {
		return MeanCI{}, fmt.Errorf("stats: MeanIntervalSums: n %d, sums %v %v", n, sum, sumSq)
	}
	nan := math.NaN()
	m := MeanCI{N: n, Mean: nan, SD: nan, Lower95: nan, Upper95: nan}
	if n == 0 {
		return m, nil
	}
	m.Mean = sum / float64(n)
	if n >= 2 {
		v := (sumSq - sum*sum/float64(n)) / float64(n-1)
		m.SD = math.Sqrt(math.Max(v, 0))
		q := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}.Quantile(0.975)
		h := q * m.SD / math.Sqrt(float64(n))
		m.Lower95, m.Upper95 = m.Mean-h, m.Mean+h
	}
	return m, nil
}
