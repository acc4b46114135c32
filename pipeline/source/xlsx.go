package source

import (
	"archive/zip"
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

// Limits on what a workbook may inflate to. Worksheets larger than the XML limit are streamed
// from a temporary file by excelize; every other part is held in memory, so a part that
// claims more than maxPartSize (a zip bomb hidden in an unused part) refuses the file.
const (
	maxUnzipped = 8 << 30  // all parts together
	maxPartSize = 16 << 20 // any part but a worksheet or the shared strings
	xmlInMemory = 16 << 20 // a worksheet larger than this is read from a temporary file
)

// checkZip refuses a workbook whose non-worksheet parts claim more than maxPartSize, before
// excelize reads them. archive/zip stops reading a part at its declared size, so a part
// cannot inflate past what this check saw.
func checkZip(path string) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return &FileError{Path: path, Reason: "not a readable XLSX workbook: " + err.Error()}
	}
	defer zr.Close()
	var total uint64
	for _, zf := range zr.File {
		total += zf.UncompressedSize64
		if !strings.HasPrefix(zf.Name, "xl/worksheets/") && zf.Name != "xl/sharedStrings.xml" && zf.UncompressedSize64 > maxPartSize {
			return &FileError{Path: path, Reason: fmt.Sprintf("refused: workbook part %q inflates to %d bytes (more than %d)", zf.Name, zf.UncompressedSize64, maxPartSize)}
		}
	}
	if total > maxUnzipped {
		return &FileError{Path: path, Reason: fmt.Sprintf("refused: the workbook inflates to %d bytes (more than %d)", total, uint64(maxUnzipped))}
	}
	return nil
}

func openXLSX(path, sheet string) (*xlsxSource, error) {
	if err := checkZip(path); err != nil {
		return nil, err
	}
	f, err := excelize.OpenFile(path, excelize.Options{RawCellValue: true, UnzipSizeLimit: maxUnzipped, UnzipXMLSizeLimit: xmlInMemory})
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
