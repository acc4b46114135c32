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
	// or "" when missing, dates as YYYY-MM-DD or day offsets as integers. A canonical CSV row
	// with the wrong number of fields is passed on as read, for the validator to quarantine.
	Fields []string
	// Source is the source row as read. Every record unpivoted from one wide row shares it.
	Source []string
	// Columns names, for a mapped file, the source column each field came from ("" for a
	// constant), so that a finding can point at the column the user's file has. Nil for files
	// in the canonical format.
	Columns []string
}

// Raw returns the source row CSV-encoded, for the quarantine table. It is computed on demand
// so that accepted rows cost nothing.
func (r Record) Raw() string { return encodeRow(r.Source) }

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
	// next returns the next row's 1-based line and fields (valid until the next call).
	next() (int, []string, error)
	// progress reports how far the reading is: bytes for text, rows for Parquet; total is
	// -1 when unknown (XLSX).
	progress() (done, total int64)
	// date turns a cell of a date column into YYYY-MM-DD where the format stores dates
	// otherwise (XLSX serial numbers); other text is returned unchanged.
	date(s string) string
	close() error
}

// Open opens path and reads its header. With m == nil the file must be in the canonical long
// format, its kind told by the header (instrument → assessments, session_type → sessions);
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
// value that looks like a direct identifier.
type rowGuard struct {
	path    string
	names   []string // source header, for naming columns
	checked []bool   // per source column: run the identifier check (false for dropped columns)
}

func (g *rowGuard) check(line int, fields []string) error {
	var phi []string
	for i, f := range fields {
		if !validUTF8(f) {
			return &FileError{Path: g.path, Line: line, Column: g.name(i), Reason: "invalid UTF-8; save the file as UTF-8"}
		}
		if i < len(g.checked) && !g.checked[i] {
			continue
		}
		if what := identifierKind(f); what != "" {
			phi = append(phi, g.name(i)+" ("+what+")")
		}
	}
	if len(phi) > 0 {
		return &FileError{Path: g.path, Line: line, Column: strings.Join(phi, ", "),
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
