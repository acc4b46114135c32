package main

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kapstat/kapstat/reports"
)

var update = flag.Bool("update", false, "rewrite testdata/demo-report.golden")

// TestDemoWorkbookGolden dumps every cell of the demo workbook (300 patients, seed 1, quarter
// 2026Q3) as text and compares it with testdata/demo-report.golden; `go test -run
// DemoWorkbookGolden -update` rewrites it after a change has been checked. The temporary
// directory in file paths is replaced by DIR.
func TestDemoWorkbookGolden(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo")
	}
	dir := filepath.Join(t.TempDir(), "demo")
	if _, errs, code := kapstat(t, "demo", "--dir", dir, "--patients", "300", "--seed", "1"); code != 0 {
		t.Fatalf("demo: %s", errs)
	}
	dump, err := reports.Dump(filepath.Join(dir, "report.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	dump = normalizeDump(strings.ReplaceAll(dump, dir, "DIR"))
	golden := filepath.Join("testdata", "demo-report.golden")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, []byte(dump), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run DemoWorkbookGolden -update)", err)
	}
	got, wantLines := strings.Split(dump, "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(got) || i < len(wantLines); i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(wantLines) {
			w = wantLines[i]
		}
		if g != w {
			t.Fatalf("demo workbook differs from %s at line %d:\n got %s\nwant %s\n(run go test -run DemoWorkbookGolden -update after checking the change)", golden, i+1, g, w)
		}
	}
}

// normalizeDump rounds every numeric cell value to 9 significant digits, so that the golden
// file states what the workbook shows (one or two decimals) without depending on the last
// bits of floating point.
func normalizeDump(dump string) string {
	lines := strings.Split(dump, "\n")
	for i, l := range lines {
		cell, rest, ok := strings.Cut(l, " = ")
		if !ok {
			continue
		}
		val, format, _ := strings.Cut(rest, " | ")
		if f, err := strconv.ParseFloat(val, 64); err == nil {
			lines[i] = cell + " = " + strconv.FormatFloat(f, 'g', 9, 64) + " | " + format
		}
	}
	return strings.Join(lines, "\n")
}
