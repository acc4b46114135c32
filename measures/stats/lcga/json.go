package lcga

import (
	"encoding/json"
	"math"
)

// MarshalJSON writes r with the json tags of Result, except that a BIC of
// NaN (a K with no start kept) is written as null, since JSON has no NaN.
func (r Result) MarshalJSON() ([]byte, error) {
	bic := make([]*float64, len(r.BIC))
	for i := range r.BIC {
		if v := r.BIC[i]; !math.IsNaN(v) && !math.IsInf(v, 0) {
			bic[i] = &v
		}
	}
	return json.Marshal(struct {
		K         int        `json:"k"`
		BIC       []*float64 `json:"bic"`
		LogLik    float64    `json:"log_lik"`
		Entropy   float64    `json:"entropy"`
		Converged bool       `json:"converged"`
		Patients  int        `json:"patients"`
		Classes   []Class    `json:"classes"`
	}{r.K, bic, r.LogLik, r.Entropy, r.Converged, r.Patients, r.Classes})
}
