// Package stats is the statistics engine of kapstat: linear mixed models
// for symptom trajectories (FitLMM, and FitLMMDesign with covariates and a
// time × group interaction), Kaplan–Meier estimates, the log-rank test and
// Cox proportional hazards for relapse (FitCox, and FitCoxCounting for
// (start, stop] data with time-varying covariates), linear and logistic
// regression for adjusted comparisons (FitLinear, FitLogistic, on a
// Design with treatment-coded categorical terms), and the effect sizes,
// tests and intervals of the outcome tables (PairedT, Wilson, MeanInterval,
// Quantile7, McNemar, PoissonInterval, SMD, SMDCategorical).
//
// Every routine names the R function whose results it reproduces
// (lme4::lmer, survival::survfit, survdiff, coxph, lm, glm, t.test,
// prop.test, mcnemar.test, poisson.test, quantile), and the tests compare
// with values computed by R 4.2.2, lme4 1.1-31 and survival 3.5-3
// (testdata/reference.R and testdata/models.R write them).
//
// The package is pure: no I/O, no cgo, gonum as its only dependency.
// Missing values are NaN on input and are left out explicitly, with the
// count reported; infinite values, negative times and other impossible
// input are errors. Undefined results are NaN in Go and null in JSON (the
// result types' MarshalJSON).
//
// FitLMM and FitLMMDesign work from per-group sufficient statistics, so one
// evaluation of the profiled deviance costs O(groups) whatever the number
// of observations; a fit to a million groups takes seconds.
package stats
