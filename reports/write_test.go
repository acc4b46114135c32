package reports

import (
	"archive/zip"
	"context"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/kapstat/kapstat/pipeline"
	"github.com/kapstat/kapstat/synth"
)

var (
	outDir   = flag.String("out", "", "also write the sample workbooks (internal.xlsx, external.xlsx) into this directory")
	patients = flag.Int("patients", 400, "synthetic patients of the sample analysis")
)

var fixedNow = time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)

var sample struct {
	once sync.Once
	a    *pipeline.Analysis
	err  error
}

// sampleAnalysis runs synth → ingest → analyze once for the package's tests.
func sampleAnalysis(t *testing.T) *pipeline.Analysis {
	t.Helper()
	sample.once.Do(func() {
		dir, err := os.MkdirTemp("", "reports-test-")
		if err != nil {
			sample.err = err
			return
		}
		defer os.RemoveAll(dir)
		ctx := context.Background()
		end := time.Date(2026, 9, 30, 0, 0, 0, 0, time.UTC)
		cohort := filepath.Join(dir, "cohort")
		if _, err := synth.Write(cohort, synth.Config{Patients: *patients, Seed: 1, End: end, BadRows: true}); err != nil {
			sample.err = err
			return
		}
		w, err := pipeline.OpenWarehouse(ctx, filepath.Join(dir, "kapstat.duckdb"), "", false)
		if err != nil {
			sample.err = err
			return
		}
		defer w.Close()
		cfg := pipeline.DefaultConfig()
		files := []string{filepath.Join(cohort, "assessments.csv"), filepath.Join(cohort, "sessions.csv"), filepath.Join(cohort, "patients.csv")}
		if _, err := w.Ingest(ctx, files, pipeline.IngestOptions{Config: cfg, AsOf: end, Now: func() time.Time { return fixedNow }}); err != nil {
			sample.err = err
			return
		}
		sample.a, sample.err = w.Analyze(ctx, pipeline.AnalyzeOptions{Config: cfg, Now: func() time.Time { return fixedNow }})
	})
	if sample.err != nil {
		t.Fatal(sample.err)
	}
	return sample.a
}

func writeSample(t *testing.T, a *pipeline.Analysis, audience string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), audience+".xlsx")
	opt := Options{Audience: audience, Quarter: "2026Q3", SuppressBelow: 11, Now: fixedNow}
	if err := Write(path, a, opt); err != nil {
		t.Fatal(err)
	}
	if *outDir != "" {
		if err := Write(filepath.Join(*outDir, audience+".xlsx"), a, opt); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func open(t *testing.T, path string) *excelize.File {
	t.Helper()
	f, err := excelize.OpenFile(path, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestSheets(t *testing.T) {
	a := sampleAnalysis(t)
	for _, tc := range []struct {
		audience string
		want     []string
	}{
		{"internal", []string{"Summary", "Outcomes by group", "Quarterly trend", "Trajectories", "Relapse", "Treatment course", "Reliable change", "Patients", "Comparisons", "Session safety", "Attrition", "Data quality", "Safety", "Methods"}},
		{"external", []string{"Summary", "Outcomes by group", "Quarterly trend", "Trajectories", "Relapse", "Treatment course", "Reliable change", "Patients", "Comparisons", "Session safety", "Attrition", "Data quality", "Methods"}},
	} {
		f := open(t, writeSample(t, a, tc.audience))
		if got := f.GetSheetList(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s sheets = %q, want %q", tc.audience, got, tc.want)
		}
	}
}

// findRow returns the row (1-based) of the first cell in column A equal to label at or after from.
func findRow(t *testing.T, f *excelize.File, sheet, label string, from int) int {
	t.Helper()
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	for i := from - 1; i < len(rows); i++ {
		if len(rows[i]) > 0 && rows[i][0] == label {
			return i + 1
		}
	}
	t.Fatalf("%s: no row %q after row %d", sheet, label, from)
	return 0
}

func number(t *testing.T, f *excelize.File, sheet, ref string) float64 {
	t.Helper()
	v, err := f.GetCellValue(sheet, ref)
	if err != nil {
		t.Fatal(err)
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatalf("%s!%s = %q, not a number", sheet, ref, v)
	}
	return x
}

func TestSummaryMatchesAnalysis(t *testing.T) {
	a := sampleAnalysis(t)
	f := open(t, writeSample(t, a, "internal"))
	m := a.Measures["PHQ9"]
	top := findRow(t, f, "Summary", heading(m), 1)
	checks := []struct {
		label string
		col   string
		want  float64
	}{
		{"Patients with a baseline score", "B", float64(m.WithBaseline)},
		{"Baseline mean score", "B", m.Baseline.Mean},
		{"Baseline mean score", "C", m.Baseline.SD},
		{"End-of-treatment mean score", "B", m.Endpoint.Mean},
		{"Mean change (end minus baseline)", "B", m.Change.Mean},
		{"Mean change (end minus baseline)", "D", m.Change.Lower95},
		{"Mean change (end minus baseline)", "E", m.Change.Upper95},
		{"Effect size of the change (Cohen's d_z)", "B", m.Change.CohensDz},
		{"Response rate, completers", "B", m.Response.Rate},
		{"Response rate, completers", "D", m.Response.Lower95},
		{"Response rate, completers", "F", float64(m.Response.N)},
		{"Response rate, completers", "G", float64(m.Response.Events)},
		{"Response rate, intention to treat", "B", m.ResponseITT.Rate},
		{"Remission rate, completers", "B", m.Remission.Rate},
		{"Remission rate, intention to treat", "E", m.RemissionITT.Upper95},
		{"Relapse-free 8 weeks (56 days) after reaching half of baseline", "B", m.Relapse.At8Weeks.Survival},
		// The row's n and outcome belong to the 8-week figure: still followed on day 56 and
		// relapses by day 56, not everyone followed and every relapse.
		{"Relapse-free 8 weeks (56 days) after reaching half of baseline", "F", float64(m.Relapse.At8Weeks.NRisk)},
		{"Relapse-free 8 weeks (56 days) after reaching half of baseline", "G", float64(m.Relapse.At8Weeks.Events)},
		{"Still in the acute window (no end-of-treatment score yet)", "B", float64(m.AcuteWindowOpen)},
	}
	for _, c := range checks {
		r := findRow(t, f, "Summary", c.label, top)
		got := number(t, f, "Summary", c.col+strconv.Itoa(r))
		if math.Abs(got-c.want) > 1e-12*math.Max(1, math.Abs(c.want)) {
			t.Errorf("Summary %q column %s = %v, want %v", c.label, c.col, got, c.want)
		}
	}
	r := findRow(t, f, "Summary", "Response rate, completers", top)
	if st, _ := f.GetCellStyle("Summary", "B"+strconv.Itoa(r)); true {
		s, _ := f.GetStyle(st)
		if s.CustomNumFmt == nil || *s.CustomNumFmt != fmtRate {
			t.Errorf("response rate format = %v, want %s", s.CustomNumFmt, fmtRate)
		}
	}
	if m.Relapse.MedianDays == nil {
		r := findRow(t, f, "Summary", "Median days from reaching half of baseline to relapse", top)
		if v, _ := f.GetCellValue("Summary", "B"+strconv.Itoa(r)); v != "not reached" {
			t.Errorf("median = %q, want not reached", v)
		}
	}
}

func TestChartsPresent(t *testing.T) {
	a := sampleAnalysis(t)
	for _, aud := range []string{"internal", "external"} {
		path := writeSample(t, a, aud)
		zr, err := zip.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		charts := 0
		for _, zf := range zr.File {
			if strings.HasPrefix(zf.Name, "xl/charts/chart") && strings.HasSuffix(zf.Name, ".xml") {
				charts++
			}
		}
		zr.Close()
		// per instrument: the quarterly trend, the weekly means, relapse, time to response,
		// response by dose and the comparison of programs; and dissociation by dose. In the
		// external edition a chart is drawn only when the first value of its series is shown.
		want := 6*len(a.Measures) + 1
		if aud == "external" {
			if charts < 2*len(a.Measures) || charts > want {
				t.Errorf("%s: %d charts, want %d to %d", aud, charts, 2*len(a.Measures), want)
			}
		} else if charts != want {
			t.Errorf("%s: %d charts, want %d", aud, charts, want)
		}
		// the drawings hang off the Quarterly trend, Trajectories and Relapse sheets
		f := open(t, path)
		for i, sheet := range f.GetSheetList() {
			xml := readZip(t, path, "xl/worksheets/sheet"+strconv.Itoa(i+1)+".xml")
			has := strings.Contains(xml, "<drawing ")
			want := sheet == "Trajectories" || sheet == "Relapse" || sheet == "Quarterly trend" || sheet == "Treatment course" || sheet == "Comparisons" || sheet == "Session safety"
			if aud == "external" && (sheet == "Quarterly trend" || sheet == "Treatment course" || sheet == "Comparisons" || sheet == "Session safety") {
				continue // depends on what suppression leaves
			}
			if has != want {
				t.Errorf("%s %s: drawing %v, want %v", aud, sheet, has, want)
			}
		}
	}
}

func readZip(t *testing.T, path, name string) string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, zf := range zr.File {
		if zf.Name == name {
			rc, err := zf.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
	t.Fatalf("%s: no %s", path, name)
	return ""
}

func TestFormulaInjectionStaysText(t *testing.T) {
	a := *sampleAnalysis(t)
	evil := `=HYPERLINK("http://example.com/x","click")`
	a.Safety = append([]pipeline.SafetyFlag{{PatientID: evil, ClinicID: "+cmd|' /C calc'!A0", Date: "2026-09-01", Item9: 2, Total: 21}}, a.Safety...)
	a.Inputs = append([]pipeline.Input{{Path: "=1+1", SHA256: "@SUM(A1)", Kind: "assessments", Reasons: map[string]int64{}}}, a.Inputs...)
	f := open(t, writeSample(t, &a, "internal"))
	found := 0
	for _, sheet := range []string{"Safety", "Data quality", "Methods"} {
		rows, err := f.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		for r, row := range rows {
			for c, v := range row {
				ref, _ := excelize.CoordinatesToCellName(c+1, r+1)
				if formula, _ := f.GetCellFormula(sheet, ref); formula != "" {
					t.Errorf("%s!%s has formula %q", sheet, ref, formula)
				}
				if v == evil || v == "=1+1" || v == "+cmd|' /C calc'!A0" || v == "@SUM(A1)" {
					found++
				}
			}
		}
	}
	// patient id and clinic on Safety; path on Data quality (two tables) and Methods; hash on Methods
	if found < 5 {
		t.Errorf("found the injected texts %d times, want at least 5", found)
	}
}

// TestExternalSuppressed checks the external workbook: no count from 1 to 10 is shown, and in the
// model every declared sum has zero or at least two unknowns.
func TestExternalSuppressed(t *testing.T) {
	a := sampleAnalysis(t)
	opt := Options{Audience: "external", SuppressBelow: 11, Now: fixedNow}
	wb := build(a, opt)
	Suppress(wb.Tables(), 11)
	hidden := 0
	if d := Determined(wb.Tables(), 11); len(d) > 0 {
		t.Errorf("hidden values that can be recomputed: %v", d)
	}
	for _, tb := range wb.Tables() {
		for r, row := range tb.Rows {
			for c, cl := range row.Cells {
				if cl.Hidden != Shown {
					hidden++
					continue
				}
				if cl.Kind == Count && cl.isNumber() && cl.Value >= 1 && cl.Value < 11 {
					t.Errorf("table %q row %d col %d shows count %v", tb.Title, r, c, cl.Value)
				}
				for _, d := range cl.Deps {
					if row.Cells[d].Hidden != Shown {
						t.Errorf("table %q row %d col %d shown though column %d is hidden", tb.Title, r, c, d)
					}
				}
			}
		}
	}
	if hidden == 0 {
		t.Error("nothing was suppressed: the sample should have small cells")
	}

	// The workbook itself: count-formatted cells never hold 1..10.
	f := open(t, writeSample(t, a, "external"))
	for _, sheet := range f.GetSheetList() {
		rows, _ := f.GetRows(sheet)
		for r, row := range rows {
			for c, v := range row {
				ref, _ := excelize.CoordinatesToCellName(c+1, r+1)
				format, err := numFmt(f, sheet, ref)
				if err != nil {
					t.Fatal(err)
				}
				if format != fmtCount {
					continue
				}
				if x, err := strconv.ParseFloat(v, 64); err == nil && x >= 1 && x < 11 {
					t.Errorf("%s!%s shows count %v", sheet, ref, x)
				}
			}
		}
	}
}

func TestWriteAtomic(t *testing.T) {
	a := sampleAnalysis(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "r.xlsx")
	if err := Write(path, a, Options{Audience: "nobody"}); err == nil {
		t.Fatal("want an error for an unknown audience")
	}
	if err := Write(path, a, Options{Audience: "internal", Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "r.xlsx" {
		t.Errorf("directory holds %v, want only r.xlsx", entries)
	}
}

// A bare analysis (no scores, no inputs, day offsets only) still gives a complete workbook.
func TestWriteEmptyAnalysis(t *testing.T) {
	a := &pipeline.Analysis{KapstatVersion: "0.3.0", Config: pipeline.DefaultConfig(), Measures: map[string]*pipeline.MeasureResult{},
		Cohort: pipeline.Cohort{Excluded: map[string]int{}, AssessmentOnly: true}}
	for _, aud := range []string{"internal", "external"} {
		path := filepath.Join(t.TempDir(), aud+".xlsx")
		if err := Write(path, a, Options{Audience: aud, Now: fixedNow}); err != nil {
			t.Fatalf("%s: %v", aud, err)
		}
		dump, err := Dump(path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(dump, quartersUnavailable) {
			t.Errorf("%s: no statement that quarterly views are unavailable", aud)
		}
	}
}

// A measure whose models could not be fitted, with no relapse follow-up, renders its notes.
func TestWriteUnfittedMeasure(t *testing.T) {
	a := smallAnalysis()
	m := a.Measures["PHQ9"]
	m.Trajectory, m.TrajectoryNote = nil, "mixed model not fitted: too few patients"
	m.Classes, m.ClassesNote = nil, "trajectory classes not fitted: no observations"
	m.Relapse = pipeline.RelapseSummary{Excluded: map[string]int{}}
	a.Quarters = nil
	path := filepath.Join(t.TempDir(), "r.xlsx")
	if err := Write(path, a, Options{Audience: "internal", Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	dump, err := Dump(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"The mixed model was not fitted: too few patients.", "no patients followed"} {
		if !strings.Contains(dump, want) {
			t.Errorf("dump lacks %q", want)
		}
	}
}

// Data quality shows each file's counts and that they add up (read = accepted + duplicates + quarantined).
func TestDataQuality(t *testing.T) {
	a := sampleAnalysis(t)
	f := open(t, writeSample(t, a, "internal"))
	for _, in := range a.Inputs {
		r := findRow(t, f, "Data quality", in.Path, 1)
		row := strconv.Itoa(r)
		for col, want := range map[string]int64{"C": in.RowsRead, "D": in.Accepted, "E": in.Duplicates, "F": in.Quarantined} {
			if got := number(t, f, "Data quality", col+row); got != float64(want) {
				t.Errorf("%s column %s = %v, want %d", in.Path, col, got, want)
			}
		}
		if v, _ := f.GetCellValue("Data quality", "G"+row); v != "yes" {
			t.Errorf("%s: adds up = %q, want yes", in.Path, v)
		}
	}
}
