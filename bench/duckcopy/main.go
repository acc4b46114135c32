// Command duckcopy times what DuckDB alone does with the canonical assessments CSV, the
// baselines against which `kapstat ingest` is measured (BENCHMARKS.md, "End to end"):
//
//	duckcopy IN.csv OUT.parquet
//
// opens an in-memory DuckDB database through database/sql and runs DuckDB's bare copy, the
// floor for ingest:
//
//	COPY (SELECT * FROM read_csv('IN.csv')) TO 'OUT.parquet' (FORMAT parquet, COMPRESSION zstd)
//
//	duckcopy -stores [-memory_limit 320MB] IN.csv DIR
//
// does, with DuckDB alone, the two writes SPEC 5 asks of ingest, without validating or scoring
// anything: the file into a table of a new DuckDB file DIR/w.duckdb, and the table's rows into
// a lake DIR/lake Hive-partitioned by instrument and year (zstd), as ingest partitions it. It
// runs with DuckDB's default memory limit unless -memory_limit is given (ingest caps DuckDB at
// 320MB).
//
// Both print the statements' wall time in seconds and the number of rows.
package main

import (
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
)

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "duckcopy:", err)
	os.Exit(1)
}

func main() {
	stores := flag.Bool("stores", false, "load a DuckDB table and write a partitioned lake instead of one Parquet file")
	memLimit := flag.String("memory_limit", "", "DuckDB memory limit for -stores (default: DuckDB's)")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: duckcopy IN.csv OUT.parquet | duckcopy -stores IN.csv DIR")
		os.Exit(2)
	}
	in, out := flag.Arg(0), flag.Arg(1)
	if !*stores {
		db, err := sql.Open("duckdb", "")
		if err != nil {
			fail(err)
		}
		defer db.Close()
		os.Remove(out)
		t0 := time.Now()
		res, err := db.Exec(`COPY (SELECT * FROM read_csv(` + quote(in) + `)) TO ` + quote(out) + ` (FORMAT parquet, COMPRESSION zstd)`)
		if err != nil {
			fail(err)
		}
		n, _ := res.RowsAffected()
		fmt.Printf("seconds %.3f\nrows %d\n", time.Since(t0).Seconds(), n)
		return
	}
	os.RemoveAll(out)
	if err := os.MkdirAll(out, 0o755); err != nil {
		fail(err)
	}
	dsn := filepath.Join(out, "w.duckdb")
	if *memLimit != "" {
		dsn += "?memory_limit=" + *memLimit
	}
	db, err := sql.Open("duckdb", dsn)
	if err != nil {
		fail(err)
	}
	defer db.Close()
	t0 := time.Now()
	if _, err := db.Exec(`CREATE TABLE assessments AS SELECT *, coalesce(CAST(year(date) AS VARCHAR), 'none') AS year FROM read_csv(` + quote(in) + `)`); err != nil {
		fail(err)
	}
	t1 := time.Now()
	if _, err := db.Exec(`COPY assessments TO ` + quote(filepath.Join(out, "lake")) +
		` (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (instrument, year), ROW_GROUP_SIZE 262144)`); err != nil {
		fail(err)
	}
	secs := time.Since(t0).Seconds()
	var n int64
	if err := db.QueryRow(`SELECT count(*) FROM assessments`).Scan(&n); err != nil {
		fail(err)
	}
	fmt.Printf("seconds %.3f\ntable %.3f\nlake %.3f\nrows %d\n", secs, t1.Sub(t0).Seconds(), time.Since(t1).Seconds(), n)
}
