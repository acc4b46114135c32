package outcome

import (
	"slices"
	"testing"
)

func TestRelapse(t *testing.T) {
	// PHQ-9 (cutoff 10), index 100, baseline 20 on day 95 unless a case
	// says otherwise: response means a score <= 10 on days 101..156.
	tests := []struct {
		name   string
		scores []Score
		asOf   int // zero means AllClosed
		want   RelapseResult
	}{
		{
			// r = 114 (9 <= 10). The spike of 12 on day 128 falls back to
			// 8 on day 142: not a relapse. Censored at 170-114 = 56.
			name:   "SpikeFallsBack",
			scores: []Score{{95, 20}, {114, 9}, {128, 12}, {142, 8}, {170, 7}},
			want:   RelapseResult{AtRisk: true, ResponseDay: 114, Time: 56},
		},
		{
			// r = 114; 10 on day 142 and 10 on day 170 are both >= 10:
			// relapse on day 142, 142-114 = 28 days after response.
			name:   "TwoConsecutive",
			scores: []Score{{95, 20}, {114, 8}, {142, 10}, {170, 10}, {200, 6}},
			want:   RelapseResult{AtRisk: true, ResponseDay: 114, Time: 28, Event: true},
		},
		{
			// A spike (13 then 9), then 10 and 11 in a row: the event is
			// day 170, 170-114 = 56.
			name:   "SpikeThenRelapse",
			scores: []Score{{95, 20}, {114, 8}, {128, 13}, {142, 9}, {170, 10}, {184, 11}},
			want:   RelapseResult{AtRisk: true, ResponseDay: 114, Time: 56, Event: true},
		},
		{
			// 11 >= 10 on the last assessment, day 198 (after the acute
			// window: follow-up has no upper bound): relapse,
			// 198-114 = 84.
			name:   "RelapseOnLastAssessment",
			scores: []Score{{95, 20}, {114, 8}, {142, 7}, {198, 11}},
			want:   RelapseResult{AtRisk: true, ResponseDay: 114, Time: 84, Event: true},
		},
		{
			// The clock starts at the first response (day 107, 10 <= 10),
			// not the endpoint; censored at 121-107 = 14.
			name:   "FirstResponseDay",
			scores: []Score{{95, 20}, {107, 10}, {121, 6}},
			want:   RelapseResult{AtRisk: true, ResponseDay: 107, Time: 14},
		},
		{
			// Response on the last acute day, 156, and nothing after it.
			name:   "NoFollowUp",
			scores: []Score{{95, 20}, {130, 12}, {156, 10}},
			want:   RelapseResult{Reason: ReasonNoFollowUp, ResponseDay: 156},
		},
		{
			// 11 and 12 are > 10: never responded.
			name:   "NeverResponded",
			scores: []Score{{95, 20}, {114, 11}, {156, 12}},
			want:   RelapseResult{Reason: ReasonNoResponse},
		},
		{
			// 5 <= 10 but on day 157, after the acute window.
			name:   "ResponseAfterAcute",
			scores: []Score{{95, 20}, {114, 12}, {157, 5}},
			want:   RelapseResult{Reason: ReasonNoResponse},
		},
		{
			// Pre-index scores are not responses: 8 on day 80 is before
			// the baseline, and the baseline itself is day 95.
			name:   "PreIndexLowScore",
			scores: []Score{{80, 8}, {95, 20}, {130, 14}},
			want:   RelapseResult{Reason: ReasonNoResponse},
		},
		{
			// Baseline 9 < 10: not eligible, whatever follows.
			name:   "NotEligible",
			scores: []Score{{95, 9}, {114, 2}, {142, 12}, {170, 12}},
			want:   RelapseResult{Reason: ReasonNotEligible},
		},
		{
			// Baseline 10 >= 10 is eligible; r = 114 (2*5 = 10 <= 10);
			// 12 and 11 in a row: relapse on day 142, 142-114 = 28.
			name:   "BaselineAtCutoff",
			scores: []Score{{95, 10}, {114, 5}, {142, 12}, {170, 11}},
			want:   RelapseResult{AtRisk: true, ResponseDay: 114, Time: 28, Event: true},
		},
		{
			name:   "NoBaseline",
			scores: []Score{{114, 2}, {142, 12}},
			want:   RelapseResult{Reason: ReasonNoBaseline},
		},
		{
			// Window 101..156 open as of day 120, no score at half of 20 yet:
			// still in treatment, not "never responded".
			name:   "OpenWindowNotYetResponded",
			scores: []Score{{95, 20}, {114, 12}},
			asOf:   120,
			want:   RelapseResult{Reason: ReasonAcuteWindowOpen},
		},
		{
			// The same scores once the window closed (day 156): no response.
			name:   "ClosedWindowNeverResponded",
			scores: []Score{{95, 20}, {114, 12}},
			asOf:   156,
			want:   RelapseResult{Reason: ReasonNoResponse},
		},
		{
			// Responded on day 114 (2*9 <= 20) with the window still open
			// (as of 145): followed from then; 12 on 128 and 14 on 142 are
			// two in a row at or above 10: relapse on day 128, 128-114 = 14.
			name:   "OpenWindowRespondedIsFollowed",
			scores: []Score{{95, 20}, {114, 9}, {128, 12}, {142, 14}},
			asOf:   145,
			want:   RelapseResult{AtRisk: true, ResponseDay: 114, Time: 14, Event: true},
		},
		{
			// Input order does not matter: the SpikeFallsBack case shuffled.
			name:   "Unordered",
			scores: []Score{{142, 8}, {95, 20}, {170, 7}, {128, 12}, {114, 9}},
			want:   RelapseResult{AtRisk: true, ResponseDay: 114, Time: 56},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asOf := tt.asOf
			if asOf == 0 {
				asOf = AllClosed
			}
			in := slices.Clone(tt.scores)
			got := Relapse(index, tt.scores, phq9, DefaultParams(), asOf)
			if got != tt.want {
				t.Errorf("Relapse(%d, %v)\n got  %+v\n want %+v", index, tt.scores, got, tt.want)
			}
			if !slices.Equal(in, tt.scores) {
				t.Errorf("Relapse modified its input: %v, was %v", tt.scores, in)
			}
		})
	}
}
