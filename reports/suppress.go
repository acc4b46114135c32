package reports

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Small-cell suppression for the external workbook (CMS cell-size suppression policy). The
// property it keeps: no hidden count can be worked out from the cells shown.
//
//   - primary: a count from 1 to below−1 is hidden (shown as "<11"); zero stays visible;
//   - values resting on few patients: a rate, mean or estimate whose N is 1..below−1 is hidden;
//   - dependencies: a value whose count in the same row (Deps) or anywhere in the workbook
//     (Needs, by key) is hidden is hidden, so that a rate's or a mean's digits cannot give its
//     count back; Kaplan–Meier values need their curve's counts;
//   - one quantity, one decision: every cell with the same Key is hidden once one is;
//   - complementary: the declared sums (a total and its parts, over every table, cells with
//     the same key being one unknown, parts a table does not show being unknowns too) form a
//     linear system. No hidden count from 1 to below−1 may be determined by it: not by
//     elimination (sums and differences of sums) nor by bounds (a "<11" is at least 1 and at
//     most below−1, every count at least 0). While one is, another shown count of a sum
//     connected to it is hidden (non-zero, entering few sums, small, first). A hidden count of
//     0 or of below or more, hidden only to protect a small one, may stay derivable: it
//     reveals nothing itself, and requiring more would blank most of a small clinic's
//     workbook. A part a table implies without showing it (with baseline minus completers)
//     is not a count of the workbook; where it is one (the dropouts on the Attrition sheet),
//     that sheet shows it with its key and its sums, and the key ties the two together.
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
	for {
		for changed := true; changed; {
			changed = hideByKey(tables)
			for _, t := range tables {
				if hideDependents(t) {
					changed = true
				}
			}
		}
		if !newSystem(tables, below).protect() {
			return
		}
	}
}

// traceSuppress, when set (by tests), sees every complementary choice.
var traceSuppress func(target string, value float64, chosen *Cell)

func isSmall(v float64, below int) bool { return v >= 1 && v < float64(below) }

// hideByKey hides every shown cell whose Key is hidden somewhere, and every shown cell that
// Needs a hidden key.
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
				if cell.Hidden != Shown {
					continue
				}
				hide := cell.Key != "" && hidden[cell.Key]
				for _, k := range cell.Needs {
					hide = hide || hidden[k]
				}
				if hide {
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

// ---------------------------------------------------------------- the linear system

// unknown is a value of the sums a reader does not see: a hidden count (all cells of one key
// are one unknown) or a part a sum implies but no cell shows.
type unknown struct {
	name      string  // key, cell address or "part … not shown"
	value     float64 // the true value
	sensitive bool    // must not be determined
	lo, hi    float64 // what a reader knows of it without the sums
}

// term is a shown count of a sum with the sign it enters with (+1 part, −1 total).
type term struct {
	cell *Cell
	sign float64
}

// equation is Σ coef[j]·x[j] + Σ shown sign·value = 0.
type equation struct {
	coef  map[int]float64
	shown []term
}

func (e equation) rhs() float64 {
	r := 0.0
	for _, t := range e.shown {
		r -= t.sign * t.cell.Value
	}
	return r
}

type system struct {
	unknowns []*unknown
	eqs      []equation
	eqsOf    map[int][]int // the equations of each unknown
}

// newSystem builds the linear system of the declared sums of tables as they are marked now.
func newSystem(tables []*Table, below int) *system {
	s := &system{eqsOf: map[int][]int{}}
	byKey := map[string]int{}
	byCell := map[*Cell]int{}
	variable := func(t *Table, ref Ref, c *Cell) int {
		if i, ok := byKey[c.Key]; ok && c.Key != "" {
			return i
		}
		if i, ok := byCell[c]; ok {
			return i
		}
		u := &unknown{name: c.Key, value: c.Value, sensitive: isSmall(c.Value, below), lo: 0, hi: math.Inf(1)}
		if u.name == "" {
			u.name = fmt.Sprintf("%s, row %d, column %d", t.Title, ref.Row+1, ref.Col+1)
		}
		s.unknowns = append(s.unknowns, u)
		i := len(s.unknowns) - 1
		if c.Key != "" {
			byKey[c.Key] = i
		}
		byCell[c] = i
		return i
	}
	for _, t := range tables {
		for si, sum := range t.Sums {
			eq := equation{coef: map[int]float64{}}
			add := func(ref Ref, sign float64) {
				c := t.at(ref)
				if c == nil || c.Kind != Count {
					return
				}
				if c.Hidden == Shown {
					if !math.IsNaN(c.Value) {
						eq.shown = append(eq.shown, term{c, sign})
					}
					return
				}
				eq.coef[variable(t, ref, c)] += sign
			}
			add(sum.Total, -1)
			for _, p := range sum.Parts {
				add(p, 1)
			}
			for hi, h := range sum.Hidden {
				s.unknowns = append(s.unknowns, &unknown{name: fmt.Sprintf("%s, sum %d, a part not shown (%d)", t.Title, si+1, hi+1),
					value: float64(h), lo: 0, hi: math.Inf(1)})
				eq.coef[len(s.unknowns)-1] = 1
			}
			for j, a := range eq.coef {
				if a == 0 {
					delete(eq.coef, j)
				}
			}
			if len(eq.coef) > 0 {
				s.eqs = append(s.eqs, eq)
				for j := range eq.coef {
					s.eqsOf[j] = append(s.eqsOf[j], len(s.eqs)-1)
				}
			}
		}
	}
	// A "<11" anywhere tells the reader the bounds of its quantity.
	for c, i := range byCell {
		if c.Hidden == Small {
			u := s.unknowns[i]
			u.lo, u.hi = math.Max(u.lo, 1), math.Min(u.hi, float64(below-1))
		}
	}
	return s
}

// Determined lists the hidden counts, and the implied small parts, that the declared sums of
// tables give away as they are marked now (empty when suppression holds).
func Determined(tables []*Table, below int) []string {
	s := newSystem(tables, below)
	var out []string
	for _, i := range s.determined() {
		out = append(out, fmt.Sprintf("%s = %g", s.unknowns[i].name, s.unknowns[i].value))
	}
	return out
}

// protect hides, for every determined unknown whose sums this round has not touched yet, one
// more shown count; it reports whether it hid anything.
func (s *system) protect() bool {
	det := s.determined()
	if len(det) == 0 {
		return false
	}
	// degree counts the sums a shown quantity enters: hiding a count that enters many sums
	// (a total shown on several sheets) spreads suppression, so cheaper candidates come first.
	degree := map[string]int{}
	id := func(c *Cell) string {
		if c.Key != "" {
			return c.Key
		}
		return fmt.Sprintf("%p", c)
	}
	for _, e := range s.eqs {
		for _, t := range e.shown {
			degree[id(t.cell)]++
		}
	}
	touched := map[int]bool{}
	hid := false
	for _, target := range det {
		comp := s.component(target)
		skip := false
		for _, e := range comp {
			skip = skip || touched[e]
		}
		if skip {
			continue // a count hidden this round may already protect it: look again next round
		}
		for _, e := range comp {
			touched[e] = true
		}
		// Candidates: the shown counts of the sums that pin the unknown (those whose combination
		// gives it by elimination; for a pin by bounds, the sums that hold it), then of the rest
		// of its sums. Among them: group-level counts before totals (a key with more parts,
		// PHQ9/clinic/east/rc/improved, before PHQ9/with_endpoint, which the Summary leads
		// with), non-zero before zero, those entering fewer sums, the smallest. The first whose
		// hiding leaves the unknown undetermined wins, else the first.
		pinning := map[int]bool{}
		for _, e := range s.pinningEquations(target, comp) {
			pinning[e] = true
		}
		var cand []*Cell
		tier := map[*Cell]int{}
		for _, e := range comp {
			t := 1
			if pinning[e] {
				t = 0
			}
			for _, sh := range s.eqs[e].shown {
				if sh.cell.Hidden != Shown {
					continue
				}
				if old, ok := tier[sh.cell]; !ok {
					tier[sh.cell] = t
					cand = append(cand, sh.cell)
				} else if t < old {
					tier[sh.cell] = t
				}
			}
		}
		if len(cand) == 0 {
			continue
		}
		parts := func(c *Cell) int { return strings.Count(c.Key, "/") }
		sort.SliceStable(cand, func(i, j int) bool {
			a, b := cand[i], cand[j]
			if tier[a] != tier[b] {
				return tier[a] < tier[b]
			}
			if pa, pb := parts(a), parts(b); pa != pb {
				return pa > pb
			}
			if (a.Value == 0) != (b.Value == 0) {
				return b.Value == 0
			}
			if da, db := degree[id(a)], degree[id(b)]; da != db {
				return da < db
			}
			return a.Value < b.Value
		})
		// Trials solve the sums near the unknown only (three sums away at most): a derivation
		// through farther sums, if any remains, is found in the next round.
		level := s.distances(target)
		near := comp[:0:0]
		for _, e := range comp {
			if level[e] <= 3 {
				near = append(near, e)
			}
		}
		chosen := cand[0]
		const trials = 40
		for i, c := range cand {
			if i == trials {
				break
			}
			if !s.pinsWithout(target, near, c) {
				chosen = c
				break
			}
		}
		chosen.Hidden = Protected
		if traceSuppress != nil {
			traceSuppress(s.unknowns[target].name, s.unknowns[target].value, chosen)
		}
		hid = true
	}
	return hid
}

// pinningEquations returns the equations of comp whose combination gives unknown target by
// elimination (tracked through the reduction with an identity block), or, when it is pinned by
// bounds only, the equations that hold it.
func (s *system) pinningEquations(target int, comp []int) []int {
	colOf := map[int]int{}
	var cols []int
	for _, e := range comp {
		for j := range s.eqs[e].coef {
			if _, ok := colOf[j]; !ok {
				colOf[j] = len(cols)
				cols = append(cols, j)
			}
		}
	}
	n, m := len(cols), len(comp)
	rows := make([][]float64, m)
	for r, e := range comp {
		row := make([]float64, n+1+m)
		for j, a := range s.eqs[e].coef {
			row[colOf[j]] = a
		}
		row[n+1+r] = 1 // which equations make up this row
		rows[r] = row
	}
	// Reduce on the coefficient columns only; the identity block follows the row operations.
	reduceWith(rows, n, n+m)
	k := colOf[target]
	for _, row := range rows {
		unit := row[k] != 0
		for c := 0; c < n && unit; c++ {
			unit = c == k || row[c] == 0
		}
		if !unit {
			continue
		}
		var out []int
		for r := 0; r < m; r++ {
			if row[n+1+r] != 0 {
				out = append(out, comp[r])
			}
		}
		return out
	}
	var out []int
	for _, e := range s.eqsOf[target] {
		out = append(out, e)
	}
	return out
}

// pinsWithout reports whether unknown target stays determined by the equations comp once the
// shown cell c (and every shown cell of its key) is hidden too.
func (s *system) pinsWithout(target int, comp []int, c *Cell) bool {
	extra := len(s.unknowns)
	var eqs []equation
	for _, e := range comp {
		old := s.eqs[e]
		ne := equation{coef: make(map[int]float64, len(old.coef)+1)}
		for j, a := range old.coef {
			ne.coef[j] = a
		}
		for _, t := range old.shown {
			if t.cell == c || (c.Key != "" && t.cell.Key == c.Key) {
				ne.coef[extra] += t.sign
			} else {
				ne.shown = append(ne.shown, t)
			}
		}
		eqs = append(eqs, ne)
	}
	bounds := func(j int) (float64, float64) {
		if j == extra {
			return 0, math.Inf(1)
		}
		return s.unknowns[j].lo, s.unknowns[j].hi
	}
	for _, j := range solve(eqs, bounds) {
		if j == target {
			return true
		}
	}
	return false
}

// distances returns, for the equations connected to unknown i, how many equations away from
// it each is (1: it holds i).
func (s *system) distances(i int) map[int]int {
	level := map[int]int{}
	seenU := map[int]bool{i: true}
	frontier := []int{i}
	for d := 1; len(frontier) > 0; d++ {
		var next []int
		for _, u := range frontier {
			for _, e := range s.eqsOf[u] {
				if _, ok := level[e]; ok {
					continue
				}
				level[e] = d
				for v := range s.eqs[e].coef {
					if !seenU[v] {
						seenU[v] = true
						next = append(next, v)
					}
				}
			}
		}
		frontier = next
	}
	return level
}

// component returns the equations connected to unknown i through shared unknowns.
func (s *system) component(i int) []int {
	seenU := map[int]bool{i: true}
	seenE := map[int]bool{}
	queue := []int{i}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, e := range s.eqsOf[u] {
			if seenE[e] {
				continue
			}
			seenE[e] = true
			for v := range s.eqs[e].coef {
				if !seenU[v] {
					seenU[v] = true
					queue = append(queue, v)
				}
			}
		}
	}
	out := make([]int, 0, len(seenE))
	for e := range seenE {
		out = append(out, e)
	}
	sort.Ints(out)
	return out
}

// determined returns the sensitive unknowns the system pins to one value, in index order.
func (s *system) determined() []int {
	pinned := map[int]bool{}
	done := map[int]bool{}
	bounds := func(j int) (float64, float64) { return s.unknowns[j].lo, s.unknowns[j].hi }
	for i, u := range s.unknowns {
		if !u.sensitive || done[i] {
			continue
		}
		comp := s.component(i)
		eqs := make([]equation, len(comp))
		for k, e := range comp {
			eqs[k] = s.eqs[e]
		}
		for _, j := range solve(eqs, bounds) {
			pinned[j] = true
		}
		for _, e := range comp {
			for j := range s.eqs[e].coef {
				done[j] = true
			}
		}
		done[i] = true
	}
	var out []int
	for i, u := range s.unknowns {
		if u.sensitive && pinned[i] {
			out = append(out, i)
		}
	}
	return out
}

// solve returns the unknowns of the equations eqs that a reader can pin down: by elimination
// (an unknown whose unit vector lies in the row space of the system), then by bounds
// propagated through the reduced and the original equations. The coefficients are small
// integers, so elimination in floating point with a tolerance is exact enough.
func solve(eqs []equation, bounds func(int) (lo, hi float64)) []int {
	if len(eqs) == 0 {
		return nil
	}
	colOf := map[int]int{}
	var cols []int
	for _, e := range eqs {
		for j := range e.coef {
			if _, ok := colOf[j]; !ok {
				colOf[j] = 0
				cols = append(cols, j)
			}
		}
	}
	sort.Ints(cols)
	for k, j := range cols {
		colOf[j] = k
	}
	n := len(cols)
	rows := make([][]float64, len(eqs))
	for r, e := range eqs {
		row := make([]float64, n+1)
		for j, a := range e.coef {
			row[colOf[j]] = a
		}
		row[n] = e.rhs()
		rows[r] = row
	}
	rref := reduce(rows, n)
	lo := make([]float64, n)
	hi := make([]float64, n)
	for k, j := range cols {
		lo[k], hi[k] = bounds(j)
	}
	// Sparse linear constraints Σ a·x = b: the reduced rows, then the original equations.
	type coef struct {
		k int
		a float64
	}
	type lin struct {
		terms []coef
		b     float64
	}
	var all []lin
	for _, row := range rref {
		l := lin{b: row[n]}
		for k := 0; k < n; k++ {
			if row[k] != 0 {
				l.terms = append(l.terms, coef{k, row[k]})
			}
		}
		if len(l.terms) == 1 { // x_k = b / a: determined by elimination
			v := l.b / l.terms[0].a
			lo[l.terms[0].k], hi[l.terms[0].k] = v, v
		}
		all = append(all, l)
	}
	for _, e := range eqs {
		l := lin{b: e.rhs()}
		for j, a := range e.coef {
			l.terms = append(l.terms, coef{colOf[j], a})
		}
		all = append(all, l)
	}
	// Bounds: in Σ a_m x_m = b, a_k x_k = b − Σ_{m≠k} a_m x_m ranges over the others' boxes.
	// Infinite bounds are counted apart so that one unbounded term leaves the others free.
	const eps = 1e-7
	for round := 0; round < 100; round++ {
		changed := false
		for _, l := range all {
			var sumMin, sumMax float64 // Σ min(a·x) and Σ max(a·x) over the finite parts
			infMin, infMax := 0, 0
			minOf := func(t coef) float64 { return math.Min(t.a*lo[t.k], t.a*hi[t.k]) }
			maxOf := func(t coef) float64 { return math.Max(t.a*lo[t.k], t.a*hi[t.k]) }
			for _, t := range l.terms {
				if v := minOf(t); math.IsInf(v, 0) {
					infMin++
				} else {
					sumMin += v
				}
				if v := maxOf(t); math.IsInf(v, 0) {
					infMax++
				} else {
					sumMax += v
				}
			}
			for _, t := range l.terms {
				// Range of Σ_{m≠k} a_m x_m.
				othersMax, othersMin := math.Inf(1), math.Inf(-1)
				if v := maxOf(t); math.IsInf(v, 0) {
					if infMax == 1 {
						othersMax = sumMax
					}
				} else if infMax == 0 {
					othersMax = sumMax - v
				}
				if v := minOf(t); math.IsInf(v, 0) {
					if infMin == 1 {
						othersMin = sumMin
					}
				} else if infMin == 0 {
					othersMin = sumMin - v
				}
				// a x_k ∈ [b − othersMax, b − othersMin].
				xlo, xhi := (l.b-othersMax)/t.a, (l.b-othersMin)/t.a
				if t.a < 0 {
					xlo, xhi = xhi, xlo
				}
				if !math.IsNaN(xlo) && !math.IsInf(xlo, 0) && xlo > lo[t.k]+eps {
					lo[t.k], changed = math.Ceil(xlo-eps), true
				}
				if !math.IsNaN(xhi) && !math.IsInf(xhi, 0) && xhi < hi[t.k]-eps {
					hi[t.k], changed = math.Floor(xhi+eps), true
				}
			}
		}
		if !changed {
			break
		}
	}
	var out []int
	for k, j := range cols {
		if hi[k]-lo[k] < 0.5 {
			out = append(out, j)
		}
	}
	return out
}

// reduce brings rows (n coefficients and a right-hand side each) to reduced row echelon form
// with partial pivoting, zeroing entries below a tolerance, and returns the non-zero rows.
func reduce(rows [][]float64, n int) [][]float64 { return reduceWith(rows, n, n) }

// reduceWith is reduce for rows whose columns n … last ride along with the row operations (a
// right-hand side, an identity block) without being pivoted on.
func reduceWith(rows [][]float64, n, last int) [][]float64 {
	const tol = 1e-9
	r := 0
	for c := 0; c < n && r < len(rows); c++ {
		p, best := -1, tol
		for i := r; i < len(rows); i++ {
			if v := math.Abs(rows[i][c]); v > best {
				p, best = i, v
			}
		}
		if p < 0 {
			continue
		}
		rows[r], rows[p] = rows[p], rows[r]
		inv := 1 / rows[r][c]
		for k := c; k <= last; k++ {
			rows[r][k] *= inv
		}
		for i := range rows {
			if i == r || rows[i][c] == 0 {
				continue
			}
			f := rows[i][c]
			for k := c; k <= last; k++ {
				rows[i][k] -= f * rows[r][k]
				if math.Abs(rows[i][k]) < tol {
					rows[i][k] = 0
				}
			}
		}
		r++
	}
	return rows[:r]
}
