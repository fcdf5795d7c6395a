package storage

import (
	"io"
	"os"
	"syscall"
)

// sendfile copies size bytes of src at pos to w with sendfile(2), passing
// the offset explicitly (never moving src's shared file position). handled
// is false when w has no descriptor, and then nothing was written.
func sendfile(w io.Writer, src *os.File, pos, size int64) (written int64, handled bool, err error) {
	sc, ok := w.(syscall.Conn)
	if !ok {
		return 0, false, nil
	}
	dst, err := sc.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	srcRC, err := src.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	var opErr error
	rerr := srcRC.Read(func(sfd uintptr) bool {
		werr := dst.Write(func(dfd uintptr) bool {
			for written < size {
				off := pos + written
				n, e := syscall.Sendfile(int(dfd), int(sfd), &off, int(min(size-written, 1<<30)))
				if n > 0 {
					written += int64(n)
				}
				switch {
				case e == syscall.EINTR:
					continue
				case e == syscall.EAGAIN:
					return false // wait until the socket is writable
				case e != nil:
					opErr = os.NewSyscallError("sendfile", e)
					return true
				case n == 0:
					return true // the file ended early: truncated
				}
			}
			return true
		})
		if opErr == nil {
			opErr = werr
		}
		return true
	})
	if opErr == nil {
		opErr = rerr
	}
	return written, true, opErr
}
