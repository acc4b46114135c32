package outcome

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrQuarter is wrapped by QuarterBounds' errors.
var ErrQuarter = errors.New("invalid quarter, want YYYYQn such as 2026Q3")

const secondsPerDay = 86400

// Quarter returns the calendar quarter, such as "2026Q3", of day counted in
// days since 1970-01-01 (UTC). It is meaningful only when the input carried
// dates; day offsets have no calendar.
func Quarter(day int) string {
	t := time.Unix(int64(day)*secondsPerDay, 0).UTC()
	return fmt.Sprintf("%04dQ%d", t.Year(), (int(t.Month())+2)/3)
}

// EpisodeQuarter is the quarter in which an episode's acute outcome became
// known: Quarter(index + AcuteDays).
func EpisodeQuarter(index int, p Params) string {
	return Quarter(index + p.AcuteDays)
}

// NormalizeQuarter returns a quarter in its canonical form, "2026Q3" for
// "2026q3" or " 2026Q3 ", so that quarters compare as strings and name the
// same outputs whichever way they were typed.
func NormalizeQuarter(q string) (string, error) {
	q = strings.ToUpper(strings.TrimSpace(q))
	if _, _, err := QuarterBounds(q); err != nil {
		return "", err
	}
	return q, nil
}

// QuarterBounds returns the first and last day, in days since 1970-01-01,
// of a quarter written as "2026Q3" (a lower-case q is accepted).
func QuarterBounds(q string) (firstDay, lastDay int, err error) {
	if len(q) != 6 || (q[4] != 'Q' && q[4] != 'q') || q[5] < '1' || q[5] > '4' {
		return 0, 0, fmt.Errorf("%q: %w", q, ErrQuarter)
	}
	year := 0
	for _, c := range q[:4] {
		if c < '0' || c > '9' {
			return 0, 0, fmt.Errorf("%q: %w", q, ErrQuarter)
		}
		year = year*10 + int(c-'0')
	}
	n := int(q[5] - '0')
	start := time.Date(year, time.Month(3*n-2), 1, 0, 0, 0, 0, time.UTC)
	next := start.AddDate(0, 3, 0)
	return dayOf(start), dayOf(next) - 1, nil
}

// dayOf returns the day since 1970-01-01 of a UTC midnight.
func dayOf(t time.Time) int {
	return int(t.Unix() / secondsPerDay)
}
