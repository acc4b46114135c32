package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
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
