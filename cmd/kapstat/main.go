// Command kapstat is an outcomes-research pipeline for Ketamine-Assisted Psychotherapy: it
// ingests de-identified PHQ-9, GAD-7 and PCL-5 scores into a Parquet lake and a DuckDB
// warehouse, derives outcomes, trajectories and relapse statistics, and writes workbooks.
//
// Usage: kapstat COMMAND [flags] — see `kapstat help`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

type command struct {
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	summary string
}

func commands() map[string]command {
	return map[string]command{
		"demo":     {runDemo, "generate a synthetic cohort, ingest, analyze and write the workbook"},
		"synth":    {runSynth, "write a deterministic synthetic cohort in the canonical format"},
		"ingest":   {runIngest, "validate, score and load files into the warehouse and the lake"},
		"validate": {runValidate, "run ingest's checks without writing; exit 1 when a row would be quarantined"},
		"analyze":  {runAnalyze, "derive outcomes, trajectories and relapse statistics"},
		"report":   {runReport, "write the workbook"},
		"model":    {runModel, "the statistics engine on any CSV: lmm, km, cox, lcga"},
		"sql":      {runSQL, "run a read-only query on the warehouse, print CSV"},
		"export":   {runExport, "write the per-patient analysis tables as Parquet or CSV"},
		"run":      {runJob, "run a declared batch job (JOB.toml): inputs, warehouse, quarter, outputs"},
		"retract":  {runRetract, "remove an ingest run from the warehouse and the lake, so its files can be ingested again"},
		"version":  {runVersion, "print the version"},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: kapstat COMMAND [flags]\n\ncommands:")
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun `kapstat COMMAND -h` for a command's flags.")
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	c, ok := commands()[args[0]]
	if !ok {
		usage(stderr)
		return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

// exitCode maps an error to the exit status: 0 ok, 1 failure, 2 usage.
func exitCode(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	return 1
}

func main() {
	// A soft memory limit for the Go heap, so that a large analysis collects garbage before
	// doubling its heap (GOMEMLIMIT in the environment overrides it). DuckDB's own memory is
	// capped separately (pipeline.OpenWarehouse).
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(softMemoryLimit(physicalMemory()))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := guard(func() error { return run(ctx, os.Args[1:], os.Stdout, os.Stderr) })
	if err != nil && !errors.Is(err, errQuiet) {
		msg := err.Error()
		if errors.Is(err, errUsage) {
			msg = strings.TrimPrefix(msg, errUsage.Error()+": ")
		}
		fmt.Fprintln(os.Stderr, "kapstat: "+msg)
	}
	os.Exit(exitCode(err))
}

// guard runs f and turns a panic into an error: a bug exits 1 with its stack on stderr, not
// with the Go runtime's status 2, which is kapstat's usage error. (A fatal runtime error, such
// as running out of memory, still exits 2; the readers cap what one row or file can take so
// that input cannot cause one.)
func guard(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error: %v\n%s", p, debug.Stack())
		}
	}()
	return f()
}

// errQuiet marks a failure already explained on stderr (e.g. validate's findings).
var errQuiet = errors.New("failed")

// softMemoryLimit is the Go heap's soft limit on a machine with ram bytes (0: unknown): a
// quarter of the memory, at least 1 GiB. A limit below the heap the analysis keeps live makes
// the collector run without pause: a million patients keep about 3 GiB live, and under the
// 1 GiB limit once used here analyze took 739 s instead of about 250 s (BENCHMARKS.md).
func softMemoryLimit(ram uint64) int64 {
	const gib = 1 << 30
	return int64(max(ram/4, gib))
}

// physicalMemory is the machine's memory in bytes from /proc/meminfo, or 0 when it cannot
// be read (not Linux).
func physicalMemory() uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			if kb, err := strconv.ParseUint(f[1], 10, 64); err == nil {
				return kb << 10
			}
		}
	}
	return 0
}
