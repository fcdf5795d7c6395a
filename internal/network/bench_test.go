package network

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkRoundTrip measures small request/response round trips over
// loopback through the whole server (framing, header parsing, dispatch,
// in-order write): one at a time, and pipelined by a client that keeps
// writing while it reads, with Kafka's one-request-in-flight muting and
// with a pipeline of 8; the last also with a RequestObserver, whose cost
// per request (one clock read per written batch, one call per request)
// shows as the difference.
func BenchmarkRoundTrip(b *testing.B) {
	body := make([]byte, 100)
	for _, bc := range []struct {
		name      string
		inflight  int
		pipelined bool
		observer  RequestObserver
	}{
		{"sequential", 1, false, nil},
		{"pipelined/inflight=1", 1, true, nil},
		{"pipelined/inflight=8", 8, true, nil},
		{"pipelined/inflight=8/observed", 8, true, &countingObserver{}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, _ := startServer(b, Config{Handler: echo, MaxInFlightPerConnection: bc.inflight, Observer: bc.observer})
			nc, err := net.Dial("tcp", s.Addr("PLAINTEXT").String())
			if err != nil {
				b.Fatal(err)
			}
			defer nc.Close()
			br := bufio.NewReaderSize(nc, 64<<10)
			frame := request(3, 12, 1, body)
			read := func() {
				var sz [4]byte
				if _, err := io.ReadFull(br, sz[:]); err != nil {
					b.Fatal(err)
				}
				if _, err := br.Discard(int(binary.BigEndian.Uint32(sz[:]))); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			if !bc.pipelined {
				for range b.N {
					if _, err := nc.Write(frame); err != nil {
						b.Fatal(err)
					}
					read()
				}
				return
			}
			// Write in batches of 64 frames, like a client flushing
			// its buffered requests.
			batch := make([]byte, 0, 64*len(frame))
			for range 64 {
				batch = append(batch, frame...)
			}
			go func() {
				for left := b.N; left > 0; left -= 64 {
					if _, err := nc.Write(batch[:min(left, 64)*len(frame)]); err != nil {
						return
					}
				}
			}()
			for range b.N {
				read()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

// countingObserver counts requests and bytes with atomic adds, as the
// metrics registry does.
type countingObserver struct{ requests, bytes atomic.Int64 }

func (o *countingObserver) ObserveRequest(s RequestStats) {
	o.requests.Add(1)
	o.bytes.Add(s.BytesIn + s.BytesOut)
}

// BenchmarkFileResponse measures a large file-range response (a fetch of
// 8 MiB of segment bytes) sent with sendfile beside the same bytes read into
// a user-space buffer with pread and written, in the same run.
func BenchmarkFileResponse(b *testing.B) {
	const rangeLen = 8 << 20
	f, _ := tempFile(b, rangeLen+4096)
	for _, bc := range []struct {
		name string
		h    Handler
	}{
		{"sendfile", HandlerFunc(func(r *Request) {
			resp := NewResponse()
			if err := resp.AppendFile(f, 4096, rangeLen); err != nil {
				r.CloseConnection()
				return
			}
			r.Respond(resp)
		})},
		{"pread+write", userSpaceFileHandler(f, 4096, rangeLen)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, _ := startServer(b, Config{Handler: bc.h})
			nc, err := net.Dial("tcp", s.Addr("PLAINTEXT").String())
			if err != nil {
				b.Fatal(err)
			}
			defer nc.Close()
			frame := request(1, 12, 1, nil)
			readBuf := make([]byte, 1<<20)
			b.SetBytes(rangeLen)
			b.ResetTimer()
			cpu0 := processCPU()
			for range b.N {
				if _, err := nc.Write(frame); err != nil {
					b.Fatal(err)
				}
				var sz [4]byte
				if _, err := io.ReadFull(nc, sz[:]); err != nil {
					b.Fatal(err)
				}
				for left := int(binary.BigEndian.Uint32(sz[:])); left > 0; {
					n, err := nc.Read(readBuf[:min(left, len(readBuf))])
					if err != nil {
						b.Fatal(err)
					}
					left -= n
				}
			}
			// CPU of the whole process (server and client) per MiB
			// sent: the client's share is the same for both paths, so
			// the difference is the server's cost of the copy.
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N)/(rangeLen>>20), "cpu-ns/MiB")
		})
	}
}

// processCPU returns the user+system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// userSpaceFileHandler answers with the file range read into a reused
// buffer (returned by Done), which is what a handler without file ranges
// would have to do.
func userSpaceFileHandler(f *os.File, off, n int64) Handler {
	bufs := make(chan []byte, 1)
	bufs <- make([]byte, n)
	return HandlerFunc(func(r *Request) {
		buf := <-bufs
		if _, err := f.ReadAt(buf, off); err != nil {
			bufs <- buf
			r.CloseConnection()
			return
		}
		resp := NewResponse(buf)
		resp.Done = func() { bufs <- buf }
		r.Respond(resp)
	})
}

// BenchmarkRequestFrames measures request frames of several sizes (100 B
// like a metadata request, 64 KiB, 1 MiB and 4 MiB like produce requests)
// sent one after another, each answered with a 16-byte response, with
// frame buffers recycled ("pooled") and with a new buffer for every frame
// ("unpooled", how frames were read before they were pooled), in the same
// run. B/op and allocs/op cover the whole process (client and server);
// cpu-ns/MiB is the process's CPU per MiB of request frames.
func BenchmarkRequestFrames(b *testing.B) {
	resp := make([]byte, 16)
	h := HandlerFunc(func(r *Request) { r.Respond(NewResponse(resp)) })
	for _, size := range []int{100, 64 << 10, 1 << 20, 4 << 20} {
		frame := request(0, 7, 1, make([]byte, size)) // Produce v7: response header v0
		for _, pooled := range []bool{true, false} {
			name := fmt.Sprintf("%s/pooled", byteSize(size))
			if !pooled {
				name = fmt.Sprintf("%s/unpooled", byteSize(size))
			}
			b.Run(name, func(b *testing.B) {
				framePooling.Store(pooled)
				defer framePooling.Store(true)
				s, _ := startServer(b, Config{Handler: h})
				nc, err := net.Dial("tcp", s.Addr("PLAINTEXT").String())
				if err != nil {
					b.Fatal(err)
				}
				defer nc.Close()
				var in [4 + 4 + 16]byte
				b.SetBytes(int64(len(frame)))
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := processCPU()
				for range b.N {
					if _, err := nc.Write(frame); err != nil {
						b.Fatal(err)
					}
					if _, err := io.ReadFull(nc, in[:]); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N)/(float64(len(frame))/(1<<20)), "cpu-ns/MiB")
			})
		}
	}
}

// byteSize names a size for a benchmark: 100B, 64KiB, 1MiB.
func byteSize(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
