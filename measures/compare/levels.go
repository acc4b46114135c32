package compare

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kapstat/kapstat/measures/outcome"
)

// MinLevelPatients is the number of patients a level needs in a model's
// population to be compared (the specification's item 6.15).
const MinLevelPatients = 20

// Levels is the outcome of level selection for one dimension in one
// model's population.
type Levels struct {
	// Kept are the levels with at least MinLevelPatients patients, in
	// sorted (byte) order.
	Kept []string
	// Reference is the kept level with the most patients, the first in
	// sorted order among equally large ones; "" with fewer than two kept
	// levels.
	Reference string
	// Counts holds the patients of every kept level.
	Counts map[string]int
	// Dropped holds the patients left out: those of levels below
	// MinLevelPatients, and under "unknown" those without a level (an
	// empty or unknown label).
	Dropped map[string]int
}

// SelectLevels applies the level rule of the specification's item 6.15 to
// the labels of a model's population, one per patient: a label that is ""
// or outcome.Unknown is no level (a group the data cannot tell is not
// compared); the levels with at least MinLevelPatients patients are kept;
// the reference is the kept level with the most patients (ties: the first
// in sorted order). With fewer than two kept levels there is no
// comparison: Reference is "" (Skipped says why).
func SelectLevels(labels []string) Levels {
	all := map[string]int{}
	unknown := 0
	for _, l := range labels {
		if l == "" || l == outcome.Unknown {
			unknown++
			continue
		}
		all[l]++
	}
	lv := Levels{Counts: map[string]int{}, Dropped: map[string]int{}}
	if unknown > 0 {
		lv.Dropped[outcome.Unknown] = unknown
	}
	for l, n := range all {
		if n >= MinLevelPatients {
			lv.Kept = append(lv.Kept, l)
			lv.Counts[l] = n
		} else {
			lv.Dropped[l] += n
		}
	}
	sort.Strings(lv.Kept)
	if len(lv.Kept) >= 2 {
		best := -1
		for _, l := range lv.Kept {
			if n := lv.Counts[l]; n > best {
				lv.Reference, best = l, n
			}
		}
	}
	return lv
}

// Skipped returns the note of a comparison with fewer than two kept levels
// ("" when there are two or more), naming every level with its patients.
func (lv Levels) Skipped() string {
	if len(lv.Kept) >= 2 {
		return ""
	}
	return fmt.Sprintf("not compared: fewer than two levels with at least %d patients (%s).", MinLevelPatients, lv.describe())
}

// describe lists every level with its patients, the kept ones first.
func (lv Levels) describe() string {
	var parts []string
	for _, l := range lv.Kept {
		parts = append(parts, fmt.Sprintf("%s %d", l, lv.Counts[l]))
	}
	var small []string
	for l := range lv.Dropped {
		small = append(small, l)
	}
	sort.Strings(small)
	for _, l := range small {
		parts = append(parts, fmt.Sprintf("%s %d", l, lv.Dropped[l]))
	}
	if len(parts) == 0 {
		return "no patients"
	}
	return strings.Join(parts, ", ")
}

// dropped returns the patients left out by level selection.
func (lv Levels) dropped() int {
	n := 0
	for _, c := range lv.Dropped {
		n += c
	}
	return n
}
