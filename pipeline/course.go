package pipeline

import (
	"fmt"

	"github.com/kapstat/kapstat/measures/outcome"
)

// The treatment course (SPEC 6.16, 6.17, 6.18): analyze hands every treated patient to a
// courseData, which keeps the per-patient results of the pure definitions in
// measures/outcome, and summarize turns them into the analysis's figures.

// CourseResult is the treatment course of one instrument (SPEC 7): time to response and
// remission, response by dose number, the follow-up windows, and for PHQ-9 suicidal ideation.
type CourseResult struct {
	TimeToResponse   *outcome.TimeToEventSummary `json:"time_to_response"`
	TimeToRemission  *outcome.TimeToEventSummary `json:"time_to_remission"`
	ResponseByDose   []outcome.DoseRate          `json:"response_by_dose"`
	Windows          []outcome.WindowSummary     `json:"windows"`
	SuicidalIdeation *outcome.IdeationSummary    `json:"suicidal_ideation,omitempty"`
	Note             string                      `json:"course_note,omitempty"`
}

// courseData accumulates the per-patient course results of one analysis.
type courseData struct {
	cp      outcome.CourseParams
	sp      outcome.SafetyParams
	windows []outcome.Window
	// per instrument
	courses  map[string][]outcome.Course
	followUp map[string][][]outcome.WindowResult // [instrument][window][patient]
	ideation []outcome.Ideation                  // PHQ-9
	// per treated patient, with the patient's index into the analysis's ids
	retention        []outcome.Retention
	retentionPatient []int32
	safety           [][]outcome.SafetySession
	safetyPatient    []int32
	phq              []outcome.PHQ9Score // reused buffer
}

func newCourseData(cfg Config) *courseData {
	return &courseData{cp: cfg.CourseParams(), sp: cfg.SafetyParams(), windows: cfg.Windows,
		courses: map[string][]outcome.Course{}, followUp: map[string][][]outcome.WindowResult{}}
}

// addPatient records what one treated patient contributes that does not depend on an
// instrument: dose exposure and retention, and the safety of each dosing session.
func (c *courseData) addPatient(pi int32, index, asOf int, sessions []outcome.Session, p outcome.Params) {
	if r, ok := outcome.RetentionOf(index, sessions, p, c.cp, asOf); ok {
		c.retention = append(c.retention, r)
		c.retentionPatient = append(c.retentionPatient, pi)
	}
	if ss := outcome.SessionSafetyOf(index, sessions, p, c.sp); len(ss) > 0 {
		c.safety = append(c.safety, ss)
		c.safetyPatient = append(c.safetyPatient, pi)
	}
}

// addInstrument records one patient's course of one instrument. rows are the patient's rows of
// that instrument (for PHQ-9's item 9), scores their totals.
func (c *courseData) addInstrument(code string, index, asOf int, scores []outcome.Score, rows []scoreRow,
	sessions []outcome.Session, th outcome.Thresholds, p outcome.Params) {
	c.courses[code] = append(c.courses[code], outcome.CourseOf(index, scores, sessions, th, p, asOf))
	if c.followUp[code] == nil {
		c.followUp[code] = make([][]outcome.WindowResult, len(c.windows))
	}
	for i, w := range c.windows {
		c.followUp[code][i] = append(c.followUp[code][i], outcome.FollowUp(index, scores, th, p, w, asOf))
	}
	if code == "PHQ9" {
		c.phq = c.phq[:0]
		for _, r := range rows {
			s := outcome.PHQ9Score{Day: int(r.day), Total: r.total}
			if r.item9 >= 0 {
				s.Item9 = outcome.Some(r.item9)
			}
			c.phq = append(c.phq, s)
		}
		c.ideation = append(c.ideation, outcome.SuicidalIdeation(index, c.phq, p, asOf))
	}
}

// summarize returns the course figures of one instrument.
func (c *courseData) summarize(code string) *CourseResult {
	cr := &CourseResult{ResponseByDose: []outcome.DoseRate{}, Windows: []outcome.WindowSummary{}}
	var errs []string
	note := func(what string, err error) {
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", what, err))
		}
	}
	cs := c.courses[code]
	if tr, err := outcome.SummarizeTimeToResponse(cs, c.cp); err == nil {
		cr.TimeToResponse = &tr
	} else {
		note("time to response", err)
	}
	if tr, err := outcome.SummarizeTimeToRemission(cs, c.cp); err == nil {
		cr.TimeToRemission = &tr
	} else {
		note("time to remission", err)
	}
	if rd, err := outcome.SummarizeResponseByDose(cs, c.cp); err == nil {
		cr.ResponseByDose = rd
	} else {
		note("response by dose", err)
	}
	for i, w := range c.windows {
		var rs []outcome.WindowResult
		if c.followUp[code] != nil {
			rs = c.followUp[code][i]
		}
		ws, err := outcome.SummarizeWindow(w, rs)
		note("window "+w.Name, err)
		if err == nil {
			cr.Windows = append(cr.Windows, ws)
		}
	}
	if code == "PHQ9" {
		if is, err := outcome.SummarizeIdeation(c.ideation); err == nil {
			cr.SuicidalIdeation = &is
		} else {
			note("suicidal ideation", err)
		}
	}
	if len(errs) > 0 {
		cr.Note = fmt.Sprint(errs)
	}
	return cr
}
