package lcga

import (
	"fmt"
	"math"
)

// Classify assigns the patients of a data set — typically larger than the sample the model
// was fitted on — to the fitted classes. For patient g the posterior of class c is
//
//	p(c | g) ∝ share_c · Π_j φ(y_gj; intercept_c + slope_c·t_gj, sigma_c²)
//
// computed in log space. It replaces Posterior, Assigned, Patients, each class's N and the
// relative entropy; K, the classes' parameters, BIC and LogLik stay those of the fit.
// Groups without observations get a nil posterior and class −1.
func (r *Result) Classify(group []int, t, y []float64, nGroups int) error {
	if len(t) != len(group) || len(y) != len(group) {
		return ErrLength
	}
	k := len(r.Classes)
	if k == 0 {
		return fmt.Errorf("lcga: Classify: the result has no classes")
	}
	logp := make([]float64, nGroups*k)
	seen := make([]bool, nGroups)
	consts := make([]float64, k)
	for c, cl := range r.Classes {
		if !(cl.Sigma > 0) || !(cl.Share > 0) {
			return fmt.Errorf("lcga: Classify: class %d has sigma %v and share %v", c, cl.Sigma, cl.Share)
		}
		consts[c] = -0.5*math.Log(2*math.Pi) - math.Log(cl.Sigma)
	}
	for i, g := range group {
		if g < 0 || g >= nGroups {
			return &InputError{Index: i, Field: "group", Err: ErrGroupRange}
		}
		if math.IsNaN(t[i]) || math.IsInf(t[i], 0) || math.IsNaN(y[i]) || math.IsInf(y[i], 0) {
			return &InputError{Index: i, Field: "t or y", Err: ErrNotFinite}
		}
		seen[g] = true
		row := logp[g*k : (g+1)*k]
		for c, cl := range r.Classes {
			e := (y[i] - cl.Intercept - cl.Slope*t[i]) / cl.Sigma
			row[c] += consts[c] - 0.5*e*e
		}
	}
	r.Posterior = make([][]float64, nGroups)
	r.Assigned = make([]int, nGroups)
	for c := range r.Classes {
		r.Classes[c].N = 0
	}
	var ent float64
	patients := 0
	for g := 0; g < nGroups; g++ {
		r.Assigned[g] = -1
		if !seen[g] {
			continue
		}
		patients++
		row := logp[g*k : (g+1)*k : (g+1)*k]
		hi := math.Inf(-1)
		for c := range row {
			row[c] += math.Log(r.Classes[c].Share)
			hi = max(hi, row[c])
		}
		var sum float64
		for c := range row {
			row[c] = math.Exp(row[c] - hi)
			sum += row[c]
		}
		arg := 0
		for c := range row {
			row[c] /= sum
			if row[c] > row[arg] {
				arg = c
			}
			if row[c] > 0 {
				ent -= row[c] * math.Log(row[c])
			}
		}
		r.Posterior[g] = row
		r.Assigned[g] = arg
		r.Classes[arg].N++
	}
	r.Patients = patients
	if k == 1 {
		r.Entropy = 1
	} else if patients > 0 {
		r.Entropy = 1 - ent/(float64(patients)*math.Log(float64(k)))
	}
	return nil
}
