package source

import (
	"bytes"
	"encoding/csv"
	"io"
	"strings"
)

// fastCSV reads delimited text a line at a time for the common case: records on one line,
// fields unquoted or simply quoted ("a", "say ""hi"""), LF or CRLF line ends. It gives the same
// records and line numbers as encoding/csv (configured as csvSource does); the first line it
// cannot read that way with certainty (a quote that opens a multi-line field, a stray quote,
// a lone carriage return) hands the rest of the input, from that line on, to encoding/csv,
// which then reads to the end and reports any syntax error itself. FuzzFastCSV checks the
// agreement.
//
// It exists for speed: encoding/csv examines every byte in Go, while this reader finds line
// ends and delimiters with bytes.IndexByte and makes one string per line, the fields being
// substrings of it.
type fastCSV struct {
	r      io.Reader
	dlm    byte
	buf    []byte
	pos    int   // next unread byte in buf
	end    int   // bytes of buf holding data
	base   int64 // input offset of buf[0]
	eof    bool
	line   int // line number of buf[pos]
	fields []string
	// slow is encoding/csv on the input from the first line fastCSV could not read; its line
	// numbers are offset by slowLine, its input offsets by slowBase.
	slow     *csv.Reader
	slowLine int
	slowBase int64
}

func newFastCSV(r io.Reader, dlm byte, line int, offset int64) *fastCSV {
	return newFastCSVSize(r, dlm, line, offset, 1<<20)
}

// newFastCSVSize starts with a buffer of size bytes (tests use tiny ones).
func newFastCSVSize(r io.Reader, dlm byte, line int, offset int64, size int) *fastCSV {
	return &fastCSV{r: r, dlm: dlm, buf: make([]byte, max(size, 1)), line: line, base: offset}
}

// fill reads more input, keeping buf[pos:end]; it grows buf when a line fills it.
func (f *fastCSV) fill() error {
	if f.pos > 0 {
		n := copy(f.buf, f.buf[f.pos:f.end])
		f.base += int64(f.pos)
		f.pos, f.end = 0, n
	}
	if f.end == len(f.buf) {
		f.buf = append(f.buf, make([]byte, len(f.buf))...)
	}
	n, err := f.r.Read(f.buf[f.end:])
	f.end += n
	if err == io.EOF {
		f.eof = true
		return nil
	}
	return err
}

// read returns the next record and the line it starts on, io.EOF at the end, or a
// *csv.ParseError.
func (f *fastCSV) read() (int, []string, error) {
	if f.slow != nil {
		return f.readSlow()
	}
	for {
		nl := bytes.IndexByte(f.buf[f.pos:f.end], '\n')
		if nl < 0 && !f.eof {
			if err := f.fill(); err != nil {
				return 0, nil, err
			}
			continue
		}
		if nl < 0 && f.pos == f.end {
			return 0, nil, io.EOF
		}
		next := f.end // end of this line, past its '\n'
		lineEnd := f.end
		if nl >= 0 {
			lineEnd = f.pos + nl
			next = lineEnd + 1
		}
		b := f.buf[f.pos:lineEnd]
		if len(b) > 0 && b[len(b)-1] == '\r' {
			if nl < 0 {
				return f.toSlow() // a last line ending in a lone CR: leave it to encoding/csv
			}
			b = b[:len(b)-1]
		}
		if len(b) == 0 {
			if nl < 0 {
				return 0, nil, io.EOF
			}
			f.pos = next
			f.line++
			continue // encoding/csv skips empty lines
		}
		if bytes.IndexByte(b, '\r') >= 0 {
			return f.toSlow()
		}
		var ok bool
		if bytes.IndexByte(b, '"') < 0 {
			f.splitPlain(string(b))
			ok = true
		} else {
			ok = f.splitQuoted(b)
		}
		if !ok {
			return f.toSlow()
		}
		line := f.line
		f.pos = next
		f.line++
		return line, f.fields, nil
	}
}

func (f *fastCSV) splitPlain(s string) {
	f.fields = f.fields[:0]
	for {
		i := strings.IndexByte(s, f.dlm)
		if i < 0 {
			f.fields = append(f.fields, s)
			return
		}
		f.fields = append(f.fields, s[:i])
		s = s[i+1:]
	}
}

// splitQuoted splits a line holding quotes, or reports false when a field's quoting is not
// the simple, complete kind (then encoding/csv reads the line).
func (f *fastCSV) splitQuoted(b []byte) bool {
	f.fields = f.fields[:0]
	var out []byte
	for {
		if len(b) > 0 && b[0] == '"' {
			// quoted field: runs to a quote followed by the delimiter or the line end; ""
			// inside stands for one quote.
			out = out[:0]
			i := 1
			for {
				j := bytes.IndexByte(b[i:], '"')
				if j < 0 {
					return false // the field goes on past this line, or never closes
				}
				out = append(out, b[i:i+j]...)
				i += j + 1
				if i < len(b) && b[i] == '"' {
					out = append(out, '"')
					i++
					continue
				}
				break
			}
			f.fields = append(f.fields, string(out))
			if i == len(b) {
				return true
			}
			if b[i] != f.dlm {
				return false // text after the closing quote
			}
			b = b[i+1:]
			continue
		}
		i := bytes.IndexByte(b, f.dlm)
		field := b
		if i >= 0 {
			field = b[:i]
		}
		if bytes.IndexByte(field, '"') >= 0 {
			return false // a quote inside an unquoted field
		}
		f.fields = append(f.fields, string(field))
		if i < 0 {
			return true
		}
		b = b[i+1:]
	}
}

// toSlow hands the input from the current line on to encoding/csv for good.
func (f *fastCSV) toSlow() (int, []string, error) {
	rest := io.MultiReader(bytes.NewReader(append([]byte(nil), f.buf[f.pos:f.end]...)), f.r)
	f.slow = newStdCSV(rest, rune(f.dlm))
	f.slowLine = f.line - 1
	f.slowBase = f.base + int64(f.pos)
	f.buf = nil
	return f.readSlow()
}

func (f *fastCSV) readSlow() (int, []string, error) {
	fields, err := f.slow.Read()
	if err != nil {
		if pe, ok := err.(*csv.ParseError); ok {
			pe.StartLine += f.slowLine
			pe.Line += f.slowLine
		}
		return 0, nil, err
	}
	line, _ := f.slow.FieldPos(0)
	return line + f.slowLine, fields, nil
}

// offset is the number of input bytes read so far.
func (f *fastCSV) offset() int64 {
	if f.slow != nil {
		return f.slowBase + f.slow.InputOffset()
	}
	return f.base + int64(f.pos)
}

func newStdCSV(r io.Reader, dlm rune) *csv.Reader {
	cr := csv.NewReader(r)
	cr.Comma = dlm
	cr.FieldsPerRecord = -1 // a ragged row is a row finding, not a fatal error
	cr.ReuseRecord = true
	return cr
}
