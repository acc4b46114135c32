package pipeline

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

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

// tally is the outcome counts of a set of episodes.
type tally struct {
	withBaseline, withEndpoint, eligible    int
	baseline, endpoint, change              []float64
	respEv, respN, respITT, remEv, remITTEv int
	rc                                      map[string]int
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
func (m *measureData) summarize(cfg Config, p outcome.Params, dims *[nDims]dict, ids []string) (*MeasureResult, error) {
	mr := &MeasureResult{Instrument: m.in.Code, Name: m.in.Name, Patients: m.patients, Excluded: map[string]int{}}
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

	// Trajectory: the mixed model over baseline and acute-window scores (SPEC 6.10).
	if len(m.trajEpisodes) > 0 {
		names := make([]string, len(m.trajEpisodes))
		for i, ei := range m.trajEpisodes {
			names[i] = ids[m.episodes[ei].patient]
		}
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

	mr.Relapse = m.relapse(cfg, dims)
	for d := 0; d < nDims; d++ {
		labels := dims[d].labels
		order := make([]int, len(labels))
		for i := range order {
			order[i] = i
		}
		sort.Slice(order, func(i, j int) bool { return labels[order[i]] < labels[order[j]] })
		for _, gi := range order {
			gt := tallyOf(m.episodes, func(e *episode) bool { return int(e.groups[d]) == gi })
			if gt.withBaseline == 0 {
				continue
			}
			mr.ByGroup = append(mr.ByGroup, GroupOutcome{
				Dimension: dimNames[d], Group: labels[gi],
				WithBaseline: gt.withBaseline, WithEndpoint: gt.withEndpoint, Eligible: gt.eligible,
				Change:   describe(gt.change),
				Response: wilson(gt.respEv, gt.respN), ResponseITT: wilson(gt.respEv, gt.eligible),
				Remission: wilson(gt.remEv, gt.respN), ReliableChange: gt.rc,
			})
		}
	}
	return mr, nil
}

// relapse runs the survival analysis of SPEC 6.9 over the at-risk episodes.
func (m *measureData) relapse(cfg Config, dims *[nDims]dict) RelapseSummary {
	rs := RelapseSummary{Excluded: map[string]int{}, RelapseFree: []stats.SurvivalPoint{}, Curve: KMRows{},
		ByProgram: ProgramRelapse{Curves: map[string]ProgramCurve{}}}
	var times, base []float64
	var events []bool
	var prog []string
	for i := range m.episodes {
		e := &m.episodes[i]
		r := e.relapseResult()
		if !r.AtRisk {
			if r.Reason != outcome.ReasonNoBaseline && r.Reason != outcome.ReasonNotEligible {
				rs.Excluded[r.Reason]++
			}
			continue
		}
		rs.AtRisk++
		if r.Event {
			rs.Events++
		}
		times = append(times, float64(r.Time))
		events = append(events, r.Event)
		base = append(base, float64(e.baseline))
		prog = append(prog, dims[dimProgram].labels[e.groups[dimProgram]])
	}
	if rs.AtRisk == 0 {
		return rs
	}
	days := make([]float64, len(cfg.RelapseDays))
	for i, d := range cfg.RelapseDays {
		days[i] = float64(d)
	}
	curve := func(tm []float64, ev []bool) (ProgramCurve, error) {
		km, err := stats.KaplanMeier(tm, ev)
		if err != nil {
			return ProgramCurve{}, err
		}
		pc := ProgramCurve{AtRisk: km.N, Events: km.Events, RelapseFree: km.At(days), Curve: km.Table}
		if !math.IsNaN(km.Median) {
			v := km.Median
			pc.MedianDays = &v
		}
		return pc, nil
	}
	all, err := curve(times, events)
	if err == nil {
		rs.MedianDays, rs.RelapseFree, rs.Curve = all.MedianDays, all.RelapseFree, all.Curve
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
