// Package lcga fits latent class growth models: finite mixtures of linear
// trajectories (Nagin's group-based trajectory model, no random effects
// within a class), and names each class by the shape of its trajectory.
//
// # Model
//
// Patient i has observations (t_ij, y_ij), j = 1…n_i, with t in weeks since
// baseline and y a symptom total. Given membership in class c,
//
//	y_ij = a_c + b_c·t_ij + e_ij,   e_ij ~ N(0, σ_c²) independent,
//
// and the classes have mixing proportions π_c. The log-likelihood is
//
//	logL = Σ_i log Σ_c π_c · Π_j φ(y_ij; a_c + b_c·t_ij, σ_c²).
//
// # Variance
//
// By default the residual variance is shared by all classes (σ_c = σ, as in
// Nagin's traj and PROC TRAJ): fewer parameters, and no class variance can
// collapse. When classes differ in noise, for instance a floor class of
// patients scoring 0 every week on a bounded scale, a shared σ is too small
// for the noisier classes and BIC tends to split them; Options.Variance =
// ClassVariance then fits a variance per class (each floored, see below).
//
// Parameters counted for BIC, with K classes:
//
//	SharedVariance: 2K coefficients + 1 variance + (K−1) proportions = 3K
//	ClassVariance:  2K coefficients + K variances + (K−1) proportions = 4K − 1
//
// # Fitting
//
// EM over per-patient sufficient statistics (Σ1, Σt, Σt², Σy, Σty, Σy²), so
// each iteration is one pass over the patients, O(patients × K), whatever
// the number of observations. The E-step works in log space (log-sum-exp);
// the M-step is a weighted least-squares line per class and the closed-form
// variance. Data are centred on the pooled means of t and y before fitting
// and the intercepts moved back afterwards, which keeps the expanded
// residual sums of squares accurate.
//
// K = 1 is ordinary least squares of the pooled observations (ML variance
// RSS/n). For K ≥ 2 each of Options.Starts starts (default 20) draws 10·K
// patients at random (all of them when there are fewer; PCG from
// math/rand/v2 seeded by Options.Seed, K and the start number), deals them
// to the K classes in turn and starts EM from the M-step of that partition:
// a least-squares line per class, the residual variances, equal shares.
// Small random partitions give different starts whatever the number of
// patients; a random partition of all patients (flexmix's initialisation)
// puts every class near the pooled line on a large sample, and its EM tends
// to reach the same local maximum from every start. As in Mplus's two-stage
// starts, every start gets Options.ScreenIter EM iterations (default 20),
// then the Options.Finalists (default 3) with the highest log-likelihood run
// to convergence, |ΔlogL| ≤ Tol·(1+|logL|) with Tol = 1e-8 by default, or
// MaxIter = 1000 iterations. The finalist with the highest log-likelihood is
// kept, ties going to the lower start number; Model.Replicated counts the
// finalists that reached it (within 10⁻⁶ relative), as Mplus reports whether
// the best log-likelihood was replicated. Starts run in parallel, but each is
// sequential and seeded on its own, so results are identical for a given
// seed on any number of CPUs.
//
// The default tolerance stops EM when the log-likelihood has settled to
// about 10⁻⁸ of its size; where the likelihood is flat the estimates can
// then still move in their fourth digit. Tol = 1e-15 (as in the comparison
// with flexmix below) takes them to the maximum within about 10⁻⁸.
//
// # Degenerate classes
//
// A start is dropped when, at convergence, a class has an estimated size
// π_c·N below max(Options.MinShare·N, 2) patients (MinShare defaults to 1%),
// or when during EM a class's expected size falls below half a patient or
// its weighted design becomes singular (no spread in time). If all
// finalists of a K are dropped, the next-best screened starts are run. A
// variance is floored at 10⁻³ × the K = 1 residual variance (σ at about 3%
// of the pooled σ), so the likelihood stays bounded. If every start at some
// K is dropped (or has a class without spread in time), that K has BIC NaN
// (null in JSON) and is not chosen.
//
// # Choosing K
//
//	BIC = −2·logL + p·ln(N)
//
// with N the number of patients with at least one observation (the units
// sampled, as in Nagin 2005 and Mplus), not the number of observations. The K
// with the smallest BIC among Options.MinK…MaxK is chosen; ties go to the
// smaller K. R's flexmix counts observations instead: BIC() of a flexmix
// fit grouped by patient is −2·logL + p·ln(observations), with the same p,
// larger than this BIC by p·ln(observations/patients).
//
// # Checked against flexmix
//
// testdata/reference.R fits the same models with R's flexmix 2.3-18 —
// flexmix(y ~ t | patient, k = K, model = FLXMRglm()) for ClassVariance and
// model = FLXMRglmfix(varFix = TRUE) for SharedVariance, best of 20 random
// starts — to lme4's sleepstudy, R's ChickWeight and a PHQ-9-like cohort
// simulated by R with irregular and missed visits and dropout, K = 1…4. The
// log-likelihood is the same quantity (flexmix's logLik of a grouped fit is
// the mixture log-likelihood above). With 20 starts, Fit reaches at least
// flexmix's best log-likelihood in all 24 cases (the tests run with the
// default seed of `kapstat model lcga`; over 30 other seeds, the two
// four-class fits with a variance per class on the two small real data sets
// fell short in 4 and 5 of 30, the other 22 cases never). flexmix's M-step
// divides a residual variance by n − rank (n the number of observations), so
// its fixed point is near, not at, the maximum of the likelihood it reports;
// run on to the exact maximum by EM in R, flexmix's best solution is Fit's
// solution in all 24 cases: log-likelihoods within 10⁻⁹, shares,
// intercepts, slopes and σ within 10⁻⁶ (about 10⁻⁸ in fact), the same class
// sizes and relative entropy. With K = 1, flexmix's σ is Fit's times
// √(n/(n − 2)).
//
// # Output
//
// Classes are sorted by slope ascending, then intercept ascending. Share is
// the estimated mixing proportion π_c; N counts the patients whose largest
// posterior is that class (ties to the lower index). Relative entropy
// (Ramaswamy et al. 1993) is
//
//	E = 1 − Σ_i Σ_c (−p_ic · ln p_ic) / (N · ln K),
//
// 1 for perfectly separated classes; by convention E = 1 when K = 1.
//
// # Labels
//
// A class is named by its change over LabelOptions.Weeks (default 8, the
// acute window), Δ = slope × Weeks, against the instrument's meaningful
// change M (e.g. 5 points on the PHQ-9):
//
//	Δ ≤ −2M  "rapid improvement"
//	Δ ≤ −M   "gradual improvement"
//	Δ ≥ +M   "worsening"
//	else     "no change"
//
// Classes sharing a label are told apart by baseline (the intercept), with
// a suffix in parentheses: two get "lower baseline" and "higher baseline",
// three also "middle baseline", four or more "baseline i of m" in ascending
// order, e.g. "no change (higher baseline)".
//
// Trajectories are straight lines: a delayed-response class (flat, then
// improving; Hull et al. 2022 report Improvement 79.3%, Chronic 11.4%,
// Delayed 9.3% with growth mixture models) shows here as gradual
// improvement or no change, depending on its average slope.
package lcga
