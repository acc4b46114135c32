package reports

import (
	"fmt"
	"math"
	"strings"

	"github.com/kapstat/kapstat/measures/compare"
	"github.com/kapstat/kapstat/pipeline"
)

// ---------------------------------------------------------------- Comparisons

// comparisons is the Comparisons sheet (SPEC 6.15, 9): per instrument and dimension, the
// difference between groups before and after allowing for who was treated, in plain words,
// and the adjusted relapse hazard ratios with maintenance counted from when it began.
func (b *builder) comparisons() *Sheet {
	s := &Sheet{Name: "Comparisons", Title: b.title() + " — Comparisons, adjusted for case mix"}
	s.Intro = b.intro("Were patients of one program, route, setting or integration exposure better off, or were they different patients? Each row shows the raw difference from the reference group beside the difference after allowing for the patients' baseline severity (and age, sex, diagnosis and prior treatments where a patients file was supplied).")
	s.Blocks = append(s.Blocks, &Paragraph{Bold: true, Text: "An adjusted difference in observational data is not proof of cause: patients were not assigned to groups at random, and anything the data do not record (motivation, support at home, the skill of the team) can still differ between groups. Differences whose 95% range includes 0 (or 1 for odds and hazard ratios) are compatible with no difference at all."})
	for i, m := range b.instruments() {
		if i > 0 {
			s.Blocks = append(s.Blocks, PageBreak{})
		}
		if m.Adjusted == nil {
			continue
		}
		if m.Adjusted.Note != "" {
			s.Blocks = append(s.Blocks, &Paragraph{Text: heading(m) + ": " + plainNote(m.Adjusted.Note)})
		}
		ch := b.changeComparison(m)
		s.Blocks = append(s.Blocks, ch)
		// The chart shows the first dimension compared (program, the field's central question,
		// when it is): the run of rows with estimates under its section.
		if from, to, ok := firstEstimates(ch); ok {
			section := ch.Rows[from-1].Cells[0].Text // "By program — against …"
			if section != "" {
				section = strings.ToLower(section[:1]) + section[1:]
			}
			s.Blocks = append(s.Blocks, &Chart{Title: heading(m) + ": difference in mean change from the reference group, " + section,
				XTitle: "Group", YTitle: "Points (negative: improved more)", Bar: true, Rows: 8 + 2*(to-from+1),
				Series: []Series{
					{Name: "Unadjusted", T: ch, X: 0, Y: cmpUnadj, From: from, To: to, Color: "A6A6A6"},
					{Name: "Adjusted", T: ch, X: 0, Y: cmpAdj, From: from, To: to, Color: palette[0]},
				}})
		}
		s.Blocks = append(s.Blocks, b.responseComparison(m), b.slopeComparison(m))
		if cx := m.Relapse.CoxAdjusted; cx != nil {
			s.Blocks = append(s.Blocks, b.coxAdjustedTable(m, cx))
		}
	}
	return s
}

// levelKey is the key of a comparison's patient count for one level: the key of the same
// count on Outcomes by group when the model holds exactly that group's patients (no one left
// out for a missing characteristic), so that one quantity gets one suppression decision.
func (b *builder) levelKey(m *pipeline.MeasureResult, kind string, dim compare.Dimension, level string, n int) string {
	for _, g := range m.ByGroup {
		if g.Dimension != string(dim) || g.Group != level {
			continue
		}
		natural := map[string]struct {
			suffix string
			n      int
		}{"change": {"/with_endpoint", g.WithEndpoint}, "response": {"/resp_n", g.Response.N}, "slope": {"/with_baseline", g.WithBaseline}}[kind]
		if natural.suffix != "" && natural.n == n {
			return groupKey(m.Instrument, string(dim), level) + natural.suffix
		}
	}
	return fmt.Sprintf("%s/adjusted/%s/%s/%s", m.Instrument, kind, dim, level)
}

// firstEstimates finds the rows of numbers of the first section that has any.
func firstEstimates(t *Table) (from, to int, ok bool) {
	numbers := func(i int) bool {
		return i < len(t.Rows) && !t.Rows[i].Section && !t.Rows[i].Span && len(t.Rows[i].Cells) > cmpAdj
	}
	for i, r := range t.Rows {
		if !r.Section || !numbers(i+1) {
			continue
		}
		for to = i + 1; numbers(to + 1); to++ {
		}
		return i + 1, to, true
	}
	return 0, 0, false
}

// Columns of the comparison tables.
const (
	cmpLabel = iota
	cmpN
	cmpRefN
	cmpUnadj
	cmpUnadjLow
	cmpUnadjHigh
	cmpAdj
	cmpAdjLow
	cmpAdjHigh
	cmpP
	cmpCols
)

func comparisonColumns(what string) []Column {
	return columns("Group (against the reference)", "Patients in the group", "Patients in the reference group", "Unadjusted "+what, "Lower 95%", "Upper 95%",
		"Adjusted "+what, "Lower 95%", "Upper 95%", "p (adjusted)")
}

// dimensionNoun names a dimension's groups in a sentence.
var dimensionNoun = map[compare.Dimension]string{compare.Program: "program", compare.Route: "route",
	compare.Setting: "setting", compare.Integration: "integration exposure"}

// allowingFor is "after allowing for baseline severity, age and sex".
func allowingFor(s compare.Sample) string {
	names := map[string]string{"baseline": "baseline severity", "age": "age", "sex": "sex", "diagnosis": "diagnosis",
		"prior_treatments": "prior treatments", "maintenance": "maintenance"}
	var parts []string
	for _, v := range s.AdjustedFor() {
		if n, ok := names[v]; ok {
			parts = append(parts, n)
		} else {
			parts = append(parts, strings.ReplaceAll(v, "_", " "))
		}
	}
	switch len(parts) {
	case 0:
		return "without adjustment"
	case 1:
		return "after allowing for " + parts[0]
	}
	return "after allowing for " + strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// comparisonRows lays out one kind of comparison: per dimension a section naming the reference,
// then a row per compared level. row fills the estimate cells and the words of one level.
func (b *builder) comparisonRows(t *Table, m *pipeline.MeasureResult, kind string, sample func(compare.Dimension) (*compare.Sample, int),
	row func(dim compare.Dimension, s *compare.Sample, i int, key func(level string) string, cells []Cell) string) {
	for _, dim := range compare.Dimensions {
		s, n := sample(dim)
		if s == nil {
			continue
		}
		title := dimensionTitles[string(dim)]
		if s.Reference == "" {
			t.section(title + ": not compared")
			if s.Note != "" {
				t.span(Cell{Text: plainNote(s.Note)})
			}
			continue
		}
		t.section(fmt.Sprintf("%s — against %s (the reference group)", title, groupLabel(string(dim), s.Reference)))
		// The rows of numbers first (a chart draws them), then a sentence for each, resting on
		// its row's counts and hidden with them.
		var sentences []Cell
		for i := 0; i < n; i++ {
			cells := make([]Cell, cmpCols)
			for c := range cells {
				cells[c] = blank()
			}
			sentence := row(dim, s, i, func(level string) string { return b.levelKey(m, kind, dim, level, s.Levels[level]) }, cells)
			t.add(cells...)
			sentences = append(sentences, Cell{Text: sentence, Needs: []string{cells[cmpN].Key, cells[cmpRefN].Key}})
		}
		for _, c := range sentences {
			t.span(c)
		}
		if s.Note != "" {
			t.span(Cell{Text: plainNote(s.Note)})
		}
	}
}

// estimateCells fills the estimate, limits and p cells of one comparison; the values rest on
// the two groups' counts (hidden when either is).
func estimateCells(cells []Cell, unadj, adj [4]float64, nLevel, nRef int, format Kind) {
	put := func(col int, v float64) {
		cells[col] = Cell{Kind: format, Value: v, N: min(nLevel, nRef), Deps: []int{cmpN, cmpRefN}}
	}
	put(cmpUnadj, unadj[0])
	put(cmpUnadjLow, unadj[1])
	put(cmpUnadjHigh, unadj[2])
	put(cmpAdj, adj[0])
	put(cmpAdjLow, adj[1])
	put(cmpAdjHigh, adj[2])
	cells[cmpP] = Cell{Kind: PValue, Value: adj[3], N: min(nLevel, nRef), Deps: []int{cmpN, cmpRefN}}
}

func num1(v float64) string { return fmt.Sprintf("%.1f", v) }

func (b *builder) changeComparison(m *pipeline.MeasureResult) *Table {
	t := &Table{Title: heading(m) + ": change in score by group", Columns: comparisonColumns("difference in change")}
	adj := m.Adjusted
	b.comparisonRows(t, m, "change", func(d compare.Dimension) (*compare.Sample, int) {
		c := adj.Change[d]
		if c == nil {
			return nil, 0
		}
		return &c.Sample, len(c.Terms)
	}, func(dim compare.Dimension, s *compare.Sample, i int, key func(string) string, cells []Cell) string {
		c := adj.Change[dim]
		a := c.Terms[i]
		u := differenceOf(c.Unadjusted, a.Level)
		lvl := groupLabel(string(dim), a.Level)
		cells[cmpLabel] = text(lvl)
		cells[cmpN] = count(key(a.Level), s.Levels[a.Level])
		cells[cmpRefN] = count(key(s.Reference), s.Levels[s.Reference])
		estimateCells(cells, [4]float64{u.Estimate, u.Lower95, u.Upper95, u.P}, [4]float64{a.Estimate, a.Lower95, a.Upper95, a.P},
			s.Levels[a.Level], s.Levels[s.Reference], Mean)
		return changeWords(allowingFor(*s), lvl, a)
	})
	t.Notes = []string{"Differences are in score points of the change from baseline to the end of treatment, against the reference group (the largest): negative means this group's scores fell more. Adjusted: an analysis of covariance (linear regression, as R's lm) of the change on the group and the adjustment variables; unadjusted: the same patients without them. Only groups of 20 or more patients are compared."}
	return t
}

// changeWords says a change difference in a sentence.
func changeWords(allowing, level string, a compare.Difference) string {
	if math.IsNaN(a.Estimate) {
		return "Not estimated."
	}
	dir := "improved " + num1(math.Abs(a.Estimate)) + " points more"
	if a.Estimate > 0 {
		dir = "improved " + num1(a.Estimate) + " points less"
	}
	if math.Abs(a.Estimate) < 0.05 {
		dir = "improved as much"
	}
	return fmt.Sprintf("%s, %s patients %s (95%% range %s to %s).", capitalize(allowing), lowerFirst(level), dir, num1(a.Lower95), num1(a.Upper95))
}

func differenceOf(ds []compare.Difference, level string) compare.Difference {
	for _, d := range ds {
		if d.Level == level {
			return d
		}
	}
	nan := math.NaN()
	return compare.Difference{Level: level, Estimate: nan, Lower95: nan, Upper95: nan, P: nan, SE: nan}
}

func (b *builder) responseComparison(m *pipeline.MeasureResult) *Table {
	t := &Table{Title: heading(m) + ": response by group (odds ratios)", Columns: comparisonColumns("odds ratio")}
	adj := m.Adjusted
	b.comparisonRows(t, m, "response", func(d compare.Dimension) (*compare.Sample, int) {
		r := adj.Response[d]
		if r == nil {
			return nil, 0
		}
		return &r.Sample, len(r.Terms)
	}, func(dim compare.Dimension, s *compare.Sample, i int, key func(string) string, cells []Cell) string {
		r := adj.Response[dim]
		a := r.Terms[i]
		var u compare.OddsRatio
		u.OddsRatio, u.Lower95, u.Upper95, u.P = math.NaN(), math.NaN(), math.NaN(), math.NaN()
		for _, x := range r.Unadjusted {
			if x.Level == a.Level {
				u = x
			}
		}
		lvl := groupLabel(string(dim), a.Level)
		cells[cmpLabel] = text(lvl)
		cells[cmpN] = count(key(a.Level), s.Levels[a.Level])
		cells[cmpRefN] = count(key(s.Reference), s.Levels[s.Reference])
		estimateCells(cells, [4]float64{u.OddsRatio, u.Lower95, u.Upper95, u.P}, [4]float64{a.OddsRatio, a.Lower95, a.Upper95, a.P},
			s.Levels[a.Level], s.Levels[s.Reference], Estimate)
		sentence := "Not estimated (the groups' responses are too separated for odds to be computed)."
		if !math.IsNaN(a.OddsRatio) {
			sentence = fmt.Sprintf("%s, %s patients had %.2f times the odds of responding (95%% range %.2f to %.2f).",
				capitalize(allowingFor(*s)), lowerFirst(lvl), a.OddsRatio, a.Lower95, a.Upper95)
		}
		return sentence
	})
	t.Notes = []string{"Among eligible completers: the odds of responding in the group against the reference group (logistic regression, as R's glm). Above 1: more likely to respond. Where every patient of a group responded or none did, odds cannot be estimated and no number is shown."}
	return t
}

func (b *builder) slopeComparison(m *pipeline.MeasureResult) *Table {
	t := &Table{Title: heading(m) + ": weekly change by group (trajectory slopes)", Columns: comparisonColumns("difference per week")}
	adj := m.Adjusted
	b.comparisonRows(t, m, "slope", func(d compare.Dimension) (*compare.Sample, int) {
		sl := adj.Slope[d]
		if sl == nil {
			return nil, 0
		}
		return &sl.Sample, len(sl.Terms)
	}, func(dim compare.Dimension, s *compare.Sample, i int, key func(string) string, cells []Cell) string {
		sl := adj.Slope[dim]
		a := sl.Terms[i]
		u := differenceOf(sl.Unadjusted, a.Level)
		lvl := groupLabel(string(dim), a.Level)
		cells[cmpLabel] = text(lvl)
		cells[cmpN] = count(key(a.Level), s.Levels[a.Level])
		cells[cmpRefN] = count(key(s.Reference), s.Levels[s.Reference])
		estimateCells(cells, [4]float64{u.Estimate, u.Lower95, u.Upper95, u.P}, [4]float64{a.Estimate, a.Lower95, a.Upper95, a.P},
			s.Levels[a.Level], s.Levels[s.Reference], Estimate)
		sentence := "Not estimated."
		if !math.IsNaN(a.Estimate) {
			dir := fmt.Sprintf("fell %.2f points a week faster", -a.Estimate)
			switch {
			case math.Abs(a.Estimate) < 0.005:
				dir = "fell as fast"
			case a.Estimate > 0:
				dir = fmt.Sprintf("fell %.2f points a week more slowly", a.Estimate)
			}
			sentence = fmt.Sprintf("%s, %s patients' scores %s (95%% range %.2f to %.2f).", capitalize(allowingFor(*s)), lowerFirst(lvl),
				dir, a.Lower95, a.Upper95)
		}
		return sentence
	})
	t.Notes = []string{"The difference in the average weekly change of score over the baseline and acute-window scores (linear mixed model with a straight line per patient and a time × group term, as R's lmer). Negative: scores fell faster than in the reference group. This model allows for the patient characteristics but not for the baseline score, which is the first point of each patient's own line."}
	return t
}

// coxAdjustedTable is the adjusted relapse model: hazard ratios of program, baseline, the
// characteristics and maintenance counted from the day it began.
func (b *builder) coxAdjustedTable(m *pipeline.MeasureResult, cx *compare.CoxAdjusted) *Table {
	I := m.Instrument
	k := I + "/cox_adjusted"
	t := &Table{Title: heading(m) + ": relapse, adjusted hazard ratios", Columns: columns("Term", "Hazard ratio", "Lower 95%", "Upper 95%", "p-value")}
	n := t.add(bold("Patients in the model"), count(k+"/n", cx.N), blank(), blank(), blank())
	e := t.add(text("Relapses"), count(k+"/events", cx.Events), blank(), blank(), blank())
	t.add(text("Patients who started maintenance before their follow-up ended"), count(k+"/maintained", cx.Maintained), blank(), blank(), blank())
	t.Sums = []Sum{{Total: Ref{n, 1}, Parts: []Ref{{e, 1}}, Hidden: []int{cx.N - cx.Events}}}
	needs := []string{k + "/n", k + "/events"}
	for _, term := range cx.Terms {
		label, sentence := coxTermWords(term)
		c := func(v float64, kind Kind) Cell { return withNeeds(Cell{Kind: kind, Value: v, N: cx.N}, needs) }
		t.add(text(label), c(term.HazardRatio, Estimate), c(term.Lower95, Estimate), c(term.Upper95, Estimate), c(term.P, PValue))
		t.span(Cell{Text: sentence, Needs: needs})
	}
	t.Notes = []string{"Among patients followed after reaching half of baseline: a Cox model (as R's coxph on (start, stop] intervals) of the time to relapse. Maintenance is counted from the day of the first maintenance session after that visit, so that \"patients with boosters relapse less\" is not confused with \"patients who stayed longer got boosters\". A hazard ratio below 1 means relapse comes later."}
	if cx.Note != "" {
		t.Notes = append(t.Notes, "Note: "+plainNote(cx.Note))
	}
	return t
}

// coxTermWords labels a Cox term and says it in a sentence.
func coxTermWords(t compare.CoxTerm) (string, string) {
	if math.IsNaN(t.HazardRatio) {
		return t.Term, "Not estimated."
	}
	rng := fmt.Sprintf("(95%% range %.2f to %.2f)", t.Lower95, t.Upper95)
	switch {
	case t.Term == "maintenance":
		return "Maintenance sessions (from when they began)", fmt.Sprintf("Once maintenance began, the risk of relapse was %.2f times that without it %s.", t.HazardRatio, rng)
	case t.Term == "baseline":
		return "Baseline score (per point)", fmt.Sprintf("Each point of baseline score multiplied the risk of relapse by %.2f %s.", t.HazardRatio, rng)
	case t.Term == "age":
		return "Age (per year)", fmt.Sprintf("Each year of age multiplied the risk of relapse by %.2f %s.", t.HazardRatio, rng)
	case t.Term == "prior_treatments":
		return "Prior treatments (per treatment)", fmt.Sprintf("Each prior treatment multiplied the risk of relapse by %.2f %s.", t.HazardRatio, rng)
	case strings.Contains(t.Term, "="):
		v, lvl, _ := strings.Cut(t.Term, "=")
		name := groupLabel(v, lvl)
		return capitalize(strings.ReplaceAll(v, "_", " ")) + ": " + name, fmt.Sprintf("%s patients had %.2f times the risk of relapse of the reference group %s.", name, t.HazardRatio, rng)
	}
	return t.Term, fmt.Sprintf("Hazard ratio %.2f %s.", t.HazardRatio, rng)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func lowerFirst(s string) string {
	if s == "" || (len(s) > 1 && s[1] >= 'A' && s[1] <= 'Z') {
		return s // an acronym such as KAP stays
	}
	return strings.ToLower(s[:1]) + s[1:]
}
