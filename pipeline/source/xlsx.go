package source

import (
	"archive/zip"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	pathpkg "path"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// xlsxSource streams one worksheet of a workbook, reading the package's XML itself (with
// encoding/xml, from the zip entry: nothing is inflated to disk or held whole). It is strict
// where a lenient reader would lose rows without a word:
//
//   - any XML error in the worksheet (an unescaped &, an undefined entity, a truncated part,
//     text or unknown elements between rows) stops the file with an error naming the row;
//   - rows and cells must come in ascending order (a row number that goes back would
//     otherwise be merged into an earlier row): out of order is an error;
//   - a row is skipped only when none of its cells holds a value or a formula (as a blank
//     line of a CSV file); a formula cell without a stored result is reported (noValue) for
//     the row to be quarantined, never read as empty.
//
// Cells are read raw (no number format applied; dates as serial numbers); a formula cell
// gives its stored result and is never evaluated. The displayed text of a number whose format
// would show it otherwise (an SSN or phone format) is computed for the identifier check.
// Rows are padded to the header's width. Without a sheet name the first visible worksheet is
// read: hidden and very hidden sheets are skipped.
type xlsxSource struct {
	path     string
	zr       *zip.ReadCloser
	part     io.ReadCloser
	in       *tokenLimiter
	d        *xml.Decoder
	size     int64      // inflated size of the worksheet part
	open     []xml.Name // the elements open in the worksheet
	sst      *sharedStrings
	fmts     []*numFormat // per cell style (xf) index: a custom number format, or nil
	date1904 bool
	hdr      []string
	width    int // the header's width; 0 while the header is read
	row      int // number of the last row read
	inData   bool
	done     bool
	cells    []string
	shown    []string
	anyShown bool
	noValue  []int
	text     []byte // the text of the cell being read
}

// Limits on what a workbook may hold, so that no part of it can take the memory: the parts
// other than worksheets are read whole, the shared strings are kept for the whole reading.
const (
	maxUnzipped      = 8 << 30  // all parts together
	maxPartSize      = 16 << 20 // any part but a worksheet or the shared strings
	maxSharedStrings = 64 << 20 // the shared strings part, inflated
	maxStringCount   = 1 << 22  // shared strings
	maxToken         = 1 << 20  // one XML token: a tag, a cell's text
	maxDepth         = 64       // nesting of XML elements
	maxRows          = 1048576  // as many as a worksheet can have
)

// checkZip refuses a workbook whose parts claim more than the limits above, from the zip
// directory, before anything is inflated. archive/zip stops reading a part at its declared
// size, so a part cannot inflate past what this check saw.
func checkZip(path string) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return &FileError{Path: path, Reason: "not a readable XLSX workbook: " + err.Error()}
	}
	defer zr.Close()
	var total uint64
	for _, zf := range zr.File {
		total += zf.UncompressedSize64
		switch {
		case strings.HasPrefix(zf.Name, "xl/worksheets/"):
		case zf.Name == "xl/sharedStrings.xml":
			if zf.UncompressedSize64 > maxSharedStrings {
				return sharedStringsTooLarge(path, zf.UncompressedSize64)
			}
		case zf.UncompressedSize64 > maxPartSize:
			return &FileError{Path: path, Reason: fmt.Sprintf("refused: workbook part %q inflates to %d bytes (more than %d)", zf.Name, zf.UncompressedSize64, maxPartSize)}
		}
	}
	if total > maxUnzipped {
		return &FileError{Path: path, Reason: fmt.Sprintf("refused: the workbook inflates to %d bytes (more than %d)", total, uint64(maxUnzipped))}
	}
	return nil
}

func sharedStringsTooLarge(path string, n uint64) error {
	return &FileError{Path: path, Reason: fmt.Sprintf("refused: the workbook's shared strings inflate to %d bytes (more than %d MiB)", n, maxSharedStrings>>20)}
}

// workbookSheet is a sheet of the workbook, as workbook.xml lists it.
type workbookSheet struct {
	name, state, rel string
}

// relationship is an entry of a part's relationships (.rels) part.
type relationship struct {
	typ, target string
}

func openXLSX(path, sheet string) (_ *xlsxSource, err error) {
	if err := checkZip(path); err != nil {
		return nil, err
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, &FileError{Path: path, Reason: "not a readable XLSX workbook: " + err.Error()}
	}
	s := &xlsxSource{path: path, zr: zr}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	parts := make(map[string]*zip.File, len(zr.File))
	for _, zf := range zr.File {
		parts[strings.ToLower(strings.TrimPrefix(zf.Name, "/"))] = zf
	}
	bad := func(what string, err error) error {
		return &FileError{Path: path, Reason: "not a readable XLSX workbook: " + what + ": " + xmlReason(err)}
	}
	// The workbook part, from the package relationships (xl/workbook.xml in practice).
	book := "xl/workbook.xml"
	if rels, err := readRels(parts, "_rels/.rels", ""); err != nil {
		return nil, bad("_rels/.rels", err)
	} else {
		for _, r := range rels {
			if strings.HasSuffix(r.typ, "/officeDocument") {
				book = r.target
			}
		}
	}
	zf := parts[strings.ToLower(book)]
	if zf == nil {
		return nil, &FileError{Path: path, Reason: "not a readable XLSX workbook: no workbook part"}
	}
	var sheets []workbookSheet
	err = readPart(zf, maxPartSize, func(d *xml.Decoder, t xml.StartElement) error {
		switch t.Name.Local {
		case "workbookPr":
			v := attr(t, "date1904")
			s.date1904 = v == "1" || v == "true"
		case "sheet":
			ws := workbookSheet{name: attr(t, "name"), state: attr(t, "state")}
			for _, a := range t.Attr {
				if a.Name.Local == "id" && strings.HasSuffix(a.Name.Space, "relationships") {
					ws.rel = a.Value
				}
			}
			sheets = append(sheets, ws)
		}
		return nil
	})
	if err != nil {
		return nil, bad(book, err)
	}
	rels, err := readRels(parts, pathpkg.Join(pathpkg.Dir(book), "_rels", pathpkg.Base(book)+".rels"), book)
	if err != nil {
		return nil, bad("the workbook's relationships", err)
	}
	isWorksheet := func(ws workbookSheet) bool {
		r, ok := rels[ws.rel]
		return ok && strings.HasSuffix(r.typ, "/worksheet")
	}
	var chosen *workbookSheet
	if sheet == "" {
		for i, ws := range sheets {
			if ws.state != "hidden" && ws.state != "veryHidden" && isWorksheet(ws) {
				chosen = &sheets[i]
				break
			}
		}
		if chosen == nil {
			return nil, &FileError{Path: path, Reason: "the workbook has no visible worksheet"}
		}
	} else {
		names := make([]string, len(sheets))
		for i, ws := range sheets {
			names[i] = ws.name
			if chosen == nil && strings.EqualFold(ws.name, sheet) && isWorksheet(ws) {
				chosen = &sheets[i]
			}
		}
		if chosen == nil {
			return nil, &FileError{Path: path, Reason: fmt.Sprintf("the workbook has no sheet named %q (sheets: %s)",
				sheet, strings.Join(names, ", "))}
		}
	}
	for _, r := range rels {
		switch {
		case strings.HasSuffix(r.typ, "/sharedStrings"):
			zf := parts[strings.ToLower(r.target)]
			if zf == nil {
				continue
			}
			if zf.UncompressedSize64 > maxSharedStrings {
				return nil, sharedStringsTooLarge(path, zf.UncompressedSize64)
			}
			if s.sst, err = readSharedStrings(zf); err != nil {
				var fe *FileError
				if errors.As(err, &fe) {
					fe.Path = path
					return nil, fe
				}
				return nil, bad("the shared strings", err)
			}
		case strings.HasSuffix(r.typ, "/styles"):
			zf := parts[strings.ToLower(r.target)]
			if zf == nil {
				continue
			}
			if s.fmts, err = readStyles(zf); err != nil {
				return nil, bad("the styles", err)
			}
		}
	}
	target := rels[chosen.rel].target
	if zf = parts[strings.ToLower(target)]; zf == nil {
		return nil, &FileError{Path: path, Reason: fmt.Sprintf("not a readable XLSX workbook: sheet %q has no worksheet part", chosen.name)}
	}
	if s.part, err = zf.Open(); err != nil {
		return nil, &FileError{Path: path, Reason: "not a readable XLSX workbook: " + err.Error()}
	}
	s.size = int64(zf.UncompressedSize64)
	s.in = &tokenLimiter{r: s.part}
	s.d = xml.NewDecoder(s.in)
	r, err := s.next()
	if err == io.EOF {
		return nil, &FileError{Path: path, Reason: fmt.Sprintf("sheet %q is empty: no header", chosen.name)}
	}
	if err != nil {
		return nil, err
	}
	s.hdr = append([]string(nil), r.fields[:r.last]...)
	s.width = len(s.hdr)
	return s, nil
}

func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// readRels reads a relationships part (nil when the package has none) into Id → type and
// target, the target resolved against the part the relationships belong to (source).
func readRels(parts map[string]*zip.File, name, source string) (map[string]relationship, error) {
	zf := parts[strings.ToLower(name)]
	if zf == nil {
		return nil, nil
	}
	rels := map[string]relationship{}
	err := readPart(zf, maxPartSize, func(d *xml.Decoder, t xml.StartElement) error {
		if t.Name.Local == "Relationship" && attr(t, "TargetMode") != "External" {
			target := attr(t, "Target")
			if strings.HasPrefix(target, "/") {
				target = pathpkg.Clean(target[1:])
			} else {
				target = pathpkg.Clean(pathpkg.Join(pathpkg.Dir(source), target))
			}
			rels[attr(t, "Id")] = relationship{typ: attr(t, "Type"), target: target}
		}
		return nil
	})
	return rels, err
}

// readPart reads an XML part of at most limit bytes, calling start for every start element.
func readPart(zf *zip.File, limit uint64, start func(*xml.Decoder, xml.StartElement) error) error {
	if zf.UncompressedSize64 > limit {
		return fmt.Errorf("the part inflates to %d bytes (more than %d)", zf.UncompressedSize64, limit)
	}
	rc, err := zf.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	in := &tokenLimiter{r: rc}
	d := xml.NewDecoder(in)
	depth := 0
	for {
		t, err := d.Token()
		in.mark = d.InputOffset()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := t.(type) {
		case xml.StartElement:
			if depth++; depth > maxDepth {
				return errTooDeep
			}
			if err := start(d, t); err != nil {
				return err
			}
		case xml.EndElement:
			depth--
		}
	}
}

var (
	errTooDeep       = errors.New("XML elements nested too deep")
	errTokenTooLarge = fmt.Errorf("an XML tag or text longer than %d bytes", maxToken)
)

// tokenLimiter passes a part on to an xml.Decoder and fails once the decoder has read more
// than maxToken bytes (and the 4 KiB it reads ahead) past the end of the last token it
// returned: a text, tag, comment or CDATA section of a gigabyte is stopped early instead of
// being gathered into one token. Its reader sets mark after every token.
type tokenLimiter struct {
	r    io.Reader
	n    int64 // bytes passed on
	mark int64 // the decoder's input offset after its last token
}

func (l *tokenLimiter) Read(p []byte) (int, error) {
	if l.n-l.mark > maxToken+64<<10 {
		return 0, errTokenTooLarge
	}
	if len(p) > 64<<10 {
		p = p[:64<<10]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	return n, err
}

// xmlReason describes an error reading a part without quoting the part: an XML syntax
// error's message can hold text of the file (an undefined entity's name).
func xmlReason(err error) string {
	var se *xml.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("malformed XML at line %d of the part", se.Line)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "the part ends early (a truncated file?)"
	}
	return err.Error()
}

// sharedStrings holds the workbook's shared strings in one string, string i being
// all[ends[i-1]:ends[i]].
type sharedStrings struct {
	all  string
	ends []uint32
}

func (ss *sharedStrings) get(i int) (string, bool) {
	if ss == nil || i < 0 || i >= len(ss.ends) {
		return "", false
	}
	start := uint32(0)
	if i > 0 {
		start = ss.ends[i-1]
	}
	return ss.all[start:ss.ends[i]], true
}

// readSharedStrings reads the shared strings part: per <si>, the text of its <t> and of the
// <t> of its rich-text runs (phonetic runs, <rPh>, are not part of the value).
func readSharedStrings(zf *zip.File) (*sharedStrings, error) {
	rc, err := zf.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	in := &tokenLimiter{r: rc}
	d := xml.NewDecoder(in)
	var all []byte
	var ends []uint32
	var stack []string
	inSI := false
	start := 0
	for {
		t, err := d.Token()
		in.mark = d.InputOffset()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name.Local)
			if len(stack) > maxDepth {
				return nil, errTooDeep
			}
			if t.Name.Local == "si" {
				if len(ends) == maxStringCount {
					return nil, &FileError{Reason: fmt.Sprintf("refused: the workbook has more than %d shared strings", maxStringCount)}
				}
				inSI, start = true, len(all)
			}
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			if t.Name.Local == "si" && inSI {
				inSI = false
				s := bstrUnescape(string(all[start:]))
				all = append(all[:start], s...)
				ends = append(ends, uint32(len(all)))
			}
		case xml.CharData:
			// text of <t> directly in <si>, or in a run <r> of it
			n := len(stack)
			if inSI && n >= 2 && stack[n-1] == "t" && (stack[n-2] == "si" || stack[n-2] == "r" && n >= 3 && stack[n-3] == "si") {
				if len(all)-start+len(t) > maxToken {
					return nil, errTokenTooLarge
				}
				all = append(all, t...)
			}
		}
	}
	return &sharedStrings{all: string(all), ends: ends}, nil
}

// bstrUnescape decodes the _xHHHH_ escapes of OOXML strings (_x000D_ is a carriage return,
// _x005F_ an underscore).
func bstrUnescape(s string) string {
	if !strings.Contains(s, "_x") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if i+7 <= len(s) && s[i] == '_' && s[i+1] == 'x' && s[i+6] == '_' {
			if v, err := strconv.ParseUint(s[i+2:i+6], 16, 16); err == nil {
				b.WriteRune(rune(v))
				i += 7
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// readStyles reads the number format of every cell style (cellXfs) that has a custom format
// (numFmts); built-in formats show no number as an identifier and are left nil.
func readStyles(zf *zip.File) ([]*numFormat, error) {
	custom := map[string]*numFormat{}
	var fmts []*numFormat
	inXfs := false
	rc, err := zf.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	in := &tokenLimiter{r: rc}
	d := xml.NewDecoder(in)
	depth := 0
	for {
		t, err := d.Token()
		in.mark = d.InputOffset()
		if err == io.EOF {
			return fmts, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			if depth++; depth > maxDepth {
				return nil, errTooDeep
			}
			switch t.Name.Local {
			case "numFmt":
				custom[attr(t, "numFmtId")] = compileNumFormat(attr(t, "formatCode"))
			case "cellXfs":
				inXfs = true
			case "xf":
				if inXfs {
					fmts = append(fmts, custom[attr(t, "numFmtId")])
				}
			}
		case xml.EndElement:
			depth--
			if t.Name.Local == "cellXfs" {
				inXfs = false
			}
		}
	}
}

func (s *xlsxSource) header() []string { return s.hdr }

func (s *xlsxSource) progress() (int64, int64) { return s.in.n, s.size }

// token returns the worksheet's next XML token, keeping the depth and the token limit. It
// uses RawToken, which allocates about half what Token does, and checks itself that every
// end tag closes the element open (the one thing Token checks beyond it); prefixes are not
// resolved, elements being matched by their local names.
func (s *xlsxSource) token() (xml.Token, error) {
	t, err := s.d.RawToken()
	s.in.mark = s.d.InputOffset()
	if err == io.EOF && len(s.open) > 0 {
		return nil, &xml.SyntaxError{Msg: "unexpected EOF", Line: s.xmlLine()}
	}
	if err != nil {
		return nil, err
	}
	switch t := t.(type) {
	case xml.StartElement:
		if len(s.open) == maxDepth {
			return nil, errTooDeep
		}
		s.open = append(s.open, t.Name)
	case xml.EndElement:
		if n := len(s.open); n == 0 || s.open[n-1] != t.Name {
			return nil, &xml.SyntaxError{Msg: "an end tag that closes no open element", Line: s.xmlLine()}
		}
		s.open = s.open[:len(s.open)-1]
	}
	return t, nil
}

func (s *xlsxSource) xmlLine() int {
	line, _ := s.d.InputPos()
	return line
}

// fail makes a reading error a *FileError naming the row.
func (s *xlsxSource) fail(row int, err error) error {
	var fe *FileError
	if errors.As(err, &fe) {
		return err
	}
	reason := xmlReason(err)
	if errors.Is(err, io.EOF) {
		reason = "the worksheet ends inside its data (a truncated file?)"
	}
	return &FileError{Path: s.path, Line: row, Reason: "unreadable worksheet: " + reason}
}

func (s *xlsxSource) rowErr(row int, format string, args ...any) error {
	return &FileError{Path: s.path, Line: row, Reason: "unreadable worksheet: " + fmt.Sprintf(format, args...)}
}

// skip reads past the end of the element just started.
func (s *xlsxSource) skip(row int) error {
	for depth := 1; depth > 0; {
		t, err := s.token()
		if err != nil {
			return s.fail(row, err)
		}
		switch t.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
	return nil
}

func blank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// next returns the next row that has a value or a formula in a cell.
func (s *xlsxSource) next() (srcRow, error) {
	if s.done {
		return srcRow{}, io.EOF
	}
	for !s.inData {
		t, err := s.token()
		if err == io.EOF {
			s.done = true
			return srcRow{}, io.EOF // no sheet data at all
		}
		if err != nil {
			return srcRow{}, s.fail(1, err)
		}
		if se, ok := t.(xml.StartElement); ok && se.Name.Local == "sheetData" {
			s.inData = true
		}
	}
	for {
		t, err := s.token()
		if err != nil {
			return srcRow{}, s.fail(s.row+1, err)
		}
		switch t := t.(type) {
		case xml.StartElement:
			if t.Name.Local != "row" {
				return srcRow{}, s.rowErr(s.row+1, "an element other than a row in the sheet data, after row %d", s.row)
			}
			r, ok, err := s.readRow(t)
			if err != nil {
				return srcRow{}, err
			}
			if ok {
				return r, nil
			}
		case xml.EndElement: // </sheetData>: what follows holds no cell
			s.done = true
			return srcRow{}, io.EOF
		case xml.CharData:
			if !blank(t) {
				return srcRow{}, s.rowErr(s.row+1, "text between rows, after row %d", s.row)
			}
		}
	}
}

// readRow reads the row just started; ok is false when no cell of it has a value or a
// formula.
func (s *xlsxSource) readRow(start xml.StartElement) (r srcRow, ok bool, err error) {
	num := s.row + 1
	if v := attr(start, "r"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxRows {
			return r, false, s.rowErr(s.row+1, "a row number that is not 1 to %d, after row %d", maxRows, s.row)
		}
		if n <= s.row {
			return r, false, s.rowErr(n, "rows out of order: row %d after row %d", n, s.row)
		}
		num = n
	}
	if num > maxRows {
		return r, false, s.rowErr(num, "more than %d rows", maxRows)
	}
	s.row = num
	limit := s.width
	if limit == 0 {
		limit = maxColumns // the header
	}
	clear(s.cells)
	s.cells = s.cells[:0]
	if s.anyShown {
		clear(s.shown)
		s.anyShown = false
	}
	s.noValue = s.noValue[:0]
	col, last := 0, 0
	for {
		t, err := s.token()
		if err != nil {
			return r, false, s.fail(num, err)
		}
		switch t := t.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "c":
				c, err := s.readCell(t, num, col)
				if err != nil {
					return r, false, err
				}
				col = c.col
				if !c.content {
					continue
				}
				if col > maxColumns {
					return r, false, s.rowErr(num, "a cell past the last column (XFD) in row %d", num)
				}
				last = col
				if col > limit {
					continue // counted, not kept
				}
				for len(s.cells) < col {
					s.cells = append(s.cells, "")
				}
				s.cells[col-1] = c.value
				if c.noValue {
					s.noValue = append(s.noValue, col-1)
				}
				if c.shown != "" {
					if len(s.shown) < limit {
						s.shown = append(s.shown, make([]string, limit-len(s.shown))...)
					}
					s.shown[col-1] = c.shown
					s.anyShown = true
				}
			case "extLst":
				if err := s.skip(num); err != nil {
					return r, false, err
				}
			default:
				return r, false, s.rowErr(num, "an element other than a cell in row %d", num)
			}
		case xml.EndElement: // </row>
			if last == 0 {
				return r, false, nil
			}
			for len(s.cells) < s.width {
				s.cells = append(s.cells, "")
			}
			r = srcRow{line: num, fields: s.cells, n: max(last, s.width), last: last, noValue: s.noValue}
			if s.anyShown {
				r.shown = s.shown
			}
			return r, true, nil
		case xml.CharData:
			if !blank(t) {
				return r, false, s.rowErr(num, "text between the cells of row %d", num)
			}
		}
	}
}

// xlsxCell is a cell as read.
type xlsxCell struct {
	col     int
	value   string
	shown   string // the displayed text when its number format shows it otherwise
	content bool   // a value or a formula
	noValue bool   // a formula with no stored result
}

// readCell reads the cell just started in row num after column prev.
func (s *xlsxSource) readCell(start xml.StartElement, num, prev int) (c xlsxCell, err error) {
	c.col = prev + 1
	typ, style := "", 0
	for _, a := range start.Attr {
		switch a.Name.Local {
		case "r":
			col, row, ok := cellRef(a.Value)
			if !ok || row != 0 && row != num {
				return c, s.rowErr(num, "a cell reference that is not a cell of row %d", num)
			}
			if col <= prev {
				return c, s.rowErr(num, "cells out of order in row %d", num)
			}
			c.col = col
		case "t":
			typ = a.Value
		case "s":
			style, _ = strconv.Atoi(a.Value)
		}
	}
	hasV, hasF, hasIS := false, false, false
	s.text = s.text[:0]
	for {
		t, err := s.token()
		if err != nil {
			return c, s.fail(num, err)
		}
		switch t := t.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "v":
				hasV = true
				if err := s.readText(num, false); err != nil {
					return c, err
				}
			case "is":
				hasIS = true
				if err := s.readText(num, true); err != nil {
					return c, err
				}
			case "f":
				hasF = true
				if err := s.skip(num); err != nil {
					return c, err
				}
			default:
				if err := s.skip(num); err != nil {
					return c, err
				}
			}
		case xml.EndElement: // </c>
			v := string(s.text)
			switch typ {
			case "s":
				if hasV {
					i, err := strconv.Atoi(strings.TrimSpace(v))
					str, ok := s.sst.get(i)
					if err != nil || !ok {
						return c, s.rowErr(num, "a cell of row %d refers to a shared string the workbook does not have", num)
					}
					v = str
				}
			case "inlineStr":
				v = bstrUnescape(v)
			case "", "n":
				if style >= 0 && style < len(s.fmts) && s.fmts[style] != nil && v != "" {
					if d, ok := s.fmts[style].display(v); ok && d != v {
						c.shown = d
					}
				}
			}
			c.value = v
			c.noValue = hasF && !hasV && !hasIS
			c.content = v != "" || hasF
			return c, nil
		case xml.CharData:
			if !blank(t) {
				return c, s.rowErr(num, "text outside the value of a cell in row %d", num)
			}
		}
	}
}

// readText appends to s.text the text of the element just started (<v>, or <is> when rich:
// the text of its <t> and of the <t> of its runs, phonetic runs left out).
func (s *xlsxSource) readText(num int, rich bool) error {
	var stack []string
	for depth := 1; depth > 0; {
		t, err := s.token()
		if err != nil {
			return s.fail(num, err)
		}
		switch t := t.(type) {
		case xml.StartElement:
			depth++
			stack = append(stack, t.Name.Local)
			if !rich {
				return s.rowErr(num, "an element inside the value of a cell in row %d", num)
			}
		case xml.EndElement:
			depth--
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			n := len(stack)
			if !rich || n >= 1 && stack[n-1] == "t" && (n == 1 || n == 2 && stack[0] == "r") {
				if len(s.text)+len(t) > maxToken {
					return s.fail(num, errTokenTooLarge)
				}
				s.text = append(s.text, t...)
			}
		}
	}
	return nil
}

// cellRef parses a cell reference such as "B5" into its column (1 = A) and row; row is 0
// when the reference has no row part.
func cellRef(ref string) (col, row int, ok bool) {
	i := 0
	for i < len(ref) && i < 3 {
		c := ref[i] | 0x20
		if c < 'a' || c > 'z' {
			break
		}
		col = col*26 + int(c-'a'+1)
		i++
	}
	if i == 0 {
		return 0, 0, false
	}
	if i < len(ref) {
		n, err := strconv.Atoi(ref[i:])
		if err != nil || n < 1 || n > maxRows {
			return 0, 0, false
		}
		row = n
	}
	return col, row, true
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
	if s.part != nil {
		s.part.Close()
		s.part = nil
	}
	if s.zr == nil {
		return nil
	}
	err := s.zr.Close()
	s.zr = nil
	return err
}
