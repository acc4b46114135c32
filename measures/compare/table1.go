package compare

import (
	"encoding/json"
	"math"
	"sort"

	"github.com/kapstat/kapstat/measures/outcome"
	"github.com/kapstat/kapstat/measures/stats"
)

// Person is one treated patient as the characteristics table ("Table 1") describes them: the
// program of the first dosing session, the characteristics from the patients file and the
// baseline score of each instrument, in the order Describe is given them (NaN when the patient
// has none).
type Person struct {
	Program string
	Traits
	Baseline []float64
}

// TreatmentResistant is the number of prior adequate antidepressant trials from which
// depression counts as treatment-resistant (2 or more).
const TreatmentResistant = 2

// Characteristics is one column of the table: a program's patients, or all of them.
type Characteristics struct {
	N int `json:"n"`
	// Age of the patients with an age (90+ counted as 90); AgeUnknown counts the others and
	// Age90 those aged 90 or more.
	Age        stats.Summary `json:"age"`
	Age90      int           `json:"age_90_plus"`
	AgeUnknown int           `json:"age_unknown"`
	// Sex and Diagnosis count the patients per recorded value; the unknowns apart.
	Sex              map[string]int `json:"sex"`
	SexUnknown       int            `json:"sex_unknown"`
	Diagnosis        map[string]int `json:"diagnosis"`
	DiagnosisUnknown int            `json:"diagnosis_unknown"`
	// PriorTreatments are the median and quartiles (R's quantile type 7) of the number of
	// prior trials; Resistant counts the patients with 2 or more.
	PriorTreatments outcome.Quartiles `json:"prior_treatments"`
	Resistant       int               `json:"treatment_resistant"`
	PriorUnknown    int               `json:"prior_treatments_unknown"`
	// Baseline is the baseline score per instrument of the patients with one.
	Baseline        map[string]stats.Summary `json:"baseline"`
	BaselineUnknown map[string]int           `json:"baseline_unknown"`
}

// SMDs are the standardized mean differences between the two largest programs (First minus
// Second): continuous (m1 − m2)/sqrt((s1² + s2²)/2), categorical the multi-category SMD of
// Yang and Dalton (2012), over the patients with the value recorded. NaN (null) when either
// program has fewer than 2 such patients.
type SMDs struct {
	First           string             `json:"first"`
	Second          string             `json:"second"`
	Age             float64            `json:"age"`
	Sex             float64            `json:"sex"`
	Diagnosis       float64            `json:"diagnosis"`
	PriorTreatments float64            `json:"prior_treatments"`
	Resistant       float64            `json:"treatment_resistant"`
	Baseline        map[string]float64 `json:"baseline"`
}

// MarshalJSON writes NaN as null.
func (s SMDs) MarshalJSON() ([]byte, error) {
	base := map[string]number{}
	for k, v := range s.Baseline {
		base[k] = number(v)
	}
	return json.Marshal(struct {
		First           string            `json:"first"`
		Second          string            `json:"second"`
		Age             number            `json:"age"`
		Sex             number            `json:"sex"`
		Diagnosis       number            `json:"diagnosis"`
		PriorTreatments number            `json:"prior_treatments"`
		Resistant       number            `json:"treatment_resistant"`
		Baseline        map[string]number `json:"baseline"`
	}{s.First, s.Second, number(s.Age), number(s.Sex), number(s.Diagnosis), number(s.PriorTreatments), number(s.Resistant), base})
}

// Table1 is the description of the treated patients by program (SPEC 9, Patients): the JSON
// key patients.
type Table1 struct {
	N         int                         `json:"n"`
	Overall   *Characteristics            `json:"overall"`
	ByProgram map[string]*Characteristics `json:"by_program"`
	// SMD compares the two largest programs; nil with fewer than two.
	SMD *SMDs `json:"smd"`
}

// Describe builds the characteristics table of the people, overall and by program. Missing
// values are counted as unknown in their own rows and left out of the means, medians and SMDs.
func Describe(people []Person, instruments []string) *Table1 {
	t := &Table1{N: len(people), ByProgram: map[string]*Characteristics{}}
	byProg := map[string][]Person{}
	for _, p := range people {
		byProg[p.Program] = append(byProg[p.Program], p)
	}
	t.Overall = characteristics(people, instruments)
	progs := make([]string, 0, len(byProg))
	for prog, ps := range byProg {
		t.ByProgram[prog] = characteristics(ps, instruments)
		progs = append(progs, prog)
	}
	if len(progs) < 2 {
		return t
	}
	// The two largest programs (ties: first in sorted order).
	sort.Slice(progs, func(i, j int) bool {
		if a, b := len(byProg[progs[i]]), len(byProg[progs[j]]); a != b {
			return a > b
		}
		return progs[i] < progs[j]
	})
	a, b := byProg[progs[0]], byProg[progs[1]]
	smd := &SMDs{First: progs[0], Second: progs[1], Baseline: map[string]float64{}}
	num := func(ps []Person, f func(Person) float64) []float64 {
		var out []float64
		for _, p := range ps {
			if v := f(p); !math.IsNaN(v) {
				out = append(out, v)
			}
		}
		return out
	}
	cat := func(ps []Person, f func(Person) string) []string {
		var out []string
		for _, p := range ps {
			if v := f(p); !missingLabel(v) {
				out = append(out, v)
			}
		}
		return out
	}
	cont := func(f func(Person) float64) float64 {
		v, err := stats.SMD(num(a, f), num(b, f))
		if err != nil {
			return math.NaN()
		}
		return v
	}
	categ := func(f func(Person) string) float64 {
		x, y := cat(a, f), cat(b, f)
		if len(x) < 2 || len(y) < 2 {
			return math.NaN()
		}
		v, err := stats.SMDCategorical(x, y)
		if err != nil {
			return math.NaN()
		}
		return v
	}
	smd.Age = cont(func(p Person) float64 { return p.Age })
	smd.PriorTreatments = cont(func(p Person) float64 { return p.PriorTreatments })
	smd.Sex = categ(func(p Person) string { return p.Sex })
	smd.Diagnosis = categ(func(p Person) string { return p.Diagnosis })
	smd.Resistant = categ(func(p Person) string {
		switch {
		case math.IsNaN(p.PriorTreatments):
			return ""
		case p.PriorTreatments >= TreatmentResistant:
			return "yes"
		}
		return "no"
	})
	for i, in := range instruments {
		smd.Baseline[in] = cont(func(p Person) float64 { return baselineOf(p, i) })
	}
	t.SMD = smd
	return t
}

func baselineOf(p Person, i int) float64 {
	if i < len(p.Baseline) {
		return p.Baseline[i]
	}
	return math.NaN()
}

func characteristics(ps []Person, instruments []string) *Characteristics {
	c := &Characteristics{N: len(ps), Sex: map[string]int{}, Diagnosis: map[string]int{}, Baseline: map[string]stats.Summary{},
		BaselineUnknown: map[string]int{}}
	var age, prior []float64
	for _, p := range ps {
		if math.IsNaN(p.Age) {
			c.AgeUnknown++
		} else {
			age = append(age, p.Age)
			if p.Age >= 90 {
				c.Age90++
			}
		}
		if missingLabel(p.Sex) {
			c.SexUnknown++
		} else {
			c.Sex[p.Sex]++
		}
		if missingLabel(p.Diagnosis) {
			c.DiagnosisUnknown++
		} else {
			c.Diagnosis[p.Diagnosis]++
		}
		if math.IsNaN(p.PriorTreatments) {
			c.PriorUnknown++
		} else {
			prior = append(prior, p.PriorTreatments)
			if p.PriorTreatments >= TreatmentResistant {
				c.Resistant++
			}
		}
	}
	c.Age, _ = stats.Describe(age)
	c.PriorTreatments = quartiles(prior)
	for i, in := range instruments {
		var v []float64
		for _, p := range ps {
			if b := baselineOf(p, i); !math.IsNaN(b) {
				v = append(v, b)
			}
		}
		c.Baseline[in], _ = stats.Describe(v)
		c.BaselineUnknown[in] = len(ps) - len(v)
	}
	return c
}

// quartiles is the median and quartiles, R's quantile type 7; NaN without values.
func quartiles(x []float64) outcome.Quartiles {
	q := outcome.Quartiles{N: len(x), Median: math.NaN(), Q1: math.NaN(), Q3: math.NaN()}
	if len(x) == 0 {
		return q
	}
	v, err := stats.Quantile7(x, 0.5, 0.25, 0.75)
	if err == nil {
		q.Median, q.Q1, q.Q3 = v[0], v[1], v[2]
	}
	return q
}
