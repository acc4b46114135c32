# Reference values for the regression models and small estimators of
# package measures/stats: lm, glm(binomial), lmer with fixed-effect
# covariates and a time x group interaction, coxph on (start, stop] data,
# mcnemar.test, poisson.test and standardized mean differences.
#
# Run from this directory:  Rscript models.R
# Written with R 4.2.2, lme4 1.1-31, survival 3.5-3 and lpSolve 5.6.18 (Debian
# bookworm packages r-base-core, r-cran-lme4, r-cran-survival,
# r-cran-lpsolve; lpSolve only for the separation check). Data come from R's own
# data sets (mtcars, ToothGrowth, warpbreaks, infert, esoph), survival's heart
# and veteran, lme4's sleepstudy, and data simulated here with fixed seeds;
# the script writes them as CSV beside R's results, so the Go tests need no R.

suppressPackageStartupMessages({
  library(lme4)
  library(survival)
  library(lpSolve)
})

# Factor levels in byte order, as kapstat sorts them (the reference level of
# a categorical covariate is the first unless chosen).
invisible(Sys.setlocale("LC_COLLATE", "C"))

fmt <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))

# write a data frame with numeric columns at full precision
out <- function(df, file) {
  for (j in seq_along(df)) if (is.numeric(df[[j]])) df[[j]] <- fmt(df[[j]])
  write.csv(df, file, row.names = FALSE, quote = FALSE)
}

write.csv(data.frame(
  package = c("R", "lme4", "survival", "lpSolve"),
  version = c(paste(R.version$major, R.version$minor, sep = "."),
              as.character(packageVersion("lme4")), as.character(packageVersion("survival")),
              as.character(packageVersion("lpSolve")))),
  "models_versions.csv", row.names = FALSE, quote = FALSE)

## Data sets ----------------------------------------------------------------

mt <- data.frame(car = gsub(" ", "_", rownames(mtcars)), mpg = mtcars$mpg, wt = mtcars$wt,
                 hp = mtcars$hp, cyl = as.character(mtcars$cyl), am = mtcars$am,
                 gear = as.character(mtcars$gear))
out(mt, "mtcars.csv")
tg <- data.frame(len = ToothGrowth$len, supp = as.character(ToothGrowth$supp), dose = ToothGrowth$dose)
out(tg, "toothgrowth.csv")
wb <- data.frame(breaks = warpbreaks$breaks, wool = as.character(warpbreaks$wool),
                 tension = as.character(warpbreaks$tension))
out(wb, "warpbreaks.csv")
inf <- data.frame(case = infert$case, spontaneous = infert$spontaneous, induced = infert$induced,
                  education = as.character(infert$education), age = infert$age)
out(inf, "infert.csv")
# esoph is aggregated (cases and controls per cell) with ordered factors;
# one row per person, unordered factors.
es <- esoph[rep(seq_len(nrow(esoph)), esoph$ncases + esoph$ncontrols), c("agegp", "alcgp", "tobgp")]
es$case <- unlist(lapply(seq_len(nrow(esoph)), function(i)
  rep(c(1, 0), c(esoph$ncases[i], esoph$ncontrols[i]))))
es <- data.frame(case = es$case, agegp = as.character(es$agegp), alcgp = as.character(es$alcgp))
out(es, "esoph.csv")

# Separation: x separates y completely; level "c" of g has no events
# (quasi-complete); "overlap" has one pair out of order (a finite, large MLE).
sep <- data.frame(
  y = c(0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1),
  x = c(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
  overlap = c(1, 2, 3, 4, 5, 7, 6, 8, 9, 10, 11, 12))
out(sep, "glm_separation.csv")
set.seed(7)
quasi <- data.frame(g = rep(c("a", "b", "c"), c(20, 20, 10)), z = round(rnorm(50), 2))
quasi$y <- c(rbinom(20, 1, 0.4), rbinom(20, 1, 0.6), rep(0, 10))
out(quasi, "glm_quasi.csv")

## lm -------------------------------------------------------------------------

lm_cases <- list(
  list(name = "mtcars", f = mpg ~ wt + hp + cyl, data = mt, call = "lm(mpg ~ wt + hp + cyl; mtcars)"),
  list(name = "mtcars_ref8", f = mpg ~ wt + hp + cyl,
       data = transform(mt, cyl = relevel(factor(cyl), "8")),
       call = "lm(mpg ~ wt + hp + relevel(factor(cyl); '8'); mtcars)"),
  list(name = "toothgrowth", f = len ~ supp + dose, data = tg, call = "lm(len ~ supp + dose; ToothGrowth)"),
  list(name = "warpbreaks", f = breaks ~ wool + tension, data = warpbreaks,
       call = "lm(breaks ~ wool + tension; warpbreaks) (tension levels L; M; H)"),
  list(name = "intercept_only", f = mpg ~ 1, data = mt, call = "lm(mpg ~ 1; mtcars)"))
lt <- NULL
lf <- NULL
for (cs in lm_cases) {
  m <- lm(cs$f, cs$data)
  s <- summary(m)$coefficients
  ci <- confint(m)
  lt <- rbind(lt, data.frame(case = cs$name, term = rownames(s), estimate = s[, 1], se = s[, 2],
                             t = s[, 3], p = s[, 4], lower95 = ci[, 1], upper95 = ci[, 2]))
  lf <- rbind(lf, data.frame(case = cs$name, call = cs$call, n = nobs(m), df = df.residual(m),
                             sigma = sigma(m), r_squared = summary(m)$r.squared))
}
out(lt, "lm_terms.csv")
out(lf, "lm_fit.csv")

## glm(family = binomial) ------------------------------------------------------

# Separation as Konis (2007) defines it and detectseparation's
# detect_separation checks it (that package is not in Debian bookworm; its
# linear program is written out here): with G = diag(2y - 1) X, the maximum
# likelihood estimate has infinite components if and only if
#   max 1'G b  subject to  G b >= 0,  -1 <= b <= 1
# has a positive optimum (b = 0 is always feasible). b = b+ - b-, b+, b- >= 0.
separation_lp <- function(f, data) {
  X <- model.matrix(f, data)
  y <- model.response(model.frame(f, data))
  G <- (2 * y - 1) * X
  p <- ncol(X)
  r <- lp("max", c(colSums(G), -colSums(G)), rbind(cbind(G, -G), diag(2 * p)),
          c(rep(">=", nrow(G)), rep("<=", 2 * p)), c(rep(0, nrow(G)), rep(1, 2 * p)))
  stopifnot(r$status == 0)
  r$objval
}

glm_cases <- list(
  list(name = "infert", f = case ~ spontaneous + induced + education + age, data = inf,
       call = "glm(case ~ spontaneous + induced + education + age; binomial; infert)"),
  list(name = "esoph", f = case ~ agegp + alcgp, data = es,
       call = "glm(case ~ agegp + alcgp; binomial; esoph one row per person)"),
  list(name = "mtcars", f = am ~ wt + hp, data = mt, call = "glm(am ~ wt + hp; binomial; mtcars)"),
  list(name = "overlap", f = y ~ overlap, data = sep, call = "glm(y ~ overlap; binomial; glm_separation)"),
  list(name = "complete", f = y ~ x, data = sep, call = "glm(y ~ x; binomial; glm_separation)"),
  list(name = "quasi", f = y ~ g + z, data = quasi, call = "glm(y ~ g + z; binomial; glm_quasi)"))
gt <- NULL
gf <- NULL
for (cs in glm_cases) {
  warn <- character()
  m <- withCallingHandlers(glm(cs$f, binomial, cs$data),
    warning = function(w) { warn <<- c(warn, conditionMessage(w)); invokeRestart("muffleWarning") })
  lpv <- separation_lp(cs$f, cs$data)
  s <- summary(m)$coefficients
  b <- s[, 1]
  se <- s[, 2]
  gt <- rbind(gt, data.frame(case = cs$name, term = rownames(s), coef = b, se = se, z = s[, 3],
                             p = s[, 4], odds_ratio = exp(b), lower95 = exp(b - qnorm(0.975) * se),
                             upper95 = exp(b + qnorm(0.975) * se)))
  gf <- rbind(gf, data.frame(case = cs$name, call = cs$call, n = nobs(m), deviance = deviance(m),
                             null_deviance = m$null.deviance, iter = m$iter,
                             converged = as.integer(m$converged),
                             fitted_0_or_1 = as.integer(any(grepl("numerically 0 or 1", warn))),
                             separation_lp = lpv, separation = as.integer(lpv > 1e-6)))
}
out(gt, "glm_terms.csv")
out(gf, "glm_fit.csv")

## lmer with covariates and a time x group interaction -------------------------

ss <- sleepstudy
subj <- levels(ss$Subject)
# A made-up group (three arms) and covariate (age) per subject.
set.seed(20260214)
arm <- setNames(rep(c("A", "B", "C"), 6), subj)
age <- setNames(round(runif(length(subj), 20, 60)), subj)
ssg <- data.frame(Subject = as.character(ss$Subject), Days = ss$Days, Reaction = ss$Reaction,
                  arm = arm[as.character(ss$Subject)], age = age[as.character(ss$Subject)])
out(ssg, "sleepstudy_groups.csv")

# 300 simulated patients, 1 to 9 visits at irregular weeks, two programs,
# patient covariates (age, sex, a three-level diagnosis) and a visit-level
# covariate (remote: the visit was remote).
set.seed(20260215)
P <- 300
nv <- sample(1:9, P, replace = TRUE)
pid <- sprintf("q%03d", seq_len(P))
program <- sample(c("infusion", "kap"), P, replace = TRUE, prob = c(0.4, 0.6))
sex <- sample(c("female", "male"), P, replace = TRUE)
diagnosis <- sample(c("MDD", "PTSD", "bipolar"), P, replace = TRUE, prob = c(0.5, 0.3, 0.2))
pag <- round(runif(P, 18, 80))
b0 <- rnorm(P, 0, 3.5)
b1 <- -0.25 * b0 / 3.5 * 0.6 + rnorm(P, 0, 0.6)
rows <- rep(seq_len(P), nv)
week <- unlist(lapply(nv, function(n) sort(round(c(0, runif(n - 1, 0.5, 10)), 1))))
remote <- rbinom(length(rows), 1, 0.3)
slope <- ifelse(program[rows] == "kap", -1.4, -0.9)
mu <- 18 + 0.04 * (pag[rows] - 45) + ifelse(sex[rows] == "male", -0.8, 0) +
  c(MDD = 0, PTSD = 1.5, bipolar = 0.7)[diagnosis[rows]] + 0.6 * remote
yq <- mu + slope * week + b0[rows] + b1[rows] * week + rnorm(length(rows), 0, 2.2)
sim <- data.frame(patient = pid[rows], week = week, score = round(yq, 2), program = program[rows],
                  age = pag[rows], sex = sex[rows], diagnosis = diagnosis[rows], remote = remote)
out(sim, "lmm_covariates.csv")

lmmx_cases <- list(
  list(name = "sleepstudy_arm_reml", data = ssg, group = "Subject", reml = TRUE,
       f = Reaction ~ Days * arm + age + (Days | Subject),
       call = "lmer(Reaction ~ Days * arm + age + (Days | Subject); sleepstudy_groups)"),
  list(name = "sleepstudy_arm_ml", data = ssg, group = "Subject", reml = FALSE,
       f = Reaction ~ Days * arm + age + (Days | Subject),
       call = "lmer(Reaction ~ Days * arm + age + (Days | Subject); sleepstudy_groups; REML = FALSE)"),
  list(name = "covariates_reml", data = sim, group = "patient", reml = TRUE,
       f = score ~ week * program + age + sex + diagnosis + remote + (week | patient),
       call = "lmer(score ~ week * program + age + sex + diagnosis + remote + (week | patient); lmm_covariates)"),
  list(name = "covariates_intercept_reml", data = sim, group = "patient", reml = TRUE,
       f = score ~ week * program + age + sex + diagnosis + remote + (1 | patient),
       call = "lmer(score ~ week * program + age + sex + diagnosis + remote + (1 | patient); lmm_covariates)"),
  list(name = "by_only_reml", data = sim, group = "patient", reml = TRUE,
       f = score ~ week * program + (week | patient),
       call = "lmer(score ~ week * program + (week | patient); lmm_covariates)"))
tight <- lmerControl(optimizer = "nloptwrap",
  optCtrl = list(ftol_abs = 1e-15, ftol_rel = 1e-15, xtol_abs = 1e-12, xtol_rel = 1e-12,
                 maxeval = 1e5),
  check.conv.grad = .makeCC("ignore", tol = 2e-3))
xt <- NULL
xf <- NULL
for (cs in lmmx_cases) {
  m <- suppressMessages(lmer(cs$f, cs$data, REML = cs$reml))
  nm <- suppressMessages(lmer(cs$f, cs$data, REML = cs$reml,
                              control = lmerControl(optimizer = "Nelder_Mead")))
  best <- if (-2 * logLik(nm) < -2 * logLik(m)) nm else m
  opt <- suppressMessages(update(best, start = getME(best, "theta"), control = tight))
  for (fit in c("default", "optimum")) {
    mm <- if (fit == "default") m else opt
    fe <- fixef(mm)
    se <- sqrt(diag(as.matrix(vcov(mm))))
    xt <- rbind(xt, data.frame(case = cs$name, fit = fit, term = names(fe), estimate = fe, se = se))
    vc <- as.data.frame(VarCorr(mm))
    g <- vc$grp == cs$group
    sdi <- vc$sdcor[g & vc$var1 == "(Intercept)" & is.na(vc$var2)]
    sds <- vc$sdcor[g & vc$var1 != "(Intercept)" & is.na(vc$var2)]
    cor <- vc$sdcor[g & !is.na(vc$var2)]
    if (length(sds) == 0) sds <- NA
    if (length(cor) == 0) cor <- NA
    xf <- rbind(xf, data.frame(case = cs$name, fit = fit, call = cs$call, n_obs = nobs(mm),
      n_groups = ngrps(mm)[[cs$group]], sd_intercept = sdi, sd_slope = sds, corr = cor,
      sd_residual = sigma(mm), loglik = as.numeric(logLik(mm)),
      singular = as.integer(isSingular(mm)), theta = paste(fmt(getME(mm, "theta")), collapse = " ")))
  }
}
out(xt, "lmmx_terms.csv")
out(xf, "lmmx_fit.csv")

## coxph on (start, stop] data -----------------------------------------------

hr <- data.frame(id = heart$id, start = heart$start, stop = heart$stop, event = heart$event,
                 age = heart$age, surgery = heart$surgery,
                 transplant = as.integer(as.character(heart$transplant)))
out(hr, "heart.csv")
# veteran split at days 60 and 120 (survSplit), with the Karnofsky score's
# effect allowed to change after day 60 (a time-varying covariate
# karno_late = karno on rows after day 60) and celltype (four levels, the
# reference "adeno", first in sorted order).
vet <- survSplit(Surv(time, status) ~ ., veteran, cut = c(60, 120), episode = "tgroup", id = "id")
vet <- data.frame(id = vet$id, tstart = vet$tstart, time = vet$time, status = vet$status,
                  trt = vet$trt, karno = vet$karno, celltype = as.character(vet$celltype),
                  karno_late = vet$karno * (vet$tgroup > 1))
out(vet, "veteran_split.csv")
cox_cases <- list(
  list(name = "heart", f = Surv(start, stop, event) ~ age + transplant + surgery, data = hr,
       terms = c("age", "transplant", "surgery"),
       call = "coxph(Surv(start; stop; event) ~ age + transplant + surgery; heart)"),
  list(name = "veteran_split", f = Surv(tstart, time, status) ~ trt + karno + karno_late + celltype,
       data = transform(vet, celltype = factor(celltype)),
       terms = c("trt", "karno", "karno_late", "celltype=large", "celltype=smallcell", "celltype=squamous"),
       call = "coxph(Surv(tstart; time; status) ~ trt + karno + karno_late + celltype; survSplit(veteran))"))
ct <- NULL
cf <- NULL
for (cs in cox_cases) {
  cx <- coxph(cs$f, cs$data, ties = "efron")
  s <- summary(cx)$coefficients
  ci <- summary(cx)$conf.int
  ct <- rbind(ct, data.frame(case = cs$name, term = cs$terms, coef = s[, "coef"], se = s[, "se(coef)"],
    hazard_ratio = s[, "exp(coef)"], lower95 = ci[, "lower .95"], upper95 = ci[, "upper .95"],
    p = s[, "Pr(>|z|)"]))
  cf <- rbind(cf, data.frame(case = cs$name, call = cs$call, n = cx$n, events = cx$nevent,
    loglik0 = cx$loglik[1], loglik = cx$loglik[2], lr_chisq = 2 * diff(cx$loglik),
    df = length(coef(cx)), p = pchisq(2 * diff(cx$loglik), length(coef(cx)), lower.tail = FALSE)))
}
out(ct, "coxcp_terms.csv")
out(cf, "coxcp_fit.csv")

## mcnemar.test, poisson.test ---------------------------------------------------

mc <- NULL
for (k in list(c(794, 86, 150, 570), c(10, 5, 3, 8), c(6, 4, 4, 9), c(5, 0, 0, 7),
               c(3, 1, 2, 4), c(0, 7, 0, 0))) {
  tab <- matrix(k, 2, 2) # column-major: a = [1,1], c = [2,1], b = [1,2], d = [2,2]
  r <- suppressWarnings(mcnemar.test(tab))
  mc <- rbind(mc, data.frame(a = k[1], c = k[2], b = k[3], d = k[4], chisq = r$statistic[[1]],
                             df = r$parameter[[1]], p = r$p.value))
}
out(mc, "mcnemar.csv")

po <- NULL
for (k in list(c(0, 100), c(1, 1), c(3, 1000), c(17, 2.5), c(250, 1234), c(0, 1))) {
  r <- poisson.test(k[1], k[2])
  po <- rbind(po, data.frame(events = k[1], exposure = k[2], rate = r$estimate[[1]],
                             lower95 = r$conf.int[1], upper95 = r$conf.int[2]))
}
out(po, "poisson.csv")

## Standardized mean differences -------------------------------------------------

# Continuous: (m1 - m2) / sqrt((s1^2 + s2^2) / 2). Categorical: Yang & Dalton
# (2012), with the first level dropped and S the average of the two groups'
# multinomial covariance matrices, written out here (the tableone package,
# which implements the same formula, is not packaged for Debian).
smd_cont <- function(x, g) {
  a <- x[g == 1 & !is.na(x)]
  b <- x[g == 0 & !is.na(x)]
  (mean(a) - mean(b)) / sqrt((var(a) + var(b)) / 2)
}
smd_cat <- function(x, g) {
  ok <- !is.na(x) & x != ""
  lev <- sort(unique(x[ok]))
  p1 <- sapply(lev, function(l) mean(x[ok & g == 1] == l))[-1]
  p2 <- sapply(lev, function(l) mean(x[ok & g == 0] == l))[-1]
  cv <- function(p) diag(p, length(p)) - outer(p, p)
  S <- (cv(p1) + cv(p2)) / 2
  d <- p1 - p2
  sqrt(drop(t(d) %*% solve(S) %*% d))
}
na_x <- c(3.1, NA, 4.4, 5.0, 2.2, NA, 6.8, 3.9, 4.1, 5.5)
na_g <- c(1, 1, 1, 1, 1, 0, 0, 0, 0, 0)
dx <- c("a", "b", "", "c", "a", "a", "b", "b", "c", "c", "c", "a")
dg <- c(1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0)
sm <- rbind(
  data.frame(case = "mpg_by_am", kind = "continuous", smd = smd_cont(mt$mpg, mt$am)),
  data.frame(case = "hp_by_am", kind = "continuous", smd = smd_cont(mt$hp, mt$am)),
  data.frame(case = "with_missing", kind = "continuous", smd = smd_cont(na_x, na_g)),
  data.frame(case = "cyl_by_am", kind = "categorical", smd = smd_cat(mt$cyl, mt$am)),
  data.frame(case = "gear_by_am", kind = "categorical", smd = smd_cat(mt$gear, mt$am)),
  data.frame(case = "wool_by_breaks_over_30", kind = "categorical",
             smd = smd_cat(wb$wool, as.integer(wb$breaks > 30))),
  data.frame(case = "with_empty", kind = "categorical", smd = smd_cat(dx, dg)))
# Two levels: the formula reduces to (p1 - p2) / sqrt((p1 q1 + p2 q2) / 2).
p1 <- mean(wb$wool[wb$breaks > 30] == "B"); p2 <- mean(wb$wool[wb$breaks <= 30] == "B")
stopifnot(abs(sm$smd[sm$case == "wool_by_breaks_over_30"] - abs(p1 - p2) / sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / 2)) < 1e-12)
out(sm, "smd.csv")
out(data.frame(x = na_x, g = na_g), "smd_missing.csv")
write.csv(data.frame(x = dx, g = dg), "smd_empty.csv", row.names = FALSE, quote = FALSE)
