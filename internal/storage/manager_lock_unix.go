//go:build unix

package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockLogDir takes an exclusive flock(2) on the log dir's .lock file, as
// Kafka's FileLock does, so a second broker (or a second Manager in this
// process) cannot open the same log dir. The lock dies with the process,
// so a crash never leaves a dir locked.
func lockLogDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLogDirLocked, dir)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}

// unlockLogDir releases a lock taken by lockLogDir.
func unlockLogDir(f *os.File) error {
	return f.Close() // closing the descriptor drops the flock
}
