//go:build !unix

package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

var (
	lockedMu   sync.Mutex
	lockedDirs = map[string]bool{} // guarded by lockedMu; lock file paths
)

// lockLogDir creates the log dir's .lock file and keeps a second Manager
// of this process out. Without POSIX locks it cannot keep another process
// out; Samsa's supported platforms are Unix.
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
	lockedDirs[path] = true
	return f, nil
}

// unlockLogDir releases a lock taken by lockLogDir.
func unlockLogDir(f *os.File) error {
	lockedMu.Lock()
	defer lockedMu.Unlock()
	delete(lockedDirs, f.Name())
	return f.Close()
}
