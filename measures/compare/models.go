package compare

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/kapstat/kapstat/measures/stats"
)

// population returns the indices of the patients with a baseline for which
// keep holds.
func population(in *Input, keep func(p *Patient) bool) []int {
	var pop []int
	for i := range in.Patients {
		p := &in.Patients[i]
		if p.HasBaseline && keep(p) {
			pop = append(pop, i)
		}
	}
	return pop
}

// CompareChange compares the change from baseline (endpoint − baseline,
// negative is improvement) between the levels of dim by analysis of
// covariance, as R's
//
//	lm(change ~ D + X)                  adjusted (Terms)
//	lm(change ~ D)                      unadjusted, same patients (Unadjusted)
//
// with D treatment coded against the reference level (relevel). The
// population is the patients with a baseline and an endpoint (closed acute
// windows); levels, covariates and complete cases follow the package
// documentation. Per non-reference level: the difference in mean change
// from the reference, its standard error, the 95% limits
// estimate ± t(0.975, residual df)·se and the two-sided t-test p-value
// (summary.lm and confint). A model that cannot be fitted (e.g. collinear
// columns) gives NaN values and a note.
func CompareChange(in *Input, dim Dimension) *Change {
	pop := population(in, func(p *Patient) bool { return p.HasEndpoint })
	s := newSample(in, pop, dim, candidates(in))
	c := &Change{Terms: []Difference{}, Unadjusted: []Difference{}}
	if !s.skipped {
		y := make([]float64, len(s.rows))
		for i, pi := range s.rows {
			p := &in.Patients[pi]
			y[i] = float64(p.Endpoint - p.Baseline)
		}
		c.Terms = s.linear(in, y, true, "adjusted model")
		c.Unadjusted = s.linear(in, y, false, "unadjusted model")
	}
	c.Sample = s.output()
	return c
}

// linear fits y on the dimension (and X when withX) by least squares and
// returns the differences of the non-reference levels.
func (s *sample) linear(in *Input, y []float64, withX bool, what string) []Difference {
	d, err := s.design(in, s.rows, nil, true, withX)
	var fit *stats.LinearFit
	if err == nil {
		fit, err = stats.FitLinear(y, d)
	}
	out := make([]Difference, 0, len(s.levels)-1)
	for _, l := range s.levels {
		if l == s.Reference {
			continue
		}
		diff := Difference{Level: l, Estimate: math.NaN(), SE: math.NaN(), Lower95: math.NaN(), Upper95: math.NaN(), P: math.NaN()}
		if err == nil {
			if t, ok := fit.Term(string(s.dim) + "=" + l); ok {
				diff = Difference{Level: l, Estimate: t.Estimate, SE: t.SE, Lower95: t.Lower95, Upper95: t.Upper95, P: t.P}
			}
		}
		out = append(out, diff)
	}
	if err != nil {
		s.notes = append(s.notes, failedNote(what, err))
	}
	return out
}

// CompareResponse compares the acute response between the levels of dim
// by logistic regression, as R's
//
//	glm(response ~ D + X, family = binomial)   adjusted (Terms)
//	glm(response ~ D, family = binomial)       unadjusted, same patients
//
// on the eligible completers (baseline at or above the cutoff, with an
// endpoint). Per non-reference level: the odds ratio exp(β) with the Wald
// limits exp(β ± 1.959964·se) and the Wald z-test p-value (summary.glm).
// When the outcome is perfectly predicted for some patients (complete or
// quasi-complete separation, e.g. a level without a responder), the
// maximum likelihood estimates do not exist: the values are NaN (null in
// JSON) and the note says which terms diverge — never the huge number glm
// would print.
func CompareResponse(in *Input, dim Dimension) *Response {
	pop := population(in, func(p *Patient) bool { return p.HasEndpoint && p.Eligible })
	s := newSample(in, pop, dim, candidates(in))
	r := &Response{Terms: []OddsRatio{}, Unadjusted: []OddsRatio{}}
	if !s.skipped {
		y := make([]float64, len(s.rows))
		for i, pi := range s.rows {
			if in.Patients[pi].Response {
				y[i] = 1
				r.Events++
			}
		}
		r.Terms = s.logistic(in, y, true, "adjusted model")
		r.Unadjusted = s.logistic(in, y, false, "unadjusted model")
	}
	r.Sample = s.output()
	return r
}

func (s *sample) logistic(in *Input, y []float64, withX bool, what string) []OddsRatio {
	d, err := s.design(in, s.rows, nil, true, withX)
	var fit *stats.LogisticFit
	if err == nil {
		fit, err = stats.FitLogistic(y, d)
	}
	out := make([]OddsRatio, 0, len(s.levels)-1)
	nan := math.NaN()
	for _, l := range s.levels {
		if l == s.Reference {
			continue
		}
		or := OddsRatio{Level: l, OddsRatio: nan, Lower95: nan, Upper95: nan, P: nan, Coef: nan, SE: nan}
		if err == nil {
			if t, ok := fit.Term(string(s.dim) + "=" + l); ok {
				or = OddsRatio{Level: l, OddsRatio: t.OddsRatio, Lower95: t.Lower95, Upper95: t.Upper95, P: t.P, Coef: t.Coef, SE: t.SE}
			}
		}
		out = append(out, or)
	}
	var sep *stats.SeparationError
	switch {
	case errors.As(err, &sep):
		kind := "quasi-complete"
		if sep.Complete {
			kind = "complete"
		}
		msg := fmt.Sprintf("%s: odds ratios not estimated: response is perfectly predicted for some patients (%s separation), so no finite estimate exists", what, kind)
		if len(sep.Terms) > 0 {
			msg += " (diverging: " + strings.Join(sep.Terms, ", ") + ")"
		}
		s.notes = append(s.notes, msg+".")
	case err != nil:
		s.notes = append(s.notes, failedNote(what, err))
	default:
		for _, w := range fit.Warnings {
			s.notes = append(s.notes, what+": "+w+".")
		}
	}
	return out
}

// CompareSlope compares the weekly slope of the symptom trajectory between
// the levels of dim with the linear mixed model of the specification's item
// 6.10 extended by the group, its interaction with time and the patient
// characteristics, as lme4's
//
//	lmer(y ~ t * D + X' + (t | patient))   adjusted (Terms), REML
//	lmer(y ~ t * D + (t | patient))        unadjusted, same observations
//
// on in.Trajectory (t in weeks since the baseline day). X' is X without the
// baseline score: the baseline score is the model's own observation at
// t = 0, already in y and in the random intercept, and adjusting for it as
// well conditions on the outcome — the random intercept variance collapses
// and the fit goes to the boundary (intercept–slope correlation ±1) on
// ordinary data, while the slope difference hardly moves. The population
// is the patients with at least one observation; levels, covariates
// (patient level: the same value on each of a patient's rows) and complete
// cases follow the package documentation, counted in patients. Per
// non-reference level: the difference in weekly slope from the reference
// (the t:D coefficient), its standard error, the normal limits
// ± 1.959964·se and the two-sided normal p-value. Without characteristics
// (no patients file, or none that varies) the adjusted model is the
// unadjusted one and Terms repeat Unadjusted, with a note. Observations
// whose patient index is out of range, or whose t or y is NaN, are
// ignored; Patient, T and Y of unequal lengths give no model and a note.
//
// X' enters as main effects, as the formula says: it adjusts the level of
// the trajectories, and the slope difference only as far as the
// covariates are associated with the group through the intercepts; the
// t:X interactions that would adjust the slopes themselves are not in the
// model.
func CompareSlope(in *Input, dim Dimension) *Slope {
	if tr := &in.Trajectory; len(tr.T) != len(tr.Patient) || len(tr.Y) != len(tr.Patient) {
		return &Slope{Sample: Sample{ExcludedBy: map[string]int{}, Dropped: map[string]int{}, Levels: map[string]int{},
			Covariates: []string{}, Note: fmt.Sprintf("model not fitted: the trajectory has %d patient indices, %d times and %d scores.",
				len(tr.Patient), len(tr.T), len(tr.Y))}, Terms: []Difference{}, Unadjusted: []Difference{}}
	}
	has := make([]bool, len(in.Patients))
	for _, pi := range in.Trajectory.Patient {
		if pi >= 0 && pi < len(has) {
			has[pi] = true
		}
	}
	var pop []int
	for i := range in.Patients {
		if has[i] && in.Patients[i].HasBaseline {
			pop = append(pop, i)
		}
	}
	s := newSample(in, pop, dim, candidates(in)[1:])
	sl := &Slope{Terms: []Difference{}, Unadjusted: []Difference{}}
	if !s.skipped {
		// Compact group indices for the patients in the model.
		pos := make([]int32, len(in.Patients))
		for i := range pos {
			pos[i] = -1
		}
		for g, pi := range s.rows {
			pos[pi] = int32(g)
		}
		tr := &in.Trajectory
		n := len(tr.Patient)
		group, t, y := make([]int, 0, n), make([]float64, 0, n), make([]float64, 0, n)
		seen := make([]bool, len(s.rows))
		for i, pi := range tr.Patient {
			if pi < 0 || pi >= len(pos) || pos[pi] < 0 || math.IsNaN(tr.T[i]) || math.IsNaN(tr.Y[i]) {
				continue
			}
			group = append(group, int(pos[pi]))
			seen[pos[pi]] = true
			t = append(t, tr.T[i])
			y = append(y, tr.Y[i])
		}
		// The model's groups: the sample's patients with an observation, renumbered.
		var rows []int
		renumber := make([]int, len(s.rows))
		for g, pi := range s.rows {
			renumber[g] = len(rows)
			if seen[g] {
				rows = append(rows, pi)
			}
		}
		for i, g := range group {
			group[i] = renumber[g]
		}
		sl.Observations = len(t)
		if len(s.covs) == 0 {
			sl.Unadjusted, sl.Warnings = s.mixed(in, group, rows, t, y, false, "model")
			sl.Terms = append([]Difference(nil), sl.Unadjusted...)
			s.notes = append(s.notes, "no patient characteristic to adjust for: the adjusted slopes are the unadjusted ones.")
		} else {
			sl.Terms, sl.Warnings = s.mixed(in, group, rows, t, y, true, "adjusted model")
			sl.Unadjusted, _ = s.mixed(in, group, rows, t, y, false, "unadjusted model")
		}
	}
	sl.Sample = s.output()
	return sl
}

// mixed fits lmer(y ~ t * dim [+ X] + (t | patient)) to the observations
// (group[i] indexes rows, the patients of the model) from one row of
// patient-level constants per patient (stats.FitLMMGroups: t and t × dim
// are t times a constant), so that no row per observation is built.
func (s *sample) mixed(in *Input, group, rows []int, t, y []float64, withX bool, what string) ([]Difference, []string) {
	ones := make([]float64, len(rows))
	for i := range ones {
		ones[i] = 1
	}
	d, err := s.design(in, rows, []namedColumn{{name: "t", v: ones}}, true, withX)
	if err == nil {
		err = d.AddInteraction("t", ones, string(s.dim))
	}
	var fit *stats.LMMDesignFit
	if err == nil {
		fit, err = stats.FitLMMGroups(group, t, y, d, "t", stats.LMMOptions{})
	}
	out := make([]Difference, 0, len(s.levels)-1)
	nan := math.NaN()
	for _, l := range s.levels {
		if l == s.Reference {
			continue
		}
		diff := Difference{Level: l, Estimate: nan, SE: nan, Lower95: nan, Upper95: nan, P: nan}
		if err == nil {
			if tm, ok := fit.Term("t:" + string(s.dim) + "=" + l); ok {
				diff = Difference{Level: l, Estimate: tm.Estimate, SE: tm.SE, Lower95: tm.Lower95, Upper95: tm.Upper95, P: tm.P}
			}
		}
		out = append(out, diff)
	}
	if err != nil {
		s.notes = append(s.notes, failedNote(what, err))
		return out, nil
	}
	return out, fit.Warnings
}

// failedNote says in plain words that a model could not be fitted.
func failedNote(what string, err error) string {
	return fmt.Sprintf("%s not fitted: %s.", what, strings.TrimPrefix(err.Error(), "stats: "))
}

// output returns the sample's header with its notes.
func (s *sample) output() Sample {
	out := s.Sample
	out.Note = s.note()
	return out
}
