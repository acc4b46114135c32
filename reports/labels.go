package reports

import (
	"fmt"
	"strings"
)

// Plain-language labels for the codes of the analysis. A code without a label is shown with its
// underscores replaced by spaces, so a new code is still readable.
var labels = map[string]string{
	// exclusion and attrition reasons
	"no_dosing_session":          "No dosing session recorded",
	"no_assessments":             "No assessment scores",
	"no_baseline":                "No baseline score",
	"no_endpoint":                "No score during the acute treatment window",
	"acute_window_open":          "Still in treatment: the acute window has not ended",
	"not_eligible":               "Baseline score below the clinical cutoff",
	"no_response":                "Never reached half of baseline during the acute window",
	"no_followup_after_response": "Reached half of baseline, but no later score",

	// data-quality reasons
	"duplicate":                 "Exact duplicate row (kept once)",
	"malformed_row":             "Row has the wrong number of fields",
	"missing_field":             "A required field is empty",
	"bad_patient_id":            "Patient id is not 1–64 printable characters",
	"unknown_instrument":        "Questionnaire not recognised",
	"bad_date":                  "Date is not a valid date or day number",
	"future_date":               "Date is after the as-of date",
	"not_integer":               "An item or total is not a whole number",
	"out_of_range":              "An item or total is outside its range",
	"extra_item":                "Item filled past the questionnaire's last item",
	"too_many_missing":          "Too many items missing to score",
	"total_mismatch":            "Given total disagrees with the items",
	"unknown_session_type":      "Session type not recognised",
	"unknown_route":             "Route of administration not recognised",
	"missing_route":             "Dosing session without a route",
	"bad_dose":                  "Dose is not a positive number",
	"unknown_program":           "Program not recognised",
	"unknown_setting":           "Setting not recognised",
	"conflict":                  "Same patient, questionnaire and day with different answers",
	"uncalculated_formula":      "Formula without a calculated value (recalculate and save the workbook)",
	"unknown_sex":               "Sex is not female, male, other or unknown (F/M accepted)",
	"unknown_diagnosis":         "Diagnosis is not depression, PTSD, anxiety, bipolar or other",
	"unknown_side_effect":       "Side effects not from the list of codes (the text is not kept)",
	"bad_serious_adverse_event": "Serious adverse event is not yes or no",
	"patients":                  "Patient characteristics",

	// side effects
	"nausea": "Nausea", "vomiting": "Vomiting", "dizziness": "Dizziness", "headache": "Headache",
	"confusion": "Confusion", "anxiety": "Anxiety", "dissociation": "Dissociation",
	"hypertension": "Hypertension", "other": "Other", "any": "Any side effect",

	// reliable change
	"recovered":    "Recovered",
	"improved":     "Improved",
	"unchanged":    "No reliable change",
	"deteriorated": "Deteriorated",

	// file kinds
	"assessments": "Assessment scores",
	"sessions":    "Treatment sessions",
}

// groupLabels are the labels of group values, per dimension.
var groupLabels = map[string]map[string]string{
	"route": {"sublingual": "Sublingual (under the tongue)", "im": "Intramuscular injection",
		"iv": "Intravenous infusion", "intranasal": "Intranasal (nasal spray)", "oral": "Oral"},
	"program": {"kap": "KAP (ketamine with psychotherapy)", "infusion": "Infusion only (no psychotherapy)"},
	"setting": {"in_person": "In person", "home": "At home", "telehealth": "Telehealth"},
	"integration": {"0": "No integration sessions", "1-3": "1–3 integration sessions",
		">=4": "4 or more integration sessions"},
	"quarter": {"acute_window_open": "Still in the acute window (no quarter yet)"},
	"sex":     {"female": "Female", "male": "Male", "other": "Other"},
	"diagnosis": {"depression": "Depression", "ptsd": "PTSD", "anxiety": "Anxiety", "bipolar": "Bipolar disorder",
		"other": "Other diagnosis"},
}

var dimensionTitles = map[string]string{
	"clinic":      "By clinic",
	"route":       "By route of ketamine (first dose)",
	"program":     "By program",
	"setting":     "By setting (first dose)",
	"integration": "By integration therapy in the acute window",
	"quarter":     "By quarter the acute outcome became known",
}

// dimensions is the report order of the group dimensions.
var dimensions = []string{"clinic", "route", "program", "setting", "integration", "quarter"}

// label returns the plain-language label of a code with the parameters in force (a window's
// length, the response fraction).
func (b *builder) label(code string) string {
	cfg := b.a.Config
	switch code {
	case "no_baseline":
		return fmt.Sprintf("No score in the %d days up to and including the day of the first dose", cfg.BaselineDays)
	case "no_endpoint":
		return fmt.Sprintf("No score in the %d days after the first dose", cfg.AcuteDays)
	case "acute_window_open":
		return fmt.Sprintf("Still in treatment: the %d days after the first dose are not over", cfg.AcuteDays)
	case "no_response":
		return fmt.Sprintf("Never reached %s of baseline during the acute window", pct(cfg.ResponseFraction))
	case "no_followup_after_response":
		return fmt.Sprintf("Reached %s of baseline, but no later score", pct(cfg.ResponseFraction))
	}
	return label(code)
}

// label returns the plain-language label of a code.
func label(code string) string {
	if l, ok := labels[code]; ok {
		return l
	}
	return strings.ReplaceAll(code, "_", " ")
}

// groupLabel returns the label of a group value; clinic ids and quarters are shown as they are.
func groupLabel(dim, value string) string {
	if value == "unknown" {
		return "Not recorded"
	}
	if l, ok := groupLabels[dim][value]; ok {
		return l
	}
	return value
}

// instrumentNames are the display names of instrument codes.
var instrumentNames = map[string]string{"PHQ9": "PHQ-9", "GAD7": "GAD-7", "PCL5": "PCL-5"}

var instrumentTopics = map[string]string{"PHQ9": "depression", "GAD7": "anxiety", "PCL5": "PTSD symptoms"}

func instrumentName(code string) string {
	if n, ok := instrumentNames[code]; ok {
		return n
	}
	return code
}
