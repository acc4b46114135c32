package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/floats/scalar"
)

// The reference data sets and R's results live with the statistics package.
const statsTestdata = "../../measures/stats/testdata"

func runModelJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := runModel(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("model %s: %v (stderr %s)", strings.Join(args, " "), err, stderr.String())
	}
	var out map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("model %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, stdout.String())
	}
	return out
}

// get walks a decoded JSON value along keys and array indices.
func get(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	return v
}

func TestModelLMMSleepstudy(t *testing.T) {
	// lmer(Reaction ~ Days + (Days | Subject), sleepstudy), lme4 1.1-31.
	var ref map[string]any
	b, err := os.ReadFile(filepath.Join(statsTestdata, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rcall, key string
		args       []string
	}{
		{"lmer(Reaction ~ Days + (Days | Subject), sleepstudy)", "reml", nil},
		{"lmer(Reaction ~ Days + (Days | Subject), sleepstudy, REML = FALSE)", "ml", []string{"--ml"}},
	} {
		args := append([]string{"lmm", "--csv", filepath.Join(statsTestdata, "sleepstudy.csv"),
			"--group", "Subject", "--time", "Days", "--y", "Reaction", "--blups"}, tc.args...)
		out := runModelJSON(t, args...)
		want := ref[tc.key]
		for _, p := range [][]any{
			{"fixed", "intercept", "estimate"}, {"fixed", "intercept", "se"},
			{"fixed", "slope", "estimate"}, {"fixed", "slope", "se"},
			{"sd_intercept"}, {"sd_slope"}, {"corr"}, {"sd_residual"}, {"loglik"}, {"n_obs"}, {"n_groups"},
		} {
			g, w := get(t, out, p...).(float64), get(t, want, p...).(float64)
			if !scalar.EqualWithinAbsOrRel(g, w, 1e-4, 1e-4) {
				t.Errorf("%s: %v = %.10g, want %.10g", tc.rcall, p, g, w)
			}
		}
		blup := get(t, out, "blups", 0).(map[string]any)
		wantBLUP := get(t, want, "blup_first_group").(map[string]any)
		if blup["group"] != wantBLUP["group"] ||
			!scalar.EqualWithinAbsOrRel(blup["intercept"].(float64), wantBLUP["intercept"].(float64), 1e-4, 1e-4) ||
			!scalar.EqualWithinAbsOrRel(blup["slope"].(float64), wantBLUP["slope"].(float64), 1e-4, 1e-4) {
			t.Errorf("%s: ranef(fit)$Subject[1, ] = %v, want %v", tc.rcall, blup, wantBLUP)
		}
	}
}

func TestModelSurvivalAML(t *testing.T) {
	aml := filepath.Join(statsTestdata, "aml.csv")
	// print(survfit(Surv(time, status) ~ 1, aml)): median 27.
	out := runModelJSON(t, "km", "--csv", aml, "--time", "time", "--event", "status")
	if m := get(t, out, "curves", 0, "median"); m != 27.0 {
		t.Errorf("median = %v, want 27", m)
	}
	// survdiff(Surv(time, status) ~ group, aml): chisq 3.396388698978, df 1.
	out = runModelJSON(t, "km", "--csv", aml, "--time", "time", "--event", "status", "--group", "group")
	if c := get(t, out, "logrank", "chisq").(float64); !scalar.EqualWithinAbsOrRel(c, 3.396388698978, 1e-6, 1e-6) {
		t.Errorf("log-rank chisq = %v, want 3.396388698978", c)
	}
	if g := get(t, out, "curves", 1, "group"); g != "Nonmaintained" {
		t.Errorf("second curve is %v, want Nonmaintained", g)
	}
	// coxph(Surv(time, status) ~ group, aml): coef 0.9155325750147, LR 3.384447332604.
	out = runModelJSON(t, "cox", "--csv", aml, "--time", "time", "--event", "status", "--covariate", "group")
	if term := get(t, out, "terms", 0, "term"); term != "group=Nonmaintained" {
		t.Errorf("term = %v, want group=Nonmaintained", term)
	}
	if c := get(t, out, "terms", 0, "coef").(float64); !scalar.EqualWithinAbsOrRel(c, 0.9155325750147, 1e-6, 1e-6) {
		t.Errorf("coef = %v, want 0.9155325750147", c)
	}
	if c := get(t, out, "lr_chisq").(float64); !scalar.EqualWithinAbsOrRel(c, 3.384447332604, 1e-6, 1e-6) {
		t.Errorf("lr_chisq = %v, want 3.384447332604", c)
	}
}

func TestModelBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	surv := func(p string, extra ...string) []string {
		return append([]string{"km", "--csv", p, "--time", "time", "--event", "status"}, extra...)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		usage bool
		want  string // substrings of the error, "|"-separated
	}{
		{"no model", nil, true, "name a model"},
		{"unknown model", []string{"glm"}, true, `unknown model "glm"`},
		{"no csv", []string{"km", "--time", "t", "--event", "e"}, true, "--csv required"},
		{"missing flags", []string{"lmm", "--csv", "x.csv"}, true, "--group, --time, --y required"},
		{"bad flag", []string{"cox", "--bogus"}, true, "bogus"},
		{"missing file", surv(filepath.Join(dir, "nope.csv")), false, "nope.csv"},
		{"empty file", surv(write("empty.csv", "")), false, "empty.csv: empty file"},
		{"header only", surv(write("header.csv", "time,status\n")), false, "no data rows"},
		{"missing column", surv(write("nocol.csv", "time,event\n1,1\n2,0\n")), false, `nocol.csv|column "status"|no such column`},
		{"non-numeric time", surv(write("nonnum.csv", "time,status\n1,1\n2,0\nabc,1\n")), false, `nonnum.csv: line 4, column "time": "abc" is not a number`},
		{"negative time", surv(write("neg.csv", "time,status\n1,1\n-2,0\n")), false, `neg.csv: line 3, column "time": negative time -2`},
		{"event not 0/1", surv(write("ev.csv", "time,status\n1,1\n2,2\n")), false, `ev.csv: line 3, column "status": event value "2" is not 0 or 1`},
		{"group with one observation", surv(write("one.csv", "time,status,arm\n1,1,a\n2,0,a\n3,1,b\n"), "--group", "arm"), false, `one.csv|column "arm"|group "b" has a single observation`},
		{"lmm non-numeric y", []string{"lmm", "--csv", write("y.csv", "g,t,y\na,0,1\na,1,x\n"), "--group", "g", "--time", "t", "--y", "y"}, false, `y.csv: line 3, column "y": "x" is not a number`},
		{"lmm too few observations", []string{"lmm", "--csv", write("few.csv", "g,t,y\na,0,1\nb,1,2\nc,2,2\n"), "--group", "g", "--time", "t", "--y", "y"}, false, "not more than the 6 random effects"},
		{"cox constant covariate", []string{"cox", "--csv", write("const.csv", "time,status,x\n1,1,5\n2,0,5\n3,1,5\n"), "--time", "time", "--event", "status", "--covariate", "x"}, false, "singular"},
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

func TestModelSkipsMissingValues(t *testing.T) {
	p := filepath.Join(t.TempDir(), "na.csv")
	// aml's first rows with two missing values added.
	content := "time,status\n9,1\n13,1\n13,0\nNA,1\n18,1\n23,1\n28,\n31,1\n"
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	out := runModelJSON(t, "km", "--csv", p, "--time", "time", "--event", "status")
	if n, s := get(t, out, "curves", 0, "n"), get(t, out, "rows_skipped"); n != 6.0 || s != 2.0 {
		t.Errorf("n = %v, rows_skipped = %v, want 6 and 2", n, s)
	}
}

func TestModelHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := runModel(context.Background(), []string{"lmm", "-h"}, &stdout, &stderr); err != nil {
		t.Errorf("lmm -h: %v", err)
	}
	if !strings.Contains(stderr.String(), "--intercept-only") && !strings.Contains(stderr.String(), "intercept-only") {
		t.Errorf("lmm -h does not list the flags:\n%s", stderr.String())
	}
}

// readRecords reads a CSV written by measures/stats/testdata/models.R as
// one map per row.
func readRecords(t *testing.T, name string) []map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(statsTestdata, name))
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

func parseNum(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestModelLMMByCovariates runs `model lmm --by --covariate` on the data of
// models.R and compares every fixed effect, by R's name, and the variance
// components with lmer at the optimum (tolerance 1e-4, SPEC 8).
func TestModelLMMByCovariates(t *testing.T) {
	terms := readRecords(t, "lmmx_terms.csv")
	fits := readRecords(t, "lmmx_fit.csv")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"covariates_reml", []string{"--csv", filepath.Join(statsTestdata, "lmm_covariates.csv"), "--group", "patient",
			"--time", "week", "--y", "score", "--by", "program", "--covariate", "age,sex,diagnosis,remote"}},
		{"sleepstudy_arm_ml", []string{"--csv", filepath.Join(statsTestdata, "sleepstudy_groups.csv"), "--group", "Subject",
			"--time", "Days", "--y", "Reaction", "--by", "arm", "--covariate", "age", "--ml"}},
		{"by_only_reml", []string{"--csv", filepath.Join(statsTestdata, "lmm_covariates.csv"), "--group", "patient",
			"--time", "week", "--y", "score", "--by", "program"}},
	} {
		out := runModelJSON(t, append([]string{"lmm"}, tc.args...)...)
		var w map[string]string
		for _, f := range fits {
			if f["case"] == tc.name && f["fit"] == "optimum" {
				w = f
			}
		}
		rcall := strings.ReplaceAll(w["call"], ";", ",")
		for _, key := range []string{"sd_intercept", "sd_slope", "corr", "sd_residual", "loglik", "n_obs", "n_groups"} {
			g, want := get(t, out, key).(float64), parseNum(t, w[key])
			if !scalar.EqualWithinAbsOrRel(g, want, 1e-4, 1e-4) {
				t.Errorf("%s: %s = %.10g, want %.10g", rcall, key, g, want)
			}
		}
		fixed := get(t, out, "fixed").([]any)
		n := 0
		for _, r := range terms {
			if r["case"] != tc.name || r["fit"] != "optimum" {
				continue
			}
			if n >= len(fixed) {
				t.Fatalf("%s: %d fixed effects in the output, R has more", rcall, len(fixed))
			}
			// Same order as R's.
			term := fixed[n].(map[string]any)
			n++
			est, se := parseNum(t, r["estimate"]), parseNum(t, r["se"])
			if term["term"] != r["term"] || !scalar.EqualWithinAbsOrRel(term["estimate"].(float64), est, 1e-4*se, 1e-4) ||
				!scalar.EqualWithinAbsOrRel(term["se"].(float64), se, 1e-4, 1e-4) {
				t.Errorf("%s: fixed effect %d = %v, want %s %.10g (se %.10g)", rcall, n, term, r["term"], est, se)
			}
		}
		if n != len(fixed) {
			t.Errorf("%s: %d fixed effects, R has %d", rcall, len(fixed), n)
		}
	}
}

// TestModelCoxStart runs `model cox --start` on survival's heart data (the
// transplant indicator is time-varying) and on survSplit(veteran) with the
// four-level celltype, against coxph(Surv(start, stop, event) ~ ...).
func TestModelCoxStart(t *testing.T) {
	terms := readRecords(t, "coxcp_terms.csv")
	fits := readRecords(t, "coxcp_fit.csv")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"heart", []string{"--csv", filepath.Join(statsTestdata, "heart.csv"), "--start", "start", "--time", "stop",
			"--event", "event", "--covariate", "age,transplant,surgery"}},
		{"veteran_split", []string{"--csv", filepath.Join(statsTestdata, "veteran_split.csv"), "--start", "tstart", "--time", "time",
			"--event", "status", "--covariate", "trt,karno,karno_late,celltype"}},
	} {
		out := runModelJSON(t, append([]string{"cox"}, tc.args...)...)
		k := 0
		for _, r := range terms {
			if r["case"] != tc.name {
				continue
			}
			term := get(t, out, "terms", k).(map[string]any)
			k++
			for _, key := range []string{"coef", "se", "hazard_ratio", "lower95", "upper95", "p"} {
				if term["term"] != r["term"] || !scalar.EqualWithinAbsOrRel(term[key].(float64), parseNum(t, r[key]), 1e-6, 1e-6) {
					t.Errorf("%s: %v %s = %v, want %s %s", tc.name, term["term"], key, term[key], r["term"], r[key])
				}
			}
		}
		for _, f := range fits {
			if f["case"] == tc.name {
				if g, w := get(t, out, "lr_chisq").(float64), parseNum(t, f["lr_chisq"]); !scalar.EqualWithinAbsOrRel(g, w, 1e-6, 1e-6) {
					t.Errorf("%s: lr_chisq = %v, want %v", tc.name, g, w)
				}
				if g := get(t, out, "n"); g != parseNum(t, f["n"]) {
					t.Errorf("%s: n = %v, want %s", tc.name, g, f["n"])
				}
			}
		}
	}
}

func TestModelNewFlagsBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	lmm := write("lmm.csv", "g,t,y,arm,age\na,0,1,x,30\na,1,2,x,30\nb,0,3,y,40\nb,1,5,y,40\nc,0,2,x,30\nc,1,2,x,30\nc,2,4,x,30\n")
	for _, tc := range []struct {
		name  string
		args  []string
		usage bool
		want  string
	}{
		{"start after stop", []string{"cox", "--csv", write("cp.csv", "s,e,d,x\n0,5,1,1\n6,5,0,2\n0,3,1,3\n"),
			"--start", "s", "--time", "e", "--event", "d", "--covariate", "x"}, false, `cp.csv: line 3, column "s": start 6 is not before the stop time 5`},
		{"non-numeric start", []string{"cox", "--csv", write("cp2.csv", "s,e,d,x\n0,5,1,1\nz,5,0,2\n"),
			"--start", "s", "--time", "e", "--event", "d", "--covariate", "x"}, false, `cp2.csv: line 3, column "s": "z" is not a number`},
		{"missing by column", []string{"lmm", "--csv", lmm, "--group", "g", "--time", "t", "--y", "y", "--by", "nope"}, false, `column "nope"|no such column`},
		{"by with one level", []string{"lmm", "--csv", write("one.csv", "g,t,y,arm\na,0,1,x\na,1,2,x\nb,0,3,x\nb,1,5,x\n"),
			"--group", "g", "--time", "t", "--y", "y", "--by", "arm"}, false, `one.csv: column "arm"|single level`},
		{"blups with by", []string{"lmm", "--csv", lmm, "--group", "g", "--time", "t", "--y", "y", "--by", "arm", "--blups"}, true, "--blups is not available"},
		{"covariate twice", []string{"lmm", "--csv", lmm, "--group", "g", "--time", "t", "--y", "y", "--covariate", "age,age"}, true, `"age" is named twice`},
		{"collinear covariate", []string{"lmm", "--csv", lmm, "--group", "g", "--time", "t", "--y", "y", "--by", "arm", "--covariate", "age"}, false, "rank deficient"},
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
		})
	}
}
