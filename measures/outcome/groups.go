package outcome

// Unknown labels a group the data cannot tell, e.g. the route of a patient
// in assessment-only mode.
const Unknown = "unknown"

// Integration exposure buckets.
const (
	IntegrationNone = "0"
	IntegrationFew  = "1-3"
	IntegrationMany = ">=4"
)

// Groups are the labels an episode is reported by.
type Groups struct {
	Route   string
	Program string
	Setting string
	Clinic  string
	// IntegrationSessions counts the integration sessions in the acute
	// window; Integration is its bucket (IntegrationBucket).
	IntegrationSessions int
	Integration         string
}

// GroupsOf returns the groups of a patient whose index day is index.
// Route, program, setting and clinic are those of the first dosing session,
// with program "kap" and setting "in_person" when the session leaves them
// empty, and Unknown for an empty route or clinic. The integration exposure
// counts Integration sessions with index < day <= index+AcuteDays.
//
// In assessment-only mode (the patient has no dosing session) the clinic is
// baselineClinic, the clinic of the baseline assessment, and route,
// program, setting and integration exposure are Unknown: without sessions
// the data cannot tell them, and labelling such patients "kap" or "0" would
// mix them into the treated groups.
func GroupsOf(sessions []Session, index int, baselineClinic string, p Params) Groups {
	first, ok := firstDosing(sessions)
	if !ok {
		return Groups{
			Route:       Unknown,
			Program:     Unknown,
			Setting:     Unknown,
			Clinic:      orUnknown(baselineClinic),
			Integration: Unknown,
		}
	}
	n := 0
	for _, s := range sessions {
		if s.Type == Integration && inAcute(index, s.Day, p) {
			n++
		}
	}
	return Groups{
		Route:               orUnknown(first.Route),
		Program:             orDefault(first.Program, "kap"),
		Setting:             orDefault(first.Setting, "in_person"),
		Clinic:              orUnknown(first.Clinic),
		IntegrationSessions: n,
		Integration:         IntegrationBucket(n),
	}
}

// IntegrationBucket returns the exposure bucket of n integration sessions:
// "0", "1-3" or ">=4".
func IntegrationBucket(n int) string {
	switch {
	case n <= 0:
		return IntegrationNone
	case n <= 3:
		return IntegrationFew
	default:
		return IntegrationMany
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func orUnknown(s string) string { return orDefault(s, Unknown) }
