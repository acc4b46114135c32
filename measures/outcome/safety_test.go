package outcome

import (
	"slices"
	"testing"
)

func TestSideEffectCodes(t *testing.T) {
	tests := []struct {
		field    string
		codes    []string
		recorded bool
	}{
		{"", nil, false},                     // not recorded
		{" ; ", nil, false},                  // nothing in it either
		{"none", nil, true},                  // recorded: no side effect
		{"nausea", []string{"nausea"}, true}, // one code
		{"nausea;dizziness; nausea", []string{"dizziness", "nausea"}, true}, // sorted, once each
	}
	for _, tt := range tests {
		codes, recorded := SideEffectCodes(tt.field)
		if !slices.Equal(codes, tt.codes) || recorded != tt.recorded {
			t.Errorf("SideEffectCodes(%q) = %v, %v, want %v, %v", tt.field, codes, recorded, tt.codes, tt.recorded)
		}
	}
}

func TestSessionSafetyOf(t *testing.T) {
	sp := DefaultSafetyParams()
	bp := func(pre, max, dmax int) Session {
		return Session{Day: 100, Type: Dosing, Route: "im", SBPPre: Some(pre), SBPMax: Some(max), DBPMax: Some(dmax)}
	}
	tests := []struct {
		name               string
		s                  Session
		recorded, elevated bool
	}{
		{"Normal", bp(120, 150, 90), true, false},
		{"SystolicAtThreshold", bp(150, 180, 90), true, true}, // 180 >= 180
		{"SystolicBelow", bp(150, 179, 90), true, false},
		{"DiastolicAtThreshold", bp(120, 150, 110), true, true}, // 110 >= 110
		{"RiseOf40", bp(120, 160, 90), true, true},              // 160 - 120 = 40
		{"RiseOf39", bp(121, 160, 90), true, false},
		// Only some vitals: sbp_max 185 alone would be an elevation, but
		// without dbp_max the rule cannot be applied in full: no figure.
		{"NoDiastolicMax", Session{Day: 100, Type: Dosing, Route: "im", SBPPre: Some(130), SBPMax: Some(185)}, false, false},
		{"NoSystolicPre", Session{Day: 100, Type: Dosing, Route: "im", SBPMax: Some(185), DBPMax: Some(90)}, false, false},
		// dbp_pre and the heart rates are in no figure: their absence
		// does not matter.
		{"NoDiastolicPre", func() Session { s := bp(120, 150, 90); s.HRPre = Some(70); return s }(), true, false},
	}
	for _, tt := range tests {
		got := SessionSafetyOf(100, []Session{tt.s}, DefaultParams(), sp)
		if len(got) != 1 || got[0].BPRecorded != tt.recorded || got[0].BPElevated != tt.elevated {
			t.Errorf("%s: %+v, want recorded %v elevated %v", tt.name, got, tt.recorded, tt.elevated)
		}
	}

	// Dose numbers: 8 doses in the window (100..114), one dosing session
	// after it (day 157: dose 0), maintenance and integration sessions not
	// listed; the route defaults to unknown, the setting to in_person.
	var sessions []Session
	for d := 114; d >= 100; d -= 2 {
		sessions = append(sessions, Session{Day: d, Type: Dosing, Route: "im", Setting: "home"})
	}
	sessions = append(sessions, Session{Day: 157, Type: Dosing},
		Session{Day: 120, Type: Maintenance, Route: "im"}, Session{Day: 101, Type: Integration})
	got := SessionSafetyOf(100, sessions, DefaultParams(), sp)
	var doses []int
	for _, s := range got {
		doses = append(doses, s.Dose)
	}
	if want := []int{1, 2, 3, 4, 5, 6, 7, 8, 0}; !slices.Equal(doses, want) {
		t.Errorf("dose numbers = %v, want %v", doses, want)
	}
	if last := got[8]; last.Route != Unknown || last.Setting != "in_person" || last.Day != 157 {
		t.Errorf("last session = %+v", last)
	}
}

// safetyCohort is the hand-worked cohort of TestSummarizeSessionSafety.
func safetyCohort() [][]SafetySession {
	p, sp := DefaultParams(), DefaultSafetyParams()
	// P1, index 100, kap, switches from im in person to sublingual at home.
	p1 := []Session{
		{Day: 100, Type: Dosing, Route: "im", SBPPre: Some(120), DBPPre: Some(80), SBPMax: Some(150), DBPMax: Some(90),
			Dissociation: Some(10), SideEffects: "nausea;dizziness", SeriousAdverseEvent: Some(false)},
		// dbp_pre missing (not needed); 160 - 125 = 35 < 40, 100 < 110: not elevated.
		{Day: 107, Type: Dosing, Route: "im", SBPPre: Some(125), SBPMax: Some(160), DBPMax: Some(100),
			Dissociation: Some(8), SideEffects: "none", SeriousAdverseEvent: Some(false)},
		// Only some vitals: no blood-pressure figure; nothing else recorded.
		{Day: 114, Type: Dosing, Route: "sublingual", Setting: "home", SBPPre: Some(130), SBPMax: Some(185)},
		{Day: 121, Type: Dosing, Route: "sublingual", Setting: "home", SBPPre: Some(118), DBPPre: Some(76),
			SBPMax: Some(140), DBPMax: Some(88), Dissociation: Some(6), SideEffects: "dizziness",
			SeriousAdverseEvent: Some(false)},
		{Day: 101, Type: Integration},
	}
	// P2, index 200, infusion iv: four sessions with every vital, an
	// elevation in one of them (dose 3: dbp_max 110), one serious adverse
	// event (dose 3).
	p2 := make([]Session, 4)
	for i := range p2 {
		p2[i] = Session{Day: 200 + 7*i, Type: Dosing, Route: "iv", Program: "infusion",
			SBPPre: Some(120), DBPPre: Some(78), SBPMax: Some(150), DBPMax: Some(85),
			Dissociation: Some([]int{12, 9, 7, 5}[i]), SideEffects: []string{"nausea", "none", "none", "headache;nausea"}[i],
			SeriousAdverseEvent: Some(i == 2)}
	}
	p2[2].DBPMax = Some(110)
	// P3, index 300, im in person: eight doses (300..314) and one dosing
	// session after the acute window (day 400), dissociation 20 at each,
	// no vitals, side effects not recorded, no serious adverse event.
	var p3 []Session
	for d := 300; d <= 314; d += 2 {
		p3 = append(p3, Session{Day: d, Type: Dosing, Route: "im", Dissociation: Some(20), SeriousAdverseEvent: Some(false)})
	}
	p3 = append(p3, Session{Day: 400, Type: Dosing, Route: "im", Dissociation: Some(3), SeriousAdverseEvent: Some(false)})
	return [][]SafetySession{
		SessionSafetyOf(100, p1, p, sp),
		SessionSafetyOf(200, p2, p, sp),
		SessionSafetyOf(300, p3, p, sp),
	}
}

func TestSummarizeSessionSafety(t *testing.T) {
	s, err := SummarizeSessionSafety(safetyCohort(), DefaultCourseParams())
	if err != nil {
		t.Fatal(err)
	}
	// 4 + 4 + 9 = 17 dosing sessions (the integration session is none).
	if s.DosingSessions != 17 || s.Overall.DosingSessions != 17 || s.Overall.Patients != 3 {
		t.Errorf("sessions %d, %d, patients %d, want 17, 17, 3", s.DosingSessions, s.Overall.DosingSessions, s.Overall.Patients)
	}
	o := s.Overall
	// Blood pressure recorded in P1's sessions 1, 2, 4 and P2's four: 7;
	// elevated: P2's dose 3: 1/7 (prop.test(1, 7, correct = FALSE):
	// 0.025679624344743562 0.513127829274318770). Patients with a recorded
	// session: P1, P2; elevated P2: 1/2 (0.094531205734230739
	// 0.905468794265769206).
	checkProportion(t, "bp", o.BPElevation, 1, 7, 0.025679624344743562, 0.513127829274318770)
	checkProportion(t, "bp patients", o.BPElevationPatients, 1, 2, 0.094531205734230739, 0.905468794265769206)
	// Side effects recorded in P1's sessions 1, 2 ("none"), 4 and P2's
	// four: 7 sessions. nausea: P1 s1, P2 s1, P2 s4: 3/7 (0.15821985525146970
	// 0.74954163547234265); dizziness P1 s1, s4: 2/7 (0.082218924004056768
	// 0.641065548167380594); any: 4/7 (0.25045836452765724
	// 0.84178014474853013); vomiting 0/7 (0, 0.35433043506668732).
	// Patients with a recorded session: P1, P2; nausea 2/2 (0.3423802275066532, 1),
	// dizziness 1/2, vomiting 0/2 (0, 0.6576197724933468).
	checkProportion(t, "nausea", o.SideEffects["nausea"], 3, 7, 0.15821985525146970, 0.74954163547234265)
	checkProportion(t, "dizziness", o.SideEffects["dizziness"], 2, 7, 0.082218924004056768, 0.641065548167380594)
	checkProportion(t, "any", o.SideEffects[AnySideEffect], 4, 7, 0.25045836452765724, 0.84178014474853013)
	checkProportion(t, "vomiting", o.SideEffects["vomiting"], 0, 7, 0, 0.35433043506668732)
	checkProportion(t, "headache", o.SideEffects["headache"], 1, 7, 0.025679624344743562, 0.513127829274318770)
	checkProportion(t, "nausea patients", o.SideEffectsPatients["nausea"], 2, 2, 0.3423802275066532, 1)
	checkProportion(t, "dizziness patients", o.SideEffectsPatients["dizziness"], 1, 2, 0.094531205734230739, 0.905468794265769206)
	checkProportion(t, "vomiting patients", o.SideEffectsPatients["vomiting"], 0, 2, 0, 0.6576197724933468)
	if _, ok := o.SideEffects[NoSideEffects]; ok || len(o.SideEffects) != len(SideEffectVocabulary)+1 {
		t.Errorf("side-effect keys = %v", o.SideEffects)
	}
	// Dissociation by dose, t.test(x)$conf.int (R 4.2.2):
	//   dose 1: 10, 12, 20: mean 14, sd 5.29150262212918143, 0.85517878454314455 27.14482121545685445
	//   dose 2: 8, 9, 20: mean 12.3333333333333339, sd 6.6583281184793934, -4.2068706429889451 28.8735373096556138
	//   dose 3: 7, 20 (P1's dose 3 not recorded): 13.5, 9.1923881554251174, -69.0903307851355066 96.0903307851355066
	//   dose 4: 6, 5, 20: 10.3333333333333339, 8.3864970836060824, -10.4998803415366968 31.1665470082033629
	//   doses 5, 6: P3's 20 alone: n 1, mean 20, SD and limits NaN.
	// P3's doses 7 and 8 and the session after the window are in none.
	want := []struct {
		n                      int
		mean, sd, lower, upper float64
	}{
		{3, 14, 5.29150262212918143, 0.85517878454314455, 27.14482121545685445},
		{3, 12.3333333333333339, 6.6583281184793934, -4.2068706429889451, 28.8735373096556138},
		{2, 13.5, 9.1923881554251174, -69.0903307851355066, 96.0903307851355066},
		{3, 10.3333333333333339, 8.3864970836060824, -10.4998803415366968, 31.1665470082033629},
		{1, 20, nan, nan, nan},
		{1, 20, nan, nan, nan},
	}
	if len(o.DissociationByDose) != 6 {
		t.Fatalf("dissociation by dose: %d doses", len(o.DissociationByDose))
	}
	for k, w := range want {
		g := o.DissociationByDose[k]
		if g.Dose != k+1 || g.N != w.n {
			t.Errorf("dose %d: n %d, want dose %d n %d", g.Dose, g.N, k+1, w.n)
		}
		checkFloat(t, "mean", g.Mean, w.mean)
		checkFloat(t, "sd", g.SD, w.sd)
		checkFloat(t, "lower", g.Lower95, w.lower)
		checkFloat(t, "upper", g.Upper95, w.upper)
	}
	// Serious adverse events: recorded in P1's sessions 1, 2, 4, P2's four
	// and P3's nine: 16; one event: 62.5 per 1,000 sessions,
	// 1000 × poisson.test(1, 16)$conf.int = 1.5823629990181185 348.2277119336811779.
	sae := o.SeriousAdverseEvents
	if sae.Events != 1 || sae.Sessions != 16 {
		t.Errorf("sae = %+v", sae)
	}
	checkFloat(t, "per 1000", sae.Per1000, 62.5)
	checkFloat(t, "sae lower", sae.Lower95, 1.5823629990181185)
	checkFloat(t, "sae upper", sae.Upper95, 348.2277119336811779)

	// By route. im: P1's sessions 1, 2 and P3's nine: 11 sessions, 2
	// patients; blood pressure recorded in P1's two, neither elevated:
	// 0/2, patients 0/1; side effects recorded in P1's two: nausea 1/2,
	// patients 1/1; no serious adverse event in 11: 0 per 1,000,
	// 1000 × qgamma(0.975, 1)/11 = 1000 × 3.6888794541139363/11.
	im := s.ByRoute["im"]
	if im.DosingSessions != 11 || im.Patients != 2 {
		t.Errorf("im: %d sessions, %d patients", im.DosingSessions, im.Patients)
	}
	if im.BPElevation.N != 2 || im.BPElevation.Events != 0 || im.BPElevationPatients.N != 1 || im.BPElevationPatients.Events != 0 {
		t.Errorf("im bp = %+v, %+v", im.BPElevation, im.BPElevationPatients)
	}
	if im.SideEffects["nausea"].N != 2 || im.SideEffects["nausea"].Events != 1 ||
		im.SideEffectsPatients["nausea"].N != 1 || im.SideEffectsPatients["nausea"].Events != 1 {
		t.Errorf("im nausea = %+v, %+v", im.SideEffects["nausea"], im.SideEffectsPatients["nausea"])
	}
	if im.SeriousAdverseEvents.Events != 0 || im.SeriousAdverseEvents.Sessions != 11 || im.SeriousAdverseEvents.Per1000 != 0 ||
		im.SeriousAdverseEvents.Lower95 != 0 {
		t.Errorf("im sae = %+v", im.SeriousAdverseEvents)
	}
	checkFloat(t, "im sae upper", im.SeriousAdverseEvents.Upper95, 1000*3.6888794541139363/11)
	// im dissociation: dose 1: P1 10, P3 20; P1's dose 3 is sublingual.
	if d := im.DissociationByDose[0]; d.N != 2 || d.Mean != 15 {
		t.Errorf("im dose 1 = %+v", d)
	}
	if d := im.DissociationByDose[2]; d.N != 1 || d.Mean != 20 {
		t.Errorf("im dose 3 = %+v", d)
	}
	// sublingual: P1's sessions 3, 4; P1 counts through them only: side
	// effects recorded in session 4 (dizziness): patients 1/1 dizziness,
	// 0/1 nausea although P1 had nausea in an im session.
	sl := s.ByRoute["sublingual"]
	if sl.DosingSessions != 2 || sl.Patients != 1 || sl.SideEffectsPatients["dizziness"].Events != 1 ||
		sl.SideEffectsPatients["nausea"].Events != 0 || sl.SideEffectsPatients["nausea"].N != 1 {
		t.Errorf("sublingual = %+v", sl)
	}
	// iv: P2: the elevation in one session of four: 1/4 (0.045587260809700589
	// 0.699358157417597992), the patient 1/1 (0.2065493143772375, 1).
	iv := s.ByRoute["iv"]
	checkProportion(t, "iv bp", iv.BPElevation, 1, 4, 0.045587260809700589, 0.699358157417597992)
	checkProportion(t, "iv bp patients", iv.BPElevationPatients, 1, 1, 0.2065493143772375, 1)
	if len(s.ByRoute) != 3 {
		t.Errorf("routes = %v", len(s.ByRoute))
	}
	// Settings: home has P1's sessions 3 and 4; in_person the other 15.
	if s.BySetting["home"].DosingSessions != 2 || s.BySetting["in_person"].DosingSessions != 15 ||
		s.BySetting["in_person"].Patients != 3 || len(s.BySetting) != 2 {
		t.Errorf("settings = %+v", s.BySetting)
	}
	// No serious adverse event recorded at home except session 4's "no":
	// 0 in 1 session.
	if h := s.BySetting["home"].SeriousAdverseEvents; h.Sessions != 1 || h.Events != 0 {
		t.Errorf("home sae = %+v", h)
	}

	// Nobody: NaN rates, not an error.
	e, err := SummarizeSessionSafety(nil, DefaultCourseParams())
	if err != nil {
		t.Fatal(err)
	}
	checkFloat(t, "empty sae", e.Overall.SeriousAdverseEvents.Per1000, nan)
	checkFloat(t, "empty bp", e.Overall.BPElevation.Rate, nan)
}
