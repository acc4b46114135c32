package compare

// NoCharacteristicsNote is Adjusted.Note when the input has no patient
// characteristics.
const NoCharacteristicsNote = "no patients file: the models adjust for the baseline score only."

// Adjust runs CompareChange, CompareResponse and CompareSlope for every
// dimension of one instrument: the analysis JSON's "adjusted" key. The
// adjusted relapse model is RelapseAdjusted (the JSON's
// relapse.cox_adjusted).
func Adjust(in *Input) *Adjusted {
	a := &Adjusted{
		Covariates: []string{},
		Change:     map[Dimension]*Change{},
		Response:   map[Dimension]*Response{},
		Slope:      map[Dimension]*Slope{},
	}
	if !in.Characteristics {
		a.Note = NoCharacteristicsNote
	}
	seen := map[string]bool{}
	use := func(s *Sample) {
		for _, c := range s.Covariates {
			if !seen[c] {
				seen[c] = true
				a.Covariates = append(a.Covariates, c)
			}
		}
	}
	for _, d := range Dimensions {
		c := CompareChange(in, d)
		r := CompareResponse(in, d)
		sl := CompareSlope(in, d)
		use(&c.Sample)
		use(&r.Sample)
		use(&sl.Sample)
		a.Change[d], a.Response[d], a.Slope[d] = c, r, sl
	}
	return a
}
