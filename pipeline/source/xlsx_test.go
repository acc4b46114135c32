package source

import (
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
