package outcome

// RelapseResult is one patient's time to relapse on one instrument, ready
// for Kaplan–Meier and Cox models when AtRisk.
type RelapseResult struct {
	// AtRisk is true when the patient responded and has follow-up after
	// the response day; only then are Time and Event meaningful.
	AtRisk bool
	// Reason says why the patient is not at risk: ReasonNoBaseline,
	// ReasonNotEligible, ReasonNoResponse, ReasonAcuteWindowOpen (no
	// response yet and the acute window still open) or ReasonNoFollowUp.
	Reason string
	// ResponseDay is the day the clock starts, set whenever the patient
	// responded (also with ReasonNoFollowUp).
	ResponseDay int
	// Time is in days from ResponseDay to the relapse, or to the last
	// follow-up score when censored.
	Time int
	// Event is true for a relapse, false for a censored time.
	Event bool
}

// Relapse derives the time to relapse of one instrument for a patient whose
// index day is index, as of day asOf (AllClosed when every window counts as
// closed), from that patient's scores of that instrument in any order. Only
// eligible patients (baseline >= Cutoff) can be at risk.
//
//	r         = day of the first acute-window score <= ResponseFraction*baseline
//	follow-up = every score with day > r, without an upper bound
//	event     = the first follow-up score >= Cutoff whose next follow-up
//	            score, if there is one, is also >= Cutoff
//	time      = event day - r, or last follow-up day - r when censored
//
// A single score at or above the cutoff that falls back below it is not a
// relapse; one on the last follow-up score is, since nothing contradicts it.
// The rule mirrors the two-consecutive-visit relapse rules of the esketamine
// maintenance trials. This population is the patients who reached the
// response threshold at any acute-window visit, not the endpoint responders
// of Episode: a patient may respond at week 3 and be above it at week 8. A
// patient whose window is still open and who has not reached the threshold
// yet is ReasonAcuteWindowOpen, not ReasonNoResponse; one who has reached it
// is followed from that day like any other.
func Relapse(index int, scores []Score, th Thresholds, p Params, asOf int) RelapseResult {
	s := sortedScores(scores)
	b, ok := baseline(index, s, p)
	if !ok {
		return RelapseResult{Reason: ReasonNoBaseline}
	}
	if b.Total < th.Cutoff {
		return RelapseResult{Reason: ReasonNotEligible}
	}
	first := -1
	for i, sc := range s {
		if inAcute(index, sc.Day, p) && responded(sc.Total, b.Total, p.ResponseFraction) {
			first = i
			break
		}
	}
	if first < 0 {
		if WindowOpen(index, asOf, p) {
			return RelapseResult{Reason: ReasonAcuteWindowOpen}
		}
		return RelapseResult{Reason: ReasonNoResponse}
	}
	r := s[first].Day
	var follow []Score
	for _, sc := range s[first+1:] {
		if sc.Day > r { // skips a same-day score, which cannot survive ingest
			follow = append(follow, sc)
		}
	}
	if len(follow) == 0 {
		return RelapseResult{Reason: ReasonNoFollowUp, ResponseDay: r}
	}
	for i, sc := range follow {
		if sc.Total < th.Cutoff {
			continue
		}
		if i+1 == len(follow) || follow[i+1].Total >= th.Cutoff {
			return RelapseResult{AtRisk: true, ResponseDay: r, Time: sc.Day - r, Event: true}
		}
	}
	last := follow[len(follow)-1].Day
	return RelapseResult{AtRisk: true, ResponseDay: r, Time: last - r}
}
