package network

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Conn is one accepted connection. Its identity (ID, Listener, addresses) is
// fixed; its principal may be changed by an authenticating handler. Conn is
// safe for concurrent use.
//
// Two goroutines serve a Conn: the reader reads frames, parses headers and
// calls the handler; the writer writes responses in request order. They
// share the in-flight queue under mu.
type Conn struct {
	srv      *Server
	nc       net.Conn
	id       uint64
	listener string
	log      *slog.Logger

	principal  atomic.Pointer[Principal]
	lastActive atomic.Int64 // Server.now() of the last byte read or written

	closed   chan struct{} // closed by kill: the connection is dead
	stopRead chan struct{} // closed by drain: read no more requests
	wake     chan struct{} // cap 1: the writer may have work (or must stop)
	space    chan struct{} // cap 1: the in-flight queue shrank

	mu             sync.Mutex
	queue          []*Request // guarded by mu; dispatched, not yet taken by the writer, in arrival order
	dead           bool       // guarded by mu; set once by kill
	draining       bool       // guarded by mu; set once by drain
	readerDone     bool       // guarded by mu; the reader will queue nothing more
	closeRequested bool       // guarded by mu; a request asked to close after its response
	exits          int        // guarded by mu; goroutines of this conn that returned
}

func newConn(s *Server, nc net.Conn, listener string, id uint64) *Conn {
	c := &Conn{
		srv:      s,
		nc:       nc,
		id:       id,
		listener: listener,
		closed:   make(chan struct{}),
		stopRead: make(chan struct{}),
		wake:     make(chan struct{}, 1),
		space:    make(chan struct{}, 1),
	}
	c.log = s.log.With("listener", listener, "remote", nc.RemoteAddr().String(), "conn", id)
	p := AnonymousPrincipal
	c.principal.Store(&p)
	c.lastActive.Store(s.now())
	return c
}

// ID returns a number unique among this server's connections.
func (c *Conn) ID() uint64 { return c.id }

// Listener returns the name of the listener that accepted the connection.
func (c *Conn) Listener() string { return c.listener }

// RemoteAddr returns the client's address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// LocalAddr returns the broker side's address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// Principal returns the connection's current principal (User:ANONYMOUS
// until SetPrincipal).
func (c *Conn) Principal() Principal { return *c.principal.Load() }

// SetPrincipal sets the principal of the requests read from now on (SASL
// authentication or a TLS client certificate).
func (c *Conn) SetPrincipal(p Principal) { c.principal.Store(&p) }

// TLSConnectionState returns the TLS state of a connection on a TLS listener
// (its handshake is complete once a request has been read), and false on a
// plaintext listener.
func (c *Conn) TLSConnectionState() (tls.ConnectionState, bool) {
	if tc, ok := c.nc.(*tls.Conn); ok {
		return tc.ConnectionState(), true
	}
	return tls.ConnectionState{}, false
}

// Done returns a channel closed when the connection is closed, so that work
// parked for its requests can be abandoned.
func (c *Conn) Done() <-chan struct{} { return c.closed }

// Close closes the connection at once; responses not yet written are
// dropped.
func (c *Conn) Close() { c.kill("closed by handler", slog.LevelDebug) }

// signal wakes a goroutine waiting on ch without blocking: ch has room for
// one token, and the waiter rechecks state under mu after waking, so no
// wakeup is lost.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// kill closes the connection once: it drops every queued request (calling
// Done for completed responses), closes the socket, which unblocks both
// goroutines, and logs one line.
func (c *Conn) kill(reason string, level slog.Level) {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return
	}
	c.dead = true
	// The completed responses are collected under mu: a pending request
	// may be completed concurrently, and complete drops its response
	// itself once it sees dead.
	var dropped []*Request
	for _, r := range c.queue {
		if r.how == respond {
			dropped = append(dropped, r)
		}
	}
	c.queue = nil
	c.mu.Unlock()

	c.log.Log(context.Background(), level, "network: closing connection", "reason", reason)
	close(c.closed)
	c.nc.Close()
	for _, r := range dropped {
		r.responseDone()
	}
}

// drain stops reading requests; the writer then writes the responses of the
// requests already dispatched and closes the connection.
func (c *Conn) drain() {
	c.mu.Lock()
	if c.dead || c.draining {
		c.mu.Unlock()
		return
	}
	c.draining = true
	c.mu.Unlock()
	close(c.stopRead)
	// Unblock a reader waiting for bytes; it sees draining and stops.
	c.nc.SetReadDeadline(time.Unix(1, 0))
}

// exited records that one of the two goroutines returned; the second one
// removes the connection from the server.
func (c *Conn) exited() {
	c.mu.Lock()
	c.exits++
	last := c.exits == 2
	c.mu.Unlock()
	if last {
		c.srv.removeConn(c)
	}
}

// complete records how r was completed and wakes the writer if r is at the
// head of the queue (otherwise the writer reaches it after the head).
func (c *Conn) complete(r *Request, how completion, resp *Response) error {
	c.mu.Lock()
	if r.how != pending {
		c.mu.Unlock()
		return ErrAlreadyCompleted
	}
	r.how = how
	if c.dead {
		c.mu.Unlock()
		resp.done()
		r.unref()
		return ErrConnectionClosed
	}
	r.resp = resp
	if how == closeConn || (resp != nil && resp.CloseAfter) {
		c.closeRequested = true
	}
	head := len(c.queue) > 0 && c.queue[0] == r
	c.mu.Unlock()
	if how != respond {
		r.unref() // nothing to write: the frame is no longer needed
	}
	if head {
		signal(c.wake)
	}
	return nil
}

// activityReader records read activity for the idle reaper.
type activityReader struct{ c *Conn }

func (a activityReader) Read(p []byte) (int, error) {
	n, err := a.c.nc.Read(p)
	if n > 0 {
		a.c.lastActive.Store(a.c.srv.now())
	}
	return n, err
}

// readBufferSize is the reader's buffer: large enough that pipelined small
// requests cost one read syscall for many frames.
const readBufferSize = 32 << 10

// readLoop reads frames until the connection dies, drains, or a request asks
// to close it, dispatching each request to the handler in order.
func (c *Conn) readLoop() {
	defer c.exited()
	br := bufio.NewReaderSize(activityReader{c}, readBufferSize)
	maxSize := c.srv.cfg.SocketRequestMaxBytes
	handler := c.srv.cfg.Handler
	var lastClientID *string
	for {
		if !c.waitForSpace() {
			c.finishReading()
			return
		}
		h, body, frame, err := readRequest(br, maxSize, &lastClientID)
		if err != nil {
			c.readFailed(err)
			return
		}
		req := &Request{
			Header:     h,
			Body:       body,
			Conn:       c,
			Principal:  c.Principal(),
			ReceivedAt: time.Now(),
			frame:      frame,
			wireIn:     int64(len(frame.b)) + 4,
		}
		req.refs.Store(2) // Handle, and the completion
		c.mu.Lock()
		if c.dead || c.draining {
			c.mu.Unlock()
			releaseFrame(frame) // never dispatched
			c.finishReading()
			return
		}
		c.queue = append(c.queue, req)
		c.mu.Unlock()

		handler.Handle(req)
		req.unref()

		c.mu.Lock()
		stop := c.dead || c.draining || c.closeRequested
		c.mu.Unlock()
		if stop {
			c.finishReading()
			return
		}
	}
}

// waitForSpace blocks until fewer than MaxInFlightPerConnection requests are
// in flight. It returns false if the reader must stop instead. Not reading
// while the queue is full is Kafka's channel muting: TCP flow control
// pushes back on the client.
func (c *Conn) waitForSpace() bool {
	limit := c.srv.cfg.MaxInFlightPerConnection
	for {
		c.mu.Lock()
		stop := c.dead || c.draining || c.closeRequested
		room := len(c.queue) < limit
		c.mu.Unlock()
		switch {
		case stop:
			return false
		case room:
			return true
		}
		select {
		case <-c.space:
		case <-c.closed:
		case <-c.stopRead:
		}
	}
}

// finishReading tells the writer that nothing more will be queued: once the
// queue is written it closes the connection.
func (c *Conn) finishReading() {
	c.mu.Lock()
	c.readerDone = true
	c.mu.Unlock()
	signal(c.wake)
}

// readFailed handles a read error: the end of a drain, the client going
// away, a frame cut short, or a malformed frame.
func (c *Conn) readFailed(err error) {
	c.mu.Lock()
	draining, dead := c.draining, c.dead
	c.mu.Unlock()
	switch {
	case dead:
	case draining:
		c.finishReading()
	case errors.Is(err, errTruncatedFrame):
		c.kill(err.Error(), slog.LevelInfo)
	case errors.Is(err, ErrNegativeSize), errors.Is(err, ErrFrameTooLarge),
		errors.Is(err, ErrTruncatedHeader), errors.Is(err, ErrMalformedHeader):
		c.kill(err.Error(), slog.LevelWarn)
	case errors.Is(err, io.EOF):
		c.kill("closed by client", slog.LevelDebug)
	default:
		c.kill(fmt.Sprintf("read: %v", err), slog.LevelDebug)
	}
}

// errTruncatedFrame reports a connection that ended inside a frame.
var errTruncatedFrame = errors.New("network: truncated frame: connection closed mid-frame")

// readRequest reads one size-prefixed frame from r and parses its request
// header. It returns the header, the body (which aliases the frame) and the
// frame's buffer, which the caller releases with releaseFrame once nothing
// refers to the body. A clean end of stream before the frame is io.EOF; an
// end inside it is errTruncatedFrame; a bad size or header is one of the
// exported sentinels (the frame is released then). It never panics, and
// for a frame above eagerFrameAlloc never allocates more than about twice
// what has arrived plus eagerFrameAlloc (see readFrame).
//
// lastClientID, if not nil, caches the connection's client id (see
// parseRequest).
func readRequest(r io.Reader, maxSize int32, lastClientID **string) (Header, []byte, *frameBuf, error) {
	var sizeBuf [4]byte
	if _, err := io.ReadFull(r, sizeBuf[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("%w (inside the size prefix)", errTruncatedFrame)
		}
		return Header{}, nil, nil, err
	}
	size := int32(binary.BigEndian.Uint32(sizeBuf[:]))
	if size < 0 {
		return Header{}, nil, nil, fmt.Errorf("%w: size %d", ErrNegativeSize, size)
	}
	if size > maxSize {
		return Header{}, nil, nil, fmt.Errorf("%w: size %d > %d", ErrFrameTooLarge, size, maxSize)
	}
	frame, err := readFrame(r, int(size))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			err = fmt.Errorf("%w (%d-byte frame)", errTruncatedFrame, size)
		}
		return Header{}, nil, nil, err
	}
	h, body, err := parseRequest(frame.b, lastClientID)
	if err != nil {
		releaseFrame(frame)
		return Header{}, nil, nil, err
	}
	return h, body, frame, nil
}

// writeLoop writes responses in request order: it takes the completed prefix
// of the queue as one batch, writes it with as few syscalls as it can, and
// waits when the head of the queue is not complete yet.
func (c *Conn) writeLoop() {
	defer c.exited()
	w := respWriter{c: c}
	var batch []*Request
	for {
		c.mu.Lock()
		n := 0
		for n < len(c.queue) && c.queue[n].how != pending {
			n++
		}
		batch = append(batch[:0], c.queue[:n]...)
		rest := copy(c.queue, c.queue[n:])
		clear(c.queue[rest:])
		c.queue = c.queue[:rest]
		dead := c.dead
		finish := len(c.queue) == 0 && c.readerDone
		c.mu.Unlock()

		switch {
		case dead:
			return
		case n > 0:
			signal(c.space)
			if !w.writeBatch(batch) {
				return
			}
			clear(batch)
			continue
		case finish:
			c.kill("drained", slog.LevelDebug)
			return
		}
		select {
		case <-c.wake:
		case <-c.closed:
			return
		}
	}
}

// ErrShortFile reports a file range that extends past the end of its file
// (the file was truncated under the response). The frame cannot be finished,
// so the connection is closed.
var ErrShortFile = errors.New("network: file range past end of file")

// Write sizes. Byte chunks up to copyMax and file ranges up to copyMax are
// copied into the write buffer so that many small responses (or a fetch
// response with many small partitions) go out in one write; larger chunks
// are written directly (writev), larger file ranges with sendfile.
const (
	copyMax = 16 << 10
	flushAt = 64 << 10
)

// respWriter is the writer goroutine's output state.
type respWriter struct {
	c   *Conn
	buf []byte // encoded bytes not yet written
}

// writeBatch writes the responses of batch in order. It returns false if
// the connection was closed (by an error or by request).
func (w *respWriter) writeBatch(batch []*Request) bool {
	for i, r := range batch {
		var err error
		closeAfter := false
		switch r.how {
		case noResponse:
			continue
		case closeConn:
			closeAfter = true
		case respond:
			err = w.writeResponse(r)
			closeAfter = r.resp.CloseAfter
			r.responseDone()
		}
		if err == nil && closeAfter {
			err = w.flush()
		}
		if err != nil || closeAfter {
			reason := "closed after response, as the handler asked"
			level := slog.LevelDebug
			if err != nil {
				reason, level = fmt.Sprintf("write: %v", err), slog.LevelDebug
				if errors.Is(err, ErrShortFile) {
					level = slog.LevelWarn
				}
			}
			w.c.kill(reason, level)
			for _, r := range batch[i+1:] {
				if r.how == respond {
					r.responseDone()
				}
			}
			return false
		}
	}
	if err := w.flush(); err != nil {
		w.c.kill(fmt.Sprintf("write: %v", err), slog.LevelDebug)
		return false
	}
	if obs := w.c.srv.cfg.Observer; obs != nil {
		w.c.observe(batch, obs)
	}
	return true
}

func (w *respWriter) writeResponse(r *Request) error {
	resp := r.resp
	hv := r.Header.ResponseHeaderVersion()
	hdrLen := int64(4)
	if hv >= 1 {
		hdrLen++
	}
	r.wireOut = 4 + hdrLen + resp.size
	w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(hdrLen+resp.size))
	w.buf = AppendResponseHeader(w.buf, r.Header.CorrelationID, hv)
	for _, p := range resp.parts {
		switch {
		case p.file == nil && len(p.b) <= copyMax:
			w.buf = append(w.buf, p.b...)
		case p.file == nil:
			bufs := net.Buffers{w.buf, p.b}
			if err := w.write(&bufs); err != nil {
				return err
			}
			w.buf = w.buf[:0]
		case p.length <= copyMax:
			start := len(w.buf)
			w.buf = append(w.buf, make([]byte, p.length)...)
			if err := preadFull(p.file, w.buf[start:], p.offset); err != nil {
				return err
			}
		default:
			if err := w.flush(); err != nil {
				return err
			}
			if err := w.c.writeFile(p.file, p.offset, p.length); err != nil {
				return err
			}
		}
		if len(w.buf) >= flushAt {
			if err := w.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *respWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.c.nc.Write(w.buf)
	if err == nil {
		w.c.touch()
	}
	w.buf = w.buf[:0]
	if cap(w.buf) > 4*flushAt {
		w.buf = nil // do not pin a buffer grown by one huge response
	}
	return err
}

func (w *respWriter) write(bufs *net.Buffers) error {
	_, err := bufs.WriteTo(w.c.nc)
	if err == nil {
		w.c.lastActive.Store(w.c.srv.now())
	}
	return err
}

// preadFull fills b from f at off, without touching f's file position.
func preadFull(f *os.File, b []byte, off int64) error {
	n, err := f.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %s: wanted %d bytes at %d, got %d", ErrShortFile, f.Name(), len(b), off, n)
	}
	return fmt.Errorf("network: read %s: %w", f.Name(), err)
}

// copyBufPool holds buffers for the user-space copy of file ranges.
var copyBufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// copyFile writes length bytes of f from offset to dst through a user-space
// buffer (pread + write). It is the path for connections that cannot
// sendfile (TLS) and the baseline that sendfile is measured against.
func copyFile(dst io.Writer, f *os.File, offset, length int64) (int64, error) {
	bp := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(bp)
	buf := *bp
	var written int64
	for written < length {
		chunk := buf[:min(int64(len(buf)), length-written)]
		if err := preadFull(f, chunk, offset+written); err != nil {
			return written, err
		}
		n, err := dst.Write(chunk)
		written += int64(n)
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

// writeFile writes a file range with sendfile when the connection is a
// plain socket, and through user space otherwise.
func (c *Conn) writeFile(f *os.File, offset, length int64) error {
	var err error
	if sc, ok := sendfileConn(c.nc); ok {
		_, err = sendFile(sc, f, offset, length, c.touch)
	} else {
		_, err = copyFile(activityWriter{c}, f, offset, length)
	}
	return err
}

// touch records write activity for the idle reaper.
func (c *Conn) touch() { c.lastActive.Store(c.srv.now()) }

// activityWriter records write activity for the idle reaper.
type activityWriter struct{ c *Conn }

func (a activityWriter) Write(p []byte) (int, error) {
	n, err := a.c.nc.Write(p)
	if n > 0 {
		a.c.touch()
	}
	return n, err
}
