package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kapstat/kapstat/synth"
)

// sameValue compares two values field by field, NaN equal to NaN, nil different from a
// pointer to a zero value and from an empty slice or map, and lists where they differ.
func sameValue(a, b reflect.Value, path string, diffs *[]string) {
	if len(*diffs) > 20 {
		return
	}
	if a.IsValid() != b.IsValid() {
		*diffs = append(*diffs, path+": one side invalid")
		return
	}
	if !a.IsValid() {
		return
	}
	if a.Type() != b.Type() {
		*diffs = append(*diffs, fmt.Sprintf("%s: types %s and %s", path, a.Type(), b.Type()))
		return
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() != b.IsNil() {
			*diffs = append(*diffs, fmt.Sprintf("%s: nil %v and %v", path, a.IsNil(), b.IsNil()))
			return
		}
		if !a.IsNil() {
			sameValue(a.Elem(), b.Elem(), path, diffs)
		}
	case reflect.Struct:
		for i := range a.NumField() {
			sameValue(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name, diffs)
		}
	case reflect.Slice, reflect.Map:
		if a.IsNil() != b.IsNil() {
			*diffs = append(*diffs, fmt.Sprintf("%s: nil %v and %v", path, a.IsNil(), b.IsNil()))
			return
		}
		if a.Len() != b.Len() {
			*diffs = append(*diffs, fmt.Sprintf("%s: lengths %d and %d", path, a.Len(), b.Len()))
			return
		}
		if a.Kind() == reflect.Slice {
			for i := range a.Len() {
				sameValue(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i), diffs)
			}
			return
		}
		for _, k := range a.MapKeys() {
			bv := b.MapIndex(k)
			if !bv.IsValid() {
				*diffs = append(*diffs, fmt.Sprintf("%s[%v]: missing", path, k))
				continue
			}
			sameValue(a.MapIndex(k), bv, fmt.Sprintf("%s[%v]", path, k), diffs)
		}
	case reflect.Array:
		for i := range a.Len() {
			sameValue(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i), diffs)
		}
	case reflect.Float32, reflect.Float64:
		x, y := a.Float(), b.Float()
		if !(x == y || math.IsNaN(x) && math.IsNaN(y)) {
			*diffs = append(*diffs, fmt.Sprintf("%s: %v and %v", path, x, y))
		}
	default:
		if !a.CanInterface() {
			*diffs = append(*diffs, path+": unexported field (gob drops it)")
			return
		}
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			*diffs = append(*diffs, fmt.Sprintf("%s: %v and %v", path, a.Interface(), b.Interface()))
		}
	}
}

// checkSnapshot asserts that the stored analysis is the analysis analyze returned, value for
// value (NaN, nil and the fields the JSON leaves out included) and in its JSON.
func checkSnapshot(t *testing.T, w *Warehouse, opt AnalyzeOptions, a *Analysis) {
	t.Helper()
	got, why, err := w.StoredAnalysis(context.Background(), opt)
	if err != nil || got == nil {
		t.Fatalf("stored analysis not used: %q, %v", why, err)
	}
	var diffs []string
	sameValue(reflect.ValueOf(a).Elem(), reflect.ValueOf(got).Elem(), "Analysis", &diffs)
	if len(diffs) > 0 {
		t.Errorf("stored analysis differs:\n%s", strings.Join(diffs, "\n"))
	}
	j1, _ := json.Marshal(a)
	j2, _ := json.Marshal(got)
	if string(j1) != string(j2) {
		t.Error("stored analysis has another JSON")
	}
}

// The stored analysis comes back as analyze made it, on a cohort with every part filled in
// (sessions with the safety columns, patients, open windows, quarantined rows), on the
// open-window cohort (Safety list, interim scores) and on an assessment-only warehouse
// (nil retention, session safety and patients).
func TestSnapshotRoundTrip(t *testing.T) {
	ctx := context.Background()
	now := func() time.Time { return time.Date(2025, 6, 30, 15, 0, 0, 0, time.UTC) }
	t.Run("synthetic", func(t *testing.T) {
		w, dir := openTemp(t)
		if _, err := synth.Write(filepath.Join(dir, "c"), synth.Config{Patients: 600, Seed: 11, End: testAsOf, BadRows: true}); err != nil {
			t.Fatal(err)
		}
		var files []string
		for _, f := range synth.Files {
			files = append(files, filepath.Join(dir, "c", f))
		}
		if _, err := w.Ingest(ctx, files, testOptions()); err != nil {
			t.Fatal(err)
		}
		opt := AnalyzeOptions{Config: DefaultConfig(), AsOf: &testAsOf, Write: true}
		a, err := w.Analyze(ctx, opt)
		if err != nil {
			t.Fatal(err)
		}
		if a.Patients == nil || a.SessionSafety == nil || len(a.Safety) == 0 || a.Measures["PHQ9"].AcuteWindowOpen == 0 {
			t.Fatal("the cohort does not exercise every part of the analysis")
		}
		opt.Write = false
		checkSnapshot(t, w, opt, a)
	})
	t.Run("open-windows", func(t *testing.T) {
		w, _ := openTemp(t)
		if _, err := w.Ingest(ctx, openWindowCohort(t), testOptions()); err != nil {
			t.Fatal(err)
		}
		// No --as-of: today (the clock) for dated rows, as a report without --quarter.
		a, err := w.Analyze(ctx, AnalyzeOptions{Config: DefaultConfig(), Now: now, Write: true})
		if err != nil {
			t.Fatal(err)
		}
		checkSnapshot(t, w, AnalyzeOptions{Config: DefaultConfig(), Now: now}, a)
		// The next day it is another analysis.
		next := func() time.Time { return now().Add(24 * time.Hour) }
		if got, why, _ := w.StoredAnalysis(ctx, AnalyzeOptions{Config: DefaultConfig(), Now: next}); got != nil ||
			why != "the stored analysis is as of 2025-06-30, this report as of 2025-07-01" {
			t.Errorf("a day later: %q", why)
		}
	})
	t.Run("assessment-only", func(t *testing.T) {
		w, _ := openTemp(t)
		_, files := handCohort(t, false)
		if _, err := w.Ingest(ctx, files, testOptions()); err != nil {
			t.Fatal(err)
		}
		a, err := w.Analyze(ctx, AnalyzeOptions{Config: DefaultConfig(), Write: true})
		if err != nil {
			t.Fatal(err)
		}
		if a.Retention != nil || a.SessionSafety != nil {
			t.Fatal("expected an assessment-only analysis")
		}
		checkSnapshot(t, w, AnalyzeOptions{Config: DefaultConfig()}, a)
	})
}

// The stored analysis is used only under the key it was made with: anything that changes
// the analysis (as-of day, configuration, an ingest, a retraction) or a damaged body makes
// report analyse again, saying why.
func TestSnapshotKey(t *testing.T) {
	ctx := context.Background()
	w, dir := openTemp(t)
	if got, why, err := w.StoredAnalysis(ctx, AnalyzeOptions{Config: DefaultConfig()}); got != nil || err != nil || why != "no analysis stored by kapstat analyze" {
		t.Errorf("before analyze: %q %v", why, err)
	}
	files := openWindowCohort(t)
	if _, err := w.Ingest(ctx, files, testOptions()); err != nil {
		t.Fatal(err)
	}
	asOf := time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)
	opt := AnalyzeOptions{Config: DefaultConfig(), AsOf: &asOf}
	write := opt
	write.Write = true
	if _, err := w.Analyze(ctx, write); err != nil {
		t.Fatal(err)
	}
	stored := func(o AnalyzeOptions) string {
		t.Helper()
		got, why, err := w.StoredAnalysis(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if got != nil {
			return "used"
		}
		return why
	}
	if s := stored(opt); s != "used" {
		t.Fatalf("same key: %q", s)
	}
	other := DefaultConfig()
	other.AcuteDays = 84
	if s := stored(AnalyzeOptions{Config: other, AsOf: &asOf}); s != "the stored analysis was made with another configuration" {
		t.Errorf("other config: %q", s)
	}
	later := asOf.AddDate(0, 0, 1)
	if s := stored(AnalyzeOptions{Config: DefaultConfig(), AsOf: &later}); !strings.Contains(s, "as of 2025-06-30, this report as of 2025-07-01") {
		t.Errorf("other as-of: %q", s)
	}
	// A quarter of this warehouse (dates only) is the same analysis as its last day.
	if s := stored(AnalyzeOptions{Config: DefaultConfig(), AsOf: &asOf, Quarter: "2025Q2"}); s != "used" {
		t.Errorf("quarter: %q", s)
	}
	// Another file ingested, then retracted: the warehouse holds what it held, but the
	// record of ingests changed, and the analysis is made again.
	extra := filepath.Join(dir, "extra.csv")
	os.WriteFile(extra, []byte("patient_id,clinic_id,instrument,date,total\nz9,c1,GAD7,2025-01-02,12\n"), 0o644)
	if _, err := w.Ingest(ctx, []string{extra}, testOptions()); err != nil {
		t.Fatal(err)
	}
	if s := stored(opt); s != "files were ingested or retracted since the stored analysis" {
		t.Errorf("after an ingest: %q", s)
	}
	if _, err := w.Retract(ctx, 2, time.Now()); err != nil {
		t.Fatal(err)
	}
	if s := stored(opt); s != "files were ingested or retracted since the stored analysis" {
		t.Errorf("after a retraction: %q", s)
	}
	// Analysed again: used again. A damaged body is not used.
	if _, err := w.Analyze(ctx, write); err != nil {
		t.Fatal(err)
	}
	if s := stored(opt); s != "used" {
		t.Fatalf("after analysing again: %q", s)
	}
	if _, err := w.DB().Exec(`UPDATE analysis_snapshot SET body = '\x00\x01garbage'::BLOB`); err != nil {
		t.Fatal(err)
	}
	if s := stored(opt); !strings.HasPrefix(s, "stored analysis unreadable") {
		t.Errorf("damaged: %q", s)
	}
}

// A damaged stored analysis (cut short anywhere, or with bytes changed) is an error or
// another value, never a panic or a runaway allocation.
func TestSnapshotDamagedBody(t *testing.T) {
	w, _ := openTemp(t)
	ctx := context.Background()
	if _, err := w.Ingest(ctx, openWindowCohort(t), testOptions()); err != nil {
		t.Fatal(err)
	}
	a, err := w.Analyze(ctx, AnalyzeOptions{Config: DefaultConfig(), AsOf: &testAsOf})
	if err != nil {
		t.Fatal(err)
	}
	body, err := encodeSnapshot(a)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := encodeSnapshot(a)
	if string(body) != string(again) {
		t.Error("the same analysis encoded twice gives different bytes")
	}
	for n := 0; n < len(body); n += 1 + n/50 {
		if _, err := decodeSnapshot(body[:n]); err == nil {
			t.Errorf("cut to %d of %d bytes: no error", n, len(body))
		}
	}
	if _, err := decodeSnapshot(append(body[:len(body):len(body)], 0)); err == nil {
		t.Error("a byte too many: no error")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := []byte(string(body))
		for range 1 + rng.IntN(4) {
			b[rng.IntN(len(b))] = byte(rng.IntN(256))
		}
		decodeSnapshot(b) // must not panic
	}
	// A slice that claims a billion elements in a few bytes.
	if _, err := decodeSnapshot([]byte{0xff, 0xff, 0xff, 0xff, 0x0f}); err == nil {
		t.Error("huge length: no error")
	}
}
