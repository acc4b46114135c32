// Package progress draws the progress of a long kapstat command on one line of a terminal:
// a bar with counts and the time left when the amount of work is known, a spinner with the
// time spent otherwise. It draws nothing unless its output is a terminal, so that logs, pipes,
// cron mail and tests stay as they were; KAPSTAT_PROGRESS=0 silences it on a terminal too.
//
// The library packages (pipeline, reports) report through a plain callback,
// func(stage string, done, total int64), whose conventions are in pipeline/progress.go;
// Line.Func turns a Line into one.
package progress

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// interval is the least time between two drawings of the line (about ten a second).
const interval = 100 * time.Millisecond

// Line is the progress line of one command. A nil *Line draws nothing, and all its methods
// may be called on nil. It is safe for concurrent use.
type Line struct {
	mu      sync.Mutex
	w       io.Writer
	fd      int // the terminal's descriptor, −1 when w is not a file
	bar     *progressbar.ProgressBar
	key     string // the prefix and stage the bar shows
	total   int64
	spinner bool
	last    time.Time // last update drawn
	stop    chan struct{}
	closed  bool
}

// Enabled reports whether progress is drawn on w: w is a terminal and KAPSTAT_PROGRESS does
// not turn it off.
func Enabled(w io.Writer) bool {
	return IsTerminal(w) && !off(os.Getenv("KAPSTAT_PROGRESS"))
}

// off reports whether a KAPSTAT_PROGRESS value turns progress off.
func off(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "0", "false", "off", "no":
		return true
	}
	return false
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// New returns the progress line drawn on w (standard error), or nil when progress is not
// drawn there (Enabled).
func New(w io.Writer) *Line {
	if !Enabled(w) {
		return nil
	}
	return Forced(w)
}

// Forced returns a progress line drawn on w whatever w is.
func Forced(w io.Writer) *Line {
	l := &Line{w: w, fd: -1, stop: make(chan struct{})}
	if f, ok := w.(*os.File); ok {
		l.fd = int(f.Fd())
	}
	go l.spin()
	return l
}

// spin redraws a spinner while its step lasts, so that a long step is seen to be alive.
func (l *Line) spin() {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.mu.Lock()
			if l.bar != nil && l.spinner {
				l.bar.RenderBlank()
			}
			l.mu.Unlock()
		}
	}
}

// Func returns a progress callback for the pipeline and reports options, showing each stage
// after prefix (e.g. "ingest"), or nil for a nil Line: the libraries then do no progress work.
func (l *Line) Func(prefix string) func(stage string, done, total int64) {
	if l == nil {
		return nil
	}
	return func(stage string, done, total int64) { l.Update(prefix, stage, done, total) }
}

// Step shows a named step without a count.
func (l *Line) Step(prefix, stage string) { l.Update(prefix, stage, 0, 0) }

// Update shows stage after prefix: done out of total when total > 0, done with no known
// end when total < 0, a named step when total == 0. A stage named "read F" counts bytes.
// Updates of the same stage closer together than a tenth of a second are not drawn, except
// the last one.
func (l *Line) Update(prefix, stage string, done, total int64) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	key := prefix + ": " + stage
	if l.bar != nil && key == l.key && (total > 0) == (l.total > 0) && (total == 0) == (l.total == 0) {
		if total > 0 && total != l.total {
			l.bar.ChangeMax64(total)
			l.total = total
		}
		if time.Since(l.last) < interval && (total <= 0 || done < total) {
			return
		}
	} else {
		l.clear()
		l.start(prefix, stage, total)
	}
	l.last = time.Now()
	switch {
	case total > 0:
		l.bar.Set64(min(max(done, 0), total))
	case total < 0:
		l.bar.Set64(max(done, 0))
	default:
		l.bar.RenderBlank()
	}
}

// start begins a bar for the stage.
func (l *Line) start(prefix, stage string, total int64) {
	bytes := strings.HasPrefix(stage, "read ")
	// The line must fit the terminal's width, or erasing it would leave its first part on
	// the screen. The bar shrinks to fit (down to nothing); the description gets what the
	// figures beside it leave.
	room := 0 // no limit
	if l.fd >= 0 {
		width, _, err := term.GetSize(l.fd)
		if err != nil || width <= 0 {
			width = 80
		}
		switch {
		case total <= 0: // spinner, count, [1h2m3s]
			room = width - 24
		case bytes: // 100% [] (1023.9 MB/1023.9 MB, 999.9 MB/s) [1h2m3s:1h2m3s]
			room = width - 62
		default: // 100% [] (1000000/1000000) [1h2m3s:1h2m3s]
			room = width - 44
		}
		room = max(room, 12)
	}
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(l.w),
		progressbar.OptionSetDescription(describe(prefix, stage, room) + " "),
		progressbar.OptionSetTheme(progressbar.ThemeASCII),
		progressbar.OptionSetWidth(24),
		progressbar.OptionThrottle(interval),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionUseANSICodes(true),
		progressbar.OptionSetSpinnerChangeInterval(0), // spin redraws it, under l.mu
		progressbar.OptionSpinnerType(9),
		progressbar.OptionSetRenderBlankState(false),
	}
	switch {
	case total > 0:
		opts = append(opts, progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true))
		if bytes {
			opts = append(opts, progressbar.OptionShowBytes(true))
		}
	case total < 0:
		opts = append(opts, progressbar.OptionShowCount(), progressbar.OptionShowTotalBytes(false),
			progressbar.OptionSetElapsedTime(true))
		if bytes {
			opts = append(opts, progressbar.OptionShowBytes(true))
		}
	default:
		opts = append(opts, progressbar.OptionSetElapsedTime(true))
	}
	max := total
	if total <= 0 {
		max = -1
	}
	l.bar = progressbar.NewOptions64(max, opts...)
	l.key, l.total, l.spinner = prefix+": "+stage, total, total <= 0
}

// describe is "prefix: stage" within n characters (0: no limit): when it is too long, a path
// in the stage is cut to its file name, then the prefix is dropped, then the beginning.
func describe(prefix, stage string, n int) string {
	fits := func(s string) bool { return n <= 0 || utf8.RuneCountInString(s) <= n }
	join := func(stage string) string {
		if prefix == "" {
			return stage
		}
		return prefix + ": " + stage
	}
	if s := join(stage); fits(s) {
		return s
	}
	if i := strings.LastIndexByte(stage, ' '); i >= 0 && strings.ContainsAny(stage[i+1:], `/\`) {
		stage = stage[:i+1] + filepath.Base(stage[i+1:])
	}
	if s := join(stage); fits(s) {
		return s
	}
	if fits(stage) {
		return stage
	}
	r := []rune(stage)
	return "…" + string(r[len(r)-n+1:])
}

// clear ends the bar shown and erases its line.
func (l *Line) clear() {
	if l.bar == nil {
		return
	}
	// With ClearOnFinish, finishing erases the line the bar was drawn on (nothing when it
	// was never drawn), and a finished bar draws nothing more.
	l.bar.Finish()
	l.bar, l.key, l.total, l.spinner = nil, "", 0, false
}

// Clear ends the stage shown and erases the line: call it when the work reported ends,
// before anything else is printed.
func (l *Line) Clear() {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clear()
}

// Close erases the line and stops drawing for good.
func (l *Line) Close() {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clear()
	if !l.closed {
		l.closed = true
		close(l.stop)
	}
}

// Writer returns w with the progress line erased before each write, so that what a command
// prints never shares a line with the bar; the bytes written to w are unchanged. For a nil
// Line it is w itself.
func (l *Line) Writer(w io.Writer) io.Writer {
	if l == nil {
		return w
	}
	return clearingWriter{l, w}
}

type clearingWriter struct {
	l *Line
	w io.Writer
}

func (c clearingWriter) Write(p []byte) (int, error) {
	c.l.mu.Lock()
	defer c.l.mu.Unlock()
	c.l.clear()
	return c.w.Write(p)
}
