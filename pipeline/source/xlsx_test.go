package source

import (
	"archive/zip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// writeXLSX writes a workbook whose sheets hold the given cells (sheet → cell → value; a value
// starting with "=" is a formula, written with the cached value after "|").
func writeXLSX(t *testing.T, sheets []string, cells map[string]map[string]any) string {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, s := range sheets {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", s); err != nil {
				t.Fatal(err)
			}
		} else if _, err := f.NewSheet(s); err != nil {
			t.Fatal(err)
		}
		for ref, v := range cells[s] {
			if str, ok := v.(string); ok && strings.HasPrefix(str, "=") {
				formula, cached, _ := strings.Cut(str[1:], "|")
				var value any = cached // a number is stored as a number, as a workbook caches it
				if n, err := strconv.Atoi(cached); err == nil {
					value = n
				}
				if err := f.SetCellValue(s, ref, value); err != nil {
					t.Fatal(err)
				}
				if err := f.SetCellFormula(s, ref, formula); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if err := f.SetCellValue(s, ref, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	p := filepath.Join(t.TempDir(), "book.xlsx")
	if err := f.SaveAs(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestXLSXCanonical(t *testing.T) {
	p := writeXLSX(t, []string{"Scores", "Other"}, map[string]map[string]any{
		"Scores": {
			"A1": "patient_id", "B1": "instrument", "C1": "date", "D1": "item_1", "E1": "total",
			// a date cell (stored as the serial 45717 with a date format) and a ragged row
			"A2": "p1", "B2": "PHQ9", "C2": time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), "D2": 1,
			// a formula whose cached value (7) is read, not evaluated (which would give 2)
			"A3": "p2", "B3": "GAD7", "C3": "2025-03-02", "E3": "=1+1|7",
			// row 4 is blank and skipped; row 5 has a formula linking another workbook
			"A5": "p3", "B5": "PCL5", "C5": 45718, "E5": "=[1]Sheet1!A1|40",
		},
		"Other": {"A1": "ignored"},
	})
	r, rows, err := readAll(t, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind() != KindAssessments || strings.Join(r.Header(), "|") != "patient_id|instrument|date|item_1|total" {
		t.Errorf("kind %q header %q", r.Kind(), r.Header())
	}
	equalRows(t, rows, []row{
		{2, "p1|PHQ9|2025-03-01|1|"},
		{3, "p2|GAD7|2025-03-02||7"},
		{5, "p3|PCL5|2025-03-02||40"},
	})
}

func TestXLSXNamedSheet(t *testing.T) {
	p := writeXLSX(t, []string{"Notes", "Export"}, map[string]map[string]any{
		"Notes":  {"A1": "exported from the clinic system"},
		"Export": {"A1": "ID", "B1": "Visit", "C1": "PHQ total", "A2": "x1", "B2": 45717, "C2": "=SUM(D2:L2)|12", "A3": "x2", "B3": "03/04/2025", "C3": 9.0},
	})
	m, err := parseMap("m.toml", `
sheet = "Export"
date_format = "01/02/2006"
[columns]
patient_id = "ID"
date = "Visit"
[[instruments]]
name = "PHQ9"
total = "PHQ total"
`)
	if err != nil {
		t.Fatal(err)
	}
	r, rows, err := readAll(t, p, m)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.Header(), "|"); got != "patient_id|instrument|date|total" {
		t.Errorf("header %q", got)
	}
	equalRows(t, rows, []row{{2, "x1|PHQ9|2025-03-01|12"}, {3, "x2|PHQ9|2025-03-04|9"}})

	m.Sheet = "Missing"
	_, _, err = readAll(t, p, m)
	if fe := fileError(t, err); !strings.Contains(fe.Reason, `no sheet named "Missing" (sheets: Notes, Export)`) {
		t.Errorf("reason %q", fe.Reason)
	}
}

func TestXLSXErrors(t *testing.T) {
	_, _, err := readAll(t, writeFile(t, "a.xlsx", "not a zip"), nil)
	if fe := fileError(t, err); !strings.Contains(fe.Reason, "not a readable XLSX") {
		t.Errorf("reason %q", fe.Reason)
	}
	p := writeXLSX(t, []string{"Empty"}, nil)
	_, _, err = readAll(t, p, nil)
	if fe := fileError(t, err); !strings.Contains(fe.Reason, "empty") {
		t.Errorf("reason %q", fe.Reason)
	}
}

// The parts of a minimal workbook around one worksheet, for sheets written as XML by hand.
var bookParts = map[string]string{
	"[Content_Types].xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>`,
	"_rels/.rels": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
	"xl/workbook.xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>`,
	"xl/_rels/workbook.xml.rels": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>`,
}

// writeBook writes a workbook of bookParts whose worksheet has the sheet data body (rows,
// written by hand, without <sheetData>), with parts overriding or adding to bookParts.
func writeBook(t *testing.T, body string, parts map[string]string) string {
	t.Helper()
	all := map[string]string{"xl/worksheets/sheet1.xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>` + body + `</sheetData></worksheet>`}
	for k, v := range bookParts {
		all[k] = v
	}
	for k, v := range parts {
		all[k] = v
	}
	p := filepath.Join(t.TempDir(), "book.xlsx")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	for _, name := range sortedKeys(all) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(all[name]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// xrow is a worksheet row r of inline-string cells from column A; "" leaves a cell out, and a
// value starting with "<" is written as the cell's XML as it is.
func xrow(r int, vals ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<row r="%d">`, r)
	for i, v := range vals {
		switch {
		case v == "":
		case strings.HasPrefix(v, "<"):
			b.WriteString(v)
		default:
			fmt.Fprintf(&b, `<c r="%c%d" t="inlineStr"><is><t>%s</t></is></c>`, 'A'+i, r, v)
		}
	}
	return b.String() + `</row>`
}

var xhead = xrow(1, "patient_id", "instrument", "day", "item_1", "total")

// TestXLSXMalformedXML: an XML fault part-way through a worksheet stops the file with an
// error naming the row where it is, never quoting the file; the rows before it were read.
func TestXLSXMalformedXML(t *testing.T) {
	good := xhead + xrow(2, "p1", "PHQ9", "0", "", "7")
	for _, tc := range []struct {
		name, body string
		line       int
		reason     string
	}{
		{"unescaped ampersand", good + xrow(3, "p2", "GAD7", "0", "", "a & b"), 3, "malformed XML"},
		{"undefined entity", good + xrow(3, "p2", "GAD7", "0", "", "&secretentity;"), 3, "malformed XML"},
		{"junk text between rows", good + "junk" + xrow(3, "p2", "GAD7", "0", "", "5"), 3, "text between rows"},
		{"unknown element between rows", good + "<note>x</note>" + xrow(3, "p2", "GAD7", "0", "", "5"), 3, "an element other than a row"},
		{"markup junk between rows", good + "<<<" + xrow(3, "p2", "GAD7", "0", "", "5"), 3, "malformed XML"},
		{"text between cells", good + `<row r="3">x<c r="A3"><v>1</v></c></row>`, 3, "text between the cells"},
		{"element inside a value", good + `<row r="3"><c r="A3"><v>1<b/></v></c></row>`, 3, "inside the value"},
		{"shared string not in the workbook", good + `<row r="3"><c r="A3" t="s"><v>7</v></c></row>`, 3, "shared string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, rows, err := readAll(t, writeBook(t, tc.body, nil), nil)
			fe := fileError(t, err)
			if fe.Line != tc.line || !strings.Contains(fe.Reason, tc.reason) {
				t.Errorf("line %d reason %q; want line %d, a reason with %q", fe.Line, fe.Reason, tc.line, tc.reason)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error quotes the file: %v", err)
			}
			equalRows(t, rows, []row{{2, "p1|PHQ9|0||7"}})
		})
	}
	// A worksheet cut off inside its data (the part ends in the middle of a row).
	p := writeZipParts(t, map[string]string{"xl/worksheets/sheet1.xml": `<?xml version="1.0" encoding="UTF-8"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>` + good + `<row r="3"><c r="A3" t="inlineStr"><is><t>p2</t>`})
	_, rows, err := readAll(t, p, nil)
	if fe := fileError(t, err); fe.Line != 3 || !strings.Contains(fe.Reason, "unreadable worksheet") {
		t.Errorf("truncated sheet: %v, want line 3", fe)
	}
	equalRows(t, rows, []row{{2, "p1|PHQ9|0||7"}})
}

// writeZipParts writes bookParts with the given parts over them (no sheet of writeBook's).
func writeZipParts(t *testing.T, parts map[string]string) string {
	t.Helper()
	all := map[string]string{}
	for k, v := range bookParts {
		all[k] = v
	}
	for k, v := range parts {
		all[k] = v
	}
	p := filepath.Join(t.TempDir(), "book.xlsx")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	for _, name := range sortedKeys(all) {
		w, _ := zw.Create(name)
		w.Write([]byte(all[name]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestXLSXUncalculatedFormula: a formula cell without a stored result (as a script writes
// it) makes the row's record a problem naming the column, never an empty value, and a row
// whose only cell is such a formula is not skipped.
func TestXLSXUncalculatedFormula(t *testing.T) {
	body := xhead +
		xrow(2, "p1", "PHQ9", "0", `<c r="D2"><f>1+1</f></c>`, "7") +
		xrow(3, `<c r="A3"><f>A2</f></c>`) +
		xrow(4, "p3", "PHQ9", "0", `<c r="D4"><f>1+1</f><v>2</v></c>`, "") +
		xrow(5, "p4", "GAD7", "0", `<c r="D5" t="str"><f>""</f><v></v></c>`, "3")
	_, rows, err := readAll(t, writeBook(t, body, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	equalRows(t, rows, []row{
		{2, "!item_1: uncalculated_formula (a formula with no stored result in item_1; recalculate and save the workbook in a spreadsheet program)"},
		{3, "!patient_id: uncalculated_formula (a formula with no stored result in patient_id; recalculate and save the workbook in a spreadsheet program)"},
		{4, "p3|PHQ9|0|2|"},
		{5, "p4|GAD7|0||3"}, // a formula whose stored result is the empty string
	})

	// Through a map: only the records that read the column carry the problem; a formula in
	// a column the map drops is not read.
	m, err := parseMap("m.toml", `drop = ["note"]
[columns]
patient_id = "id"
day = "d"
[[instruments]]
name = "PHQ9"
total = "phq"
[[instruments]]
name = "GAD7"
total = "gad"
`)
	if err != nil {
		t.Fatal(err)
	}
	body = xrow(1, "id", "d", "phq", "gad", "note") +
		xrow(2, "p1", "0", `<c r="C2"><f>X1</f></c>`, `<c r="D2"><v>4</v></c>`, `<c r="E2"><f>Y1</f></c>`) +
		xrow(3, "p2", "0", `<c r="C3"><v>5</v></c>`, "", `<c r="E3"><f>Y1</f></c>`)
	_, rows, err = readAll(t, writeBook(t, body, nil), m)
	if err != nil {
		t.Fatal(err)
	}
	equalRows(t, rows, []row{
		{2, "!phq: uncalculated_formula (a formula with no stored result in phq; recalculate and save the workbook in a spreadsheet program)"},
		{2, "p1|GAD7|0|4"},
		{3, "p2|PHQ9|0|5"},
	})
}

// TestXLSXRowOrder: rows and cells must come in ascending order; going back would merge two
// rows into one (or overwrite a cell), so it stops the file instead.
func TestXLSXRowOrder(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		line       int
		reason     string
	}{
		{"row number going back", xhead + xrow(2, "p1", "PHQ9", "0", "", "7") + xrow(5, "p2", "PHQ9", "0", "", "8") + xrow(3, "p3", "PHQ9", "0", "", "9"), 3, "rows out of order: row 3 after row 5"},
		{"row number twice", xhead + xrow(2, "p1", "PHQ9", "0", "", "7") + xrow(2, "p2", "PHQ9", "0", "", "8"), 2, "rows out of order: row 2 after row 2"},
		{"cells going back", xhead + `<row r="2"><c r="C2"><v>0</v></c><c r="A2" t="inlineStr"><is><t>p1</t></is></c></row>`, 2, "cells out of order in row 2"},
		{"a cell of another row", xhead + `<row r="2"><c r="A3"><v>0</v></c></row>`, 2, "not a cell of row 2"},
		{"row number past the last", xhead + `<row r="1048577"><c><v>0</v></c></row>`, 2, "row number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readAll(t, writeBook(t, tc.body, nil), nil)
			if fe := fileError(t, err); fe.Line != tc.line || !strings.Contains(fe.Reason, tc.reason) {
				t.Errorf("line %d reason %q; want line %d, a reason with %q", fe.Line, fe.Reason, tc.line, tc.reason)
			}
		})
	}
	// Rows and cells without r follow the previous ones.
	body := xhead + `<row><c t="inlineStr"><is><t>p1</t></is></c><c t="inlineStr"><is><t>PHQ9</t></is></c><c><v>0</v></c><c/><c><v>7</v></c></row>`
	_, rows, err := readAll(t, writeBook(t, body, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	equalRows(t, rows, []row{{2, "p1|PHQ9|0||7"}})
}

// TestXLSXHiddenSheets: without a sheet named by the map, the first visible worksheet is read;
// hidden and very hidden sheets before it are skipped. A map may still name a hidden sheet.
func TestXLSXHiddenSheets(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	f.SetSheetName("Sheet1", "Hidden")
	f.NewSheet("VeryHidden")
	f.NewSheet("Data")
	for _, s := range []string{"Hidden", "VeryHidden"} {
		f.SetSheetRow(s, "A1", &[]any{"patient_id", "instrument", "day", "total"})
		f.SetSheetRow(s, "A2", &[]any{"old-" + s, "PHQ9", 0, 27})
	}
	f.SetSheetRow("Data", "A1", &[]any{"patient_id", "instrument", "day", "total"})
	f.SetSheetRow("Data", "A2", &[]any{"p1", "GAD7", 3, 5})
	f.SetActiveSheet(2)
	if err := f.SetSheetVisible("Hidden", false); err != nil {
		t.Fatal(err)
	}
	if err := f.SetSheetVisible("VeryHidden", false, true); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "hidden.xlsx")
	if err := f.SaveAs(p); err != nil {
		t.Fatal(err)
	}
	b, _ := readZipPart(t, p, "xl/workbook.xml")
	if !strings.Contains(b, `state="hidden"`) || !strings.Contains(b, `state="veryHidden"`) {
		t.Fatalf("the workbook does not hide its sheets: %s", b)
	}
	_, rows, err := readAll(t, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	equalRows(t, rows, []row{{2, "p1|GAD7|3|5"}})

	m, err := parseMap("m.toml", "sheet = \"veryhidden\"\n[columns]\npatient_id = \"patient_id\"\ninstrument = \"instrument\"\nday = \"day\"\ntotal = \"total\"\n")
	if err != nil {
		t.Fatal(err)
	}
	_, rows, err = readAll(t, p, m)
	if err != nil {
		t.Fatal(err)
	}
	equalRows(t, rows, []row{{2, "old-VeryHidden|PHQ9|0|27"}})

	// No visible worksheet at all.
	body := strings.Replace(bookParts["xl/workbook.xml"], `r:id="rId1"`, `r:id="rId1" state="hidden"`, 1)
	_, _, err = readAll(t, writeBook(t, xhead, map[string]string{"xl/workbook.xml": body}), nil)
	if fe := fileError(t, err); !strings.Contains(fe.Reason, "no visible worksheet") {
		t.Errorf("reason %q", fe.Reason)
	}
}

func readZipPart(t *testing.T, path, name string) (string, error) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, zf := range zr.File {
		if zf.Name == name {
			rc, err := zf.Open()
			if err != nil {
				return "", err
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			return string(b), err
		}
	}
	return "", fmt.Errorf("no part %s", name)
}

// TestXLSXSharedStrings: shared strings are read with their rich-text runs (phonetic runs
// left out) and _xHHHH_ escapes; a shared strings part past its limits refuses the file
// before anything is held.
func TestXLSXSharedStrings(t *testing.T) {
	sst := `<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">` +
		`<si><t>patient_id</t></si><si><t>instrument</t></si><si><t>day</t></si><si><t>total</t></si>` +
		`<si><r><rPr><b/></rPr><t>p</t></r><r><t>_x005F_1</t></r><rPh><t>ignored</t></rPh></si><si><t xml:space="preserve">PHQ9</t></si></sst>`
	s := func(i int) string { return fmt.Sprintf(`<c t="s"><v>%d</v></c>`, i) }
	body := `<row r="1">` + s(0) + s(1) + s(2) + s(3) + `</row><row r="2">` + s(4) + s(5) + `<c><v>0</v></c><c><v>9</v></c></row>`
	_, rows, err := readAll(t, writeBook(t, body, map[string]string{"xl/sharedStrings.xml": sst}), nil)
	if err != nil {
		t.Fatal(err)
	}
	equalRows(t, rows, []row{{2, "p_1|PHQ9|0|9"}})

	for _, tc := range []struct {
		name   string
		sst    string
		reason string
	}{
		{"too many strings", "<sst>" + strings.Repeat("<si/>", maxStringCount+1) + "</sst>", "more than 4194304 shared strings"},
		{"one string too long", "<sst><si><t>" + strings.Repeat("x", maxToken+1) + "</t></si></sst>", "longer than 1048576 bytes"},
		{"malformed", "<sst><si><t>a & b</t></si></sst>", "malformed XML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readAll(t, writeBook(t, xhead, map[string]string{"xl/sharedStrings.xml": tc.sst}), nil)
			if fe := fileError(t, err); !strings.Contains(fe.Reason, tc.reason) || fe.Path == "" {
				t.Errorf("%+v, want a reason with %q", fe, tc.reason)
			}
		})
	}
}

// TestXLSXDisplayedIdentifier: a number whose cell format displays it as an SSN or a phone
// number is checked as displayed, even in the patient id column (where the bare number is
// an id).
func TestXLSXDisplayedIdentifier(t *testing.T) {
	write := func(code string, id int) string {
		f := excelize.NewFile()
		defer f.Close()
		f.SetSheetRow("Sheet1", "A1", &[]any{"patient_id", "instrument", "day", "total"})
		f.SetSheetRow("Sheet1", "A2", &[]any{id, "PHQ9", 0, 7})
		st, err := f.NewStyle(&excelize.Style{CustomNumFmt: &code})
		if err != nil {
			t.Fatal(err)
		}
		f.SetCellStyle("Sheet1", "A2", "A2", st)
		p := filepath.Join(t.TempDir(), "shown.xlsx")
		if err := f.SaveAs(p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		code   string
		id     int
		column string // "" when the file is read
	}{
		{"000-00-0000", 123456789, "patient_id (SSN as the cell's number format displays it)"},
		{`000\-00\-0000`, 12345678, "patient_id (SSN as the cell's number format displays it)"},
		{"[<=9999999]###-####;(###) ###-####", 5551234567, "patient_id (phone number as the cell's number format displays it)"},
		{"+0", 15551234567, "patient_id (phone number as the cell's number format displays it)"},
		{"0", 123456789, ""},
		{"000000000", 100000123, ""},
		{"[<=9999999]###-####;(###) ###-####", 5551234, ""}, // 555-1234: seven digits are no phone number here
	} {
		t.Run(tc.code, func(t *testing.T) {
			_, rows, err := readAll(t, write(tc.code, tc.id), nil)
			if tc.column == "" {
				if err != nil || len(rows) != 1 || rows[0].Fields != fmt.Sprintf("%d|PHQ9|0|7", tc.id) {
					t.Errorf("rows %v, error %v; want the raw value read", rows, err)
				}
				return
			}
			fe := fileError(t, err)
			if fe.Line != 2 || fe.Column != tc.column {
				t.Errorf("line %d column %q, want 2 and %q", fe.Line, fe.Column, tc.column)
			}
			if strings.Contains(shown(t, err), fmt.Sprint(tc.id%10000)) {
				t.Errorf("error echoes the value: %v", err)
			}
		})
	}
}

func TestNumFormatDisplay(t *testing.T) {
	for _, tc := range []struct {
		code, v, want string // want "" when the format is not one kapstat renders
	}{
		{"000-00-0000", "123456789", "123-45-6789"},
		{"000-00-0000", "12345678", "012-34-5678"},
		{`000\-00\-0000`, "123456789", "123-45-6789"},
		{`000" "00" "0000`, "123456789", "123 45 6789"},
		{"[<=9999999]###-####;(###) ###-####", "5551234", "555-1234"},
		{"[<=9999999]###-####;(###) ###-####", "5551234567", "(555) 123-4567"},
		{"00000", "2134", "02134"},
		{"00000-0000", "21341234", "02134-1234"},
		{"###", "1234567", "1234567"}, // digits beyond the placeholders go with the first
		{"#-#", "7", "-7"},
		{"[Red]0_);(0)", "-42", "(42)"},
		{"0;-0;\"zero\"", "0", "zero"},
		{`"ID "0`, "42", "ID 42"},
		{"000-00-0000", "1.5", ""},
		{"0.00", "123456789", ""},
		{"#,##0", "123456789", ""},
		{"yyyy-mm-dd", "45000", ""},
		{"General", "123456789", ""},
		{"0%", "12", ""},
		{"@", "12", ""},
	} {
		got := ""
		if nf := compileNumFormat(tc.code); nf != nil {
			got, _ = nf.display(tc.v)
		}
		if got != tc.want {
			t.Errorf("format %q, value %s: %q, want %q", tc.code, tc.v, got, tc.want)
		}
	}
}

// TestXLSXAgreesWithExcelize: on a workbook excelize writes (shared strings, rich text,
// numbers, booleans, dates, formulas with their results, gaps between cells and rows),
// kapstat's worksheet reader gives the raw values excelize's own reader gives.
func TestXLSXAgreesWithExcelize(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "Sheet1"
	f.SetSheetRow(sheet, "A1", &[]any{"patient_id", "instrument", "date", "item_1", "item_2", "total", "note"})
	dateStyle, _ := f.NewStyle(&excelize.Style{NumFmt: 14})
	for r := 2; r <= 3000; r++ {
		if r%97 == 0 {
			continue // a gap between rows
		}
		row := []any{fmt.Sprintf("p%05d", r), []string{"PHQ9", "GAD7", "PCL5"}[r%3], time.Date(2025, 1, 1+r%300, 0, 0, 0, 0, time.UTC), r % 4, float64(r%7) + 0.25, r % 28, nil}
		switch r % 5 {
		case 0:
			row[6] = true
		case 1:
			row[6] = "x & <y> \"z\" _x0041_"
		case 2:
			row[4] = nil // a gap between cells
		}
		cell, _ := excelize.CoordinatesToCellName(1, r)
		if err := f.SetSheetRow(sheet, cell, &row); err != nil {
			t.Fatal(err)
		}
		c, _ := excelize.CoordinatesToCellName(3, r)
		f.SetCellStyle(sheet, c, c, dateStyle)
		if r%11 == 0 {
			c, _ = excelize.CoordinatesToCellName(6, r)
			f.SetCellFormula(sheet, c, "D"+fmt.Sprint(r)+"*2")
		}
		if r%13 == 0 {
			c, _ = excelize.CoordinatesToCellName(7, r)
			f.SetCellRichText(sheet, c, []excelize.RichTextRun{{Text: "rich "}, {Text: "text", Font: &excelize.Font{Bold: true}}})
		}
	}
	p := filepath.Join(t.TempDir(), "parity.xlsx")
	if err := f.SaveAs(p); err != nil {
		t.Fatal(err)
	}
	rf, err := excelize.OpenFile(p, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	rows, err := rf.Rows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]string{}
	for n := 1; rows.Next(); n++ {
		cells, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		if len(cells) > 0 {
			want[n] = strings.Join(cells, "|")
		}
	}
	rows.Close()

	s, err := openXLSX(p, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	got := map[int]string{1: strings.Join(s.header(), "|")}
	for {
		r, err := s.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		fields := r.fields
		for len(fields) > 0 && fields[len(fields)-1] == "" {
			fields = fields[:len(fields)-1] // excelize leaves trailing blanks out
		}
		got[r.line] = strings.Join(fields, "|")
	}
	if len(got) != len(want) {
		t.Errorf("%d rows, excelize reads %d", len(got), len(want))
	}
	for n, w := range want {
		if got[n] != w {
			t.Errorf("row %d: %q, excelize reads %q", n, got[n], w)
		}
	}
}
