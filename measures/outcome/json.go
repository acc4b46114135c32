package outcome

import (
	"encoding/json"
	"math"
)

// number is a float64 that JSON writes as null when it is NaN or infinite:
// the summaries use NaN for a figure that cannot be computed (a median
// never reached, a mean of nobody), and JSON has no NaN.
type number float64

// MarshalJSON writes x, or null when x is NaN or infinite.
func (x number) MarshalJSON() ([]byte, error) {
	f := float64(x)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(f)
}
