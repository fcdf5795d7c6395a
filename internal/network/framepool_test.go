package network

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"
)

func TestFrameClass(t *testing.T) {
	for _, tt := range []struct{ n, class int }{
		{0, 0}, {1, 0}, {512, 0}, {513, 1}, {1024, 1}, {1025, 2},
		{64 << 10, 7}, {1 << 20, 11}, {1<<20 + 1, 12},
		{16 << 20, numFrameClass - 1}, {16<<20 + 1, -1}, {100 << 20, -1},
	} {
		if got := frameClass(tt.n); got != tt.class {
			t.Errorf("frameClass(%d) = %d, want %d", tt.n, got, tt.class)
		}
		if tt.class >= 0 && 1<<(minFrameShift+tt.class) < tt.n {
			t.Errorf("class %d too small for %d bytes", tt.class, tt.n)
		}
	}
}

// patterned returns n bytes that differ from their neighbours, so a
// misplaced copy shows.
func patterned(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>11)
	}
	return b
}

// TestReadFrameSizes reads frames of many sizes (small, at class
// boundaries, the growing path, above the largest class) from a stream
// that delivers few bytes per read and holds more after the frame, both
// with the pools emptied and after a frame of the same class was released:
// every frame must hold exactly its bytes, and nothing past them may be
// consumed, even when its buffer's class is larger.
func TestReadFrameSizes(t *testing.T) {
	sizes := []int{0, 1, 100, 512, 513, 64 << 10, eagerFrameAlloc - 1, eagerFrameAlloc,
		eagerFrameAlloc + 1, 3*eagerFrameAlloc + 123, 16<<20 + 5}
	trailer := []byte("next frame")
	for _, size := range sizes {
		data := patterned(size)
		for _, warm := range []bool{false, true} {
			if warm {
				// A released buffer of this class (sync.Pool may
				// still drop it; both paths must be right).
				f, err := readFrame(bytes.NewReader(data), size)
				if err != nil {
					t.Fatal(err)
				}
				releaseFrame(f)
			} else {
				for i := range framePools {
					for framePools[i].Get() != nil {
					}
				}
			}
			r := bytes.NewReader(append(append([]byte(nil), data...), trailer...))
			f, err := readFrame(iotestHalfReader{r}, size)
			if err != nil {
				t.Fatalf("size %d warm %v: %v", size, warm, err)
			}
			if !bytes.Equal(f.b, data) {
				t.Fatalf("size %d warm %v: frame differs (len %d)", size, warm, len(f.b))
			}
			if rest, _ := io.ReadAll(r); !bytes.Equal(rest, trailer) {
				t.Fatalf("size %d warm %v: %d bytes left after the frame, want %q", size, warm, len(rest), trailer)
			}
			if c := frameClass(size); int(f.class) != c || c >= 0 && cap(f.b) != 1<<(minFrameShift+c) {
				t.Fatalf("size %d: class %d cap %d, want class %d", size, f.class, cap(f.b), c)
			}
			releaseFrame(f)
		}
	}
}

// TestReadFrameTruncated: a stream ending inside a frame is
// io.ErrUnexpectedEOF on every path.
func TestReadFrameTruncated(t *testing.T) {
	for _, size := range []int{10, eagerFrameAlloc, 3*eagerFrameAlloc + 123, 20 << 20} {
		data := patterned(size)
		for _, sent := range []int{0, size / 2, size - 1} {
			f, err := readFrame(iotestHalfReader{bytes.NewReader(data[:sent])}, size)
			if f != nil || !errors.Is(err, io.ErrUnexpectedEOF) && !(sent == 0 && errors.Is(err, io.EOF)) {
				t.Fatalf("size %d, %d bytes sent: frame %v, err %v", size, sent, f != nil, err)
			}
		}
	}
}

// TestReadFrameSizePrefixAlone: a size prefix of up to
// socket.request.max.bytes with only a few bytes behind it makes the
// broker allocate about eagerFrameAlloc, not the declared size, whether or
// not buffers of smaller classes are pooled.
func TestReadFrameSizePrefixAlone(t *testing.T) {
	for _, size := range []int{8 << 20, DefaultSocketRequestMaxBytes} {
		for i := range framePools {
			for framePools[i].Get() != nil {
			}
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f, err := readFrame(bytes.NewReader(make([]byte, 1000)), size)
		runtime.ReadMemStats(&after)
		if f != nil || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("size %d: frame %v, err %v", size, f != nil, err)
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 2*eagerFrameAlloc {
			t.Errorf("a %d-byte size prefix with 1000 bytes allocated %d bytes", size, got)
		}
	}
}

// TestReleasedFramesAreRecycled: a released buffer comes back for the
// next frame of its class. sync.Pool may drop a buffer (the race detector
// drops some on purpose, and a GC empties the pools), so reuse is only
// required to happen, not every time.
func TestReleasedFramesAreRecycled(t *testing.T) {
	for _, size := range []int{300, 100 << 10, eagerFrameAlloc + 1} {
		data := patterned(size)
		reused := false
		for range 100 {
			f, err := readFrame(bytes.NewReader(data), size)
			if err != nil {
				t.Fatal(err)
			}
			first := &f.b[:1][0]
			releaseFrame(f)
			g, err := readFrame(bytes.NewReader(data), size)
			if err != nil {
				t.Fatal(err)
			}
			reused = reused || &g.b[:1][0] == first
			releaseFrame(g)
			if reused {
				break
			}
		}
		if !reused {
			t.Errorf("size %d: a released frame buffer was never reused", size)
		}
	}
}

// TestPoisonReleasedFrames: with PoisonReleasedFrames set, a released
// frame reads DE AD BE EF, so a handler still holding its body sees
// garbage; without it the bytes are left alone. The frame is one of its
// own (not pooled), so nothing else can reuse it while the test looks.
func TestPoisonReleasedFrames(t *testing.T) {
	defer PoisonReleasedFrames.Store(PoisonReleasedFrames.Load())
	for _, on := range []bool{true, false} {
		PoisonReleasedFrames.Store(on)
		f := &frameBuf{b: patterned(1001), class: -1}
		body := f.b[7:]
		releaseFrame(f)
		for i, c := range body {
			want := patterned(1001)[7+i]
			if on {
				want = poisonPattern[(7+i)%4]
			}
			if c != want {
				t.Fatalf("poison %v: byte %d is %#x, want %#x", on, 7+i, c, want)
			}
		}
	}
}

// TestFrameReleaseOrder checks when a request's frame is released: only
// once Handle has returned and its response has been written (or it was
// completed without one, or its connection closed), in every order those
// can happen, so Handle may read Body after another goroutine completed
// the request, and a response may include slices of Body. The package's
// tests run with PoisonReleasedFrames, so an early release would show as
// DE AD BE EF in the bodies checked here.
func TestFrameReleaseOrder(t *testing.T) {
	body := []byte("the body, which must stay intact")
	type step struct {
		req          *Request
		refsInHandle int32 // the references left just before Handle returns
	}
	steps := make(chan step, 1)
	proceed := make(chan struct{})
	h := HandlerFunc(func(r *Request) {
		switch r.Header.CorrelationID {
		case 1: // completed without a response inside Handle, which then reads Body
			r.NoResponse()
			if !bytes.Equal(r.Body, body) {
				t.Errorf("body changed after NoResponse inside Handle: %q", r.Body)
			}
			steps <- step{r, r.refs.Load()}
		case 2: // completed later by another goroutine, answering with Body itself
			steps <- step{r, r.refs.Load()}
			go func() {
				<-proceed
				if !bytes.Equal(r.Body, body) {
					t.Errorf("body changed before completion: %q", r.Body)
				}
				r.Respond(NewResponse(r.Body))
			}()
		case 3: // completed by another goroutine and written while Handle still runs
			go r.Respond(NewResponse(r.Body[:3]))
			<-proceed // the client has read the response
			if !bytes.Equal(r.Body, body) {
				t.Errorf("body changed after its response was written, Handle still running: %q", r.Body)
			}
			steps <- step{r, r.refs.Load()}
		case 4: // parked; its connection is closed before it is completed
			steps <- step{r, r.refs.Load()}
		}
	})
	s, _ := startServer(t, Config{Handler: h})
	c := dial(t, s.Addr("PLAINTEXT"))
	released := func(r *Request) {
		t.Helper()
		eventually(t, "the frame's release", func() bool { return r.refs.Load() == 0 })
	}

	c.send(3, 1, 1, body)
	st := <-steps
	if st.refsInHandle != 1 {
		t.Errorf("NoResponse inside Handle: %d references before Handle returned, want 1", st.refsInHandle)
	}
	released(st.req)

	c.send(3, 1, 2, body)
	st = <-steps
	if st.refsInHandle != 2 {
		t.Errorf("not completed in Handle: %d references, want 2", st.refsInHandle)
	}
	eventually(t, "Handle to return", func() bool { return st.req.refs.Load() == 1 })
	proceed <- struct{}{}
	if corr, b := c.recv(0); corr != 2 || !bytes.Equal(b, body) {
		t.Fatalf("response %d %q, want 2 %q", corr, b, body)
	}
	released(st.req)

	// The writer drops the completion's reference before it flushes, so
	// once the client has the response only Handle's remains.
	c.send(3, 1, 3, body)
	if corr, b := c.recv(0); corr != 3 || !bytes.Equal(b, body[:3]) {
		t.Fatalf("response %d %q, want 3 %q", corr, b, body[:3])
	}
	proceed <- struct{}{}
	st = <-steps
	if st.refsInHandle != 1 {
		t.Errorf("response written, Handle running: %d references, want 1", st.refsInHandle)
	}
	released(st.req)

	c.send(3, 1, 4, body)
	st = <-steps
	st.req.Conn.Close() // the reader is muted: it would not see the client go
	eventually(t, "Handle to return", func() bool { return st.req.refs.Load() == 1 })
	if err := st.req.Respond(NewResponse(st.req.Body)); !errors.Is(err, ErrConnectionClosed) {
		t.Fatalf("Respond after close: %v", err)
	}
	released(st.req)
}
