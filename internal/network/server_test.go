package network

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// parker is a handler that parks every request for the test to complete,
// and tracks how many are outstanding at once.
type parker struct {
	reqs        chan *Request
	outstanding atomic.Int32
	maxSeen     atomic.Int32
}

func newParker() *parker { return &parker{reqs: make(chan *Request, 1024)} }

func (p *parker) Handle(r *Request) {
	n := p.outstanding.Add(1)
	for {
		m := p.maxSeen.Load()
		if n <= m || p.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	p.reqs <- r
}

func (p *parker) next(t *testing.T) *Request {
	t.Helper()
	select {
	case r := <-p.reqs:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("no request reached the handler")
		return nil
	}
}

// answer completes r: "none" bodies get no response, others an echo
// prefixed with the correlation id.
func (p *parker) answer(t *testing.T, r *Request) {
	t.Helper()
	p.outstanding.Add(-1)
	var err error
	if string(r.Body) == "none" {
		err = r.NoResponse()
	} else {
		err = r.Respond(NewResponse([]byte(strconv.Itoa(int(r.Header.CorrelationID))+":"), r.Body))
	}
	if err != nil {
		t.Errorf("complete %d: %v", r.Header.CorrelationID, err)
	}
}

func TestStartAddrAndConfig(t *testing.T) {
	if _, err := NewServer(Config{Handler: echo}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("no listeners: %v", err)
	}
	if _, err := NewServer(Config{Listeners: []ListenerConfig{{Name: "A", Addr: ":0"}}}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("no handler: %v", err)
	}
	dup := []ListenerConfig{{Name: "A", Addr: "127.0.0.1:0"}, {Name: "A", Addr: "127.0.0.1:0"}}
	if _, err := NewServer(Config{Listeners: dup, Handler: echo}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("duplicate names: %v", err)
	}
	s, _ := startServer(t, Config{Handler: echo, Listeners: []ListenerConfig{
		{Name: "PLAINTEXT", Addr: "127.0.0.1:0"},
		{Name: "INTERNAL", Addr: "127.0.0.1:0"},
	}})
	if err := s.Start(); !errors.Is(err, ErrAlreadyStarted) {
		t.Errorf("second Start: %v", err)
	}
	ls := s.Listeners()
	if len(ls) != 2 || ls[0].Name != "PLAINTEXT" || ls[1].Name != "INTERNAL" {
		t.Fatalf("listeners %v", ls)
	}
	for _, l := range ls {
		if l.Addr.(*net.TCPAddr).Port == 0 || s.Addr(l.Name).String() != l.Addr.String() {
			t.Errorf("listener %s bound to %v / %v", l.Name, l.Addr, s.Addr(l.Name))
		}
		c := dial(t, l.Addr)
		c.roundTrip(1, "hello "+l.Name)
	}
	if s.Addr("NOPE") != nil {
		t.Error("Addr of unknown listener")
	}
	// A port already taken fails Start and leaves nothing listening.
	taken := ls[0].Addr.String()
	s2, err := NewServer(Config{Handler: echo, Listeners: []ListenerConfig{{Name: "A", Addr: "127.0.0.1:0"}, {Name: "B", Addr: taken}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Start(); err == nil {
		t.Error("Start on a taken port succeeded")
	}
	if err := s2.Close(context.Background()); err != nil {
		t.Error(err)
	}
	if err := s2.Start(); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Start after Close: %v", err)
	}
}

func TestParseListeners(t *testing.T) {
	ls, err := ParseListeners("PLAINTEXT://127.0.0.1:9092, internal://:9093")
	if err != nil {
		t.Fatal(err)
	}
	want := []ListenerConfig{{Name: "PLAINTEXT", Addr: "127.0.0.1:9092"}, {Name: "INTERNAL", Addr: ":9093"}}
	if fmt.Sprint(ls) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", ls, want)
	}
	for _, bad := range []string{"", "127.0.0.1:9092", "PLAINTEXT://nohost", "A://:1,a://:2", "://:1"} {
		if _, err := ParseListeners(bad); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("ParseListeners(%q) = %v", bad, err)
		}
	}
}

// TestResponsesInRequestOrder pipelines requests that the handler completes
// in reverse order, in groups as large as the in-flight limit, and checks
// that responses arrive in request order, with each response header in the
// version of its own request, and that the limit holds.
func TestResponsesInRequestOrder(t *testing.T) {
	const inflight, total = 8, 32
	p := newParker()
	s, _ := startServer(t, Config{Handler: p, MaxInFlightPerConnection: inflight})
	c := dial(t, s.Addr("PLAINTEXT"))

	// Alternate a flexible request (Metadata v12: response header v1)
	// and a non-flexible one (Metadata v1: response header v0).
	version := func(corr int32) int16 {
		if corr%2 == 0 {
			return 12
		}
		return 1
	}
	var frames []byte
	for corr := int32(0); corr < total; corr++ {
		frames = append(frames, request(3, version(corr), corr, []byte("body"+strconv.Itoa(int(corr))))...)
	}
	c.write(frames)

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range total / inflight {
			group := make([]*Request, inflight)
			for i := range group {
				group[i] = p.next(t)
			}
			for i := len(group) - 1; i >= 0; i-- {
				p.answer(t, group[i])
			}
		}
	}()
	for corr := int32(0); corr < total; corr++ {
		got, body := c.recv(ResponseHeaderVersion(3, version(corr)))
		want := fmt.Sprintf("%d:body%d", corr, corr)
		if got != corr || string(body) != want {
			t.Fatalf("response %d: corr %d body %q, want %q", corr, got, body, want)
		}
	}
	wg.Wait()
	if m := p.maxSeen.Load(); m > inflight {
		t.Errorf("%d requests in flight at once, limit %d", m, inflight)
	}
}

// TestNoResponseKeepsOrder mixes requests without a response (acks=0
// produce) into a pipeline completed in reverse order.
func TestNoResponseKeepsOrder(t *testing.T) {
	const inflight, total = 6, 30
	p := newParker()
	s, _ := startServer(t, Config{Handler: p, MaxInFlightPerConnection: inflight})
	c := dial(t, s.Addr("PLAINTEXT"))
	silent := func(corr int32) bool { return corr%3 != 0 }
	var frames []byte
	for corr := int32(0); corr < total; corr++ {
		body := "x"
		if silent(corr) {
			body = "none"
		}
		frames = append(frames, request(0, 3, corr, []byte(body))...)
	}
	c.write(frames)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range total / inflight {
			group := make([]*Request, inflight)
			for i := range group {
				group[i] = p.next(t)
			}
			for i := len(group) - 1; i >= 0; i-- {
				p.answer(t, group[i])
			}
		}
	}()
	for corr := int32(0); corr < total; corr++ {
		if silent(corr) {
			continue
		}
		got, body := c.recv(0)
		if got != corr || string(body) != fmt.Sprintf("%d:x", corr) {
			t.Fatalf("got corr %d body %q, want corr %d", got, body, corr)
		}
	}
	<-done
	// The connection is still in sync: one more round trip.
	c.send(0, 3, 99, []byte("y"))
	p.answer(t, p.next(t))
	if got, _ := c.recv(0); got != 99 {
		t.Fatalf("after silent requests: corr %d", got)
	}
}

// TestDefaultMutesConnection checks Kafka's default of one request in flight:
// a second pipelined request is not dispatched until the first is answered.
func TestDefaultMutesConnection(t *testing.T) {
	p := newParker()
	s, _ := startServer(t, Config{Handler: p})
	c := dial(t, s.Addr("PLAINTEXT"))
	c.write(append(request(0, 3, 1, []byte("a")), request(0, 3, 2, []byte("none"))...))
	c.send(0, 3, 3, []byte("c"))
	first := p.next(t)
	select {
	case r := <-p.reqs:
		t.Fatalf("request %d dispatched while %d in flight", r.Header.CorrelationID, first.Header.CorrelationID)
	case <-time.After(50 * time.Millisecond):
	}
	p.answer(t, first)
	p.answer(t, p.next(t)) // the silent one
	p.answer(t, p.next(t))
	for _, want := range []int32{1, 3} {
		if got, _ := c.recv(0); got != want {
			t.Fatalf("corr %d, want %d", got, want)
		}
	}
	if m := p.maxSeen.Load(); m != 1 {
		t.Errorf("%d in flight at once", m)
	}
}

// TestSynchronousPipeline pipelines many requests through the default
// settings with a handler that answers inside Handle.
func TestSynchronousPipeline(t *testing.T) {
	s, _ := startServer(t, Config{Handler: echo})
	c := dial(t, s.Addr("PLAINTEXT"))
	var frames []byte
	for corr := int32(0); corr < 500; corr++ {
		frames = append(frames, request(1, 12, corr, []byte(strconv.Itoa(int(corr))))...)
	}
	go c.nc.Write(frames)
	for corr := int32(0); corr < 500; corr++ {
		got, body := c.recv(1)
		if got != corr || string(body) != strconv.Itoa(int(corr)) {
			t.Fatalf("corr %d body %q, want %d", got, body, corr)
		}
	}
}

func TestCompleteTwice(t *testing.T) {
	errs := make(chan error, 2)
	h := HandlerFunc(func(r *Request) {
		errs <- r.Respond(NewResponse([]byte("once")))
		errs <- r.NoResponse()
	})
	s, _ := startServer(t, Config{Handler: h})
	c := dial(t, s.Addr("PLAINTEXT"))
	c.roundTripBody(3, 1, 5, "once")
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if err := <-errs; !errors.Is(err, ErrAlreadyCompleted) {
		t.Fatalf("second completion: %v", err)
	}
	c.roundTripBody(3, 1, 6, "once")
}

func (c *testClient) roundTripBody(key, version int16, corr int32, want string) {
	c.t.Helper()
	c.send(key, version, corr, nil)
	got, body := c.recv(ResponseHeaderVersion(key, version))
	if got != corr || string(body) != want {
		c.t.Fatalf("corr %d body %q, want %d %q", got, body, corr, want)
	}
}

// TestBadInputClosesOnlyThatConnection sends each kind of malformed input on
// its own connection and checks that the connection is closed with exactly
// one log line, while a connection opened before and one opened after are
// served.
func TestBadInputClosesOnlyThatConnection(t *testing.T) {
	tests := []struct {
		name     string
		input    []byte
		halfOpen bool // close the client's write side after the input
		level    slog.Level
	}{
		{"2 GiB - 1 size prefix", []byte{0x7f, 0xff, 0xff, 0xff}, false, slog.LevelWarn},
		{"2 GiB size prefix (negative int32)", []byte{0x80, 0, 0, 0}, false, slog.LevelWarn},
		{"size -1", u32(-1), false, slog.LevelWarn},
		{"just over socket.request.max.bytes", u32(1<<20 + 1), false, slog.LevelWarn},
		{"HTTP request", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), false, slog.LevelWarn},
		{"frame shorter than a header", frameOf([]byte{1, 2, 3}), false, slog.LevelWarn},
		{"zero size frame", u32(0), false, slog.LevelWarn},
		{"client id length -7", frameOf(cat(u16(3), u16(1), u32(1), u16(-7))), false, slog.LevelWarn},
		{"client id past the frame", frameOf(cat(u16(3), u16(1), u32(1), u16(100), []byte("ab"))), false, slog.LevelWarn},
		{"flexible header tag past the frame", frameOf(cat(u16(3), u16(12), u32(1), u16(0), []byte{1, 0, 50})), false, slog.LevelWarn},
		{"truncated frame", append(u32(100), make([]byte, 10)...), true, slog.LevelInfo},
		{"truncated size prefix", []byte{0, 0}, true, slog.LevelInfo},
		{"valid request then garbage", append(request(3, 1, 1, []byte("ok")), 0xff, 0xff, 0xff, 0xfe), false, slog.LevelWarn},
	}
	s, tl := startServer(t, Config{Handler: echo, SocketRequestMaxBytes: 1 << 20})
	addr := s.Addr("PLAINTEXT")
	before := dial(t, addr)
	before.roundTrip(1, "before")
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := dial(t, addr)
			bad.write(tt.input)
			if tt.halfOpen {
				bad.nc.(*net.TCPConn).CloseWrite()
			}
			bad.expectClosed()
			remote := bad.nc.LocalAddr().String()
			eventually(t, "the close log line", func() bool { return len(tl.closes(remote)) > 0 })
			eventually(t, "the connection to be forgotten", func() bool { return s.NumConnections() == 1 })
			lines := tl.closes(remote)
			if len(lines) != 1 {
				t.Fatalf("%d close lines: %+v", len(lines), lines)
			}
			if lines[0].level != tt.level {
				t.Errorf("close line at %v, want %v: %+v", lines[0].level, tt.level, lines[0])
			}
			t.Logf("logged: %s", lines[0].attrs["reason"])
			before.roundTrip(int32(i+2), "still served")
			after := dial(t, addr)
			after.roundTrip(1, "after")
			after.nc.Close()
			eventually(t, "the closed client to be forgotten", func() bool { return s.NumConnections() == 1 })
		})
	}
}

// TestUnknownAPIKey: an unknown key reaches the handler, which closes the
// connection as Kafka does, after answering the request before it.
func TestUnknownAPIKey(t *testing.T) {
	var seen atomic.Int32
	h := HandlerFunc(func(r *Request) {
		if !KnownKey(r.Header.APIKey) {
			seen.Store(int32(r.Header.APIKey))
			r.CloseConnection()
			return
		}
		r.Respond(NewResponse(r.Body))
	})
	s, _ := startServer(t, Config{Handler: h, MaxInFlightPerConnection: 4})
	other := dial(t, s.Addr("PLAINTEXT"))
	c := dial(t, s.Addr("PLAINTEXT"))
	frames := cat(request(3, 1, 1, []byte("first")), request(1000, 0, 2, []byte("?")), request(3, 1, 3, []byte("never")))
	c.write(frames)
	if got, body := c.recv(0); got != 1 || string(body) != "first" {
		t.Fatalf("corr %d body %q", got, body)
	}
	c.expectClosed()
	if seen.Load() != 1000 {
		t.Errorf("handler saw key %d", seen.Load())
	}
	other.roundTrip(9, "fine")
}

// TestRespondAndClose: Response.CloseAfter writes the response, then closes.
func TestRespondAndClose(t *testing.T) {
	h := HandlerFunc(func(r *Request) {
		resp := NewResponse([]byte("bye"))
		resp.CloseAfter = true
		r.Respond(resp)
	})
	s, _ := startServer(t, Config{Handler: h, MaxInFlightPerConnection: 4})
	c := dial(t, s.Addr("PLAINTEXT"))
	c.write(cat(request(36, 1, 1, nil), request(36, 1, 2, nil)))
	if got, body := c.recv(0); got != 1 || string(body) != "bye" {
		t.Fatalf("corr %d body %q", got, body)
	}
	c.expectClosed()
}

func TestIdleConnectionClosed(t *testing.T) {
	s, tl := startServer(t, Config{Handler: echo, ConnectionsMaxIdle: 30 * time.Millisecond})
	c := dial(t, s.Addr("PLAINTEXT"))
	c.roundTrip(1, "then silence")
	c.expectClosed()
	eventually(t, "no connections", func() bool { return s.NumConnections() == 0 })
	lines := tl.closes(c.nc.LocalAddr().String())
	if len(lines) != 1 || !bytes.Contains([]byte(lines[0].attrs["reason"]), []byte("idle")) {
		t.Fatalf("close lines %+v", lines)
	}
}

// TestCloseDrainsInFlight: Close waits for parked requests to be answered
// and written, then closes the connection.
func TestCloseDrainsInFlight(t *testing.T) {
	p := newParker()
	tl := newTestLog()
	s, err := NewServer(Config{
		Listeners:                []ListenerConfig{{Name: "PLAINTEXT", Addr: "127.0.0.1:0"}},
		Handler:                  p,
		MaxInFlightPerConnection: 4,
		Logger:                   slog.New(tl),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	addr := s.Addr("PLAINTEXT")
	c := dial(t, addr)
	c.write(cat(request(3, 1, 1, []byte("a")), request(3, 1, 2, []byte("none")), request(3, 1, 3, []byte("c"))))
	parked := []*Request{p.next(t), p.next(t), p.next(t)}

	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		closed <- s.Close(ctx)
	}()
	// Close has begun once the listener refuses new connections.
	eventually(t, "the listener to close", func() bool {
		nc, err := net.Dial("tcp", addr.String())
		if err == nil {
			nc.Close()
		}
		return err != nil
	})
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v before in-flight requests were answered", err)
	default:
	}
	for i := len(parked) - 1; i >= 0; i-- {
		p.answer(t, parked[i])
	}
	for _, want := range []int32{1, 3} {
		if got, _ := c.recv(0); got != want {
			t.Fatalf("corr %d, want %d", got, want)
		}
	}
	c.expectClosed()
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := s.NumConnections(); n != 0 {
		t.Errorf("%d connections after Close", n)
	}
}

// TestCloseDeadline: a request that is never answered does not hold Close
// past its context; answering it afterwards is harmless and calls Done.
func TestCloseDeadline(t *testing.T) {
	p := newParker()
	s, err := NewServer(Config{Listeners: []ListenerConfig{{Name: "P", Addr: "127.0.0.1:0"}}, Handler: p})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	c := dial(t, s.Addr("P"))
	c.send(3, 1, 1, []byte("parked forever"))
	r := p.next(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close: %v", err)
	}
	c.expectClosed()
	select {
	case <-r.Conn.Done():
	default:
		t.Fatal("Conn.Done not closed")
	}
	var done atomic.Int32
	resp := NewResponse([]byte("late"))
	resp.Done = func() { done.Add(1) }
	if err := r.Respond(resp); !errors.Is(err, ErrConnectionClosed) {
		t.Fatalf("late Respond: %v", err)
	}
	if done.Load() != 1 {
		t.Fatalf("Done called %d times", done.Load())
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestDoneCalledForDroppedResponses: responses queued behind an unanswered
// request are released (Done) when the connection dies.
func TestDoneCalledForDroppedResponses(t *testing.T) {
	p := newParker()
	s, _ := startServer(t, Config{Handler: p, MaxInFlightPerConnection: 4})
	c := dial(t, s.Addr("PLAINTEXT"))
	c.write(cat(request(3, 1, 1, nil), request(3, 1, 2, nil)))
	first, second := p.next(t), p.next(t)
	var done atomic.Int32
	resp := NewResponse([]byte("queued"))
	resp.Done = func() { done.Add(1) }
	if err := second.Respond(resp); err != nil {
		t.Fatal(err)
	}
	c.nc.Close()
	<-first.Conn.Done()
	eventually(t, "Done for the queued response", func() bool { return done.Load() == 1 })
	if err := first.Respond(nil); !errors.Is(err, ErrConnectionClosed) {
		t.Fatalf("Respond after close: %v", err)
	}
}

func TestRequestFields(t *testing.T) {
	got := make(chan *Request, 1)
	h := HandlerFunc(func(r *Request) {
		got <- r
		r.Conn.SetPrincipal(Principal{Type: "User", Name: "alice"})
		r.NoResponse()
	})
	s, _ := startServer(t, Config{Handler: h})
	c := dial(t, s.Addr("PLAINTEXT"))
	c.send(18, 3, 11, []byte{0})
	c.send(18, 3, 12, []byte{0})
	r1, r2 := <-got, <-got
	if r1.Principal != AnonymousPrincipal || r1.Principal.String() != "User:ANONYMOUS" {
		t.Errorf("first principal %v", r1.Principal)
	}
	if r2.Principal.String() != "User:alice" {
		t.Errorf("second principal %v", r2.Principal)
	}
	if r1.Conn.Listener() != "PLAINTEXT" || r1.Conn.RemoteAddr().String() != c.nc.LocalAddr().String() ||
		r1.Conn.LocalAddr().String() != s.Addr("PLAINTEXT").String() || r1.Conn.ID() == 0 {
		t.Errorf("conn info: %s %v %v %d", r1.Conn.Listener(), r1.Conn.RemoteAddr(), r1.Conn.LocalAddr(), r1.Conn.ID())
	}
	if _, ok := r1.Conn.TLSConnectionState(); ok {
		t.Error("plaintext conn reports TLS")
	}
	if h := r1.Header; h.APIKey != 18 || h.APIVersion != 3 || h.CorrelationID != 11 || *h.ClientID != "test" || !h.Flexible() || h.ResponseHeaderVersion() != 0 {
		t.Errorf("header %+v", h)
	}
	if r1.ReceivedAt.IsZero() {
		t.Error("ReceivedAt not set")
	}
}

// TestLargeFrames: a request above the eager allocation size is read as it
// arrives, and its echo (a chunk above copyMax) is written directly.
func TestLargeFrames(t *testing.T) {
	s, _ := startServer(t, Config{Handler: echo, MaxInFlightPerConnection: 2})
	c := dial(t, s.Addr("PLAINTEXT"))
	body := bytes.Repeat([]byte("large frame "), 300000) // 3.6 MB
	go c.nc.Write(cat(request(0, 9, 1, body), request(0, 9, 2, []byte("small"))))
	if got, b := c.recv(1); got != 1 || !bytes.Equal(b, body) {
		t.Fatalf("corr %d, %d bytes, equal %v", got, len(b), bytes.Equal(b, body))
	}
	if got, b := c.recv(1); got != 2 || string(b) != "small" {
		t.Fatalf("corr %d body %q", got, b)
	}
}

func TestSocketBufferSizes(t *testing.T) {
	got := make(chan [2]int, 1)
	h := HandlerFunc(func(r *Request) {
		rc, err := r.Conn.nc.(*net.TCPConn).SyscallConn()
		if err != nil {
			t.Error(err)
		}
		rc.Control(func(fd uintptr) {
			snd, _ := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF)
			rcv, _ := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
			got <- [2]int{snd, rcv}
		})
		r.Respond(nil)
	})
	s, _ := startServer(t, Config{Handler: h, SocketSendBufferBytes: 50000, SocketReceiveBufferBytes: 60000})
	c := dial(t, s.Addr("PLAINTEXT"))
	c.roundTripBody(3, 1, 1, "")
	// Linux reports double the value set (room for bookkeeping).
	if b := <-got; (b[0] != 50000 && b[0] != 100000) || (b[1] != 60000 && b[1] != 120000) {
		t.Fatalf("SO_SNDBUF, SO_RCVBUF = %v", b)
	}
}
