package reports

import "sort"

// Small-cell suppression for the external workbook (CMS cell-size suppression policy):
//
//   - primary: a count from 1 to below−1 is hidden (shown as "<11"); zero stays visible;
//   - values resting on few patients: a rate, mean or estimate whose N is 1..below−1 is hidden;
//   - dependencies: a rate or mean whose count (numerator or denominator) is hidden is hidden;
//   - the same quantity (Key) is hidden everywhere once it is hidden anywhere;
//   - complementary: in every declared sum (a total and its parts), if exactly one value is
//     unknown and it is a hidden cell or a small part the table does not show, the smallest
//     other part that is still shown is hidden as well (the total when no part is left), so that
//     the hidden value cannot be recomputed by subtraction.
//
// The steps repeat until nothing changes: each only hides cells, so the loop ends.

// Suppress hides the cells of tables that the rules above require, in place. below is the
// smallest count that may be shown (11); below ≤ 1 disables suppression.
func Suppress(tables []*Table, below int) {
	if below <= 1 {
		return
	}
	for _, t := range tables {
		for r := range t.Rows {
			for c := range t.Rows[r].Cells {
				cell := &t.Rows[r].Cells[c]
				switch {
				case cell.Kind == Count && cell.isNumber() && isSmall(cell.Value, below):
					cell.Hidden = Small
				case cell.Kind != Text && cell.Kind != Count && cell.N > 0 && cell.N < below:
					cell.Hidden = Protected
				}
			}
		}
	}
	for changed := true; changed; {
		changed = hideByKey(tables)
		for _, t := range tables {
			if hideDependents(t) {
				changed = true
			}
			for _, s := range t.Sums {
				if Exposed(t, s, below) && protectOne(t, s) {
					changed = true
				}
			}
		}
	}
}

func isSmall(v float64, below int) bool { return v >= 1 && v < float64(below) }

// hideByKey hides every shown cell whose Key is hidden somewhere.
func hideByKey(tables []*Table) bool {
	hidden := map[string]bool{}
	for _, t := range tables {
		for r := range t.Rows {
			for _, c := range t.Rows[r].Cells {
				if c.Key != "" && c.Hidden != Shown {
					hidden[c.Key] = true
				}
			}
		}
	}
	changed := false
	for _, t := range tables {
		for r := range t.Rows {
			for c := range t.Rows[r].Cells {
				cell := &t.Rows[r].Cells[c]
				if cell.Key != "" && cell.Hidden == Shown && hidden[cell.Key] {
					cell.Hidden = Protected
					changed = true
				}
			}
		}
	}
	return changed
}

// hideDependents hides shown cells that rest on a hidden cell of their row.
func hideDependents(t *Table) bool {
	changed := false
	for r := range t.Rows {
		cells := t.Rows[r].Cells
		for c := range cells {
			if cells[c].Hidden != Shown {
				continue
			}
			for _, d := range cells[c].Deps {
				if d >= 0 && d < len(cells) && cells[d].Hidden != Shown {
					cells[c].Hidden = Protected
					changed = true
					break
				}
			}
		}
	}
	return changed
}

// Exposed reports whether sum s lets a reader recompute a protected value: exactly one of its
// values is unknown — a hidden cell, or a part the table does not show — and that value is a
// hidden cell or a small unshown part. (An unshown part of 0 or at least below may be worked
// out: it is not sensitive.)
func Exposed(t *Table, s Sum, below int) bool {
	hidden := 0
	for _, ref := range append([]Ref{s.Total}, s.Parts...) {
		if c := t.at(ref); c != nil && c.Hidden != Shown {
			hidden++
		}
	}
	switch {
	case hidden+len(s.Hidden) != 1:
		return false
	case hidden == 1:
		return true
	}
	return isSmall(float64(s.Hidden[0]), below)
}

// protectOne hides one more shown cell of sum s: the smallest non-zero part, else any part,
// else the total. It reports whether a cell was hidden.
func protectOne(t *Table, s Sum) bool {
	parts := make([]*Cell, 0, len(s.Parts))
	for _, ref := range s.Parts {
		if c := t.at(ref); c != nil && c.Hidden == Shown {
			parts = append(parts, c)
		}
	}
	sort.SliceStable(parts, func(i, j int) bool {
		a, b := parts[i].Value, parts[j].Value
		if (a == 0) != (b == 0) {
			return b == 0 // non-zero parts first
		}
		return a < b
	})
	if len(parts) > 0 {
		parts[0].Hidden = Protected
		return true
	}
	if c := t.at(s.Total); c != nil && c.Hidden == Shown {
		c.Hidden = Protected
		return true
	}
	return false
}
