package stats

import (
	"fmt"
	"math"
	"sort"
)

// Design is the model matrix of a regression (FitLinear, FitLogistic,
// FitLMMDesign, FitCox, FitCoxCounting): one column per term, one row per
// observation. The intercept is not a column; the models that have one add
// it. Columns keep the order they are added in, so the design of R's
// formula y ~ t * group + age, built with AddNumeric("t", t),
// AddCategoricalRef("group", g, ref), AddNumeric("age", age) and
// AddInteraction("t", t, "group"), lists its terms in the order lm and
// lmer do: t, groupB, …, age, t:groupB, ….
type Design struct {
	// Terms names the columns as kapstat reports them: "age" for a
	// numeric covariate, "arm=B" for level B of a categorical one, "t:arm=B"
	// for an interaction.
	Terms []string
	// RTerms names the same columns as R's model.matrix does (the
	// variable's name followed by the level, no separator): "age", "armB",
	// "t:armB".
	RTerms []string
	// Cols holds the columns: Cols[j][i] is term j of observation i.
	Cols [][]float64

	n    int
	vars []string // the variable each column comes from
}

// NewDesign returns an empty design for n observations.
func NewDesign(n int) *Design {
	return &Design{n: n}
}

// Rows returns the number of observations.
func (d *Design) Rows() int { return d.n }

func (d *Design) add(variable, term, rterm string, col []float64) {
	d.Terms = append(d.Terms, term)
	d.RTerms = append(d.RTerms, rterm)
	d.Cols = append(d.Cols, col)
	d.vars = append(d.vars, variable)
}

// AddNumeric adds a numeric covariate as one term named name. A NaN or
// infinite value is an error: leaving out observations with a missing
// covariate (complete cases) is the caller's choice, so that it can count
// them.
func (d *Design) AddNumeric(name string, v []float64) error {
	if len(v) != d.n {
		return fmt.Errorf("stats: covariate %s has %d values for %d observations", name, len(v), d.n)
	}
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("stats: covariate %s: observation %d: value %g is not a finite number", name, i, x)
		}
	}
	d.add(name, name, name, append([]float64(nil), v...))
	return nil
}

// AddCategorical adds a categorical covariate with treatment coding
// against its first level in sorted (byte) order, as R's factor with
// contr.treatment for levels sorted in the C locale: one 0/1 term
// "name=level" per other level. An empty value is an error; a single
// level adds no term and is an error too, since it cannot be estimated.
func (d *Design) AddCategorical(name string, v []string) error {
	levels, err := d.levels(name, v)
	if err != nil {
		return err
	}
	return d.addLevels(name, v, levels[0], levels)
}

// AddCategoricalRef is AddCategorical with the reference level ref chosen
// by the caller (R's relevel(factor(v), ref)): one 0/1 term per other
// level, in sorted order. A reference that is not among the values is an
// error. MostFrequent gives the most frequent level.
func (d *Design) AddCategoricalRef(name string, v []string, ref string) error {
	levels, err := d.levels(name, v)
	if err != nil {
		return err
	}
	if i := sort.SearchStrings(levels, ref); i == len(levels) || levels[i] != ref {
		return fmt.Errorf("stats: covariate %s: reference level %q does not occur", name, ref)
	}
	return d.addLevels(name, v, ref, levels)
}

// levels checks a categorical covariate and returns its sorted levels.
func (d *Design) levels(name string, v []string) ([]string, error) {
	if len(v) != d.n {
		return nil, fmt.Errorf("stats: covariate %s has %d values for %d observations", name, len(v), d.n)
	}
	set := map[string]bool{}
	prev := ""
	for i, s := range v {
		if s == prev && i > 0 {
			continue // runs are common: a patient's observations share a value
		}
		if s == "" {
			return nil, fmt.Errorf("stats: covariate %s: observation %d: empty value", name, i)
		}
		set[s] = true
		prev = s
	}
	if len(set) == 0 {
		return nil, fmt.Errorf("stats: covariate %s has no values", name)
	}
	levels := make([]string, 0, len(set))
	for s := range set {
		levels = append(levels, s)
	}
	sort.Strings(levels)
	if len(levels) < 2 {
		return nil, fmt.Errorf("stats: covariate %s has a single level %q", name, levels[0])
	}
	return levels, nil
}

func (d *Design) addLevels(name string, v []string, ref string, levels []string) error {
	col := map[string][]float64{}
	for _, l := range levels {
		if l == ref {
			continue
		}
		c := make([]float64, d.n)
		col[l] = c
		d.add(name, name+"="+l, name+l, c)
	}
	var c []float64
	prev := ""
	for i, s := range v {
		if i == 0 || s != prev {
			c, prev = col[s], s
		}
		if c != nil {
			c[i] = 1
		}
	}
	return nil
}

// AddInteraction adds the products of the numeric variable v (named name)
// with every column of the variable already in the design as variable,
// as R's name:variable term in a formula: with a categorical variable
// "group" coded as groupB and groupC, the terms "name:group=B" and
// "name:group=C" (R: name:groupB, name:groupC). The variable must have
// been added before; a NaN or infinite value of v is an error.
func (d *Design) AddInteraction(name string, v []float64, variable string) error {
	if len(v) != d.n {
		return fmt.Errorf("stats: interaction %s:%s has %d values for %d observations", name, variable, len(v), d.n)
	}
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("stats: interaction %s:%s: observation %d: value %g is not a finite number", name, variable, i, x)
		}
	}
	found := false
	for j := range len(d.vars) {
		if d.vars[j] != variable {
			continue
		}
		found = true
		c := make([]float64, d.n)
		for i, x := range v {
			c[i] = x * d.Cols[j][i]
		}
		d.add(name+":"+variable, name+":"+d.Terms[j], name+":"+d.RTerms[j], c)
	}
	if !found {
		return fmt.Errorf("stats: interaction %s:%s: %s is not in the design", name, variable, variable)
	}
	return nil
}

// MostFrequent returns the most frequent non-empty value of v, the first
// in sorted order among equally frequent ones ("" when there is none): the
// reference level that the adjusted comparisons of SPEC 6 item 15 use for a
// categorical covariate.
func MostFrequent(v []string) string {
	count := map[string]int{}
	for _, s := range v {
		if s != "" {
			count[s]++
		}
	}
	best, bestN := "", 0
	for s, n := range count {
		if n > bestN || n == bestN && s < best {
			best, bestN = s, n
		}
	}
	return best
}

// matrix returns the design as a row-major n×k matrix, with a leading
// column of ones when intercept is set, and the names of its columns
// (kapstat's and R's).
func (d *Design) matrix(intercept bool) (x []float64, k int, terms, rterms []string) {
	k = len(d.Cols)
	if intercept {
		k++
		terms = append(terms, "(Intercept)")
		rterms = append(rterms, "(Intercept)")
	}
	terms = append(terms, d.Terms...)
	rterms = append(rterms, d.RTerms...)
	x = make([]float64, d.n*k)
	for i := 0; i < d.n; i++ {
		row := x[i*k : (i+1)*k]
		j0 := 0
		if intercept {
			row[0] = 1
			j0 = 1
		}
		for j, c := range d.Cols {
			row[j0+j] = c[i]
		}
	}
	return x, k, terms, rterms
}
