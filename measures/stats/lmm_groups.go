package stats

import (
	"fmt"
	"math"
	"strings"
)

// FitLMMGroups is FitLMMDesign for a model whose every fixed effect is,
// within each group, a constant or the random slope's t times a constant
// (y ~ t * arm + age + sex, with patient-level covariates), given by the
// constants rather than by a row per observation: pd has one row per group
// (row g for group index g), and its columns whose variable is slope or
// slope:… (AddNumeric(slope, ones), AddInteraction(slope, ones, "arm")) are
// multiplied by each observation's t, the others taken as they are. The
// estimates, terms and warnings are those of FitLMMDesign on the expanded
// observation-level design (tested to agree), without building it: memory
// is O(groups·k) instead of O(observations·k), and the cross-products cost
// O(groups·nnz²) for nnz nonzero constants per group.
//
// group, t and y are as for FitLMMDesign; every group index must be a row
// of pd. opt.InterceptOnly is not supported (use FitLMMDesign).
func FitLMMGroups(group []int, t, y []float64, pd *Design, slope string, opt LMMOptions) (*LMMDesignFit, error) {
	if opt.InterceptOnly {
		return nil, fmt.Errorf("stats: FitLMMGroups: the random-intercept model is not supported; use FitLMMDesign")
	}
	return fitLMMX(func() (*lmmxData, []groupSums, int, []string, []string, error) {
		return newLMMGroupData(group, t, y, pd, slope, opt)
	}, opt)
}

// newLMMGroupData is newLMMXData for FitLMMGroups: the per-group sums, X'X
// and X'y from the constants, then the types of the columns (known here),
// their patterns or sparse constants, and the moment start's residual sums.
func newLMMGroupData(group []int, t, y []float64, pd *Design, slope string, opt LMMOptions) (data *lmmxData, gs []groupSums, singletons int, terms, rterms []string, err error) {
	fail := func(format string, a ...any) (*lmmxData, []groupSums, int, []string, []string, error) {
		return nil, nil, 0, nil, nil, fmt.Errorf("stats: FitLMMDesign: "+format, a...)
	}
	if len(group) != len(t) || len(t) != len(y) {
		return fail("lengths differ: group %d, t %d, y %d", len(group), len(t), len(y))
	}
	_, nobs, ysum, err := scanObservations(group, t, y, pd.n)
	if err != nil {
		return nil, nil, 0, nil, nil, err
	}
	k := len(pd.Cols) + 1
	terms = append([]string{"(Intercept)"}, pd.Terms...)
	rterms = append([]string{"(Intercept)"}, pd.RTerms...)
	colType := make([]int, k)
	for j, v := range pd.vars {
		if v == slope || strings.HasPrefix(v, slope+":") {
			colType[j+1] = 1
		}
	}
	data = &lmmxData{k: k, stride: 5 + 2*k, reml: !opt.ML, xtx: make([]float64, k*k), xty: make([]float64, k)}
	data.ybar = ysum / float64(nobs)
	st := data.stride
	G0 := pd.n
	sums := make([]float64, G0*st)
	for i, g := range group {
		if math.IsNaN(t[i]) || math.IsNaN(y[i]) {
			continue
		}
		ti, yi := t[i], y[i]-data.ybar
		rec := sums[g*st : (g+1)*st]
		rec[0]++
		rec[1] += ti
		rec[2] += ti * ti
		rec[3+2*k] += yi
		rec[4+2*k] += ti * yi
		data.yty += yi * yi
	}
	// Each kept group's nonzero constants; Z_g'X_g, X'X and X'y from them:
	// row i of X is c0 + t_i·c1 (c0 the constants of type-0 columns, c1 of
	// type-1 ones), so Σ_i x_i = n·c0 + Σt·c1, Σ_i t_i·x_i = Σt·c0 + Σt²·c1,
	// X_g'X_g = n·c0c0' + Σt·(c0c1' + c1c0') + Σt²·c1c1' and X_g'y_g =
	// c0·Σy + c1·Σty.
	kept := sums[:0]
	var index []int
	data.spOff = []int32{0}
	for g := 0; g < G0; g++ {
		rec := sums[g*st : (g+1)*st]
		n := rec[0]
		if n == 0 {
			continue
		}
		if n == 1 {
			singletons++
		}
		sT, sTT, zy0, zy1 := rec[1], rec[2], rec[3+2*k], rec[4+2*k]
		off := len(data.spIdx)
		for j := 0; j < k; j++ {
			c := 1.0
			if j > 0 {
				c = pd.Cols[j-1][g]
			}
			if math.IsNaN(c) || math.IsInf(c, 0) {
				return fail("group %d: column %s is not a finite number", g, terms[j])
			}
			if c != 0 {
				data.spIdx = append(data.spIdx, int32(j))
				data.spVal = append(data.spVal, c)
			}
		}
		idx, val := data.spIdx[off:], data.spVal[off:]
		// w[type a][type b] = Σ t^(a+b) over the group's observations
		w := [2][2]float64{{n, sT}, {sT, sTT}}
		for a, j32 := range idx {
			j := int(j32)
			tj := colType[j]
			rec[3+j] = val[a] * w[0][tj]
			rec[3+k+j] = val[a] * w[1][tj]
			if tj == 0 {
				data.xty[j] += val[a] * zy0
			} else {
				data.xty[j] += val[a] * zy1
			}
			row := data.xtx[j*k:]
			for b, m := range idx[:a+1] {
				row[m] += val[a] * val[b] * w[tj][colType[m]]
			}
		}
		data.spOff = append(data.spOff, int32(len(data.spIdx)))
		index = append(index, g)
		kept = append(kept, rec...)
	}
	for j := 0; j < k; j++ {
		for m := 0; m < j; m++ {
			data.xtx[m*k+j] = data.xtx[j*k+m]
		}
	}
	if j := aliasedColumn(data.xtx, k); j >= 0 {
		return nil, nil, 0, nil, nil, &AliasedError{Term: terms[j]}
	}
	data.sums = kept
	data.n = float64(nobs)
	data.colType = colType
	G := data.groups()
	if err := data.identifiable(false); err != nil {
		return nil, nil, 0, nil, nil, err
	}
	// Per-group sums of the least-squares residuals for the moment start:
	// r_i = y_i − ȳ − c0·β − t_i·(c1·β); then the patterns, if few.
	defer data.groupPatterns()
	bols, ok := solveSPD(data.xtx, data.xty, k)
	if !ok {
		return data, nil, singletons, terms, rterms, nil
	}
	pos := make([]int, G0)
	for i := range pos {
		pos[i] = -1
	}
	a := make([]float64, G)
	b := make([]float64, G)
	for gi, g := range index {
		pos[g] = gi
		for e := data.spOff[gi]; e < data.spOff[gi+1]; e++ {
			j := data.spIdx[e]
			if colType[j] == 0 {
				a[gi] += data.spVal[e] * bols[j]
			} else {
				b[gi] += data.spVal[e] * bols[j]
			}
		}
	}
	gs = make([]groupSums, G)
	for i, g := range group {
		if math.IsNaN(t[i]) || math.IsNaN(y[i]) {
			continue
		}
		gi := pos[g]
		r := y[i] - data.ybar - a[gi] - t[i]*b[gi]
		gs[gi].add(t[i], r)
	}
	return data, gs, singletons, terms, rterms, nil
}

// groupPatterns turns the sparse constants (newLMMGroupData, or sparse for
// FitLMMDesign) into patterns (see lmmxData) when the groups share fewer
// distinct vectors of them than a quarter of the groups and than
// maxPatterns; otherwise the sparse constants stay.
func (d *lmmxData) groupPatterns() {
	G := d.groups()
	k := d.k
	if G < 8 {
		return
	}
	index := map[string]int32{}
	pattern := make([]int32, G)
	c := make([]float64, k)
	key := make([]byte, 8*k)
	var patterns []float64
	for g := 0; g < G; g++ {
		clear(c)
		for e := d.spOff[g]; e < d.spOff[g+1]; e++ {
			c[d.spIdx[e]] = d.spVal[e]
		}
		for j := 0; j < k; j++ {
			bits := math.Float64bits(c[j])
			for r := 0; r < 8; r++ {
				key[8*j+r] = byte(bits >> (8 * r))
			}
		}
		pi, seen := index[string(key)]
		if !seen {
			if len(index) >= min(G/4, maxPatterns) {
				return
			}
			pi = int32(len(index))
			index[string(key)] = pi
			patterns = append(patterns, c...)
		}
		pattern[g] = pi
	}
	d.pattern, d.patterns = pattern, patterns
	d.spOff, d.spIdx, d.spVal = nil, nil, nil
}
