package synth

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// scanPatient checks one patients row against SPEC 3.1 without the generator and returns the
// reason it would be quarantined for ("" when valid).
func scanPatient(t testing.TB, rec []string) string {
	t.Helper()
	if len(rec) != 5 || rec[0] == "" {
		t.Fatalf("patients row %q", rec)
	}
	if a := rec[1]; a != "" && a != "90+" {
		n, err := strconv.Atoi(a)
		if err != nil {
			t.Fatalf("age %q", a)
		}
		if n < 12 || n > 89 {
			return BadOutOfRange
		}
	}
	switch rec[2] {
	case "", "female", "male", "other", "unknown":
	default:
		return BadUnknownSex
	}
	switch rec[3] {
	case "", "depression", "ptsd", "anxiety", "bipolar", "other":
	default:
		return BadUnknownDiagnosis
	}
	if p := rec[4]; p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			t.Fatalf("prior_treatments %q", p)
		}
		if n < 0 || n > 30 {
			return BadOutOfRange
		}
	}
	return ""
}

// countBadPatients re-counts bad patients rows as SPEC 3.1 and 3.3 define them.
func countBadPatients(t testing.TB, recs [][]string) map[string]int {
	counts := map[string]int{}
	byID := map[string][]string{}
	for _, rec := range recs {
		if r := scanPatient(t, rec); r != "" {
			counts[r]++
			continue
		}
		byID[rec[0]] = append(byID[rec[0]], strings.Join(rec, ","))
	}
	for _, rows := range byID {
		distinct := slices.Compact(slices.Sorted(slices.Values(rows)))
		if len(distinct) > 1 {
			counts[BadConflict] += len(rows)
		} else {
			counts[BadDuplicate] += len(rows) - 1
		}
	}
	return counts
}

var sideEffectList = []string{"nausea", "vomiting", "dizziness", "headache", "confusion", "anxiety", "dissociation", "hypertension", "other"}

// scanSafety checks the safety columns of one sessions row (rec[8:17]) against SPEC 3.1 and
// returns the reason it would be quarantined for.
func scanSafety(t testing.TB, rec []string) string {
	t.Helper()
	ranges := [7][2]int{{60, 260}, {30, 160}, {30, 220}, {60, 260}, {30, 160}, {30, 220}, {0, 24}}
	for c, rg := range ranges {
		v := rec[8+c]
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("safety column %d %q", c, v)
		}
		if n < rg[0] || n > rg[1] {
			return BadOutOfRange
		}
	}
	if se := rec[15]; se != "" && se != "none" {
		for _, c := range strings.Split(se, ";") {
			if !slices.Contains(sideEffectList, c) {
				return BadUnknownSideEff
			}
		}
	}
	switch rec[16] {
	case "", "yes", "no":
	default:
		return BadSAE
	}
	return ""
}

// TestPatientsFile: one row per patient in a clean cohort, every value valid and as the
// planted truth says, each column sometimes empty; and the characteristics differ by program
// as SPEC 6.15's adjusted comparisons need: infusion patients older, more often
// treatment-resistant and more severe at baseline, at-home patients less severe, and
// treatment-resistant patients improving less.
func TestPatientsFile(t *testing.T) {
	const n = 5000
	cfg := cohort(n, 2026)
	cfg.BadRows = false
	a, s, p, sum := generate3(t, cfg)
	recs := readCSV(t, p)[1:]
	if len(recs) != n || sum.PatientRows != n {
		t.Fatalf("%d patients rows (Summary %d), want %d", len(recs), sum.PatientRows, n)
	}
	empty := [5]int{}
	type group struct {
		n, ageN, trd, priorN int
		age                  float64
	}
	var byProg [2]group
	var trd, noChange [2]int // by resistance
	for i, rec := range recs {
		if r := scanPatient(t, rec); r != "" {
			t.Fatalf("line %d %q: %s in a clean cohort", i+2, rec, r)
		}
		tr := PatientTruth(cfg, i)
		if rec[0] != tr.PatientID || rec[2] != tr.Sex || rec[3] != tr.Diagnosis {
			t.Fatalf("line %d %q, truth %+v", i+2, rec, tr)
		}
		for c, v := range rec {
			if v == "" {
				empty[c]++
			}
		}
		prog := 0
		if tr.Program == ProgramInfusion {
			prog = 1
		}
		g := &byProg[prog]
		g.n++
		if rec[1] != "" {
			age := 90
			if rec[1] != "90+" {
				age, _ = strconv.Atoi(rec[1])
			}
			if age != min(tr.Age, 90) {
				t.Fatalf("line %d age %s, truth %d", i+2, rec[1], tr.Age)
			}
			g.age += float64(age)
			g.ageN++
		}
		if rec[4] != "" {
			prior, _ := strconv.Atoi(rec[4])
			if prior >= 2 != tr.TreatmentResistant {
				t.Fatalf("line %d prior %d, truth resistant %v", i+2, prior, tr.TreatmentResistant)
			}
			g.priorN++
			if prior >= 2 {
				g.trd++
			}
		}
		k := 0
		if tr.TreatmentResistant {
			k = 1
		}
		trd[k]++
		if tr.Class == ClassNoChange {
			noChange[k]++
		}
	}
	for c, k := range empty[1:] {
		if k == 0 || k > n/10 {
			t.Errorf("column %d empty in %d rows", c+2, k)
		}
	}
	kap, inf := byProg[0], byProg[1]
	ageKAP, ageInf := kap.age/float64(kap.ageN), inf.age/float64(inf.ageN)
	trdKAP, trdInf := float64(kap.trd)/float64(kap.priorN), float64(inf.trd)/float64(inf.priorN)
	if ageInf-ageKAP < 4 {
		t.Errorf("mean age kap %.1f, infusion %.1f: want infusion older by 4 or more", ageKAP, ageInf)
	}
	if trdInf-trdKAP < 0.25 {
		t.Errorf("treatment-resistant kap %.2f, infusion %.2f", trdKAP, trdInf)
	}
	ncNo, ncTRD := float64(noChange[0])/float64(trd[0]), float64(noChange[1])/float64(trd[1])
	if ncTRD-ncNo < 0.1 {
		t.Errorf("no-change share: %.2f without resistance, %.2f with", ncNo, ncTRD)
	}
	// PHQ-9 baselines by program and setting, from the files.
	outs := deriveOutcomes(t, scanAssessments(t, a, dayOf(DefaultEnd)), readCSV(t, s))
	setting := map[string]string{}
	for _, rec := range readCSV(t, s)[1:] {
		if _, ok := setting[rec[0]]; !ok && rec[3] == "dosing" {
			setting[rec[0]] = rec[7]
		}
	}
	var sum3, n3 [3]float64 // kap in person, kap at home, infusion
	for id, o := range outs {
		if o.baseline < 0 {
			continue
		}
		k := 0
		switch {
		case o.program == ProgramInfusion:
			k = 2
		case setting[id] == "home":
			k = 1
		}
		sum3[k] += float64(o.baseline)
		n3[k]++
	}
	inPerson, home, infusion := sum3[0]/n3[0], sum3[1]/n3[1], sum3[2]/n3[2]
	if infusion-inPerson < 1 || inPerson-home < 1 {
		t.Errorf("PHQ-9 baseline means: kap in person %.2f, at home %.2f, infusion %.2f", inPerson, home, infusion)
	}
	t.Logf("age kap %.1f infusion %.1f; resistant kap %.2f infusion %.2f; no change %.2f / %.2f; PHQ-9 baseline in person %.1f home %.1f infusion %.1f",
		ageKAP, ageInf, trdKAP, trdInf, ncNo, ncTRD, inPerson, home, infusion)
}

// TestSessionSafetyColumns: in a clean cohort, non-dosing sessions record nothing; dosing and
// maintenance sessions record values in range, often but not always; blood pressure rises
// during dosing and sometimes to an elevation; dissociation falls with the dose number;
// side effects include none and not recorded; serious adverse events are rare but present.
func TestSessionSafetyColumns(t *testing.T) {
	cfg := cohort(3000, 17)
	cfg.BadRows = false
	_, s, _ := generate(t, cfg)
	recs := readCSV(t, s)[1:]
	var dosing, vitals, elevated, high, rise, riseN, none, noEffects, sae, saeRec int
	var vitalsBy, dosingBy [3]int
	settingIdx := map[string]int{"in_person": 0, "home": 1, "telehealth": 2}
	var dissSum, dissN [7]float64
	prevID, k := "", 0
	for i, rec := range recs {
		if len(rec) != 17 {
			t.Fatalf("line %d: %d fields", i+2, len(rec))
		}
		if r := scanSafety(t, rec); r != "" {
			t.Fatalf("line %d %q: %s in a clean cohort", i+2, rec, r)
		}
		if rec[0] != prevID {
			prevID, k = rec[0], 0
		}
		if rec[3] != "dosing" && rec[3] != "maintenance" {
			if strings.Join(rec[8:], "") != "" {
				t.Fatalf("line %d: a %s session with safety values %q", i+2, rec[3], rec[8:])
			}
			continue
		}
		k++
		dosing++
		dosingBy[settingIdx[rec[7]]]++
		if rec[8] != "" {
			vitals++
			vitalsBy[settingIdx[rec[7]]]++
			pre, _ := strconv.Atoi(rec[8])
			top, _ := strconv.Atoi(rec[11])
			dtop, _ := strconv.Atoi(rec[12])
			rise += top - pre
			riseN++
			if top >= 180 || dtop >= 110 || top-pre >= 40 {
				elevated++
			}
			if top >= 180 {
				high++
			}
		}
		if rec[14] != "" && rec[3] == "dosing" && k <= 6 {
			d, _ := strconv.Atoi(rec[14])
			dissSum[k] += float64(d)
			dissN[k]++
		}
		switch rec[15] {
		case "none":
			none++
		case "":
			noEffects++
		}
		if rec[16] != "" {
			saeRec++
			if rec[16] == "yes" {
				sae++
			}
		}
	}
	share := func(a, b int) float64 { return float64(a) / float64(b) }
	if r := share(vitalsBy[0], dosingBy[0]); r < 0.9 {
		t.Errorf("vitals recorded at %.2f of in-person doses", r)
	}
	if r := share(vitalsBy[1], dosingBy[1]); r > 0.4 || vitalsBy[1] == 0 {
		t.Errorf("vitals recorded at %.2f of at-home doses", r)
	}
	if r := float64(rise) / float64(riseN); r < 10 || r > 25 {
		t.Errorf("mean systolic rise %.1f mmHg", r)
	}
	if r := share(elevated, vitals); r < 0.02 || r > 0.12 || high == 0 {
		t.Errorf("elevations in %.3f of sessions with vitals (%d at 180 or more)", r, high)
	}
	d1, d4 := dissSum[1]/dissN[1], dissSum[4]/dissN[4]
	if d1-d4 < 2 || math.IsNaN(d4) {
		t.Errorf("mean dissociation at dose 1 %.2f, dose 4 %.2f: want a fall of 2 or more", d1, d4)
	}
	if none == 0 || noEffects == 0 || share(noEffects, dosing) > 0.15 {
		t.Errorf("side effects: none %d, not recorded %d of %d", none, noEffects, dosing)
	}
	if sae == 0 || share(sae, saeRec) > 0.01 || saeRec == dosing {
		t.Errorf("serious adverse events %d of %d recorded (%d dosing sessions)", sae, saeRec, dosing)
	}
	t.Logf("%d dosing sessions: vitals %d, elevated %d (%d ≥ 180), dissociation %.1f → %.1f, none %d, SAE %d",
		dosing, vitals, elevated, high, d1, d4, none, sae)
}

// TestBadPatientsAndSessions: the planted bad rows of the patients file and of the safety
// columns are what an independent reading finds, each kind present even in small cohorts
// (from 5 patients: the one patient of a cohort of 1 cannot hold a duplicate row and a
// conflicting one).
func TestBadPatientsAndSessions(t *testing.T) {
	for _, n := range []int{1, 5, 20, 2000} {
		_, s, p, sum := generate3(t, cohort(n, 42))
		got := countBadPatients(t, readCSV(t, p)[1:])
		if !mapsEqual(got, sum.BadPatientRows) {
			t.Errorf("%d patients: patients file re-scan %v, Summary %v", n, got, sum.BadPatientRows)
		}
		for _, k := range []string{BadOutOfRange, BadUnknownSex, BadUnknownDiagnosis, BadDuplicate, BadConflict} {
			if got[k] == 0 && (n > 1 || k != BadConflict) {
				t.Errorf("%d patients: no %s patients row", n, k)
			}
		}
		gotS := map[string]int{}
		for _, rec := range readCSV(t, s)[1:] {
			if r := scanSafety(t, rec); r != "" {
				gotS[r]++
			}
		}
		if !mapsEqual(gotS, sum.BadSessionRows) || gotS[BadOutOfRange] < 2 || gotS[BadUnknownSideEff] == 0 || gotS[BadSAE] == 0 {
			t.Errorf("%d patients: sessions re-scan %v, Summary %v", n, gotS, sum.BadSessionRows)
		}
	}
}

func mapsEqual(a, b map[string]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}
