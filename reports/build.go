package reports

import (
	"fmt"
	"math"
	"sort"
	"strings"

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
	wb.Sheets = append(wb.Sheets, b.summary(), b.byGroup(), b.trend(), b.trajectories(), b.relapse(),
		b.reliableChange(), b.attrition(), b.dataQuality())
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
	period := "Data: every row received (no cut-off date)."
	if d := b.asOf(); d != "" {
		period = "Data as of " + d + " (rows dated later are ignored)."
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
	treated := t.add(text("Treated (at least one dosing session)"), count("cohort/treated", c.Treated))
	sum := Sum{Total: Ref{all, 1}, Parts: []Ref{{treated, 1}}}
	reasons := sortedKeys(c.Excluded)
	for _, r := range reasons {
		row := t.add(text("Not treated: "+strings.ToLower(label(r)[:1])+label(r)[1:]), count("cohort/excluded/"+r, c.Excluded[r]))
		sum.Parts = append(sum.Parts, Ref{row, 1})
	}
	if len(reasons) == 0 && c.Patients != c.Treated {
		sum.Hidden = append(sum.Hidden, c.Patients-c.Treated)
	}
	t.Sums = append(t.Sums, sum)
	if c.AssessmentOnly {
		t.Notes = append(t.Notes, "No treatment sessions were supplied, so each patient's first assessment stands in for the first dose (assessment-only mode); groups by route, program and setting are then \"Not recorded\".")
	} else {
		t.Notes = append(t.Notes, "A patient counts as treated from the first dosing session; patients without one are left out of every outcome.")
	}
	return t
}

func (b *builder) summary() *Sheet {
	s := &Sheet{Name: "Summary", Title: b.title() + " — Summary"}
	s.Intro = b.intro()
	ct := b.cohortTable(true)
	s.Blocks = append(s.Blocks, ct)
	s.Freeze = ct
	for _, m := range b.instruments() {
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

func (b *builder) summaryTable(m *pipeline.MeasureResult) *Table {
	I := m.Instrument
	th := b.a.Config.Instruments[I]
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
	row("Treated patients with any score", map[int]Cell{sValue: count(I+"/patients", m.Patients)})
	row("Patients with a baseline score", map[int]Cell{sValue: count(I+"/with_baseline", m.WithBaseline)})
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
	p56 := survivalAt(rl, 56)
	row("Relapse-free 8 weeks (56 days) after response", map[int]Cell{
		sValue: {Kind: Rate, Value: p56.Survival, N: p56.NRisk, Deps: []int{sN, sEvents}},
		sLow:   {Kind: Rate, Value: p56.Lower95, N: p56.NRisk, Deps: []int{sN, sEvents}},
		sHigh:  {Kind: Rate, Value: p56.Upper95, N: p56.NRisk, Deps: []int{sN, sEvents}},
		sN:     count(I+"/relapse/at_risk", rl.AtRisk), sEvents: count(I+"/relapse/events", rl.Events)})
	row("Median days from response to relapse", map[int]Cell{sValue: medianCell(rl.MedianDays, rl.AtRisk),
		sN: count(I+"/relapse/at_risk", rl.AtRisk), sEvents: count(I+"/relapse/events", rl.Events)})
	t.Notes = []string{
		fmt.Sprintf("Scores: %s. Lower is better; a negative change is an improvement. Baseline is the latest score in the %d days up to the first dose; the end-of-treatment score is the last score in the %d days after it.",
			scaleText(I), b.a.Config.BaselineDays, b.a.Config.AcuteDays),
		fmt.Sprintf("Response: end score at most %s of baseline; remission: end score below %d. Both are counted only for patients whose baseline was at or above the cutoff of %d. Completers are those patients with an end score; intention to treat also counts patients without one, as not responding.",
			pct(b.a.Config.ResponseFraction), th.Remission, th.Cutoff),
		"Relapse: among responders followed afterwards, a score back at or above the cutoff that is confirmed by the next score. \"Not reached\" means fewer than half relapsed during follow-up. Ranges are 95% confidence intervals. Cohen's d_z is the mean change divided by its SD (0.8 or more is a large effect).",
	}
	return t
}

func scaleText(code string) string {
	switch code {
	case "PHQ9":
		return "PHQ-9 total 0–27 (10 or more: moderate depression or worse)"
	case "GAD7":
		return "GAD-7 total 0–21 (10 or more: moderate anxiety or worse)"
	case "PCL5":
		return "PCL-5 total 0–80 (33 or more: probable PTSD)"
	}
	return code
}

func pct(f float64) string {
	return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.1f", 100*f), "0"), ".") + "%"
}

// survivalAt is the relapse-free point at day d, NaN when the analysis did not ask for it.
func survivalAt(r pipeline.RelapseSummary, d float64) survivalPoint {
	for _, p := range r.RelapseFree {
		if p.Time == d {
			return survivalPoint{p.NRisk, p.Survival, p.Lower95, p.Upper95}
		}
	}
	nan := math.NaN()
	return survivalPoint{0, nan, nan, nan}
}

type survivalPoint struct {
	NRisk                      int
	Survival, Lower95, Upper95 float64
}

func medianCell(m *float64, n int) Cell {
	if m == nil {
		c := Cell{Kind: Int, Text: "not reached", N: n}
		if n == 0 {
			c.Text = "no patients followed"
		}
		return c
	}
	return Cell{Kind: Int, Value: *m, N: n}
}

func (b *builder) definitionsTable() *Table {
	cfg := b.a.Config
	t := &Table{Title: "Definitions in brief", Columns: columns("Term", "Meaning"), Wide: true}
	for _, d := range [][2]string{
		{"Baseline", fmt.Sprintf("The latest score in the %d days up to and including the first dose.", cfg.BaselineDays)},
		{"End of treatment", fmt.Sprintf("The last score in the %d days after the first dose (the acute window).", cfg.AcuteDays)},
		{"Response", fmt.Sprintf("End score at most %s of the baseline score, among patients starting at or above the cutoff.", pct(cfg.ResponseFraction))},
		{"Remission", "End score below the remission threshold (PHQ-9 and GAD-7: 5; PCL-5: 33)."},
		{"Completers / intention to treat", "Completers have an end score; intention to treat also counts patients without one, as not responding."},
		{"Reliable change", "A change larger than the questionnaire's measurement error (PHQ-9: 6 points, GAD-7: 4, PCL-5: 10)."},
		{"Relapse", "After a response, a score back at or above the cutoff, confirmed by the next score."},
		{"95% confidence interval", "The range within which the true value lies with 95% confidence; narrower with more patients."},
	} {
		t.add(bold(d[0]), text(d[1]))
	}
	return t
}

// ---------------------------------------------------------------- Outcomes by group

// groupRows returns a dimension's groups in report order, and the sum of patients with
// baseline over the groups left out (quarters beyond the last eight).
func (b *builder) groupRows(m *pipeline.MeasureResult, dim string) (rows []pipeline.GroupOutcome, omitted []pipeline.GroupOutcome) {
	keep := map[string]bool{}
	if dim == "quarter" {
		for _, q := range b.quarters() {
			keep[q] = true
		}
	}
	for _, g := range m.ByGroup {
		if g.Dimension != dim {
			continue
		}
		if dim == "quarter" && !keep[g.Group] {
			omitted = append(omitted, g)
			continue
		}
		rows = append(rows, g)
	}
	return rows, omitted
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
		if d == "quarter" && len(b.a.Quarters) == 0 {
			continue
		}
		out = append(out, d)
	}
	return out
}

const quartersUnavailable = "Quarterly views are unavailable: the input gives days counted from a patient's start rather than calendar dates, so a quarter cannot be assigned."

// Outcomes-by-group columns.
const (
	gLabel = iota
	gBase
	gEnd
	gChange
	gElig
	gCompl
	gResp
	gRespRate
	gRespLow
	gRespHigh
	gITT
	gRem
	gRemRate
	gRemLow
	gRemHigh
	gCols
)

func (b *builder) byGroup() *Sheet {
	return b.groupedSheet("Outcomes by group", "Each table repeats the key numbers of the Summary for groups of patients. Groups come from the first dosing session; the quarter is the one in which the acute outcome became known (first dose + acute window).", b.groupTable)
}

// groupedSheet is a sheet of one table per instrument over the group dimensions, each
// instrument on its own printed page, the first table's header frozen.
func (b *builder) groupedSheet(name, intro string, table func(*pipeline.MeasureResult) *Table) *Sheet {
	s := &Sheet{Name: name, Title: b.title() + " — " + name}
	s.Intro = b.intro(intro)
	if len(b.a.Quarters) == 0 {
		s.Blocks = append(s.Blocks, &Paragraph{Text: quartersUnavailable, Bold: true})
	}
	for i, m := range b.instruments() {
		if i > 0 {
			s.Blocks = append(s.Blocks, PageBreak{})
		}
		t := table(m)
		if s.Freeze == nil {
			s.Freeze = t
		}
		s.Blocks = append(s.Blocks, t)
	}
	return s
}

func (b *builder) groupTable(m *pipeline.MeasureResult) *Table {
	I := m.Instrument
	t := &Table{Title: heading(m) + " by group", Columns: columns("Group", "With baseline", "With end score",
		"Mean change", "Eligible (baseline at or above cutoff)", "Eligible completers", "Responders",
		"Response rate (completers)", "Lower 95%", "Upper 95%", "Response rate (intention to treat)",
		"Remitters", "Remission rate (completers)", "Lower 95%", "Upper 95%")}
	line := func(name string, key string, g pipeline.GroupOutcome, boldRow bool) int {
		r := make([]Cell, gCols)
		r[gLabel] = text(name)
		r[gLabel].Bold = boldRow
		r[gBase] = count(key+"/with_baseline", g.WithBaseline)
		r[gEnd] = count(key+"/with_endpoint", g.WithEndpoint)
		r[gChange] = mean(g.Change.Mean, g.Change.N, gEnd)
		r[gElig] = count(key+"/eligible", g.Eligible)
		r[gCompl] = count(key+"/resp_n", g.Response.N)
		r[gResp] = count(key+"/responders", g.Response.Events)
		r[gRespRate] = rate(g.Response.Rate, gCompl, gResp)
		r[gRespLow] = rate(g.Response.Lower95, gCompl, gResp)
		r[gRespHigh] = rate(g.Response.Upper95, gCompl, gResp)
		r[gITT] = rate(g.ResponseITT.Rate, gElig, gResp)
		r[gRem] = count(key+"/remitters", g.Remission.Events)
		r[gRemRate] = rate(g.Remission.Rate, gCompl, gRem)
		r[gRemLow] = rate(g.Remission.Lower95, gCompl, gRem)
		r[gRemHigh] = rate(g.Remission.Upper95, gCompl, gRem)
		i := t.add(r...)
		// Counts not shown but implied by the shown ones.
		t.Sums = append(t.Sums,
			Sum{Total: Ref{i, gBase}, Parts: []Ref{{i, gEnd}}, Hidden: []int{g.WithBaseline - g.WithEndpoint}},
			Sum{Total: Ref{i, gBase}, Parts: []Ref{{i, gElig}}, Hidden: []int{g.WithBaseline - g.Eligible}},
			Sum{Total: Ref{i, gElig}, Parts: []Ref{{i, gCompl}}, Hidden: []int{g.Eligible - g.Response.N}},
			Sum{Total: Ref{i, gCompl}, Parts: []Ref{{i, gResp}}, Hidden: []int{g.Response.N - g.Response.Events}},
			Sum{Total: Ref{i, gCompl}, Parts: []Ref{{i, gRem}}, Hidden: []int{g.Response.N - g.Remission.Events}},
		)
		return i
	}
	overall := pipeline.GroupOutcome{WithBaseline: m.WithBaseline, WithEndpoint: m.WithEndpoint, Eligible: m.Eligible,
		Change: changeSummary(m), Response: m.Response, ResponseITT: m.ResponseITT, Remission: m.Remission}
	all := line("All patients", I, overall, true)
	for _, dim := range b.dims() {
		rows, omitted := b.groupRows(m, dim)
		t.section(dimensionTitles[dim])
		var idx []int
		for _, g := range rows {
			idx = append(idx, line(groupLabel(dim, g.Group), I+"/"+dim+"/"+g.Group, g, false))
		}
		for _, col := range []int{gBase, gEnd, gElig, gCompl, gResp, gRem} {
			s := Sum{Total: Ref{all, col}}
			for _, i := range idx {
				s.Parts = append(s.Parts, Ref{i, col})
			}
			if len(omitted) > 0 {
				s.Hidden = append(s.Hidden, sumGroups(omitted, col))
			}
			t.Sums = append(t.Sums, s)
		}
	}
	t.Notes = []string{
		"With baseline: patients with a score before the first dose. Mean change: end score minus baseline (negative is improvement). Response and remission rates are among eligible completers (baseline at or above the cutoff, with an end score); the intention-to-treat rate divides by all eligible patients.",
		"Small groups give wide ranges: compare groups only where the 95% limits do not overlap much.",
	}
	if len(b.a.Quarters) > len(b.quarters()) {
		t.Notes = append(t.Notes, "Only the last 8 quarters are shown; the All patients row includes earlier quarters too.")
	}
	return t
}

func changeSummary(m *pipeline.MeasureResult) stats.Summary {
	return stats.Summary{N: m.Change.N, Mean: m.Change.Mean, SD: m.Change.SD}
}

func sumGroups(gs []pipeline.GroupOutcome, col int) int {
	n := 0
	for _, g := range gs {
		switch col {
		case gBase:
			n += g.WithBaseline
		case gEnd:
			n += g.WithEndpoint
		case gElig:
			n += g.Eligible
		case gCompl:
			n += g.Response.N
		case gResp:
			n += g.Response.Events
		case gRem:
			n += g.Remission.Events
		}
	}
	return n
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
