package pipeline

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kapstat/kapstat/synth"
)

// TestKillChild is the child process of TestKillDuringIngest: it ingests the files named in
// KAPSTAT_KILL_FILES into KAPSTAT_KILL_DB and, at the checkpoint KAPSTAT_KILL_AT, writes a
// marker file and waits to be killed.
func TestKillChild(t *testing.T) {
	db := os.Getenv("KAPSTAT_KILL_DB")
	if db == "" {
		t.Skip("child process of TestKillDuringIngest")
	}
	at, marker := os.Getenv("KAPSTAT_KILL_AT"), db+".marker"
	checkpoint = func(point string) {
		if point == at {
			os.WriteFile(marker, []byte(point), 0o644)
			time.Sleep(time.Hour)
		}
	}
	w, err := OpenWarehouse(context.Background(), db, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if at == "analysis-written" {
		asOf := time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)
		_, err = w.Analyze(context.Background(), AnalyzeOptions{Config: DefaultConfig(), AsOf: &asOf, Write: true})
	} else {
		_, err = w.Ingest(context.Background(), strings.Split(os.Getenv("KAPSTAT_KILL_FILES"), ","), testOptions())
	}
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
}

// killHook runs while the child waits at its checkpoint, just before the kill.
var killHook func()

// runKilled starts the child at checkpoint at, waits for it to get there and kills it.
func runKilled(t *testing.T, db, at, files string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$")
	cmd.Env = append(os.Environ(), "KAPSTAT_KILL_DB="+db, "KAPSTAT_KILL_AT="+at, "KAPSTAT_KILL_FILES="+files)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(db + ".marker"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("child never reached checkpoint " + at)
		}
		time.Sleep(20 * time.Millisecond)
	}
	os.Remove(db + ".marker")
	if killHook != nil {
		killHook()
	}
	cmd.Process.Kill() // SIGKILL
}

// TestKillDuringAnalyze kills an analyze inside its transaction: the analysis tables stay
// those of the previous analyze.
func TestKillDuringAnalyze(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	if _, err := synth.Write(filepath.Join(dir, "a"), synth.Config{Patients: 200, Seed: 1, End: testAsOf, BadRows: true}); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "k.duckdb")
	w, err := OpenWarehouse(context.Background(), db, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Ingest(context.Background(), []string{filepath.Join(dir, "a", "assessments.csv"), filepath.Join(dir, "a", "sessions.csv")}, testOptions()); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Analyze(context.Background(), AnalyzeOptions{Config: DefaultConfig(), Write: true}); err != nil {
		t.Fatal(err)
	}
	state := func() string {
		var s string
		w.DB().QueryRow(`SELECT (SELECT count(*) FROM analysis_runs) || '/' || (SELECT count(*) FROM episodes) || '/' ||
			(SELECT count(*) FROM relapse WHERE event) || '/' || (SELECT sum(n) FROM weekly_means)`).Scan(&s)
		return s
	}
	before := state()
	w.Close()
	runKilled(t, db, "analysis-written", "")
	w, err = OpenWarehouse(context.Background(), db, "", false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if after := state(); after != before {
		t.Errorf("analysis tables changed by a killed analyze: %s -> %s", before, after)
	}
}

// warehouseState is what must not change when an ingest is killed: row counts of every
// table and the lake's files.
func warehouseState(t *testing.T, db string) map[string]any {
	t.Helper()
	w, err := OpenWarehouse(context.Background(), db, "", false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	st := map[string]any{}
	for _, tb := range []string{"assessments", "sessions", "quarantine", "ingest_runs"} {
		st[tb] = count(t, w, "SELECT count(*) FROM "+tb)
	}
	st["lake"] = lakeFiles(t, w.Lake)
	return st
}

// TestKillDuringIngest kills (SIGKILL) an ingest process at each checkpoint of its run — after
// staging, after loading inside the open transaction, after the lake files were renamed into
// place but before the commit — and checks that the warehouse and the lake are exactly as
// before, and that rerunning the ingest then completes.
func TestKillDuringIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	if _, err := synth.Write(filepath.Join(dir, "a"), synth.Config{Patients: 50, Seed: 1, End: testAsOf, BadRows: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := synth.Write(filepath.Join(dir, "b"), synth.Config{Patients: 300, Seed: 2, End: testAsOf, BadRows: true}); err != nil {
		t.Fatal(err)
	}
	// Both cohorts number their patients from p000001, so the second ingest also classifies
	// rows as duplicates or conflicts against what the warehouse already holds.
	first := []string{filepath.Join(dir, "a", "assessments.csv"), filepath.Join(dir, "a", "sessions.csv")}
	second := strings.Join([]string{filepath.Join(dir, "b", "assessments.csv"), filepath.Join(dir, "b", "sessions.csv")}, ",")
	for _, at := range []string{"staged", "loaded", "lake-written"} {
		t.Run(at, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "k.duckdb")
			w, err := OpenWarehouse(context.Background(), db, "", false)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Ingest(context.Background(), first, testOptions()); err != nil {
				t.Fatal(err)
			}
			w.Close()
			before := warehouseState(t, db)

			busy := func() {
				// While the child holds the warehouse, a second writer fails at once.
				t0 := time.Now()
				if _, err := OpenWarehouse(context.Background(), db, "", false); !errors.Is(err, ErrBusy) {
					t.Errorf("second writer: err = %v, want ErrBusy", err)
				} else if time.Since(t0) > 5*time.Second {
					t.Errorf("second writer waited %v", time.Since(t0))
				}
			}
			killHook = busy
			runKilled(t, db, at, second)
			killHook = nil
			if after := warehouseState(t, db); !reflect.DeepEqual(after, before) {
				t.Errorf("killed at %s: state changed\nbefore %v\nafter  %v", at, before, after)
			}
			// A rerun completes and adds the second cohort's files.
			w, err = OpenWarehouse(context.Background(), db, "", false)
			if err != nil {
				t.Fatal(err)
			}
			reps, err := w.Ingest(context.Background(), strings.Split(second, ","), testOptions())
			w.Close()
			if err != nil || len(reps) != 2 || reps[0].Skipped || reps[0].RowsRead == 0 {
				t.Fatalf("rerun: %v %+v", err, reps)
			}
			if n := warehouseState(t, db)["ingest_runs"].(int64); n != 4 {
				t.Errorf("ingest_runs after rerun: %d, want 4", n)
			}
		})
	}
}
