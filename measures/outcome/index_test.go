package outcome

import "testing"

func TestIndexDay(t *testing.T) {
	tests := []struct {
		name           string
		sessions       []Session
		anySessions    bool
		firstAssess    int
		hasAssessments bool
		wantDay        int
		wantOK         bool
		wantReason     string
	}{
		{
			// Unordered: the earliest dosing session is day 100; the
			// preparation (80) and integration (101) sessions do not count.
			name: "FirstDosing",
			sessions: []Session{
				{Day: 110, Type: Dosing, Route: "sublingual"},
				{Day: 80, Type: Preparation},
				{Day: 101, Type: Integration},
				{Day: 100, Type: Dosing, Route: "sublingual"},
			},
			anySessions: true, firstAssess: 70, hasAssessments: true,
			wantDay: 100, wantOK: true,
		},
		{
			// Maintenance dosing is not the start of a course.
			name: "NoDosingSession",
			sessions: []Session{
				{Day: 80, Type: Preparation},
				{Day: 120, Type: Maintenance, Route: "im"},
			},
			anySessions: true, firstAssess: 70, hasAssessments: true,
			wantReason: ReasonNoDosingSession,
		},
		{
			// The warehouse has sessions, this patient none.
			name:        "NoSessionsForPatient",
			anySessions: true, firstAssess: 70, hasAssessments: true,
			wantReason: ReasonNoDosingSession,
		},
		{
			// No sessions anywhere: the first assessment day is the index.
			name:        "AssessmentOnly",
			anySessions: false, firstAssess: 42, hasAssessments: true,
			wantDay: 42, wantOK: true,
		},
		{
			// Assessment-only mode ignores sessions passed anyway.
			name:        "AssessmentOnlyIgnoresSessions",
			sessions:    []Session{{Day: 10, Type: Dosing, Route: "iv"}},
			anySessions: false, firstAssess: 42, hasAssessments: true,
			wantDay: 42, wantOK: true,
		},
		{
			name:        "AssessmentOnlyNoAssessments",
			anySessions: false, hasAssessments: false,
			wantReason: ReasonNoAssessments,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			day, ok, reason := IndexDay(tt.sessions, tt.anySessions, tt.firstAssess, tt.hasAssessments)
			if day != tt.wantDay || ok != tt.wantOK || reason != tt.wantReason {
				t.Errorf("IndexDay = (%d, %v, %q), want (%d, %v, %q)",
					day, ok, reason, tt.wantDay, tt.wantOK, tt.wantReason)
			}
		})
	}
}
