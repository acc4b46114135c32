package compare

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// synthInput simulates n patients with a fixed seed, in the shape of the
// cohort of testdata/cohort.R: two programs with a different case mix,
// four routes, three settings, three integration buckets, every
// characteristic with about 3% missing, 1–7 scores per patient over eight
// weeks, and about a quarter of the patients at risk of relapse, half of
// them with maintenance.
func synthInput(n int, seed uint64) *Input {
	r := rand.New(rand.NewPCG(seed, 11))
	in := &Input{Characteristics: true, Patients: make([]Patient, n)}
	tr := &in.Trajectory
	tr.Patient = make([]int, 0, 5*n)
	tr.T = make([]float64, 0, 5*n)
	tr.Y = make([]float64, 0, 5*n)
	pick := func(p []float64, v []string) string {
		u := r.Float64()
		for i, q := range p {
			if u < q {
				return v[i]
			}
			u -= q
		}
		return v[len(v)-1]
	}
	for i := range in.Patients {
		p := &in.Patients[i]
		inf := r.Float64() < 0.35
		p.Program = "kap"
		p.Route = pick([]float64{0.45, 0.3, 0.25}, []string{"sublingual", "im", "intranasal"})
		p.Setting = pick([]float64{0.55, 0.36, 0.09}, []string{"in_person", "home", "telehealth"})
		p.Integration = pick([]float64{0.05, 0.45, 0.5}, []string{"0", "1-3", ">=4"})
		age, prior := 41+12*r.NormFloat64(), float64(r.IntN(4))
		if inf {
			p.Program, p.Route, p.Setting = "infusion", "iv", "in_person"
			p.Integration = pick([]float64{0.85, 0.15}, []string{"0", "1-3"})
			age, prior = 49+13*r.NormFloat64(), float64(2+r.IntN(4))
		}
		p.Traits = Traits{
			Age:             math.Min(90, math.Max(18, math.Round(age))),
			Sex:             pick([]float64{0.57, 0.38, 0.03}, []string{"female", "male", "other", "unknown"}),
			Diagnosis:       pick([]float64{0.58, 0.18, 0.13, 0.06}, []string{"depression", "ptsd", "anxiety", "bipolar", "other"}),
			PriorTreatments: prior,
		}
		if r.Float64() < 0.03 {
			p.Age = math.NaN()
		}
		if r.Float64() < 0.03 {
			p.Diagnosis = ""
		}
		if r.Float64() < 0.03 {
			p.PriorTreatments = math.NaN()
		}
		base := math.Min(27, math.Max(2, math.Round(15+4*r.NormFloat64()+0.4*prior)))
		p.HasBaseline, p.Baseline, p.Eligible = true, int(base), base >= 10
		slope := -1.05 + 0.3*b2f(inf) + 0.05*prior + 0.45*r.NormFloat64()
		b0 := 1.5 * r.NormFloat64()
		tr.Patient, tr.T, tr.Y = append(tr.Patient, i), append(tr.T, 0), append(tr.Y, base)
		k := r.IntN(7)
		day := 0
		var y float64
		first := -1
		for j := 0; j < k; j++ {
			day += 1 + r.IntN(max(1, (56-day)/(k-j)))
			if day > 56 {
				break
			}
			t := float64(day) / 7
			y = math.Min(27, math.Max(0, math.Round(base+b0+slope*t+2.2*r.NormFloat64())))
			tr.Patient, tr.T, tr.Y = append(tr.Patient, i), append(tr.T, t), append(tr.Y, y)
			p.HasEndpoint, p.Endpoint = true, int(y)
			if first < 0 && y <= 0.5*base {
				first = day
			}
		}
		p.Response = p.Eligible && p.HasEndpoint && float64(p.Endpoint) <= 0.5*base
		if p.Eligible && first > 0 && r.Float64() < 0.9 {
			p.AtRisk, p.ResponseDay = true, first
			p.RelapseTime = 7 * (1 + r.IntN(52))
			p.Relapsed = r.Float64() < 0.4
			if r.Float64() < 0.5 {
				p.HasMaintenance, p.MaintenanceDay = true, first+3+r.IntN(150)
			}
		}
	}
	return in
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// BenchmarkCompare times each model of one instrument for one dimension
// (program; route has four levels against program's two) at 100,000 and
// 1,000,000 patients, and Adjust (the three models for all four
// dimensions):
//
//	go test -run '^$' -bench Compare/patients=100000 -benchtime 3x ./measures/compare
func BenchmarkCompare(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		in := synthInput(n, 42)
		runs := []struct {
			name string
			f    func() *Sample
		}{
			{"change_program", func() *Sample { return &CompareChange(in, Program).Sample }},
			{"change_route", func() *Sample { return &CompareChange(in, Route).Sample }},
			{"response_program", func() *Sample { return &CompareResponse(in, Program).Sample }},
			{"response_route", func() *Sample { return &CompareResponse(in, Route).Sample }},
			{"slope_program", func() *Sample { return &CompareSlope(in, Program).Sample }},
			{"slope_route", func() *Sample { return &CompareSlope(in, Route).Sample }},
			{"relapse", func() *Sample { return &RelapseAdjusted(in).Sample }},
		}
		for _, run := range runs {
			b.Run(fmt.Sprintf("patients=%d/%s", n, run.name), func(b *testing.B) {
				b.ReportAllocs()
				var s *Sample
				for b.Loop() {
					s = run.f()
				}
				if s.Note != "" {
					b.Logf("note: %s", s.Note)
				}
				b.ReportMetric(float64(s.N), "patients_in_model")
			})
		}
		b.Run(fmt.Sprintf("patients=%d/adjust", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Adjust(in)
			}
		})
	}
}
