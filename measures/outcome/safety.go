package outcome

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/kapstat/kapstat/measures/stats"
)

// SideEffectVocabulary is the closed list of side-effect codes a session
// may record, besides "none".
var SideEffectVocabulary = []string{
	"nausea", "vomiting", "dizziness", "headache", "confusion", "anxiety",
	"dissociation", "hypertension", "other",
}

// NoSideEffects is the code that records a session without side effects.
const NoSideEffects = "none"

// AnySideEffect is the key of the figure "any side effect" beside the
// per-code figures.
const AnySideEffect = "any"

// SideEffectCodes splits a session's side_effects field into its codes,
// sorted and without repeats or "none". recorded is false for an empty
// field (not recorded); "none" is recorded with no codes.
func SideEffectCodes(field string) (codes []string, recorded bool) {
	for _, c := range strings.Split(field, ";") {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		recorded = true
		if c != NoSideEffects && !slices.Contains(codes, c) {
			codes = append(codes, c)
		}
	}
	slices.Sort(codes)
	return codes, recorded
}

// SafetyParams are the blood-pressure thresholds of the session-safety
// figures, in mmHg.
type SafetyParams struct {
	// A session's blood pressure is elevated when sbp_max >= SBPMax, or
	// dbp_max >= DBPMax, or sbp_max - sbp_pre >= SBPRise.
	SBPMax  int
	DBPMax  int
	SBPRise int
}

// DefaultSafetyParams returns the documented defaults: 180 mmHg systolic,
// 110 mmHg diastolic, a systolic rise of 40 mmHg.
func DefaultSafetyParams() SafetyParams {
	return SafetyParams{SBPMax: 180, DBPMax: 110, SBPRise: 40}
}

// Validate reports thresholds that make the figure meaningless.
func (sp SafetyParams) Validate() error {
	var errs []error
	if sp.SBPMax <= 0 {
		errs = append(errs, fmt.Errorf("sbp_max = %d, want > 0", sp.SBPMax))
	}
	if sp.DBPMax <= 0 {
		errs = append(errs, fmt.Errorf("dbp_max = %d, want > 0", sp.DBPMax))
	}
	if sp.SBPRise <= 0 {
		errs = append(errs, fmt.Errorf("sbp_rise = %d, want > 0", sp.SBPRise))
	}
	return errors.Join(errs...)
}

// SafetySession is what one dosing session contributes to the session-
// safety figures.
type SafetySession struct {
	Day int
	// Route is the session's own route (Unknown when empty), Setting its
	// own setting ("in_person" when empty).
	Route   string
	Setting string
	// Dose is the session's dose number k (the k-th of Doses), 0 for a
	// dosing session after the acute window.
	Dose int
	// SideEffects are the codes of side_effects (SideEffectCodes) when it
	// was recorded ("none" included: SideEffectsRecorded).
	SideEffects         []string
	Dissociation        Optional[int]
	SeriousAdverseEvent Optional[bool]
	// BPRecorded is true when sbp_pre, sbp_max and dbp_max were all
	// recorded; BPElevated is then the elevation rule of SafetyParams.
	// (The flags follow the two-byte SeriousAdverseEvent, without padding.)
	BPRecorded          bool
	BPElevated          bool
	SideEffectsRecorded bool
}

// SessionSafetyOf returns one SafetySession per Dosing session of a patient
// whose index day is index, in day order (as Doses orders them), from the
// patient's sessions in any order. Every dosing session counts, also after
// the acute window; Maintenance sessions are not dosing sessions here.
//
//	dose       = k for the k-th dosing session with index <= day <= index+AcuteDays, else 0
//	bp         = recorded when sbp_pre, sbp_max and dbp_max all are;
//	             elevated = sbp_max >= SBPMax or dbp_max >= DBPMax or sbp_max - sbp_pre >= SBPRise
//
// dbp_pre, hr_pre and hr_max are in no figure. A session with only some of
// the three values has no blood-pressure figure, even when the recorded ones
// alone would show an elevation: the rate is over sessions where the rule
// could be applied in full.
func SessionSafetyOf(index int, sessions []Session, p Params, sp SafetyParams) []SafetySession {
	dosing := make([]Session, 0, len(sessions))
	for _, s := range sessions {
		if s.Type == Dosing {
			dosing = append(dosing, s)
		}
	}
	slices.SortStableFunc(dosing, compareSessions)
	out := make([]SafetySession, 0, len(dosing))
	k := 0
	for _, s := range dosing {
		r := SafetySession{
			Day:                 s.Day,
			Route:               orUnknown(s.Route),
			Setting:             orDefault(s.Setting, "in_person"),
			Dissociation:        s.Dissociation,
			SeriousAdverseEvent: s.SeriousAdverseEvent,
		}
		if index <= s.Day && s.Day <= index+p.AcuteDays {
			k++
			r.Dose = k
		}
		if s.SBPPre.Valid && s.SBPMax.Valid && s.DBPMax.Valid {
			r.BPRecorded = true
			r.BPElevated = s.SBPMax.Value >= sp.SBPMax || s.DBPMax.Value >= sp.DBPMax ||
				s.SBPMax.Value-s.SBPPre.Value >= sp.SBPRise
		}
		r.SideEffects, r.SideEffectsRecorded = SideEffectCodes(s.SideEffects)
		out = append(out, r)
	}
	return out
}

// DoseMean is the mean dissociation at dose k: an element of
// dissociation_by_dose.
type DoseMean struct {
	Dose int
	stats.MeanCI
}

// MarshalJSON writes the mean with NaN as null.
func (d DoseMean) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Dose    int    `json:"dose"`
		N       int    `json:"n"`
		Mean    number `json:"mean"`
		SD      number `json:"sd"`
		Lower95 number `json:"lower95"`
		Upper95 number `json:"upper95"`
	}{d.Dose, d.N, number(d.Mean), number(d.SD), number(d.Lower95), number(d.Upper95)})
}

// AdverseEventRate is the serious-adverse-event count over the dosing
// sessions that recorded serious_adverse_event, per 1,000 sessions with the
// exact Poisson 95% interval; NaN (null) without such sessions.
type AdverseEventRate struct {
	Events   int
	Sessions int
	Per1000  float64
	Lower95  float64
	Upper95  float64
}

// MarshalJSON writes the rate with NaN as null.
func (a AdverseEventRate) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Events   int    `json:"events"`
		Sessions int    `json:"sessions"`
		Per1000  number `json:"per_1000"`
		Lower95  number `json:"lower95"`
		Upper95  number `json:"upper95"`
	}{a.Events, a.Sessions, number(a.Per1000), number(a.Lower95), number(a.Upper95)})
}

// SafetyFigures are the session-safety figures of a set of dosing sessions
// (all, one route's or one setting's).
type SafetyFigures struct {
	// DosingSessions and Patients count the sessions and the patients with
	// at least one of them.
	DosingSessions int `json:"dosing_sessions"`
	Patients       int `json:"patients"`
	// BPElevation is over the sessions with the blood pressure recorded,
	// BPElevationPatients over the patients with at least one such session
	// (elevated when any is).
	BPElevation         stats.Proportion `json:"bp_elevation"`
	BPElevationPatients stats.Proportion `json:"bp_elevation_patients"`
	// SideEffects has one rate per code of SideEffectVocabulary (and any
	// other code found) and AnySideEffect, over the sessions with
	// side_effects recorded; SideEffectsPatients the same over the
	// patients with at least one such session (a patient has the code when
	// any of those sessions has it).
	SideEffects         map[string]stats.Proportion `json:"side_effects"`
	SideEffectsPatients map[string]stats.Proportion `json:"side_effects_patients"`
	// DissociationByDose holds doses 1..MaxDose: the CADSS-6 totals of the
	// sessions with that dose number and a recorded dissociation.
	DissociationByDose []DoseMean `json:"dissociation_by_dose"`
	// SeriousAdverseEvents is over the sessions with serious_adverse_event
	// recorded.
	SeriousAdverseEvents AdverseEventRate `json:"serious_adverse_events"`
}

// SessionSafetySummary is the JSON key session_safety.
type SessionSafetySummary struct {
	DosingSessions int                      `json:"dosing_sessions"`
	Overall        SafetyFigures            `json:"overall"`
	ByRoute        map[string]SafetyFigures `json:"by_route"`
	BySetting      map[string]SafetyFigures `json:"by_setting"`
}

// SummarizeSessionSafety summarises the dosing sessions of the patients,
// one slice of SessionSafetyOf per patient, overall, by route and by setting
// (each session's own; a patient counts in a route's per-patient figures
// through the patient's sessions of that route). Each rate is over the
// sessions, or patients, where the field was recorded:
//
//	bp_elevation            #elevated / #sessions with bp recorded          (Wilson 95%)
//	bp_elevation_patients   #patients with an elevated session /
//	                        #patients with a session with bp recorded       (Wilson 95%)
//	side_effects[c]         #sessions listing c / #sessions with side effects recorded
//	side_effects_patients[c] #patients with a session listing c /
//	                        #patients with a session with side effects recorded
//	dissociation_by_dose[k] n, mean, SD, mean ± t_{0.975,n−1}·SD/√n over the
//	                        sessions with dose number k             (t.test(x)$conf.int)
//	serious_adverse_events  x = #yes, T = #sessions with it recorded;
//	                        1000·x/T with 1000·poisson.test(x, T)$conf.int/T
//
// Wilson limits are R's prop.test(x, n, correct = FALSE)$conf.int; a rate
// over nobody is NaN (null).
func SummarizeSessionSafety(patients [][]SafetySession, cp CourseParams) (SessionSafetySummary, error) {
	out := SessionSafetySummary{ByRoute: map[string]SafetyFigures{}, BySetting: map[string]SafetyFigures{}}
	var routes, settings []string
	for _, ss := range patients {
		for _, s := range ss {
			out.DosingSessions++
			if !slices.Contains(routes, s.Route) {
				routes = append(routes, s.Route)
			}
			if !slices.Contains(settings, s.Setting) {
				settings = append(settings, s.Setting)
			}
		}
	}
	var err error
	if out.Overall, err = safetyFigures(patients, cp, func(SafetySession) bool { return true }); err != nil {
		return out, err
	}
	for _, r := range routes {
		if out.ByRoute[r], err = safetyFigures(patients, cp, func(s SafetySession) bool { return s.Route == r }); err != nil {
			return out, err
		}
	}
	for _, st := range settings {
		if out.BySetting[st], err = safetyFigures(patients, cp, func(s SafetySession) bool { return s.Setting == st }); err != nil {
			return out, err
		}
	}
	return out, nil
}

func safetyFigures(patients [][]SafetySession, cp CourseParams, keep func(SafetySession) bool) (SafetyFigures, error) {
	var f SafetyFigures
	codes := slices.Clone(SideEffectVocabulary)
	codes = append(codes, AnySideEffect)
	type count struct{ n, events int }
	sessBP, patBP := count{}, count{}
	sessSE, patSE := map[string]int{}, map[string]int{}
	nSessSE, nPatSE := 0, 0
	dissociation := make([][]float64, cp.MaxDose+1)
	sae := count{}
	for _, ss := range patients {
		seen := false
		bpSeen, bpElevated := false, false
		seSeen := false
		patCodes := map[string]bool{}
		for _, s := range ss {
			if !keep(s) {
				continue
			}
			seen = true
			f.DosingSessions++
			if s.BPRecorded {
				sessBP.n++
				bpSeen = true
				if s.BPElevated {
					sessBP.events++
					bpElevated = true
				}
			}
			if s.SideEffectsRecorded {
				nSessSE++
				seSeen = true
				for _, c := range s.SideEffects {
					sessSE[c]++
					patCodes[c] = true
					if !slices.Contains(codes, c) {
						codes = append(codes, c)
					}
				}
				if len(s.SideEffects) > 0 {
					sessSE[AnySideEffect]++
					patCodes[AnySideEffect] = true
				}
			}
			if s.Dissociation.Valid && s.Dose >= 1 && s.Dose <= cp.MaxDose {
				dissociation[s.Dose] = append(dissociation[s.Dose], float64(s.Dissociation.Value))
			}
			if s.SeriousAdverseEvent.Valid {
				sae.n++
				if s.SeriousAdverseEvent.Value {
					sae.events++
				}
			}
		}
		if !seen {
			continue
		}
		f.Patients++
		if bpSeen {
			patBP.n++
			if bpElevated {
				patBP.events++
			}
		}
		if seSeen {
			nPatSE++
			for c := range patCodes {
				patSE[c]++
			}
		}
	}
	var err error
	if f.BPElevation, err = stats.Wilson(sessBP.events, sessBP.n); err != nil {
		return f, err
	}
	if f.BPElevationPatients, err = stats.Wilson(patBP.events, patBP.n); err != nil {
		return f, err
	}
	f.SideEffects = make(map[string]stats.Proportion, len(codes))
	f.SideEffectsPatients = make(map[string]stats.Proportion, len(codes))
	for _, c := range codes {
		if f.SideEffects[c], err = stats.Wilson(sessSE[c], nSessSE); err != nil {
			return f, err
		}
		if f.SideEffectsPatients[c], err = stats.Wilson(patSE[c], nPatSE); err != nil {
			return f, err
		}
	}
	f.DissociationByDose = make([]DoseMean, 0, cp.MaxDose)
	for k := 1; k <= cp.MaxDose; k++ {
		m, err := stats.MeanInterval(dissociation[k])
		if err != nil {
			return f, err
		}
		f.DissociationByDose = append(f.DissociationByDose, DoseMean{Dose: k, MeanCI: m})
	}
	f.SeriousAdverseEvents = AdverseEventRate{Events: sae.events, Sessions: sae.n,
		Per1000: math.NaN(), Lower95: math.NaN(), Upper95: math.NaN()}
	if sae.n > 0 {
		r, err := stats.PoissonInterval(sae.events, float64(sae.n)/1000)
		if err != nil {
			return f, err
		}
		f.SeriousAdverseEvents.Per1000, f.SeriousAdverseEvents.Lower95, f.SeriousAdverseEvents.Upper95 = r.Rate, r.Lower95, r.Upper95
	}
	return f, nil
}
