package outcome

// Session types.
const (
	Preparation = "preparation"
	Dosing      = "dosing"
	Integration = "integration"
	Maintenance = "maintenance"
)

// Session is one treatment session of a patient.
type Session struct {
	Day     int
	Type    string // Preparation, Dosing, Integration or Maintenance
	Route   string // for Dosing and Maintenance: sublingual, im, iv, intranasal, oral
	Program string // kap or infusion; "" means kap
	Setting string // in_person, home or telehealth; "" means in_person
	Clinic  string
}

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
