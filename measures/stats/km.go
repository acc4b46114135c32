package stats

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// z975 is the 0.975 quantile of the standard normal, qnorm(0.975) in R.
const z975 = 1.959963984540054

// KMRow is one row of a Kaplan–Meier table, at an event time.
type KMRow struct {
	Time   float64 `json:"time"`
	NRisk  int     `json:"n_risk"`
	NEvent int     `json:"n_event"`
	// Survival is the product-limit estimate S(t).
	Survival float64 `json:"survival"`
	// StdErr is the Greenwood standard error of S(t) (summary.survfit's
	// std.err); NaN once S(t) = 0.
	StdErr float64 `json:"std_err"`
	// Lower95 and Upper95 are the log-scale 95% limits (conf.type "log"),
	// the upper one capped at 1; NaN once S(t) = 0.
	Lower95 float64 `json:"lower95"`
	Upper95 float64 `json:"upper95"`
}

// MarshalJSON writes the row with NaN as null.
func (r KMRow) MarshalJSON() ([]byte, error) {
	type plain KMRow
	return marshalFinite(plain(r))
}

// KMCurve is a Kaplan–Meier estimate. Undefined quantities are NaN and
// are written as null by MarshalJSON.
type KMCurve struct {
	// Group is a label for the curve, left for the caller to set.
	Group  string `json:"group,omitempty"`
	N      int    `json:"n"`
	Events int    `json:"events"`
	// Missing counts observations dropped because their time was NaN.
	Missing int     `json:"n_missing"`
	Table   []KMRow `json:"table"`
	// Median is the median survival time as print.survfit reports it
	// (NaN when the curve does not reach 0.5); MedianLower95 and
	// MedianUpper95 are its 95% limits read the same way from the lower
	// and upper limits of the curve (print.survfit's 0.95LCL, 0.95UCL).
	Median        float64 `json:"median"`
	MedianLower95 float64 `json:"median_lower95"`
	MedianUpper95 float64 `json:"median_upper95"`
	// MaxTime is the largest observed time, event or censored.
	MaxTime float64 `json:"max_time"`

	sorted []float64 // observed times, ascending
}

// MarshalJSON writes the curve with NaN as null.
func (c KMCurve) MarshalJSON() ([]byte, error) {
	type plain KMCurve
	return marshalFinite(plain(c))
}

// checkSurvival validates right-censored data and returns the indices of
// the observations with a time (NaN times are dropped and counted).
func checkSurvival(time []float64, event []bool) ([]int, int, error) {
	if len(time) != len(event) {
		return nil, 0, fmt.Errorf("stats: lengths differ: time %d, event %d", len(time), len(event))
	}
	keep := make([]int, 0, len(time))
	missing := 0
	for i, t := range time {
		switch {
		case math.IsNaN(t):
			missing++
			continue
		case math.IsInf(t, 0):
			return nil, 0, fmt.Errorf("stats: observation %d: infinite time", i)
		case t < 0:
			return nil, 0, fmt.Errorf("stats: observation %d: negative time %g", i, t)
		}
		keep = append(keep, i)
	}
	if len(keep) == 0 {
		return nil, 0, errors.New("stats: no observations with a time")
	}
	return keep, missing, nil
}

// KaplanMeier computes the product-limit estimate of the survival function
// from right-censored times (event[i] true for an event, false for
// censoring), as R's survfit(Surv(time, event) ~ 1) with its defaults
// (Greenwood variance, conf.type = "log"). At each distinct event time
// t_j with n_j at risk and d_j events (an observation censored at t_j is
// still at risk at t_j):
//
//	S(t) = Π_{t_j ≤ t} (1 − d_j/n_j)
//	std_err(t) = S(t)·sqrt(Σ_{t_j ≤ t} d_j / (n_j(n_j − d_j)))   (Greenwood)
//	lower95, upper95 = S(t)·exp(∓1.96·std_err(t)/S(t)), upper capped at 1
//
// The table has one row per event time. Observations with a NaN time are
// dropped and counted in Missing; a negative or infinite time is an error.
func KaplanMeier(time []float64, event []bool) (*KMCurve, error) {
	keep, missing, err := checkSurvival(time, event)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(keep, func(a, b int) bool { return time[keep[a]] < time[keep[b]] })
	c := &KMCurve{N: len(keep), Missing: missing, Table: []KMRow{}}
	c.MaxTime = time[keep[len(keep)-1]]
	c.sorted = make([]float64, len(keep))
	for i, k := range keep {
		c.sorted[i] = time[k]
	}
	s, green := 1.0, 0.0
	atRisk := len(keep)
	for i := 0; i < len(keep); {
		t := time[keep[i]]
		d, m := 0, 0
		for ; i < len(keep) && time[keep[i]] == t; i++ {
			m++
			if event[keep[i]] {
				d++
			}
		}
		if d > 0 {
			s *= 1 - float64(d)/float64(atRisk)
			if atRisk > d {
				green += float64(d) / (float64(atRisk) * float64(atRisk-d))
			} else {
				green = math.Inf(1)
			}
			row := KMRow{Time: t, NRisk: atRisk, NEvent: d, Survival: s}
			if s > 0 {
				se := math.Sqrt(green)
				row.StdErr = s * se
				row.Lower95 = s * math.Exp(-z975*se)
				row.Upper95 = math.Min(1, s*math.Exp(z975*se))
			} else {
				row.StdErr, row.Lower95, row.Upper95 = math.NaN(), math.NaN(), math.NaN()
			}
			c.Table = append(c.Table, row)
			c.Events += d
		}
		atRisk -= m
	}
	c.Median = c.median(func(r KMRow) float64 { return r.Survival })
	c.MedianLower95 = c.median(func(r KMRow) float64 { return r.Lower95 })
	c.MedianUpper95 = c.median(func(r KMRow) float64 { return r.Upper95 })
	return c, nil
}

// median returns the median of the curve given by surv (the estimate or
// one of its confidence limits) as print.survfit reports it (survival's
// survmean): the first time t at which S(t) < 0.5 + sqrt(machine epsilon);
// when S(t) equals 0.5 there (within that tolerance) and the curve drops
// lower later, the midpoint between t and the time of that drop. NaN
// when the curve stays above 0.5. A curve that ends at exactly 0.5 has
// median t, where quantile.survfit would give the midpoint to the last
// follow-up time.
func (c *KMCurve) median(surv func(KMRow) float64) float64 {
	const tol = 1.4901161193847656e-08 // sqrt(.Machine$double.eps)
	first := -1
	for i, r := range c.Table {
		v := surv(r)
		if math.IsNaN(v) || !(v < 0.5+tol) {
			continue
		}
		if first < 0 {
			first = i
			if !(math.Abs(v-0.5) < tol) {
				return r.Time
			}
			continue
		}
		if v < surv(c.Table[first]) {
			return (c.Table[first].Time + r.Time) / 2
		}
	}
	if first < 0 {
		return math.NaN()
	}
	return c.Table[first].Time
}

// SurvivalPoint is the Kaplan–Meier estimate at a requested time.
type SurvivalPoint struct {
	Time     float64 `json:"time"`
	NRisk    int     `json:"n_risk"`
	Survival float64 `json:"survival"`
	StdErr   float64 `json:"std_err"`
	Lower95  float64 `json:"lower95"`
	Upper95  float64 `json:"upper95"`
}

// MarshalJSON writes the point with NaN as null.
func (p SurvivalPoint) MarshalJSON() ([]byte, error) {
	type plain SurvivalPoint
	return marshalFinite(plain(p))
}

// At returns the estimate at each requested time, as R's
// summary(fit, times = times): the survival is a right-continuous step
// function, so the value at t is that of the last event time ≤ t (1, with
// standard error 0 and limits 1, before the first event). Times after
// the largest observed time are beyond follow-up: their values are NaN,
// as summary.survfit (extend = FALSE) leaves them out. NRisk is the number
// still at risk at t (0 beyond follow-up).
func (c *KMCurve) At(times []float64) []SurvivalPoint {
	out := make([]SurvivalPoint, len(times))
	for k, t := range times {
		p := SurvivalPoint{Time: t}
		if math.IsNaN(t) || t > c.MaxTime {
			p.Survival, p.StdErr, p.Lower95, p.Upper95 = math.NaN(), math.NaN(), math.NaN(), math.NaN()
			out[k] = p
			continue
		}
		// last row with Time ≤ t
		j := sort.Search(len(c.Table), func(i int) bool { return c.Table[i].Time > t }) - 1
		if j < 0 {
			p.Survival, p.StdErr, p.Lower95, p.Upper95 = 1, 0, 1, 1
		} else {
			r := c.Table[j]
			p.Survival, p.StdErr, p.Lower95, p.Upper95 = r.Survival, r.StdErr, r.Lower95, r.Upper95
		}
		p.NRisk = c.atRisk(t)
		out[k] = p
	}
	return out
}

// atRisk is the number of observations with time ≥ t.
func (c *KMCurve) atRisk(t float64) int {
	return len(c.sorted) - sort.SearchFloat64s(c.sorted, t)
}
