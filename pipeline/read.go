package pipeline

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Kind is what a file holds, told by its header.
type Kind string

const (
	KindAssessments Kind = "assessments"
	KindSessions    Kind = "sessions"
)

// FileError is an input fault that stops a whole file (as opposed to a row finding, which
// quarantines one row). It names the file, and the line and column when they are known.
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
		s += fmt.Sprintf(" column %s", e.Column)
	}
	return s + ": " + e.Reason
}

// Record is one data row of a file: its fields, the 1-based line it starts on, and the
// canonical header they sit under.
type Record struct {
	Line   int
	Fields []string
}

// canonicalReader reads a delimited text file in the canonical long format. It accepts a
// UTF-8 byte-order mark, CRLF line ends, quoted fields, and comma or semicolon delimiters
// (told from the header line).
type canonicalReader struct {
	path   string
	f      *os.File
	r      *csv.Reader
	header []string
	kind   Kind
	cols   map[string]int
}

// openCanonical opens path and reads its header.
func openCanonical(path string) (*canonicalReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(f, 1<<20)
	if b, _ := br.Peek(3); bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	comma := ','
	if line, _ := br.Peek(4096); len(line) > 0 {
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i]
		}
		if bytes.Count(line, []byte{';'}) > bytes.Count(line, []byte{','}) {
			comma = ';'
		}
	}
	r := csv.NewReader(br)
	r.Comma = comma
	r.FieldsPerRecord = -1 // ragged rows become findings, not a fatal error
	r.ReuseRecord = true
	cr := &canonicalReader{path: path, f: f, r: r}
	header, err := r.Read()
	if err == io.EOF {
		f.Close()
		return nil, &FileError{Path: path, Reason: "empty file: no header"}
	}
	if err != nil {
		f.Close()
		return nil, parseErr(path, err)
	}
	cr.header = make([]string, len(header))
	cr.cols = make(map[string]int, len(header))
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		cr.header[i] = h
		if _, dup := cr.cols[h]; dup && h != "" {
			f.Close()
			return nil, &FileError{Path: path, Line: 1, Column: h, Reason: "column named twice in the header"}
		}
		cr.cols[h] = i
	}
	if err := cr.checkHeader(); err != nil {
		f.Close()
		return nil, err
	}
	return cr, nil
}

// phiColumns are header names that identify a person directly (SPEC 3.3).
var phiColumns = []string{"name", "first_name", "firstname", "last_name", "lastname", "surname", "full_name",
	"dob", "birth_date", "birthdate", "date_of_birth", "ssn", "social_security", "mrn", "medical_record_number",
	"email", "e_mail", "phone", "telephone", "mobile", "address", "street", "zip", "zipcode", "zip_code", "postcode"}

func isPHIColumn(h string) bool {
	n := strings.NewReplacer("-", "_", " ", "_").Replace(h)
	for _, p := range phiColumns {
		if n == p || strings.HasPrefix(n, p+"_") || strings.HasSuffix(n, "_"+p) {
			return true
		}
	}
	return false
}

func (cr *canonicalReader) checkHeader() error {
	var phi []string
	for _, h := range cr.header {
		if isPHIColumn(h) {
			phi = append(phi, h)
		}
	}
	if len(phi) > 0 {
		return &FileError{Path: cr.path, Line: 1, Reason: fmt.Sprintf(
			"refused: the header names direct identifiers (%s); inputs must be de-identified", strings.Join(phi, ", "))}
	}
	_, hasInstrument := cr.cols["instrument"]
	_, hasType := cr.cols["session_type"]
	switch {
	case hasInstrument && hasType:
		return &FileError{Path: cr.path, Line: 1, Reason: "header has both instrument and session_type; cannot tell assessments from sessions"}
	case hasInstrument:
		cr.kind = KindAssessments
	case hasType:
		cr.kind = KindSessions
	default:
		return &FileError{Path: cr.path, Line: 1, Reason: "header has neither instrument (assessments) nor session_type (sessions); other layouts need --map"}
	}
	allowed := map[string]bool{"patient_id": true, "clinic_id": true, "date": true, "day": true}
	if cr.kind == KindAssessments {
		allowed["instrument"], allowed["total"] = true, true
		for i := 1; i <= 20; i++ {
			allowed[fmt.Sprintf("item_%d", i)] = true
		}
	} else {
		for _, c := range []string{"session_type", "route", "dose_mg", "program", "setting"} {
			allowed[c] = true
		}
	}
	for i, h := range cr.header {
		if !allowed[h] {
			return &FileError{Path: cr.path, Line: 1, Column: fmt.Sprintf("%d (%q)", i+1, h),
				Reason: "unknown column in the canonical " + string(cr.kind) + " format; other layouts need --map"}
		}
	}
	if _, ok := cr.cols["patient_id"]; !ok {
		return &FileError{Path: cr.path, Line: 1, Reason: "header has no patient_id column"}
	}
	_, d := cr.cols["date"]
	_, dy := cr.cols["day"]
	if !d && !dy {
		return &FileError{Path: cr.path, Line: 1, Reason: "header has neither a date nor a day column"}
	}
	return nil
}

// next returns the next record; io.EOF at the end. A CSV syntax error (an unbalanced quote)
// is fatal for the file: past it the reader cannot tell where rows begin.
func (cr *canonicalReader) next() (Record, error) {
	fields, err := cr.r.Read()
	if err != nil {
		if err == io.EOF {
			return Record{}, err
		}
		return Record{}, parseErr(cr.path, err)
	}
	line, _ := cr.r.FieldPos(0)
	return Record{Line: line, Fields: fields}, nil
}

func (cr *canonicalReader) close() error { return cr.f.Close() }

func parseErr(path string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &FileError{Path: path, Line: pe.Line, Column: fmt.Sprint(pe.Column), Reason: pe.Err.Error()}
	}
	return fmt.Errorf("read %s: %w", path, err)
}

// rawRow re-encodes fields as one CSV line, for the quarantine table.
func rawRow(fields []string) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write(fields)
	w.Flush()
	return strings.TrimRight(b.String(), "\r\n")
}
