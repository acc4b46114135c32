package source

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

// readCSV reads canonical delimited text from b: the header, the fields of the records
// without a problem, and the delimiter the header showed. A record with a problem (a row with
// the wrong number of fields) is left out after checking that it keeps no field past the
// header's width.
func readCSV(b []byte) ([]string, [][]string, rune, error) {
	src, err := newCSV("fuzz.csv", bytes.NewReader(b))
	if err != nil {
		return nil, nil, 0, err
	}
	r, err := newCanonical("fuzz.csv", src)
	if err != nil {
		return nil, nil, 0, err
	}
	var recs [][]string
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return r.Header(), recs, src.dlm, nil
		}
		if err != nil {
			return nil, nil, 0, err
		}
		if rec.Problem != nil {
			if rec.Fields != nil || len(rec.Source) > len(r.Header()) || rec.Problem.Reason != ReasonMalformed {
				return nil, nil, 0, fmt.Errorf("line %d: %+v, fields %q, source %q", rec.Line, *rec.Problem, rec.Fields, rec.Source)
			}
			continue
		}
		recs = append(recs, append([]string(nil), rec.Fields...))
	}
}

// writeCSV encodes records with delimiter d, quoting every field that holds a delimiter of any
// kind (so that the header sniffs the same), a quote or a line break, and a lone empty field
// (which would otherwise be a blank line).
func writeCSV(header []string, recs [][]string, d rune) []byte {
	var b bytes.Buffer
	write := func(fields []string) {
		for i, f := range fields {
			if i > 0 {
				b.WriteRune(d)
			}
			if strings.ContainsAny(f, ",;\t\"\r\n") || (f == "" && len(fields) == 1) {
				b.WriteString(`"` + strings.ReplaceAll(f, `"`, `""`) + `"`)
			} else {
				b.WriteString(f)
			}
		}
		b.WriteByte('\n')
	}
	write(header)
	for _, r := range recs {
		write(r)
	}
	return b.Bytes()
}

// FuzzCSV checks that the canonical CSV reader never panics, and that a file it reads without
// error, written back out and read again, gives the same header and records.
func FuzzCSV(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		header, recs, d, err := readCSV(in)
		if err != nil {
			return
		}
		out := writeCSV(header, recs, d)
		header2, recs2, _, err := readCSV(out)
		if err != nil {
			t.Fatalf("second read of %q: %v", out, err)
		}
		if !reflect.DeepEqual(header, header2) || !reflect.DeepEqual(recs, recs2) {
			t.Fatalf("round trip differs:\nfirst  %q %q\nsecond %q %q", header, recs, header2, recs2)
		}
	})
}

// FuzzMap checks that LoadMap never panics on any TOML, and that a map it accepts can read a
// file holding the columns it declares.
func FuzzMap(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := parseMap("fuzz.toml", string(in))
		if err != nil {
			return
		}
		m.Sheet = ""
		var cols []string
		for _, c := range m.Columns {
			cols = append(cols, c)
		}
		for _, im := range m.Instruments {
			for _, c := range append(im.Items, im.Total) {
				if c != "" {
					cols = append(cols, c)
				}
			}
		}
		cols = append(cols, m.Drop...)
		var b bytes.Buffer
		b.WriteString(encodeRow(cols) + "\n")
		vals := make([]string, len(cols))
		for i := range vals {
			vals[i] = []string{"1", "", "-9", "2.0", "x"}[i%5]
		}
		b.WriteString(encodeRow(vals) + "\n")
		src, err := newCSV("fuzz.csv", &b)
		if err != nil {
			return
		}
		r, err := newMapped("fuzz.csv", src, m)
		if err != nil {
			return
		}
		for {
			rec, err := r.Next()
			if err != nil {
				break
			}
			if len(rec.Fields) != len(r.Header()) {
				t.Fatalf("record of %d fields under a header of %d", len(rec.Fields), len(r.Header()))
			}
		}
	})
}
