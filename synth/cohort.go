package synth

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

const (
	acuteDays    = 56 // acute window after the index day (SPEC 6.3)
	baselineDays = 30 // baseline look-back (SPEC 6.2)
	noItem       = math.MinInt8
	noTotal      = -1
)

// Instruments, indexed in alphabetical order of their names so that sorting
// rows by (day, instrument index) sorts them by (day, name).
const (
	instGAD7 = iota
	instPCL5
	instPHQ9
	instBDI2 // unknown to the pipeline; only planted bad rows use it
)

type instrument struct {
	name         string
	items, max   int
	cutoff       int
	allowMissing int
	share        float64 // share of patients who have it
	baseMean     float64 // baseline mean among eligible patients
	baseSD       float64
	noise        float64 // visit-to-visit SD in points
}

// Baselines follow Hull 2022 (PHQ-9 mostly moderately severe, GAD-7 severe);
// PCL-5 inclusion at ≥ 33 as in Parks et al.
var instruments = [3]instrument{
	instGAD7: {name: "GAD7", items: 7, max: 3, cutoff: 10, allowMissing: 1, share: 0.80, baseMean: 15, baseSD: 3.5, noise: 1.8},
	instPCL5: {name: "PCL5", items: 20, max: 4, cutoff: 33, allowMissing: 3, share: 0.35, baseMean: 50, baseSD: 10, noise: 5},
	instPHQ9: {name: "PHQ9", items: 9, max: 3, cutoff: 10, allowMissing: 2, share: 1, baseMean: 17, baseSD: 4, noise: 2},
}

var instNames = [4]string{"GAD7", "PCL5", "PHQ9", "BDI2"}

const (
	classRapid = iota
	classGradual
	classNone
)

var classNames = [3]string{ClassRapid, ClassGradual, ClassNoChange}

// Mean share of the baseline left at the end of the acute window, per class;
// with a patient random effect this gives about 60% PHQ-9 response overall
// (Hull 2022: 62.8%).
var classEnd = [3]float64{0.30, 0.52, 0.96}

const (
	progKAP = iota
	progInfusion
)

var programNames = [2]string{ProgramKAP, ProgramInfusion}

// Relapse probability among responders, by program; halved with maintenance.
var relapseRate = [2]float64{0.22, 0.55}

const (
	routeSublingual = iota
	routeIM
	routeIntranasal
	routeIV
)

var routeNames = [4]string{"sublingual", "im", "intranasal", "iv"}

// Plausible dose ranges in mg; iv is about 0.5 mg/kg.
var doseRange = [4][2]int{{100, 300}, {30, 100}, {28, 84}, {35, 80}}

const (
	settingInPerson = iota
	settingHome
	settingTelehealth
)

var settingNames = [3]string{"in_person", "home", "telehealth"}

const (
	sessPreparation = iota
	sessDosing
	sessIntegration
	sessMaintenance
)

var sessionNames = [4]string{"preparation", "dosing", "integration", "maintenance"}

type session struct {
	day     int
	kind    uint8
	route   uint8
	setting uint8
	dose    int // 0: not given
	safety  safety
	// badCol, for a planted bad row, is 1 + the safety column (0–8) written as badVal; 0
	// for a valid row.
	badCol uint8
	badVal string
}

type row struct {
	day   int
	inst  uint8
	items [20]int8 // noItem when empty
	total int      // noTotal when empty
	bad   bool
}

const (
	visitBaseline = iota
	visitAcute
	visitFollowup
)

type visit struct {
	day  int
	kind uint8
}

// patient holds the per-patient facts the writer and Truth need.
type patient struct {
	clinic, program, class, route, setting int
	index                                  int // day of the first dose
	baselineDay                            int
	eligible, responded, relapse           bool
	maintenance                            bool
	trd                                    bool // treatment-resistant: 2 or more prior trials
	prior                                  int  // prior adequate trials
	traits                                 traits
}

type generator struct {
	cfg        Config
	endDay     int
	firstIndex int
	lastIndex  int
	idWidth    int
	clinics    []string

	src, badSrc, traitSrc, safetySrc *rand.PCG
	r, br, tr, sr                    *rand.Rand

	sessions []session
	rows     []row
	visits   []visit
	patRows  []traits // the patient's patients-file rows (more than one with bad rows)
	line     []byte
}

func newGenerator(cfg Config) (*generator, error) {
	cfg, err := normalize(cfg)
	if err != nil {
		return nil, err
	}
	g := &generator{cfg: cfg, endDay: dayOf(cfg.End), clinics: clinicNames(cfg.Clinics)}
	// Index dates spread over about 2.5 years from 2024-01-01 up to three
	// weeks before End: the patients of the last weeks are still in their
	// acute window on End, as in a real export (their later visits and
	// sessions fall after End and are not written).
	g.lastIndex = g.endDay - 21
	g.firstIndex = dayOf(time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC))
	if g.lastIndex-g.firstIndex < 365 {
		g.firstIndex = g.lastIndex - 913
	}
	g.idWidth = max(6, len(strconv.Itoa(cfg.Patients)))
	g.src = rand.NewPCG(0, 0)
	g.badSrc = rand.NewPCG(0, 0)
	g.traitSrc = rand.NewPCG(0, 0)
	g.safetySrc = rand.NewPCG(0, 0)
	g.r = rand.New(g.src)
	g.br = rand.New(g.badSrc)
	g.tr = rand.New(g.traitSrc)
	g.sr = rand.New(g.safetySrc)
	g.line = make([]byte, 0, 256)
	return g, nil
}

// seed points the streams at patient i: one for the cohort itself, one for
// bad rows, so turning bad rows off leaves valid data unchanged, and one each
// for the patient's characteristics and the sessions' safety columns.
func (g *generator) seed(i int) {
	s := splitmix64(g.cfg.Seed)
	g.src.Seed(splitmix64(s^0x5851f42d4c957f2d), splitmix64(s+uint64(i)))
	g.badSrc.Seed(splitmix64(s^0x14057b7ef767814f), splitmix64(s+uint64(i)))
	g.traitSrc.Seed(splitmix64(s^0x2545f4914f6cdd1d), splitmix64(s+uint64(i)))
	g.safetySrc.Seed(splitmix64(s^0x9e3779b97f4a7c15), splitmix64(s+uint64(i)))
}

func (g *generator) patient(i int) patient {
	g.seed(i)
	r := g.r
	g.sessions = g.sessions[:0]
	g.rows = g.rows[:0]
	g.visits = g.visits[:0]

	var p patient
	p.clinic = r.IntN(g.cfg.Clinics)
	if r.Float64() < 0.2 {
		p.program = progInfusion
	}
	g.drawResistance(&p)
	rapid, gradual := classCuts(p.prior)
	switch u := r.Float64(); {
	case u < rapid:
		p.class = classRapid
	case u < gradual:
		p.class = classGradual
	default:
		p.class = classNone
	}
	p.index = g.firstIndex + r.IntN(g.lastIndex-g.firstIndex+1)
	g.dosingSessions(&p)

	// Visit schedule shared by the instruments.
	switch u := r.Float64(); {
	case u < 0.02: // intake too early to serve as baseline
		p.baselineDay = p.index - baselineDays - 1 - r.IntN(15)
	case u < 0.17:
		p.baselineDay = p.index
	default:
		p.baselineDay = p.index - 1 - r.IntN(14)
	}
	g.visits = append(g.visits, visit{p.baselineDay, visitBaseline})
	if r.Float64() >= 0.10 { // about 10% have no acute-window assessment
		lastWeek := 8
		if r.Float64() < 0.15 {
			lastWeek = 2 + r.IntN(5)
		}
		n0 := len(g.visits)
		for k := 1; k <= lastWeek; k++ {
			if r.Float64() < 0.2 {
				continue
			}
			jitter := r.IntN(5) - 2
			if k == 8 {
				jitter = -r.IntN(3)
			}
			g.visits = append(g.visits, visit{p.index + 7*k + jitter, visitAcute})
		}
		if len(g.visits) == n0 {
			g.visits = append(g.visits, visit{p.index + 7*lastWeek - r.IntN(3), visitAcute})
		}
	}
	// Follow-ups at about 1, 3 and 6 months after the acute window, with
	// monotone loss to follow-up.
	fuStart := len(g.visits)
	acuteEnd := p.index + acuteDays
	keep := [3]float64{0.65, 0.62, 0.55}
	offset := [3][2]int{{30, 5}, {91, 10}, {182, 14}}
	for k := range 3 {
		if r.Float64() >= keep[k] {
			break
		}
		d := acuteEnd + offset[k][0] - offset[k][1] + r.IntN(2*offset[k][1]+1)
		if d > g.endDay {
			break
		}
		g.visits = append(g.visits, visit{d, visitFollowup})
	}

	acute := g.visits[:0]
	for _, v := range g.visits {
		if v.day <= g.endDay {
			acute = append(acute, v)
		}
	}
	g.visits = acute

	// Relapse plan: an onset follow-up and a confirming return visit.
	maintIntent := r.Float64() < 0.30
	rate := relapseRate[p.program]
	if maintIntent {
		rate /= 2
	}
	onset := -1 // day of relapse onset, -1 for none
	if nfu := len(g.visits) - fuStart; r.Float64() < rate && nfu > 0 {
		j := r.IntN(nfu)
		if p.program == progInfusion && r.Float64() < 0.6 {
			j = 0
		}
		onset = g.visits[fuStart+j].day
		confirm := onset + 10 + r.IntN(12)
		last := fuStart+j == len(g.visits)-1
		switch {
		case !last && confirm < g.visits[fuStart+j+1].day:
			g.visits = slices.Insert(g.visits, fuStart+j+1, visit{confirm, visitFollowup})
		case last && confirm <= g.endDay:
			g.visits = append(g.visits, visit{confirm, visitFollowup})
		case last:
			onset = -1 // nothing would confirm it
		}
	}

	// A patient-level random effect shared by the instruments.
	z := r.NormFloat64()
	siPatient := r.Float64() < 0.15
	for m := range instruments {
		if m != instPHQ9 && r.Float64() >= instruments[m].share {
			continue
		}
		g.scoreInstrument(&p, m, z, onset, siPatient)
	}

	if maintIntent && p.responded {
		g.maintenanceSessions(&p)
	}
	// Nothing after End: a course still running is cut off at the export date.
	kept := g.sessions[:0]
	for _, s := range g.sessions {
		if s.day <= g.endDay {
			kept = append(kept, s)
		}
	}
	g.sessions = kept
	g.drawTraits(&p)
	g.patRows = append(g.patRows[:0], p.traits)
	return p
}

func (g *generator) dosingSessions(p *patient) {
	r := g.r
	if p.program == progInfusion {
		p.route, p.setting = routeIV, settingInPerson
		// McInnes 2022: 4–8 infusions over 7–28 days; some stop after 1–3.
		n := 4 + r.IntN(5)
		if r.Float64() < 0.2 {
			n = 1 + r.IntN(3)
		}
		span := 7 + r.IntN(22)
		base := g.baseDose(routeIV)
		for j := range n {
			d := p.index + roundInt(float64(j*span)/float64(max(n-1, 1)))
			g.sessions = append(g.sessions, session{day: d, kind: sessDosing, route: routeIV, setting: settingInPerson, dose: g.dose(routeIV, base)})
		}
		return
	}
	switch u := r.Float64(); {
	case u < 0.45:
		p.route = routeSublingual
	case u < 0.70:
		p.route = routeIM
	case u < 0.85:
		p.route = routeIntranasal
	default:
		p.route = routeIV
	}
	p.setting = settingInPerson
	if p.route == routeSublingual {
		switch u := r.Float64(); {
		case u < 0.35:
			p.setting = settingHome
		case u < 0.50:
			p.setting = settingTelehealth
		}
	}
	therapySetting := settingInPerson
	if p.setting != settingInPerson || r.Float64() < 0.25 {
		therapySetting = settingTelehealth
	}

	nPrep := 1 + r.IntN(3)
	d := p.index
	for range nPrep {
		d -= 3 + r.IntN(8)
		g.sessions = append(g.sessions, session{day: d, kind: sessPreparation, setting: uint8(therapySetting)})
	}
	// 4–6 doses, first to last over 3–7 weeks; some stop after 1–3.
	n := 4 + r.IntN(3)
	if r.Float64() < 0.15 {
		n = 1 + r.IntN(3)
	}
	span := 21 + r.IntN(30)
	base := g.baseDose(p.route)
	first := len(g.sessions)
	prev := p.index - 1
	for j := range n {
		d := p.index + roundInt(float64(j*span)/float64(max(n-1, 1)))
		if j > 0 && j < n-1 {
			d += r.IntN(3) - 1
		}
		d = max(d, prev+1)
		prev = d
		g.sessions = append(g.sessions, session{day: d, kind: sessDosing, route: uint8(p.route), setting: uint8(p.setting), dose: g.dose(p.route, base)})
	}
	// Integration sessions: 0, 1–3 or 4–6, after the doses in turn; a
	// second one after a dose comes 4–6 days later. All fall in the acute
	// window because the last dose is at most 50 days after the first.
	var nInt int
	switch u := r.Float64(); {
	case u < 0.15:
		nInt = 0
	case u < 0.55:
		nInt = 1 + r.IntN(3)
	default:
		nInt = 4 + r.IntN(3)
	}
	used := map[int]bool{}
	for k := range nInt {
		dose := g.sessions[first+k%n].day
		off := 1 + r.IntN(3)
		if k >= n {
			off = 4 + r.IntN(3)
		}
		d := min(dose+off, p.index+acuteDays)
		for used[d] { // one integration session a day (after a single dose, several follow it)
			d++
		}
		used[d] = true
		g.sessions = append(g.sessions, session{day: d, kind: sessIntegration, setting: uint8(therapySetting)})
	}
}

func (g *generator) maintenanceSessions(p *patient) {
	r := g.r
	base := g.baseDose(p.route)
	d := p.index + 63 + r.IntN(28)
	for range 1 + r.IntN(4) {
		if d > g.endDay {
			break
		}
		g.sessions = append(g.sessions, session{day: d, kind: sessMaintenance, route: uint8(p.route), setting: uint8(p.setting), dose: g.dose(p.route, base)})
		p.maintenance = true
		d += 21 + r.IntN(15)
	}
}

func (g *generator) baseDose(route int) int {
	lo, hi := doseRange[route][0], doseRange[route][1]
	if route == routeIntranasal {
		return 28 * (1 + g.r.IntN(3)) // 28, 56 or 84 mg devices
	}
	return lo + g.r.IntN(hi-lo+1)
}

// dose varies the patient's usual dose a little; about 3% of doses are not
// recorded (dose_mg is optional).
func (g *generator) dose(route, base int) int {
	if g.r.Float64() < 0.03 {
		return 0
	}
	if route == routeIntranasal {
		return base
	}
	lo, hi := doseRange[route][0], doseRange[route][1]
	return clampInt(base+g.r.IntN(11)-5, lo, hi)
}

// progress is the share of the planned acute change reached at week w.
func progress(class int, w float64) float64 {
	switch class {
	case classRapid:
		return 1 - math.Exp(-w/1.3)
	default:
		return min(w/8, 1)
	}
}

// scoreInstrument writes the rows of instrument m for the planned visits.
func (g *generator) scoreInstrument(p *patient, m int, z float64, onset int, siPatient bool) {
	r := g.r
	in := &instruments[m]
	eligible := r.Float64() >= 0.10
	var base int
	if eligible {
		mean := in.baseMean + severityShift(p)*in.baseSD
		base = clampInt(roundInt(mean+in.baseSD*r.NormFloat64()), in.cutoff, in.items*in.max)
	} else {
		base = in.cutoff - 1 - r.IntN(in.cutoff-3)
	}
	endFrac := classEnd[p.class] + 0.12*z + 0.05*r.NormFloat64()
	endFrac = max(0.05, min(1.25, endFrac))
	maxTotal := in.items * in.max

	// Which visits this instrument attends; PHQ-9 attends all.
	var attend [16]bool
	for k := range g.visits {
		attend[k] = k == 0 || m == instPHQ9 || r.Float64() < 0.95
	}
	nextAttended := func(k int) int {
		for j := k + 1; j < len(g.visits); j++ {
			if attend[j] {
				return j
			}
		}
		return -1
	}

	respDay := -1
	spiked := false
	for k, v := range g.visits {
		if !attend[k] {
			continue
		}
		var s int
		switch v.kind {
		case visitBaseline:
			s = base
		case visitAcute:
			w := float64(v.day-p.index) / 7
			e := float64(base) * (1 - (1-endFrac)*progress(p.class, w))
			s = roundInt(e + in.noise*r.NormFloat64())
		default:
			months := float64(v.day-p.index-acuteDays) / 30.4
			e := float64(base) * (endFrac + 0.03*months)
			s = roundInt(e + in.noise*r.NormFloat64())
		}
		s = clampInt(s, 0, maxTotal)
		if respDay >= 0 && v.day > respDay {
			if onset >= 0 && v.day >= onset {
				// Relapse: back near the baseline, at or above the cutoff.
				s = clampInt(roundInt(float64(base)*(0.75+0.2*r.Float64())), in.cutoff, maxTotal)
			} else {
				s = min(s, in.cutoff-1)
				// A single spike that falls back at the next visit.
				if nx := nextAttended(k); v.kind == visitFollowup && !spiked && nx >= 0 &&
					(onset < 0 || g.visits[nx].day < onset) && r.Float64() < 0.08 {
					s = min(in.cutoff+r.IntN(3), maxTotal)
					spiked = true
				}
			}
		}
		if v.kind == visitAcute && eligible && respDay < 0 && 2*s <= base {
			respDay = v.day
		}
		g.addRow(m, v.day, s, siItem(r, siPatient, v.kind == visitBaseline, s, base))
	}

	if m == instPHQ9 {
		p.eligible = eligible && p.baselineDay >= p.index-baselineDays
		p.responded = p.eligible && respDay >= 0
		// The onset is a follow-up after the acute window; post-response
		// scores before it are below the cutoff except a spike whose next
		// visit falls back; the visit after the onset (confirming or
		// scheduled) is elevated too. So the relapse event of SPEC 6.9 is
		// the onset.
		p.relapse = p.responded && onset >= 0
	}
}

// siItem returns the PHQ-9 item 9 value wanted for a visit: about 15% of
// patients endorse it at baseline, fewer later as symptoms fall.
func siItem(r *rand.Rand, siPatient, baseline bool, s, base int) int {
	switch {
	case siPatient && baseline:
		return 1 + r.IntN(2)
	case siPatient && base > 0 && r.Float64() < 0.6*float64(s)/float64(base):
		return 1
	case !siPatient && r.Float64() < 0.02:
		return 1
	}
	return 0
}

// addRow appends a valid row of instrument m with total s: items summing to
// s, sometimes one item missing (prorating restores s exactly), sometimes
// the total given too, rarely the total alone.
func (g *generator) addRow(m, day, s, item9 int) {
	r := g.r
	in := &instruments[m]
	rw := row{day: day, inst: uint8(m), total: noTotal}
	for j := range rw.items {
		rw.items[j] = noItem
	}
	u := r.Float64()
	if u < 0.01 {
		rw.total = s
		g.rows = append(g.rows, rw)
		return
	}
	fillItems(r, &rw, m, s, item9)
	switch {
	case u < 0.03:
		n := in.items
		k0 := r.IntN(n)
		for t := range n {
			k := (k0 + t) % n
			rest := s - int(rw.items[k])
			if (2*rest*n+(n-1))/(2*(n-1)) == s { // round-half-up(rest/(n-1)*n)
				rw.items[k] = noItem
				break
			}
		}
	case u < 0.18:
		rw.total = s
	}
	g.rows = append(g.rows, rw)
}

// fillItems spreads total s over the instrument's items, within 0..max.
func fillItems(r *rand.Rand, rw *row, m, s, item9 int) {
	in := &instruments[m]
	items := rw.items[:in.items]
	if m == instPHQ9 {
		item9 = min(item9, s, 3)
		item9 = max(item9, s-24)
		items[8] = int8(item9)
		spread(r, items[:8], s-item9, in.max)
		return
	}
	spread(r, items, s, in.max)
}

func spread(r *rand.Rand, items []int8, s, hi int) {
	n := len(items)
	if s > n*hi/2 { // take points away from full marks
		for j := range items {
			items[j] = int8(hi)
		}
		for d := n*hi - s; d > 0; {
			if k := r.IntN(n); items[k] > 0 {
				items[k]--
				d--
			}
		}
		return
	}
	for j := range items {
		items[j] = 0
	}
	for d := s; d > 0; {
		if k := r.IntN(n); int(items[k]) < hi {
			items[k]++
			d--
		}
	}
}

// sortRows orders the patient's rows by date then instrument name; the
// sessions by date then session type. Both sorts are stable, so duplicate
// and conflicting rows stay side by side.
func (g *generator) sortRows() {
	slices.SortStableFunc(g.rows, func(a, b row) int {
		if a.day != b.day {
			return a.day - b.day
		}
		return int(a.inst) - int(b.inst)
	})
	g.sortSessions()
}

// sortSessions orders the sessions by date then session type (stable).
func (g *generator) sortSessions() {
	slices.SortStableFunc(g.sessions, func(a, b session) int {
		if a.day != b.day {
			return a.day - b.day
		}
		return int(a.kind) - int(b.kind)
	})
}

func (g *generator) appendID(b []byte, i int) []byte {
	b = append(b, 'p')
	n := i + 1
	digits := 1
	for x := n; x >= 10; x /= 10 {
		digits++
	}
	for range g.idWidth - digits {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(n), 10)
}

func (g *generator) appendAssessment(b []byte, i int, clinic string, rw *row) []byte {
	b = g.appendID(b, i)
	b = append(b, ',')
	b = append(b, clinic...)
	b = append(b, ',')
	b = append(b, instNames[rw.inst]...)
	b = append(b, ',')
	b = appendDate(b, rw.day)
	for _, v := range rw.items {
		b = append(b, ',')
		if v != noItem {
			b = strconv.AppendInt(b, int64(v), 10)
		}
	}
	b = append(b, ',')
	if rw.total != noTotal {
		b = strconv.AppendInt(b, int64(rw.total), 10)
	}
	return append(b, '\n')
}

func (g *generator) appendSession(b []byte, i int, clinic string, s *session, program int) []byte {
	b = g.appendID(b, i)
	b = append(b, ',')
	b = append(b, clinic...)
	b = append(b, ',')
	b = appendDate(b, s.day)
	b = append(b, ',')
	b = append(b, sessionNames[s.kind]...)
	b = append(b, ',')
	if s.kind == sessDosing || s.kind == sessMaintenance {
		b = append(b, routeNames[s.route]...)
	}
	b = append(b, ',')
	if s.dose > 0 {
		b = strconv.AppendInt(b, int64(s.dose), 10)
	}
	b = append(b, ',')
	b = append(b, programNames[program]...)
	b = append(b, ',')
	b = append(b, settingNames[s.setting]...)
	b = appendSafety(b, &s.safety, int(s.badCol)-1, s.badVal)
	return append(b, '\n')
}
