package compare

import (
	"fmt"

	"github.com/kapstat/kapstat/measures/stats"
)

// Interval is one (Start, Stop] row of a patient's relapse follow-up, in
// days since the response day, with the maintenance covariate in force
// during it and Event set when the row ends in the relapse.
type Interval struct {
	Start, Stop int
	Maintenance bool
	Event       bool
}

// Intervals splits a relapse follow-up of time days (ending in a relapse
// when event) at the start of maintenance, m days after the response
// (hasMaintenance false when the patient had none after the response), as
// survival::tmerge(data, data, id, relapse = event(time, event),
// maintenance = tdc(m)) does:
//
//	m < time:  (0, m] maintenance 0, no event;  (m, time] maintenance 1, event
//	otherwise: (0, time] maintenance 0, event
//
// A relapse on day m itself belongs to the first row (maintenance
// beginning on the day of the relapse did not precede it), and maintenance
// after the end of follow-up changes nothing. An m ≤ 0 (not after the
// response) is treated as no maintenance.
func Intervals(time int, event bool, m int, hasMaintenance bool) []Interval {
	if hasMaintenance && m > 0 && m < time {
		return []Interval{{Start: 0, Stop: m}, {Start: m, Stop: time, Maintenance: true, Event: event}}
	}
	return []Interval{{Start: 0, Stop: time, Event: event}}
}

// Intervals returns the patient's relapse follow-up split at the first
// maintenance session after the response (the package function Intervals
// with m = MaintenanceDay − ResponseDay); nil when the patient is not at
// risk.
func (p *Patient) Intervals() []Interval {
	if !p.AtRisk {
		return nil
	}
	return Intervals(p.RelapseTime, p.Relapsed, p.MaintenanceDay-p.ResponseDay, p.HasMaintenance && p.MaintenanceDay > p.ResponseDay)
}

// RelapseAdjusted fits the adjusted relapse model of the specification's
// item 6.15 to the patients at risk of relapse (item 9), as R's
//
//	d <- tmerge(d, d, id, relapse = event(time, event), maintenance = tdc(m))
//	coxph(Surv(tstart, tstop, relapse) ~ program + baseline + maintenance + X,
//	      ties = "efron")
//
// with program treatment coded against the reference program (levels as in
// the package documentation), the baseline score, maintenance as a
// time-varying covariate (0 before the first maintenance session after
// the response, 1 from that day on; Intervals) and the patient
// characteristics of X. Terms are named "program=infusion", "baseline",
// "maintenance", "age", "sex=male", … with the hazard ratio exp(β), Wald
// limits exp(β ± 1.959964·se) and p-value.
//
// With fewer than two programs of at least MinLevelPatients patients the
// model has no program term and is fitted to every patient at risk, with a
// note. Maintenance is left out, with a note, when no patient began it
// before the end of follow-up. A model that cannot be fitted (no relapse,
// a singular information matrix) has no terms and a note.
func RelapseAdjusted(in *Input) *CoxAdjusted {
	pop := population(in, func(p *Patient) bool { return p.AtRisk })
	out := &CoxAdjusted{Terms: []CoxTerm{}}
	s := newSample(in, pop, Program, candidates(in))
	withProgram := true
	if s.skipped && s.Reference == "" {
		// Not two programs to compare: the baseline, maintenance and X
		// still have their say over every patient at risk.
		labels := make([]string, len(pop))
		for i, pi := range pop {
			labels[i] = in.Patients[pi].Program
		}
		note := fmt.Sprintf("program not in the model: fewer than two programs with at least %d patients (%s).",
			MinLevelPatients, SelectLevels(labels).describe())
		s = newSample(in, pop, "", candidates(in))
		s.notes = append([]string{note}, s.notes...)
		withProgram = false
	}
	if s.skipped {
		out.Sample = s.output()
		return out
	}
	var start, stop []float64
	var event []bool
	var obs []int
	var maint []float64
	for _, pi := range s.rows {
		p := &in.Patients[pi]
		iv := p.Intervals()
		if len(iv) == 2 {
			out.Maintained++
		}
		for _, r := range iv {
			start = append(start, float64(r.Start))
			stop = append(stop, float64(r.Stop))
			event = append(event, r.Event)
			obs = append(obs, pi)
			m := 0.0
			if r.Maintenance {
				m = 1
			}
			maint = append(maint, m)
		}
		if p.Relapsed {
			out.Events++
		}
	}
	out.Rows = len(obs)
	var extra []namedColumn
	if out.Maintained > 0 {
		extra = append(extra, namedColumn{name: "maintenance", v: maint})
	} else {
		s.notes = append(s.notes, "maintenance not adjusted for: no patient began maintenance before the end of follow-up.")
	}
	d, err := s.design(in, obs, nil, withProgram, true, extra...)
	var fit *stats.CoxFit
	if err == nil {
		fit, err = stats.FitCoxCounting(start, stop, event, d)
	}
	if err != nil {
		s.notes = append(s.notes, failedNote("relapse model", err))
	} else {
		for _, t := range fit.Terms {
			out.Terms = append(out.Terms, CoxTerm{Term: t.Term, Coef: t.Coef, SE: t.SE, HazardRatio: t.HazardRatio,
				Lower95: t.Lower95, Upper95: t.Upper95, P: t.P})
		}
		if !fit.Converged {
			s.notes = append(s.notes, "relapse model: Newton–Raphson did not converge; estimates may be unreliable.")
		}
	}
	out.Sample = s.output()
	// Covariates as the model names them: maintenance after the baseline.
	if len(extra) > 0 {
		var cov []string
		placed := false
		for _, c := range out.Covariates {
			if !placed && c != covBaseline.name {
				cov, placed = append(cov, "maintenance"), true
			}
			cov = append(cov, c)
		}
		if !placed {
			cov = append(cov, "maintenance")
		}
		out.Covariates = cov
	}
	return out
}
