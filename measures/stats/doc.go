// Package stats is the statistics engine of kapstat: linear mixed models
// for symptom trajectories, Kaplan–Meier estimates, the log-rank test and
// Cox proportional hazards for relapse, and the effect sizes and intervals
// of the outcome tables.
//
// Every routine names the R function whose results it reproduces
// (lme4::lmer, survival::survfit, survdiff, coxph, t.test, prop.test,
// quantile), and the tests compare with values computed by R 4.2.2,
// lme4 1.1-31 and survival 3.5-3 (testdata/reference.R writes them).
//
// The package is pure: no I/O, no cgo, gonum as its only dependency.
// Missing values are NaN on input and are left out explicitly, with the
// count reported; infinite values, negative times and other impossible
// input are errors. Undefined results are NaN in Go and null in JSON (the
// result types' MarshalJSON).
//
// FitLMM works from per-group sufficient statistics, so one evaluation of
// the profiled deviance costs O(groups) whatever the number of
// observations; a fit to a million groups takes seconds.
package stats
