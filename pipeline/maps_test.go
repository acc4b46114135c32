package pipeline

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kapstat/kapstat/measures"
)

var mapsDir = filepath.Join("..", "testdata", "maps")

// TestIngestNHANES ingests the real NHANES 2017–2018 PHQ-9 file through its map and checks
// every count and every total against an independent reading of the CSV: codes 7 (refused)
// and 9 (don't know) and empty cells are missing, never summed; a row with more than 2 of 9
// items missing is quarantined as too_many_missing; the others are scored, prorated when 1
// or 2 items are missing.
func TestIngestNHANES(t *testing.T) {
	path := filepath.Join(mapsDir, "nhanes", "nhanes_2017_2018_DPQ_J.csv")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	wantTotal := map[string]int{} // SEQN → expected total of accepted rows
	var tooMany, prorated int
	for _, r := range rows[1:] {
		sum, answered := 0, 0
		for _, v := range r[1:10] { // DPQ010 … DPQ090; DPQ100 (r[10]) is not part of the total
			if v == "" || v == "7.0" || v == "9.0" {
				continue
			}
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("SEQN %s: %q", r[0], v)
			}
			sum += int(x)
			answered++
		}
		if answered < 7 {
			tooMany++
			continue
		}
		if answered < 9 {
			prorated++
		}
		wantTotal[strings.TrimSuffix(r[0], ".0")] = measures.RoundHalfUp(sum, answered, 9)
	}
	w, _ := openTemp(t)
	opt := testOptions()
	opt.Map = filepath.Join(mapsDir, "nhanes", "map.toml")
	reps, err := w.Ingest(context.Background(), []string{path}, opt)
	if err != nil {
		t.Fatal(err)
	}
	r := reps[0]
	if r.RowsRead != 5533 || r.Accepted != int64(len(wantTotal)) || r.Quarantined != int64(tooMany) ||
		r.Reasons[ReasonTooManyMissing] != int64(tooMany) || r.Duplicates != 0 {
		t.Errorf("report %+v; want 5533 read, %d accepted, %d quarantined as too_many_missing", r, len(wantTotal), tooMany)
	}
	if n := count(t, w, `SELECT count(*) FROM assessments WHERE prorated`); n != int64(prorated) {
		t.Errorf("prorated %d, want %d", n, prorated)
	}
	got, err := w.DB().Query(`SELECT patient_id, total FROM assessments`)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	n := 0
	for got.Next() {
		var id string
		var total int
		got.Scan(&id, &total)
		if want, ok := wantTotal[id]; !ok || total != want {
			t.Errorf("SEQN %s: total %d, want %d (accepted %v)", id, total, want, ok)
		}
		n++
	}
	if n != len(wantTotal) {
		t.Errorf("%d rows in the warehouse, want %d", n, len(wantTotal))
	}
	// NHANES has no dates: the lake holds the rows under year=none.
	if n := count(t, w, `SELECT count(*) FROM read_parquet('`+w.Lake+`/assessments/instrument=PHQ9/year=none/*.parquet')`); n != int64(len(wantTotal)) {
		t.Errorf("lake year=none rows %d", n)
	}
}

// TestIngestMappedExports ingests the REDCap-style and LOINC-coded samples through their maps
// (the records each row gives are listed in pipeline/source/maps_test.go).
func TestIngestMappedExports(t *testing.T) {
	for _, tt := range []struct {
		name                        string
		read, accepted, quarantined int64
		reasons                     map[string]int64
	}{
		// 5 rows → 7 records: an empty row (too_many_missing), "1.5" and an unknown code 5
		// (not_integer); the other 4 are accepted.
		{"redcap", 7, 4, 3, map[string]int64{ReasonNotInteger: 2, ReasonTooManyMissing: 1}},
		// 4 rows → 7 records; the row whose every total is "." is quarantined.
		{"loinc", 7, 6, 1, map[string]int64{ReasonTooManyMissing: 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w, _ := openTemp(t)
			opt := testOptions()
			opt.Map = filepath.Join(mapsDir, tt.name, "map.toml")
			reps, err := w.Ingest(context.Background(), []string{filepath.Join(mapsDir, tt.name, "export.csv")}, opt)
			if err != nil {
				t.Fatal(err)
			}
			r := reps[0]
			if r.RowsRead != tt.read || r.Accepted != tt.accepted || r.Quarantined != tt.quarantined || fmt.Sprint(r.Reasons) != fmt.Sprint(tt.reasons) {
				t.Errorf("report %+v", r)
			}
		})
	}
}

// TestMappedFindingsNameSourceColumns: a quarantined row of a mapped file names the user's
// column beside the canonical one.
func TestMappedFindingsNameSourceColumns(t *testing.T) {
	opt := testOptions()
	opt.Map = filepath.Join(mapsDir, "redcap", "map.toml")
	_, findings, err := Validate(context.Background(), []string{filepath.Join(mapsDir, "redcap", "export.csv")}, opt)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range findings {
		got = append(got, fmt.Sprintf("%d %s %s", f.Line, f.Column, f.Reason))
	}
	// Line 5: PHQ-9 item 2 is "1.5" and GAD-7 item 7 is the unknown code 5 (export.csv).
	want := []string{"4  too_many_missing", "5 phq9_2 (item_2) not_integer", "5 gad7_7 (item_7) not_integer"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("findings %q, want %q", got, want)
	}
}
