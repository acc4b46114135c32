package stats

import (
	"math"
	"strconv"
	"testing"
)

// The expectations in this file were computed by testdata/models.R
// (mcnemar.test, poisson.test, and the standardized mean differences
// written out in R).

func TestMcNemarReference(t *testing.T) {
	for _, w := range records(t, "mcnemar.csv") {
		atoi := func(k string) int { v, _ := strconv.Atoi(w[k]); return v }
		a, b, c, d := atoi("a"), atoi("b"), atoi("c"), atoi("d")
		got, err := McNemar(a, b, c, d)
		if err != nil {
			t.Fatal(err)
		}
		if !equalRel(got.Chisq, num(t, w["chisq"]), 1e-9) || !equalRel(got.P, num(t, w["p"]), 1e-9) || strconv.Itoa(got.DF) != w["df"] {
			t.Errorf("mcnemar.test(matrix(c(%d, %d, %d, %d), 2)) = %+v, want %v", a, c, b, d, got, w)
		}
	}
	if _, err := McNemar(1, -1, 0, 0); err == nil {
		t.Error("negative count accepted")
	}
}

func TestPoissonIntervalReference(t *testing.T) {
	for _, w := range records(t, "poisson.csv") {
		x, _ := strconv.Atoi(w["events"])
		T := num(t, w["exposure"])
		got, err := PoissonInterval(x, T)
		if err != nil {
			t.Fatal(err)
		}
		if !equalRel(got.Rate, num(t, w["rate"]), 1e-12) || !equalRel(got.Lower95, num(t, w["lower95"]), 1e-9) ||
			!equalRel(got.Upper95, num(t, w["upper95"]), 1e-9) {
			t.Errorf("poisson.test(%d, %g)$conf.int: %+v, want %v", x, T, got, w)
		}
	}
	// x = 0: the upper limit is −log(0.025)/T = 3.6888794541139363/T.
	got, _ := PoissonInterval(0, 2)
	if got.Lower95 != 0 || math.Abs(got.Upper95-math.Log(40)/2) > 1e-12 {
		t.Errorf("PoissonInterval(0, 2) = %+v, want (0, log(40)/2)", got)
	}
	for _, T := range []float64{0, -1, math.Inf(1), nan} {
		if _, err := PoissonInterval(1, T); err == nil {
			t.Errorf("exposure %v accepted", T)
		}
	}
}

func TestSMDReference(t *testing.T) {
	want := map[string]float64{}
	for _, w := range records(t, "smd.csv") {
		want[w["case"]] = num(t, w["smd"])
	}
	split := func(file, value, group string, pick func(string) bool) (a, b []string) {
		h, rows := readCSV(t, file)
		v, g := column(t, h, rows, value), column(t, h, rows, group)
		for i := range v {
			if pick(g[i]) {
				a = append(a, v[i])
			} else {
				b = append(b, v[i])
			}
		}
		return a, b
	}
	is1 := func(s string) bool { return s == "1" }
	for _, c := range []struct {
		name, file, value, group string
		pick                     func(string) bool
	}{
		{"mpg_by_am", "mtcars.csv", "mpg", "am", is1},
		{"hp_by_am", "mtcars.csv", "hp", "am", is1},
		{"with_missing", "smd_missing.csv", "x", "g", is1},
	} {
		a, b := split(c.file, c.value, c.group, c.pick)
		got, err := SMD(floats(t, a), floats(t, b))
		if err != nil || !equalRel(got, want[c.name], 1e-9) {
			t.Errorf("SMD %s = %v (%v), want %v", c.name, got, err, want[c.name])
		}
	}
	over30 := func(s string) bool { v, _ := strconv.ParseFloat(s, 64); return v > 30 }
	for _, c := range []struct {
		name, file, value, group string
		pick                     func(string) bool
	}{
		{"cyl_by_am", "mtcars.csv", "cyl", "am", is1},
		{"gear_by_am", "mtcars.csv", "gear", "am", is1},
		{"wool_by_breaks_over_30", "warpbreaks.csv", "wool", "breaks", over30},
		{"with_empty", "smd_empty.csv", "x", "g", is1},
	} {
		a, b := split(c.file, c.value, c.group, c.pick)
		got, err := SMDCategorical(a, b)
		if err != nil || !equalRel(got, want[c.name], 1e-9) {
			t.Errorf("SMDCategorical %s = %v (%v), want %v", c.name, got, err, want[c.name])
		}
	}
	// Hand cases: one value per group, different levels: infinite; the same
	// level: one level overall, NaN; one value in a group: NaN SD.
	if d, _ := SMDCategorical([]string{"x", "x"}, []string{"y"}); !math.IsInf(d, 1) {
		t.Errorf("disjoint single levels: %v, want +Inf", d)
	}
	if d, _ := SMDCategorical([]string{"x"}, []string{"x", ""}); !math.IsNaN(d) {
		t.Errorf("one level: %v, want NaN", d)
	}
	if d, _ := SMD([]float64{1}, []float64{1, 2}); !math.IsNaN(d) {
		t.Errorf("one value: %v, want NaN", d)
	}
}
