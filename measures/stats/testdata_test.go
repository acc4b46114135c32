package stats

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// readCSV reads a testdata CSV into its header and rows.
func readCSV(t testing.TB, name string) ([]string, [][]string) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return recs[0], recs[1:]
}

// column returns the named column of a testdata CSV.
func column(t testing.TB, header []string, rows [][]string, name string) []string {
	t.Helper()
	for j, h := range header {
		if h == name {
			out := make([]string, len(rows))
			for i, r := range rows {
				out[i] = r[j]
			}
			return out
		}
	}
	t.Fatalf("no column %q", name)
	return nil
}

func floats(t testing.TB, s []string) []float64 {
	t.Helper()
	out := make([]float64, len(s))
	for i, v := range s {
		if v == "NA" || v == "" {
			out[i] = nan
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = f
	}
	return out
}

// indexLevels maps strings to 0-based indices in order of first appearance.
func indexLevels(s []string) ([]int, []string) {
	idx := make([]int, len(s))
	seen := map[string]int{}
	var names []string
	for i, v := range s {
		g, ok := seen[v]
		if !ok {
			g = len(names)
			seen[v] = g
			names = append(names, v)
		}
		idx[i] = g
	}
	return idx, names
}

// readJSON decodes a testdata JSON file into v.
func readJSON(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// records reads a testdata CSV as one map per row, keyed by column name.
func records(t testing.TB, name string) []map[string]string {
	t.Helper()
	h, rows := readCSV(t, name)
	out := make([]map[string]string, len(rows))
	for i, r := range rows {
		m := make(map[string]string, len(h))
		for j, c := range h {
			m[c] = r[j]
		}
		out[i] = m
	}
	return out
}

// num parses a number written by reference.R ("NA" is NaN).
func num(t testing.TB, s string) float64 {
	t.Helper()
	return floats(t, []string{s})[0]
}
