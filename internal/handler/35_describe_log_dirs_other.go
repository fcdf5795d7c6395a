//go:build !linux

package handler

// volumeSpace reports the volume's size as unknown (-1, the protocol's
// default) where Samsa does not read file system statistics.
func volumeSpace(string) (total, usable int64) { return -1, -1 }
