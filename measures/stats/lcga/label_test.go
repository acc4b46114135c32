package lcga

import (
	"reflect"
	"testing"
)

func TestShape(t *testing.T) {
	// PHQ-9: M = 5 points over 8 weeks, so the cut points in slope are
	// −10/8 = −1.25, −5/8 = −0.625 and +0.625 points per week.
	for _, tc := range []struct {
		slope float64
		want  string
	}{
		{-2, RapidImprovement},
		{-1.25, RapidImprovement}, // Δ = −10 = −2M
		{-1.2, GradualImprovement},
		{-0.625, GradualImprovement}, // Δ = −5 = −M
		{-0.6, NoChange},
		{0, NoChange},
		{0.6, NoChange},
		{0.625, Worsening}, // Δ = +5 = +M
		{1, Worsening},
	} {
		if got := phq9.Shape(tc.slope); got != tc.want {
			t.Errorf("Shape(%v) = %q, want %q", tc.slope, got, tc.want)
		}
	}
	// Weeks 0 means 8; another span moves the cut points: over 4 weeks
	// −1.25·4 = −5 is only gradual.
	if got := (LabelOptions{MeaningfulChange: 5}).Shape(-1.25); got != RapidImprovement {
		t.Errorf("default weeks: %q", got)
	}
	if got := (LabelOptions{MeaningfulChange: 5, Weeks: 4}).Shape(-1.25); got != GradualImprovement {
		t.Errorf("4 weeks: %q", got)
	}
}

func TestLabelDuplicates(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []Class // sorted by slope, then intercept, as Fit sorts them
		want []string
	}{
		{"distinct", []Class{{Slope: -2, Intercept: 18}, {Slope: -0.8, Intercept: 18}, {Slope: 0, Intercept: 17}},
			[]string{"rapid improvement", "gradual improvement", "no change"}},
		{"two no change", []Class{{Slope: -1.5, Intercept: 18}, {Slope: -0.1, Intercept: 20}, {Slope: 0.1, Intercept: 9}},
			[]string{"rapid improvement", "no change (higher baseline)", "no change (lower baseline)"}},
		{"three rapid", []Class{{Slope: -3, Intercept: 15}, {Slope: -2, Intercept: 22}, {Slope: -1.5, Intercept: 10}},
			[]string{"rapid improvement (middle baseline)", "rapid improvement (higher baseline)", "rapid improvement (lower baseline)"}},
		{"four no change", []Class{{Slope: -0.3, Intercept: 4}, {Slope: -0.2, Intercept: 20}, {Slope: 0, Intercept: 12}, {Slope: 0.1, Intercept: 2}},
			[]string{"no change (baseline 2 of 4)", "no change (baseline 4 of 4)", "no change (baseline 3 of 4)", "no change (baseline 1 of 4)"}},
		{"equal intercepts keep slope order", []Class{{Slope: -0.2, Intercept: 10}, {Slope: 0.2, Intercept: 10}},
			[]string{"no change (lower baseline)", "no change (higher baseline)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			phq9.labelClasses(tc.in)
			var got []string
			for _, c := range tc.in {
				got = append(got, c.Label)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
