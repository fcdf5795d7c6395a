package network

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// maxSendfileChunk bounds one sendfile(2) call, as Go's own sendfile does,
// so that one huge range does not hold the socket in one syscall.
const maxSendfileChunk = 4 << 20

// sendfileConn returns nc's raw descriptor access if nc is a plain socket
// that sendfile(2) can write to.
func sendfileConn(nc net.Conn) (syscall.RawConn, bool) {
	var sc syscall.Conn
	switch c := nc.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	default:
		return nil, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, false
	}
	return rc, true
}

// sendFile writes length bytes of f starting at offset to the socket behind
// rc with sendfile(2), always passing an explicit offset so that f's shared
// file position is neither used nor moved (many connections read one
// segment at once). A socket that is full (EAGAIN) is waited on through the
// runtime poller by returning false from RawConn.Write's callback; partial
// writes continue where they stopped. progress is called after each chunk.
func sendFile(rc syscall.RawConn, f *os.File, offset, length int64, progress func()) (int64, error) {
	frc, err := f.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("network: sendfile %s: %w", f.Name(), err)
	}
	var written int64
	var opErr error
	werr := rc.Write(func(sfd uintptr) bool {
		for written < length {
			var n int
			var errno error
			// Control holds a reference to f's descriptor only for the
			// syscall, not while waiting for the socket: closing f
			// elsewhere is never blocked by a slow client.
			cerr := frc.Control(func(ffd uintptr) {
				off := offset + written
				n, errno = unix.Sendfile(int(sfd), int(ffd), &off, int(min(length-written, maxSendfileChunk)))
			})
			if cerr != nil {
				opErr = cerr
				return true
			}
			if n > 0 {
				written += int64(n)
				progress()
			}
			switch {
			case errors.Is(errno, unix.EAGAIN):
				return false // wait until writable, then call again
			case errors.Is(errno, unix.EINTR):
			case errno != nil:
				opErr = errno
				return true
			case n == 0:
				opErr = fmt.Errorf("%w: %s: %d bytes at %d", ErrShortFile, f.Name(), length-written, offset+written)
				return true
			}
		}
		return true
	})
	if opErr == nil {
		opErr = werr
	}
	if opErr != nil {
		return written, fmt.Errorf("network: sendfile %s: %w", f.Name(), opErr)
	}
	return written, nil
}
