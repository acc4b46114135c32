package outcome

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/kapstat/kapstat/measures/stats"
)

// CourseParams are the parameters of the treatment-course figures: time to
// response and remission, response by dose, retention and dose exposure,
// dissociation by dose.
type CourseParams struct {
	// Days are the days after the index day at which the cumulative
	// response and remission are reported.
	Days []int
	// MaxDose is the last dose number of the by-dose figures (doses
	// 1..MaxDose) and the open-ended bucket of the dose distribution
	// ("6+" for 6).
	MaxDose int
	// InductionDoses is the number of doses in the acute window that
	// completes induction.
	InductionDoses int
	// MaintenanceDays is the horizon of the maintenance figure: a
	// maintenance session on a day <= index + MaintenanceDays.
	MaintenanceDays int
}

// DefaultCourseParams returns the documented defaults: cumulative figures
// at days 7, 14, 28 and 56, doses 1–6 (6 or more as one bucket), induction
// completed at 4 doses, maintenance within 182 days (26 weeks).
func DefaultCourseParams() CourseParams {
	return CourseParams{Days: []int{7, 14, 28, 56}, MaxDose: 6, InductionDoses: 4, MaintenanceDays: 182}
}

// Validate reports parameters that make the figures meaningless.
func (cp CourseParams) Validate() error {
	var errs []error
	for _, d := range cp.Days {
		if d < 0 {
			errs = append(errs, fmt.Errorf("course day %d, want >= 0", d))
		}
	}
	if cp.MaxDose < 1 {
		errs = append(errs, fmt.Errorf("max_dose = %d, want >= 1", cp.MaxDose))
	}
	if cp.InductionDoses < 1 {
		errs = append(errs, fmt.Errorf("induction_doses = %d, want >= 1", cp.InductionDoses))
	}
	if cp.MaintenanceDays < 0 {
		errs = append(errs, fmt.Errorf("maintenance_days = %d, want >= 0", cp.MaintenanceDays))
	}
	return errors.Join(errs...)
}

// Doses returns a patient's doses: the Dosing sessions with
//
//	index <= day <= index+AcuteDays
//
// ordered by day, so that dose k is Doses(...)[k-1]; the first dose is the
// one on the index day. Dosing sessions after the acute window are not
// doses of the course (maintenance is a session type of its own). Two
// dosing sessions on one day are two doses, ordered by their other fields
// so that the numbering does not depend on input order.
func Doses(index int, sessions []Session, p Params) []Session {
	d := make([]Session, 0, len(sessions))
	for _, s := range sessions {
		if s.Type == Dosing && index <= s.Day && s.Day <= index+p.AcuteDays {
			d = append(d, s)
		}
	}
	slices.SortStableFunc(d, compareSessions)
	return d
}

// AfterDose returns k when a score on day is "after dose k" of the sorted
// doses (as Doses returns them):
//
//	dose k's day < day <= dose k+1's day, or index+AcuteDays for the last dose
//
// and 0 when the day is after no dose: on or before the first dose's day,
// or after the acute window. A score on a dose day is after the previous
// dose (it is taken before that day's dose); a score on the day of the
// first dose is a baseline.
func AfterDose(doses []Session, day, index int, p Params) int {
	if day > index+p.AcuteDays {
		return 0
	}
	k := 0
	for _, d := range doses {
		if d.Day < day {
			k++
		}
	}
	return k
}

// compareSessions orders sessions by day, then by every other field, so
// that sorting never depends on input order.
func compareSessions(a, b Session) int {
	if c := cmp.Compare(a.Day, b.Day); c != 0 {
		return c
	}
	if sessionLess(a, b) {
		return -1
	}
	if sessionLess(b, a) {
		return 1
	}
	return cmp.Or(
		cmp.Compare(a.Type, b.Type),
		compareOptional(a.DoseMg, b.DoseMg),
		compareOptional(a.SBPPre, b.SBPPre),
		compareOptional(a.DBPPre, b.DBPPre),
		compareOptional(a.HRPre, b.HRPre),
		compareOptional(a.SBPMax, b.SBPMax),
		compareOptional(a.DBPMax, b.DBPMax),
		compareOptional(a.HRMax, b.HRMax),
		compareOptional(a.Dissociation, b.Dissociation),
		strings.Compare(a.SideEffects, b.SideEffects),
		compareOptional(boolInt(a.SeriousAdverseEvent), boolInt(b.SeriousAdverseEvent)),
	)
}

// compareOptional orders "not recorded" before every recorded value.
func compareOptional[T cmp.Ordered](a, b Optional[T]) int {
	switch {
	case a.Valid != b.Valid:
		if a.Valid {
			return 1
		}
		return -1
	case !a.Valid:
		return 0
	}
	return cmp.Compare(a.Value, b.Value)
}

func boolInt(b Optional[bool]) Optional[int] {
	if b.Value {
		return Optional[int]{Value: 1, Valid: b.Valid}
	}
	return Optional[int]{Valid: b.Valid}
}

// programOf is the program of the first dosing session ("kap" when it
// leaves it empty), as GroupsOf gives it, or Unknown without one.
func programOf(sessions []Session) string {
	first, ok := firstDosing(sessions)
	if !ok {
		return Unknown
	}
	return orDefault(first.Program, "kap")
}

// TimeToEvent is a patient's time from the index day to an event, or to
// censoring.
type TimeToEvent struct {
	// Time is in days after the index day.
	Time int
	// Event is true for the event, false for a censored time.
	Event bool
}

// Course is one patient's treatment course on one instrument: how fast the
// patient responded and remitted, and after which dose.
type Course struct {
	// Program is that of the first dosing session ("kap" when the session
	// leaves it empty), Unknown without one (assessment-only mode).
	Program string
	// Reason is "" when the patient is in the time-to-response and
	// time-to-remission figures; otherwise ReasonNoBaseline,
	// ReasonNotEligible, ReasonAcuteWindowOpen (the window is open and
	// holds no score yet) or ReasonNoEndpoint (the window closed without a
	// score).
	Reason string
	// Eligible is baseline >= Cutoff.
	Eligible bool
	// WindowOpen is true when the acute window has not closed by the
	// as-of day (WindowOpen). Such a patient is in the time-to-event
	// figures, censored at the last score so far, but in no response-by-
	// dose figure.
	WindowOpen bool
	// Response and Remission are the times to the first response and
	// remission; meaningful only when Reason is "".
	Response  TimeToEvent
	Remission TimeToEvent
	// Doses is the number of doses (Doses) in the acute window, so far
	// when it is open.
	Doses int
	// ResponseDose is the dose k that the first responding acute-window
	// score is after (AfterDose); 0 when there is none.
	ResponseDose int
}

// CourseOf derives the treatment course of one instrument for a patient
// whose index day is index, as of day asOf (AllClosed when every window
// counts as closed), from that patient's scores of that instrument and
// sessions, in any order. With baseline as in Episode (the latest score
// with index-BaselineDays <= day <= index) and the acute-window scores
// index < day <= index+AcuteDays:
//
//	included  = baseline >= Cutoff and at least one acute-window score
//	response  = the first acute-window score <= ResponseFraction*baseline:
//	            Time = its day - index, Event = true
//	remission = the first acute-window score < Remission: likewise
//	censored  = Time = last acute-window score's day - index, Event = false
//	doses     = the number of Doses
//	dose      = AfterDose of the first responding acute-window score
//
// An acute window that is still open on asOf is handled as a time-to-event
// analysis handles a patient still under observation: the patient is
// included once the window holds a score, with the event if it has
// happened and otherwise censored at the last score so far (the
// specification's item 6.4 keeps such episodes out of the endpoint figures,
// not out of the Kaplan–Meier estimates, which are built for incomplete
// follow-up). An open window without a score yet gives
// ReasonAcuteWindowOpen; a closed one without a score ReasonNoEndpoint.
// Scores after asOf are expected to have been left out by the caller, as
// for every definition.
func CourseOf(index int, scores []Score, sessions []Session, th Thresholds, p Params, asOf int) Course {
	doses := Doses(index, sessions, p)
	c := Course{Program: programOf(sessions), WindowOpen: WindowOpen(index, asOf, p), Doses: len(doses)}
	s := sortedScores(scores)
	b, ok := baseline(index, s, p)
	if !ok {
		c.Reason = ReasonNoBaseline
		return c
	}
	c.Eligible = b.Total >= th.Cutoff
	if !c.Eligible {
		c.Reason = ReasonNotEligible
		return c
	}
	last := -1
	for _, sc := range s {
		if !inAcute(index, sc.Day, p) {
			continue
		}
		t := sc.Day - index
		if !c.Response.Event && responded(sc.Total, b.Total, p.ResponseFraction) {
			c.Response = TimeToEvent{Time: t, Event: true}
			c.ResponseDose = AfterDose(doses, sc.Day, index, p)
		}
		if !c.Remission.Event && sc.Total < th.Remission {
			c.Remission = TimeToEvent{Time: t, Event: true}
		}
		last = t
	}
	if last < 0 {
		c.Reason = ReasonNoEndpoint
		if c.WindowOpen {
			c.Reason = ReasonAcuteWindowOpen
		}
		return c
	}
	if !c.Response.Event {
		c.Response.Time = last
	}
	if !c.Remission.Event {
		c.Remission.Time = last
	}
	return c
}

// CumulativeAt is the cumulative share of patients who reached the event by
// a day, from a Kaplan–Meier estimate S: Cumulative = 1 - S(day), with
// limits 1 - upper and 1 - lower of S (log-scale limits of S, as R's
// survfit). NRisk is the number still under observation without the event
// on that day. Past the longest follow-up the values are NaN (null in
// JSON), as summary.survfit leaves such times out.
type CumulativeAt struct {
	Time       int
	NRisk      int
	Cumulative float64
	Lower95    float64
	Upper95    float64
}

// MarshalJSON writes the point with NaN as null.
func (c CumulativeAt) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Time       int    `json:"time"`
		NRisk      int    `json:"n_risk"`
		Cumulative number `json:"cumulative"`
		Lower95    number `json:"lower95"`
		Upper95    number `json:"upper95"`
	}{c.Time, c.NRisk, number(c.Cumulative), number(c.Lower95), number(c.Upper95)})
}

// TimeToEventSummary is the Kaplan–Meier summary of a time to response or
// to remission: the JSON keys time_to_response and time_to_remission.
type TimeToEventSummary struct {
	// N is the number of patients in the estimate, Events those with the
	// event; AcuteWindowOpen counts those of N whose acute window was
	// still open (censored at their last score so far unless they had the
	// event).
	N               int
	Events          int
	AcuteWindowOpen int
	// MedianDays is the median time to the event with its 95% limits, as
	// R's print.survfit (NaN when not reached).
	MedianDays    float64
	MedianLower95 float64
	MedianUpper95 float64
	// ByDay holds the cumulative figures at CourseParams.Days.
	ByDay []CumulativeAt
	// ByProgram holds the same per program (of the overall summary only).
	ByProgram map[string]TimeToEventSummary
	// Note says why there is no estimate; "" when there is one.
	Note string
}

// MarshalJSON writes the summary with NaN as null.
func (s TimeToEventSummary) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		N               int                           `json:"n"`
		Events          int                           `json:"events"`
		AcuteWindowOpen int                           `json:"acute_window_open"`
		MedianDays      number                        `json:"median_days"`
		MedianLower95   number                        `json:"median_lower95"`
		MedianUpper95   number                        `json:"median_upper95"`
		ByDay           []CumulativeAt                `json:"by_day"`
		ByProgram       map[string]TimeToEventSummary `json:"by_program,omitempty"`
		Note            string                        `json:"note,omitempty"`
	}{s.N, s.Events, s.AcuteWindowOpen, number(s.MedianDays), number(s.MedianLower95),
		number(s.MedianUpper95), s.ByDay, s.ByProgram, s.Note})
}

// SummarizeTimeToResponse estimates the time to response over the courses
// with Reason "" (one per patient, of one instrument), overall and per
// Program, by Kaplan–Meier as R's survfit(Surv(time, event) ~ 1):
// the median with its 95% limits as print.survfit, and the cumulative
// response at cp.Days (see CumulativeAt).
func SummarizeTimeToResponse(cs []Course, cp CourseParams) (TimeToEventSummary, error) {
	return summarizeTimeToEvent(cs, cp, func(c Course) TimeToEvent { return c.Response }, true)
}

// SummarizeTimeToRemission is SummarizeTimeToResponse for the time to
// remission.
func SummarizeTimeToRemission(cs []Course, cp CourseParams) (TimeToEventSummary, error) {
	return summarizeTimeToEvent(cs, cp, func(c Course) TimeToEvent { return c.Remission }, true)
}

func summarizeTimeToEvent(cs []Course, cp CourseParams, pick func(Course) TimeToEvent, byProgram bool) (TimeToEventSummary, error) {
	nan := math.NaN()
	s := TimeToEventSummary{MedianDays: nan, MedianLower95: nan, MedianUpper95: nan, ByDay: []CumulativeAt{}}
	var times []float64
	var events []bool
	var programs []string
	for _, c := range cs {
		if c.Reason != "" {
			continue
		}
		e := pick(c)
		times = append(times, float64(e.Time))
		events = append(events, e.Event)
		if e.Event {
			s.Events++
		}
		if c.WindowOpen {
			s.AcuteWindowOpen++
		}
		if !slices.Contains(programs, c.Program) {
			programs = append(programs, c.Program)
		}
	}
	s.N = len(times)
	if s.N == 0 {
		for _, d := range cp.Days {
			s.ByDay = append(s.ByDay, CumulativeAt{Time: d, Cumulative: nan, Lower95: nan, Upper95: nan})
		}
		s.Note = "no eligible patient with an acute-window score"
		return s, nil
	}
	km, err := stats.KaplanMeier(times, events)
	if err != nil {
		return s, err
	}
	s.MedianDays, s.MedianLower95, s.MedianUpper95 = km.Median, km.MedianLower95, km.MedianUpper95
	at := make([]float64, len(cp.Days))
	for i, d := range cp.Days {
		at[i] = float64(d)
	}
	for i, pt := range km.At(at) {
		s.ByDay = append(s.ByDay, CumulativeAt{Time: cp.Days[i], NRisk: pt.NRisk,
			Cumulative: 1 - pt.Survival, Lower95: 1 - pt.Upper95, Upper95: 1 - pt.Lower95})
	}
	if byProgram {
		s.ByProgram = map[string]TimeToEventSummary{}
		slices.Sort(programs)
		for _, prog := range programs {
			var sub []Course
			for _, c := range cs {
				if c.Program == prog {
					sub = append(sub, c)
				}
			}
			ps, err := summarizeTimeToEvent(sub, cp, pick, false)
			if err != nil {
				return s, err
			}
			s.ByProgram[prog] = ps
		}
	}
	return s, nil
}

// DoseRate is the share of patients who responded by dose k: the JSON key
// response_by_dose.
type DoseRate struct {
	Dose int
	stats.Proportion
}

// MarshalJSON writes the rate with NaN as null.
func (d DoseRate) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Dose    int    `json:"dose"`
		N       int    `json:"n"`
		Events  int    `json:"events"`
		Rate    number `json:"rate"`
		Lower95 number `json:"lower95"`
		Upper95 number `json:"upper95"`
	}{d.Dose, d.N, d.Events, number(d.Rate), number(d.Lower95), number(d.Upper95)})
}

// SummarizeResponseByDose returns, for k = 1..cp.MaxDose, the share of
// eligible patients with a closed acute window who received dose k that
// responded by the score after dose k:
//
//	n(k)      = eligible, window closed, Doses >= k
//	events(k) = of those, 1 <= ResponseDose <= k
//
// with the Wilson 95% interval (as R's prop.test(events, n, correct =
// FALSE)). A patient without any acute-window score counts in n as not
// responded, as in the intention-to-treat rates. Open windows are left out:
// their dose count and scores are not final (item 6.4's rule for acute
// outcomes).
func SummarizeResponseByDose(cs []Course, cp CourseParams) ([]DoseRate, error) {
	out := make([]DoseRate, 0, cp.MaxDose)
	for k := 1; k <= cp.MaxDose; k++ {
		n, events := 0, 0
		for _, c := range cs {
			if !c.Eligible || c.WindowOpen || c.Doses < k {
				continue
			}
			n++
			if c.ResponseDose >= 1 && c.ResponseDose <= k {
				events++
			}
		}
		w, err := stats.Wilson(events, n)
		if err != nil {
			return nil, err
		}
		out = append(out, DoseRate{Dose: k, Proportion: w})
	}
	return out, nil
}
