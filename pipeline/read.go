package pipeline

import (
	"github.com/kapstat/kapstat/pipeline/source"
)

// Kind is what a file holds, told by its header (or declared by its map).
type Kind = source.Kind

const (
	KindAssessments = source.KindAssessments
	KindSessions    = source.KindSessions
	KindPatients    = source.KindPatients
)

// FileError is an input fault that stops a whole file (as opposed to a row finding, which
// quarantines one row). It names the file, and the line and column when they are known.
type FileError = source.FileError

// Record is one canonical row of an input file.
type Record = source.Record

// openInput opens a file in the canonical format (mapPath "") or through a mapping file.
func openInput(path, mapPath string) (source.Reader, error) {
	var m *source.Map
	if mapPath != "" {
		var err error
		if m, err = source.LoadMap(mapPath); err != nil {
			return nil, err
		}
	}
	return source.Open(path, m)
}

// mapFor returns the mapping file for an input path.
func (o IngestOptions) mapFor(path string) string {
	if m, ok := o.Maps[path]; ok {
		return m
	}
	return o.Map
}
