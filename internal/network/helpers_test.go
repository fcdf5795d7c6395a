package network

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// logRecord is one captured log line with its attributes flattened.
type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

// testLog is a slog.Handler that keeps every record, for asserting on the
// lines a connection produced. Safe for concurrent use.
type testLog struct {
	mu    *sync.Mutex
	recs  *[]logRecord // guarded by mu
	attrs []slog.Attr
}

func newTestLog() *testLog { return &testLog{mu: new(sync.Mutex), recs: new([]logRecord)} }

func (l *testLog) Enabled(context.Context, slog.Level) bool { return true }

func (l *testLog) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	for _, a := range l.attrs {
		rec.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	l.mu.Lock()
	*l.recs = append(*l.recs, rec)
	l.mu.Unlock()
	return nil
}

func (l *testLog) WithAttrs(as []slog.Attr) slog.Handler {
	return &testLog{mu: l.mu, recs: l.recs, attrs: append(append([]slog.Attr(nil), l.attrs...), as...)}
}

func (l *testLog) WithGroup(string) slog.Handler { return l }

// closes returns the "closing connection" records of the connection whose
// client side address is remote.
func (l *testLog) closes(remote string) []logRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []logRecord
	for _, r := range *l.recs {
		if r.msg == "network: closing connection" && r.attrs["remote"] == remote {
			out = append(out, r)
		}
	}
	return out
}

// startServer starts a server on a free loopback port with cfg's handler
// and settings, and closes it (asserting a clean drain) when the test ends.
func startServer(t testing.TB, cfg Config) (*Server, *testLog) {
	t.Helper()
	tl := newTestLog()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(tl)
	}
	if cfg.Listeners == nil {
		cfg.Listeners = []ListenerConfig{{Name: "PLAINTEXT", Addr: "127.0.0.1:0"}}
	}
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, tl
}

// echo answers every request with its own body, at once.
var echo = HandlerFunc(func(r *Request) { r.Respond(NewResponse(r.Body)) })

// testClient speaks raw frames to a server.
type testClient struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

func dial(t testing.TB, addr net.Addr) *testClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &testClient{t: t, nc: nc, br: bufio.NewReader(nc)}
}

// request encodes one request frame with the header version Kafka uses.
func request(key, version int16, corr int32, body []byte) []byte {
	id := "test"
	h := Header{APIKey: key, APIVersion: version, CorrelationID: corr, ClientID: &id, Version: RequestHeaderVersion(key, version)}
	return frameOf(append(AppendRequestHeader(nil, &h), body...))
}

func (c *testClient) write(b []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *testClient) send(key, version int16, corr int32, body []byte) {
	c.t.Helper()
	c.write(request(key, version, corr, body))
}

// recv reads one response frame whose header version is hv and returns its
// correlation id and body.
func (c *testClient) recv(hv int8) (int32, []byte) {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	var sz [4]byte
	if _, err := io.ReadFull(c.br, sz[:]); err != nil {
		c.t.Fatalf("read response size: %v", err)
	}
	frame := make([]byte, binary.BigEndian.Uint32(sz[:]))
	if _, err := io.ReadFull(c.br, frame); err != nil {
		c.t.Fatalf("read response: %v", err)
	}
	corr := int32(binary.BigEndian.Uint32(frame))
	frame = frame[4:]
	if hv == 1 {
		if len(frame) == 0 || frame[0] != 0 {
			c.t.Fatalf("response header v1: tags %x", frame[:min(1, len(frame))])
		}
		frame = frame[1:]
	}
	return corr, frame
}

// roundTrip sends a Metadata v1 request (non-flexible) and expects its echo.
func (c *testClient) roundTrip(corr int32, body string) {
	c.t.Helper()
	c.send(3, 1, corr, []byte(body))
	got, b := c.recv(0)
	if got != corr || string(b) != body {
		c.t.Fatalf("round trip: corr %d body %q, want %d %q", got, b, corr, body)
	}
}

// expectClosed waits for the server to close the connection: a read
// returns EOF or a reset, not a timeout.
func (c *testClient) expectClosed() {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err := io.Copy(io.Discard, c.br)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatalf("connection still open: %v", err)
	}
}

// eventually polls cond until it holds, failing after a generous bound that
// only a hung test reaches.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// tempFile returns an open temporary file holding n pseudo-random bytes.
func tempFile(t testing.TB, n int) (*os.File, []byte) {
	t.Helper()
	data := make([]byte, n)
	x := uint32(2463534242)
	for i := range data {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		data[i] = byte(x)
	}
	f, err := os.CreateTemp(t.TempDir(), "segment-*.log")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, data
}
