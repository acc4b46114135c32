// Package reports writes kapstat's workbook. The analysis is first laid out as a plain model —
// sheets holding blocks (tables and charts) of rows of typed cells — then small-cell suppression
// runs on that model (suppress.go), and only then is it rendered by excelize (render.go). Keeping
// the model free of excelize makes suppression and the golden text dump easy to test.
package reports

import "math"

// Kind is what a cell holds; it decides the number format and whether suppression applies.
type Kind uint8

const (
	// Text is a label or text from the input files; always written as a string, never a formula.
	Text Kind = iota
	// Count is a number of patients (or rows): subject to small-cell suppression.
	Count
	// Rate is a proportion 0..1, shown as a percent with one decimal.
	Rate
	// Mean is a mean score or a score-scale quantity, one decimal.
	Mean
	// Estimate is a statistic shown with two decimals (effect size, hazard ratio, chi-square).
	Estimate
	// PValue is a p-value, three decimals, "<0.001" below that.
	PValue
	// Int is a whole number that is not a count of people (a week, a day, degrees of freedom).
	Int
)

// Mark tells why a cell is hidden.
type Mark uint8

const (
	// Shown cells are written as they are.
	Shown Mark = iota
	// Small marks a count from 1 to the threshold − 1: shown as "<11".
	Small
	// Protected marks a cell hidden so that a small count cannot be worked out from the others
	// (complementary suppression), or a value resting on a hidden count: shown as "—".
	Protected
)

// Cell is one cell of a table.
type Cell struct {
	Kind  Kind
	Text  string  // Text cells; for other kinds a text shown instead of the number (e.g. "not reached")
	Value float64 // numeric kinds; NaN means not available and is shown as "—"
	// N is the number of patients a rate, mean or estimate rests on; when it is 1..threshold−1 the
	// value is hidden in the external workbook. 0 means "not applicable".
	N int
	// Deps are the columns of the same row this value rests on: hiding any of them hides it.
	Deps []int
	// Key names the quantity a cell shows, the same wherever it appears in the workbook
	// ("PHQ9/with_endpoint"), so that a value hidden in one table is hidden in all.
	Key string
	// Needs are the keys of the counts this value rests on wherever they are shown (a
	// quarter's mean change needs that quarter's completers; a Kaplan–Meier value needs its
	// curve's patients and relapses): hiding any of them hides it.
	Needs  []string
	Hidden Mark
	Bold   bool
	Indent bool // a text cell that is part of the line above (a reason, a sub-step)
}

// isNumber reports whether the cell shows a number (not text, not "not available").
func (c *Cell) isNumber() bool {
	return c.Kind != Text && c.Text == "" && !math.IsNaN(c.Value)
}

// Row is a row of a table. A Section row is a sub-heading within the table (its first cell
// only); a Span row is a line of text (its first cell) across the table's width, under the row
// it explains.
type Row struct {
	Cells   []Cell
	Section bool
	Span    bool
}

// Ref addresses a cell of a table by data row and column.
type Ref struct{ Row, Col int }

// Sum declares that the total cell equals the sum of the part cells plus Hidden values that the
// table does not show (e.g. patients excluded for a reason not listed). Suppression uses it to
// make sure no hidden count can be recomputed from the others.
type Sum struct {
	Total  Ref
	Parts  []Ref
	Hidden []int // values of parts not shown in the table
}

// Column is a table column.
type Column struct {
	Header string
	Width  float64 // minimum width in characters; 0 = from the contents
}

// Table is a titled grid with a header row and plain-words notes under it.
type Table struct {
	Title   string
	Columns []Column
	Rows    []Row
	Notes   []string
	Sums    []Sum
	// Wide tables let their last column (long text) run across the sheet's width.
	Wide bool

	top int // sheet row (1-based) of the title, set by layout
}

// at returns a pointer to the cell at r, or nil when the row is short.
func (t *Table) at(r Ref) *Cell {
	if r.Row < 0 || r.Row >= len(t.Rows) || r.Col < 0 || r.Col >= len(t.Rows[r.Row].Cells) {
		return nil
	}
	return &t.Rows[r.Row].Cells[r.Col]
}

// add appends a row and returns its index.
func (t *Table) add(cells ...Cell) int {
	t.Rows = append(t.Rows, Row{Cells: cells})
	return len(t.Rows) - 1
}

// span appends a line of text across the table, hidden with the cells it rests on (Deps of
// the row above do not apply: give the cell Needs).
func (t *Table) span(c Cell) {
	c.Kind = Text
	t.Rows = append(t.Rows, Row{Cells: []Cell{c}, Span: true})
}

// section appends a sub-heading row.
func (t *Table) section(title string) {
	t.Rows = append(t.Rows, Row{Cells: []Cell{{Kind: Text, Text: title, Bold: true}}, Section: true})
}

// headerRow is the sheet row of the table's header; data row i is at headerRow()+1+i.
func (t *Table) headerRow() int { return t.top + 1 }

// Series is one line of a chart: X and Y are columns of table T over data rows From..To.
type Series struct {
	Name     string
	T        *Table
	X, Y     int
	From, To int
	Color    string // hex RGB
	Dashed   bool
}

// Chart is a native line chart drawn from table cells. Scatter charts place points by their x
// value (days); line charts space categories evenly (weeks).
type Chart struct {
	Title, XTitle, YTitle string
	Scatter               bool
	// Bar draws horizontal bars, one group per row (X holds the row labels), for values that
	// may be negative (differences between groups).
	Bar      bool
	YPercent bool
	Series   []Series
	Rows     int // rows the chart spans
	// Beside places the chart to the right of this table instead of below the previous block.
	Beside *Table

	top, col int
}

// PageBreak starts a new printed page.
type PageBreak struct{}

// Block is a *Table, a *Chart, a *Paragraph or a PageBreak.
type Block any

// Paragraph is a line of plain text between tables.
type Paragraph struct {
	Text string
	Bold bool
}

// Sheet is one worksheet.
type Sheet struct {
	Name   string
	Title  string
	Intro  []string // lines under the title: as-of date, audience, denominators
	Blocks []Block
	// Freeze is the table whose header row stays in view (and repeats on printed pages) because
	// the tables below share its columns; nil freezes the title row only.
	Freeze *Table
}

// Workbook is the whole model.
type Workbook struct {
	Sheets []*Sheet
}

// Tables returns every table of the workbook in order.
func (w *Workbook) Tables() []*Table {
	var out []*Table
	for _, s := range w.Sheets {
		for _, b := range s.Blocks {
			if t, ok := b.(*Table); ok {
				out = append(out, t)
			}
		}
	}
	return out
}

// Cell constructors.

func text(s string) Cell { return Cell{Kind: Text, Text: s} }

func bold(s string) Cell { return Cell{Kind: Text, Text: s, Bold: true} }

func indented(s string) Cell { return Cell{Kind: Text, Text: s, Indent: true} }

func count(key string, n int) Cell { return Cell{Kind: Count, Value: float64(n), Key: key} }

func rate(v float64, deps ...int) Cell { return Cell{Kind: Rate, Value: v, Deps: deps} }

func mean(v float64, n int, deps ...int) Cell { return Cell{Kind: Mean, Value: v, N: n, Deps: deps} }

func estimate(v float64, n int, deps ...int) Cell {
	return Cell{Kind: Estimate, Value: v, N: n, Deps: deps}
}

func pvalue(v float64, n int) Cell { return Cell{Kind: PValue, Value: v, N: n} }

func integer(v int) Cell { return Cell{Kind: Int, Value: float64(v)} }

func blank() Cell { return Cell{Kind: Text} }
