package outcome

import (
	"math"
	"testing"
)

func TestParamsValidate(t *testing.T) {
	tests := []struct {
		name    string
		p       Params
		wantErr bool
	}{
		{"Default", DefaultParams(), false},
		{"ZeroBaselineDays", Params{0, 56, 0.5}, false}, // baseline on the index day only
		{"NegativeBaselineDays", Params{-1, 56, 0.5}, true},
		{"ZeroAcuteDays", Params{30, 0, 0.5}, true},
		{"ZeroFraction", Params{30, 56, 0}, true},
		{"FractionOne", Params{30, 56, 1}, true},
		{"NaNFraction", Params{30, 56, math.NaN()}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.p.Validate(); (err != nil) != tt.wantErr {
				t.Errorf("%+v.Validate() = %v, want error %v", tt.p, err, tt.wantErr)
			}
		})
	}
}

func TestThresholdsValidate(t *testing.T) {
	for _, th := range []Thresholds{phq9, gad7, pcl5} {
		if err := th.Validate(); err != nil {
			t.Errorf("%+v.Validate() = %v", th, err)
		}
	}
	for _, th := range []Thresholds{{0, 5, 6}, {10, 0, 6}, {10, 5, 0}} {
		if err := th.Validate(); err == nil {
			t.Errorf("%+v.Validate() = nil, want an error", th)
		}
	}
}
