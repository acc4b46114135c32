package outcome

import (
	"errors"
	"testing"
)

// Days since 1970-01-01, counted by hand: 1970..2025 are 56 years with 14
// leap days (1972..2024), so 2026-01-01 = 56*365+14 = 20454.
const (
	d20240101 = 19723 // 20454 - 366 - 365
	d20240331 = 19813 // 19723 + 31 + 29 + 30
	d20251231 = 20453
	d20260101 = 20454
	d20260331 = 20543 // 20454 + 31 + 28 + 30
	d20260401 = 20544
	d20260701 = 20635 // 20544 + 30 + 31 + 30
	d20260930 = 20726 // 20635 + 31 + 31 + 29
	d20261001 = 20727
	d20261231 = 20818 // 20727 + 31 + 30 + 30
)

func TestQuarter(t *testing.T) {
	tests := []struct {
		name string
		day  int
		want string
	}{
		{"2026-01-01", d20260101, "2026Q1"},
		{"2026-03-31", d20260331, "2026Q1"},
		{"2026-04-01", d20260401, "2026Q2"},
		{"2026-07-01", d20260701, "2026Q3"},
		{"2026-09-30", d20260930, "2026Q3"},
		{"2026-10-01", d20261001, "2026Q4"},
		{"2026-12-31", d20261231, "2026Q4"},
		{"2025-12-31", d20251231, "2025Q4"},
		{"1970-01-01", 0, "1970Q1"},
		{"1969-12-31", -1, "1969Q4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Quarter(tt.day); got != tt.want {
				t.Errorf("Quarter(%d) = %q, want %q", tt.day, got, tt.want)
			}
		})
	}
}

func TestEpisodeQuarter(t *testing.T) {
	// index + 56 = 2026-03-31 falls in Q1; one day later in Q2.
	p := DefaultParams()
	if got := EpisodeQuarter(d20260331-56, p); got != "2026Q1" {
		t.Errorf("EpisodeQuarter(2026-03-31 - 56) = %q, want 2026Q1", got)
	}
	if got := EpisodeQuarter(d20260401-56, p); got != "2026Q2" {
		t.Errorf("EpisodeQuarter(2026-04-01 - 56) = %q, want 2026Q2", got)
	}
}

func TestQuarterBounds(t *testing.T) {
	tests := []struct {
		q           string
		first, last int
	}{
		{"2026Q1", d20260101, d20260331},
		{"2026Q3", d20260701, d20260930},
		{"2026q4", d20261001, d20261231},
		{"2024Q1", d20240101, d20240331}, // leap year: 31+29+31 = 91 days
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			first, last, err := QuarterBounds(tt.q)
			if err != nil || first != tt.first || last != tt.last {
				t.Errorf("QuarterBounds(%q) = (%d, %d, %v), want (%d, %d, nil)",
					tt.q, first, last, err, tt.first, tt.last)
			}
		})
	}
}

func TestQuarterBoundsErrors(t *testing.T) {
	for _, q := range []string{"", "2026Q5", "2026Q0", "26Q3", "2026-Q3", "2026 Q3", "Q32026", "2026Q3 ", "20x6Q3", "+026Q3", "2026Q"} {
		t.Run(q, func(t *testing.T) {
			_, _, err := QuarterBounds(q)
			if !errors.Is(err, ErrQuarter) {
				t.Errorf("QuarterBounds(%q) error = %v, want ErrQuarter", q, err)
			}
		})
	}
}

// Every day of 2023..2027 lies within the bounds of its own quarter, and
// those bounds name that quarter.
func TestQuarterRoundTrip(t *testing.T) {
	for day := d20240101 - 365; day <= d20261231+365; day++ {
		q := Quarter(day)
		first, last, err := QuarterBounds(q)
		if err != nil {
			t.Fatalf("QuarterBounds(Quarter(%d) = %q): %v", day, q, err)
		}
		if day < first || day > last || Quarter(first) != q || Quarter(last) != q {
			t.Fatalf("day %d in %s, bounds %d..%d", day, q, first, last)
		}
		if Quarter(first-1) == q || Quarter(last+1) == q {
			t.Fatalf("bounds %d..%d of %s are not the whole quarter", first, last, q)
		}
	}
}

func TestNormalizeQuarter(t *testing.T) {
	for in, want := range map[string]string{"2025q1": "2025Q1", "2025Q1": "2025Q1", " 2026q4 ": "2026Q4"} {
		if got, err := NormalizeQuarter(in); err != nil || got != want {
			t.Errorf("NormalizeQuarter(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"2025Q5", "25Q1", "2025-Q1", ""} {
		if _, err := NormalizeQuarter(bad); err == nil {
			t.Errorf("NormalizeQuarter(%q) accepted", bad)
		}
	}
}
