package source

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// How a mapped cell's text is made canonical.
const (
	convText  = iota // trimmed; a zero fraction dropped ("93705.0" → "93705")
	convDate         // YYYY-MM-DD from ISO text, an XLSX serial, or Map.DateFormat
	convScore        // an item or total: missing codes → "", then recoding
)

// cell is how one canonical field is made from a source row.
type cell struct {
	src      int    // source column, or -1 for a constant
	constant string // value when src < 0
	conv     int
	missing  map[string]bool // codes meaning missing (convScore, and any column with its own codes)
	recode   map[string]string
	subtract int
	// text is the column's own recoding (Map.ColumnRecode), keyed by recodeKey.
	text map[string]string
}

// plan makes one canonical record from a source row. A wide plan (one per instrument) makes
// no record when all its score cells are missing.
type plan struct {
	cells []cell
	wide  bool
	cols  []string // the source column of each field ("" for a constant)
}

// uses reports whether the plan reads source column i.
func (p *plan) uses(i int) bool {
	for _, c := range p.cells {
		if c.src == i {
			return true
		}
	}
	return false
}

// mapped reads a file through a Map.
type mapped struct {
	src        rowSource
	m          *Map
	hdr        []string
	plans      []plan
	guard      rowGuard
	dateFormat string

	line    int
	source  []string
	noValue []int // columns of source holding a formula with no stored result
	next    int   // index of the next plan to run on source
	pending bool  // source holds a row
	emitted bool  // the row in source made a record
	buf     []string
	empty   int64
	// kept are the source columns a record may carry in its Source (those the plans read),
	// and keptBuf their values in the current row.
	kept    []int
	keptBuf []string
	width   int // columns of the source header
	// free are the positions in keptBuf of source columns feeding a free-text-prone
	// canonical column (Record.FreeText).
	free []int
}

func newMapped(path string, src rowSource, m *Map) (*mapped, error) {
	raw := src.header()
	if err := checkHeader(path, raw); err != nil {
		return nil, err
	}
	names := make([]string, len(raw))
	at := make(map[string]int, len(raw))
	for i, h := range raw {
		names[i] = strings.TrimSpace(h)
		k := fold(h)
		if _, dup := at[k]; dup && k != "" {
			return nil, &FileError{Path: path, Line: 1, Column: names[i], Reason: "column named twice in the header"}
		}
		at[k] = i
	}
	dropped := map[string]bool{}
	for _, d := range m.Drop {
		dropped[fold(d)] = true
	}
	var phi []string
	for i, h := range raw {
		if isPHIColumn(h) && !dropped[fold(h)] {
			phi = append(phi, names[i])
		}
	}
	if len(phi) > 0 {
		return nil, &FileError{Path: path, Line: 1, Column: strings.Join(phi, ", "),
			Reason: "refused: the header names direct identifiers; inputs must be de-identified (the map can list them in drop)"}
	}
	declared := make([]bool, len(raw))
	var lacking []string
	find := func(name string) int {
		i, ok := at[fold(name)]
		if !ok {
			lacking = append(lacking, name)
			return -1
		}
		declared[i] = true
		return i
	}
	for _, d := range m.Drop {
		find(d)
	}
	r := &mapped{src: src, m: m, dateFormat: m.DateFormat}
	colCodes := map[string][]string{}
	for c, codes := range m.ColumnCodes {
		colCodes[fold(c)] = codes
	}
	// field makes the cell of a canonical column from source column name (or a constant).
	field := func(name string, conv int, extra ...[]string) cell {
		c := cell{src: -1, conv: conv}
		if name == "" {
			return c
		}
		c.src = find(name)
		c.text = m.ColumnRecode[fold(name)]
		if conv == convScore {
			c.missing = codeSet(m.Missing)
		}
		for _, e := range append(extra, colCodes[fold(name)]) {
			for _, code := range e {
				if c.missing == nil {
					c.missing = map[string]bool{}
				}
				c.missing[code], c.missing[normNumber(code)] = true, true
			}
		}
		return c
	}
	convOf := func(canon string) int {
		switch {
		case canon == "date":
			return convDate
		case canon == "total" || strings.HasPrefix(canon, "item_"):
			return convScore
		}
		return convText
	}
	common := func(canon string) (cell, bool) {
		if src, ok := m.Columns[canon]; ok {
			return field(src, convOf(canon)), true
		}
		if v, ok := m.Constants[canon]; ok {
			return cell{src: -1, constant: v}, true
		}
		return cell{}, false
	}
	if len(m.Instruments) == 0 {
		var p plan
		for _, canon := range canonicalColumns[m.Kind] {
			if c, ok := common(canon); ok {
				r.hdr = append(r.hdr, canon)
				p.cells = append(p.cells, c)
			}
		}
		r.plans = []plan{p}
	} else {
		nItems, anyTotal := 0, false
		for _, im := range m.Instruments {
			nItems = max(nItems, len(im.Items))
			anyTotal = anyTotal || im.Total != ""
		}
		var shared []cell
		for _, canon := range []string{"patient_id", "clinic_id", "instrument", "date", "day"} {
			if canon == "instrument" {
				r.hdr = append(r.hdr, canon)
				shared = append(shared, cell{})
				continue
			}
			if c, ok := common(canon); ok {
				r.hdr = append(r.hdr, canon)
				shared = append(shared, c)
			}
		}
		r.hdr = append(r.hdr, itemNames[:nItems]...)
		if anyTotal {
			r.hdr = append(r.hdr, "total")
		}
		for _, im := range m.Instruments {
			p := plan{wide: true}
			for i, c := range shared {
				if r.hdr[i] == "instrument" {
					c = cell{src: -1, constant: im.Name}
				}
				p.cells = append(p.cells, c)
			}
			for k := 0; k < nItems; k++ {
				name := ""
				if k < len(im.Items) {
					name = im.Items[k]
				}
				c := field(name, convScore, im.Missing)
				c.recode, c.subtract = im.Recode, im.Subtract
				p.cells = append(p.cells, c)
			}
			if anyTotal {
				p.cells = append(p.cells, field(im.Total, convScore, im.Missing))
			}
			r.plans = append(r.plans, p)
		}
	}
	if len(lacking) > 0 {
		return nil, &FileError{Path: path, Line: 1, Column: strings.Join(lacking, ", "), Reason: "declared in the map but not in the file"}
	}
	if m.OtherColumns != "drop" {
		var other []string
		for i, d := range declared {
			if !d {
				n := names[i]
				if n == "" {
					n = fmt.Sprintf("%d (no name)", i+1)
				}
				other = append(other, n)
			}
		}
		if len(other) > 0 {
			return nil, &FileError{Path: path, Line: 1, Column: strings.Join(other, ", "),
				Reason: `not declared in the map (give it a role, list it in drop, or set other_columns = "drop")`}
		}
	}
	// How each source column's values are checked for identifiers, and which are kept.
	used := make([]bool, len(raw))
	for _, p := range r.plans {
		for _, c := range p.cells {
			if c.src >= 0 {
				used[c.src] = true
			}
		}
	}
	r.guard = rowGuard{path: path, names: names, class: make([]colClass, len(raw))}
	for i, h := range raw {
		switch {
		case dropped[fold(h)]:
			r.guard.class[i] = colSkip
		case !used[i]:
			r.guard.class[i] = colUndeclared
		default:
			r.guard.class[i] = colData
			r.kept = append(r.kept, i)
		}
	}
	if src, ok := m.Columns["patient_id"]; ok {
		if i, ok := at[fold(src)]; ok {
			r.guard.class[i] = colPatient
		}
	}
	if src, ok := m.Columns["clinic_id"]; ok {
		if i, ok := at[fold(src)]; ok {
			r.guard.class[i] = colID
		}
	}
	if src, ok := m.Columns["date"]; ok {
		if i, ok := at[fold(src)]; ok {
			r.guard.class[i] = colDate
		}
	}
	for _, canon := range FreeTextColumns {
		src, ok := m.Columns[canon]
		if !ok {
			continue
		}
		i, ok := at[fold(src)]
		if !ok {
			continue
		}
		for pos, k := range r.kept {
			if k == i {
				r.free = append(r.free, pos)
			}
		}
	}
	r.width = len(raw)
	for p := range r.plans {
		cols := make([]string, len(r.plans[p].cells))
		for i, c := range r.plans[p].cells {
			if c.src >= 0 && c.src < len(raw) {
				cols[i] = strings.TrimSpace(raw[c.src])
			}
		}
		r.plans[p].cols = cols
	}
	r.buf = make([]string, len(r.hdr))
	r.next = len(r.plans)
	return r, nil
}

func codeSet(codes []string) map[string]bool {
	s := make(map[string]bool, 2*len(codes))
	for _, c := range codes {
		s[c], s[normNumber(c)] = true, true
	}
	return s
}

func (r *mapped) Kind() Kind       { return r.m.Kind }
func (r *mapped) Header() []string { return r.hdr }
func (r *mapped) Empty() int64     { return r.empty }

func (r *mapped) Progress() (int64, int64) { return r.src.progress() }
func (r *mapped) Close() error             { return r.src.close() }

func (r *mapped) Next() (Record, error) {
	for {
		for r.next < len(r.plans) {
			p := &r.plans[r.next]
			r.next++
			if len(r.noValue) > 0 {
				if pr := uncalculated(r.noValue, r.guard.names, p.uses); pr != nil {
					// A formula with no stored result in a column of this record: the record
					// is quarantined, whatever else the row holds.
					r.fill(p)
					r.emitted = true
					return Record{Line: r.line, Fields: r.buf, Source: r.keptBuf, Columns: p.cols, Problem: pr, FreeText: r.free}, nil
				}
			}
			if r.fill(p) {
				r.emitted = true
				return Record{Line: r.line, Fields: r.buf, Source: r.keptBuf, Columns: p.cols, FreeText: r.free}, nil
			}
		}
		if r.pending && !r.emitted {
			// A row with no response for any instrument still becomes one record (of the
			// first instrument, every item empty), so that the validator quarantines it and
			// no source row goes unaccounted.
			r.empty++
			r.pending = false
			if len(r.plans) > 0 {
				r.fill(&r.plans[0])
				return Record{Line: r.line, Fields: r.buf, Source: r.keptBuf, Columns: r.plans[0].cols, FreeText: r.free}, nil
			}
		}
		r.pending = false
		row, err := r.src.next()
		if err != nil {
			return Record{}, err
		}
		if err := r.guard.check(row); err != nil {
			return Record{}, err
		}
		r.keptBuf = r.keptBuf[:0]
		for _, i := range r.kept {
			v := ""
			if i < len(row.fields) {
				v = row.fields[i]
			}
			r.keptBuf = append(r.keptBuf, v)
		}
		if row.last > r.width && r.m.OtherColumns != "drop" {
			// Values under no header column: the row cannot be read as the map says. One
			// record stands for the row, whatever its instruments.
			r.line, r.pending = row.line, false
			return Record{Line: row.line, Source: r.keptBuf, FreeText: r.free, Problem: &Problem{Reason: ReasonMalformed,
				Detail: fmt.Sprintf("values in %d fields, header has %d", row.last, r.width)}}, nil
		}
		r.line, r.source, r.noValue, r.next, r.pending, r.emitted = row.line, row.fields, row.noValue, 0, true, false
	}
}

// fill writes the fields of p into r.buf and reports whether they make a record.
func (r *mapped) fill(p *plan) bool {
	scored := false
	for i := range p.cells {
		c := &p.cells[i]
		v := r.value(c)
		if c.conv == convScore && v != "" {
			scored = true
		}
		r.buf[i] = v
	}
	return scored || !p.wide
}

func (r *mapped) value(c *cell) string {
	if c.src < 0 {
		return c.constant
	}
	v := ""
	if c.src < len(r.source) {
		v = strings.TrimSpace(r.source[c.src])
	}
	if c.missing != nil && (c.missing[v] || c.missing[normNumber(v)]) {
		return ""
	}
	if c.text != nil {
		if to, ok := c.text[recodeKey(v)]; ok {
			return to
		}
	}
	switch c.conv {
	case convDate:
		return r.date(v)
	case convScore:
		return recode(normNumber(v), c)
	}
	return normNumber(v)
}

func recode(v string, c *cell) string {
	if v == "" {
		return v
	}
	if len(c.recode) > 0 {
		if to, ok := c.recode[v]; ok {
			return to
		}
		return "?" + v // not a code the map knows: the validator quarantines it as not an integer
	}
	if c.subtract != 0 {
		if n, err := strconv.Atoi(v); err == nil {
			return strconv.Itoa(n - c.subtract)
		}
	}
	return v
}

// date makes a date cell YYYY-MM-DD where it can; anything else is passed on for the
// validator to judge.
func (r *mapped) date(v string) string {
	if v == "" {
		return v
	}
	v = r.src.date(v)
	if r.dateFormat != "" {
		if t, err := time.Parse(r.dateFormat, v); err == nil {
			return t.Format("2006-01-02")
		}
	}
	if len(v) > 10 && (v[10] == 'T' || v[10] == ' ') {
		if _, err := time.Parse("2006-01-02", v[:10]); err == nil {
			return v[:10]
		}
	}
	return v
}
