package stats

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"
)

// LogRank is the result of a k-group log-rank test.
type LogRank struct {
	Chisq float64 `json:"chisq"`
	DF    int     `json:"df"`
	P     float64 `json:"p"`
	// Observed and Expected are the event counts per group index.
	Observed []float64 `json:"observed"`
	Expected []float64 `json:"expected"`
}

// MarshalJSON writes the test with NaN as null.
func (l LogRank) MarshalJSON() ([]byte, error) {
	type plain LogRank
	return marshalFinite(plain(l))
}

// LogRankTest compares the survival of groups 0..k−1 (group[i] is the
// group index of observation i) by the log-rank test, as R's
// survdiff(Surv(time, event) ~ group) with rho = 0. At each distinct event
// time with n at risk (n_g in group g) and d events:
//
//	E_g = Σ d·n_g/n
//	V_gh = Σ d·(n − d)/(n − 1) · (n_g/n)·(δ_gh − n_h/n)
//	χ² = (O − E)'V⁻¹(O − E) over the groups with E_g > 0, the first left out
//
// with df = (number of groups with E_g > 0) − 1 and p the upper χ² tail.
// Observations with a NaN time are dropped; a negative time, a group
// index outside 0..k−1, or fewer than two groups with observations is an
// error.
func LogRankTest(time []float64, event []bool, group []int) (*LogRank, error) {
	keep, _, err := checkSurvival(time, event)
	if err != nil {
		return nil, err
	}
	if len(group) != len(time) {
		return nil, fmt.Errorf("stats: LogRankTest: lengths differ: time %d, group %d", len(time), len(group))
	}
	k := 0
	for _, i := range keep {
		if group[i] < 0 {
			return nil, fmt.Errorf("stats: LogRankTest: observation %d: negative group index", i)
		}
		k = max(k, group[i]+1)
	}
	nRisk := make([]float64, k)
	for _, i := range keep {
		nRisk[group[i]]++
	}
	present := 0
	for _, n := range nRisk {
		if n > 0 {
			present++
		}
	}
	if present < 2 {
		return nil, errors.New("stats: LogRankTest: fewer than two groups with observations")
	}
	sort.SliceStable(keep, func(a, b int) bool { return time[keep[a]] < time[keep[b]] })
	obs := make([]float64, k)
	exp := make([]float64, k)
	v := make([]float64, k*k)
	dg := make([]float64, k)
	mg := make([]float64, k)
	n := float64(len(keep))
	for i := 0; i < len(keep); {
		t := time[keep[i]]
		for g := range dg {
			dg[g], mg[g] = 0, 0
		}
		d := 0.0
		for ; i < len(keep) && time[keep[i]] == t; i++ {
			g := group[keep[i]]
			mg[g]++
			if event[keep[i]] {
				dg[g]++
				d++
			}
		}
		if d > 0 {
			for g := 0; g < k; g++ {
				obs[g] += dg[g]
				exp[g] += d * nRisk[g] / n
			}
			if n > 1 {
				f := d * (n - d) / (n - 1)
				for g := 0; g < k; g++ {
					pg := nRisk[g] / n
					for h := 0; h < k; h++ {
						delta := 0.0
						if g == h {
							delta = 1
						}
						v[g*k+h] += f * pg * (delta - nRisk[h]/n)
					}
				}
			}
		}
		for g := range mg {
			nRisk[g] -= mg[g]
			n -= mg[g]
		}
	}
	var idx []int
	for g := 0; g < k; g++ {
		if exp[g] > 0 {
			idx = append(idx, g)
		}
	}
	res := &LogRank{Observed: obs, Expected: exp, DF: len(idx) - 1}
	if len(idx) < 2 {
		res.Chisq, res.P = 0, 1
		return res, nil
	}
	idx = idx[1:]
	m := len(idx)
	vv := mat.NewDense(m, m, nil)
	diff := mat.NewVecDense(m, nil)
	for a, g := range idx {
		diff.SetVec(a, obs[g]-exp[g])
		for b, h := range idx {
			vv.Set(a, b, v[g*k+h])
		}
	}
	var sol mat.VecDense
	if err := sol.SolveVec(vv, diff); err != nil {
		return nil, fmt.Errorf("stats: LogRankTest: variance matrix is singular: %w", err)
	}
	res.Chisq = mat.Dot(&sol, diff)
	res.P = distuv.ChiSquared{K: float64(res.DF)}.Survival(res.Chisq)
	if math.IsNaN(res.P) {
		return nil, errors.New("stats: LogRankTest: undefined statistic")
	}
	return res, nil
}
