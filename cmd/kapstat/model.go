package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"

	"github.com/kapstat/kapstat/measures/stats"
)

// errUsage marks an error in the command line; main exits 2 for it.
var errUsage = errors.New("usage")

const modelUsage = `usage: kapstat model lmm|km|cox|lcga --csv F [flags]

  lmm  --group G --time T --y Y [--covariate C[,C2...]] [--by B] [--ml]
       [--blups] [--intercept-only]
       linear mixed model y ~ 1 + t + (1 + t | group), REML unless --ml (lme4's
       lmer); --covariate adds fixed effects (numeric, or categorical coded
       against the first level in sorted order), --by adds the group B and
       its interaction with time: lmer(y ~ t * B + C + (t | group)); every
       fixed effect is listed under "fixed" by R's term name (e.g. t:groupB),
       its estimate, se, normal 95% limits and p (--blups is then unavailable)
  km   --time T --event E [--group G]
       Kaplan–Meier table and median (survfit); with --group, one curve per
       group and the log-rank test (survdiff)
  cox  --time T --event E --covariate C[,C2...] [--start S]
       Cox proportional hazards, Efron ties (coxph); non-numeric covariates are
       treatment-coded against their first level in sorted order; with
       --start, rows are intervals (S, T] of counting-process data (a
       time-varying covariate), as coxph(Surv(S, T, E) ~ ...)
  lcga --group G --time T --y Y [--classes 1-4] [--variance shared|class]
       [--starts N] [--seed S] [--tol X] [--label-change M] [--label-span W]
       latent class growth model: a mixture of straight-line trajectories,
       fitted by EM from random starts for each number of classes, K chosen
       by BIC with N = patients (flexmix's FLXMRglm for --variance class)

Event columns take 0 or 1 (1 = event). Rows with an empty or NA value in a
column the model uses are skipped and counted in rows_skipped. Output is JSON
on stdout.
`

// runModel implements `kapstat model lmm|km|cox|lcga`.
func runModel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, modelUsage)
		return fmt.Errorf("%w: model: name a model: lmm, km, cox or lcga", errUsage)
	}
	kind := args[0]
	if kind == "-h" || kind == "--help" || kind == "help" {
		fmt.Fprint(stdout, modelUsage)
		return nil
	}
	fs := flag.NewFlagSet("model "+kind, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, modelUsage+"\nflags:\n"); fs.PrintDefaults() }
	path := fs.String("csv", "", "input CSV file with a header row (required)")
	var run func(t *modelTable) (any, error)
	var required map[string]*string
	var columns func() []string // the columns the model reads
	switch kind {
	case "lmm":
		group := fs.String("group", "", "grouping column (e.g. patient id)")
		timeCol := fs.String("time", "", "time column (numeric)")
		yCol := fs.String("y", "", "response column (numeric)")
		ml := fs.Bool("ml", false, "fit by maximum likelihood instead of REML")
		blups := fs.Bool("blups", false, "include the per-group random effects (conditional modes)")
		interceptOnly := fs.Bool("intercept-only", false, "random intercept only: y ~ 1 + t + (1 | group)")
		covariates := fs.String("covariate", "", "comma-separated fixed-effect covariate columns")
		by := fs.String("by", "", "group column compared over time: adds it and its interaction with time")
		required = map[string]*string{"group": group, "time": timeCol, "y": yCol}
		columns = func() []string {
			cols := append([]string{*group, *timeCol, *yCol}, splitList(*covariates)...)
			if *by != "" {
				cols = append(cols, *by)
			}
			return cols
		}
		run = func(t *modelTable) (any, error) {
			opt := stats.LMMOptions{ML: *ml, BLUPs: *blups, InterceptOnly: *interceptOnly}
			if *covariates == "" && *by == "" {
				return fitLMM(t, *group, *timeCol, *yCol, opt)
			}
			return fitLMMDesign(t, *group, *timeCol, *yCol, splitList(*covariates), *by, opt)
		}
	case "km":
		timeCol := fs.String("time", "", "time column (numeric, ≥ 0)")
		event := fs.String("event", "", "event column (0 = censored, 1 = event)")
		group := fs.String("group", "", "optional grouping column: one curve per group and the log-rank test")
		required = map[string]*string{"time": timeCol, "event": event}
		columns = func() []string { return []string{*timeCol, *event, *group} }
		run = func(t *modelTable) (any, error) {
			return fitKM(t, *timeCol, *event, *group)
		}
	case "cox":
		timeCol := fs.String("time", "", "time column (numeric, ≥ 0)")
		event := fs.String("event", "", "event column (0 = censored, 1 = event)")
		covariates := fs.String("covariate", "", "comma-separated covariate columns")
		start := fs.String("start", "", "start column of counting-process rows (start, time]; --time is then the stop")
		required = map[string]*string{"time": timeCol, "event": event, "covariate": covariates}
		columns = func() []string {
			cols := append([]string{*timeCol, *event}, splitList(*covariates)...)
			if *start != "" {
				cols = append(cols, *start)
			}
			return cols
		}
		run = func(t *modelTable) (any, error) {
			return fitCox(t, *timeCol, *event, *start, splitList(*covariates))
		}
	case "lcga":
		required, columns, run = lcgaFlags(fs)
	default:
		fmt.Fprint(stderr, modelUsage)
		return fmt.Errorf("%w: model: unknown model %q (want lmm, km, cox or lcga)", errUsage, kind)
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: model %s: %v", errUsage, kind, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: model %s: unexpected argument %q", errUsage, kind, fs.Arg(0))
	}
	required["csv"] = path
	if err := requireFlags(kind, required); err != nil {
		return err
	}
	t, err := readModelCSV(*path, columns())
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	result, err := run(t)
	if err != nil {
		return fmt.Errorf("model %s: %w", kind, err)
	}
	b, err := json.MarshalIndent(result, "", "  ")
	if err != nil {
		return fmt.Errorf("model %s: encode result: %w", kind, err)
	}
	b = append(b, '\n')
	_, err = stdout.Write(b)
	return err
}

// requireFlags returns a usage error naming the required flags left empty.
func requireFlags(kind string, flags map[string]*string) error {
	var names []string
	for n, v := range flags {
		if *v == "" {
			names = append(names, "--"+n)
		}
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	return fmt.Errorf("%w: model %s: %s required", errUsage, kind, strings.Join(names, ", "))
}

// inputError is bad data in the input file, located by line and column.
type inputError struct {
	Path   string
	Line   int
	Column string
	Reason string
}

func (e *inputError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: column %q: %s", e.Path, e.Column, e.Reason)
	}
	return fmt.Sprintf("%s: line %d, column %q: %s", e.Path, e.Line, e.Column, e.Reason)
}

// modelTable is a CSV file held in memory, column-wise.
type modelTable struct {
	path   string
	header []string
	cols   map[string][]string
	lines  []int // file line of each record
}

// readModelCSV reads the columns named in want from a comma- or
// semicolon-delimited CSV file with a header row (a UTF-8 byte-order mark
// and CRLF line ends are accepted). Other columns are not kept; a wanted
// column missing from the header is reported when it is asked for.
func readModelCSV(path string, want []string) (*modelTable, error) {
	// The cells are many small strings; collecting less often while they
	// are read saves a third of the reading time on large files.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	data = bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})
	first := data
	if i := bytes.IndexByte(first, '\n'); i >= 0 {
		first = first[:i]
	}
	rows := bytes.Count(data, []byte{'\n'}) + 1
	br := bytes.NewReader(data)
	r := csv.NewReader(br)
	if bytes.Count(first, []byte{';'}) > bytes.Count(first, []byte{','}) {
		r.Comma = ';'
	}
	r.ReuseRecord = true
	header, err := r.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file", path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	wanted := map[string]bool{}
	for _, w := range want {
		wanted[w] = true
	}
	t := &modelTable{path: path, header: make([]string, len(header)), cols: map[string][]string{}}
	seen := map[string]bool{}
	var keep []int // header positions of the wanted columns
	for j, h := range header {
		h = strings.TrimSpace(h)
		t.header[j] = h
		if seen[h] && wanted[h] {
			return nil, &inputError{Path: path, Line: 1, Column: h, Reason: "column name appears twice in the header"}
		}
		seen[h] = true
		if wanted[h] {
			keep = append(keep, j)
		}
	}
	// Room for every line, so the columns never grow.
	cols := make([][]string, len(keep))
	for k := range cols {
		cols[k] = make([]string, 0, rows)
	}
	t.lines = make([]int, 0, rows)
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		t.lines = append(t.lines, line)
		for k, j := range keep {
			cols[k] = append(cols[k], strings.TrimSpace(rec[j]))
		}
	}
	for k, j := range keep {
		t.cols[t.header[j]] = cols[k]
	}
	if len(t.lines) == 0 {
		return nil, fmt.Errorf("%s: no data rows after the header", path)
	}
	return t, nil
}

// column returns the named column or an error listing the columns there are.
func (t *modelTable) column(name string) ([]string, error) {
	c, ok := t.cols[name]
	if !ok {
		return nil, &inputError{Path: t.path, Line: 1, Column: name,
			Reason: fmt.Sprintf("no such column (the header has %s)", strings.Join(t.header, ", "))}
	}
	return c, nil
}

func isMissing(v string) bool { return v == "" || v == "NA" || v == "." }

// rowFilter marks the rows whose value is missing in any used column.
type rowFilter struct {
	skip    []bool
	skipped int
}

func (t *modelTable) filter(cols ...[]string) *rowFilter {
	f := &rowFilter{skip: make([]bool, len(t.lines))}
	for i := range t.lines {
		for _, c := range cols {
			if isMissing(c[i]) {
				f.skip[i] = true
				f.skipped++
				break
			}
		}
	}
	return f
}

// numbers parses the kept rows of a numeric column.
func (t *modelTable) numbers(name string, col []string, f *rowFilter, nonNegative bool) ([]float64, error) {
	out := make([]float64, 0, len(col)-f.skipped)
	for i, v := range col {
		if f.skip[i] {
			continue
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, &inputError{Path: t.path, Line: t.lines[i], Column: name, Reason: fmt.Sprintf("%q is not a number", v)}
		}
		if nonNegative && x < 0 {
			return nil, &inputError{Path: t.path, Line: t.lines[i], Column: name, Reason: fmt.Sprintf("negative time %s", v)}
		}
		out = append(out, x)
	}
	return out, nil
}

// events parses the kept rows of a 0/1 event column.
func (t *modelTable) events(name string, col []string, f *rowFilter) ([]bool, error) {
	out := make([]bool, 0, len(col)-f.skipped)
	for i, v := range col {
		if f.skip[i] {
			continue
		}
		switch v {
		case "0":
			out = append(out, false)
		case "1":
			out = append(out, true)
		default:
			return nil, &inputError{Path: t.path, Line: t.lines[i], Column: name, Reason: fmt.Sprintf("event value %q is not 0 or 1", v)}
		}
	}
	return out, nil
}

// labels returns the kept rows of a column as indices into its sorted
// distinct values.
func labels(col []string, f *rowFilter) ([]int, []string) {
	// Long-format files repeat a group on consecutive rows; the previous
	// value saves most map look-ups.
	set := map[string]int{}
	prev := "\x00"
	for i, v := range col {
		if !f.skip[i] && v != prev {
			set[v] = 0
			prev = v
		}
	}
	names := make([]string, 0, len(set))
	for v := range set {
		names = append(names, v)
	}
	sort.Strings(names)
	for i, v := range names {
		set[v] = i
	}
	idx := make([]int, 0, len(col)-f.skipped)
	prev, last := "\x00", -1
	for i, v := range col {
		if f.skip[i] {
			continue
		}
		if v != prev {
			prev, last = v, set[v]
		}
		idx = append(idx, last)
	}
	return idx, names
}

func kept(col []string, f *rowFilter) []string {
	out := make([]string, 0, len(col)-f.skipped)
	for i, v := range col {
		if !f.skip[i] {
			out = append(out, v)
		}
	}
	return out
}

type lmmOutput struct {
	*stats.LMMFit
	RowsSkipped int `json:"rows_skipped"`
}

// MarshalJSON writes the fit's keys followed by rows_skipped.
func (o lmmOutput) MarshalJSON() ([]byte, error) {
	return appendField(o.LMMFit, "rows_skipped", o.RowsSkipped)
}

// appendField adds one key to the JSON object v marshals to.
func appendField(v any, key string, value any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	extra, err := json.Marshal(value)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimSuffix(bytes.TrimSpace(b), []byte("}"))
	if len(b) > 1 {
		b = append(b, ',')
	}
	b = append(b, strconv.Quote(key)...)
	b = append(b, ':')
	b = append(b, extra...)
	return append(b, '}'), nil
}

func fitLMM(t *modelTable, groupCol, timeCol, yCol string, opt stats.LMMOptions) (any, error) {
	g, err := t.column(groupCol)
	if err != nil {
		return nil, err
	}
	tc, err := t.column(timeCol)
	if err != nil {
		return nil, err
	}
	yc, err := t.column(yCol)
	if err != nil {
		return nil, err
	}
	f := t.filter(g, tc, yc)
	x, err := t.numbers(timeCol, tc, f, false)
	if err != nil {
		return nil, err
	}
	y, err := t.numbers(yCol, yc, f, false)
	if err != nil {
		return nil, err
	}
	idx, names := labels(g, f)
	opt.GroupNames = names
	fit, err := stats.FitLMM(idx, x, y, opt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.path, err)
	}
	if f.skipped > 0 {
		fit.Warnings = append(fit.Warnings, fmt.Sprintf("%d rows with a missing value skipped", f.skipped))
	}
	return lmmOutput{fit, f.skipped}, nil
}

type kmOutput struct {
	Curves      []*stats.KMCurve `json:"curves"`
	LogRank     *stats.LogRank   `json:"logrank,omitempty"`
	RowsSkipped int              `json:"rows_skipped"`
}

func fitKM(t *modelTable, timeCol, eventCol, groupCol string) (any, error) {
	var extra []string
	if groupCol != "" {
		extra = []string{groupCol}
	}
	times, ev, f, cols, err := t.survival(timeCol, eventCol, extra)
	if err != nil {
		return nil, err
	}
	var gc []string
	if groupCol != "" {
		gc = cols[0]
	}
	out := kmOutput{RowsSkipped: f.skipped}
	if gc == nil {
		c, err := stats.KaplanMeier(times, ev)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.path, err)
		}
		out.Curves = []*stats.KMCurve{c}
		return out, nil
	}
	idx, names := labels(gc, f)
	byGroup := make([][]int, len(names))
	for i, g := range idx {
		byGroup[g] = append(byGroup[g], i)
	}
	for g, rows := range byGroup {
		if len(rows) < 2 {
			return nil, &inputError{Path: t.path, Column: groupCol,
				Reason: fmt.Sprintf("group %q has a single observation; a survival curve and the log-rank test need at least two per group", names[g])}
		}
	}
	if len(names) < 2 {
		return nil, &inputError{Path: t.path, Column: groupCol, Reason: fmt.Sprintf("only one group (%q); the log-rank test needs two or more", names[0])}
	}
	for g, rows := range byGroup {
		ts := make([]float64, len(rows))
		es := make([]bool, len(rows))
		for k, i := range rows {
			ts[k], es[k] = times[i], ev[i]
		}
		c, err := stats.KaplanMeier(ts, es)
		if err != nil {
			return nil, fmt.Errorf("%s: group %q: %w", t.path, names[g], err)
		}
		c.Group = names[g]
		out.Curves = append(out.Curves, c)
	}
	lr, err := stats.LogRankTest(times, ev, idx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.path, err)
	}
	out.LogRank = lr
	return out, nil
}

type coxOutput struct {
	*stats.CoxFit
	RowsSkipped int `json:"rows_skipped"`
}

// MarshalJSON writes the fit's keys followed by rows_skipped.
func (o coxOutput) MarshalJSON() ([]byte, error) {
	return appendField(o.CoxFit, "rows_skipped", o.RowsSkipped)
}

func fitCox(t *modelTable, timeCol, eventCol, startCol string, covariates []string) (any, error) {
	extra := covariates
	if startCol != "" {
		extra = append(append([]string(nil), covariates...), startCol)
	}
	times, ev, f, cols, err := t.survival(timeCol, eventCol, extra)
	if err != nil {
		return nil, err
	}
	d := stats.NewDesign(len(times))
	if err := t.addCovariates(d, covariates, cols, f); err != nil {
		return nil, err
	}
	var fit *stats.CoxFit
	if startCol == "" {
		fit, err = stats.FitCox(times, ev, d)
	} else {
		var starts []float64
		if starts, err = t.numbers(startCol, cols[len(covariates)], f, true); err != nil {
			return nil, err
		}
		k := 0
		for i := range t.lines {
			if f.skip[i] {
				continue
			}
			if !(starts[k] < times[k]) {
				return nil, &inputError{Path: t.path, Line: t.lines[i], Column: startCol,
					Reason: fmt.Sprintf("start %g is not before the stop time %g (column %q)", starts[k], times[k], timeCol)}
			}
			k++
		}
		fit, err = stats.FitCoxCounting(starts, times, ev, d)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.path, err)
	}
	return coxOutput{fit, f.skipped}, nil
}

// addCovariates adds the kept rows of the named columns to d: a column
// whose values are all numbers as a numeric term, any other as a
// categorical one coded against its first level in sorted order.
func (t *modelTable) addCovariates(d *stats.Design, names []string, cols [][]string, f *rowFilter) error {
	for k, name := range names {
		values := kept(cols[k], f)
		if isNumeric(values) {
			x, err := t.numbers(name, cols[k], f, false)
			if err != nil {
				return err
			}
			if err := d.AddNumeric(name, x); err != nil {
				return fmt.Errorf("%s: %w", t.path, err)
			}
			continue
		}
		if err := d.AddCategorical(name, values); err != nil {
			return &inputError{Path: t.path, Column: name, Reason: err.Error()}
		}
	}
	return nil
}

type lmmDesignOutput struct {
	*stats.LMMDesignFit
	RowsSkipped int `json:"rows_skipped"`
}

// MarshalJSON writes the fit's keys followed by rows_skipped.
func (o lmmDesignOutput) MarshalJSON() ([]byte, error) {
	return appendField(o.LMMDesignFit, "rows_skipped", o.RowsSkipped)
}

// fitLMMDesign fits lmer(y ~ t [* by] + covariates + (t | group)) with
// the fixed effects in R's order: the intercept, t, the levels of by, the
// covariates, then t:by.
func fitLMMDesign(t *modelTable, groupCol, timeCol, yCol string, covariates []string, by string, opt stats.LMMOptions) (any, error) {
	if opt.BLUPs {
		return nil, fmt.Errorf("%w: model lmm: --blups is not available with --covariate or --by", errUsage)
	}
	names := []string{groupCol, timeCol, yCol}
	names = append(names, covariates...)
	if by != "" {
		names = append(names, by)
	}
	seen := map[string]bool{}
	cols := make([][]string, len(names))
	for k, name := range names {
		if seen[name] {
			return nil, fmt.Errorf("%w: model lmm: column %q is named twice", errUsage, name)
		}
		seen[name] = true
		var err error
		if cols[k], err = t.column(name); err != nil {
			return nil, err
		}
	}
	f := t.filter(cols...)
	x, err := t.numbers(timeCol, cols[1], f, false)
	if err != nil {
		return nil, err
	}
	y, err := t.numbers(yCol, cols[2], f, false)
	if err != nil {
		return nil, err
	}
	if len(y) == 0 {
		return nil, fmt.Errorf("%s: no rows with every column the model uses", t.path)
	}
	idx, _ := labels(cols[0], f)
	d := stats.NewDesign(len(y))
	if err := d.AddNumeric(timeCol, x); err != nil {
		return nil, fmt.Errorf("%s: %w", t.path, err)
	}
	if by != "" {
		if err := d.AddCategorical(by, kept(cols[len(cols)-1], f)); err != nil {
			return nil, &inputError{Path: t.path, Column: by, Reason: err.Error()}
		}
	}
	if err := t.addCovariates(d, covariates, cols[3:3+len(covariates)], f); err != nil {
		return nil, err
	}
	if by != "" {
		if err := d.AddInteraction(timeCol, x, by); err != nil {
			return nil, fmt.Errorf("%s: %w", t.path, err)
		}
	}
	fit, err := stats.FitLMMDesign(idx, x, y, d, opt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.path, err)
	}
	if f.skipped > 0 {
		fit.Warnings = append(fit.Warnings, fmt.Sprintf("%d rows with a missing value skipped", f.skipped))
	}
	return lmmDesignOutput{fit, f.skipped}, nil
}

// isNumeric reports whether every value parses as a finite number.
func isNumeric(values []string) bool {
	for _, v := range values {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// survival reads the time and event columns and the extra columns a survival model uses,
// keeping the rows where all of them are given (f), and checks times and events.
func (t *modelTable) survival(timeCol, eventCol string, extra []string) (times []float64, ev []bool, f *rowFilter, cols [][]string, err error) {
	tc, err := t.column(timeCol)
	if err != nil {
		return nil, nil, f, nil, err
	}
	ec, err := t.column(eventCol)
	if err != nil {
		return nil, nil, f, nil, err
	}
	used := [][]string{tc, ec}
	cols = make([][]string, len(extra))
	for k, name := range extra {
		if cols[k], err = t.column(name); err != nil {
			return nil, nil, f, nil, err
		}
		used = append(used, cols[k])
	}
	f = t.filter(used...)
	if times, err = t.numbers(timeCol, tc, f, true); err != nil {
		return nil, nil, f, nil, err
	}
	if ev, err = t.events(eventCol, ec, f); err != nil {
		return nil, nil, f, nil, err
	}
	if len(times) == 0 {
		what := "a time and an event"
		if len(extra) > 0 {
			what = "a time, an event and every " + strings.Join(extra, ", ")
		}
		return nil, nil, f, nil, fmt.Errorf("%s: no rows with %s", t.path, what)
	}
	return times, ev, f, cols, nil
}
