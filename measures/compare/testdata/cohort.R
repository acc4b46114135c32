# A simulated KAP cohort and R's adjusted comparisons on it, the reference
# values of package measures/compare.
#
# Run from this directory:  Rscript cohort.R
# Written with R 4.2.2, lme4 1.1-31 and survival 3.5-3 (Debian bookworm
# packages r-base-core, r-cran-lme4, r-cran-survival).
#
# The cohort is simulated here with a fixed seed, independently of kapstat:
# 700 patients in two programs with a different case mix (infusion-only
# patients older, more treatment-resistant and more severe at baseline),
# routes, settings, integration exposure, age (some 90+), sex (some
# unknown), diagnosis, prior treatments, characteristics missing here and
# there, a few patients without a patients-file row, without a baseline or
# without any group (no dosing session); PHQ-9 trajectories over the acute
# window with the endpoint as the last acute score; relapse follow-up after
# response with maintenance sessions (some before the end of follow-up, some
# on the relapse day, some after it).
#
# The rules of the specification's item 6.15 are written out below in R,
# independently of the Go code: level selection (>= 20 patients, reference
# the largest, ties to the first in sorted order), covariates taking two or
# more values, complete cases counted by the first missing covariate,
# categorical covariates coded against their most frequent level. Then R's
# models: lm adjusted and unadjusted, glm(binomial) adjusted and
# unadjusted, lmer(y ~ t * D + X' + (t | patient)) with X' the
# characteristics (X without the baseline score) and without them, and coxph
# on (start, stop] rows from tmerge with maintenance as a time-varying
# covariate.
#
# Output: cohort.csv (one row per patient), trajectory.csv (one row per
# score), samples.csv (who is in each model), results.csv (the
# coefficients), versions.csv.

suppressPackageStartupMessages({
  library(lme4)
  library(survival)
})
invisible(Sys.setlocale("LC_COLLATE", "C"))

fmt <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))
out <- function(df, file) {
  for (j in seq_along(df)) if (is.numeric(df[[j]])) df[[j]] <- fmt(df[[j]])
  write.csv(df, file, row.names = FALSE, quote = FALSE, na = "NA")
}

write.csv(data.frame(
  package = c("R", "lme4", "survival"),
  version = c(paste(R.version$major, R.version$minor, sep = "."),
              as.character(packageVersion("lme4")), as.character(packageVersion("survival")))),
  "versions.csv", row.names = FALSE, quote = FALSE)

## The cohort ------------------------------------------------------------------

set.seed(20260301)
N <- 700
id <- sprintf("p%04d", seq_len(N))
program <- sample(c("kap", "infusion"), N, replace = TRUE, prob = c(0.65, 0.35))
inf <- program == "infusion"
route <- ifelse(inf, sample(c("iv", "im"), N, replace = TRUE, prob = c(0.88, 0.12)),
                sample(c("sublingual", "im", "intranasal", "oral"), N, replace = TRUE,
                       prob = c(0.42, 0.30, 0.24, 0.04)))
setting <- ifelse(inf, "in_person",
                  sample(c("in_person", "home", "telehealth"), N, replace = TRUE,
                         prob = c(0.55, 0.36, 0.09)))
integration <- ifelse(inf, sample(c("0", "1-3"), N, replace = TRUE, prob = c(0.85, 0.15)),
                      sample(c("0", "1-3", ">=4"), N, replace = TRUE, prob = c(0.05, 0.45, 0.50)))
# No dosing session (assessment-only style): no group can be told.
nogroup <- sample(N, 6)
program[nogroup] <- "unknown"; route[nogroup] <- "unknown"
setting[nogroup] <- "unknown"; integration[nogroup] <- "unknown"
inf <- program == "infusion"

age <- round(ifelse(inf, rnorm(N, 49, 13), rnorm(N, 41, 12)))
age <- pmax(age, 18)
old <- sample(N, 10)
age[old] <- sample(86:97, 10, replace = TRUE)
agetxt <- ifelse(age >= 90, "90+", as.character(age))
agenum <- pmin(age, 90) # 90+ is 90
sex <- sample(c("female", "male", "other", "unknown"), N, replace = TRUE, prob = c(0.57, 0.38, 0.03, 0.02))
diagnosis <- sample(c("depression", "ptsd", "anxiety", "bipolar", "other"), N, replace = TRUE,
                    prob = c(0.58, 0.18, 0.13, 0.06, 0.05))
prior <- ifelse(inf, rpois(N, 3.4), rpois(N, 1.4))
# Missing characteristics.
agetxt[sample(N, 22)] <- ""
sex[sample(N, 8)] <- ""
diagnosis[sample(N, 15)] <- ""
prior[sample(N, 25)] <- NA
nofile <- sample(N, 12) # not in the patients file at all
agetxt[nofile] <- ""; sex[nofile] <- ""; diagnosis[nofile] <- ""; prior[nofile] <- NA

sexmiss <- sex %in% c("", "unknown")
agev <- ifelse(agetxt == "", NA, ifelse(agetxt == "90+", 90, suppressWarnings(as.numeric(agetxt))))

# Baseline PHQ-9 (day 0 = index day); a few patients have none.
baseline <- round(pmin(27, pmax(2, ifelse(inf, rnorm(N, 17.5, 4), rnorm(N, 15, 4.5)) +
                                      0.4 * pmin(ifelse(is.na(prior), 2, prior), 6))))
nobase <- sample(setdiff(seq_len(N), nogroup), 9)
hasbase <- !(seq_len(N) %in% nobase)

# Trajectories: scores at integer days of the acute window (1-56), t = day/7.
slope <- ifelse(inf, -0.85, -1.05) + ifelse(integration == ">=4", -0.15, 0) +
  0.05 * ifelse(is.na(prior), 2, prior) + rnorm(N, 0, 0.45)
b0 <- rnorm(N, 0, 1.5)
open <- runif(N) < 0.05 # acute window still open: scores but no endpoint
traj <- NULL
endpoint <- rep(NA_real_, N)
rday <- rep(NA_integer_, N)
for (i in seq_len(N)) {
  if (!hasbase[i]) next
  k <- sample(0:6, 1, prob = c(0.06, 0.1, 0.14, 0.2, 0.2, 0.18, 0.12))
  days <- sort(sample(1:56, k))
  y <- round(pmin(27, pmax(0, baseline[i] + b0[i] * (days > 0) + slope[i] * days / 7 +
                               rnorm(k, 0, 2.2))))
  traj <- rbind(traj, data.frame(patient = id[i], t = c(0, days) / 7, y = c(baseline[i], y)))
  if (k > 0 && !open[i]) endpoint[i] <- y[k]
  hit <- which(y <= 0.5 * baseline[i])
  if (baseline[i] >= 10 && length(hit) > 0) rday[i] <- days[hit[1]]
}
hasend <- !is.na(endpoint)
eligible <- hasbase & baseline >= 10
response <- eligible & hasend & endpoint <= 0.5 * baseline

# Relapse after response: daily hazard, lower on maintenance; follow-up
# censored between 4 weeks and a year.
atrisk <- !is.na(rday) & runif(N) < 0.92
hasmaint <- atrisk & runif(N) < ifelse(inf, 0.35, 0.5)
mday <- ifelse(hasmaint, rday + sample(3:150, N, replace = TRUE), NA)
rtime <- rep(NA_integer_, N)
revent <- rep(NA_integer_, N)
for (i in which(atrisk)) {
  cens <- sample(28:365, 1)
  lp <- 0.35 * inf[i] + 0.06 * (baseline[i] - 16) + 0.08 * ifelse(is.na(prior[i]), 2, prior[i])
  m <- if (hasmaint[i]) mday[i] - rday[i] else Inf
  t <- 0
  ev <- 0
  while (t < cens) {
    t <- t + 7 # relapse is seen at weekly visits: many tied times
    h <- 0.03 * exp(lp - 0.7 * (t > m))
    if (runif(1) < h) { ev <- 1; break }
  }
  rtime[i] <- min(t, cens)
  revent[i] <- ev
}
# A few relapses on the day maintenance began (the row before the switch),
# and a few maintenance starts after the end of follow-up.
onm <- which(atrisk & hasmaint & revent == 1)[1:3]
mday[onm] <- rday[onm] + rtime[onm]
late <- which(atrisk & hasmaint & revent == 0)[1:3]
mday[late] <- rday[late] + rtime[late] + 10

cohort <- data.frame(patient = id, program = program, route = route, setting = setting,
  integration = integration, age = agetxt, sex = sex, diagnosis = diagnosis,
  prior_treatments = prior, has_baseline = as.integer(hasbase),
  baseline = ifelse(hasbase, baseline, NA), endpoint = endpoint,
  eligible = as.integer(eligible), response = as.integer(response),
  at_risk = as.integer(atrisk), response_day = ifelse(atrisk, rday, NA),
  relapse_time = ifelse(atrisk, rtime, NA), relapsed = ifelse(atrisk, revent, NA),
  maintenance_day = ifelse(atrisk, mday, NA))
out(cohort, "cohort.csv")
out(traj, "trajectory.csv")

## The rules of item 6.15 -------------------------------------------------------

# Per patient, the analysis variables: missing characteristics as NA.
pat <- data.frame(patient = id, program, route, setting, integration,
  baseline = ifelse(hasbase, baseline, NA), age = agev,
  sex = ifelse(sexmiss, NA, sex), diagnosis = ifelse(diagnosis == "", NA, diagnosis),
  prior_treatments = prior, stringsAsFactors = FALSE)
categorical <- c("sex", "diagnosis")
nvalues <- function(x) length(unique(x[!is.na(x)]))
kv <- function(tab) if (length(tab) == 0) "" else paste(names(tab), tab, sep = ":", collapse = ";")

# select: the patients of the population (a data frame with a column per
# dimension and covariate), the dimension (NULL for none) and the candidate
# covariates; returns the model's data, the reference level, the covariates
# and the counts.
select <- function(pop, dim, candidates = c("baseline", "age", "sex", "diagnosis", "prior_treatments")) {
  res <- list(skipped = FALSE, reference = NA, dropped = "", excluded = 0, excluded_by = "",
              levels = "", covariates = "")
  if (!is.null(dim)) {
    lab <- pop[[dim]]
    unknown <- lab %in% c("", "unknown")
    tab <- table(lab[!unknown]) # sorted in C order
    kept <- names(tab)[tab >= 20]
    dr <- c(tab[tab < 20], if (any(unknown)) c(unknown = sum(unknown)))
    dr <- dr[order(names(dr))]
    res$dropped <- kv(dr)
    if (length(kept) < 2) { res$skipped <- TRUE; return(res) }
    res$reference <- kept[which.max(tab[kept])] # first of the largest in sorted order
    pop <- pop[!unknown & lab %in% kept, ]
  }
  covs <- candidates[sapply(candidates, function(c) nvalues(pop[[c]]) >= 2)]
  repeat {
    miss <- sapply(covs, function(c) is.na(pop[[c]]))
    if (is.null(dim(miss))) miss <- matrix(miss, nrow = nrow(pop))
    first <- apply(miss, 1, function(r) if (any(r)) covs[which(r)[1]] else NA)
    cc <- pop[is.na(first), ]
    still <- covs[sapply(covs, function(c) nvalues(cc[[c]]) >= 2)]
    if (length(still) == length(covs)) break
    covs <- still
  }
  res$excluded <- sum(!is.na(first))
  eb <- table(first[!is.na(first)])
  res$excluded_by <- kv(eb[order(names(eb))])
  terms <- character(0)
  for (c in covs) {
    if (c %in% categorical) {
      tab <- table(cc[[c]])
      ref <- names(tab)[which.max(tab)]
      lv <- c(ref, setdiff(sort(unique(cc[[c]])), ref))
      cc[[c]] <- factor(cc[[c]], levels = lv)
      terms <- c(terms, paste0(c, "=", lv[-1]))
    } else {
      terms <- c(terms, c)
    }
  }
  if (!is.null(dim)) {
    lv <- sort(unique(cc[[dim]]))
    cc[[dim]] <- factor(cc[[dim]], levels = c(res$reference, setdiff(lv, res$reference)))
    tab <- table(as.character(cc[[dim]]))
    res$levels <- kv(tab[order(names(tab))])
  }
  res$data <- cc
  res$covs <- covs
  res$terms <- terms
  res$covariates <- paste(terms, collapse = ";")
  res
}

samples <- NULL
results <- NULL
add_sample <- function(model, dim, s, n = NA, events = NA, n_obs = NA, rows = NA, maintained = NA) {
  samples <<- rbind(samples, data.frame(model = model, dimension = ifelse(is.null(dim), "", dim),
    skipped = as.integer(s$skipped), reference = ifelse(is.na(s$reference), "", s$reference),
    n = n, excluded = s$excluded, excluded_by = s$excluded_by, dropped = s$dropped,
    levels = s$levels, covariates = s$covariates, events = events, n_obs = n_obs, rows = rows,
    maintained = maintained))
}
# add_terms: coefficients named by R (D<level>, t:D<level>) as the level.
add_terms <- function(model, dim, kind, term, coef, se, ratio, lower, upper, p) {
  results <<- rbind(results, data.frame(model = model, dimension = dim, kind = kind, term = term,
    coef = coef, se = se, ratio = ratio, lower95 = lower, upper95 = upper, p = p))
}
rhs <- function(dim, covs, lead = NULL) paste(c(lead, dim, covs), collapse = " + ")

dims <- c("program", "route", "setting", "integration")
z975 <- qnorm(0.975)

## change: lm ------------------------------------------------------------------

chg <- pat[hasbase & hasend, ]
chg$change <- (endpoint - baseline)[hasbase & hasend]
for (dim in dims) {
  s <- select(chg, dim)
  if (s$skipped) { add_sample("change", dim, s, n = 0); next }
  d <- s$data
  lv <- levels(d[[dim]])[-1]
  for (kind in c("adjusted", "unadjusted")) {
    f <- as.formula(paste("change ~", rhs(dim, if (kind == "adjusted") s$covs)))
    m <- lm(f, d)
    co <- summary(m)$coefficients
    ci <- confint(m)
    nm <- paste0(dim, lv)
    add_terms("change", dim, kind, lv, co[nm, 1], co[nm, 2], NA, ci[nm, 1], ci[nm, 2], co[nm, 4])
  }
  add_sample("change", dim, s, n = nrow(d))
}

## response: glm(binomial) -------------------------------------------------------

rsp <- pat[hasbase & hasend & eligible, ]
rsp$response <- as.integer(response[hasbase & hasend & eligible])
for (dim in dims) {
  s <- select(rsp, dim)
  if (s$skipped) { add_sample("response", dim, s, n = 0); next }
  d <- s$data
  lv <- levels(d[[dim]])[-1]
  for (kind in c("adjusted", "unadjusted")) {
    f <- as.formula(paste("response ~", rhs(dim, if (kind == "adjusted") s$covs)))
    m <- withCallingHandlers(glm(f, binomial, d),
      warning = function(w) stop("glm warned (separation?): ", conditionMessage(w)))
    co <- summary(m)$coefficients
    nm <- paste0(dim, lv)
    b <- co[nm, 1]; se <- co[nm, 2]
    add_terms("response", dim, kind, lv, b, se, exp(b), exp(b - z975 * se), exp(b + z975 * se), co[nm, 4])
  }
  add_sample("response", dim, s, n = nrow(d), events = sum(d$response))
}

## slope: lmer ---------------------------------------------------------------------

tight <- lmerControl(optimizer = "nloptwrap",
  optCtrl = list(ftol_abs = 1e-15, ftol_rel = 1e-15, xtol_abs = 1e-12, xtol_rel = 1e-12, maxeval = 1e5),
  check.conv.grad = .makeCC("ignore", tol = 2e-3))
# lmer as called, then from the better of its and Nelder_Mead's optimum
# refitted with tight tolerances: the optimum itself, to compare to 1e-4.
optimum <- function(f, d) {
  m <- suppressMessages(lmer(f, d, REML = TRUE))
  nm <- suppressMessages(lmer(f, d, REML = TRUE, control = lmerControl(optimizer = "Nelder_Mead")))
  best <- if (-2 * logLik(nm) < -2 * logLik(m)) nm else m
  suppressMessages(update(best, start = getME(best, "theta"), control = tight))
}
slp <- pat[hasbase, ]
for (dim in dims) {
  # X without the baseline score, which is the trajectory's own score at t = 0.
  s <- select(slp, dim, c("age", "sex", "diagnosis", "prior_treatments"))
  if (s$skipped) { add_sample("slope", dim, s, n = 0); next }
  d <- merge(traj, s$data, by = "patient", sort = FALSE)
  d <- d[order(d$patient, d$t), ]
  lv <- levels(d[[dim]])[-1]
  for (kind in c("adjusted", "unadjusted")) {
    f <- as.formula(paste("y ~ t *", dim, if (kind == "adjusted" && length(s$covs) > 0)
      paste("+", paste(s$covs, collapse = " + ")), "+ (t | patient)"))
    m <- optimum(f, d)
    if (isSingular(m)) stop("singular fit: ", deparse(f))
    fe <- fixef(m)
    se <- sqrt(diag(as.matrix(vcov(m))))
    nm <- paste0("t:", dim, lv)
    b <- fe[nm]; s2 <- se[nm]
    add_terms("slope", dim, kind, lv, b, s2, NA, b - z975 * s2, b + z975 * s2, 2 * pnorm(-abs(b / s2)))
  }
  add_sample("slope", dim, s, n = nrow(s$data), n_obs = nrow(d))
}

## relapse: coxph on (start, stop] rows ------------------------------------------------

rel <- pat[hasbase & atrisk, ]
rel$time <- rtime[hasbase & atrisk]
rel$event <- revent[hasbase & atrisk]
rel$m <- (mday - rday)[hasbase & atrisk]
s <- select(rel, "program")
stopifnot(!s$skipped)
d <- s$data
d$id <- seq_len(nrow(d))
tm <- tmerge(d, d, id = id, relapse = event(time, event))
md <- d[!is.na(d$m), c("id", "m")]
tm <- tmerge(tm, md, id = id, maintenance = tdc(m))
f <- as.formula(paste("Surv(tstart, tstop, relapse) ~", rhs("program", c("baseline", "maintenance", setdiff(s$covs, "baseline")))))
cx <- coxph(f, tm, ties = "efron")
co <- summary(cx)$coefficients
ci <- summary(cx)$conf.int
# Terms named as kapstat names them: factor levels as name=level.
nm <- rownames(co)
go <- nm
for (c in c("program", categorical)) {
  hit <- startsWith(nm, c) & nm != c
  go[hit] <- paste0(c, "=", substring(nm[hit], nchar(c) + 1))
}
add_terms("relapse", "program", "adjusted", go, co[, "coef"], co[, "se(coef)"], co[, "exp(coef)"],
          ci[, "lower .95"], ci[, "upper .95"], co[, "Pr(>|z|)"])
s$covariates <- paste(c("baseline", "maintenance", s$terms[s$terms != "baseline"]), collapse = ";")
add_sample("relapse", "program", s, n = nrow(d), events = cx$nevent, rows = nrow(tm),
           maintained = sum(!is.na(d$m) & d$m < d$time))

out(samples, "samples.csv")
out(results, "results.csv")
