//go:build !unix

package storage

import (
	"os"
	"path/filepath"
)

// lockLogDir creates the log dir's .lock file. Without flock(2) it cannot
// keep a second process out; Samsa's supported platforms are Unix.
func lockLogDir(dir string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o644)
}

// unlockLogDir releases a lock taken by lockLogDir.
func unlockLogDir(f *os.File) error { return f.Close() }
