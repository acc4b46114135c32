package outcome

import "testing"

func TestFollowUp(t *testing.T) {
	// index 100, window "4–8 months" [120, 240]: days 220..340.
	w := DefaultWindows()[0]
	tests := []struct {
		name   string
		scores []Score
		asOf   int // zero means AllClosed
		want   WindowResult
	}{
		{
			// Scores on 219 (day 119, before the window), 230 and 340 (day
			// 240, the window's last day) and 341 (after it): the last in the
			// window is 4 on day 340; 4 <= 0.5 × 20 and 4 < 5.
			name:   "ResponseAndRemission",
			scores: []Score{{95, 20}, {219, 18}, {230, 8}, {340, 4}, {341, 19}},
			want:   WindowResult{Followed: true, Day: 340, Score: 4, Response: true, Remission: true},
		},
		{
			// The last score in the window decides, not the best: 8 then 12.
			// 12 > 10: no response.
			name:   "LastScoreDecides",
			scores: []Score{{95, 20}, {230, 8}, {300, 12}},
			want:   WindowResult{Followed: true, Day: 300, Score: 12},
		},
		{
			// 10 = 0.5 × 20 is a response; 10 is not below 5.
			name:   "FirstDayOfWindow",
			scores: []Score{{95, 20}, {220, 10}},
			want:   WindowResult{Followed: true, Day: 220, Score: 10, Response: true},
		},
		{
			name:   "NotFollowed",
			scores: []Score{{95, 20}, {150, 5}, {219, 3}, {341, 3}},
			want:   WindowResult{},
		},
		{
			// As of day 339 the window (to day 340) is still open, even with
			// a score in it already.
			name:   "Open",
			scores: []Score{{95, 20}, {230, 4}},
			asOf:   339,
			want:   WindowResult{Reason: ReasonFollowUpWindowOpen},
		},
		{
			name:   "ClosesOnAsOf",
			scores: []Score{{95, 20}, {230, 4}},
			asOf:   340,
			want:   WindowResult{Followed: true, Day: 230, Score: 4, Response: true, Remission: true},
		},
		{
			name:   "NotEligible",
			scores: []Score{{95, 9}, {230, 4}},
			want:   WindowResult{Reason: ReasonNotEligible},
		},
		{
			name:   "NoBaseline",
			scores: []Score{{230, 4}},
			want:   WindowResult{Reason: ReasonNoBaseline},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asOf := tt.asOf
			if asOf == 0 {
				asOf = AllClosed
			}
			if got := FollowUp(index, tt.scores, phq9, DefaultParams(), w, asOf); got != tt.want {
				t.Errorf("FollowUp = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSummarizeWindow(t *testing.T) {
	w := Window{Name: "12 months", From: 305, To: 425}
	rs := []WindowResult{
		{Followed: true, Score: 4, Response: true, Remission: true},
		{Followed: true, Score: 8, Response: true},
		{Followed: true, Score: 15},
		{}, // eligible, not followed
		{Reason: ReasonFollowUpWindowOpen},
		{Reason: ReasonNotEligible},
		{Reason: ReasonNoBaseline},
	}
	s, err := SummarizeWindow(w, rs)
	if err != nil {
		t.Fatal(err)
	}
	// Followed 3/4 (prop.test(3, 4, correct = FALSE)$conf.int =
	// 0.30064184258240201 0.95441273919029945); response 2/3 and
	// remission 1/3 (0.061491944720396291 0.792340399197952294).
	if s.Window != w || s.Eligible != 4 || s.WindowOpen != 1 {
		t.Errorf("summary = %+v", s)
	}
	checkProportion(t, "followed", s.Followed, 3, 4, 0.30064184258240201, 0.95441273919029945)
	checkProportion(t, "remission", s.Remission, 1, 3, 0.061491944720396291, 0.792340399197952294)
	if s.Response.Events != 2 || s.Response.N != 3 {
		t.Errorf("response = %+v", s.Response)
	}

	// A window with nobody followed: followed 0/3 (0, 0.56149703175504539
	// from prop.test(0, 3, correct = FALSE)); response and remission over
	// nobody are NaN, written as null.
	none, err := SummarizeWindow(w, []WindowResult{{}, {}, {}})
	if err != nil {
		t.Fatal(err)
	}
	checkProportion(t, "followed", none.Followed, 0, 3, 0, 0.56149703175504539)
	checkProportion(t, "response", none.Response, 0, 0, nan, nan)
	checkProportion(t, "remission", none.Remission, 0, 0, nan, nan)
}

func TestWindowValidate(t *testing.T) {
	for _, w := range DefaultWindows() {
		if err := w.Validate(); err != nil {
			t.Errorf("%+v: %v", w, err)
		}
	}
	for _, w := range []Window{{Name: "", From: 1, To: 2}, {Name: "x", From: 0, To: 10}, {Name: "x", From: 20, To: 10}} {
		if err := w.Validate(); err == nil {
			t.Errorf("%+v accepted", w)
		}
	}
}
