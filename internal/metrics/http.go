package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ListenerKey is the broker config that names the side port's address, for
// error messages.
const ListenerKey = "samsa.http.listener"

// Limits of the side port. It serves monitoring systems and humans with
// curl, a handful of connections; whatever else connects must not cost
// the broker more than this.
const (
	// maxHTTPConns bounds open connections: beyond it, new ones wait in
	// the kernel's accept queue.
	maxHTTPConns = 32
	// maxScrapesInFlight bounds concurrent /metrics gathers; more get
	// 503 at once (promhttp's MaxRequestsInFlight).
	maxScrapesInFlight = 4
	readHeaderTimeout  = 5 * time.Second
	readTimeout        = 10 * time.Second
	writeTimeout       = 30 * time.Second
	idleTimeout        = 60 * time.Second
	maxHeaderBytes     = 16 << 10
)

var (
	// ErrListen reports that the side port could not bind its address.
	ErrListen = errors.New("metrics: cannot listen")
	// ErrInvalidHTTPConfig reports an HTTPConfig that cannot be used.
	ErrInvalidHTTPConfig = errors.New("metrics: invalid HTTP config")
)

// HTTPConfig configures the side port.
type HTTPConfig struct {
	// Addr is the host:port to bind; port 0 picks a free one (see
	// HTTPServer.Addr).
	Addr string
	// Gatherer is what /metrics serves. Required.
	Gatherer prometheus.Gatherer
	// Logger receives the listening line and, at debug level, what
	// net/http reports about bad clients. nil discards.
	Logger *slog.Logger
}

// Readiness states of the side port's /readyz.
const (
	stateStarting int32 = iota
	stateReady
	stateStopping
)

// HTTPServer is the broker's HTTP side port: GET /metrics (Prometheus text
// format), /healthz and /readyz. It runs on its own listener and
// goroutines, with bounded connections, header size and timeouts, so
// nothing sent to it reaches the Kafka listeners. It is safe for
// concurrent use.
type HTTPServer struct {
	ln    net.Listener
	srv   *http.Server
	log   *slog.Logger
	state atomic.Int32 // stateStarting, stateReady or stateStopping
	done  chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// ListenHTTP binds cfg.Addr and starts serving; /readyz answers 503
// "starting" until SetReady. A bind failure (the port is taken) is
// ErrListen with the address and the config key in its message.
func ListenHTTP(cfg HTTPConfig) (*HTTPServer, error) {
	if cfg.Gatherer == nil {
		return nil, fmt.Errorf("%w: no gatherer", ErrInvalidHTTPConfig)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("%w on %s=%s: %w (choose a free host:port, or set it empty to disable the HTTP side port)",
			ErrListen, ListenerKey, cfg.Addr, err)
	}
	h := &HTTPServer{
		ln:   newLimitListener(ln, maxHTTPConns),
		log:  log,
		done: make(chan struct{}),
	}
	h.srv = &http.Server{
		Handler:           h.mux(cfg.Gatherer),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	log.Info("metrics: HTTP side port listening", "addr", ln.Addr().String(),
		"endpoints", "/metrics /healthz /readyz")
	go func() {
		defer close(h.done)
		if err := h.srv.Serve(h.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics: HTTP side port stopped", "err", err)
		}
	}()
	return h, nil
}

func (h *HTTPServer) mux(g prometheus.Gatherer) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog:            slog.NewLogLogger(h.log.Handler(), slog.LevelWarn),
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: maxScrapesInFlight,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		switch h.state.Load() {
		case stateReady:
			writeText(w, http.StatusOK, "ok\n")
		case stateStarting:
			writeText(w, http.StatusServiceUnavailable, "starting\n")
		default:
			writeText(w, http.StatusServiceUnavailable, "shutting down\n")
		}
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "samsa HTTP side port\n/metrics  Prometheus metrics\n/healthz  200 while the process runs\n/readyz   200 while the broker serves on every listener\n")
	})
	return mux
}

func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// Addr returns the address the side port is bound to.
func (h *HTTPServer) Addr() net.Addr { return h.ln.Addr() }

// SetReady makes /readyz answer 200: the broker serves on every listener.
// It has no effect once SetStopping was called.
func (h *HTTPServer) SetReady() { h.state.CompareAndSwap(stateStarting, stateReady) }

// SetStopping makes /readyz answer 503 "shutting down" for good: a
// stopping broker calls it first, so that load balancers stop sending
// clients before the listeners close.
func (h *HTTPServer) SetStopping() { h.state.Store(stateStopping) }

// Ready reports whether /readyz answers 200.
func (h *HTTPServer) Ready() bool { return h.state.Load() == stateReady }

// Close stops the side port: /readyz turns 503 at once, the listener
// closes, scrapes in progress finish (until ctx ends, when their
// connections are closed), and Close returns once the serving goroutine
// has exited. It is idempotent.
func (h *HTTPServer) Close(ctx context.Context) error {
	h.closeOnce.Do(func() {
		h.SetStopping()
		if err := h.srv.Shutdown(ctx); err != nil {
			_ = h.srv.Close()
			h.closeErr = fmt.Errorf("metrics: close HTTP side port: %w", err)
		}
		<-h.done
	})
	return h.closeErr
}

// limitListener bounds the open connections a listener hands out: Accept
// waits while max are open, leaving further clients in the kernel's
// accept queue, so a flood of connections to the side port costs the
// broker at most max file descriptors and goroutines.
type limitListener struct {
	net.Listener
	sem       chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
}

func newLimitListener(ln net.Listener, max int) *limitListener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, max), closed: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.closed:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// limitConn gives its slot back once, on the first Close.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
