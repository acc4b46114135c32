package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSynthCommand: kapstat synth writes the three files of the canonical format, names them
// with their row counts, and the same seed writes the same bytes; the files validate, the
// planted bad rows of each file found (exit 1), and --clean files validate clean (exit 0).
func TestSynthCommand(t *testing.T) {
	dir := t.TempDir()
	var first [3][]byte
	for run := range 2 {
		out := filepath.Join(dir, []string{"a", "b"}[run])
		stdout, errs, code := kapstat(t, "synth", "--patients", "40", "--seed", "9", "--out", out)
		if code != 0 {
			t.Fatalf("synth: exit %d: %s", code, errs)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		for i, name := range []string{"assessments.csv", "sessions.csv", "patients.csv"} {
			if len(lines) != 3 || !strings.HasPrefix(lines[i], filepath.Join(out, name)+" (") {
				t.Fatalf("synth output %q", stdout)
			}
			b, err := os.ReadFile(filepath.Join(out, name))
			if err != nil {
				t.Fatal(err)
			}
			if run == 0 {
				first[i] = b
			} else if !bytes.Equal(b, first[i]) {
				t.Errorf("%s differs between two runs with seed 9", name)
			}
		}
	}
	files := []string{filepath.Join(dir, "a", "sessions.csv"), filepath.Join(dir, "a", "patients.csv")}
	if stdout, _, code := kapstat(t, append([]string{"validate", "--as-of", "2026-09-30"}, files...)...); code != 1 ||
		!strings.Contains(stdout, "unknown_sex") || !strings.Contains(stdout, "unknown_side_effect") {
		t.Errorf("validate of planted bad rows: exit %d\n%s", code, stdout)
	}
	clean := filepath.Join(dir, "clean")
	if _, errs, code := kapstat(t, "synth", "--patients", "40", "--seed", "9", "--clean", "--out", clean); code != 0 {
		t.Fatalf("synth --clean: %s", errs)
	}
	args := []string{"validate", "--as-of", "2026-09-30"}
	for _, name := range []string{"assessments.csv", "sessions.csv", "patients.csv"} {
		args = append(args, filepath.Join(clean, name))
	}
	if stdout, errs, code := kapstat(t, args...); code != 0 {
		t.Errorf("validate of a clean cohort: exit %d\n%s%s", code, stdout, errs)
	}
}
