package pipeline

// Progress callbacks. IngestOptions, AnalyzeOptions and ExportOptions (and reports.Options)
// take a plain callback, nil for none, so that the library draws nothing and needs no terminal
// library; the command line turns the calls into a progress line on a terminal.
//
//	Progress func(stage string, done, total int64)
//
// stage names what is being done ("read assessments.csv", "patients", "PHQ-9: mixed
// model"); done counts out of total when total > 0, done counts with no known end when
// total < 0, and total == 0 is a named step without a count (done is 0). A stage named
// "read F" counts the bytes of the input file F. Calls come from the goroutine running the
// operation, at most every few thousand rows or patients, so the callback may be slow-ish
// but should throttle what it draws.

// step reports a named step (no count) to progress, if set.
func step(progress func(string, int64, int64), stage string) {
	if progress != nil {
		progress(stage, 0, 0)
	}
}
