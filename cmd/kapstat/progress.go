package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// isTerminal reports whether w is a terminal (progress is shown only then).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// ingestProgress returns a progress callback drawing one bar per file on stderr (rows,
// rows/s and the time left), or nil when stderr is not a terminal.
func ingestProgress(stderr io.Writer) func(file string, rows, done, total int64) {
	if !isTerminal(stderr) {
		return nil
	}
	var bar *progressbar.ProgressBar
	var current string
	start := time.Now()
	return func(file string, rows, done, total int64) {
		if file != current {
			if bar != nil {
				bar.Finish()
				fmt.Fprintln(stderr)
			}
			current, start = file, time.Now()
			bar = progressbar.NewOptions64(total,
				progressbar.OptionSetWriter(stderr),
				progressbar.OptionSetDescription(filepath.Base(file)),
				progressbar.OptionShowBytes(false),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionSetWidth(30),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionClearOnFinish(),
			)
		}
		rate := float64(rows) / max(time.Since(start).Seconds(), 1e-3)
		bar.Describe(fmt.Sprintf("%s: %d rows (%.0f rows/s)", filepath.Base(file), rows, rate))
		bar.Set64(done)
		if total > 0 && done >= total {
			bar.Finish()
		}
	}
}
