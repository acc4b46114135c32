package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestResolveQuarter(t *testing.T) {
	for _, tt := range []struct {
		quarter string
		now     time.Time
		want    string
	}{
		// The last quarter that ended before the run: a run on 2026-11-27 reports 2026Q3,
		// one on 2026-10-01 too, one on 2026-01-15 reports 2025Q4.
		{"last-complete", time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC), "2026Q3"},
		{"last-complete", time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), "2026Q3"},
		{"last-complete", time.Date(2026, 9, 30, 23, 0, 0, 0, time.UTC), "2026Q2"},
		{"last-complete", time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), "2025Q4"},
		{"2025Q2", time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), "2025Q2"},
		{"", time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), ""},
	} {
		j := &Job{Quarter: tt.quarter}
		if got, err := j.ResolveQuarter(tt.now); err != nil || got != tt.want {
			t.Errorf("%q at %s: %q %v, want %q", tt.quarter, tt.now.Format(time.DateOnly), got, err, tt.want)
		}
	}
}

func TestLoadJobErrors(t *testing.T) {
	dir := t.TempDir()
	for body, want := range map[string]string{
		"warehouse = \"w.duckdb\"\n[[inputs]]\nfiles = \"*.csv\"\nbogus = 1\n": "unknown keys inputs.bogus",
		"[[inputs]]\nfiles = \"*.csv\"\n":                                      "warehouse is required",
		"warehouse = \"w.duckdb\"\n":                                           "no [[inputs]]",
		"warehouse = \"w.duckdb\"\n[[inputs]]\nfiles = \"*.csv\"\n[outputs]\nworkbooks = [{audience = \"board\", path = \"x.xlsx\"}]\n": "audience \"board\"",
	} {
		p := filepath.Join(dir, "job.toml")
		os.WriteFile(p, []byte(body), 0o644)
		if _, err := LoadJob(p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want %q", body, err, want)
		}
	}
}
