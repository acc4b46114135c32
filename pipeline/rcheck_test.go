package pipeline

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/kapstat/kapstat/measures/stats"
)

// The R re-derivation of the analysis (testdata/rcheck/derive.R, see its README) writes
// testdata/rcheck/expected.json from the two CSVs next to it, with base R, lme4 and survival
// only. TestRCheckAnalysis ingests the same CSVs and compares every number of Analyze with it,
// so R is not needed to run the test.

const rcheckDir = "testdata/rcheck"

// Tolerances: counts are exact; the mixed model agrees to lme4's optimiser tolerance; the
// closed-form statistics (t-test, Wilson, Kaplan–Meier, log-rank, Cox) to 1e-6. Each is
// |got − want| ≤ abs + rel·|want|, so values near 0 (a correlation, a tiny p) are not judged
// by the relative part alone.
type rcTol struct{ rel, abs float64 }

var (
	rcTolStat = rcTol{rel: 1e-6, abs: 1e-12}
	rcTolLMM  = rcTol{rel: 1e-4, abs: 1e-4}
)

type rcSummary struct {
	N    int      `json:"n"`
	Mean *float64 `json:"mean"`
	SD   *float64 `json:"sd"`
}

type rcChange struct {
	N        int      `json:"n"`
	Mean     *float64 `json:"mean"`
	SD       *float64 `json:"sd"`
	Lower95  *float64 `json:"lower95"`
	Upper95  *float64 `json:"upper95"`
	T        *float64 `json:"t"`
	DF       int      `json:"df"`
	P        *float64 `json:"p"`
	CohensDz *float64 `json:"cohens_dz"`
}

type rcProportion struct {
	N       int      `json:"n"`
	Events  int      `json:"events"`
	Rate    *float64 `json:"rate"`
	Lower95 *float64 `json:"lower95"`
	Upper95 *float64 `json:"upper95"`
}

type rcEstimate struct {
	Estimate *float64 `json:"estimate"`
	SE       *float64 `json:"se"`
}

type rcTrajectory struct {
	NObs    int `json:"n_obs"`
	NGroups int `json:"n_groups"`
	Fixed   struct {
		Intercept rcEstimate `json:"intercept"`
		Slope     rcEstimate `json:"slope"`
	} `json:"fixed"`
	SDIntercept *float64 `json:"sd_intercept"`
	SDSlope     *float64 `json:"sd_slope"`
	Corr        *float64 `json:"corr"`
	SDResidual  *float64 `json:"sd_residual"`
	LogLik      *float64 `json:"loglik"`
	REML        bool     `json:"reml"`
}

type rcWeek struct {
	Week    int      `json:"week"`
	N       int      `json:"n"`
	Mean    *float64 `json:"mean"`
	SD      *float64 `json:"sd"`
	Lower95 *float64 `json:"lower95"`
	Upper95 *float64 `json:"upper95"`
}

type rcSurvival struct {
	Day      float64  `json:"day"`
	NRisk    int      `json:"n_risk"`
	Survival *float64 `json:"survival"`
	StdErr   *float64 `json:"std_err"`
	Lower95  *float64 `json:"lower95"`
	Upper95  *float64 `json:"upper95"`
}

type rcCoxTerm struct {
	Term        string   `json:"term"`
	Coef        *float64 `json:"coef"`
	SE          *float64 `json:"se"`
	HazardRatio *float64 `json:"hazard_ratio"`
	Z           *float64 `json:"z"`
	P           *float64 `json:"p"`
}

type rcRelapse struct {
	AtRisk      int            `json:"at_risk"`
	Events      int            `json:"events"`
	Excluded    map[string]int `json:"excluded"`
	MedianDays  *float64       `json:"median_days"`
	RelapseFree []rcSurvival   `json:"relapse_free"`
	ByProgram   struct {
		N       map[string]int `json:"n"`
		Logrank struct {
			Chisq *float64 `json:"chisq"`
			DF    int      `json:"df"`
			P     *float64 `json:"p"`
		} `json:"logrank"`
	} `json:"by_program"`
	Cox struct {
		N      int         `json:"n"`
		Events int         `json:"events"`
		Terms  []rcCoxTerm `json:"terms"`
		LogLik []float64   `json:"loglik"`
	} `json:"cox"`
}

type rcMeasure struct {
	Patients       int            `json:"patients"`
	WithBaseline   int            `json:"with_baseline"`
	WithEndpoint   int            `json:"with_endpoint"`
	Eligible       int            `json:"eligible"`
	Baseline       rcSummary      `json:"baseline"`
	Endpoint       rcSummary      `json:"endpoint"`
	Change         rcChange       `json:"change"`
	Response       rcProportion   `json:"response"`
	ResponseITT    rcProportion   `json:"response_itt"`
	Remission      rcProportion   `json:"remission"`
	RemissionITT   rcProportion   `json:"remission_itt"`
	ReliableChange map[string]int `json:"reliable_change"`
	Trajectory     rcTrajectory   `json:"trajectory"`
	Weekly         []rcWeek       `json:"weekly"`
	Relapse        rcRelapse      `json:"relapse"`
}

type rcExpected struct {
	Inputs []struct {
		File string `json:"file"`
		MD5  string `json:"md5"`
	} `json:"inputs"`
	Cohort struct {
		Patients int            `json:"patients"`
		Treated  int            `json:"treated"`
		Excluded map[string]int `json:"excluded"`
	} `json:"cohort"`
	Measures map[string]rcMeasure `json:"measures"`
}

// rcCheck collects the comparisons of one test, named by a path such as PHQ9.change.p.
type rcCheck struct {
	t        *testing.T
	compared int
	// worst is the largest difference seen per tolerance, as a share of what it allows.
	worst     map[rcTol]float64
	worstName map[rcTol]string
}

func (c *rcCheck) count(name string, got, want int) {
	c.t.Helper()
	c.compared++
	if got != want {
		c.t.Errorf("%s: Go %d, R %d", name, got, want)
	}
}

// num compares a Go value with R's; R's null (nil) must be NaN in Go.
func (c *rcCheck) num(name string, got float64, want *float64, tol rcTol) {
	c.t.Helper()
	c.compared++
	if want == nil {
		if !math.IsNaN(got) {
			c.t.Errorf("%s: Go %.15g, R null (undefined)", name, got)
		}
		return
	}
	if math.IsNaN(got) || math.IsInf(got, 0) {
		c.t.Errorf("%s: Go %v, R %.15g", name, got, *want)
		return
	}
	d := math.Abs(got - *want)
	if share := d / (tol.abs + tol.rel*math.Abs(*want)); c.worst != nil && share >= c.worst[tol] {
		c.worst[tol], c.worstName[tol] = share, name
	}
	if d > tol.abs+tol.rel*math.Abs(*want) {
		c.t.Errorf("%s: Go %.15g, R %.15g (difference %.3g, relative %.3g)", name, got, *want, d, d/math.Abs(*want))
	}
}

// ptr compares an optional Go value (nil = undefined) with R's.
func (c *rcCheck) ptr(name string, got *float64, want *float64, tol rcTol) {
	c.t.Helper()
	v := math.NaN()
	if got != nil {
		v = *got
	}
	c.num(name, v, want, tol)
}

func (c *rcCheck) proportion(name string, got stats.Proportion, want rcProportion) {
	c.t.Helper()
	c.count(name+".n", got.N, want.N)
	c.count(name+".events", got.Events, want.Events)
	c.num(name+".rate", got.Rate, want.Rate, rcTolStat)
	c.num(name+".lower95", got.Lower95, want.Lower95, rcTolStat)
	c.num(name+".upper95", got.Upper95, want.Upper95, rcTolStat)
}

func readRCheckExpected(t *testing.T) *rcExpected {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(rcheckDir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp rcExpected
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatalf("expected.json: %v", err)
	}
	if len(exp.Measures) == 0 || len(exp.Inputs) != 2 {
		t.Fatalf("expected.json holds no measures or not two inputs")
	}
	// expected.json must have been derived from the CSVs as they are now.
	for _, in := range exp.Inputs {
		data, err := os.ReadFile(filepath.Join(rcheckDir, in.File))
		if err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(data)
		if got := hex.EncodeToString(sum[:]); got != in.MD5 {
			t.Fatalf("%s changed since expected.json was written (md5 %s, expected.json has %s): rerun derive.R",
				in.File, got, in.MD5)
		}
	}
	return &exp
}

// TestRCheckAnalysis compares Analyze with the independent R re-derivation of SPEC 6.1–6.10.
func TestRCheckAnalysis(t *testing.T) {
	exp := readRCheckExpected(t)
	ctx := context.Background()
	w, _ := openTemp(t)
	files := []string{filepath.Join(rcheckDir, "assessments.csv"), filepath.Join(rcheckDir, "sessions.csv")}
	reports, err := w.Ingest(ctx, files, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reports {
		// The cohort is clean: R scores every row, so Go must accept every row.
		if r.Accepted != r.RowsRead || r.Quarantined != 0 || r.Duplicates != 0 {
			t.Fatalf("%s: not every row accepted: %+v", r.Path, *r)
		}
	}
	a, err := w.Analyze(ctx, AnalyzeOptions{Config: DefaultConfig(), Write: false})
	if err != nil {
		t.Fatal(err)
	}
	c := &rcCheck{t: t, worst: map[rcTol]float64{}, worstName: map[rcTol]string{}}
	c.count("cohort.patients", a.Cohort.Patients, exp.Cohort.Patients)
	c.count("cohort.treated", a.Cohort.Treated, exp.Cohort.Treated)
	for k, v := range exp.Cohort.Excluded {
		c.count("cohort.excluded."+k, a.Cohort.Excluded[k], v)
	}
	codes := make([]string, 0, len(exp.Measures))
	for code := range exp.Measures {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	for _, code := range codes {
		want := exp.Measures[code]
		got, ok := a.Measures[code]
		if !ok {
			t.Errorf("%s: missing from the Go analysis", code)
			continue
		}
		rcheckMeasure(c, code, got, &want)
	}
	if len(a.Measures) != len(exp.Measures) {
		t.Errorf("Go analysed %d instruments, R %d", len(a.Measures), len(exp.Measures))
	}
	t.Logf("%d numbers compared with R", c.compared)
	for _, tol := range []rcTol{rcTolStat, rcTolLMM} {
		t.Logf("tolerance %+v: largest difference %.3g of the allowed, at %s", tol, c.worst[tol], c.worstName[tol])
	}
}

func rcheckMeasure(c *rcCheck, code string, got *MeasureResult, want *rcMeasure) {
	c.t.Helper()
	n := func(s string) string { return code + "." + s }
	c.count(n("patients"), got.Patients, want.Patients)
	c.count(n("with_baseline"), got.WithBaseline, want.WithBaseline)
	c.count(n("with_endpoint"), got.WithEndpoint, want.WithEndpoint)
	c.count(n("eligible"), got.Eligible, want.Eligible)

	for _, s := range []struct {
		name string
		got  stats.Summary
		want rcSummary
	}{{"baseline", got.Baseline, want.Baseline}, {"endpoint", got.Endpoint, want.Endpoint}} {
		c.count(n(s.name+".n"), s.got.N, s.want.N)
		c.num(n(s.name+".mean"), s.got.Mean, s.want.Mean, rcTolStat)
		c.num(n(s.name+".sd"), s.got.SD, s.want.SD, rcTolStat)
	}

	ch, wc := got.Change, want.Change
	c.count(n("change.n"), ch.N, wc.N)
	c.count(n("change.df"), ch.DF, wc.DF)
	c.num(n("change.mean"), ch.Mean, wc.Mean, rcTolStat)
	c.num(n("change.sd"), ch.SD, wc.SD, rcTolStat)
	c.num(n("change.lower95"), ch.Lower95, wc.Lower95, rcTolStat)
	c.num(n("change.upper95"), ch.Upper95, wc.Upper95, rcTolStat)
	c.num(n("change.t"), ch.T, wc.T, rcTolStat)
	c.num(n("change.p"), ch.P, wc.P, rcTolStat)
	c.num(n("change.cohens_dz"), ch.CohensDz, wc.CohensDz, rcTolStat)

	c.proportion(n("response"), got.Response, want.Response)
	c.proportion(n("response_itt"), got.ResponseITT, want.ResponseITT)
	c.proportion(n("remission"), got.Remission, want.Remission)
	c.proportion(n("remission_itt"), got.RemissionITT, want.RemissionITT)

	for _, k := range []string{"recovered", "improved", "unchanged", "deteriorated"} {
		c.count(n("reliable_change."+k), got.ReliableChange[k], want.ReliableChange[k])
	}

	// Trajectory: lme4's REML fit.
	if tr := got.Trajectory; tr == nil {
		c.t.Errorf("%s: no trajectory fit (%s)", n("trajectory"), got.TrajectoryNote)
	} else {
		wt := want.Trajectory
		c.count(n("trajectory.n_obs"), tr.NObs, wt.NObs)
		c.count(n("trajectory.n_groups"), tr.NGroups, wt.NGroups)
		if tr.REML != wt.REML {
			c.t.Errorf("%s: Go REML %v, R %v", n("trajectory.reml"), tr.REML, wt.REML)
		}
		c.num(n("trajectory.fixed.intercept.estimate"), tr.Fixed.Intercept.Estimate, wt.Fixed.Intercept.Estimate, rcTolLMM)
		c.num(n("trajectory.fixed.intercept.se"), tr.Fixed.Intercept.SE, wt.Fixed.Intercept.SE, rcTolLMM)
		c.num(n("trajectory.fixed.slope.estimate"), tr.Fixed.Slope.Estimate, wt.Fixed.Slope.Estimate, rcTolLMM)
		c.num(n("trajectory.fixed.slope.se"), tr.Fixed.Slope.SE, wt.Fixed.Slope.SE, rcTolLMM)
		c.num(n("trajectory.sd_intercept"), tr.SDIntercept, wt.SDIntercept, rcTolLMM)
		c.num(n("trajectory.sd_slope"), tr.SDSlope, wt.SDSlope, rcTolLMM)
		c.num(n("trajectory.corr"), tr.Corr, wt.Corr, rcTolLMM)
		c.num(n("trajectory.sd_residual"), tr.SDResidual, wt.SDResidual, rcTolLMM)
		c.num(n("trajectory.loglik"), tr.LogLik, wt.LogLik, rcTolLMM)
	}

	// Weekly means: the same weeks, in order.
	gw := map[int]Weekly{}
	var gotWeeks, wantWeeks []int
	for _, wk := range got.Weekly {
		gw[wk.Week] = wk
		gotWeeks = append(gotWeeks, wk.Week)
	}
	for _, wk := range want.Weekly {
		wantWeeks = append(wantWeeks, wk.Week)
	}
	if fmt.Sprint(gotWeeks) != fmt.Sprint(wantWeeks) {
		c.t.Errorf("%s: Go weeks %v, R weeks %v", n("weekly"), gotWeeks, wantWeeks)
	}
	for _, wk := range want.Weekly {
		g, ok := gw[wk.Week]
		if !ok {
			continue
		}
		p := n(fmt.Sprintf("weekly[week %d]", wk.Week))
		c.count(p+".n", g.N, wk.N)
		c.num(p+".mean", g.Mean, wk.Mean, rcTolStat)
		c.num(p+".sd", g.SD, wk.SD, rcTolStat)
		c.num(p+".lower95", g.Lower95, wk.Lower95, rcTolStat)
		c.num(p+".upper95", g.Upper95, wk.Upper95, rcTolStat)
	}

	// Relapse: Kaplan–Meier, log-rank by program, Cox.
	rg, rw := got.Relapse, want.Relapse
	c.count(n("relapse.at_risk"), rg.AtRisk, rw.AtRisk)
	c.count(n("relapse.events"), rg.Events, rw.Events)
	for k, v := range rw.Excluded {
		c.count(n("relapse.excluded."+k), rg.Excluded[k], v)
	}
	c.ptr(n("relapse.median_days"), rg.MedianDays, rw.MedianDays, rcTolStat)
	if len(rg.RelapseFree) != len(rw.RelapseFree) {
		c.t.Errorf("%s: Go %d days, R %d", n("relapse.relapse_free"), len(rg.RelapseFree), len(rw.RelapseFree))
	} else {
		for i, sp := range rw.RelapseFree {
			g := rg.RelapseFree[i]
			p := n(fmt.Sprintf("relapse.relapse_free[day %g]", sp.Day))
			if g.Time != sp.Day {
				c.t.Errorf("%s: Go day %g", p, g.Time)
			}
			c.count(p+".n_risk", g.NRisk, sp.NRisk)
			c.num(p+".survival", g.Survival, sp.Survival, rcTolStat)
			c.num(p+".std_err", g.StdErr, sp.StdErr, rcTolStat)
			c.num(p+".lower95", g.Lower95, sp.Lower95, rcTolStat)
			c.num(p+".upper95", g.Upper95, sp.Upper95, rcTolStat)
		}
	}
	for prog, v := range rw.ByProgram.N {
		c.count(n("relapse.by_program."+prog+".at_risk"), rg.ByProgram.Curves[prog].AtRisk, v)
	}
	if lr := rg.ByProgram.Logrank; lr == nil {
		c.t.Errorf("%s: no log-rank test (%s)", n("relapse.by_program.logrank"), rg.ByProgram.Note)
	} else {
		wl := rw.ByProgram.Logrank
		c.count(n("relapse.by_program.logrank.df"), lr.DF, wl.DF)
		c.num(n("relapse.by_program.logrank.chisq"), lr.Chisq, wl.Chisq, rcTolStat)
		c.num(n("relapse.by_program.logrank.p"), lr.P, wl.P, rcTolStat)
	}
	if cx := rg.Cox; cx == nil {
		c.t.Errorf("%s: no Cox fit (%s)", n("relapse.cox"), rg.CoxNote)
	} else {
		wx := rw.Cox
		c.count(n("relapse.cox.n"), cx.N, wx.N)
		c.count(n("relapse.cox.events"), cx.Events, wx.Events)
		if len(wx.LogLik) == 2 {
			for i := range wx.LogLik {
				c.num(n(fmt.Sprintf("relapse.cox.loglik[%d]", i)), cx.LogLik[i], &wx.LogLik[i], rcTolStat)
			}
		}
		terms := map[string]stats.CoxTerm{}
		for _, tm := range cx.Terms {
			terms[tm.Term] = tm
		}
		if len(cx.Terms) != len(wx.Terms) {
			c.t.Errorf("%s: Go %d terms, R %d", n("relapse.cox.terms"), len(cx.Terms), len(wx.Terms))
		}
		for _, wt := range wx.Terms {
			g, ok := terms[wt.Term]
			p := n("relapse.cox." + wt.Term)
			if !ok {
				c.t.Errorf("%s: no such term in Go", p)
				continue
			}
			c.num(p+".coef", g.Coef, wt.Coef, rcTolStat)
			c.num(p+".se", g.SE, wt.SE, rcTolStat)
			c.num(p+".hazard_ratio", g.HazardRatio, wt.HazardRatio, rcTolStat)
			c.num(p+".z", g.Z, wt.Z, rcTolStat)
			c.num(p+".p", g.P, wt.P, rcTolStat)
		}
	}
}
