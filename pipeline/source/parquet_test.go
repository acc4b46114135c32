package source

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// writeParquet writes n rows of an assessments table; row i is made by fill.
func writeParquet(t testing.TB, n int, rowGroup int64) string {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "patient_id", Type: arrow.BinaryTypes.String},
		{Name: "instrument", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}},
		{Name: "date", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "item_1", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "total", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	day0 := arrow.Date32FromTime(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC))
	for i := 0; i < n; i++ {
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("p%d", i+1))
		b.Field(1).(*array.BinaryDictionaryBuilder).AppendString([]string{"PHQ9", "GAD7"}[i%2])
		b.Field(2).(*array.Date32Builder).Append(day0 + arrow.Date32(i%3))
		switch i % 3 {
		case 0:
			b.Field(3).(*array.Int32Builder).Append(int32(i % 4))
			b.Field(4).(*array.Float64Builder).Append(7)
		case 1:
			b.Field(3).(*array.Int32Builder).AppendNull()
			b.Field(4).(*array.Float64Builder).Append(1.5)
		default:
			b.Field(3).(*array.Int32Builder).Append(2)
			b.Field(4).(*array.Float64Builder).AppendNull()
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	p := filepath.Join(t.TempDir(), "a.parquet")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithMaxRowGroupLength(rowGroup))
	w, err := pqarrow.NewFileWriter(schema, f, props, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteBuffered(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil { // closes f too
		t.Fatal(err)
	}
	return p
}

func TestParquet(t *testing.T) {
	p := writeParquet(t, 4, 1<<20)
	r, rows, err := readAll(t, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind() != KindAssessments || strings.Join(r.Header(), "|") != "patient_id|instrument|date|item_1|total" {
		t.Errorf("kind %q header %q", r.Kind(), r.Header())
	}
	equalRows(t, rows, []row{
		{2, "p1|PHQ9|2025-03-01|0|7"}, // total 7.0 is written as an integer
		{3, "p2|GAD7|2025-03-02||1.5"},
		{4, "p3|PHQ9|2025-03-03|2|"},
		{5, "p4|GAD7|2025-03-01|3|7"},
	})
}

// TestParquetBatches reads a file of several row groups and batches: every row once, in order.
func TestParquetBatches(t *testing.T) {
	const n = parquetBatch + 1234
	p := writeParquet(t, n, 50000)
	_, rows, err := readAll(t, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != n {
		t.Fatalf("%d records, want %d", len(rows), n)
	}
	for i, rw := range rows {
		if rw.Line != i+2 || !strings.HasPrefix(rw.Fields, fmt.Sprintf("p%d|", i+1)) {
			t.Fatalf("record %d: line %d fields %q", i, rw.Line, rw.Fields)
		}
	}
}

func TestParquetTruncated(t *testing.T) {
	p := writeParquet(t, 100, 1<<20)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int{len(b) - 1, len(b) / 2, 10, 0} {
		q := filepath.Join(t.TempDir(), "cut.parquet")
		os.WriteFile(q, b[:cut], 0o644)
		_, _, err := readAll(t, q, nil)
		fe := fileError(t, err)
		if fe.Path != q || !strings.Contains(fe.Reason, "Parquet") {
			t.Errorf("cut at %d: %v", cut, err)
		}
	}
}

// TestParquetCorrupt damages the data pages but keeps the footer: the fault shows when the
// rows are read.
func TestParquetCorrupt(t *testing.T) {
	p := writeParquet(t, 1000, 1<<20)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for i := 4; i < len(b)/3; i++ {
		b[i] ^= 0x5a
	}
	q := filepath.Join(t.TempDir(), "bad.parquet")
	os.WriteFile(q, b, 0o644)
	_, _, err = readAll(t, q, nil)
	if fe := fileError(t, err); !strings.Contains(fe.Reason, "Parquet") {
		t.Errorf("reason %q", fe.Reason)
	}
}

func TestFloatText(t *testing.T) {
	for _, tt := range []struct {
		in   float64
		want string
	}{{1, "1"}, {93705, "93705"}, {-9, "-9"}, {1.5, "1.5"}, {0.1, "0.1"}, {1e20, "1e+20"}} {
		if got := floatText(tt.in, 64); got != tt.want {
			t.Errorf("floatText(%g) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
