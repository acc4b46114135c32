package outcome

// Week returns the week of an assessment on day for the weekly mean scores:
//
//	week = 0                      if day == baselineDay
//	week = ceil((day - index)/7)  if index < day <= index+AcuteDays
//
// Only the baseline score is week 0, so the acute weeks run from 1 to
// ceil(AcuteDays/7). Any other day has no week (ok is false).
func Week(index, baselineDay, day int, p Params) (week int, ok bool) {
	if day == baselineDay {
		return 0, true
	}
	if !inAcute(index, day, p) {
		return 0, false
	}
	return (day - index + 6) / 7, true // ceil for a positive numerator
}

// WeeksSinceBaseline is the time of the trajectory model in weeks:
//
//	t = (day - baselineDay) / 7
func WeeksSinceBaseline(baselineDay, day int) float64 {
	return float64(day-baselineDay) / 7
}

// Point is one observation of a trajectory.
type Point struct {
	Day   int
	Total int
	Week  int     // as Week
	T     float64 // as WeeksSinceBaseline
}

// Trajectory returns the observations of one instrument that the trajectory
// models and the weekly means use: the baseline score, then the acute-window
// scores, in day order. It is nil when the patient has no baseline.
func Trajectory(index int, scores []Score, p Params) []Point {
	s := sortedScores(scores)
	b, ok := baseline(index, s, p)
	if !ok {
		return nil
	}
	pts := []Point{{Day: b.Day, Total: b.Total, Week: 0, T: 0}}
	for _, sc := range s {
		if !inAcute(index, sc.Day, p) {
			continue
		}
		w, _ := Week(index, b.Day, sc.Day, p)
		pts = append(pts, Point{Day: sc.Day, Total: sc.Total, Week: w, T: WeeksSinceBaseline(b.Day, sc.Day)})
	}
	return pts
}
