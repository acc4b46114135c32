package outcome

import (
	"errors"
	"fmt"
)

// Params are the instrument-independent parameters of the definitions.
type Params struct {
	// BaselineDays is how far before the index day a baseline may lie:
	// a baseline has index-BaselineDays <= day <= index.
	BaselineDays int
	// AcuteDays is the length of the acute window index < day <= index+AcuteDays.
	AcuteDays int
	// ResponseFraction defines response: endpoint <= ResponseFraction*baseline.
	// 0.5 is a reduction of at least 50%.
	ResponseFraction float64
}

// DefaultParams returns the documented defaults: a 30-day baseline window,
// a 56-day (8-week) acute window and response at a 50% reduction.
func DefaultParams() Params {
	return Params{BaselineDays: 30, AcuteDays: 56, ResponseFraction: 0.5}
}

// Validate reports parameters that make the definitions meaningless.
func (p Params) Validate() error {
	var errs []error
	if p.BaselineDays < 0 {
		errs = append(errs, fmt.Errorf("baseline_days = %d, want >= 0", p.BaselineDays))
	}
	if p.AcuteDays <= 0 {
		errs = append(errs, fmt.Errorf("acute_days = %d, want > 0", p.AcuteDays))
	}
	// The negated comparison also rejects NaN.
	if !(p.ResponseFraction > 0 && p.ResponseFraction < 1) {
		errs = append(errs, fmt.Errorf("response_fraction = %v, want 0 < f < 1", p.ResponseFraction))
	}
	return errors.Join(errs...)
}

// Thresholds are the score thresholds of one instrument, in points of its
// total score. For example PHQ-9: {10, 5, 6}; GAD-7: {10, 5, 4};
// PCL-5: {33, 33, 10}.
type Thresholds struct {
	// Cutoff is the caseness threshold: a score >= Cutoff is a case.
	// Eligibility for response and remission is baseline >= Cutoff.
	Cutoff int
	// Remission is reached when the endpoint is < Remission.
	Remission int
	// ReliableChange is the smallest change in points that counts as
	// reliable (Jacobson–Truax).
	ReliableChange int
}

// Validate reports thresholds that make the definitions meaningless.
func (th Thresholds) Validate() error {
	var errs []error
	if th.Cutoff <= 0 {
		errs = append(errs, fmt.Errorf("cutoff = %d, want > 0", th.Cutoff))
	}
	if th.Remission <= 0 {
		errs = append(errs, fmt.Errorf("remission = %d, want > 0", th.Remission))
	}
	if th.ReliableChange <= 0 {
		errs = append(errs, fmt.Errorf("reliable_change = %d, want > 0", th.ReliableChange))
	}
	return errors.Join(errs...)
}

// Reasons a patient is excluded from a definition or not at risk. They are
// the codes written to the analysis outputs and the Attrition sheet.
const (
	ReasonNoDosingSession = "no_dosing_session"
	ReasonNoAssessments   = "no_assessments"
	ReasonNoBaseline      = "no_baseline"
	ReasonNoEndpoint      = "no_endpoint"
	// ReasonAcuteWindowOpen: the acute window has not closed by the as-of
	// day; the episode has no acute outcome yet (still in treatment).
	ReasonAcuteWindowOpen = "acute_window_open"
	ReasonNotEligible     = "not_eligible"
	ReasonNoResponse      = "no_response"
	ReasonNoFollowUp      = "no_followup_after_response"
)
