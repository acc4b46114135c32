package pipeline

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/kapstat/kapstat/measures/compare"
	"github.com/kapstat/kapstat/measures/outcome"
	"github.com/kapstat/kapstat/measures/stats"
	"github.com/kapstat/kapstat/measures/stats/lcga"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// describe is stats.Describe with an empty summary (n = 0, NaN mean and SD) for no data.
func describe(x []float64) stats.Summary {
	s, err := stats.Describe(x)
	if err != nil {
		return stats.Summary{N: len(x), Mean: math.NaN(), SD: math.NaN()}
	}
	return s
}

// overallOutcome is the "all patients" row of an instrument in the outcomes-by-group form.
func overallOutcome(mr *MeasureResult) GroupOutcome {
	ch := stats.Summary{N: mr.Change.N, Mean: mr.Change.Mean, SD: mr.Change.SD}
	r := mr.Relapse
	return GroupOutcome{Dimension: "all", Group: "all", WithBaseline: mr.WithBaseline, AcuteWindowOpen: mr.AcuteWindowOpen,
		WithEndpoint: mr.WithEndpoint, Eligible: mr.Eligible, Baseline: mr.Baseline, Endpoint: mr.Endpoint, Change: ch,
		CohensDz: dz(ch), Response: mr.Response, ResponseITT: mr.ResponseITT, Remission: mr.Remission,
		RemissionITT: mr.RemissionITT, ReliableChange: mr.ReliableChange,
		Relapse: GroupRelapse{AtRisk: r.AtRisk, Events: r.Events, MedianDays: r.MedianDays, At8Weeks: r.At8Weeks}}
}

// dz is Cohen's d_z of a change summary: mean / SD, NaN when undefined.
func dz(s stats.Summary) float64 {
	if s.N < 2 || !(s.SD > 0) {
		return math.NaN()
	}
	return s.Mean / s.SD
}

// pairedT is stats.PairedT that still reports n, mean and SD when the test is undefined
// (fewer than 2 differences, or all differences equal).
func pairedT(d []float64) stats.TTest {
	t, err := stats.PairedT(d)
	if err == nil {
		return t
	}
	s := describe(d)
	nan := math.NaN()
	return stats.TTest{N: s.N, Mean: s.Mean, SD: s.SD, Lower95: nan, Upper95: nan, T: nan, DF: max(s.N-1, 0), P: nan,
		CohensDz: nan, HedgesG: nan, HedgesGLower95: nan, HedgesGUpper95: nan}
}

// wilson is stats.Wilson with NaN rate and limits for n = 0.
func wilson(events, n int) stats.Proportion {
	p, err := stats.Wilson(events, n)
	if err != nil {
		nan := math.NaN()
		return stats.Proportion{N: n, Events: events, Rate: nan, Lower95: nan, Upper95: nan}
	}
	return p
}

// tally is the outcome counts of a set of episodes. Episodes whose acute window is still open
// count in withBaseline (and the baseline mean) and in open, and in nothing else (SPEC 6.4).
type tally struct {
	withBaseline, open, withEndpoint, eligible int
	baseline, endpoint, change                 []float64
	respEv, respN, remEv                       int
	rc                                         map[string]int
}

func tallyOf(eps []episode, keep func(*episode) bool) *tally {
	t := &tally{rc: map[string]int{outcome.Recovered: 0, outcome.Improved: 0, outcome.Unchanged: 0, outcome.Deteriorated: 0}}
	for i := range eps {
		e := &eps[i]
		if keep != nil && !keep(e) {
			continue
		}
		res := e.result()
		r := &res
		if !r.HasBaseline {
			continue
		}
		t.withBaseline++
		t.baseline = append(t.baseline, float64(r.Baseline))
		if r.Reason == outcome.ReasonAcuteWindowOpen {
			t.open++
			continue
		}
		if r.Eligible {
			t.eligible++
		}
		if r.HasEndpoint {
			t.withEndpoint++
			t.endpoint = append(t.endpoint, float64(r.Endpoint))
			t.change = append(t.change, float64(r.Change))
			t.rc[r.ReliableChange]++
			if r.Eligible {
				t.respN++
			}
		}
		if r.Response {
			t.respEv++
		}
		if r.Remission {
			t.remEv++
		}
	}
	return t
}

// summarize computes one instrument's results (SPEC 6, 7) and fills the per-episode class,
// posterior and BLUPs.
func (m *measureData) summarize(cfg Config, p outcome.Params, dims *[nDims]dict, ids []string, characteristics bool) (*MeasureResult, error) {
	mr := &MeasureResult{Instrument: m.in.Code, Name: m.in.Name, Patients: m.patients, Excluded: map[string]int{
		outcome.ReasonNoBaseline: 0, outcome.ReasonAcuteWindowOpen: 0, outcome.ReasonNoEndpoint: 0}}
	for i := range m.episodes {
		if r := codeText[m.episodes[i].reason]; r != "" {
			mr.Excluded[r]++
		}
	}
	t := tallyOf(m.episodes, nil)
	mr.WithBaseline, mr.WithEndpoint, mr.Eligible = t.withBaseline, t.withEndpoint, t.eligible
	mr.Baseline, mr.Endpoint = describe(t.baseline), describe(t.endpoint)
	mr.Change = pairedT(t.change)
	mr.Response = wilson(t.respEv, t.respN)
	mr.ResponseITT = wilson(t.respEv, t.eligible)
	mr.Remission = wilson(t.remEv, t.respN)
	mr.RemissionITT = wilson(t.remEv, t.eligible)
	mr.ReliableChange = t.rc
	mr.AcuteWindowOpen = t.open

	// Trajectory: the mixed model over baseline and acute-window scores (SPEC 6.10).
	if len(m.trajEpisodes) > 0 {
		names := make([]string, len(m.trajEpisodes))
		for i, ei := range m.trajEpisodes {
			names[i] = ids[m.episodes[ei].patient]
		}
		step(m.progress, m.in.Name+" mixed model")
		fit, err := stats.FitLMM(m.trajGroup, m.trajT, m.trajY, stats.LMMOptions{BLUPs: true, GroupNames: names})
		if err != nil {
			mr.TrajectoryNote = "mixed model not fitted: " + err.Error()
		} else {
			for g, b := range fit.BLUPs {
				e := &m.episodes[m.trajEpisodes[g]]
				e.blupA, e.blupB = b.Intercept, b.Slope
				e.flags |= fBLUP
			}
			// Per-patient BLUPs live in the trajectory_blups table and the export, not in
			// the analysis JSON (a million patients would make it hundreds of megabytes).
			fit.BLUPs = nil
			mr.Trajectory = fit
		}
		// Trajectory classes (SPEC 6.11).
		step(m.progress, m.in.Name+" trajectory classes")
		cls, fittedOn, err := m.fitClasses(cfg)
		mr.ClassesFittedOn = fittedOn
		if err != nil {
			mr.ClassesNote = "trajectory classes not fitted: " + err.Error()
		} else {
			for g, c := range cls.Assigned {
				if c < 0 {
					continue
				}
				e := &m.episodes[m.trajEpisodes[g]]
				e.class, e.posterior = int8(c), cls.Posterior[g][c]
			}
			mr.Classes = cls
		}
	}
	weeks := make([]int, 0, len(m.weeks))
	for w := range m.weeks {
		weeks = append(weeks, w)
	}
	sort.Ints(weeks)
	mr.Weekly = []Weekly{}
	for _, w := range weeks {
		ws := m.weeks[w]
		ci, err := stats.MeanIntervalSums(ws.n, ws.sum, ws.sumSq)
		if err != nil {
			return nil, err
		}
		mr.Weekly = append(mr.Weekly, Weekly{Week: w, MeanCI: ci})
	}

	step(m.progress, m.in.Name+" relapse")
	mr.Relapse = m.relapse(cfg, dims)
	// Adjusted comparisons (SPEC 6.15) over the same episodes and trajectory observations.
	in := compare.Input{Characteristics: characteristics, Patients: m.cmp,
		Trajectory: compare.Trajectory{Patient: make([]int, len(m.trajGroup)), T: m.trajT, Y: m.trajY}}
	for i, g := range m.trajGroup {
		in.Trajectory.Patient[i] = int(m.trajEpisodes[g])
	}
	step(m.progress, m.in.Name+" adjusted comparisons")
	mr.Adjusted = compare.Adjust(&in)
	mr.Relapse.CoxAdjusted = compare.RelapseAdjusted(&in)
	step(m.progress, m.in.Name+" outcomes by group")
	for d := 0; d < nDims; d++ {
		labels := dims[d].labels
		order := make([]int, len(labels))
		for i := range order {
			order[i] = i
		}
		sort.Slice(order, func(i, j int) bool { return labels[order[i]] < labels[order[j]] })
		for _, gi := range order {
			in := func(e *episode) bool { return int(e.groups[d]) == gi }
			gt := tallyOf(m.episodes, in)
			if gt.withBaseline == 0 {
				continue
			}
			change := describe(gt.change)
			mr.ByGroup = append(mr.ByGroup, GroupOutcome{
				Dimension: dimNames[d], Group: labels[gi],
				WithBaseline: gt.withBaseline, AcuteWindowOpen: gt.open, WithEndpoint: gt.withEndpoint, Eligible: gt.eligible,
				Baseline: describe(gt.baseline), Endpoint: describe(gt.endpoint),
				Change: change, CohensDz: dz(change),
				Response: wilson(gt.respEv, gt.respN), ResponseITT: wilson(gt.respEv, gt.eligible),
				Remission: wilson(gt.remEv, gt.respN), RemissionITT: wilson(gt.remEv, gt.eligible),
				ReliableChange: gt.rc, Relapse: m.groupRelapse(in),
			})
		}
	}
	return mr, nil
}

// relapseData is the at-risk episodes of a relapse analysis.
type relapseData struct {
	times, base []float64
	events      []bool
	prog        []string
}

// relapseOf collects the relapse data of the episodes that keep accepts (nil: all), counting
// the eligible patients who are not at risk by reason into excluded when it is not nil.
func (m *measureData) relapseOf(keep func(*episode) bool, dims *[nDims]dict, excluded map[string]int) (rd relapseData, eligible int) {
	for i := range m.episodes {
		e := &m.episodes[i]
		if keep != nil && !keep(e) {
			continue
		}
		r := e.relapseResult()
		if r.Reason == outcome.ReasonNoBaseline || r.Reason == outcome.ReasonNotEligible {
			continue
		}
		eligible++
		if !r.AtRisk {
			if excluded != nil {
				excluded[r.Reason]++
			}
			continue
		}
		rd.times = append(rd.times, float64(r.Time))
		rd.events = append(rd.events, r.Event)
		rd.base = append(rd.base, float64(e.baseline))
		if dims != nil {
			rd.prog = append(rd.prog, dims[dimProgram].labels[e.groups[dimProgram]])
		}
	}
	return rd, eligible
}

// relapsePoints is the curve at the given days with the relapses on or before each.
func relapsePoints(km *stats.KMCurve, days []float64) []RelapsePoint {
	out := make([]RelapsePoint, 0, len(days))
	for _, p := range km.At(days) {
		ev := 0
		for _, r := range km.Table {
			if r.Time <= p.Time {
				ev += r.NEvent
			}
		}
		out = append(out, RelapsePoint{Time: p.Time, NRisk: p.NRisk, Events: ev, Survival: p.Survival, StdErr: p.StdErr,
			Lower95: p.Lower95, Upper95: p.Upper95})
	}
	return out
}

// eightWeeks is the day of the Summary's relapse-free figure.
const eightWeeks = 56

// kmCurve is one Kaplan–Meier curve with its set-day points.
func kmCurve(tm []float64, ev []bool, days []float64) (ProgramCurve, error) {
	km, err := stats.KaplanMeier(tm, ev)
	if err != nil {
		return ProgramCurve{}, err
	}
	pc := ProgramCurve{AtRisk: km.N, Events: km.Events, RelapseFree: relapsePoints(km, days),
		At8Weeks: relapsePoints(km, []float64{eightWeeks})[0], Curve: km.Table}
	if !math.IsNaN(km.Median) {
		v := km.Median
		pc.MedianDays = &v
	}
	return pc, nil
}

// noRelapsePoint is the 8-week point of a group nobody in which is followed.
func noRelapsePoint() RelapsePoint {
	nan := math.NaN()
	return RelapsePoint{Time: eightWeeks, Survival: nan, StdErr: nan, Lower95: nan, Upper95: nan}
}

// groupRelapse is the relapse summary of the episodes keep accepts.
func (m *measureData) groupRelapse(keep func(*episode) bool) GroupRelapse {
	rd, _ := m.relapseOf(keep, nil, nil)
	g := GroupRelapse{At8Weeks: noRelapsePoint()}
	if len(rd.times) == 0 {
		return g
	}
	c, err := kmCurve(rd.times, rd.events, nil)
	if err != nil {
		return g
	}
	g.AtRisk, g.Events, g.MedianDays, g.At8Weeks = c.AtRisk, c.Events, c.MedianDays, c.At8Weeks
	return g
}

// relapse runs the survival analysis of SPEC 6.9 over the at-risk episodes.
func (m *measureData) relapse(cfg Config, dims *[nDims]dict) RelapseSummary {
	rs := RelapseSummary{RelapseFree: []RelapsePoint{}, Curve: KMRows{}, At8Weeks: noRelapsePoint(),
		Excluded:  map[string]int{outcome.ReasonNoResponse: 0, outcome.ReasonAcuteWindowOpen: 0, outcome.ReasonNoFollowUp: 0},
		ByProgram: ProgramRelapse{Curves: map[string]ProgramCurve{}}}
	rd, eligible := m.relapseOf(nil, dims, rs.Excluded)
	times, events, base, prog := rd.times, rd.events, rd.base, rd.prog
	rs.Eligible = eligible
	rs.AtRisk = len(times)
	for _, e := range events {
		if e {
			rs.Events++
		}
	}
	if rs.AtRisk == 0 {
		return rs
	}
	days := make([]float64, len(cfg.RelapseDays))
	for i, d := range cfg.RelapseDays {
		days[i] = float64(d)
	}
	curve := func(tm []float64, ev []bool) (ProgramCurve, error) { return kmCurve(tm, ev, days) }
	all, err := curve(times, events)
	if err == nil {
		rs.MedianDays, rs.RelapseFree, rs.At8Weeks, rs.Curve = all.MedianDays, all.RelapseFree, all.At8Weeks, all.Curve
	}
	// By program: curves, log-rank, and Cox with program (reference kap) and baseline.
	levels := map[string]int{}
	for _, p := range prog {
		if _, ok := levels[p]; !ok {
			levels[p] = len(levels)
		}
	}
	names := make([]string, 0, len(levels))
	for p := range levels {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, name := range names {
		var tm []float64
		var ev []bool
		for i, p := range prog {
			if p == name {
				tm, ev = append(tm, times[i]), append(ev, events[i])
			}
		}
		if pc, err := curve(tm, ev); err == nil {
			rs.ByProgram.Curves[name] = pc
		}
	}
	if len(names) < 2 {
		rs.ByProgram.Note = "only one program among patients at risk: no comparison"
	} else {
		gi := make([]int, len(prog))
		for i, p := range prog {
			gi[i] = sort.SearchStrings(names, p)
		}
		lr, err := stats.LogRankTest(times, events, gi)
		if err != nil {
			rs.ByProgram.Note = "log-rank not computed: " + err.Error()
		} else {
			rs.ByProgram.Logrank = lr
		}
	}
	d := stats.NewDesign(len(times))
	var err2 error
	if _, ok := levels["infusion"]; ok && len(levels) > 1 {
		ind := make([]float64, len(prog))
		for i, p := range prog {
			if p == "infusion" {
				ind[i] = 1
			}
		}
		err2 = d.AddNumeric("program=infusion", ind)
	}
	if err2 == nil {
		err2 = d.AddNumeric("baseline", base)
	}
	if err2 == nil {
		rs.Cox, err2 = stats.FitCox(times, events, d)
	}
	if err2 != nil {
		rs.Cox, rs.CoxNote = nil, fmt.Sprintf("Cox model not fitted: %v", err2)
	}
	return rs
}

// fitClasses fits the trajectory classes. Beyond cfg.ClassSample patients the model is
// estimated on a seeded random sample of that many patients (the estimates of a mixture with
// classes of 1% or more are stable at that size) and every patient is then assigned by its
// posterior under the fitted model; this keeps a million-patient analysis to seconds.
func (m *measureData) fitClasses(cfg Config) (*lcga.Result, int, error) {
	opt := lcga.Options{
		MaxK: cfg.MaxClasses, Starts: cfg.ClassStarts, Seed: cfg.Seed,
		Label: lcga.LabelOptions{MeaningfulChange: float64(m.in.ReliableChange), Weeks: float64(cfg.AcuteDays) / 7},
	}
	n := len(m.trajEpisodes)
	if cfg.ClassSample == 0 || n <= cfg.ClassSample {
		r, err := lcga.Fit(m.trajGroup, m.trajT, m.trajY, n, opt)
		return r, n, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x6c636761)) // stream "lcga"
	sampled := make([]bool, n)
	for _, g := range rng.Perm(n)[:cfg.ClassSample] {
		sampled[g] = true
	}
	pick := make([]int, n) // index in the sample, −1 when not sampled
	k := 0
	for g, in := range sampled {
		pick[g] = -1
		if in {
			pick[g], k = k, k+1
		}
	}
	var sg []int
	var st, sy []float64
	for i, g := range m.trajGroup {
		if p := pick[g]; p >= 0 {
			sg, st, sy = append(sg, p), append(st, m.trajT[i]), append(sy, m.trajY[i])
		}
	}
	r, err := lcga.Fit(sg, st, sy, cfg.ClassSample, opt)
	if err != nil {
		return nil, cfg.ClassSample, err
	}
	return r, cfg.ClassSample, r.Classify(m.trajGroup, m.trajT, m.trajY, n)
}
