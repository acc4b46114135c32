#!/usr/bin/env bash
# Times `kapstat model lmm|km|cox` against R (lme4, survival) on the same
# synthetic files in the same run, and prints the time ratios and the
# largest differences between the estimates.
#
# Usage (from the repository root):
#   measures/stats/testdata/bench_lme4.sh [GROUPS] [SURV_ROWS...]
# Defaults: 100000 groups × 8 observations for the mixed model, and
# 100000 and 1000000 rows for Kaplan–Meier/log-rank and Cox.
# Needs Go and R with lme4 and survival. KAPSTAT=path uses a built binary
# instead of building ./cmd/kapstat. WORK=dir keeps the files (default: a
# temporary directory, removed at the end).
set -euo pipefail

groups=${1:-100000}
shift || true
surv_rows=("$@")
[ ${#surv_rows[@]} -gt 0 ] || surv_rows=(100000 1000000)

work=${WORK:-$(mktemp -d)}
[ -n "${WORK:-}" ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work"

if [ -z "${KAPSTAT:-}" ]; then
  KAPSTAT=$work/kapstat
  go build -o "$KAPSTAT" ./cmd/kapstat
fi

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sm)"
echo "R: $(Rscript -e 'cat(R.version.string, "lme4", format(packageVersion("lme4")), "survival", format(packageVersion("survival")))')"
echo "go: $(go version | cut -d' ' -f3)"
echo

## Linear mixed model ---------------------------------------------------------
csv=$work/lmm_${groups}.csv
Rscript - "$groups" "$csv" <<'EOF'
args <- commandArgs(TRUE)
G <- as.integer(args[1]); set.seed(1)
z1 <- rnorm(G); z2 <- rnorm(G)
b0 <- 4 * z1; b1 <- 0.8 * (-0.3 * z1 + sqrt(1 - 0.09) * z2)
t <- rep(0:7, G); g <- rep(seq_len(G), each = 8)
y <- round(20 - 1.5 * t + b0[g] + b1[g] * t + rnorm(8 * G, 0, 2), 4)
write.csv(data.frame(patient = sprintf("p%07d", g), week = t, score = y), args[2], row.names = FALSE, quote = FALSE)
EOF
echo "lmm: $groups groups x 8 observations ($(($(wc -l < "$csv") - 1)) rows)"

start=$(now)
"$KAPSTAT" model lmm --csv "$csv" --group patient --time week --y score > "$work/lmm.json"
go_s=$(elapsed "$start" "$(now)")

Rscript - "$csv" "$work/lmm.json" "$go_s" <<'EOF'
suppressPackageStartupMessages(library(lme4))
args <- commandArgs(TRUE)
t_read <- system.time(d <- read.csv(args[1]))[["elapsed"]]
t_fit <- system.time(m <- lmer(score ~ week + (week | patient), d))[["elapsed"]]
vc <- as.data.frame(VarCorr(m))
r <- c(intercept = fixef(m)[[1]], slope = fixef(m)[[2]],
       intercept_se = sqrt(vcov(m)[1, 1]), slope_se = sqrt(vcov(m)[2, 2]),
       sd_intercept = vc$sdcor[1], sd_slope = vc$sdcor[2], corr = vc$sdcor[3],
       sd_residual = sigma(m), loglik = as.numeric(logLik(m)))
j <- readLines(args[2])
num <- function(key, k = 1) as.numeric(sub(".*: *([^,]*),?$", "\\1", grep(sprintf('"%s":', key), j, value = TRUE)[k]))
g <- c(intercept = num("estimate", 1), slope = num("estimate", 2), intercept_se = num("se", 1),
       slope_se = num("se", 2), sd_intercept = num("sd_intercept"), sd_slope = num("sd_slope"),
       corr = num("corr"), sd_residual = num("sd_residual"), loglik = num("loglik"))
i <- grep('"theta":', j)
theta <- as.numeric(sub(",", "", trimws(j[(i + 1):(i + 3)])))
dev_go <- getME(m, "devfun")(theta)
go_s <- as.numeric(args[3])
cat(sprintf("  kapstat model lmm (read CSV + fit): %.2f s\n", go_s))
cat(sprintf("  R lmer: read.csv %.2f s, lmer %.2f s\n", t_read, t_fit))
cat(sprintf("  ratio lmer / kapstat (read CSV + fit): %.1fx; read.csv + lmer / kapstat: %.1fx\n", t_fit / go_s, (t_read + t_fit) / go_s))
rel <- abs(g - r) / pmax(abs(r), 1e-8)
cat("  largest relative difference of estimates:", sprintf("%.2e (%s)", max(rel), names(which.max(rel))), "\n")
cat(sprintf("  REML criterion (lme4's devfun): at lme4's theta %.10f, at kapstat's theta %.10f\n",
            -2 * r[["loglik"]], dev_go))
print(signif(rbind(lme4 = r, kapstat = g), 8))
EOF
echo

## Kaplan–Meier, log-rank, Cox --------------------------------------------------
for n in "${surv_rows[@]}"; do
  csv=$work/surv_${n}.csv
  Rscript - "$n" "$csv" <<'EOF'
args <- commandArgs(TRUE)
n <- as.integer(args[1]); set.seed(2)
arm <- sample(c("A", "B", "C"), n, replace = TRUE)
age <- round(rnorm(n, 50, 10))
rate <- c(A = 0.010, B = 0.013, C = 0.016)[arm] * exp(0.01 * (age - 50))
ev <- ceiling(rexp(n, rate)); cen <- ceiling(runif(n, 30, 365))
write.csv(data.frame(time = pmin(ev, cen), status = as.integer(ev <= cen), arm = arm, age = age),
          args[2], row.names = FALSE, quote = FALSE)
EOF
  echo "survival: $n rows (integer days, many ties)"
  start=$(now)
  "$KAPSTAT" model km --csv "$csv" --time time --event status --group arm > "$work/km.json"
  km_s=$(elapsed "$start" "$(now)")
  start=$(now)
  "$KAPSTAT" model cox --csv "$csv" --time time --event status --covariate arm,age > "$work/cox.json"
  cox_s=$(elapsed "$start" "$(now)")
  Rscript - "$csv" "$work/km.json" "$work/cox.json" "$km_s" "$cox_s" <<'EOF'
suppressPackageStartupMessages(library(survival))
args <- commandArgs(TRUE)
t_read <- system.time(d <- read.csv(args[1]))[["elapsed"]]
t_km <- system.time({
  fit <- survfit(Surv(time, status) ~ arm, d); s <- summary(fit)$table
  lr <- survdiff(Surv(time, status) ~ arm, d)
})[["elapsed"]]
t_cox <- system.time(cx <- coxph(Surv(time, status) ~ arm + age, d, ties = "efron"))[["elapsed"]]
km <- readLines(args[2]); cox <- readLines(args[3])
num <- function(j, key, k = 1) as.numeric(sub(".*: *([^,]*),?$", "\\1", grep(sprintf('"%s":', key), j, value = TRUE)[k]))
km_s <- as.numeric(args[4]); cox_s <- as.numeric(args[5])
cat(sprintf("  kapstat model km --group (read + 3 curves + log-rank): %.2f s; R survfit + survdiff %.2f s (read.csv %.2f s); ratio %.1fx\n",
            km_s, t_km, t_read, t_km / km_s))
cat(sprintf("  kapstat model cox (read + fit): %.2f s; R coxph %.2f s; ratio %.1fx\n", cox_s, t_cox, t_cox / cox_s))
rel <- function(a, b) abs(a - b) / pmax(abs(b), 1e-12)
cat(sprintf("  log-rank chisq: kapstat %.10g, R %.10g (rel diff %.1e)\n", num(km, "chisq"), lr$chisq, rel(num(km, "chisq"), lr$chisq)))
cat(sprintf("  medians: kapstat %s; R %s\n", paste(sapply(1:3, function(k) num(km, "median", k)), collapse = " "),
            paste(s[, "median"], collapse = " ")))
b <- coef(cx); se <- sqrt(diag(vcov(cx)))
gb <- sapply(1:3, function(k) num(cox, "coef", k)); gse <- sapply(1:3, function(k) num(cox, "se", k))
cat(sprintf("  cox coef max rel diff %.1e, se max rel diff %.1e, lr_chisq kapstat %.10g R %.10g\n",
            max(rel(gb, b)), max(rel(gse, se)), num(cox, "lr_chisq"), 2 * diff(cx$loglik)))
EOF
  echo
done
