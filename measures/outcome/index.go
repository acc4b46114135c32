package outcome

// Session types.
const (
	Preparation = "preparation"
	Dosing      = "dosing"
	Integration = "integration"
	Maintenance = "maintenance"
)

// Session is one treatment session of a patient.
//
// The fields after Clinic are what the care team may record at a dosing
// session (all optional). A value that was not recorded is the zero value
// of its field: an Optional with Valid false, or an empty SideEffects. So a
// Session built without them has none of them recorded, never a recorded 0.
type Session struct {
	Day     int
	Type    string // Preparation, Dosing, Integration or Maintenance
	Route   string // for Dosing and Maintenance: sublingual, im, iv, intranasal, oral
	Program string // kap or infusion; "" means kap
	Setting string // in_person, home or telehealth; "" means in_person
	Clinic  string

	// DoseMg is the ketamine dose in mg (dose_mg), a positive number.
	DoseMg Optional[float64]
	// SBPPre, DBPPre and HRPre are the systolic and diastolic blood
	// pressure (mmHg) and heart rate (bpm) before the dose; SBPMax, DBPMax
	// and HRMax the highest during monitoring.
	SBPPre, DBPPre, HRPre Optional[int]
	SBPMax, DBPMax, HRMax Optional[int]
	// Dissociation is the CADSS-6 total, 0–24.
	Dissociation Optional[int]
	// SideEffects holds the side-effect codes as recorded, separated by
	// ";" (nausea, vomiting, dizziness, headache, confusion, anxiety,
	// dissociation, hypertension, other), or "none" when the team recorded
	// that there were none. "" means not recorded. See SideEffectCodes.
	SideEffects string
	// SeriousAdverseEvent is serious_adverse_event: yes (true) or no.
	SeriousAdverseEvent Optional[bool]
}

// Optional is a value that may not have been recorded. The zero value is
// "not recorded"; Some(v) is a recorded v.
type Optional[T any] struct {
	Value T
	Valid bool
}

// Some returns v as a recorded value.
func Some[T any](v T) Optional[T] { return Optional[T]{Value: v, Valid: true} }

// IndexDay returns the index day of a patient: the day of the first Dosing
// session among the patient's sessions, in any order.
//
// When the warehouse holds no sessions at all (anySessionsInWarehouse is
// false), kapstat runs in assessment-only mode and the index day is
// firstAssessmentDay, the patient's first assessment day over all
// instruments; hasAssessments false then gives ReasonNoAssessments.
// When the warehouse holds sessions but none of the patient's is a dosing
// session, the patient is excluded with ReasonNoDosingSession.
func IndexDay(sessions []Session, anySessionsInWarehouse bool, firstAssessmentDay int, hasAssessments bool) (day int, ok bool, reason string) {
	if !anySessionsInWarehouse {
		if !hasAssessments {
			return 0, false, ReasonNoAssessments
		}
		return firstAssessmentDay, true, ""
	}
	first, ok := firstDosing(sessions)
	if !ok {
		return 0, false, ReasonNoDosingSession
	}
	return first.Day, true, ""
}

// firstDosing returns the earliest Dosing session. Same-day dosing sessions
// are ordered by their fields so the choice does not depend on input order.
func firstDosing(sessions []Session) (Session, bool) {
	var first Session
	found := false
	for _, s := range sessions {
		if s.Type != Dosing {
			continue
		}
		if !found || sessionLess(s, first) {
			first, found = s, true
		}
	}
	return first, found
}

func sessionLess(a, b Session) bool {
	if a.Day != b.Day {
		return a.Day < b.Day
	}
	ka := [...]string{a.Clinic, a.Route, a.Program, a.Setting}
	kb := [...]string{b.Clinic, b.Route, b.Program, b.Setting}
	for i := range ka {
		if ka[i] != kb[i] {
			return ka[i] < kb[i]
		}
	}
	return false
}
