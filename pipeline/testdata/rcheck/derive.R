# Independent re-derivation of the kapstat analysis (SPEC sections 6.1-6.10 and 7) in base R,
# lme4 and survival, from assessments.csv and sessions.csv alone. Writes expected.json, which
# pipeline/rcheck_test.go compares with Warehouse.Analyze.
#
# Run from the repository root:
#   Rscript pipeline/testdata/rcheck/derive.R
#
# Written against R 4.x, lme4 1.1-31, survival 3.5-3 and jsonlite.

suppressPackageStartupMessages({
  library(lme4)
  library(survival)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args) >= 1) args[1] else "pipeline/testdata/rcheck"

# ---- parameters (SPEC 4 and 6; kapstat's default config) -------------------------------------
baseline_days <- 30L
acute_days <- 56L
relapse_days <- c(28, 56, 84, 182)
instruments <- list(
  PHQ9 = list(items = 9L, allowed_missing = 2L, cutoff = 10L, remission = 5L, rc = 6L),
  GAD7 = list(items = 7L, allowed_missing = 1L, cutoff = 10L, remission = 5L, rc = 4L),
  PCL5 = list(items = 20L, allowed_missing = 3L, cutoff = 33L, remission = 33L, rc = 10L)
)

# ---- read and score ------------------------------------------------------------------------
a <- read.csv(file.path(dir, "assessments.csv"), colClasses = "character", na.strings = "")
s <- read.csv(file.path(dir, "sessions.csv"), colClasses = "character", na.strings = "")
stopifnot(all(a$instrument %in% names(instruments)))

# days since 1970-01-01
a$day <- as.integer(as.Date(a$date))
s$day <- as.integer(as.Date(s$date))
stopifnot(!anyNA(a$day), !anyNA(s$day))

item_cols <- sprintf("item_%d", 1:20)
items <- sapply(item_cols, function(c) as.integer(a[[c]]))
given_total <- as.integer(a$total)

score_row <- function(i) {
  m <- instruments[[a$instrument[i]]]
  x <- items[i, ]
  stopifnot(all(is.na(x[-seq_len(m$items)])))  # no item past the instrument's count
  x <- x[seq_len(m$items)]
  k <- sum(!is.na(x))
  if (k == 0) {
    stopifnot(!is.na(given_total[i]))
    return(given_total[i])
  }
  stopifnot(m$items - k <= m$allowed_missing)
  sm <- sum(x, na.rm = TRUE)
  n <- m$items
  # round-half-up(mean of answered items x n) = floor(sum*n/k + 1/2), in integers
  tot <- (2L * sm * n + k) %/% (2L * k)
  if (!is.na(given_total[i])) stopifnot(given_total[i] == tot)
  tot
}
a$score <- vapply(seq_len(nrow(a)), score_row, integer(1))
# one administration per patient, instrument and day in a clean cohort
stopifnot(!anyDuplicated(a[, c("patient_id", "instrument", "day")]))

# ---- index day and program (SPEC 6.1, 6.12) ------------------------------------------------
patients <- sort(unique(c(a$patient_id, s$patient_id)))
dosing <- s[s$session_type == "dosing", ]
dosing <- dosing[order(dosing$patient_id, dosing$day), ]
first <- dosing[!duplicated(dosing$patient_id), ]
# the program of the first dosing session must be unambiguous for this check
same_day <- merge(dosing, first[, c("patient_id", "day")], by = c("patient_id", "day"))
stopifnot(all(tapply(same_day$program, same_day$patient_id, function(p) length(unique(p))) == 1))
index_of <- setNames(first$day, first$patient_id)
program_of <- setNames(ifelse(is.na(first$program), "kap", first$program), first$patient_id)
treated <- patients[patients %in% names(index_of)]

out <- list(
  source = "R re-derivation (pipeline/testdata/rcheck/derive.R)",
  r_version = R.version.string,
  lme4_version = as.character(packageVersion("lme4")),
  survival_version = as.character(packageVersion("survival")),
  # the inputs this file was derived from (the Go test checks them before comparing)
  inputs = lapply(c("assessments.csv", "sessions.csv"), function(f)
    list(file = f, md5 = unname(tools::md5sum(file.path(dir, f))))),
  cohort = list(patients = length(patients), treated = length(treated),
                excluded = list(no_dosing_session = length(patients) - length(treated))),
  measures = list()
)

summ <- function(x) list(n = length(x), mean = if (length(x)) mean(x) else NA,
                         sd = if (length(x) > 1) sd(x) else NA)

wilson <- function(events, n) {
  if (n == 0) return(list(n = 0L, events = 0L, rate = NA, lower95 = NA, upper95 = NA))
  ci <- suppressWarnings(prop.test(events, n, correct = FALSE))$conf.int
  list(n = n, events = events, rate = events / n, lower95 = ci[1], upper95 = ci[2])
}

for (code in names(instruments)) {
  m <- instruments[[code]]
  am <- a[a$instrument == code & a$patient_id %in% treated, ]
  am <- am[order(am$patient_id, am$day), ]
  ep <- list()      # one row per patient with any score of m
  traj <- list()    # trajectory observations
  rel <- list()     # relapse rows of the patients at risk
  rel_excluded <- 0L
  for (pid in unique(am$patient_id)) {
    x <- am[am$patient_id == pid, ]
    idx <- index_of[[pid]]
    inb <- x$day >= idx - baseline_days & x$day <= idx
    acute <- x[x$day > idx & x$day <= idx + acute_days, ]
    has_b <- any(inb)
    b <- if (has_b) x[max(which(inb)), ] else NULL
    has_e <- has_b && nrow(acute) > 0
    e <- if (nrow(acute) > 0) acute[nrow(acute), ] else NULL
    row <- data.frame(patient = pid, has_b = has_b, has_e = has_e, baseline = NA_integer_,
                      endpoint = NA_integer_, eligible = FALSE, response = FALSE, remission = FALSE,
                      rc = NA_character_)
    if (has_b) {
      row$baseline <- b$score
      row$eligible <- b$score >= m$cutoff
      # trajectory: the baseline and the acute-window scores, t in weeks since the baseline
      obs <- rbind(b, acute)
      week <- c(0L, as.integer(ceiling((acute$day - idx) / 7)))
      traj[[pid]] <- data.frame(patient = pid, t = (obs$day - b$day) / 7, y = obs$score, week = week)
    }
    if (has_e) {
      row$endpoint <- e$score
      ch <- e$score - b$score
      row$response <- row$eligible && 2 * e$score <= b$score
      row$remission <- row$eligible && e$score < m$remission
      row$rc <- if (ch >= m$rc) "deteriorated"
        else if (ch <= -m$rc && b$score >= m$cutoff && e$score < m$cutoff) "recovered"
        else if (ch <= -m$rc) "improved"
        else "unchanged"
    }
    if (row$eligible) {
      resp <- acute[2 * acute$score <= b$score, ]
      if (nrow(resp) > 0) {
        r <- resp$day[1]
        fu <- x[x$day > r, ]
        if (nrow(fu) == 0) {
          rel_excluded <- rel_excluded + 1L
        } else {
          hi <- fu$score >= m$cutoff
          nxt <- c(hi[-1], TRUE)  # the next follow-up is also >= cutoff, or there is none
          ev <- which(hi & nxt)
          if (length(ev)) {
            rel[[pid]] <- data.frame(patient = pid, time = fu$day[ev[1]] - r, event = 1L,
                                     program = program_of[[pid]], baseline = b$score)
          } else {
            rel[[pid]] <- data.frame(patient = pid, time = fu$day[nrow(fu)] - r, event = 0L,
                                     program = program_of[[pid]], baseline = b$score)
          }
        }
      }
    }
    ep[[pid]] <- row
  }
  ep <- do.call(rbind, ep)
  traj <- do.call(rbind, traj)
  rel <- do.call(rbind, rel)

  wb <- ep[ep$has_b, ]
  we <- ep[ep$has_e, ]
  el <- wb[wb$eligible, ]
  comp <- we[we$eligible, ]
  change <- we$endpoint - we$baseline
  tt <- t.test(change)
  res <- list(
    patients = nrow(ep),
    with_baseline = nrow(wb), with_endpoint = nrow(we), eligible = nrow(el),
    baseline = summ(wb$baseline), endpoint = summ(we$endpoint),
    change = list(n = length(change), mean = mean(change), sd = sd(change),
                  lower95 = tt$conf.int[1], upper95 = tt$conf.int[2],
                  t = unname(tt$statistic), df = unname(tt$parameter), p = tt$p.value,
                  cohens_dz = mean(change) / sd(change)),
    response = wilson(sum(comp$response), nrow(comp)),
    response_itt = wilson(sum(el$response), nrow(el)),
    remission = wilson(sum(comp$remission), nrow(comp)),
    remission_itt = wilson(sum(el$remission), nrow(el)),
    reliable_change = as.list(sapply(c("recovered", "improved", "unchanged", "deteriorated"),
                                     function(k) sum(we$rc == k)))
  )

  # ---- trajectory (SPEC 6.10) ----
  traj$patient <- factor(traj$patient)
  fit <- lmer(y ~ 1 + t + (1 + t | patient), data = traj, REML = TRUE,
              control = lmerControl(optimizer = "bobyqa",
                                    optCtrl = list(rhoend = 1e-10, maxfun = 1e5)))
  fe <- fixef(fit)
  se <- sqrt(diag(as.matrix(vcov(fit))))
  vc <- VarCorr(fit)$patient
  sds <- attr(vc, "stddev")
  res$trajectory <- list(
    n_obs = nrow(traj), n_groups = nlevels(traj$patient),
    fixed = list(intercept = list(estimate = unname(fe[1]), se = unname(se[1])),
                 slope = list(estimate = unname(fe[2]), se = unname(se[2]))),
    sd_intercept = unname(sds[1]), sd_slope = unname(sds[2]),
    corr = attr(vc, "correlation")[1, 2], sd_residual = sigma(fit),
    loglik = as.numeric(logLik(fit)), reml = TRUE
  )

  # ---- weekly means ----
  # each patient counts once a week: the last score of the week (traj is in day order)
  traj <- traj[!duplicated(traj[c("patient", "week")], fromLast = TRUE), ]
  weeks <- sort(unique(traj$week))
  res$weekly <- lapply(weeks, function(w) {
    y <- traj$y[traj$week == w]
    r <- list(week = w, n = length(y), mean = mean(y), sd = NA, lower95 = NA, upper95 = NA)
    if (length(y) > 1) {
      r$sd <- sd(y)
      h <- qt(0.975, length(y) - 1) * sd(y) / sqrt(length(y))
      r$lower95 <- mean(y) - h
      r$upper95 <- mean(y) + h
    }
    r
  })

  # ---- relapse (SPEC 6.9) ----
  km <- survfit(Surv(time, event) ~ 1, data = rel, conf.type = "log")
  sm <- summary(km, times = relapse_days)  # extend = FALSE: times past follow-up are left out
  rf <- lapply(relapse_days, function(d) {
    k <- match(d, sm$time)
    if (is.na(k)) return(list(day = d, n_risk = 0L, survival = NA, std_err = NA, lower95 = NA, upper95 = NA))
    list(day = d, n_risk = sm$n.risk[k], survival = sm$surv[k], std_err = sm$std.err[k],
         lower95 = sm$lower[k], upper95 = sm$upper[k])
  })
  med <- unname(summary(km)$table["median"])
  lr <- survdiff(Surv(time, event) ~ program, data = rel)
  lr_df <- length(lr$n) - 1
  rel$program <- factor(rel$program, levels = c("kap", "infusion"))
  cx <- coxph(Surv(time, event) ~ program + baseline, data = rel, ties = "efron")
  cs <- summary(cx)$coefficients
  term <- function(name, row) list(term = name, coef = cs[row, "coef"], se = cs[row, "se(coef)"],
                                   hazard_ratio = cs[row, "exp(coef)"], z = cs[row, "z"],
                                   p = cs[row, "Pr(>|z|)"])
  res$relapse <- list(
    at_risk = nrow(rel), events = sum(rel$event),
    excluded = list(no_followup_after_response = rel_excluded),
    median_days = if (is.na(med)) NA else med,
    relapse_free = rf,
    by_program = list(
      n = as.list(setNames(as.integer(lr$n), sub("program=", "", names(lr$n)))),
      logrank = list(chisq = lr$chisq, df = lr_df, p = pchisq(lr$chisq, lr_df, lower.tail = FALSE))),
    cox = list(n = cx$n, events = cx$nevent,
               terms = list(term("program=infusion", "programinfusion"), term("baseline", "baseline")),
               loglik = cx$loglik)
  )
  out$measures[[code]] <- res
}

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE),
           file.path(dir, "expected.json"))
cat("wrote", file.path(dir, "expected.json"), "\n")
