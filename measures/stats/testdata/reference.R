# Reference values for package measures/stats, computed with R.
#
# Run from this directory:  Rscript reference.R
# Written with R 4.2.2, lme4 1.1-31, survival 3.5-3 (Debian bookworm packages
# r-base-core, r-cran-lme4, r-cran-survival). The script generates small
# data sets with a fixed seed, writes them as CSV, fits them and writes R's
# results as CSV, so the Go tests need no R. It uses base R only for output
# (no jsonlite).

suppressPackageStartupMessages({
  library(lme4)
  library(survival)
})

fmt <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))

# write a data frame with numeric columns at full precision
out <- function(df, file) {
  for (j in seq_along(df)) if (is.numeric(df[[j]])) df[[j]] <- fmt(df[[j]])
  write.csv(df, file, row.names = FALSE, quote = FALSE)
}

versions <- data.frame(
  package = c("R", "lme4", "survival"),
  version = c(paste(R.version$major, R.version$minor, sep = "."),
              as.character(packageVersion("lme4")),
              as.character(packageVersion("survival"))))
write.csv(versions, "r_versions.csv", row.names = FALSE, quote = FALSE)

## Linear mixed models -----------------------------------------------------

set.seed(20260101)
G <- 40
ni <- sample(1:8, G, replace = TRUE)
ni[1:3] <- 1 # three groups with a single observation
grp <- rep(sprintf("p%02d", 1:G), ni)
t <- unlist(lapply(ni, function(n) (0:(n - 1)) + round(runif(n, 0, 0.6), 2)))
b0 <- rnorm(G, 0, 3)
b1 <- -0.3 * b0 / 3 * 0.5 + rnorm(G, 0, 0.5)
y <- 15 - 1.2 * t + rep(b0, ni) + rep(b1, ni) * t + rnorm(length(t), 0, 2)
unbal <- data.frame(group = grp, t = t, y = round(y, 3))
out(unbal, "lmm_unbalanced.csv")

# No random slope and a small random intercept: lme4 reports boundary
# (singular) fits. Seed 4 gives Lambda[2,2] = 0 (correlation -1 or 1) by REML
# and ML; seed 8 gives Lambda[1,1] = 0 (zero intercept variance) by REML.
singular_data <- function(seed) {
  set.seed(seed)
  G <- 12
  d <- data.frame(group = rep(sprintf("s%02d", 1:G), each = 6), t = rep(0:5, G))
  d$y <- round(10 + 0.5 * d$t + rep(rnorm(G, 0, 1), each = 6) + rnorm(nrow(d), 0, 3), 3)
  d
}
sing <- singular_data(4)
out(sing, "lmm_singular.csv")
sing2 <- singular_data(8)
out(sing2, "lmm_singular2.csv")

# No between-group variation at all: the random-intercept model's variance
# is estimated as zero (REML and ML).
set.seed(1)
flat <- data.frame(group = rep(sprintf("z%02d", 1:10), each = 5), t = rep(0:4, 10))
flat$y <- round(10 + 0.5 * flat$t + rnorm(nrow(flat), 0, 3), 3)
out(flat, "lmm_flat.csv")

lmm_cases <- list(
  list(name = "unbalanced_reml", data = unbal, f = y ~ t + (t | group), reml = TRUE,
       call = "lmer(y ~ t + (t | group), lmm_unbalanced)"),
  list(name = "unbalanced_ml", data = unbal, f = y ~ t + (t | group), reml = FALSE,
       call = "lmer(y ~ t + (t | group), lmm_unbalanced, REML = FALSE)"),
  list(name = "unbalanced_intercept_reml", data = unbal, f = y ~ t + (1 | group), reml = TRUE,
       call = "lmer(y ~ t + (1 | group), lmm_unbalanced)"),
  list(name = "unbalanced_intercept_ml", data = unbal, f = y ~ t + (1 | group), reml = FALSE,
       call = "lmer(y ~ t + (1 | group), lmm_unbalanced, REML = FALSE)"),
  list(name = "singular_reml", data = sing, f = y ~ t + (t | group), reml = TRUE,
       call = "lmer(y ~ t + (t | group), lmm_singular)"),
  list(name = "singular_ml", data = sing, f = y ~ t + (t | group), reml = FALSE,
       call = "lmer(y ~ t + (t | group), lmm_singular, REML = FALSE)"),
  list(name = "singular2_reml", data = sing2, f = y ~ t + (t | group), reml = TRUE,
       call = "lmer(y ~ t + (t | group), lmm_singular2)"),
  list(name = "flat_intercept_reml", data = flat, f = y ~ t + (1 | group), reml = TRUE,
       call = "lmer(y ~ t + (1 | group), lmm_flat)"),
  list(name = "flat_intercept_ml", data = flat, f = y ~ t + (1 | group), reml = FALSE,
       call = "lmer(y ~ t + (1 | group), lmm_flat, REML = FALSE)")
)
# lme4's default optimiser (BOBYQA via nloptwrap) stops when the deviance
# changes by less than its tolerance; where the deviance surface is flat
# (singular fits) that can leave the estimates 1e-4 away from the optimum,
# and it can stop at a worse local optimum on the boundary. Each case is
# therefore recorded twice: "default" is lmer as called, "optimum" is the
# better of the BOBYQA and Nelder_Mead fits, refitted from its estimate with
# very tight tolerances.
tight <- lmerControl(optimizer = "nloptwrap",
  optCtrl = list(ftol_abs = 1e-15, ftol_rel = 1e-15, xtol_abs = 1e-12, xtol_rel = 1e-12,
                 maxeval = 1e5),
  check.conv.grad = .makeCC("ignore", tol = 2e-3))
lmm_row <- function(m, cs, fit) {
  vc <- as.data.frame(VarCorr(m))
  sdi <- vc$sdcor[vc$grp == "group" & vc$var1 == "(Intercept)" & is.na(vc$var2)]
  sds <- vc$sdcor[vc$grp == "group" & vc$var1 == "t" & is.na(vc$var2)]
  cor <- vc$sdcor[vc$grp == "group" & !is.na(vc$var2)]
  if (length(sds) == 0) sds <- NA
  if (length(cor) == 0) cor <- NA
  fe <- fixef(m)
  se <- sqrt(diag(as.matrix(vcov(m))))
  data.frame(
    case = cs$name, fit = fit, call = gsub(",", ";", cs$call), n_obs = nobs(m),
    n_groups = ngrps(m)[["group"]],
    intercept = fe[[1]], intercept_se = se[[1]], slope = fe[[2]], slope_se = se[[2]],
    sd_intercept = sdi, sd_slope = sds, corr = cor, sd_residual = sigma(m),
    loglik = as.numeric(logLik(m)), singular = as.integer(isSingular(m)),
    theta = paste(fmt(getME(m, "theta")), collapse = " "))
}
res <- NULL
blups <- NULL
for (cs in lmm_cases) {
  m <- suppressMessages(lmer(cs$f, cs$data, REML = cs$reml))
  nm <- suppressMessages(lmer(cs$f, cs$data, REML = cs$reml,
                              control = lmerControl(optimizer = "Nelder_Mead")))
  best <- if (-2 * logLik(nm) < -2 * logLik(m)) nm else m
  opt <- suppressMessages(update(best, start = getME(best, "theta"), control = tight))
  res <- rbind(res, lmm_row(m, cs, "default"), lmm_row(opt, cs, "optimum"))
  re <- ranef(opt)$group
  blups <- rbind(blups, data.frame(case = cs$name, group = rownames(re),
    intercept = re[["(Intercept)"]], slope = if ("t" %in% names(re)) re[["t"]] else NA))
}
out(res, "lmm_results.csv")
out(blups, "lmm_ranef.csv")

## Kaplan-Meier, log-rank, Cox ---------------------------------------------

# Tied event times, censoring at event times, three groups.
set.seed(11)
n <- 60
arm <- rep(c("A", "B", "C"), each = 20)
rate <- c(A = 0.05, B = 0.08, C = 0.12)[arm]
ev_t <- ceiling(rexp(n, rate))
cen_t <- ceiling(runif(n, 5, 40))
surv <- data.frame(time = pmin(ev_t, cen_t), status = as.integer(ev_t <= cen_t), arm = arm,
                   age = round(rnorm(n, 50, 10)))
# force censoring at an event time
surv$status[which(surv$time == surv$time[surv$status == 1][1])[-1]] <- 0
out(surv, "surv3.csv")

# Curves that sit at exactly 0.5: over an interval, and at the end.
half <- data.frame(time = c(1, 2, 3, 4), status = c(1, 1, 1, 1))
out(half, "km_half.csv")
halfend <- data.frame(time = c(1, 2, 3, 4), status = c(1, 1, 0, 0))
out(halfend, "km_halfend.csv")

km_cases <- list(
  list(name = "surv3", data = surv), list(name = "half", data = half),
  list(name = "halfend", data = halfend))
tab <- NULL
med <- NULL
at <- NULL
times_at <- c(0.5, 3, 7.5, 12, 20, 40)
for (cs in km_cases) {
  fit <- survfit(Surv(time, status) ~ 1, cs$data)
  s <- summary(fit)
  tab <- rbind(tab, data.frame(case = cs$name, time = s$time, n_risk = s$n.risk,
    n_event = s$n.event, survival = s$surv, std_err = s$std.err, lower95 = s$lower,
    upper95 = s$upper))
  q <- summary(fit)$table
  med <- rbind(med, data.frame(case = cs$name, median = q[["median"]],
    lower95 = q[["0.95LCL"]], upper95 = q[["0.95UCL"]]))
  ta <- times_at[times_at <= max(cs$data$time)]
  sa <- summary(fit, times = ta)
  at <- rbind(at, data.frame(case = cs$name, time = sa$time, n_risk = sa$n.risk,
    survival = sa$surv, std_err = sa$std.err, lower95 = sa$lower, upper95 = sa$upper))
}
out(tab, "km_table.csv")
out(med, "km_median.csv")
out(at, "km_at.csv")

sd3 <- survdiff(Surv(time, status) ~ arm, surv)
out(data.frame(call = "survdiff(Surv(time; status) ~ arm; surv3)", chisq = sd3$chisq,
               df = length(sd3$n) - 1,
               p = pchisq(sd3$chisq, length(sd3$n) - 1, lower.tail = FALSE)), "logrank3.csv")

cx <- coxph(Surv(time, status) ~ arm + age, surv, ties = "efron")
cs <- summary(cx)$coefficients
ci <- summary(cx)$conf.int
out(data.frame(term = c("arm=B", "arm=C", "age"), coef = cs[, "coef"], se = cs[, "se(coef)"],
  hazard_ratio = cs[, "exp(coef)"], lower95 = ci[, "lower .95"], upper95 = ci[, "upper .95"],
  p = cs[, "Pr(>|z|)"]), "cox_terms.csv")
out(data.frame(call = "coxph(Surv(time; status) ~ arm + age; surv3; ties = efron)",
  n = cx$n, events = cx$nevent,
  loglik0 = cx$loglik[1], loglik = cx$loglik[2], lr_chisq = 2 * diff(cx$loglik),
  df = length(coef(cx)), p = pchisq(2 * diff(cx$loglik), length(coef(cx)), lower.tail = FALSE)),
  "cox_fit.csv")

## Effect sizes -------------------------------------------------------------

set.seed(3)
base <- round(rnorm(25, 16, 4))
end <- round(base - rnorm(25, 5, 4))
end[c(4, 17)] <- NA # missing endpoints
out(data.frame(baseline = base, endpoint = end), "paired.csv")
tt <- t.test(end, base, paired = TRUE)
d <- (end - base)[!is.na(end)]
out(data.frame(call = "t.test(endpoint; baseline; paired = TRUE)", n = length(d), mean = mean(d),
  sd = sd(d), t = tt$statistic[[1]], df = tt$parameter[[1]], p = tt$p.value,
  lower95 = tt$conf.int[1], upper95 = tt$conf.int[2], cohens_dz = mean(d) / sd(d)), "ttest.csv")
mi <- t.test(base)
out(data.frame(call = "t.test(baseline)", n = length(base), mean = mean(base), sd = sd(base),
  lower95 = mi$conf.int[1], upper95 = mi$conf.int[2]), "meanci.csv")

wil <- NULL
for (k in list(c(0, 10), c(3, 10), c(10, 10), c(17, 42), c(1, 1), c(250, 1000))) {
  pt <- prop.test(k[1], k[2], correct = FALSE)
  wil <- rbind(wil, data.frame(events = k[1], n = k[2], rate = k[1] / k[2],
    lower95 = pt$conf.int[1], upper95 = pt$conf.int[2]))
}
out(wil, "wilson.csv")

qx <- c(7.8, 1.2, 9.5, 3.3, 3.3, 12.1, 8.8, 10.1, NA)
probs <- c(0, 0.1, 0.25, 0.5, 0.75, 0.9, 1)
out(data.frame(p = probs, q = quantile(qx, probs, type = 7, na.rm = TRUE, names = FALSE)), "quantile7.csv")
