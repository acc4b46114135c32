package source

import (
	"bytes"
	"encoding/csv"
	"fmt"
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
	// n is the number of fields of the last record read; it exceeds len(fields) when the
	// record had more than maxFields fields (the surplus is counted, never kept). last is 1 +
	// the index of the last surplus field with a value (0 when none has one).
	n, last int
	// maxFields caps the fields kept per record (0: no cap); maxLine caps the bytes of one
	// line read by the fast path, maxSlow the bytes of one record read by encoding/csv (0: no
	// cap). A record over either cap stops the reading with a *tooLongError.
	maxFields        int
	maxLine, maxSlow int
	// slowIn counts what encoding/csv has been given of the input, and slowStart is where
	// its current record began, so that a record with no end (a quote that never closes)
	// is stopped at maxSlow bytes instead of being read into memory whole.
	slowIn    *countingReader
	slowStart int64
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
			if f.maxLine > 0 && f.end-f.pos > f.maxLine {
				return 0, nil, &tooLongError{Line: f.line, Limit: f.maxLine, What: "line"}
			}
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
		if f.maxLine > 0 && lineEnd-f.pos > f.maxLine {
			return 0, nil, &tooLongError{Line: f.line, Limit: f.maxLine, What: "line"}
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
	f.fields, f.n, f.last = f.fields[:0], 0, 0
	for {
		if f.maxFields > 0 && f.n == f.maxFields {
			// the rest is counted, not kept
			f.n += 1 + strings.Count(s, string(f.dlm))
			if t := strings.TrimRight(s, string(f.dlm)); t != "" {
				f.last = f.maxFields + 1 + strings.Count(t, string(f.dlm))
			}
			return
		}
		i := strings.IndexByte(s, f.dlm)
		if i < 0 {
			f.fields = append(f.fields, s)
			f.n++
			return
		}
		f.fields = append(f.fields, s[:i])
		f.n++
		s = s[i+1:]
	}
}

// keep counts the next field of the record and reports whether it is kept (the cap is not
// reached).
func (f *fastCSV) keep(field []byte) bool {
	f.n++
	if f.maxFields == 0 || f.n <= f.maxFields {
		return true
	}
	if len(field) > 0 {
		f.last = f.n
	}
	return false
}

// valuesTo is 1 + the index of the last field of the record read that has a value when the
// record is wider than maxFields, and the number of fields otherwise.
func (f *fastCSV) valuesTo() int {
	if f.maxFields == 0 || f.n <= f.maxFields {
		return f.n
	}
	return max(f.last, f.maxFields)
}

// splitQuoted splits a line holding quotes, or reports false when a field's quoting is not
// the simple, complete kind (then encoding/csv reads the line).
func (f *fastCSV) splitQuoted(b []byte) bool {
	f.fields, f.n, f.last = f.fields[:0], 0, 0
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
			if f.keep(out) {
				f.fields = append(f.fields, string(out))
			}
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
		if f.keep(field) {
			f.fields = append(f.fields, string(field))
		}
		if i < 0 {
			return true
		}
		b = b[i+1:]
	}
}

// toSlow hands the input from the current line on to encoding/csv for good.
func (f *fastCSV) toSlow() (int, []string, error) {
	rest := io.MultiReader(bytes.NewReader(append([]byte(nil), f.buf[f.pos:f.end]...)), f.r)
	f.slowIn = &countingReader{r: rest, f: f}
	f.slow = newStdCSV(f.slowIn, rune(f.dlm))
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
		if tl, ok := err.(*tooLongError); ok {
			tl.Line = f.line // the line after the last record read
		}
		return 0, nil, err
	}
	line, _ := f.slow.FieldPos(0)
	f.slowStart = f.slow.InputOffset()
	if last, _ := f.slow.FieldPos(len(fields) - 1); last > 0 {
		f.line = last + f.slowLine + 1
	}
	f.n, f.last = len(fields), 0
	if f.maxFields > 0 && len(fields) > f.maxFields {
		for i := len(fields) - 1; i >= f.maxFields; i-- {
			if fields[i] != "" {
				f.last = i + 1
				break
			}
		}
		fields = fields[:f.maxFields]
	}
	return line + f.slowLine, fields, nil
}

// countingReader passes the input on to encoding/csv, counting it, and fails once the
// record being read runs past the fast reader's maxSlow bytes. encoding/csv reads ahead
// through a 4 KiB buffer, hence the margin.
type countingReader struct {
	r io.Reader
	n int64
	f *fastCSV
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.f.maxSlow > 0 && c.n-c.f.slowStart > int64(c.f.maxSlow)+8<<10 {
		return 0, &tooLongError{Limit: c.f.maxSlow, What: "record"}
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// tooLongError stops a reading at a line or record longer than a cap.
type tooLongError struct {
	Line  int // where the line or record starts
	Limit int
	What  string // "line" or "record"
}

func (e *tooLongError) Error() string {
	return fmt.Sprintf("a %s longer than %d bytes", e.What, e.Limit)
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
