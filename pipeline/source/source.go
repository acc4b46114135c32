// Package source reads input files — delimited text, XLSX and Parquet — and turns their rows
// into records of the canonical long format (SPEC 3.1): a header of canonical column names and,
// per administration or session, the fields under it as text.
//
// Files already in the canonical format are read as they are. Other layouts (REDCap wide
// exports, LOINC-coded columns, NHANES) go through a mapping file (see Map), which names what
// each source column is, recodes values and unpivots wide rows into one record per instrument.
//
// Every reader streams: memory stays flat as files grow. Whole-file faults (a CSV syntax error,
// invalid UTF-8, a corrupt Parquet footer, a header or values that identify a person) are
// returned as *FileError; row-level faults are left for the validator, which quarantines the row.
package source

import (
	"encoding/csv"
	"fmt"
	"path/filepath"
	"strings"
)

// Kind is what a file holds.
type Kind string

const (
	KindAssessments Kind = "assessments"
	KindSessions    Kind = "sessions"
	// KindPatients: one row per patient with the characteristics adjusted comparisons use
	// (age, sex, diagnosis, prior treatments); no date or day.
	KindPatients Kind = "patients"
)

// Record is one canonical row.
//
// Fields and Source alias buffers of the reader: they are valid until the next call of Next.
// Copy them to keep them longer.
type Record struct {
	// Line is the 1-based line (CSV), row number (XLSX) or row index + 2 (Parquet, the header
	// counting as line 1) of the source row.
	Line int
	// Fields are the values under the reader's Header, as canonical text: items as integers
	// or "" when missing, dates as YYYY-MM-DD or day offsets as integers. Nil when Problem
	// is set.
	Fields []string
	// Source is the source row as read, limited to what may be stored: the values of the
	// columns the record is made from, never those a map drops or leaves undeclared, nor the
	// surplus of a row wider than its header. Every record unpivoted from one wide row
	// shares it.
	Source []string
	// Columns names, for a mapped file, the source column each field came from ("" for a
	// constant), so that a finding can point at the column the user's file has. Nil for files
	// in the canonical format.
	Columns []string
	// Problem, when not nil, is what makes the source row unreadable as a record (a wrong
	// number of fields, a formula with no stored value): the validator quarantines the
	// record with it.
	Problem *Problem
	// FreeText lists the positions in Source of columns that take codes from a closed list
	// and where people tend to type free text instead (side_effects). Free text is where
	// names and events about other people hide: the validator stores such a value of a
	// quarantined row only when it is made of the list's codes (see RawWithheld). Shared by
	// the reader's records; nil when the file has no such column.
	FreeText []int
}

// Problem is a row fault the reader finds in the row itself.
type Problem struct {
	Column string // the column at fault, "" for the whole row
	Reason string // a reason code: ReasonMalformed or ReasonUncalculatedFormula
	Detail string
}

// Reason codes of the row faults a reader finds (the validator finds the others).
const (
	// ReasonMalformed: the row has more or fewer fields than its header.
	ReasonMalformed = "malformed_row"
	// ReasonUncalculatedFormula: an XLSX cell holds a formula but no stored result (the
	// workbook was written by a program that does not calculate); kapstat never evaluates
	// formulas, so the value is unknown.
	ReasonUncalculatedFormula = "uncalculated_formula"
)

// Raw returns the source row CSV-encoded, for the quarantine table. It is computed on demand
// so that accepted rows cost nothing.
func (r Record) Raw() string { return encodeRow(r.Source) }

// Withheld is what the quarantine table holds in place of a value that is not stored.
const Withheld = "[withheld]"

// RawWithheld is Raw with every value for which withhold (given its position in Source and
// the value) returns true replaced by Withheld.
func (r Record) RawWithheld(withhold func(pos int, value string) bool) string {
	out := make([]string, len(r.Source))
	for i, v := range r.Source {
		if withhold(i, v) {
			out[i] = Withheld
		} else {
			out[i] = v
		}
	}
	return encodeRow(out)
}

// Reader yields the canonical records of one file.
type Reader interface {
	Kind() Kind
	// Header returns the canonical column names (lower case) the records' fields sit under.
	Header() []string
	// Next returns the next record, or io.EOF at the end. A *FileError stops the file.
	Next() (Record, error)
	// Empty returns how many source rows so far produced no record because every item and
	// total of every instrument in them was missing (mapped wide files only).
	Empty() int64
	// Progress reports how far the reading is (bytes of text files, rows of Parquet files)
	// out of total, which is -1 when unknown.
	Progress() (done, total int64)
	Close() error
}

// FileError is an input fault that stops a whole file (as opposed to a row fault, which
// quarantines one row). It names the file, and the line and column when they are known. It
// never holds a value read from the file.
type FileError struct {
	Path   string
	Line   int
	Column string
	Reason string
}

func (e *FileError) Error() string {
	s := e.Path
	if e.Line > 0 {
		s += fmt.Sprintf(":%d", e.Line)
	}
	if e.Column != "" {
		s += " column " + e.Column
	}
	return s + ": " + e.Reason
}

// rowSource is one file format: a header, then rows of text fields.
type rowSource interface {
	header() []string
	// next returns the next row (its slices valid until the next call).
	next() (srcRow, error)
	// progress reports how far the reading is: bytes for text and worksheets, rows for
	// Parquet; total is -1 when unknown.
	progress() (done, total int64)
	// date turns a cell of a date column into YYYY-MM-DD where the format stores dates
	// otherwise (XLSX serial numbers); other text is returned unchanged.
	date(s string) string
	close() error
}

// srcRow is one row of a source file.
type srcRow struct {
	line int
	// fields are the row's values, at most as many as the header has columns (an XLSX row
	// is padded to the header's width).
	fields []string
	// n is the number of fields of the row: more than len(fields) when the row is wider
	// than its header (the surplus is counted, not kept).
	n int
	// last is 1 + the index of the last field with a value when the row is wider than its
	// header (trailing empty fields aside); otherwise n.
	last int
	// shown holds, for XLSX cells whose number format displays a number otherwise than its
	// value (000-00-0000 shows 123456789 as 123-45-6789), the displayed text; nil for rows
	// without such a cell.
	shown []string
	// noValue lists the columns (0-based) holding a formula with no stored result.
	noValue []int
}

// Open opens path and reads its header. With m == nil the file must be in the canonical long
// format, its kind told by the header (instrument → assessments, session_type → sessions,
// sex, age, diagnosis or prior_treatments without either → patients);
// otherwise m says what the columns are. The format is told by the extension: .csv, .txt and
// .tsv are delimited text (comma or semicolon), .xlsx is a workbook, .parquet is Parquet.
func Open(path string, m *Map) (Reader, error) {
	sheet := ""
	if m != nil {
		sheet = m.Sheet
	}
	src, err := openSource(path, sheet)
	if err != nil {
		return nil, err
	}
	var r Reader
	if m == nil {
		r, err = newCanonical(path, src)
	} else {
		r, err = newMapped(path, src, m)
	}
	if err != nil {
		src.close()
		return nil, err
	}
	return r, nil
}

func openSource(path, sheet string) (rowSource, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".csv", ".txt", ".tsv":
		if sheet != "" {
			return nil, &FileError{Path: path, Reason: "the map names a sheet but the file is not a workbook"}
		}
		return openCSV(path)
	case ".xlsx":
		return openXLSX(path, sheet)
	case ".parquet":
		if sheet != "" {
			return nil, &FileError{Path: path, Reason: "the map names a sheet but the file is not a workbook"}
		}
		return openParquet(path)
	default:
		return nil, &FileError{Path: path, Reason: fmt.Sprintf("unknown file type %q: expected .csv, .txt, .tsv, .xlsx or .parquet", ext)}
	}
}

// encodeRow encodes fields as one CSV line without its line end.
func encodeRow(fields []string) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write(fields)
	w.Flush()
	return strings.TrimRight(b.String(), "\r\n")
}

// rowGuard holds the checks every source row passes before it is used: valid UTF-8 and no
// value that looks like a direct identifier. It runs before any record of the row is made,
// so a file with an identifier is refused before any of its rows could be quarantined (and
// their raw text stored).
type rowGuard struct {
	path  string
	names []string   // source header, for naming columns
	class []colClass // per source column: how its values are checked (colSkip for dropped ones)
}

func (g *rowGuard) check(r srcRow) error {
	var phi []string
	for i, f := range r.fields {
		if !validUTF8(f) {
			return &FileError{Path: g.path, Line: r.line, Column: g.name(i), Reason: "invalid UTF-8; save the file as UTF-8"}
		}
		c := colData
		if i < len(g.class) {
			c = g.class[i]
		}
		what := identifierIn(f, c)
		if what == "" && i < len(r.shown) && r.shown[i] != "" {
			if what = identifierIn(r.shown[i], c); what != "" {
				what += " as the cell's number format displays it"
			}
		}
		if what != "" {
			phi = append(phi, g.name(i)+" ("+what+")")
		}
	}
	if len(phi) > 0 {
		return &FileError{Path: g.path, Line: r.line, Column: strings.Join(phi, ", "),
			Reason: "refused: values look like direct identifiers; inputs must be de-identified"}
	}
	return nil
}

func (g *rowGuard) name(i int) string {
	if i < len(g.names) && g.names[i] != "" {
		return g.names[i]
	}
	return fmt.Sprint(i + 1)
}

// checkHeader refuses a header holding a cell that is not valid UTF-8 or that looks like a
// direct identifier's value (a data row read as the header, e.g. from a file whose line ends
// were not recognised). Such a cell is named by its position only, never echoed; the other
// header errors, which name columns, come after this check.
func checkHeader(path string, hdr []string) error {
	for i, h := range hdr {
		if !validUTF8(h) {
			return &FileError{Path: path, Line: 1, Column: fmt.Sprint(i + 1), Reason: "invalid UTF-8 in the header; save the file as UTF-8"}
		}
		if what := identifierIn(h, colUndeclared); what != "" {
			return &FileError{Path: path, Line: 1, Column: fmt.Sprint(i + 1),
				Reason: "refused: a header cell looks like a direct identifier (" + what + "); inputs must be de-identified"}
		}
	}
	return nil
}
