package compare

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/kapstat/kapstat/measures/outcome"
	"github.com/kapstat/kapstat/measures/stats"
)

// covariate is one candidate of X: numeric (num) or categorical (cat),
// with a missing value NaN or "".
type covariate struct {
	name string
	num  func(p *Patient) float64
	cat  func(p *Patient) string
}

// missingLabel reports a categorical value that counts as missing.
func missingLabel(s string) bool { return s == "" || s == outcome.Unknown }

func (c covariate) missing(p *Patient) bool {
	if c.num != nil {
		v := c.num(p)
		return math.IsNaN(v) || math.IsInf(v, 0)
	}
	return missingLabel(c.cat(p))
}

var (
	covBaseline = covariate{name: "baseline", num: func(p *Patient) float64 { return float64(p.Baseline) }}
	covTraits   = []covariate{
		{name: "age", num: func(p *Patient) float64 { return p.Age }},
		{name: "sex", cat: func(p *Patient) string { return p.Sex }},
		{name: "diagnosis", cat: func(p *Patient) string { return p.Diagnosis }},
		{name: "prior_treatments", num: func(p *Patient) float64 { return p.PriorTreatments }},
	}
)

// sample is a model's patients after the rules of the package
// documentation: the output header, the patients in the model (rows,
// indices into Input.Patients), the covariates in X and the reference
// level of each categorical one. skipped is set when there is no model.
type sample struct {
	Sample
	dim     Dimension
	rows    []int
	covs    []covariate
	refs    []string
	levels  []string // levels of the dimension in the model, sorted
	skipped bool
	notes   []string
}

// candidates returns the covariates considered for X: the baseline score,
// then the characteristics when the input has them (CompareSlope leaves
// out the first).
func candidates(in *Input) []covariate {
	c := []covariate{covBaseline}
	if in.Characteristics {
		c = append(c, covTraits...)
	}
	return c
}

// newSample applies level selection (dimension dim; "" for none), the
// covariate rule and complete cases to the population pop (indices into
// in.Patients), with covs the candidate covariates.
func newSample(in *Input, pop []int, dim Dimension, covs []covariate) *sample {
	s := &sample{dim: dim}
	s.ExcludedBy = map[string]int{}
	s.Levels = map[string]int{}
	s.Covariates = []string{}
	kept := pop
	if dim != "" {
		labels := make([]string, len(pop))
		for i, pi := range pop {
			labels[i] = in.Patients[pi].Label(dim)
		}
		lv := SelectLevels(labels)
		s.Dropped = lv.Dropped
		if note := lv.Skipped(); note != "" {
			s.skipped = true
			s.notes = append(s.notes, note)
			return s
		}
		s.Reference = lv.Reference
		kept = make([]int, 0, len(pop))
		for i, pi := range pop {
			if _, ok := lv.Counts[labels[i]]; ok {
				kept = append(kept, pi)
			}
		}
	} else {
		s.Dropped = map[string]int{}
	}
	// Covariates that take two or more values among the kept levels'
	// patients.
	for _, c := range covs {
		if n := varies(in, kept, c); n >= 2 {
			s.covs = append(s.covs, c)
		} else {
			s.notes = append(s.notes, singleValueNote(c, n, "the patients compared"))
		}
	}
	// Complete cases; a covariate that no longer varies among them is
	// left out and the complete cases are taken again.
	for {
		s.rows = s.rows[:0]
		clear(s.ExcludedBy)
		for _, pi := range kept {
			p := &in.Patients[pi]
			miss := ""
			for _, c := range s.covs {
				if c.missing(p) {
					miss = c.name
					break
				}
			}
			if miss != "" {
				s.ExcludedBy[miss]++
				continue
			}
			s.rows = append(s.rows, pi)
		}
		var keep []covariate
		for _, c := range s.covs {
			if n := varies(in, s.rows, c); n >= 2 {
				keep = append(keep, c)
			} else {
				s.notes = append(s.notes, singleValueNote(c, n, "the patients with every covariate recorded"))
			}
		}
		if len(keep) == len(s.covs) {
			break
		}
		s.covs = keep
	}
	s.Excluded = len(kept) - len(s.rows)
	// The levels that remain among the complete cases.
	if dim != "" {
		for _, pi := range s.rows {
			s.Levels[in.Patients[pi].Label(dim)]++
		}
		for l := range s.Levels {
			s.levels = append(s.levels, l)
		}
		sort.Strings(s.levels)
		var gone []string
		for _, l := range sortedKeys(countsOf(in, kept, dim)) {
			if s.Levels[l] == 0 {
				gone = append(gone, l)
			}
		}
		if len(gone) > 0 {
			s.notes = append(s.notes, fmt.Sprintf("no patient of %s has every covariate recorded: not compared.", strings.Join(gone, ", ")))
		}
		if s.Levels[s.Reference] == 0 || len(s.levels) < 2 {
			s.skipped = true
			s.notes = append(s.notes, "not compared: fewer than two levels, or not the reference level, among the patients with every covariate recorded.")
			return s
		}
	}
	s.N = len(s.rows)
	// Reference levels of categorical covariates: the most frequent among
	// the patients in the model; the terms as the model names them.
	s.refs = make([]string, len(s.covs))
	for j, c := range s.covs {
		if c.cat == nil {
			s.Covariates = append(s.Covariates, c.name)
			continue
		}
		v := make([]string, len(s.rows))
		for i, pi := range s.rows {
			v[i] = c.cat(&in.Patients[pi])
		}
		s.refs[j] = stats.MostFrequent(v)
		for _, l := range sortedKeys(countStrings(v)) {
			if l != s.refs[j] {
				s.Covariates = append(s.Covariates, c.name+"="+l)
			}
		}
	}
	return s
}

// note returns the sample's notes as one text.
func (s *sample) note() string { return strings.Join(s.notes, " ") }

// varies returns 0 when c is missing for every patient of rows, 1 when it
// takes a single value among them and 2 when it takes two or more.
func varies(in *Input, rows []int, c covariate) int {
	n := 0
	var f float64
	var str string
	for _, pi := range rows {
		p := &in.Patients[pi]
		if c.missing(p) {
			continue
		}
		if c.num != nil {
			v := c.num(p)
			if n == 0 {
				f, n = v, 1
			} else if v != f {
				return 2
			}
			continue
		}
		v := c.cat(p)
		if n == 0 {
			str, n = v, 1
		} else if v != str {
			return 2
		}
	}
	return n
}

func singleValueNote(c covariate, n int, among string) string {
	if n == 0 {
		return fmt.Sprintf("%s not adjusted for: not recorded for %s.", c.name, among)
	}
	return fmt.Sprintf("%s not adjusted for: a single value among %s.", c.name, among)
}

func countsOf(in *Input, rows []int, dim Dimension) map[string]int {
	m := map[string]int{}
	for _, pi := range rows {
		m[in.Patients[pi].Label(dim)]++
	}
	return m
}

func countStrings(v []string) map[string]int {
	m := map[string]int{}
	for _, s := range v {
		m[s]++
	}
	return m
}

func sortedKeys(m map[string]int) []string {
	k := make([]string, 0, len(m))
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}

// design returns the design of the rows obs (each an index into
// in.Patients, one per row of the model): the columns of lead (e.g. the
// time t), the dimension (treatment coded against the reference) when
// withDim, and, when withX, the covariates of X with the columns of extra
// (e.g. maintenance) after the baseline score.
func (s *sample) design(in *Input, obs []int, lead []namedColumn, withDim, withX bool, extra ...namedColumn) (*stats.Design, error) {
	d := stats.NewDesign(len(obs))
	for _, c := range lead {
		if err := d.AddNumeric(c.name, c.v); err != nil {
			return nil, err
		}
	}
	if withDim {
		v := make([]string, len(obs))
		for i, pi := range obs {
			v[i] = in.Patients[pi].Label(s.dim)
		}
		if err := d.AddCategoricalRef(string(s.dim), v, s.Reference); err != nil {
			return nil, err
		}
	}
	if withX {
		if err := s.addCovariates(d, in, obs, extra...); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// namedColumn is a numeric column added to a design.
type namedColumn struct {
	name string
	v    []float64
}

// addCovariates adds X to d, with the columns of extra right after the
// baseline score (before the first other covariate when the baseline is not
// in X): the order of R's formula ~ … + baseline + maintenance + age + ….
func (s *sample) addCovariates(d *stats.Design, in *Input, obs []int, extra ...namedColumn) error {
	placed := false
	place := func() error {
		if placed {
			return nil
		}
		placed = true
		for _, e := range extra {
			if err := d.AddNumeric(e.name, e.v); err != nil {
				return err
			}
		}
		return nil
	}
	for j, c := range s.covs {
		if c.name != covBaseline.name {
			if err := place(); err != nil {
				return err
			}
		}
		if c.num != nil {
			v := make([]float64, len(obs))
			for i, pi := range obs {
				v[i] = c.num(&in.Patients[pi])
			}
			if err := d.AddNumeric(c.name, v); err != nil {
				return err
			}
			continue
		}
		v := make([]string, len(obs))
		for i, pi := range obs {
			v[i] = c.cat(&in.Patients[pi])
		}
		if err := d.AddCategoricalRef(c.name, v, s.refs[j]); err != nil {
			return err
		}
	}
	return place()
}
