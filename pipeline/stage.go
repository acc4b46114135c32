package pipeline

import (
	"fmt"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/kapstat/kapstat/measures"
)

// stageBatch is the number of rows per Arrow record written to a staging file.
const stageBatch = 64 * 1024

// parquetWriter streams rows into one Parquet file through Arrow record batches.
type parquetWriter struct {
	schema *arrow.Schema
	b      *array.RecordBuilder
	fw     *pqarrow.FileWriter
	n      int
	rows   int64
}

func newParquetWriter(path string, schema *arrow.Schema) (*parquetWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	// Staging files live for one run on local disk: plain encoding with fast Snappy costs
	// far less CPU than dictionaries and zstd. The lake itself is written zstd by DuckDB.
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithDictionaryDefault(false),
		parquet.WithStats(false),
		parquet.WithMaxRowGroupLength(256*1024),
		parquet.WithCreatedBy("kapstat "+Version),
	)
	fw, err := pqarrow.NewFileWriter(schema, f, props, pqarrow.DefaultWriterProps())
	if err != nil {
		f.Close()
		return nil, err
	}
	return &parquetWriter{schema: schema, b: array.NewRecordBuilder(memory.DefaultAllocator, schema), fw: fw}, nil
}

// rowDone counts a row appended to the builder and flushes a full batch.
func (w *parquetWriter) rowDone() error {
	w.n++
	w.rows++
	if w.n >= stageBatch {
		return w.flush()
	}
	return nil
}

func (w *parquetWriter) flush() error {
	if w.n == 0 {
		return nil
	}
	rec := w.b.NewRecordBatch()
	defer rec.Release()
	w.n = 0
	return w.fw.WriteBuffered(rec)
}

// close flushes and writes the footer; it closes the file too (pqarrow does).
func (w *parquetWriter) close() error {
	err := w.flush()
	w.b.Release()
	if cerr := w.fw.Close(); err == nil {
		err = cerr
	}
	return err
}

func field(name string, t arrow.DataType) arrow.Field {
	return arrow.Field{Name: name, Type: t, Nullable: true}
}

var assessmentStageSchema = func() *arrow.Schema {
	fs := []arrow.Field{
		field("source_line", arrow.PrimitiveTypes.Int64),
		field("patient_id", arrow.BinaryTypes.String),
		field("clinic_id", arrow.BinaryTypes.String),
		field("instrument", arrow.BinaryTypes.String),
		field("day", arrow.PrimitiveTypes.Int32),
		field("has_date", arrow.FixedWidthTypes.Boolean),
	}
	for k := 1; k <= measures.MaxItems; k++ {
		fs = append(fs, field(fmt.Sprintf("item_%d", k), arrow.PrimitiveTypes.Int8))
	}
	fs = append(fs,
		field("total_given", arrow.PrimitiveTypes.Int16),
		field("total", arrow.PrimitiveTypes.Int16),
		field("prorated", arrow.FixedWidthTypes.Boolean),
		field("answered", arrow.PrimitiveTypes.Int8),
		field("band", arrow.BinaryTypes.String),
		field("safety_flag", arrow.FixedWidthTypes.Boolean),
		field("cluster_b", arrow.PrimitiveTypes.Int16),
		field("cluster_c", arrow.PrimitiveTypes.Int16),
		field("cluster_d", arrow.PrimitiveTypes.Int16),
		field("cluster_e", arrow.PrimitiveTypes.Int16),
		field("provisional_ptsd", arrow.FixedWidthTypes.Boolean),
		field("responses_hash", arrow.PrimitiveTypes.Uint64),
	)
	return arrow.NewSchema(fs, nil)
}()

func (w *parquetWriter) appendAssessment(a *Assessment) error {
	fb := w.b.Fields()
	fb[0].(*array.Int64Builder).Append(int64(a.Line))
	fb[1].(*array.StringBuilder).Append(a.PatientID)
	fb[2].(*array.StringBuilder).Append(a.ClinicID)
	fb[3].(*array.StringBuilder).Append(a.Instrument)
	fb[4].(*array.Int32Builder).Append(a.Day)
	fb[5].(*array.BooleanBuilder).Append(a.HasDate)
	for k := 0; k < measures.MaxItems; k++ {
		ib := fb[6+k].(*array.Int8Builder)
		if a.Items[k] < 0 {
			ib.AppendNull()
		} else {
			ib.Append(a.Items[k])
		}
	}
	i := 6 + measures.MaxItems
	appendInt16(fb[i], int(a.TotalGiven), a.TotalGiven >= 0)
	fb[i+1].(*array.Int16Builder).Append(int16(a.Score.Total))
	fb[i+2].(*array.BooleanBuilder).Append(a.Score.Prorated)
	fb[i+3].(*array.Int8Builder).Append(int8(a.Score.Answered))
	fb[i+4].(*array.StringBuilder).Append(a.Score.Band)
	if a.Score.ItemsGiven {
		fb[i+5].(*array.BooleanBuilder).Append(a.Score.SafetyFlag)
	} else {
		fb[i+5].(*array.BooleanBuilder).AppendNull()
	}
	for c := 0; c < 4; c++ {
		v, ok := -1, false
		if len(a.Score.Clusters) == 4 {
			v = a.Score.Clusters[c]
			ok = v >= 0
		}
		appendInt16(fb[i+6+c], v, ok)
	}
	if len(a.Score.Clusters) == 4 {
		fb[i+10].(*array.BooleanBuilder).Append(a.Score.Provisional)
	} else {
		fb[i+10].(*array.BooleanBuilder).AppendNull()
	}
	fb[i+11].(*array.Uint64Builder).Append(a.Hash)
	return w.rowDone()
}

func appendInt16(b array.Builder, v int, ok bool) {
	ib := b.(*array.Int16Builder)
	if ok {
		ib.Append(int16(v))
	} else {
		ib.AppendNull()
	}
}

var sessionStageSchema = arrow.NewSchema([]arrow.Field{
	field("source_line", arrow.PrimitiveTypes.Int64),
	field("patient_id", arrow.BinaryTypes.String),
	field("clinic_id", arrow.BinaryTypes.String),
	field("day", arrow.PrimitiveTypes.Int32),
	field("has_date", arrow.FixedWidthTypes.Boolean),
	field("session_type", arrow.BinaryTypes.String),
	field("route", arrow.BinaryTypes.String),
	field("dose_mg", arrow.PrimitiveTypes.Float64),
	field("program", arrow.BinaryTypes.String),
	field("setting", arrow.BinaryTypes.String),
	field("responses_hash", arrow.PrimitiveTypes.Uint64),
}, nil)

func (w *parquetWriter) appendSession(s *Session) error {
	fb := w.b.Fields()
	fb[0].(*array.Int64Builder).Append(int64(s.Line))
	fb[1].(*array.StringBuilder).Append(s.PatientID)
	fb[2].(*array.StringBuilder).Append(s.ClinicID)
	fb[3].(*array.Int32Builder).Append(s.Day)
	fb[4].(*array.BooleanBuilder).Append(s.HasDate)
	fb[5].(*array.StringBuilder).Append(s.SessionType)
	if s.Route == "" {
		fb[6].(*array.StringBuilder).AppendNull()
	} else {
		fb[6].(*array.StringBuilder).Append(s.Route)
	}
	if s.DoseMG > 0 {
		fb[7].(*array.Float64Builder).Append(s.DoseMG)
	} else {
		fb[7].(*array.Float64Builder).AppendNull()
	}
	fb[8].(*array.StringBuilder).Append(s.Program)
	fb[9].(*array.StringBuilder).Append(s.Setting)
	fb[10].(*array.Uint64Builder).Append(s.Hash)
	return w.rowDone()
}

var findingStageSchema = arrow.NewSchema([]arrow.Field{
	field("line", arrow.PrimitiveTypes.Int64),
	field("column_name", arrow.BinaryTypes.String),
	field("reason", arrow.BinaryTypes.String),
	field("detail", arrow.BinaryTypes.String),
	field("raw", arrow.BinaryTypes.String),
}, nil)

func (w *parquetWriter) appendFinding(f *Finding) error {
	fb := w.b.Fields()
	fb[0].(*array.Int64Builder).Append(int64(f.Line))
	fb[1].(*array.StringBuilder).Append(f.Column)
	fb[2].(*array.StringBuilder).Append(f.Reason)
	fb[3].(*array.StringBuilder).Append(f.Detail)
	fb[4].(*array.StringBuilder).Append(f.Raw)
	return w.rowDone()
}
