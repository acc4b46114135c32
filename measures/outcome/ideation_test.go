package outcome

import "testing"

func TestSuicidalIdeation(t *testing.T) {
	// index 100: baseline window 70..100, acute window 101..156.
	item := func(day, total, item9 int) PHQ9Score { return PHQ9Score{Day: day, Total: total, Item9: Some(item9)} }
	totalOnly := func(day, total int) PHQ9Score { return PHQ9Score{Day: day, Total: total} }
	tests := []struct {
		name   string
		scores []PHQ9Score
		asOf   int // zero means AllClosed
		want   Ideation
	}{
		{
			// Baseline (day 95) item 9 = 2, endpoint (day 150) 0.
			name:   "Resolved",
			scores: []PHQ9Score{item(150, 6, 0), item(95, 18, 2), item(120, 12, 1)},
			want:   Ideation{Baseline: 2, Endpoint: 0},
		},
		{
			// Eligibility is not required: a baseline of 8 counts.
			name:   "EmergentBelowCutoff",
			scores: []PHQ9Score{item(95, 8, 0), item(150, 9, 1)},
			want:   Ideation{Baseline: 0, Endpoint: 1},
		},
		{
			// The baseline is the latest baseline-window score (day 100,
			// total only); the day-90 one that recorded item 9 does not
			// stand in for it.
			name:   "BaselineTotalOnly",
			scores: []PHQ9Score{item(90, 18, 1), totalOnly(100, 17), item(150, 6, 0)},
			want:   Ideation{Reason: ReasonItem9NotRecorded},
		},
		{
			// The endpoint (day 150) lacks item 9; the day-130 score had it.
			name:   "EndpointTotalOnly",
			scores: []PHQ9Score{item(95, 18, 1), item(130, 9, 0), totalOnly(150, 6)},
			want:   Ideation{Reason: ReasonItem9NotRecorded},
		},
		{
			// The zero value of Item9 is "not recorded", never 0.
			name:   "ZeroValueIsNotRecorded",
			scores: []PHQ9Score{{Day: 95, Total: 18}, {Day: 150, Total: 6}},
			want:   Ideation{Reason: ReasonItem9NotRecorded},
		},
		{
			// As of day 150 the window (to 156) is open: no endpoint yet,
			// even though day 140 has a score.
			name:   "OpenWindow",
			scores: []PHQ9Score{item(95, 18, 1), item(140, 6, 0)},
			asOf:   150,
			want:   Ideation{Reason: ReasonAcuteWindowOpen},
		},
		{
			// A follow-up score after the window is no endpoint.
			name:   "NoEndpoint",
			scores: []PHQ9Score{item(95, 18, 1), item(200, 6, 0)},
			want:   Ideation{Reason: ReasonNoEndpoint},
		},
		{
			name:   "NoBaseline",
			scores: []PHQ9Score{item(60, 18, 1), item(150, 6, 0)},
			want:   Ideation{Reason: ReasonNoBaseline},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asOf := tt.asOf
			if asOf == 0 {
				asOf = AllClosed
			}
			if got := SuicidalIdeation(index, tt.scores, DefaultParams(), asOf); got != tt.want {
				t.Errorf("SuicidalIdeation = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSummarizeIdeation(t *testing.T) {
	var rs []Ideation
	add := func(n, baseline, endpoint int) {
		for range n {
			rs = append(rs, Ideation{Baseline: baseline, Endpoint: endpoint})
		}
	}
	add(1, 2, 1) // a: positive, still positive
	add(2, 1, 0) // b: resolved
	add(1, 3, 0) // b: resolved
	add(1, 0, 2) // c: emergent
	add(5, 0, 0) // d
	rs = append(rs, Ideation{Reason: ReasonItem9NotRecorded}, Ideation{Reason: ReasonNoEndpoint},
		Ideation{Reason: ReasonAcuteWindowOpen})
	s, err := SummarizeIdeation(rs)
	if err != nil {
		t.Fatal(err)
	}
	// a = 1, b = 3, c = 1, d = 5. Resolved 3/4, emergent 1/6. R 4.2.2:
	// prop.test(3, 4, correct = FALSE)$conf.int = 0.30064184258240201
	// 0.95441273919029945; prop.test(1, 6, correct = FALSE)$conf.int =
	// 0.030053369748306673 0.563502822186470187; mcnemar.test(matrix(c(1,
	// 1, 3, 5), 2)): McNemar's chi-squared = (|3 - 1| - 1)²/4 = 0.25,
	// p-value = 0.61707507745197387.
	if s.N != 10 || s.NotRecorded != 1 || s.BaselinePositive != 4 || s.BaselineNegative != 6 {
		t.Errorf("counts = %+v", s)
	}
	checkProportion(t, "resolved", s.Resolved, 3, 4, 0.30064184258240201, 0.95441273919029945)
	checkProportion(t, "emergent", s.Emergent, 1, 6, 0.030053369748306673, 0.563502822186470187)
	if s.McNemar.B != 3 || s.McNemar.C != 1 {
		t.Errorf("mcnemar b, c = %d, %d, want 3, 1", s.McNemar.B, s.McNemar.C)
	}
	checkFloat(t, "chisq", s.McNemar.Chisq, 0.25)
	checkFloat(t, "p", s.McNemar.P, 0.61707507745197387)

	// Nobody: rates and the test are NaN (null), not an error.
	e, err := SummarizeIdeation(nil)
	if err != nil {
		t.Fatal(err)
	}
	checkFloat(t, "empty resolved", e.Resolved.Rate, nan)
	checkFloat(t, "empty chisq", e.McNemar.Chisq, nan)
}
