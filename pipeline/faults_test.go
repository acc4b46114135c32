package pipeline

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kapstat/kapstat/synth"
)

// mountTmpfs mounts a tmpfs of the given size (mount -o size=…) on a new directory and
// unmounts it at the end of the test. It skips the test when not root or when mounting fails
// (no CAP_SYS_ADMIN in a container, no mount binary).
func mountTmpfs(t *testing.T, opts string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	dir := filepath.Join(t.TempDir(), "fs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (%v): %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// remount changes the options of the tmpfs mounted on dir (size, ro/rw).
func remount(t *testing.T, dir, opts string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,"+opts, dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s %s: %v: %s", dir, opts, err, out)
	}
}

// TestDiskFullDuringIngest runs an ingest into a warehouse on a small tmpfs with a cohort
// whose staging, warehouse and lake files cannot fit. The ingest must fail with a clear
// error; the warehouse must then open on the same directory and hold exactly what it held
// before (row counts and lake files, no staging directory or partial Parquet file left); and
// once the file system is grown, the same ingest must succeed.
func TestDiskFullDuringIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a file system and ingests a cohort")
	}
	src := t.TempDir()
	if _, err := synth.Write(src, synth.Config{Patients: 1500, Seed: 3, End: testAsOf, BadRows: true}); err != nil {
		t.Fatal(err)
	}
	big := []string{filepath.Join(src, "assessments.csv"), filepath.Join(src, "sessions.csv")}
	// The file system's size decides where the ingest runs out of space: on this cohort
	// (2.6 MB of CSV, sessions with their safety columns) 1 MB fills up while staging Parquet,
	// 5 MB while writing the lake files inside the transaction (4.9–5.1 MB did), 5.5 MB at the
	// commit (DuckDB's write-ahead log); the error says which (sizes found by trying, with
	// schema 4).
	for _, tc := range []struct{ size, phase, says string }{
		{"1m", "staging", "rows-2.parquet"}, {"5000k", "lake", "write lake: "}, {"5500k", "commit", "commit ingest: "},
	} {
		t.Run(tc.phase, func(t *testing.T) { diskFull(t, tc.size, tc.says, big) })
	}
}

func diskFull(t *testing.T, size, says string, big []string) {
	dir := mountTmpfs(t, "size="+size)
	db := filepath.Join(dir, "kapstat.duckdb")
	ctx := context.Background()

	w, err := OpenWarehouse(ctx, db, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Ingest(ctx, []string{goodFile}, testOptions()); err != nil {
		t.Fatalf("small ingest onto the %s file system: %v", size, err)
	}
	before := tableState(t, w)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	w, err = OpenWarehouse(ctx, db, "", false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Ingest(ctx, big, testOptions())
	w.Close()
	if err == nil {
		t.Fatal("ingest of a cohort larger than the file system succeeded")
	}
	t.Logf("disk full: %v", err)
	if !strings.Contains(err.Error(), says) {
		t.Errorf("error is not from the expected phase (%q): %v", says, err)
	}
	if msg := strings.ToLower(err.Error()); !strings.Contains(msg, "no space left") && !strings.Contains(msg, "disk") && !strings.Contains(msg, "space") {
		t.Errorf("error does not say the disk is full: %v", err)
	}

	// Same directory, same file system: the warehouse opens and is as it was.
	w, err = OpenWarehouse(ctx, db, "", false)
	if err != nil {
		t.Fatalf("warehouse does not open after a disk-full ingest: %v", err)
	}
	if after := tableState(t, w); !reflect.DeepEqual(after, before) {
		t.Errorf("disk-full ingest changed the warehouse\nbefore %v\nafter  %v", before, after)
	}
	for _, f := range lakeFiles(t, w.Lake) {
		if f != lakeMarker && (strings.Contains(f, ".staging") || !strings.HasSuffix(f, ".parquet")) {
			t.Errorf("lake holds a leftover %s", f)
		}
	}
	w.Close()

	// Grown, the file system takes the same ingest, and the invariant holds for every file.
	remount(t, dir, "size=256m")
	w, err = OpenWarehouse(ctx, db, "", false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	reps, err := w.Ingest(ctx, big, testOptions())
	if err != nil {
		t.Fatalf("ingest after the disk was grown: %v", err)
	}
	for _, r := range reps {
		if r.Skipped || r.RowsRead == 0 {
			t.Errorf("rerun: %+v", *r)
		}
		checkInvariant(t, w, r)
	}
	if n := count(t, w, "SELECT count(*) FROM ingest_runs"); n != 3 {
		t.Errorf("ingest_runs: %d rows, want 3", n)
	}
}

// TestReadOnlyWarehouseDir: a warehouse whose file system turned read-only (a remount after an I/O
// error, a read-only snapshot) cannot take an ingest: the error is clear and the data
// stays readable.
func TestReadOnlyWarehouseDir(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a file system")
	}
	dir := mountTmpfs(t, "size=64m")
	db := filepath.Join(dir, "kapstat.duckdb")
	ctx := context.Background()
	w, err := OpenWarehouse(ctx, db, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Ingest(ctx, []string{goodFile}, testOptions()); err != nil {
		t.Fatal(err)
	}
	before := tableState(t, w)
	w.Close()
	remount(t, dir, "ro")
	defer remount(t, dir, "rw")

	w, err = OpenWarehouse(ctx, db, "", false)
	if err == nil {
		_, err = w.Ingest(ctx, []string{"testdata/example-sessions.csv"}, testOptions())
		w.Close()
	}
	if err == nil {
		t.Fatal("ingest into a warehouse on a read-only file system succeeded")
	}
	t.Logf("read-only: %v", err)
	if !strings.Contains(strings.ToLower(err.Error()), "read-only") {
		t.Errorf("error does not say the file system is read-only: %v", err)
	}
	// Reading still works, and shows the data as it was.
	w, err = OpenWarehouse(ctx, db, "", true)
	if err != nil {
		t.Fatalf("read-only open: %v", err)
	}
	if after := tableState(t, w); !reflect.DeepEqual(after, before) {
		t.Errorf("state changed\nbefore %v\nafter  %v", before, after)
	}
	w.Close()
}
