package main

import (
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kapstat/kapstat/internal/progress"
)

// The commands draw progress only on a terminal: with stderr a buffer they draw nothing, and
// with a line forced onto it they draw their stages there, erased before each message and at
// the end, while stdout and the messages on stderr stay the same, byte for byte.
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
			{"report", "--db", db, "--quarter", "2026Q2", "--audience", "external", "--out", filepath.Join(dir, "q2.xlsx")},
			{"export", "--db", db, "--format", "csv", "--out", filepath.Join(dir, "export")},
		}
	}
	plain, forced := t.TempDir(), t.TempDir()
	var plainOut, plainErr []string
	for _, args := range steps(plain) {
		out, errs, code := kapstat(t, args...)
		if code != 0 || strings.Contains(errs, "\x1b") {
			t.Fatalf("%s: exit %d, stderr %q", args[0], code, errs)
		}
		plainOut = append(plainOut, strings.ReplaceAll(out, plain, "DIR"))
		plainErr = append(plainErr, strings.ReplaceAll(errs, plain, "DIR"))
	}
	drawing := regexp.MustCompile("\r[^\r\n\x1b]*\x1b\\[0K|\x1b\\[2K\r")

	defer func(f func(io.Writer) *progress.Line) { newLine = f }(newLine)
	newLine = progress.Forced
	want := [][]string{
		{"ingest: read " + files[0], "ingest: read " + files[1], "ingest: load assessments (classify)", "ingest: commit"},
		{"analyze: patients", "(0/300)", "analyze: PHQ-9 mixed model", "analyze: write tables"},
		{"report: reading the stored analysis", "workbook: sheets", "workbook: save"},
		{"analyze: patients", "workbook: suppress small counts", "workbook: sheets"},
		{"export: rows"},
	}
	for i, args := range steps(forced) {
		out, errs, code := kapstat(t, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d, stderr %q", args[0], code, errs)
		}
		if got := strings.ReplaceAll(out, forced, "DIR"); got != plainOut[i] {
			t.Errorf("%s: stdout with progress %q, without %q", args[0], got, plainOut[i])
		}
		for _, w := range want[i] {
			if !strings.Contains(errs, w) {
				t.Errorf("%s: progress lacks %q: %q", args[0], w, errs)
			}
		}
		// Each message starts on an erased line and the line is erased at the end.
		if !strings.HasSuffix(errs, "\x1b[2K\r") {
			t.Errorf("%s: progress not erased at the end: %q", args[0], errs)
		}
		for _, msg := range strings.SplitAfter(plainErr[i], "\n") {
			if msg != "" && !strings.Contains(strings.ReplaceAll(errs, forced, "DIR"), "\x1b[2K\r"+msg) {
				t.Errorf("%s: message %q not on a line of its own: %q", args[0], msg, errs)
			}
		}
		if got := strings.ReplaceAll(drawing.ReplaceAllString(errs, ""), forced, "DIR"); got != plainErr[i] {
			t.Errorf("%s: stderr without the drawing %q, without progress %q", args[0], got, plainErr[i])
		}
	}
}
