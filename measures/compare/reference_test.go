package compare

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/floats/scalar"
)

// records reads a CSV of testdata (written by cohort.R) as one map per row.
func records(t testing.TB, name string) []map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for j, h := range recs[0] {
			m[h] = r[j]
		}
		out = append(out, m)
	}
	return out
}

// num parses a number of a testdata CSV; "NA" and "" are NaN.
func num(t testing.TB, s string) float64 {
	t.Helper()
	if s == "NA" || s == "" {
		return math.NaN()
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// cohortInput reads testdata/cohort.csv and trajectory.csv into an Input
// the way the pipeline fills it: `90+` is 90, an empty cell missing.
func cohortInput(t testing.TB) *Input {
	t.Helper()
	in := &Input{Characteristics: true}
	index := map[string]int{}
	for _, r := range records(t, "cohort.csv") {
		p := Patient{
			Program: r["program"], Route: r["route"], Setting: r["setting"], Integration: r["integration"],
			Traits: NoTraits(),
		}
		switch a := r["age"]; a {
		case "":
		case "90+":
			p.Age = 90
		default:
			p.Age = num(t, a)
		}
		p.Sex, p.Diagnosis = r["sex"], r["diagnosis"]
		p.PriorTreatments = num(t, r["prior_treatments"])
		p.HasBaseline = r["has_baseline"] == "1"
		if p.HasBaseline {
			p.Baseline = int(num(t, r["baseline"]))
		}
		if e := r["endpoint"]; e != "NA" {
			p.HasEndpoint, p.Endpoint = true, int(num(t, e))
		}
		p.Eligible, p.Response = r["eligible"] == "1", r["response"] == "1"
		if r["at_risk"] == "1" {
			p.AtRisk = true
			p.ResponseDay = int(num(t, r["response_day"]))
			p.RelapseTime = int(num(t, r["relapse_time"]))
			p.Relapsed = r["relapsed"] == "1"
			if m := r["maintenance_day"]; m != "NA" {
				p.HasMaintenance, p.MaintenanceDay = true, int(num(t, m))
			}
		}
		index[r["patient"]] = len(in.Patients)
		in.Patients = append(in.Patients, p)
	}
	for _, r := range records(t, "trajectory.csv") {
		pi, ok := index[r["patient"]]
		if !ok {
			t.Fatalf("trajectory: unknown patient %s", r["patient"])
		}
		in.Trajectory.Patient = append(in.Trajectory.Patient, pi)
		in.Trajectory.T = append(in.Trajectory.T, num(t, r["t"]))
		in.Trajectory.Y = append(in.Trajectory.Y, num(t, r["y"]))
	}
	return in
}

// kv writes counts as cohort.R does: "a:1;b:2" in sorted order.
func kv(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if v > 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s:%d", k, m[k])
	}
	return strings.Join(parts, ";")
}

// checkSample compares a model's sample with the row of samples.csv.
func checkSample(t *testing.T, s Sample, w map[string]string) {
	t.Helper()
	for _, c := range []struct{ name, got, want string }{
		{"reference", s.Reference, w["reference"]},
		{"n", strconv.Itoa(s.N), w["n"]},
		{"excluded", strconv.Itoa(s.Excluded), w["excluded"]},
		{"excluded_by", kv(s.ExcludedBy), w["excluded_by"]},
		{"dropped", kv(s.Dropped), w["dropped"]},
		{"levels", kv(s.Levels), w["levels"]},
		{"covariates", strings.Join(s.Covariates, ";"), w["covariates"]},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q (R)", c.name, c.got, c.want)
		}
	}
}

// want returns the rows of results.csv for one model, dimension and kind.
func want(rows []map[string]string, model, dim, kind string) []map[string]string {
	var out []map[string]string
	for _, r := range rows {
		if r["model"] == model && r["dimension"] == dim && r["kind"] == kind {
			out = append(out, r)
		}
	}
	return out
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if !scalar.EqualWithinRel(got, want, tol) {
		t.Errorf("%s = %.10g, want %.10g (R), relative error %.2g > %g", what, got, want, math.Abs(got-want)/math.Abs(want), tol)
	}
}

// TestReferenceCohort runs every comparison on the cohort simulated by
// testdata/cohort.R and compares with R: lm and glm(binomial) (adjusted and
// unadjusted) and coxph with maintenance as a time-varying covariate to
// 1e-6 relative, lmer(y ~ t * D + X + (t | patient)) and without X to 1e-4,
// and who is in each model (reference, n, excluded and why, dropped
// levels, the covariates' terms) exactly.
func TestReferenceCohort(t *testing.T) {
	in := cohortInput(t)
	samples := records(t, "samples.csv")
	results := records(t, "results.csv")
	sampleOf := func(model, dim string) map[string]string {
		for _, s := range samples {
			if s["model"] == model && s["dimension"] == dim {
				return s
			}
		}
		t.Fatalf("samples.csv has no %s/%s", model, dim)
		return nil
	}
	for _, dim := range Dimensions {
		d := string(dim)
		t.Run("change/"+d, func(t *testing.T) {
			c := CompareChange(in, dim)
			checkSample(t, c.Sample, sampleOf("change", d))
			for kind, got := range map[string][]Difference{"adjusted": c.Terms, "unadjusted": c.Unadjusted} {
				checkDifferences(t, "lm "+kind, got, want(results, "change", d, kind), 1e-6)
			}
			if c.Note != "" {
				t.Errorf("note %q", c.Note)
			}
		})
		t.Run("response/"+d, func(t *testing.T) {
			r := CompareResponse(in, dim)
			w := sampleOf("response", d)
			checkSample(t, r.Sample, w)
			if strconv.Itoa(r.Events) != w["events"] {
				t.Errorf("events = %d, want %s", r.Events, w["events"])
			}
			for kind, got := range map[string][]OddsRatio{"adjusted": r.Terms, "unadjusted": r.Unadjusted} {
				rows := want(results, "response", d, kind)
				if len(got) != len(rows) {
					t.Fatalf("glm %s: %d terms, want %d", kind, len(got), len(rows))
				}
				for i, g := range got {
					x := rows[i]
					if g.Level != x["term"] {
						t.Fatalf("glm %s: term %d is %s, want %s", kind, i, g.Level, x["term"])
					}
					what := "glm " + kind + " " + g.Level
					near(t, what+" coef", g.Coef, num(t, x["coef"]), 1e-6)
					near(t, what+" se", g.SE, num(t, x["se"]), 1e-6)
					near(t, what+" odds_ratio", g.OddsRatio, num(t, x["ratio"]), 1e-6)
					near(t, what+" lower95", g.Lower95, num(t, x["lower95"]), 1e-6)
					near(t, what+" upper95", g.Upper95, num(t, x["upper95"]), 1e-6)
					near(t, what+" p", g.P, num(t, x["p"]), 1e-6)
				}
			}
			if r.Note != "" {
				t.Errorf("note %q", r.Note)
			}
		})
		t.Run("slope/"+d, func(t *testing.T) {
			s := CompareSlope(in, dim)
			w := sampleOf("slope", d)
			checkSample(t, s.Sample, w)
			if strconv.Itoa(s.Observations) != w["n_obs"] {
				t.Errorf("n_obs = %d, want %s", s.Observations, w["n_obs"])
			}
			for kind, got := range map[string][]Difference{"adjusted": s.Terms, "unadjusted": s.Unadjusted} {
				checkDifferences(t, "lmer "+kind, got, want(results, "slope", d, kind), 1e-4)
			}
		})
	}
	t.Run("relapse", func(t *testing.T) {
		c := RelapseAdjusted(in)
		w := sampleOf("relapse", "program")
		checkSample(t, c.Sample, w)
		for _, x := range []struct {
			name string
			got  int
		}{{"events", c.Events}, {"rows", c.Rows}, {"maintained", c.Maintained}} {
			if strconv.Itoa(x.got) != w[x.name] {
				t.Errorf("%s = %d, want %s", x.name, x.got, w[x.name])
			}
		}
		rows := want(results, "relapse", "program", "adjusted")
		if len(c.Terms) != len(rows) {
			t.Fatalf("%d terms, want %d (R); note %q", len(c.Terms), len(rows), c.Note)
		}
		for i, g := range c.Terms {
			x := rows[i]
			if g.Term != x["term"] {
				t.Fatalf("term %d is %s, want %s", i, g.Term, x["term"])
			}
			what := "coxph " + g.Term
			near(t, what+" coef", g.Coef, num(t, x["coef"]), 1e-6)
			near(t, what+" se", g.SE, num(t, x["se"]), 1e-6)
			near(t, what+" hazard_ratio", g.HazardRatio, num(t, x["ratio"]), 1e-6)
			near(t, what+" lower95", g.Lower95, num(t, x["lower95"]), 1e-6)
			near(t, what+" upper95", g.Upper95, num(t, x["upper95"]), 1e-6)
			near(t, what+" p", g.P, num(t, x["p"]), 1e-6)
		}
		if c.Note != "" {
			t.Errorf("note %q", c.Note)
		}
	})
}

func checkDifferences(t *testing.T, model string, got []Difference, rows []map[string]string, tol float64) {
	t.Helper()
	if len(got) != len(rows) {
		t.Fatalf("%s: %d terms, want %d", model, len(got), len(rows))
	}
	for i, g := range got {
		x := rows[i]
		if g.Level != x["term"] {
			t.Fatalf("%s: term %d is %s, want %s", model, i, g.Level, x["term"])
		}
		what := model + " " + g.Level
		near(t, what+" estimate", g.Estimate, num(t, x["coef"]), tol)
		near(t, what+" se", g.SE, num(t, x["se"]), tol)
		near(t, what+" lower95", g.Lower95, num(t, x["lower95"]), tol)
		near(t, what+" upper95", g.Upper95, num(t, x["upper95"]), tol)
		near(t, what+" p", g.P, num(t, x["p"]), tol)
	}
}
