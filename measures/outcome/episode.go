package outcome

import (
	"cmp"
	"math"
	"slices"
)

// Score is one accepted administration of one instrument.
type Score struct {
	Day   int
	Total int
}

// Reliable change categories of Jacobson and Truax (1991).
const (
	Recovered    = "recovered"
	Improved     = "improved"
	Unchanged    = "unchanged"
	Deteriorated = "deteriorated"
)

// EpisodeResult is the outcome of one instrument over one patient's episode.
type EpisodeResult struct {
	// Reason is "" for a completer, ReasonNoBaseline when the patient is
	// excluded from the instrument, ReasonAcuteWindowOpen when the acute
	// window has not closed by the as-of day (no acute outcome yet: the
	// episode is in no completer, intention-to-treat, change or
	// reliable-change figure), and ReasonNoEndpoint for attrition: the
	// window closed without an acute-window score, and the patient still
	// counts in the intention-to-treat rates.
	Reason string

	HasBaseline bool
	BaselineDay int
	Baseline    int

	HasEndpoint bool
	EndpointDay int
	Endpoint    int

	// Change is Endpoint - Baseline; negative is improvement. Zero without
	// an endpoint.
	Change int

	// Eligible is Baseline >= Cutoff; set whenever HasBaseline, also while
	// the window is open (the intention-to-treat denominator leaves such
	// episodes out by their Reason).
	Eligible bool
	// Response and Remission are false without an endpoint, which is how
	// intention-to-treat rates count attrition.
	Response  bool
	Remission bool

	// ReliableChange is one of Recovered, Improved, Unchanged, Deteriorated
	// when the patient has both a baseline and an endpoint, "" otherwise.
	ReliableChange string
}

// AllClosed is the as-of day of an analysis in which every acute window
// counts as closed: data with day offsets and no as-of date (offsets have
// no calendar).
const AllClosed = math.MaxInt

// WindowOpen reports whether the acute window of an episode with this
// index day is still open on day asOf: index+AcuteDays > asOf.
func WindowOpen(index, asOf int, p Params) bool {
	return asOf != AllClosed && index+p.AcuteDays > asOf
}

// Episode derives the acute outcome of one instrument for a patient whose
// index day is index, as of day asOf (AllClosed when every window counts
// as closed). The scores are that patient's scores of that instrument, in
// any order.
//
//	baseline  = the latest score with index-BaselineDays <= day <= index
//	open      = index+AcuteDays > asOf: no acute outcome yet
//	endpoint  = the latest score with index < day <= index+AcuteDays
//	change    = endpoint - baseline
//	eligible  = baseline >= Cutoff
//	response  = eligible && endpoint <= ResponseFraction*baseline
//	remission = eligible && endpoint < Remission
//
// A score on the index day is a baseline, never in the acute window. Without
// a baseline the result only carries Reason = ReasonNoBaseline. An open
// window keeps the baseline and eligibility but has no endpoint, even when
// it already holds scores: an interim score is not the end of treatment.
// Two scores on
// the same day cannot survive ingest (they are duplicates or conflicts); if
// they occur anyway, they are ordered by total, so the higher total is the
// later one.
func Episode(index int, scores []Score, th Thresholds, p Params, asOf int) EpisodeResult {
	s := sortedScores(scores)
	b, ok := baseline(index, s, p)
	if !ok {
		return EpisodeResult{Reason: ReasonNoBaseline}
	}
	r := EpisodeResult{
		HasBaseline: true,
		BaselineDay: b.Day,
		Baseline:    b.Total,
		Eligible:    b.Total >= th.Cutoff,
	}
	if WindowOpen(index, asOf, p) {
		r.Reason = ReasonAcuteWindowOpen
		return r
	}
	e, ok := endpoint(index, s, p)
	if !ok {
		r.Reason = ReasonNoEndpoint
		return r
	}
	r.HasEndpoint = true
	r.EndpointDay = e.Day
	r.Endpoint = e.Total
	r.Change = e.Total - b.Total
	r.Response = r.Eligible && responded(e.Total, b.Total, p.ResponseFraction)
	r.Remission = r.Eligible && e.Total < th.Remission
	r.ReliableChange = ReliableChange(b.Total, e.Total, th)
	return r
}

// ReliableChange classifies the change from baseline to endpoint:
//
//	change = endpoint - baseline
//	Deteriorated  change >= ReliableChange
//	Recovered     change <= -ReliableChange, baseline >= Cutoff, endpoint < Cutoff
//	Improved      change <= -ReliableChange otherwise
//	Unchanged     otherwise
func ReliableChange(baseline, endpoint int, th Thresholds) string {
	change := endpoint - baseline
	switch {
	case change >= th.ReliableChange:
		return Deteriorated
	case change <= -th.ReliableChange && baseline >= th.Cutoff && endpoint < th.Cutoff:
		return Recovered
	case change <= -th.ReliableChange:
		return Improved
	default:
		return Unchanged
	}
}

// responseSlack absorbs the rounding error of fraction*baseline: scores are
// integers below a few hundred, so the product is off by far less than this,
// and no sensible fraction puts the product within it below an integer.
// Without it 0.57*100 = 56.99999999999999 would reject an endpoint of 57.
const responseSlack = 1e-9

// responded reports endpoint <= fraction*baseline; for fraction 0.5 it is
// exactly 2*endpoint <= baseline.
func responded(endpoint, baseline int, fraction float64) bool {
	if fraction == 0.5 {
		return 2*endpoint <= baseline
	}
	return float64(endpoint) <= fraction*float64(baseline)+responseSlack
}

// sortedScores returns a copy of scores ordered by day, then total.
func sortedScores(scores []Score) []Score {
	s := slices.Clone(scores)
	slices.SortFunc(s, func(a, b Score) int {
		return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.Total, b.Total))
	})
	return s
}

// baseline returns the latest score of sorted s in the baseline window.
func baseline(index int, s []Score, p Params) (Score, bool) {
	for i := len(s) - 1; i >= 0; i-- {
		if d := s[i].Day; index-p.BaselineDays <= d && d <= index {
			return s[i], true
		}
	}
	return Score{}, false
}

// endpoint returns the latest score of sorted s in the acute window.
func endpoint(index int, s []Score, p Params) (Score, bool) {
	for i := len(s) - 1; i >= 0; i-- {
		if inAcute(index, s[i].Day, p) {
			return s[i], true
		}
	}
	return Score{}, false
}

// inAcute reports index < day <= index+AcuteDays.
func inAcute(index, day int, p Params) bool {
	return index < day && day <= index+p.AcuteDays
}
