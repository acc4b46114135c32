package outcome

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"

	"github.com/kapstat/kapstat/measures/stats"
)

// Retention is one treated patient's dose exposure and retention.
type Retention struct {
	// Program is that of the first dosing session ("kap" when the session
	// leaves it empty).
	Program string
	// AcuteWindowOpen is true when the acute window has not closed by the
	// as-of day: Doses and TotalMg are not final, and the patient is in no
	// dose figure.
	AcuteWindowOpen bool
	// Doses is the number of doses, the Dosing sessions with
	// index <= day <= index+AcuteDays (the first dose is one of them).
	Doses int
	// TotalMg is the sum of those doses' dose_mg; not Valid when any of
	// them lacks dose_mg.
	TotalMg Optional[float64]
	// MaintenanceWindowOpen is true when index+MaintenanceDays > asOf: the
	// patient is in no maintenance figure.
	MaintenanceWindowOpen bool
	// Maintenance is true when a Maintenance session falls on a day
	// <= index+MaintenanceDays.
	Maintenance bool
}

// RetentionOf derives the dose exposure of a treated patient whose index
// day is index, as of day asOf (AllClosed when every window counts as
// closed), from the patient's sessions in any order:
//
//	doses       = #{Dosing sessions: index <= day <= index+AcuteDays}
//	total mg    = Σ dose_mg over those sessions, when every one has it
//	maintenance = any Maintenance session with day <= index+MaintenanceDays
//
// ok is false when the patient has no dosing session (not treated, or
// assessment-only mode): retention is about treated patients.
//
// Open windows: a patient whose acute window has not closed by asOf
// (WindowOpen) cannot have completed induction yet, and one whose
// maintenance horizon (index+MaintenanceDays > asOf) has not passed may
// still start maintenance; counting them as not completed, or leaving out
// only those without the event, would bias the rates. They are flagged
// (AcuteWindowOpen, MaintenanceWindowOpen), counted, and left out of the
// denominators of the figures whose window is open.
func RetentionOf(index int, sessions []Session, p Params, cp CourseParams, asOf int) (Retention, bool) {
	if _, ok := firstDosing(sessions); !ok {
		return Retention{}, false
	}
	doses := Doses(index, sessions, p)
	r := Retention{
		Program:               programOf(sessions),
		AcuteWindowOpen:       WindowOpen(index, asOf, p),
		Doses:                 len(doses),
		MaintenanceWindowOpen: asOf != AllClosed && index+cp.MaintenanceDays > asOf,
	}
	total, all := 0.0, true
	for _, d := range doses {
		if !d.DoseMg.Valid {
			all = false
			break
		}
		total += d.DoseMg.Value
	}
	if all {
		r.TotalMg = Some(total)
	}
	for _, s := range sessions {
		if s.Type == Maintenance && s.Day <= index+cp.MaintenanceDays {
			r.Maintenance = true
			break
		}
	}
	return r, true
}

// Quartiles are the median and quartiles of a sample as R's
// quantile(x, c(0.5, 0.25, 0.75), type = 7); NaN (null in JSON) when N = 0.
type Quartiles struct {
	N      int
	Median float64
	Q1     float64
	Q3     float64
}

// MarshalJSON writes the quartiles with NaN as null.
func (q Quartiles) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		N      int    `json:"n"`
		Median number `json:"median"`
		Q1     number `json:"q1"`
		Q3     number `json:"q3"`
	}{q.N, number(q.Median), number(q.Q1), number(q.Q3)})
}

func quartilesOf(x []float64) (Quartiles, error) {
	q := Quartiles{N: len(x), Median: math.NaN(), Q1: math.NaN(), Q3: math.NaN()}
	if len(x) == 0 {
		return q, nil
	}
	v, err := stats.Quantile7(x, 0.5, 0.25, 0.75)
	if err != nil {
		return q, err
	}
	q.Median, q.Q1, q.Q3 = v[0], v[1], v[2]
	return q, nil
}

// RetentionFigures are the retention and dose-exposure figures of a group
// of treated patients.
type RetentionFigures struct {
	// Treated counts the patients; AcuteWindowOpen and
	// MaintenanceWindowOpen those of them left out of the dose figures and
	// of the maintenance figure because the window was still open.
	Treated               int
	AcuteWindowOpen       int
	MaintenanceWindowOpen int
	// Doses counts the patients with a closed acute window by number of
	// doses: "1" … "5" and "6+" (for MaxDose 6).
	Doses map[string]int
	// DosesQuartiles are the median and quartiles of the number of doses.
	DosesQuartiles Quartiles
	// InductionCompleted is Doses >= InductionDoses, SingleDose is
	// Doses = 1, over the patients with a closed acute window.
	InductionCompleted stats.Proportion
	SingleDose         stats.Proportion
	// TotalMg summarises the total mg of the patients with a closed acute
	// window and every dose's dose_mg given.
	TotalMg Quartiles
	// MaintenanceDays is the horizon of Maintenance: a maintenance session
	// within that many days of the index day, over the patients whose
	// horizon has passed.
	MaintenanceDays int
	Maintenance     stats.Proportion
}

// MarshalJSON writes the figures with the keys of the retention object
// (maintenance_182 whatever MaintenanceDays is; maintenance_days says
// which horizon is in force), NaN as null.
func (f RetentionFigures) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Treated               int              `json:"treated"`
		AcuteWindowOpen       int              `json:"acute_window_open"`
		MaintenanceWindowOpen int              `json:"maintenance_window_open"`
		Doses                 map[string]int   `json:"doses"`
		MedianDoses           number           `json:"median_doses"`
		Q1Doses               number           `json:"q1_doses"`
		Q3Doses               number           `json:"q3_doses"`
		InductionCompleted    stats.Proportion `json:"induction_completed"`
		SingleDose            stats.Proportion `json:"single_dose"`
		TotalMg               Quartiles        `json:"total_mg"`
		MaintenanceDays       int              `json:"maintenance_days"`
		Maintenance           stats.Proportion `json:"maintenance_182"`
	}{f.Treated, f.AcuteWindowOpen, f.MaintenanceWindowOpen, f.Doses,
		number(f.DosesQuartiles.Median), number(f.DosesQuartiles.Q1), number(f.DosesQuartiles.Q3),
		f.InductionCompleted, f.SingleDose, f.TotalMg, f.MaintenanceDays, f.Maintenance})
}

// RetentionSummary is the JSON key retention: overall and by program.
type RetentionSummary struct {
	Overall   RetentionFigures            `json:"overall"`
	ByProgram map[string]RetentionFigures `json:"by_program"`
}

// DoseBucket returns the dose-distribution key of n doses: "1" … and
// "6+" for n >= maxDose = 6.
func DoseBucket(n, maxDose int) string {
	if n >= maxDose {
		return strconv.Itoa(maxDose) + "+"
	}
	return strconv.Itoa(n)
}

// SummarizeRetention summarises the treated patients' Retention (one per
// patient) overall and by Program. Over the patients whose acute window
// has closed:
//
//	doses              count per DoseBucket; median, quartiles (quantile type 7)
//	induction_completed  Doses >= InductionDoses   (Wilson 95%, as prop.test(correct = FALSE))
//	single_dose          Doses = 1                 (Wilson 95%)
//	total_mg             median, quartiles among those with TotalMg
//
// and over those whose maintenance horizon has passed, maintenance_182 =
// Maintenance (Wilson 95%).
func SummarizeRetention(rs []Retention, cp CourseParams) (RetentionSummary, error) {
	var programs []string
	for _, r := range rs {
		if !slices.Contains(programs, r.Program) {
			programs = append(programs, r.Program)
		}
	}
	slices.Sort(programs)
	out := RetentionSummary{ByProgram: map[string]RetentionFigures{}}
	var err error
	if out.Overall, err = retentionFigures(rs, cp); err != nil {
		return out, err
	}
	for _, prog := range programs {
		var sub []Retention
		for _, r := range rs {
			if r.Program == prog {
				sub = append(sub, r)
			}
		}
		if out.ByProgram[prog], err = retentionFigures(sub, cp); err != nil {
			return out, err
		}
	}
	return out, nil
}

func retentionFigures(rs []Retention, cp CourseParams) (RetentionFigures, error) {
	f := RetentionFigures{Treated: len(rs), Doses: map[string]int{}, MaintenanceDays: cp.MaintenanceDays}
	for k := 1; k <= cp.MaxDose; k++ {
		f.Doses[DoseBucket(k, cp.MaxDose)] = 0
	}
	var doses, mg []float64
	induction, single, maintN, maint := 0, 0, 0, 0
	for _, r := range rs {
		if r.MaintenanceWindowOpen {
			f.MaintenanceWindowOpen++
		} else {
			maintN++
			if r.Maintenance {
				maint++
			}
		}
		if r.AcuteWindowOpen {
			f.AcuteWindowOpen++
			continue
		}
		f.Doses[DoseBucket(r.Doses, cp.MaxDose)]++
		doses = append(doses, float64(r.Doses))
		if r.Doses >= cp.InductionDoses {
			induction++
		}
		if r.Doses == 1 {
			single++
		}
		if r.TotalMg.Valid {
			mg = append(mg, r.TotalMg.Value)
		}
	}
	var err error
	if f.DosesQuartiles, err = quartilesOf(doses); err != nil {
		return f, err
	}
	if f.TotalMg, err = quartilesOf(mg); err != nil {
		return f, err
	}
	if f.InductionCompleted, err = stats.Wilson(induction, len(doses)); err != nil {
		return f, err
	}
	if f.SingleDose, err = stats.Wilson(single, len(doses)); err != nil {
		return f, err
	}
	if f.Maintenance, err = stats.Wilson(maint, maintN); err != nil {
		return f, err
	}
	return f, nil
}
