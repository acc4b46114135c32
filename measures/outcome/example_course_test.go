package outcome_test

import (
	"fmt"

	"github.com/kapstat/kapstat/measures/outcome"
)

func ExampleCourseOf() {
	phq9 := outcome.Thresholds{Cutoff: 10, Remission: 5, ReliableChange: 6}
	p, cp := outcome.DefaultParams(), outcome.DefaultCourseParams()
	// Four sublingual doses from day 100 (acute window 101..156).
	var sessions []outcome.Session
	for _, d := range []int{100, 107, 114, 121} {
		sessions = append(sessions, outcome.Session{Day: d, Type: outcome.Dosing, Route: "sublingual",
			DoseMg: outcome.Some(300.0)})
	}
	scores := []outcome.Score{
		{Day: 96, Total: 20},  // baseline
		{Day: 107, Total: 15}, // on dose 2's day: after dose 1
		{Day: 114, Total: 9},  // after dose 2: 9 <= 0.5 × 20, a response at day 14
		{Day: 150, Total: 4},  // after dose 4: remission (< 5) at day 50
	}
	c := outcome.CourseOf(100, scores, sessions, phq9, p, outcome.AllClosed)
	fmt.Printf("response on day %d after dose %d, remission on day %d, %d doses\n",
		c.Response.Time, c.ResponseDose, c.Remission.Time, c.Doses)

	r, _ := outcome.RetentionOf(100, sessions, p, cp, outcome.AllClosed)
	fmt.Printf("%d doses, %.0f mg in total\n", r.Doses, r.TotalMg.Value)

	// Per cohort: the summaries take the per-patient results.
	byDose, _ := outcome.SummarizeResponseByDose([]outcome.Course{c}, cp)
	for _, d := range byDose[:3] {
		fmt.Printf("dose %d: %d of %d responded\n", d.Dose, d.Events, d.N)
	}
	// Output:
	// response on day 14 after dose 2, remission on day 50, 4 doses
	// 4 doses, 1200 mg in total
	// dose 1: 0 of 1 responded
	// dose 2: 1 of 1 responded
	// dose 3: 1 of 1 responded
}
