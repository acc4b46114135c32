package outcome

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
)

// jsonObject marshals v and decodes it as a JSON object.
func jsonObject(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %T: %v", v, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%T: %v in %s", v, err, b)
	}
	return m
}

// checkKeys checks that object m has exactly the keys of the
// specification's analysis output (want) plus the documented extras.
func checkKeys(t *testing.T, what string, m map[string]any, want ...string) {
	t.Helper()
	got := slices.Sorted(maps.Keys(m))
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s keys = %v, want %v", what, got, want)
	}
}

var wilsonKeys = []string{"n", "events", "rate", "lower95", "upper95"}

func TestCourseJSON(t *testing.T) {
	cp := DefaultCourseParams()
	cs := []Course{
		{Program: "kap", Eligible: true, Doses: 2, ResponseDose: 1, Response: TimeToEvent{14, true}, Remission: TimeToEvent{14, false}},
		{Program: "kap", Eligible: true, Doses: 1, Response: TimeToEvent{40, false}, Remission: TimeToEvent{40, false}},
	}
	tte, err := SummarizeTimeToResponse(cs, cp)
	if err != nil {
		t.Fatal(err)
	}
	m := jsonObject(t, tte)
	checkKeys(t, "time_to_response", m, "n", "events", "median_days", "median_lower95", "median_upper95",
		"by_day", "acute_window_open", "by_program")
	// S(14) = 1/2 exactly and no later drop: the median is 14 (print.survfit);
	// its upper limit is never reached: null.
	if m["median_days"] != 14.0 || m["median_upper95"] != nil {
		t.Errorf("medians = %v, %v", m["median_days"], m["median_upper95"])
	}
	day := m["by_day"].([]any)
	checkKeys(t, "by_day", day[0].(map[string]any), "time", "n_risk", "cumulative", "lower95", "upper95")
	if last := day[3].(map[string]any); last["time"] != 56.0 || last["cumulative"] != nil {
		t.Errorf("day 56 after the longest follow-up = %v, want null", last)
	}
	kap := m["by_program"].(map[string]any)["kap"].(map[string]any)
	checkKeys(t, "by_program.kap", kap, "n", "events", "median_days", "median_lower95", "median_upper95",
		"by_day", "acute_window_open")
	empty, _ := SummarizeTimeToResponse(nil, cp)
	if m := jsonObject(t, empty); m["note"] == nil || m["median_days"] != nil {
		t.Errorf("empty summary = %v", m)
	}

	byDose, err := SummarizeResponseByDose(cs, cp)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(byDose)
	var doses []map[string]any
	if err := json.Unmarshal(b, &doses); err != nil || len(doses) != 6 {
		t.Fatalf("response_by_dose = %s, %v", b, err)
	}
	checkKeys(t, "response_by_dose", doses[0], append([]string{"dose"}, wilsonKeys...)...)
	// Dose 3: nobody received it: rate and limits null.
	if doses[2]["dose"] != 3.0 || doses[2]["n"] != 0.0 || doses[2]["rate"] != nil || doses[2]["lower95"] != nil {
		t.Errorf("dose 3 = %v", doses[2])
	}

	ret, err := SummarizeRetention([]Retention{{Program: "kap", Doses: 4}}, cp)
	if err != nil {
		t.Fatal(err)
	}
	m = jsonObject(t, ret)
	checkKeys(t, "retention", m, "overall", "by_program")
	o := m["overall"].(map[string]any)
	checkKeys(t, "retention.overall", o, "treated", "doses", "induction_completed", "single_dose",
		"median_doses", "total_mg", "maintenance_182",
		"acute_window_open", "maintenance_window_open", "q1_doses", "q3_doses", "maintenance_days")
	checkKeys(t, "doses", o["doses"].(map[string]any), "1", "2", "3", "4", "5", "6+")
	checkKeys(t, "induction_completed", o["induction_completed"].(map[string]any), wilsonKeys...)
	checkKeys(t, "total_mg", o["total_mg"].(map[string]any), "n", "median", "q1", "q3")
	if o["total_mg"].(map[string]any)["median"] != nil {
		t.Errorf("total mg of nobody = %v, want null", o["total_mg"])
	}
	checkKeys(t, "retention.by_program.kap", m["by_program"].(map[string]any)["kap"].(map[string]any),
		slices.Collect(maps.Keys(o))...)

	id, err := SummarizeIdeation([]Ideation{{Baseline: 1, Endpoint: 0}})
	if err != nil {
		t.Fatal(err)
	}
	m = jsonObject(t, id)
	checkKeys(t, "suicidal_ideation", m, "n", "baseline_positive", "resolved", "baseline_negative", "emergent",
		"mcnemar", "item9_not_recorded")
	checkKeys(t, "resolved", m["resolved"].(map[string]any), wilsonKeys...)
	mc := m["mcnemar"].(map[string]any)
	if _, ok := mc["chisq"]; !ok {
		t.Errorf("mcnemar = %v", mc)
	}
	if _, ok := mc["p"]; !ok {
		t.Errorf("mcnemar = %v", mc)
	}

	ws, err := SummarizeWindow(DefaultWindows()[0], []WindowResult{{}})
	if err != nil {
		t.Fatal(err)
	}
	m = jsonObject(t, ws)
	checkKeys(t, "windows[0]", m, "name", "from", "to", "eligible", "followed", "response", "remission", "window_open")
	if m["name"] != "4–8 months" || m["from"] != 120.0 || m["to"] != 240.0 {
		t.Errorf("window = %v", m)
	}
	if r := m["response"].(map[string]any); r["rate"] != nil || r["n"] != 0.0 {
		t.Errorf("response of nobody followed = %v, want a null rate", r)
	}
}

func TestSessionSafetyJSON(t *testing.T) {
	s, err := SummarizeSessionSafety(safetyCohort(), DefaultCourseParams())
	if err != nil {
		t.Fatal(err)
	}
	m := jsonObject(t, s)
	checkKeys(t, "session_safety", m, "dosing_sessions", "overall", "by_route", "by_setting")
	o := m["overall"].(map[string]any)
	figureKeys := []string{"bp_elevation", "bp_elevation_patients", "side_effects", "side_effects_patients",
		"dissociation_by_dose", "serious_adverse_events", "dosing_sessions", "patients"}
	checkKeys(t, "overall", o, figureKeys...)
	checkKeys(t, "bp_elevation", o["bp_elevation"].(map[string]any), wilsonKeys...)
	checkKeys(t, "side_effects", o["side_effects"].(map[string]any), append(slices.Clone(SideEffectVocabulary), "any")...)
	checkKeys(t, "nausea", o["side_effects_patients"].(map[string]any)["nausea"].(map[string]any), wilsonKeys...)
	diss := o["dissociation_by_dose"].([]any)
	checkKeys(t, "dissociation_by_dose", diss[0].(map[string]any), "dose", "n", "mean", "sd", "lower95", "upper95")
	// Dose 5: one value, so SD and limits are null.
	if d5 := diss[4].(map[string]any); d5["dose"] != 5.0 || d5["mean"] != 20.0 || d5["sd"] != nil || d5["lower95"] != nil {
		t.Errorf("dose 5 = %v", d5)
	}
	checkKeys(t, "serious_adverse_events", o["serious_adverse_events"].(map[string]any),
		"events", "sessions", "per_1000", "lower95", "upper95")
	for _, by := range []string{"by_route", "by_setting"} {
		for k, v := range m[by].(map[string]any) {
			checkKeys(t, by+"."+k, v.(map[string]any), figureKeys...)
		}
	}
	// The empty cohort writes null, never NaN (which encoding/json refuses).
	e, _ := SummarizeSessionSafety(nil, DefaultCourseParams())
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"per_1000":null`) {
		t.Errorf("empty safety = %s", b)
	}
}
