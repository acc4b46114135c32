// Package synth writes deterministic synthetic KAP cohorts in the canonical
// long format (assessments.csv, sessions.csv and patients.csv).
//
// Every patient is generated from its own random stream, derived from the
// configured seed and the patient's index, so a cohort streams with constant
// memory per patient and any one patient's planted truth can be recomputed
// on its own with PatientTruth. The same Config always yields the same bytes.
//
// The cohort exercises the outcome definitions: baselines before the first
// dose (a few too early to count), weekly acute visits with missed visits and
// dropout, follow-ups at about 1, 3 and 6 months with attrition, patients
// below the clinical cutoff, three planted trajectory classes, relapses
// (more often after infusion-only programs) confirmed by a second elevated
// visit, single spikes that fall back, prorated and total-only rows, and,
// when Config.BadRows is set, a sprinkle of rows the validator must
// quarantine or de-duplicate.
//
// Patients differ by program as real cohorts do, so that adjusted comparisons
// have something to adjust for: infusion patients are older, more often
// treatment-resistant (2 or more prior trials) and more severe at baseline;
// at-home patients are less severe; treatment-resistant patients improve
// less (fewer rapid, more no-change trajectories). Dosing sessions carry the
// safety columns: blood pressure and heart rate before the dose and highest
// during monitoring (rising during dosing, occasionally to 180/110 or by 40
// mmHg), dissociation falling with the dose number, side effects (or none)
// and rare serious adverse events, each sometimes not recorded.
package synth

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Config controls the cohort. The zero value of End and Clinics selects the
// defaults; BadRows has no zero-value default, so start from DefaultConfig.
type Config struct {
	Patients int
	Seed     uint64
	// End is the latest date any row may have (its calendar date is used,
	// in its own location). Zero means 2026-09-30.
	End time.Time
	// BadRows plants rows that validation must quarantine or de-duplicate.
	BadRows bool
	// Clinics is the number of sites; zero means 4.
	Clinics int
}

// DefaultEnd is the End used when Config.End is zero.
var DefaultEnd = time.Date(2026, time.September, 30, 0, 0, 0, 0, time.UTC)

// DefaultConfig returns 1000 patients, seed 1, End 2026-09-30, bad rows on
// and 4 clinics.
func DefaultConfig() Config {
	return Config{Patients: 1000, Seed: 1, End: DefaultEnd, BadRows: true, Clinics: 4}
}

// Reason codes of planted bad rows, the same codes validation reports.
const (
	BadOutOfRange        = "out_of_range"
	BadTooManyMissing    = "too_many_missing"
	BadConflict          = "conflict"
	BadDuplicate         = "duplicate"
	BadUnknownInstrument = "unknown_instrument"
)

// Planted trajectory classes.
const (
	ClassRapid    = "rapid_improvement"
	ClassGradual  = "gradual_improvement"
	ClassNoChange = "no_change"
)

// Programs.
const (
	ProgramKAP      = "kap"
	ProgramInfusion = "infusion"
)

// The canonical headers (SPEC 3.1).
const (
	assessmentsHeader = "patient_id,clinic_id,instrument,date," +
		"item_1,item_2,item_3,item_4,item_5,item_6,item_7,item_8,item_9,item_10," +
		"item_11,item_12,item_13,item_14,item_15,item_16,item_17,item_18,item_19,item_20,total\n"
	sessionsHeader = "patient_id,clinic_id,date,session_type,route,dose_mg,program,setting" + safetyHeader + "\n"
)

// Summary counts what was written.
type Summary struct {
	Patients       int
	AssessmentRows int // data rows written, planted bad rows included
	SessionRows    int // data rows written, planted bad rows included
	PatientRows    int // data rows of patients.csv, planted bad rows included
	// BadRows counts planted assessment rows by reason code: out_of_range,
	// too_many_missing and unknown_instrument count rows; conflict counts
	// both rows of each pair; duplicate counts the extra copies.
	BadRows map[string]int
	// BadPatientRows counts planted patients rows by reason code the same
	// way (a conflict counts the patient's valid row too: both are
	// quarantined); BadSessionRows the planted session rows, each a copy of
	// a dosing session with one safety column spoilt.
	BadPatientRows, BadSessionRows map[string]int
	// Classes counts patients by planted trajectory class.
	Classes map[string]int
	// Programs counts patients by program.
	Programs map[string]int
	// Relapses counts, by program, the patients whose Truth.Relapse is true.
	Relapses map[string]int
}

// Truth is what the generator planted for one patient; it is not in the CSV.
type Truth struct {
	Index     int    // 0-based patient index
	PatientID string // as written, e.g. "p000001"
	Clinic    string
	Program   string // "kap" or "infusion"
	Route     string // route of the first dosing session
	Setting   string // setting of the first dosing session
	// IndexDate is the date of the first dosing session (UTC midnight).
	IndexDate time.Time
	// Integration is the number of integration sessions in the acute window
	// (index < day ≤ index + 56).
	Integration int
	Class       string // one of the Class constants
	// Eligible: the PHQ-9 baseline lies within 30 days before the index
	// date and is at or above the cutoff of 10.
	Eligible bool
	// Responded: Eligible and some acute-window PHQ-9 total ≤ half the
	// baseline, so the patient is at risk of relapse.
	Responded bool
	// Relapse: Responded and the written PHQ-9 rows hold a relapse event
	// (SPEC 6.9): a post-acute follow-up ≥ 10 followed by another ≥ 10.
	// Before it, post-response totals stay below 10 apart from at most one
	// single spike that falls back.
	Relapse bool
	// Maintenance: maintenance dosing sessions were written.
	Maintenance bool
	// TreatmentResistant: the patient had 2 or more prior adequate trials
	// (PriorTreatments, when written, says so).
	TreatmentResistant bool
	// Age (-1 when not written; 90 and over written as 90+), Sex ("" when
	// not written), Diagnosis ("" when not written) and PriorTreatments (-1
	// when not written) are the patients file's row.
	Age             int
	Sex, Diagnosis  string
	PriorTreatments int
}

// Files are the names of the files Write writes, in that order.
var Files = []string{"assessments.csv", "sessions.csv", "patients.csv"}

// Write creates dir if needed and writes dir/assessments.csv,
// dir/sessions.csv and dir/patients.csv.
func Write(dir string, cfg Config) (Summary, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Summary{}, fmt.Errorf("synth: %w", err)
	}
	var fs []*os.File
	defer func() {
		for _, f := range fs {
			f.Close()
		}
	}()
	for _, name := range Files {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return Summary{}, fmt.Errorf("synth: %w", err)
		}
		fs = append(fs, f)
	}
	sum, err := WriteTo(fs[0], fs[1], fs[2], cfg)
	if err != nil {
		return sum, err
	}
	for _, f := range fs {
		if err := f.Close(); err != nil {
			return sum, fmt.Errorf("synth: %w", err)
		}
	}
	return sum, nil
}

// WriteTo writes the assessments, sessions and patients CSVs of the cohort
// to the three writers, header first, rows sorted by patient then date (then
// instrument name, or session type). It buffers internally and flushes
// before returning.
func WriteTo(assessW, sessW, patW io.Writer, cfg Config) (Summary, error) {
	g, err := newGenerator(cfg)
	if err != nil {
		return Summary{}, err
	}
	aw := bufio.NewWriterSize(assessW, 256<<10)
	sw := bufio.NewWriterSize(sessW, 64<<10)
	pw := bufio.NewWriterSize(patW, 64<<10)
	aw.WriteString(assessmentsHeader)
	sw.WriteString(sessionsHeader)
	pw.WriteString(patientsHeader)
	badPat, badSess := map[string]int{}, map[string]int{}

	var (
		bad      [nBadKinds]int
		classes  [3]int
		programs [2]int
		relapses [2]int
		sum      Summary
	)
	for i := range g.cfg.Patients {
		p := g.patient(i)
		g.sortSessions()
		g.recordSafety()
		if g.cfg.BadRows {
			g.plantBadRows(i, &bad)
			g.plantBadPatients(i, badPat)
			g.plantBadSessions(i, badSess)
		}
		g.sortRows()
		for k := range g.rows {
			g.line = g.appendAssessment(g.line[:0], i, g.clinics[p.clinic], &g.rows[k])
			if _, err := aw.Write(g.line); err != nil {
				return sum, fmt.Errorf("synth: write assessments: %w", err)
			}
		}
		for k := range g.sessions {
			g.line = g.appendSession(g.line[:0], i, g.clinics[p.clinic], &g.sessions[k], p.program)
			if _, err := sw.Write(g.line); err != nil {
				return sum, fmt.Errorf("synth: write sessions: %w", err)
			}
		}
		for k := range g.patRows {
			g.line = g.appendPatient(g.line[:0], i, &g.patRows[k])
			if _, err := pw.Write(g.line); err != nil {
				return sum, fmt.Errorf("synth: write patients: %w", err)
			}
		}
		sum.AssessmentRows += len(g.rows)
		sum.SessionRows += len(g.sessions)
		sum.PatientRows += len(g.patRows)
		classes[p.class]++
		programs[p.program]++
		if p.relapse {
			relapses[p.program]++
		}
	}
	if err := aw.Flush(); err != nil {
		return sum, fmt.Errorf("synth: write assessments: %w", err)
	}
	if err := sw.Flush(); err != nil {
		return sum, fmt.Errorf("synth: write sessions: %w", err)
	}
	if err := pw.Flush(); err != nil {
		return sum, fmt.Errorf("synth: write patients: %w", err)
	}
	sum.BadPatientRows, sum.BadSessionRows = badPat, badSess
	sum.Patients = g.cfg.Patients
	sum.BadRows = make(map[string]int, nBadKinds)
	for k, n := range bad {
		sum.BadRows[badNames[k]] = n
	}
	sum.Classes = map[string]int{}
	for c, n := range classes {
		sum.Classes[classNames[c]] = n
	}
	sum.Programs = map[string]int{ProgramKAP: programs[0], ProgramInfusion: programs[1]}
	sum.Relapses = map[string]int{ProgramKAP: relapses[0], ProgramInfusion: relapses[1]}
	return sum, nil
}

// PatientTruth recomputes what was planted for patient i (0-based) of the
// cohort cfg describes, without generating the others. It panics if cfg is
// invalid or i is out of range.
func PatientTruth(cfg Config, i int) Truth {
	g, err := newGenerator(cfg)
	if err != nil {
		panic(err)
	}
	if i < 0 || i >= g.cfg.Patients {
		panic(fmt.Sprintf("synth: patient index %d out of range [0,%d)", i, g.cfg.Patients))
	}
	p := g.patient(i)
	integration := 0
	for _, s := range g.sessions {
		if s.kind == sessIntegration && s.day > p.index && s.day <= p.index+acuteDays {
			integration++
		}
	}
	return Truth{
		Index:       i,
		PatientID:   string(g.appendID(nil, i)),
		Clinic:      g.clinics[p.clinic],
		Program:     programNames[p.program],
		Route:       routeNames[p.route],
		Setting:     settingNames[p.setting],
		IndexDate:   time.Unix(int64(p.index)*86400, 0).UTC(),
		Integration: integration,
		Class:       classNames[p.class],
		Eligible:    p.eligible,
		Responded:   p.responded,
		Relapse:     p.relapse,
		Maintenance: p.maintenance,

		TreatmentResistant: p.trd,
		Age:                p.traits.age,
		Sex:                p.traits.sex,
		Diagnosis:          p.traits.diagnosis,
		PriorTreatments:    p.traits.prior,
	}
}

var errConfig = errors.New("synth: invalid config")

func normalize(cfg Config) (Config, error) {
	if cfg.Patients < 0 {
		return cfg, fmt.Errorf("%w: Patients = %d", errConfig, cfg.Patients)
	}
	if cfg.Clinics < 0 {
		return cfg, fmt.Errorf("%w: Clinics = %d", errConfig, cfg.Clinics)
	}
	if cfg.Clinics == 0 {
		cfg.Clinics = 4
	}
	if cfg.End.IsZero() {
		cfg.End = DefaultEnd
	}
	if cfg.End.Year() < 1971 || cfg.End.Year() > 9999 {
		return cfg, fmt.Errorf("%w: End = %s", errConfig, cfg.End.Format(time.DateOnly))
	}
	return cfg, nil
}

// dayOf returns the calendar date of t as days since 1970-01-01.
func dayOf(t time.Time) int {
	y, m, d := t.Date()
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// appendDate appends day (days since 1970-01-01) as YYYY-MM-DD.
func appendDate(b []byte, day int) []byte {
	y, m, d := time.Unix(int64(day)*86400, 0).UTC().Date()
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	b = append(b, byte('0'+int(m)/10), byte('0'+int(m)%10), '-')
	return append(b, byte('0'+d/10), byte('0'+d%10))
}

// splitmix64 scrambles x; it turns (seed, index) pairs into unrelated PCG seeds.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

var clinicBase = []string{"north", "south", "east", "west", "central", "harbor", "valley", "lakeside",
	"hillside", "riverside", "bayview", "summit"}

func clinicNames(n int) []string {
	names := make([]string, n)
	for k := range names {
		if k < len(clinicBase) {
			names[k] = clinicBase[k]
		} else {
			names[k] = "clinic-" + strconv.Itoa(k+1)
		}
	}
	return names
}

func clampInt(x, lo, hi int) int {
	return max(lo, min(hi, x))
}

func roundInt(x float64) int {
	return int(math.Floor(x + 0.5))
}
