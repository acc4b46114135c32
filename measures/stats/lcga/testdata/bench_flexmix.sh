#!/usr/bin/env bash
# Times `kapstat model lcga` against R's flexmix on the same files in the same
# run, and prints the log-likelihoods each reached for K = 1...4.
#
# Usage (from the repository root):
#   measures/stats/lcga/testdata/bench_flexmix.sh [PATIENTS...]
# Default: 300 and 3000 patients. Each file is a PHQ-9-like cohort written by
# R as in reference.R (three trajectories, irregular and missed visits,
# dropout; about 5.6 observations per patient).
# Both sides fit K = 1...4 from 20 random starts:
#   kapstat model lcga --classes 1-4 --starts 20 --variance class|shared
#   stepFlexmix(score ~ week | patient, k = 1:4, nrep = 20,
#               model = FLXMRglm() | FLXMRglmfix(varFix = TRUE))
# flexmix with its default control (tolerance 1e-6, minprior 0.05), as a
# researcher would call it. kapstat is timed as a process (start, CSV reading,
# fit, JSON output) under /usr/bin/time; flexmix by system.time around
# stepFlexmix alone. Both wall-clock and CPU (user + sys) seconds are printed:
# on a shared machine the CPU time is the steadier figure.
# Needs Go and R with flexmix. KAPSTAT=path uses a built binary instead of
# building ./cmd/kapstat. WORK=dir keeps the files (default: a temporary
# directory, removed at the end).
set -euo pipefail

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(300 3000)

work=${WORK:-$(mktemp -d)}
[ -n "${WORK:-}" ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work"

if [ -z "${KAPSTAT:-}" ]; then
  KAPSTAT=$work/kapstat
  go build -o "$KAPSTAT" ./cmd/kapstat
fi

echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sm)"
echo "R: $(Rscript -e 'cat(R.version.string, "flexmix", format(packageVersion("flexmix")))')"
echo "go: $(go version | cut -d' ' -f3)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

for n in "${sizes[@]}"; do
  csv=$work/cohort_${n}.csv
  Rscript - "$n" "$csv" <<'EOF'
args <- commandArgs(TRUE)
N <- as.integer(args[1]); set.seed(20261201)
cls <- sample(1:3, N, replace = TRUE, prob = c(0.5, 0.3, 0.2))
a <- c(19, 17, 15)[cls] + rnorm(N, 0, 1.5)
b <- c(-1.4, -0.6, 0.05)[cls]
s <- c(3, 2.5, 2)[cls]
planned <- c(0, 1, 2, 3, 4, 6, 8, 10, 12)
rows <- vector("list", N)
for (i in seq_len(N)) {
  last <- sample(seq_along(planned), 1, prob = c(0.05, 0.03, 0.04, 0.05, 0.08, 0.1, 0.25, 0.15, 0.25))
  v <- planned[seq_len(last)]
  v <- v[c(TRUE, runif(length(v) - 1) > 0.15)]
  w <- pmax(0, round(v * 7 + c(0, rnorm(length(v) - 1, 0, 2)))) / 7
  y <- pmin(27, pmax(0, round(a[i] + b[i] * w + rnorm(length(w), 0, s[i]))))
  rows[[i]] <- data.frame(patient = sprintf("p%06d", i), week = round(w, 4), score = y)
}
write.csv(do.call(rbind, rows), args[2], row.names = FALSE, quote = FALSE)
EOF
  echo "cohort: $n patients, $(($(wc -l < "$csv") - 1)) observations"
  for variance in class shared; do
    /usr/bin/time -f "%e %U %S" -o "$work/time.txt" \
      "$KAPSTAT" model lcga --csv "$csv" --group patient --time week --y score \
      --classes 1-4 --starts 20 --variance "$variance" > "$work/lcga.json"
    read -r go_s go_user go_sys < "$work/time.txt"
    go_cpu=$(awk -v u="$go_user" -v s="$go_sys" 'BEGIN { printf "%.2f", u + s }')
    Rscript - "$csv" "$work/lcga.json" "$go_s" "$variance" "$go_cpu" <<'EOF'
suppressPackageStartupMessages(library(flexmix))
args <- commandArgs(TRUE)
d <- read.csv(args[1])
model <- if (args[4] == "class") FLXMRglm() else FLXMRglmfix(varFix = TRUE)
set.seed(1)
st <- system.time(
  m <- stepFlexmix(score ~ week | patient, data = d, k = 1:4, nrep = 20, model = model, verbose = FALSE)
)
t_fit <- st[["elapsed"]]
cpu_fit <- st[["user.self"]] + st[["sys.self"]]
j <- readLines(args[2])
ll_go <- as.numeric(sub(".*: *([^,]*),?$", "\\1", grep('"loglik":', j, value = TRUE)))
ll_r <- sapply(1:4, function(k) {
  f <- getModel(m, as.character(k))
  if (is.null(f) || f@k != k) NA else logLik(f)
})
go_s <- as.numeric(args[3]); go_cpu <- as.numeric(args[5])
cat(sprintf("  variance %s: kapstat model lcga (read + fit K = 1-4) %.2f s wall, %.2f s CPU; stepFlexmix %.2f s wall, %.2f s CPU; ratio %.0fx wall, %.0fx CPU\n",
            args[4], go_s, go_cpu, t_fit, cpu_fit, t_fit / go_s, cpu_fit / go_cpu))
cat("    loglik K = 1-4, kapstat:", sprintf("%.4f", ll_go), "\n")
cat("    loglik K = 1-4, flexmix:", sprintf("%.4f", ll_r), "\n")
EOF
  done
  echo
done
