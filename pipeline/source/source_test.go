package source

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// row is a record as the tests compare it: its line and its fields joined by "|".
type row struct {
	Line   int
	Fields string
}

// readAll reads every record of path through m. A record with a problem reads as
// "!column: reason (detail)".
func readAll(t testing.TB, path string, m *Map) (Reader, []row, error) {
	t.Helper()
	r, err := Open(path, m)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	var rows []row
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return r, rows, nil
		}
		if err != nil {
			return r, rows, err
		}
		if rec.Problem != nil {
			rows = append(rows, row{rec.Line, "!" + rec.Problem.Column + ": " + rec.Problem.Reason + " (" + rec.Problem.Detail + ")"})
			continue
		}
		rows = append(rows, row{rec.Line, strings.Join(rec.Fields, "|")})
	}
}

// writeFile writes content into a file called name in a fresh directory.
func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// fileError returns err as a *FileError, failing the test when it is not one.
func fileError(t testing.TB, err error) *FileError {
	t.Helper()
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T), want a *FileError", err, err)
	}
	return fe
}

// shown is err's message without the file's path: the random digits of a test's temporary
// directory could otherwise hold a value a test makes sure is not echoed.
func shown(t testing.TB, err error) string {
	t.Helper()
	fe := fileError(t, err)
	return strings.ReplaceAll(err.Error(), fe.Path, "FILE")
}

func equalRows(t testing.TB, got, want []row) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("records:\n got %v\nwant %v", got, want)
	}
}
