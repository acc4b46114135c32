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
}

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
	s := &csvSource{path: path, dlm: sniffDelimiter(first)}
	s.r = newFastCSV(br, byte(s.dlm), 1, 0)
	_, hdr, err := s.r.read()
	if err == io.EOF {
		return nil, &FileError{Path: path, Reason: "empty file: no header"}
	}
	if err != nil {
		return nil, s.parseErr(err)
	}
	s.hdr = append([]string(nil), hdr...)
	return s, nil
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
func (s *csvSource) next() (int, []string, error) {
	line, fields, err := s.r.read()
	if err != nil {
		if err == io.EOF {
			return 0, nil, err
		}
		return 0, nil, s.parseErr(err)
	}
	return line, fields, nil
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
	return fmt.Errorf("read %s: %w", s.path, err)
}
