// Package compare answers the central question of KAP outcomes research —
// is ketamine with psychotherapy better than infusion-only ketamine, or were
// its patients different? — with the adjusted comparisons of the
// specification's item 6.15. For one instrument and each dimension of
// program, route, setting and integration exposure it fits
//
//	change    lm(change ~ D + X)                         Change
//	response  glm(response ~ D + X, family = binomial)   Response
//	slope     lmer(y ~ t * D + X' + (t | patient))       Slope
//
// and, for relapse, coxph(Surv(start, stop, event) ~ program + baseline +
// maintenance + X) with maintenance as a time-varying covariate
// (RelapseAdjusted), each beside its unadjusted counterpart where the
// specification asks for one. The estimators are those of package stats
// (FitLinear, FitLogistic, FitLMMDesign, FitCoxCounting), which match R;
// this package applies the rules that decide which patients, levels and
// covariates enter each model:
//
//  1. Population: the patients the model is about (change: baseline and
//     endpoint; response: eligible completers; slope: patients with
//     trajectory observations; relapse: patients at risk of relapse).
//  2. Levels of D (SelectLevels): a label that is empty or "unknown" is no
//     level; levels with at least MinLevelPatients patients in the
//     population are kept, the others' patients are left out and counted
//     in Dropped; the reference is the kept level with the most patients,
//     the first in sorted order on a tie; fewer than two kept levels skip
//     the comparison with a note.
//  3. Covariates X: the baseline score, then, when the input has patient
//     characteristics, age, sex, diagnosis and prior_treatments — each only
//     if it takes two or more values among the kept levels' patients. The
//     slope model leaves out the baseline score (X'), its own observation
//     at t = 0 (CompareSlope says why).
//     Categorical covariates are coded against their most frequent level
//     among the patients in the model.
//  4. Complete cases: patients missing a covariate in X are left out and
//     counted in Excluded, under the first covariate (in X's order) they
//     miss. A covariate that takes a single value among the complete cases
//     is then left out of X with a note and the complete cases are taken
//     again, so that every covariate in a fitted model varies.
//
// The patient counts add up: population = n + excluded + Σ dropped.
//
// The package is pure: no I/O, no cgo. Models that cannot be fitted (e.g.
// separation in the logistic model) give null numbers and a note rather
// than an error, so one degenerate comparison never stops an analysis.
package compare
