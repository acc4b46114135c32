package source

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// parquetBatch is the number of rows decoded at a time: memory stays flat however large the
// file is.
const parquetBatch = 64 << 10

// parquetSource streams a Parquet file batch by batch and turns each value into canonical
// text: integers and integral floats as integers, dates and timestamps as YYYY-MM-DD (UTC),
// null as "".
type parquetSource struct {
	path  string
	pf    *file.Reader
	rr    pqarrow.RecordReader
	hdr   []string
	batch arrow.RecordBatch
	conv  []func(i int) string
	i, n  int
	line  int
	buf   []string
}

func openParquet(path string) (_ *parquetSource, err error) {
	defer func() { // a damaged footer can make the decoder panic rather than return an error
		if p := recover(); p != nil {
			err = &FileError{Path: path, Reason: fmt.Sprintf("not a readable Parquet file (truncated or corrupt): %v", p)}
		}
	}()
	mem := memory.NewGoAllocator()
	pf, err := file.OpenParquetFile(path, false, file.WithReadProps(parquet.NewReaderProperties(mem)))
	if err != nil {
		return nil, &FileError{Path: path, Reason: "not a readable Parquet file (truncated or corrupt): " + err.Error()}
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: parquetBatch}, mem)
	if err != nil {
		pf.Close()
		return nil, &FileError{Path: path, Reason: "unreadable Parquet schema: " + err.Error()}
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		pf.Close()
		return nil, &FileError{Path: path, Reason: "unreadable Parquet file: " + err.Error()}
	}
	s := &parquetSource{path: path, pf: pf, rr: rr, line: 1}
	for _, f := range rr.Schema().Fields() {
		s.hdr = append(s.hdr, f.Name)
	}
	s.buf = make([]string, len(s.hdr))
	return s, nil
}

func (s *parquetSource) header() []string { return s.hdr }

func (s *parquetSource) next() (srcRow, error) {
	for s.i >= s.n {
		ok, err := s.nextBatch()
		if err != nil {
			return srcRow{}, &FileError{Path: s.path, Line: s.line + 1, Reason: "corrupt Parquet data: " + err.Error()}
		}
		if !ok {
			return srcRow{}, io.EOF
		}
		s.batch = s.rr.RecordBatch()
		s.i, s.n = 0, int(s.batch.NumRows())
		s.conv = s.conv[:0]
		for c := 0; c < int(s.batch.NumCols()); c++ {
			s.conv = append(s.conv, textOf(s.batch.Column(c)))
		}
	}
	for c, f := range s.conv {
		s.buf[c] = f(s.i)
	}
	s.i++
	s.line++
	return srcRow{line: s.line, fields: s.buf, n: len(s.buf), last: len(s.buf)}, nil
}

// nextBatch decodes the next batch. Damaged pages can make the decoder panic rather than
// return an error; either way the file is at fault.
func (s *parquetSource) nextBatch() (ok bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			ok, err = false, fmt.Errorf("%v", p)
		}
	}()
	if s.rr.Next() {
		return true, nil
	}
	if err := s.rr.Err(); err != nil && err != io.EOF {
		return false, err
	}
	return false, nil
}

func (s *parquetSource) date(v string) string { return v }

func (s *parquetSource) progress() (int64, int64) { return int64(s.line), s.pf.NumRows() }

func (s *parquetSource) close() error {
	s.rr.Release()
	return s.pf.Close()
}

// textOf returns a function giving the canonical text of row i of arr.
func textOf(arr arrow.Array) func(int) string {
	null := func(f func(int) string) func(int) string {
		return func(i int) string {
			if arr.IsNull(i) {
				return ""
			}
			return f(i)
		}
	}
	switch a := arr.(type) {
	case *array.String:
		return null(func(i int) string { return strings.Clone(a.Value(i)) })
	case *array.LargeString:
		return null(func(i int) string { return strings.Clone(a.Value(i)) })
	case *array.Binary:
		return null(func(i int) string { return string(a.Value(i)) })
	case *array.Int8:
		return null(func(i int) string { return strconv.FormatInt(int64(a.Value(i)), 10) })
	case *array.Int16:
		return null(func(i int) string { return strconv.FormatInt(int64(a.Value(i)), 10) })
	case *array.Int32:
		return null(func(i int) string { return strconv.FormatInt(int64(a.Value(i)), 10) })
	case *array.Int64:
		return null(func(i int) string { return strconv.FormatInt(a.Value(i), 10) })
	case *array.Uint8:
		return null(func(i int) string { return strconv.FormatUint(uint64(a.Value(i)), 10) })
	case *array.Uint16:
		return null(func(i int) string { return strconv.FormatUint(uint64(a.Value(i)), 10) })
	case *array.Uint32:
		return null(func(i int) string { return strconv.FormatUint(uint64(a.Value(i)), 10) })
	case *array.Uint64:
		return null(func(i int) string { return strconv.FormatUint(a.Value(i), 10) })
	case *array.Float32:
		return null(func(i int) string { return floatText(float64(a.Value(i)), 32) })
	case *array.Float64:
		return null(func(i int) string { return floatText(a.Value(i), 64) })
	case *array.Boolean:
		return null(func(i int) string { return strconv.FormatBool(a.Value(i)) })
	case *array.Date32:
		return null(func(i int) string { return a.Value(i).ToTime().Format("2006-01-02") })
	case *array.Date64:
		return null(func(i int) string { return a.Value(i).ToTime().Format("2006-01-02") })
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return null(func(i int) string { return a.Value(i).ToTime(unit).UTC().Format("2006-01-02") })
	case *array.Dictionary:
		dict := textOf(a.Dictionary())
		return null(func(i int) string { return dict(a.GetValueIndex(i)) })
	}
	return null(func(i int) string { return strings.Clone(arr.ValueStr(i)) })
}

// floatText writes an integral float as an integer ("1", not "1.0") and any other as the
// shortest text that reads back to it; NaN is missing.
func floatText(v float64, bits int) string {
	switch {
	case math.IsNaN(v):
		return ""
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', -1, bits)
}
