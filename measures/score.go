package measures

import (
	"errors"
	"fmt"
)

// Missing marks an unanswered item in the items passed to Score.
const Missing = -1

// Errors returned by Score; the pipeline turns them into quarantine reason codes.
var (
	ErrItemCount      = errors.New("wrong number of items")
	ErrItemRange      = errors.New("item out of range")
	ErrTooManyMissing = errors.New("too many missing items")
	ErrTotalRange     = errors.New("total out of range")
	ErrNoResponses    = errors.New("no items and no total")
)

// ScoreError says which item (1-based) or the total is at fault.
type ScoreError struct {
	Item int // 0 for the total or the row as a whole
	Err  error
}

func (e *ScoreError) Error() string {
	if e.Item > 0 {
		return fmt.Sprintf("item %d: %v", e.Item, e.Err)
	}
	return e.Err.Error()
}

func (e *ScoreError) Unwrap() error { return e.Err }

// Result is the scored administration.
type Result struct {
	Total    int
	Prorated bool // some items were missing and the total was prorated
	Answered int  // items answered; 0 when scored from a total alone
	Band     string
	// ItemsGiven is false when only a total was given: item-level outputs are then unknown.
	ItemsGiven bool
	// SafetyRecorded is true when the instrument has a safety item (PHQ-9 item 9) and it was
	// answered; SafetyFlag is then true when it is rated above 0. A skipped safety item, or a
	// total given without items, is unknown: SafetyRecorded false, never "no risk".
	SafetyRecorded bool
	SafetyFlag     bool
	// Clusters holds the prorated cluster scores (PCL-5: B, C, D, E); -1 when a cluster has no
	// answered item. Nil for instruments without clusters or without items.
	Clusters []int
	// Provisional is the PCL-5 DSM-5 provisional diagnosis, counting answered items only.
	Provisional bool
}

// RoundHalfUp returns round-half-up(sum/answered × n) computed exactly in integers:
//
//	floor(sum·n/answered + 1/2) = floor((2·sum·n + answered) / (2·answered))
//
// It is the prorated total of n items when answered items sum to sum.
func RoundHalfUp(sum, answered, n int) int {
	return (2*sum*n + answered) / (2 * answered)
}

// Score scores one administration. items has Items entries, each 0..ItemMax or Missing; an
// empty items slice means only total was given. total is the given total or -1 when absent;
// when both are given the caller compares them (ingest quarantines a disagreement).
//
// With k of n items answered and n−k ≤ MaxMissing, the total is
// round-half-up(mean of answered items × n) and Prorated is set (SPEC 4).
func (in Instrument) Score(items []int, total int) (Result, error) {
	if len(items) == 0 {
		if total < 0 {
			return Result{}, &ScoreError{Err: ErrNoResponses}
		}
		if total > in.TotalMax {
			return Result{}, &ScoreError{Err: ErrTotalRange}
		}
		return Result{Total: total, Band: in.Band(total)}, nil
	}
	if len(items) != in.Items {
		return Result{}, &ScoreError{Err: ErrItemCount}
	}
	sum, answered := 0, 0
	for i, v := range items {
		if v == Missing {
			continue
		}
		if v < 0 || v > in.ItemMax {
			return Result{}, &ScoreError{Item: i + 1, Err: ErrItemRange}
		}
		sum += v
		answered++
	}
	if in.Items-answered > in.MaxMissing || answered == 0 {
		return Result{}, &ScoreError{Err: ErrTooManyMissing}
	}
	r := Result{Answered: answered, ItemsGiven: true}
	if answered == in.Items {
		r.Total = sum
	} else {
		r.Total = RoundHalfUp(sum, answered, in.Items)
		r.Prorated = true
	}
	r.Band = in.Band(r.Total)
	if in.SafetyItem > 0 && items[in.SafetyItem-1] != Missing {
		r.SafetyRecorded = true
		r.SafetyFlag = items[in.SafetyItem-1] > 0
	}
	if len(in.Clusters) > 0 {
		r.Clusters = make([]int, len(in.Clusters))
		r.Provisional = true
		for c, cl := range in.Clusters {
			csum, cans, endorsed := 0, 0, 0
			for i := cl.First - 1; i < cl.Last; i++ {
				if items[i] == Missing {
					continue
				}
				csum += items[i]
				cans++
				if items[i] >= in.EndorseAt {
					endorsed++
				}
			}
			size := cl.Last - cl.First + 1
			switch {
			case cans == 0:
				r.Clusters[c] = -1
			case cans == size:
				r.Clusters[c] = csum
			default:
				r.Clusters[c] = RoundHalfUp(csum, cans, size)
			}
			if endorsed < cl.Need {
				r.Provisional = false
			}
		}
	}
	return r, nil
}
