package pipeline

import (
	"fmt"
	"os"
	"strings"

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
	// Staging files live for one run on local disk: plain encoding without compression costs
	// the least CPU (the packed columns are small). The lake itself is written zstd by DuckDB.
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Uncompressed),
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
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	b.Reserve(stageBatch)
	return &parquetWriter{schema: schema, b: b, fw: fw}, nil
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
	w.b.Reserve(stageBatch) // one allocation per column and batch, not a doubling series
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

// The staging file of assessments packs the twenty item columns into one integer and the
// scores into another: Parquet's cost grows with the number of columns far more than with
// their width, and staging is read back only by the load SQL, which unpacks both
// (stagedAssessmentColumns). Layout, least significant bits first:
//
//	items:  3 bits per item k (k = 0 … 19), item value + 1; 0 = missing
//	scores: byte 0 total_given + 1 (0 = absent), byte 1 total, byte 2 answered,
//	        bytes 3–6 clusters B–E + 1 (0 = none), bits 56–57 safety_flag and
//	        bits 58–59 provisional_ptsd (0 = null, 1 = false, 2 = true), bit 60 prorated
var assessmentStageSchema = arrow.NewSchema([]arrow.Field{
	field("source_line", arrow.PrimitiveTypes.Int64),
	field("patient_id", arrow.BinaryTypes.String),
	field("clinic_id", arrow.BinaryTypes.String),
	field("instrument", arrow.BinaryTypes.String),
	field("day", arrow.PrimitiveTypes.Int32),
	field("has_date", arrow.FixedWidthTypes.Boolean),
	field("items", arrow.PrimitiveTypes.Int64),
	field("scores", arrow.PrimitiveTypes.Int64),
	field("band", arrow.BinaryTypes.String),
	field("responses_hash", arrow.PrimitiveTypes.Uint64),
	field("key_hash", arrow.PrimitiveTypes.Uint64),
}, nil)

// unpackedScoreColumns unpacks the items and scores columns into the warehouse's item_1 …
// item_20, total_given, total, prorated, answered, band, safety_flag, cluster_b … cluster_e
// and provisional_ptsd.
var unpackedScoreColumns = func() string {
	var cols []string
	for k := 0; k < measures.MaxItems; k++ {
		cols = append(cols, fmt.Sprintf("CAST(nullif((items >> %d) & 7, 0) - 1 AS TINYINT) AS item_%d", 3*k, k+1))
	}
	byteAt := func(i int) string { return fmt.Sprintf("((scores >> %d) & 255)", 8*i) }
	tri := func(bit int) string {
		return fmt.Sprintf("CASE (scores >> %d) & 3 WHEN 0 THEN NULL ELSE (scores >> %d) & 3 = 2 END", bit, bit)
	}
	cols = append(cols,
		"CAST(nullif("+byteAt(0)+", 0) - 1 AS SMALLINT) AS total_given",
		"CAST("+byteAt(1)+" AS SMALLINT) AS total",
		"(scores >> 60) & 1 = 1 AS prorated",
		"CAST("+byteAt(2)+" AS TINYINT) AS answered",
		"band",
		tri(56)+" AS safety_flag")
	for c, name := range []string{"cluster_b", "cluster_c", "cluster_d", "cluster_e"} {
		cols = append(cols, "CAST(nullif("+byteAt(3+c)+", 0) - 1 AS SMALLINT) AS "+name)
	}
	cols = append(cols, tri(58)+" AS provisional_ptsd")
	return strings.Join(cols, ", ")
}()

// stagedAssessmentColumns unpacks a staging file of assessments into the warehouse's columns.
var stagedAssessmentColumns = "source_line, patient_id, clinic_id, instrument, day, has_date, " +
	unpackedScoreColumns + ", responses_hash"

// dateYearColumns derive a row's date and its lake partition year from day and has_date.
const dateYearColumns = `CASE WHEN has_date THEN DATE '1970-01-01' + day END AS date,
	CASE WHEN has_date THEN CAST(year(DATE '1970-01-01' + day) AS VARCHAR) ELSE 'none' END AS year`

// packAssessment packs items and scores as assessmentStageSchema describes. A value that does
// not fit its field is an error, never a silent wrap (the instruments' ranges are far inside).
func packAssessment(a *Assessment) (items, scores int64, err error) {
	for k := 0; k < measures.MaxItems; k++ {
		v := int64(a.Items[k])
		if v < 0 {
			continue
		}
		if v > 5 {
			return 0, 0, fmt.Errorf("line %d: item_%d = %d does not fit the staging layout", a.Line, k+1, v)
		}
		items |= (v + 1) << (3 * k)
	}
	put := func(i int, v int64) {
		if err == nil && (v < 0 || v > 255) {
			err = fmt.Errorf("line %d: score %d does not fit the staging layout", a.Line, v)
		}
		scores |= (v & 255) << (8 * i)
	}
	tri := func(bit int, known, v bool) {
		if known {
			t := int64(1)
			if v {
				t = 2
			}
			scores |= t << bit
		}
	}
	if a.TotalGiven >= 0 {
		put(0, int64(a.TotalGiven)+1)
	}
	put(1, int64(a.Score.Total))
	put(2, int64(a.Score.Answered))
	if len(a.Score.Clusters) == 4 {
		for c, v := range a.Score.Clusters {
			if v >= 0 {
				put(3+c, int64(v)+1)
			}
		}
	}
	tri(56, a.Score.SafetyRecorded, a.Score.SafetyFlag)
	tri(58, len(a.Score.Clusters) == 4, a.Score.Provisional)
	if a.Score.Prorated {
		scores |= 1 << 60
	}
	return items, scores, err
}

func (w *parquetWriter) appendAssessment(a *Assessment) error {
	items, scores, err := packAssessment(a)
	if err != nil {
		return err
	}
	fb := w.b.Fields()
	fb[0].(*array.Int64Builder).Append(int64(a.Line))
	fb[1].(*array.StringBuilder).Append(a.PatientID)
	fb[2].(*array.StringBuilder).Append(a.ClinicID)
	fb[3].(*array.StringBuilder).Append(a.Instrument)
	fb[4].(*array.Int32Builder).Append(a.Day)
	fb[5].(*array.BooleanBuilder).Append(a.HasDate)
	fb[6].(*array.Int64Builder).Append(items)
	fb[7].(*array.Int64Builder).Append(scores)
	fb[8].(*array.StringBuilder).Append(a.Score.Band)
	fb[9].(*array.Uint64Builder).Append(a.Hash)
	fb[10].(*array.Uint64Builder).Append(a.KeyHash)
	return w.rowDone()
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
	field("sbp_pre", arrow.PrimitiveTypes.Int16),
	field("dbp_pre", arrow.PrimitiveTypes.Int16),
	field("hr_pre", arrow.PrimitiveTypes.Int16),
	field("sbp_max", arrow.PrimitiveTypes.Int16),
	field("dbp_max", arrow.PrimitiveTypes.Int16),
	field("hr_max", arrow.PrimitiveTypes.Int16),
	field("dissociation", arrow.PrimitiveTypes.Int16),
	field("side_effects", arrow.BinaryTypes.String),
	field("serious_adverse_event", arrow.FixedWidthTypes.Boolean),
	field("responses_hash", arrow.PrimitiveTypes.Uint64),
	field("key_hash", arrow.PrimitiveTypes.Uint64),
}, nil)

// sessionSafetyColumns are the session-safety columns of the sessions table, the staging
// file and the lake, in their order.
const sessionSafetyColumns = "sbp_pre, dbp_pre, hr_pre, sbp_max, dbp_max, hr_max, dissociation, side_effects, serious_adverse_event"

// appendInt16 appends v, or a null for a negative v (not recorded).
func appendInt16(b array.Builder, v int16) {
	if v < 0 {
		b.AppendNull()
	} else {
		b.(*array.Int16Builder).Append(v)
	}
}

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
	sf := &s.Safety
	for k, v := range sf.Vitals {
		appendInt16(fb[10+k], v)
	}
	appendInt16(fb[16], sf.Dissociation)
	if sf.SideEffects == "" {
		fb[17].AppendNull()
	} else {
		fb[17].(*array.StringBuilder).Append(sf.SideEffects)
	}
	if sf.SAE < 0 {
		fb[18].AppendNull()
	} else {
		fb[18].(*array.BooleanBuilder).Append(sf.SAE == 1)
	}
	fb[19].(*array.Uint64Builder).Append(s.Hash)
	fb[20].(*array.Uint64Builder).Append(s.KeyHash)
	return w.rowDone()
}

var patientStageSchema = arrow.NewSchema([]arrow.Field{
	field("source_line", arrow.PrimitiveTypes.Int64),
	field("patient_id", arrow.BinaryTypes.String),
	field("age", arrow.PrimitiveTypes.Int16),
	field("sex", arrow.BinaryTypes.String),
	field("diagnosis", arrow.BinaryTypes.String),
	field("prior_treatments", arrow.PrimitiveTypes.Int16),
	field("responses_hash", arrow.PrimitiveTypes.Uint64),
	field("key_hash", arrow.PrimitiveTypes.Uint64),
}, nil)

func (w *parquetWriter) appendPatient(p *Patient) error {
	fb := w.b.Fields()
	fb[0].(*array.Int64Builder).Append(int64(p.Line))
	fb[1].(*array.StringBuilder).Append(p.PatientID)
	appendInt16(fb[2], p.Age)
	for i, v := range []string{p.Sex, p.Diagnosis} {
		if v == "" {
			fb[3+i].AppendNull()
		} else {
			fb[3+i].(*array.StringBuilder).Append(v)
		}
	}
	appendInt16(fb[5], p.PriorTreatments)
	fb[6].(*array.Uint64Builder).Append(p.Hash)
	fb[7].(*array.Uint64Builder).Append(p.KeyHash)
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
