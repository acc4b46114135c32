package source

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// xlsxSource streams one worksheet of a workbook. Cells are read raw (no number format
// applied); a formula cell gives its cached value and is never evaluated. Rows are padded to
// the header's width (the format leaves trailing blank cells out), and rows with no value at
// all are skipped, as blank lines of a CSV file are.
type xlsxSource struct {
	path     string
	f        *excelize.File
	rows     *excelize.Rows
	hdr      []string
	row      int
	buf      []string
	date1904 bool
}

func openXLSX(path, sheet string) (*xlsxSource, error) {
	f, err := excelize.OpenFile(path, excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, &FileError{Path: path, Reason: "not a readable XLSX workbook: " + err.Error()}
	}
	s := &xlsxSource{path: path, f: f}
	if sheet == "" {
		list := f.GetSheetList()
		if len(list) == 0 {
			f.Close()
			return nil, &FileError{Path: path, Reason: "the workbook has no worksheet"}
		}
		sheet = list[0]
	} else if idx, err := f.GetSheetIndex(sheet); err != nil || idx < 0 {
		f.Close()
		return nil, &FileError{Path: path, Reason: fmt.Sprintf("the workbook has no sheet named %q (sheets: %s)",
			sheet, strings.Join(f.GetSheetList(), ", "))}
	}
	if p, err := f.GetWorkbookProps(); err == nil && p.Date1904 != nil {
		s.date1904 = *p.Date1904
	}
	if s.rows, err = f.Rows(sheet); err != nil {
		f.Close()
		return nil, &FileError{Path: path, Reason: fmt.Sprintf("sheet %q: %v", sheet, err)}
	}
	_, hdr, err := s.next()
	if err != nil {
		s.close()
		if err == io.EOF {
			return nil, &FileError{Path: path, Reason: fmt.Sprintf("sheet %q is empty: no header", sheet)}
		}
		return nil, err
	}
	s.hdr = append([]string(nil), hdr...)
	return s, nil
}

func (s *xlsxSource) header() []string { return s.hdr }

func (s *xlsxSource) progress() (int64, int64) { return int64(s.row), -1 }

func (s *xlsxSource) next() (int, []string, error) {
	for s.rows.Next() {
		s.row++
		cells, err := s.rows.Columns()
		if err != nil {
			return 0, nil, &FileError{Path: s.path, Line: s.row, Reason: "unreadable row: " + err.Error()}
		}
		blank := true
		for _, c := range cells {
			if c != "" {
				blank = false
				break
			}
		}
		if blank {
			continue
		}
		for len(cells) > len(s.hdr) && len(s.hdr) > 0 && cells[len(cells)-1] == "" {
			cells = cells[:len(cells)-1]
		}
		s.buf = append(s.buf[:0], cells...)
		for len(s.buf) < len(s.hdr) {
			s.buf = append(s.buf, "")
		}
		return s.row, s.buf, nil
	}
	if err := s.rows.Error(); err != nil {
		return 0, nil, &FileError{Path: s.path, Line: s.row + 1, Reason: "unreadable row: " + err.Error()}
	}
	return 0, nil, io.EOF
}

// date turns an Excel serial day number into YYYY-MM-DD; other text is returned unchanged.
func (s *xlsxSource) date(v string) string {
	if v == "" || !(isDigit(v[0])) {
		return v
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || x < 1 || x > 2958465 {
		return v
	}
	t, err := excelize.ExcelDateToTime(x, s.date1904)
	if err != nil {
		return v
	}
	return t.Format("2006-01-02")
}

func (s *xlsxSource) close() error {
	if s.rows != nil {
		s.rows.Close()
	}
	return s.f.Close()
}
