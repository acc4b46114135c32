package outcome

import (
	"errors"
	"fmt"

	"github.com/kapstat/kapstat/measures/stats"
)

// ReasonFollowUpWindowOpen: a follow-up window that has not closed by the
// as-of day (index + To > asOf); the patient is in none of its figures yet.
const ReasonFollowUpWindowOpen = "window_open"

// Window is a named follow-up window of days after the index day,
// From <= day - index <= To.
type Window struct {
	Name string `json:"name"`
	From int    `json:"from"`
	To   int    `json:"to"`
}

// DefaultWindows returns the default follow-up windows: "4–8 months" =
// [120, 240] (the window of the HEDIS DRR-E follow-up, anchored here on the
// first dose rather than on the first elevated PHQ-9) and "12 months" =
// [305, 425] (365 ± 60 days).
func DefaultWindows() []Window {
	return []Window{{Name: "4–8 months", From: 120, To: 240}, {Name: "12 months", From: 305, To: 425}}
}

// Validate reports a window that cannot hold a follow-up score: no name,
// or not 1 <= From <= To (day 0 is the index day, a baseline day).
func (w Window) Validate() error {
	var errs []error
	if w.Name == "" {
		errs = append(errs, errors.New("window without a name"))
	}
	if w.From < 1 || w.From > w.To {
		errs = append(errs, fmt.Errorf("window %q = [%d, %d], want 1 <= from <= to", w.Name, w.From, w.To))
	}
	return errors.Join(errs...)
}

// WindowResult is one patient's follow-up in one window.
type WindowResult struct {
	// Reason is "" when the patient is in the window's figures (eligible,
	// and the window has closed); otherwise ReasonNoBaseline,
	// ReasonNotEligible or ReasonFollowUpWindowOpen.
	Reason string
	// Followed is true when the window holds a score; Day and Score are
	// then the last one.
	Followed bool
	Day      int
	Score    int
	// Response is Score <= ResponseFraction*baseline and Remission
	// Score < Remission, both false when not Followed.
	Response  bool
	Remission bool
}

// FollowUp derives a patient's follow-up in window w for a patient whose
// index day is index, as of day asOf (AllClosed when every window counts as
// closed), from the patient's scores of one instrument in any order. With
// baseline as in Episode:
//
//	included  = baseline >= Cutoff and index + To <= asOf
//	followed  = a score with From <= day - index <= To
//	last      = the last such score
//	response  = last <= ResponseFraction*baseline
//	remission = last < Remission
//
// A window still open on asOf is left out whole (ReasonFollowUpWindowOpen),
// as open acute windows are from the endpoint figures: a patient not yet
// followed there may still be.
func FollowUp(index int, scores []Score, th Thresholds, p Params, w Window, asOf int) WindowResult {
	s := sortedScores(scores)
	b, ok := baseline(index, s, p)
	if !ok {
		return WindowResult{Reason: ReasonNoBaseline}
	}
	if b.Total < th.Cutoff {
		return WindowResult{Reason: ReasonNotEligible}
	}
	if asOf != AllClosed && index+w.To > asOf {
		return WindowResult{Reason: ReasonFollowUpWindowOpen}
	}
	var r WindowResult
	for _, sc := range s {
		if d := sc.Day - index; w.From <= d && d <= w.To {
			r.Followed, r.Day, r.Score = true, sc.Day, sc.Total
		}
	}
	if r.Followed {
		r.Response = responded(r.Score, b.Total, p.ResponseFraction)
		r.Remission = r.Score < th.Remission
	}
	return r
}

// WindowSummary is one element of the JSON key windows.
type WindowSummary struct {
	Window
	// Eligible counts the eligible patients whose window has closed;
	// WindowOpen the eligible patients whose window had not.
	Eligible   int `json:"eligible"`
	WindowOpen int `json:"window_open"`
	// Followed is the share of Eligible with a score in the window;
	// Response and Remission the shares of Followed responding and
	// remitting on the last score in the window.
	Followed  stats.Proportion `json:"followed"`
	Response  stats.Proportion `json:"response"`
	Remission stats.Proportion `json:"remission"`
}

// SummarizeWindow summarises the patients' WindowResults in window w (one
// per patient):
//
//	followed  = #followed / #included
//	response  = #response / #followed
//	remission = #remission / #followed
//
// each with the Wilson 95% interval (as R's prop.test(x, n, correct =
// FALSE)); a rate over nobody is NaN (null).
func SummarizeWindow(w Window, rs []WindowResult) (WindowSummary, error) {
	s := WindowSummary{Window: w}
	followed, resp, rem := 0, 0, 0
	for _, r := range rs {
		switch r.Reason {
		case "":
		case ReasonFollowUpWindowOpen:
			s.WindowOpen++
			continue
		default:
			continue
		}
		s.Eligible++
		if !r.Followed {
			continue
		}
		followed++
		if r.Response {
			resp++
		}
		if r.Remission {
			rem++
		}
	}
	var err error
	if s.Followed, err = stats.Wilson(followed, s.Eligible); err != nil {
		return s, err
	}
	if s.Response, err = stats.Wilson(resp, followed); err != nil {
		return s, err
	}
	if s.Remission, err = stats.Wilson(rem, followed); err != nil {
		return s, err
	}
	return s, nil
}
