package storage

import "syscall"

func fallocate(fd int, n int64) error { return syscall.Fallocate(fd, 0, 0, n) }
