package outcome

import (
	"cmp"
	"slices"

	"github.com/kapstat/kapstat/measures/stats"
)

// ReasonItem9NotRecorded: the baseline or the endpoint PHQ-9 did not record
// item 9 (a total-only administration, or item 9 left blank and prorated).
// A missing item 9 is unknown, never "no thoughts of death or self-harm".
const ReasonItem9NotRecorded = "item9_not_recorded"

// PHQ9Score is a PHQ-9 administration with its item 9 rating (thoughts of
// death or self-harm, 0–3). Item9 is not Valid when the administration did
// not record it; the zero value is therefore "not recorded", never 0.
type PHQ9Score struct {
	Day   int
	Total int
	Item9 Optional[int]
}

// Ideation is one patient's PHQ-9 item 9 at baseline and endpoint.
type Ideation struct {
	// Reason is "" when both the baseline and the endpoint recorded item
	// 9; otherwise ReasonNoBaseline, ReasonAcuteWindowOpen,
	// ReasonNoEndpoint or ReasonItem9NotRecorded.
	Reason string
	// Baseline and Endpoint are the item 9 ratings when Reason is "".
	Baseline int
	Endpoint int
}

// SuicidalIdeation derives PHQ-9 item 9 at baseline and endpoint for a
// patient whose index day is index, as of day asOf (AllClosed when every
// window counts as closed), from the patient's PHQ-9 scores in any order.
// The baseline and endpoint administrations are Episode's:
//
//	baseline = the latest score with index-BaselineDays <= day <= index
//	endpoint = the latest score with index < day <= index+AcuteDays, once
//	           the acute window has closed (index+AcuteDays <= asOf)
//
// and the patient is included when both recorded item 9. An earlier or
// later administration that did record it does not stand in for one that
// did not: the comparison is of the same two administrations as the
// endpoint figures. Eligibility (baseline >= Cutoff) is not required.
func SuicidalIdeation(index int, scores []PHQ9Score, p Params, asOf int) Ideation {
	s := slices.Clone(scores)
	// Day, then total as sortedScores orders them, so that the baseline and
	// endpoint are Episode's; item 9 last, only to make the order total.
	slices.SortFunc(s, func(a, b PHQ9Score) int {
		return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.Total, b.Total),
			compareOptional(a.Item9, b.Item9))
	})
	var base, end *PHQ9Score
	for i := len(s) - 1; i >= 0; i-- {
		if d := s[i].Day; index-p.BaselineDays <= d && d <= index {
			base = &s[i]
			break
		}
	}
	if base == nil {
		return Ideation{Reason: ReasonNoBaseline}
	}
	if WindowOpen(index, asOf, p) {
		return Ideation{Reason: ReasonAcuteWindowOpen}
	}
	for i := len(s) - 1; i >= 0; i-- {
		if inAcute(index, s[i].Day, p) {
			end = &s[i]
			break
		}
	}
	if end == nil {
		return Ideation{Reason: ReasonNoEndpoint}
	}
	if !base.Item9.Valid || !end.Item9.Valid {
		return Ideation{Reason: ReasonItem9NotRecorded}
	}
	return Ideation{Baseline: base.Item9.Value, Endpoint: end.Item9.Value}
}

// IdeationSummary is the JSON key suicidal_ideation.
type IdeationSummary struct {
	// N counts the patients with item 9 at baseline and endpoint;
	// NotRecorded those with both administrations of whom one lacked it.
	N           int `json:"n"`
	NotRecorded int `json:"item9_not_recorded"`
	// BaselinePositive counts item 9 >= 1 at baseline; Resolved is the
	// share of them with item 9 = 0 at the endpoint.
	BaselinePositive int              `json:"baseline_positive"`
	Resolved         stats.Proportion `json:"resolved"`
	// BaselineNegative counts item 9 = 0 at baseline; Emergent is the
	// share of them with item 9 >= 1 at the endpoint.
	BaselineNegative int              `json:"baseline_negative"`
	Emergent         stats.Proportion `json:"emergent"`
	// McNemar tests the paired 2 × 2 table of positive at baseline against
	// positive at endpoint (b = resolved, c = emergent).
	McNemar stats.McNemarTest `json:"mcnemar"`
}

// SummarizeIdeation summarises the patients' Ideation (one per patient):
//
//	resolved = #{baseline >= 1, endpoint = 0} / #{baseline >= 1}   (Wilson 95%)
//	emergent = #{baseline = 0, endpoint >= 1} / #{baseline = 0}    (Wilson 95%)
//
// and McNemar's test with continuity correction of the table
//
//	                  endpoint >= 1   endpoint = 0
//	baseline >= 1          a          b (resolved)
//	baseline = 0       c (emergent)       d
//
// as R's mcnemar.test(matrix(c(a, c, b, d), 2)); with b + c = 0 its
// statistic and p are NaN (null), as R's. Wilson limits are R's
// prop.test(x, n, correct = FALSE)$conf.int.
func SummarizeIdeation(rs []Ideation) (IdeationSummary, error) {
	var s IdeationSummary
	var a, b, c, d int
	for _, r := range rs {
		switch r.Reason {
		case "":
		case ReasonItem9NotRecorded:
			s.NotRecorded++
			continue
		default:
			continue
		}
		s.N++
		switch {
		case r.Baseline >= 1 && r.Endpoint >= 1:
			a++
		case r.Baseline >= 1:
			b++
		case r.Endpoint >= 1:
			c++
		default:
			d++
		}
	}
	s.BaselinePositive, s.BaselineNegative = a+b, c+d
	var err error
	if s.Resolved, err = stats.Wilson(b, a+b); err != nil {
		return s, err
	}
	if s.Emergent, err = stats.Wilson(c, c+d); err != nil {
		return s, err
	}
	if s.McNemar, err = stats.McNemar(a, b, c, d); err != nil {
		return s, err
	}
	return s, nil
}
