package reports

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// builtinFormats names the built-in number formats excelize may pick for a custom code.
var builtinFormats = map[int]string{0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00", 9: "0%", 10: "0.00%", 49: "@"}

// Dump reopens an .xlsx and lists every non-empty cell as "Sheet!B3 = value | numfmt", sheets in
// workbook order, then rows and columns in order. Values are raw (unformatted), so a golden
// file of the dump pins both the numbers and how they are shown.
func Dump(path string) (string, error) {
	f, err := excelize.OpenFile(path, excelize.Options{RawCellValue: true})
	if err != nil {
		return "", err
	}
	defer f.Close()
	var b strings.Builder
	for _, sheet := range f.GetSheetList() {
		rows, err := f.GetRows(sheet)
		if err != nil {
			return "", fmt.Errorf("dump %s: %w", sheet, err)
		}
		for r, row := range rows {
			for c, v := range row {
				if v == "" {
					continue
				}
				ref, _ := excelize.CoordinatesToCellName(c+1, r+1)
				format, err := numFmt(f, sheet, ref)
				if err != nil {
					return "", err
				}
				fmt.Fprintf(&b, "%s!%s = %s | %s\n", sheet, ref, v, format)
			}
		}
	}
	return b.String(), nil
}

func numFmt(f *excelize.File, sheet, ref string) (string, error) {
	id, err := f.GetCellStyle(sheet, ref)
	if err != nil {
		return "", err
	}
	st, err := f.GetStyle(id)
	if err != nil {
		return "", err
	}
	if st.CustomNumFmt != nil {
		return *st.CustomNumFmt, nil
	}
	if s, ok := builtinFormats[st.NumFmt]; ok {
		return s, nil
	}
	return "numfmt " + strconv.Itoa(st.NumFmt), nil
}
