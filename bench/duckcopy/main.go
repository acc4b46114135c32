// Command duckcopy times DuckDB's own CSV → Parquet copy, the floor against which
// `kapstat ingest` is measured (BENCHMARKS.md, "End to end"):
//
//	duckcopy IN.csv OUT.parquet
//
// It opens an in-memory DuckDB database through database/sql, runs
//
//	COPY (SELECT * FROM read_csv('IN.csv')) TO 'OUT.parquet' (FORMAT parquet, COMPRESSION zstd)
//
// and prints the statement's wall time in seconds and the number of rows copied.
package main

import (
	"database/sql"
	"fmt"
	"os"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
)

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: duckcopy IN.csv OUT.parquet")
		os.Exit(2)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		fmt.Fprintln(os.Stderr, "duckcopy:", err)
		os.Exit(1)
	}
	defer db.Close()
	os.Remove(os.Args[2])
	t0 := time.Now()
	res, err := db.Exec(`COPY (SELECT * FROM read_csv(` + quote(os.Args[1]) + `)) TO ` + quote(os.Args[2]) +
		` (FORMAT parquet, COMPRESSION zstd)`)
	if err != nil {
		fmt.Fprintln(os.Stderr, "duckcopy:", err)
		os.Exit(1)
	}
	secs := time.Since(t0).Seconds()
	n, _ := res.RowsAffected()
	fmt.Printf("seconds %.3f\nrows %d\n", secs, n)
}
