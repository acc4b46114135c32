package source

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
)

// csvSource reads delimited text: a UTF-8 byte-order mark is skipped, CRLF and LF line ends and
// quoted fields are accepted, and the delimiter (comma, semicolon or tab) is told from the
// header line.
type csvSource struct {
	path string
	size int64
	f    io.Closer
	r    *fastCSV
	hdr  []string
	dlm  rune
	// crOnly is set when lines end in a carriage return alone (classic Mac OS): the input
	// is read through crReader, which turns those into line feeds.
	crOnly bool
}

// Limits on delimited text, so that one hostile line cannot take the memory: a line read
// by the fast path, a record with quoted line breaks or irregular quoting (read by
// encoding/csv, which holds a record and its field offsets whole), and the header's columns.
const (
	maxLineBytes  = 16 << 20
	maxSlowRecord = 1 << 20
	maxColumns    = 16384 // as many as a worksheet can have
)

func openCSV(path string) (*csvSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	s, err := newCSV(path, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	s.f = f
	if st, err := f.Stat(); err == nil {
		s.size = st.Size()
	}
	return s, nil
}

// newCSV reads the header of delimited text from r; path names it in errors.
func newCSV(path string, r io.Reader) (*csvSource, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	if b, _ := br.Peek(3); bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	first, _ := br.Peek(64 << 10)
	s := &csvSource{path: path, dlm: sniffDelimiter(first), crOnly: crLineEnds(first)}
	var in io.Reader = br
	if s.crOnly {
		in = &crReader{r: br}
	}
	s.r = newFastCSV(in, byte(s.dlm), 1, 0)
	s.r.maxFields, s.r.maxLine, s.r.maxSlow = maxColumns, maxLineBytes, maxSlowRecord
	_, hdr, err := s.r.read()
	if err == io.EOF {
		return nil, &FileError{Path: path, Reason: "empty file: no header"}
	}
	if err != nil {
		return nil, s.parseErr(err)
	}
	if s.r.n > maxColumns {
		return nil, &FileError{Path: path, Line: 1, Reason: fmt.Sprintf("the header has %d columns, more than %d", s.r.n, maxColumns)}
	}
	s.hdr = append([]string(nil), hdr...)
	// From here on a row keeps at most the header's width of fields: the surplus of a wider
	// row is counted, never held (a row of a million fields costs its line, not a million
	// strings per row of a batch).
	s.r.maxFields = max(len(s.hdr), 1)
	return s, nil
}

// crLineEnds reports whether the first line of b (outside quotes) ends in a carriage return
// not followed by a line feed: a file saved with classic Mac OS line ends, which would
// otherwise read as one line.
func crLineEnds(b []byte) bool {
	quoted := false
	for i, c := range b {
		switch {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '\n':
			return false
		case c == '\r':
			return i+1 < len(b) && b[i+1] != '\n'
		}
	}
	return false
}

// crReader turns each carriage return not followed by a line feed into a line feed, and
// passes CRLF on as it is.
type crReader struct {
	r       io.Reader
	pending bool // the last byte passed on was a CR turned into LF
}

func (c *crReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	out := 0
	for i := 0; i < n; i++ {
		b := p[i]
		if b == '\n' && c.pending {
			c.pending = false
			continue // the LF of a CRLF whose CR was already passed on as LF
		}
		c.pending = b == '\r'
		if b == '\r' {
			b = '\n'
		}
		p[out] = b
		out++
	}
	if out == 0 && n > 0 && err == nil {
		return c.Read(p)
	}
	return out, err
}

// sniffDelimiter returns the delimiter that occurs most often outside quotes on the first line
// (comma on a tie).
func sniffDelimiter(b []byte) rune {
	var comma, semi, tab int
	quoted := false
loop:
	for _, c := range b {
		switch {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '\n' || c == '\r':
			break loop
		case c == ',':
			comma++
		case c == ';':
			semi++
		case c == '\t':
			tab++
		}
	}
	switch {
	case semi > comma && semi >= tab:
		return ';'
	case tab > comma && tab > semi:
		return '\t'
	}
	return ','
}

func (s *csvSource) header() []string { return s.hdr }

// next returns the next row. A syntax error (an unbalanced quote) is fatal for the file: past
// it the reader cannot tell where rows begin.
func (s *csvSource) next() (srcRow, error) {
	line, fields, err := s.r.read()
	if err != nil {
		if err == io.EOF {
			return srcRow{}, err
		}
		return srcRow{}, s.parseErr(err)
	}
	return srcRow{line: line, fields: fields, n: s.r.n, last: s.r.valuesTo()}, nil
}

func (s *csvSource) date(v string) string { return v }

func (s *csvSource) progress() (int64, int64) {
	if s.size == 0 {
		return s.r.offset(), -1
	}
	return s.r.offset(), s.size
}

func (s *csvSource) close() error {
	if s.f == nil {
		return nil
	}
	return s.f.Close()
}

func (s *csvSource) parseErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &FileError{Path: s.path, Line: pe.Line, Column: fmt.Sprint(pe.Column), Reason: pe.Err.Error()}
	}
	var tl *tooLongError
	if errors.As(err, &tl) {
		reason := fmt.Sprintf("refused: a line longer than %d MiB", tl.Limit>>20)
		if tl.What == "record" {
			reason = fmt.Sprintf("refused: a record longer than %d MiB from about this line on (a quoted field that never closes?)", tl.Limit>>20)
		}
		return &FileError{Path: s.path, Line: tl.Line, Reason: reason}
	}
	return fmt.Errorf("read %s: %w", s.path, err)
}
