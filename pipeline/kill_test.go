package pipeline

import (
	"context"
	"errors"
	"fmt"
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
	if os.Getenv("KAPSTAT_KILL_VALIDATE") != "" {
		if _, _, err := Validate(context.Background(), strings.Split(os.Getenv("KAPSTAT_KILL_FILES"), ","), testOptions()); err != nil {
			t.Fatal(err)
		}
		return
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

// visibleLake lists the lake files a reader globbing the lake sees: not in hidden directories
// (DuckDB's, Spark's and Hive's readers skip names starting with "." or "_").
func visibleLake(t *testing.T, dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && p != dir && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".parquet") {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// TestKillDuringIngest kills (SIGKILL) an ingest process at each checkpoint of its run — after
// staging, after loading inside the open transaction, after the lake files were written and
// synced in the lake's hidden staging directory (before the commit) — and checks that the
// warehouse and the lake are exactly as before, that no uncommitted lake file was visible to
// a reader meanwhile, and that rerunning the ingest then completes. Killed after the commit
// but before its lake files were moved in, the next open finishes the move: the state is that
// of the completed ingest.
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
	// The state of a completed second ingest, for the kill after the commit.
	completed := func() map[string]any {
		db := filepath.Join(t.TempDir(), "k.duckdb")
		w, err := OpenWarehouse(context.Background(), db, "", false)
		if err != nil {
			t.Fatal(err)
		}
		for _, fs := range [][]string{first, strings.Split(second, ",")} {
			if _, err := w.Ingest(context.Background(), fs, testOptions()); err != nil {
				t.Fatal(err)
			}
		}
		w.Close()
		return warehouseState(t, db)
	}()
	for _, at := range []string{"staged", "loaded", "lake-written", "committed"} {
		t.Run(at, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "k.duckdb")
			w, err := OpenWarehouse(context.Background(), db, "", false)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Ingest(context.Background(), first, testOptions()); err != nil {
				t.Fatal(err)
			}
			lake := w.Lake
			w.Close()
			before := warehouseState(t, db)
			visible := visibleLake(t, lake)

			killHook = func() {
				// While the child holds the warehouse, a second writer fails at once.
				t0 := time.Now()
				if _, err := OpenWarehouse(context.Background(), db, "", false); !errors.Is(err, ErrBusy) {
					t.Errorf("second writer: err = %v, want ErrBusy", err)
				} else if time.Since(t0) > 5*time.Second {
					t.Errorf("second writer waited %v", time.Since(t0))
				}
				// A reader of the lake sees no file of the run before it is moved in.
				if got := visibleLake(t, lake); !reflect.DeepEqual(got, visible) {
					t.Errorf("at %s, lake files of the uncommitted run are visible: %v", at, got)
				}
			}
			runKilled(t, db, at, second)
			killHook = nil
			after := warehouseState(t, db)
			if at == "committed" {
				if !reflect.DeepEqual(after, completed) {
					t.Errorf("killed after the commit: state\n got %v\nwant %v", after, completed)
				}
				return
			}
			if !reflect.DeepEqual(after, before) {
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
			if got := warehouseState(t, db); !reflect.DeepEqual(got, completed) {
				t.Errorf("after the rerun\n got %v\nwant %v", got, completed)
			}
		})
	}
}

// TestKillDuringValidate: validate stages the rows it checks (patient-level data) in a
// directory of the temporary directory that only its user can open; one killed there leaves
// its staging behind, and the next validate removes it (a live validate's is kept).
func TestKillDuringValidate(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	tmp := filepath.Join(t.TempDir(), "tmp")
	os.Mkdir(tmp, 0o755)
	t.Setenv("TMPDIR", tmp)
	t.Setenv("KAPSTAT_KILL_VALIDATE", "1")
	staged := func() []string {
		var out []string
		filepath.WalkDir(tmp, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
				out = append(out, p)
			}
			return nil
		})
		return out
	}
	root := filepath.Join(tmp, fmt.Sprintf("kapstat-%d", os.Getuid()))
	killHook = func() {
		if n := len(staged()); n != 2 { // the rows and the findings of the one file
			t.Errorf("%d staged files while validate runs, want 2", n)
		}
		fi, err := os.Stat(root)
		if err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("staging root %s: %v %v, want mode 0700", root, fi.Mode(), err)
		}
	}
	runKilled(t, filepath.Join(tmp, "marker"), "staged", "testdata/example-assessments.csv")
	killHook = nil
	if n := len(staged()); n != 2 {
		t.Fatalf("%d staged files after the kill, want the 2 the killed validate left", n)
	}
	os.Unsetenv("KAPSTAT_KILL_VALIDATE")
	if _, _, err := Validate(context.Background(), []string{"testdata/example-sessions.csv"}, testOptions()); err != nil {
		t.Fatal(err)
	}
	if left := staged(); len(left) != 0 {
		t.Errorf("staged rows left after the next validate: %v", left)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Errorf("left in %s: %v", root, entries)
	}
}
