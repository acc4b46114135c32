package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kapstat/kapstat/synth"
)

// report after analyze writes the workbook from the stored analysis when it is the analysis
// report would make (same as-of day, configuration, build and files), and the workbook is the
// same, byte for byte, as one written by analysing (SOURCE_DATE_EPOCH fixes the creation time
// both record). Any other as-of day or configuration analyses again, and stderr says why.
func TestReportUsesStoredAnalysis(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1790000000")
	dir := t.TempDir()
	if d := os.Getenv("KEEPDIR"); d != "" {
		dir = d
	}
	end := time.Date(2026, 9, 30, 0, 0, 0, 0, time.UTC)
	if _, err := synth.Write(filepath.Join(dir, "c"), synth.Config{Patients: 700, Seed: 5, End: end, BadRows: true}); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "k.duckdb")
	args := []string{"ingest", "--db", db, "--as-of", "2026-09-30"}
	for _, f := range synth.Files {
		args = append(args, filepath.Join(dir, "c", f))
	}
	if _, errs, code := kapstat(t, args...); code != 0 {
		t.Fatalf("ingest: %s", errs)
	}
	report := func(name string, extra ...string) ([]byte, string) {
		t.Helper()
		out := filepath.Join(dir, name)
		_, errs, code := kapstat(t, append(append([]string{"report", "--db", db}, extra...), "--out", out)...)
		if code != 0 {
			t.Fatalf("report %v: %s", extra, errs)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return b, errs
	}
	fresh := map[string][]byte{}
	for _, aud := range []string{"internal", "external"} {
		b, errs := report("fresh-"+aud+".xlsx", "--quarter", "2026Q3", "--audience", aud)
		if errs != "report: analysed the warehouse (no analysis stored by kapstat analyze)\n" {
			t.Errorf("before analyze: stderr %q", errs)
		}
		fresh[aud] = b
	}
	if _, errs, code := kapstat(t, "analyze", "--db", db, "--as-of", "2026-09-30"); code != 0 {
		t.Fatalf("analyze: %s", errs)
	}
	for _, aud := range []string{"internal", "external"} {
		b, errs := report("stored-"+aud+".xlsx", "--quarter", "2026q3", "--audience", aud)
		if errs != "report: from the analysis kapstat analyze stored (as of 2026-09-30)\n" {
			t.Errorf("after analyze: stderr %q", errs)
		}
		if !bytes.Equal(b, fresh[aud]) || len(b) < 10000 {
			t.Errorf("%s workbook from the stored analysis differs from the analysed one (%d and %d bytes)", aud, len(b), len(fresh[aud]))
		}
	}
	if _, errs := report("q2.xlsx", "--quarter", "2026Q2"); !strings.Contains(errs, "analysed the warehouse (the stored analysis is as of 2026-09-30, this report as of 2026-06-30)") {
		t.Errorf("another quarter: stderr %q", errs)
	}
	cfg := writeFile(t, dir, "c.toml", "acute_days = 84\n")
	if _, errs := report("cfg.xlsx", "--quarter", "2026Q3", "--config", cfg); !strings.Contains(errs, "another configuration") {
		t.Errorf("another configuration: stderr %q", errs)
	}
}
