#!/usr/bin/env bash
# End-to-end benchmark of kapstat on synthetic cohorts (BENCHMARKS.md, "End to end").
#
# Usage (from anywhere inside the repository):
#   bench/run.sh [PATIENTS...]          # default: 100000 1000000
#   R_AT_1M=1 bench/run.sh 1000000      # also run the R comparison above 100,000 patients
#
# For each size, on the same files in one run: generate the cohort with `kapstat synth`
# (seed 1), then time as separate processes with /usr/bin/time -v (wall time, user+sys CPU,
# peak RSS):
#   duckdb_copy_R DuckDB's own COPY (SELECT * FROM read_csv(assessments.csv)) TO parquet (zstd),
#                 run by bench/duckcopy in an in-memory database (the floor for ingest), and
#   ingest_assessments_R  kapstat ingest of assessments.csv alone into a fresh warehouse: the
#                 same file, for the ingest ratio;
#   duckdb_stores_R  DuckDB alone writing the two stores SPEC 5 asks of ingest from the same file
#                 (read_csv into a table of a new DuckDB file, then COPY to a lake partitioned
#                 by instrument and year), nothing validated or scored (bench/duckcopy -stores);
#                 the three alternate, twice (R = round 1, 2)
#   ingest        kapstat ingest (patients.csv + assessments.csv + sessions.csv) into a fresh
#                 warehouse
#   analyze       kapstat analyze --as-of 2026-09-30 --json analysis.json (synth's last day)
#   report        kapstat report --quarter 2026Q3 --out report.xlsx: the workbook from the
#                 analysis analyze stored (same as-of, config, build and inputs)
#   report_analysing  kapstat report as of today: the same data, no stored analysis matches, so
#                 it analyses again (the time report took before it reused analyses)
#   traj_csv      kapstat sql: the PHQ-9 trajectory observations analyze used (baseline +
#                 acute window, t in weeks since baseline) written to traj_phq9.csv
#   model_lmm     kapstat model lmm on traj_phq9.csv (read CSV + REML fit)
#   R             bench/analysis.R: read the CSVs, derive PHQ-9 baseline/acute window and relapse
#                 with data.table, lmer, survfit/survdiff/coxph, and lmer on traj_phq9.csv;
#                 its stages (system.time) are printed as R:<stage> rows. Runs when Rscript is
#                 present and PATIENTS <= 100000 (or R_AT_1M=1).
# Outputs go to bench/out/ (kapstat and duckcopy binaries, bench/out/N/...); the summary of the
# run is bench/out/results.md. A failed stage is recorded (exit status, signal, peak RSS, last
# line of its stderr) and the run goes on.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)
out=bench/out
mkdir -p "$out"

if [ ! -x /usr/bin/time ]; then
  echo "bench/run.sh needs GNU time (/usr/bin/time): apt-get install -y time" >&2
  exit 1
fi
have_r=0
if command -v Rscript > /dev/null; then have_r=1; fi

summary=$out/results.md
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: $(nproc) cores ($(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, $(uname -sm)"
  echo "go: $(go version | cut -d' ' -f3), kapstat $(git describe --always --dirty 2> /dev/null || echo unknown)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (timings are clean only on an otherwise idle machine: see the last column)"
  if [ $have_r = 1 ]; then
    echo "R: $(Rscript -e 'cat(R.version.string, "lme4", format(packageVersion("lme4")), "survival", format(packageVersion("survival")), "data.table", if (requireNamespace("data.table", quietly = TRUE)) format(packageVersion("data.table")) else "absent")')"
  else
    echo "R: absent (no Rscript)"
  fi
} | tee "$summary"
echo

go build -o "$out/kapstat" ./cmd/kapstat
go build -o "$out/duckcopy" ./bench/duckcopy
K=$out/kapstat

# CPU seconds the whole machine has been busy (all processes), from /proc/stat
cpu_busy() { awk '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8) / 100 }' /proc/stat; }

# seconds from /usr/bin/time's "h:mm:ss" or "m:ss.ss"
wall_s() { awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f", s }' <<< "$1"; }

# run_stage DIR NAME STDOUT_FILE CMD...: times CMD, appends a row to DIR/results.tsv
run_stage() {
  local dir=$1 name=$2 stdout=$3
  shift 3
  local tf=$dir/time.$name rc=0
  local shown
  shown=$(printf "%s" "$*" | tr -s "\n " "  ")
  [ ${#shown} -le 300 ] || shown="${shown:0:120} ..."
  echo "  [$(date -u +%H:%M:%S)] $name: $shown"
  local busy0 busy1
  busy0=$(cpu_busy)
  /usr/bin/time -v -o "$tf" "$@" > "$stdout" 2> "$dir/$name.stderr" || rc=$?
  busy1=$(cpu_busy)
  local wall cpu rss status other
  wall=$(wall_s "$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tf")")
  cpu=$(awk -F': ' '/User time \(seconds\)|System time \(seconds\)/ { s += $2 } END { printf "%.2f", s }' "$tf")
  rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$tf")
  # CPU time other processes used meanwhile: timings are only clean when this is near 0
  other=$(awk -v a="$busy0" -v b="$busy1" -v c="$cpu" 'BEGIN { o = b - a - c; printf "%.1f", (o < 0 ? 0 : o) }')
  status=ok
  if [ $rc -ne 0 ]; then
    status="FAILED exit $rc"
    if grep -q 'terminated by signal' "$tf"; then status="FAILED $(grep -o 'terminated by signal [0-9]*' "$tf")"; fi
    status="$status: $(tail -n 1 "$dir/$name.stderr" | cut -c1-200)"
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$wall" "$cpu" "$rss" "$status" "$other" >> "$dir/results.tsv"
  echo "    wall ${wall} s, cpu ${cpu} s, peak RSS ${rss} MiB, ${status}; other processes used ${other} CPU s meanwhile"
  return 0
}

# field NAME COLUMN from DIR/results.tsv (2 = wall, 3 = cpu, 4 = rss, 5 = status, 6 = others' CPU)
field() { awk -F'\t' -v n="$2" -v c="$3" '$1 == n { v = $c } END { print v }' "$1/results.tsv"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }

traj_sql="WITH idx AS (SELECT patient_id, min(day) AS index_day FROM sessions WHERE session_type = 'dosing' GROUP BY patient_id),
ep AS (SELECT e.patient_id, e.baseline_day, i.index_day FROM episodes e JOIN idx i USING (patient_id)
       WHERE e.instrument = 'PHQ9' AND e.baseline_day IS NOT NULL)
SELECT a.patient_id, (a.day - ep.baseline_day) / 7.0 AS t, a.total AS score
FROM assessments a JOIN ep USING (patient_id)
WHERE a.instrument = 'PHQ9' AND (a.day = ep.baseline_day OR (a.day > ep.index_day AND a.day <= ep.index_day + 56))
ORDER BY a.patient_id, a.day"

for n in "${sizes[@]}"; do
  dir=$out/$n
  mkdir -p "$dir"
  echo "== $n patients =="
  if [ ! -f "$dir/cohort/.complete" ]; then
    rm -rf "$dir/cohort"
    t0=$(date +%s.%N)
    "$K" synth --patients "$n" --seed 1 --out "$dir/cohort"
    touch "$dir/cohort/.complete"
    echo "  synth: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
  fi
  # a fresh warehouse each run: ingest skips files it has seen, which would time nothing
  rm -rf "$dir/kapstat.duckdb" "$dir/kapstat.duckdb.wal" "$dir/kapstat.duckdb.tmp" "$dir/lake" "$dir/duck.parquet" \
    "$dir/analysis.json" "$dir/report.xlsx" "$dir/report-today.xlsx" "$dir/traj_phq9.csv" "$dir/lmm.json" "$dir/results.tsv" "$dir"/time.* "$dir"/*.stderr "$dir"/*.out
  a_rows=$(($(wc -l < "$dir/cohort/assessments.csv") - 1))
  s_rows=$(($(wc -l < "$dir/cohort/sessions.csv") - 1))
  a_mib=$(du -m "$dir/cohort/assessments.csv" | cut -f1)
  s_mib=$(du -m "$dir/cohort/sessions.csv" | cut -f1)
  echo "  assessments.csv: $a_rows rows, $a_mib MiB; sessions.csv: $s_rows rows, $s_mib MiB"

  # The ingest target (SPEC 10) compares the same file in the same run: DuckDB's copy of
  # assessments.csv and kapstat's ingest of assessments.csv alone (fresh warehouse and lake,
  # KAPSTAT_TRACE=1 writing its phase times to ingest_assessments.stderr), twice, alternating.
  for round in 1 2; do
    rm -rf "$dir/a-only.duckdb" "$dir/a-only.duckdb.wal" "$dir/a-only-lake" "$dir/duck.parquet"
    run_stage "$dir" "duckdb_copy_$round" "$dir/duckcopy_$round.out" "$out/duckcopy" "$dir/cohort/assessments.csv" "$dir/duck.parquet"
    run_stage "$dir" "ingest_assessments_$round" "$dir/ingest_assessments_$round.out" env KAPSTAT_TRACE=1 \
      "$K" ingest --db "$dir/a-only.duckdb" --lake "$dir/a-only-lake" "$dir/cohort/assessments.csv"
    run_stage "$dir" "duckdb_stores_$round" "$dir/duckdb_stores_$round.out" "$out/duckcopy" -stores \
      "$dir/cohort/assessments.csv" "$dir/duck-stores"
  done
  rm -rf "$dir/a-only.duckdb" "$dir/a-only.duckdb.wal" "$dir/a-only-lake" "$dir/duck-stores"
  run_stage "$dir" ingest "$dir/ingest.out" "$K" ingest --db "$dir/kapstat.duckdb" "$dir/cohort/patients.csv" \
    "$dir/cohort/assessments.csv" "$dir/cohort/sessions.csv"
  cat "$dir/ingest.out" | sed 's/^/    /'
  run_stage "$dir" analyze "$dir/analyze.out" "$K" analyze --db "$dir/kapstat.duckdb" --as-of 2026-09-30 --json "$dir/analysis.json"
  run_stage "$dir" report "$dir/report.out" "$K" report --db "$dir/kapstat.duckdb" --quarter 2026Q3 --out "$dir/report.xlsx"
  sed 's/^/    /' "$dir/report.stderr"
  # the same data as of today: no stored analysis matches, so report analyses again
  run_stage "$dir" report_analysing "$dir/report_analysing.out" "$K" report --db "$dir/kapstat.duckdb" --out "$dir/report-today.xlsx"
  sed 's/^/    /' "$dir/report_analysing.stderr"
  run_stage "$dir" traj_csv "$dir/traj_phq9.csv" "$K" sql --db "$dir/kapstat.duckdb" "$traj_sql"
  run_stage "$dir" model_lmm "$dir/lmm.json" "$K" model lmm --csv "$dir/traj_phq9.csv" --group patient_id --time t --y score
  if [ -s "$dir/traj_phq9.csv" ]; then
    echo "    traj_phq9.csv: $(($(wc -l < "$dir/traj_phq9.csv") - 1)) observations; analyze's PHQ-9 fit: $("$K" sql --db "$dir/kapstat.duckdb" "SELECT n_obs || ' observations in ' || n_groups || ' patients' FROM trajectory_fits WHERE instrument = 'PHQ9'" | tail -n 1)"
  fi

  if [ $have_r = 1 ] && { [ "$n" -le 100000 ] || [ "${R_AT_1M:-0}" = 1 ]; }; then
    run_stage "$dir" R "$dir/R.out" Rscript bench/analysis.R "$dir/cohort/assessments.csv" "$dir/cohort/sessions.csv" \
      "$dir/traj_phq9.csv" "$dir/analysis.json"
    sed 's/^/    /' "$dir/R.out"
    awk '$1 == "R_TIME" { printf "R:%s\t%s\t\t\tok\t\n", $2, $3 }' "$dir/R.out" >> "$dir/results.tsv"
  fi

  {
    echo
    echo "### $n patients ($a_rows assessment rows, $a_mib MiB; $s_rows session rows, $s_mib MiB)"
    echo
    echo "| stage | wall s | CPU s (user+sys) | peak RSS MiB | status | other processes' CPU s |"
    echo "|---|---:|---:|---:|---|---:|"
    awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$dir/results.tsv"
    e2e=$(awk -F'\t' '$1 == "ingest" || $1 == "analyze" || $1 == "report" { s += $2 } END { printf "%.2f", s }' "$dir/results.tsv")
    echo
    echo "- end to end (ingest + analyze + report): $e2e s"
    for round in 1 2; do
      stderr=$dir/ingest_assessments_$round.stderr
      # the two stores SPEC 5 requires, as ingest's trace times them: the warehouse table insert
      # and the lake COPY of the accepted rows
      stores=$(awk '$1 == "ingest:" && ($4 == "INSERT" && $6 == "assessment_rows" || $4 == "COPY") { s += $2 } END { printf "%.2f", s }' "$stderr")
      echo "- round $round: ingest of assessments.csv / DuckDB copy of assessments.csv (process wall): $(ratio "$(field "$dir" "ingest_assessments_$round" 2)" "$(field "$dir" "duckdb_copy_$round" 2)")x; / DuckDB writing the two stores: $(ratio "$(field "$dir" "ingest_assessments_$round" 2)" "$(field "$dir" "duckdb_stores_$round" 2)")x; ingest phases: $(sed -n 's/^ingest: \([a-z ]*[a-z]\) *\([0-9.]*\) s$/\1 \2 s/p' "$stderr" | paste -sd, - | sed 's/,/, /g'); the table insert and the lake COPY alone: $stores s = $(ratio "$stores" "$(field "$dir" "duckdb_copy_$round" 2)")x the copy"
    done
    if [ -n "$(field "$dir" R:lmer_same_file 2)" ]; then
      echo "- R lmer / kapstat model lmm, same file traj_phq9.csv (lmer fit alone vs kapstat process: read CSV + fit): $(ratio "$(field "$dir" R:lmer_same_file 2)" "$(field "$dir" model_lmm 2)")x"
      echo "- R lmer on R-derived observations / kapstat model lmm: $(ratio "$(field "$dir" R:lmer 2)" "$(field "$dir" model_lmm 2)")x"
      grep -h 'R_CMP\|^kapstat:\|^relapse:\|^log-rank' "$dir/R.out" | sed 's/^/- /'
    fi
  } | tee -a "$summary"
  echo
done
echo "summary: $summary"
