package compare

import (
	"math"
	"testing"
)

// A hand-made cohort: KAP A (30, female, depression, 0 prior trials, PHQ-9 20), B (40, male,
// PTSD, 2, 16), C (nothing recorded, no PHQ-9 baseline); infusion D (50, female, depression,
// 3, 18), E (60, male, depression, 5, 22).
func TestDescribe(t *testing.T) {
	nan := math.NaN()
	people := []Person{
		{Program: "kap", Traits: Traits{Age: 30, Sex: "female", Diagnosis: "depression", PriorTreatments: 0}, Baseline: []float64{20}},
		{Program: "kap", Traits: Traits{Age: 40, Sex: "male", Diagnosis: "ptsd", PriorTreatments: 2}, Baseline: []float64{16}},
		{Program: "kap", Traits: Traits{Age: nan, Sex: "unknown", Diagnosis: "depression", PriorTreatments: nan}, Baseline: []float64{nan}},
		{Program: "infusion", Traits: Traits{Age: 50, Sex: "female", Diagnosis: "depression", PriorTreatments: 3}, Baseline: []float64{18}},
		{Program: "infusion", Traits: Traits{Age: 91, Sex: "male", Diagnosis: "depression", PriorTreatments: 5}, Baseline: []float64{22}},
	}
	tb := Describe(people, []string{"PHQ9"})
	k, inf := tb.ByProgram["kap"], tb.ByProgram["infusion"]
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if tb.N != 5 || k.N != 3 || inf.N != 2 || tb.Overall.N != 5 {
		t.Fatalf("n: %d %d %d", tb.N, k.N, inf.N)
	}
	// KAP: age 30, 40 (mean 35, SD √50), one unknown; prior [0, 2]: median 1, quartiles 0.5 and
	// 1.5 (type 7), one resistant, one unknown; PHQ-9 20, 16: mean 18, SD √8.
	near("kap age mean", k.Age.Mean, 35)
	near("kap age sd", k.Age.SD, math.Sqrt(50))
	if k.AgeUnknown != 1 || k.SexUnknown != 1 || k.Sex["female"] != 1 || k.Diagnosis["ptsd"] != 1 || k.Resistant != 1 || k.PriorUnknown != 1 {
		t.Errorf("kap counts %+v", k)
	}
	near("kap prior median", k.PriorTreatments.Median, 1)
	near("kap prior q1", k.PriorTreatments.Q1, 0.5)
	near("kap prior q3", k.PriorTreatments.Q3, 1.5)
	near("kap baseline sd", k.Baseline["PHQ9"].SD, math.Sqrt(8))
	if k.BaselineUnknown["PHQ9"] != 1 || inf.Age90 != 1 || tb.Overall.Age90 != 1 {
		t.Errorf("unknown baseline %d, 90+ %d", k.BaselineUnknown["PHQ9"], inf.Age90)
	}
	// SMDs, KAP (3 patients) against infusion (2): age (35 − 70.5)/√((50 + 840.5)/2) (infusion
	// ages 50 and 91 counted as given: 90+ is entered as 90 by the pipeline, not here); prior
	// (1 − 4)/√((2 + 2)/2) = −2.1213; PHQ-9 (18 − 20)/√((8 + 8)/2) = −0.7071. Sex: 1 female,
	// 1 male in both → 0. Diagnosis: KAP ⅔ depression (A, C) ⅓ PTSD against all depression;
	// Yang and Dalton with two categories is |⅔ − 1|/√((⅔·⅓ + 0)/2) = ⅓/⅓ = 1. Treatment-
	// resistant: 1 of 2 recorded against 2 of 2, |0.5 − 1|/√((0.25 + 0)/2) = 1.41421.
	s := tb.SMD
	if s == nil || s.First != "kap" || s.Second != "infusion" {
		t.Fatalf("smd %+v", s)
	}
	near("age smd", s.Age, (35-70.5)/math.Sqrt((50+840.5)/2))
	near("prior smd", s.PriorTreatments, -3/math.Sqrt(2))
	near("baseline smd", s.Baseline["PHQ9"], -2/math.Sqrt(8))
	near("sex smd", s.Sex, 0)
	near("diagnosis smd", s.Diagnosis, 1)
	near("resistant smd", s.Resistant, 0.5/math.Sqrt(0.125))
}
