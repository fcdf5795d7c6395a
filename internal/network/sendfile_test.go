package network

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testTLS returns a server config with a fresh self-signed certificate for
// 127.0.0.1 and a client config that trusts it.
func testTLS(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "samsa-test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	client = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	return server, client
}

func dialTLS(t testing.TB, addr net.Addr, cfg *tls.Config) *testClient {
	t.Helper()
	nc, err := tls.Dial("tcp", addr.String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &testClient{t: t, nc: nc, br: bufio.NewReader(nc)}
}

// fileResponder answers every request with a body mixing byte chunks and
// ranges of f: a large range (sendfile), a small one (copied into the write
// buffer), a chunk large enough to be written directly, and a range just
// above the copy threshold.
type fileResponder struct {
	f    *os.File
	done atomic.Int32
}

var bigChunk = bytes.Repeat([]byte("0123456789abcdef"), 3000) // 48000 bytes > copyMax

func (h *fileResponder) parts() []struct{ off, n int64 } {
	return []struct{ off, n int64 }{{12345, 2<<20 + 7}, {100, 5000}, {0, copyMax + 1}}
}

func (h *fileResponder) Handle(r *Request) {
	resp := NewResponse([]byte("HDR"))
	ps := h.parts()
	mustAppend(resp, h.f, ps[0].off, ps[0].n)
	resp.Append([]byte("mid"))
	mustAppend(resp, h.f, ps[1].off, ps[1].n)
	resp.Append(bigChunk)
	mustAppend(resp, h.f, ps[2].off, ps[2].n)
	resp.Append([]byte("END"))
	resp.Done = func() { h.done.Add(1) }
	r.Respond(resp)
}

func mustAppend(r *Response, f *os.File, off, n int64) {
	if err := r.AppendFile(f, off, n); err != nil {
		panic(err)
	}
}

func (h *fileResponder) want(data []byte) []byte {
	ps := h.parts()
	return cat([]byte("HDR"), data[ps[0].off:ps[0].off+ps[0].n], []byte("mid"),
		data[ps[1].off:ps[1].off+ps[1].n], bigChunk, data[ps[2].off:ps[2].off+ps[2].n], []byte("END"))
}

// TestFileRangeResponses sends the same file-backed responses over a plain
// TCP listener (sendfile) and a TLS listener (pread + write), from several
// connections at once, and compares every byte with the file.
func TestFileRangeResponses(t *testing.T) {
	f, data := tempFile(t, 3<<20)
	// The shared file position must be neither used nor moved.
	if _, err := f.Seek(777, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	h := &fileResponder{f: f}
	srvTLS, cliTLS := testTLS(t)
	s, _ := startServer(t, Config{Handler: h, MaxInFlightPerConnection: 3, Listeners: []ListenerConfig{
		{Name: "PLAINTEXT", Addr: "127.0.0.1:0"},
		{Name: "SSL", Addr: "127.0.0.1:0", TLS: srvTLS},
	}})
	want := h.want(data)
	const conns, perConn = 3, 3
	for _, name := range []string{"PLAINTEXT", "SSL"} {
		t.Run(name, func(t *testing.T) {
			h.done.Store(0)
			var wg sync.WaitGroup
			for range conns {
				var c *testClient
				if name == "SSL" {
					c = dialTLS(t, s.Addr(name), cliTLS)
				} else {
					c = dial(t, s.Addr(name))
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					var frames []byte
					for corr := range int32(perConn) {
						frames = append(frames, request(1, 11, corr, nil)...)
					}
					if _, err := c.nc.Write(frames); err != nil {
						t.Error(err)
						return
					}
					for corr := range int32(perConn) {
						c.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
						got, body := c.recvErr()
						if got != corr || !bytes.Equal(body, want) {
							t.Errorf("corr %d (want %d): %d bytes, equal %v", got, corr, len(body), bytes.Equal(body, want))
							return
						}
					}
				}()
			}
			wg.Wait()
			eventually(t, "Done for every response", func() bool { return h.done.Load() == conns*perConn })
		})
	}
	if pos, _ := f.Seek(0, io.SeekCurrent); pos != 777 {
		t.Errorf("file position moved to %d", pos)
	}
}

// recvErr is recv for use off the test goroutine: it reports failures as a
// zero result instead of calling Fatal.
func (c *testClient) recvErr() (int32, []byte) {
	var sz [4]byte
	if _, err := io.ReadFull(c.br, sz[:]); err != nil {
		return -1, nil
	}
	frame := make([]byte, int32(sz[0])<<24|int32(sz[1])<<16|int32(sz[2])<<8|int32(sz[3]))
	if _, err := io.ReadFull(c.br, frame); err != nil || len(frame) < 4 {
		return -1, nil
	}
	return int32(frame[0])<<24 | int32(frame[1])<<16 | int32(frame[2])<<8 | int32(frame[3]), frame[4:]
}

// TestFileRangePastEnd: a range past the end of its file (a truncated
// segment) cannot finish its frame; the connection is closed with a warning
// on every write path.
func TestFileRangePastEnd(t *testing.T) {
	f, _ := tempFile(t, 100<<10)
	srvTLS, cliTLS := testTLS(t)
	for _, tc := range []struct {
		name   string
		tls    bool
		length int64
	}{
		{"sendfile", false, 64 << 10},
		{"small range copied", false, 1000},
		{"tls", true, 64 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := HandlerFunc(func(r *Request) {
				resp := NewResponse([]byte("x"))
				mustAppend(resp, f, 100<<10-10, tc.length)
				r.Respond(resp)
			})
			lc := ListenerConfig{Name: "L", Addr: "127.0.0.1:0"}
			if tc.tls {
				lc.TLS = srvTLS
			}
			s, tl := startServer(t, Config{Handler: h, Listeners: []ListenerConfig{lc}})
			var c *testClient
			if tc.tls {
				c = dialTLS(t, s.Addr("L"), cliTLS)
			} else {
				c = dial(t, s.Addr("L"))
			}
			c.send(1, 11, 1, nil)
			c.expectClosed()
			eventually(t, "the close line", func() bool { return len(tl.closes(c.nc.LocalAddr().String())) == 1 })
			line := tl.closes(c.nc.LocalAddr().String())[0]
			if line.level != slog.LevelWarn || !bytes.Contains([]byte(line.attrs["reason"]), []byte(ErrShortFile.Error())) {
				t.Fatalf("close line %+v", line)
			}
		})
	}
}

// TestSendFileDirect drives sendFile and copyFile on a loopback TCP pair with
// a reader that lags behind, so the socket fills and sendfile must wait for
// it (EAGAIN) and resume after partial writes.
func TestSendFileDirect(t *testing.T) {
	f, data := tempFile(t, 9<<20)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, tc := range []struct {
		name string
		off  int64
		n    int64
		user bool
	}{
		{"sendfile whole", 0, 9 << 20, false},
		{"sendfile middle", 4097, 5<<20 + 3, false},
		{"pread+write middle", 4097, 5<<20 + 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			server, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer server.Close()
			server.(*net.TCPConn).SetWriteBuffer(64 << 10)
			received := make(chan []byte)
			go func() {
				time.Sleep(20 * time.Millisecond) // let the sender fill the socket
				b, _ := io.ReadAll(io.LimitReader(client, tc.n))
				received <- b
			}()
			var written int64
			if tc.user {
				written, err = copyFile(server, f, tc.off, tc.n)
			} else {
				rc, ok := sendfileConn(server)
				if !ok {
					t.Fatal("TCP conn cannot sendfile")
				}
				progress := 0
				written, err = sendFile(rc, f, tc.off, tc.n, func() { progress++ })
				if progress < 2 {
					t.Errorf("sendfile finished in %d chunks; expected partial writes", progress)
				}
			}
			if err != nil || written != tc.n {
				t.Fatalf("written %d of %d: %v", written, tc.n, err)
			}
			if got := <-received; !bytes.Equal(got, data[tc.off:tc.off+tc.n]) {
				t.Fatalf("received %d bytes, equal %v", len(got), bytes.Equal(got, data[tc.off:tc.off+tc.n]))
			}
		})
	}
	if _, ok := sendfileConn(tls.Server(nil, &tls.Config{})); ok {
		t.Error("a TLS conn claims sendfile")
	}
	// A closed file fails cleanly on both paths.
	g, _ := tempFile(t, 10)
	g.Close()
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	if _, err := copyFile(c1, g, 0, 5); err == nil {
		t.Error("copyFile from a closed file succeeded")
	}
	client, _ := net.Dial("tcp", ln.Addr().String())
	defer client.Close()
	server, _ := ln.Accept()
	defer server.Close()
	rc, _ := sendfileConn(server)
	if _, err := sendFile(rc, g, 0, 5, func() {}); err == nil || errors.Is(err, ErrShortFile) {
		t.Errorf("sendFile from a closed file: %v", err)
	}
}

func TestAppendFileValidation(t *testing.T) {
	f, _ := tempFile(t, 10)
	r := NewResponse()
	for _, bad := range []struct{ off, n int64 }{{-1, 1}, {0, -1}} {
		if err := r.AppendFile(f, bad.off, bad.n); !errors.Is(err, ErrInvalidFileRange) {
			t.Errorf("AppendFile(%d, %d) = %v", bad.off, bad.n, err)
		}
	}
	if err := r.AppendFile(nil, 0, 1); !errors.Is(err, ErrInvalidFileRange) {
		t.Errorf("nil file: %v", err)
	}
	if err := r.AppendFile(f, 3, 0); err != nil || r.Len() != 0 {
		t.Errorf("empty range: %v, len %d", err, r.Len())
	}
	r.Append([]byte("ab"))
	if err := r.AppendFile(f, 3, 4); err != nil || r.Len() != 6 {
		t.Errorf("len %d, %v", r.Len(), err)
	}
}

// TestResponseTooLarge: a body that cannot fit an int32 frame is refused
// and the request stays open for another answer.
func TestResponseTooLarge(t *testing.T) {
	f, _ := tempFile(t, 10)
	errs := make(chan error, 1)
	h := HandlerFunc(func(r *Request) {
		huge := NewResponse()
		mustAppend(huge, f, 0, 1<<31-5) // + 5 header bytes (flexible) > MaxInt32
		errs <- r.Respond(huge)
		r.Respond(NewResponse([]byte("small")))
	})
	s, _ := startServer(t, Config{Handler: h})
	c := dial(t, s.Addr("PLAINTEXT"))
	c.roundTripBody(1, 12, 3, "small")
	if err := <-errs; !errors.Is(err, ErrResponseTooLarge) {
		t.Fatalf("huge response: %v", err)
	}
}

func TestTLSConnectionState(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	got := make(chan bool, 1)
	h := HandlerFunc(func(r *Request) {
		st, ok := r.Conn.TLSConnectionState()
		got <- ok && st.HandshakeComplete
		r.Respond(NewResponse(r.Body))
	})
	s, _ := startServer(t, Config{Handler: h, Listeners: []ListenerConfig{{Name: "SSL", Addr: "127.0.0.1:0", TLS: srvTLS}}})
	c := dialTLS(t, s.Addr("SSL"), cliTLS)
	c.roundTrip(1, "over tls")
	if !<-got {
		t.Fatal("TLS state not reported")
	}
}
