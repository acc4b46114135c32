package outcome

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The cohort in testdata/sessions.csv and testdata/scores.csv was simulated
// by testdata/course.R, which also wrote R's value of every figure into
// testdata/results.csv, keyed by the figure's path in the analysis JSON
// (objects joined by ".", array elements by their 0-based position).
// TestCourseReference runs the per-patient functions and the summaries on
// the same cohort, writes the summaries as JSON and compares every one of
// R's values with the value at its path: counts exactly, everything else to
// a relative 1e-6; R's NA must be null.

func readRecords(t *testing.T, name string) []map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	out := make([]map[string]string, 0, len(recs)-1)
	for _, r := range recs[1:] {
		m := make(map[string]string, len(r))
		for j, h := range recs[0] {
			m[h] = r[j]
		}
		out = append(out, m)
	}
	return out
}

func optInt(t *testing.T, s string) Optional[int] {
	t.Helper()
	if s == "" {
		return Optional[int]{}
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return Some(v)
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	v, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// referenceCohort is the simulated cohort, per patient.
type referenceCohort struct {
	ids      []string
	sessions map[string][]Session
	scores   map[string]map[string][]Score // patient, instrument
	phq9     map[string][]PHQ9Score
}

func readReferenceCohort(t *testing.T) referenceCohort {
	c := referenceCohort{sessions: map[string][]Session{}, scores: map[string]map[string][]Score{},
		phq9: map[string][]PHQ9Score{}}
	seen := map[string]bool{}
	addID := func(id string) {
		if !seen[id] {
			seen[id] = true
			c.ids = append(c.ids, id)
		}
	}
	for _, r := range readRecords(t, "sessions.csv") {
		s := Session{Day: mustAtoi(t, r["day"]), Type: r["session_type"], Route: r["route"], Program: r["program"],
			Setting: r["setting"], SBPPre: optInt(t, r["sbp_pre"]), DBPPre: optInt(t, r["dbp_pre"]),
			HRPre: optInt(t, r["hr_pre"]), SBPMax: optInt(t, r["sbp_max"]), DBPMax: optInt(t, r["dbp_max"]),
			HRMax: optInt(t, r["hr_max"]), Dissociation: optInt(t, r["dissociation"]), SideEffects: r["side_effects"]}
		if v := r["dose_mg"]; v != "" {
			mg, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			s.DoseMg = Some(mg)
		}
		switch r["serious_adverse_event"] {
		case "yes":
			s.SeriousAdverseEvent = Some(true)
		case "no":
			s.SeriousAdverseEvent = Some(false)
		}
		id := r["patient_id"]
		addID(id)
		c.sessions[id] = append(c.sessions[id], s)
	}
	for _, r := range readRecords(t, "scores.csv") {
		id, inst := r["patient_id"], r["instrument"]
		addID(id)
		sc := Score{Day: mustAtoi(t, r["day"]), Total: mustAtoi(t, r["total"])}
		if c.scores[id] == nil {
			c.scores[id] = map[string][]Score{}
		}
		c.scores[id][inst] = append(c.scores[id][inst], sc)
		if inst == "PHQ9" {
			c.phq9[id] = append(c.phq9[id], PHQ9Score{Day: sc.Day, Total: sc.Total, Item9: optInt(t, r["item9"])})
		}
	}
	slices.Sort(c.ids)
	return c
}

// flatten writes the leaves of decoded JSON v into out under their paths.
func flatten(prefix string, v any, out map[string]any) {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			flatten(join(k), e, out)
		}
	case []any:
		for i, e := range x {
			flatten(join(strconv.Itoa(i)), e, out)
		}
	default:
		out[prefix] = x
	}
}

// countKeys are the last path elements whose values are counts (or days,
// dose numbers): compared exactly.
var countKeys = map[string]bool{
	"n": true, "events": true, "eligible": true, "window_open": true, "treated": true,
	"acute_window_open": true, "maintenance_window_open": true, "dosing_sessions": true,
	"patients": true, "sessions": true, "n_risk": true, "baseline_positive": true,
	"baseline_negative": true, "item9_not_recorded": true, "dose": true, "time": true,
	"from": true, "to": true,
}

func TestCourseReference(t *testing.T) {
	c := readReferenceCohort(t)
	want := readRecords(t, "results.csv")
	if want[0]["key"] != "as_of" {
		t.Fatal("results.csv does not start with the as-of day")
	}
	asOf := mustAtoi(t, want[0]["value"])
	want = want[1:]

	p, cp, sp := DefaultParams(), DefaultCourseParams(), DefaultSafetyParams()
	thresholds := map[string]Thresholds{"PHQ9": phq9, "GAD7": gad7}
	windows := DefaultWindows()
	courses := map[string][]Course{}
	follow := map[string][][]WindowResult{}
	var ideation []Ideation
	var retention []Retention
	var safety [][]SafetySession
	for _, id := range c.ids {
		first, has := 0, false
		for _, ss := range c.scores[id] {
			for _, s := range ss {
				if !has || s.Day < first {
					first, has = s.Day, true
				}
			}
		}
		index, ok, _ := IndexDay(c.sessions[id], true, first, has)
		if !ok {
			continue
		}
		for inst, th := range thresholds {
			sc := c.scores[id][inst]
			courses[inst] = append(courses[inst], CourseOf(index, sc, c.sessions[id], th, p, asOf))
			if follow[inst] == nil {
				follow[inst] = make([][]WindowResult, len(windows))
			}
			for w, win := range windows {
				follow[inst][w] = append(follow[inst][w], FollowUp(index, sc, th, p, win, asOf))
			}
		}
		ideation = append(ideation, SuicidalIdeation(index, c.phq9[id], p, asOf))
		r, ok := RetentionOf(index, c.sessions[id], p, cp, asOf)
		if !ok {
			t.Fatalf("%s: treated without a retention", id)
		}
		retention = append(retention, r)
		safety = append(safety, SessionSafetyOf(index, c.sessions[id], p, sp))
	}

	analysis := map[string]any{}
	for inst := range thresholds {
		m := map[string]any{}
		var err error
		if m["time_to_response"], err = SummarizeTimeToResponse(courses[inst], cp); err != nil {
			t.Fatal(err)
		}
		if m["time_to_remission"], err = SummarizeTimeToRemission(courses[inst], cp); err != nil {
			t.Fatal(err)
		}
		if m["response_by_dose"], err = SummarizeResponseByDose(courses[inst], cp); err != nil {
			t.Fatal(err)
		}
		var ws []WindowSummary
		for w, win := range windows {
			s, err := SummarizeWindow(win, follow[inst][w])
			if err != nil {
				t.Fatal(err)
			}
			ws = append(ws, s)
		}
		m["windows"] = ws
		if inst == "PHQ9" {
			if m["suicidal_ideation"], err = SummarizeIdeation(ideation); err != nil {
				t.Fatal(err)
			}
		}
		analysis[inst] = m
	}
	var err error
	if analysis["retention"], err = SummarizeRetention(retention, cp); err != nil {
		t.Fatal(err)
	}
	if analysis["session_safety"], err = SummarizeSessionSafety(safety, cp); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(analysis)
	if err != nil {
		t.Fatal(err)
	}
	var decoded any
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	flatten("", decoded, got)

	compared := 0
	for _, w := range want {
		key := w["key"]
		g, ok := got[key]
		if !ok {
			t.Errorf("%s: R has %s, kapstat has no such figure", key, w["value"])
			continue
		}
		compared++
		if w["value"] == "NA" {
			if g != nil {
				t.Errorf("%s = %v, R: NA", key, g)
			}
			continue
		}
		rv, err := strconv.ParseFloat(w["value"], 64)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		gv, ok := g.(float64)
		if !ok {
			t.Errorf("%s = %v, R: %v", key, g, rv)
			continue
		}
		last := key[strings.LastIndex(key, ".")+1:]
		if countKeys[last] || strings.Contains(key, ".doses.") {
			if gv != rv {
				t.Errorf("%s = %v, R: %v", key, gv, rv)
			}
			continue
		}
		if math.Abs(gv-rv) > 1e-6*math.Abs(rv)+1e-12 {
			t.Errorf("%s = %.17g, R: %.17g", key, gv, rv)
		}
	}
	if compared < 1900 {
		t.Errorf("compared %d values, want every one of R's (about 1,947)", compared)
	}
	// The figures kapstat writes beyond R's: nothing numeric should be
	// left unchecked except the documented extras.
	var extra []string
	rkeys := map[string]bool{}
	for _, w := range want {
		rkeys[w["key"]] = true
	}
	for k, v := range got {
		if _, isNum := v.(float64); !isNum || rkeys[k] {
			continue
		}
		last := k[strings.LastIndex(k, ".")+1:]
		switch last {
		case "maintenance_days", "b", "c", "df": // parameters; McNemar's discordant counts and df
			continue
		}
		extra = append(extra, k)
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		t.Errorf("figures not checked against R: %v", extra)
	}
}
