package reports

import (
	"math"
	"testing"
)

// marks returns the Hidden marks of row r.
func marks(t *Table, r int) []Mark {
	out := make([]Mark, len(t.Rows[r].Cells))
	for i, c := range t.Rows[r].Cells {
		out[i] = c.Hidden
	}
	return out
}

func equalMarks(a, b []Mark) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// rowSum is a table of one row: total in column 0, parts after it.
func rowSum(total int, parts ...int) *Table {
	t := &Table{}
	cells := []Cell{count("", total)}
	s := Sum{Total: Ref{0, 0}}
	for i, p := range parts {
		cells = append(cells, count("", p))
		s.Parts = append(s.Parts, Ref{0, i + 1})
	}
	t.add(cells...)
	t.Sums = []Sum{s}
	return t
}

func TestSuppressRowSums(t *testing.T) {
	const S, P, o = Small, Protected, Shown
	for _, tc := range []struct {
		name  string
		total int
		parts []int
		want  []Mark // total first
	}{
		{"nothing small", 100, []int{40, 60}, []Mark{o, o, o}},
		{"zero is shown", 100, []int{0, 100}, []Mark{o, o, o}},
		{"one small part hides the next smallest", 100, []int{5, 40, 55}, []Mark{o, S, P, o}},
		{"two small parts protect each other", 100, []int{5, 7, 88}, []Mark{o, S, S, o}},
		{"a zero is not the complement when a non-zero part is left", 20, []int{0, 9, 11}, []Mark{o, o, S, P}},
		{"small total with one small part", 30, []int{4, 26}, []Mark{o, S, P}},
		{"only the total is left to hide", 9, []int{9}, []Mark{S, S}},
		{"a small total and large parts", 10, []int{0, 10}, []Mark{S, o, S}},
		// 20 = a + b with both "<11" gives a = b = 10 by bounds: the total must go too.
		{"two small parts at their bound", 20, []int{10, 10}, []Mark{P, S, S}},
		// 21 = 10 + 11: hiding 10 and then 11 leaves 21 = a + b, a ≤ 10, so b ≥ 11: not pinned.
		{"a part at the bound and its complement", 21, []int{10, 11}, []Mark{o, S, P}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := rowSum(tc.total, tc.parts...)
			Suppress([]*Table{tb}, 11)
			if got := marks(tb, 0); !equalMarks(got, tc.want) {
				t.Errorf("marks = %v, want %v", got, tc.want)
			}
			if d := Determined([]*Table{tb}, 11); len(d) > 0 {
				t.Errorf("still determined: %v", d)
			}
		})
	}
}

// A part a sum implies without showing it is an unknown of the system, not a count of the
// workbook: it needs no protection of its own, but it does keep a hidden count beside it safe.
func TestSuppressUnshownPart(t *testing.T) {
	tb := &Table{}
	tb.add(count("", 50), count("", 45))
	tb.Sums = []Sum{{Total: Ref{0, 0}, Parts: []Ref{{0, 1}}, Hidden: []int{5}}}
	Suppress([]*Table{tb}, 11)
	if got, want := marks(tb, 0), []Mark{Shown, Shown}; !equalMarks(got, want) {
		t.Errorf("marks = %v, want %v", got, want)
	}
	// 50 = 8 (hidden) + an unshown part: two unknowns, nothing more to hide.
	tb = &Table{}
	tb.add(count("", 50), count("", 8))
	tb.Sums = []Sum{{Total: Ref{0, 0}, Parts: []Ref{{0, 1}}, Hidden: []int{42}}}
	Suppress([]*Table{tb}, 11)
	if got, want := marks(tb, 0), []Mark{Shown, Small}; !equalMarks(got, want) {
		t.Errorf("marks = %v, want %v", got, want)
	}
	// Where the part is a count shown elsewhere (the dropouts on Attrition), its key ties the
	// sums: 50 = 45 + dropouts, dropouts = 5 shown as <11 on another table → 45 must go.
	a := &Table{}
	a.add(count("with_baseline", 50), count("completers", 45))
	b := &Table{}
	b.add(count("with_baseline", 50), count("dropouts", 5), count("completers", 45))
	b.Sums = []Sum{{Total: Ref{0, 0}, Parts: []Ref{{0, 1}, {0, 2}}}}
	Suppress([]*Table{a, b}, 11)
	if d := Determined([]*Table{a, b}, 11); len(d) > 0 {
		t.Errorf("determined: %v", d)
	}
	if b.Rows[0].Cells[1].Hidden != Small || (b.Rows[0].Cells[0].Hidden == Shown && b.Rows[0].Cells[2].Hidden == Shown) {
		t.Errorf("marks %v: the dropouts can be recomputed", marks(b, 0))
	}
}

// A 2×2 table with row and column totals: one small cell needs three more hidden so that every
// row and column has two unknowns.
func TestSuppressTwoWay(t *testing.T) {
	tb := &Table{}
	//        A   B   total
	tb.add(count("", 5), count("", 30), count("", 35))
	tb.add(count("", 40), count("", 50), count("", 90))
	tb.add(count("", 45), count("", 80), count("", 125))
	for r := 0; r < 3; r++ {
		tb.Sums = append(tb.Sums, Sum{Total: Ref{r, 2}, Parts: []Ref{{r, 0}, {r, 1}}})
	}
	for c := 0; c < 3; c++ {
		tb.Sums = append(tb.Sums, Sum{Total: Ref{2, c}, Parts: []Ref{{0, c}, {1, c}}})
	}
	Suppress([]*Table{tb}, 11)
	if d := Determined([]*Table{tb}, 11); len(d) > 0 {
		t.Errorf("determined: %v", d)
	}
	if tb.Rows[0].Cells[0].Hidden != Small || tb.Rows[1].Cells[1].Hidden == Shown {
		t.Errorf("marks %v %v %v", marks(tb, 0), marks(tb, 1), marks(tb, 2))
	}
}

func TestSuppressDependents(t *testing.T) {
	tb := &Table{}
	// n, events, rate resting on both, mean resting on 7 patients, a week number
	tb.add(count("n", 200), count("events", 4), rate(0.02, 0, 1), mean(3.5, 7), integer(3))
	tb.add(count("n2", 200), count("events2", 40), rate(0.2, 0, 1), mean(3.5, 40), Cell{Kind: Rate, Value: math.NaN(), Deps: []int{1}})
	Suppress([]*Table{tb}, 11)
	if got, want := marks(tb, 0), []Mark{Shown, Small, Protected, Protected, Shown}; !equalMarks(got, want) {
		t.Errorf("row 0 marks = %v, want %v", got, want)
	}
	if got, want := marks(tb, 1), []Mark{Shown, Shown, Shown, Shown, Shown}; !equalMarks(got, want) {
		t.Errorf("row 1 marks = %v, want %v", got, want)
	}
}

// The same quantity shown in two tables is hidden in both.
func TestSuppressByKey(t *testing.T) {
	a := rowSum(100, 5, 40, 55)
	a.Rows[0].Cells[2].Key = "completers"
	b := &Table{}
	b.add(count("completers", 40), rate(0.5, 0))
	Suppress([]*Table{a, b}, 11)
	if got, want := marks(b, 0), []Mark{Protected, Protected}; !equalMarks(got, want) {
		t.Errorf("marks = %v, want %v", got, want)
	}
}

func TestSuppressOff(t *testing.T) {
	tb := rowSum(100, 5, 95)
	Suppress([]*Table{tb}, 0)
	if got := marks(tb, 0); !equalMarks(got, []Mark{Shown, Shown, Shown}) {
		t.Errorf("marks = %v", got)
	}
}

// Inference across sums: a hidden count that one sum leaves with two unknowns can still be
// worked out when the other unknown is pinned by a second sum (here through its key in another
// table). Elimination must see it.
func TestSuppressChainedSums(t *testing.T) {
	// Table a: 100 = x (5, small) + y (30) + 65; table b: 50 = y + 20 with y under the same key.
	a := &Table{}
	a.add(count("total", 100), count("x", 5), count("y", 30), count("z", 65))
	a.Sums = []Sum{{Total: Ref{0, 0}, Parts: []Ref{{0, 1}, {0, 2}, {0, 3}}}}
	b := &Table{}
	b.add(count("w", 50), count("y", 30), count("v", 20))
	b.Sums = []Sum{{Total: Ref{0, 0}, Parts: []Ref{{0, 1}, {0, 2}}}}
	Suppress([]*Table{a, b}, 11)
	if d := Determined([]*Table{a, b}, 11); len(d) > 0 {
		t.Errorf("determined: %v", d)
	}
	if a.Rows[0].Cells[1].Hidden != Small {
		t.Errorf("x not hidden: %v", marks(a, 0))
	}
	// y = 50 − 20 = 30 from b: so x = 100 − 30 − 65 unless another count of a (or of b) is
	// hidden too. (y itself may stay derivable: 30 reveals nothing.)
	hiddenA, hiddenB := 0, 0
	for c := range a.Rows[0].Cells {
		if a.Rows[0].Cells[c].Hidden != Shown {
			hiddenA++
		}
	}
	for c := range b.Rows[0].Cells {
		if b.Rows[0].Cells[c].Hidden != Shown {
			hiddenB++
		}
	}
	if hiddenA < 3 && hiddenB < 2 {
		t.Errorf("marks a %v b %v: x = 100 − (50 − 20) − 65", marks(a, 0), marks(b, 0))
	}
}

// A value that Needs a count shown in another table is hidden with it.
func TestSuppressNeeds(t *testing.T) {
	a := &Table{}
	a.add(count("q3/completers", 7))
	b := &Table{}
	b.add(Cell{Kind: Mean, Value: -109.0 / 7, Needs: []string{"q3/completers"}}, Cell{Kind: Mean, Value: 2, Needs: []string{"q4/completers"}})
	Suppress([]*Table{a, b}, 11)
	if got, want := marks(b, 0), []Mark{Protected, Shown}; !equalMarks(got, want) {
		t.Errorf("marks = %v, want %v", got, want)
	}
}
