// Package measures describes the symptom instruments kapstat scores — PHQ-9, GAD-7 and PCL-5 —
// and scores one administration: total, prorating of missing items, severity band, the PHQ-9
// item-9 safety flag and the PCL-5 cluster scores and provisional diagnosis.
//
// Every threshold here is a default; the pipeline's configuration may override the values of
// an Instrument it copies. The sources of each default are in Sources.
package measures

import (
	"strings"
)

// Band is a closed range of totals with a severity label.
type Band struct {
	Min, Max int
	Label    string
}

// Cluster is a named group of items (1-based, inclusive) of an instrument, as the PCL-5's
// DSM-5 symptom clusters.
type Cluster struct {
	Name        string // "B", "C", "D", "E"
	First, Last int    // item numbers, 1-based
	// Need is how many items of the cluster must be rated at or above Instrument.EndorseAt for a
	// provisional diagnosis.
	Need int
}

// Instrument holds the scoring facts of one questionnaire. Values are defaults; copy and
// change the thresholds to apply a configuration.
type Instrument struct {
	Code     string // canonical code: "PHQ9", "GAD7", "PCL5"
	Name     string // display name: "PHQ-9"
	Items    int    // number of items
	ItemMax  int    // each item is scored 0..ItemMax
	TotalMax int    // Items * ItemMax

	// Bands partition 0..TotalMax. An instrument without published bands (PCL-5) gets two
	// bands split at Cutoff.
	Bands []Band

	Cutoff         int // caseness: total >= Cutoff
	Remission      int // remission: total < Remission
	ReliableChange int // reliable change in points (Jacobson–Truax style)
	MaxMissing     int // items that may be missing and prorated

	// SafetyItem is the 1-based item whose rating above 0 raises a safety flag (PHQ-9 item 9),
	// or 0 when the instrument has none.
	SafetyItem int

	Clusters  []Cluster // PCL-5 only
	EndorseAt int       // an item rated >= EndorseAt counts as endorsed (PCL-5: 2)
}

// PHQ9 is the Patient Health Questionnaire-9 (Kroenke, Spitzer & Williams 2001).
var PHQ9 = Instrument{
	Code: "PHQ9", Name: "PHQ-9", Items: 9, ItemMax: 3, TotalMax: 27,
	Bands: []Band{
		{0, 4, "minimal"}, {5, 9, "mild"}, {10, 14, "moderate"},
		{15, 19, "moderately severe"}, {20, 27, "severe"},
	},
	Cutoff: 10, Remission: 5, ReliableChange: 6, MaxMissing: 2, SafetyItem: 9,
}

// GAD7 is the Generalized Anxiety Disorder-7 scale (Spitzer, Kroenke, Williams & Löwe 2006).
var GAD7 = Instrument{
	Code: "GAD7", Name: "GAD-7", Items: 7, ItemMax: 3, TotalMax: 21,
	Bands: []Band{
		{0, 4, "minimal"}, {5, 9, "mild"}, {10, 14, "moderate"}, {15, 21, "severe"},
	},
	Cutoff: 10, Remission: 5, ReliableChange: 4, MaxMissing: 1,
}

// PCL5 is the PTSD Checklist for DSM-5 (Blevins et al. 2015; National Center for PTSD).
var PCL5 = Instrument{
	Code: "PCL5", Name: "PCL-5", Items: 20, ItemMax: 4, TotalMax: 80,
	Bands:  []Band{{0, 32, "below cutoff"}, {33, 80, "at or above cutoff"}},
	Cutoff: 33, Remission: 33, ReliableChange: 10, MaxMissing: 3,
	Clusters: []Cluster{
		{Name: "B", First: 1, Last: 5, Need: 1},
		{Name: "C", First: 6, Last: 7, Need: 1},
		{Name: "D", First: 8, Last: 14, Need: 2},
		{Name: "E", First: 15, Last: 20, Need: 2},
	},
	EndorseAt: 2,
}

// All lists the instruments in their canonical order.
func All() []Instrument { return []Instrument{PHQ9, GAD7, PCL5} }

// MaxItems is the largest item count of any instrument: the canonical format's item columns.
const MaxItems = 20

// Normalize turns a spelling of an instrument name into its canonical code: "PHQ-9",
// "phq_9" and "Phq9" all give "PHQ9". It returns "" for an unknown name.
func Normalize(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '-' || r == '_' || r == ' ':
		default:
			return ""
		}
	}
	switch c := b.String(); c {
	case "PHQ9", "GAD7", "PCL5":
		return c
	}
	return ""
}

// Lookup returns the default Instrument for any spelling Normalize accepts.
func Lookup(name string) (Instrument, bool) {
	switch Normalize(name) {
	case "PHQ9":
		return PHQ9, true
	case "GAD7":
		return GAD7, true
	case "PCL5":
		return PCL5, true
	}
	return Instrument{}, false
}

// Band returns the severity label of a total, or "" when the total is out of range.
func (in Instrument) Band(total int) string {
	for _, b := range in.Bands {
		if total >= b.Min && total <= b.Max {
			return b.Label
		}
	}
	return ""
}

// Case reports caseness: total at or above the clinical cutoff.
func (in Instrument) Case(total int) bool { return total >= in.Cutoff }
