package pipeline

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/kapstat/kapstat/synth"
)

// Fault injection at system calls with strace: the ingest runs in a child process (TestKillChild
// with no checkpoint), traced, and is killed at a chosen write to the write-ahead log.

// needStrace skips the test when strace is missing or cannot trace here (no ptrace).
func needStrace(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("spawns traced processes")
	}
	path, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace is not installed (apt-get install strace; .ci/run installs it): fault injection at system calls skipped")
	}
	if out, err := exec.Command(path, "-qq", "-o", "/dev/null", "true").CombinedOutput(); err != nil {
		t.Skipf("strace cannot trace here (%v: %s): fault injection at system calls skipped", err, strings.TrimSpace(string(out)))
	}
	return path
}

// tracedIngest runs the child ingest of files into db under strace with args.
func tracedIngest(t *testing.T, strace, db string, files []string, args ...string) error {
	t.Helper()
	cmd := exec.Command(strace, append(append([]string{"-f", "-qq"}, args...), os.Args[0], "-test.run=^TestKillChild$")...)
	cmd.Env = append(os.Environ(), "KAPSTAT_KILL_DB="+db, "KAPSTAT_KILL_AT=", "KAPSTAT_KILL_FILES="+strings.Join(files, ","))
	return cmd.Run()
}

// copyTree copies a warehouse file and its lake into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestKillDuringCommitWAL kills a two-file ingest (assessments and sessions) at every write to
// the write-ahead log during its commit, and at the writes after it: reopened, the
// warehouse and the lake are exactly as before the run or exactly as after it, never a part of
// it, and the rerun completes to the same state as an ingest never interrupted.
func TestKillDuringCommitWAL(t *testing.T) {
	strace := needStrace(t)
	dir := t.TempDir()
	for _, c := range []struct {
		name     string
		patients int
		seed     uint64
	}{{"a", 50, 1}, {"b", 300, 2}} {
		if _, err := synth.Write(filepath.Join(dir, c.name), synth.Config{Patients: c.patients, Seed: c.seed, End: testAsOf, BadRows: true}); err != nil {
			t.Fatal(err)
		}
	}
	first := []string{filepath.Join(dir, "a", "assessments.csv"), filepath.Join(dir, "a", "sessions.csv")}
	second := []string{filepath.Join(dir, "b", "assessments.csv"), filepath.Join(dir, "b", "sessions.csv")}
	base := filepath.Join(dir, "base")
	os.Mkdir(base, 0o755)
	w, err := OpenWarehouse(context.Background(), filepath.Join(base, "k.duckdb"), "", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Ingest(context.Background(), first, testOptions()); err != nil {
		t.Fatal(err)
	}
	w.Close()
	fresh := func(name string) string {
		d := filepath.Join(dir, name)
		copyTree(t, base, d)
		return filepath.Join(d, "k.duckdb")
	}
	before := warehouseState(t, fresh("before"))
	// The writes of an uninterrupted run to its log: the commit's, then the checkpoint's at close.
	db := fresh("counted")
	log := filepath.Join(dir, "wal.log")
	if err := tracedIngest(t, strace, db, second, "-o", log, "-e", "trace=write,fsync", "-P", db+".wal"); err != nil {
		t.Fatal(err)
	}
	completed := warehouseState(t, db)
	b, _ := os.ReadFile(log)
	calls := regexp.MustCompile(`(?m)^\d+ +(write|fsync)\(`).FindAllSubmatch(b, -1)
	writes, commitWrites := 0, 0
	for _, c := range calls {
		if string(c[1]) == "fsync" && commitWrites == 0 {
			commitWrites = writes // the commit ends with the log's fsync
		}
		if string(c[1]) == "write" {
			writes++
		}
	}
	if commitWrites < 3 {
		t.Fatalf("%d writes to the log before its fsync, want the commit's several: %s", commitWrites, b)
	}
	if reflect.DeepEqual(before, completed) {
		t.Fatal("the second ingest changed nothing")
	}
	for n := 1; n <= min(writes, 24); n++ {
		db := fresh(fmt.Sprintf("kill-%d", n))
		err := tracedIngest(t, strace, db, second, "-o", "/dev/null", "-e", "trace=write",
			"-e", fmt.Sprintf("inject=write:signal=KILL:when=%d", n), "-P", db+".wal")
		if err == nil && n <= commitWrites {
			t.Errorf("write %d: the ingest was not killed", n)
			continue
		}
		after := warehouseState(t, db)
		if !reflect.DeepEqual(after, before) && !reflect.DeepEqual(after, completed) {
			t.Errorf("killed at log write %d of %d: a part of the run\n got %v\nbefore %v\nafter the run %v", n, writes, after, before, completed)
			continue
		}
		w, err := OpenWarehouse(context.Background(), db, "", false)
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.Ingest(context.Background(), second, testOptions())
		w.Close()
		if err != nil {
			t.Fatalf("rerun after a kill at write %d: %v", n, err)
		}
		if got := warehouseState(t, db); !reflect.DeepEqual(got, completed) {
			t.Errorf("rerun after a kill at log write %d:\n got %v\nwant %v", n, got, completed)
		}
	}
}

// TestLakeSyncedBeforeCommit traces an ingest's fsync and rename calls: every lake file of the
// run is synced under its staging name before the commit (the write-ahead log's fsync) and
// renamed into the lake only after it.
func TestLakeSyncedBeforeCommit(t *testing.T) {
	strace := needStrace(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "k.duckdb")
	log := filepath.Join(dir, "trace.log")
	files := []string{"testdata/example-assessments.csv", "testdata/example-sessions.csv"}
	// made beforehand, so that the only transaction of the traced run is the ingest's
	w, err := OpenWarehouse(context.Background(), db, "", false)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if err := tracedIngest(t, strace, db, files, "-y", "-s", "4096", "-o", log, "-e", "trace=fsync,fdatasync,rename,renameat,renameat2"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	synced := map[string]int{}
	renamed := map[string][2]any{} // final name -> staging name, line
	commit := -1
	fsyncRe := regexp.MustCompile(`f(?:data)?sync\(\d+<([^>]+)>\) = 0`)
	renameRe := regexp.MustCompile(`rename(?:at2?)?\((?:AT_FDCWD(?:<[^>]*>)?, )?"([^"]+)", (?:AT_FDCWD(?:<[^>]*>)?, )?"([^"]+)"`)
	for i, line := range strings.Split(string(b), "\n") {
		if m := fsyncRe.FindStringSubmatch(line); m != nil {
			if _, ok := synced[m[1]]; !ok {
				synced[m[1]] = i
			}
			if m[1] == db+".wal" && commit < 0 {
				commit = i
			}
		}
		if m := renameRe.FindStringSubmatch(line); m != nil {
			renamed[m[2]] = [2]any{m[1], i}
		}
	}
	if commit < 0 {
		t.Fatalf("no fsync of the write-ahead log traced:\n%s", b)
	}
	lake := lakeFiles(t, filepath.Join(dir, "lake"))
	n := 0
	for _, f := range lake {
		if !strings.HasSuffix(f, ".parquet") {
			continue
		}
		n++
		final := filepath.Join(dir, "lake", f)
		r, ok := renamed[final]
		if !ok {
			t.Errorf("%s was not renamed into place", f)
			continue
		}
		src, at := r[0].(string), r[1].(int)
		s, ok := synced[src]
		switch {
		case !ok:
			t.Errorf("%s: its staging file %s was never synced", f, src)
		case s > commit:
			t.Errorf("%s: synced after the commit", f)
		case at < commit:
			t.Errorf("%s: renamed into the lake before the commit", f)
		}
	}
	if n < 4 {
		t.Errorf("only %d lake files: %v", n, lake)
	}

}
