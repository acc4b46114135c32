package outcome

import (
	"fmt"
	"testing"
)

func TestGroupsOf(t *testing.T) {
	dose := Session{Day: 100, Type: Dosing, Route: "sublingual", Clinic: "c1"}
	// integrations returns n integration sessions on days 101, 102, ...
	integrations := func(n int) []Session {
		var s []Session
		for i := range n {
			s = append(s, Session{Day: 101 + i, Type: Integration, Clinic: "c1"})
		}
		return s
	}
	with := func(extra ...[]Session) []Session {
		s := []Session{dose}
		for _, e := range extra {
			s = append(s, e...)
		}
		return s
	}
	tests := []struct {
		name           string
		sessions       []Session
		baselineClinic string
		want           Groups
	}{
		{
			// Integration sessions on the index day (100, not > 100) and on
			// day 157 (> 156) are outside the acute window: 0.
			name: "NoIntegration",
			sessions: with([]Session{
				{Day: 80, Type: Preparation},
				{Day: 100, Type: Integration},
				{Day: 157, Type: Integration},
			}),
			want: Groups{Route: "sublingual", Program: "kap", Setting: "in_person",
				Clinic: "c1", IntegrationSessions: 0, Integration: "0"},
		},
		{
			// Days 101, 102 and the last acute day 156: 3.
			name:     "ThreeIntegration",
			sessions: with(integrations(2), []Session{{Day: 156, Type: Integration}}),
			want: Groups{Route: "sublingual", Program: "kap", Setting: "in_person",
				Clinic: "c1", IntegrationSessions: 3, Integration: "1-3"},
		},
		{
			// Days 101..104: 4.
			name:     "FourIntegration",
			sessions: with(integrations(4)),
			want: Groups{Route: "sublingual", Program: "kap", Setting: "in_person",
				Clinic: "c1", IntegrationSessions: 4, Integration: ">=4"},
		},
		{
			// The earliest dosing session (day 100, listed second) decides:
			// iv infusion at home in clinic c2, not the im session of day 120.
			// The integration session on day 110 is in the window: 1.
			name: "FirstDosingDecides",
			sessions: []Session{
				{Day: 120, Type: Dosing, Route: "im", Program: "kap", Setting: "in_person", Clinic: "c1"},
				{Day: 100, Type: Dosing, Route: "iv", Program: "infusion", Setting: "home", Clinic: "c2"},
				{Day: 110, Type: Integration, Clinic: "c3"},
			},
			want: Groups{Route: "iv", Program: "infusion", Setting: "home",
				Clinic: "c2", IntegrationSessions: 1, Integration: "1-3"},
		},
		{
			// Assessment-only mode: no sessions; the baseline's clinic.
			name:           "AssessmentOnly",
			baselineClinic: "c9",
			want: Groups{Route: Unknown, Program: Unknown, Setting: Unknown,
				Clinic: "c9", Integration: Unknown},
		},
		{
			name: "AssessmentOnlyNoClinic",
			want: Groups{Route: Unknown, Program: Unknown, Setting: Unknown,
				Clinic: Unknown, Integration: Unknown},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := GroupsOf(tt.sessions, index, tt.baselineClinic, DefaultParams())
			if got != tt.want {
				t.Errorf("GroupsOf\n got  %+v\n want %+v", got, tt.want)
			}
		})
	}
}

func TestIntegrationBucket(t *testing.T) {
	for n, want := range map[int]string{0: "0", 1: "1-3", 3: "1-3", 4: ">=4", 10: ">=4"} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			if got := IntegrationBucket(n); got != want {
				t.Errorf("IntegrationBucket(%d) = %q, want %q", n, got, want)
			}
		})
	}
}

// Two dosing sessions on the same day should not happen, but if they do the
// choice must not depend on input order: clinics, then routes, then
// programs, then settings are compared, and the smallest wins.
func TestGroupsOfSameDayDosing(t *testing.T) {
	tests := []struct {
		name string
		a, b Session
		want Groups
	}{
		{
			name: "ByClinic",
			a:    Session{Day: 100, Type: Dosing, Route: "sublingual", Clinic: "c2"},
			b:    Session{Day: 100, Type: Dosing, Route: "iv", Clinic: "c1"},
			want: Groups{Route: "iv", Program: "kap", Setting: "in_person", Clinic: "c1", Integration: "0"},
		},
		{
			name: "ByRoute",
			a:    Session{Day: 100, Type: Dosing, Route: "sublingual", Clinic: "c1"},
			b:    Session{Day: 100, Type: Dosing, Route: "im", Clinic: "c1"},
			want: Groups{Route: "im", Program: "kap", Setting: "in_person", Clinic: "c1", Integration: "0"},
		},
		{
			name: "ByProgram",
			a:    Session{Day: 100, Type: Dosing, Route: "iv", Program: "kap", Clinic: "c1"},
			b:    Session{Day: 100, Type: Dosing, Route: "iv", Program: "infusion", Clinic: "c1"},
			want: Groups{Route: "iv", Program: "infusion", Setting: "in_person", Clinic: "c1", Integration: "0"},
		},
		{
			name: "BySetting",
			a:    Session{Day: 100, Type: Dosing, Route: "sublingual", Setting: "telehealth", Clinic: "c1"},
			b:    Session{Day: 100, Type: Dosing, Route: "sublingual", Setting: "home", Clinic: "c1"},
			want: Groups{Route: "sublingual", Program: "kap", Setting: "home", Clinic: "c1", Integration: "0"},
		},
		{
			name: "Identical",
			a:    Session{Day: 100, Type: Dosing, Route: "iv", Clinic: "c1"},
			b:    Session{Day: 100, Type: Dosing, Route: "iv", Clinic: "c1"},
			want: Groups{Route: "iv", Program: "kap", Setting: "in_person", Clinic: "c1", Integration: "0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultParams()
			ab := GroupsOf([]Session{tt.a, tt.b}, index, "", p)
			ba := GroupsOf([]Session{tt.b, tt.a}, index, "", p)
			if ab != tt.want || ba != tt.want {
				t.Errorf("GroupsOf\n got  %+v and %+v (reversed)\n want %+v", ab, ba, tt.want)
			}
		})
	}
}
