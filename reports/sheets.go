package reports

import (
	"fmt"
	"math"
	"regexp"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"

	"github.com/kapstat/kapstat/measures"
	"github.com/kapstat/kapstat/measures/stats"
	"github.com/kapstat/kapstat/pipeline"
)

// Chart colours, one per line: overall / first program / second program.
var palette = []string{"1F4E79", "C55A11", "548235", "7030A0"}

// ---------------------------------------------------------------- Trajectories

func (b *builder) trajectories() *Sheet {
	s := &Sheet{Name: "Trajectories", Title: b.title() + " — Symptom trajectories"}
	s.Intro = b.intro("How scores changed week by week during the acute window (week 0 = baseline, week 1 = days 1–7 after the first dose, and so on).")
	for i, m := range b.instruments() {
		if i > 0 {
			s.Blocks = append(s.Blocks, PageBreak{})
		}
		w := b.weeklyTable(m)
		s.Blocks = append(s.Blocks, w)
		if len(w.Rows) > 0 {
			last := len(w.Rows) - 1
			s.Blocks = append(s.Blocks, &Chart{Title: heading(m) + ": mean score by week with 95% limits",
				XTitle: "Week since first dose", YTitle: instrumentName(m.Instrument) + " score", Rows: 18, Beside: w,
				Series: []Series{
					{Name: "Mean", T: w, X: 0, Y: 2, From: 0, To: last, Color: palette[0]},
					{Name: "Lower 95% limit", T: w, X: 0, Y: 4, From: 0, To: last, Color: "7F7F7F", Dashed: true},
					{Name: "Upper 95% limit", T: w, X: 0, Y: 5, From: 0, To: last, Color: "7F7F7F", Dashed: true},
				}})
		}
		s.Blocks = append(s.Blocks, b.modelTable(m), b.classTable(m))
	}
	return s
}

func (b *builder) weeklyTable(m *pipeline.MeasureResult) *Table {
	t := &Table{Title: heading(m) + ": mean score by week", Columns: columns("Week", "Patients (n)", "Mean score", "SD", "Lower 95% limit", "Upper 95% limit")}
	for _, w := range m.Weekly {
		key := fmt.Sprintf("%s/week/%d", m.Instrument, w.Week)
		if w.Week == 0 {
			key = m.Instrument + "/with_baseline" // week 0 is every patient's baseline score
		}
		t.add(integer(w.Week), count(key, w.N),
			mean(w.Mean, w.N, 1), mean(w.SD, w.N, 1), mean(w.Lower95, w.N, 1), mean(w.Upper95, w.N, 1))
	}
	t.Notes = []string{"Week 0 is the baseline score of every patient with one. Each patient counts in every week with a score (the last score of the week), including patients still in the acute window. Patients scored in a given week differ from week to week, so a falling mean partly reflects who was scored."}
	return t
}

var singleObs = regexp.MustCompile(`^(\d+) groups have a single observation$`)
var fewGroups = regexp.MustCompile(`^only (\d+) groups`)

// plainWarning rewrites a model warning for a clinic director.
func (b *builder) plainWarning(w string) string {
	num := func(s string) string {
		n, _ := strconv.Atoi(s)
		if b.external && n >= 1 && n < b.below() {
			return fmt.Sprintf("fewer than %d", b.below())
		}
		return s
	}
	switch {
	case singleObs.MatchString(w):
		n := singleObs.FindStringSubmatch(w)[1]
		return num(n) + " patients have a single score: they inform the average level but not the weekly change."
	case fewGroups.MatchString(w):
		return "Only " + num(fewGroups.FindStringSubmatch(w)[1]) + " patients: the spreads between patients are unreliable."
	case strings.HasPrefix(w, "boundary (singular) fit"):
		return "The data could not separate every source of variation between patients (a boundary fit): the average change per week is still usable, the spreads less so."
	case strings.HasPrefix(w, "the optimiser did not converge"):
		return "The model fit did not settle (no convergence): treat its estimates with caution."
	}
	return w
}

func (b *builder) modelTable(m *pipeline.MeasureResult) *Table {
	t := &Table{Title: heading(m) + ": mixed model of the trajectory", Columns: columns("Quantity", "Estimate", "Lower 95% limit", "Upper 95% limit")}
	f := m.Trajectory
	if f == nil {
		t.Notes = []string{"The mixed model was not fitted: " + strings.TrimPrefix(m.TrajectoryNote, "mixed model not fitted: ") + "."}
		return t
	}
	n := f.NGroups
	// The model holds every patient with a baseline: the same count as with_baseline.
	patientsKey := m.Instrument + "/model/patients"
	if f.NGroups == m.WithBaseline {
		patientsKey = m.Instrument + "/with_baseline"
	}
	needs := []string{patientsKey}
	est := func(label string, e, se float64) {
		t.add(text(label), withNeeds(estimate(e, n), needs), withNeeds(estimate(e-1.96*se, n), needs), withNeeds(estimate(e+1.96*se, n), needs))
	}
	est("Average score at baseline", f.Fixed.Intercept.Estimate, f.Fixed.Intercept.SE)
	est("Average change per week", f.Fixed.Slope.Estimate, f.Fixed.Slope.SE)
	one := func(label string, v float64) { t.add(text(label), withNeeds(estimate(v, n), needs), blank(), blank()) }
	one("Spread between patients at baseline (SD)", f.SDIntercept)
	one("Spread between patients in weekly change (SD)", f.SDSlope)
	one("Correlation of baseline level and weekly change", f.Corr)
	one("Week-to-week variation within a patient (SD)", f.SDResidual)
	t.add(text("Patients in the model"), count(patientsKey, f.NGroups), blank(), blank())
	t.add(text("Scores in the model"), count(m.Instrument+"/model/scores", f.NObs), blank(), blank())
	t.Notes = []string{"A straight line per patient fitted to the baseline and acute-window scores (linear mixed model, REML). The average change per week is the slope of the typical patient: negative means improvement. Limits are estimate ± 1.96 standard errors."}
	for _, w := range f.Warnings {
		t.Notes = append(t.Notes, "Note: "+b.plainWarning(w))
	}
	return t
}

func (b *builder) classTable(m *pipeline.MeasureResult) *Table {
	t := &Table{Title: heading(m) + ": trajectory classes", Columns: columns("Class", "Patients (n)", "Share of patients", "Score at baseline", "Change per week")}
	c := m.Classes
	if c == nil {
		t.Notes = []string{"Trajectory classes were not fitted: " + strings.TrimPrefix(m.ClassesNote, "trajectory classes not fitted: ") + "."}
		return t
	}
	// Every patient with a baseline is assigned to a class: the same count as with_baseline.
	totalKey := m.Instrument + "/classes/patients"
	if c.Patients == m.WithBaseline {
		totalKey = m.Instrument + "/with_baseline"
	}
	total := t.add(bold("All patients in the model"), count(totalKey, c.Patients), blank(), blank(), blank())
	s := Sum{Total: Ref{total, 1}}
	for i, cl := range c.Classes {
		name := cl.Label
		if name != "" {
			name = strings.ToUpper(name[:1]) + name[1:]
		}
		share := withNeeds(rate(cl.Share, 1), []string{totalKey})
		r := t.add(text(name), count(fmt.Sprintf("%s/classes/%d", m.Instrument, i), cl.N), share, mean(cl.Intercept, cl.N, 1), estimate(cl.Slope, cl.N, 1))
		s.Parts = append(s.Parts, Ref{r, 1})
	}
	t.Sums = []Sum{s}
	t.Notes = []string{fmt.Sprintf("Patients are grouped by the shape of their course (latent class growth model, %d classes chosen by the Bayesian information criterion). Each patient is counted in the class that fits best; the classes are descriptive, not diagnoses.", c.K)}
	return t
}

// ---------------------------------------------------------------- Relapse

func programs(r pipeline.RelapseSummary) []string { return sortedKeys(r.ByProgram.Curves) }

func (b *builder) relapse() *Sheet {
	s := &Sheet{Name: "Relapse", Title: b.title() + " — Relapse after reaching half of baseline"}
	s.Intro = b.intro(fmt.Sprintf("Among patients whose score fell to %s of baseline or lower at any visit in the acute window and who had later scores: how long they stayed well. Day 0 is the day of that visit. This is a wider group than the end-of-treatment responders of the Summary, who are judged on the end score alone.",
		pct(b.a.Config.ResponseFraction)))
	for i, m := range b.instruments() {
		if i > 0 {
			s.Blocks = append(s.Blocks, PageBreak{})
		}
		b.relapseBlocks(s, m)
	}
	return s
}

func (b *builder) relapseBlocks(s *Sheet, m *pipeline.MeasureResult) {
	I := m.Instrument
	r := m.Relapse
	progs := programs(r)
	all := relapseKey(I, "", "")
	curveNeeds := func(curve string) []string { return []string{curve + "/at_risk", curve + "/events"} }

	// Overview by program.
	ov := &Table{Title: heading(m) + ": relapse after reaching half of baseline", Columns: columns("Patients", "Followed afterwards", "Relapses", "Median days to relapse")}
	allRow := ov.add(bold("All patients followed"), count(all+"/at_risk", r.AtRisk), count(all+"/events", r.Events), b.medianCell(r.MedianDays, r.AtRisk, all))
	sums := []Sum{{Total: Ref{allRow, 1}}, {Total: Ref{allRow, 2}}}
	for _, p := range progs {
		c := r.ByProgram.Curves[p]
		key := relapseKey(I, "program", p)
		i := ov.add(text(groupLabel("program", p)), count(key+"/at_risk", c.AtRisk), count(key+"/events", c.Events), b.medianCell(c.MedianDays, c.AtRisk, key))
		sums[0].Parts = append(sums[0].Parts, Ref{i, 1})
		sums[1].Parts = append(sums[1].Parts, Ref{i, 2})
		ov.Sums = append(ov.Sums, Sum{Total: Ref{i, 1}, Parts: []Ref{{i, 2}}, Hidden: []int{c.AtRisk - c.Events}})
	}
	if len(progs) > 0 {
		ov.Sums = append(ov.Sums, sums...)
	}
	ov.Sums = append(ov.Sums, Sum{Total: Ref{allRow, 1}, Parts: []Ref{{allRow, 2}}, Hidden: []int{r.AtRisk - r.Events}})
	ov.Notes = []string{"Not followed: patients who never reached half of baseline, who did but had no later score, and who are still in the acute window without having reached it yet — see the Attrition sheet. \"Not reached\" means fewer than half of the patients relapsed during follow-up."}
	s.Blocks = append(s.Blocks, ov)

	// Relapse-free at set days, overall and by program.
	set := &Table{Title: heading(m) + ": relapse-free at set days", Columns: columns("Patients", "Day", "Still followed (at risk)", "Relapses by this day", "Relapse-free", "Lower 95% limit", "Upper 95% limit")}
	type curveRef struct {
		name     string
		from, to int
	}
	var setCurves []curveRef
	addSet := func(name, curve string, atRisk int, pts []pipeline.RelapsePoint) {
		from := len(set.Rows)
		set.add(bold(name), integer(0), count(curve+"/at_risk", atRisk), Cell{Kind: Count, Value: 0, Key: curve + "/day0/events"},
			Cell{Kind: Rate, Value: 1, Needs: curveNeeds(curve)}, blank(), blank())
		for _, p := range pts {
			d := dayKey(curve, p.Time)
			km := func(v float64, key string) Cell {
				return Cell{Kind: Rate, Value: v, Key: key, N: p.NRisk, Deps: []int{2, 3}, Needs: curveNeeds(curve)}
			}
			i := set.add(blank(), integer(int(p.Time)), withNeeds(count(d+"/at_risk", p.NRisk), curveNeeds(curve)),
				withNeeds(count(d+"/events", p.Events), curveNeeds(curve)),
				km(p.Survival, d+"/survival"), km(p.Lower95, d+"/lower"), km(p.Upper95, d+"/upper"))
			_ = i
		}
		setCurves = append(setCurves, curveRef{name, from, len(set.Rows) - 1})
	}
	if r.AtRisk > 0 {
		addSet("All patients followed", all, r.AtRisk, r.RelapseFree)
		for _, p := range progs {
			c := r.ByProgram.Curves[p]
			addSet(groupLabel("program", p), relapseKey(I, "program", p), c.AtRisk, c.RelapseFree)
		}
	}
	set.Notes = []string{"Relapse-free: the Kaplan–Meier estimate of the share of patients without a relapse by that day, allowing for patients followed for different lengths of time. \"n/a\" marks a day beyond the longest follow-up."}
	if b.external {
		set.Notes = append(set.Notes, fmt.Sprintf("A curve whose patients or relapses number fewer than %d is hidden whole (—), and so is a day whose patients still followed or relapses so far are hidden: the estimates would give the counts back.", b.below()))
	}

	// Chart and log-rank/Cox.
	chart := &Chart{Title: heading(m) + ": relapse-free after reaching half of baseline (Kaplan–Meier)", XTitle: "Days since reaching half of baseline", YTitle: "Relapse-free", Scatter: true, YPercent: true, Rows: 20, Beside: set}
	var km []*Table
	if !b.external && r.AtRisk > 0 {
		curves := []struct {
			name   string
			rows   []stats.KMRow
			atRisk int
		}{{"All patients followed", r.Curve, r.AtRisk}}
		for _, p := range progs {
			curves = append(curves, struct {
				name   string
				rows   []stats.KMRow
				atRisk int
			}{groupLabel("program", p), r.ByProgram.Curves[p].Curve, r.ByProgram.Curves[p].AtRisk})
		}
		for i, c := range curves {
			t := &Table{Title: heading(m) + ": Kaplan–Meier table — " + c.name, Columns: columns("Day", "At risk", "Relapses", "Relapse-free", "Lower 95% limit", "Upper 95% limit")}
			t.add(integer(0), Cell{Kind: Count, Value: float64(c.atRisk)}, Cell{Kind: Count, Value: 0}, rate(1), blank(), blank())
			for _, k := range c.rows {
				t.add(integer(int(k.Time)), Cell{Kind: Count, Value: float64(k.NRisk)}, Cell{Kind: Count, Value: float64(k.NEvent)},
					rate(k.Survival, 1, 2), rate(k.Lower95, 1, 2), rate(k.Upper95, 1, 2))
			}
			t.Notes = []string{"One row per day on which someone relapsed: patients still followed that day, relapses that day, and the estimated share still relapse-free."}
			km = append(km, t)
			chart.Series = append(chart.Series, Series{Name: c.name, T: t, X: 0, Y: 3, From: 0, To: len(t.Rows) - 1, Color: palette[i%len(palette)]})
		}
	} else {
		for i, c := range setCurves {
			chart.Series = append(chart.Series, Series{Name: c.name, T: set, X: 1, Y: 4, From: c.from, To: c.to, Color: palette[i%len(palette)]})
		}
	}

	tests := &Table{Title: heading(m) + ": comparison of programs", Columns: columns("Test", "Value", "Lower 95% limit", "Upper 95% limit", "p-value")}
	needs := curveNeeds(all)
	for _, p := range progs {
		needs = append(needs, curveNeeds(relapseKey(I, "program", p))...)
	}
	if lr := r.ByProgram.Logrank; lr != nil {
		tests.add(text(fmt.Sprintf("Log-rank test, chi-square (df = %d)", lr.DF)), withNeeds(estimate(lr.Chisq, r.AtRisk), needs), blank(), blank(), withNeeds(pvalue(lr.P, r.AtRisk), needs))
	}
	if cx := r.Cox; cx != nil {
		for _, term := range cx.Terms {
			tests.add(text("Hazard ratio: "+coxLabel(term.Term)), withNeeds(estimate(term.HazardRatio, cx.N), needs), withNeeds(estimate(term.Lower95, cx.N), needs),
				withNeeds(estimate(term.Upper95, cx.N), needs), withNeeds(pvalue(term.P, cx.N), needs))
		}
	}
	tests.Notes = []string{"The log-rank test asks whether the relapse curves of the programs differ. The hazard ratio (Cox model, adjusted for the baseline score) is the relative risk of relapse at any time: above 1 means relapse comes sooner; a range that excludes 1 and a p-value below 0.05 mean the difference is unlikely to be chance."}
	if r.ByProgram.Note != "" {
		tests.Notes = append(tests.Notes, "Note: "+plainNote(r.ByProgram.Note))
	}
	if r.CoxNote != "" {
		tests.Notes = append(tests.Notes, "Note: "+plainNote(r.CoxNote))
	}
	s.Blocks = append(s.Blocks, set)
	if len(chart.Series) > 0 {
		s.Blocks = append(s.Blocks, chart)
	}
	s.Blocks = append(s.Blocks, tests)
	if b.external {
		s.Blocks = append(s.Blocks, &Paragraph{Text: fmt.Sprintf("The day-by-day Kaplan–Meier tables are in the internal edition only: most days have fewer than %d relapses.", b.below())})
	}
	for _, t := range km {
		s.Blocks = append(s.Blocks, t)
	}
}

// withNeeds returns c resting on the counts of the given keys as well.
func withNeeds(c Cell, keys []string) Cell {
	c.Needs = append(append([]string(nil), c.Needs...), keys...)
	return c
}

func plainNote(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

func coxLabel(term string) string {
	switch term {
	case "program=infusion":
		return "infusion only vs KAP"
	case "baseline":
		return "per point of baseline score"
	}
	return term
}

// countText is "12 patients never responded", with small counts hidden in the external edition.
func (b *builder) countText(n int, what string) string {
	if b.external && n >= 1 && n < b.below() {
		return fmt.Sprintf("fewer than %d %s", b.below(), what)
	}
	return fmt.Sprintf("%d %s", n, what)
}

// ---------------------------------------------------------------- Reliable change

var rcCategories = []string{"recovered", "improved", "unchanged", "deteriorated"}

func (b *builder) reliableChange() *Sheet {
	return b.groupedSheet("Reliable change", "Patients with a baseline and an end-of-treatment score, sorted into Jacobson–Truax categories: did they change by more than the questionnaire's measurement error?", b.rcTable)
}

func (b *builder) rcTable(m *pipeline.MeasureResult) *Table {
	I := m.Instrument
	th := b.a.Config.Instruments[I]
	t := &Table{Title: heading(m) + ": reliable change", Columns: columns("Group", "Recovered", "Improved", "No reliable change", "Deteriorated",
		"Patients with an end score", "% recovered", "% improved", "% no reliable change", "% deteriorated")}
	line := func(name, dim string, g pipeline.GroupOutcome, all bool) int {
		key := groupKey(I, dim, g.Group)
		r := []Cell{text(name)}
		r[0].Bold = all
		for _, c := range rcCategories {
			r = append(r, count(key+"/rc/"+c, g.ReliableChange[c]))
		}
		r = append(r, count(key+"/with_endpoint", g.WithEndpoint))
		for i := range rcCategories {
			v := float64(g.ReliableChange[rcCategories[i]]) / float64(g.WithEndpoint)
			if g.WithEndpoint == 0 {
				v = math.NaN()
			}
			r = append(r, rate(v, 1+i, 5))
		}
		i := t.add(r...)
		t.Sums = append(t.Sums, Sum{Total: Ref{i, 5}, Parts: []Ref{{i, 1}, {i, 2}, {i, 3}, {i, 4}}})
		return i
	}
	value := func(g pipeline.GroupOutcome, col int) int {
		if col == 5 {
			return g.WithEndpoint
		}
		return g.ReliableChange[rcCategories[col-1]]
	}
	noEndScore := func(g pipeline.GroupOutcome) bool { return g.WithEndpoint == 0 }
	b.groupTable(t, m, line, []int{1, 2, 3, 4, 5}, value, noEndScore)
	t.Notes = append([]string{fmt.Sprintf("A reliable change is a change of at least %d points, larger than the questionnaire's measurement error. Recovered: improved reliably and moved from at or above the cutoff (%d) to below it. Improved: improved reliably otherwise. Deteriorated: worsened reliably. Percentages are of the patients with an end score in the row; groups without one (e.g. patients still in the acute window) are left out.",
		th.ReliableChange, th.Cutoff)}, t.Notes...)
	return t
}

// ---------------------------------------------------------------- Attrition

func (b *builder) attrition() *Sheet {
	s := &Sheet{Name: "Attrition", Title: b.title() + " — Attrition: who is counted where"}
	s.Intro = b.intro("The denominators of every rate in this workbook: how many patients reached each step, and why the others did not.")
	s.Blocks = append(s.Blocks, b.cohortTable(false))
	ms := b.instruments()
	if len(ms) == 0 {
		return s
	}
	cfg := b.a.Config
	hdr := []string{"Step"}
	for _, m := range ms {
		hdr = append(hdr, instrumentName(m.Instrument))
	}
	t := &Table{Title: "Patients at each step, per questionnaire", Columns: columns(hdr...)}
	type step struct {
		label   string
		section bool // a sub-heading, no counts
		indent  bool // patients who did not go on, with the reason
		key     string
		val     func(m *pipeline.MeasureResult) int
	}
	withBaseline := func(m *pipeline.MeasureResult) int { return m.WithBaseline }
	closed := func(m *pipeline.MeasureResult) int { return m.WithBaseline - m.AcuteWindowOpen }
	eligible := func(m *pipeline.MeasureResult) int { return m.Eligible }
	closedLabel := fmt.Sprintf("With a baseline score and the %d days after the first dose over", cfg.AcuteDays)
	steps := []step{
		{label: b.treatedWord(), val: func(*pipeline.MeasureResult) int { return b.a.Cohort.Treated }},
		{label: b.treatedWord() + " with any score of the questionnaire", key: "patients", val: func(m *pipeline.MeasureResult) int { return m.Patients }},
		{label: "Left out: " + lower(b.label("no_baseline")), indent: true, key: "excluded/no_baseline", val: func(m *pipeline.MeasureResult) int { return m.Excluded["no_baseline"] }},
		{label: "With a baseline score", key: "with_baseline", val: withBaseline},
		{label: b.label("acute_window_open") + " (no end score yet)", indent: true, key: "acute_window_open", val: func(m *pipeline.MeasureResult) int { return m.AcuteWindowOpen }},
		{label: closedLabel, key: "closed", val: closed},
		{label: "Mean change and reliable change", section: true},
		{label: closedLabel, key: "closed", val: closed},
		{label: "Dropped out: " + lower(b.label("no_endpoint")), indent: true, key: "excluded/no_endpoint", val: func(m *pipeline.MeasureResult) int { return m.Excluded["no_endpoint"] }},
		{label: "Completers: with an end score", key: "with_endpoint", val: func(m *pipeline.MeasureResult) int { return m.WithEndpoint }},
		{label: "Response and remission", section: true},
		{label: closedLabel, key: "closed", val: closed},
		{label: "Baseline below the cutoff: not counted", indent: true, key: "not_eligible", val: func(m *pipeline.MeasureResult) int { return closed(m) - m.Eligible }},
		{label: "Eligible: baseline at or above the cutoff (intention to treat)", key: "eligible", val: eligible},
		{label: "No end score (counted as not responding)", indent: true, key: "eligible_no_endpoint", val: func(m *pipeline.MeasureResult) int { return m.Eligible - m.Response.N }},
		{label: "Eligible completers", key: "resp_n", val: func(m *pipeline.MeasureResult) int { return m.Response.N }},
		{label: "Relapse", section: true},
		{label: "Baseline at or above the cutoff (acute window over or not)", key: "relapse/eligible", val: func(m *pipeline.MeasureResult) int { return m.Relapse.Eligible }},
		{label: b.label("no_response") + " (window over)", indent: true, key: "relapse/excluded/no_response", val: func(m *pipeline.MeasureResult) int { return m.Relapse.Excluded["no_response"] }},
		{label: fmt.Sprintf("Not yet at %s of baseline, still in the acute window", pct(cfg.ResponseFraction)), indent: true, key: "relapse/excluded/acute_window_open", val: func(m *pipeline.MeasureResult) int { return m.Relapse.Excluded["acute_window_open"] }},
		{label: b.label("no_followup_after_response"), indent: true, key: "relapse/excluded/no_followup_after_response", val: func(m *pipeline.MeasureResult) int { return m.Relapse.Excluded["no_followup_after_response"] }},
		{label: "Followed for relapse", key: "relapse/at_risk", val: func(m *pipeline.MeasureResult) int { return m.Relapse.AtRisk }},
	}
	// rows[i] is the table row of step i.
	rows := make([]int, len(steps))
	for i, st := range steps {
		if st.section {
			t.section(st.label)
			rows[i] = len(t.Rows) - 1
			continue
		}
		r := []Cell{text(st.label)}
		if st.indent {
			r[0] = indented(st.label)
		}
		for _, m := range ms {
			key := "cohort/treated"
			if st.key != "" {
				key = m.Instrument + "/" + st.key
			}
			r = append(r, count(key, st.val(m)))
		}
		rows[i] = t.add(r...)
	}
	for c := 1; c <= len(ms); c++ {
		m := ms[c-1]
		// rel declares that step total is the sum of the part steps; with more, a part the table
		// does not show is left to add (a reader knows it is there even when it is 0).
		rel := func(more bool, total int, parts ...int) Sum {
			s := Sum{Total: Ref{rows[total], c}}
			sum := 0
			for _, p := range parts {
				s.Parts = append(s.Parts, Ref{rows[p], c})
				sum += steps[p].val(m)
			}
			if more {
				s.Hidden = []int{steps[total].val(m) - sum}
			}
			return s
		}
		t.Sums = append(t.Sums,
			// Treated patients without any score of the questionnaire are not shown.
			rel(true, 0, 1),
			rel(false, 1, 2, 3), rel(false, 3, 4, 5), rel(false, 7, 8, 9), rel(false, 11, 12, 13), rel(false, 13, 14, 15),
			rel(false, 17, 18, 19, 20, 21),
			// The relapse base is the eligible patients plus the eligible ones still in the window.
			rel(true, 17, 13))
	}
	t.Notes = []string{
		"Read down a column. Indented lines are the patients who did not go on to the next step, with the reason. Treated patients without any score of a questionnaire do not appear in its column.",
		fmt.Sprintf("Patients still in the acute window count in the baseline mean and the weekly trajectories, but not yet as completers, dropouts or non-responders: their %d days are not over.", cfg.AcuteDays),
		fmt.Sprintf("Rates on the other sheets use these denominators: completer rates divide by the eligible completers, intention-to-treat rates by all eligible patients whose window is over, relapse by the patients followed after reaching %s of baseline.", pct(cfg.ResponseFraction)),
	}
	s.Blocks = append(s.Blocks, t)
	return s
}

func lower(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// ---------------------------------------------------------------- Data quality

func (b *builder) dataQuality() *Sheet {
	s := &Sheet{Name: "Data quality", Title: b.title() + " — Data quality"}
	s.Intro = b.intro("Every input row is either accepted, recognised as an exact duplicate, or set aside (quarantined) with a reason — none is dropped silently.")
	t := &Table{Title: "Input files", Columns: columns("File", "Contents", "Rows read", "Accepted", "Duplicates", "Quarantined", "Adds up?")}
	for i, in := range b.a.Inputs {
		k := fmt.Sprintf("input/%d/", i)
		readKey := b.inputReadKey(i, in)
		check := "yes"
		if in.RowsRead != in.Accepted+in.Duplicates+in.Quarantined {
			check = "NO: rows are missing, please report"
		}
		r := t.add(text(b.inputName(i, in)), text(label(in.Kind)), count(readKey, int(in.RowsRead)), count(k+"accepted", int(in.Accepted)),
			count(k+"duplicates", int(in.Duplicates)), count(k+"quarantined", int(in.Quarantined)), text(check))
		t.Sums = append(t.Sums, Sum{Total: Ref{r, 2}, Parts: []Ref{{r, 3}, {r, 4}, {r, 5}}})
	}
	if len(b.a.Inputs) == 0 {
		t.Notes = append(t.Notes, "No input files are recorded.")
	}
	s.Freeze = t
	t.Notes = append(t.Notes, "Adds up? checks that rows read = accepted + duplicates + quarantined for the file, so no row was lost.")
	t.Notes = append(t.Notes, "Duplicates are rows identical to another row (same patient, questionnaire, day and answers); they are kept once. Quarantined rows are kept aside in the warehouse with their file and line for correction.")
	s.Blocks = append(s.Blocks, t)

	rt := &Table{Title: "Quarantined rows by reason", Columns: columns("File and reason", "Rows")}
	for i, in := range b.a.Inputs {
		k := fmt.Sprintf("input/%d/", i)
		rt.section(b.inputName(i, in))
		tot := rt.add(text("All quarantined rows"), count(k+"quarantined", int(in.Quarantined)))
		s := Sum{Total: Ref{tot, 1}}
		var listed int64
		for _, reason := range sortedKeys(in.Reasons) {
			if reason == "duplicate" {
				continue
			}
			r := rt.add(indented(label(reason)), count(k+"reason/"+reason, int(in.Reasons[reason])))
			s.Parts = append(s.Parts, Ref{r, 1})
			listed += in.Reasons[reason]
		}
		if d := in.Quarantined - listed; d != 0 {
			s.Hidden = []int{int(d)}
		}
		rt.Sums = append(rt.Sums, s)
	}
	rt.Notes = []string{"A conflict quarantines every row of the pair or group: kapstat does not guess which answer is right."}
	s.Blocks = append(s.Blocks, rt)
	return s
}

// inputReadKey is the key of a file's rows read: a patients file with one row per patient of
// the data shows the number of patients, and takes its key.
func (b *builder) inputReadKey(i int, in pipeline.Input) string {
	if in.Kind == "patients" && int(in.RowsRead) == b.a.Cohort.Patients {
		return "cohort/patients"
	}
	return fmt.Sprintf("input/%d/read", i)
}

// inputName is how an input file is named: its path internally; "Input 1 (assessment
// scores)" in the external edition, which never shows names or folders.
func (b *builder) inputName(i int, in pipeline.Input) string {
	if b.external {
		return fmt.Sprintf("Input %d (%s)", i+1, lower(label(in.Kind)))
	}
	return in.Path
}

// ---------------------------------------------------------------- Safety

func (b *builder) safety() *Sheet {
	s := &Sheet{Name: "Safety", Title: b.title() + " — Safety follow-up (confidential)"}
	n := len(b.a.Safety)
	what := fmt.Sprintf("%s whose most recent PHQ-9 that answered item 9 rated it above 0", nPatients(n))
	s.Intro = b.intro(what + ", treated or not. Patient-level information: for the care team only.")
	t := &Table{Title: "Patients to follow up", Columns: []Column{{Header: "Patient id", Width: 14}, {Header: "Clinic"},
		{Header: "Date of the PHQ-9 that rated item 9"}, {Header: "Item 9 rating (0–3)"}, {Header: "PHQ-9 total (0–27)"},
		{Header: "Later PHQ-9 without item 9", Width: 14}}}
	flags := append([]pipeline.SafetyFlag(nil), b.a.Safety...)
	sort.SliceStable(flags, func(i, j int) bool {
		if flags[i].ClinicID != flags[j].ClinicID {
			return flags[i].ClinicID < flags[j].ClinicID
		}
		return flags[i].PatientID < flags[j].PatientID
	})
	when := func(date string, day int32) string {
		if date == "" {
			return fmt.Sprintf("day %d", day)
		}
		return date
	}
	for _, f := range flags {
		later := blank()
		if f.Later {
			later = text(when(f.LaterDate, f.LaterDay) + " (item 9 unknown)")
		}
		t.add(text(f.PatientID), text(f.ClinicID), text(when(f.Date, f.Day)), integer(f.Item9), integer(f.Total), later)
	}
	if len(flags) == 0 {
		t.Notes = append(t.Notes, "No patient's most recent PHQ-9 that answered item 9 rated it above 0.")
	}
	s.Freeze = t
	t.Notes = append(t.Notes,
		"Item 9 asks how often the patient has had thoughts of being better off dead or of self-harm (0 not at all, 1 several days, 2 more than half the days, 3 nearly every day). Any rating above 0 calls for a clinical risk assessment; this list does not replace one.",
		"The list covers every patient with a PHQ-9, treated or not (e.g. screened at a preparation session). A PHQ-9 given as a total only, or with item 9 skipped, does not say there is no risk: the latest rated item 9 stands, and the later PHQ-9 is shown beside it.")
	s.Blocks = append(s.Blocks, t)
	return s
}

// ---------------------------------------------------------------- Methods

func (b *builder) methods() *Sheet {
	s := &Sheet{Name: "Methods", Title: b.title() + " — Methods"}
	s.Intro = b.intro("Everything needed to reproduce the numbers: the definitions and thresholds in force, their sources, the software and the input files.")
	cfg := b.a.Config
	src := map[string]string{}
	for _, x := range measures.Sources {
		src[x.Topic] = x.Reference
	}
	if b.external {
		s.Blocks = append(s.Blocks, &Paragraph{Bold: true, Text: fmt.Sprintf(
			"Small-cell suppression: this external edition shows no count from 1 to %d (shown as <%d); zero is shown. No hidden count can be worked out from what is shown: not from totals and the other counts (where it could, more counts are hidden, shown as —), not from the same number shown under another label or on another sheet (one quantity, one decision), not from percentages, means, model estimates or Kaplan–Meier values (those resting on a hidden count, or on fewer than %d patients, are hidden with it), and not from their digits (every number is stored rounded to the precision shown). Patient-level sheets and file names are left out. Rule: CMS cell-size suppression policy.",
			b.below()-1, b.below(), b.below())})
	}
	t := &Table{Title: "Definitions and thresholds in force", Columns: []Column{{Header: "Setting"}, {Header: "Value"}, {Header: "Source", Width: 36}}}
	days := make([]string, len(cfg.RelapseDays))
	for i, d := range cfg.RelapseDays {
		days[i] = strconv.Itoa(d)
	}
	add := func(setting, value, source string) { t.add(text(setting), text(value), text(source)) }
	add("Baseline window (baseline_days)", fmt.Sprintf("%d days up to and including the day of the first dose", cfg.BaselineDays), "kapstat definition")
	add("Acute window (acute_days)", fmt.Sprintf("%d days after the first dose", cfg.AcuteDays), "kapstat definition: the 3–8 weeks of dosing")
	open := "as-of date: none (day offsets have no calendar), so every acute window counts as over"
	if d := b.asOf(); d != "" {
		open = fmt.Sprintf("the %d days after the first dose end after the as-of date (%s)", cfg.AcuteDays, d)
	}
	add("Still in treatment (acute_window_open)", open+": no acute outcome yet; counted in the baseline, the weekly trajectories and relapse follow-up only, in no completer, intention-to-treat, change, reliable-change or quarter figure", "kapstat definition")
	add("Safety list (PHQ-9 item 9)", "every patient, treated or not, whose most recent PHQ-9 that answered item 9 rated it above 0; a later PHQ-9 without item 9 is shown beside it, never read as no risk", src["PHQ-9 item 9"])
	add("Response (response_fraction)", fmt.Sprintf("end score ≤ %s × baseline", strconv.FormatFloat(cfg.ResponseFraction, 'f', -1, 64)), src["Response"])
	add("Remission", "end score below the remission threshold", src["Remission"])
	add("Relapse", "first follow-up score at or above the cutoff, confirmed by the next", src["Relapse"])
	add("Relapse-free reported at (relapse_days)", strings.Join(days, ", ")+" days", "kapstat definition")
	sample := "estimated on all patients"
	if cfg.ClassSample > 0 {
		sample = fmt.Sprintf("estimated on a seeded random sample of %d patients when there are more, then every patient assigned to its most probable class", cfg.ClassSample)
	}
	add("Trajectory classes (max_classes, class_starts, class_sample, seed)", fmt.Sprintf("up to %d classes, %d starts, %s, seed %d", cfg.MaxClasses, cfg.ClassStarts, sample, cfg.Seed), "kapstat definition")
	add("Reliable change categories", "recovered, improved, no reliable change, deteriorated", src["Reliable change categories"])
	courseDays := make([]string, len(cfg.CourseDays))
	for i, d := range cfg.CourseDays {
		courseDays[i] = strconv.Itoa(d)
	}
	add("Treatment course (course_days, induction_doses, maintenance_days)", fmt.Sprintf("cumulative response and remission at days %s after the first dose (Kaplan–Meier); induction completed at %d doses in the acute window; maintenance within %d days; response by dose number for doses 1–6",
		strings.Join(courseDays, ", "), cfg.InductionDoses, cfg.MaintenanceDays), "kapstat definition; real-world ketamine series report response dose by dose over a six-infusion induction (McInnes et al. 2022)")
	for _, w := range cfg.Windows {
		add("Follow-up window: "+w.Name, fmt.Sprintf("days %d–%d after the first dose; followed = a score in the window; response and remission on the last score in it, among eligible patients whose window is over", w.From, w.To),
			"resembles HEDIS DRR-E (depression response and remission 4–8 months after an elevated PHQ-9) and MN Community Measurement (response at 6 months, remission at 12 months, ± 60 days; NQF 1884, 0710); those anchor on the first elevated PHQ-9 of an episode, kapstat on the first dose")
	}
	ss := cfg.SessionSafety
	add("Blood-pressure elevation at a dosing session (session_safety)", fmt.Sprintf("highest systolic ≥ %d mmHg, or highest diastolic ≥ %d mmHg, or a systolic rise of %d mmHg or more over the pre-dose value", ss.SBPMax, ss.DBPMax, ss.SBPRise),
		"project decision: no consensus threshold for blood pressure during ketamine dosing was found; 180/110 mmHg is the severe range at which dosing is usually withheld")
	add("Serious adverse events", "rate per 1,000 dosing sessions with the exact Poisson 95% interval", "as R's poisson.test")
	supp := "not applied (internal edition)"
	if b.external {
		supp = fmt.Sprintf("counts 1–%d hidden, with complementary suppression", b.below()-1)
	}
	add(fmt.Sprintf("Small-cell suppression (suppress_below = %d)", b.below()), supp, src["Small-cell suppression"])
	for _, code := range cfg.InstrumentCodes() {
		th := cfg.Instruments[code]
		n := instrumentName(code)
		add(n+" clinical cutoff", fmt.Sprintf("total ≥ %d", th.Cutoff), src[n+" caseness"])
		add(n+" remission", fmt.Sprintf("total < %d", th.Remission), src["Remission"])
		add(n+" reliable change", fmt.Sprintf("%d points", th.ReliableChange), src[n+" reliable change"])
		add(n+" missing items allowed (prorated)", strconv.Itoa(th.MaxMissing), src[n+" prorating"])
	}
	t.Notes = []string{"Every value above can be changed in the configuration file; the values shown are the ones this workbook was computed with."}
	s.Blocks = append(s.Blocks, t)

	st := &Table{Title: "Sources", Columns: []Column{{Header: "Topic"}, {Header: "Definition", Width: 64}, {Header: "Reference", Width: 36}}}
	for _, x := range measures.Sources {
		st.add(text(x.Topic), text(b.statement(x)), text(x.Reference))
	}
	s.Blocks = append(s.Blocks, st)

	sw := &Table{Title: "Software and statistics", Columns: columns("Item", "Value"), Wide: true}
	sw.add(text("kapstat version"), text(b.a.KapstatVersion))
	sw.add(text("Spreadsheet writer"), text("github.com/xuri/excelize/v2 "+moduleVersion("github.com/xuri/excelize/v2")))
	sw.add(text("Data as of"), text(orDash(b.asOf(), "every row received")))
	if b.opt.Quarter != "" {
		sw.add(text("Quarter"), text(b.opt.Quarter))
	}
	sw.add(text("Statistics"), text("means with t-based 95% intervals; paired t-test; Wilson 95% intervals for rates; linear mixed model (REML, random intercept and slope, with covariates and a time × group term for the comparisons); latent class growth model (EM, BIC); Kaplan–Meier with Greenwood variance and log-scale limits; log-rank test; Cox model with Efron ties, on (start, stop] intervals for time-varying maintenance; linear and logistic regression; McNemar's test; exact Poisson limits. Checked against R (lme4, survival, stats, flexmix) on data kapstat did not generate."))
	classes := "latent class growth model: a finite mixture of straight-line trajectories of the baseline and acute-window scores on weeks since the baseline score, with no random effects within a class and one residual variance shared by the classes"
	classSample := ""
	if cfg.ClassSample > 0 {
		classSample = fmt.Sprintf(" When there are more than %d patients, the model is estimated on a seeded random sample of %d and every patient is assigned to the class with the largest posterior probability.", cfg.ClassSample, cfg.ClassSample)
	}
	sw.add(text("Trajectory classes"), text(fmt.Sprintf("Estimated with a %s, fitted by maximum likelihood with the EM algorithm from %d random starts per number of classes (seed %d), for 1 to %d classes, each class holding at least 1%% of patients (and at least 2); the number of classes is chosen by the Bayesian information criterion with N = the number of patients.%s The estimator was checked against R's flexmix on three data sets kapstat did not generate (lme4's sleepstudy, R's ChickWeight and a cohort simulated in R), for 1–4 classes with shared and class-specific variances: it reached at least flexmix's best log-likelihood from 20 random starts in every case, and its class estimates equalled flexmix's solution, taken to the exact maximum of the likelihood, to six significant digits.",
		classes, cfg.ClassStarts, cfg.Seed, cfg.MaxClasses, classSample)))
	s.Blocks = append(s.Blocks, sw)

	in := &Table{Title: "Input files", Columns: []Column{{Header: "File"}, {Header: "SHA-256", Width: 66}, {Header: "Contents"}, {Header: "Rows read"}}}
	for i, x := range b.a.Inputs {
		in.add(text(b.inputName(i, x)), text(x.SHA256), text(label(x.Kind)), count(b.inputReadKey(i, x), int(x.RowsRead)))
	}
	in.Notes = []string{"The SHA-256 fingerprint identifies the exact file content: recomputing it on a file shows whether it is the one analysed."}
	if b.external {
		in.Notes = append(in.Notes, "File names and folders are not shown in the external edition (a name can identify a person, a folder a user); the fingerprint still identifies each file.")
	}
	s.Blocks = append(s.Blocks, in)

	return s
}

// statement is a source's definition with the values in force: where the configuration
// changed a threshold from the published one, the value in force comes first.
func (b *builder) statement(x measures.Source) string {
	cfg := b.a.Config
	def := pipeline.DefaultConfig()
	inForce := func(code string, what func(pipeline.Thresholds) int, format string) string {
		th, ok := cfg.Instruments[code]
		if !ok {
			return x.Statement
		}
		dth := def.Instruments[code]
		if what(th) == what(dth) {
			return x.Statement
		}
		return fmt.Sprintf("In force: "+format+" (changed in the configuration). Published: %s", what(th), x.Statement)
	}
	cutoff := func(in pipeline.Thresholds) int { return in.Cutoff }
	rc := func(in pipeline.Thresholds) int { return in.ReliableChange }
	missing := func(in pipeline.Thresholds) int { return in.MaxMissing }
	for _, code := range []string{"PHQ9", "GAD7", "PCL5"} {
		n := instrumentName(code)
		switch x.Topic {
		case n + " caseness":
			return inForce(code, cutoff, "total ≥ %d")
		case n + " reliable change":
			return inForce(code, rc, "a change of %d points or more")
		case n + " prorating":
			return inForce(code, missing, "up to %d missing items, prorated")
		}
	}
	switch x.Topic {
	case "Response":
		if cfg.ResponseFraction != def.ResponseFraction {
			return fmt.Sprintf("In force: endpoint ≤ %s of baseline (changed in the configuration). Published: %s", pct(cfg.ResponseFraction), x.Statement)
		}
	case "Remission":
		var parts []string
		changed := false
		for _, code := range cfg.InstrumentCodes() {
			parts = append(parts, fmt.Sprintf("%s below %d", instrumentName(code), cfg.Instruments[code].Remission))
			changed = changed || cfg.Instruments[code].Remission != def.Instruments[code].Remission
		}
		if changed {
			return "In force: endpoint " + strings.Join(parts, ", ") + " (changed in the configuration). Published: " + x.Statement
		}
	case "Small-cell suppression":
		return fmt.Sprintf("counts 1–%d are not shown, with complementary suppression", b.below()-1)
	}
	return x.Statement
}

func orDash(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// moduleVersion is the version of a dependency as built into the binary.
func moduleVersion(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == path {
				return d.Version
			}
		}
	}
	return "(version unknown)"
}
