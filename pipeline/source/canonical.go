package source

import (
	"fmt"
	"slices"
	"strings"
)

// canonicalColumns lists, per kind, the columns of the canonical long format in their
// canonical order.
var canonicalColumns = map[Kind][]string{
	KindAssessments: append(append([]string{"patient_id", "clinic_id", "instrument", "date", "day"}, itemNames[:]...), "total"),
	KindSessions: append([]string{"patient_id", "clinic_id", "date", "day", "session_type", "route", "dose_mg", "program", "setting"},
		SafetyColumns...),
	KindPatients: PatientColumns,
}

// SafetyColumns are the optional session columns of what the care team records at a dosing
// session: vital signs before the dose and the highest during monitoring, the CADSS-6
// dissociation total, side-effect codes and whether a serious adverse event occurred.
var SafetyColumns = []string{"sbp_pre", "dbp_pre", "hr_pre", "sbp_max", "dbp_max", "hr_max",
	"dissociation", "side_effects", "serious_adverse_event"}

// PatientColumns are the columns of the patients kind, patient_id first.
var PatientColumns = []string{"patient_id", "age", "sex", "diagnosis", "prior_treatments"}

// FreeTextColumns are the canonical columns that take codes from a closed list but invite
// free text (Record.FreeText).
var FreeTextColumns = []string{"side_effects"}

// itemNames are the canonical item columns, item_1 … item_20.
var itemNames = func() (n [20]string) {
	for k := range n {
		n[k] = fmt.Sprintf("item_%d", k+1)
	}
	return n
}()

func isCanonical(kind Kind, col string) bool {
	for _, c := range canonicalColumns[kind] {
		if c == col {
			return true
		}
	}
	return false
}

// canonical reads a file already in the canonical long format: the records are the rows as
// read (dates in workbooks turned from serial numbers into YYYY-MM-DD).
type canonical struct {
	src   rowSource
	kind  Kind
	hdr   []string
	guard rowGuard
	date  int // index of the date column, -1 when absent
	free  []int
}

func newCanonical(path string, src rowSource) (*canonical, error) {
	raw := src.header()
	if err := checkHeader(path, raw); err != nil {
		return nil, err
	}
	c := &canonical{src: src, hdr: make([]string, len(raw)), date: -1}
	cols := make(map[string]int, len(raw))
	var phi []string
	for i, h := range raw {
		h = strings.ToLower(strings.TrimSpace(h))
		c.hdr[i] = h
		if _, dup := cols[h]; dup && h != "" {
			return nil, &FileError{Path: path, Line: 1, Column: h, Reason: "column named twice in the header"}
		}
		cols[h] = i
		if isPHIColumn(h) {
			phi = append(phi, h)
		}
	}
	if len(phi) > 0 {
		return nil, &FileError{Path: path, Line: 1, Column: strings.Join(phi, ", "),
			Reason: "refused: the header names direct identifiers; inputs must be de-identified (a map can drop such columns)"}
	}
	_, hasInstrument := cols["instrument"]
	_, hasType := cols["session_type"]
	hasTrait := false // a patients column: age, sex, diagnosis or prior_treatments
	for _, h := range c.hdr {
		hasTrait = hasTrait || slices.Contains(PatientColumns[1:], h)
	}
	switch {
	case hasInstrument && hasType:
		return nil, &FileError{Path: path, Line: 1, Reason: "header has both instrument and session_type; cannot tell assessments from sessions"}
	case hasInstrument:
		c.kind = KindAssessments
	case hasType:
		c.kind = KindSessions
	case hasTrait:
		c.kind = KindPatients
	default:
		return nil, &FileError{Path: path, Line: 1, Reason: "header has neither instrument (assessments) nor session_type (sessions) nor age, sex, diagnosis or prior_treatments (patients); other layouts need --map"}
	}
	for i, h := range c.hdr {
		if !isCanonical(c.kind, h) {
			return nil, &FileError{Path: path, Line: 1, Column: fmt.Sprintf("%d (%q)", i+1, h),
				Reason: "unknown column in the canonical " + string(c.kind) + " format; other layouts need --map"}
		}
	}
	if _, ok := cols["patient_id"]; !ok {
		return nil, &FileError{Path: path, Line: 1, Reason: "header has no patient_id column"}
	}
	_, d := cols["date"]
	_, dy := cols["day"]
	if !d && !dy && c.kind != KindPatients {
		return nil, &FileError{Path: path, Line: 1, Reason: "header has neither a date nor a day column"}
	}
	if d {
		c.date = cols["date"]
	}
	for i, h := range c.hdr {
		if slices.Contains(FreeTextColumns, h) {
			c.free = append(c.free, i)
		}
	}
	c.guard = rowGuard{path: path, names: c.hdr, class: make([]colClass, len(c.hdr))}
	for i, h := range c.hdr {
		switch h {
		case "patient_id":
			c.guard.class[i] = colPatient
		case "clinic_id":
			c.guard.class[i] = colID
		case "date":
			c.guard.class[i] = colDate
		default:
			c.guard.class[i] = colData
		}
	}
	return c, nil
}

func (c *canonical) Kind() Kind       { return c.kind }
func (c *canonical) Header() []string { return c.hdr }
func (c *canonical) Empty() int64     { return 0 }

func (c *canonical) Progress() (int64, int64) { return c.src.progress() }
func (c *canonical) Close() error             { return c.src.close() }

func (c *canonical) Next() (Record, error) {
	row, err := c.src.next()
	if err != nil {
		return Record{}, err
	}
	if err := c.guard.check(row); err != nil {
		return Record{}, err
	}
	if row.n != len(c.hdr) {
		// Source holds the fields under the header's columns only: the surplus of a wider
		// row was never kept.
		return Record{Line: row.line, Source: row.fields, FreeText: c.free, Problem: &Problem{Reason: ReasonMalformed,
			Detail: fmt.Sprintf("%d fields, header has %d", row.n, len(c.hdr))}}, nil
	}
	if len(row.noValue) > 0 {
		return Record{Line: row.line, Source: row.fields, FreeText: c.free, Problem: uncalculated(row.noValue, c.hdr, nil)}, nil
	}
	fields := row.fields
	if c.date >= 0 && c.date < len(fields) {
		fields[c.date] = c.src.date(fields[c.date])
	}
	return Record{Line: row.line, Fields: fields, Source: fields, FreeText: c.free}, nil
}

// uncalculated is the problem of a row whose columns cols hold formulas without a stored
// result: the first is named, and all of them in the detail. names are the header's names
// of the columns; a column for which use returns false is not one the record reads.
func uncalculated(cols []int, names []string, use func(int) bool) *Problem {
	var named []string
	for _, i := range cols {
		if use != nil && !use(i) {
			continue
		}
		n := fmt.Sprint(i + 1)
		if i < len(names) && names[i] != "" {
			n = names[i]
		}
		named = append(named, n)
	}
	if len(named) == 0 {
		return nil
	}
	return &Problem{Column: named[0], Reason: ReasonUncalculatedFormula,
		Detail: "a formula with no stored result in " + strings.Join(named, ", ") + "; recalculate and save the workbook in a spreadsheet program"}
}
