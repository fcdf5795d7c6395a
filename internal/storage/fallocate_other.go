//go:build !linux

package storage

import "errors"

func fallocate(fd int, n int64) error { return errors.ErrUnsupported }
