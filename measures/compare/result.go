package compare

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// Sample describes who is in one model: the reference level, the patients
// fitted and those left out, and the covariates adjusted for. Population =
// N + Excluded + the sum of Dropped.
type Sample struct {
	// Reference is the reference level of the dimension; "" (absent in
	// JSON) when the comparison was skipped.
	Reference string `json:"reference,omitempty"`
	// N is the number of patients in the model.
	N int `json:"n"`
	// Excluded counts the patients of kept levels left out for a missing
	// covariate (complete cases); ExcludedBy splits them by the first
	// covariate, in the order of X, that they miss ("age", "sex",
	// "diagnosis", "prior_treatments").
	Excluded   int            `json:"excluded"`
	ExcludedBy map[string]int `json:"excluded_by"`
	// Dropped counts, per level, the patients of levels with fewer than
	// MinLevelPatients patients in the population, and under "unknown"
	// those without a level.
	Dropped map[string]int `json:"dropped"`
	// Levels holds the patients in the model per level, the reference
	// included.
	Levels map[string]int `json:"levels"`
	// Covariates are the model's adjustment terms as its coefficients are
	// named ("baseline", "age", "sex=male", …), in the order of the model.
	Covariates []string `json:"covariates"`
	// Note says, in plain words, what was skipped or left out and why.
	Note string `json:"note,omitempty"`
}

// Difference is the adjusted (or unadjusted) difference of one level from
// the reference: in mean change (Change) or in weekly slope (Slope).
// Undefined values are NaN, null in JSON.
type Difference struct {
	Level    string
	Estimate float64
	SE       float64
	Lower95  float64
	Upper95  float64
	P        float64
}

// MarshalJSON writes the difference with NaN as null.
func (d Difference) MarshalJSON() ([]byte, error) {
	return marshal(struct {
		Level    string `json:"level"`
		Estimate number `json:"estimate"`
		SE       number `json:"se"`
		Lower95  number `json:"lower95"`
		Upper95  number `json:"upper95"`
		P        number `json:"p"`
	}{d.Level, number(d.Estimate), number(d.SE), number(d.Lower95), number(d.Upper95), number(d.P)})
}

// OddsRatio is the odds ratio of response of one level against the
// reference. Coef and SE are the log odds ratio and its standard error.
// Undefined values (separation) are NaN, null in JSON.
type OddsRatio struct {
	Level     string
	OddsRatio float64
	Lower95   float64
	Upper95   float64
	P         float64
	Coef      float64
	SE        float64
}

// MarshalJSON writes the odds ratio with NaN as null.
func (o OddsRatio) MarshalJSON() ([]byte, error) {
	return marshal(struct {
		Level     string `json:"level"`
		OddsRatio number `json:"odds_ratio"`
		Lower95   number `json:"lower95"`
		Upper95   number `json:"upper95"`
		P         number `json:"p"`
		Coef      number `json:"coef"`
		SE        number `json:"se"`
	}{o.Level, number(o.OddsRatio), number(o.Lower95), number(o.Upper95), number(o.P), number(o.Coef), number(o.SE)})
}

// Change is the ANCOVA comparison of change from baseline (lm).
type Change struct {
	Sample
	// Terms are the adjusted differences, one per non-reference level in
	// sorted order; Unadjusted the same from change ~ D on the same
	// patients.
	Terms      []Difference `json:"terms"`
	Unadjusted []Difference `json:"unadjusted"`
}

// Response is the logistic comparison of response (glm binomial).
type Response struct {
	Sample
	// Events is the number of responders in the model.
	Events     int         `json:"events"`
	Terms      []OddsRatio `json:"terms"`
	Unadjusted []OddsRatio `json:"unadjusted"`
}

// Slope is the comparison of the weekly slope of the trajectory (lmer).
type Slope struct {
	Sample
	// Observations is the number of scores in the model (N counts
	// patients).
	Observations int `json:"n_obs"`
	// Terms are the differences in weekly slope (the t × level
	// interaction), adjusted; Unadjusted from y ~ t * D + (t | patient)
	// on the same observations.
	Terms      []Difference `json:"terms"`
	Unadjusted []Difference `json:"unadjusted"`
	// Warnings are the mixed model's (adjusted fit) in plain words, e.g. a
	// singular fit.
	Warnings []string `json:"warnings,omitempty"`
}

// CoxTerm is one coefficient of the adjusted relapse model, named as the
// analysis JSON names it ("program=infusion", "baseline", "maintenance",
// "age", "sex=male", …).
type CoxTerm struct {
	Term        string
	Coef        float64
	SE          float64
	HazardRatio float64
	Lower95     float64
	Upper95     float64
	P           float64
}

// MarshalJSON writes the term with NaN as null.
func (c CoxTerm) MarshalJSON() ([]byte, error) {
	return marshal(struct {
		Term        string `json:"term"`
		Coef        number `json:"coef"`
		SE          number `json:"se"`
		HazardRatio number `json:"hazard_ratio"`
		Lower95     number `json:"lower95"`
		Upper95     number `json:"upper95"`
		P           number `json:"p"`
	}{c.Term, number(c.Coef), number(c.SE), number(c.HazardRatio), number(c.Lower95), number(c.Upper95), number(c.P)})
}

// CoxAdjusted is the adjusted relapse model (coxph on (start, stop] rows).
// Sample.Reference is the reference program ("" when fewer than two
// programs are kept: the model then has no program term and the note says
// so).
type CoxAdjusted struct {
	Sample
	// Events counts the relapses in the model; Rows the (start, stop]
	// rows; Maintained the patients whose maintenance began before the
	// end of their follow-up (two rows each).
	Events     int       `json:"events"`
	Rows       int       `json:"rows"`
	Maintained int       `json:"maintained"`
	Terms      []CoxTerm `json:"terms"`
}

// Adjusted holds one instrument's comparisons per dimension, as the
// analysis JSON's "adjusted" key.
type Adjusted struct {
	// Covariates lists every adjustment term used by any of the models,
	// in order of first use; each comparison names its own.
	Covariates []string `json:"covariates"`
	// Note is set without patient characteristics (baseline-only
	// adjustment).
	Note     string                  `json:"note,omitempty"`
	Change   map[Dimension]*Change   `json:"change"`
	Response map[Dimension]*Response `json:"response"`
	Slope    map[Dimension]*Slope    `json:"slope"`
}

// number is a float written as null when it is NaN or infinite.
type number float64

func (x number) MarshalJSON() ([]byte, error) {
	f := float64(x)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// marshal is json.Marshal without HTML escaping, so that the level ">=4"
// reads as it is.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// AdjustedFor returns the variables the model adjusts for, each once, in
// the model's order ("baseline", "maintenance", "age", "sex", "diagnosis",
// "prior_treatments"), for a sentence such as "after allowing for
// baseline severity, age and sex".
func (s Sample) AdjustedFor() []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range s.Covariates {
		v, _, _ := strings.Cut(c, "=")
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
