package storage

import (
	"errors"
	"fmt"
	"os"
)

// syncFile is the one place this package calls fsync(2), on segment,
// index and checkpoint files and on directories alike. It is a variable
// so that tests can inject a failing fsync; production code never
// replaces it.
var syncFile = func(f *os.File) error { return f.Sync() }

// fsyncError is what a failed fsync returns. The Log tells it apart from
// other I/O errors: after a failed fsync Linux may have dropped the dirty
// pages (marking them clean), so a retry "succeeds" without the data ever
// reaching the disk. Such a failure is therefore never retried; the Log
// fails (see ErrLogFailed).
type fsyncError struct {
	path string
	err  error
}

func (e *fsyncError) Error() string { return fmt.Sprintf("fsync %s: %v", e.path, e.err) }
func (e *fsyncError) Unwrap() error { return e.err }

// fsync fsyncs f through syncFile; what names the file in the error.
func fsync(f *os.File, what string) error {
	if err := syncFile(f); err != nil {
		return &fsyncError{path: what, err: err}
	}
	return nil
}

// isFsyncError reports whether err came from a failed fsync.
func isFsyncError(err error) bool {
	var fe *fsyncError
	return errors.As(err, &fe)
}
