# A simulated KAP cohort and R's treatment-course and session-safety figures
# on it: the reference values of the course, retention, ideation, window and
# session-safety functions of package measures/outcome.
#
# Run from this directory:  Rscript course.R
# Written with R 4.2.2 and survival 3.5-3 (Debian bookworm packages
# r-base-core, r-cran-survival); base R otherwise.
#
# The cohort is simulated here with a fixed seed, independently of kapstat:
# patients in two programs (kap, infusion) with their routes and settings
# (some switching route or setting during the course), 1 to 8 doses at
# irregular gaps (some beyond the 56-day acute window), dosing sessions after
# the window, maintenance sessions, dose_mg (sometimes missing), vitals and
# dissociation (sometimes missing, some sessions with only some vitals), side
# effects (some "none", some not recorded), serious adverse events; PHQ-9
# (with item 9, sometimes total-only) and GAD-7 scores at baseline (some
# without one, some below the cutoff), during the acute window (some on a
# dose day) and at follow-up. The as-of day 720 leaves some acute windows,
# maintenance horizons and follow-up windows open. A few patients have no
# dosing session (not treated).
#
# The definitions of the specification's items 6.16-6.18 are written out below
# in R, independently of the Go code, and R computes each figure: survfit
# (median and limits as print.survfit, cumulative response at days 7, 14, 28,
# 56 from summary(fit, times)), prop.test(correct = FALSE)'s Wilson interval,
# quantile type 7, mcnemar.test, t.test and poisson.test.
#
# Output: sessions.csv and scores.csv (the cohort), results.csv (one row per
# figure: its path in kapstat's analysis JSON, and R's value), versions.csv.

suppressPackageStartupMessages(library(survival))
invisible(Sys.setlocale("LC_COLLATE", "C"))

fmt <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))

write.csv(data.frame(
  package = c("R", "survival"),
  version = c(paste(R.version$major, R.version$minor, sep = "."),
              as.character(packageVersion("survival")))),
  "versions.csv", row.names = FALSE, quote = FALSE)

## The cohort ------------------------------------------------------------------

set.seed(20260315)
N <- 320
ASOF <- 720
ACUTE <- 56
BASEDAYS <- 30
id <- sprintf("c%03d", seq_len(N))
program <- sample(c("kap", "infusion"), N, replace = TRUE, prob = c(0.65, 0.35))
inf <- program == "infusion"
route <- ifelse(inf, sample(c("iv", "im"), N, replace = TRUE, prob = c(0.85, 0.15)),
                sample(c("sublingual", "im", "intranasal", "oral"), N, replace = TRUE,
                       prob = c(0.45, 0.30, 0.20, 0.05)))
setting <- ifelse(inf, "in_person",
                  sample(c("in_person", "home", "telehealth"), N, replace = TRUE,
                         prob = c(0.55, 0.35, 0.10)))
index <- sample(0:700, N, replace = TRUE)
ndose <- sample(1:8, N, replace = TRUE, prob = c(0.12, 0.08, 0.10, 0.25, 0.12, 0.23, 0.06, 0.04))
untreated <- sample(N, 4)
dday <- lapply(seq_len(N), function(i) index[i] + cumsum(c(0, sample(3:12, ndose[i] - 1, replace = TRUE))))

mg <- function(r) switch(r,
  sublingual = sample(c(200, 300, 400), 1), im = round(runif(1, 50, 100)),
  iv = round(runif(1, 30, 70), 1), intranasal = sample(c(56, 84), 1), oral = sample(c(150, 250), 1))
clip <- function(x, lo, hi) pmin(pmax(x, lo), hi)
codes <- c("nausea", "vomiting", "dizziness", "headache", "confusion", "anxiety",
           "dissociation", "hypertension", "other")
pcode <- c(0.20, 0.04, 0.25, 0.10, 0.05, 0.08, 0.15, 0.03, 0.02)

sess <- list()
add <- function(...) sess[[length(sess) + 1]] <<- data.frame(..., stringsAsFactors = FALSE)
dosing_row <- function(i, day, r, st, k) {
  vit <- runif(1) > 0.07
  na5 <- function(v) if (!vit || runif(1) < 0.05) NA else v
  sp <- clip(round(rnorm(1, 128, 14)), 90, 200)
  dp <- clip(round(rnorm(1, 80, 9)), 50, 120)
  hp <- clip(round(rnorm(1, 74, 10)), 45, 130)
  sm <- clip(sp + round(rnorm(1, 16, 12)) + if (runif(1) < 0.06) 30 else 0, 60, 260)
  dm <- clip(dp + round(rnorm(1, 9, 7)) + if (runif(1) < 0.04) 20 else 0, 30, 160)
  hm <- clip(hp + round(rnorm(1, 8, 6)), 30, 220)
  dis <- if (runif(1) < 0.15) NA else clip(round(rnorm(1, 11 - 1.1 * (min(k, 7) - 1), 4)), 0, 24)
  se <- ""
  if (runif(1) < 0.85) {
    hit <- codes[runif(length(codes)) < pcode]
    se <- if (length(hit) == 0) "none" else paste(hit, collapse = ";")
  }
  sae <- if (runif(1) < 0.10) "" else if (runif(1) < 0.006) "yes" else "no"
  add(patient_id = id[i], day = day, session_type = "dosing", route = r, setting = st,
      program = program[i], dose_mg = if (runif(1) < 0.06) NA else mg(r),
      sbp_pre = na5(sp), dbp_pre = na5(dp), hr_pre = na5(hp),
      sbp_max = na5(sm), dbp_max = na5(dm), hr_max = na5(hm),
      dissociation = dis, side_effects = se, serious_adverse_event = sae)
}
other_row <- function(i, day, type, r = "") {
  add(patient_id = id[i], day = day, session_type = type, route = r, setting = "",
      program = "", dose_mg = NA, sbp_pre = NA, dbp_pre = NA, hr_pre = NA,
      sbp_max = NA, dbp_max = NA, hr_max = NA, dissociation = NA, side_effects = "",
      serious_adverse_event = "")
}

for (i in seq_len(N)) {
  other_row(i, index[i] - sample(3:20, 1), "preparation")
  if (i %in% untreated) next
  days <- dday[[i]]
  switch_at <- if (!inf[i] && runif(1) < 0.12) 3 else Inf
  home_at <- if (!inf[i] && setting[i] == "in_person" && runif(1) < 0.15) 2 else Inf
  for (k in seq_along(days)) {
    r <- if (k >= switch_at) setdiff(c("sublingual", "im"), route[i])[1] else route[i]
    st <- if (k >= home_at) "home" else setting[i]
    dosing_row(i, days[k], r, st, k)
    if (!inf[i] && runif(1) < 0.7) other_row(i, days[k] + 1, "integration")
  }
  if (runif(1) < 0.08) dosing_row(i, index[i] + ACUTE + sample(1:44, 1), route[i], setting[i], 7)
  if (runif(1) < 0.30) {
    for (d in sort(sample(60:330, sample(1:3, 1)))) other_row(i, index[i] + d, "maintenance", route[i])
  }
}
sessions <- do.call(rbind, sess)
sessions <- sessions[sessions$day <= ASOF, ]
sessions <- sessions[order(sessions$patient_id, sessions$day), ]

sc <- list()
for (i in seq_len(N)) {
  nobase <- runif(1) < 0.04
  bday <- if (nobase) index[i] - sample(35:60, 1) else index[i] - sample(0:25, 1)
  acute <- sort(unique(c(
    index[i] + sample(c(7, 14, 21, 28, 35, 42, 49, 56), sample(0:4, 1)),
    # scores on dose days (taken before that day's dose)
    dday[[i]][-1][runif(ndose[i] - 1) < 0.3])))
  acute <- acute[acute <= index[i] + ACUTE]
  if (runif(1) < 0.08) acute <- c()
  fu <- c()
  if (runif(1) < 0.65) {
    fu <- index[i] + c(90, 150, 200, 270, 330, 400) + sample(-10:10, 6, replace = TRUE)
    fu <- fu[runif(6) < 0.45]
  }
  days <- c(bday, acute, fu)
  f <- rbeta(1, 2.2, 2)
  tau <- runif(1, 7, 30)
  for (inst in c("PHQ9", "GAD7")) {
    top <- if (inst == "PHQ9") 27 else 21
    base <- clip(round(if (inst == "PHQ9") rnorm(1, 16, 5) else rnorm(1, 13, 4.5)), 0, top)
    for (d in days) {
      if (inst == "GAD7" && runif(1) < 0.15) next
      t <- max(d - index[i], 0)
      mu <- base * (1 - f * (1 - exp(-t / tau))) + if (t > ACUTE) rnorm(1, 0.02 * (t - ACUTE) / 7, 2) else 0
      total <- clip(round(mu + rnorm(1, 0, 2)), 0, top)
      item9 <- NA
      if (inst == "PHQ9" && runif(1) > 0.07) {
        item9 <- if (runif(1) < plogis((total - 15) / 3)) sample(1:3, 1, prob = c(0.6, 0.3, 0.1)) else 0
      }
      sc[[length(sc) + 1]] <- data.frame(patient_id = id[i], instrument = inst, day = d,
                                         total = total, item9 = item9)
    }
  }
}
scores <- do.call(rbind, sc)
scores <- scores[scores$day <= ASOF, ]
scores <- scores[!duplicated(scores[c("patient_id", "instrument", "day")]), ]
scores <- scores[order(scores$patient_id, scores$instrument, scores$day), ]

write.csv(sessions, "sessions.csv", row.names = FALSE, quote = FALSE, na = "")
write.csv(scores, "scores.csv", row.names = FALSE, quote = FALSE, na = "")

## The definitions, written out ---------------------------------------------------

res <- list()
put <- function(key, value) res[[length(res) + 1]] <<- data.frame(key = key, value = fmt(value))
put("as_of", ASOF) # the as-of day of every figure, not a figure itself
wilson <- function(key, x, n) {
  put(paste0(key, ".n"), n)
  put(paste0(key, ".events"), x)
  if (n == 0) {
    put(paste0(key, ".rate"), NA); put(paste0(key, ".lower95"), NA); put(paste0(key, ".upper95"), NA)
  } else {
    ci <- suppressWarnings(prop.test(x, n, correct = FALSE))$conf.int
    put(paste0(key, ".rate"), x / n); put(paste0(key, ".lower95"), ci[1]); put(paste0(key, ".upper95"), ci[2])
  }
}
quart <- function(key, x, suffix = c("median", "q1", "q3")) {
  q <- if (length(x) == 0) rep(NA, 3) else quantile(x, c(0.5, 0.25, 0.75), type = 7, names = FALSE)
  for (j in 1:3) put(paste0(key, suffix[j]), q[j])
}

dose_sessions <- sessions[sessions$session_type == "dosing", ]
treated <- sort(unique(dose_sessions$patient_id))
idx <- tapply(dose_sessions$day, dose_sessions$patient_id, min)
prog_of <- sapply(treated, function(p) {
  d <- dose_sessions[dose_sessions$patient_id == p, ]
  d$program[which.min(d$day)]
})
doses_of <- lapply(treated, function(p) {
  d <- dose_sessions[dose_sessions$patient_id == p, ]
  d <- d[d$day >= idx[[p]] & d$day <= idx[[p]] + ACUTE, ]
  d[order(d$day), ]
})
names(doses_of) <- treated
open <- sapply(treated, function(p) idx[[p]] + ACUTE > ASOF)

## Treatment course per instrument
thresholds <- list(PHQ9 = c(cutoff = 10, remission = 5), GAD7 = c(cutoff = 10, remission = 5))
days_at <- c(7, 14, 28, 56)
km_put <- function(key, d) {
  put(paste0(key, ".n"), nrow(d))
  put(paste0(key, ".events"), sum(d$event))
  put(paste0(key, ".acute_window_open"), sum(d$open))
  fit <- survfit(Surv(time, event) ~ 1, data = d)
  tab <- summary(fit)$table
  put(paste0(key, ".median_days"), tab[["median"]])
  put(paste0(key, ".median_lower95"), tab[["0.95LCL"]])
  put(paste0(key, ".median_upper95"), tab[["0.95UCL"]])
  s <- summary(fit, times = days_at, extend = FALSE)
  for (j in seq_along(days_at)) {
    k <- paste0(key, ".by_day.", j - 1)
    put(paste0(k, ".time"), days_at[j])
    m <- match(days_at[j], s$time)
    put(paste0(k, ".n_risk"), if (is.na(m)) 0 else s$n.risk[m])
    put(paste0(k, ".cumulative"), if (is.na(m)) NA else 1 - s$surv[m])
    put(paste0(k, ".lower95"), if (is.na(m)) NA else 1 - s$upper[m])
    put(paste0(k, ".upper95"), if (is.na(m)) NA else 1 - s$lower[m])
  }
}

for (inst in names(thresholds)) {
  th <- thresholds[[inst]]
  course <- data.frame()
  for (p in treated) {
    s <- scores[scores$patient_id == p & scores$instrument == inst, ]
    ix <- idx[[p]]
    b <- s[s$day >= ix - BASEDAYS & s$day <= ix, ]
    if (nrow(b) == 0) next
    base <- b$total[which.max(b$day)]
    if (base < th[["cutoff"]]) next
    a <- s[s$day > ix & s$day <= ix + ACUTE, ]
    a <- a[order(a$day), ]
    dd <- doses_of[[p]]$day
    resp <- which(2 * a$total <= base)
    rem <- which(a$total < th[["remission"]])
    last <- if (nrow(a) > 0) max(a$day) - ix else NA
    course <- rbind(course, data.frame(
      patient = p, program = prog_of[[p]], open = open[[p]], nacute = nrow(a),
      ndose = length(dd),
      rdose = if (length(resp)) sum(dd < a$day[resp[1]]) else 0,
      rtime = if (length(resp)) a$day[resp[1]] - ix else last, revent = length(resp) > 0,
      mtime = if (length(rem)) a$day[rem[1]] - ix else last, mevent = length(rem) > 0))
  }
  inc <- course[course$nacute > 0, ]
  for (what in c("response", "remission")) {
    d <- data.frame(time = if (what == "response") inc$rtime else inc$mtime,
                    event = if (what == "response") inc$revent else inc$mevent,
                    open = inc$open, program = inc$program)
    key <- paste0(inst, ".time_to_", what)
    km_put(key, d)
    for (pr in sort(unique(d$program))) km_put(paste0(key, ".by_program.", pr), d[d$program == pr, ])
  }
  closed <- course[!course$open, ]
  for (k in 1:6) {
    key <- paste0(inst, ".response_by_dose.", k - 1)
    put(paste0(key, ".dose"), k)
    inn <- closed[closed$ndose >= k, ]
    wilson(key, sum(inn$rdose >= 1 & inn$rdose <= k), nrow(inn))
  }

  ## Follow-up windows
  windows <- list(c(120, 240), c(305, 425))
  for (w in seq_along(windows)) {
    from <- windows[[w]][1]; to <- windows[[w]][2]
    elig <- 0; wopen <- 0; followed <- 0; resp <- 0; rem <- 0
    for (p in treated) {
      s <- scores[scores$patient_id == p & scores$instrument == inst, ]
      ix <- idx[[p]]
      b <- s[s$day >= ix - BASEDAYS & s$day <= ix, ]
      if (nrow(b) == 0) next
      base <- b$total[which.max(b$day)]
      if (base < th[["cutoff"]]) next
      if (ix + to > ASOF) { wopen <- wopen + 1; next }
      elig <- elig + 1
      inw <- s[s$day - ix >= from & s$day - ix <= to, ]
      if (nrow(inw) == 0) next
      followed <- followed + 1
      last <- inw$total[which.max(inw$day)]
      resp <- resp + (2 * last <= base)
      rem <- rem + (last < th[["remission"]])
    }
    key <- paste0(inst, ".windows.", w - 1)
    put(paste0(key, ".from"), from); put(paste0(key, ".to"), to)
    put(paste0(key, ".eligible"), elig); put(paste0(key, ".window_open"), wopen)
    wilson(paste0(key, ".followed"), followed, elig)
    wilson(paste0(key, ".response"), resp, followed)
    wilson(paste0(key, ".remission"), rem, followed)
  }
}

## Suicidal ideation (PHQ-9 item 9): baseline and endpoint of closed windows
tab <- c(a = 0, b = 0, c = 0, d = 0); notrec <- 0
for (p in treated) {
  if (open[[p]]) next
  s <- scores[scores$patient_id == p & scores$instrument == "PHQ9", ]
  ix <- idx[[p]]
  b <- s[s$day >= ix - BASEDAYS & s$day <= ix, ]
  e <- s[s$day > ix & s$day <= ix + ACUTE, ]
  if (nrow(b) == 0 || nrow(e) == 0) next
  b9 <- b$item9[which.max(b$day)]; e9 <- e$item9[which.max(e$day)]
  if (is.na(b9) || is.na(e9)) { notrec <- notrec + 1; next }
  cell <- if (b9 >= 1 && e9 >= 1) "a" else if (b9 >= 1) "b" else if (e9 >= 1) "c" else "d"
  tab[[cell]] <- tab[[cell]] + 1
}
put("PHQ9.suicidal_ideation.n", sum(tab))
put("PHQ9.suicidal_ideation.item9_not_recorded", notrec)
put("PHQ9.suicidal_ideation.baseline_positive", tab[["a"]] + tab[["b"]])
put("PHQ9.suicidal_ideation.baseline_negative", tab[["c"]] + tab[["d"]])
wilson("PHQ9.suicidal_ideation.resolved", tab[["b"]], tab[["a"]] + tab[["b"]])
wilson("PHQ9.suicidal_ideation.emergent", tab[["c"]], tab[["c"]] + tab[["d"]])
mc <- mcnemar.test(matrix(c(tab[["a"]], tab[["c"]], tab[["b"]], tab[["d"]]), 2))
put("PHQ9.suicidal_ideation.mcnemar.chisq", unname(mc$statistic))
put("PHQ9.suicidal_ideation.mcnemar.p", mc$p.value)

## Retention and dose exposure
ret <- data.frame(patient = treated, program = unname(prog_of), open = unname(open),
                  ndose = sapply(treated, function(p) nrow(doses_of[[p]])),
                  mg = sapply(treated, function(p) sum(doses_of[[p]]$dose_mg)), # NA when any is NA
                  mopen = sapply(treated, function(p) idx[[p]] + 182 > ASOF),
                  maint = sapply(treated, function(p) any(sessions$patient_id == p &
                    sessions$session_type == "maintenance" & sessions$day <= idx[[p]] + 182)))
ret_put <- function(key, r) {
  put(paste0(key, ".treated"), nrow(r))
  put(paste0(key, ".acute_window_open"), sum(r$open))
  put(paste0(key, ".maintenance_window_open"), sum(r$mopen))
  c <- r[!r$open, ]
  for (k in 1:6) put(paste0(key, ".doses.", if (k == 6) "6+" else k), if (k == 6) sum(c$ndose >= 6) else sum(c$ndose == k))
  quart(key, c$ndose, c(".median_doses", ".q1_doses", ".q3_doses"))
  wilson(paste0(key, ".induction_completed"), sum(c$ndose >= 4), nrow(c))
  wilson(paste0(key, ".single_dose"), sum(c$ndose == 1), nrow(c))
  mgs <- c$mg[!is.na(c$mg)]
  put(paste0(key, ".total_mg.n"), length(mgs))
  quart(paste0(key, ".total_mg."), mgs)
  m <- r[!r$mopen, ]
  wilson(paste0(key, ".maintenance_182"), sum(m$maint), nrow(m))
}
ret_put("retention.overall", ret)
for (pr in sort(unique(ret$program))) ret_put(paste0("retention.by_program.", pr), ret[ret$program == pr, ])

## Session safety over every dosing session
ds <- dose_sessions
ds$dose <- 0
for (p in treated) {
  w <- which(ds$patient_id == p & ds$day >= idx[[p]] & ds$day <= idx[[p]] + ACUTE)
  w <- w[order(ds$day[w])]
  ds$dose[w] <- seq_along(w)
}
ds$setting[ds$setting == ""] <- "in_person"
ds$bprec <- !is.na(ds$sbp_pre) & !is.na(ds$sbp_max) & !is.na(ds$dbp_max)
ds$bpel <- ds$bprec & (ds$sbp_max >= 180 | ds$dbp_max >= 110 | ds$sbp_max - ds$sbp_pre >= 40)
ds$serec <- ds$side_effects != ""
has <- function(code) sapply(strsplit(ds$side_effects, ";"), function(v) code %in% v)
for (code in codes) ds[[paste0("se_", code)]] <- has(code)
ds$se_any <- ds$serec & ds$side_effects != "none"

safety_put <- function(key, d) {
  put(paste0(key, ".dosing_sessions"), nrow(d))
  put(paste0(key, ".patients"), length(unique(d$patient_id)))
  wilson(paste0(key, ".bp_elevation"), sum(d$bpel), sum(d$bprec))
  pb <- d[d$bprec, ]
  wilson(paste0(key, ".bp_elevation_patients"), length(unique(pb$patient_id[pb$bpel])), length(unique(pb$patient_id)))
  ps <- d[d$serec, ]
  for (code in c(codes, "any")) {
    col <- paste0("se_", code)
    wilson(paste0(key, ".side_effects.", code), sum(ps[[col]]), nrow(ps))
    wilson(paste0(key, ".side_effects_patients.", code), length(unique(ps$patient_id[ps[[col]]])),
           length(unique(ps$patient_id)))
  }
  for (k in 1:6) {
    x <- d$dissociation[d$dose == k & !is.na(d$dissociation)]
    kk <- paste0(key, ".dissociation_by_dose.", k - 1)
    put(paste0(kk, ".dose"), k)
    put(paste0(kk, ".n"), length(x))
    put(paste0(kk, ".mean"), if (length(x)) mean(x) else NA)
    put(paste0(kk, ".sd"), if (length(x) > 1) sd(x) else NA)
    ci <- if (length(x) > 1) t.test(x)$conf.int else c(NA, NA)
    put(paste0(kk, ".lower95"), ci[1]); put(paste0(kk, ".upper95"), ci[2])
  }
  sa <- d[d$serious_adverse_event != "", ]
  x <- sum(sa$serious_adverse_event == "yes"); n <- nrow(sa)
  kk <- paste0(key, ".serious_adverse_events")
  put(paste0(kk, ".events"), x); put(paste0(kk, ".sessions"), n)
  ci <- if (n > 0) poisson.test(x, n)$conf.int * 1000 else c(NA, NA)
  put(paste0(kk, ".per_1000"), if (n > 0) 1000 * x / n else NA)
  put(paste0(kk, ".lower95"), ci[1]); put(paste0(kk, ".upper95"), ci[2])
}
put("session_safety.dosing_sessions", nrow(ds))
safety_put("session_safety.overall", ds)
for (r in sort(unique(ds$route))) safety_put(paste0("session_safety.by_route.", r), ds[ds$route == r, ])
for (s in sort(unique(ds$setting))) safety_put(paste0("session_safety.by_setting.", s), ds[ds$setting == s, ])

results <- do.call(rbind, res)
write.csv(results, "results.csv", row.names = FALSE, quote = FALSE)
cat(nrow(sessions), "sessions,", nrow(scores), "scores,", nrow(results), "reference values\n")
