package storage

import (
	"fmt"
	"os"
	"path/filepath"
)

// tmpSuffix marks an atomic write in progress; Open discards such files.
const tmpSuffix = ".tmp"

// writeFileAtomic replaces path with data so that a crash at any instant
// leaves either the old or the new content, never a mix: write a temp
// file, fsync it, rename it over path, fsync the directory. This is how
// Kafka writes every checkpoint file; the temp file is path + ".tmp",
// which Open removes if a crash leaves one behind.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + tmpSuffix
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := fsync(f, tmp); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir fsyncs a directory so that file creations, renames and removals
// in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := fsync(d, "dir "+dir); err != nil {
		return err
	}
	return nil
}
