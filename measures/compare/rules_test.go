package compare

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"gonum.org/v1/gonum/floats/scalar"

	"github.com/kapstat/kapstat/measures/outcome"
)

func TestSelectLevels(t *testing.T) {
	rep := func(pairs ...any) []string {
		var out []string
		for i := 0; i < len(pairs); i += 2 {
			for range pairs[i+1].(int) {
				out = append(out, pairs[i].(string))
			}
		}
		return out
	}
	for _, c := range []struct {
		name    string
		labels  []string
		kept    []string
		ref     string
		dropped map[string]int
		skipped string
	}{
		{
			name:   "19 patients are dropped, 20 kept",
			labels: rep("im", 20, "iv", 25, "oral", 19),
			kept:   []string{"im", "iv"}, ref: "iv", dropped: map[string]int{"oral": 19},
		},
		{
			name:   "20 against 19: one level, no comparison",
			labels: rep("infusion", 19, "kap", 20),
			kept:   []string{"kap"}, dropped: map[string]int{"infusion": 19},
			skipped: "not compared: fewer than two levels with at least 20 patients (kap 20, infusion 19).",
		},
		{
			name:   "a tie for the reference goes to the first in sorted order",
			labels: rep("kap", 30, "infusion", 30, "other", 21),
			kept:   []string{"infusion", "kap", "other"}, ref: "infusion", dropped: map[string]int{},
		},
		{
			name:   "byte order: >=4 sorts after 0 and 1-3",
			labels: rep(">=4", 40, "0", 40, "1-3", 40),
			kept:   []string{"0", "1-3", ">=4"}, ref: "0", dropped: map[string]int{},
		},
		{
			name:   "empty and unknown labels are no level",
			labels: append(rep("home", 20, "in_person", 22, "", 3), rep(outcome.Unknown, 30)...),
			kept:   []string{"home", "in_person"}, ref: "in_person", dropped: map[string]int{"unknown": 33},
		},
		{
			name:    "no patients",
			dropped: map[string]int{},
			skipped: "not compared: fewer than two levels with at least 20 patients (no patients).",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			lv := SelectLevels(c.labels)
			if !reflect.DeepEqual(lv.Kept, c.kept) || lv.Reference != c.ref || !reflect.DeepEqual(lv.Dropped, c.dropped) {
				t.Errorf("kept %v, reference %q, dropped %v; want %v, %q, %v", lv.Kept, lv.Reference, lv.Dropped, c.kept, c.ref, c.dropped)
			}
			if got := lv.Skipped(); got != c.skipped {
				t.Errorf("Skipped() = %q, want %q", got, c.skipped)
			}
		})
	}
}

func TestIntervals(t *testing.T) {
	for _, c := range []struct {
		name        string
		time        int
		event       bool
		m           int
		maintenance bool
		want        []Interval
	}{
		{"no maintenance", 70, true, 0, false, []Interval{{0, 70, false, true}}},
		{"maintenance before the relapse", 70, true, 21, true,
			[]Interval{{0, 21, false, false}, {21, 70, true, true}}},
		{"maintenance before the end of censored follow-up", 70, false, 21, true,
			[]Interval{{0, 21, false, false}, {21, 70, true, false}}},
		// tmerge: a relapse on day m belongs to the row before the switch.
		{"relapse on the day maintenance began", 42, true, 42, true, []Interval{{0, 42, false, true}}},
		{"maintenance after the relapse", 42, true, 60, true, []Interval{{0, 42, false, true}}},
		{"maintenance after censoring", 42, false, 43, true, []Interval{{0, 42, false, false}}},
		{"maintenance on the response day is not after it", 42, true, 0, true, []Interval{{0, 42, false, true}}},
		{"maintenance the day after the response", 42, true, 1, true,
			[]Interval{{0, 1, false, false}, {1, 42, true, true}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Intervals(c.time, c.event, c.m, c.maintenance); !reflect.DeepEqual(got, c.want) {
				t.Errorf("Intervals(%d, %v, %d, %v) = %v, want %v", c.time, c.event, c.m, c.maintenance, got, c.want)
			}
		})
	}
	// Patient.Intervals counts m from the response day.
	p := Patient{AtRisk: true, ResponseDay: 100, RelapseTime: 56, Relapsed: true, HasMaintenance: true, MaintenanceDay: 128}
	if got, want := p.Intervals(), []Interval{{0, 28, false, false}, {28, 56, true, true}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Patient.Intervals() = %v, want %v", got, want)
	}
	p.MaintenanceDay = 100
	if got, want := p.Intervals(), []Interval{{0, 56, false, true}}; !reflect.DeepEqual(got, want) {
		t.Errorf("maintenance on the response day: %v, want %v", got, want)
	}
	if got := (&Patient{}).Intervals(); got != nil {
		t.Errorf("not at risk: %v, want nil", got)
	}
}

func TestFirstMaintenanceAfter(t *testing.T) {
	s := []outcome.Session{
		{Day: 50, Type: outcome.Maintenance},
		{Day: 10, Type: outcome.Maintenance}, // on the response day: not after it
		{Day: 12, Type: outcome.Dosing},
		{Day: 31, Type: outcome.Maintenance},
		{Day: 5, Type: outcome.Maintenance},
	}
	if d, ok := FirstMaintenanceAfter(s, 10); d != 31 || !ok {
		t.Errorf("FirstMaintenanceAfter(10) = %d, %v; want 31, true", d, ok)
	}
	if _, ok := FirstMaintenanceAfter(s, 50); ok {
		t.Error("FirstMaintenanceAfter(50) found a session; want none")
	}
	ep := outcome.EpisodeResult{HasBaseline: true, Baseline: 20, HasEndpoint: true, Endpoint: 8, Eligible: true, Response: true}
	g := outcome.Groups{Program: "kap", Route: "im", Setting: "home", Integration: outcome.IntegrationFew}
	rel := outcome.RelapseResult{AtRisk: true, ResponseDay: 10, Time: 40, Event: true}
	p := NewPatient(ep, g, NoTraits(), rel, s)
	if !p.HasMaintenance || p.MaintenanceDay != 31 || p.RelapseTime != 40 || !p.Relapsed || p.Route != "im" || p.Integration != "1-3" {
		t.Errorf("NewPatient = %+v", p)
	}
}

// cohort builds a small deterministic cohort: n patients per level of
// program, with characteristics, change, response and a trajectory.
type cohort struct {
	in  *Input
	rng *rand.Rand
}

func newCohort(seed uint64) *cohort {
	return &cohort{in: &Input{Characteristics: true}, rng: rand.New(rand.NewPCG(seed, 7))}
}

// add adds n patients of program prog with the characteristics from tr
// (called with the patient's number within the call).
func (c *cohort) add(prog string, n int, tr func(i int) Traits) {
	r := c.rng
	for i := range n {
		base := 12 + r.IntN(14)
		p := Patient{Program: prog, Route: "im", Setting: "in_person", Integration: "1-3", Traits: tr(i),
			HasBaseline: true, Baseline: base, HasEndpoint: true, Eligible: base >= 10}
		shift := 0
		if prog == "infusion" {
			shift = 2
		}
		p.Endpoint = max(0, base-6+shift+r.IntN(9)-4)
		p.Response = p.Eligible && float64(p.Endpoint) <= 0.5*float64(base)
		pi := len(c.in.Patients)
		c.in.Patients = append(c.in.Patients, p)
		for w := range 4 {
			c.in.Trajectory.Patient = append(c.in.Trajectory.Patient, pi)
			c.in.Trajectory.T = append(c.in.Trajectory.T, float64(2*w))
			c.in.Trajectory.Y = append(c.in.Trajectory.Y, float64(base)-float64(w)*(1.5-float64(shift)/4)+r.NormFloat64())
		}
	}
}

func traits(age float64, sex, diagnosis string, prior float64) func(int) Traits {
	return func(i int) Traits {
		return Traits{Age: age + float64(i%17), Sex: sex, Diagnosis: diagnosis, PriorTreatments: prior + float64(i%3)}
	}
}

func TestCovariateWithOneValueIsLeftOut(t *testing.T) {
	c := newCohort(1)
	// Every patient whose sex is recorded is female; two are unknown.
	c.add("kap", 30, func(i int) Traits {
		tr := traits(40, "female", "depression", 1)(i)
		if i < 2 {
			tr.Sex = outcome.Unknown
		}
		return tr
	})
	c.add("infusion", 25, func(i int) Traits {
		return traits(50, "female", []string{"depression", "ptsd"}[i%2], 3)(i)
	})
	got := CompareChange(c.in, Program)
	if want := []string{"baseline", "age", "diagnosis=ptsd", "prior_treatments"}; !reflect.DeepEqual(got.Covariates, want) {
		t.Errorf("covariates %v, want %v", got.Covariates, want)
	}
	// sex is not in X, so the two patients of unknown sex stay in.
	if got.N != 55 || got.Excluded != 0 {
		t.Errorf("n %d, excluded %d; want 55, 0", got.N, got.Excluded)
	}
	if want := "sex not adjusted for: a single value among the patients compared."; got.Note != want {
		t.Errorf("note %q, want %q", got.Note, want)
	}
}

func TestCompleteCases(t *testing.T) {
	c := newCohort(2)
	c.add("kap", 40, func(i int) Traits {
		tr := traits(40, []string{"female", "male"}[i%2], []string{"depression", "ptsd"}[i%2], 1)(i)
		switch {
		case i < 3: // age missing
			tr.Age = math.NaN()
		case i < 5: // sex missing
			tr.Sex = ""
		case i == 5: // age and sex missing: counted under age, the first in X
			tr.Age, tr.Sex = math.NaN(), outcome.Unknown
		case i == 6: // prior treatments missing
			tr.PriorTreatments = math.NaN()
		}
		return tr
	})
	c.add("infusion", 30, traits(50, "male", "depression", 3))
	// A level below 20 patients: its patients count as dropped even
	// when they miss a covariate too.
	c.add("other", 12, func(i int) Traits { return NoTraits() })
	got := CompareChange(c.in, Program)
	if got.N != 63 || got.Excluded != 7 {
		t.Errorf("n %d, excluded %d; want 63, 7", got.N, got.Excluded)
	}
	if want := map[string]int{"age": 4, "sex": 2, "prior_treatments": 1}; !reflect.DeepEqual(got.ExcludedBy, want) {
		t.Errorf("excluded_by %v, want %v", got.ExcludedBy, want)
	}
	if want := map[string]int{"other": 12}; !reflect.DeepEqual(got.Dropped, want) {
		t.Errorf("dropped %v, want %v", got.Dropped, want)
	}
	if want := map[string]int{"infusion": 30, "kap": 33}; !reflect.DeepEqual(got.Levels, want) {
		t.Errorf("levels %v, want %v", got.Levels, want)
	}
	// population 82 = n 63 + excluded 7 + dropped 12
	if got.Reference != "kap" {
		t.Errorf("reference %q, want kap (40 patients in the population against 30)", got.Reference)
	}

	// The unadjusted difference is the difference in mean change over the
	// same 63 patients, with the pooled-variance standard error
	// sqrt(s²·(1/n1 + 1/n0)), s² = (SS1 + SS0)/(n − 2): the two-sample t.
	var sum, ss [2]float64
	var n [2]int
	var changes [2][]float64
	for _, p := range c.in.Patients {
		if p.Program == "other" || math.IsNaN(p.Age) || missingLabel(p.Sex) || math.IsNaN(p.PriorTreatments) {
			continue
		}
		g := 0
		if p.Program == "infusion" {
			g = 1
		}
		ch := float64(p.Endpoint - p.Baseline)
		sum[g] += ch
		n[g]++
		changes[g] = append(changes[g], ch)
	}
	mean := [2]float64{sum[0] / float64(n[0]), sum[1] / float64(n[1])}
	for g := range 2 {
		for _, ch := range changes[g] {
			ss[g] += (ch - mean[g]) * (ch - mean[g])
		}
	}
	s2 := (ss[0] + ss[1]) / float64(n[0]+n[1]-2)
	u := got.Unadjusted[0]
	if u.Level != "infusion" || !scalar.EqualWithinRel(u.Estimate, mean[1]-mean[0], 1e-12) ||
		!scalar.EqualWithinRel(u.SE, math.Sqrt(s2*(1/float64(n[0])+1/float64(n[1]))), 1e-12) {
		t.Errorf("unadjusted %+v; want infusion, %g, se %g", u, mean[1]-mean[0], math.Sqrt(s2*(1/float64(n[0])+1/float64(n[1]))))
	}
}

func TestCovariateConstantAmongCompleteCases(t *testing.T) {
	c := newCohort(3)
	// Every patient with diagnosis ptsd misses age: among the complete
	// cases diagnosis takes one value, so it is left out and the
	// complete cases are taken again (still without the ptsd patients,
	// who miss age).
	c.add("kap", 30, func(i int) Traits {
		tr := traits(40, "female", "depression", 1)(i)
		if i%5 == 0 {
			tr.Diagnosis, tr.Age = "ptsd", math.NaN()
		}
		return tr
	})
	c.add("infusion", 30, traits(50, "male", "depression", 3))
	got := CompareChange(c.in, Program)
	// 24 women (kap) and 30 men (infusion) remain: the reference is male.
	if want := []string{"baseline", "age", "sex=female", "prior_treatments"}; !reflect.DeepEqual(got.Covariates, want) {
		t.Errorf("covariates %v, want %v", got.Covariates, want)
	}
	if got.N != 54 || got.Excluded != 6 || got.ExcludedBy["age"] != 6 {
		t.Errorf("n %d, excluded %d %v; want 54, 6 (age)", got.N, got.Excluded, got.ExcludedBy)
	}
	if !strings.Contains(got.Note, "diagnosis not adjusted for: a single value among the patients with every covariate recorded.") {
		t.Errorf("note %q", got.Note)
	}
}

func TestSeparationGivesNullsAndANote(t *testing.T) {
	c := newCohort(4)
	c.add("kap", 40, traits(40, "female", "depression", 1))
	c.add("infusion", 25, traits(50, "male", "ptsd", 3))
	// No infusion patient responded: quasi-complete separation.
	nr := 0
	for i := range c.in.Patients {
		p := &c.in.Patients[i]
		if p.Program == "infusion" {
			p.Response = false
		} else if p.Response {
			nr++
		}
	}
	if nr == 0 {
		t.Fatal("the kap patients need responders")
	}
	got := CompareResponse(c.in, Program)
	for _, terms := range [][]OddsRatio{got.Terms, got.Unadjusted} {
		if len(terms) != 1 || terms[0].Level != "infusion" || !math.IsNaN(terms[0].OddsRatio) || !math.IsNaN(terms[0].Lower95) ||
			!math.IsNaN(terms[0].Upper95) || !math.IsNaN(terms[0].P) {
			t.Errorf("terms %+v; want infusion with NaN values", terms)
		}
	}
	for _, want := range []string{
		"adjusted model: odds ratios not estimated: response is perfectly predicted for some patients (quasi-complete separation), so no finite estimate exists (diverging: ",
		"program=infusion",
	} {
		if !strings.Contains(got.Note, want) {
			t.Errorf("note %q does not say %q", got.Note, want)
		}
	}
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"terms":[{"level":"infusion","odds_ratio":null,"lower95":null,"upper95":null,"p":null,"coef":null,"se":null}]`) {
		t.Errorf("JSON %s: want null values", b)
	}
	if got.Events != nr || got.N != 65 {
		t.Errorf("events %d, n %d; want %d, 65", got.Events, got.N, nr)
	}
}

// TestUnadjustedOddsRatio checks glm's unadjusted odds ratio against the
// 2×2 table: OR = (a·d)/(b·c), se(log OR) = sqrt(1/a + 1/b + 1/c + 1/d)
// (Woolf), the maximum likelihood estimate of a saturated logistic model.
// glm stops when the deviance changes by less than 1e-8 relative and takes
// the standard errors from the weights of its last iteration, so with
// counts well away from 0 both agree to better than 1e-6.
func TestUnadjustedOddsRatio(t *testing.T) {
	c := newCohort(5)
	c.add("kap", 60, traits(40, "female", "depression", 1))
	c.add("infusion", 45, traits(50, "male", "ptsd", 3))
	for i := range c.in.Patients {
		p := &c.in.Patients[i]
		p.Eligible = true
		p.Response = i%2 == 0 // kap: 30 of 60
		if p.Program == "infusion" {
			p.Response = i%3 == 0 // 15 of 45
		}
	}
	var a, b, cc, d float64 // infusion responders, non-responders; kap responders, non-responders
	for _, p := range c.in.Patients {
		switch {
		case p.Program == "infusion" && p.Response:
			a++
		case p.Program == "infusion":
			b++
		case p.Response:
			cc++
		default:
			d++
		}
	}
	got := CompareResponse(c.in, Program).Unadjusted[0]
	or := a * d / (b * cc)
	se := math.Sqrt(1/a + 1/b + 1/cc + 1/d)
	if !scalar.EqualWithinRel(got.OddsRatio, or, 1e-6) || !scalar.EqualWithinRel(got.SE, se, 1e-6) ||
		!scalar.EqualWithinRel(got.Lower95, or*math.Exp(-1.959963984540054*se), 1e-6) {
		t.Errorf("unadjusted %+v; want OR %g (a %v b %v c %v d %v), se %g", got, or, a, b, cc, d, se)
	}
}

func TestSkippedComparison(t *testing.T) {
	c := newCohort(6)
	c.add("kap", 50, traits(40, "female", "depression", 1))
	c.add("infusion", 19, traits(50, "male", "ptsd", 3))
	for _, s := range []Sample{CompareChange(c.in, Program).Sample, CompareResponse(c.in, Program).Sample, CompareSlope(c.in, Program).Sample} {
		if s.Reference != "" || s.N != 0 || s.Note != "not compared: fewer than two levels with at least 20 patients (kap 50, infusion 19)." {
			t.Errorf("sample %+v", s)
		}
	}
	b, err := json.Marshal(CompareChange(c.in, Program))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"reference"`) || !strings.Contains(string(b), `"terms":[],"unadjusted":[]`) {
		t.Errorf("JSON %s: want no reference and empty terms", b)
	}
	// Route: every patient has the same route.
	if s := CompareChange(c.in, Route); s.Note != "not compared: fewer than two levels with at least 20 patients (im 69)." {
		t.Errorf("route note %q", s.Note)
	}
}

func TestBaselineOnlyWithoutPatientsFile(t *testing.T) {
	c := newCohort(7)
	c.add("kap", 40, func(int) Traits { return NoTraits() })
	c.add("infusion", 30, func(int) Traits { return NoTraits() })
	c.in.Characteristics = false
	a := Adjust(c.in)
	if a.Note != NoCharacteristicsNote || !reflect.DeepEqual(a.Covariates, []string{"baseline"}) {
		t.Errorf("note %q, covariates %v", a.Note, a.Covariates)
	}
	ch := a.Change[Program]
	if ch.N != 70 || ch.Excluded != 0 || len(ch.Terms) != 1 || math.IsNaN(ch.Terms[0].Estimate) {
		t.Errorf("change %+v", ch)
	}
	// The slope model leaves the baseline score out (it is the score at
	// t = 0): without characteristics it has nothing to adjust for.
	if sl := a.Slope[Program]; sl.N != 70 || sl.Observations != 280 || len(sl.Terms) != 1 || math.IsNaN(sl.Terms[0].Estimate) ||
		!reflect.DeepEqual(sl.Terms, sl.Unadjusted) || len(sl.Covariates) != 0 ||
		sl.Note != "no patient characteristic to adjust for: the adjusted slopes are the unadjusted ones." {
		t.Errorf("slope %+v", sl)
	}
	// With characteristics but none recorded, nothing is excluded: no
	// characteristic takes two values.
	c.in.Characteristics = true
	ch = CompareChange(c.in, Program)
	if ch.N != 70 || !reflect.DeepEqual(ch.Covariates, []string{"baseline"}) ||
		!strings.Contains(ch.Note, "age not adjusted for: not recorded for the patients compared.") {
		t.Errorf("change %+v", ch)
	}
}

func TestLevelWithoutCompleteCases(t *testing.T) {
	c := newCohort(8)
	c.add("kap", 40, traits(40, "female", "depression", 1))
	c.add("infusion", 30, traits(50, "male", "ptsd", 3))
	// The iv clinic sent no patients file.
	c.add("other", 25, func(int) Traits { return NoTraits() })
	got := CompareChange(c.in, Program)
	if got.N != 70 || got.Excluded != 25 || len(got.Terms) != 1 || got.Terms[0].Level != "infusion" {
		t.Errorf("n %d, excluded %d, terms %+v", got.N, got.Excluded, got.Terms)
	}
	if !strings.Contains(got.Note, "no patient of other has every covariate recorded: not compared.") {
		t.Errorf("note %q", got.Note)
	}
}

func TestRelapseAdjusted(t *testing.T) {
	c := newCohort(9)
	c.add("kap", 60, traits(40, "female", "depression", 1))
	c.add("infusion", 40, traits(50, "male", "ptsd", 3))
	r := c.rng
	for i := range c.in.Patients {
		p := &c.in.Patients[i]
		p.AtRisk, p.ResponseDay = true, 20
		p.RelapseTime = 7 * (1 + r.IntN(30))
		p.Relapsed = r.IntN(2) == 0
		if i%3 == 0 {
			p.HasMaintenance, p.MaintenanceDay = true, p.ResponseDay+7*(1+r.IntN(20))
		}
	}
	got := RelapseAdjusted(c.in)
	var names []string
	for _, tm := range got.Terms {
		names = append(names, tm.Term)
	}
	// sex and diagnosis coincide with program here, so they alias
	// program=infusion: the model is refused, not fitted wrongly.
	if len(names) != 0 || !strings.Contains(got.Note, "relapse model not fitted: ") {
		t.Errorf("terms %v, note %q", names, got.Note)
	}
	// Mixed characteristics: the full model.
	for i := range c.in.Patients {
		p := &c.in.Patients[i]
		p.Sex = []string{"female", "male", "female"}[i%3]
		p.Diagnosis = []string{"depression", "ptsd"}[i%2]
	}
	got = RelapseAdjusted(c.in)
	names = names[:0]
	for _, tm := range got.Terms {
		names = append(names, tm.Term)
	}
	if want := []string{"program=infusion", "baseline", "maintenance", "age", "sex=male", "diagnosis=ptsd", "prior_treatments"}; !reflect.DeepEqual(names, want) {
		t.Errorf("terms %v, want %v; note %q", names, want, got.Note)
	}
	if want := []string{"baseline", "maintenance", "age", "sex=male", "diagnosis=ptsd", "prior_treatments"}; !reflect.DeepEqual(got.Covariates, want) {
		t.Errorf("covariates %v, want %v", got.Covariates, want)
	}
	maintained, rows, events := 0, 0, 0
	for _, p := range c.in.Patients {
		iv := p.Intervals()
		rows += len(iv)
		if len(iv) == 2 {
			maintained++
		}
		if p.Relapsed {
			events++
		}
	}
	if got.N != 100 || got.Rows != rows || got.Maintained != maintained || got.Events != events || got.Reference != "kap" {
		t.Errorf("n %d rows %d maintained %d events %d reference %q; want 100, %d, %d, %d, kap", got.N, got.Rows, got.Maintained, got.Events, got.Reference, rows, maintained, events)
	}

	// Maintenance only after the end of follow-up: no maintenance term.
	for i := range c.in.Patients {
		p := &c.in.Patients[i]
		p.MaintenanceDay = p.ResponseDay + p.RelapseTime
	}
	got = RelapseAdjusted(c.in)
	if got.Maintained != 0 || got.Terms[2].Term != "age" ||
		!strings.Contains(got.Note, "maintenance not adjusted for: no patient began maintenance before the end of follow-up.") {
		t.Errorf("maintained %d, terms %v, note %q", got.Maintained, got.Terms, got.Note)
	}

	// One program only: no program term, every patient at risk.
	for i := range c.in.Patients {
		if c.in.Patients[i].Program == "infusion" && i%4 != 0 {
			c.in.Patients[i].AtRisk = false
		}
	}
	got = RelapseAdjusted(c.in)
	if got.Reference != "" || got.Terms[0].Term != "baseline" || got.N != 70 ||
		!strings.HasPrefix(got.Note, "program not in the model: fewer than two programs with at least 20 patients (kap 60, infusion 10).") {
		t.Errorf("reference %q, first term %q, n %d, note %q", got.Reference, got.Terms[0].Term, got.N, got.Note)
	}
}

func TestAdjustedFor(t *testing.T) {
	s := Sample{Covariates: []string{"baseline", "maintenance", "age", "sex=male", "sex=other", "diagnosis=ptsd", "prior_treatments"}}
	if got, want := s.AdjustedFor(), []string{"baseline", "maintenance", "age", "sex", "diagnosis", "prior_treatments"}; !reflect.DeepEqual(got, want) {
		t.Errorf("AdjustedFor() = %v, want %v", got, want)
	}
	if got := (Sample{}).AdjustedFor(); got != nil {
		t.Errorf("no covariates: %v", got)
	}
}
