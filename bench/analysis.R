# What a researcher would do in R on kapstat's input files, for PHQ-9 only:
# read the CSVs, score and clean the rows, derive index / baseline / acute
# window (SPEC section 6) with vectorised data.table code, fit the trajectory
# mixed model with lme4 and the relapse survival models with survival.
# Each stage is timed with system.time and printed as "R_TIME <stage> <s>".
#
# Usage: Rscript bench/analysis.R ASSESSMENTS.csv SESSIONS.csv TRAJ.csv ANALYSIS.json
#   TRAJ.csv       the trajectory observations kapstat used, written with
#                  `kapstat sql` (patient_id,t,score): lmer is also fitted on
#                  exactly this file to time it against `kapstat model lmm`
#   ANALYSIS.json  kapstat's `analyze --json` output, to compare the results
# Uses data.table::fread when data.table is installed, read.csv otherwise.
suppressPackageStartupMessages({
  library(lme4)
  library(survival)
})
args <- commandArgs(TRUE)
stopifnot(length(args) == 4)
have_dt <- requireNamespace("data.table", quietly = TRUE)
if (!have_dt) stop("bench/analysis.R needs data.table (apt-get install -y r-cran-data.table)")
suppressPackageStartupMessages(library(data.table))
setDTthreads(0)
timed <- function(stage, expr) {
  t <- system.time(v <- expr)
  cat(sprintf("R_TIME %s %.2f\n", stage, t[["elapsed"]]))
  flush(stdout())
  v
}
cat(sprintf("R %s, data.table %s (%d threads), lme4 %s, survival %s\n",
            getRversion(), packageVersion("data.table"), getDTthreads(),
            packageVersion("lme4"), packageVersion("survival")))

## 1. read -------------------------------------------------------------------
items <- paste0("item_", 1:9)
a <- timed("read_csv", {
  a <- fread(args[1], select = c("patient_id", "instrument", "date", items, "item_10", "total"),
             colClasses = list(character = c("patient_id", "instrument", "date")), na.strings = "")
  s <- fread(args[2], select = c("patient_id", "date", "session_type", "program"), na.strings = "")
  list(a = a, s = s)
})
s <- a$s; a <- a$a
cat(sprintf("R rows: %d assessments, %d sessions\n", nrow(a), nrow(s)))

## 2. score, clean and derive (PHQ-9) ------------------------------------------
d <- timed("derive", {
  # PHQ-9 rows (instrument spellings PHQ9, PHQ-9, phq_9 …)
  ph <- a[toupper(gsub("[-_ ]", "", instrument)) == "PHQ9"]
  m <- as.matrix(ph[, ..items])
  answered <- rowSums(!is.na(m))
  in_range <- rowSums(m < 0 | m > 3, na.rm = TRUE) == 0
  isum <- rowSums(m, na.rm = TRUE)
  # prorating: up to 2 missing items, total = round-half-up(mean × 9)
  ph[, score := ifelse(answered > 0, floor(isum / pmax(answered, 1) * 9 + 0.5), total)]
  ph[, day := as.integer(as.IDate(date))]
  ok <- in_range & (answered >= 7 | (answered == 0 & !is.na(ph$total))) & is.na(ph$item_10) &
    (is.na(ph$total) | answered < 9 | ph$total == isum) & !is.na(ph$day) &
    !is.na(ph$score) & ph$score >= 0 & ph$score <= 27 & grepl("^[A-Za-z0-9_-]+$", ph$patient_id)
  ph <- ph[ok]
  ph[, key := do.call(paste, c(.SD, sep = "|")), .SDcols = c(items, "total")]
  ph <- unique(ph, by = c("patient_id", "day", "key"))        # exact duplicates
  ph[, n := .N, by = .(patient_id, day)]
  ph <- ph[n == 1L, .(patient_id, day, score)]                 # conflicts: drop all
  setkey(ph, patient_id, day)

  # index day = first dosing session; program of that session
  s[, day := as.integer(as.IDate(date))]
  dose <- s[session_type == "dosing" & !is.na(day)]
  setorder(dose, patient_id, day)
  idx <- dose[, .(index = day[1L], program = program[1L]), by = patient_id]

  x <- idx[ph, on = "patient_id", nomatch = NULL]
  # baseline: latest score in [index − 30, index]
  base <- unique(x[day >= index - 30L & day <= index], by = "patient_id", fromLast = TRUE)[
    , .(patient_id, bday = day, baseline = score)]
  x <- base[x, on = "patient_id", nomatch = NULL]
  acute <- x[day > index & day <= index + 56L]
  traj <- rbind(base[, .(patient_id, t = 0, score = baseline)],
                acute[, .(patient_id, t = (day - bday) / 7, score)])
  setorder(traj, patient_id, t)

  # relapse after response (eligible: baseline ≥ 10)
  resp <- acute[baseline >= 10 & score <= 0.5 * baseline, .(r = min(day)), by = patient_id]
  fu <- x[resp, on = "patient_id", nomatch = NULL][day > r]
  setorder(fu, patient_id, day)
  fu[, hi := score >= 10]
  fu[, nxt := shift(hi, type = "lead"), by = patient_id]
  fu[, ev := hi & (is.na(nxt) | nxt)]
  first_ev <- unique(fu[ev == TRUE], by = "patient_id")[, .(patient_id, evday = day)]
  rel <- unique(fu, by = "patient_id", fromLast = TRUE)[, .(patient_id, program, baseline, r, last = day)]
  rel <- first_ev[rel, on = "patient_id"]
  rel[, `:=`(time = ifelse(is.na(evday), last - r, evday - r), event = as.integer(!is.na(evday)))]
  rel[, program := factor(program, levels = c("kap", "infusion"))]
  list(traj = traj, rel = rel, patients = nrow(base))
})
traj <- d$traj; rel <- d$rel
cat(sprintf("R derived: %d patients with a PHQ-9 baseline, %d trajectory observations, %d at risk of relapse, %d relapses\n",
            d$patients, nrow(traj), nrow(rel), sum(rel$event)))

## 3. trajectory mixed model on the R-derived observations ------------------------
fit <- timed("lmer", lmer(score ~ t + (t | patient_id), traj))

## 4. relapse: Kaplan–Meier and log-rank by program, Cox ---------------------------
sv <- timed("survival", {
  km <- survfit(Surv(time, event) ~ program, rel)
  lr <- survdiff(Surv(time, event) ~ program, rel)
  cx <- coxph(Surv(time, event) ~ program + baseline, rel, ties = "efron")
  list(km = km, lr = lr, cx = cx)
})

## 5. lmer on exactly kapstat's observations (kapstat sql export) --------------------
same <- timed("read_traj_csv", fread(args[3]))
fit2 <- timed("lmer_same_file", lmer(score ~ t + (t | patient_id), same))

## compare with kapstat ----------------------------------------------------------
j <- jsonlite::fromJSON(args[4], simplifyVector = FALSE)$measures$PHQ9
tj <- j$trajectory
est <- function(f) {
  vc <- as.data.frame(VarCorr(f))
  c(intercept = fixef(f)[[1]], slope = fixef(f)[[2]], sd_intercept = vc$sdcor[1],
    sd_slope = vc$sdcor[2], corr = vc$sdcor[3], sd_residual = sigma(f))
}
k <- c(intercept = tj$fixed$intercept$estimate, slope = tj$fixed$slope$estimate,
       sd_intercept = tj$sd_intercept, sd_slope = tj$sd_slope, corr = tj$corr, sd_residual = tj$sd_residual)
cat(sprintf("kapstat: %d trajectory observations in %d patients; R derived %d in %d\n",
            tj$n_obs, tj$n_groups, nrow(traj), d$patients))
print(signif(rbind(kapstat = k, lmer_R_derived = est(fit), lmer_same_file = est(fit2)), 7))
rd <- max(abs(est(fit2) - k) / pmax(abs(k), 1e-8))
cat(sprintf("R_CMP lmm_same_file_max_rel_diff %.2e\n", rd))
# which optimum is better: lme4's own REML criterion at lme4's θ and at kapstat's θ
theta <- unlist(tj$theta)
if (length(theta) == 3) {
  dev <- getME(fit2, "devfun")
  cat(sprintf("R_CMP reml_criterion lme4_theta %.6f kapstat_theta %.6f\n", dev(getME(fit2, "theta")), dev(theta)))
}
cx <- sv$cx
kc <- sapply(j$relapse$cox$terms, function(t) t$coef)
cat(sprintf("relapse: kapstat %d at risk, %d events, Cox coef %s; R %d at risk, %d events, Cox coef %s\n",
            j$relapse$at_risk, j$relapse$events, paste(signif(kc, 6), collapse = " "),
            nrow(rel), sum(rel$event), paste(signif(coef(cx), 6), collapse = " ")))
cat(sprintf("log-rank chisq: kapstat %.6g, R %.6g\n", j$relapse$by_program$logrank$chisq, sv$lr$chisq))
for (w in c(fit@optinfo$conv$lme4$messages, fit2@optinfo$conv$lme4$messages))
  cat("lme4 message:", w, "\n")
