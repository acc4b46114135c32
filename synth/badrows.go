package synth

import "strconv"

// Kinds of planted bad rows, in the order they are planted.
const (
	badOutOfRange = iota
	badTooManyMissing
	badConflict
	badDuplicate
	badUnknownInstrument
	nBadKinds
)

var badNames = [nBadKinds]string{BadOutOfRange, BadTooManyMissing, BadConflict, BadDuplicate, BadUnknownInstrument}

// badRate is the chance per patient and kind of a planted bad row: with about
// 16 assessment rows per patient, about 0.05% of the rows are bad.
const badRate = 0.0014

// forcedBad reports whether patient i gets a bad row of kind k regardless of
// chance, so that every kind occurs even in a cohort of a few patients. The
// chosen patients are spread over the cohort.
func forcedBad(patients, i, k int) bool {
	return i == (2*k+1)*patients/(2*nBadKinds)
}

// plantBadRows adds the current patient's bad rows to g.rows and counts
// them. Each lands on a date on which the patient has no other row of the
// same instrument, so quarantining it (or keeping one of two identical rows)
// leaves the patient's valid data exactly as it was. Bad rows draw from
// their own stream, so the valid rows do not depend on Config.BadRows.
func (g *generator) plantBadRows(i int, counts *[nBadKinds]int) {
	br := g.br
	for k := range nBadKinds {
		n := 0
		if forcedBad(g.cfg.Patients, i, k) {
			n++
		}
		if br.Float64() < badRate {
			n++
		}
		for range n {
			if len(g.rows) == 0 {
				return
			}
			base := g.rows[g.validRow()]
			switch k {
			case badOutOfRange:
				in := &instruments[base.inst]
				rw, _ := g.badRow(int(base.inst))
				j := br.IntN(in.items)
				if br.Float64() < 0.3 {
					rw.items[j] = -1
				} else {
					rw.items[j] = int8(in.max + 1 + br.IntN(2))
				}
				g.rows = append(g.rows, rw)
				counts[k]++
			case badTooManyMissing:
				in := &instruments[base.inst]
				rw, _ := g.badRow(int(base.inst))
				miss := min(in.allowMissing+1+br.IntN(2), in.items)
				j0 := br.IntN(in.items)
				for t := range miss {
					rw.items[(j0+t)%in.items] = noItem
				}
				g.rows = append(g.rows, rw)
				counts[k]++
			case badConflict:
				a, s := g.badRow(int(base.inst))
				in := &instruments[base.inst]
				b := a
				fillItems(br, &b, int(base.inst), (s+1+br.IntN(3))%(in.items*in.max+1), 0)
				g.rows = append(g.rows, a, b)
				counts[k] += 2
			case badDuplicate:
				dup := base
				dup.bad = true
				g.rows = append(g.rows, dup)
				counts[k]++
			case badUnknownInstrument:
				rw := row{day: g.extraDay(instBDI2), inst: instBDI2, total: br.IntN(64), bad: true}
				for j := range rw.items {
					rw.items[j] = noItem
				}
				g.rows = append(g.rows, rw)
				counts[k]++
			}
		}
	}
}

// validRow picks one of the patient's valid rows.
func (g *generator) validRow() int {
	for {
		if k := g.br.IntN(len(g.rows)); !g.rows[k].bad {
			return k
		}
	}
}

// badRow returns a complete, in-range row of instrument m on a free date,
// marked bad, without a total, and the sum of its items.
func (g *generator) badRow(m int) (row, int) {
	in := &instruments[m]
	rw := row{day: g.extraDay(m), inst: uint8(m), bad: true}
	for j := range rw.items {
		rw.items[j] = noItem
	}
	s := g.br.IntN(in.items*in.max + 1)
	fillItems(g.br, &rw, m, s, 0)
	rw.total = noTotal // only the items decide a planted row's fate
	return rw, s
}

// extraDay returns a date near the patient's others, not after End, on
// which the patient has no row of instrument m.
func (g *generator) extraDay(m int) int {
	lo, hi := g.rows[0].day, g.rows[0].day
	for _, rw := range g.rows {
		lo, hi = min(lo, rw.day), max(hi, rw.day)
	}
	lo -= 10
	hi = min(hi+10, g.endDay)
	for range 64 {
		if d := lo + g.br.IntN(hi-lo+1); !g.used(m, d) {
			return d
		}
	}
	d := lo - 1
	for g.used(m, d) {
		d--
	}
	return d
}

func (g *generator) used(m, day int) bool {
	for _, rw := range g.rows {
		if int(rw.inst) == m && rw.day == day {
			return true
		}
	}
	return false
}

// Planted bad rows of the patients file and of the session-safety columns, by the reason
// validation gives them.
const (
	BadUnknownSex       = "unknown_sex"
	BadUnknownDiagnosis = "unknown_diagnosis"
	BadUnknownSideEff   = "unknown_side_effect"
	BadSAE              = "bad_serious_adverse_event"
)

// Kinds of planted bad patients rows.
const (
	badPatAge       = iota // age 7 or 130: out_of_range
	badPatSex              // sex "2" (a code exported without its map): unknown_sex
	badPatDiagnosis        // diagnosis "mdd": unknown_diagnosis
	badPatPrior            // prior_treatments 45: out_of_range
	badPatDuplicate        // the row twice: duplicate
	badPatConflict         // a second row with other prior treatments: conflict, both rows
	nBadPatKinds
)

var badPatNames = [nBadPatKinds]string{BadOutOfRange, BadUnknownSex, BadUnknownDiagnosis, BadOutOfRange, BadDuplicate, BadConflict}

// Kinds of planted bad session rows: a copy of one of the patient's dosing sessions with one
// safety column spoilt (the copy is quarantined, so the session itself is loaded once).
const (
	badSessSBP          = iota // sbp_max with a digit too many: out_of_range
	badSessDissociation        // dissociation 30: out_of_range
	badSessSideEffect          // side_effects "seizure": unknown_side_effect
	badSessSAE                 // serious_adverse_event "unknown": bad_serious_adverse_event
	nBadSessKinds
)

var badSessNames = [nBadSessKinds]string{BadOutOfRange, BadOutOfRange, BadUnknownSideEff, BadSAE}

// forcedBadAt reports whether patient i gets a bad row of kind k of n kinds regardless of
// chance, patients spread over the cohort apart from those forcedBad picks.
func forcedBadAt(patients, i, k, n int) bool {
	return i == ((4*k+3)*patients/(4*n))%max(1, patients)
}

// plantBadPatients adds the current patient's bad patients rows to g.patRows (after the valid
// one) and counts them by reason; they draw from the bad-row stream after plantBadRows.
func (g *generator) plantBadPatients(i int, counts map[string]int) {
	br := g.br
	duplicated, conflicted := false, false
	for k := range nBadPatKinds {
		n := 0
		if forcedBadAt(g.cfg.Patients, i, k, nBadPatKinds) {
			n++
		}
		if br.Float64() < badRate {
			n++
		}
		for range n {
			t := g.patRows[0]
			switch k {
			case badPatAge:
				t.ageText = []string{"7", "130"}[br.IntN(2)]
			case badPatSex:
				t.sex = "2"
			case badPatDiagnosis:
				t.diagnosis = "mdd"
			case badPatPrior:
				t.prior = 45
			case badPatDuplicate:
				duplicated = true
			case badPatConflict:
				if duplicated || conflicted {
					continue // a conflict would take in the copies planted already
				}
				t.prior = (max(t.prior, 0) + 1 + br.IntN(3)) % 13
				counts[BadConflict]++ // the valid row
				conflicted = true
			}
			g.patRows = append(g.patRows, t)
			counts[badPatNames[k]]++
		}
	}
}

// plantBadSessions adds copies of the patient's dosing sessions with one safety column
// spoilt, and counts them by reason.
func (g *generator) plantBadSessions(i int, counts map[string]int) {
	br := g.br
	var dosing []int
	for j, s := range g.sessions {
		if s.kind == sessDosing {
			dosing = append(dosing, j)
		}
	}
	for k := range nBadSessKinds {
		n := 0
		if forcedBadAt(g.cfg.Patients, i, k, nBadSessKinds) {
			n++
		}
		if br.Float64() < badRate {
			n++
		}
		for range n {
			if len(dosing) == 0 {
				return
			}
			s := g.sessions[dosing[br.IntN(len(dosing))]]
			s.safety.recorded = true
			switch k {
			case badSessSBP:
				s.badCol, s.badVal = 1+3, strconv.Itoa(10*(150+br.IntN(40))) // sbp_max 1500–1890
			case badSessDissociation:
				s.badCol, s.badVal = 1+6, strconv.Itoa(25+br.IntN(10))
			case badSessSideEffect:
				s.badCol, s.badVal = 1+7, "seizure"
			case badSessSAE:
				s.badCol, s.badVal = 1+8, "unknown"
			}
			g.sessions = append(g.sessions, s)
			counts[badSessNames[k]]++
		}
	}
}
