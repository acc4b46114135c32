package pipeline

import (
	"archive/zip"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Hostile inputs: files an attacker, a broken export or a careless hand could produce. Each
// must get a clear whole-file error (a *FileError naming the file, and the line and column
// when known, never a value) or per-row quarantine reasons — and a refused file must leave
// the warehouse and the lake exactly as they were.

// canonicalHeader is the canonical assessments header: patient_id, clinic_id, instrument,
// date, item_1 … item_20, total.
var canonicalHeader = strings.Join(append(append([]string{"patient_id", "clinic_id", "instrument", "date"}, itemNames[:]...), "total"), ",")

// arow is one canonical assessments row under canonicalHeader.
func arow(pid, clinic, inst, date string, items []string, total string) string {
	f := []string{pid, clinic, inst, date}
	for k := 0; k < 20; k++ {
		v := ""
		if k < len(items) {
			v = items[k]
		}
		f = append(f, v)
	}
	return strings.Join(append(f, total), ",")
}

var (
	phqItems = strings.Split("1,2,3,0,1,2,3,0,1", ",") // total 13
	gadItems = strings.Split("3,3,3,3,3,3,3", ",")     // total 21
)

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// csvFile writes a canonical assessments CSV: the header, then the rows.
func csvFile(t *testing.T, rows ...string) string {
	t.Helper()
	return writeTemp(t, "hostile.csv", []byte(canonicalHeader+"\n"+strings.Join(rows, "\n")+"\n"))
}

const goodFile = "testdata/example-assessments.csv"

// tableState is what a refused file must not change: the row count of every ingest table
// and the lake's files (staging directories included).
func tableState(t *testing.T, w *Warehouse) map[string]any {
	t.Helper()
	st := map[string]any{}
	for _, tb := range []string{"assessments", "sessions", "patients", "quarantine", "ingest_runs"} {
		st[tb] = count(t, w, "SELECT count(*) FROM "+tb)
	}
	st["lake"] = lakeFiles(t, w.Lake)
	return st
}

// refused ingests the good example file, then path in a second call, and returns the error
// that refused path after checking that it is a *FileError for path whose message does not
// hold any of the secrets, and that no table and no lake file changed.
func refused(t *testing.T, path string, opt IngestOptions, secrets ...string) *FileError {
	t.Helper()
	w, _ := openTemp(t)
	ctx := context.Background()
	if _, err := w.Ingest(ctx, []string{goodFile}, testOptions()); err != nil {
		t.Fatal(err)
	}
	before := tableState(t, w)
	reps, err := w.Ingest(ctx, []string{path}, opt)
	if err == nil {
		t.Fatalf("%s accepted, want refused: %+v", filepath.Base(path), *reps[0])
	}
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Fatalf("%s: error %T %v, want a *FileError", filepath.Base(path), err, err)
	}
	if fe.Path != path || fe.Reason == "" {
		t.Errorf("FileError does not name the file or a reason: %+v", *fe)
	}
	// the message without the path (a temporary directory's random digits may hold a value)
	msg := strings.ReplaceAll(err.Error(), path, "FILE")
	for _, s := range secrets {
		if strings.Contains(msg, s) {
			t.Errorf("error echoes a value %q: %v", s, err)
		}
	}
	if after := tableState(t, w); !reflect.DeepEqual(after, before) {
		t.Errorf("refused file changed the warehouse\nbefore %v\nafter  %v", before, after)
	}
	return fe
}

// accepted ingests the good example file, then path, checks the invariant rows read =
// accepted + duplicates + quarantined against the report, ingest_runs and the tables, and
// returns the report and path's findings.
func accepted(t *testing.T, path string, opt IngestOptions) (*FileReport, []Finding, *Warehouse) {
	t.Helper()
	w, _ := openTemp(t)
	ctx := context.Background()
	if _, err := w.Ingest(ctx, []string{goodFile}, testOptions()); err != nil {
		t.Fatal(err)
	}
	reps, err := w.Ingest(ctx, []string{path}, opt)
	if err != nil {
		t.Fatalf("%s refused: %v", filepath.Base(path), err)
	}
	r := reps[0]
	checkInvariant(t, w, r)
	all, err := w.Findings(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var fs []Finding
	for _, f := range all {
		if f.File == path {
			fs = append(fs, f)
		}
	}
	if int64(len(fs)) != r.Quarantined {
		t.Errorf("%d findings for %s, report says %d quarantined", len(fs), path, r.Quarantined)
	}
	return r, fs, w
}

// checkInvariant checks rows read = accepted + duplicates + quarantined for one ingested file,
// in its report, in ingest_runs and in the rows the tables hold for it.
func checkInvariant(t *testing.T, w *Warehouse, r *FileReport) {
	t.Helper()
	if r.Skipped {
		return
	}
	if r.RowsRead != r.Accepted+r.Duplicates+r.Quarantined {
		t.Errorf("%s: rows read %d != %d accepted + %d duplicates + %d quarantined", r.Path, r.RowsRead, r.Accepted, r.Duplicates, r.Quarantined)
	}
	var read, acc, dup, quar, fileID int64
	err := w.DB().QueryRow(`SELECT rows_read, accepted, duplicates, quarantined, file_id FROM ingest_runs WHERE sha256 = ?`, r.SHA256).
		Scan(&read, &acc, &dup, &quar, &fileID)
	if err != nil {
		t.Fatalf("ingest_runs row of %s: %v", r.Path, err)
	}
	if read != r.RowsRead || acc != r.Accepted || dup != r.Duplicates || quar != r.Quarantined {
		t.Errorf("ingest_runs %d/%d/%d/%d, report %+v", read, acc, dup, quar, *r)
	}
	table := "assessments"
	switch r.Kind {
	case KindSessions:
		table = "sessions"
	case KindPatients:
		table = "patients"
	}
	if n := count(t, w, fmt.Sprintf("SELECT count(*) FROM %s WHERE file_id = %d", table, fileID)); n != r.Accepted {
		t.Errorf("%s holds %d rows of %s, %d accepted", table, n, r.Path, r.Accepted)
	}
	if n := count(t, w, fmt.Sprintf("SELECT count(*) FROM quarantine WHERE file_id = %d", fileID)); n != r.Quarantined {
		t.Errorf("quarantine holds %d rows of %s, %d quarantined", n, r.Path, r.Quarantined)
	}
}

// reasonsByLine maps each finding's line to "column: reason".
func reasonsByLine(fs []Finding) map[int]string {
	m := map[int]string{}
	for _, f := range fs {
		m[f.Line] = f.Column + ": " + f.Reason
	}
	return m
}

func TestHostileEmptyFiles(t *testing.T) {
	for _, name := range []string{"empty.csv", "empty.xlsx", "empty.parquet"} {
		t.Run(name, func(t *testing.T) {
			fe := refused(t, writeTemp(t, name, nil), testOptions())
			t.Logf("%v", fe)
		})
	}
	fe := refused(t, writeTemp(t, "bom-only.csv", []byte("\xEF\xBB\xBF")), testOptions())
	if !strings.Contains(fe.Reason, "empty") {
		t.Errorf("BOM-only file: %v, want an empty-file error", fe)
	}
}

func TestHostileHeaderOnly(t *testing.T) {
	for name, data := range map[string]string{
		"lf.csv":   canonicalHeader + "\n",
		"none.csv": canonicalHeader,
		"crlf.csv": "\xEF\xBB\xBF" + canonicalHeader + "\r\n\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			r, fs, _ := accepted(t, writeTemp(t, name, []byte(data)), testOptions())
			if r.RowsRead != 0 || r.Accepted != 0 || r.Quarantined != 0 || len(fs) != 0 || r.Kind != KindAssessments {
				t.Errorf("header only: %+v, findings %v", *r, fs)
			}
		})
	}
}

func TestHostileBinaryGarbage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	garbage := make([]byte, 64<<10)
	for i := range garbage {
		garbage[i] = byte(rng.UintN(256))
	}
	for _, name := range []string{"garbage.csv", "garbage.tsv", "garbage.xlsx", "garbage.parquet"} {
		t.Run(name, func(t *testing.T) {
			t.Logf("%v", refused(t, writeTemp(t, name, garbage), testOptions()))
		})
	}
	// Garbage under a valid header: the first row is refused, not loaded.
	t.Run("after-header", func(t *testing.T) {
		data := append([]byte(canonicalHeader+"\n"), garbage...)
		fe := refused(t, writeTemp(t, "garbage-body.csv", data), testOptions())
		if fe.Line < 2 {
			t.Errorf("garbage body: %v, want a line number", fe)
		}
	})
	// A NUL byte and control characters in an otherwise valid UTF-8 row are not a file
	// fault: the patient id is quarantined.
	t.Run("control-bytes", func(t *testing.T) {
		_, fs, _ := accepted(t, csvFile(t, arow("p\x00\x01", "c1", "PHQ9", "2026-01-05", phqItems, "")), testOptions())
		if got := reasonsByLine(fs); got[2] != "patient_id: "+ReasonBadPatientID {
			t.Errorf("control bytes: %v", got)
		}
	})
}

func TestHostileInvalidUTF8(t *testing.T) {
	path := csvFile(t,
		arow("p1", "c1", "PHQ9", "2026-01-05", phqItems, ""),
		arow("p2", "SECRETVALUE\xff\xfe", "PHQ9", "2026-01-05", phqItems, ""))
	fe := refused(t, path, testOptions(), "SECRETVALUE", "\xff")
	if fe.Line != 3 || fe.Column != "clinic_id" || !strings.Contains(fe.Reason, "UTF-8") {
		t.Errorf("invalid UTF-8: %+v, want line 3 column clinic_id", *fe)
	}
	// A Latin-1 header (an export saved in the wrong encoding) is refused too.
	fe = refused(t, writeTemp(t, "latin1.csv", []byte("patient_id,instrument,date,item_1,total,\xe9t\xe9\np1,PHQ9,2026-01-05,1,,\n")), testOptions())
	t.Logf("%v", fe)
}

// TestHostileHugeField: a 10 MB patient id or clinic id is quarantined with its reason, and
// the raw row kept in the quarantine table is capped at maxRaw bytes plus a short suffix.
func TestHostileHugeField(t *testing.T) {
	huge := strings.Repeat("x", 10<<20)
	for _, tc := range []struct {
		col, reason string
		row         string
	}{
		{"patient_id", ReasonBadPatientID, arow(huge, "c1", "PHQ9", "2026-01-05", phqItems, "")},
		{"clinic_id", ReasonBadClinicID, arow("p1", huge, "PHQ9", "2026-01-05", phqItems, "")},
		{"item_1", ReasonNotInteger, arow("p1", "c1", "PHQ9", "2026-01-05", append([]string{huge}, phqItems[1:]...), "")},
	} {
		t.Run(tc.col, func(t *testing.T) {
			path := csvFile(t, tc.row, arow("p9", "c1", "GAD7", "2026-01-05", gadItems, "21"))
			r, fs, w := accepted(t, path, testOptions())
			if r.RowsRead != 2 || r.Accepted != 1 || r.Quarantined != 1 {
				t.Errorf("report %+v", *r)
			}
			if got := reasonsByLine(fs); got[2] != tc.col+": "+tc.reason {
				t.Errorf("findings %v, want line 2 %s: %s", got, tc.col, tc.reason)
			}
			if n := count(t, w, `SELECT max(length(raw)) FROM quarantine`); n > maxRaw+40 || n < maxRaw-8 {
				t.Errorf("quarantine raw row of %d characters, want about %d", n, maxRaw)
			}
			if n := count(t, w, `SELECT max(strlen(coalesce(detail, ''))) FROM quarantine`); n > 200 {
				t.Errorf("quarantine detail of %d bytes", n)
			}
			// The raw row of an unquoted CSV line is the line itself.
			if len(fs) == 1 && !strings.HasSuffix(fs[0].Raw, fmt.Sprintf("(%d bytes in all)", len(tc.row))) {
				t.Errorf("capped raw row does not say its full length: …%q", fs[0].Raw[len(fs[0].Raw)-40:])
			}
		})
	}
}

func TestHostileWideRows(t *testing.T) {
	t.Run("row-1000-columns", func(t *testing.T) {
		wide := arow("p1", "c1", "PHQ9", "2026-01-05", phqItems, "") + strings.Repeat(",7", 1000-25)
		_, fs, _ := accepted(t, csvFile(t, wide, arow("p2", "c1", "PHQ9", "2026-01-05", phqItems, "13")), testOptions())
		if got := reasonsByLine(fs); !reflect.DeepEqual(got, map[int]string{2: ": " + ReasonMalformed}) {
			t.Errorf("findings %v", got)
		}
		if len(fs) == 1 && !strings.Contains(fs[0].Detail, "1000 fields, header has 25") {
			t.Errorf("detail %q", fs[0].Detail)
		}
	})
	t.Run("short-row", func(t *testing.T) {
		_, fs, _ := accepted(t, csvFile(t, "p1,c1,PHQ9"), testOptions())
		if got := reasonsByLine(fs); got[2] != ": "+ReasonMalformed {
			t.Errorf("findings %v", got)
		}
	})
	t.Run("header-1000-columns", func(t *testing.T) {
		var extra []string
		for i := 26; i <= 1000; i++ {
			extra = append(extra, fmt.Sprintf("c%d", i))
		}
		data := canonicalHeader + "," + strings.Join(extra, ",") + "\n"
		fe := refused(t, writeTemp(t, "wide-header.csv", []byte(data)), testOptions())
		if fe.Line != 1 || !strings.Contains(fe.Column, `26 ("c26")`) || !strings.Contains(fe.Reason, "unknown column") {
			t.Errorf("wide header: %+v", *fe)
		}
	})
	t.Run("header-column-twice", func(t *testing.T) {
		fe := refused(t, writeTemp(t, "twice.csv", []byte(canonicalHeader+",item_3\n")), testOptions())
		if fe.Column != "item_3" || !strings.Contains(fe.Reason, "twice") {
			t.Errorf("column twice: %+v", *fe)
		}
	})
}

func TestHostileUnbalancedQuotes(t *testing.T) {
	// A quoted field never closed: the reader cannot tell where rows begin any more.
	path := csvFile(t,
		arow("p1", "c1", "PHQ9", "2026-01-05", phqItems, ""),
		arow("p2", `"c1`, "PHQ9", "2026-01-05", phqItems, ""),
		arow("p3", "c1", "PHQ9", "2026-01-05", phqItems, ""))
	fe := refused(t, path, testOptions())
	if fe.Line < 3 || fe.Column == "" || !strings.Contains(fe.Reason, `"`) {
		t.Errorf("unclosed quote: %+v, want a line ≥ 3 and a column", *fe)
	}
	// A bare quote inside an unquoted field.
	path = csvFile(t, arow("p1", "c1", "PHQ9", "2026-01-05", phqItems, ""), arow(`p"2`, "c1", "PHQ9", "2026-01-05", phqItems, ""))
	fe = refused(t, path, testOptions())
	if fe.Line != 3 || fe.Column != "2" {
		t.Errorf("bare quote: %+v, want line 3 column 2", *fe)
	}
	// Text after a closing quote.
	path = csvFile(t, arow(`"p1"x`, "c1", "PHQ9", "2026-01-05", phqItems, ""))
	if fe = refused(t, path, testOptions()); fe.Line != 2 || fe.Column == "" {
		t.Errorf("text after a quote: %+v, want line 2", *fe)
	}
}

func TestHostileValues(t *testing.T) {
	pcl := strings.Split(strings.Repeat("4,", 19)+"4", ",")
	rows := []struct{ row, want string }{
		{arow("d1", "c1", "PHQ9", "2026-02-30", phqItems, ""), "date: " + ReasonBadDate},
		{arow("d2", "c1", "PHQ9", "1900-01-01", phqItems, ""), "date: " + ReasonBadDate},
		{arow("d3", "c1", "PHQ9", "2026-13-01", phqItems, ""), "date: " + ReasonBadDate},
		{arow("d4", "c1", "PHQ9", "26-01-05", phqItems, ""), "date: " + ReasonBadDate},
		{arow("d5", "c1", "PHQ9", "2026-01-05T10:00:00", phqItems, ""), "date: " + ReasonBadDate},
		{arow("d6", "c1", "PHQ9", "9999-12-31", phqItems, ""), "date: " + ReasonFutureDate},
		{arow("i1", "c1", "PHQ9", "2026-01-05", append([]string{"-1"}, phqItems[1:]...), ""), "item_1: " + ReasonOutOfRange},
		{arow("i2", "c1", "PHQ9", "2026-01-05", append([]string{"1.5"}, phqItems[1:]...), ""), "item_1: " + ReasonNotInteger},
		{arow("i3", "c1", "PHQ9", "2026-01-05", append([]string{"1.0"}, phqItems[1:]...), ""), "item_1: " + ReasonNotInteger},
		{arow("i4", "c1", "PHQ9", "2026-01-05", append([]string{"4"}, phqItems[1:]...), ""), "item_1: " + ReasonOutOfRange},
		{arow("i5", "c1", "PHQ9", "2026-01-05", append([]string{"99999999999999999999999"}, phqItems[1:]...), ""), "item_1: " + ReasonNotInteger},
		{arow("i6", "c1", "PHQ9", "2026-01-05", append([]string{"NaN"}, phqItems[1:]...), ""), "item_1: " + ReasonNotInteger},
		{arow("i7", "c1", "PCL5", "2026-01-05", append(pcl[:19:19], "5"), ""), "item_20: " + ReasonOutOfRange},
		{arow("t1", "c1", "PHQ9", "2026-01-05", nil, "28"), "total: " + ReasonOutOfRange},
		{arow("t2", "c1", "GAD7", "2026-01-05", nil, "22"), "total: " + ReasonOutOfRange},
		{arow("t3", "c1", "PCL5", "2026-01-05", nil, "81"), "total: " + ReasonOutOfRange},
		{arow("t4", "c1", "PHQ9", "2026-01-05", nil, "-1"), "total: " + ReasonOutOfRange},
		{arow("t5", "c1", "PHQ9", "2026-01-05", nil, "12.5"), "total: " + ReasonNotInteger},
		{arow("t6", "c1", "PHQ9", "2026-01-05", nil, "1e1"), "total: " + ReasonNotInteger},
		{arow("t7", "c1", "PHQ9", "2026-01-05", phqItems, "14"), "total: " + ReasonTotalMismatch},
		{arow("x1", "c1", "GAD7", "2026-01-05", phqItems, ""), "item_8: " + ReasonExtraItem},
		{arow("ok1", "c1", "PHQ9", "2026-01-05", nil, "27"), ""},
		{arow("ok2", "c1", "GAD7", "2026-01-05", nil, "21"), ""},
		{arow("ok3", "c1", "PCL5", "2026-01-05", pcl, "80"), ""},
		{arow("ok4", "c1", "PHQ9", "2024-02-29", phqItems, "13"), ""},
	}
	var lines []string
	want := map[int]string{}
	for i, r := range rows {
		lines = append(lines, r.row)
		if r.want != "" {
			want[i+2] = r.want
		}
	}
	r, fs, _ := accepted(t, csvFile(t, lines...), testOptions())
	if got := reasonsByLine(fs); !reflect.DeepEqual(got, want) {
		t.Errorf("findings by line\n got %v\nwant %v", got, want)
	}
	if r.Accepted != 4 {
		t.Errorf("accepted %d, want 4: %+v", r.Accepted, *r)
	}
}

// parquetFile writes a canonical assessments Parquet file of n rows with DuckDB.
func parquetFile(t *testing.T, n int) string {
	t.Helper()
	// a plain DuckDB: a warehouse keeps external access off
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p := filepath.Join(t.TempDir(), "good.parquet")
	q := fmt.Sprintf(`COPY (SELECT 'p' || i AS patient_id, 'c1' AS clinic_id, 'PHQ9' AS instrument,
		DATE '2026-01-01' + CAST(i %% 200 AS INTEGER) AS date, CAST(i %% 4 AS TINYINT) AS item_1, 1 AS item_2, 1 AS item_3,
		1 AS item_4, 1 AS item_5, 1 AS item_6, 1 AS item_7, 1 AS item_8, 0 AS item_9
		FROM range(%d) t(i)) TO '%s' (FORMAT parquet, ROW_GROUP_SIZE 2048)`, n, p)
	if _, err := db.Exec(q); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHostileParquet(t *testing.T) {
	good := parquetFile(t, 5000)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	r, _, _ := accepted(t, good, testOptions())
	if r.RowsRead != 5000 || r.Accepted != 5000 {
		t.Fatalf("good Parquet file: %+v", *r)
	}
	flip := func(from, to int) []byte {
		b := bytes.Clone(data)
		for i := from; i < to && i < len(b); i++ {
			b[i] ^= 0x5a
		}
		return b
	}
	n := len(data)
	cases := map[string][]byte{
		"truncated-half.parquet": data[:n/2],
		"truncated-tail.parquet": data[:n-1],
		"magic-only.parquet":     []byte("PAR1"),
		"footer-garbled.parquet": flip(n-200, n-8),
		"footer-length.parquet":  flip(n-8, n-4),
		"pages-garbled.parquet":  flip(4, n/2),
		"first-page-hdr.parquet": flip(4, 40),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			t.Logf("%v", refused(t, writeTemp(t, name, b), testOptions()))
		})
	}
}

// xlsxParts are the parts of a minimal workbook around one worksheet.
var xlsxParts = map[string]string{
	"[Content_Types].xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>`,
	"_rels/.rels": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
	"xl/workbook.xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>`,
	"xl/_rels/workbook.xml.rels": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`,
}

const sheetHead = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">`

// inlineRow is a worksheet row of inline-string cells A…, at row r.
func inlineRow(r int, vals ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<row r="%d">`, r)
	for i, v := range vals {
		if v == "" {
			continue
		}
		fmt.Fprintf(&b, `<c r="%c%d" t="inlineStr"><is><t>%s</t></is></c>`, 'A'+i, r, v)
	}
	return b.String() + `</row>`
}

// writeXLSXParts writes a workbook from the minimal parts, with overrides and extra parts,
// and with the worksheet's body streamed from sheet (so a huge sheet never sits in memory).
func writeXLSXParts(t *testing.T, name string, parts map[string]string, sheet func(w *bytes.Buffer, flush func())) string {
	t.Helper()
	return writeZip(t, name, parts, "xl/worksheets/sheet1.xml", func(b *bytes.Buffer, flush func()) {
		b.WriteString(sheetHead)
		sheet(b, flush)
	})
}

// writeZip writes a workbook of the minimal parts, overridden or extended by parts, and one
// part, streamed, whose content gen writes into b and passes on with flush.
func writeZip(t *testing.T, name string, parts map[string]string, streamed string, gen func(b *bytes.Buffer, flush func())) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	all := map[string]string{}
	for k, v := range xlsxParts {
		all[k] = v
	}
	for k, v := range parts {
		all[k] = v
	}
	for name, body := range all {
		pw, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		pw.Write([]byte(body))
	}
	sw, err := zw.CreateHeader(&zip.FileHeader{Name: streamed, Method: zip.Deflate})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	flush := func() {
		if _, err := sw.Write(buf.Bytes()); err != nil {
			t.Fatal(err)
		}
		buf.Reset()
	}
	gen(&buf, flush)
	flush()
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// peakHeap runs f while sampling the Go heap, and returns the highest heap in use seen above
// what was in use before, and how long f took.
func peakHeap(f func()) (uint64, time.Duration) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	t0 := time.Now()
	f()
	d := time.Since(t0)
	close(done)
	<-stopped
	if p := peak.Load(); p > base {
		return p - base, d
	}
	return 0, d
}

// bombSize is how far the XLSX bombs inflate: 20 MB by default (past excelize's 16 MB limit
// for holding a worksheet in memory, so the same streaming path as a bigger bomb is taken),
// KAPSTAT_XLSX_BOMB_MB to change it (RELIABILITY.md records a 200 MB run).
func bombSize(t *testing.T) int {
	mb := 20
	if s := os.Getenv("KAPSTAT_XLSX_BOMB_MB"); s != "" {
		if _, err := fmt.Sscan(s, &mb); err != nil || mb < 1 {
			t.Fatalf("KAPSTAT_XLSX_BOMB_MB=%q", s)
		}
	}
	return mb << 20
}

// dirPeak polls the total size of the files in dir until stop is closed and returns the
// largest seen.
func dirPeak(dir string, stop <-chan struct{}) <-chan int64 {
	out := make(chan int64, 1)
	go func() {
		var peak int64
		for {
			var n int64
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if fi, err := e.Info(); err == nil && !fi.IsDir() {
					n += fi.Size()
				}
			}
			peak = max(peak, n)
			select {
			case <-stop:
				out <- peak
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return out
}

// TestHostileXLSXBomb: a small .xlsx whose worksheet inflates to tens or hundreds of MB of
// empty rows or empty cells. The reader must stream it — fail cleanly or finish — with a
// bounded heap, and leave no temporary file behind.
func TestHostileXLSXBomb(t *testing.T) {
	if testing.Short() {
		t.Skip("inflates a large worksheet")
	}
	size := bombSize(t)
	header := inlineRow(1, "patient_id", "instrument", "date", "item_1", "total")
	for _, tc := range []struct {
		name      string
		open, rep string
		close     string
	}{
		{"empty-rows", `<sheetData>` + header, `<row/>`, `</sheetData></worksheet>`},
		{"empty-cells", `<sheetData>` + header + `<row r="2">`, `<c/>`, `</row></sheetData></worksheet>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeXLSXParts(t, "bomb.xlsx", nil, func(b *bytes.Buffer, flush func()) {
				b.WriteString(tc.open)
				chunk := strings.Repeat(tc.rep, (1<<20)/len(tc.rep))
				for n := 0; n < size; n += len(chunk) {
					b.WriteString(chunk)
					flush()
				}
				b.WriteString(tc.close)
			})
			st, _ := os.Stat(path)
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp) // where excelize inflates a large worksheet
			var reps []*FileReport
			var err error
			stop := make(chan struct{})
			disk := dirPeak(tmp, stop)
			peak, took := peakHeap(func() {
				reps, _, err = Validate(context.Background(), []string{path}, testOptions())
			})
			close(stop)
			rep := FileReport{}
			if err == nil {
				rep = *reps[0]
			}
			t.Logf("%d KB file inflating to %d MB: err %v, %d rows read in %v; peak heap +%d MB, peak temp files %d MB",
				st.Size()>>10, size>>20, err, rep.RowsRead, took.Round(time.Millisecond), peak>>20, <-disk>>20)
			if err != nil {
				var fe *FileError
				if !errors.As(err, &fe) {
					t.Errorf("bomb: %T %v, want a *FileError or a clean read", err, err)
				}
			} else if r := reps[0]; r.RowsRead > 1 || r.RowsRead != r.Accepted+r.Duplicates+r.Quarantined {
				t.Errorf("bomb read as %+v", *r)
			}
			if peak > 300<<20 {
				t.Errorf("peak heap +%d MB reading a %d MB sheet, want < 300 MB", peak>>20, size>>20)
			}
			if limit := time.Duration(size>>20)*time.Second + 30*time.Second; took > limit {
				t.Errorf("took %v, more than %v", took, limit)
			}
			if left := lakeFiles(t, tmp); len(left) > 0 {
				t.Errorf("temporary files left behind: %v", left)
			}
		})
	}
}

// TestHostileXLSXBombOtherPart: the bomb is a part of the package that is not a worksheet
// (here customXml/item1.xml, referenced by nothing). Reading the first sheet must not
// inflate it into memory: the file is refused from its zip directory.
func TestHostileXLSXBombOtherPart(t *testing.T) {
	if testing.Short() {
		t.Skip("inflates a large part")
	}
	size := bombSize(t)
	sheet := sheetHead + `<sheetData>` + inlineRow(1, "patient_id", "instrument", "date", "total") +
		inlineRow(2, "p1", "PHQ9", "2026-01-05", "13") + `</sheetData></worksheet>`
	path := writeZip(t, "bomb-part.xlsx", map[string]string{"xl/worksheets/sheet1.xml": sheet}, "customXml/item1.xml",
		func(b *bytes.Buffer, flush func()) {
			chunk := strings.Repeat(" ", 1<<20)
			for n := 0; n < size; n += len(chunk) {
				b.WriteString(chunk)
				flush()
			}
		})
	var reps []*FileReport
	var err error
	peak, took := peakHeap(func() {
		reps, _, err = Validate(context.Background(), []string{path}, testOptions())
	})
	t.Logf("part inflating to %d MB: err %v in %v, peak heap +%d MB", size>>20, err, took.Round(time.Millisecond), peak>>20)
	if err == nil && (reps[0].RowsRead != 1 || reps[0].Accepted != 1) {
		t.Errorf("report %+v", *reps[0])
	}
	if limit := uint64(size / 2); peak > limit {
		t.Errorf("peak heap +%d MB reading a workbook whose unused part inflates to %d MB: the part was held in memory", peak>>20, size>>20)
	}
}

// TestHostileXLSXClaimedColumns: a dimension of A1:XFD1048576 and cells at the last column
// (XFD) and the last row are read without allocating per claimed cell.
func TestHostileXLSXClaimedColumns(t *testing.T) {
	sheet := `<dimension ref="A1:XFD1048576"/><sheetData>` +
		inlineRow(1, "patient_id", "instrument", "date", "item_1", "total") +
		inlineRow(2, "p1", "PHQ9", "2026-01-05", "", "13") +
		`<row r="3"><c r="A3" t="inlineStr"><is><t>p2</t></is></c><c r="B3" t="inlineStr"><is><t>PHQ9</t></is></c><c r="XFD3" t="inlineStr"><is><t>x</t></is></c></row>` +
		`<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>p3</t></is></c><c r="B1048576" t="inlineStr"><is><t>GAD7</t></is></c><c r="C1048576" t="inlineStr"><is><t>2026-01-05</t></is></c><c r="E1048576"><v>21</v></c></row>` +
		`</sheetData></worksheet>`
	path := writeXLSXParts(t, "claims.xlsx", nil, func(b *bytes.Buffer, _ func()) { b.WriteString(sheet) })
	var r *FileReport
	var fs []Finding
	peak, took := peakHeap(func() { r, fs, _ = accepted(t, path, testOptions()) })
	t.Logf("peak heap +%d MB in %v", peak>>20, took)
	if peak > 64<<20 {
		t.Errorf("peak heap +%d MB for a workbook claiming 16384 × 1048576 cells", peak>>20)
	}
	want := map[int]string{3: ": " + ReasonMalformed}
	if got := reasonsByLine(fs); r.RowsRead != 3 || r.Accepted != 2 || !reflect.DeepEqual(got, want) {
		t.Errorf("report %+v findings %v, want 3 rows, 2 accepted, row 3 malformed", *r, got)
	}

	// A header cell past the last column Excel allows is refused cleanly.
	bad := `<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>patient_id</t></is></c><c r="XFE1" t="inlineStr"><is><t>instrument</t></is></c></row></sheetData></worksheet>`
	path = writeXLSXParts(t, "past-xfd.xlsx", nil, func(b *bytes.Buffer, _ func()) { b.WriteString(bad) })
	t.Logf("%v", refused(t, path, testOptions()))
}

// TestHostileXLSXFormulas: formula cells — arithmetic, a reference into an external workbook,
// a web fetch — give their cached values; nothing is evaluated and nothing is fetched.
func TestHostileXLSXFormulas(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, "3")
	}))
	defer srv.Close()
	parts := map[string]string{
		"xl/workbook.xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets><externalReferences><externalReference r:id="rId2"/></externalReferences><calcPr calcId="191029" fullCalcOnLoad="1"/></workbook>`,
		"xl/_rels/workbook.xml.rels": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/externalLink" Target="externalLinks/externalLink1.xml"/></Relationships>`,
		"xl/externalLinks/externalLink1.xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><externalBook r:id="rId1"><sheetNames><sheetName val="Sheet1"/></sheetNames><sheetDataSet><sheetData sheetId="0"><row r="1"><cell r="A1"><v>0</v></cell></row></sheetData></sheetDataSet></externalBook></externalLink>`,
		"xl/externalLinks/_rels/externalLink1.xml.rels": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/externalLinkPath" Target="` + srv.URL + `/book.xlsx" TargetMode="External"/></Relationships>`,
	}
	// item_1 = 1+1 cached 3; item_2 = [1]Sheet1!A1 (external, holding 0) cached 2;
	// item_3 = WEBSERVICE(server) cached 1; items 4–7 plain 0; total = SUM(D2:J2) cached 6.
	sheet := `<sheetData>` + inlineRow(1, "patient_id", "instrument", "date", "item_1", "item_2", "item_3", "item_4", "item_5", "item_6", "item_7", "total") +
		`<row r="2"><c r="A2" t="inlineStr"><is><t>p1</t></is></c><c r="B2" t="inlineStr"><is><t>GAD7</t></is></c>` +
		`<c r="C2" t="inlineStr"><is><t>2026-01-05</t></is></c>` +
		`<c r="D2"><f>1+1</f><v>3</v></c>` +
		`<c r="E2"><f>[1]Sheet1!A1</f><v>2</v></c>` +
		`<c r="F2"><f>WEBSERVICE("` + srv.URL + `/item")</f><v>1</v></c>` +
		`<c r="G2"><v>0</v></c><c r="H2"><v>0</v></c><c r="I2"><v>0</v></c><c r="J2"><v>0</v></c>` +
		`<c r="K2"><f>SUM(D2:J2)</f><v>6</v></c></row></sheetData></worksheet>`
	path := writeXLSXParts(t, "formulas.xlsx", parts, func(b *bytes.Buffer, _ func()) { b.WriteString(sheet) })
	cr, err := openInput(path, "")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := cr.Next()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for i, h := range cr.Header() {
		got[h] = rec.Fields[i]
	}
	cr.Close()
	want := map[string]string{"patient_id": "p1", "instrument": "GAD7", "date": "2026-01-05",
		"item_1": "3", "item_2": "2", "item_3": "1", "item_4": "0", "item_5": "0", "item_6": "0", "item_7": "0", "total": "6"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("formula cells read as %v, want the cached values %v", got, want)
	}
	r, fs, w := accepted(t, path, testOptions())
	if r.RowsRead != 1 || r.Accepted != 1 {
		t.Fatalf("report %+v findings %v", *r, fs)
	}
	if n := count(t, w, `SELECT item_1::INTEGER * 1000 + item_2::INTEGER * 100 + item_3::INTEGER * 10 + total::INTEGER FROM assessments WHERE patient_id = 'p1' AND instrument = 'GAD7'`); n != 3216 {
		t.Errorf("stored items and total %d, want the cached 3, 2, 1 and 6", n)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("reading the workbook made %d requests to the external link's server", n)
	}
}

func TestHostileMapUnknownKeys(t *testing.T) {
	data := `kind = "assessments"
frobnicate = true

[columns]
patient_id = "id"
date = "visit"
instrument = "form"

[columns_typo]
x = "y"
`
	m := writeTemp(t, "bad.toml", []byte(data))
	in := writeTemp(t, "in.csv", []byte("id,visit,form,q1\np1,2026-01-05,PHQ9,1\n"))
	opt := testOptions()
	opt.Map = m
	err := refusedAny(t, in, opt)
	var fe *FileError
	if !errors.As(err, &fe) || !strings.Contains(fe.Reason, "frobnicate") || !strings.Contains(fe.Reason, "columns_typo") || fe.Path != m {
		t.Errorf("unknown keys: %v, want a FileError naming the map and both keys", err)
	}
	data = `[columns]
patient_id = "id"
date = "visit"

[[instruments]]
name = "PHQ9"
items_pattern = "q{k}"
recode_typo = { 1 = 0 }
`
	m = writeTemp(t, "bad2.toml", []byte(data))
	opt.Map = m
	if err := refusedAny(t, in, opt); !strings.Contains(err.Error(), "recode_typo") {
		t.Errorf("unknown key in [[instruments]]: %v", err)
	}
}

// refusedAny is refused for errors that name another file than the input (a map's FileError
// names the map).
func refusedAny(t *testing.T, path string, opt IngestOptions) error {
	t.Helper()
	w, _ := openTemp(t)
	ctx := context.Background()
	if _, err := w.Ingest(ctx, []string{goodFile}, testOptions()); err != nil {
		t.Fatal(err)
	}
	before := tableState(t, w)
	_, err := w.Ingest(ctx, []string{path}, opt)
	if err == nil {
		t.Fatalf("%s accepted, want refused", path)
	}
	if after := tableState(t, w); !reflect.DeepEqual(after, before) {
		t.Errorf("refused file changed the warehouse\nbefore %v\nafter  %v", before, after)
	}
	return err
}
