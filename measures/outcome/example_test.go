package outcome_test

import (
	"fmt"

	"github.com/kapstat/kapstat/measures/outcome"
)

func ExampleEpisode() {
	// PHQ-9 defaults: caseness >= 10, remission < 5, reliable change 6.
	phq9 := outcome.Thresholds{Cutoff: 10, Remission: 5, ReliableChange: 6}
	// First dosing session on day 100; baseline window 70..100, acute
	// window 101..156.
	scores := []outcome.Score{
		{Day: 60, Total: 22}, // too early to be a baseline
		{Day: 95, Total: 18}, // the baseline
		{Day: 114, Total: 11},
		{Day: 142, Total: 7}, // the endpoint
		{Day: 200, Total: 9}, // follow-up, after the acute window
	}
	r := outcome.Episode(100, scores, phq9, outcome.DefaultParams(), outcome.AllClosed)
	fmt.Printf("baseline %d on day %d, endpoint %d on day %d, change %d\n",
		r.Baseline, r.BaselineDay, r.Endpoint, r.EndpointDay, r.Change)
	fmt.Printf("eligible %v, response %v, remission %v, %s\n",
		r.Eligible, r.Response, r.Remission, r.ReliableChange)
	// Output:
	// baseline 18 on day 95, endpoint 7 on day 142, change -11
	// eligible true, response true, remission false, recovered
}
