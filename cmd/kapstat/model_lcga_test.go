package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/floats/scalar"
)

// The flexmix references: measures/stats/lcga/testdata/reference.R, R 4.2.2,
// flexmix 2.3-18 (see the README there).
const lcgaTestdata = "../../measures/stats/lcga/testdata"

// lcgaReference reads results.csv and classes.csv into one map per row,
// keyed "data/variance/k/source"; a row's classes are under "classes".
func lcgaReference(t *testing.T) map[string]map[string]any {
	t.Helper()
	read := func(name string) []map[string]string {
		f, err := os.Open(filepath.Join(lcgaTestdata, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		recs, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatal(err)
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
	key := func(r map[string]string) string {
		return r["data"] + "/" + r["variance"] + "/" + r["k"] + "/" + r["source"]
	}
	ref := map[string]map[string]any{}
	for _, r := range read("results.csv") {
		row := map[string]any{}
		for k, v := range r {
			row[k] = v
		}
		ref[key(r)] = row
	}
	for _, r := range read("classes.csv") {
		row := ref[key(r)]
		cs, _ := row["classes"].([]map[string]string)
		row["classes"] = append(cs, r)
	}
	return ref
}

func refNum(t *testing.T, v any) float64 {
	t.Helper()
	x, err := strconv.ParseFloat(v.(string), 64)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// TestModelLCGAFlexmix runs `kapstat model lcga` on the three reference data
// sets with both variance models and a tight tolerance, and compares each K
// with flexmix's best solution run on to the exact maximum of the likelihood
// (the "ml" rows; flexmix's own fixed point divides variances by n − 2):
// log-likelihood and BIC (N = patients) to 1e-9, relative entropy, shares,
// intercepts, slopes and sigmas to 1e-6, class sizes exactly. The
// log-likelihood is also at least flexmix's own best.
func TestModelLCGAFlexmix(t *testing.T) {
	ref := lcgaReference(t)
	sets := []struct{ name, path, group, time, y string }{
		{"sleepstudy", filepath.Join(statsTestdata, "sleepstudy.csv"), "Subject", "Days", "Reaction"},
		{"chickweight", filepath.Join(lcgaTestdata, "chickweight.csv"), "chick", "time", "weight"},
		{"phq9sim", filepath.Join(lcgaTestdata, "phq9sim.csv"), "patient", "week", "score"},
	}
	for _, s := range sets {
		for _, variance := range []string{"class", "shared"} {
			out := runModelJSON(t, "lcga", "--csv", s.path, "--group", s.group, "--time", s.time, "--y", s.y,
				"--variance", variance, "--tol", "1e-15")
			name := s.name + "/" + variance
			if out["variance"] != variance || out["seed"] != float64(lcgaDefaultSeed) || out["starts"] != 20.0 {
				t.Errorf("%s: variance %v, seed %v, starts %v", name, out["variance"], out["seed"], out["starts"])
			}
			models := get(t, out, "models").([]any)
			if len(models) != 4 {
				t.Fatalf("%s: %d models, want 4", name, len(models))
			}
			bestBIC, chosen := math.Inf(1), 0
			for i, mv := range models {
				k := i + 1
				m := mv.(map[string]any)
				ml := ref[fmt.Sprintf("%s/%d/ml", name, k)]
				flex := ref[fmt.Sprintf("%s/%d/flexmix", name, k)]
				ll := m["loglik"].(float64)
				if m["k"] != float64(k) || m["n_patients"] != refNum(t, ml["n_patients"]) || m["n_obs"] != refNum(t, ml["n_obs"]) ||
					m["parameters"] != refNum(t, ml["df"]) {
					t.Errorf("%s K=%d: k %v, n_patients %v, n_obs %v, parameters %v; R %v, %v, %v, %v", name, k,
						m["k"], m["n_patients"], m["n_obs"], m["parameters"], k, ml["n_patients"], ml["n_obs"], ml["df"])
				}
				if f := refNum(t, flex["loglik"]); ll < f-1e-6*math.Abs(f) {
					t.Errorf("%s K=%d: loglik %.10f below flexmix's best %.10f", name, k, ll, f)
				}
				for _, c := range []struct {
					key, rkey string
					tol       float64
				}{{"loglik", "loglik", 1e-9}, {"bic", "bic_patients", 1e-9}, {"relative_entropy", "entropy", 1e-6}} {
					if g, w := m[c.key].(float64), refNum(t, ml[c.rkey]); !scalar.EqualWithinAbsOrRel(g, w, c.tol, c.tol) {
						t.Errorf("%s K=%d: %s %.12g, R %.12g", name, k, c.key, g, w)
					}
				}
				cs := m["classes"].([]any)
				for j, rc := range ml["classes"].([]map[string]string) {
					c := cs[j].(map[string]any)
					for _, p := range []string{"share", "intercept", "slope", "sigma"} {
						if g, w := c[p].(float64), refNum(t, rc[p]); !scalar.EqualWithinAbsOrRel(g, w, 1e-6, 1e-6) {
							t.Errorf("%s K=%d class %d: %s %.10g, R %.10g", name, k, j+1, p, g, w)
						}
					}
					if c["n"] != refNum(t, rc["n"]) {
						t.Errorf("%s K=%d class %d: n %v, R %v", name, k, j+1, c["n"], rc["n"])
					}
				}
				if b := m["bic"].(float64); b < bestBIC {
					bestBIC, chosen = b, k
				}
			}
			if out["k"] != float64(chosen) {
				t.Errorf("%s: chosen k %v, smallest BIC at %d", name, out["k"], chosen)
			}
		}
	}
}

// TestModelLCGADefaults: with the defaults (shared variance, 20 starts, seed
// 20260101, tolerance 1e-8) on sleepstudy, every K reaches flexmix's best
// log-likelihood, and BIC (N = 18 subjects) chooses K = 3:
// from results.csv, −2·logL + 3K·ln 18 = 1908.96, 1827.42, 1782.85, 1784.39.
func TestModelLCGADefaults(t *testing.T) {
	ref := lcgaReference(t)
	out := runModelJSON(t, "lcga", "--csv", filepath.Join(statsTestdata, "sleepstudy.csv"),
		"--group", "Subject", "--time", "Days", "--y", "Reaction")
	if out["k"] != 3.0 || out["n_patients"] != 18.0 || out["n_obs"] != 180.0 || out["variance"] != "shared" {
		t.Errorf("k %v, n_patients %v, n_obs %v, variance %v; want 3, 18, 180, shared", out["k"], out["n_patients"], out["n_obs"], out["variance"])
	}
	for i, mv := range get(t, out, "models").([]any) {
		flex := refNum(t, ref[fmt.Sprintf("sleepstudy/shared/%d/flexmix", i+1)]["loglik"])
		if ll := mv.(map[string]any)["loglik"].(float64); ll < flex-1e-6*math.Abs(flex) {
			t.Errorf("K=%d: loglik %.10f below flexmix's best %.10f", i+1, ll, flex)
		}
	}
	// --classes 2-3: only those K are reported, and K is chosen among them.
	out = runModelJSON(t, "lcga", "--csv", filepath.Join(statsTestdata, "sleepstudy.csv"),
		"--group", "Subject", "--time", "Days", "--y", "Reaction", "--classes", "2-3")
	models := get(t, out, "models").([]any)
	if len(models) != 2 || get(t, models, 0, "k") != 2.0 || get(t, models, 1, "k") != 3.0 || out["k"] != 3.0 {
		t.Errorf("--classes 2-3: k %v, models %v", out["k"], models)
	}
}

func TestModelLCGABadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.csv", "id,week,score\na,0,20\na,1,18\na,2,15\nb,0,12\nb,2,11\nc,1,9\nc,3,7\n")
	lcgaArgs := func(p string, extra ...string) []string {
		return append([]string{"lcga", "--csv", p, "--group", "id", "--time", "week", "--y", "score"}, extra...)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		usage bool
		want  string // substrings of the error, "|"-separated
	}{
		{"missing flags", []string{"lcga", "--csv", good}, true, "--group, --time, --y required"},
		{"bad variance", lcgaArgs(good, "--variance", "free"), true, `--variance "free": want shared or class`},
		{"classes zero", lcgaArgs(good, "--classes", "0-3"), true, `--classes "0-3"`},
		{"classes reversed", lcgaArgs(good, "--classes", "4-2"), true, `--classes "4-2"`},
		{"classes not a number", lcgaArgs(good, "--classes", "many"), true, `--classes "many"`},
		{"no starts", lcgaArgs(good, "--starts", "0"), true, "--starts 0"},
		{"bad tol", lcgaArgs(good, "--tol", "0"), true, "--tol 0"},
		{"bad label change", lcgaArgs(good, "--label-change", "-5"), true, "--label-change -5"},
		{"missing column", lcgaArgs(write("nocol.csv", "id,day,score\na,0,1\n")), false, `nocol.csv: line 1, column "week": no such column`},
		{"non-numeric score", lcgaArgs(write("y.csv", "id,week,score\na,0,20\na,1,x\n")), false, `y.csv: line 3, column "score": "x" is not a number`},
		{"non-numeric week", lcgaArgs(write("t.csv", "id,week,score\na,0,20\nb,one,18\n")), false, `t.csv: line 3, column "week": "one" is not a number`},
		{"one time", lcgaArgs(write("one.csv", "id,week,score\na,0,20\nb,0,18\n")), false, `one.csv: column "week": every observation is at the same time`},
		{"exact line", lcgaArgs(write("line.csv", "id,week,score\na,0,20\na,1,18\nb,2,16\n")), false, `line.csv: column "score": every observation lies on one straight line`},
		{"all missing", lcgaArgs(write("na.csv", "id,week,score\na,0,NA\nb,,3\n")), false, "na.csv: no rows with a group, a time and a response"},
		// Three patients cannot hold two classes of at least two patients each.
		{"no K fitted", lcgaArgs(good, "--classes", "2-3"), false, "good.csv: no start kept for any of 2 to 3 classes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := runModel(context.Background(), tc.args, &stdout, &stderr)
			if err == nil {
				t.Fatalf("no error; output %s", stdout.String())
			}
			if got := errors.Is(err, errUsage); got != tc.usage {
				t.Errorf("usage error = %v, want %v: %v", got, tc.usage, err)
			}
			for _, w := range strings.Split(tc.want, "|") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout not empty on error: %s", stdout.String())
			}
		})
	}
}

// TestModelLCGASmall: three patients, K = 1 only (by hand, as in the lcga
// package's TestOneClassIsOLS): pooled OLS of the 7 observations below with
// a skipped row; K = 2 has no start kept and is reported with a note.
func TestModelLCGASmall(t *testing.T) {
	p := filepath.Join(t.TempDir(), "small.csv")
	content := "id,week,score\na,0,20\na,1,18\na,2,15\nb,0,12\nb,2,11\nb,3,NA\nc,1,9\n"
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	out := runModelJSON(t, "lcga", "--csv", p, "--group", "id", "--time", "week", "--y", "score", "--classes", "1-2")
	// t̄ = 1, ȳ = 85/6, slope −3/2, intercept 47/3, σ² = RSS/n = 491/36,
	// logL = −n/2·(ln(2πσ²) + 1) with n = 6, BIC = −2logL + 3·ln 3.
	s2 := 491.0 / 36
	ll := -3 * (math.Log(2*math.Pi*s2) + 1)
	want := map[string]float64{"intercept": 47.0 / 3, "slope": -1.5, "sigma": math.Sqrt(s2), "share": 1, "n": 3}
	for k, w := range want {
		if g := get(t, out, "models", 0, "classes", 0, k).(float64); !scalar.EqualWithinAbsOrRel(g, w, 1e-12, 1e-12) {
			t.Errorf("class %s = %v, want %v", k, g, w)
		}
	}
	if g := get(t, out, "models", 0, "loglik").(float64); !scalar.EqualWithinRel(g, ll, 1e-12) {
		t.Errorf("loglik %v, want %v", g, ll)
	}
	if g := get(t, out, "models", 0, "bic").(float64); !scalar.EqualWithinRel(g, -2*ll+3*math.Log(3), 1e-12) {
		t.Errorf("bic %v, want %v", g, -2*ll+3*math.Log(3))
	}
	// −1.5 × 8 = −12 ≤ −2 × 6: rapid improvement with the default labels.
	if l := get(t, out, "models", 0, "classes", 0, "label"); l != "rapid improvement" {
		t.Errorf("label %v", l)
	}
	if out["k"] != 1.0 || out["rows_skipped"] != 1.0 || out["n_obs"] != 6.0 || out["n_patients"] != 3.0 {
		t.Errorf("k %v, rows_skipped %v, n_obs %v, n_patients %v", out["k"], out["rows_skipped"], out["n_obs"], out["n_patients"])
	}
	m2 := get(t, out, "models", 1).(map[string]any)
	if m2["loglik"] != nil || m2["bic"] != nil || !strings.Contains(m2["note"].(string), "no start kept") {
		t.Errorf("K = 2: %v", m2)
	}
	if w := fmt.Sprint(out["warnings"]); !strings.Contains(w, "1 rows with a missing value skipped") || !strings.Contains(w, "K = 2: no start kept") {
		t.Errorf("warnings %v", w)
	}
}

func TestModelLCGAHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := runModel(context.Background(), []string{"lcga", "-h"}, &stdout, &stderr); err != nil {
		t.Errorf("lcga -h: %v", err)
	}
	for _, f := range []string{"-classes", "-variance", "-starts", "-seed", "-tol", "-label-change", "-label-span", "lcga --group G"} {
		if !strings.Contains(stderr.String(), f) {
			t.Errorf("lcga -h does not mention %s:\n%s", f, stderr.String())
		}
	}
}
