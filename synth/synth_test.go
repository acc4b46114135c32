package synth

import (
	"bytes"
	"encoding/csv"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func generate(t testing.TB, cfg Config) (assess, sess []byte, sum Summary) {
	t.Helper()
	a, s, _, sum := generate3(t, cfg)
	return a, s, sum
}

// generate3 also returns the patients file.
func generate3(t testing.TB, cfg Config) (assess, sess, pats []byte, sum Summary) {
	t.Helper()
	var a, s, p bytes.Buffer
	sum, err := WriteTo(&a, &s, &p, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a.Bytes(), s.Bytes(), p.Bytes(), sum
}

func readCSV(t testing.TB, b []byte) [][]string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func cohort(n int, seed uint64) Config {
	cfg := DefaultConfig()
	cfg.Patients = n
	cfg.Seed = seed
	return cfg
}

func TestDeterministic(t *testing.T) {
	a1, s1, p1, _ := generate3(t, cohort(300, 7))
	a2, s2, p2, _ := generate3(t, cohort(300, 7))
	if !bytes.Equal(a1, a2) || !bytes.Equal(s1, s2) || !bytes.Equal(p1, p2) {
		t.Fatal("same seed, different bytes")
	}
	a3, s3, p3, _ := generate3(t, cohort(300, 8))
	if bytes.Equal(a1, a3) || bytes.Equal(s1, s3) || bytes.Equal(p1, p3) {
		t.Fatal("different seeds, same bytes")
	}
}

// isSubsequence reports whether the lines of sub appear in all, in order.
func isSubsequence(sub, all []byte) (string, bool) {
	rest := strings.Split(string(all), "\n")
	for _, line := range strings.Split(string(sub), "\n") {
		k := slices.Index(rest, line)
		if k < 0 {
			return line, false
		}
		rest = rest[k+1:]
	}
	return "", true
}

// Bad rows come from their own stream: without them the valid rows are the
// same, in the same order.
func TestBadRowsLeaveValidRowsAlone(t *testing.T) {
	cfg := cohort(500, 3)
	withBad, s1, p1, sum := generate3(t, cfg)
	cfg.BadRows = false
	clean, s2, p2, sumClean := generate3(t, cfg)
	planted := func(m map[string]int) (n int) {
		for _, k := range m {
			n += k
		}
		return n
	}
	if sumClean.AssessmentRows+planted(sum.BadRows) != sum.AssessmentRows {
		t.Fatalf("rows with bad = %d, clean %d + planted %d", sum.AssessmentRows, sumClean.AssessmentRows, planted(sum.BadRows))
	}
	if sumClean.SessionRows+planted(sum.BadSessionRows) != sum.SessionRows {
		t.Fatalf("sessions with bad = %d, clean %d + planted %d", sum.SessionRows, sumClean.SessionRows, planted(sum.BadSessionRows))
	}
	// a planted conflict also counts the valid row it conflicts with
	if sumClean.PatientRows+planted(sum.BadPatientRows)-sum.BadPatientRows[BadConflict]/2 != sum.PatientRows || sumClean.PatientRows != 500 {
		t.Fatalf("patients rows with bad = %d, clean %d, planted %v", sum.PatientRows, sumClean.PatientRows, sum.BadPatientRows)
	}
	for _, m := range []map[string]int{sumClean.BadRows, sumClean.BadSessionRows, sumClean.BadPatientRows} {
		if planted(m) != 0 {
			t.Fatalf("BadRows off, yet planted %v", m)
		}
	}
	// clean's lines are a subsequence of withBad's, in every file.
	for name, f := range map[string][2][]byte{"assessments": {clean, withBad}, "sessions": {s2, s1}, "patients": {p2, p1}} {
		if line, ok := isSubsequence(f[0], f[1]); !ok {
			t.Fatalf("%s: valid row %q missing or out of order with bad rows on", name, line)
		}
	}
}

func TestHeaders(t *testing.T) {
	a, s, _ := generate(t, cohort(3, 1))
	wantA := "patient_id,clinic_id,instrument,date,item_1,item_2,item_3,item_4,item_5,item_6,item_7,item_8,item_9,item_10," +
		"item_11,item_12,item_13,item_14,item_15,item_16,item_17,item_18,item_19,item_20,total\n"
	wantS := "patient_id,clinic_id,date,session_type,route,dose_mg,program,setting," +
		"sbp_pre,dbp_pre,hr_pre,sbp_max,dbp_max,hr_max,dissociation,side_effects,serious_adverse_event\n"
	wantP := "patient_id,age,sex,diagnosis,prior_treatments\n"
	_, _, p, _ := generate3(t, cohort(3, 1))
	if got, _, _ := strings.Cut(string(p), "\n"); got+"\n" != wantP {
		t.Errorf("patients header = %q, want %q", got, wantP)
	}
	if got, _, _ := strings.Cut(string(a), "\n"); got+"\n" != wantA {
		t.Errorf("assessments header = %q, want %q", got, wantA)
	}
	if got, _, _ := strings.Cut(string(s), "\n"); got+"\n" != wantS {
		t.Errorf("sessions header = %q, want %q", got, wantS)
	}
}

// scanned is one assessment row as an independent validator sees it.
type scanned struct {
	line   string
	id     string
	inst   string
	day    int
	score  int
	reason string // "" when the row itself is valid
}

var instSpec = map[string]struct{ items, max, allow int }{
	"PHQ9": {9, 3, 2}, "GAD7": {7, 3, 1}, "PCL5": {20, 4, 3},
}

func parseDay(t testing.TB, s string) int {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatalf("bad date %q", s)
	}
	return int(d.Unix() / 86400)
}

// scanAssessments checks every row against SPEC 3.1/3.3/4 without using the
// generator, classifies the bad ones and scores the valid ones.
func scanAssessments(t testing.TB, b []byte, end int) []scanned {
	t.Helper()
	recs := readCSV(t, b)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	var out []scanned
	for n, rec := range recs[1:] {
		sc := scanned{line: lines[n+1], id: rec[0], inst: rec[2], day: parseDay(t, rec[3])}
		if sc.day > end {
			t.Fatalf("line %d: date %s after End", n+2, rec[3])
		}
		if rec[0] == "" || rec[1] == "" {
			t.Fatalf("line %d: empty id or clinic", n+2)
		}
		spec, ok := instSpec[rec[2]]
		if !ok {
			sc.reason = BadUnknownInstrument
			out = append(out, sc)
			continue
		}
		sum, answered := 0, 0
		for j := range 20 {
			f := rec[4+j]
			if f == "" {
				continue
			}
			if j >= spec.items {
				t.Fatalf("line %d: item_%d filled for %s", n+2, j+1, rec[2])
			}
			v, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("line %d: item %q", n+2, f)
			}
			if v < 0 || v > spec.max {
				sc.reason = BadOutOfRange
			}
			sum += v
			answered++
		}
		total := -1
		if rec[24] != "" {
			v, err := strconv.Atoi(rec[24])
			if err != nil || v < 0 || v > spec.items*spec.max {
				t.Fatalf("line %d: total %q", n+2, rec[24])
			}
			total = v
		}
		switch {
		case sc.reason != "":
		case answered == 0:
			if total < 0 {
				t.Fatalf("line %d: neither items nor total", n+2)
			}
			sc.score = total
		case spec.items-answered > spec.allow:
			sc.reason = BadTooManyMissing
		default:
			// round-half-up(mean × n)
			sc.score = (2*sum*spec.items + answered) / (2 * answered)
			if total >= 0 && total != sc.score {
				t.Fatalf("line %d: total %d, items give %d", n+2, total, sc.score)
			}
		}
		out = append(out, sc)
	}
	return out
}

// countBad re-counts bad rows the way SPEC 3.3 defines them: invalid rows by
// reason, then extra exact copies, then every row of a patient, instrument
// and day that carries differing responses.
func countBad(rows []scanned) map[string]int {
	counts := map[string]int{}
	seen := map[string]bool{}
	byKey := map[string]map[string]bool{}
	for _, r := range rows {
		if r.reason != "" {
			counts[r.reason]++
			continue
		}
		if seen[r.line] {
			counts[BadDuplicate]++
			continue
		}
		seen[r.line] = true
		key := r.id + "|" + r.inst + "|" + strconv.Itoa(r.day)
		if byKey[key] == nil {
			byKey[key] = map[string]bool{}
		}
		byKey[key][r.line] = true
	}
	for _, lines := range byKey {
		if len(lines) > 1 {
			counts[BadConflict] += len(lines)
		}
	}
	return counts
}

func TestRowsValidAndBadRowsCounted(t *testing.T) {
	cfg := cohort(3000, 11)
	a, s, sum := generate(t, cfg)
	end := dayOf(DefaultEnd)
	rows := scanAssessments(t, a, end)
	if len(rows) != sum.AssessmentRows {
		t.Errorf("%d rows, Summary says %d", len(rows), sum.AssessmentRows)
	}
	got := countBad(rows)
	for _, k := range badNames {
		if got[k] == 0 || got[k] != sum.BadRows[k] {
			t.Errorf("%s: re-scan finds %d, Summary says %d", k, got[k], sum.BadRows[k])
		}
	}
	total := 0
	for _, n := range sum.BadRows {
		total += n
	}
	if share := float64(total) / float64(len(rows)); share > 0.002 {
		t.Errorf("bad rows are %.3f%% of rows", 100*share)
	}
	t.Logf("bad rows %v of %d", sum.BadRows, len(rows))

	// Sorted by patient then date.
	for k := 1; k < len(rows); k++ {
		p, c := rows[k-1], rows[k]
		if c.id < p.id || c.id == p.id && c.day < p.day {
			t.Fatalf("rows out of order: %q then %q", p.line, c.line)
		}
	}

	recs := readCSV(t, s)
	if len(recs)-1 != sum.SessionRows {
		t.Errorf("%d session rows, Summary says %d", len(recs)-1, sum.SessionRows)
	}
	routes := map[string]bool{"sublingual": true, "im": true, "iv": true, "intranasal": true}
	settings := map[string]bool{"in_person": true, "home": true, "telehealth": true}
	prevID, prevDay := "", 0
	for n, rec := range recs[1:] {
		day := parseDay(t, rec[2])
		if day > end {
			t.Fatalf("sessions line %d after End", n+2)
		}
		if rec[0] < prevID || rec[0] == prevID && day < prevDay {
			t.Fatalf("sessions line %d out of order", n+2)
		}
		prevID, prevDay = rec[0], day
		dosing := rec[3] == "dosing" || rec[3] == "maintenance"
		switch {
		case rec[3] != "preparation" && rec[3] != "integration" && !dosing:
			t.Fatalf("sessions line %d: type %q", n+2, rec[3])
		case dosing != routes[rec[4]] || !dosing && rec[4] != "":
			t.Fatalf("sessions line %d: %s with route %q", n+2, rec[3], rec[4])
		case !settings[rec[7]]:
			t.Fatalf("sessions line %d: setting %q", n+2, rec[7])
		case rec[6] == "infusion" && (!dosing || rec[4] != "iv"):
			t.Fatalf("sessions line %d: infusion program with %s %s", n+2, rec[3], rec[4])
		case rec[6] != "infusion" && rec[6] != "kap":
			t.Fatalf("sessions line %d: program %q", n+2, rec[6])
		}
		if rec[5] != "" {
			mg, err := strconv.Atoi(rec[5])
			if err != nil || mg <= 0 || !dosing {
				t.Fatalf("sessions line %d: dose %q for %s", n+2, rec[5], rec[3])
			}
		}
	}
}

func TestEveryBadKindInSmallCohort(t *testing.T) {
	for _, n := range []int{1, 5, 20} {
		a, _, sum := generate(t, cohort(n, 42))
		got := countBad(scanAssessments(t, a, dayOf(DefaultEnd)))
		for _, k := range badNames {
			if got[k] == 0 || got[k] != sum.BadRows[k] {
				t.Errorf("%d patients, %s: re-scan %d, Summary %d", n, k, got[k], sum.BadRows[k])
			}
		}
	}
}

func TestNoDateAfterEnd(t *testing.T) {
	cfg := cohort(400, 5)
	cfg.End = time.Date(2025, time.March, 15, 18, 0, 0, 0, time.UTC)
	cfg.Clinics = 14
	a, s, _ := generate(t, cfg)
	end := dayOf(cfg.End)
	rows := scanAssessments(t, a, end)
	last := 0
	for _, r := range rows {
		last = max(last, r.day)
	}
	if end-last > 30 {
		t.Errorf("latest row %d days before End", end-last)
	}
	for _, rec := range readCSV(t, s)[1:] {
		if parseDay(t, rec[2]) > end {
			t.Fatalf("session after End: %v", rec)
		}
	}
}

// outcome is what SPEC 6 derives for PHQ-9 from the files.
type outcome struct {
	program              string
	index                int
	integration          int
	eligible, responded  bool
	relapse, hasEndpoint bool
	baseline, endpoint   int
}

// deriveOutcomes applies SPEC 6.1–6.9 and 6.12 for PHQ-9 to the valid rows.
func deriveOutcomes(t testing.TB, rows []scanned, sessions [][]string) map[string]*outcome {
	t.Helper()
	out := map[string]*outcome{}
	for _, rec := range sessions[1:] {
		o := out[rec[0]]
		if o == nil {
			o = &outcome{index: math.MaxInt}
			out[rec[0]] = o
		}
		if rec[3] == "dosing" && parseDay(t, rec[2]) < o.index {
			o.index, o.program = parseDay(t, rec[2]), rec[6]
		}
	}
	for _, rec := range sessions[1:] {
		o := out[rec[0]]
		if d := parseDay(t, rec[2]); rec[3] == "integration" && d > o.index && d <= o.index+56 {
			o.integration++
		}
	}
	phq := map[string][]scanned{}
	bad := countBadLines(rows)
	for _, r := range rows {
		if r.inst == "PHQ9" && r.reason == "" && !bad[r.line] {
			phq[r.id] = append(phq[r.id], r)
		}
	}
	for id, rs := range phq {
		o := out[id]
		rs = slices.CompactFunc(rs, func(a, b scanned) bool { return a.line == b.line })
		base := -1
		for _, r := range rs {
			if r.day >= o.index-30 && r.day <= o.index {
				base = r.score
			}
		}
		o.baseline = base
		o.eligible = base >= 10
		respDay := -1
		for _, r := range rs {
			if r.day > o.index && r.day <= o.index+56 {
				o.hasEndpoint, o.endpoint = true, r.score
				if o.eligible && respDay < 0 && 2*r.score <= base {
					respDay = r.day
				}
			}
		}
		if respDay < 0 {
			continue
		}
		o.responded = true
		var fu []int
		for _, r := range rs {
			if r.day > respDay {
				fu = append(fu, r.score)
			}
		}
		for k, s := range fu {
			if s >= 10 && (k == len(fu)-1 || fu[k+1] >= 10) {
				o.relapse = true
				break
			}
		}
	}
	return out
}

// countBadLines marks the lines of conflicting keys, which SPEC 3.3
// quarantines.
func countBadLines(rows []scanned) map[string]bool {
	byKey := map[string]map[string]bool{}
	for _, r := range rows {
		if r.reason != "" {
			continue
		}
		key := r.id + "|" + r.inst + "|" + strconv.Itoa(r.day)
		if byKey[key] == nil {
			byKey[key] = map[string]bool{}
		}
		byKey[key][r.line] = true
	}
	bad := map[string]bool{}
	for _, lines := range byKey {
		if len(lines) > 1 {
			for l := range lines {
				bad[l] = true
			}
		}
	}
	return bad
}

// The planted truth is what SPEC 6 finds in the files, patient by patient;
// and the cohort has the planted shares.
func TestTruthAndShares(t *testing.T) {
	const n = 5000
	cfg := cohort(n, 2026)
	a, s, sum := generate(t, cfg)
	rows := scanAssessments(t, a, dayOf(DefaultEnd))
	outs := deriveOutcomes(t, rows, readCSV(t, s))

	share := func(k int) float64 { return float64(k) / n }
	within := func(what string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol {
			t.Errorf("%s = %.3f, want %.2f ± %.2f", what, got, want, tol)
		}
	}
	within("rapid share", share(sum.Classes[ClassRapid]), 0.55, 0.03)
	within("gradual share", share(sum.Classes[ClassGradual]), 0.30, 0.03)
	within("no-change share", share(sum.Classes[ClassNoChange]), 0.15, 0.02)
	within("kap share", share(sum.Programs[ProgramKAP]), 0.80, 0.03)

	var buckets [3]int
	var eligible, completers, responders int
	var atRisk, relapses [2]int
	for i := range n {
		tr := PatientTruth(cfg, i)
		o := outs[tr.PatientID]
		if o == nil {
			t.Fatalf("%s: no sessions", tr.PatientID)
		}
		if o.program != tr.Program || o.integration != tr.Integration ||
			o.index != dayOf(tr.IndexDate) {
			t.Fatalf("%s: files say %s, index %d, %d integration; truth %+v", tr.PatientID, o.program, o.index, o.integration, tr)
		}
		if o.eligible != tr.Eligible || o.responded != tr.Responded || o.relapse != tr.Relapse {
			t.Fatalf("%s: files say eligible %v responded %v relapse %v; truth %+v",
				tr.PatientID, o.eligible, o.responded, o.relapse, tr)
		}
		switch {
		case o.integration == 0:
			buckets[0]++
		case o.integration <= 3:
			buckets[1]++
		default:
			buckets[2]++
		}
		p := 0
		if tr.Program == ProgramInfusion {
			p = 1
		}
		if tr.Eligible {
			eligible++
			if o.hasEndpoint {
				completers++
				if 2*o.endpoint <= o.baseline {
					responders++
				}
			}
		}
		if tr.Responded {
			atRisk[p]++
			if tr.Relapse {
				relapses[p]++
			}
		}
	}
	for b, k := range buckets {
		if k == 0 {
			t.Errorf("integration bucket %d empty", b)
		}
	}
	if relapses[0] != sum.Relapses[ProgramKAP] || relapses[1] != sum.Relapses[ProgramInfusion] {
		t.Errorf("relapses %v, Summary %v", relapses, sum.Relapses)
	}
	// Hull 2022: 62.8% PHQ-9 response among completers.
	within("completer response", float64(responders)/float64(completers), 0.60, 0.08)
	within("eligible share", float64(eligible)/n, 0.88, 0.04)
	kapRate := float64(relapses[0]) / float64(atRisk[0])
	infRate := float64(relapses[1]) / float64(atRisk[1])
	if infRate < kapRate+0.1 {
		t.Errorf("relapse among responders: infusion %.2f, kap %.2f", infRate, kapRate)
	}
	t.Logf("buckets %v; eligible %d, completers %d, response %.3f; relapse kap %.3f infusion %.3f",
		buckets, eligible, completers, float64(responders)/float64(completers), kapRate, infRate)
}

func TestWriteFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cohort")
	cfg := cohort(50, 9)
	sum, err := Write(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, s, p, want := generate3(t, cfg)
	for i, b := range [][]byte{a, s, p} {
		got, err := os.ReadFile(filepath.Join(dir, Files[i]))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, b) {
			t.Errorf("Write and WriteTo differ in %s", Files[i])
		}
	}
	if sum.AssessmentRows != want.AssessmentRows || sum.PatientRows != want.PatientRows {
		t.Fatal("Write and WriteTo count differently")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{{Patients: -1}, {Patients: 1, Clinics: -2}} {
		if _, err := WriteTo(io.Discard, io.Discard, io.Discard, cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}

func BenchmarkWrite(b *testing.B) {
	cfg := cohort(20000, 1)
	var rows int
	for b.Loop() {
		sum, err := WriteTo(io.Discard, io.Discard, io.Discard, cfg)
		if err != nil {
			b.Fatal(err)
		}
		rows = sum.AssessmentRows + sum.SessionRows
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
