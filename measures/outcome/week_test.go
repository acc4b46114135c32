package outcome

import (
	"slices"
	"testing"
)

func TestWeek(t *testing.T) {
	// index 100, acute window 101..156.
	tests := []struct {
		name        string
		baselineDay int
		day         int
		wantWeek    int
		wantOK      bool
	}{
		{"Baseline", 90, 90, 0, true},
		{"SameDayBaseline", 100, 100, 0, true},
		{"IndexDayNotBaseline", 90, 100, 0, false}, // neither baseline nor acute
		{"EarlierBaselineWindowScore", 90, 85, 0, false},
		{"BetweenBaselineAndIndex", 90, 95, 0, false},
		{"FirstAcuteDay", 90, 101, 1, true}, // ceil(1/7) = 1
		{"EndOfWeek1", 90, 107, 1, true},    // ceil(7/7) = 1
		{"StartOfWeek2", 90, 108, 2, true},  // ceil(8/7) = 2
		{"LastAcuteDay", 90, 156, 8, true},  // ceil(56/7) = 8
		{"AfterAcute", 90, 157, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, ok := Week(index, tt.baselineDay, tt.day, DefaultParams())
			if w != tt.wantWeek || ok != tt.wantOK {
				t.Errorf("Week(%d, %d, %d) = (%d, %v), want (%d, %v)",
					index, tt.baselineDay, tt.day, w, ok, tt.wantWeek, tt.wantOK)
			}
		})
	}
}

func TestWeeksSinceBaseline(t *testing.T) {
	// Exact in float64 where day differences are multiples of 7.
	tests := []struct {
		baselineDay, day int
		want             float64
	}{
		{90, 90, 0},
		{90, 104, 2},
		{90, 93, 3.0 / 7},
		{100, 156, 8},
	}
	for _, tt := range tests {
		if got := WeeksSinceBaseline(tt.baselineDay, tt.day); got != tt.want {
			t.Errorf("WeeksSinceBaseline(%d, %d) = %v, want %v", tt.baselineDay, tt.day, got, tt.want)
		}
	}
}

func TestTrajectory(t *testing.T) {
	tests := []struct {
		name   string
		scores []Score
		want   []Point
	}{
		{
			// Baseline = day 95 (latest of 85, 95 in 70..100); day 60 is
			// too early, 85 is an earlier baseline-window score, 157 is
			// past the acute window. t = (day-95)/7, week = ceil((day-100)/7).
			name:   "BaselineAndAcute",
			scores: []Score{{157, 8}, {101, 18}, {60, 25}, {156, 9}, {85, 21}, {114, 15}, {95, 20}},
			want: []Point{
				{Day: 95, Total: 20, Week: 0, T: 0},
				{Day: 101, Total: 18, Week: 1, T: 6.0 / 7},
				{Day: 114, Total: 15, Week: 2, T: 19.0 / 7},
				{Day: 156, Total: 9, Week: 8, T: 61.0 / 7},
			},
		},
		{
			// Baseline on the index day: week 0, t 0; day 107 is week 1, t 1.
			name:   "SameDayBaseline",
			scores: []Score{{100, 12}, {107, 11}},
			want: []Point{
				{Day: 100, Total: 12, Week: 0, T: 0},
				{Day: 107, Total: 11, Week: 1, T: 1},
			},
		},
		{
			name:   "BaselineOnly",
			scores: []Score{{90, 12}},
			want:   []Point{{Day: 90, Total: 12}},
		},
		{
			name:   "NoBaseline",
			scores: []Score{{69, 20}, {120, 12}},
			want:   nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Trajectory(index, tt.scores, DefaultParams())
			if !slices.Equal(got, tt.want) {
				t.Errorf("Trajectory(%d, %v)\n got  %+v\n want %+v", index, tt.scores, got, tt.want)
			}
		})
	}
}
