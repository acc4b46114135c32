package outcome

import (
	"maps"
	"testing"
)

func TestRetentionOf(t *testing.T) {
	p, cp := DefaultParams(), DefaultCourseParams()
	// index 100: doses on 100..156, maintenance horizon 100 + 182 = 282.
	sessions := []Session{
		{Day: 100, Type: Dosing, Route: "sublingual", DoseMg: Some(200.0)},
		{Day: 107, Type: Dosing, Route: "sublingual", DoseMg: Some(250.0)},
		{Day: 114, Type: Dosing, Route: "sublingual"},                      // dose_mg not recorded
		{Day: 160, Type: Dosing, Route: "sublingual", DoseMg: Some(300.0)}, // after the window
		{Day: 290, Type: Maintenance, Route: "im"},                         // after 282
		{Day: 95, Type: Preparation},
	}
	tests := []struct {
		name     string
		sessions []Session
		asOf     int
		want     Retention
	}{
		{
			// Three doses; one lacks dose_mg, so no total; the only
			// maintenance session is on day 290 > 282.
			name:     "MissingDoseMg",
			sessions: sessions,
			asOf:     AllClosed,
			want:     Retention{Program: "kap", Doses: 3},
		},
		{
			// With the third dose's mg: 200 + 250 + 150 = 600 (the day-160
			// dose is after the window); maintenance on day 282 counts.
			name: "TotalAndMaintenance",
			sessions: append(append([]Session{}, sessions[:2]...),
				Session{Day: 114, Type: Dosing, Route: "sublingual", DoseMg: Some(150.0)},
				Session{Day: 160, Type: Dosing, Route: "sublingual", DoseMg: Some(300.0)},
				Session{Day: 282, Type: Maintenance, Route: "im"}),
			asOf: AllClosed,
			want: Retention{Program: "kap", Doses: 3, TotalMg: Some(600.0), Maintenance: true},
		},
		{
			// As of day 150 both windows are open (156 > 150, 282 > 150).
			name:     "BothOpen",
			sessions: sessions[:3],
			asOf:     150,
			want:     Retention{Program: "kap", Doses: 3, AcuteWindowOpen: true, MaintenanceWindowOpen: true},
		},
		{
			// As of day 156 the acute window has closed, the maintenance
			// horizon not until day 282.
			name:     "AcuteClosed",
			sessions: sessions[:3],
			asOf:     156,
			want:     Retention{Program: "kap", Doses: 3, MaintenanceWindowOpen: true},
		},
		{
			name:     "MaintenanceClosed",
			sessions: sessions[:3],
			asOf:     282,
			want:     Retention{Program: "kap", Doses: 3},
		},
		{
			name:     "InfusionSingleDose",
			sessions: []Session{{Day: 100, Type: Dosing, Route: "iv", Program: "infusion", DoseMg: Some(35.5)}},
			asOf:     AllClosed,
			want:     Retention{Program: "infusion", Doses: 1, TotalMg: Some(35.5)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := RetentionOf(index, tt.sessions, p, cp, tt.asOf)
			if !ok || got != tt.want {
				t.Errorf("RetentionOf = %+v, %v, want %+v", got, ok, tt.want)
			}
		})
	}
	if _, ok := RetentionOf(index, []Session{{Day: 100, Type: Preparation}}, p, cp, AllClosed); ok {
		t.Error("a patient without a dosing session has a retention")
	}
}

func TestSummarizeRetention(t *testing.T) {
	rs := []Retention{
		{Program: "kap", Doses: 1, TotalMg: Some(200.0)},
		{Program: "kap", Doses: 4, TotalMg: Some(800.0), Maintenance: true},
		{Program: "kap", Doses: 6},
		{Program: "kap", Doses: 7, TotalMg: Some(1400.0), MaintenanceWindowOpen: true, Maintenance: true},
		{Program: "infusion", Doses: 2, TotalMg: Some(100.0)},
		{Program: "infusion", Doses: 1, TotalMg: Some(50.0), AcuteWindowOpen: true, MaintenanceWindowOpen: true},
	}
	s, err := SummarizeRetention(rs, DefaultCourseParams())
	if err != nil {
		t.Fatal(err)
	}
	// Overall: 6 treated, 1 with the acute window open, 2 with the
	// maintenance horizon open. Closed acute windows: 1, 4, 6, 7, 2 doses;
	// quantile(c(1, 4, 6, 7, 2), c(.5, .25, .75)) = 4, 2, 6. Induction
	// (>= 4) 3/5: prop.test(3, 5, correct = FALSE)$conf.int =
	// 0.23072428127601299 0.88237922576735195; single dose 1/5: 0.036224108632430141
	// 0.624465370237474726. Total mg of those with every dose_mg: 200, 800,
	// 1400, 100: median 500, quartiles 175, 950. Maintenance among the
	// closed horizons (1, 4, 6, 2 doses): 1/4, 0.045587260809700589
	// 0.699358157417597992.
	o := s.Overall
	if o.Treated != 6 || o.AcuteWindowOpen != 1 || o.MaintenanceWindowOpen != 2 || o.MaintenanceDays != 182 {
		t.Errorf("counts = %+v", o)
	}
	wantDoses := map[string]int{"1": 1, "2": 1, "3": 0, "4": 1, "5": 0, "6+": 2}
	if !maps.Equal(o.Doses, wantDoses) {
		t.Errorf("doses = %v, want %v", o.Doses, wantDoses)
	}
	checkFloat(t, "median doses", o.DosesQuartiles.Median, 4)
	checkFloat(t, "q1 doses", o.DosesQuartiles.Q1, 2)
	checkFloat(t, "q3 doses", o.DosesQuartiles.Q3, 6)
	checkProportion(t, "induction", o.InductionCompleted, 3, 5, 0.23072428127601299, 0.88237922576735195)
	checkProportion(t, "single", o.SingleDose, 1, 5, 0.036224108632430141, 0.624465370237474726)
	if o.TotalMg.N != 4 {
		t.Errorf("total mg n = %d, want 4", o.TotalMg.N)
	}
	checkFloat(t, "median mg", o.TotalMg.Median, 500)
	checkFloat(t, "q1 mg", o.TotalMg.Q1, 175)
	checkFloat(t, "q3 mg", o.TotalMg.Q3, 950)
	checkProportion(t, "maintenance", o.Maintenance, 1, 4, 0.045587260809700589, 0.699358157417597992)

	// kap: doses 1, 4, 6, 7: quantile = 5, 3.25, 6.25; induction 3/4
	// (0.30064184258240201 0.95441273919029945); mg 200, 800, 1400: 800,
	// 500, 1100; maintenance 1/3 (0.061491944720396291 0.792340399197952294).
	k := s.ByProgram["kap"]
	if k.Treated != 4 || k.AcuteWindowOpen != 0 || k.MaintenanceWindowOpen != 1 {
		t.Errorf("kap counts = %+v", k)
	}
	checkFloat(t, "kap median doses", k.DosesQuartiles.Median, 5)
	checkFloat(t, "kap q1 doses", k.DosesQuartiles.Q1, 3.25)
	checkFloat(t, "kap q3 doses", k.DosesQuartiles.Q3, 6.25)
	checkProportion(t, "kap induction", k.InductionCompleted, 3, 4, 0.30064184258240201, 0.95441273919029945)
	checkFloat(t, "kap median mg", k.TotalMg.Median, 800)
	checkFloat(t, "kap q1 mg", k.TotalMg.Q1, 500)
	checkFloat(t, "kap q3 mg", k.TotalMg.Q3, 1100)
	checkProportion(t, "kap maintenance", k.Maintenance, 1, 3, 0.061491944720396291, 0.792340399197952294)

	// infusion: one closed window (2 doses), one open; induction 0/1
	// (0, 0.79345068562276255).
	i := s.ByProgram["infusion"]
	if i.Treated != 2 || i.AcuteWindowOpen != 1 || i.Doses["2"] != 1 || i.Doses["1"] != 0 {
		t.Errorf("infusion = %+v", i)
	}
	checkProportion(t, "infusion induction", i.InductionCompleted, 0, 1, 0, 0.79345068562276255)
	if len(s.ByProgram) != 2 {
		t.Errorf("programs = %v", s.ByProgram)
	}

	// Everybody still in the acute window: no dose figure, NaN quartiles.
	open, err := SummarizeRetention([]Retention{{Program: "kap", Doses: 2, AcuteWindowOpen: true}}, DefaultCourseParams())
	if err != nil {
		t.Fatal(err)
	}
	if o := open.Overall; o.InductionCompleted.N != 0 || o.DosesQuartiles.N != 0 || o.Doses["2"] != 0 {
		t.Errorf("open = %+v", o)
	}
	checkFloat(t, "open median", open.Overall.DosesQuartiles.Median, nan)
	checkFloat(t, "open rate", open.Overall.InductionCompleted.Rate, nan)
}

func TestDoseBucket(t *testing.T) {
	for n, want := range map[int]string{1: "1", 5: "5", 6: "6+", 11: "6+"} {
		if got := DoseBucket(n, 6); got != want {
			t.Errorf("DoseBucket(%d, 6) = %q, want %q", n, got, want)
		}
	}
	if got := DoseBucket(4, 4); got != "4+" {
		t.Errorf("DoseBucket(4, 4) = %q", got)
	}
}
