package reports

import (
	"fmt"
	"math"
	"sort"

	"github.com/kapstat/kapstat/measures/outcome"
	"github.com/kapstat/kapstat/pipeline"
)

// ---------------------------------------------------------------- Treatment course

// course is the Treatment course sheet (SPEC 6.16, 6.17, 9): how fast patients respond, after
// how many doses, who stays, whether thoughts of self-harm resolve, and how patients fare at
// the follow-up windows.
func (b *builder) course() *Sheet {
	s := &Sheet{Name: "Treatment course", Title: b.title() + " — Treatment course"}
	cfg := b.a.Config
	s.Intro = b.intro(fmt.Sprintf("How fast patients reach a response (a score at most %s of baseline) and remission after the first dose, after how many doses, how many doses they receive, and how they are doing months later.", pct(cfg.ResponseFraction)))
	if b.a.Cohort.AssessmentOnly {
		s.Blocks = append(s.Blocks, &Paragraph{Bold: true, Text: "No treatment sessions were supplied: doses, retention and response by dose cannot be shown."})
	}
	if r := b.a.Retention; r != nil {
		dist, rates := b.retentionTables(r)
		s.Blocks = append(s.Blocks, dist, rates)
	}
	for _, m := range b.instruments() {
		s.Blocks = append(s.Blocks, PageBreak{})
		tt := b.timeToTable(m)
		s.Blocks = append(s.Blocks, tt)
		if len(tt.Rows) > 0 {
			var series []Series
			for i, block := range timeBlocks(tt) {
				series = append(series, Series{Name: block.name, T: tt, X: 1, Y: 3, From: block.from, To: block.to, Color: palette[i%len(palette)]})
			}
			s.Blocks = append(s.Blocks, &Chart{Title: heading(m) + ": share reaching response and remission by day", XTitle: "Days since the first dose",
				YTitle: "Share of eligible patients", Scatter: true, YPercent: true, Rows: 16, Series: series})
		}
		if bp := b.programTimeTable(m); bp != nil {
			s.Blocks = append(s.Blocks, bp)
		}
		if !b.a.Cohort.AssessmentOnly {
			// response by dose, its chart, item 9 and the windows on a printed page of their
			// own, so that no chart is cut by a page break
			bd := b.doseTable(m)
			s.Blocks = append(s.Blocks, PageBreak{}, bd)
			if len(bd.Rows) > 0 {
				s.Blocks = append(s.Blocks, &Chart{Title: heading(m) + ": responded by dose number", XTitle: "Dose number",
					YTitle: "Share responded", YPercent: true, Rows: 14,
					Series: []Series{{Name: "Responded by then", T: bd, X: 0, Y: 3, From: 0, To: len(bd.Rows) - 1, Color: palette[0]}}})
			}
		}
		if m.SuicidalIdeation != nil {
			s.Blocks = append(s.Blocks, b.ideationTable(m))
		}
		s.Blocks = append(s.Blocks, b.windowTable(m))
	}
	return s
}

// timeBlock is the rows of one curve of the time-to table.
type timeBlock struct {
	name     string
	from, to int
}

// timeBlocks finds the response and remission blocks of a time-to table (rows whose first cell
// names the curve start a block).
func timeBlocks(t *Table) []timeBlock {
	var out []timeBlock
	for i, r := range t.Rows {
		if len(r.Cells) > 0 && r.Cells[0].Text != "" && !r.Section {
			out = append(out, timeBlock{name: r.Cells[0].Text, from: i, to: i})
		} else if len(out) > 0 && !r.Section && len(r.Cells) > 3 && r.Cells[1].Kind == Int {
			out[len(out)-1].to = i
		}
	}
	return out
}

// Columns of the time-to table.
const (
	ttLabel = iota
	ttDay
	ttRisk
	ttCum
	ttLow
	ttHigh
	ttCols
)

// timeToTable is the cumulative share of eligible patients reaching response and remission by
// each day, Kaplan–Meier (SPEC 6.16), with the number still followed without the event.
func (b *builder) timeToTable(m *pipeline.MeasureResult) *Table {
	I := m.Instrument
	t := &Table{Title: heading(m) + ": time to response and to remission", Columns: columns("Outcome", "Day after the first dose",
		"Still followed without it", "Reached it by then", "Lower 95% limit", "Upper 95% limit")}
	curve := func(name, key string, sm *outcome.TimeToEventSummary) {
		if sm == nil || sm.N == 0 {
			return
		}
		needs := []string{key + "/n", key + "/events"}
		t.add(bold(name), integer(0), count(key+"/n", sm.N), withNeeds(rate(0), needs), blank(), blank())
		for _, p := range sm.ByDay {
			d := fmt.Sprintf("%s/day%d", key, p.Time)
			km := func(v float64, k string) Cell {
				return Cell{Kind: Rate, Value: v, Key: k, N: p.NRisk, Deps: []int{ttRisk}, Needs: needs}
			}
			t.add(blank(), integer(p.Time), withNeeds(count(d+"/n_risk", p.NRisk), needs), km(p.Cumulative, d+"/cum"),
				km(p.Lower95, d+"/lower"), km(p.Upper95, d+"/upper"))
		}
	}
	curve("Response", I+"/ttr", m.TimeToResponse)
	curve("Remission", I+"/ttm", m.TimeToRemission)
	note := func(sm *outcome.TimeToEventSummary, what string) string {
		if sm == nil || sm.N == 0 {
			return "No eligible patient had an acute-window score: no " + what + " figure."
		}
		return ""
	}
	cfg := b.a.Config
	t.Notes = []string{fmt.Sprintf("Among patients whose baseline was at or above the cutoff and who had at least one score in the %d days after the first dose: the Kaplan–Meier estimate of the share who had reached a response (score at most %s of baseline) or remission (below %d) by each day, allowing for patients scored for different lengths of time. Patients still in the acute window count with the scores they have so far. \"n/a\" marks a day beyond the longest follow-up.",
		cfg.AcuteDays, pct(cfg.ResponseFraction), cfg.Instruments[I].Remission)}
	for _, n := range []string{note(m.TimeToResponse, "time-to-response"), note(m.TimeToRemission, "time-to-remission")} {
		if n != "" {
			t.Notes = append(t.Notes, n)
		}
	}
	return t
}

// programTimeTable is the median days to response and to remission by program, with the
// patients and events each rests on; nil when there is no program split.
func (b *builder) programTimeTable(m *pipeline.MeasureResult) *Table {
	I := m.Instrument
	if m.TimeToResponse == nil || len(m.TimeToResponse.ByProgram) == 0 {
		return nil
	}
	t := &Table{Title: heading(m) + ": median days to response and remission by program", Columns: columns("Patients", "In the estimate",
		"Responded", "Median days to response", "Lower 95%", "Upper 95%", "Remitted", "Median days to remission", "Lower 95%", "Upper 95%")}
	line := func(name, prog string, r, rm *outcome.TimeToEventSummary, all bool) {
		kr, km := I+"/ttr", I+"/ttm"
		if prog != "" {
			kr, km = kr+"/"+prog, km+"/"+prog
		}
		days := func(v float64, n int, needs []string) Cell {
			c := Cell{Kind: Int, Value: v, N: n, Needs: needs}
			if math.IsNaN(v) {
				c.Text = "not reached"
			}
			return c
		}
		nr, nm := []string{kr + "/n", kr + "/events"}, []string{km + "/n", km + "/events"}
		cells := []Cell{text(name), count(kr+"/n", r.N), count(kr+"/events", r.Events),
			days(r.MedianDays, r.N, nr), days(r.MedianLower95, r.N, nr), days(r.MedianUpper95, r.N, nr)}
		if rm != nil {
			cells = append(cells, count(km+"/events", rm.Events), days(rm.MedianDays, rm.N, nm), days(rm.MedianLower95, rm.N, nm), days(rm.MedianUpper95, rm.N, nm))
		}
		cells[0].Bold = all
		i := t.add(cells...)
		t.Sums = append(t.Sums, Sum{Total: Ref{i, 1}, Parts: []Ref{{i, 2}}, Hidden: []int{r.N - r.Events}})
		if rm != nil {
			t.Sums = append(t.Sums, Sum{Total: Ref{i, 1}, Parts: []Ref{{i, 6}}, Hidden: []int{r.N - rm.Events}})
		}
	}
	all := len(t.Rows)
	line("All eligible patients", "", m.TimeToResponse, m.TimeToRemission, true)
	progs := sortedKeys(m.TimeToResponse.ByProgram)
	sums := []Sum{{Total: Ref{all, 1}}, {Total: Ref{all, 2}}, {Total: Ref{all, 6}}}
	for _, p := range progs {
		r := m.TimeToResponse.ByProgram[p]
		var rm *outcome.TimeToEventSummary
		if m.TimeToRemission != nil {
			if x, ok := m.TimeToRemission.ByProgram[p]; ok {
				rm = &x
			}
		}
		i := len(t.Rows)
		line(groupLabel("program", p), p, &r, rm, false)
		for k, col := range []int{1, 2, 6} {
			sums[k].Parts = append(sums[k].Parts, Ref{i, col})
		}
	}
	t.Sums = append(t.Sums, sums...)
	t.Notes = []string{"The median is the day by which half of the patients had reached it (Kaplan–Meier, as R's survfit); \"not reached\" means fewer than half did within the acute window."}
	return t
}

// doseTable is the share of eligible patients who had responded by the score after each dose
// number (SPEC 6.16), among those who received that dose.
func (b *builder) doseTable(m *pipeline.MeasureResult) *Table {
	I := m.Instrument
	t := &Table{Title: heading(m) + ": response by dose number", Columns: columns("Dose", "Patients who received it", "Responded by then",
		"Share responded", "Lower 95% limit", "Upper 95% limit")}
	for _, d := range m.ResponseByDose {
		k := fmt.Sprintf("%s/dose%d", I, d.Dose)
		i := t.add(integer(d.Dose), count(k+"/n", d.N), count(k+"/events", d.Events), rate(d.Rate, 1, 2), rate(d.Lower95, 1, 2), rate(d.Upper95, 1, 2))
		t.Sums = append(t.Sums, Sum{Total: Ref{i, 1}, Parts: []Ref{{i, 2}}, Hidden: []int{d.N - d.Events}})
	}
	t.Notes = []string{fmt.Sprintf("Among patients starting at or above the cutoff whose %d-day acute window is over, and who received the dose: the share whose score after that dose, or after an earlier one, was at most %s of baseline. The figure that explains why a course has 4 to 6 sessions: it shows how the share responding grows dose by dose.",
		b.a.Config.AcuteDays, pct(b.a.Config.ResponseFraction))}
	return t
}

// retentionTables are the dose exposure and retention by program (SPEC 6.16): the
// distribution of doses, and the rates of completing induction, a single dose only and
// maintenance.
func (b *builder) retentionTables(r *outcome.RetentionSummary) (*Table, *Table) {
	cfg := b.a.Config
	buckets := make([]string, 0, 6)
	for k := 1; k <= 6; k++ {
		buckets = append(buckets, outcome.DoseBucket(k, 6))
	}
	hdr := []string{"Program", "Treated", "Still in the acute window", "Window over"}
	for _, bk := range buckets {
		hdr = append(hdr, "Doses: "+bk)
	}
	hdr = append(hdr, "Median doses", "Lower quartile", "Upper quartile")
	dist := &Table{Title: "Doses received in the acute window, by program", Columns: columns(hdr...)}
	rates := &Table{Title: "Induction, single doses, total dose and maintenance, by program", Columns: columns("Program",
		fmt.Sprintf("Completed induction (%d or more doses)", cfg.InductionDoses), "Share", "Lower 95%", "Upper 95%",
		"A single dose only", "Share", "Total ketamine (mg), median", "Patients with every dose in mg",
		fmt.Sprintf("Maintenance within %d days", cfg.MaintenanceDays), "Share", fmt.Sprintf("Patients whose %d days are over", cfg.MaintenanceDays))}
	type row struct {
		name, key string
		f         outcome.RetentionFigures
		all       bool
	}
	rows := []row{{"All treated patients", "retention", r.Overall, true}}
	for _, p := range sortedKeys(r.ByProgram) {
		rows = append(rows, row{groupLabel("program", p), "retention/" + p, r.ByProgram[p], false})
	}
	first := func(n int) int { return 4 + n - 1 } // column of bucket n (1-based)
	var distIdx, rateIdx []int
	for _, rw := range rows {
		k, f := rw.key, rw.f
		closed := f.Treated - f.AcuteWindowOpen
		treatedKey := k + "/treated"
		if rw.all {
			treatedKey = "cohort/treated" // every treated patient: the Summary's count
		}
		cells := []Cell{text(rw.name), count(treatedKey, f.Treated), count(k+"/acute_window_open", f.AcuteWindowOpen), count(k+"/closed", closed)}
		var bucketKeys []string
		for _, bk := range buckets {
			cells = append(cells, count(k+"/doses/"+bk, f.Doses[bk]))
			bucketKeys = append(bucketKeys, k+"/doses/"+bk)
		}
		q := f.DosesQuartiles
		cells = append(cells, withNeeds(mean(q.Median, q.N), bucketKeys), withNeeds(mean(q.Q1, q.N), bucketKeys), withNeeds(mean(q.Q3, q.N), bucketKeys))
		cells[0].Bold = rw.all
		i := dist.add(cells...)
		s := Sum{Total: Ref{i, 3}}
		for n := 1; n <= len(buckets); n++ {
			s.Parts = append(s.Parts, Ref{i, first(n)})
		}
		dist.Sums = append(dist.Sums, Sum{Total: Ref{i, 1}, Parts: []Ref{{i, 2}, {i, 3}}}, s)
		distIdx = append(distIdx, i)

		// Induction completed = the buckets from InductionDoses on; a single dose = bucket 1.
		var induction []string
		for n := cfg.InductionDoses; n <= len(buckets); n++ {
			induction = append(induction, bucketKeys[n-1])
		}
		ic, sd, mt := f.InductionCompleted, f.SingleDose, f.Maintenance
		ratesOf := func(p float64, needs []string) Cell {
			return withNeeds(Cell{Kind: Rate, Value: p}, append([]string{k + "/closed"}, needs...))
		}
		rc := []Cell{text(rw.name), withNeeds(count(k+"/induction", ic.Events), induction), ratesOf(ic.Rate, induction),
			ratesOf(ic.Lower95, induction), ratesOf(ic.Upper95, induction),
			count(k+"/doses/"+buckets[0], sd.Events), ratesOf(sd.Rate, bucketKeys[:1]),
			withNeeds(mean(f.TotalMg.Median, f.TotalMg.N, 8), []string{k + "/closed"}), count(k+"/total_mg_n", f.TotalMg.N),
			count(k+"/maintenance", mt.Events), Cell{Kind: Rate, Value: mt.Rate, Deps: []int{9, 11}}, count(k+"/maintenance_n", mt.N)}
		rc[0].Bold = rw.all
		j := rates.add(rc...)
		rates.Sums = append(rates.Sums, Sum{Total: Ref{j, 11}, Parts: []Ref{{j, 9}}, Hidden: []int{mt.N - mt.Events}})
		rateIdx = append(rateIdx, j)
	}
	// Programs add up to all treated patients, column by column.
	if len(distIdx) > 1 {
		for c := 1; c < 4+len(buckets); c++ {
			s := Sum{Total: Ref{distIdx[0], c}}
			for _, i := range distIdx[1:] {
				s.Parts = append(s.Parts, Ref{i, c})
			}
			dist.Sums = append(dist.Sums, s)
		}
		for _, c := range []int{1, 8, 9, 11} {
			s := Sum{Total: Ref{rateIdx[0], c}}
			for _, i := range rateIdx[1:] {
				s.Parts = append(s.Parts, Ref{i, c})
			}
			rates.Sums = append(rates.Sums, s)
		}
	}
	dist.Notes = []string{fmt.Sprintf("Dosing sessions in the %d days from the first dose (the first dose included). Patients still in that window are left out of the counts of doses, which are not final for them.", cfg.AcuteDays)}
	rates.Notes = []string{fmt.Sprintf("Shares are of the patients whose acute window is over; maintenance of those whose first %d days are over. Total ketamine is the sum of the doses in mg, among patients with every dose's mg recorded.", cfg.MaintenanceDays)}
	return dist, rates
}

// ideationTable is PHQ-9 item 9 at baseline and end of treatment (SPEC 6.16).
func (b *builder) ideationTable(m *pipeline.MeasureResult) *Table {
	si := m.SuicidalIdeation
	k := m.Instrument + "/ideation"
	t := &Table{Title: heading(m) + ": thoughts of death or self-harm (item 9), start and end", Columns: columns("Patients",
		"Number", "Then item 9 at the end", "Share", "Lower 95% limit", "Upper 95% limit")}
	all := t.add(bold("Item 9 answered at baseline and at the end"), count(k+"/n", si.N), blank(), blank(), blank(), blank())
	pos := t.add(text("Above 0 at baseline: resolved (0 at the end)"), count(k+"/positive", si.BaselinePositive), count(k+"/resolved", si.Resolved.Events),
		rate(si.Resolved.Rate, 1, 2), rate(si.Resolved.Lower95, 1, 2), rate(si.Resolved.Upper95, 1, 2))
	neg := t.add(text("0 at baseline: emergent (above 0 at the end)"), count(k+"/negative", si.BaselineNegative), count(k+"/emergent", si.Emergent.Events),
		rate(si.Emergent.Rate, 1, 2), rate(si.Emergent.Lower95, 1, 2), rate(si.Emergent.Upper95, 1, 2))
	needs := []string{k + "/resolved", k + "/emergent"}
	t.add(text("McNemar's test of the change, chi-square"), withNeeds(estimate(si.McNemar.Chisq, si.N), needs), blank(),
		withNeeds(pvalue(si.McNemar.P, si.N), needs), blank(), blank())
	t.Sums = []Sum{{Total: Ref{all, 1}, Parts: []Ref{{pos, 1}, {neg, 1}}},
		{Total: Ref{pos, 1}, Parts: []Ref{{pos, 2}}, Hidden: []int{si.BaselinePositive - si.Resolved.Events}},
		{Total: Ref{neg, 1}, Parts: []Ref{{neg, 2}}, Hidden: []int{si.BaselineNegative - si.Emergent.Events}}}
	t.Notes = []string{"Among patients whose baseline and end-of-treatment PHQ-9 both answered item 9 (thoughts of being better off dead or of self-harm). The p-value (third column of the last row) tests whether as many patients moved in one direction as in the other. The Safety sheet lists the patients to follow up one by one.",
		fmt.Sprintf("%s left out because one of the two did not answer item 9.", b.countText(si.NotRecorded, "patients were"))}
	return t
}

// windowTable is the follow-up windows (SPEC 6.17): of the eligible patients whose window is
// over, how many were scored in it, and how many of those were responding and in remission on
// the last score in it.
func (b *builder) windowTable(m *pipeline.MeasureResult) *Table {
	I := m.Instrument
	cfg := b.a.Config
	t := &Table{Title: heading(m) + ": follow-up windows", Columns: columns("Window (days after the first dose)", "Eligible, window over",
		"Window not over yet", "Scored in the window", "Share scored", "Responding", "Share responding", "Lower 95%", "Upper 95%",
		"In remission", "Share in remission", "Lower 95%", "Upper 95%")}
	ws := append([]outcome.WindowSummary(nil), m.Windows...)
	sort.SliceStable(ws, func(i, j int) bool { return ws[i].From < ws[j].From })
	for _, w := range ws {
		k := fmt.Sprintf("%s/window/%s", I, w.Name)
		f, r, rm := w.Followed, w.Response, w.Remission
		i := t.add(text(fmt.Sprintf("%s (%d–%d)", w.Name, w.From, w.To)), count(k+"/eligible", w.Eligible), count(k+"/open", w.WindowOpen),
			count(k+"/followed", f.Events), rate(f.Rate, 1, 3), count(k+"/response", r.Events), rate(r.Rate, 3, 5), rate(r.Lower95, 3, 5),
			rate(r.Upper95, 3, 5), count(k+"/remission", rm.Events), rate(rm.Rate, 3, 9), rate(rm.Lower95, 3, 9), rate(rm.Upper95, 3, 9))
		t.Sums = append(t.Sums, Sum{Total: Ref{i, 1}, Parts: []Ref{{i, 3}}, Hidden: []int{w.Eligible - f.Events}},
			Sum{Total: Ref{i, 3}, Parts: []Ref{{i, 5}}, Hidden: []int{f.Events - r.Events}},
			Sum{Total: Ref{i, 3}, Parts: []Ref{{i, 9}}, Hidden: []int{f.Events - rm.Events}})
	}
	t.Notes = []string{fmt.Sprintf("Among patients starting at or above the cutoff whose window is over by the as-of date: scored at least once in the window, and, of those, responding (at most %s of baseline) and in remission (below %d) on their last score in it.",
		pct(cfg.ResponseFraction), cfg.Instruments[I].Remission),
		"Payer measures resemble these windows but are anchored differently: HEDIS DRR-E reads depression response and remission 4–8 months after the first elevated PHQ-9 (not the first dose); MN Community Measurement reads response at 6 months and remission at 12 months (± 60 days). kapstat anchors every window on the first dose, so its figures describe the course of treatment rather than a diagnosis episode."}
	return t
}
