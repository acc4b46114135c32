#!/usr/bin/env bash
# Times `kapstat model lmm --by` (FitLMMDesign) against lme4's
# lmer(score ~ week * program + (week | patient)) on the same file in the
# same run, and prints the time ratio and the estimates side by side.
#
# Usage (from the repository root):
#   measures/stats/testdata/bench_lmm_by.sh [PATIENTS]
# Default: 100000 patients with 2 to 8 visits each (about 500,000 rows), two
# programs with different weekly slopes. Needs Go and R with lme4.
# KAPSTAT=path uses a built binary instead of building ./cmd/kapstat.
# WORK=dir keeps the files (default: a temporary directory, removed at the
# end).
set -euo pipefail

patients=${1:-100000}
work=${WORK:-$(mktemp -d)}
[ -n "${WORK:-}" ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work"

if [ -z "${KAPSTAT:-}" ]; then
  KAPSTAT=$work/kapstat
  go build -o "$KAPSTAT" ./cmd/kapstat
fi

echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sm)"
echo "R: $(Rscript -e 'cat(R.version.string, "lme4", format(packageVersion("lme4")))')"
echo "go: $(go version | cut -d' ' -f3)"
echo

csv=$work/lmm_by_${patients}.csv
Rscript - "$patients" "$csv" <<'REOF'
args <- commandArgs(TRUE)
P <- as.integer(args[1]); set.seed(3)
nv <- sample(2:8, P, replace = TRUE)
program <- sample(c("infusion", "kap"), P, replace = TRUE, prob = c(0.4, 0.6))
z1 <- rnorm(P); z2 <- rnorm(P)
b0 <- 4 * z1; b1 <- 0.8 * (-0.3 * z1 + sqrt(1 - 0.09) * z2)
g <- rep(seq_len(P), nv)
week <- unlist(lapply(nv, function(n) c(0, sort(round(runif(n - 1, 0.5, 8), 1)))))
slope <- ifelse(program[g] == "kap", -1.5, -1.0)
y <- round(20 + 0.8 * (program[g] == "kap") + slope * week + b0[g] + b1[g] * week + rnorm(length(g), 0, 2), 3)
write.csv(data.frame(patient = sprintf("p%07d", g), week = week, score = y, program = program[g]),
          args[2], row.names = FALSE, quote = FALSE)
REOF
echo "lmm --by: $patients patients, $(($(wc -l < "$csv") - 1)) rows"

# Wall and CPU (user + system) seconds: on a shared machine the CPU time
# is the steadier figure.
TIMEFORMAT='%R %U %S'
{ time "$KAPSTAT" model lmm --csv "$csv" --group patient --time week --y score --by program > "$work/lmm_by.json" ; } 2> "$work/time.txt"
read -r go_s go_u go_sys < "$work/time.txt"
go_cpu=$(awk -v u="$go_u" -v s="$go_sys" 'BEGIN { printf "%.2f", u + s }')

Rscript - "$csv" "$work/lmm_by.json" "$go_s" "$go_cpu" <<'REOF'
suppressPackageStartupMessages(library(lme4))
args <- commandArgs(TRUE)
t_read <- system.time(d <- read.csv(args[1]))[["elapsed"]]
st <- system.time(m <- lmer(score ~ week * program + (week | patient), d))
t_fit <- st[["elapsed"]]
cpu_fit <- st[["user.self"]] + st[["sys.self"]]
vc <- as.data.frame(VarCorr(m))
fe <- fixef(m); se <- sqrt(diag(as.matrix(vcov(m))))
r <- c(fe, setNames(se, paste0("se ", names(se))), sd_intercept = vc$sdcor[1], sd_slope = vc$sdcor[2],
       corr = vc$sdcor[3], sd_residual = sigma(m), loglik = as.numeric(logLik(m)))
j <- readLines(args[2])
val <- function(key) as.numeric(sub(".*: *([^,]*),?$", "\\1", grep(sprintf('^ *"%s":', key), j, value = TRUE)))
terms <- sub('.*: *"(.*)",?$', "\\1", grep('^ *"term":', j, value = TRUE))
est <- setNames(val("estimate"), terms); gse <- setNames(val("se"), terms)
g <- c(est[names(fe)], setNames(gse[names(fe)], paste0("se ", names(fe))),
       sd_intercept = val("sd_intercept"), sd_slope = val("sd_slope"), corr = val("corr"),
       sd_residual = val("sd_residual"), loglik = val("loglik"))
i <- grep('"theta":', j)
theta <- as.numeric(sub(",", "", trimws(j[(i + 1):(i + 3)])))
go_s <- as.numeric(args[3]); go_cpu <- as.numeric(args[4])
cat(sprintf("  kapstat model lmm --by program (read CSV + fit): %.2f s wall, %.2f s CPU\n", go_s, go_cpu))
cat(sprintf("  R: read.csv %.2f s, lmer(score ~ week * program + (week | patient)) %.2f s wall, %.2f s CPU\n", t_read, t_fit, cpu_fit))
cat(sprintf("  ratio lmer / kapstat (read CSV + fit): %.1fx wall, %.1fx CPU; read.csv + lmer / kapstat: %.1fx wall\n",
            t_fit / go_s, cpu_fit / go_cpu, (t_read + t_fit) / go_s))
rel <- abs(g - r) / pmax(abs(r), 1e-8)
cat("  largest relative difference of estimates:", sprintf("%.2e (%s)", max(rel), names(which.max(rel))), "\n")
cat(sprintf("  REML criterion (lme4's devfun): at lme4's theta %.10f, at kapstat's theta %.10f\n",
            -2 * r[["loglik"]], getME(m, "devfun")(theta)))
print(t(signif(rbind(lme4 = r, kapstat = g), 10)))
REOF
