package metrics

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func startHTTP(t *testing.T) (*HTTPServer, *Registry) {
	t.Helper()
	r := NewRegistry()
	h, err := ListenHTTP(HTTPConfig{Addr: "127.0.0.1:0", Gatherer: r})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return h, r
}

type reply struct {
	status int
	ctype  string
	body   string
}

func do(t *testing.T, h *HTTPServer, method, path string) reply {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+h.Addr().String()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	cl := &http.Client{Timeout: 30 * time.Second}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header.Get("Content-Type"), string(b)}
}

func TestHTTPEndpoints(t *testing.T) {
	h, _ := startHTTP(t)
	check := func(method, path string, status int, body string) {
		t.Helper()
		if got := do(t, h, method, path); got.status != status || (body != "" && got.body != body) {
			t.Errorf("%s %s = %d %q, want %d %q", method, path, got.status, got.body, status, body)
		}
	}
	check("GET", "/healthz", 200, "ok\n")
	check("HEAD", "/healthz", 200, "")
	check("GET", "/readyz", 503, "starting\n")
	if h.Ready() {
		t.Error("Ready() before SetReady")
	}
	h.SetReady()
	check("GET", "/readyz", 200, "ok\n")
	if !h.Ready() {
		t.Error("Ready() false after SetReady")
	}
	h.SetStopping()
	check("GET", "/readyz", 503, "shutting down\n")
	h.SetReady() // too late: stopping is for good
	check("GET", "/readyz", 503, "shutting down\n")
	check("GET", "/healthz", 200, "ok\n")

	m := do(t, h, "GET", "/metrics")
	if m.status != 200 || !strings.HasPrefix(m.ctype, "text/plain") || !strings.Contains(m.body, "\ngo_goroutines ") {
		t.Errorf("GET /metrics = %d %q, body without go_goroutines:\n%.300s", m.status, m.ctype, m.body)
	}
	if i := do(t, h, "GET", "/"); i.status != 200 || !strings.Contains(i.body, "/metrics") {
		t.Errorf("GET / = %d %q", i.status, i.body)
	}
	check("POST", "/metrics", http.StatusMethodNotAllowed, "")
	check("DELETE", "/healthz", http.StatusMethodNotAllowed, "")
	check("GET", "/metrics/extra", http.StatusNotFound, "")
	check("GET", "/debug/pprof/", http.StatusNotFound, "")
}

func TestListenHTTPErrors(t *testing.T) {
	if _, err := ListenHTTP(HTTPConfig{Addr: "127.0.0.1:0"}); !errors.Is(err, ErrInvalidHTTPConfig) {
		t.Errorf("no gatherer: %v", err)
	}
	h, r := startHTTP(t)
	_, err := ListenHTTP(HTTPConfig{Addr: h.Addr().String(), Gatherer: r})
	if !errors.Is(err, ErrListen) || !strings.Contains(err.Error(), "samsa.http.listener="+h.Addr().String()) {
		t.Errorf("taken port: %v; want ErrListen naming samsa.http.listener and the address", err)
	}
	if _, err := ListenHTTP(HTTPConfig{Addr: "not an address", Gatherer: r}); !errors.Is(err, ErrListen) {
		t.Errorf("bad address: %v", err)
	}
}

func TestHTTPCloseIsIdempotentAndFinal(t *testing.T) {
	r := NewRegistry()
	h, err := ListenHTTP(HTTPConfig{Addr: "127.0.0.1:0", Gatherer: r})
	if err != nil {
		t.Fatal(err)
	}
	h.SetReady()
	// An idle keep-alive connection must not hold Close.
	cl := &http.Client{Timeout: 30 * time.Second}
	resp, err := cl.Get("http://" + h.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if h.Ready() {
		t.Error("Ready() after Close")
	}
	cl.CloseIdleConnections()
	if _, err := cl.Get("http://" + h.Addr().String() + "/healthz"); err == nil {
		t.Error("side port answers after Close")
	}
}

// TestLimitListener: with max connections open, Accept waits until one
// closes; Close releases a waiting Accept.
func TestLimitListener(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := newLimitListener(inner, 2)
	defer ln.Close()
	var clients []net.Conn
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	first, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	second, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	third := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(third)
			return
		}
		third <- c
	}()
	// A slow machine can only make this pass vacuously, never fail.
	select {
	case <-third:
		t.Fatal("a third connection was accepted with the limit at 2")
	case <-time.After(50 * time.Millisecond):
	}
	first.Close()
	first.Close() // a second Close frees nothing more
	select {
	case c, ok := <-third:
		if !ok {
			t.Fatal("Accept failed after a slot freed")
		}
		c.Close()
	case <-time.After(30 * time.Second):
		t.Fatal("Accept still waiting after a connection closed")
	}

	// With the slots taken again, Close ends a waiting Accept.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	clients = append(clients, c)
	fourth, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer fourth.Close()
	ended := make(chan error, 1)
	go func() {
		_, err := ln.Accept()
		ended <- err
	}()
	ln.Close()
	select {
	case err := <-ended:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Accept still waiting after Close")
	}
}
