package measures

import (
	"errors"
	"fmt"
	"testing"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"PHQ9": "PHQ9", "PHQ-9": "PHQ9", "phq_9": "PHQ9", "Phq9": "PHQ9",
		"gad-7": "GAD7", "PCL5": "PCL5", "pcl-5": "PCL5",
		"BDI2": "", "": "", "PHQ-9!": "", "PHQ8": "",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

// Every band boundary of SPEC 4: the last total of one band and the first of the next.
func TestBands(t *testing.T) {
	tests := []struct {
		in    Instrument
		total int
		want  string
	}{
		{PHQ9, 0, "minimal"}, {PHQ9, 4, "minimal"}, {PHQ9, 5, "mild"}, {PHQ9, 9, "mild"},
		{PHQ9, 10, "moderate"}, {PHQ9, 14, "moderate"}, {PHQ9, 15, "moderately severe"},
		{PHQ9, 19, "moderately severe"}, {PHQ9, 20, "severe"}, {PHQ9, 27, "severe"}, {PHQ9, 28, ""},
		{GAD7, 0, "minimal"}, {GAD7, 4, "minimal"}, {GAD7, 5, "mild"}, {GAD7, 9, "mild"},
		{GAD7, 10, "moderate"}, {GAD7, 14, "moderate"}, {GAD7, 15, "severe"}, {GAD7, 21, "severe"}, {GAD7, 22, ""},
		{PCL5, 0, "below cutoff"}, {PCL5, 32, "below cutoff"}, {PCL5, 33, "at or above cutoff"},
		{PCL5, 80, "at or above cutoff"}, {PCL5, 81, ""}, {PCL5, -1, ""},
	}
	for _, tt := range tests {
		if got := tt.in.Band(tt.total); got != tt.want {
			t.Errorf("%s.Band(%d) = %q, want %q", tt.in.Code, tt.total, got, tt.want)
		}
	}
}

func items(n int, vals ...int) []int {
	out := make([]int, n)
	copy(out, vals)
	return out
}

func missingAt(xs []int, at ...int) []int {
	out := append([]int(nil), xs...)
	for _, i := range at {
		out[i-1] = Missing
	}
	return out
}

func TestScoreProrating(t *testing.T) {
	all1 := func(n int) []int {
		x := make([]int, n)
		for i := range x {
			x[i] = 1
		}
		return x
	}
	tests := []struct {
		name         string
		in           Instrument
		items        []int
		wantTotal    int
		wantProrated bool
		wantErr      error
	}{
		{"PHQ-9 complete", PHQ9, []int{3, 2, 1, 0, 1, 2, 3, 0, 1}, 13, false, nil},
		// 7 answered summing to 7+... : items 1,1,1,1,1,1,2 → sum 8, 8/7×9 = 10.29 → 10.
		{"PHQ-9 two missing (allowed)", PHQ9, missingAt([]int{1, 1, 1, 1, 1, 1, 2, 0, 0}, 8, 9), 10, true, nil},
		{"PHQ-9 three missing (one past)", PHQ9, missingAt(all1(9), 1, 2, 3), 0, false, ErrTooManyMissing},
		// 8 answered summing to 4: 4/8×9 = 4.5 → half rounds up to 5 (band changes minimal → mild).
		{"PHQ-9 half rounds up", PHQ9, missingAt([]int{1, 1, 1, 1, 0, 0, 0, 0, 0}, 9), 5, true, nil},
		// 8 answered summing to 3: 3/8×9 = 3.375 → 3.
		{"PHQ-9 rounds down", PHQ9, missingAt([]int{1, 1, 1, 0, 0, 0, 0, 0, 0}, 9), 3, true, nil},
		// 6 answered all 1: 6/6×7 = 7.
		{"GAD-7 one missing (allowed)", GAD7, missingAt(all1(7), 4), 7, true, nil},
		{"GAD-7 two missing (one past)", GAD7, missingAt(all1(7), 4, 5), 0, false, ErrTooManyMissing},
		// 17 answered all 1: 17/17×20 = 20.
		{"PCL-5 three missing (allowed)", PCL5, missingAt(all1(20), 1, 10, 20), 20, true, nil},
		{"PCL-5 four missing (one past)", PCL5, missingAt(all1(20), 1, 2, 10, 20), 0, false, ErrTooManyMissing},
		{"PHQ-9 item 4", PHQ9, []int{0, 0, 0, 4, 0, 0, 0, 0, 0}, 0, false, ErrItemRange},
		{"PCL-5 item 5 is in range", PCL5, items(20, 4, 4, 4, 4, 4), 20, false, nil},
		{"PHQ-9 eight items", PHQ9, []int{0, 0, 0, 0, 0, 0, 0, 0}, 0, false, ErrItemCount},
		{"all missing", GAD7, missingAt(all1(7), 1, 2, 3, 4, 5, 6, 7), 0, false, ErrTooManyMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.in.Score(tt.items, -1)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if r.Total != tt.wantTotal || r.Prorated != tt.wantProrated {
				t.Errorf("total %d prorated %v, want %d %v", r.Total, r.Prorated, tt.wantTotal, tt.wantProrated)
			}
		})
	}
}

func TestScoreItemError(t *testing.T) {
	_, err := GAD7.Score([]int{0, 0, 7, 0, 0, 0, 0}, -1)
	var se *ScoreError
	if !errors.As(err, &se) || se.Item != 3 {
		t.Fatalf("err = %v, want item 3 out of range", err)
	}
}

func TestScoreTotalOnly(t *testing.T) {
	r, err := PHQ9.Score(nil, 17)
	if err != nil || r.Total != 17 || r.Band != "moderately severe" || r.ItemsGiven || r.SafetyFlag {
		t.Fatalf("got %+v, %v", r, err)
	}
	if _, err := PHQ9.Score(nil, 28); !errors.Is(err, ErrTotalRange) {
		t.Errorf("total 28: err = %v", err)
	}
	if _, err := PHQ9.Score(nil, -1); !errors.Is(err, ErrNoResponses) {
		t.Errorf("nothing given: err = %v", err)
	}
}

func TestSafetyFlag(t *testing.T) {
	// A skipped item 9 is unknown (recorded false), never "no risk" (SPEC 6.14).
	for _, tt := range []struct {
		items          []int
		recorded, flag bool
	}{
		{[]int{0, 0, 0, 0, 0, 0, 0, 0, 0}, true, false},
		{[]int{0, 0, 0, 0, 0, 0, 0, 0, 1}, true, true},
		{[]int{3, 3, 3, 3, 3, 3, 3, 3, 0}, true, false},
		{missingAt([]int{1, 0, 0, 0, 0, 0, 0, 0, 0}, 9), false, false},
		{missingAt([]int{1, 0, 0, 0, 0, 0, 0, 0, 2}, 1), true, true},
	} {
		r, err := PHQ9.Score(tt.items, -1)
		if err != nil || r.SafetyRecorded != tt.recorded || r.SafetyFlag != tt.flag {
			t.Errorf("%v: recorded %v flag %v, %v; want %v %v", tt.items, r.SafetyRecorded, r.SafetyFlag, err, tt.recorded, tt.flag)
		}
	}
	if r, _ := PHQ9.Score(nil, 20); r.SafetyRecorded {
		t.Error("a total-only PHQ-9 does not record item 9")
	}
	r, _ := GAD7.Score([]int{3, 3, 3, 3, 3, 3, 3}, -1)
	if r.SafetyFlag || r.SafetyRecorded {
		t.Error("GAD-7 has no safety item")
	}
}

func TestPCL5Clusters(t *testing.T) {
	// B items 1–5, C 6–7, D 8–14, E 15–20.
	tests := []struct {
		name     string
		items    []int
		clusters []int
		prov     bool
	}{
		{"threshold met exactly: 1 B, 1 C, 2 D, 2 E at 2",
			[]int{2, 0, 0, 0, 0, 2, 0, 2, 2, 0, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0},
			[]int{2, 2, 4, 4}, true},
		{"one D short",
			[]int{2, 0, 0, 0, 0, 2, 0, 2, 1, 0, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0},
			[]int{2, 2, 3, 4}, false},
		{"no C endorsed although the total is high",
			[]int{4, 4, 4, 4, 4, 1, 1, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4},
			[]int{20, 2, 28, 24}, false},
		// C has both items missing: its score is unknown (-1) and nothing in C is endorsed.
		// D: items 8–14 with item 8 missing, 6 answered summing 12 → 12/6×7 = 14.
		{"cluster C missing, D prorated",
			missingAt([]int{2, 2, 2, 2, 2, 2, 2, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, 6, 7, 8),
			[]int{10, -1, 14, 12}, false},
		// D: 6 answered summing 1+1+1+1+1+0 = 5 → 5/6×7 = 5.83 → 6.
		{"cluster prorating rounds",
			missingAt([]int{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0}, 8),
			[]int{0, 0, 6, 0}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := PCL5.Score(tt.items, -1)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(r.Clusters) != fmt.Sprint(tt.clusters) || r.Provisional != tt.prov {
				t.Errorf("clusters %v provisional %v, want %v %v", r.Clusters, r.Provisional, tt.clusters, tt.prov)
			}
		})
	}
}

func ExampleInstrument_Score_phq9() {
	// Item 9 missing: 8 answered items sum to 13; 13/8 × 9 = 14.625 → 15.
	r, _ := PHQ9.Score([]int{2, 2, 2, 2, 1, 1, 1, 2, Missing}, -1)
	fmt.Println(r.Total, r.Prorated, r.Band)
	// Output: 15 true moderately severe
}

func ExampleInstrument_Score_gad7() {
	r, _ := GAD7.Score([]int{1, 1, 2, 1, 0, 1, 1}, -1)
	fmt.Println(r.Total, r.Band, GAD7.Case(r.Total))
	// Output: 7 mild false
}

func ExampleInstrument_Score_pcl5() {
	r, _ := PCL5.Score([]int{3, 2, 2, 1, 1, 2, 1, 3, 2, 1, 1, 0, 0, 1, 2, 2, 1, 1, 0, 0}, -1)
	fmt.Println(r.Total, r.Band, r.Clusters, r.Provisional)
	// Output: 26 below cutoff [9 3 8 6] true
}
