package pipeline

import (
	"context"

	"database/sql/driver"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/kapstat/kapstat/measures/outcome"
	"github.com/kapstat/kapstat/measures/stats"
)

// analysisDDL replaces the tables analyze writes (SPEC 5). Each analyze rewrites them whole,
// in one transaction, so they always describe one analysis: the one in analysis_runs with
// the latest run_at.
var analysisDDL = []string{
	`CREATE TABLE IF NOT EXISTS analysis_runs (run_at TIMESTAMP, as_of DATE, kapstat_version VARCHAR, config VARCHAR, analysis VARCHAR)`,
	`CREATE OR REPLACE TABLE episodes (patient_id VARCHAR, instrument VARCHAR, clinic VARCHAR, route VARCHAR, program VARCHAR,
		setting VARCHAR, integration VARCHAR, quarter VARCHAR, excluded_reason VARCHAR, baseline_day INTEGER, baseline SMALLINT,
		endpoint_day INTEGER, endpoint SMALLINT, change SMALLINT, eligible BOOLEAN, response BOOLEAN, remission BOOLEAN,
		reliable_change VARCHAR, class VARCHAR, class_posterior DOUBLE)`,
	`CREATE OR REPLACE TABLE relapse (patient_id VARCHAR, instrument VARCHAR, program VARCHAR, at_risk BOOLEAN, reason VARCHAR,
		response_day INTEGER, time_days INTEGER, event BOOLEAN)`,
	`CREATE OR REPLACE TABLE trajectory_blups (patient_id VARCHAR, instrument VARCHAR, intercept DOUBLE, slope DOUBLE)`,
	`CREATE OR REPLACE TABLE trajectory_fits (instrument VARCHAR, n_obs INTEGER, n_groups INTEGER, intercept DOUBLE,
		intercept_se DOUBLE, slope DOUBLE, slope_se DOUBLE, sd_intercept DOUBLE, sd_slope DOUBLE, corr DOUBLE, sd_residual DOUBLE,
		loglik DOUBLE, converged BOOLEAN, warnings VARCHAR)`,
	`CREATE OR REPLACE TABLE weekly_means (instrument VARCHAR, week INTEGER, n INTEGER, mean DOUBLE, sd DOUBLE, lower95 DOUBLE, upper95 DOUBLE)`,
	`CREATE OR REPLACE TABLE trajectory_classes (instrument VARCHAR, class INTEGER, label VARCHAR, n INTEGER, share DOUBLE,
		intercept DOUBLE, slope DOUBLE, sigma DOUBLE)`,
	`CREATE OR REPLACE TABLE relapse_curves (instrument VARCHAR, program VARCHAR, time_days DOUBLE, n_risk INTEGER, n_event INTEGER,
		survival DOUBLE, std_err DOUBLE, lower95 DOUBLE, upper95 DOUBLE)`,
	`CREATE OR REPLACE TABLE course (patient_id VARCHAR, instrument VARCHAR, program VARCHAR, reason VARCHAR, eligible BOOLEAN,
		acute_window_open BOOLEAN, response_days INTEGER, response_event BOOLEAN, remission_days INTEGER, remission_event BOOLEAN,
		doses INTEGER, response_dose INTEGER)`,
	`CREATE OR REPLACE TABLE followup_windows (patient_id VARCHAR, instrument VARCHAR, window_name VARCHAR, window_from INTEGER,
		window_to INTEGER, reason VARCHAR, followed BOOLEAN, score_day INTEGER, score SMALLINT, response BOOLEAN, remission BOOLEAN)`,
	`CREATE OR REPLACE TABLE retention (patient_id VARCHAR, program VARCHAR, acute_window_open BOOLEAN, doses INTEGER,
		total_mg DOUBLE, maintenance_window_open BOOLEAN, maintenance BOOLEAN)`,
	`CREATE OR REPLACE TABLE session_safety (patient_id VARCHAR, day INTEGER, dose_number INTEGER, route VARCHAR, setting VARCHAR,
		bp_recorded BOOLEAN, bp_elevated BOOLEAN, side_effects VARCHAR, dissociation INTEGER, serious_adverse_event BOOLEAN)`,
	`CREATE OR REPLACE TABLE outcomes (instrument VARCHAR, dimension VARCHAR, grp VARCHAR, with_baseline INTEGER,
		acute_window_open INTEGER, with_endpoint INTEGER, eligible INTEGER, baseline_mean DOUBLE, endpoint_mean DOUBLE,
		change_mean DOUBLE, change_sd DOUBLE, cohens_dz DOUBLE, response_n INTEGER, response_events INTEGER,
		response_rate DOUBLE, response_lower95 DOUBLE, response_upper95 DOUBLE, response_itt_rate DOUBLE, remission_events INTEGER,
		remission_rate DOUBLE, remission_itt_rate DOUBLE, recovered INTEGER, improved INTEGER, unchanged INTEGER, deteriorated INTEGER,
		relapse_at_risk INTEGER, relapse_events INTEGER, relapse_free_8_weeks DOUBLE, relapse_median_days DOUBLE)`,
}

func nullable(v float64) driver.Value {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

func nullStr(s string) driver.Value {
	if s == "" {
		return nil
	}
	return s
}

// writeAnalysis stores the analysis tables in one transaction on one connection.
func (w *Warehouse) writeAnalysis(ctx context.Context, a *Analysis, md map[string]*measureData, course *courseData, dims *[nDims]dict, ids []string, opt AnalyzeOptions) error {
	conn, err := w.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			conn.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	for _, q := range analysisDDL {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("write analysis: %w", err)
		}
	}
	err = conn.Raw(func(dc any) error {
		dconn := dc.(driver.Conn)
		appendAll := func(table string, fill func(app *duckdb.Appender) error) error {
			app, err := duckdb.NewAppenderFromConn(dconn, "", table)
			if err != nil {
				return fmt.Errorf("append %s: %w", table, err)
			}
			if err := fill(app); err != nil {
				app.Close()
				return fmt.Errorf("append %s: %w", table, err)
			}
			return app.Close()
		}
		for _, code := range a.Config.InstrumentCodes() {
			m, mr := md[code], a.Measures[code]
			if mr == nil {
				continue
			}
			label := func(d int, e *episode) string { return dims[d].labels[e.groups[d]] }
			if err := appendAll("episodes", func(app *duckdb.Appender) error {
				for i := range m.episodes {
					e := &m.episodes[i]
					res := e.result()
					r := &res
					var bd, b, ed, en, ch, rc, cls, post driver.Value
					if r.HasBaseline {
						bd, b = int32(r.BaselineDay), int16(r.Baseline)
					}
					if r.HasEndpoint {
						ed, en, ch, rc = int32(r.EndpointDay), int16(r.Endpoint), int16(r.Change), r.ReliableChange
					}
					if e.class >= 0 && mr.Classes != nil {
						cls, post = mr.Classes.Classes[e.class].Label, e.posterior
					}
					var quarter driver.Value = label(dimQuarter, e)
					if quarter == outcome.ReasonAcuteWindowOpen {
						quarter = nil // not known until the window closes
					}
					if err := app.AppendRow(ids[e.patient], code, label(dimClinic, e), label(dimRoute, e), label(dimProgram, e),
						label(dimSetting, e), label(dimIntegration, e), quarter, nullStr(r.Reason), bd, b, ed, en, ch,
						r.Eligible, r.Response, r.Remission, rc, cls, post); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				return err
			}
			if err := appendAll("relapse", func(app *duckdb.Appender) error {
				for i := range m.episodes {
					e := &m.episodes[i]
					r := e.relapseResult()
					if r.Reason == "no_baseline" || r.Reason == "not_eligible" {
						continue
					}
					var rd, tm, ev driver.Value
					if r.ResponseDay != 0 || r.AtRisk {
						rd = int32(r.ResponseDay)
					}
					if r.AtRisk {
						tm, ev = int32(r.Time), r.Event
					}
					if err := app.AppendRow(ids[e.patient], code, label(dimProgram, e), r.AtRisk, nullStr(r.Reason), rd, tm, ev); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				return err
			}
			if err := appendAll("course", func(app *duckdb.Appender) error {
				for i, c := range course.courses[code] {
					var rd, re, md, me driver.Value
					if c.Reason == "" {
						rd, re, md, me = int32(c.Response.Time), c.Response.Event, int32(c.Remission.Time), c.Remission.Event
					}
					var dose driver.Value
					if c.ResponseDose > 0 {
						dose = int32(c.ResponseDose)
					}
					if err := app.AppendRow(ids[m.episodes[i].patient], code, c.Program, nullStr(c.Reason), c.Eligible, c.WindowOpen,
						rd, re, md, me, int32(c.Doses), dose); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				return err
			}
			if err := appendAll("followup_windows", func(app *duckdb.Appender) error {
				for wi, win := range course.windows {
					for i, r := range course.followUp[code][wi] {
						var day, score driver.Value
						if r.Followed {
							day, score = int32(r.Day), int16(r.Score)
						}
						if err := app.AppendRow(ids[m.episodes[i].patient], code, win.Name, int32(win.From), int32(win.To), nullStr(r.Reason),
							r.Followed, day, score, r.Response, r.Remission); err != nil {
							return err
						}
					}
				}
				return nil
			}); err != nil {
				return err
			}
			if err := appendAll("trajectory_blups", func(app *duckdb.Appender) error {
				for i := range m.episodes {
					e := &m.episodes[i]
					if e.has(fBLUP) {
						if err := app.AppendRow(ids[e.patient], code, e.blupA, nullable(e.blupB)); err != nil {
							return err
						}
					}
				}
				return nil
			}); err != nil {
				return err
			}
		}
		if err := appendAll("session_safety", func(app *duckdb.Appender) error {
			for i, ss := range course.safety {
				for _, x := range ss {
					var dose, elevated, effects, dis, sae driver.Value
					if x.Dose > 0 {
						dose = int32(x.Dose)
					}
					if x.BPRecorded {
						elevated = x.BPElevated
					}
					if x.SideEffectsRecorded {
						effects = "none"
						if len(x.SideEffects) > 0 {
							effects = strings.Join(x.SideEffects, ";")
						}
					}
					if x.Dissociation.Valid {
						dis = int32(x.Dissociation.Value)
					}
					if x.SeriousAdverseEvent.Valid {
						sae = x.SeriousAdverseEvent.Value
					}
					if err := app.AppendRow(ids[course.safetyPatient[i]], int32(x.Day), dose, x.Route, x.Setting, x.BPRecorded, elevated,
						effects, dis, sae); err != nil {
						return err
					}
				}
			}
			return nil
		}); err != nil {
			return err
		}
		return appendAll("retention", func(app *duckdb.Appender) error {
			for i, r := range course.retention {
				var mg driver.Value
				if r.TotalMg.Valid {
					mg = r.TotalMg.Value
				}
				if err := app.AppendRow(ids[course.retentionPatient[i]], r.Program, r.AcuteWindowOpen, int32(r.Doses), mg,
					r.MaintenanceWindowOpen, r.Maintenance); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("write analysis: %w", err)
	}
	exec := func(q string, args ...any) error {
		_, err := conn.ExecContext(ctx, q, args...)
		return err
	}
	for _, mr := range a.Instruments() {
		code := mr.Instrument
		if f := mr.Trajectory; f != nil {
			warn, _ := json.Marshal(f.Warnings)
			if err := exec(`INSERT INTO trajectory_fits VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, code, f.NObs, f.NGroups,
				f.Fixed.Intercept.Estimate, f.Fixed.Intercept.SE, f.Fixed.Slope.Estimate, f.Fixed.Slope.SE,
				nullable(f.SDIntercept), nullable(f.SDSlope), nullable(f.Corr), nullable(f.SDResidual), nullable(f.LogLik), f.Converged, string(warn)); err != nil {
				return err
			}
		}
		for _, wk := range mr.Weekly {
			if err := exec(`INSERT INTO weekly_means VALUES (?, ?, ?, ?, ?, ?, ?)`, code, wk.Week, wk.N, nullable(wk.Mean), nullable(wk.SD),
				nullable(wk.Lower95), nullable(wk.Upper95)); err != nil {
				return err
			}
		}
		if c := mr.Classes; c != nil {
			for i, cl := range c.Classes {
				if err := exec(`INSERT INTO trajectory_classes VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, code, i, cl.Label, cl.N, cl.Share,
					cl.Intercept, cl.Slope, cl.Sigma); err != nil {
					return err
				}
			}
		}
		insertCurve := func(program string, rows []stats.KMRow) error {
			for _, r := range rows {
				if err := exec(`INSERT INTO relapse_curves VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, code, program, r.Time, r.NRisk, r.NEvent,
					nullable(r.Survival), nullable(r.StdErr), nullable(r.Lower95), nullable(r.Upper95)); err != nil {
					return err
				}
			}
			return nil
		}
		if err := insertCurve("all", mr.Relapse.Curve); err != nil {
			return err
		}
		for prog, c := range mr.Relapse.ByProgram.Curves {
			if err := insertCurve(prog, c.Curve); err != nil {
				return err
			}
		}
		rows := append([]GroupOutcome{overallOutcome(mr)}, mr.ByGroup...)
		for _, g := range rows {
			var median driver.Value
			if g.Relapse.MedianDays != nil {
				median = *g.Relapse.MedianDays
			}
			if err := exec(`INSERT INTO outcomes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				code, g.Dimension, g.Group, g.WithBaseline, g.AcuteWindowOpen, g.WithEndpoint, g.Eligible, nullable(g.Baseline.Mean),
				nullable(g.Endpoint.Mean), nullable(g.Change.Mean), nullable(g.Change.SD), nullable(g.CohensDz), g.Response.N,
				g.Response.Events, nullable(g.Response.Rate), nullable(g.Response.Lower95), nullable(g.Response.Upper95),
				nullable(g.ResponseITT.Rate), g.Remission.Events, nullable(g.Remission.Rate), nullable(g.RemissionITT.Rate),
				g.ReliableChange["recovered"], g.ReliableChange["improved"], g.ReliableChange["unchanged"],
				g.ReliableChange["deteriorated"], g.Relapse.AtRisk, g.Relapse.Events, nullable(g.Relapse.At8Weeks.Survival), median); err != nil {
				return err
			}
		}
	}
	js, err := json.Marshal(a)
	if err != nil {
		return err
	}
	cfg, _ := json.Marshal(a.Config)
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	var asOf any
	if a.AsOf != nil {
		asOf = *a.AsOf
	}
	if err := exec(`INSERT INTO analysis_runs VALUES (?, CAST(? AS DATE), ?, ?, ?)`, now().UTC(), asOf, Version, string(cfg), string(js)); err != nil {
		return err
	}
	key, err := w.key(ctx, conn, a.Config, a.AsOf)
	if err != nil {
		return err
	}
	body, err := encodeSnapshot(a)
	if err != nil {
		return err
	}
	if err := exec(snapshotDDL); err != nil {
		return err
	}
	if err := exec(`INSERT INTO analysis_snapshot VALUES (?, ?, ?, ?, ?, ?)`, now().UTC(), key.AsOf, key.Build, key.Config, key.Inputs, body); err != nil {
		return err
	}
	checkpoint("analysis-written")
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("commit analysis: %w", err)
	}
	committed = true
	return nil
}
