package pipeline

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kapstat/kapstat/measures"
)

// fuzzHeaders are the fixed canonical headers FuzzValidate puts over its input: by date with
// every item and a total, by day offset without a total, and a short PHQ-9-sized layout.
var fuzzHeaders = [][]string{
	append(append([]string{"patient_id", "clinic_id", "instrument", "date"}, itemNames[:]...), "total"),
	append([]string{"patient_id", "instrument", "day"}, itemNames[:]...),
	append(append([]string{"patient_id", "instrument", "date"}, itemNames[:9]...), "total"),
}

// knownReasons are the reason codes an assessments row may be quarantined with by the row
// checker (conflict and duplicate are decided later, across rows, in the warehouse).
var knownReasons = map[string]bool{
	ReasonMalformed: true, ReasonMissingField: true, ReasonBadPatientID: true, ReasonBadClinicID: true,
	ReasonUnknownInstrument: true, ReasonBadDate: true, ReasonFutureDate: true, ReasonNotInteger: true,
	ReasonOutOfRange: true, ReasonExtraItem: true, ReasonTooManyMissing: true, ReasonTotalMismatch: true,
}

// FuzzValidate feeds arbitrary bytes as the body of a canonical assessments CSV (split on line
// ends and commas, so any byte reaches a field) under a fixed header through the row checker.
// It must never panic, and every row is either accepted — with a total within the
// instrument's range, items within theirs and a valid patient id — or quarantined with a
// known reason code, its line, a column of the header (or none) and a capped raw row.
func FuzzValidate(f *testing.F) {
	f.Add(uint8(0), []byte("p1,c1,PHQ9,2026-01-05,1,2,3,0,1,2,3,0,1,,,,,,,,,,,,13\n"))
	f.Fuzz(func(t *testing.T, variant uint8, body []byte) {
		header := fuzzHeaders[int(variant)%len(fuzzHeaders)]
		cols := make(map[string]int, len(header))
		for i, h := range header {
			cols[h] = i
		}
		cfg := DefaultConfig()
		rc := newRowChecker("fuzz.csv", cfg, testAsOf, cols, len(header))
		for n, line := range bytes.Split(body, []byte("\n")) {
			line = bytes.TrimSuffix(line, []byte("\r"))
			fields := strings.Split(string(line), ",")
			rec := Record{Line: n + 2, Fields: fields, Source: fields}
			a, fd := rc.assessment(rec)
			if fd != nil {
				checkFinding(t, fd, rec, cols)
				continue
			}
			checkAccepted(t, a, rec, cfg)
		}
	})
}

func checkFinding(t *testing.T, fd *Finding, rec Record, cols map[string]int) {
	t.Helper()
	if !knownReasons[fd.Reason] {
		t.Fatalf("line %d: unknown reason %q (%+v)", rec.Line, fd.Reason, *fd)
	}
	if fd.Line != rec.Line || fd.File != "fuzz.csv" {
		t.Fatalf("finding names %s:%d, row is fuzz.csv:%d", fd.File, fd.Line, rec.Line)
	}
	if _, ok := cols[fd.Column]; fd.Column != "" && !ok {
		t.Fatalf("line %d: finding names column %q, not in the header", rec.Line, fd.Column)
	}
	if len(fd.Raw) > maxRaw+64 {
		t.Fatalf("line %d: raw row of %d bytes kept, cap is %d", rec.Line, len(fd.Raw), maxRaw)
	}
	if fd.Raw == "" && len(rec.Source) > 0 && (len(rec.Source) > 1 || rec.Source[0] != "") {
		t.Fatalf("line %d: finding without its raw row", rec.Line)
	}
	// The detail is a fixed message: it never echoes a value (a long patient id is the
	// easiest value to spot).
	if i, ok := cols["patient_id"]; ok && i < len(rec.Fields) {
		if v := strings.TrimSpace(rec.Fields[i]); len(v) >= 16 && strings.Contains(fd.Detail, v) {
			t.Fatalf("line %d: detail %q echoes the patient id", rec.Line, fd.Detail)
		}
	}
}

func checkAccepted(t *testing.T, a Assessment, rec Record, cfg Config) {
	t.Helper()
	in := cfg.Instrument(a.Instrument)
	if in.Code == "" || in.Code != a.Instrument {
		t.Fatalf("line %d: accepted with instrument %q", rec.Line, a.Instrument)
	}
	if a.Score.Total < 0 || a.Score.Total > in.TotalMax || a.Score.Band == "" {
		t.Fatalf("line %d: accepted %s total %d (band %q), range 0–%d", rec.Line, in.Code, a.Score.Total, a.Score.Band, in.TotalMax)
	}
	if !validPatientID(a.PatientID) || (a.ClinicID != "unknown" && !validPatientID(a.ClinicID)) {
		t.Fatalf("line %d: accepted with patient %q clinic %q", rec.Line, a.PatientID, a.ClinicID)
	}
	if a.HasDate && (a.Day > dayOf(testAsOf) || DayDate(a.Day).Year() < 1990) {
		t.Fatalf("line %d: accepted date %s outside 1990..as-of", rec.Line, DayDate(a.Day).Format("2006-01-02"))
	}
	answered := 0
	for k, v := range a.Items {
		switch {
		case v == measures.Missing:
		case k >= in.Items || v < 0 || int(v) > in.ItemMax:
			t.Fatalf("line %d: accepted item_%d = %d for %s", rec.Line, k+1, v, in.Code)
		default:
			answered++
		}
	}
	switch {
	case answered == 0 && a.TotalGiven < 0:
		t.Fatalf("line %d: accepted with no item and no total", rec.Line)
	case answered > 0 && in.Items-answered > in.MaxMissing:
		t.Fatalf("line %d: accepted with %d of %d items", rec.Line, answered, in.Items)
	case a.TotalGiven >= 0 && int(a.TotalGiven) != a.Score.Total:
		t.Fatalf("line %d: given total %d, scored %d", rec.Line, a.TotalGiven, a.Score.Total)
	}
	if a.Score.Answered != answered {
		t.Fatalf("line %d: %d items answered, score says %d", rec.Line, answered, a.Score.Answered)
	}
}
