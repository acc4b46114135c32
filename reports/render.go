package reports

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/kapstat/kapstat/pipeline"
)

// Options are the settings of one workbook.
type Options struct {
	// Audience is "internal" (everything, with the patient-level Safety sheet) or "external"
	// (no patient-level sheets, small-cell suppression).
	Audience string
	// Quarter, e.g. "2026Q3", names the reporting quarter; "" for none.
	Quarter string
	// Title heads every sheet; "" gives a default.
	Title string
	// SuppressBelow is the smallest count the external workbook shows (11: counts 1..10 hidden).
	SuppressBelow int
	// Now is the creation time written into the document properties.
	Now time.Time
	// Progress, when set, is told the steps of Write: "build", "suppress small counts"
	// (external edition), the sheets written out of their number ("sheets"), then "save"
	// while the file is written; nil draws nothing. The call convention is
	// pipeline's (pipeline/progress.go).
	Progress func(stage string, done, total int64)
}

// Write renders the analysis as an .xlsx workbook at path. The file is written under a temporary
// name in the same directory and renamed, so a reader never sees a half-written workbook.
func Write(path string, a *pipeline.Analysis, opt Options) error {
	if a == nil {
		return errors.New("report: no analysis")
	}
	switch opt.Audience {
	case "":
		opt.Audience = "internal"
	case "internal", "external":
	default:
		return fmt.Errorf("report: audience %q: want internal or external", opt.Audience)
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	if opt.SuppressBelow <= 0 {
		opt.SuppressBelow = a.Config.SuppressBelow
	}
	if opt.SuppressBelow <= 0 {
		opt.SuppressBelow = 11
	}
	if opt.Progress != nil {
		opt.Progress("build", 0, 0)
	}
	wb := build(a, opt)
	if opt.Audience == "external" {
		if opt.Progress != nil {
			opt.Progress("suppress small counts", 0, 0)
		}
		Suppress(wb.Tables(), opt.SuppressBelow)
	}
	f := excelize.NewFile()
	defer f.Close()
	f.SetZipWriter(func(w io.Writer) excelize.ZipWriter {
		return &sortedZip{zw: zip.NewWriter(w), parts: map[string]*bytes.Buffer{}}
	})
	if err := render(f, wb, opt); err != nil {
		return fmt.Errorf("report %s: %w", path, err)
	}
	if opt.Progress != nil {
		opt.Progress("save", 0, 0)
	}
	// The mode of an ordinary file under the user's umask (the internal edition lists patients).
	tmp, err := pipeline.CreateOutputTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := f.WriteTo(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("report %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("report %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("report %s: %w", path, err)
	}
	checkpoint("workbook-written")
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	removeStaleTemps(path)
	return nil
}

// checkpoint marks a point of Write where the kill test stops the process.
var checkpoint = func(string) {}

// staleTemp is how old a temporary workbook must be before a later Write of the same path
// removes it: a process killed while writing leaves its temporary file behind, while a
// concurrent Write's file is minutes old at most.
const staleTemp = time.Hour

// removeStaleTemps removes temporary workbooks of path that killed writers left behind.
func removeStaleTemps(path string) {
	old, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "."+globEscape(filepath.Base(path))+".*.tmp"))
	for _, p := range old {
		if st, err := os.Stat(p); err == nil && time.Since(st.ModTime()) > staleTemp {
			os.Remove(p)
		}
	}
}

// globEscape quotes the characters filepath.Match treats specially.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Number formats by kind.
const (
	fmtText  = "@"
	fmtCount = "#,##0"
	fmtRate  = "0.0%"
	fmtMean  = "0.0"
	fmtEst   = "0.00"
	fmtP     = "0.000"
	fmtInt   = "0"
)

type styles struct {
	title, intro, tableTitle, header, section, text, textBold, textIndent, note, mark int
	num                                                                               map[Kind]int
}

func newStyles(f *excelize.File) (*styles, error) {
	var err error
	mk := func(s *excelize.Style) int {
		if err != nil {
			return 0
		}
		var id int
		id, err = f.NewStyle(s)
		return id
	}
	str := func(s string) *string { return &s }
	top := excelize.Alignment{Vertical: "top", WrapText: true}
	st := &styles{
		title:      mk(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 14, Color: "1F4E79"}}),
		intro:      mk(&excelize.Style{Font: &excelize.Font{Size: 10, Color: "404040"}, Alignment: &top}),
		tableTitle: mk(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 12}}),
		header: mk(&excelize.Style{Font: &excelize.Font{Bold: true}, Alignment: &excelize.Alignment{Vertical: "bottom", WrapText: true},
			Fill:   excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}},
			Border: []excelize.Border{{Type: "bottom", Color: "1F4E79", Style: 1}}}),
		section:    mk(&excelize.Style{Font: &excelize.Font{Bold: true, Italic: true}, CustomNumFmt: str(fmtText)}),
		text:       mk(&excelize.Style{CustomNumFmt: str(fmtText), Alignment: &top}),
		textBold:   mk(&excelize.Style{Font: &excelize.Font{Bold: true}, CustomNumFmt: str(fmtText), Alignment: &top}),
		textIndent: mk(&excelize.Style{CustomNumFmt: str(fmtText), Alignment: &excelize.Alignment{Horizontal: "left", Vertical: "top", WrapText: true, Indent: 2}}),
		note:       mk(&excelize.Style{Font: &excelize.Font{Italic: true, Size: 9, Color: "595959"}, Alignment: &top}),
		mark:       mk(&excelize.Style{Font: &excelize.Font{Color: "595959"}, CustomNumFmt: str(fmtText), Alignment: &excelize.Alignment{Horizontal: "right", Vertical: "top"}}),
		num:        map[Kind]int{},
	}
	// In a fixed order: style ids are given out as styles are made.
	for _, k := range []struct {
		k    Kind
		code string
	}{{Count, fmtCount}, {Rate, fmtRate}, {Mean, fmtMean}, {Estimate, fmtEst}, {PValue, fmtP}, {Int, fmtInt}} {
		st.num[k.k] = mk(&excelize.Style{CustomNumFmt: str(k.code), Alignment: &excelize.Alignment{Vertical: "top"}})
	}
	return st, err
}

// grid is a laid-out sheet: cells by row, row heights, merges, widths.
type grid struct {
	rows    map[int]map[int]excelize.Cell
	heights map[int]float64
	merges  [][2]string
	widths  []float64
	freeze  int // rows frozen at the top
	// printTitles are the first and last rows repeated on every printed page.
	printTitles [2]int
	breaks      []int // rows that start a new printed page
	charts      []*Chart
}

func (g *grid) set(row, col int, c excelize.Cell) {
	if g.rows[row] == nil {
		g.rows[row] = map[int]excelize.Cell{}
	}
	g.rows[row][col] = c
}

func render(f *excelize.File, wb *Workbook, opt Options) error {
	st, err := newStyles(f)
	if err != nil {
		return err
	}
	for i, s := range wb.Sheets {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", s.Name); err != nil {
				return err
			}
		} else if _, err := f.NewSheet(s.Name); err != nil {
			return err
		}
	}
	for i, s := range wb.Sheets {
		if opt.Progress != nil {
			opt.Progress("sheets", int64(i), int64(len(wb.Sheets)))
		}
		g := layout(s, st, opt)
		if err := pageSetup(f, s, g); err != nil {
			return err
		}
		if len(g.charts) > 0 {
			if err := writeDirect(f, s, g); err != nil {
				return err
			}
			for _, c := range g.charts {
				if err := addChart(f, s, g, c); err != nil {
					return err
				}
			}
		} else if err := writeStream(f, s, g); err != nil {
			return err
		}
	}
	if opt.Progress != nil {
		opt.Progress("sheets", int64(len(wb.Sheets)), int64(len(wb.Sheets)))
	}
	f.SetActiveSheet(0)
	// excelize adds the image types to [Content_Types].xml from a map, in a random order:
	// sorted, the same workbook is the same file.
	if ct := f.ContentTypes; ct != nil {
		sort.SliceStable(ct.Defaults, func(i, j int) bool { return ct.Defaults[i].Extension < ct.Defaults[j].Extension })
	}
	created := opt.Now.UTC().Format(time.RFC3339)
	return f.SetDocProps(&excelize.DocProperties{Title: wb.Sheets[0].Title, Creator: "kapstat",
		Created: created, Modified: created, Subject: "KAP outcomes (" + opt.Audience + " edition)",
		Description: "Generated by kapstat " + versionOf(wb)})
}

func versionOf(wb *Workbook) string {
	for _, t := range wb.Tables() {
		for _, r := range t.Rows {
			if len(r.Cells) == 2 && r.Cells[0].Text == "kapstat version" {
				return r.Cells[1].Text
			}
		}
	}
	return ""
}

// sheetWidth is the number of columns of the widest table (at least 6).
func sheetWidth(s *Sheet) int {
	n := 6
	for _, b := range s.Blocks {
		if t, ok := b.(*Table); ok && len(t.Columns) > n {
			n = len(t.Columns)
		}
	}
	return n
}

// columnWidths fits each column to its contents: data cells in full (up to a cap; longer text
// wraps), headers over up to three lines.
func columnWidths(s *Sheet) []float64 {
	w := make([]float64, sheetWidth(s))
	for i := range w {
		w[i] = 8
	}
	for _, b := range s.Blocks {
		t, ok := b.(*Table)
		if !ok {
			continue
		}
		for c, col := range t.Columns {
			if t.Wide && c == len(t.Columns)-1 {
				continue
			}
			need := math.Max(col.Width, headerWidth(col.Header))
			w[c] = math.Max(w[c], need)
		}
		for _, r := range t.Rows {
			if r.Section || r.Span {
				continue
			}
			for c, cell := range r.Cells {
				if t.Wide && c == len(t.Columns)-1 {
					continue
				}
				need := float64(cellWidth(cell))
				if cell.Kind == Text {
					need = math.Min(need, 60)
					if c < len(t.Columns) && t.Columns[c].Width > 0 {
						need = math.Min(need, t.Columns[c].Width)
					}
				}
				w[c] = math.Max(w[c], need)
			}
		}
	}
	for i := range w {
		w[i] += 2
	}
	return w
}

func headerWidth(h string) float64 {
	longest := 0
	for _, word := range strings.Fields(h) {
		longest = max(longest, utf8.RuneCountInString(word))
	}
	return math.Max(float64(longest), math.Ceil(float64(utf8.RuneCountInString(h))/3))
}

func cellWidth(c Cell) int {
	if c.Kind == Text || c.Text != "" {
		return utf8.RuneCountInString(c.Text)
	}
	switch c.Kind {
	case Count:
		return len(fmt.Sprintf("%.0f", c.Value)) + len(fmt.Sprintf("%.0f", c.Value))/3
	case Rate:
		return 6
	case PValue:
		return 6
	}
	return len(fmt.Sprintf("%.2f", c.Value))
}

// textHeight estimates the height in points of text wrapped over width characters.
func textHeight(s string, width float64, size float64) float64 {
	lines := 0.0
	for _, para := range strings.Split(s, "\n") {
		lines += math.Max(1, math.Ceil(float64(utf8.RuneCountInString(para))*1.1/width))
	}
	return lines*size*1.35 + 3
}

// wrapLines counts the lines of s wrapped at width characters, word by word.
func wrapLines(s string, width float64) int {
	w := int(math.Max(1, width-1))
	lines, cur := 1, 0
	for _, word := range strings.Fields(s) {
		n := utf8.RuneCountInString(word)
		switch {
		case cur == 0:
			cur = n
		case cur+1+n <= w:
			cur += 1 + n
		default:
			lines++
			cur = n
		}
		for cur > w { // a word longer than the line
			lines++
			cur -= w
		}
	}
	return lines
}

// rowPx is the height in pixels of a default row, used to size charts in rows.
const rowPx = 17

// layout places the sheet's blocks row by row.
func layout(s *Sheet, st *styles, opt Options) *grid {
	g := &grid{rows: map[int]map[int]excelize.Cell{}, heights: map[int]float64{}, widths: columnWidths(s)}
	width := len(g.widths)
	total := 0.0
	for _, w := range g.widths {
		total += w
	}
	last := colName(width - 1)
	wide := func(row, from int, text string, style int, size float64) {
		g.set(row, from, excelize.Cell{StyleID: style, Value: text})
		if from < width-1 {
			g.merges = append(g.merges, [2]string{cell(row, from), last + fmt.Sprint(row)})
		}
		span := 0.0
		for _, w := range g.widths[from:] {
			span += w
		}
		g.heights[row] = math.Max(g.heights[row], float64(wrapLines(text, span*1.05))*size*1.3+4)
	}
	g.set(1, 0, excelize.Cell{StyleID: st.title, Value: s.Title})
	g.heights[1] = 22
	row := 2
	for _, line := range s.Intro {
		wide(row, 0, line, st.intro, 10)
		row++
	}
	g.freeze, g.printTitles = 1, [2]int{1, 1}
	row++
	reserved := 0 // last row covered by a chart beside a table
	for _, blk := range s.Blocks {
		switch b := blk.(type) {
		case PageBreak:
			row = max(row, reserved+1)
			if row > 4 {
				g.breaks = append(g.breaks, row)
			}
		case *Paragraph:
			style := st.intro
			if b.Bold {
				style = st.textBold
			}
			wide(row, 0, b.Text, style, 11)
			row += 2
		case *Chart:
			if b.Beside != nil {
				b.top, b.col = b.Beside.top, width
				reserved = max(reserved, b.top+b.Rows)
			} else {
				row = max(row, reserved+1)
				b.top = row
				row += b.Rows + 1
			}
			g.charts = append(g.charts, b)
		case *Table:
			b.top = row
			g.set(row, 0, excelize.Cell{StyleID: st.tableTitle, Value: b.Title})
			g.heights[row] = 18
			row++
			lines := 1
			for c, col := range b.Columns {
				g.set(row, c, excelize.Cell{StyleID: st.header, Value: col.Header})
				if !(b.Wide && c == len(b.Columns)-1) {
					lines = max(lines, wrapLines(col.Header, g.widths[c]))
				}
			}
			g.heights[row] = float64(lines)*14.5 + 3
			if s.Freeze == b {
				g.freeze = row
				// Repeat the header on printed pages only where one table runs on across
				// pages; where each table starts its own page, a repeated header would sit
				// above the next table's own title and header.
				if sameColumns(s, b) && !hasPageBreak(s) {
					g.printTitles = [2]int{row, row}
				}
			}
			row++
			for _, r := range b.Rows {
				if r.Section {
					g.set(row, 0, excelize.Cell{StyleID: st.section, Value: r.Cells[0].Text})
					row++
					continue
				}
				if r.Span {
					txt := r.Cells[0].Text
					if r.Cells[0].Hidden != Shown {
						txt = "—" // a sentence resting on hidden values
					}
					wide(row, 0, txt, st.textIndent, 11)
					row++
					continue
				}
				lines := 1
				for c, cl := range r.Cells {
					v, ok := cellValue(cl, st, opt)
					if !ok {
						continue
					}
					if b.Wide && c == len(b.Columns)-1 {
						txt := cl.Text
						if cl.Hidden != Shown {
							txt = "—" // a sentence resting on hidden values
						}
						wide(row, c, txt, st.text, 11)
						continue
					}
					g.set(row, c, v)
					if cl.Kind == Text {
						// proportional fonts fit about 20% more characters than the width in digits
						lines = max(lines, wrapLines(cl.Text, g.widths[c]*1.2))
					}
				}
				if lines > 1 {
					g.heights[row] = math.Max(g.heights[row], float64(lines)*14.5+3)
				}
				row++
			}
			for _, n := range b.Notes {
				wide(row, 0, n, st.note, 9)
				row++
			}
			row++
		}
	}
	return g
}

// sameColumns reports whether every table of the sheet has the columns of t, so that t's header
// repeated at the top of each printed page names the columns of whatever table is below it.
func sameColumns(s *Sheet, t *Table) bool {
	for _, b := range s.Blocks {
		u, ok := b.(*Table)
		if !ok {
			continue
		}
		if len(u.Columns) != len(t.Columns) {
			return false
		}
		for i := range u.Columns {
			if u.Columns[i].Header != t.Columns[i].Header {
				return false
			}
		}
	}
	return true
}

// cellValue is the excelize cell of a model cell; false for an empty cell.
func cellValue(c Cell, st *styles, opt Options) (excelize.Cell, bool) {
	switch c.Hidden {
	case Small:
		return excelize.Cell{StyleID: st.mark, Value: fmt.Sprintf("<%d", opt.SuppressBelow)}, true
	case Protected:
		return excelize.Cell{StyleID: st.mark, Value: "—"}, true
	}
	if c.Kind == Text {
		if c.Text == "" {
			return excelize.Cell{}, false
		}
		style := st.text
		switch {
		case c.Bold:
			style = st.textBold
		case c.Indent:
			style = st.textIndent
		}
		// Always a string value: text from input files never becomes a formula.
		return excelize.Cell{StyleID: style, Value: c.Text}, true
	}
	if c.Text != "" {
		return excelize.Cell{StyleID: st.mark, Value: c.Text}, true
	}
	if math.IsNaN(c.Value) || math.IsInf(c.Value, 0) {
		return excelize.Cell{StyleID: st.mark, Value: "n/a"}, true
	}
	if c.Kind == PValue && c.Value < 0.001 {
		return excelize.Cell{StyleID: st.mark, Value: "<0.001"}, true
	}
	v := c.Value
	if opt.Audience == "external" {
		v = shownPrecision(c.Kind, v)
	}
	return excelize.Cell{StyleID: st.num[c.Kind], Value: v}, true
}

// shownPrecision rounds v to the digits its number format shows, so that the external
// workbook stores no more than a reader sees (a mean of −109/11 stored in full would give its
// count away). Halves round away from zero, as the formats display them.
func shownPrecision(k Kind, v float64) float64 {
	digits := map[Kind]float64{Count: 0, Int: 0, Rate: 3, Mean: 1, Estimate: 2, PValue: 3}[k]
	p := math.Pow(10, digits)
	return math.Round(v*p) / p
}

func colName(c int) string {
	n, _ := excelize.ColumnNumberToName(c + 1)
	return n
}

func cell(row, col int) string { return colName(col) + fmt.Sprint(row) }

func pageSetup(f *excelize.File, s *Sheet, g *grid) error {
	landscape, one, zero := "landscape", 1, 0
	fit := true
	if err := f.SetPageLayout(s.Name, &excelize.PageLayoutOptions{Orientation: &landscape, FitToWidth: &one, FitToHeight: &zero}); err != nil {
		return err
	}
	if err := f.SetSheetProps(s.Name, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
		return err
	}
	if err := f.SetPageMargins(s.Name, &excelize.PageLayoutMarginsOptions{Left: ptr(0.4), Right: ptr(0.4), Top: ptr(0.5), Bottom: ptr(0.5)}); err != nil {
		return err
	}
	if err := f.SetHeaderFooter(s.Name, &excelize.HeaderFooterOptions{OddFooter: "&L&A&RPage &P of &N"}); err != nil {
		return err
	}
	return f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles",
		RefersTo: fmt.Sprintf("%s!$%d:$%d", quote(s.Name), g.printTitles[0], g.printTitles[1]), Scope: s.Name})
}

func ptr(f float64) *float64 { return &f }

func hasPageBreak(s *Sheet) bool {
	for _, b := range s.Blocks {
		if _, ok := b.(PageBreak); ok {
			return true
		}
	}
	return false
}

// quote quotes a sheet name for a reference ('Outcomes by group'!$A$1).
func quote(name string) string { return "'" + strings.ReplaceAll(name, "'", "''") + "'" }

func panes(g *grid) *excelize.Panes {
	return &excelize.Panes{Freeze: true, YSplit: g.freeze, TopLeftCell: cell(g.freeze+1, 0), ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: cell(g.freeze+1, 0), ActiveCell: cell(g.freeze+1, 0), Pane: "bottomLeft"}}}
}

func sortedRows(g *grid) []int {
	rows := make([]int, 0, len(g.rows))
	for r := range g.rows {
		rows = append(rows, r)
	}
	for r := range g.heights {
		if g.rows[r] == nil {
			rows = append(rows, r)
		}
	}
	sort.Ints(rows)
	return rows
}

// writeStream writes a sheet without charts through the streaming writer.
func writeStream(f *excelize.File, s *Sheet, g *grid) error {
	sw, err := f.NewStreamWriter(s.Name)
	if err != nil {
		return err
	}
	for c, w := range g.widths {
		if err := sw.SetColWidth(c+1, c+1, w); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(panes(g)); err != nil {
		return err
	}
	for _, r := range sortedRows(g) {
		cells := g.rows[r]
		maxCol := -1
		for c := range cells {
			maxCol = max(maxCol, c)
		}
		vals := make([]any, maxCol+1)
		for c := 0; c <= maxCol; c++ {
			if v, ok := cells[c]; ok {
				vals[c] = v
			}
		}
		var opts []excelize.RowOpts
		if h, ok := g.heights[r]; ok {
			opts = append(opts, excelize.RowOpts{Height: h})
		}
		if err := sw.SetRow(cell(r, 0), vals, opts...); err != nil {
			return err
		}
	}
	for _, m := range g.merges {
		if err := sw.MergeCell(m[0], m[1]); err != nil {
			return err
		}
	}
	for _, r := range g.breaks {
		if err := sw.InsertPageBreak(cell(r, 0)); err != nil {
			return err
		}
	}
	return sw.Flush()
}

// writeDirect writes a sheet that carries charts with the ordinary cell API (charts are lost on
// streamed sheets).
func writeDirect(f *excelize.File, s *Sheet, g *grid) error {
	for c, w := range g.widths {
		if err := f.SetColWidth(s.Name, colName(c), colName(c), w); err != nil {
			return err
		}
	}
	if err := f.SetPanes(s.Name, panes(g)); err != nil {
		return err
	}
	for _, r := range sortedRows(g) {
		// Cells in column order: the shared strings are numbered as they are first set, so
		// any other order would give another file for the same workbook.
		for _, c := range slices.Sorted(maps.Keys(g.rows[r])) {
			v := g.rows[r][c]
			ref := cell(r, c)
			var err error
			switch x := v.Value.(type) {
			case string:
				err = f.SetCellStr(s.Name, ref, x)
			default:
				err = f.SetCellValue(s.Name, ref, x)
			}
			if err != nil {
				return err
			}
			if err := f.SetCellStyle(s.Name, ref, ref, v.StyleID); err != nil {
				return err
			}
		}
		if h, ok := g.heights[r]; ok {
			if err := f.SetRowHeight(s.Name, r, h); err != nil {
				return err
			}
		}
	}
	for _, m := range g.merges {
		if err := f.MergeCell(s.Name, m[0], m[1]); err != nil {
			return err
		}
	}
	for _, r := range g.breaks {
		if err := f.InsertPageBreak(s.Name, cell(r, 0)); err != nil {
			return err
		}
	}
	return nil
}

// absRange is the absolute reference of column col over sheet rows from..to.
func absRange(sheet string, col, from, to int) string {
	c := colName(col)
	return fmt.Sprintf("%s!$%s$%d:$%s$%d", quote(sheet), c, from, c, to)
}

func addChart(f *excelize.File, s *Sheet, g *grid, c *Chart) error {
	ch := &excelize.Chart{Type: excelize.Line, Title: excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: c.Title, Font: &excelize.Font{Bold: true, Size: 11}}}},
		Legend: excelize.ChartLegend{Position: "bottom"},
		// Tick labels in the body text's dark grey at 9 pt: the viewers' defaults (light grey in
		// LibreOffice) made the group names of the bar charts hard to read.
		XAxis: excelize.ChartAxis{Title: excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: c.XTitle}}}, MajorGridLines: false,
			Font: excelize.Font{Color: "262626", Size: 9}},
		YAxis: excelize.ChartAxis{Title: excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: c.YTitle}}}, MajorGridLines: true,
			Font: excelize.Font{Color: "262626", Size: 9}},
		PlotArea: excelize.ChartPlotArea{},
	}
	switch {
	case c.Scatter:
		ch.Type = excelize.Scatter
		ch.XAxis.Minimum = ptr(0)
	case c.Bar:
		ch.Type = excelize.Bar
	}
	switch {
	case c.YPercent:
		ch.YAxis.NumFmt = excelize.ChartNumFmt{CustomNumFmt: "0%"}
		ch.YAxis.Maximum = ptr(1)
	case !c.Bar:
		ch.YAxis.Minimum = ptr(0)
	}
	for _, sr := range c.Series {
		// Plot only the leading run of shown numbers: a spreadsheet draws text ("—", "<11") as 0.
		to := sr.From - 1
		for i := sr.From; i <= sr.To; i++ {
			cl := sr.T.at(Ref{i, sr.Y})
			if cl == nil || cl.Hidden != Shown || !cl.isNumber() {
				break
			}
			to = i
		}
		if to < sr.From {
			continue
		}
		sr.To = to
		first := sr.T.headerRow() + 1 + sr.From
		last := sr.T.headerRow() + 1 + sr.To
		// the series name: the first cell of the row block for curves, the column header otherwise
		name := fmt.Sprintf("%s!$%s$%d", quote(s.Name), colName(sr.Y), sr.T.headerRow())
		if c.Scatter {
			name = c.nameRef(s, sr)
		}
		line := excelize.LineOptions{Type: excelize.LineSolid, Width: 2, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{sr.Color}}}
		if sr.Dashed {
			line.Dash, line.Width = excelize.LineDashDash, 1.25
		}
		series := excelize.ChartSeries{Name: name,
			Categories: absRange(s.Name, sr.X, first, last), Values: absRange(s.Name, sr.Y, first, last),
			Marker: excelize.ChartMarker{Symbol: "none"}, Line: line,
			Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{sr.Color}}}
		if c.Bar {
			series.Line = excelize.LineOptions{}
			series.Marker = excelize.ChartMarker{}
		}
		ch.Series = append(ch.Series, series)
	}
	if len(ch.Series) == 0 {
		return nil
	}
	total := 0.0
	for _, w := range g.widths {
		total += w
	}
	w := math.Min(math.Max(total*7, 560), 900)
	if c.Beside != nil {
		w = 560
	}
	ch.Dimension = excelize.ChartDimension{Width: uint(w), Height: uint(c.Rows * rowPx)}
	ch.Format = excelize.GraphicOptions{OffsetX: 12, OffsetY: 4}
	return f.AddChart(s.Name, cell(c.top, c.col), ch)
}

// nameRef finds a cell holding the curve's name: a text cell of the sheet equal to it.
func (c *Chart) nameRef(s *Sheet, sr Series) string {
	for _, b := range s.Blocks {
		t, ok := b.(*Table)
		if !ok {
			continue
		}
		for i, r := range t.Rows {
			if len(r.Cells) > 0 && r.Cells[0].Kind == Text && r.Cells[0].Text == sr.Name && !r.Section {
				return fmt.Sprintf("%s!$A$%d", quote(s.Name), t.headerRow()+1+i)
			}
		}
	}
	return fmt.Sprintf("%s!$%s$%d", quote(s.Name), colName(sr.Y), sr.T.headerRow())
}

// sortedZip writes the workbook's parts in name order: excelize writes the streamed sheets in
// the random order of a map, so the same workbook would be another file each time. The parts
// are held until Close (a workbook is a few hundred KB: its tables are aggregates).
type sortedZip struct {
	zw    *zip.Writer
	parts map[string]*bytes.Buffer
}

func (z *sortedZip) Create(name string) (io.Writer, error) {
	b := &bytes.Buffer{}
	z.parts[name] = b
	return b, nil
}

func (z *sortedZip) AddFS(fsys fs.FS) error { return errors.New("workbook: AddFS is not used") }

func (z *sortedZip) Close() error {
	for _, name := range slices.Sorted(maps.Keys(z.parts)) {
		w, err := z.zw.Create(name)
		if err != nil {
			return err
		}
		if _, err := z.parts[name].WriteTo(w); err != nil {
			return err
		}
	}
	return z.zw.Close()
}
