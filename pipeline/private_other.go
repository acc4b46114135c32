//go:build !unix

package pipeline

import (
	"fmt"
	"os"
)

func checkPrivateDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return nil
}

func holdDir(dir string) (func(), error) { return func() {}, nil }

// abandoned: without file locks, a directory an hour old is taken as left by a dead process.
func abandoned(dir string, age func() bool) bool { return age() }
