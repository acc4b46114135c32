package progress

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A writer that is not a terminal (a buffer, a file, a pipe) gets no line: New returns nil,
// whose callback is nil and whose methods write nothing.
func TestSilentWhenNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for name, out := range map[string]interface{ Write([]byte) (int, error) }{"buffer": &buf, "file": f, "pipe": w} {
		if Enabled(out) {
			t.Errorf("%s: enabled", name)
		}
		l := New(out)
		if l != nil {
			t.Fatalf("%s: New returned a line", name)
		}
		if l.Func("ingest") != nil {
			t.Errorf("%s: a nil line gives a callback", name)
		}
		l.Update("ingest", "read a.csv", 5, 10)
		l.Step("analyze", "PHQ-9 mixed model")
		if got := l.Writer(out); got != out {
			t.Errorf("%s: Writer wraps the writer", name)
		}
		l.Clear()
		l.Close()
	}
	if buf.Len() > 0 {
		t.Errorf("buffer written: %q", buf.String())
	}
	if fi, err := f.Stat(); err != nil || fi.Size() > 0 {
		t.Errorf("file written (%v)", err)
	}
}

func TestOff(t *testing.T) {
	for v, want := range map[string]bool{"0": true, "false": true, "OFF": true, "no": true, "": false, "1": false, "yes": false} {
		if off(v) != want {
			t.Errorf("KAPSTAT_PROGRESS=%q: off %v, want %v", v, !want, want)
		}
	}
}

// A forced line draws each kind of stage, and erases its line at the end.
func TestForcedDraws(t *testing.T) {
	var buf bytes.Buffer
	l := Forced(&buf)
	f := l.Func("ingest")
	f("read cohort/assessments.csv", 0, 1<<20)
	f("read cohort/assessments.csv", 1<<20, 1<<20)
	f("load assessments (classify)", 0, 0)
	l.Func("analyze")("patients", 10, -1)
	l.Func("analyze")("patients", 40, 100)
	l.Step("analyze", "PHQ-9 mixed model")
	l.Close()
	l.Update("analyze", "after close", 0, 0)
	out := buf.String()
	for _, want := range []string{
		"ingest: read cohort/assessments.csv", "MB", // bytes
		"ingest: load assessments (classify)",
		"analyze: patients", "(40/100)",
		"analyze: PHQ-9 mixed model",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q: %q", want, out)
		}
	}
	if strings.Contains(out, "after close") {
		t.Errorf("drawn after Close: %q", out)
	}
	if !strings.HasSuffix(out, "\x1b[2K\r") {
		t.Errorf("line not erased at the end: %q", out)
	}
	if strings.Contains(out, "\n") {
		t.Errorf("a newline in the progress line: %q", out)
	}
}

// What a command prints through Writer goes out unchanged, after the line is erased.
func TestWriterErasesFirst(t *testing.T) {
	var errb, data bytes.Buffer
	l := Forced(&errb)
	w := l.Writer(&data)
	l.Update("export", "rows", 5, 10)
	drawn := errb.Len()
	if drawn == 0 {
		t.Fatal("nothing drawn")
	}
	if _, err := w.Write([]byte("a,b\n1,2\n")); err != nil {
		t.Fatal(err)
	}
	if data.String() != "a,b\n1,2\n" {
		t.Errorf("data changed: %q", data.String())
	}
	if !strings.HasSuffix(errb.String(), "\x1b[2K\r") || errb.Len() == drawn {
		t.Errorf("line not erased before the write: %q", errb.String())
	}
	l.Close()
}

func TestDescribe(t *testing.T) {
	for _, c := range []struct {
		prefix, stage string
		n             int
		want          string
	}{
		{"ingest", "read /data/q3/assessments.csv", 0, "ingest: read /data/q3/assessments.csv"},
		{"ingest", "read /data/q3/assessments.csv", 40, "ingest: read /data/q3/assessments.csv"},
		{"ingest", "read /data/q3/assessments.csv", 30, "ingest: read assessments.csv"},
		{"ingest", "read /data/q3/assessments.csv", 22, "read assessments.csv"},
		{"ingest", "read /data/q3/assessments.csv", 12, "…ssments.csv"},
		{"analyze", "PHQ-9 trajectory classes", 20, "… trajectory classes"},
	} {
		if got := describe(c.prefix, c.stage, c.n); got != c.want {
			t.Errorf("describe(%q, %q, %d) = %q, want %q", c.prefix, c.stage, c.n, got, c.want)
		}
	}
}
