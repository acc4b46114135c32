package reports

import (
	"github.com/kapstat/kapstat/measures/outcome"
	"github.com/kapstat/kapstat/pipeline"
)

// Quarterly-trend columns.
const (
	tQuarter = iota
	tBase
	tCompl
	tResp
	tRespRate
	tRespLow
	tRespHigh
	tRem
	tRemRate
	tChange
	tCols
)

// trend is the quarterly trend: the key outcomes of each of the last eight quarters, one table
// and one chart per instrument. Its counts carry the same keys as the Outcomes by group
// sheet, so suppression hides a count in both places or in neither.
func (b *builder) trend() *Sheet {
	s := &Sheet{Name: "Quarterly trend", Title: b.title() + " — Quarterly trend"}
	s.Intro = b.intro("Response and remission in each of the last eight quarters. A patient belongs to the quarter in which the acute outcome became known (first dose + acute window).")
	if !b.a.DatesAvailable {
		s.Blocks = append(s.Blocks, &Paragraph{Text: quartersUnavailable, Bold: true})
		return s
	}
	if len(b.a.Quarters) == 0 {
		s.Blocks = append(s.Blocks, &Paragraph{Text: "No quarter has an acute outcome yet: every treated patient is still in the acute window."})
		return s
	}
	for i, m := range b.instruments() {
		if i > 0 {
			s.Blocks = append(s.Blocks, PageBreak{})
		}
		t := b.trendTable(m)
		s.Blocks = append(s.Blocks, t)
		if len(t.Rows) > 1 {
			last := len(t.Rows) - 1
			s.Blocks = append(s.Blocks, &Chart{Title: heading(m) + ": response and remission by quarter",
				XTitle: "Quarter the acute outcome became known", YTitle: "Share of eligible completers", YPercent: true,
				Rows: 18, Beside: t,
				Series: []Series{
					{Name: "Response rate", T: t, X: tQuarter, Y: tRespRate, From: 0, To: last, Color: palette[0]},
					{Name: "Remission rate", T: t, X: tQuarter, Y: tRemRate, From: 0, To: last, Color: palette[1]},
				}})
		}
	}
	return s
}

func (b *builder) trendTable(m *pipeline.MeasureResult) *Table {
	t := &Table{Title: heading(m) + ": last eight quarters", Columns: columns("Quarter", "With baseline", "Eligible completers",
		"Responders", "Response rate", "Lower 95%", "Upper 95%", "Remitters", "Remission rate", "Mean change")}
	rows, _ := b.groupRows(m, "quarter")
	for _, g := range rows {
		if g.Group == outcome.ReasonAcuteWindowOpen {
			continue // no quarter yet
		}
		key := groupKey(m.Instrument, "quarter", g.Group)
		r := make([]Cell, tCols)
		r[tQuarter] = text(g.Group)
		r[tBase] = count(key+"/with_baseline", g.WithBaseline)
		r[tCompl] = count(key+"/resp_n", g.Response.N)
		r[tResp] = count(key+"/responders", g.Response.Events)
		r[tRespRate] = rate(g.Response.Rate, tCompl, tResp)
		r[tRespLow] = rate(g.Response.Lower95, tCompl, tResp)
		r[tRespHigh] = rate(g.Response.Upper95, tCompl, tResp)
		r[tRem] = count(key+"/remitters", g.Remission.Events)
		r[tRemRate] = rate(g.Remission.Rate, tCompl, tRem)
		// The mean change rests on the quarter's completers, shown on Outcomes by group.
		r[tChange] = Cell{Kind: Mean, Value: g.Change.Mean, N: g.Change.N, Needs: []string{key + "/with_endpoint"}}
		i := t.add(r...)
		t.Sums = append(t.Sums,
			Sum{Total: Ref{i, tCompl}, Parts: []Ref{{i, tResp}}, Hidden: []int{g.Response.N - g.Response.Events}},
			Sum{Total: Ref{i, tCompl}, Parts: []Ref{{i, tRem}}, Hidden: []int{g.Response.N - g.Remission.Events}},
		)
	}
	t.Notes = []string{
		"Rates are among eligible completers (baseline at or above the cutoff, with an end score). A quarter holds the patients whose acute window ended in it; patients still in the acute window belong to no quarter yet (see Outcomes by group). The most recent quarter can still grow as late end scores arrive.",
		"Mean change: end score minus baseline (negative is improvement).",
	}
	return t
}
