package lcga

import (
	"math"
	"math/rand/v2"
)

// startPatients is the number of patients per class a start is drawn from.
const startPatients = 10

// start returns the starting model of one start: K·10 patients drawn at
// random without replacement (all patients when there are fewer), dealt to
// the K classes in turn, and the M-step of that partition — a least-squares
// line per class through its patients' observations, the variances of the
// residuals, equal shares.
//
// Partitions of a few patients vary from start to start whatever the number
// of patients, so the starts explore different maxima; a partition of all
// patients (flexmix's default) starts every class near the pooled line on a
// large sample, and its EM tends to reach the same maximum from every start.
// No class is seeded on a single patient, whose line may be far off when it
// rests on two close observations. It returns nil when a class's line is
// undefined (no spread in time among its patients).
func (d *data) start(k int, seed uint64, start int, v VarianceModel, floor float64) *fit {
	rng := rand.New(rand.NewPCG(seed, uint64(k)<<32|uint64(start)))
	m := min(len(d.pats), k*startPatients)
	acc := make([]wsum, k)
	for i, p := range rng.Perm(len(d.pats))[:m] {
		acc[i%k].add(1, &d.pats[p])
	}
	f := &fit{
		k:     k,
		a:     make([]float64, k),
		b:     make([]float64, k),
		s2:    make([]float64, k),
		logPi: make([]float64, k),
	}
	if !d.mstep(f, acc, v, floor) {
		return nil
	}
	for c := range f.logPi {
		f.logPi[c] = math.Log(acc[c].w / float64(m))
	}
	return f
}
