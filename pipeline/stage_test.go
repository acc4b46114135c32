package pipeline

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kapstat/kapstat/measures"
	"github.com/kapstat/kapstat/synth"
)

// TestStagedAssessmentRoundTrip writes assessments through the packed staging layout and reads
// them back with the load SQL's unpacking: every warehouse column must come back as scored,
// including the nulls (missing items, absent total, total-only rows, empty PCL-5 clusters).
func TestStagedAssessmentRoundTrip(t *testing.T) {
	score := func(in measures.Instrument, items []int, total int) measures.Result {
		r, err := in.Score(items, total)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	mk := func(line int, in measures.Instrument, items []int, totalGiven int) Assessment {
		a := Assessment{Line: line, PatientID: fmt.Sprintf("p%d", line), ClinicID: "c", Instrument: in.Code,
			Day: int32(20000 + line), HasDate: line%2 == 0, TotalGiven: int16(totalGiven), Hash: uint64(line) << 60}
		for k := range a.Items {
			a.Items[k] = measures.Missing
			if k < len(items) {
				a.Items[k] = int8(items[k])
			}
		}
		a.Score = score(in, items, totalGiven)
		return a
	}
	m := measures.Missing
	pclAll4 := make([]int, 20)
	for k := range pclAll4 {
		pclAll4[k] = 4
	}
	// PCL-5 with cluster C (items 6–7) unanswered: 2 missing items, allowed (at most 3).
	pclNoC := []int{1, 2, 3, 4, 0, m, m, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3}
	rows := []Assessment{
		mk(2, measures.PHQ9, []int{3, 3, 3, 2, 3, 1, 3, 3, 0}, -1), // all items, no total, item 9 = 0
		mk(3, measures.PHQ9, []int{3, 3, 3, 2, 3, 1, 3, m, 2}, 20), // one missing: prorated, total given, flag
		mk(4, measures.GAD7, nil, 12),                              // total only: item outputs null
		mk(5, measures.PCL5, pclAll4, 80),                          // the largest values of every field
		mk(6, measures.PCL5, pclNoC, -1),                           // cluster C has no answered item
		mk(7, measures.PHQ9, []int{0, 0, 0, 0, 0, 0, 0, 0, 0}, 0),  // zeros are not nulls
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "rows.parquet")
	w, err := newParquetWriter(path, assessmentStageSchema)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if err := w.appendAssessment(&rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := `SELECT concat_ws('|', source_line, patient_id, clinic_id, instrument, day, has_date, ` + itemListNull + `,
		coalesce(CAST(total_given AS VARCHAR), 'NA'), total, prorated, answered, band, coalesce(CAST(safety_flag AS VARCHAR), 'NA'),
		coalesce(CAST(cluster_b AS VARCHAR), 'NA'), coalesce(CAST(cluster_c AS VARCHAR), 'NA'), coalesce(CAST(cluster_d AS VARCHAR), 'NA'),
		coalesce(CAST(cluster_e AS VARCHAR), 'NA'), coalesce(CAST(provisional_ptsd AS VARCHAR), 'NA'), responses_hash)
		FROM (SELECT ` + stagedAssessmentColumns + ` FROM read_parquet(` + sqlString(path) + `)) ORDER BY source_line`
	got, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	i := 0
	for got.Next() {
		var s string
		if err := got.Scan(&s); err != nil {
			t.Fatal(err)
		}
		if want := expectRow(&rows[i]); s != want {
			t.Errorf("line %d:\n got %s\nwant %s", rows[i].Line, s, want)
		}
		i++
	}
	if i != len(rows) {
		t.Fatalf("%d rows back, want %d", i, len(rows))
	}
}

var itemListNull = func() string {
	var s []string
	for k := 1; k <= measures.MaxItems; k++ {
		s = append(s, fmt.Sprintf("coalesce(CAST(item_%d AS VARCHAR), 'NA')", k))
	}
	return strings.Join(s, ", ")
}()

// expectRow renders an Assessment the way the query above renders its unpacked row.
func expectRow(a *Assessment) string {
	na := func(v int, ok bool) string {
		if !ok {
			return "NA"
		}
		return fmt.Sprint(v)
	}
	tri := func(known, v bool) string {
		if !known {
			return "NA"
		}
		return fmt.Sprint(v)
	}
	f := []string{fmt.Sprint(a.Line), a.PatientID, a.ClinicID, a.Instrument, fmt.Sprint(a.Day), fmt.Sprint(a.HasDate)}
	for _, v := range a.Items {
		f = append(f, na(int(v), v >= 0))
	}
	f = append(f, na(int(a.TotalGiven), a.TotalGiven >= 0), fmt.Sprint(a.Score.Total), fmt.Sprint(a.Score.Prorated),
		fmt.Sprint(a.Score.Answered), a.Score.Band, tri(a.Score.SafetyRecorded, a.Score.SafetyFlag))
	for c := 0; c < 4; c++ {
		if len(a.Score.Clusters) == 4 {
			f = append(f, na(a.Score.Clusters[c], a.Score.Clusters[c] >= 0))
		} else {
			f = append(f, "NA")
		}
	}
	f = append(f, tri(len(a.Score.Clusters) == 4, a.Score.Provisional), fmt.Sprint(a.Hash))
	return strings.Join(f, "|")
}

// TestParseISODate holds parseISODate to time.Parse("2006-01-02") and dayOf on every day from
// 0001-01-01 to 2400-12-31, on impossible days and on malformed text.
func TestParseISODate(t *testing.T) {
	check := func(s string) {
		t.Helper()
		tm, err := time.Parse("2006-01-02", s)
		y, d, ok := parseISODate(s)
		if ok != (err == nil) || ok && (y != tm.Year() || d != dayOf(tm)) {
			t.Fatalf("%q: got %d, %d, %v; time.Parse gives %v (day %d), %v", s, y, d, ok, tm, dayOf(tm), err)
		}
	}
	for tm := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC); tm.Year() <= 2400; tm = tm.AddDate(0, 0, 1) {
		check(tm.Format("2006-01-02"))
	}
	for _, s := range []string{"2026-02-29", "2024-02-29", "1900-02-29", "2000-02-29", "2026-04-31", "2026-13-01",
		"2026-00-10", "2026-01-00", "2026-1-01", "26-01-01", "2026/01/01", "2026-01-01 ", " 2026-01-01", "+026-01-01",
		"2026-0a-01", "", "20260101", "2026-01-011", "0000-01-01", "9999-12-31", "2026-1--01"} {
		check(s)
	}
}

// FuzzParseISODate: go test -fuzz FuzzParseISODate ./pipeline
func FuzzParseISODate(f *testing.F) {
	f.Add("2026-02-28")
	f.Add("2026-02-30")
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := time.Parse("2006-01-02", s)
		y, d, ok := parseISODate(s)
		if ok != (err == nil) || ok && (y != tm.Year() || d != dayOf(tm)) {
			t.Fatalf("%q: got %d, %d, %v; time.Parse gives %v, %v", s, y, d, ok, tm, err)
		}
	})
}

func TestTrimSpace(t *testing.T) {
	for _, s := range []string{"", " ", "a", " a", "a ", "\ta\r", "12", "\u00a0x", "x\u00a0", "\u0085", "é", " é ", "a\x7f", "\x00a"} {
		if got, want := trimSpace(s), strings.TrimSpace(s); got != want {
			t.Errorf("trimSpace(%q) = %q, want %q", s, got, want)
		}
	}
}

// TestSessionHashStable holds sessionHash to the hash of fmt's "%s|%s|%g|%s|%s", the input
// that sessions already in warehouses were hashed with: a different input would turn
// re-ingested duplicates into conflicts.
func TestSessionHashStable(t *testing.T) {
	doses := []float64{0, 1, 0.5, 12.3456789, 100, 1e5, 1e-7, 123456789, 1e21, 1e20, 2.5e-5, 0.1 + 0.2, 33.333333333333336}
	texts := []string{"", "north", "a|b", "ünï", "im", "sublingual", "kap", "telehealth", strings.Repeat("x", 200)}
	for _, d := range doses {
		for i, c := range texts {
			r, p, s := texts[(i+1)%len(texts)], texts[(i+2)%len(texts)], texts[(i+3)%len(texts)]
			h := fnv.New64a()
			fmt.Fprintf(h, "%s|%s|%g|%s|%s", c, r, d, p, s)
			if got := sessionHash(c, r, d, p, s); got != h.Sum64() {
				t.Errorf("sessionHash(%q, %q, %g, %q, %q) = %x, want %x", c, r, d, p, s, got, h.Sum64())
			}
		}
	}
	// and one value pinned: a change of FNV or of the layout shows here too
	if got := sessionHash("north", "im", 50, "kap", "in_person"); got != 0x93956bde35f84af2 {
		t.Errorf("sessionHash of a pinned session = %#x, want 0x93956bde35f84af2", got)
	}
}

// TestKeyHashCollisions ingests the same files with the real key hash and with a constant
// one (every row colliding with every other): duplicates and conflicts, within a file and
// against the warehouse, must come out the same, row for row.
func TestKeyHashCollisions(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := synth.Write(filepath.Join(dir, "cohort"), synth.Config{Patients: 150, Seed: 5, End: testAsOf, BadRows: true}); err != nil {
		t.Fatal(err)
	}
	files := []string{filepath.Join(dir, "cohort", "assessments.csv"), filepath.Join(dir, "cohort", "sessions.csv"), "testdata/bad-rows.csv"}
	// a second run: some rows again (duplicates of the warehouse) and one changed (a conflict)
	again := filepath.Join(dir, "again.csv")
	os.WriteFile(again, []byte("patient_id,clinic_id,instrument,date,"+strings.ReplaceAll(itemList, " ", "")+",total\n"+
		"ok-1,north,PHQ9,2025-03-01,1,1,1,1,1,1,1,1,0,,,,,,,,,,,,8\n"+
		"ok-1,north,PHQ9,2025-03-01,1,1,1,1,1,1,1,1,1,,,,,,,,,,,,9\n"+
		"new-1,north,GAD7,2025-03-01,1,1,1,1,1,1,1,,,,,,,,,,,,,,\n"), 0o644)
	run := func(name string) []string {
		w, err := OpenWarehouse(ctx, filepath.Join(dir, name+".duckdb"), filepath.Join(dir, name+"-lake"), false)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		var out []string
		for _, fs := range [][]string{files, {again}} {
			reps, err := w.Ingest(ctx, fs, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range reps {
				out = append(out, fmt.Sprintf("%s read=%d accepted=%d duplicates=%d quarantined=%d %v",
					filepath.Base(r.Path), r.RowsRead, r.Accepted, r.Duplicates, r.Quarantined, r.Reasons))
			}
		}
		out = append(out, rowsText(t, w.DB(), `SELECT file_id, line, reason, detail FROM quarantine ORDER BY ALL`)...)
		out = append(out, rowsText(t, w.DB(), `SELECT count(*), CAST(sum(source_line) AS VARCHAR), CAST(sum(hash(patient_id, day, total)) AS VARCHAR) FROM assessments`)...)
		out = append(out, rowsText(t, w.DB(), `SELECT count(*), CAST(sum(source_line) AS VARCHAR), CAST(sum(hash(patient_id, day, session_type)) AS VARCHAR) FROM sessions`)...)
		return out
	}
	want := run("real")
	keyHashFunc = func(string, string, int32) uint64 { return 42 }
	defer func() { keyHashFunc = keyHash }()
	got := run("colliding")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("with colliding key hashes:\n got %q\nwant %q", got, want)
	}
	var conflicts, dups int
	for _, l := range want {
		conflicts += strings.Count(l, "conflict")
		if strings.Contains(l, "duplicates=") && !strings.Contains(l, "duplicates=0") {
			dups++
		}
	}
	if conflicts < 3 || dups < 2 {
		t.Errorf("the files hold too few duplicates (%d files with some) or conflicts (%d)", dups, conflicts)
	}
}
