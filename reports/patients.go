package reports

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/kapstat/kapstat/measures/compare"
	"github.com/kapstat/kapstat/measures/outcome"
	"github.com/kapstat/kapstat/measures/stats"
)

// ---------------------------------------------------------------- Patients

// patients is the Patients sheet (SPEC 9): who was treated in each program, "Table 1" with
// the standardized mean differences between the two largest programs; nil without a patients
// file.
func (b *builder) patients() *Sheet {
	tb := b.a.Patients
	if tb == nil {
		return nil
	}
	s := &Sheet{Name: "Patients", Title: b.title() + " — Patients by program"}
	s.Intro = b.intro("Who was treated in each program (from the patients file): the case mix that the Comparisons sheet allows for. Unknown values are counted in their own rows and left out of the means, medians and differences.")
	progs := sortedKeys(tb.ByProgram)
	cols := []string{"Characteristic", "All treated patients"}
	for _, p := range progs {
		cols = append(cols, groupLabel("program", p))
	}
	smdCol := -1
	if tb.SMD != nil {
		smdCol = len(cols)
		cols = append(cols, fmt.Sprintf("Standardized difference (%s vs %s)", groupLabel("program", tb.SMD.First), groupLabel("program", tb.SMD.Second)))
	}
	t := &Table{Title: "Characteristics of the treated patients", Columns: columns(cols...)}
	groups := append([]*compare.Characteristics{tb.Overall}, func() []*compare.Characteristics {
		var out []*compare.Characteristics
		for _, p := range progs {
			out = append(out, tb.ByProgram[p])
		}
		return out
	}()...)
	keyOf := func(g int) string {
		if g == 0 {
			return "patients/all"
		}
		return "patients/" + progs[g-1]
	}
	// The same counts on other sheets keep their keys there: the treated patients (Summary;
	// per program on Treatment course) and those with a baseline score (Summary; per program on
	// Outcomes by group).
	sameAs := func(g int, what string) string {
		prog := ""
		if g > 0 {
			prog = progs[g-1]
		}
		switch {
		case what == "n" && g == 0:
			return "cohort/treated"
		case what == "n":
			return "retention/" + prog + "/treated"
		case strings.HasPrefix(what, "baseline/") && strings.HasSuffix(what, "/n"):
			I := strings.TrimSuffix(strings.TrimPrefix(what, "baseline/"), "/n")
			if g == 0 {
				return I + "/with_baseline"
			}
			return groupKey(I, "program", prog) + "/with_baseline"
		}
		return keyOf(g) + "/" + what
	}
	// countRow adds a row of counts, one per group, and returns its index; sumRows declares that
	// the first column is the sum of the programs' columns.
	countRow := func(label, what string, val func(c *compare.Characteristics) int, indent bool) int {
		cells := []Cell{text(label)}
		if indent {
			cells[0] = indented(label)
		}
		for g, c := range groups {
			cells = append(cells, count(sameAs(g, what), val(c)))
		}
		if smdCol >= 0 {
			cells = append(cells, blank())
		}
		return t.add(cells...)
	}
	acrossPrograms := func(r int) {
		if len(groups) < 3 {
			return
		}
		s := Sum{Total: Ref{r, 1}}
		for g := 2; g <= len(groups); g++ {
			s.Parts = append(s.Parts, Ref{r, g})
		}
		t.Sums = append(t.Sums, s)
	}
	// values is a row of means or medians, each resting on the group's count row nRow.
	// A row without a standardized difference passes NaN for smd: its cell stays empty.
	values := func(label string, kind Kind, val func(c *compare.Characteristics) (float64, int), needs func(g int) []string, smd float64) {
		cells := []Cell{indented(label)}
		for g, c := range groups {
			v, n := val(c)
			cells = append(cells, withNeeds(Cell{Kind: kind, Value: v, N: n}, needs(g)))
		}
		if smdCol >= 0 {
			if math.IsNaN(smd) {
				cells = append(cells, blank())
			} else {
				cells = append(cells, withNeeds(estimate(smd, 0), smdNeeds(keyOf, len(groups), needs)))
			}
		}
		t.add(cells...)
	}
	n := countRow("Patients", "n", func(c *compare.Characteristics) int { return c.N }, false)
	t.Rows[n].Cells[0].Bold = true
	acrossPrograms(n)
	total := func(r int, parts ...int) {
		for g := 1; g <= len(groups); g++ {
			s := Sum{Total: Ref{r, g}}
			for _, p := range parts {
				s.Parts = append(s.Parts, Ref{p, g})
			}
			t.Sums = append(t.Sums, s)
		}
	}
	smd := tb.SMD
	pick := func(f func(*compare.SMDs) float64) float64 {
		if smd == nil {
			return math.NaN()
		}
		return f(smd)
	}

	// Age.
	t.section("Age (years; 90 and over counted as 90)")
	ageN := countRow("With an age", "age/n", func(c *compare.Characteristics) int { return c.Age.N }, true)
	ageU := countRow("Age unknown", "age/unknown", func(c *compare.Characteristics) int { return c.AgeUnknown }, true)
	total(n, ageN, ageU)
	acrossPrograms(ageN)
	acrossPrograms(ageU)
	ageNeeds := func(g int) []string { return []string{keyOf(g) + "/age/n"} }
	values("Mean age", Mean, func(c *compare.Characteristics) (float64, int) { return c.Age.Mean, c.Age.N }, ageNeeds,
		pick(func(s *compare.SMDs) float64 { return s.Age }))
	values("SD of age", Mean, func(c *compare.Characteristics) (float64, int) { return c.Age.SD, c.Age.N }, ageNeeds, math.NaN())

	// Categories: sex, diagnosis.
	category := func(title, what string, count func(*compare.Characteristics) map[string]int, unknown func(*compare.Characteristics) int, smdOf func(*compare.SMDs) float64, dim string) {
		t.section(title)
		levels := map[string]bool{}
		for _, c := range groups {
			for k := range count(c) {
				levels[k] = true
			}
		}
		names := make([]string, 0, len(levels))
		for k := range levels {
			names = append(names, k)
		}
		sort.Strings(names)
		var rows []int
		var keys []string
		for _, lv := range names {
			lv := lv
			r := countRow(groupLabel(dim, lv), what+"/"+lv, func(c *compare.Characteristics) int { return count(c)[lv] }, true)
			acrossPrograms(r)
			rows = append(rows, r)
			keys = append(keys, what+"/"+lv)
		}
		u := countRow(title+" unknown", what+"/unknown", unknown, true)
		acrossPrograms(u)
		total(n, append(rows, u)...)
		if smdCol >= 0 {
			// The SMD rests on the two programs' category counts.
			var needs []string
			for _, k := range keys {
				needs = append(needs, "patients/"+smd.First+"/"+k, "patients/"+smd.Second+"/"+k)
			}
			t.Rows[rows[0]].Cells[smdCol] = withNeeds(estimate(smdOf(smd), 0), needs)
		}
	}
	category("Sex", "sex", func(c *compare.Characteristics) map[string]int { return c.Sex }, func(c *compare.Characteristics) int { return c.SexUnknown },
		func(s *compare.SMDs) float64 { return s.Sex }, "sex")
	category("Diagnosis", "diagnosis", func(c *compare.Characteristics) map[string]int { return c.Diagnosis },
		func(c *compare.Characteristics) int { return c.DiagnosisUnknown }, func(s *compare.SMDs) float64 { return s.Diagnosis }, "diagnosis")

	// Prior treatments.
	t.section("Prior adequate antidepressant trials")
	pn := countRow("With the number recorded", "prior/n", func(c *compare.Characteristics) int { return c.PriorTreatments.N }, true)
	pr := countRow(fmt.Sprintf("Treatment-resistant (%d or more trials)", compare.TreatmentResistant), "prior/resistant", func(c *compare.Characteristics) int { return c.Resistant }, true)
	pu := countRow("Number unknown", "prior/unknown", func(c *compare.Characteristics) int { return c.PriorUnknown }, true)
	total(n, pn, pu)
	for _, r := range []int{pn, pr, pu} {
		acrossPrograms(r)
	}
	for g := 1; g <= len(groups); g++ {
		t.Sums = append(t.Sums, Sum{Total: Ref{pn, g}, Parts: []Ref{{pr, g}}, Hidden: []int{groups[g-1].PriorTreatments.N - groups[g-1].Resistant}})
	}
	if smdCol >= 0 {
		t.Rows[pr].Cells[smdCol] = withNeeds(estimate(smd.Resistant, 0), []string{"patients/" + smd.First + "/prior/resistant",
			"patients/" + smd.Second + "/prior/resistant", "patients/" + smd.First + "/prior/n", "patients/" + smd.Second + "/prior/n"})
	}
	priorNeeds := func(g int) []string { return []string{keyOf(g) + "/prior/n"} }
	values("Median number of trials", Mean, func(c *compare.Characteristics) (float64, int) { return c.PriorTreatments.Median, c.PriorTreatments.N },
		priorNeeds, pick(func(s *compare.SMDs) float64 { return s.PriorTreatments }))
	values("Lower quartile", Mean, func(c *compare.Characteristics) (float64, int) { return c.PriorTreatments.Q1, c.PriorTreatments.N }, priorNeeds, math.NaN())
	values("Upper quartile", Mean, func(c *compare.Characteristics) (float64, int) { return c.PriorTreatments.Q3, c.PriorTreatments.N }, priorNeeds, math.NaN())

	// Baseline scores.
	for _, m := range b.instruments() {
		I := m.Instrument
		t.section(heading(m) + ": baseline score")
		bn := countRow("With a baseline score", "baseline/"+I+"/n", func(c *compare.Characteristics) int { return c.Baseline[I].N }, true)
		bu := countRow("No baseline score", "baseline/"+I+"/unknown", func(c *compare.Characteristics) int { return c.BaselineUnknown[I] }, true)
		total(n, bn, bu)
		acrossPrograms(bn)
		acrossPrograms(bu)
		needs := func(g int) []string { return []string{sameAs(g, "baseline/"+I+"/n")} }
		values("Mean baseline score", Mean, func(c *compare.Characteristics) (float64, int) { return c.Baseline[I].Mean, c.Baseline[I].N }, needs,
			pick(func(s *compare.SMDs) float64 { return s.Baseline[I] }))
		values("SD", Mean, func(c *compare.Characteristics) (float64, int) { return c.Baseline[I].SD, c.Baseline[I].N }, needs, math.NaN())
	}
	t.Notes = []string{
		"Treated patients, by the program of their first dosing session. Ages of 90 and over are one category (HIPAA Safe Harbor) and enter the mean as 90.",
		"Standardized difference: the difference between the two largest programs in units of their pooled SD (continuous characteristics), or the multi-category difference of Yang and Dalton (2012) for sex and diagnosis. Values above 0.1 are usually read as an imbalance worth allowing for; the Comparisons sheet does so.",
	}
	s.Blocks = append(s.Blocks, t)
	s.Freeze = t
	return s
}

// smdNeeds is what a standardized difference rests on: the counts of every group of its row.
func smdNeeds(keyOf func(int) string, groups int, needs func(int) []string) []string {
	var out []string
	for g := 0; g < groups; g++ {
		out = append(out, needs(g)...)
	}
	return out
}

// ---------------------------------------------------------------- Session safety

// sessionSafety is the Session safety sheet (SPEC 6.18, 9): blood-pressure elevation, side
// effects, dissociation by dose number and serious adverse events of the dosing sessions,
// overall, by route and by setting.
func (b *builder) sessionSafety() *Sheet {
	ss := b.a.SessionSafety
	if ss == nil {
		return nil
	}
	cfg := b.a.Config
	s := &Sheet{Name: "Session safety", Title: b.title() + " — Safety of the dosing sessions"}
	s.Intro = b.intro(fmt.Sprintf("What the care team recorded at the %s: blood pressure before and during the dose, side effects, dissociation and serious adverse events. Each share is over the sessions (or patients) where the item was recorded.",
		b.countText(ss.DosingSessions, "dosing sessions")))
	type group struct {
		name, key string
		f         outcome.SafetyFigures
	}
	groups := []group{{"All dosing sessions", "safety", ss.Overall}}
	for _, r := range sortedKeys(ss.ByRoute) {
		groups = append(groups, group{groupLabel("route", r), "safety/route/" + r, ss.ByRoute[r]})
	}
	for _, st := range sortedKeys(ss.BySetting) {
		groups = append(groups, group{groupLabel("setting", st), "safety/setting/" + st, ss.BySetting[st]})
	}
	routes := len(ss.ByRoute)

	// Blood pressure and serious adverse events.
	bp := &Table{Title: "Blood pressure and serious adverse events", Columns: columns("Sessions of", "Dosing sessions",
		"With blood pressure recorded", "Elevated", "Share of sessions", "Lower 95%", "Upper 95%", "Patients with a recorded session",
		"Patients with an elevation", "Share of patients", "Serious adverse events", "Sessions with it recorded", "Per 1,000 sessions", "Lower 95%", "Upper 95%")}
	var bpRows []int
	for i, g := range groups {
		switch {
		case i == 1 && routes > 0:
			bp.section("By route of the session")
		case i == 1+routes && i < len(groups):
			bp.section("By setting of the session")
		}
		f := g.f
		e, ep, sae := f.BPElevation, f.BPElevationPatients, f.SeriousAdverseEvents
		saeNeeds := []string{g.key + "/sae/events", g.key + "/sae/sessions"}
		per := func(v float64) Cell { return withNeeds(Cell{Kind: Mean, Value: v}, saeNeeds) }
		r := bp.add(text(g.name), count(g.key+"/sessions", f.DosingSessions), count(g.key+"/bp/n", e.N), count(g.key+"/bp/events", e.Events),
			rate(e.Rate, 2, 3), rate(e.Lower95, 2, 3), rate(e.Upper95, 2, 3), count(g.key+"/bp/patients", ep.N), count(g.key+"/bp/patient_events", ep.Events),
			rate(ep.Rate, 7, 8), count(g.key+"/sae/events", sae.Events), count(g.key+"/sae/sessions", sae.Sessions),
			per(sae.Per1000), per(sae.Lower95), per(sae.Upper95))
		bp.Sums = append(bp.Sums, Sum{Total: Ref{r, 2}, Parts: []Ref{{r, 3}}, Hidden: []int{e.N - e.Events}},
			Sum{Total: Ref{r, 7}, Parts: []Ref{{r, 8}}, Hidden: []int{ep.N - ep.Events}},
			Sum{Total: Ref{r, 11}, Parts: []Ref{{r, 10}}, Hidden: []int{sae.Sessions - sae.Events}})
		bpRows = append(bpRows, r)
	}
	b.safetyPartitions(bp, bpRows, routes, []int{1, 2, 3, 10, 11}, false)
	// Patients add up over routes or settings when nobody has sessions of two: a reader who
	// knows that (a clinic where each patient keeps one setting) can subtract.
	b.safetyPartitions(bp, bpRows, routes, []int{7, 8}, true)
	ths := cfg.SessionSafety
	bp.Notes = []string{fmt.Sprintf("Elevated: highest systolic %d mmHg or more, or highest diastolic %d mmHg or more, or a systolic rise of %d mmHg or more over the reading before the dose, among sessions with the pre-dose systolic and the highest systolic and diastolic recorded. Ketamine raises blood pressure for an hour or two; these thresholds mark the sessions a clinician would want to review.",
		ths.SBPMax, ths.DBPMax, ths.SBPRise),
		"Serious adverse events per 1,000 dosing sessions, with the exact Poisson 95% interval (as R's poisson.test). Patients count in a route's or setting's row through their sessions of that route or setting."}
	s.Blocks = append(s.Blocks, bp)

	// Side effects.
	codes := map[string]bool{}
	for _, g := range groups {
		for c := range g.f.SideEffects {
			codes[c] = true
		}
	}
	names := make([]string, 0, len(codes))
	for c := range codes {
		if c != "any" {
			names = append(names, c)
		}
	}
	sort.Strings(names)
	if codes["any"] {
		names = append([]string{"any"}, names...)
	}
	sideEffects := func(title, unit string, key string, figs func(outcome.SafetyFigures) map[string]stats.Proportion, additive bool) *Table {
		hdr := []string{"Side effect"}
		for i, g := range groups {
			if i == 0 && unit == "Patients" {
				g.name = "All patients with a dosing session" // the overall column counts patients here
			}
			hdr = append(hdr, g.name)
		}
		se := &Table{Title: title, Columns: columns(hdr...)}
		nRow := []Cell{indented(unit + " with side effects recorded")}
		for _, g := range groups {
			var n int
			for _, p := range figs(g.f) {
				n = p.N
				break
			}
			nRow = append(nRow, count(g.key+"/"+key+"/n", n))
		}
		se.add(nRow...)
		// In a row of session counts, the overall column is the sum of the route columns, and of
		// the setting columns; so for patients when none has sessions of two.
		partitions := func(r int) {
			for _, part := range [][2]int{{2, 2 + routes}, {2 + routes, 1 + len(groups)}} {
				if part[0] >= part[1] {
					continue
				}
				s := Sum{Total: Ref{r, 1}}
				sum := 0.0
				for c := part[0]; c < part[1]; c++ {
					s.Parts = append(s.Parts, Ref{r, c})
					sum += se.Rows[r].Cells[c].Value
				}
				if !additive && sum != se.Rows[r].Cells[1].Value {
					continue // patients with sessions of two groups: no exact sum
				}
				se.Sums = append(se.Sums, s)
			}
		}
		partitions(0)
		for _, c := range names {
			evRow := []Cell{text(label(c))}
			rateRow := []Cell{indented("share")}
			for _, g := range groups {
				p := figs(g.f)[c]
				evRow = append(evRow, count(g.key+"/"+key+"/"+c, p.Events))
				rateRow = append(rateRow, withNeeds(Cell{Kind: Rate, Value: p.Rate}, []string{g.key + "/" + key + "/" + c, g.key + "/" + key + "/n"}))
			}
			r := se.add(evRow...)
			se.add(rateRow...)
			partitions(r)
			for col, g := range groups {
				p := figs(g.f)[c]
				se.Sums = append(se.Sums, Sum{Total: Ref{0, col + 1}, Parts: []Ref{{r, col + 1}}, Hidden: []int{p.N - p.Events}})
			}
		}
		return se
	}
	se := sideEffects("Side effects: dosing sessions with each", "Sessions", "se",
		func(f outcome.SafetyFigures) map[string]stats.Proportion { return f.SideEffects }, true)
	se.Notes = []string{"A session may list several side effects; \"none\" recorded counts as recorded with none. Nausea, dizziness, confusion and dissociation are common with ketamine and usually fade within hours."}
	sp := sideEffects("Side effects: patients with each at one or more sessions", "Patients", "sep",
		func(f outcome.SafetyFigures) map[string]stats.Proportion { return f.SideEffectsPatients }, false)
	sp.Notes = []string{"Among patients with side effects recorded at one or more dosing sessions: those with the side effect at any of them. In a route's or setting's column, through the patient's sessions of that route or setting."}
	// the per-patient table on a printed page of its own: it does not fit under the two above,
	// and its rows would run onto the next page without their header
	s.Blocks = append(s.Blocks, se, PageBreak{}, sp)

	// Dissociation by dose number, overall.
	dt := &Table{Title: "Dissociation by dose number (CADSS-6 total, 0–24)", Columns: columns("Dose", "Sessions with it recorded", "Mean", "SD", "Lower 95%", "Upper 95%")}
	for _, d := range ss.Overall.DissociationByDose {
		k := fmt.Sprintf("safety/dissociation/dose%d", d.Dose)
		dt.add(integer(d.Dose), count(k, d.N), mean(d.Mean, d.N, 1), mean(d.SD, d.N, 1), mean(d.Lower95, d.N, 1), mean(d.Upper95, d.N, 1))
	}
	dt.Notes = []string{"Dose k is the patient's k-th dosing session from the first dose, within the acute window. Dissociation is expected to lessen as patients get used to the dose; limits are t-based 95% intervals of the mean."}
	s.Blocks = append(s.Blocks, PageBreak{}, dt)
	if len(dt.Rows) > 0 {
		s.Blocks = append(s.Blocks, &Chart{Title: "Dissociation by dose number", XTitle: "Dose number", YTitle: "Mean CADSS-6 total", Rows: 14,
			Series: []Series{{Name: "Mean", T: dt, X: 0, Y: 2, From: 0, To: len(dt.Rows) - 1, Color: palette[0]},
				{Name: "Lower 95% limit", T: dt, X: 0, Y: 4, From: 0, To: len(dt.Rows) - 1, Color: "7F7F7F", Dashed: true},
				{Name: "Upper 95% limit", T: dt, X: 0, Y: 5, From: 0, To: len(dt.Rows) - 1, Color: "7F7F7F", Dashed: true}}})
	}
	return s
}

// safetyPartitions declares that the route rows (after the overall row) and the setting rows
// each add up to the overall row in the given columns. Session counts always do; patient counts
// (onlyExact) only when no patient has sessions of two routes or settings, and then the sum is
// declared, since a reader may know it.
func (b *builder) safetyPartitions(t *Table, rows []int, routes int, cols []int, onlyExact bool) {
	for _, part := range [][]int{rows[1 : 1+routes], rows[1+routes:]} {
		if len(part) == 0 {
			continue
		}
		for _, c := range cols {
			s := Sum{Total: Ref{rows[0], c}}
			sum := 0.0
			for _, r := range part {
				s.Parts = append(s.Parts, Ref{r, c})
				sum += t.Rows[r].Cells[c].Value
			}
			if onlyExact && sum != t.Rows[rows[0]].Cells[c].Value {
				continue
			}
			t.Sums = append(t.Sums, s)
		}
	}
}
