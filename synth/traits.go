package synth

import (
	"math"
	"strconv"
)

// Patient characteristics (the patients file) and what the care team records at a dosing
// session (the session-safety columns). Both come from streams of their own, so that they
// change nothing else a patient's stream draws; only treatment resistance, drawn first,
// shapes the rest of the patient (its class of trajectory).

// The patients file header (SPEC 3.1).
const patientsHeader = "patient_id,age,sex,diagnosis,prior_treatments\n"

// safetyHeader is appended to the sessions header.
const safetyHeader = ",sbp_pre,dbp_pre,hr_pre,sbp_max,dbp_max,hr_max,dissociation,side_effects,serious_adverse_event"

// trdShare is the share of treatment-resistant patients (2 or more prior adequate trials) by
// program: infusion clinics see more of them (McInnes 2022; Oliver 2022), KAP programs fewer.
var trdShare = [2]float64{0.35, 0.75}

// classCuts are the thresholds of the class draw u (rapid below the first, gradual below the
// second, no change above) for a patient with prior adequate trials: each trial makes a rapid
// improvement less likely and no change more likely, in proportion, so that a model with
// prior_treatments as a number can allow for it. Over the cohort (43% resistant) the shares
// stay near 55/30/15.
func classCuts(prior int) (rapid, gradual float64) {
	rapid = max(0.15, 0.70-0.09*float64(prior))
	none := min(0.5, 0.07+0.05*float64(prior))
	return rapid, 1 - none
}

// severityShift moves the baseline mean, in baseline SDs: infusion clinics treat more severe
// depression; at-home programs screen out the most severe patients.
func severityShift(p *patient) float64 {
	switch {
	case p.program == progInfusion:
		return 0.5
	case p.setting == settingHome:
		return -0.6
	}
	return 0
}

// traits are a patient's characteristics as written; -1 / "" when not written.
type traits struct {
	age, prior     int
	sex, diagnosis string
	trd            bool
	// ageText, when set, is written instead of age (planted bad rows).
	ageText string
}

var (
	sexNames  = []string{"female", "male", "other", "unknown", ""}
	sexShares = []float64{0.58, 0.38, 0.02, 0.01, 0.01}
	diagNames = []string{"depression", "ptsd", "anxiety", "bipolar", "other"}
	// by program: infusion clinics see mostly depression
	diagShares = [2][]float64{{0.62, 0.18, 0.12, 0.04, 0.04}, {0.75, 0.10, 0.05, 0.06, 0.04}}
	// mean age by program (SD 12): infusion patients are older
	ageMean = [2]float64{41, 48}
)

// pick returns the index chosen by u among shares (which sum to 1).
func pick(u float64, shares []float64) int {
	for k, s := range shares {
		if u < s {
			return k
		}
		u -= s
	}
	return len(shares) - 1
}

// drawResistance draws the number of prior adequate trials, and so treatment resistance (2
// or more), from the traits stream, before the class it shapes; the traits drawn later
// (drawTraits) can depend on the patient's other facts.
func (g *generator) drawResistance(p *patient) {
	r := g.tr
	p.trd = r.Float64() < trdShare[p.program]
	p.prior = r.IntN(2) // 0 or 1 without resistance
	if p.trd {
		p.prior = 2
		for p.prior < 12 && r.Float64() < 0.55 {
			p.prior++
		}
	}
}

// drawTraits draws the rest of the patient's characteristics.
func (g *generator) drawTraits(p *patient) {
	r := g.tr
	t := traits{age: -1, prior: -1, trd: p.trd}
	age := roundInt(ageMean[p.program] + 12*r.NormFloat64())
	if r.Float64() >= 0.02 {
		t.age = clampInt(age, 18, 95)
	}
	t.sex = sexNames[pick(r.Float64(), sexShares)]
	d := diagNames[pick(r.Float64(), diagShares[p.program])]
	if r.Float64() >= 0.03 {
		t.diagnosis = d
	}
	if r.Float64() >= 0.04 {
		t.prior = p.prior
	}
	p.traits = t
}

func (g *generator) appendPatient(b []byte, i int, t *traits) []byte {
	b = g.appendID(b, i)
	b = append(b, ',')
	switch {
	case t.ageText != "":
		b = append(b, t.ageText...)
	case t.age >= 90:
		b = append(b, "90+"...)
	case t.age >= 0:
		b = strconv.AppendInt(b, int64(t.age), 10)
	}
	b = append(b, ',')
	b = append(b, t.sex...)
	b = append(b, ',')
	b = append(b, t.diagnosis...)
	b = append(b, ',')
	if t.prior >= 0 {
		b = strconv.AppendInt(b, int64(t.prior), 10)
	}
	return append(b, '\n')
}

// Side-effect codes as bits, in the order of the closed list.
var sideEffectNames = [9]string{"nausea", "vomiting", "dizziness", "headache", "confusion", "anxiety",
	"dissociation", "hypertension", "other"}

const (
	seNausea = iota
	seVomiting
	seDizziness
	seHeadache
	seConfusion
	seAnxiety
	seDissociation
	seHypertension
	seOther
)

// sideEffectRate is the chance per dosing session of each code (hypertension and
// dissociation are drawn from the session's own values instead).
var sideEffectRate = [9]float64{0.20, 0.04, 0.16, 0.08, 0.05, 0.07, 0, 0, 0.02}

// safety is what was recorded at one session; zero (recorded false) for a non-dosing one.
type safety struct {
	vitals       [6]int16 // sbp_pre, dbp_pre, hr_pre, sbp_max, dbp_max, hr_max; 0 = not recorded
	dissociation int8     // -1 = not recorded
	effects      uint16   // bits of sideEffectNames
	effectsRec   bool     // side_effects recorded (none when effects == 0)
	sae          int8     // -1 not recorded, 0 no, 1 yes
	recorded     bool
}

// Rise in systolic pressure during monitoring by route, mmHg (mean): larger for the routes
// that reach the blood fastest.
var sbpRise = [4]float64{routeSublingual: 11, routeIM: 20, routeIntranasal: 16, routeIV: 18}

// vitalClamp bounds the drawn vital signs (sbp_pre … hr_max), inside the ranges kapstat
// accepts.
var vitalClamp = [6][2]int{{90, 200}, {50, 120}, {45, 130}, {90, 255}, {50, 155}, {45, 215}}

// Peak CADSS-6 at the first dose by route; dissociation fades as patients get used to the dose.
var dissociationPeak = [4]float64{routeSublingual: 7, routeIM: 13, routeIntranasal: 10, routeIV: 12}

// recordSafety draws the safety columns of the patient's dosing and maintenance sessions, in
// day order (call after sortRows), from the safety stream.
func (g *generator) recordSafety() {
	r := g.sr
	hypertensive := r.Float64() < 0.10 // a raised resting pressure
	k := 0
	for j := range g.sessions {
		s := &g.sessions[j]
		if s.kind != sessDosing && s.kind != sessMaintenance {
			continue
		}
		k++
		sf := safety{recorded: true, dissociation: -1, sae: -1}
		vitalsKept := [3]float64{settingInPerson: 0.95, settingHome: 0.25, settingTelehealth: 0.60}[s.setting]
		elevated := false
		if r.Float64() < vitalsKept {
			sbp := 124 + 13*r.NormFloat64()
			if hypertensive {
				sbp += 18
			}
			dbp := 79 + 8*r.NormFloat64()
			hr := 74 + 10*r.NormFloat64()
			rise := math.Max(0, sbpRise[s.route]+8*r.NormFloat64())
			if r.Float64() < 0.04 { // a surge
				rise = 35 + 25*r.Float64()
			}
			sbpMax := sbp + rise
			dbpMax := dbp + math.Max(0, 0.55*rise+4*r.NormFloat64())
			hrMax := hr + math.Max(0, 9+6*r.NormFloat64())
			vals := [6]float64{sbp, dbp, hr, sbpMax, dbpMax, hrMax}
			for v := range vals {
				sf.vitals[v] = int16(clampInt(roundInt(vals[v]), vitalClamp[v][0], vitalClamp[v][1]))
			}
			if r.Float64() < 0.03 { // heart rate not charted
				sf.vitals[2], sf.vitals[5] = 0, 0
			}
			pre, top, dtop := int(sf.vitals[0]), int(sf.vitals[3]), int(sf.vitals[4])
			elevated = top >= 180 || dtop >= 110 || top-pre >= 40
		}
		if r.Float64() < [3]float64{0.90, 0.60, 0.75}[s.setting] {
			peak := dissociationPeak[s.route]
			mean := peak * (0.45 + 0.55*math.Exp(-float64(k-1)/2))
			sf.dissociation = int8(clampInt(roundInt(mean+3*r.NormFloat64()), 0, 24))
		}
		if r.Float64() < 0.92 {
			sf.effectsRec = true
			fade := 1 / (1 + 0.1*float64(k-1))
			for c, p := range sideEffectRate {
				if r.Float64() < p*fade {
					sf.effects |= 1 << c
				}
			}
			if sf.dissociation >= 14 && r.Float64() < 0.5 {
				sf.effects |= 1 << seDissociation
			}
			if elevated && r.Float64() < 0.6 {
				sf.effects |= 1 << seHypertension
			}
		}
		if r.Float64() < 0.90 {
			sf.sae = 0
			if r.Float64() < 0.002 {
				sf.sae = 1
			}
		}
		s.safety = sf
	}
}

// appendSafety appends the safety columns of a session, each after a comma; column bad
// (0–8, or -1 for none) is written as badVal instead.
func appendSafety(b []byte, sf *safety, bad int, badVal string) []byte {
	for c := range 9 {
		b = append(b, ',')
		if c == bad {
			b = append(b, badVal...)
			continue
		}
		if !sf.recorded {
			continue
		}
		switch {
		case c < 6:
			if v := sf.vitals[c]; v > 0 {
				b = strconv.AppendInt(b, int64(v), 10)
			}
		case c == 6:
			if sf.dissociation >= 0 {
				b = strconv.AppendInt(b, int64(sf.dissociation), 10)
			}
		case c == 7:
			if !sf.effectsRec {
				continue
			}
			if sf.effects == 0 {
				b = append(b, "none"...)
			}
			first := true
			for e, name := range sideEffectNames {
				if sf.effects&(1<<e) != 0 {
					if !first {
						b = append(b, ';')
					}
					b = append(b, name...)
					first = false
				}
			}
		case c == 8:
			switch sf.sae {
			case 0:
				b = append(b, "no"...)
			case 1:
				b = append(b, "yes"...)
			}
		}
	}
	return b
}
