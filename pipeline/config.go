// Package pipeline holds kapstat's batch stages: reading input files, validating and scoring
// rows, the Parquet lake, the DuckDB warehouse, and the analysis that runs the outcome
// definitions and statistics over the warehouse.
package pipeline

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/kapstat/kapstat/measures"
	"github.com/kapstat/kapstat/measures/outcome"
)

// Version is kapstat's version, written into every output.
const Version = "0.3.0"

// Thresholds are the per-instrument thresholds a configuration may override.
type Thresholds struct {
	Cutoff         int `toml:"cutoff" json:"cutoff"`
	Remission      int `toml:"remission" json:"remission"`
	ReliableChange int `toml:"reliable_change" json:"reliable_change"`
	MaxMissing     int `toml:"max_missing" json:"max_missing"`
}

// Config is every parameter of the definitions (SPEC 4, 6). Defaults come from code
// (DefaultConfig), then a TOML file, then flags.
type Config struct {
	BaselineDays     int     `toml:"baseline_days" json:"baseline_days"`
	AcuteDays        int     `toml:"acute_days" json:"acute_days"`
	ResponseFraction float64 `toml:"response_fraction" json:"response_fraction"`
	RelapseDays      []int   `toml:"relapse_days" json:"relapse_days"`
	MaxClasses       int     `toml:"max_classes" json:"max_classes"`
	ClassStarts      int     `toml:"class_starts" json:"class_starts"`
	// ClassSample caps the patients the trajectory classes are estimated on: beyond it a
	// seeded random sample is fitted and every patient is then assigned (0 = all patients).
	ClassSample   int                   `toml:"class_sample" json:"class_sample"`
	Seed          uint64                `toml:"seed" json:"seed"`
	SuppressBelow int                   `toml:"suppress_below" json:"suppress_below"`
	Instruments   map[string]Thresholds `toml:"instruments" json:"instruments"`

	// The treatment course (SPEC 6.16): days of the cumulative response and remission,
	// doses that complete induction, the horizon of the maintenance figure.
	CourseDays      []int `toml:"course_days" json:"course_days"`
	InductionDoses  int   `toml:"induction_doses" json:"induction_doses"`
	MaintenanceDays int   `toml:"maintenance_days" json:"maintenance_days"`
	// Windows are the follow-up windows after the index day (SPEC 6.17), [[windows]] in TOML.
	Windows []outcome.Window `toml:"windows" json:"windows"`
	// SessionSafety holds the blood-pressure thresholds of SPEC 6.18.
	SessionSafety SafetyThresholds `toml:"session_safety" json:"session_safety"`
}

// SafetyThresholds are the blood-pressure thresholds of a dosing session, in mmHg: elevated
// when sbp_max >= SBPMax, or dbp_max >= DBPMax, or sbp_max − sbp_pre >= SBPRise.
type SafetyThresholds struct {
	SBPMax  int `toml:"sbp_max" json:"sbp_max"`
	DBPMax  int `toml:"dbp_max" json:"dbp_max"`
	SBPRise int `toml:"sbp_rise" json:"sbp_rise"`
}

// CourseParams are the treatment-course parameters of the configuration.
func (c Config) CourseParams() outcome.CourseParams {
	cp := outcome.DefaultCourseParams()
	cp.Days = c.CourseDays
	cp.InductionDoses, cp.MaintenanceDays = c.InductionDoses, c.MaintenanceDays
	return cp
}

// SafetyParams are the session-safety thresholds of the configuration.
func (c Config) SafetyParams() outcome.SafetyParams {
	return outcome.SafetyParams{SBPMax: c.SessionSafety.SBPMax, DBPMax: c.SessionSafety.DBPMax, SBPRise: c.SessionSafety.SBPRise}
}

// DefaultConfig returns the definitions of SPEC 4 and 6.
func DefaultConfig() Config {
	c := Config{
		BaselineDays: 30, AcuteDays: 56, ResponseFraction: 0.5,
		RelapseDays: []int{28, 56, 84, 182},
		// 20 starts: the number checked against flexmix, which fewer starts miss more often.
		MaxClasses: 4, ClassStarts: 20, ClassSample: 20000, Seed: 20260101,
		SuppressBelow: 11,
		Instruments:   map[string]Thresholds{},
	}
	cp, sp := outcome.DefaultCourseParams(), outcome.DefaultSafetyParams()
	c.CourseDays, c.InductionDoses, c.MaintenanceDays = cp.Days, cp.InductionDoses, cp.MaintenanceDays
	c.Windows = outcome.DefaultWindows()
	c.SessionSafety = SafetyThresholds{SBPMax: sp.SBPMax, DBPMax: sp.DBPMax, SBPRise: sp.SBPRise}
	for _, in := range measures.All() {
		c.Instruments[in.Code] = Thresholds{in.Cutoff, in.Remission, in.ReliableChange, in.MaxMissing}
	}
	return c
}

// LoadConfig reads a TOML file over the defaults. Unknown keys are an error, so a misspelt
// threshold never silently falls back to its default.
func LoadConfig(path string) (Config, error) {
	c := DefaultConfig()
	if path == "" {
		return c, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	// Decode instruments separately so a file can override one threshold and keep the others.
	var raw struct {
		Config
		Instruments map[string]map[string]int `toml:"instruments"`
	}
	raw.Config = c
	md, err := toml.Decode(string(b), &raw)
	if err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return c, fmt.Errorf("config %s: unknown keys %s", path, strings.Join(keys, ", "))
	}
	c = raw.Config
	c.Instruments = DefaultConfig().Instruments
	for name, kv := range raw.Instruments {
		code := measures.Normalize(name)
		if code == "" {
			return c, fmt.Errorf("config %s: unknown instrument %q", path, name)
		}
		th := c.Instruments[code]
		for k, v := range kv {
			switch k {
			case "cutoff":
				th.Cutoff = v
			case "remission":
				th.Remission = v
			case "reliable_change":
				th.ReliableChange = v
			case "max_missing":
				th.MaxMissing = v
			default:
				return c, fmt.Errorf("config %s: instruments.%s: unknown key %q", path, name, k)
			}
		}
		c.Instruments[code] = th
	}
	return c, c.Validate()
}

// MinSuppressBelow is the smallest suppression threshold allowed: the external edition shows
// no count of 1 to 10 whatever the configuration says.
const MinSuppressBelow = 11

// maxDays bounds every day count of the configuration (ten years): day arithmetic stays far
// inside 32 bits, and a longer window is a typo.
const maxDays = 3650

// Validate rejects configurations under which the definitions make no sense, naming the key
// and the range it must be in.
func (c Config) Validate() error {
	intIn := func(key string, v, lo, hi int) error {
		if v < lo || v > hi {
			return fmt.Errorf("config: %s = %d: want %d..%d", key, v, lo, hi)
		}
		return nil
	}
	if math.IsNaN(c.ResponseFraction) || math.IsInf(c.ResponseFraction, 0) || c.ResponseFraction <= 0 || c.ResponseFraction >= 1 {
		return fmt.Errorf("config: response_fraction = %v: want a number in (0, 1)", c.ResponseFraction)
	}
	checks := []error{
		intIn("baseline_days", c.BaselineDays, 0, maxDays),
		intIn("acute_days", c.AcuteDays, 1, maxDays),
		intIn("max_classes", c.MaxClasses, 1, 6),
		intIn("class_starts", c.ClassStarts, 1, 1000),
		intIn("suppress_below", c.SuppressBelow, MinSuppressBelow, 1000),
	}
	if c.ClassSample != 0 {
		checks = append(checks, intIn("class_sample", c.ClassSample, 1000, 1<<30))
	}
	for i, d := range c.RelapseDays {
		checks = append(checks, intIn(fmt.Sprintf("relapse_days[%d]", i), d, 1, maxDays))
	}
	for i, d := range c.CourseDays {
		checks = append(checks, intIn(fmt.Sprintf("course_days[%d]", i), d, 1, c.AcuteDays))
	}
	checks = append(checks, intIn("induction_doses", c.InductionDoses, 1, 100),
		intIn("maintenance_days", c.MaintenanceDays, 1, maxDays),
		intIn("session_safety.sbp_max", c.SessionSafety.SBPMax, 60, 260),
		intIn("session_safety.dbp_max", c.SessionSafety.DBPMax, 30, 160),
		intIn("session_safety.sbp_rise", c.SessionSafety.SBPRise, 1, 200))
	names := map[string]bool{}
	for i, w := range c.Windows {
		key := fmt.Sprintf("windows[%d]", i)
		if w.Name == "" || names[w.Name] {
			checks = append(checks, fmt.Errorf("config: %s: name %q: want a name of its own", key, w.Name))
		}
		names[w.Name] = true
		checks = append(checks, intIn(key+".from", w.From, 1, maxDays), intIn(key+".to", w.To, w.From, maxDays))
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	codes := make([]string, 0, len(c.Instruments))
	for code := range c.Instruments {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	for _, code := range codes {
		th := c.Instruments[code]
		in, ok := measures.Lookup(code)
		if !ok {
			return fmt.Errorf("config: instruments.%s: unknown instrument", code)
		}
		key := "instruments." + code + "."
		for _, err := range []error{
			intIn(key+"cutoff", th.Cutoff, 0, in.TotalMax),
			// remission: endpoint < remission, so 1 (a score of 0) up to the maximum total
			intIn(key+"remission", th.Remission, 1, in.TotalMax),
			intIn(key+"reliable_change", th.ReliableChange, 1, in.TotalMax),
			intIn(key+"max_missing", th.MaxMissing, 0, in.Items-1),
		} {
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// Instrument returns the instrument with this configuration's thresholds.
func (c Config) Instrument(code string) measures.Instrument {
	in, _ := measures.Lookup(code)
	if th, ok := c.Instruments[in.Code]; ok {
		in.Cutoff, in.Remission, in.ReliableChange, in.MaxMissing = th.Cutoff, th.Remission, th.ReliableChange, th.MaxMissing
		if len(in.Clusters) > 0 { // PCL-5 has no published bands: split at the cutoff in force
			in.Bands = []measures.Band{{Min: 0, Max: th.Cutoff - 1, Label: "below cutoff"}, {Min: th.Cutoff, Max: in.TotalMax, Label: "at or above cutoff"}}
		}
	}
	return in
}

// InstrumentCodes returns the instrument codes in canonical order.
func (c Config) InstrumentCodes() []string {
	var out []string
	for _, in := range measures.All() {
		out = append(out, in.Code)
	}
	return out
}
