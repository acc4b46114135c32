package lcga

import (
	"fmt"
	"math"
	"sort"
)

// LabelOptions sets the scale on which trajectory shapes are named.
type LabelOptions struct {
	// MeaningfulChange is the smallest change in points over Weeks that
	// counts as meaningful on the instrument (e.g. 5 for the PHQ-9).
	// Required: it must be positive.
	MeaningfulChange float64
	// Weeks is the span the change is measured over; default 8 (the acute
	// window of 56 days).
	Weeks float64
}

// Shape labels.
const (
	RapidImprovement   = "rapid improvement"
	GradualImprovement = "gradual improvement"
	NoChange           = "no change"
	Worsening          = "worsening"
)

func (o LabelOptions) validate() error {
	m, w := o.MeaningfulChange, o.Weeks
	if !(m > 0) || math.IsInf(m, 0) {
		return fmt.Errorf("lcga: Label.MeaningfulChange %v must be positive: %w", m, ErrOptions)
	}
	if !(w > 0) || math.IsInf(w, 0) {
		return fmt.Errorf("lcga: Label.Weeks %v must be positive: %w", w, ErrOptions)
	}
	return nil
}

// Shape names a trajectory by its change over o.Weeks, Δ = slope × Weeks,
// against the meaningful change M:
//
//	Δ ≤ −2M  RapidImprovement
//	Δ ≤ −M   GradualImprovement
//	Δ ≥ +M   Worsening
//	else     NoChange
//
// Weeks 0 means 8. It does not check o; Fit does.
func (o LabelOptions) Shape(slope float64) string {
	w := o.Weeks
	if w == 0 {
		w = 8
	}
	d, m := slope*w, o.MeaningfulChange
	switch {
	case d <= -2*m:
		return RapidImprovement
	case d <= -m:
		return GradualImprovement
	case d >= m:
		return Worsening
	default:
		return NoChange
	}
}

// labelClasses sets each class's Label from its slope and tells apart
// classes with the same shape by their intercepts (baselines).
func (o LabelOptions) labelClasses(cs []Class) {
	same := map[string][]int{}
	for i := range cs {
		cs[i].Label = o.Shape(cs[i].Slope)
		same[cs[i].Label] = append(same[cs[i].Label], i)
	}
	for _, idx := range same {
		m := len(idx)
		if m < 2 {
			continue
		}
		sort.SliceStable(idx, func(x, y int) bool {
			return cs[idx[x]].Intercept < cs[idx[y]].Intercept
		})
		for r, i := range idx {
			cs[i].Label += baselineSuffix(r, m)
		}
	}
}

// baselineSuffix is the suffix of the class ranked r (from 0, lowest
// intercept first) among m classes with one label.
func baselineSuffix(r, m int) string {
	switch {
	case m == 2:
		return [...]string{" (lower baseline)", " (higher baseline)"}[r]
	case m == 3:
		return [...]string{" (lower baseline)", " (middle baseline)", " (higher baseline)"}[r]
	default:
		return fmt.Sprintf(" (baseline %d of %d)", r+1, m)
	}
}
