package pipeline

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/kapstat/kapstat/measures"
	"github.com/kapstat/kapstat/measures/compare"
	"github.com/kapstat/kapstat/measures/outcome"
	"github.com/kapstat/kapstat/measures/stats"
	"github.com/kapstat/kapstat/measures/stats/lcga"
)

// AnalyzeOptions are the settings of one analysis.
type AnalyzeOptions struct {
	Config Config
	// AsOf, when set, ignores every row dated after it (SPEC 6.13).
	AsOf *time.Time
	// Write stores the analysis tables in the warehouse (analyze); report only reads.
	Write bool
	// Now is the clock for the analysis_runs timestamp and the default as-of day; nil means
	// time.Now.
	Now func() time.Time
	// Quarter, when set (e.g. "2026Q3"), is the quarter a report is for: AsOf is its last day,
	// and a warehouse holding day offsets is refused, since nothing can be cut off from them
	// (SPEC 6.13).
	Quarter string
	// Progress, when set, is told how far the analysis is (pipeline/progress.go): the
	// patients read out of their number, then the model fits and the writing of the tables
	// as named steps.
	Progress func(stage string, done, total int64)
}

// ErrQuarterWithoutDates is returned for a quarterly analysis of a warehouse that holds day
// offsets instead of dates.
var ErrQuarterWithoutDates = errors.New("a quarter cannot be cut from rows that give day offsets instead of dates")

// Input is one ingested file, with what happened to its rows.
type Input struct {
	Path        string           `json:"path"`
	SHA256      string           `json:"sha256"`
	Kind        string           `json:"kind"`
	RowsRead    int64            `json:"rows_read"`
	Accepted    int64            `json:"accepted"`
	Duplicates  int64            `json:"duplicates"`
	Quarantined int64            `json:"quarantined"`
	Reasons     map[string]int64 `json:"reasons"`
}

// Cohort counts patients and why some were not treated.
type Cohort struct {
	Patients int            `json:"patients"`
	Treated  int            `json:"treated"`
	Excluded map[string]int `json:"excluded"`
	// AssessmentOnly is true when the warehouse holds no sessions: index day = first assessment.
	AssessmentOnly bool `json:"assessment_only"`
}

// Weekly is the mean score of one week of the acute window (week 0 = baseline).
type Weekly struct {
	Week int `json:"week"`
	stats.MeanCI
}

// MarshalJSON flattens the week into the interval's keys.
func (w Weekly) MarshalJSON() ([]byte, error) {
	m := map[string]any{"week": w.Week, "n": w.N, "mean": nullNaN(w.Mean), "sd": nullNaN(w.SD),
		"lower95": nullNaN(w.Lower95), "upper95": nullNaN(w.Upper95)}
	return jsonMarshal(m)
}

// RelapseSummary is the relapse analysis of one instrument (SPEC 6.9). Its population is the
// patients who reached half their baseline score at an acute-window visit (not the endpoint
// responders) and had a later score.
type RelapseSummary struct {
	// Eligible counts the patients with a baseline at or above the cutoff, whose windows are
	// open or closed: AtRisk plus the Excluded reasons.
	Eligible    int            `json:"eligible"`
	AtRisk      int            `json:"at_risk"`
	Events      int            `json:"events"`
	MedianDays  *float64       `json:"median_days"`
	RelapseFree []RelapsePoint `json:"relapse_free"`
	// At8Weeks is the estimate at day 56, which the Summary shows whatever relapse_days holds.
	At8Weeks  RelapsePoint   `json:"relapse_free_8_weeks"`
	Excluded  map[string]int `json:"excluded"`
	Curve     KMRows         `json:"curve"`
	ByProgram ProgramRelapse `json:"by_program"`
	Cox       *stats.CoxFit  `json:"cox"`
	CoxNote   string         `json:"cox_note,omitempty"`
	// CoxAdjusted is the Cox model with program, baseline, the patient characteristics and
	// maintenance as a time-varying covariate (SPEC 6.15).
	CoxAdjusted *compare.CoxAdjusted `json:"cox_adjusted"`
}

// ProgramRelapse compares relapse between programs.
type ProgramRelapse struct {
	Logrank *stats.LogRank          `json:"logrank"`
	Curves  map[string]ProgramCurve `json:"curves"`
	Note    string                  `json:"note,omitempty"`
}

// ProgramCurve is one program's Kaplan–Meier curve.
type ProgramCurve struct {
	AtRisk      int            `json:"at_risk"`
	Events      int            `json:"events"`
	MedianDays  *float64       `json:"median_days"`
	RelapseFree []RelapsePoint `json:"relapse_free"`
	At8Weeks    RelapsePoint   `json:"relapse_free_8_weeks"`
	Curve       KMRows         `json:"curve"`
}

// GroupOutcome is one row of the outcomes-by-group tables (SPEC 6.12, 9): the Summary's
// figures for one group. Episodes whose acute window is still open count in WithBaseline and
// AcuteWindowOpen only; the quarter dimension puts them in a group of their own,
// "acute_window_open", since their quarter is not known yet.
type GroupOutcome struct {
	Dimension       string           `json:"dimension"`
	Group           string           `json:"group"`
	WithBaseline    int              `json:"with_baseline"`
	AcuteWindowOpen int              `json:"acute_window_open"`
	WithEndpoint    int              `json:"with_endpoint"`
	Eligible        int              `json:"eligible"`
	Baseline        stats.Summary    `json:"baseline"`
	Endpoint        stats.Summary    `json:"endpoint"`
	Change          stats.Summary    `json:"change"`
	CohensDz        float64          `json:"-"`
	Response        stats.Proportion `json:"response"`
	ResponseITT     stats.Proportion `json:"response_itt"`
	Remission       stats.Proportion `json:"remission"`
	RemissionITT    stats.Proportion `json:"remission_itt"`
	ReliableChange  map[string]int   `json:"reliable_change"`
	Relapse         GroupRelapse     `json:"relapse"`
}

// MarshalJSON writes Cohen's d_z with NaN as null.
func (g GroupOutcome) MarshalJSON() ([]byte, error) {
	type plain GroupOutcome
	return jsonMarshal(struct {
		plain
		CohensDz any `json:"cohens_dz"`
	}{plain(g), nullNaN(g.CohensDz)})
}

// GroupRelapse is the relapse summary of one group: the patients who reached half their
// baseline during the acute window and were followed afterwards (SPEC 6.9).
type GroupRelapse struct {
	AtRisk     int          `json:"at_risk"`
	Events     int          `json:"events"`
	MedianDays *float64     `json:"median_days"`
	At8Weeks   RelapsePoint `json:"relapse_free_8_weeks"`
}

// RelapsePoint is the Kaplan–Meier relapse-free estimate at a set day with the counts it rests
// on: patients still followed on that day and relapses on or before it.
type RelapsePoint struct {
	Time     float64 `json:"time"`
	NRisk    int     `json:"n_risk"`
	Events   int     `json:"events"`
	Survival float64 `json:"survival"`
	StdErr   float64 `json:"std_err"`
	Lower95  float64 `json:"lower95"`
	Upper95  float64 `json:"upper95"`
}

// MarshalJSON writes undefined values as null.
func (p RelapsePoint) MarshalJSON() ([]byte, error) {
	return jsonMarshal(map[string]any{"time": p.Time, "n_risk": p.NRisk, "events": p.Events, "survival": nullNaN(p.Survival),
		"std_err": nullNaN(p.StdErr), "lower95": nullNaN(p.Lower95), "upper95": nullNaN(p.Upper95)})
}

// MeasureResult is the analysis of one instrument (SPEC 7).
type MeasureResult struct {
	Instrument string `json:"instrument"`
	Name       string `json:"name"`
	Patients   int    `json:"patients"` // treated patients with any score of the instrument
	// WithBaseline counts every patient with a baseline, AcuteWindowOpen those of them still in
	// the acute window; every other count and rate leaves the open ones out (SPEC 6.4).
	WithBaseline    int `json:"with_baseline"`
	AcuteWindowOpen int `json:"acute_window_open"`
	WithEndpoint    int `json:"with_endpoint"`
	// Eligible counts the patients at or above the cutoff whose acute window has closed: the
	// intention-to-treat denominator.
	Eligible int `json:"eligible"`
	// Excluded is the attrition: every reason (no_baseline, acute_window_open, no_endpoint)
	// with its count, zeros included.
	Excluded       map[string]int   `json:"attrition"`
	Baseline       stats.Summary    `json:"baseline"`
	Endpoint       stats.Summary    `json:"endpoint"`
	Change         stats.TTest      `json:"change"`
	Response       stats.Proportion `json:"response"`
	ResponseITT    stats.Proportion `json:"response_itt"`
	Remission      stats.Proportion `json:"remission"`
	RemissionITT   stats.Proportion `json:"remission_itt"`
	ReliableChange map[string]int   `json:"reliable_change"`
	Trajectory     *stats.LMMFit    `json:"trajectory"`
	TrajectoryNote string           `json:"trajectory_note,omitempty"`
	Weekly         []Weekly         `json:"weekly"`
	Classes        *lcga.Result     `json:"classes"`
	// ClassesFittedOn is the number of patients the classes were estimated on (a seeded
	// random sample when the cohort exceeds class_sample); every patient is then assigned.
	ClassesFittedOn int            `json:"classes_fitted_on"`
	ClassesNote     string         `json:"classes_note,omitempty"`
	Relapse         RelapseSummary `json:"relapse"`
	ByGroup         []GroupOutcome `json:"by_group"`
	// Adjusted holds the comparisons of SPEC 6.15, adjusted and unadjusted side by side.
	Adjusted *compare.Adjusted `json:"adjusted"`
	// CourseResult holds the treatment-course figures (SPEC 6.16, 6.17), at this level of the
	// JSON: time_to_response, time_to_remission, response_by_dose, windows, suicidal_ideation.
	CourseResult
}

// SafetyFlag is a patient whose most recent PHQ-9 that recorded item 9 rated it above 0
// (SPEC 6.14; internal audience only). Treated or not: a patient screened at a preparation
// session is listed too.
type SafetyFlag struct {
	PatientID string `json:"patient_id"`
	ClinicID  string `json:"clinic_id"`
	// Day, Date, Item9 and Total are those of the PHQ-9 that recorded item 9.
	Day   int32  `json:"day"`
	Date  string `json:"date"`
	Item9 int    `json:"item_9"`
	Total int    `json:"total"`
	// Later is true when a later PHQ-9 did not record item 9 (total only, or item 9 skipped):
	// LaterDay/LaterDate is the latest such PHQ-9. Its missing item 9 is unknown, not "no risk".
	Later     bool   `json:"later_without_item_9"`
	LaterDay  int32  `json:"later_day"`
	LaterDate string `json:"later_date"`
}

// Analysis is everything analyze derives; its JSON is SPEC 7's.
type Analysis struct {
	KapstatVersion string                    `json:"kapstat_version"`
	AsOf           *string                   `json:"as_of"`
	Config         Config                    `json:"config"`
	Inputs         []Input                   `json:"inputs"`
	DatesAvailable bool                      `json:"dates_available"`
	Cohort         Cohort                    `json:"cohort"`
	Measures       map[string]*MeasureResult `json:"measures"`
	SafetyFlags    int                       `json:"safety_flags"`
	Safety         []SafetyFlag              `json:"-"`
	// Retention is dose exposure and retention by program (SPEC 6.16); SessionSafety the
	// figures of the dosing sessions (SPEC 6.18). Nil in assessment-only mode.
	Retention     *outcome.RetentionSummary     `json:"retention"`
	SessionSafety *outcome.SessionSafetySummary `json:"session_safety"`
	// Patients describes the treated patients by program from the patients file (SPEC 9,
	// Patients; "Table 1"); nil, with PatientsNote, when no patients file was ingested.
	Patients     *compare.Table1 `json:"patients"`
	PatientsNote string          `json:"patients_note,omitempty"`
	// Quarters lists the episode quarters present, ascending (empty without dates).
	Quarters []string `json:"quarters"`
}

// Instruments returns the analysed instruments in canonical order.
func (a *Analysis) Instruments() []*MeasureResult {
	var out []*MeasureResult
	for _, in := range measures.All() {
		if m, ok := a.Measures[in.Code]; ok {
			out = append(out, m)
		}
	}
	return out
}

func nullNaN(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

// episode is one patient × instrument: the rows of the episodes and relapse tables. It is
// kept packed (72 bytes rather than 200 for the two result structs) because a million-patient
// analysis holds over two million of them; result and relapseResult unpack it.
type episode struct {
	patient              int32
	groups               [nDims]int16 // index into the dimension's labels
	baselineDay, endDay  int32
	responseDay, relTime int32
	baseline, endpoint   int16
	flags                uint16
	reason, rc, relapse  uint8 // codes into codeText
	class                int8
	posterior            float64
	blupA, blupB         float64
}

const (
	fHasBaseline = 1 << iota
	fHasEndpoint
	fEligible
	fResponse
	fRemission
	fAtRisk
	fEvent
	fBLUP
)

// codeText holds the reason and category strings episodes refer to by index.
var codeText = []string{"", outcome.ReasonNoBaseline, outcome.ReasonNoEndpoint, outcome.ReasonNotEligible,
	outcome.ReasonNoResponse, outcome.ReasonNoFollowUp, outcome.ReasonAcuteWindowOpen, outcome.Recovered, outcome.Improved, outcome.Unchanged,
	outcome.Deteriorated}

var codeOf = func() map[string]uint8 {
	m := make(map[string]uint8, len(codeText))
	for i, s := range codeText {
		m[s] = uint8(i)
	}
	return m
}()

// code returns the index of s in codeText; a string the outcome package added later and
// this table lacks is a programming error caught by the tests.
func code(s string) uint8 {
	c, ok := codeOf[s]
	if !ok {
		panic("pipeline: no code for " + s)
	}
	return c
}

func (e *episode) set(r outcome.EpisodeResult, rl outcome.RelapseResult) {
	e.baselineDay, e.endDay = int32(r.BaselineDay), int32(r.EndpointDay)
	e.baseline, e.endpoint = int16(r.Baseline), int16(r.Endpoint)
	e.reason, e.rc, e.relapse = code(r.Reason), code(r.ReliableChange), code(rl.Reason)
	e.responseDay, e.relTime = int32(rl.ResponseDay), int32(rl.Time)
	for _, f := range []struct {
		on  bool
		bit uint16
	}{{r.HasBaseline, fHasBaseline}, {r.HasEndpoint, fHasEndpoint}, {r.Eligible, fEligible}, {r.Response, fResponse},
		{r.Remission, fRemission}, {rl.AtRisk, fAtRisk}, {rl.Event, fEvent}} {
		if f.on {
			e.flags |= f.bit
		}
	}
}

func (e *episode) has(bit uint16) bool { return e.flags&bit != 0 }

func (e *episode) change() int {
	if !e.has(fHasEndpoint) {
		return 0
	}
	return int(e.endpoint) - int(e.baseline)
}

// result unpacks the episode's outcome.
func (e *episode) result() outcome.EpisodeResult {
	return outcome.EpisodeResult{Reason: codeText[e.reason], HasBaseline: e.has(fHasBaseline), BaselineDay: int(e.baselineDay),
		Baseline: int(e.baseline), HasEndpoint: e.has(fHasEndpoint), EndpointDay: int(e.endDay), Endpoint: int(e.endpoint),
		Change: e.change(), Eligible: e.has(fEligible), Response: e.has(fResponse),
		Remission: e.has(fRemission), ReliableChange: codeText[e.rc]}
}

// relapseResult unpacks the episode's relapse derivation.
func (e *episode) relapseResult() outcome.RelapseResult {
	return outcome.RelapseResult{AtRisk: e.has(fAtRisk), Reason: codeText[e.relapse], ResponseDay: int(e.responseDay),
		Time: int(e.relTime), Event: e.has(fEvent)}
}

// Group dimensions of SPEC 6.12, in report order.
const (
	dimClinic = iota
	dimRoute
	dimProgram
	dimSetting
	dimIntegration
	dimQuarter
	nDims
)

var dimNames = [nDims]string{"clinic", "route", "program", "setting", "integration", "quarter"}

// dict interns group labels.
type dict struct {
	idx    map[string]int16
	labels []string
}

func (d *dict) id(s string) int16 {
	if d.idx == nil {
		d.idx = map[string]int16{}
	}
	if i, ok := d.idx[s]; ok {
		return i
	}
	i := int16(len(d.labels))
	d.idx[s] = i
	d.labels = append(d.labels, s)
	return i
}

// measureData accumulates one instrument's data over the patient stream.
type measureData struct {
	in       measures.Instrument
	th       outcome.Thresholds
	patients int
	episodes []episode
	// trajectory observations: group = position in trajEpisodes
	trajGroup    []int
	trajT, trajY []float64
	trajEpisodes []int32 // episode index per trajectory group
	weeks        map[int]*weekSums
	// cmp holds each episode's facts for the adjusted comparisons (SPEC 6.15), in episode order.
	cmp []compare.Patient
	// progress is AnalyzeOptions.Progress, told of the fits of summarize.
	progress func(stage string, done, total int64)
}

// weekSums accumulates one week's scores: count, sum and sum of squares (integer scores
// keep them exact), so weekly means need no list of values.
type weekSums struct {
	n          int
	sum, sumSq float64
}

// scoreRow is one assessment as analyze reads it.
type scoreRow struct {
	instrument string
	day        int32
	total      int
	clinic     string
	item9      int
	hasDate    bool
}

type sessionRow struct {
	day     int32
	s       outcome.Session
	hasDate bool
}

// asOfDay is the as-of day an analysis runs under.
type asOfDay struct {
	asOf           *string // YYYY-MM-DD; nil when every window counts as closed
	day            int     // asOf as a day number
	offsets        int64   // rows giving day offsets instead of dates
	quarterRefused bool    // a quarter was asked of a warehouse holding day offsets
}

// resolveAsOf decides the as-of day (SPEC 6.4, 6.13), which decides which rows are in force
// and which acute windows have closed: --as-of, else today when the data carry dates. Day
// offsets have no calendar: their windows are all closed and no row of theirs is cut off.
func (w *Warehouse) resolveAsOf(ctx context.Context, opt AnalyzeOptions) (asOfDay, error) {
	var r asOfDay
	var dated bool
	if err := w.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM assessments WHERE date IS NOT NULL)
		OR EXISTS (SELECT 1 FROM sessions WHERE date IS NOT NULL),
		(SELECT count(*) FROM assessments WHERE date IS NULL) + (SELECT count(*) FROM sessions WHERE date IS NULL)`).Scan(&dated, &r.offsets); err != nil {
		return r, fmt.Errorf("analyze: %w", err)
	}
	r.quarterRefused = opt.Quarter != "" && r.offsets > 0
	t := opt.AsOf
	if t == nil && dated {
		now := time.Now
		if opt.Now != nil {
			now = opt.Now
		}
		n := now().UTC()
		t = &n
	}
	if t != nil {
		s := t.Format("2006-01-02")
		r.asOf, r.day = &s, int(dayOf(*t))
	}
	return r, nil
}

// Analyze runs the outcome definitions and statistics over the warehouse.
func (w *Warehouse) Analyze(ctx context.Context, opt AnalyzeOptions) (*Analysis, error) {
	cfg := opt.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := outcome.Params{BaselineDays: cfg.BaselineDays, AcuteDays: cfg.AcuteDays, ResponseFraction: cfg.ResponseFraction}
	a := &Analysis{KapstatVersion: Version, Config: cfg, Measures: map[string]*MeasureResult{},
		Cohort: Cohort{Excluded: map[string]int{}}, Quarters: []string{}}
	var err error
	if a.Inputs, err = w.inputs(ctx); err != nil {
		return nil, err
	}
	as, err := w.resolveAsOf(ctx, opt)
	if err != nil {
		return nil, err
	}
	if as.quarterRefused {
		return nil, fmt.Errorf("quarter %s: the warehouse holds %d rows with day offsets: %w (report without --quarter)", opt.Quarter, as.offsets, ErrQuarterWithoutDates)
	}
	asOf, asOfDay := "9999-12-31", outcome.AllClosed
	if as.asOf != nil {
		a.AsOf, asOf = as.asOf, *as.asOf
		asOfDay = as.day
	}
	offsets := as.offsets
	for _, r := range []string{outcome.ReasonNoDosingSession, outcome.ReasonNoAssessments} {
		a.Cohort.Excluded[r] = 0
	}
	var nSessions int64
	if err := w.db.QueryRowContext(ctx, `SELECT count(*) FROM sessions WHERE date IS NULL OR date <= CAST(? AS DATE)`, asOf).Scan(&nSessions); err != nil {
		return nil, err
	}
	anySessions := nSessions > 0
	a.Cohort.AssessmentOnly = !anySessions
	a.DatesAvailable = offsets == 0

	// Size the per-instrument arrays from the warehouse up front: at a million patients the
	// doubling slack of append would cost as much memory as the data.
	sizes := map[string][2]int{}
	if rows, err := w.db.QueryContext(ctx, `SELECT instrument, count(DISTINCT patient_id), count(*) FROM assessments
		WHERE date IS NULL OR date <= CAST(? AS DATE) GROUP BY ALL`, asOf); err == nil {
		for rows.Next() {
			var code string
			var p, n int
			if rows.Scan(&code, &p, &n) == nil {
				sizes[code] = [2]int{p, n}
			}
		}
		rows.Close()
	}
	md := map[string]*measureData{}
	for _, code := range cfg.InstrumentCodes() {
		in := cfg.Instrument(code)
		sz := sizes[code]
		md[code] = &measureData{in: in, th: outcome.Thresholds{Cutoff: in.Cutoff, Remission: in.Remission, ReliableChange: in.ReliableChange},
			weeks: map[int]*weekSums{}, episodes: make([]episode, 0, sz[0]), trajEpisodes: make([]int32, 0, sz[0]),
			trajGroup: make([]int, 0, sz[1]), trajT: make([]float64, 0, sz[1]), trajY: make([]float64, 0, sz[1])}
	}
	var dims [nDims]dict
	var ids []string // patient id per treated patient; episodes refer to them by index

	// Patients are read in ranges of patient ids: the driver materialises a query's whole
	// result, so one ordered query over a million patients would hold gigabytes outside the
	// Go heap. Each range is one pair of ordered queries, merged patient by patient.
	bounds, err := w.patientBounds(ctx, asOf, analyzeChunk)
	if err != nil {
		return nil, err
	}
	// The number of patients, counted only for the progress line.
	nPatients := int64(-1)
	if opt.Progress != nil {
		if err := w.db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT patient_id FROM assessments WHERE date IS NULL OR date <= CAST(? AS DATE)
			UNION SELECT patient_id FROM sessions WHERE date IS NULL OR date <= CAST(? AS DATE))`, asOf, asOf).Scan(&nPatients); err != nil {
			nPatients = -1
		}
		opt.Progress("patients", 0, nPatients)
	}
	quarters := map[string]bool{}
	var scoreBuf []outcome.Score
	course := newCourseData(cfg)
	codes := cfg.InstrumentCodes()
	var characteristics bool
	if err := w.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM patients)`).Scan(&characteristics); err != nil {
		return nil, fmt.Errorf("analyze: %w", err)
	}
	var people []compare.Person
	for ci := range bounds {
		where, args := " AND patient_id >= ?", []any{asOf, bounds[ci]}
		if ci+1 < len(bounds) {
			where += " AND patient_id < ?"
			args = append(args, bounds[ci+1])
		}
		aRows, err := w.db.QueryContext(ctx, `SELECT patient_id, instrument, day, total, clinic_id, coalesce(item_9, -1), date IS NOT NULL
			FROM assessments WHERE (date IS NULL OR date <= CAST(? AS DATE))`+where+` ORDER BY patient_id, instrument, day`, args...)
		if err != nil {
			return nil, fmt.Errorf("analyze: %w", err)
		}
		sRows, err := w.db.QueryContext(ctx, `SELECT patient_id, day, session_type, coalesce(route, ''), program, setting, clinic_id, date IS NOT NULL, dose_mg,
			sbp_pre, dbp_pre, hr_pre, sbp_max, dbp_max, hr_max, dissociation, coalesce(side_effects, ''), serious_adverse_event
			FROM sessions WHERE (date IS NULL OR date <= CAST(? AS DATE))`+where+` ORDER BY patient_id, day, session_type, route`, args...)
		if err != nil {
			aRows.Close()
			return nil, fmt.Errorf("analyze: %w", err)
		}
		pRows, err := w.db.QueryContext(ctx, `SELECT patient_id, age, coalesce(sex, ''), coalesce(diagnosis, ''), prior_treatments
			FROM patients WHERE true`+where+` ORDER BY patient_id`, args[1:]...)
		if err != nil {
			aRows.Close()
			sRows.Close()
			return nil, fmt.Errorf("analyze: %w", err)
		}

		ain, sin, pin := interner{}, interner{}, interner{}
		as := newStream(aRows, func(r *sql.Rows, id *string) (scoreRow, error) {
			var s scoreRow
			err := r.Scan(id, &s.instrument, &s.day, &s.total, &s.clinic, &s.item9, &s.hasDate)
			s.instrument, s.clinic = ain.of(s.instrument), ain.of(s.clinic)
			return s, err
		})
		ss := newStream(sRows, func(r *sql.Rows, id *string) (sessionRow, error) {
			var s sessionRow
			var dose sql.NullFloat64
			var vitals [7]sql.NullInt32
			var sae sql.NullBool
			err := r.Scan(id, &s.day, &s.s.Type, &s.s.Route, &s.s.Program, &s.s.Setting, &s.s.Clinic, &s.hasDate, &dose,
				&vitals[0], &vitals[1], &vitals[2], &vitals[3], &vitals[4], &vitals[5], &vitals[6], &s.s.SideEffects, &sae)
			s.s.Day = int(s.day)
			if dose.Valid {
				s.s.DoseMg = outcome.Some(dose.Float64)
			}
			for i, dst := range []*outcome.Optional[int]{&s.s.SBPPre, &s.s.DBPPre, &s.s.HRPre, &s.s.SBPMax, &s.s.DBPMax, &s.s.HRMax, &s.s.Dissociation} {
				if vitals[i].Valid {
					*dst = outcome.Some(int(vitals[i].Int32))
				}
			}
			if sae.Valid {
				s.s.SeriousAdverseEvent = outcome.Some(sae.Bool)
			}
			s.s.Type, s.s.Route, s.s.Program = sin.of(s.s.Type), sin.of(s.s.Route), sin.of(s.s.Program)
			s.s.Setting, s.s.Clinic, s.s.SideEffects = sin.of(s.s.Setting), sin.of(s.s.Clinic), sin.of(s.s.SideEffects)
			return s, err
		})
		ps := newStream(pRows, func(r *sql.Rows, id *string) (compare.Traits, error) {
			tr := compare.NoTraits()
			var age, prior sql.NullInt32
			err := r.Scan(id, &age, &tr.Sex, &tr.Diagnosis, &prior)
			tr.Sex, tr.Diagnosis = pin.of(tr.Sex), pin.of(tr.Diagnosis)
			if age.Valid {
				tr.Age = float64(age.Int32) // 90 stands for 90+
			}
			if prior.Valid {
				tr.PriorTreatments = float64(prior.Int32)
			}
			return tr, err
		})
		defer func() { as.stop(); ss.stop(); ps.stop() }()
		var scoresBuf []scoreRow
		var sessRowsBuf []sessionRow
		var sessionsBuf []outcome.Session
		for {
			id, ok := nextID(as, ss)
			if !ok {
				break
			}
			// Per-patient buffers: no derivation keeps a patient's rows (each copies what
			// it keeps), so the next patient reuses them.
			scores, err := as.takeInto(id, scoresBuf)
			if err != nil {
				return nil, err
			}
			scoresBuf = scores
			sessRows, err := ss.takeInto(id, sessRowsBuf)
			if err != nil {
				return nil, err
			}
			sessRowsBuf = sessRows
			// The patients file may describe patients without a score or session: skip them.
			traitRows, err := ps.seek(id)
			if err != nil {
				return nil, err
			}
			traits := compare.NoTraits()
			if len(traitRows) > 0 {
				traits = traitRows[0] // at most one row per patient (ingest)
			}
			a.Cohort.Patients++
			if opt.Progress != nil && a.Cohort.Patients%4096 == 0 {
				opt.Progress("patients", int64(a.Cohort.Patients), nPatients)
			}
			sessions := sessionsBuf[:0]
			patientDated := false
			for _, s := range sessRows {
				sessions = append(sessions, s.s)
				patientDated = patientDated || s.hasDate
			}
			sessionsBuf = sessions
			for i := range scores {
				patientDated = patientDated || scores[i].hasDate
			}
			if f, ok := safetyFlag(id, scores); ok {
				a.Safety = append(a.Safety, f)
			}
			first := 0
			if len(scores) > 0 {
				first = int(scores[0].day)
				for _, s := range scores {
					first = min(first, int(s.day))
				}
			}
			index, ok, reason := outcome.IndexDay(sessions, anySessions, first, len(scores) > 0)
			if !ok {
				a.Cohort.Excluded[reason]++
				continue
			}
			a.Cohort.Treated++
			pi := int32(len(ids))
			ids = append(ids, id)
			// Clinic of the baseline assessment (assessment-only mode): the latest score of any
			// instrument in the baseline window.
			baseClinic, baseDay := "", math.MinInt
			for _, s := range scores {
				d := int(s.day)
				if d >= index-p.BaselineDays && d <= index && d >= baseDay {
					baseClinic, baseDay = s.clinic, d
				}
			}
			g := outcome.GroupsOf(sessions, index, baseClinic, p)
			// A patient's rows are all dated or all day offsets (ingest refuses a mix).
			patientAsOf := outcome.AllClosed
			if patientDated {
				patientAsOf = asOfDay
			}
			q := outcome.Unknown
			switch {
			case outcome.WindowOpen(index, patientAsOf, p):
				// No acute outcome yet, so no quarter: it is shown apart, as still in treatment.
				q = outcome.ReasonAcuteWindowOpen
			case a.DatesAvailable:
				q = outcome.EpisodeQuarter(index, p)
				quarters[q] = true
			}
			var gid [nDims]int16
			for d, label := range [nDims]string{g.Clinic, g.Route, g.Program, g.Setting, g.Integration, q} {
				gid[d] = dims[d].id(label)
			}
			if anySessions {
				course.addPatient(pi, index, patientAsOf, sessions, p)
			}
			person := compare.Person{Program: g.Program, Traits: traits, Baseline: make([]float64, len(codes))}
			for i := range person.Baseline {
				person.Baseline[i] = math.NaN()
			}
			for lo, hi := 0, 0; lo < len(scores); lo = hi {
				for hi = lo; hi < len(scores) && scores[hi].instrument == scores[lo].instrument; hi++ {
				}
				m := md[scores[lo].instrument]
				if m == nil {
					continue
				}
				scoreBuf = scoreBuf[:0]
				for _, s := range scores[lo:hi] {
					scoreBuf = append(scoreBuf, outcome.Score{Day: int(s.day), Total: s.total})
				}
				m.add(pi, gid, index, patientAsOf, scoreBuf, p, g, sessions, traits)
				if e := &m.episodes[len(m.episodes)-1]; e.has(fHasBaseline) {
					person.Baseline[slices.Index(codes, m.in.Code)] = float64(e.baseline)
				}
				course.addInstrument(m.in.Code, index, patientAsOf, scoreBuf, scores[lo:hi], sessions, m.th, p)
			}
			if characteristics {
				people = append(people, person)
			}
		}
		aErr, sErr := as.err(), ss.err()
		if pErr := ps.err(); sErr == nil {
			sErr = pErr
		}
		as.stop()
		ss.stop()
		ps.stop() // the patients file may describe patients after the last one scored
		aRows.Close()
		sRows.Close()
		pRows.Close()
		if aErr != nil {
			return nil, aErr
		}
		if sErr != nil {
			return nil, sErr
		}
	}
	if opt.Progress != nil {
		opt.Progress("patients", int64(a.Cohort.Patients), max(nPatients, int64(a.Cohort.Patients)))
	}
	for q := range quarters {
		a.Quarters = append(a.Quarters, q)
	}
	sort.Strings(a.Quarters)

	for _, code := range cfg.InstrumentCodes() {
		m := md[code]
		if m.patients == 0 {
			continue
		}
		m.progress = opt.Progress
		mr, err := m.summarize(cfg, p, &dims, ids, characteristics)
		if err != nil {
			return nil, fmt.Errorf("analyze %s: %w", code, err)
		}
		mr.CourseResult = *course.summarize(code)
		a.Measures[code] = mr
	}
	if characteristics {
		a.Patients = compare.Describe(people, codes)
	} else {
		a.PatientsNote = "no patients file was ingested: characteristics are not described and the comparisons adjust for the baseline score only"
	}
	if anySessions {
		if r, err := outcome.SummarizeRetention(course.retention, course.cp); err == nil {
			a.Retention = &r
		}
		if ss, err := outcome.SummarizeSessionSafety(course.safety, course.cp); err == nil {
			a.SessionSafety = &ss
		}
	}
	a.SafetyFlags = len(a.Safety)
	if opt.Write {
		step(opt.Progress, "write tables")
		if err := w.writeAnalysis(ctx, a, md, course, &dims, ids, opt); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// safetyFlag applies SPEC 6.14 to one patient's scores (ordered by instrument, then day): the
// most recent PHQ-9 that recorded item 9 decides; a later PHQ-9 without item 9 is noted beside
// it and never read as "no risk".
func safetyFlag(id string, scores []scoreRow) (SafetyFlag, bool) {
	var rated, later *scoreRow
	for i := range scores {
		s := &scores[i]
		if s.instrument != "PHQ9" {
			continue
		}
		if s.item9 >= 0 {
			rated, later = s, nil
		} else {
			later = s
		}
	}
	if rated == nil || rated.item9 <= 0 {
		return SafetyFlag{}, false
	}
	f := SafetyFlag{PatientID: id, ClinicID: rated.clinic, Day: rated.day, Item9: rated.item9, Total: rated.total}
	if rated.hasDate {
		f.Date = DayDate(rated.day).Format("2006-01-02")
	}
	if later != nil {
		f.Later, f.LaterDay = true, later.day
		if later.hasDate {
			f.LaterDate = DayDate(later.day).Format("2006-01-02")
		}
	}
	return f, true
}

// add derives one patient's episode of this instrument as of day asOf.
func (m *measureData) add(pi int32, gid [nDims]int16, index, asOf int, scores []outcome.Score, p outcome.Params,
	g outcome.Groups, sessions []outcome.Session, traits compare.Traits) {
	m.patients++
	e := episode{patient: pi, groups: gid, class: -1}
	res := outcome.Episode(index, scores, m.th, p, asOf)
	rel := outcome.Relapse(index, scores, m.th, p, asOf)
	e.set(res, rel)
	m.cmp = append(m.cmp, compare.NewPatient(res, g, traits, rel, sessions))
	if res.HasBaseline {
		pts := outcome.Trajectory(index, scores, p)
		grp := len(m.trajEpisodes)
		m.trajEpisodes = append(m.trajEpisodes, int32(len(m.episodes)))
		for i, pt := range pts {
			m.trajGroup = append(m.trajGroup, grp)
			m.trajT = append(m.trajT, pt.T)
			m.trajY = append(m.trajY, float64(pt.Total))
			// Weekly means count each patient once a week: the last score of the week.
			if i+1 == len(pts) || pts[i+1].Week != pt.Week {
				ws := m.weeks[pt.Week]
				if ws == nil {
					ws = &weekSums{}
					m.weeks[pt.Week] = ws
				}
				v := float64(pt.Total)
				ws.n, ws.sum, ws.sumSq = ws.n+1, ws.sum+v, ws.sumSq+v*v
			}
		}
	}
	m.episodes = append(m.episodes, e)
}

// inputs reads ingest_runs with each file's quarantine reasons.
func (w *Warehouse) inputs(ctx context.Context) ([]Input, error) {
	rows, err := w.db.QueryContext(ctx, `SELECT file_id, path, sha256, kind, rows_read, accepted, duplicates, quarantined FROM ingest_runs ORDER BY file_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Input{}
	ids := map[int]int{}
	for rows.Next() {
		var in Input
		var id int
		if err := rows.Scan(&id, &in.Path, &in.SHA256, &in.Kind, &in.RowsRead, &in.Accepted, &in.Duplicates, &in.Quarantined); err != nil {
			return nil, err
		}
		in.Reasons = map[string]int64{}
		if in.Duplicates > 0 {
			in.Reasons["duplicate"] = in.Duplicates
		}
		ids[id] = len(out)
		out = append(out, in)
	}
	rows.Close()
	qr, err := w.db.QueryContext(ctx, `SELECT file_id, reason, count(*) FROM quarantine GROUP BY ALL`)
	if err != nil {
		return nil, err
	}
	defer qr.Close()
	for qr.Next() {
		var id int
		var reason string
		var n int64
		if err := qr.Scan(&id, &reason, &n); err != nil {
			return nil, err
		}
		if i, ok := ids[id]; ok {
			out[i].Reasons[reason] = n
		}
	}
	return out, qr.Err()
}

// stream reads rows ordered by patient id and hands them out one patient at a time.
// stream reads rows sorted by patient id. A goroutine scans them from the driver in batches
// while the caller derives the patients already read, so that the scan (a third of the
// patient pass) overlaps the work on the other core.
type stream[T any] struct {
	batches chan []streamItem[T]
	done    chan struct{}
	stopped bool
	scanErr error // set by the reader before it closes batches

	buf     []streamItem[T]
	pos     int
	has     bool
	id      string
	row     T
	readErr error // the reader's error, once batches is closed
}

type streamItem[T any] struct {
	id  string
	row T
}

// streamBatch is the number of rows the reader hands over at a time.
const streamBatch = 2048

// interner keeps one copy of each of the few distinct values of a categorical column
// (instrument, clinic, route, program, ...), which would otherwise be a string of its own on
// every row kept for the analysis: 23 of the 265 MB analyze held at 100,000 patients. Each
// stream has its own (they scan in goroutines of their own).
type interner map[string]string

func (in interner) of(s string) string {
	if v, ok := in[s]; ok {
		return v
	}
	if len(in) < 1<<16 { // a free-text-like column keeps its own strings
		in[s] = s
	}
	return s
}

func newStream[T any](rows *sql.Rows, scan func(*sql.Rows, *string) (T, error)) *stream[T] {
	s := &stream[T]{batches: make(chan []streamItem[T], 4), done: make(chan struct{})}
	go func() {
		defer close(s.batches)
		batch := make([]streamItem[T], 0, streamBatch)
		for rows.Next() {
			var it streamItem[T]
			var err error
			it.row, err = scan(rows, &it.id)
			if err != nil {
				s.scanErr = err
				break
			}
			batch = append(batch, it)
			if len(batch) == streamBatch {
				select {
				case s.batches <- batch:
				case <-s.done:
					return
				}
				batch = make([]streamItem[T], 0, streamBatch)
			}
		}
		if s.scanErr == nil {
			s.scanErr = rows.Err()
		}
		if len(batch) > 0 {
			select {
			case s.batches <- batch:
			case <-s.done:
			}
		}
	}()
	s.advance()
	return s
}

func (s *stream[T]) advance() {
	s.has = false
	for s.pos >= len(s.buf) {
		b, ok := <-s.batches
		if !ok {
			s.readErr = s.scanErr // written before the close that ended the receive
			return
		}
		s.buf, s.pos = b, 0
	}
	it := &s.buf[s.pos]
	s.id, s.row, s.has = it.id, it.row, true
	s.pos++
}

// stop ends the reader (when the caller leaves before the end of the rows); idempotent.
func (s *stream[T]) stop() {
	if !s.stopped {
		s.stopped = true
		close(s.done)
	}
}

// seek skips the rows of patients before id and returns those of id: for a stream that may
// hold patients the others do not.
func (s *stream[T]) seek(id string) ([]T, error) {
	for s.has && s.id < id {
		s.advance()
	}
	return s.take(id)
}

// take returns the rows of patient id (none when the stream is past or before it).
func (s *stream[T]) take(id string) ([]T, error) { return s.takeInto(id, nil) }

// takeInto is take appending to buf[:0]: a buffer reused from patient to patient, whose
// rows nothing keeps.
func (s *stream[T]) takeInto(id string, buf []T) ([]T, error) {
	out := buf[:0]
	for s.has && s.id == id {
		out = append(out, s.row)
		s.advance()
	}
	return out, s.readErr
}

// err is the reader's error once every row was taken.
func (s *stream[T]) err() error { return s.readErr }

// nextID is the smaller current patient id of two streams sorted by id.
func nextID[A, B any](a *stream[A], b *stream[B]) (string, bool) {
	switch {
	case a.has && b.has:
		return min(a.id, b.id), true
	case a.has:
		return a.id, true
	case b.has:
		return b.id, true
	}
	return "", false
}

// KMRows is a Kaplan–Meier table whose undefined values (the standard error and limits once
// the curve reaches 0) are written as JSON null.
type KMRows []stats.KMRow

// MarshalJSON writes NaN as null.
func (rows KMRows) MarshalJSON() ([]byte, error) {
	out := make([]map[string]any, len(rows))
	for i, r := range rows {
		out[i] = map[string]any{"time": r.Time, "n_risk": r.NRisk, "n_event": r.NEvent, "survival": nullNaN(r.Survival),
			"std_err": nullNaN(r.StdErr), "lower95": nullNaN(r.Lower95), "upper95": nullNaN(r.Upper95)}
	}
	return jsonMarshal(out)
}

// analyzeChunk is the number of patients analyze reads per pair of queries.
var analyzeChunk = 50000

// patientBounds returns the first patient id of every run of n patients (in id order) among
// the rows in force as of asOf: the ranges analyze reads one at a time. No patients gives one
// range that holds nothing.
func (w *Warehouse) patientBounds(ctx context.Context, asOf string, n int) ([]string, error) {
	rows, err := w.db.QueryContext(ctx, `SELECT patient_id FROM (
		SELECT patient_id, row_number() OVER (ORDER BY patient_id) - 1 AS r FROM (
			SELECT patient_id FROM assessments WHERE date IS NULL OR date <= CAST(? AS DATE)
			UNION SELECT patient_id FROM sessions WHERE date IS NULL OR date <= CAST(? AS DATE)))
		WHERE r % ? = 0 ORDER BY patient_id`, asOf, asOf, n)
	if err != nil {
		return nil, fmt.Errorf("analyze: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	if len(out) == 0 {
		out = []string{""}
	}
	return out, rows.Err()
}
