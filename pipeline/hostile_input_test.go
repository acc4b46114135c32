package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kapstat/kapstat/synth"
)

// Hostile input, second pass: workbooks whose rows vanished, identifiers that got past the
// guard or were stored in the quarantine table, line ends that turned data into header
// names, and rows, lines and shared strings large enough to exhaust the memory.

// sheetRows writes a workbook of one sheet whose sheet data holds rows (hand-written XML).
func sheetRows(t *testing.T, name, rows string, parts map[string]string) string {
	t.Helper()
	return writeXLSXParts(t, name, parts, func(b *bytes.Buffer, _ func()) {
		b.WriteString(`<sheetData>` + rows + `</sheetData></worksheet>`)
	})
}

var (
	xlsxHeader = inlineRow(1, "patient_id", "instrument", "date", "total")
	xlsxGood   = inlineRow(2, "p1", "PHQ9", "2026-01-05", "13")
)

// TestHostileXLSXRowsVanish: an XML fault part-way through a sheet, rows whose numbers go
// back, and formula cells without a stored result used to lose rows with exit 0. Now every
// fault refuses the file naming its row, and a formula without a value quarantines its row.
func TestHostileXLSXRowsVanish(t *testing.T) {
	next := inlineRow(4, "p4", "GAD7", "2026-01-05", "21")
	for _, tc := range []struct {
		name, rows string
		line       int
		reason     string
	}{
		{"unescaped-ampersand", xlsxGood + inlineRow(3, "p2", "PHQ9", "2026-01-05", "1 & 2") + next, 3, "malformed XML"},
		{"undefined-entity", xlsxGood + inlineRow(3, "p2", "PHQ9", "2026-01-05", "&secret;") + next, 3, "malformed XML"},
		{"junk-between-rows", xlsxGood + "junk" + inlineRow(3, "p2", "PHQ9", "2026-01-05", "5") + next, 3, "text between rows"},
		{"element-between-rows", xlsxGood + "<junk/>" + inlineRow(3, "p2", "PHQ9", "2026-01-05", "5") + next, 3, "an element other than a row"},
		{"row-numbers-back", xlsxGood + inlineRow(5, "p5", "PHQ9", "2026-01-05", "5") + inlineRow(3, "p3", "PHQ9", "2026-01-05", "6"), 3, "rows out of order: row 3 after row 5"},
		{"row-number-twice", xlsxGood + inlineRow(2, "p2", "GAD7", "2026-01-05", "5"), 2, "rows out of order: row 2 after row 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fe := refused(t, sheetRows(t, tc.name+".xlsx", xlsxHeader+tc.rows, nil), testOptions(), "secret")
			if fe.Line != tc.line || !strings.Contains(fe.Reason, tc.reason) {
				t.Errorf("%v, want line %d and %q", fe, tc.line, tc.reason)
			}
		})
	}
	t.Run("truncated", func(t *testing.T) {
		path := writeXLSXParts(t, "cut.xlsx", nil, func(b *bytes.Buffer, _ func()) {
			b.WriteString(`<sheetData>` + xlsxHeader + xlsxGood + `<row r="3"><c r="A3" t="inlineStr"><is><t>p3</t>`)
		})
		if fe := refused(t, path, testOptions()); fe.Line != 3 {
			t.Errorf("%v, want line 3", fe)
		}
	})
	t.Run("formula-without-value", func(t *testing.T) {
		rows := xlsxGood +
			`<row r="3">` + strings.TrimSuffix(strings.TrimPrefix(inlineRow(3, "p3", "PHQ9", "2026-01-05"), `<row r="3">`), `</row>`) +
			`<c r="D3"><f>SUM(E3:M3)</f></c></row>` +
			`<row r="4"><c r="A4"><f>A3</f></c></row>` + // the only cell of the row: never skipped
			inlineRow(5, "p5", "GAD7", "2026-01-05", "21")
		r, fs, _ := accepted(t, sheetRows(t, "formulas.xlsx", xlsxHeader+rows, nil), testOptions())
		want := map[int]string{3: "total: " + ReasonUncalculatedFormula, 4: "patient_id: " + ReasonUncalculatedFormula}
		if got := reasonsByLine(fs); r.RowsRead != 4 || r.Accepted != 2 || !reflect.DeepEqual(got, want) {
			t.Errorf("report %+v findings %v, want 4 rows read, 2 accepted, %v", *r, got, want)
		}
	})
}

// TestHostileQuarantineRawDeclaredOnly: the raw row kept for a quarantined row of a mapped
// file holds the columns the map reads, never those it drops (name, SSN, e-mail, birth date)
// nor those other_columns = "drop" leaves out.
func TestHostileQuarantineRawDeclaredOnly(t *testing.T) {
	m := writeTemp(t, "map.toml", []byte(`drop = ["Name", "SSN", "Email", "DOB"]
other_columns = "drop"
[columns]
patient_id = "id"
date = "visit"
instrument = "form"
total = "score"
`))
	in := writeTemp(t, "export.csv", []byte("Name,id,SSN,visit,Email,form,score,DOB,notes\n"+
		"Jane Doe,p1,123-45-6789,2026-01-05,jane@example.org,PHQ9,99,1980-05-12,call her at home\n"+
		"John Roe,p2,987-65-4321,2026-01-06,john@example.org,GAD7,5,1975-01-02,no answer\n"))
	opt := testOptions()
	opt.Map = m
	r, fs, w := accepted(t, in, opt)
	if r.RowsRead != 2 || r.Accepted != 1 || len(fs) != 1 || fs[0].Reason != ReasonOutOfRange {
		t.Fatalf("report %+v findings %v", *r, fs)
	}
	var raw string
	if err := w.DB().QueryRow(`SELECT string_agg(raw, '|') FROM quarantine WHERE file = ?`, in).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if raw != "p1,2026-01-05,PHQ9,99" {
		t.Errorf("quarantine raw %q, want the declared columns only: p1,2026-01-05,PHQ9,99", raw)
	}
	for _, secret := range []string{"Jane", "6789", "jane@", "1980", "call her"} {
		if strings.Contains(raw, secret) {
			t.Errorf("quarantine raw holds a dropped value %q", secret)
		}
	}
}

// styledBook writes a workbook whose first cell under the header is the number id shown in
// number format code (xl/styles.xml: cell style 1 uses custom format 164).
func styledBook(t *testing.T, code, id string) string {
	t.Helper()
	parts := map[string]string{
		"xl/_rels/workbook.xml.rels": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>`,
		"xl/styles.xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="164" formatCode="` + code + `"/></numFmts><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"/></cellXfs></styleSheet>`,
	}
	rows := xlsxHeader + `<row r="2"><c r="A2" s="1"><v>` + id + `</v></c>` +
		strings.TrimPrefix(inlineRow(2, "", "PHQ9", "2026-01-05", "13"), `<row r="2">`)
	return sheetRows(t, "styled.xlsx", rows, parts)
}

// TestHostileIdentifierEvasions: identifiers written so that the first guard missed them.
// Each file is refused whole, naming the line and column and never the value, before any of
// its rows is quarantined (so no identifier reaches the quarantine table's raw rows: the
// warehouse is unchanged).
func TestHostileIdentifierEvasions(t *testing.T) {
	ok := arow("p0", "c1", "PHQ9", "2026-01-05", phqItems, "")
	bad := func(pid, clinic, total string) string {
		return arow(pid, clinic, "PHQ9", "2026-01-05", nil, total)
	}
	for _, tc := range []struct {
		name, row, column, secret string
	}{
		{"ssn-spaces", bad("p1", "123 45 6789", "13"), "clinic_id (SSN)", "6789"},
		{"ssn-dots", bad("p1", "123.45.6789", "13"), "clinic_id (SSN)", "6789"},
		{"ssn-bare-in-a-score", bad("p1", "c1", "123456789"), "total (SSN)", "6789"},
		{"ssn-full-width-digits", bad("p1", "１２３-４５-６７８９", "13"), "clinic_id (SSN)", "６７８９"},
		{"ssn-no-break-spaces", bad("p1", "123\u00a045\u00a06789", "13"), "clinic_id (SSN)", "6789"},
		{"ssn-en-dashes", bad("p1", "123–45–6789", "13"), "clinic_id (SSN)", "6789"},
		{"phone-e164", bad("+15551234567", "c1", "13"), "patient_id (phone number)", "4567"},
		{"phone-uk", bad("p1", "020 7946 0958", "13"), "clinic_id (phone number)", "0958"},
		{"phone-france", bad("p1", "06 12 34 56 78", "13"), "clinic_id (phone number)", "56 78"},
		{"phone-bare-in-a-score", bad("p1", "c1", "5551234567"), "total (phone number)", "4567"},
		{"email-non-ascii", bad("josé@exämple.com", "c1", "13"), "patient_id (e-mail address)", "josé"},
		{"email-full-width", bad("p1", "ｊａｎｅ＠ｅｘａｍｐｌｅ．ｏｒｇ", "13"), "clinic_id (e-mail address)", "ｊａｎｅ"},
		{"name-in-id", bad("smith_john_01", "c1", "13"), "patient_id (person's name)", "smith"},
		{"birth-date-in-id", bad("P-1980-05-12", "c1", "13"), "patient_id (date)", "1980"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The bad row comes after a row that is quarantined (no items, no total): the
			// file is refused before that row is stored.
			path := csvFile(t, ok, arow("p9", "c1", "PHQ9", "2026-01-05", nil, ""), tc.row)
			fe := refused(t, path, testOptions(), tc.secret)
			if fe.Line != 4 || fe.Column != tc.column || !strings.Contains(fe.Reason, "refused") {
				t.Errorf("%v, want line 4 column %s", fe, tc.column)
			}
		})
	}
	// Header spellings in a mapped file that drops the columns it does not declare: each
	// names an identifier and is refused unless the map drops it by name.
	for _, h := range []string{"DateOfBirth", "D.O.B.", "PatientName", "SSN#", "Medical Record #", "NHS Number",
		"fecha de nacimiento", "nom", "Geburtsdatum", "e\u200bmail", "First\u00a0Name", "first\tname", "ＤＯＢ"} {
		t.Run("header/"+h, func(t *testing.T) {
			m := writeTemp(t, "map.toml", []byte("other_columns = \"drop\"\n[columns]\npatient_id = \"id\"\ndate = \"visit\"\ninstrument = \"form\"\ntotal = \"score\"\n"))
			quoted := `"` + h + `"`
			in := writeTemp(t, "export.csv", []byte("id,visit,form,score,"+quoted+"\np1,2026-01-05,PHQ9,13,x\n"))
			opt := testOptions()
			opt.Map = m
			fe := refused(t, in, opt)
			if fe.Line != 1 || !strings.Contains(fe.Reason, "names direct identifiers") {
				t.Errorf("%v, want the header refused", fe)
			}
		})
	}
	// A number that its cell's format displays as an SSN or a phone number, in the patient id
	// column, where the number alone would be an id.
	for _, tc := range []struct{ code, id, column string }{
		{"000-00-0000", "123456789", "patient_id (SSN as the cell's number format displays it)"},
		{"[&lt;=9999999]###-####;(###) ###-####", "5551234567", "patient_id (phone number as the cell's number format displays it)"},
	} {
		t.Run("xlsx-format/"+tc.code, func(t *testing.T) {
			fe := refused(t, styledBook(t, tc.code, tc.id), testOptions(), tc.id[5:])
			if fe.Line != 2 || fe.Column != tc.column {
				t.Errorf("%v, want line 2 column %s", fe, tc.column)
			}
		})
	}
}

// TestHostileIdentifierFalsePositives: what the wider guard must still accept — numeric
// patient and clinic ids of nine or ten digits, the names of things (site_name,
// instrument_name) mapped to the clinic and the instrument, a numeric id shown by a plain
// number format, and a synthetic cohort.
func TestHostileIdentifierFalsePositives(t *testing.T) {
	t.Run("numeric-ids", func(t *testing.T) {
		path := csvFile(t,
			arow("100000123", "123456789", "PHQ9", "2026-01-05", phqItems, ""),
			arow("5551234567", "c1", "PHQ9", "2026-01-05", phqItems, ""),
			arow("123456789012", "0201234567", "GAD7", "2026-01-05", gadItems, "21"))
		if r, fs, _ := accepted(t, path, testOptions()); r.Accepted != 3 {
			t.Errorf("report %+v findings %v", *r, fs)
		}
	})
	t.Run("names-of-things", func(t *testing.T) {
		m := writeTemp(t, "map.toml", []byte(`other_columns = "drop"
[columns]
patient_id = "record_id"
clinic_id = "site_name"
instrument = "instrument_name"
date = "visit_date"
total = "score"
`))
		in := writeTemp(t, "export.csv", []byte("record_id,redcap_event_name,site_name,clinic_name,instrument_name,visit_date,score\n"+
			"r001,baseline_arm_1,North Clinic,North,PHQ9,2026-01-05,13\nr002,week4_arm_1,South Clinic,South,GAD7,2026-01-06,5\n"))
		opt := testOptions()
		opt.Map = m
		r, fs, w := accepted(t, in, opt)
		if r.Accepted != 2 {
			t.Errorf("report %+v findings %v", *r, fs)
		}
		if n := count(t, w, `SELECT count(*) FROM assessments WHERE clinic_id IN ('North Clinic', 'South Clinic')`); n != 2 {
			t.Errorf("%d rows with the site name as clinic, want 2", n)
		}
	})
	t.Run("xlsx-plain-number-format", func(t *testing.T) {
		if r, fs, _ := accepted(t, styledBook(t, "000000000", "100000123"), testOptions()); r.Accepted != 1 {
			t.Errorf("report %+v findings %v", *r, fs)
		}
	})
	t.Run("synthetic-cohort", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := synth.Write(dir, synth.Config{Patients: 300, Seed: 7}); err != nil {
			t.Fatal(err)
		}
		reps, _, err := Validate(context.Background(), []string{filepath.Join(dir, "assessments.csv"), filepath.Join(dir, "sessions.csv")}, testOptions())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range reps {
			if r.RowsRead == 0 || r.Quarantined != 0 {
				t.Errorf("%s: %+v", filepath.Base(r.Path), *r)
			}
		}
	})
}

// TestHostileCROnlyLineEnds: a CSV file with classic Mac OS line ends (CR alone) used to be
// read as one line, its data becoming header names, and the error then echoed a value
// ("column 123-45-6789: column named twice"). Now its lines are read as lines.
func TestHostileCROnlyLineEnds(t *testing.T) {
	rows := []string{canonicalHeader,
		arow("p1", "c1", "PHQ9", "2026-01-05", phqItems, ""),
		arow("p2", "c1", "GAD7", "2026-01-05", gadItems, "21"),
		arow("p3", "c2", "PHQ9", "2026-01-06", phqItems, "13")}
	r, fs, _ := accepted(t, writeTemp(t, "mac.csv", []byte(strings.Join(rows, "\r")+"\r")), testOptions())
	if r.RowsRead != 3 || r.Accepted != 3 || len(fs) != 0 {
		t.Errorf("report %+v findings %v, want 3 rows accepted", *r, fs)
	}
	data := "patient_id,clinic_id,instrument,day,total\rp1,123-45-6789,PHQ9,0,7\rp2,123-45-6789,GAD7,1,5\r"
	fe := refused(t, writeTemp(t, "mac-ssn.csv", []byte(data)), testOptions(), "6789")
	if fe.Line != 2 || fe.Column != "clinic_id (SSN)" {
		t.Errorf("%v, want line 2 column clinic_id (SSN)", fe)
	}
}

// TestHostileMillionFieldRow: one row of a million fields (a 2 MB file) used to abort ingest
// and validate with "fatal error: runtime: out of memory" (exit 2): the staging slab was
// sized rows × fields. It runs in a child process, so that a crash is a failure of this test
// rather than of the test binary; the child reports what it read and its peak heap.
func TestHostileMillionFieldRow(t *testing.T) {
	if path := os.Getenv("KAPSTAT_MILLION_FIELDS"); path != "" {
		var reps []*FileReport
		var fs []Finding
		var err error
		peak, _ := peakHeap(func() { reps, fs, err = Validate(context.Background(), []string{path}, testOptions()) })
		if err != nil {
			fmt.Printf("error %v\n", err)
			return
		}
		r := reps[0]
		fmt.Printf("read %d accepted %d quarantined %d\n", r.RowsRead, r.Accepted, r.Quarantined)
		for _, f := range fs {
			fmt.Printf("finding %d %s (%s) raw %d bytes\n", f.Line, f.Reason, f.Detail, len(f.Raw))
		}
		fmt.Printf("peak heap %d MB\n", peak>>20)
		return
	}
	wide := arow("p1", "c1", "PHQ9", "2026-01-05", phqItems, "") + strings.Repeat(",7", 1_000_000-25)
	path := csvFile(t, arow("p0", "c1", "GAD7", "2026-01-05", gadItems, "21"), wide, arow("p2", "c1", "PHQ9", "2026-01-05", phqItems, "13"))
	cmd := exec.Command(os.Args[0], "-test.run=^TestHostileMillionFieldRow$", "-test.v")
	cmd.Env = append(os.Environ(), "KAPSTAT_MILLION_FIELDS="+path)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	t0 := time.Now()
	err := cmd.Run()
	t.Logf("child: %v in %v\n%s", err, time.Since(t0).Round(time.Millisecond), out.String())
	if err != nil {
		t.Fatalf("child failed (exit %d): %.600s", cmd.ProcessState.ExitCode(), errb.String())
	}
	// The raw row of the wide line keeps the fields under the header's 25 columns only.
	rawLen := len(strings.Join(strings.Split(wide, ",")[:25], ","))
	for _, want := range []string{
		"read 3 accepted 2 quarantined 1\n",
		fmt.Sprintf("finding 3 %s (1000000 fields, header has 25) raw %d bytes\n", ReasonMalformed, rawLen),
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("child output lacks %q", want)
		}
	}
	var peak int
	if i := strings.Index(out.String(), "peak heap "); i >= 0 {
		fmt.Sscanf(out.String()[i:], "peak heap %d MB", &peak)
	}
	if peak > 100 {
		t.Errorf("peak heap +%d MB for a 2 MB row, want < 100 MB", peak)
	}
}

// TestHostileLongLines: one line of a gigabyte used to take 3.3 GB, and a quote that never
// closes made encoding/csv gather the rest of the file into one record. Both are refused at
// a bounded size, naming the line, with a heap that stays small.
func TestHostileLongLines(t *testing.T) {
	ok := arow("p1", "c1", "PHQ9", "2026-01-05", phqItems, "")
	t.Run("line", func(t *testing.T) {
		long := arow("p2", strings.Repeat("x", 20<<20), "PHQ9", "2026-01-05", phqItems, "")
		path := csvFile(t, ok, long, ok)
		var fe *FileError
		peak, _ := peakHeap(func() { fe = refused(t, path, testOptions()) })
		t.Logf("%v; peak heap +%d MB", fe, peak>>20)
		if fe.Line != 3 || !strings.Contains(fe.Reason, "a line longer than 16 MiB") {
			t.Errorf("%v, want line 3: a line longer than 16 MiB", fe)
		}
		if peak > 120<<20 {
			t.Errorf("peak heap +%d MB for a 20 MB line", peak>>20)
		}
	})
	t.Run("unclosed-quote", func(t *testing.T) {
		var b strings.Builder
		b.WriteString(canonicalHeader + "\n" + ok + "\n" + `"p2` + "\n")
		for b.Len() < 48<<20 {
			b.WriteString(ok + "\n")
		}
		path := writeTemp(t, "open-quote.csv", []byte(b.String()))
		var fe *FileError
		peak, _ := peakHeap(func() { fe = refused(t, path, testOptions()) })
		t.Logf("%v; peak heap +%d MB", fe, peak>>20)
		if fe.Line != 3 || !strings.Contains(fe.Reason, "a record longer than 1 MiB") {
			t.Errorf("%v, want line 3: a record longer than 1 MiB", fe)
		}
		if peak > 64<<20 {
			t.Errorf("peak heap +%d MB for a 48 MB file with an open quote", peak>>20)
		}
	})
}

// TestHostileXLSXSharedStrings: the shared strings part is held for the whole reading, so it
// is bounded: inflated size (from the zip directory, before anything is read), number of
// strings, and the size of one string. A 2.5 MB workbook used to take 10 minutes and 4 GB.
func TestHostileXLSXSharedStrings(t *testing.T) {
	rels := `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>`
	sheet := sheetHead + `<sheetData><row r="1"><c t="s"><v>0</v></c></row></sheetData></worksheet>`
	for _, tc := range []struct {
		name   string
		size   int    // bytes of <si> elements to write
		si     string // the repeated element
		reason string
	}{
		{"inflates-past-64MiB", 80 << 20, "<si><t>patient_id</t></si>", "shared strings inflate to"},
		{"too-many-strings", 30 << 20, "<si/>", "more than 4194304 shared strings"},
		{"one-huge-string", 8 << 20, "x", "longer than 1048576 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeZip(t, tc.name+".xlsx", map[string]string{"xl/_rels/workbook.xml.rels": rels, "xl/worksheets/sheet1.xml": sheet},
				"xl/sharedStrings.xml", func(b *bytes.Buffer, flush func()) {
					b.WriteString(`<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`)
					if tc.si == "x" {
						b.WriteString("<si><t>")
					}
					chunk := strings.Repeat(tc.si, (1<<20)/len(tc.si))
					for n := 0; n < tc.size; n += len(chunk) {
						b.WriteString(chunk)
						flush()
					}
					if tc.si == "x" {
						b.WriteString("</t></si>")
					}
					b.WriteString(`</sst>`)
				})
			st, _ := os.Stat(path)
			var fe *FileError
			peak, took := peakHeap(func() { fe = refused(t, path, testOptions()) })
			t.Logf("%d KB file: %v in %v, peak heap +%d MB", st.Size()>>10, fe, took.Round(time.Millisecond), peak>>20)
			if !strings.Contains(fe.Reason, tc.reason) {
				t.Errorf("%v, want %q", fe, tc.reason)
			}
			if peak > 160<<20 {
				t.Errorf("peak heap +%d MB", peak>>20)
			}
			if took > 60*time.Second {
				t.Errorf("took %v", took)
			}
		})
	}
}

// TestHostileXLSXHiddenFirstSheet: the first sheet of the workbook is hidden (or very
// hidden): the first visible one is read, as a user opening the workbook sees it.
func TestHostileXLSXHiddenFirstSheet(t *testing.T) {
	for _, state := range []string{"hidden", "veryHidden"} {
		t.Run(state, func(t *testing.T) {
			parts := map[string]string{
				"xl/workbook.xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Old" sheetId="1" state="` + state + `" r:id="rId1"/><sheet name="Data" sheetId="2" r:id="rId2"/></sheets></workbook>`,
				"xl/_rels/workbook.xml.rels": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet2.xml"/></Relationships>`,
				"xl/worksheets/sheet2.xml": sheetHead + `<sheetData>` + xlsxHeader + xlsxGood + inlineRow(3, "p2", "GAD7", "2026-01-06", "4") + `</sheetData></worksheet>`,
			}
			// The hidden sheet: an old layout a canonical read would refuse.
			path := sheetRows(t, "hidden.xlsx", inlineRow(1, "id", "notes")+inlineRow(2, "x", "old"), parts)
			r, fs, _ := accepted(t, path, testOptions())
			if r.RowsRead != 2 || r.Accepted != 2 {
				t.Errorf("report %+v findings %v, want the visible sheet's 2 rows", *r, fs)
			}
		})
	}
}
