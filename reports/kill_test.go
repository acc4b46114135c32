package reports

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// TestReportKillChild is the child process of TestKillDuringReport: it writes the workbook to
// KAPSTAT_REPORT_KILL_PATH and, at the checkpoint, writes a marker file and waits to be killed.
func TestReportKillChild(t *testing.T) {
	path := os.Getenv("KAPSTAT_REPORT_KILL_PATH")
	if path == "" {
		t.Skip("child process of TestKillDuringReport")
	}
	checkpoint = func(point string) {
		if point == "workbook-written" {
			os.WriteFile(path+".marker", nil, 0o644)
			time.Sleep(time.Hour)
		}
	}
	if err := Write(path, sampleAnalysis(t), Options{Audience: "internal", Now: fixedNow.Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
}

// TestKillDuringReport kills a report process after it has written the whole new workbook to
// its temporary file and before the rename: the previous workbook stays, byte for byte, and
// opens; the next report replaces it and removes the killed writer's temporary file once that
// is stale.
func TestKillDuringReport(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a child process")
	}
	a := sampleAnalysis(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "report.xlsx")
	if err := Write(path, a, Options{Audience: "internal", Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)

	cmd := exec.Command(os.Args[0], "-test.run=^TestReportKillChild$")
	cmd.Env = append(os.Environ(), "KAPSTAT_REPORT_KILL_PATH="+path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(120 * time.Second)
	for {
		if _, err := os.Stat(path + ".marker"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("child never reached the checkpoint")
		}
		time.Sleep(20 * time.Millisecond)
	}
	os.Remove(path + ".marker")
	cmd.Process.Kill() // SIGKILL
	cmd.Wait()

	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("the workbook changed although the report was killed before its rename")
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatalf("the previous workbook no longer opens: %v", err)
	}
	f.Close()
	temps, _ := filepath.Glob(filepath.Join(dir, ".report.xlsx.*.tmp"))
	if len(temps) != 1 {
		t.Fatalf("temporary files after the kill: %v, want the killed writer's one", temps)
	}
	// The next report keeps a fresh temporary file (it may be a concurrent writer's) and
	// removes one older than an hour.
	if err := Write(path, a, Options{Audience: "internal", Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(temps[0]); err != nil {
		t.Errorf("a fresh temporary file was removed: %v", err)
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(temps[0], old, old)
	if err := Write(path, a, Options{Audience: "internal", Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "report.xlsx" {
		t.Errorf("directory after the next report: %v, want only report.xlsx", names)
	}
}
