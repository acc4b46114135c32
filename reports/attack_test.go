package reports

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/kapstat/kapstat/pipeline"
)

// The attacker test: for cohorts with groups of 0, 1, 10, 11 and 12 patients, read every cell
// of the external workbook as a recipient would, and try to work out every hidden count
// ("<11" or "—") from what is shown:
//
//   - sums and differences: every relation "a count equals the sum of the counts below it in
//     its column / beside it in its row" that holds in every generated cohort (so a reader who
//     knows the definitions would know it), solved jointly with the bounds a reader knows
//     (a "<11" is 1 to 10, a count is at least 0);
//   - the same quantity under another label: every pair of counts, anywhere in the workbook,
//     equal in every cohort, as an equation;
//   - ratios: a shown rate next to a shown count in the same group row, solved for a hidden
//     count of that row (rates are stored to 0.1%, as shown);
//   - means: a shown mean (to 0.1) in a row whose patient count is hidden, tried against every
//     n from 1 to 10;
//   - Kaplan–Meier arithmetic: a shown survival value or limit of a curve whose patients or
//     relapses are hidden (one event time gives S = (N−d)/N).
//
// A hidden count from 1 to 10 must not be recovered by any of them, and no hidden count at all
// by ratios, means or Kaplan–Meier values (those would feed the sums). The relations are found
// from the true values of the internal model, independently of the sums the builder declares.

// attackCohort writes assessments and sessions for a generated cohort: clinics of 1, 10, 11
// and 12 patients beside a large one, a route with one patient, programs, settings and
// integration exposure, dates over two years, dropouts, relapses and windows still open on
// the as-of day.
func attackCohort(t *testing.T, dir string, seed uint64, big int) []string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 99))
	// Cohorts differ in case mix, dropout and how often a second questionnaire is given, so
	// that a relation holding in all of them is one of definition, not of chance.
	lowBase, dropRate, gadRate := rng.Float64()*0.4, 0.1+0.3*rng.Float64(), 0.3+0.5*rng.Float64()
	start := time.Date(2024, 10, 1, 0, 0, 0, 0, time.UTC)
	date := func(d int) string { return start.AddDate(0, 0, d).Format("2006-01-02") }
	var a, s, pt strings.Builder
	a.WriteString("patient_id,clinic_id,instrument,date,total\n")
	s.WriteString("patient_id,clinic_id,date,session_type,route,program,setting,sbp_pre,sbp_max,dbp_max,dissociation,side_effects,serious_adverse_event\n")
	pt.WriteString("patient_id,age,sex,diagnosis,prior_treatments\n")
	sexes, diagnoses := []string{"female", "male", "other", ""}, []string{"depression", "ptsd", "anxiety", "bipolar", ""}
	effects := []string{"none", "nausea", "dizziness;nausea", "", "anxiety", "confusion"}
	sizes := []struct {
		clinic string
		n      int
	}{{"solo", 1}, {"ten", 10}, {"eleven", 11}, {"twelve", 12}, {"main", big}}
	routes := []string{"iv", "im", "sublingual"}
	id := 0
	for _, c := range sizes {
		for k := 0; k < c.n; k++ {
			id++
			p := fmt.Sprintf("p%04d", id)
			d0 := rng.IntN(640)
			route, program, setting := routes[rng.IntN(len(routes))], "kap", "in_person"
			if id == 7 {
				route = "intranasal" // a route of one patient
			}
			if rng.Float64() < 0.3 {
				program = "infusion"
				route = "iv"
			}
			if route == "sublingual" && rng.Float64() < 0.5 {
				setting = "home"
			}
			age := fmt.Sprint(25 + rng.IntN(50))
			if rng.Float64() < 0.05 {
				age = "" // unknown
			}
			fmt.Fprintf(&pt, "%s,%s,%s,%s,%d\n", p, age, sexes[rng.IntN(len(sexes))], diagnoses[rng.IntN(len(diagnoses))], rng.IntN(5))
			for k, n := 0, 1+rng.IntN(6); k < n; k++ { // one to six doses, a week apart, vitals often missing
				pre, peak, dia, dis := "", "", "", ""
				if rng.Float64() < 0.7 {
					v := 110 + rng.IntN(40)
					pre, peak, dia = fmt.Sprint(v), fmt.Sprint(v+rng.IntN(60)), fmt.Sprint(70+rng.IntN(45))
				}
				if rng.Float64() < 0.6 {
					dis = fmt.Sprint(rng.IntN(20))
				}
				sae := "no"
				if rng.Float64() < 0.02 {
					sae = "yes"
				}
				fmt.Fprintf(&s, "%s,%s,%s,dosing,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", p, c.clinic, date(d0+7*k), route, program, setting,
					pre, peak, dia, dis, effects[rng.IntN(len(effects))], sae)
			}
			for i := 0; i < rng.IntN(6); i++ {
				fmt.Fprintf(&s, "%s,%s,%s,integration,,%s,%s,,,,,,\n", p, c.clinic, date(d0+1+7*i), program, setting)
			}
			for _, inst := range []string{"PHQ9", "GAD7"} {
				if inst == "GAD7" && (rng.Float64() > gadRate || c.clinic == "solo") {
					continue // the one-patient clinic is a group of 0 for GAD-7
				}
				if rng.Float64() < 0.05 {
					continue // a treated patient without this questionnaire
				}
				base := 10 + rng.IntN(17)
				if rng.Float64() < lowBase {
					base = 2 + rng.IntN(8) // below the cutoff
				}
				if inst == "GAD7" {
					base = min(base, 21)
				}
				baseDay := d0 - rng.IntN(8)
				if rng.Float64() < 0.08 {
					baseDay = d0 - 40 // too early to be a baseline
				}
				fmt.Fprintf(&a, "%s,%s,%s,%s,%d\n", p, c.clinic, inst, date(baseDay), base)
				score := float64(base)
				// Some leave before any acute score, some after week 4.
				drop, early := rng.Float64() < dropRate, rng.Float64() < 0.5
				for _, wk := range []int{14, 28, 42, 56, 84, 112, 168} {
					if drop && (early || wk > 28) {
						break
					}
					if rng.Float64() < 0.25 {
						continue
					}
					if wk <= 56 {
						score *= 0.55 + 0.7*rng.Float64() // scores can rise again within the window
					} else {
						score += float64(rng.IntN(9) - 3)
					}
					v := max(0, min(int(math.Round(score)), base+5))
					if inst == "GAD7" {
						v = min(v, 21)
					}
					fmt.Fprintf(&a, "%s,%s,%s,%s,%d\n", p, c.clinic, inst, date(d0+wk), min(v, 27))
				}
			}
		}
	}
	files := []string{filepath.Join(dir, "assessments.csv"), filepath.Join(dir, "sessions.csv"), filepath.Join(dir, "patients.csv")}
	for i, b := range []*strings.Builder{&a, &s, &pt} {
		if err := os.WriteFile(files[i], []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// view is one table cell as the recipient sees it, with the truth beside it.
type view struct {
	sig     string  // sheet | table | section | row label | column header
	kind    Kind    // from the model
	truth   float64 // the value before suppression
	shown   bool    // a number is shown
	value   float64 // the number shown (as stored in the file)
	small   bool    // shown as "<11"
	hidden  bool    // shown as "<11" or "—"
	isCount bool
}

// attackView renders the external workbook of a to a file, reads every table cell back from
// it, and pairs each with its true value.
func attackView(t *testing.T, a *pipeline.Analysis, quarter string, suppress func([]*Table, int)) [][][]view {
	t.Helper()
	opt := Options{Audience: "external", Quarter: quarter, SuppressBelow: 11, Now: fixedNow}
	truth := build(a, opt)
	wb := build(a, opt)
	suppress(wb.Tables(), 11)
	f := excelize.NewFile()
	if err := render(f, wb, opt); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "external.xlsx")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	f.Close()
	g, err := excelize.OpenFile(path, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	var out [][][]view
	for si, s := range wb.Sheets {
		for bi, b := range s.Blocks {
			tb, ok := b.(*Table)
			if !ok {
				continue
			}
			tt := truth.Sheets[si].Blocks[bi].(*Table)
			section, lastLabel := "", ""
			var rows [][]view
			for r, row := range tb.Rows {
				if row.Section {
					section = row.Cells[0].Text
					rows = append(rows, nil)
					continue
				}
				label := ""
				if len(row.Cells) > 0 {
					label = row.Cells[0].Text
				}
				if label != "" {
					lastLabel = label
				} else if len(row.Cells) > 1 {
					// An unlabelled row continues the one above (a curve's later days).
					label = fmt.Sprintf("%s / %g", lastLabel, tt.Rows[r].Cells[1].Value)
				}
				var vs []view
				for c, cl := range row.Cells {
					ref, _ := excelize.CoordinatesToCellName(c+1, tb.headerRow()+1+r)
					raw, _ := g.GetCellValue(s.Name, ref)
					header := ""
					if c < len(tb.Columns) {
						header = tb.Columns[c].Header
					}
					v := view{sig: strings.Join([]string{s.Name, tb.Title, section, label, header}, " | "), kind: cl.Kind,
						truth: tt.Rows[r].Cells[c].Value, isCount: cl.Kind == Count}
					switch {
					case raw == "<0.001":
						v.shown, v.value = true, 0.0005 // a p-value below 0.001
					case strings.HasPrefix(raw, "<"):
						v.small, v.hidden = true, true
					case raw == "—":
						v.hidden = true
					default:
						if x, err := strconv.ParseFloat(raw, 64); err == nil && cl.Kind != Text {
							v.shown, v.value = true, x
						}
					}
					if v.hidden != (cl.Hidden != Shown) {
						t.Fatalf("%s: the file shows %q but the model marks %v", v.sig, raw, cl.Hidden)
					}
					vs = append(vs, v)
				}
				rows = append(rows, vs)
			}
			out = append(out, rows)
		}
	}
	return out
}

// relation is total = Σ parts between cell signatures.
type relation struct {
	total string
	parts []string
}

func (r relation) key() string { return r.total + " = " + strings.Join(r.parts, " + ") }

// discover lists the sum and equality relations the true counts of one workbook satisfy.
func discover(tables [][][]view) map[string]relation {
	rels := map[string]relation{}
	add := func(total view, parts []view) {
		if len(parts) == 0 {
			return
		}
		sum := 0.0
		sigs := make([]string, len(parts))
		for i, p := range parts {
			sum += p.truth
			sigs[i] = p.sig
		}
		if sum == total.truth && !math.IsNaN(sum) {
			r := relation{total.sig, sigs}
			rels[r.key()] = r
		}
	}
	counts := func(row []view) []int {
		var idx []int
		for c, v := range row {
			if v.isCount && !math.IsNaN(v.truth) {
				idx = append(idx, c)
			}
		}
		return idx
	}
	var all []view
	for _, rows := range tables {
		// Columns: a row equals the sum of 1–6 rows below it (stopping at a section), and the
		// first row equals the sum of each section's rows.
		for r, row := range rows {
			for _, c := range counts(row) {
				var parts []view
				for k := r + 1; k < len(rows) && k <= r+6; k++ {
					if rows[k] == nil || c >= len(rows[k]) || !rows[k][c].isCount {
						break
					}
					parts = append(parts, rows[k][c])
					add(row[c], parts)
				}
			}
		}
		if len(rows) > 0 && rows[0] != nil {
			for _, c := range counts(rows[0]) {
				var parts []view
				for k := 1; k <= len(rows); k++ {
					if k == len(rows) || rows[k] == nil {
						add(rows[0][c], parts)
						parts = nil
						continue
					}
					if c < len(rows[k]) && rows[k][c].isCount {
						parts = append(parts, rows[k][c])
					}
				}
			}
		}
		// Rows: a count equals the sum of a run of 1–5 counts after it.
		for _, row := range rows {
			idx := counts(row)
			for i, c := range idx {
				for j := i + 1; j < len(idx) && j <= i+5; j++ {
					var parts []view
					for _, k := range idx[i+1 : j+1] {
						parts = append(parts, row[k])
					}
					add(row[c], parts)
				}
			}
		}
		for _, row := range rows {
			for _, v := range row {
				if v.isCount && !math.IsNaN(v.truth) {
					all = append(all, v)
				}
			}
		}
	}
	// Ratios: a rate of a row equal to one count of the row over another.
	for _, rows := range tables {
		for _, row := range rows {
			for _, v := range row {
				if v.kind != Rate || math.IsNaN(v.truth) {
					continue
				}
				for _, num := range row {
					for _, den := range row {
						if num.isCount && den.isCount && num.sig != den.sig && den.truth > 0 && math.Abs(num.truth/den.truth-v.truth) < 1e-12 {
							r := relation{"ratio:" + v.sig, []string{num.sig, den.sig}}
							rels[r.key()] = r
						}
					}
				}
			}
		}
	}
	// Equalities: the same count under two labels.
	for i := range all {
		for j := i + 1; j < len(all); j++ {
			if all[i].sig != all[j].sig && all[i].truth == all[j].truth {
				add(all[i], []view{all[j]})
			}
		}
	}
	return rels
}

func TestAttackExternalWorkbook(t *testing.T) {
	if testing.Short() {
		t.Skip("analyses several cohorts")
	}
	type cohort struct {
		a      *pipeline.Analysis
		tables [][][]view
		weak   [][][]view // the same workbook with only the primary suppression
	}
	var cohorts []cohort
	ctx := context.Background()
	for i, big := range []int{40, 60, 80, 50, 45, 70, 55, 65} {
		dir := t.TempDir()
		files := attackCohort(t, dir, uint64(i+1), big)
		w, err := pipeline.OpenWarehouse(ctx, filepath.Join(dir, "k.duckdb"), "", false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Ingest(ctx, files, pipeline.IngestOptions{Config: pipeline.DefaultConfig(), AsOf: time.Date(2026, 9, 30, 0, 0, 0, 0, time.UTC)}); err != nil {
			t.Fatal(err)
		}
		asOf := time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)
		a, err := w.Analyze(ctx, pipeline.AnalyzeOptions{Config: pipeline.DefaultConfig(), AsOf: &asOf, Quarter: "2026Q2"})
		w.Close()
		if err != nil {
			t.Fatal(err)
		}
		c := cohort{a: a, tables: attackView(t, a, "2026Q2", Suppress)}
		if i == 0 {
			c.weak = attackView(t, a, "2026Q2", primaryOnly)
		}
		cohorts = append(cohorts, c)
	}
	// Relations a reader can know: those that hold in every cohort where their cells exist
	// (and in at least two).
	held, seen := map[string]int{}, map[string]int{}
	values := map[string]map[float64]bool{} // the totals a relation took, over the cohorts
	rels := map[string]relation{}
	sigsOf := make([]map[string]bool, len(cohorts))
	for i, c := range cohorts {
		sigsOf[i] = map[string]bool{}
		for _, rows := range c.tables {
			for _, row := range rows {
				for _, v := range row {
					sigsOf[i][v.sig] = true
				}
			}
		}
		for k, r := range discover(c.tables) {
			held[k]++
			rels[k] = r
			if values[k] == nil {
				values[k] = map[float64]bool{}
			}
			for _, rows := range c.tables {
				for _, row := range rows {
					for _, v := range row {
						if v.sig == strings.TrimPrefix(r.total, "ratio:") {
							values[k][v.truth] = true
						}
					}
				}
			}
		}
	}
	for k, r := range rels {
		for i := range cohorts {
			ok := sigsOf[i][strings.TrimPrefix(r.total, "ratio:")]
			for _, p := range r.parts {
				ok = ok && sigsOf[i][p]
			}
			if ok {
				seen[k]++
			}
		}
	}
	var known []relation
	for k, r := range rels {
		// A definition holds in every cohort, over values that vary; a coincidence of small
		// counts does not survive six cohorts with three different totals.
		big := 0
		for v := range values[k] {
			if v >= 11 {
				big++
			}
		}
		// Two labels equal in every cohort are the same quantity only if they are not all
		// small numbers, which coincide by chance (0 recovered and 0 responders in a group).
		if len(r.parts) == 1 && !strings.HasPrefix(r.total, "ratio:") && big < 2 {
			continue
		}
		if held[k] == seen[k] && seen[k] >= 6 && len(values[k]) >= 3 {
			known = append(known, r)
		}
	}
	sort.Slice(known, func(i, j int) bool { return known[i].key() < known[j].key() })
	t.Logf("%d relations hold in every cohort", len(known))

	breaches := 0
	for ci, c := range cohorts {
		breaches += attack(t, ci, c.tables, known, true)
	}
	// The attacker must be able to find leaks: on the first cohort's workbook with only the
	// primary suppression (no complementary cells, nothing hidden with its count) it does.
	if weak := attack(t, 0, cohorts[0].weak, known, false); weak == 0 {
		t.Error("the attack found nothing in a workbook with only primary suppression: it cannot find leaks")
	} else {
		t.Logf("with primary suppression only, the attack recovers %d hidden counts", weak)
	}
	if breaches > 0 {
		t.Errorf("%d hidden counts recovered", breaches)
	}
}

// attackRow tries each shown rate and mean of a row against the row's hidden counts.
func attackRow(ci int, row []view, ratios map[string][][2]string, report func(string, ...any)) {
	var hidden []view
	for _, v := range row {
		if v.isCount && v.hidden {
			hidden = append(hidden, v)
		}
	}
	if len(hidden) == 0 {
		return
	}
	for _, v := range row {
		if !v.shown || v.isCount {
			continue
		}
		switch v.kind {
		case Rate:
			// rate = a/b for two counts of the row (a relation that holds in every cohort): with
			// one of them shown, the values of the other in reach (0 to 10 000) that round to the
			// rate shown.
			bySig := map[string]view{}
			for _, c := range row {
				bySig[c.sig] = c
			}
			for _, pair := range ratios[v.sig] {
				num, okN := bySig[pair[0]]
				den, okD := bySig[pair[1]]
				if !okN || !okD || num.hidden == den.hidden || (!num.shown && !num.hidden) || (!den.shown && !den.hidden) {
					continue
				}
				{
					var fits []int
					for x := 0; x <= 10000 && len(fits) < 2; x++ {
						var r float64
						if num.hidden {
							r = float64(x) / den.value
						} else if x > 0 {
							r = num.value / float64(x)
						} else {
							continue
						}
						if math.Abs(math.Round(1000*r)/1000-v.value) < 1e-9 {
							fits = append(fits, x)
						}
					}
					h := num
					if den.hidden {
						h = den
					}
					if len(fits) == 1 && float64(fits[0]) == h.truth {
						report("cohort %d: %s = %g follows from the rate %s = %g", ci, h.sig, h.truth, v.sig, v.value)
					}
				}
			}
		case Mean:
			// mean = S/n with integer S: the n from 1 to 10 that fit the mean shown.
			for _, h := range hidden {
				if !isSmall(h.truth, 11) {
					continue
				}
				var fits []int
				for n := 1; n <= 10; n++ {
					for S := -80 * n; S <= 80*n; S++ {
						if math.Abs(math.Round(10*float64(S)/float64(n))/10-v.value) < 1e-9 {
							fits = append(fits, n)
							break
						}
					}
				}
				if len(fits) == 1 && float64(fits[0]) == h.truth {
					report("cohort %d: %s = %g follows from the mean %s = %g", ci, h.sig, h.truth, v.sig, v.value)
				}
			}
		}
	}
}

// attackKM reports a Kaplan–Meier value shown for a curve whose patients or relapses are
// hidden: with one event time, S = (N − d)/N and its Greenwood limits give N and d back.
func attackKM(ci int, tables [][][]view, report func(string, ...any)) {
	hiddenCurve := map[string]bool{} // "<sheet> | <instrument table prefix> | <curve label>"
	for _, rows := range tables {
		for _, row := range rows {
			for _, v := range row {
				parts := strings.Split(v.sig, " | ")
				if parts[0] == "Relapse" && v.isCount && v.hidden && strings.HasSuffix(parts[1], "relapse after reaching half of baseline") {
					hiddenCurve[strings.TrimSuffix(parts[1], ": relapse after reaching half of baseline")+"|"+parts[3]] = true
				}
			}
		}
	}
	for _, rows := range tables {
		curve := ""
		for _, row := range rows {
			if len(row) == 0 {
				continue
			}
			parts := strings.Split(row[0].sig, " | ")
			if parts[0] != "Relapse" || !strings.HasSuffix(parts[1], "relapse-free at set days") {
				break
			}
			if parts[3] != "" {
				curve = strings.TrimSuffix(parts[1], ": relapse-free at set days") + "|" + parts[3]
			}
			if !hiddenCurve[curve] {
				continue
			}
			for _, v := range row {
				if v.shown && v.kind == Rate && v.value != 1 {
					report("cohort %d: %s = %g is shown while its curve's counts are hidden", ci, v.sig, v.value)
				}
			}
		}
	}
}

// attack tries to recover the hidden counts of one workbook's tables with the known relations,
// ratios, means and Kaplan–Meier values; it returns how many it recovered, each reported as a
// test error when fail is set.
func attack(t *testing.T, ci int, tables [][][]view, known []relation, fail bool) int {
	t.Helper()
	breaches := 0
	report := func(format string, args ...any) {
		breaches++
		if fail && breaches <= 20 {
			t.Errorf(format, args...)
		}
	}
	{
		cells := map[string]view{}
		hiddenCounts := 0
		for _, rows := range tables {
			for _, row := range rows {
				for _, v := range row {
					if v.isCount {
						cells[v.sig] = v
						if v.hidden {
							hiddenCounts++
						}
					}
				}
			}
		}
		if hiddenCounts == 0 {
			t.Fatalf("cohort %d: nothing hidden; the cohort should have small groups", ci)
		}
		// Sums and equalities, with a reader's bounds.
		s := &system{eqsOf: map[int][]int{}}
		idx := map[string]int{}
		unknown := func(v view) int {
			if i, ok := idx[v.sig]; ok {
				return i
			}
			u := &unknown{name: v.sig, value: v.truth, sensitive: isSmall(v.truth, 11), lo: 0, hi: math.Inf(1)}
			if v.small {
				u.lo, u.hi = 1, 10
			}
			s.unknowns = append(s.unknowns, u)
			idx[v.sig] = len(s.unknowns) - 1
			return idx[v.sig]
		}
		ratios := map[string][][2]string{} // rate signature → (numerator, denominator) pairs
		for _, r := range known {
			if strings.HasPrefix(r.total, "ratio:") {
				sig := strings.TrimPrefix(r.total, "ratio:")
				ratios[sig] = append(ratios[sig], [2]string{r.parts[0], r.parts[1]})
				continue
			}
			members := append([]string{r.total}, r.parts...)
			ok := true
			for _, m := range members {
				if _, in := cells[m]; !in {
					ok = false
				}
			}
			if !ok {
				continue
			}
			eq := equation{coef: map[int]float64{}}
			for i, m := range members {
				sign := 1.0
				if i == 0 {
					sign = -1
				}
				v := cells[m]
				if v.hidden {
					eq.coef[unknown(v)] += sign
				} else if v.shown {
					eq.shown = append(eq.shown, term{&Cell{Value: v.value, Text: v.sig}, sign})
				}
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
		for n, i := range s.determined() {
			report("cohort %d: %s = %g is worked out from sums and equal counts", ci, s.unknowns[i].name, s.unknowns[i].value)
			if n < 3 && os.Getenv("ATTACK_DEBUG") != "" {
				// A minimal set of equations that still pins it: drop one at a time.
				comp := s.component(i)
				keep := map[int]bool{}
				for _, e := range comp {
					keep[e] = true
				}
				bounds := func(j int) (float64, float64) { return s.unknowns[j].lo, s.unknowns[j].hi }
				pins := func() bool {
					var eqs []equation
					for e := range keep {
						eqs = append(eqs, s.eqs[e])
					}
					for _, j := range solve(eqs, bounds) {
						if j == i {
							return true
						}
					}
					return false
				}
				for _, e := range comp {
					delete(keep, e)
					if !pins() {
						keep[e] = true
					}
				}
				for e := range keep {
					var parts []string
					for j, a := range s.eqs[e].coef {
						parts = append(parts, fmt.Sprintf("%+g·[%s]=%g", a, s.unknowns[j].name, s.unknowns[j].value))
					}
					for _, tm := range s.eqs[e].shown {
						parts = append(parts, fmt.Sprintf("%+g·%q=%g", tm.sign, tm.cell.Text, tm.cell.Value))
					}
					t.Logf("  eq: %s", strings.Join(parts, "  "))
				}
			}
		}
		// Ratios, means and Kaplan–Meier values in each row.
		for _, rows := range tables {
			for _, row := range rows {
				attackRow(ci, row, ratios, report)
			}
		}
		attackKM(ci, tables, report)
	}
	return breaches
}

// primaryOnly is suppression without its complementary and dependency rules: the counts from
// 1 to below−1 are hidden and nothing else.
func primaryOnly(tables []*Table, below int) {
	for _, t := range tables {
		for r := range t.Rows {
			for c := range t.Rows[r].Cells {
				if cl := &t.Rows[r].Cells[c]; cl.Kind == Count && cl.isNumber() && isSmall(cl.Value, below) {
					cl.Hidden = Small
				}
			}
		}
	}
}
