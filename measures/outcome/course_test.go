package outcome

import (
	"math"
	"slices"
	"testing"

	"github.com/kapstat/kapstat/measures/stats"
)

// dosing returns dosing sessions on the given days, route sublingual.
func dosing(days ...int) []Session {
	out := make([]Session, len(days))
	for i, d := range days {
		out[i] = Session{Day: d, Type: Dosing, Route: "sublingual"}
	}
	return out
}

func TestDoses(t *testing.T) {
	p := DefaultParams()
	// index 100, acute window 101..156; doses are the dosing sessions on
	// 100..156. The one on 157 is after the window; preparation,
	// integration and maintenance sessions are no doses.
	sessions := []Session{
		{Day: 157, Type: Dosing, Route: "sublingual"},
		{Day: 121, Type: Dosing, Route: "sublingual"},
		{Day: 95, Type: Preparation},
		{Day: 100, Type: Dosing, Route: "sublingual"},
		{Day: 101, Type: Integration},
		{Day: 156, Type: Dosing, Route: "sublingual"},
		{Day: 130, Type: Maintenance, Route: "im"},
		{Day: 107, Type: Dosing, Route: "sublingual"},
	}
	var days []int
	for _, d := range Doses(index, sessions, p) {
		days = append(days, d.Day)
	}
	if want := []int{100, 107, 121, 156}; !slices.Equal(days, want) {
		t.Errorf("dose days = %v, want %v", days, want)
	}

	// Two doses on the index day are doses 1 and 2, ordered by route (im
	// before iv) whatever the input order.
	a := Session{Day: 100, Type: Dosing, Route: "iv"}
	b := Session{Day: 100, Type: Dosing, Route: "im"}
	for _, in := range [][]Session{{a, b}, {b, a}} {
		d := Doses(index, in, p)
		if len(d) != 2 || d[0].Route != "im" || d[1].Route != "iv" {
			t.Errorf("Doses(%v) = %v, want im then iv", in, d)
		}
	}
	// Same day and route: the dissociation (then the other recorded
	// fields) orders them, not the input order.
	c := Session{Day: 100, Type: Dosing, Route: "im", Dissociation: Some(9)}
	e := Session{Day: 100, Type: Dosing, Route: "im", Dissociation: Some(3)}
	if d := Doses(index, []Session{c, e}, p); d[0] != e {
		t.Errorf("Doses = %v, want the dissociation-3 session first", d)
	}
}

func TestAfterDose(t *testing.T) {
	p := DefaultParams()
	// Doses on 100, 107, 114, 121 with index 100 (acute window 101..156).
	doses := dosing(100, 107, 114, 121)
	tests := []struct {
		day, want int
	}{
		{99, 0},   // before the course
		{100, 0},  // the index day: a baseline, after no dose
		{101, 1},  // 100 < 101 <= 107
		{107, 1},  // on dose 2's day: taken before that dose, so after dose 1
		{108, 2},  // 107 < 108 <= 114
		{121, 3},  // on dose 4's day
		{122, 4},  // after the last dose ...
		{156, 4},  // ... up to index+56
		{157, 0},  // after the acute window
		{400, 0},  // follow-up
		{-5, 0},   // long before
		{114, 2},  // dose 3's day
		{115, 3},  // the day after dose 3
		{120, 3},  // the day before dose 4
		{155, 4},  // still after dose 4
		{1000, 0}, // far after
	}
	for _, tt := range tests {
		if got := AfterDose(doses, tt.day, index, p); got != tt.want {
			t.Errorf("AfterDose(day %d) = %d, want %d", tt.day, got, tt.want)
		}
	}
	// Two doses on one day: a score the next day is after the second one
	// (the interval after the first, (100, 100], is empty).
	two := dosing(100, 100, 110)
	if got := AfterDose(two, 101, index, p); got != 2 {
		t.Errorf("AfterDose with two doses on day 100 = %d, want 2", got)
	}
}

func TestCourseOf(t *testing.T) {
	tests := []struct {
		name     string
		scores   []Score
		sessions []Session
		th       Thresholds
		asOf     int // zero means AllClosed
		want     Course
	}{
		{
			// Three doses (100, 107, 114). Baseline 20 on day 95. The day-107
			// score (14, on dose 2's day) is after dose 1; the day-114 score
			// 10 is the first at or below 0.5 × 20 = 10 and is after dose 2
			// (on dose 3's day): time 114 - 100 = 14. The day-128 score 4 is
			// the first below 5: remission at 28.
			name:     "FewerThanSixDoses",
			scores:   []Score{{95, 20}, {107, 14}, {114, 10}, {128, 4}},
			sessions: dosing(114, 100, 107),
			th:       phq9,
			want: Course{Program: "kap", Eligible: true, Doses: 3, ResponseDose: 2,
				Response: TimeToEvent{14, true}, Remission: TimeToEvent{28, true}},
		},
		{
			// Neither event: both censored at the last acute score, day
			// 140 - 100 = 40. The day-165 score (4) is after the window and
			// does not count, nor does the dose on day 160.
			name:     "CensoredDoseAfterWindow",
			scores:   []Score{{90, 20}, {110, 15}, {140, 12}, {165, 4}},
			sessions: dosing(100, 107, 160),
			th:       phq9,
			want: Course{Program: "kap", Eligible: true, Doses: 2,
				Response: TimeToEvent{40, false}, Remission: TimeToEvent{40, false}},
		},
		{
			// As of day 120 the window (to 156) is open; the day-110 score 9
			// is a response (9 <= 0.5 × 18) at 10 days: the event counts,
			// and the patient is flagged as still in the window.
			name:     "OpenWindowEvent",
			scores:   []Score{{95, 18}, {110, 9}},
			sessions: dosing(100, 107),
			th:       phq9,
			asOf:     120,
			want: Course{Program: "kap", Eligible: true, WindowOpen: true, Doses: 2, ResponseDose: 2,
				Response: TimeToEvent{10, true}, Remission: TimeToEvent{10, false}},
		},
		{
			// Open and not responded yet: censored at the last score so far
			// (day 110: 10 days).
			name:     "OpenWindowCensored",
			scores:   []Score{{95, 18}, {110, 15}},
			sessions: dosing(100, 107),
			th:       phq9,
			asOf:     120,
			want: Course{Program: "kap", Eligible: true, WindowOpen: true, Doses: 2,
				Response: TimeToEvent{10, false}, Remission: TimeToEvent{10, false}},
		},
		{
			// Open without an acute score yet: not in the estimate.
			name:     "OpenWindowNoScore",
			scores:   []Score{{95, 18}},
			sessions: dosing(100),
			th:       phq9,
			asOf:     103,
			want:     Course{Program: "kap", Reason: ReasonAcuteWindowOpen, Eligible: true, WindowOpen: true, Doses: 1},
		},
		{
			// Closed without an acute score: attrition, not in the estimate
			// (but in response by dose, as not responded).
			name:     "ClosedNoScore",
			scores:   []Score{{95, 18}, {200, 3}},
			sessions: dosing(100, 104, 108, 112),
			th:       phq9,
			want:     Course{Program: "kap", Reason: ReasonNoEndpoint, Eligible: true, Doses: 4},
		},
		{
			name:     "NotEligible",
			scores:   []Score{{95, 9}, {110, 2}},
			sessions: []Session{{Day: 100, Type: Dosing, Route: "iv", Program: "infusion"}},
			th:       phq9,
			want:     Course{Program: "infusion", Reason: ReasonNotEligible, Doses: 1},
		},
		{
			// The day-60 score is before the baseline window 70..100.
			name:     "NoBaseline",
			scores:   []Score{{60, 20}, {110, 2}},
			sessions: dosing(100),
			th:       phq9,
			want:     Course{Program: "kap", Reason: ReasonNoBaseline, Doses: 1},
		},
		{
			// The index-day score is the baseline (22 replaces the day-90
			// 25); the first acute score 11 = 0.5 × 22 responds at day 1,
			// after dose 1. PCL-5: remission < 33, so 30 remits at day 1 too.
			name:     "IndexDayBaselinePCL5",
			scores:   []Score{{90, 25}, {100, 22}, {101, 11}},
			sessions: dosing(100),
			th:       Thresholds{Cutoff: 20, Remission: 12, ReliableChange: 10},
			want: Course{Program: "kap", Eligible: true, Doses: 1, ResponseDose: 1,
				Response: TimeToEvent{1, true}, Remission: TimeToEvent{1, true}},
		},
		{
			// Assessment-only mode: no sessions, program unknown, no doses;
			// the time to response is still defined from the index day.
			name:   "AssessmentOnly",
			scores: []Score{{100, 16}, {114, 8}},
			th:     phq9,
			want: Course{Program: Unknown, Eligible: true,
				Response: TimeToEvent{14, true}, Remission: TimeToEvent{14, false}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asOf := tt.asOf
			if asOf == 0 {
				asOf = AllClosed
			}
			got := CourseOf(index, tt.scores, tt.sessions, tt.th, DefaultParams(), asOf)
			if got != tt.want {
				t.Errorf("CourseOf =\n %+v, want\n %+v", got, tt.want)
			}
		})
	}
}

func TestSummarizeTimeToResponse(t *testing.T) {
	// Five included patients: response at 14 (kap), censored at 40 (kap),
	// response at 10 and censored at 10 (infusion, both with open windows),
	// response at 28 (kap); two patients outside the estimate.
	cs := []Course{
		{Program: "kap", Eligible: true, Response: TimeToEvent{14, true}},
		{Program: "kap", Eligible: true, Response: TimeToEvent{40, false}},
		{Program: "infusion", Eligible: true, WindowOpen: true, Response: TimeToEvent{10, true}},
		{Program: "infusion", Eligible: true, WindowOpen: true, Response: TimeToEvent{10, false}},
		{Program: "kap", Eligible: true, Response: TimeToEvent{28, true}},
		{Program: "kap", Reason: ReasonNotEligible},
		{Program: "kap", Reason: ReasonNoEndpoint, Eligible: true},
	}
	s, err := SummarizeTimeToResponse(cs, DefaultCourseParams())
	if err != nil {
		t.Fatal(err)
	}
	// By hand: S(10) = 4/5, S(14) = 4/5 × 2/3 = 0.5333, S(28) = 0.2667;
	// the median is the first time with S < 0.5: 28. R 4.2.2, survival
	// 3.5-3: summary(survfit(Surv(c(14, 40, 10, 10, 28), c(1, 0, 1, 0, 1))
	// ~ 1))$table gives median 28, 0.95LCL 14, 0.95UCL NA; summary(fit,
	// times = c(7, 14, 28)) gives n.risk 5, 3, 2, 1 - surv 0,
	// 0.46666666666666667, 0.73333333333333339 and 1 - lower 0,
	// 0.78581651925863127, 0.94925723487332880 (1 - upper is 0: the
	// upper limit of S is capped at 1). Day 56 is after the longest
	// follow-up (40): null.
	if s.N != 5 || s.Events != 3 || s.AcuteWindowOpen != 2 {
		t.Errorf("n, events, open = %d, %d, %d, want 5, 3, 2", s.N, s.Events, s.AcuteWindowOpen)
	}
	checkFloat(t, "median", s.MedianDays, 28)
	checkFloat(t, "median lower", s.MedianLower95, 14)
	checkFloat(t, "median upper", s.MedianUpper95, math.NaN())
	want := []CumulativeAt{
		{7, 5, 0, 0, 0},
		{14, 3, 0.46666666666666667, 0, 0.78581651925863127},
		{28, 2, 0.73333333333333339, 0, 0.94925723487332880},
		{56, 0, math.NaN(), math.NaN(), math.NaN()},
	}
	checkCumulative(t, s.ByDay, want)

	// By program, survfit(Surv(time, ev) ~ prog): infusion median 10
	// (S = 0.5 exactly at its last time), LCL 10, UCL NA; kap median 28,
	// LCL 14, UCL NA, 1 - surv at 14 and 28: 0.33333333333333337,
	// 0.66666666666666674, 1 - lower 0.70049286964097768,
	// 0.93272160914807767.
	inf, kap := s.ByProgram["infusion"], s.ByProgram["kap"]
	if len(s.ByProgram) != 2 || inf.N != 2 || inf.AcuteWindowOpen != 2 || kap.N != 3 || kap.Events != 2 {
		t.Fatalf("by program = %+v", s.ByProgram)
	}
	checkFloat(t, "infusion median", inf.MedianDays, 10)
	checkFloat(t, "infusion lower", inf.MedianLower95, 10)
	checkFloat(t, "kap median", kap.MedianDays, 28)
	checkFloat(t, "kap lower", kap.MedianLower95, 14)
	checkCumulative(t, kap.ByDay, []CumulativeAt{
		{7, 3, 0, 0, 0},
		{14, 3, 0.33333333333333337, 0, 0.70049286964097768},
		{28, 2, 0.66666666666666674, 0, 0.93272160914807767},
		{56, 0, math.NaN(), math.NaN(), math.NaN()},
	})
	if kap.ByProgram != nil {
		t.Error("a program's summary has programs of its own")
	}

	// Remission: nobody in the estimate has an event (all censored at the
	// response times), so the cumulative remission is 0 with limits 0;
	// nobody at all gives a note instead of an error.
	for i := range cs {
		cs[i].Remission = TimeToEvent{Time: cs[i].Response.Time}
	}
	r, err := SummarizeTimeToRemission(cs, DefaultCourseParams())
	if err != nil {
		t.Fatal(err)
	}
	if r.N != 5 || r.Events != 0 || !math.IsNaN(r.MedianDays) || r.ByDay[1].Cumulative != 0 || r.ByDay[1].Upper95 != 0 {
		t.Errorf("remission = %+v", r)
	}
	e, err := SummarizeTimeToResponse(cs[5:], DefaultCourseParams())
	if err != nil {
		t.Fatal(err)
	}
	if e.N != 0 || e.Note == "" || len(e.ByDay) != 4 || !math.IsNaN(e.ByDay[0].Cumulative) || len(e.ByProgram) != 0 {
		t.Errorf("empty = %+v", e)
	}
}

func TestSummarizeResponseByDose(t *testing.T) {
	cs := []Course{
		{Eligible: true, Doses: 3, ResponseDose: 2},                       // in k = 1..3, event from k = 2
		{Eligible: true, Doses: 6},                                        // in k = 1..6, no event
		{Eligible: true, Doses: 8, ResponseDose: 7},                       // a response after dose 7 is no event for k <= 6
		{Eligible: true, WindowOpen: true, Doses: 2, ResponseDose: 1},     // open: left out
		{Reason: ReasonNotEligible, Doses: 4},                             // not eligible: left out
		{Eligible: true, Doses: 1, ResponseDose: 1},                       // in k = 1 only, event
		{Eligible: true, Doses: 4, Reason: ReasonNoEndpoint},              // no acute score: in k = 1..4, no event
		{Eligible: true, Reason: ReasonAcuteWindowOpen, WindowOpen: true}, // open: left out
		{Eligible: true, Reason: ReasonNoEndpoint, Program: Unknown},      // assessment-only: no dose 1
		{Reason: ReasonNoBaseline, Doses: 5},                              // no baseline: left out
		{Eligible: true, Doses: 2, ResponseDose: 2},                       // in k = 1..2, event from k = 2
		{Eligible: true, Doses: 5, ResponseDose: 5},                       // in k = 1..5, event from k = 5
	}
	got, err := SummarizeResponseByDose(cs, DefaultCourseParams())
	if err != nil {
		t.Fatal(err)
	}
	// The closed eligible patients have 3, 6, 8, 1, 4, 0, 2 and 5 doses,
	// responding after dose 2, -, 7, 1, -, -, 2 and 5.
	// k = 1: n = 7 (all but the one without doses), events 1 (dose 1);
	// k = 2: n = 6 (3, 6, 8, 4, 2, 5 doses), events 2 (the two dose-2
	// responders; the dose-1 responder had no dose 2); k = 3: n = 5 (3, 6,
	// 8, 4, 5), events 1; k = 4: n = 4 (6, 8, 4, 5), events 0; k = 5: n = 3
	// (6, 8, 5), events 1; k = 6: n = 2 (6, 8), events 0.
	want := [][2]int{{7, 1}, {6, 2}, {5, 1}, {4, 0}, {3, 1}, {2, 0}}
	if len(got) != 6 {
		t.Fatalf("%d doses, want 6", len(got))
	}
	for k, w := range want {
		if got[k].Dose != k+1 || got[k].N != w[0] || got[k].Events != w[1] {
			t.Errorf("dose %d: n %d events %d, want %v", got[k].Dose, got[k].N, got[k].Events, w)
		}
	}
	// prop.test(1, 7, correct = FALSE)$conf.int (R 4.2.2):
	// 0.025679624344743562 0.513127829274318770.
	checkFloat(t, "dose 1 lower", got[0].Lower95, 0.025679624344743562)
	checkFloat(t, "dose 1 upper", got[0].Upper95, 0.513127829274318770)
}

func checkFloat(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.IsNaN(want) {
		if !math.IsNaN(got) {
			t.Errorf("%s = %v, want NaN", what, got)
		}
		return
	}
	if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %.17g, want %.17g", what, got, want)
	}
}

func checkCumulative(t *testing.T, got, want []CumulativeAt) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d points, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Time != w.Time || g.NRisk != w.NRisk {
			t.Errorf("point %d: time %d n_risk %d, want %d %d", i, g.Time, g.NRisk, w.Time, w.NRisk)
		}
		checkFloat(t, "cumulative", g.Cumulative, w.Cumulative)
		checkFloat(t, "lower95", g.Lower95, w.Lower95)
		checkFloat(t, "upper95", g.Upper95, w.Upper95)
	}
}

var nan = math.NaN()

// checkProportion checks a Wilson rate: counts exactly, the rate as
// events/n and the limits against R's prop.test(events, n, correct =
// FALSE)$conf.int.
func checkProportion(t *testing.T, what string, got stats.Proportion, events, n int, lower, upper float64) {
	t.Helper()
	if got.Events != events || got.N != n {
		t.Errorf("%s: %d/%d, want %d/%d", what, got.Events, got.N, events, n)
		return
	}
	rate := nan
	if n > 0 {
		rate = float64(events) / float64(n)
	}
	checkFloat(t, what+" rate", got.Rate, rate)
	checkFloat(t, what+" lower95", got.Lower95, lower)
	checkFloat(t, what+" upper95", got.Upper95, upper)
}
