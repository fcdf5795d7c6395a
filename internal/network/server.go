package network

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Server lifecycle errors.
var (
	// ErrServerClosed is returned by Start after Close.
	ErrServerClosed = errors.New("network: server closed")
	// ErrAlreadyStarted is returned by a second Start.
	ErrAlreadyStarted = errors.New("network: server already started")
)

// BoundListener is a listener after Start: its name and the address it is
// bound to (with the real port when port 0 was asked for).
type BoundListener struct {
	Name string
	Addr net.Addr
}

// Server is Kafka's SocketServer: it accepts connections on its listeners and
// runs, per connection, a reader goroutine (framing, header parsing,
// dispatch) and a writer goroutine (in-order responses). It is safe for
// concurrent use.
type Server struct {
	cfg   Config
	log   *slog.Logger
	epoch time.Time // origin of conn.lastActive
	stop  chan struct{}
	wg    sync.WaitGroup // every goroutine this server started

	mu        sync.Mutex
	started   bool               // guarded by mu
	closed    bool               // guarded by mu
	listeners []net.Listener     // guarded by mu
	bound     []BoundListener    // guarded by mu
	conns     map[*Conn]struct{} // guarded by mu
	nextID    uint64             // guarded by mu
}

// NewServer validates cfg (filling Kafka's defaults) and returns a server
// that is not yet listening.
func NewServer(cfg Config) (*Server, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Server{
		cfg:   c,
		log:   c.Logger,
		epoch: time.Now(),
		stop:  make(chan struct{}),
		conns: make(map[*Conn]struct{}),
	}, nil
}

// Start binds every listener and starts accepting. It returns once all are
// listening; if one fails to bind, the others are closed and the error
// returned.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrServerClosed
	}
	if s.started {
		return ErrAlreadyStarted
	}
	var lns []net.Listener
	for _, lc := range s.cfg.Listeners {
		ln, err := net.Listen("tcp", lc.Addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return fmt.Errorf("network: listen %s on %s: %w", lc.Name, lc.Addr, err)
		}
		lns = append(lns, ln)
	}
	s.started = true
	s.listeners = lns
	for i, ln := range lns {
		lc := s.cfg.Listeners[i]
		s.bound = append(s.bound, BoundListener{Name: lc.Name, Addr: ln.Addr()})
		s.log.Info("network: listening", "listener", lc.Name, "addr", ln.Addr().String())
		s.goLocked(func() { s.acceptLoop(ln, lc) })
	}
	if s.cfg.ConnectionsMaxIdle > 0 {
		s.goLocked(s.reapIdle)
	}
	return nil
}

// goLocked starts fn on a goroutine that Close waits for. s.mu must be held
// and the server not closed, so that no Add races with Close's Wait.
func (s *Server) goLocked(fn func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
}

// Addr returns the bound address of the listener with that name, or nil if
// there is none or the server has not started.
func (s *Server) Addr(name string) net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.bound {
		if b.Name == name {
			return b.Addr
		}
	}
	return nil
}

// Listeners returns the bound listeners in configuration order. The slice
// is the caller's.
func (s *Server) Listeners() []BoundListener {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]BoundListener(nil), s.bound...)
}

// NumConnections returns how many connections are open.
func (s *Server) NumConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func (s *Server) acceptLoop(ln net.Listener, lc ListenerConfig) {
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off rather
			// than spin, as net/http does, and keep serving.
			if backoff == 0 {
				backoff = 5 * time.Millisecond
			} else if backoff *= 2; backoff > time.Second {
				backoff = time.Second
			}
			s.log.Warn("network: accept failed", "listener", lc.Name, "err", err, "retry_in", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-s.stop:
				t.Stop()
				return
			}
			continue
		}
		backoff = 0
		s.setupSocket(nc)
		if lc.TLS != nil {
			nc = tls.Server(nc, lc.TLS)
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.nextID++
		c := newConn(s, nc, lc.Name, s.nextID)
		s.conns[c] = struct{}{}
		s.goLocked(c.readLoop)
		s.goLocked(c.writeLoop)
		s.mu.Unlock()
		s.log.Debug("network: accepted", "listener", lc.Name, "remote", nc.RemoteAddr().String(), "conn", c.id)
	}
}

func (s *Server) setupSocket(nc net.Conn) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return
	}
	// Kafka sets TCP_NODELAY and SO_KEEPALIVE; Go already enables both.
	if n := s.cfg.SocketSendBufferBytes; n > 0 {
		if err := tc.SetWriteBuffer(n); err != nil {
			s.log.Debug("network: set SO_SNDBUF", "err", err)
		}
	}
	if n := s.cfg.SocketReceiveBufferBytes; n > 0 {
		if err := tc.SetReadBuffer(n); err != nil {
			s.log.Debug("network: set SO_RCVBUF", "err", err)
		}
	}
}

// removeConn forgets c once both its goroutines are done.
func (s *Server) removeConn(c *Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// now is the monotonic time since the server's epoch, the unit of
// Conn.lastActive.
func (s *Server) now() int64 { return int64(time.Since(s.epoch)) }

// reapIdle closes connections idle for longer than connections.max.idle.ms,
// checking a few times per period as Kafka's selector does on every poll. A
// single goroutine serves every connection.
func (s *Server) reapIdle() {
	idle := s.cfg.ConnectionsMaxIdle
	every := min(max(idle/8, time.Millisecond), time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	var expired []*Conn
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		now := s.now()
		expired = expired[:0]
		s.mu.Lock()
		for c := range s.conns {
			if now-c.lastActive.Load() > int64(idle) {
				expired = append(expired, c)
			}
		}
		s.mu.Unlock()
		for _, c := range expired {
			c.kill(fmt.Sprintf("idle for more than connections.max.idle.ms (%v)", idle), slog.LevelDebug)
		}
	}
}

// Close stops accepting, stops reading new requests, lets requests already
// dispatched complete and their responses be written, then closes every
// connection and waits for every goroutine the server started. If ctx ends
// first, the remaining connections are closed at once (their pending
// responses dropped) and ctx's error is returned after the goroutines exit.
// Close may be called more than once; later calls wait the same way.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.stop)
		for _, ln := range s.listeners {
			ln.Close()
		}
	}
	conns := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	for _, c := range conns {
		c.drain()
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	conns = conns[:0]
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.kill("server shutdown deadline passed", slog.LevelWarn)
	}
	<-done
	return fmt.Errorf("network: close: %w", ctx.Err())
}
