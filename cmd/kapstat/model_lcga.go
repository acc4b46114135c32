package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/kapstat/kapstat/measures/stats/lcga"
)

// lcgaDefaultSeed is the seed of `model lcga` when --seed is not given: the
// default seed of analyze's configuration, so that the two draw the same
// starts.
const lcgaDefaultSeed = 20260101

// lcgaFlags declares the flags of `model lcga` on fs and returns the flags
// that must be given, the columns the model reads and the fit.
func lcgaFlags(fs *flag.FlagSet) (required map[string]*string, columns func() []string, run func(*modelTable) (any, error)) {
	group := fs.String("group", "", "grouping column (e.g. patient id)")
	timeCol := fs.String("time", "", "time column (numeric, e.g. weeks since baseline)")
	yCol := fs.String("y", "", "response column (numeric)")
	classes := fs.String("classes", "1-4", "numbers of classes fitted: `K|A-B` (exactly K, or A to B); the number is chosen among them by BIC")
	variance := fs.String("variance", "shared", "residual variance: `shared|class` (one shared by the classes, or one per class)")
	starts := fs.Int("starts", 20, "random starts per number of classes")
	seed := fs.Uint64("seed", lcgaDefaultSeed, "seed of the random starts")
	tol := fs.Float64("tol", 1e-8, "EM stops when the log-likelihood changes by less than tol·(1+|logL|); 1e-12 or less for estimates to more digits")
	change := fs.Float64("label-change", 6, "class labels: the smallest meaningful change in points (PHQ-9's reliable change, as analyze uses)")
	span := fs.Float64("label-span", 8, "class labels: the change is the slope times this many units of time (8 weeks, analyze's acute window)")
	required = map[string]*string{"group": group, "time": timeCol, "y": yCol}
	columns = func() []string { return []string{*group, *timeCol, *yCol} }
	run = func(t *modelTable) (any, error) {
		opt := lcga.Options{
			Starts: *starts, Seed: *seed, Tol: *tol,
			Label: lcga.LabelOptions{MeaningfulChange: *change, Weeks: *span},
		}
		var err error
		if opt.MinK, opt.MaxK, err = parseClasses(*classes); err != nil {
			return nil, err
		}
		switch *variance {
		case "shared":
			opt.Variance = lcga.SharedVariance
		case "class":
			opt.Variance = lcga.ClassVariance
		default:
			return nil, fmt.Errorf("%w: --variance %q: want shared or class", errUsage, *variance)
		}
		switch {
		case *starts < 1:
			return nil, fmt.Errorf("%w: --starts %d: want 1 or more", errUsage, *starts)
		case !(*tol > 0) || *tol >= 1:
			return nil, fmt.Errorf("%w: --tol %v: want a number between 0 and 1", errUsage, *tol)
		case !(*change > 0) || math.IsInf(*change, 0):
			return nil, fmt.Errorf("%w: --label-change %v: want a positive number", errUsage, *change)
		case !(*span > 0) || math.IsInf(*span, 0):
			return nil, fmt.Errorf("%w: --label-span %v: want a positive number", errUsage, *span)
		}
		return fitLCGA(t, *group, *timeCol, *yCol, *variance, opt)
	}
	return required, columns, run
}

// parseClasses reads --classes: "K" (exactly K classes) or "A-B" (A to B).
func parseClasses(s string) (minK, maxK int, err error) {
	lo, hi, isRange := strings.Cut(s, "-")
	if !isRange {
		hi = lo
	}
	a, errA := strconv.Atoi(strings.TrimSpace(lo))
	b, errB := strconv.Atoi(strings.TrimSpace(hi))
	if errA != nil || errB != nil || a < 1 || b < a {
		return 0, 0, fmt.Errorf("%w: --classes %q: want K or A-B with 1 ≤ A ≤ B", errUsage, s)
	}
	return a, b, nil
}

// lcgaOutput is the JSON of `model lcga`.
type lcgaOutput struct {
	NPatients   int         `json:"n_patients"`
	NObs        int         `json:"n_obs"`
	RowsSkipped int         `json:"rows_skipped"`
	Variance    string      `json:"variance"`
	Starts      int         `json:"starts"`
	Seed        uint64      `json:"seed"`
	K           int         `json:"k"` // chosen by BIC
	Models      []lcgaModel `json:"models"`
	Warnings    []string    `json:"warnings"`
}

// lcgaModel is the best fit with K classes. LogLik and BIC are null (and
// Classes empty) when no start was kept.
type lcgaModel struct {
	K               int         `json:"k"`
	LogLik          *float64    `json:"loglik"`
	BIC             *float64    `json:"bic"`
	Parameters      int         `json:"parameters"`
	NPatients       int         `json:"n_patients"`
	NObs            int         `json:"n_obs"`
	RelativeEntropy *float64    `json:"relative_entropy"`
	Converged       bool        `json:"converged"`
	Finalists       int         `json:"finalists"`
	BestReplicated  int         `json:"best_replicated"`
	Classes         []lcgaClass `json:"classes"`
	Note            string      `json:"note,omitempty"`
}

type lcgaClass struct {
	Label     string  `json:"label"`
	Share     float64 `json:"share"`
	Intercept float64 `json:"intercept"`
	Slope     float64 `json:"slope"`
	Sigma     float64 `json:"sigma"`
	N         int     `json:"n"`
}

func fitLCGA(t *modelTable, groupCol, timeCol, yCol, variance string, opt lcga.Options) (any, error) {
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
	if len(y) == 0 {
		return nil, fmt.Errorf("%s: no rows with a group, a time and a response", t.path)
	}
	idx, names := labels(g, f)
	r, err := lcga.Fit(idx, x, y, len(names), opt)
	switch {
	case errors.Is(err, lcga.ErrNoTimeSpread):
		return nil, &inputError{Path: t.path, Column: timeCol, Reason: "every observation is at the same time; a slope cannot be estimated"}
	case errors.Is(err, lcga.ErrExactLine):
		return nil, &inputError{Path: t.path, Column: yCol, Reason: "every observation lies on one straight line; the residual variance is zero"}
	case errors.Is(err, lcga.ErrNoFit):
		return nil, fmt.Errorf("%s: no start kept for any of %d to %d classes: each class needs at least max(1%% of %d, 2) patients", t.path, opt.MinK, opt.MaxK, len(names))
	case err != nil:
		return nil, fmt.Errorf("%s: %w", t.path, err)
	}

	out := lcgaOutput{
		NPatients: r.Patients, NObs: r.Observations, RowsSkipped: f.skipped,
		Variance: variance, Starts: opt.Starts, Seed: opt.Seed, K: r.K,
		Models: []lcgaModel{}, Warnings: []string{},
	}
	if f.skipped > 0 {
		out.Warnings = append(out.Warnings, fmt.Sprintf("%d rows with a missing value skipped", f.skipped))
	}
	for k := opt.MinK; k <= opt.MaxK; k++ {
		m := r.Models[k-1]
		om := lcgaModel{K: k, NPatients: r.Patients, NObs: r.Observations, Classes: []lcgaClass{}}
		if m == nil {
			om.Note = "no start kept: every start had a class below max(1% of patients, 2 patients) or without spread in time"
			out.Warnings = append(out.Warnings, fmt.Sprintf("K = %d: %s", k, om.Note))
			out.Models = append(out.Models, om)
			continue
		}
		ll, bic, ent := m.LogLik, m.BIC, m.Entropy
		om.LogLik, om.BIC, om.RelativeEntropy = &ll, &bic, &ent
		om.Parameters, om.Converged = m.Params, m.Converged
		om.Finalists, om.BestReplicated = m.Finalists, m.Replicated
		for _, c := range m.Classes {
			om.Classes = append(om.Classes, lcgaClass{Label: c.Label, Share: c.Share, Intercept: c.Intercept, Slope: c.Slope, Sigma: c.Sigma, N: c.N})
		}
		if !m.Converged {
			out.Warnings = append(out.Warnings, fmt.Sprintf("K = %d: EM stopped at its iteration limit before converging", k))
		}
		if k > 1 && m.Replicated < 2 {
			out.Warnings = append(out.Warnings, fmt.Sprintf("K = %d: the best log-likelihood was reached by %d of %d starts run to convergence; it may be a local maximum (try more --starts)", k, m.Replicated, m.Finalists))
		}
		out.Models = append(out.Models, om)
	}
	return out, nil
}
