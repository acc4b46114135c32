package main

import (
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapstat/kapstat/internal/progress"
)

// The commands draw progress only on a terminal: with stderr a buffer they write nothing to
// it, and with a line forced onto it they draw their stages there while stdout stays the
// same, byte for byte, and the line is erased at the end.
func TestProgress(t *testing.T) {
	cohort := filepath.Join(t.TempDir(), "cohort")
	if _, errs, code := kapstat(t, "synth", "--out", cohort, "--patients", "300", "--clean"); code != 0 {
		t.Fatalf("synth: %s", errs)
	}
	files := []string{filepath.Join(cohort, "assessments.csv"), filepath.Join(cohort, "sessions.csv")}
	steps := func(dir string) [][]string {
		db := filepath.Join(dir, "k.duckdb")
		return [][]string{
			append([]string{"ingest", "--db", db, "--as-of", "2026-09-30"}, files...),
			{"analyze", "--db", db, "--as-of", "2026-09-30"},
			{"report", "--db", db, "--quarter", "2026Q3", "--out", filepath.Join(dir, "r.xlsx")},
			{"export", "--db", db, "--format", "csv", "--out", filepath.Join(dir, "export")},
		}
	}
	plain, forced := t.TempDir(), t.TempDir()
	var plainOut []string
	for _, args := range steps(plain) {
		out, errs, code := kapstat(t, args...)
		if code != 0 || errs != "" {
			t.Fatalf("%s: exit %d, stderr %q", args[0], code, errs)
		}
		plainOut = append(plainOut, strings.ReplaceAll(out, plain, "DIR"))
	}

	defer func(f func(io.Writer) *progress.Line) { newLine = f }(newLine)
	newLine = progress.Forced
	want := map[string][]string{
		"ingest":  {"ingest: read " + files[0], "ingest: read " + files[1], "ingest: load assessments (classify)", "ingest: commit"},
		"analyze": {"analyze: patients", "(0/300)", "analyze: PHQ-9 mixed model", "analyze: write tables"},
		"report":  {"analyze: patients", "workbook: sheets", "workbook: save"},
		"export":  {"export: rows"},
	}
	for i, args := range steps(forced) {
		out, errs, code := kapstat(t, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d, stderr %q", args[0], code, errs)
		}
		if got := strings.ReplaceAll(out, forced, "DIR"); got != plainOut[i] {
			t.Errorf("%s: stdout with progress %q, without %q", args[0], got, plainOut[i])
		}
		for _, w := range want[args[0]] {
			if !strings.Contains(errs, w) {
				t.Errorf("%s: progress lacks %q: %q", args[0], w, errs)
			}
		}
		if !strings.HasSuffix(errs, "\x1b[2K\r") || strings.Contains(errs, "\n") {
			t.Errorf("%s: progress not on one line erased at the end: %q", args[0], errs)
		}
	}
}
