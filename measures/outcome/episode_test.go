package outcome

import (
	"slices"
	"testing"
)

// Thresholds of the specification's defaults.
var (
	phq9 = Thresholds{Cutoff: 10, Remission: 5, ReliableChange: 6}
	gad7 = Thresholds{Cutoff: 10, Remission: 5, ReliableChange: 4}
	pcl5 = Thresholds{Cutoff: 33, Remission: 33, ReliableChange: 10}
)

// Unless a case says otherwise, index = 100 with the default parameters, so
// the baseline window is 70..100 and the acute window 101..156.
const index = 100

func TestEpisode(t *testing.T) {
	tests := []struct {
		name   string
		scores []Score
		th     Thresholds
		p      Params // zero means DefaultParams
		asOf   int    // zero means AllClosed
		want   EpisodeResult
	}{
		{
			// First dosed on day 100, as of day 105: the window 101..156 is
			// open, so the patient is still in treatment, not a dropout.
			name:   "OpenWindowNoScoreYet",
			scores: []Score{{95, 18}},
			th:     phq9,
			asOf:   105,
			want: EpisodeResult{Reason: ReasonAcuteWindowOpen, HasBaseline: true,
				BaselineDay: 95, Baseline: 18, Eligible: true},
		},
		{
			// A week-4 score of 6 (2*6 <= 18) with the window open until
			// day 156: an interim score, not a response.
			name:   "OpenWindowInterimScore",
			scores: []Score{{95, 18}, {128, 6}},
			th:     phq9,
			asOf:   140,
			want: EpisodeResult{Reason: ReasonAcuteWindowOpen, HasBaseline: true,
				BaselineDay: 95, Baseline: 18, Eligible: true},
		},
		{
			// As of day 155 = 100+56-1 the window is still open: its last day
			// is 156.
			name:   "OpenWindowLastDayBefore",
			scores: []Score{{95, 18}, {128, 6}},
			th:     phq9,
			asOf:   155,
			want: EpisodeResult{Reason: ReasonAcuteWindowOpen, HasBaseline: true,
				BaselineDay: 95, Baseline: 18, Eligible: true},
		},
		{
			// As of day 156 = 100+56 the window has closed: the endpoint is
			// the day-128 score, change 6-18 = -12, response 12 <= 18,
			// 18 >= 10 and 6 < 10: recovered.
			name:   "WindowClosesOnAsOf",
			scores: []Score{{95, 18}, {128, 6}},
			th:     phq9,
			asOf:   156,
			want: EpisodeResult{HasBaseline: true, BaselineDay: 95, Baseline: 18,
				HasEndpoint: true, EndpointDay: 128, Endpoint: 6, Change: -12,
				Eligible: true, Response: true, ReliableChange: Recovered},
		},
		{
			// Closed without an acute score: a dropout (no_endpoint).
			name:   "WindowClosedNoScore",
			scores: []Score{{95, 18}},
			th:     phq9,
			asOf:   200,
			want: EpisodeResult{Reason: ReasonNoEndpoint, HasBaseline: true,
				BaselineDay: 95, Baseline: 18, Eligible: true},
		},
		{
			// An open window does not make a baseline: still no_baseline.
			name:   "OpenWindowNoBaseline",
			scores: []Score{{120, 18}},
			th:     phq9,
			asOf:   130,
			want:   EpisodeResult{Reason: ReasonNoBaseline},
		},
		{
			// 70 = 100-30 is the first day of the baseline window.
			// change 8-20 = -12 <= -6, 20 >= 10 and 8 < 10: recovered.
			// response: 2*8 = 16 <= 20.
			name:   "BaselineThirtyDaysBefore",
			scores: []Score{{70, 20}, {130, 8}},
			th:     phq9,
			want: EpisodeResult{HasBaseline: true, BaselineDay: 70, Baseline: 20,
				HasEndpoint: true, EndpointDay: 130, Endpoint: 8, Change: -12,
				Eligible: true, Response: true, ReliableChange: Recovered},
		},
		{
			// 69 = 100-31 is outside the baseline window.
			name:   "BaselineThirtyOneDaysBefore",
			scores: []Score{{69, 20}, {130, 8}},
			th:     phq9,
			want:   EpisodeResult{Reason: ReasonNoBaseline},
		},
		{
			name: "NoScores",
			th:   phq9,
			want: EpisodeResult{Reason: ReasonNoBaseline},
		},
		{
			// Only acute-window scores: no baseline.
			name:   "OnlyAcuteScores",
			scores: []Score{{101, 20}, {130, 8}},
			th:     phq9,
			want:   EpisodeResult{Reason: ReasonNoBaseline},
		},
		{
			// A score on the index day is the baseline; change 15-15 = 0.
			name:   "SameDayBaseline",
			scores: []Score{{100, 15}, {150, 15}},
			th:     phq9,
			want: EpisodeResult{HasBaseline: true, BaselineDay: 100, Baseline: 15,
				HasEndpoint: true, EndpointDay: 150, Endpoint: 15,
				Eligible: true, ReliableChange: Unchanged},
		},
		{
			// The index-day score is not in the acute window (100 < day),
			// so it cannot also be the endpoint.
			name:   "SameDayBaselineOnly",
			scores: []Score{{100, 15}},
			th:     phq9,
			want: EpisodeResult{Reason: ReasonNoEndpoint, HasBaseline: true,
				BaselineDay: 100, Baseline: 15, Eligible: true},
		},
		{
			// The latest of 75, 88 and 99 is the baseline: 14 on day 99.
			// change 7-14 = -7 <= -6, 14 >= 10, 7 < 10: recovered;
			// response 2*7 = 14 <= 14.
			name:   "LatestBaseline",
			scores: []Score{{88, 18}, {130, 7}, {75, 22}, {99, 14}},
			th:     phq9,
			want: EpisodeResult{HasBaseline: true, BaselineDay: 99, Baseline: 14,
				HasEndpoint: true, EndpointDay: 130, Endpoint: 7, Change: -7,
				Eligible: true, Response: true, ReliableChange: Recovered},
		},
		{
			// 156 = 100+56 is the last day of the acute window and the
			// latest score in it. change 12-20 = -8; 2*12 = 24 > 20.
			name:   "EndpointOnLastAcuteDay",
			scores: []Score{{90, 20}, {120, 16}, {156, 12}},
			th:     phq9,
			want: EpisodeResult{HasBaseline: true, BaselineDay: 90, Baseline: 20,
				HasEndpoint: true, EndpointDay: 156, Endpoint: 12, Change: -8,
				Eligible: true, ReliableChange: Improved},
		},
		{
			// 157 = 100+57 is past the acute window: the endpoint is day 120.
			// change 16-20 = -4 > -6: unchanged.
			name:   "ScoreAfterAcuteIgnored",
			scores: []Score{{90, 20}, {120, 16}, {157, 4}},
			th:     phq9,
			want: EpisodeResult{HasBaseline: true, BaselineDay: 90, Baseline: 20,
				HasEndpoint: true, EndpointDay: 120, Endpoint: 16, Change: -4,
				Eligible: true, ReliableChange: Unchanged},
		},
		{
			// The only later score is on day 157: attrition, still eligible
			// and counted, as a non-responder, in the intention-to-treat rates.
			name:   "OnlyScoreAfterAcute",
			scores: []Score{{90, 20}, {157, 4}},
			th:     phq9,
			want: EpisodeResult{Reason: ReasonNoEndpoint, HasBaseline: true,
				BaselineDay: 90, Baseline: 20, Eligible: true},
		},
		{
			// 2*10 = 20 <= 20: exactly a 50% reduction is a response.
			// change -10 <= -6 but 10 is not < 10: improved, not recovered.
			name:   "ResponseAtHalf",
			scores: []Score{{90, 20}, {130, 10}},
			th:     phq9,
			want: EpisodeResult{HasBaseline: true, BaselineDay: 90, Baseline: 20,
				HasEndpoint: true, EndpointDay: 130, Endpoint: 10, Change: -10,
				Eligible: true, Response: true, ReliableChange: Improved},
		},
		{
			// 2*11 = 22 > 20: one point above half is no response.
			name:   "NoResponseAboveHalf",
			scores: []Score{{90, 20}, {130, 11}},
			th:     phq9,
			want: EpisodeResult{HasBaseline: true, BaselineDay: 90, Baseline: 20,
				HasEndpoint: true, EndpointDay: 130, Endpoint: 11, Change: -9,
				Eligible: true, ReliableChange: Improved},
		},
		{
			// Odd baseline: 0.5*15 = 7.5, so 7 responds and 8 does not.
			name:   "ResponseOddBaseline",
			scores: []Score{{90, 15}, {130, 7}},
			th:     phq9,
			want: EpisodeResult{HasBaseline: true, BaselineDay: 90, Baseline: 15,
				HasEndpoint: true, EndpointDay: 130, Endpoint: 7, Change: -8,
				Eligible: true, Response: true, ReliableChange: Recovered},
		},
		{
			name:   "NoResponseOddBaseline",
			scores: []Score{{90, 15}, {130, 8}},
			th:     phq9,
			want: EpisodeResult{HasBaseline: true, BaselineDay: 90, Baseline: 15,
				HasEndpoint: true, EndpointDay: 130, Endpoint: 8, Change: -7,
				Eligible: true, ReliableChange: Recovered},
		},
		{
			// 4 < 5: remission.
			name:   "Remission",
			scores: []Score{{90, 20}, {130, 4}},
			th:     phq9,
			want: EpisodeResult{HasBaseline: true, BaselineDay: 90, Baseline: 20,
				HasEndpoint: true, EndpointDay: 130, Endpoint: 4, Change: -16,
				Eligible: true, Response: true, Remission: true, ReliableChange: Recovered},
		},
		{
			// 5 is not < 5: no remission.
			name:   "NoRemissionAtFive",
			scores: []Score{{90, 20}, {130, 5}},
			th:     phq9,
			want: EpisodeResult{HasBaseline: true, BaselineDay: 90, Baseline: 20,
				HasEndpoint: true, EndpointDay: 130, Endpoint: 5, Change: -15,
				Eligible: true, Response: true, ReliableChange: Recovered},
		},
		{
			// 9 < 10: not eligible, so neither response (2*2 = 4 <= 9)
			// nor remission (2 < 5) count. change -7 <= -6 but the baseline
			// was below the cutoff: improved, not recovered.
			name:   "BaselineBelowCutoff",
			scores: []Score{{90, 9}, {130, 2}},
			th:     phq9,
			want: EpisodeResult{HasBaseline: true, BaselineDay: 90, Baseline: 9,
				HasEndpoint: true, EndpointDay: 130, Endpoint: 2, Change: -7,
				ReliableChange: Improved},
		},
		{
			// 10 >= 10: eligible; 2*2 = 4 <= 10, 2 < 5, change -8, 2 < 10.
			name:   "BaselineAtCutoff",
			scores: []Score{{90, 10}, {130, 2}},
			th:     phq9,
			want: EpisodeResult{HasBaseline: true, BaselineDay: 90, Baseline: 10,
				HasEndpoint: true, EndpointDay: 130, Endpoint: 2, Change: -8,
				Eligible: true, Response: true, Remission: true, ReliableChange: Recovered},
		},
		{
			// change 9-15 = -6 = -rc, 15 >= 10, 9 < 10: recovered.
			name:   "RecoveredAtReliableChange",
			scores: []Score{{90, 15}, {130, 9}},
			th:     phq9,
			want: EpisodeResult{HasBaseline: true, BaselineDay: 90, Baseline: 15,
				HasEndpoint: true, EndpointDay: 130, Endpoint: 9, Change: -6,
				Eligible: true, ReliableChange: Recovered},
		},
		{
			// change 10-15 = -5 > -6: unchanged, although 15 -> 10.
			name:   "UnchangedBelowReliableChange",
			scores: []Score{{90, 15}, {130, 10}},
			th:     phq9,
			want: EpisodeResult{HasBaseline: true, BaselineDay: 90, Baseline: 15,
				HasEndpoint: true, EndpointDay: 130, Endpoint: 10, Change: -5,
				Eligible: true, ReliableChange: Unchanged},
		},
		{
			// change 16-22 = -6 but 16 >= 10: improved, not recovered.
			name:   "ImprovedStillCase",
			scores: []Score{{90, 22}, {130, 16}},
			th:     phq9,
			want: EpisodeResult{HasBaseline: true, BaselineDay: 90, Baseline: 22,
				HasEndpoint: true, EndpointDay: 130, Endpoint: 16, Change: -6,
				Eligible: true, ReliableChange: Improved},
		},
		{
			// change 14-8 = +6 = rc: deteriorated.
			name:   "DeterioratedAtReliableChange",
			scores: []Score{{90, 8}, {130, 14}},
			th:     phq9,
			want: EpisodeResult{HasBaseline: true, BaselineDay: 90, Baseline: 8,
				HasEndpoint: true, EndpointDay: 130, Endpoint: 14, Change: 6,
				ReliableChange: Deteriorated},
		},
		{
			// change 13-8 = +5 < 6: unchanged.
			name:   "UnchangedWorsening",
			scores: []Score{{90, 8}, {130, 13}},
			th:     phq9,
			want: EpisodeResult{HasBaseline: true, BaselineDay: 90, Baseline: 8,
				HasEndpoint: true, EndpointDay: 130, Endpoint: 13, Change: 5,
				ReliableChange: Unchanged},
		},
		{
			// GAD-7 rc is 4: change 8-12 = -4, 12 >= 10, 8 < 10: recovered;
			// 2*8 = 16 > 12: no response.
			name:   "GAD7Recovered",
			scores: []Score{{90, 12}, {130, 8}},
			th:     gad7,
			want: EpisodeResult{HasBaseline: true, BaselineDay: 90, Baseline: 12,
				HasEndpoint: true, EndpointDay: 130, Endpoint: 8, Change: -4,
				Eligible: true, ReliableChange: Recovered},
		},
		{
			// PCL-5 remission is < 33 like the cutoff: 32 remits;
			// change -18 <= -10, 32 < 33: recovered; 2*32 = 64 > 50.
			name:   "PCL5Remission",
			scores: []Score{{90, 50}, {130, 32}},
			th:     pcl5,
			want: EpisodeResult{HasBaseline: true, BaselineDay: 90, Baseline: 50,
				HasEndpoint: true, EndpointDay: 130, Endpoint: 32, Change: -18,
				Eligible: true, Remission: true, ReliableChange: Recovered},
		},
		{
			// 0.58*50 is 29 exactly, 28.999999999999996 in float64: the
			// endpoint 29 must still respond.
			name:   "FractionRounding",
			scores: []Score{{90, 50}, {130, 29}},
			th:     pcl5,
			p:      Params{BaselineDays: 30, AcuteDays: 56, ResponseFraction: 0.58},
			want: EpisodeResult{HasBaseline: true, BaselineDay: 90, Baseline: 50,
				HasEndpoint: true, EndpointDay: 130, Endpoint: 29, Change: -21,
				Eligible: true, Response: true, Remission: true, ReliableChange: Recovered},
		},
		{
			// 30 > 29: no response at fraction 0.58.
			name:   "FractionAbove",
			scores: []Score{{90, 50}, {130, 30}},
			th:     pcl5,
			p:      Params{BaselineDays: 30, AcuteDays: 56, ResponseFraction: 0.58},
			want: EpisodeResult{HasBaseline: true, BaselineDay: 90, Baseline: 50,
				HasEndpoint: true, EndpointDay: 130, Endpoint: 30, Change: -20,
				Eligible: true, Remission: true, ReliableChange: Recovered},
		},
		{
			// Other windows: baseline 14 days (86..100), acute 28 days
			// (101..128). Day 85 is too early, day 129 too late: the
			// baseline is day 86 (21), the endpoint day 128 (15).
			name:   "OtherWindows",
			scores: []Score{{85, 25}, {86, 21}, {128, 15}, {129, 3}},
			th:     phq9,
			p:      Params{BaselineDays: 14, AcuteDays: 28, ResponseFraction: 0.5},
			want: EpisodeResult{HasBaseline: true, BaselineDay: 86, Baseline: 21,
				HasEndpoint: true, EndpointDay: 128, Endpoint: 15, Change: -6,
				Eligible: true, ReliableChange: Improved},
		},
		{
			// Same-day scores cannot survive ingest; if they occur, the
			// higher total is taken as the later one, whatever the input
			// order: baseline 16, endpoint 9. 2*9 = 18 > 16.
			name:   "SameDayDuplicates",
			scores: []Score{{130, 9}, {99, 16}, {130, 7}, {99, 14}},
			th:     phq9,
			want: EpisodeResult{HasBaseline: true, BaselineDay: 99, Baseline: 16,
				HasEndpoint: true, EndpointDay: 130, Endpoint: 9, Change: -7,
				Eligible: true, ReliableChange: Recovered},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			if p == (Params{}) {
				p = DefaultParams()
			}
			asOf := tt.asOf
			if asOf == 0 {
				asOf = AllClosed
			}
			in := slices.Clone(tt.scores)
			got := Episode(index, tt.scores, tt.th, p, asOf)
			if got != tt.want {
				t.Errorf("Episode(%d, %v)\n got  %+v\n want %+v", index, tt.scores, got, tt.want)
			}
			if !slices.Equal(in, tt.scores) {
				t.Errorf("Episode modified its input: %v, was %v", tt.scores, in)
			}
			slices.Reverse(in)
			if rev := Episode(index, in, tt.th, p, asOf); rev != got {
				t.Errorf("Episode depends on input order: reversed gives %+v", rev)
			}
		})
	}
}

func TestReliableChange(t *testing.T) {
	tests := []struct {
		name               string
		baseline, endpoint int
		want               string
	}{
		// PHQ-9: cutoff 10, rc 6.
		{"Deteriorated", 8, 14, Deteriorated},          // +6 >= 6
		{"UnchangedUp", 8, 13, Unchanged},              // +5 < 6
		{"UnchangedDown", 15, 10, Unchanged},           // -5 > -6
		{"Recovered", 15, 9, Recovered},                // -6, 15 >= 10, 9 < 10
		{"ImprovedStillCase", 22, 16, Improved},        // -6, 16 >= 10
		{"ImprovedBelowCutoff", 9, 3, Improved},        // -6, 9 < 10 at baseline
		{"ImprovedEndpointAtCutoff", 20, 10, Improved}, // -10, 10 is not < 10
		{"NoChange", 12, 12, Unchanged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ReliableChange(tt.baseline, tt.endpoint, phq9); got != tt.want {
				t.Errorf("ReliableChange(%d, %d) = %q, want %q", tt.baseline, tt.endpoint, got, tt.want)
			}
		})
	}
}
