package network

import (
	"errors"
	"io"
	"math/bits"
	"sync"
	"sync/atomic"
)

// Request frames are read into recycled buffers. A produce request of
// 1 MiB used to cost a fresh 1 MiB allocation, zeroed by the runtime and
// then overwritten by the read, plus the garbage collection it drove; a
// recycled buffer costs neither. Buffers come in power-of-two size
// classes, from minFrameClass (512 B) to maxFrameClass (16 MiB), one
// sync.Pool per class, so a frame wastes less than half of its buffer and
// pooled memory stays bounded by what is in use between two garbage
// collections (sync.Pool drops what sits idle through two cycles). Frames
// above 16 MiB are rare and get a buffer of their own, left to the
// collector. Buffers are never zeroed: io.ReadFull overwrites every byte
// of the frame before anyone reads it, and only the frame's bytes are
// ever exposed (Request.Body is a sub-slice of them).
const (
	minFrameShift = 9  // 512 B: smaller frames share the smallest class
	maxFrameShift = 24 // 16 MiB: larger frames are not pooled
	numFrameClass = maxFrameShift - minFrameShift + 1
)

// framePools holds recycled *frameBuf of each class: framePools[i] holds
// buffers of capacity 1<<(minFrameShift+i). The pools have no New
// function, so Get returns nil when a class is empty, which lets
// readFrame tell "memory that already exists" from "memory that would be
// allocated".
var framePools [numFrameClass]sync.Pool

// frameBuf is one frame's buffer: b holds the frame's bytes (len is the
// frame size, cap the class size). class is the framePools index it
// returns to, or -1 for a buffer that is not pooled.
type frameBuf struct {
	b     []byte
	class int8
}

// frameClass returns the pool index for a buffer of at least n bytes, or
// -1 when n is above the largest class.
func frameClass(n int) int {
	if n <= 1<<minFrameShift {
		return 0
	}
	shift := bits.Len(uint(n - 1)) // smallest s with 1<<s >= n
	if shift > maxFrameShift {
		return -1
	}
	return shift - minFrameShift
}

// framePooling is true unless a benchmark turned recycling off to measure
// what it saves: then every frame gets a new buffer of exactly its size,
// as before frames were pooled. Only benchmarks change it, between runs.
var framePooling atomic.Bool

// pooledFrame returns a recycled buffer of at least n bytes (len 0), or
// nil if its class has none (or n is above the largest class).
func pooledFrame(n int) *frameBuf {
	c := frameClass(n)
	if c < 0 || !framePooling.Load() {
		return nil
	}
	if f, _ := framePools[c].Get().(*frameBuf); f != nil {
		f.b = f.b[:0]
		return f
	}
	return nil
}

// newFrame returns a buffer of at least n bytes (len 0): a recycled one of
// its class if there is one, else a new one of the class size, or of
// exactly n bytes above the largest class.
func newFrame(n int) *frameBuf {
	if f := pooledFrame(n); f != nil {
		return f
	}
	c := frameClass(n)
	if c < 0 || !framePooling.Load() {
		return &frameBuf{b: make([]byte, 0, n), class: -1}
	}
	return &frameBuf{b: make([]byte, 0, 1<<(minFrameShift+c)), class: int8(c)}
}

// PoisonReleasedFrames, when true, makes the network layer overwrite every
// request frame with poisonPattern (DE AD BE EF repeated) when it releases
// it, before the buffer is recycled. A handler that reads a request's Body,
// or a slice aliasing it, after the request was completed then sees that
// pattern (or, once the buffer is reused, another request's bytes) instead
// of its data, which turns a use-after-release into a visible failure in
// tests; under the race detector the overwrite also races with such a
// read. It costs a memset per request, so it is for tests only: set it in
// a test package's TestMain before starting servers.
var PoisonReleasedFrames atomic.Bool

// poisonFrames, when set to a non-empty string at link time, turns
// PoisonReleasedFrames on for a whole binary, so that test suites whose
// TestMain does not set it (end-to-end tests through a real broker) can be
// run with poisoned frames too:
//
//	go test -ldflags=-X=github.com/samsa-streaming/samsa/internal/network.poisonFrames=1 ./internal/e2e
var poisonFrames string

func init() {
	framePooling.Store(true)
	if poisonFrames != "" {
		PoisonReleasedFrames.Store(true)
	}
}

// poisonPattern is what a released frame is overwritten with when
// PoisonReleasedFrames is set.
var poisonPattern = [4]byte{0xDE, 0xAD, 0xBE, 0xEF}

// releaseFrame returns f to its pool (poisoning it first if asked). f must
// not be used afterwards by the caller or by anyone holding a slice of it.
func releaseFrame(f *frameBuf) {
	if f == nil {
		return
	}
	if PoisonReleasedFrames.Load() {
		poison(f.b)
	}
	if f.class >= 0 {
		f.b = f.b[:0]
		framePools[f.class].Put(f)
	}
}

// poison overwrites b with poisonPattern.
func poison(b []byte) {
	if len(b) == 0 {
		return
	}
	n := copy(b, poisonPattern[:])
	for n < len(b) {
		n += copy(b[n:], b[:n])
	}
}

// eagerFrameAlloc is the frame size up to which a frame's buffer is taken
// at once. Above it a frame is read into a recycled buffer of its class if
// one exists (memory the broker already has), and otherwise into a buffer
// that grows, class by class, as the bytes actually arrive: a size prefix
// alone (up to socket.request.max.bytes) cannot make the broker allocate.
const eagerFrameAlloc = 1 << 20

// readFrame reads exactly size bytes into a frame buffer, which the caller
// releases with releaseFrame once nothing refers to its bytes. On error
// nothing is returned (the buffer is released).
func readFrame(r io.Reader, size int) (*frameBuf, error) {
	f := pooledFrame(size)
	if f == nil && size <= eagerFrameAlloc {
		f = newFrame(size)
	}
	if f != nil {
		f.b = f.b[:size]
		if _, err := io.ReadFull(r, f.b); err != nil {
			releaseFrame(f)
			return nil, err
		}
		return f, nil
	}

	// A large frame and no buffer for it yet: start at eagerFrameAlloc and
	// move to the next class whenever the buffer fills. The outgrown
	// buffers go back to their pools for the next frames. Reads stop at
	// size even when the class is larger, never taking bytes of the
	// next frame.
	f = newFrame(eagerFrameAlloc)
	for len(f.b) < size {
		limit := min(cap(f.b), size)
		if len(f.b) == limit {
			grown := newFrame(min(2*cap(f.b), size))
			grown.b = append(grown.b, f.b...)
			releaseFrame(f)
			f = grown
			limit = min(cap(f.b), size)
		}
		n, err := r.Read(f.b[len(f.b):limit])
		f.b = f.b[:len(f.b)+n]
		if err != nil && len(f.b) < size {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			releaseFrame(f)
			return nil, err
		}
	}
	return f, nil
}
