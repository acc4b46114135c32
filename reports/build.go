package reports

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kapstat/kapstat/measures/outcome"
	"github.com/kapstat/kapstat/measures/stats"
	"github.com/kapstat/kapstat/pipeline"
)

// builder lays out the analysis as the workbook model.
type builder struct {
	a        *pipeline.Analysis
	opt      Options
	external bool
}

// build returns the workbook model of an analysis, before suppression.
func build(a *pipeline.Analysis, opt Options) *Workbook {
	b := &builder{a: a, opt: opt, external: opt.Audience == "external"}
	wb := &Workbook{}
	wb.Sheets = append(wb.Sheets, b.summary(), b.byGroup(), b.trend(), b.trajectories(), b.relapse(), b.course(),
		b.reliableChange())
	if s := b.patients(); s != nil {
		wb.Sheets = append(wb.Sheets, s)
	}
	wb.Sheets = append(wb.Sheets, b.comparisons())
	if s := b.sessionSafety(); s != nil {
		wb.Sheets = append(wb.Sheets, s)
	}
	wb.Sheets = append(wb.Sheets, b.attrition(), b.dataQuality())
	if !b.external {
		wb.Sheets = append(wb.Sheets, b.safety())
	}
	wb.Sheets = append(wb.Sheets, b.methods())
	return wb
}

func (b *builder) title() string {
	if b.opt.Title != "" {
		return b.opt.Title
	}
	return "Ketamine-assisted psychotherapy outcomes"
}

func (b *builder) asOf() string {
	if b.a.AsOf != nil {
		return *b.a.AsOf
	}
	return ""
}

// intro is the lines under every sheet title: what the data are, as of when, for whom.
func (b *builder) intro(lines ...string) []string {
	var head []string
	period := "Data: every row received (the input gives days counted from each patient's start, not dates, so there is no calendar cut-off)."
	if d := b.asOf(); d != "" {
		period = "Data as of " + d + " (rows dated later are ignored; treatment windows still open on that day are counted as still in treatment)."
	}
	if b.opt.Quarter != "" {
		period = "Quarter " + b.opt.Quarter + ". " + period
	}
	head = append(head, period+fmt.Sprintf(" kapstat %s. Definitions and sources: see the Methods sheet.", b.a.KapstatVersion))
	if b.external {
		head = append(head, fmt.Sprintf("External edition: counts from 1 to %d are shown as <%d; values that would reveal them are shown as —.",
			b.below()-1, b.below()))
	} else {
		head = append(head, "Internal edition: no small-cell suppression; the Safety sheet lists patients. Do not share outside the care team.")
	}
	return append(head, lines...)
}

func (b *builder) below() int {
	if b.opt.SuppressBelow > 0 {
		return b.opt.SuppressBelow
	}
	return 11
}

// instruments returns the analysed instruments in canonical order.
func (b *builder) instruments() []*pipeline.MeasureResult { return b.a.Instruments() }

func heading(m *pipeline.MeasureResult) string {
	if t, ok := instrumentTopics[m.Instrument]; ok {
		return instrumentName(m.Instrument) + " (" + t + ")"
	}
	return instrumentName(m.Instrument)
}

func columns(headers ...string) []Column {
	out := make([]Column, len(headers))
	for i, h := range headers {
		out[i] = Column{Header: h}
	}
	return out
}

// patients is "1 patient" or "n patients".
func nPatients(n int) string {
	if n == 1 {
		return "1 patient"
	}
	return fmt.Sprintf("%d patients", n)
}

// ---------------------------------------------------------------- keys

// Keys name each quantity once for the whole workbook (Cell.Key): the same count shown on two
// sheets carries the same key, so that suppression hides it in both or in neither.

// groupKey is the key prefix of an instrument's group ("" dimension: all patients).
func groupKey(instrument, dim, group string) string {
	if dim == "" {
		return instrument
	}
	return instrument + "/" + dim + "/" + group
}

// relapseKey is the key prefix of a relapse curve: all patients, a program (the same curve on
// the Relapse sheet and in the program rows of Outcomes by group) or another group.
func relapseKey(instrument, dim, group string) string {
	switch dim {
	case "":
		return instrument + "/relapse"
	case "program":
		return instrument + "/relapse/" + group
	}
	return groupKey(instrument, dim, group) + "/relapse"
}

// dayKey is the key prefix of a relapse curve's figures at a set day.
func dayKey(curve string, day float64) string { return fmt.Sprintf("%s/day%d", curve, int(day)) }

// ---------------------------------------------------------------- Summary

// cohortTable counts the patients; with summaryColumns it takes the columns of the Summary's
// instrument tables so that one frozen header serves the whole sheet.
func (b *builder) cohortTable(summaryColumns bool) *Table {
	c := b.a.Cohort
	t := &Table{Title: "Cohort", Columns: columns("Patients", "Number")}
	if summaryColumns {
		t.Columns = summaryHeader()
	}
	all := t.add(text("Patients in the data"), count("cohort/patients", c.Patients))
	treatedLabel := "Treated (at least one dosing session)"
	if c.AssessmentOnly {
		treatedLabel = "Patients with at least one score (no sessions supplied)"
	}
	treated := t.add(text(treatedLabel), count("cohort/treated", c.Treated))
	sum := Sum{Total: Ref{all, 1}, Parts: []Ref{{treated, 1}}}
	listed := 0
	for _, r := range sortedKeys(c.Excluded) {
		if c.AssessmentOnly && r == outcome.ReasonNoDosingSession {
			continue // cannot happen without sessions
		}
		row := t.add(text("Not counted: "+lower(b.label(r))), count("cohort/excluded/"+r, c.Excluded[r]))
		sum.Parts = append(sum.Parts, Ref{row, 1})
		listed += c.Excluded[r]
	}
	if d := c.Patients - c.Treated - listed; d != 0 {
		sum.Hidden = append(sum.Hidden, d)
	}
	t.Sums = append(t.Sums, sum)
	if c.AssessmentOnly {
		t.Notes = append(t.Notes, "No treatment sessions were supplied, so each patient's first assessment stands in for the first dose (assessment-only mode); groups by route, program and setting are then \"Not recorded\".")
	} else {
		t.Notes = append(t.Notes, "A patient counts as treated from the first dosing session; patients without one are left out of every outcome (they can still appear on the Safety list).")
	}
	return t
}

func (b *builder) summary() *Sheet {
	s := &Sheet{Name: "Summary", Title: b.title() + " — Summary"}
	s.Intro = b.intro()
	ct := b.cohortTable(true)
	s.Blocks = append(s.Blocks, ct)
	s.Freeze = ct
	for i, m := range b.instruments() {
		if i > 0 {
			// each instrument on a printed page of its own, its notes with it
			s.Blocks = append(s.Blocks, PageBreak{})
		}
		s.Blocks = append(s.Blocks, b.summaryTable(m))
	}
	if len(b.instruments()) == 0 {
		s.Blocks = append(s.Blocks, &Paragraph{Text: "No questionnaire scores were analysed."})
	}
	s.Blocks = append(s.Blocks, b.definitionsTable())
	return s
}

func summaryHeader() []Column {
	return columns("Measure", "Value", "SD", "Lower 95% limit", "Upper 95% limit", "Patients (n)", "Patients with the outcome")
}

// Summary table columns.
const (
	sLabel = iota
	sValue
	sSD
	sLow
	sHigh
	sN
	sEvents
)

// treatedWord is "Treated patients" or, without sessions, "Patients".
func (b *builder) treatedWord() string {
	if b.a.Cohort.AssessmentOnly {
		return "Patients"
	}
	return "Treated patients"
}

func (b *builder) summaryTable(m *pipeline.MeasureResult) *Table {
	I := m.Instrument
	cfg := b.a.Config
	th := cfg.Instruments[I]
	t := &Table{Title: heading(m), Columns: summaryHeader()}
	row := func(label string, cells map[int]Cell) {
		r := make([]Cell, 7)
		r[0] = text(label)
		for i := 1; i < 7; i++ {
			r[i] = blank()
		}
		for i, c := range cells {
			r[i] = c
		}
		t.add(r...)
	}
	row(b.treatedWord()+" with any score", map[int]Cell{sValue: count(I+"/patients", m.Patients)})
	row("Patients with a baseline score", map[int]Cell{sValue: count(I+"/with_baseline", m.WithBaseline)})
	row("Still in the acute window (no end-of-treatment score yet)", map[int]Cell{sValue: count(I+"/acute_window_open", m.AcuteWindowOpen)})
	row("Baseline mean score", map[int]Cell{sValue: mean(m.Baseline.Mean, m.Baseline.N, sN), sSD: mean(m.Baseline.SD, m.Baseline.N, sN),
		sN: count(I+"/with_baseline", m.Baseline.N)})
	row("End-of-treatment mean score", map[int]Cell{sValue: mean(m.Endpoint.Mean, m.Endpoint.N, sN), sSD: mean(m.Endpoint.SD, m.Endpoint.N, sN),
		sN: count(I+"/with_endpoint", m.Endpoint.N)})
	c := m.Change
	row("Mean change (end minus baseline)", map[int]Cell{sValue: mean(c.Mean, c.N, sN), sSD: mean(c.SD, c.N, sN),
		sLow: mean(c.Lower95, c.N, sN), sHigh: mean(c.Upper95, c.N, sN), sN: count(I+"/with_endpoint", c.N)})
	row("Effect size of the change (Cohen's d_z)", map[int]Cell{sValue: estimate(c.CohensDz, c.N, sN), sN: count(I+"/with_endpoint", c.N)})
	row("p-value of the change (paired t-test)", map[int]Cell{sValue: {Kind: PValue, Value: c.P, N: c.N, Deps: []int{sN}}, sN: count(I+"/with_endpoint", c.N)})
	prop := func(label string, p stats.Proportion, nKey, eKey string) {
		row(label, map[int]Cell{sValue: rate(p.Rate, sN, sEvents), sLow: rate(p.Lower95, sN, sEvents), sHigh: rate(p.Upper95, sN, sEvents),
			sN: count(nKey, p.N), sEvents: count(eKey, p.Events)})
	}
	prop("Response rate, completers", m.Response, I+"/resp_n", I+"/responders")
	prop("Response rate, intention to treat", m.ResponseITT, I+"/eligible", I+"/responders")
	prop("Remission rate, completers", m.Remission, I+"/resp_n", I+"/remitters")
	prop("Remission rate, intention to treat", m.RemissionITT, I+"/eligible", I+"/remitters")
	rl := m.Relapse
	curve := relapseKey(I, "", "")
	p56 := rl.At8Weeks
	d56 := dayKey(curve, p56.Time)
	km := func(v float64) Cell {
		return Cell{Kind: Rate, Value: v, Deps: []int{sN, sEvents}, Needs: []string{curve + "/at_risk", curve + "/events"}}
	}
	row("Relapse-free 8 weeks (56 days) after reaching half of baseline", map[int]Cell{
		sValue: withKey(km(p56.Survival), d56+"/survival"), sLow: withKey(km(p56.Lower95), d56+"/lower"),
		sHigh: withKey(km(p56.Upper95), d56+"/upper"),
		sN:    count(d56+"/at_risk", p56.NRisk), sEvents: count(d56+"/events", p56.Events)})
	row("Median days from reaching half of baseline to relapse", map[int]Cell{sValue: b.medianCell(rl.MedianDays, rl.AtRisk, curve),
		sN: count(curve+"/at_risk", rl.AtRisk), sEvents: count(curve+"/events", rl.Events)})
	t.Notes = []string{
		fmt.Sprintf("Scores: %s. Lower is better; a negative change is an improvement. Baseline is the latest score in the %d days up to and including the day of the first dose; the end-of-treatment score is the last score in the %d days after it. Patients whose %d days are not over yet have no end-of-treatment score and are left out of every figure below their baseline.",
			scaleText(I, th.Cutoff), cfg.BaselineDays, cfg.AcuteDays, cfg.AcuteDays),
		fmt.Sprintf("Response: end score at most %s of baseline; remission: end score below %d. Both are counted only for patients whose baseline was at or above the cutoff of %d. Completers are those patients with an end score; intention to treat also counts patients without one, as not responding.",
			pct(cfg.ResponseFraction), th.Remission, th.Cutoff),
		fmt.Sprintf("Relapse (a later score at or above %d, confirmed by the next) is followed in patients whose score fell to %s of baseline or lower at any acute-window visit: a wider group than the responders above, who are judged on the end score alone. The 8-week row counts those still followed on day 56; \"not reached\": fewer than half relapsed. Ranges are 95%% confidence intervals; Cohen's d_z is the mean change divided by its SD (0.8 or more, ignoring the sign, is large).",
			th.Cutoff, pct(cfg.ResponseFraction)),
	}
	return t
}

// withKey returns c with its Key set: a value shown in more than one place.
func withKey(c Cell, key string) Cell {
	c.Key = key
	return c
}

func scaleText(code string, cutoff int) string {
	switch code {
	case "PHQ9":
		return fmt.Sprintf("PHQ-9 total 0–27 (%d or more counts as depression at or above the cutoff)", cutoff)
	case "GAD7":
		return fmt.Sprintf("GAD-7 total 0–21 (%d or more counts as anxiety at or above the cutoff)", cutoff)
	case "PCL5":
		return fmt.Sprintf("PCL-5 total 0–80 (%d or more counts as probable PTSD)", cutoff)
	}
	return code
}

func pct(f float64) string {
	return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.1f", 100*f), "0"), ".") + "%"
}

// medianCell is a median time to relapse; it rests on its curve's counts.
func (b *builder) medianCell(m *float64, n int, curve string) Cell {
	needs := []string{curve + "/at_risk", curve + "/events"}
	if m == nil {
		c := Cell{Kind: Int, Text: "not reached", N: n, Needs: needs}
		if n == 0 {
			c.Text = "no patients followed"
		}
		return c
	}
	return Cell{Kind: Int, Value: *m, N: n, Needs: needs}
}

func (b *builder) definitionsTable() *Table {
	cfg := b.a.Config
	t := &Table{Title: "Definitions in brief", Columns: columns("Term", "Meaning"), Wide: true}
	per := func(f func(code string) string) string {
		var parts []string
		for _, m := range b.instruments() {
			parts = append(parts, instrumentName(m.Instrument)+": "+f(m.Instrument))
		}
		if len(parts) == 0 {
			for _, code := range cfg.InstrumentCodes() {
				parts = append(parts, instrumentName(code)+": "+f(code))
			}
		}
		return strings.Join(parts, "; ")
	}
	for _, d := range [][2]string{
		{"Baseline", fmt.Sprintf("The latest score in the %d days up to and including the day of the first dose.", cfg.BaselineDays)},
		{"End of treatment", fmt.Sprintf("The last score in the %d days after the first dose (the acute window).", cfg.AcuteDays)},
		{"Still in treatment", fmt.Sprintf("A patient whose %d-day acute window has not ended by the as-of date: no end-of-treatment score yet, so not counted as a completer, a dropout or a non-responder.", cfg.AcuteDays)},
		{"Cutoff", "The score at or above which symptoms count as clinically significant (" + per(func(c string) string { return fmt.Sprintf("%d", cfg.Instruments[c].Cutoff) }) + ")."},
		{"Response", fmt.Sprintf("End score at most %s of the baseline score, among patients starting at or above the cutoff.", pct(cfg.ResponseFraction))},
		{"Remission", "End score below the remission threshold (" + per(func(c string) string { return fmt.Sprintf("below %d", cfg.Instruments[c].Remission) }) + ")."},
		{"Completers / intention to treat", "Completers have an end score; intention to treat also counts patients without one, as not responding."},
		{"Reliable change", "A change larger than the questionnaire's measurement error (" + per(func(c string) string { return fmt.Sprintf("%d points", cfg.Instruments[c].ReliableChange) }) + ")."},
		{"Relapse", fmt.Sprintf("Among patients whose score fell to %s of baseline or lower at any acute-window visit: a later score back at or above the cutoff, confirmed by the next score.", pct(cfg.ResponseFraction))},
		{"95% confidence interval", "The range within which the true value lies with 95% confidence; narrower with more patients."},
	} {
		t.add(bold(d[0]), text(d[1]))
	}
	return t
}

// ---------------------------------------------------------------- Outcomes by group

// groupRows returns a dimension's groups in report order (for quarters: the last eight, then
// the patients still in the acute window, who have no quarter yet), and the groups left out
// (quarters before the last eight).
func (b *builder) groupRows(m *pipeline.MeasureResult, dim string) (rows []pipeline.GroupOutcome, omitted []pipeline.GroupOutcome) {
	keep := map[string]bool{}
	if dim == "quarter" {
		for _, q := range b.quarters() {
			keep[q] = true
		}
	}
	var open []pipeline.GroupOutcome
	for _, g := range m.ByGroup {
		if g.Dimension != dim {
			continue
		}
		switch {
		case dim == "quarter" && g.Group == outcome.ReasonAcuteWindowOpen:
			open = append(open, g)
		case dim == "quarter" && !keep[g.Group]:
			omitted = append(omitted, g)
		default:
			rows = append(rows, g)
		}
	}
	return append(rows, open...), omitted
}

// quarters is the last eight quarters, ascending, up to the report's quarter.
func (b *builder) quarters() []string {
	var qs []string
	for _, q := range b.a.Quarters {
		if b.opt.Quarter == "" || q <= b.opt.Quarter {
			qs = append(qs, q)
		}
	}
	sort.Strings(qs)
	if len(qs) > 8 {
		qs = qs[len(qs)-8:]
	}
	return qs
}

func (b *builder) dims() []string {
	var out []string
	for _, d := range dimensions {
		if d == "quarter" && len(b.a.Quarters) == 0 && !b.anyOpen() {
			continue
		}
		out = append(out, d)
	}
	return out
}

// anyOpen reports whether some patient is still in the acute window (the quarter dimension
// then has their row even before any quarter has closed).
func (b *builder) anyOpen() bool {
	if !b.a.DatesAvailable {
		return false
	}
	for _, m := range b.instruments() {
		if m.AcuteWindowOpen > 0 {
			return true
		}
	}
	return false
}

const quartersUnavailable = "Quarterly views are unavailable: the input gives days counted from a patient's start rather than calendar dates, so a quarter cannot be assigned."

func (b *builder) byGroup() *Sheet {
	return b.groupedSheet("Outcomes by group", "The key numbers of the Summary for groups of patients, in three tables per questionnaire: patients and scores, response and remission, relapse. Groups come from the first dosing session; the quarter is the one in which the acute outcome became known (first dose + acute window).",
		b.groupScoreTable, b.groupRateTable, b.groupRelapseTable)
}

// groupedSheet is a sheet of tables per instrument over the group dimensions, each instrument
// on its own printed page, the first table's header frozen.
func (b *builder) groupedSheet(name, intro string, tables ...func(*pipeline.MeasureResult) *Table) *Sheet {
	s := &Sheet{Name: name, Title: b.title() + " — " + name}
	s.Intro = b.intro(intro)
	if !b.a.DatesAvailable {
		s.Blocks = append(s.Blocks, &Paragraph{Text: quartersUnavailable, Bold: true})
	}
	for i, m := range b.instruments() {
		if i > 0 {
			s.Blocks = append(s.Blocks, PageBreak{})
		}
		for _, table := range tables {
			t := table(m)
			if s.Freeze == nil && len(tables) == 1 {
				s.Freeze = t
			}
			s.Blocks = append(s.Blocks, t)
		}
	}
	return s
}

// groupTable lays out one table of a group sheet: the All patients row, then a section per
// dimension. line writes one group's row and returns its index; cols are the count columns
// that add up over a dimension's groups, and value gives a group's value in such a column.
// A row is left out when skip says so (a group with nothing to show in this table).
func (b *builder) groupTable(t *Table, m *pipeline.MeasureResult, line func(name, dim string, g pipeline.GroupOutcome, all bool) int,
	cols []int, value func(g pipeline.GroupOutcome, col int) int, skip func(g pipeline.GroupOutcome) bool) {
	all := line("All patients", "", overall(m), true)
	for _, dim := range b.dims() {
		rows, omitted := b.groupRows(m, dim)
		t.section(dimensionTitles[dim])
		var idx []int
		for _, g := range rows {
			if skip != nil && skip(g) {
				continue
			}
			idx = append(idx, line(groupLabel(dim, g.Group), dim, g, false))
		}
		if len(rows)+len(omitted) == 0 {
			continue // no group of this dimension: nothing adds up to the total
		}
		for _, col := range cols {
			s := Sum{Total: Ref{all, col}}
			for _, i := range idx {
				s.Parts = append(s.Parts, Ref{i, col})
			}
			// Rows left out for having nothing to show add 0 to these columns, as the notes
			// say; quarters before the last eight add what a reader cannot know.
			if len(omitted) > 0 {
				left := 0
				for _, g := range omitted {
					left += value(g, col)
				}
				s.Hidden = append(s.Hidden, left)
			}
			t.Sums = append(t.Sums, s)
		}
	}
	if len(b.a.Quarters) > len(b.quarters()) {
		t.Notes = append(t.Notes, fmt.Sprintf("Only the last 8 quarters are shown: the All patients row also counts the patients of the quarters before %s.", b.quarters()[0]))
	}
}

// overall is the All patients row of an instrument in the group form.
func overall(m *pipeline.MeasureResult) pipeline.GroupOutcome {
	ch := stats.Summary{N: m.Change.N, Mean: m.Change.Mean, SD: m.Change.SD}
	r := m.Relapse
	return pipeline.GroupOutcome{WithBaseline: m.WithBaseline, AcuteWindowOpen: m.AcuteWindowOpen, WithEndpoint: m.WithEndpoint,
		Eligible: m.Eligible, Baseline: m.Baseline, Endpoint: m.Endpoint, Change: ch, CohensDz: m.Change.CohensDz,
		Response: m.Response, ResponseITT: m.ResponseITT, Remission: m.Remission, RemissionITT: m.RemissionITT,
		ReliableChange: m.ReliableChange,
		Relapse:        pipeline.GroupRelapse{AtRisk: r.AtRisk, Events: r.Events, MedianDays: r.MedianDays, At8Weeks: r.At8Weeks}}
}

// Columns of the group score table.
const (
	gsLabel = iota
	gsBase
	gsOpen
	gsEnd
	gsElig
	gsCompl
	gsBaseMean
	gsEndMean
	gsChange
	gsDz
	gsCols
)

func (b *builder) groupScoreTable(m *pipeline.MeasureResult) *Table {
	I := m.Instrument
	t := &Table{Title: heading(m) + ": patients and scores by group", Columns: columns("Group", "With baseline",
		"Still in the acute window", "With end score", "Eligible (baseline at or above cutoff, window over)", "Eligible completers",
		"Baseline mean", "End mean", "Mean change", "Effect size (d_z)")}
	line := func(name, dim string, g pipeline.GroupOutcome, all bool) int {
		key := groupKey(I, dim, g.Group)
		baseKey, openKey := key+"/with_baseline", key+"/acute_window_open"
		if dim == "quarter" && g.Group == outcome.ReasonAcuteWindowOpen {
			// The patients still in the acute window: the count the Summary and Attrition show.
			baseKey, openKey = I+"/acute_window_open", I+"/acute_window_open"
		}
		r := make([]Cell, gsCols)
		r[gsLabel] = text(name)
		r[gsLabel].Bold = all
		r[gsBase] = count(baseKey, g.WithBaseline)
		r[gsOpen] = count(openKey, g.AcuteWindowOpen)
		r[gsEnd] = count(key+"/with_endpoint", g.WithEndpoint)
		r[gsElig] = count(key+"/eligible", g.Eligible)
		r[gsCompl] = count(key+"/resp_n", g.Response.N)
		r[gsBaseMean] = mean(g.Baseline.Mean, g.Baseline.N, gsBase)
		r[gsEndMean] = mean(g.Endpoint.Mean, g.Endpoint.N, gsEnd)
		r[gsChange] = mean(g.Change.Mean, g.Change.N, gsEnd)
		r[gsDz] = estimate(g.CohensDz, g.Change.N, gsEnd)
		i := t.add(r...)
		closed := g.WithBaseline - g.AcuteWindowOpen
		// Counts not shown but implied by the shown ones: dropouts, closed patients below the
		// cutoff, eligible patients without an end score, completers below the cutoff.
		t.Sums = append(t.Sums,
			Sum{Total: Ref{i, gsBase}, Parts: []Ref{{i, gsOpen}, {i, gsEnd}}, Hidden: []int{closed - g.WithEndpoint}},
			Sum{Total: Ref{i, gsBase}, Parts: []Ref{{i, gsOpen}, {i, gsElig}}, Hidden: []int{closed - g.Eligible}},
			Sum{Total: Ref{i, gsElig}, Parts: []Ref{{i, gsCompl}}, Hidden: []int{g.Eligible - g.Response.N}},
			Sum{Total: Ref{i, gsEnd}, Parts: []Ref{{i, gsCompl}}, Hidden: []int{g.WithEndpoint - g.Response.N}},
		)
		return i
	}
	value := func(g pipeline.GroupOutcome, col int) int {
		return map[int]int{gsBase: g.WithBaseline, gsOpen: g.AcuteWindowOpen, gsEnd: g.WithEndpoint, gsElig: g.Eligible, gsCompl: g.Response.N}[col]
	}
	b.groupTable(t, m, line, []int{gsBase, gsOpen, gsEnd, gsElig, gsCompl}, value, nil)
	t.Notes = append([]string{
		fmt.Sprintf("With baseline: patients with a score in the %d days up to and including the day of the first dose. Still in the acute window:", b.a.Config.BaselineDays) + ` their treatment window has not ended, so they have no end score yet and are left out of the columns to the right. Mean change: end score minus baseline (negative is improvement); d_z is the mean change over its SD.`,
		"Small groups give wide ranges: compare groups only where the 95% limits do not overlap much.",
	}, t.Notes...)
	return t
}

// Columns of the group rate table.
const (
	grLabel = iota
	grCompl
	grResp
	grRespRate
	grRespLow
	grRespHigh
	grRespITT
	grRem
	grRemRate
	grRemLow
	grRemHigh
	grRemITT
	grCols
)

func (b *builder) groupRateTable(m *pipeline.MeasureResult) *Table {
	I := m.Instrument
	t := &Table{Title: heading(m) + ": response and remission by group", Columns: columns("Group", "Eligible completers", "Responders",
		"Response rate (completers)", "Lower 95%", "Upper 95%", "Response rate (intention to treat)",
		"Remitters", "Remission rate (completers)", "Lower 95%", "Upper 95%", "Remission rate (intention to treat)")}
	line := func(name, dim string, g pipeline.GroupOutcome, all bool) int {
		key := groupKey(I, dim, g.Group)
		itt := func(v float64, events int) Cell {
			return Cell{Kind: Rate, Value: v, Deps: []int{events}, Needs: []string{key + "/eligible"}}
		}
		r := make([]Cell, grCols)
		r[grLabel] = text(name)
		r[grLabel].Bold = all
		r[grCompl] = count(key+"/resp_n", g.Response.N)
		r[grResp] = count(key+"/responders", g.Response.Events)
		r[grRespRate] = rate(g.Response.Rate, grCompl, grResp)
		r[grRespLow] = rate(g.Response.Lower95, grCompl, grResp)
		r[grRespHigh] = rate(g.Response.Upper95, grCompl, grResp)
		r[grRespITT] = itt(g.ResponseITT.Rate, grResp)
		r[grRem] = count(key+"/remitters", g.Remission.Events)
		r[grRemRate] = rate(g.Remission.Rate, grCompl, grRem)
		r[grRemLow] = rate(g.Remission.Lower95, grCompl, grRem)
		r[grRemHigh] = rate(g.Remission.Upper95, grCompl, grRem)
		r[grRemITT] = itt(g.RemissionITT.Rate, grRem)
		i := t.add(r...)
		t.Sums = append(t.Sums,
			Sum{Total: Ref{i, grCompl}, Parts: []Ref{{i, grResp}}, Hidden: []int{g.Response.N - g.Response.Events}},
			Sum{Total: Ref{i, grCompl}, Parts: []Ref{{i, grRem}}, Hidden: []int{g.Response.N - g.Remission.Events}},
		)
		return i
	}
	value := func(g pipeline.GroupOutcome, col int) int {
		return map[int]int{grCompl: g.Response.N, grResp: g.Response.Events, grRem: g.Remission.Events}[col]
	}
	noRates := func(g pipeline.GroupOutcome) bool { return g.Response.N == 0 && g.Eligible == 0 }
	b.groupTable(t, m, line, []int{grCompl, grResp, grRem}, value, noRates)
	t.Notes = append([]string{
		"Rates are among eligible completers (baseline at or above the cutoff, with an end score); the intention-to-treat rates divide by every eligible patient whose acute window is over, counting those without an end score as not responding. Groups with no eligible patient are left out.",
	}, t.Notes...)
	return t
}

// Columns of the group relapse table.
const (
	glLabel = iota
	glAtRisk
	glEvents
	glRisk56
	glEvents56
	glFree56
	glLow56
	glHigh56
	glMedian
	glCols
)

func (b *builder) groupRelapseTable(m *pipeline.MeasureResult) *Table {
	I := m.Instrument
	t := &Table{Title: heading(m) + ": relapse by group", Columns: columns("Group", "Reached half of baseline and followed",
		"Relapses", "Still followed on day 56", "Relapses by day 56", "Relapse-free at 8 weeks", "Lower 95%", "Upper 95%",
		"Median days to relapse")}
	line := func(name, dim string, g pipeline.GroupOutcome, all bool) int {
		curve := relapseKey(I, dim, g.Group)
		d56 := dayKey(curve, g.Relapse.At8Weeks.Time)
		km := func(v float64, key string) Cell {
			return Cell{Kind: Rate, Value: v, Key: key, Deps: []int{glRisk56, glEvents56}, Needs: []string{curve + "/at_risk", curve + "/events"}}
		}
		p := g.Relapse.At8Weeks
		r := make([]Cell, glCols)
		r[glLabel] = text(name)
		r[glLabel].Bold = all
		r[glAtRisk] = count(curve+"/at_risk", g.Relapse.AtRisk)
		r[glEvents] = count(curve+"/events", g.Relapse.Events)
		r[glRisk56] = count(d56+"/at_risk", p.NRisk)
		r[glEvents56] = count(d56+"/events", p.Events)
		r[glFree56] = km(p.Survival, d56+"/survival")
		r[glLow56] = km(p.Lower95, d56+"/lower")
		r[glHigh56] = km(p.Upper95, d56+"/upper")
		r[glMedian] = b.medianCell(g.Relapse.MedianDays, g.Relapse.AtRisk, curve)
		i := t.add(r...)
		t.Sums = append(t.Sums, Sum{Total: Ref{i, glAtRisk}, Parts: []Ref{{i, glEvents}}, Hidden: []int{g.Relapse.AtRisk - g.Relapse.Events}},
			Sum{Total: Ref{i, glEvents}, Parts: []Ref{{i, glEvents56}}, Hidden: []int{g.Relapse.Events - p.Events}})
		return i
	}
	value := func(g pipeline.GroupOutcome, col int) int {
		return map[int]int{glAtRisk: g.Relapse.AtRisk, glEvents: g.Relapse.Events, glRisk56: g.Relapse.At8Weeks.NRisk,
			glEvents56: g.Relapse.At8Weeks.Events}[col]
	}
	noneFollowed := func(g pipeline.GroupOutcome) bool { return g.Relapse.AtRisk == 0 }
	b.groupTable(t, m, line, []int{glAtRisk, glEvents, glRisk56, glEvents56}, value, noneFollowed)
	t.Notes = append([]string{
		fmt.Sprintf("Relapse is followed in the patients whose score fell to %s of baseline or lower at any acute-window visit and who had a later score (not only the end-of-treatment responders). Relapse-free at 8 weeks is the Kaplan–Meier estimate on day 56 after that visit. Groups with nobody followed are left out.", pct(b.a.Config.ResponseFraction)),
	}, t.Notes...)
	return t
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
