package source

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"reflect"
	"testing"
	"testing/iotest"
)

// stdRecords reads b with encoding/csv as csvSource configures it: every record with the line
// it starts on, the input offset after it, then the error that ended the reading.
func stdRecords(b []byte, dlm byte) (lines []int, recs [][]string, offs []int64, err error) {
	r := newStdCSV(bytes.NewReader(b), rune(dlm))
	for {
		f, e := r.Read()
		if e != nil {
			return lines, recs, offs, e
		}
		l, _ := r.FieldPos(0)
		lines, recs, offs = append(lines, l), append(recs, append([]string(nil), f...)), append(offs, r.InputOffset())
	}
}

func fastRecords(r io.Reader, dlm byte, size int) (lines []int, recs [][]string, offs []int64, err error) {
	f := newFastCSVSize(r, dlm, 1, 0, size)
	for {
		l, fs, e := f.read()
		if e != nil {
			return lines, recs, offs, e
		}
		lines, recs, offs = append(lines, l), append(recs, append([]string(nil), fs...)), append(offs, f.offset())
	}
}

// checkSame fails unless fastCSV reads b exactly as encoding/csv does: the same records, line
// numbers and input offsets, and the same error (io.EOF or a *csv.ParseError with the same
// lines, column and cause), whatever its buffer size and however the input arrives.
func checkSame(t *testing.T, b []byte, dlm byte) {
	t.Helper()
	wl, wr, wo, we := stdRecords(b, dlm)
	for _, size := range []int{1, 7, 64, 1 << 20} {
		for _, r := range []io.Reader{bytes.NewReader(b), iotest.OneByteReader(bytes.NewReader(b))} {
			gl, gr, gofs, ge := fastRecords(r, dlm, size)
			if !reflect.DeepEqual(gr, wr) || !reflect.DeepEqual(gl, wl) {
				t.Fatalf("input %q, buffer %d:\n got lines %v records %q\nwant lines %v records %q", b, size, gl, gr, wl, wr)
			}
			if !reflect.DeepEqual(gofs, wo) {
				t.Fatalf("input %q, buffer %d: offsets %v, want %v", b, size, gofs, wo)
			}
			var gpe, wpe *csv.ParseError
			switch {
			case errors.As(we, &wpe):
				if !errors.As(ge, &gpe) || gpe.StartLine != wpe.StartLine || gpe.Line != wpe.Line || gpe.Column != wpe.Column || gpe.Err != wpe.Err {
					t.Fatalf("input %q, buffer %d: error %v, want %v", b, size, ge, we)
				}
			case ge != we:
				t.Fatalf("input %q, buffer %d: error %v, want %v", b, size, ge, we)
			}
		}
	}
}

func TestFastCSVAgreesWithEncodingCSV(t *testing.T) {
	cases := []string{
		"",
		"a,b,c\n1,2,3\n",
		"a,b,c\r\n1,2,3\r\n",
		"a,b\n\n\n1,2\n\r\n3,4",                // blank lines are skipped but counted
		"a,b\n1,2",                             // no final line end
		"a,b\n1,2\r",                           // a lone CR before the end
		"a,b\n\"x\",\"y, z\"\n",                // simple quoted fields
		"a\n\"say \"\"hi\"\"\"\n",              // doubled quotes
		"a,b\n\"multi\nline\",2\n3,4\n",        // a quoted field over two lines
		"a,b\n\"multi\r\nline\",2\r\n3,4\r\n",  // the same with CRLF
		"a,b\n1,x\"y\n",                        // bare quote: encoding/csv's error
		"a,b\n\"x\"y,2\n",                      // text after a closing quote
		"a,b\n\"never closed,2\n3,4\n",         // a quote that never closes
		"a,b\n1,\"\"\n,\n",                     // empty quoted and empty plain fields
		"a,b\n1,2\r\r\n3,4\n",                  // a CR inside a line
		"a;b\n1;2\n",                           // another delimiter (read with ',' and with ';')
		"a,b\n\"\"\"\",\"a\"\"\"\n",            // quotes only
		"a,b\n1,2\n\"x\n\ny\",3\n4,5\n\n6,7\n", // blank line inside a quoted field
	}
	for _, c := range cases {
		for _, d := range []byte{',', ';', '\t'} {
			t.Run(fmt.Sprintf("%q/%q", c, d), func(t *testing.T) { checkSame(t, []byte(c), d) })
		}
	}
}

// FuzzFastCSV checks fastCSV against encoding/csv on any input (go test -fuzz FuzzFastCSV).
func FuzzFastCSV(f *testing.F) {
	f.Add([]byte("a,b\n1,\"2\"\r\n\"x\ny\",3\n"), byte(','))
	f.Add([]byte("a;b\n1;\"x\"\"y\";z\n"), byte(';'))
	f.Add([]byte("a\tb\n\n1\t2\r"), byte('\t'))
	f.Fuzz(func(t *testing.T, b []byte, d byte) {
		dlm := []byte{',', ';', '\t'}[int(d)%3]
		checkSame(t, b, dlm)
	})
}
