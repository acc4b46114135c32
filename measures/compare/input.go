package compare

import (
	"math"

	"github.com/kapstat/kapstat/measures/outcome"
)

// Dimension is a grouping of patients that the comparisons contrast.
type Dimension string

// The dimensions of the specification's item 6.12, named as in the
// analysis JSON.
const (
	Program     Dimension = "program"
	Route       Dimension = "route"
	Setting     Dimension = "setting"
	Integration Dimension = "integration"
)

// Dimensions lists the dimensions in the order the outputs report them.
var Dimensions = []Dimension{Program, Route, Setting, Integration}

// Traits are a patient's characteristics from the patients file. A missing
// value is NaN for the numeric ones and "" for the categorical ones; the
// zero value is therefore not "all missing" (it says age 0): start from
// NoTraits.
type Traits struct {
	// Age in years; an age of 90 or more (`90+`) is 90.
	Age float64
	// Sex is "female", "male" or "other"; "" and "unknown" are missing.
	Sex string
	// Diagnosis is the primary diagnosis; "" and "unknown" are missing.
	Diagnosis string
	// PriorTreatments is the number of prior adequate antidepressant
	// trials.
	PriorTreatments float64
}

// NoTraits returns the characteristics of a patient the patients file does
// not describe: every value missing.
func NoTraits() Traits {
	return Traits{Age: math.NaN(), PriorTreatments: math.NaN()}
}

// Patient is what the comparisons need of one patient and one instrument:
// the analysis groups, the characteristics, the acute episode and the
// relapse follow-up. NewPatient fills it from the outcome package's
// results.
type Patient struct {
	// Program, Route, Setting and Integration are the patient's labels in
	// each Dimension (outcome.Groups); "" or outcome.Unknown is no level.
	Program, Route, Setting, Integration string

	Traits

	// Baseline is the baseline score; a patient without one takes part in
	// no comparison (HasBaseline false). Endpoint is set when the acute
	// window closed with an endpoint (HasEndpoint); change = Endpoint −
	// Baseline.
	Baseline, Endpoint int

	// AtRisk marks a patient in the relapse population (outcome.Relapse):
	// ResponseDay is the day the clock starts, RelapseTime the days from
	// it to the relapse (Relapsed) or to the last follow-up score.
	// MaintenanceDay is the day of the first maintenance session after
	// ResponseDay, when HasMaintenance (FirstMaintenanceAfter).
	ResponseDay, RelapseTime, MaintenanceDay int

	// Eligible is baseline ≥ cutoff; Response is the acute response
	// (outcome.EpisodeResult). The flags are kept together so that the
	// million records analyze holds carry no padding between them.
	HasBaseline, HasEndpoint, Eligible, Response bool
	AtRisk, Relapsed, HasMaintenance             bool
}

// Label returns the patient's label in dimension d.
func (p *Patient) Label(d Dimension) string {
	switch d {
	case Program:
		return p.Program
	case Route:
		return p.Route
	case Setting:
		return p.Setting
	case Integration:
		return p.Integration
	}
	return ""
}

// NewPatient gathers one patient's facts for one instrument from the
// outcome package: the episode, the groups, the characteristics (NoTraits
// when the patients file does not describe the patient), the relapse
// follow-up and the patient's sessions, from which the first maintenance
// session after the response day is taken.
func NewPatient(ep outcome.EpisodeResult, g outcome.Groups, tr Traits, rel outcome.RelapseResult, sessions []outcome.Session) Patient {
	p := Patient{
		Program: g.Program, Route: g.Route, Setting: g.Setting, Integration: g.Integration,
		Traits:      tr,
		HasBaseline: ep.HasBaseline, Baseline: ep.Baseline,
		HasEndpoint: ep.HasEndpoint, Endpoint: ep.Endpoint,
		Eligible: ep.Eligible, Response: ep.Response,
	}
	if rel.AtRisk {
		p.AtRisk, p.ResponseDay, p.RelapseTime, p.Relapsed = true, rel.ResponseDay, rel.Time, rel.Event
		p.MaintenanceDay, p.HasMaintenance = FirstMaintenanceAfter(sessions, rel.ResponseDay)
	}
	return p
}

// FirstMaintenanceAfter returns the day of the first maintenance session on
// a day after day (strictly later: a session on the response day itself
// does not start the maintenance period), from sessions in any order.
func FirstMaintenanceAfter(sessions []outcome.Session, day int) (int, bool) {
	first, ok := 0, false
	for _, s := range sessions {
		if s.Type == outcome.Maintenance && s.Day > day && (!ok || s.Day < first) {
			first, ok = s.Day, true
		}
	}
	return first, ok
}

// Trajectory holds the observations of the slope model (the specification's
// item 6.10: the baseline and acute-window scores of patients with a
// baseline), one entry per score in parallel slices: Patient[i] indexes
// Input.Patients, T[i] is the time in weeks since the baseline day, Y[i]
// the score.
type Trajectory struct {
	Patient []int
	T, Y    []float64
}

// Input is one instrument's data for the comparisons.
type Input struct {
	// Characteristics is set when a patients file was ingested: the
	// covariates then include age, sex, diagnosis and prior treatments.
	// Without it the models adjust for the baseline score only.
	Characteristics bool
	Patients        []Patient
	Trajectory      Trajectory
}
