package pipeline

import (
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kapstat/kapstat/measures"
	"github.com/kapstat/kapstat/measures/outcome"
	"github.com/kapstat/kapstat/pipeline/source"
)

// Reason codes of quarantined rows (SPEC 3.3). Each finding carries one.
const (
	ReasonMalformed         = source.ReasonMalformed // wrong number of fields
	ReasonMissingField      = "missing_field"        // a required field is empty
	ReasonBadPatientID      = "bad_patient_id"       // not 1–64 printable characters
	ReasonBadClinicID       = "bad_clinic_id"        // longer than 64 or not printable characters
	ReasonUnknownInstrument = "unknown_instrument"   // not PHQ-9, GAD-7 or PCL-5
	ReasonBadDate           = "bad_date"             // not a valid YYYY-MM-DD date or integer day
	ReasonFutureDate        = "future_date"          // after the as-of date
	ReasonNotInteger        = "not_integer"          // an item or total that is not an integer
	ReasonOutOfRange        = "out_of_range"         // an item or total outside its range
	ReasonExtraItem         = "extra_item"           // an item column past the instrument's count is filled
	ReasonTooManyMissing    = "too_many_missing"     // more missing items than prorating allows
	ReasonTotalMismatch     = "total_mismatch"       // the given total disagrees with the items
	ReasonUnknownSession    = "unknown_session_type" // not preparation, dosing, integration, maintenance
	ReasonUnknownRoute      = "unknown_route"        // not sublingual, im, iv, intranasal, oral
	ReasonMissingRoute      = "missing_route"        // a dosing or maintenance session without a route
	ReasonBadDose           = "bad_dose"             // dose_mg not a positive number
	ReasonUnknownProgram    = "unknown_program"      // not kap or infusion
	ReasonUnknownSetting    = "unknown_setting"      // not in_person, home, telehealth
	ReasonConflict          = "conflict"             // same key as another row, different responses
	// patients
	ReasonUnknownSex       = "unknown_sex"       // not female, male, other, unknown (F, M; any case)
	ReasonUnknownDiagnosis = "unknown_diagnosis" // not depression, ptsd, anxiety, bipolar, other
	// session safety (integers outside their ranges are not_integer / out_of_range)
	ReasonUnknownSideEffect = "unknown_side_effect"       // side_effects holds something besides the closed list of codes
	ReasonBadSAE            = "bad_serious_adverse_event" // serious_adverse_event is not yes or no
	// an XLSX formula cell with no stored result (formulas are never evaluated)
	ReasonUncalculatedFormula = source.ReasonUncalculatedFormula
)

// Finding is a quarantined row: where it is, what is wrong, and the row as read.
type Finding struct {
	File   string
	Line   int
	Column string
	Reason string
	Detail string
	Raw    string
}

func (f Finding) String() string {
	s := fmt.Sprintf("%s:%d", f.File, f.Line)
	if f.Column != "" {
		s += " column " + f.Column
	}
	s += ": " + f.Reason
	if f.Detail != "" {
		s += " (" + f.Detail + ")"
	}
	return s
}

// Assessment is one validated, scored administration.
type Assessment struct {
	Line       int
	PatientID  string
	ClinicID   string
	Instrument string
	Day        int32
	HasDate    bool
	Items      [measures.MaxItems]int8 // measures.Missing (-1) when missing or past the count
	TotalGiven int16                   // -1 when absent
	Score      measures.Result
	Hash       uint64 // of the responses (items and given total), for duplicates and conflicts
	KeyHash    uint64 // of patient, instrument and day: rows that may share a key (keyHash)
}

// Session is one validated treatment session.
type Session struct {
	Line        int
	PatientID   string
	ClinicID    string
	Day         int32
	HasDate     bool
	SessionType string
	Route       string
	DoseMG      float64 // 0 when absent
	Program     string
	Setting     string
	Safety      Safety
	Hash        uint64
	KeyHash     uint64 // of patient, day and session type (keyHash)
}

// Safety is what the care team recorded at a session (all optional).
type Safety struct {
	// Vitals are sbp_pre, dbp_pre, hr_pre, sbp_max, dbp_max, hr_max; -1 when not recorded.
	Vitals [6]int16
	// Dissociation is the CADSS-6 total 0–24; -1 when not recorded.
	Dissociation int16
	// SideEffects are the codes, sorted, joined by ";", or "none"; "" when not recorded.
	SideEffects string
	// SAE is serious_adverse_event: 1 yes, 0 no, -1 not recorded.
	SAE int8
}

// noSafety is a Safety with nothing recorded.
var noSafety = Safety{Vitals: [6]int16{-1, -1, -1, -1, -1, -1}, Dissociation: -1, SAE: -1}

func (s *Safety) recorded() bool {
	return *s != noSafety
}

// Patient is one validated patients row: the characteristics of one patient.
type Patient struct {
	Line      int
	PatientID string
	// Age in years, 12–89, or 90 for 90 and over (HIPAA Safe Harbor: such ages are one
	// category, shown as 90+); -1 when not given.
	Age int16
	// Sex is female, male or other; "" when not given or unknown.
	Sex string
	// Diagnosis is depression, ptsd, anxiety, bipolar or other; "" when not given.
	Diagnosis string
	// PriorTreatments is the number of prior adequate antidepressant trials, 0–30; -1 when
	// not given.
	PriorTreatments int16
	Hash            uint64 // of the characteristics, for duplicates and conflicts
	KeyHash         uint64 // of the patient id (keyHash)
}

// itemNames are the canonical item columns, item_1 … item_20.
var itemNames = func() (n [measures.MaxItems]string) {
	for k := range n {
		n[k] = fmt.Sprintf("item_%d", k+1)
	}
	return n
}()

// rowChecker validates the rows of one file.
type rowChecker struct {
	path  string
	cfg   Config
	asOf  int32 // day number; rows dated after it are future_date
	cols  map[string]int
	width int
	insts map[string]measures.Instrument
	items [measures.MaxItems]int // column index of item_k, -1 when absent
	at    [nFields]int           // column index of each of fieldNames, -1 when absent
}

func newRowChecker(path string, cfg Config, asOf time.Time, cols map[string]int, width int) *rowChecker {
	rc := &rowChecker{path: path, cfg: cfg, asOf: dayOf(asOf), cols: cols, width: width,
		insts: map[string]measures.Instrument{}}
	for _, code := range cfg.InstrumentCodes() {
		rc.insts[code] = cfg.Instrument(code)
	}
	for f, name := range fieldNames {
		rc.at[f] = -1
		if i, ok := cols[name]; ok {
			rc.at[f] = i
		}
	}
	for k := range rc.items {
		rc.items[k] = -1
		if i, ok := cols[itemNames[k]]; ok {
			rc.items[k] = i
		}
	}
	return rc
}

func dayOf(t time.Time) int32 {
	return int32(t.Unix() / 86400)
}

// parseISODate reads YYYY-MM-DD exactly as time.Parse("2006-01-02", s) does (four-digit
// year, two-digit month 01–12, two-digit day within the month) and returns the year and the
// day number (days since 1970-01-01). It is the hot path of validation, where time.Parse
// cost more than the rest of the date check; TestParseISODate holds it to time.Parse.
func parseISODate(s string) (year int, day int32, ok bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, false
	}
	num := func(b string) (int, bool) {
		n := 0
		for i := 0; i < len(b); i++ {
			c := b[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(s[:4])
	m, ok2 := num(s[5:7])
	d, ok3 := num(s[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 {
		return 0, 0, false
	}
	mdays := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m]
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		mdays = 29
	}
	if d > mdays {
		return 0, 0, false
	}
	return y, int32(daysFromCivil(y, m, d)), true
}

// daysFromCivil is the proleptic Gregorian day number of y-m-d, days since 1970-01-01
// (H. Hinnant's algorithm).
func daysFromCivil(y, m, d int) int {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// DayDate turns a day number (days since 1970-01-01) back into a date.
func DayDate(day int32) time.Time { return time.Unix(int64(day)*86400, 0).UTC() }

// The canonical fields validation reads by name, numbered so that a row's field is found by
// index rather than by a map lookup per row.
const (
	fPatientID = iota
	fClinicID
	fDate
	fDay
	fInstrument
	fTotal
	fSessionType
	fRoute
	fDoseMG
	fProgram
	fSetting
	fSBPPre // the six vital signs, in the order of Safety.Vitals
	fDBPPre
	fHRPre
	fSBPMax
	fDBPMax
	fHRMax
	fDissociation
	fSideEffects
	fSAE
	fAge
	fSex
	fDiagnosis
	fPriorTreatments
	nFields
)

var fieldNames = [nFields]string{"patient_id", "clinic_id", "date", "day", "instrument", "total",
	"session_type", "route", "dose_mg", "program", "setting",
	"sbp_pre", "dbp_pre", "hr_pre", "sbp_max", "dbp_max", "hr_max", "dissociation", "side_effects", "serious_adverse_event",
	"age", "sex", "diagnosis", "prior_treatments"}

func (rc *rowChecker) field(rec Record, f int) string {
	if i := rc.at[f]; i >= 0 && i < len(rec.Fields) {
		return trimSpace(rec.Fields[i])
	}
	return ""
}

// trimSpace is strings.TrimSpace with a shortcut for the usual field, which starts and ends
// with a printable ASCII character and so has nothing to trim.
func trimSpace(s string) string {
	if len(s) == 0 || s[0] > ' ' && s[0] < 0x80 && s[len(s)-1] > ' ' && s[len(s)-1] < 0x80 {
		return s
	}
	return strings.TrimSpace(s)
}

func (rc *rowChecker) finding(rec Record, col, reason, detail string) *Finding {
	// In a mapped file, name the user's column beside the canonical one: "phq9_2 (item_2)".
	if i, ok := rc.cols[col]; ok && i < len(rec.Columns) && rec.Columns[i] != "" && rec.Columns[i] != col {
		col = rec.Columns[i] + " (" + col + ")"
	}
	return &Finding{File: rc.path, Line: rec.Line, Column: col, Reason: reason, Detail: detail, Raw: capRaw(rawOf(rec, reason))}
}

// rawOf is the raw row kept for a quarantined record. A value of a free-text-prone column
// (side_effects) is kept only when it is made of the column's codes: anything else may be a
// note naming someone, and is withheld. In a row that does not split into its header's
// columns (malformed_row) a note could sit under any column, so every value is withheld
// when the file has such a column.
func rawOf(rec Record, reason string) string {
	if len(rec.FreeText) == 0 {
		return rec.Raw()
	}
	if reason == ReasonMalformed {
		return rec.RawWithheld(func(int, string) bool { return true })
	}
	return rec.RawWithheld(func(pos int, v string) bool {
		return slices.Contains(rec.FreeText, pos) && !onlyCodes(v)
	})
}

// maxRaw caps the raw row kept in the quarantine table: a hostile 10 MB field must not
// be copied into the warehouse whole.
const maxRaw = 4096

func capRaw(s string) string {
	if len(s) <= maxRaw {
		return s
	}
	cut := maxRaw
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… (%d bytes in all)", len(s))
}

func validPatientID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// common checks the fields assessments and sessions share.
func (rc *rowChecker) common(rec Record) (pid, clinic string, day int32, hasDate bool, f *Finding) {
	if p := rec.Problem; p != nil { // found by the reader: a malformed row, a formula without a value
		return "", "", 0, false, rc.finding(rec, p.Column, p.Reason, p.Detail)
	}
	if len(rec.Fields) != rc.width {
		return "", "", 0, false, rc.finding(rec, "", ReasonMalformed,
			fmt.Sprintf("%d fields, header has %d", len(rec.Fields), rc.width))
	}
	pid = rc.field(rec, fPatientID)
	if pid == "" {
		return "", "", 0, false, rc.finding(rec, "patient_id", ReasonMissingField, "")
	}
	if !validPatientID(pid) {
		return "", "", 0, false, rc.finding(rec, "patient_id", ReasonBadPatientID, "must be 1–64 printable ASCII characters")
	}
	clinic = rc.field(rec, fClinicID)
	if clinic == "" {
		clinic = "unknown"
	} else if !validPatientID(clinic) {
		return "", "", 0, false, rc.finding(rec, "clinic_id", ReasonBadClinicID, "must be 1–64 printable ASCII characters")
	}
	if d := rc.field(rec, fDate); d != "" {
		year, dd, ok := parseISODate(d)
		if !ok {
			return "", "", 0, false, rc.finding(rec, "date", ReasonBadDate, "not a valid YYYY-MM-DD date")
		}
		if year < 1990 {
			return "", "", 0, false, rc.finding(rec, "date", ReasonBadDate, "before 1990")
		}
		day, hasDate = dd, true
		if day > rc.asOf {
			return "", "", 0, false, rc.finding(rec, "date", ReasonFutureDate, "after the as-of date "+DayDate(rc.asOf).Format("2006-01-02"))
		}
	} else if d := rc.field(rec, fDay); d != "" {
		n, err := strconv.ParseInt(d, 10, 32)
		if err != nil || n < -100000 || n > 100000 {
			return "", "", 0, false, rc.finding(rec, "day", ReasonBadDate, "day must be an integer offset")
		}
		day = int32(n)
	} else {
		col := "date"
		if _, ok := rc.cols["date"]; !ok {
			col = "day"
		}
		return "", "", 0, false, rc.finding(rec, col, ReasonMissingField, "")
	}
	return pid, clinic, day, hasDate, nil
}

// assessment validates and scores one assessments row.
func (rc *rowChecker) assessment(rec Record) (Assessment, *Finding) {
	var a Assessment
	pid, clinic, day, hasDate, f := rc.common(rec)
	if f != nil {
		return a, f
	}
	name := rc.field(rec, fInstrument)
	if name == "" {
		return a, rc.finding(rec, "instrument", ReasonMissingField, "")
	}
	code := measures.Normalize(name)
	in, ok := rc.insts[code]
	if !ok {
		return a, rc.finding(rec, "instrument", ReasonUnknownInstrument, "")
	}
	a = Assessment{Line: rec.Line, PatientID: pid, ClinicID: clinic, Instrument: code, Day: day, HasDate: hasDate, TotalGiven: -1}
	h := fnv.New64a()
	var buf [measures.MaxItems + 2]byte
	items := make([]int, in.Items)
	given := 0
	for k := 0; k < measures.MaxItems; k++ {
		a.Items[k] = measures.Missing
		col := itemNames[k]
		s := ""
		if rc.items[k] >= 0 {
			s = trimSpace(rec.Fields[rc.items[k]])
		}
		if k >= in.Items {
			if s != "" {
				return a, rc.finding(rec, col, ReasonExtraItem, fmt.Sprintf("%s has %d items", in.Name, in.Items))
			}
			continue
		}
		if s == "" {
			items[k] = measures.Missing
			buf[k] = 0xff
			continue
		}
		v, err := strconv.Atoi(s)
		if err != nil {
			return a, rc.finding(rec, col, ReasonNotInteger, "")
		}
		if v < 0 || v > in.ItemMax {
			return a, rc.finding(rec, col, ReasonOutOfRange, fmt.Sprintf("%s items are 0–%d", in.Name, in.ItemMax))
		}
		items[k], a.Items[k], buf[k] = v, int8(v), byte(v)
		given++
	}
	if s := rc.field(rec, fTotal); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			return a, rc.finding(rec, "total", ReasonNotInteger, "")
		}
		if v < 0 || v > in.TotalMax {
			return a, rc.finding(rec, "total", ReasonOutOfRange, fmt.Sprintf("%s totals are 0–%d", in.Name, in.TotalMax))
		}
		a.TotalGiven = int16(v)
		buf[measures.MaxItems], buf[measures.MaxItems+1] = byte(v>>8), byte(v)
	} else {
		buf[measures.MaxItems], buf[measures.MaxItems+1] = 0xff, 0xff
	}
	if given == 0 {
		items = nil
		if a.TotalGiven < 0 {
			return a, rc.finding(rec, "", ReasonTooManyMissing, fmt.Sprintf("all %d items missing and no total", in.Items))
		}
	}
	res, err := in.Score(items, int(a.TotalGiven))
	if err != nil {
		switch {
		case errors.Is(err, measures.ErrTooManyMissing):
			return a, rc.finding(rec, "", ReasonTooManyMissing,
				fmt.Sprintf("%d of %d items missing, at most %d allowed", in.Items-given, in.Items, in.MaxMissing))
		default:
			return a, rc.finding(rec, "", ReasonOutOfRange, err.Error())
		}
	}
	if items != nil && a.TotalGiven >= 0 && int(a.TotalGiven) != res.Total {
		return a, rc.finding(rec, "total", ReasonTotalMismatch, fmt.Sprintf("given %d, items give %d", a.TotalGiven, res.Total))
	}
	a.Score = res
	h.Write(buf[:])
	a.Hash = h.Sum64()
	a.KeyHash = keyHashFunc(pid, code, day)
	return a, nil
}

var (
	sessionTypes = map[string]bool{"preparation": true, "dosing": true, "integration": true, "maintenance": true}
	routes       = map[string]bool{"sublingual": true, "im": true, "iv": true, "intranasal": true, "oral": true}
	programs     = map[string]bool{"kap": true, "infusion": true}
	settings     = map[string]bool{"in_person": true, "home": true, "telehealth": true}
)

// session validates one sessions row.
func (rc *rowChecker) session(rec Record) (Session, *Finding) {
	var s Session
	pid, clinic, day, hasDate, f := rc.common(rec)
	if f != nil {
		return s, f
	}
	st := strings.ToLower(rc.field(rec, fSessionType))
	if st == "" {
		return s, rc.finding(rec, "session_type", ReasonMissingField, "")
	}
	if !sessionTypes[st] {
		return s, rc.finding(rec, "session_type", ReasonUnknownSession, "")
	}
	route := strings.ToLower(rc.field(rec, fRoute))
	if route != "" && !routes[route] {
		return s, rc.finding(rec, "route", ReasonUnknownRoute, "")
	}
	if route == "" && (st == "dosing" || st == "maintenance") {
		return s, rc.finding(rec, "route", ReasonMissingRoute, "a "+st+" session needs a route")
	}
	var dose float64
	if d := rc.field(rec, fDoseMG); d != "" {
		v, err := strconv.ParseFloat(d, 64)
		if err != nil || !(v > 0) || v > 1e5 {
			return s, rc.finding(rec, "dose_mg", ReasonBadDose, "must be a positive number")
		}
		dose = v
	}
	prog := strings.ToLower(rc.field(rec, fProgram))
	if prog == "" {
		prog = "kap"
	}
	if !programs[prog] {
		return s, rc.finding(rec, "program", ReasonUnknownProgram, "")
	}
	set := strings.ToLower(rc.field(rec, fSetting))
	if set == "" {
		set = "in_person"
	}
	if !settings[set] {
		return s, rc.finding(rec, "setting", ReasonUnknownSetting, "")
	}
	safety, f := rc.safety(rec)
	if f != nil {
		return s, f
	}
	s = Session{Line: rec.Line, PatientID: pid, ClinicID: clinic, Day: day, HasDate: hasDate,
		SessionType: st, Route: route, DoseMG: dose, Program: prog, Setting: set, Safety: safety}
	s.Hash = sessionHash(clinic, route, dose, prog, set, &safety)
	s.KeyHash = keyHashFunc(pid, st, day)
	return s, nil
}

// vitalRanges are the plausible ranges of the vital signs, in the order of Safety.Vitals:
// systolic and diastolic blood pressure (mmHg) and heart rate (bpm).
var vitalRanges = [6][2]int{{60, 260}, {30, 160}, {30, 220}, {60, 260}, {30, 160}, {30, 220}}

// safety validates the optional session-safety columns. An empty field is not recorded.
func (rc *rowChecker) safety(rec Record) (Safety, *Finding) {
	sf := noSafety
	integer := func(f int, lo, hi int, unit string) (int16, *Finding) {
		v := rc.field(rec, f)
		if v == "" {
			return -1, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return -1, rc.finding(rec, fieldNames[f], ReasonNotInteger, "")
		}
		if n < lo || n > hi {
			return -1, rc.finding(rec, fieldNames[f], ReasonOutOfRange, fmt.Sprintf("%s is %d–%d%s", fieldNames[f], lo, hi, unit))
		}
		return int16(n), nil
	}
	for k := range sf.Vitals {
		unit := " mmHg"
		if k%3 == 2 {
			unit = " bpm"
		}
		var f *Finding
		if sf.Vitals[k], f = integer(fSBPPre+k, vitalRanges[k][0], vitalRanges[k][1], unit); f != nil {
			return sf, f
		}
	}
	var f *Finding
	if sf.Dissociation, f = integer(fDissociation, 0, 24, " (the CADSS-6 total)"); f != nil {
		return sf, f
	}
	if v := rc.field(rec, fSideEffects); v != "" {
		codes, problem := parseSideEffects(v)
		if problem != "" {
			// Never the value: it may be a note naming someone.
			return sf, rc.finding(rec, "side_effects", ReasonUnknownSideEffect, problem+
				"; want codes separated by ; from "+strings.Join(outcome.SideEffectVocabulary, ", ")+", or none alone")
		}
		sf.SideEffects = codes
	}
	switch strings.ToLower(rc.field(rec, fSAE)) {
	case "":
	case "yes", "y", "true":
		sf.SAE = 1
	case "no", "n", "false":
		sf.SAE = 0
	default:
		return sf, rc.finding(rec, "serious_adverse_event", ReasonBadSAE, "yes or no")
	}
	return sf, nil
}

// parseSideEffects reads a side_effects field: codes of outcome.SideEffectVocabulary separated
// by ";", in any case, spaces around them and empty entries ignored, or "none" alone. It
// returns the codes sorted and without repeats, joined by ";" ("none" for none), or, for
// anything else (an empty field included), a problem saying where without the value.
func parseSideEffects(v string) (string, string) {
	var codes []string
	entries := strings.Split(v, ";")
	none := false
	for i, c := range entries {
		c = strings.ToLower(strings.TrimSpace(c))
		switch {
		case c == "":
		case c == outcome.NoSideEffects:
			none = true
		case slices.Contains(outcome.SideEffectVocabulary, c):
			if !slices.Contains(codes, c) {
				codes = append(codes, c)
			}
		default:
			return "", fmt.Sprintf("entry %d of %d is not a code", i+1, len(entries))
		}
	}
	switch {
	case none && len(codes) == 0:
		return outcome.NoSideEffects, ""
	case none:
		return "", "none with other codes"
	case len(codes) == 0:
		return "", "no code"
	}
	slices.Sort(codes)
	return strings.Join(codes, ";"), ""
}

// onlyCodes reports whether a side_effects field is made of the list's codes and "none"
// only (valid or not, it holds no free text).
func onlyCodes(v string) bool {
	for _, c := range strings.Split(v, ";") {
		c = strings.ToLower(strings.TrimSpace(c))
		if c != "" && c != outcome.NoSideEffects && !slices.Contains(outcome.SideEffectVocabulary, c) {
			return false
		}
	}
	return true
}

var (
	sexes = map[string]string{"female": "female", "f": "female", "male": "male", "m": "male",
		"other": "other", "unknown": "", "": ""}
	diagnoses = map[string]bool{"depression": true, "ptsd": true, "anxiety": true, "bipolar": true, "other": true}
)

// patient validates one patients row.
func (rc *rowChecker) patient(rec Record) (Patient, *Finding) {
	p := Patient{Line: rec.Line, Age: -1, PriorTreatments: -1}
	if pr := rec.Problem; pr != nil {
		return p, rc.finding(rec, pr.Column, pr.Reason, pr.Detail)
	}
	if len(rec.Fields) != rc.width {
		return p, rc.finding(rec, "", ReasonMalformed, fmt.Sprintf("%d fields, header has %d", len(rec.Fields), rc.width))
	}
	pid := rc.field(rec, fPatientID)
	if pid == "" {
		return p, rc.finding(rec, "patient_id", ReasonMissingField, "")
	}
	if !validPatientID(pid) {
		return p, rc.finding(rec, "patient_id", ReasonBadPatientID, "must be 1–64 printable ASCII characters")
	}
	p.PatientID = pid
	if v := rc.field(rec, fAge); v == "90+" {
		p.Age = 90
	} else if v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return p, rc.finding(rec, "age", ReasonNotInteger, "whole years, or 90+")
		}
		if n < 12 || n > 120 {
			return p, rc.finding(rec, "age", ReasonOutOfRange, "ages are 12–89, or 90 and over (90+)")
		}
		p.Age = int16(min(n, 90)) // 90 and over are one category (HIPAA Safe Harbor)
	}
	sex, ok := sexes[strings.ToLower(rc.field(rec, fSex))]
	if !ok {
		return p, rc.finding(rec, "sex", ReasonUnknownSex, "female, male, other or unknown (F, M)")
	}
	p.Sex = sex
	switch d := strings.ToLower(rc.field(rec, fDiagnosis)); {
	case d == "" || d == "unknown":
	case diagnoses[d]:
		p.Diagnosis = d
	default:
		return p, rc.finding(rec, "diagnosis", ReasonUnknownDiagnosis, "depression, ptsd, anxiety, bipolar or other")
	}
	if v := rc.field(rec, fPriorTreatments); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return p, rc.finding(rec, "prior_treatments", ReasonNotInteger, "")
		}
		if n < 0 || n > 30 {
			return p, rc.finding(rec, "prior_treatments", ReasonOutOfRange, "prior treatments are 0–30")
		}
		p.PriorTreatments = int16(n)
	}
	p.Hash = patientHash(&p)
	p.KeyHash = keyHashFunc(pid, "", 0)
	return p, nil
}

// patientHash is the FNV-64a hash of a patient's characteristics as stored (age 90 for 90+,
// F as female, unknown as missing), so that rows saying the same in other words are
// duplicates, not conflicts. Stored in the warehouse (responses_hash): its input must never
// change.
func patientHash(p *Patient) uint64 {
	var buf [64]byte
	b := append(buf[:0], byte(p.Age>>8), byte(p.Age), byte(p.PriorTreatments>>8), byte(p.PriorTreatments))
	b = append(b, p.Sex...)
	b = append(b, '|')
	b = append(b, p.Diagnosis...)
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

// keyHashFunc is keyHash; a test replaces it with a constant to check that collisions change
// nothing.
var keyHashFunc = keyHash

// keyHash is the FNV-64a hash of the key of a row (patient, instrument or session type, day).
// It lets load find the few keys held by more than one row of a file with an integer GROUP BY;
// rows whose key hashes collide are then compared on their keys themselves, so a collision
// costs time, never a wrong answer. It is not stored.
func keyHash(pid, kind string, day int32) uint64 {
	var buf [160]byte
	b := append(buf[:0], pid...)
	b = append(b, 0)
	b = append(b, kind...)
	b = append(b, 0, byte(day), byte(day>>8), byte(day>>16), byte(day>>24))
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

// sessionHash is the FNV-64a hash of "clinic|route|dose|program|setting", the dose formatted
// as %g, followed, when anything of the session's safety was recorded, by
// "|sbp_pre|dbp_pre|hr_pre|sbp_max|dbp_max|hr_max|dissociation|side_effects|sae" (-1 for
// what was not recorded): the responses_hash of a session, stored in the warehouse, so its
// input must never change (TestSessionHashStable); a session without safety columns hashes
// as before they existed. Built without fmt: this runs on every session row.
func sessionHash(clinic, route string, dose float64, prog, set string, sf *Safety) uint64 {
	var buf [192]byte
	b := append(buf[:0], clinic...)
	b = append(b, '|')
	b = append(b, route...)
	b = append(b, '|')
	b = strconv.AppendFloat(b, dose, 'g', -1, 64)
	b = append(b, '|')
	b = append(b, prog...)
	b = append(b, '|')
	b = append(b, set...)
	if sf != nil && sf.recorded() {
		for _, v := range sf.Vitals {
			b = append(b, '|')
			b = strconv.AppendInt(b, int64(v), 10)
		}
		b = append(b, '|')
		b = strconv.AppendInt(b, int64(sf.Dissociation), 10)
		b = append(b, '|')
		b = append(b, sf.SideEffects...)
		b = append(b, '|')
		b = strconv.AppendInt(b, int64(sf.SAE), 10)
	}
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}
