//go:build !linux

package network

import (
	"errors"
	"net"
	"os"
	"syscall"
)

// sendfileConn reports false off Linux: file ranges are copied through user
// space (pread + write).
func sendfileConn(net.Conn) (syscall.RawConn, bool) { return nil, false }

func sendFile(syscall.RawConn, *os.File, int64, int64, func()) (int64, error) {
	return 0, errors.New("network: sendfile not supported on this platform")
}
