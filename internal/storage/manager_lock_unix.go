//go:build unix

package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// lockedDirs holds the lock files this process has locked: POSIX record
// locks do not conflict within one process, so a second Manager here is
// kept out by this registry (as the JVM's own table of FileLocks does).
var (
	lockedMu   sync.Mutex
	lockedDirs = map[string]bool{} // guarded by lockedMu; lock file paths
)

// lockLogDir takes an exclusive lock on the log dir's .lock file, as
// Kafka's FileLock (FileChannel.tryLock) does, so a second broker (or a
// second Manager in this process) cannot open the same log dir. It is a
// POSIX record lock (fcntl F_SETLK), not flock(2): a child process forked
// by anyone in this process never inherits it, so a closed Manager's lock
// is free at once, and the kernel drops it when the process dies.
func lockLogDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockFile)
	lockedMu.Lock()
	defer lockedMu.Unlock()
	if lockedDirs[path] {
		return nil, fmt.Errorf("%w: %s", ErrLogDirLocked, dir)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: 0, Len: 0}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk); err != nil {
		f.Close()
		if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) {
			return nil, fmt.Errorf("%w: %s", ErrLogDirLocked, dir)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	lockedDirs[path] = true
	return f, nil
}

// unlockLogDir releases a lock taken by lockLogDir.
func unlockLogDir(f *os.File) error {
	lockedMu.Lock()
	defer lockedMu.Unlock()
	delete(lockedDirs, f.Name())
	return f.Close() // closing the only descriptor drops the record lock
}
