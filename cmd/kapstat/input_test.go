package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGuardPanicExitsOne: a panic inside a command is an internal error, exit 1 with its
// stack; exit 2 stays the usage error's.
func TestGuardPanicExitsOne(t *testing.T) {
	err := guard(func() error { panic("boom") })
	if code := exitCode(err); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if err == nil || !strings.Contains(err.Error(), "internal error: boom") || !strings.Contains(err.Error(), "goroutine") {
		t.Errorf("error %v, want the panic and its stack", err)
	}
	if err := guard(func() error { return nil }); err != nil {
		t.Errorf("no panic: %v", err)
	}
}

// TestValidateMillionFields: `kapstat validate` on a row of a million fields lists the row as
// malformed and exits 1 (a row would be quarantined), never 2, the usage error's status
// (before, the Go runtime ran out of memory and exited 2).
func TestValidateMillionFields(t *testing.T) {
	header := "patient_id,clinic_id,instrument,date,total"
	data := header + "\np1,c1,PHQ9,2026-01-05,13" + strings.Repeat(",7", 1_000_000-5) + "\np2,c1,GAD7,2026-01-05,21\n"
	path := filepath.Join(t.TempDir(), "wide.csv")
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, code := kapstat(t, "validate", "--as-of", "2026-09-30", path)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, errs)
	}
	if want := path + ":2: malformed_row (1000000 fields, header has 5)"; !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
}
