// Package outcome holds the per-patient clinical definitions of kapstat:
// index day, baseline, endpoint, change, response, remission, reliable
// change, relapse, the weekly buckets of a trajectory, the analysis groups of
// an episode, calendar quarters, and the treatment course: time to response
// and remission, response by dose, retention and dose exposure, suicidal
// ideation, follow-up windows and session safety.
//
// Every function is pure and works on one patient and, where it matters, one
// instrument. All days are integers: days since 1970-01-01 when the input
// carries dates, the input's own day offsets otherwise. Scores and sessions
// may come in any order; functions sort a copy and never modify their
// arguments.
//
// The treatment-course figures (CourseOf, RetentionOf, SuicidalIdeation,
// FollowUp, SessionSafetyOf) follow the same pattern: a pure function per
// patient, and a Summarize function per cohort that takes the per-patient
// results and returns the figures with their confidence intervals (computed
// by package stats, as R computes them) in types whose JSON is that of the
// analysis output, undefined values written as null.
//
// The definitions follow the specification's outcome section. The defaults
// of Params and the per-instrument Thresholds are chosen by the caller's
// configuration; DefaultParams gives the documented defaults.
package outcome
