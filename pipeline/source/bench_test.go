package source

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkCanonicalCSV reads a canonical assessments file of 100,000 rows (the width of what
// synth writes: 25 columns) through every check: delimiter, UTF-8 and identifier guards.
//
//	go test -run '^$' -bench CanonicalCSV -benchmem ./pipeline/source/
func BenchmarkCanonicalCSV(b *testing.B) {
	const rows = 100000
	var sb strings.Builder
	sb.WriteString("patient_id,clinic_id,instrument,date," + strings.Join(itemNames[:], ",") + ",total\n")
	for i := 0; i < rows; i++ {
		items := make([]string, 20)
		inst, n := "PHQ9", 9
		if i%3 == 1 {
			inst, n = "GAD7", 7
		}
		for k := 0; k < n; k++ {
			items[k] = fmt.Sprint((i + k) % 4)
		}
		fmt.Fprintf(&sb, "kap-%06d,clinic-%d,%s,2025-%02d-%02d,%s,\n", i/6, i%4, inst, 1+i%12, 1+i%28, strings.Join(items, ","))
	}
	p := filepath.Join(b.TempDir(), "assessments.csv")
	if err := os.WriteFile(p, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(sb.Len()))
	b.ResetTimer()
	for b.Loop() {
		r, err := Open(p, nil)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		r.Close()
		if n != rows {
			b.Fatalf("%d rows, want %d", n, rows)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
