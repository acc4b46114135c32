package main

import (
	"io"

	"github.com/kapstat/kapstat/internal/progress"
)

// newLine returns the progress line of a command, drawn on stderr when it is a terminal
// (nil otherwise: nothing is drawn). Tests replace it to force a line.
var newLine = progress.New

// startProgress returns the command's progress line and its stdout and stderr, which erase
// the line before anything is written to them. Close the line when the command returns.
func startProgress(stdout, stderr io.Writer) (*progress.Line, io.Writer, io.Writer) {
	l := newLine(stderr)
	return l, l.Writer(stdout), l.Writer(stderr)
}
