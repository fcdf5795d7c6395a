package storage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/samsa-streaming/samsa/internal/record"
)

// scanChunk is how many bytes a headerReader reads at a time: enough for
// dozens of small batches' headers per pread, small enough that skipping
// over large batches wastes little.
const scanChunk = 4096

var scanBufPool = sync.Pool{New: func() any { b := make([]byte, scanChunk); return &b }}

// headerReader reads the batch headers of a segment file (not the
// records) through a small pooled buffer, for the read paths that only
// need to find batch boundaries, offsets and timestamps. It trusts that
// positions it is given start batches and that everything below limit is
// whole batches (the published segment size guarantees both), and reports
// ErrCorruptSegment if the bytes say otherwise. Not safe for concurrent
// use; call release when done.
type headerReader struct {
	f     *os.File
	limit int64
	buf   *[]byte
	start int64 // file position of (*buf)[0]
	n     int   // valid bytes in *buf
	read  int64 // bytes read from f so far (the cleaner's throttle)
}

func newHeaderReader(f *os.File, limit int64) *headerReader {
	return &headerReader{f: f, limit: limit, buf: scanBufPool.Get().(*[]byte)}
}

func (r *headerReader) release() {
	if r.buf != nil {
		scanBufPool.Put(r.buf)
		r.buf = nil
	}
}

// at returns the header (the first record.HeaderSize bytes) of the batch
// starting at pos, aliasing the reader's buffer until the next call.
func (r *headerReader) at(pos int64) (record.Batch, error) {
	if pos < 0 || pos+record.HeaderSize > r.limit {
		return nil, fmt.Errorf("%w: %s: batch header at %d crosses the end of the log at %d", ErrCorruptSegment, r.f.Name(), pos, r.limit)
	}
	if pos < r.start || pos+record.HeaderSize > r.start+int64(r.n) {
		buf := *r.buf
		want := min(int64(len(buf)), r.limit-pos)
		n, err := r.f.ReadAt(buf[:want], pos)
		r.read += int64(n)
		if int64(n) < record.HeaderSize {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			r.n = 0
			return nil, fmt.Errorf("read batch header at %d of %s: %w", pos, r.f.Name(), err)
		}
		r.start, r.n = pos, n
	}
	off := pos - r.start
	h := record.Batch((*r.buf)[off : off+record.HeaderSize])
	if l := h.Length(); l < record.HeaderSize-record.LogOverhead || pos+record.LogOverhead+int64(l) > r.limit {
		return nil, fmt.Errorf("%w: %s: batch at %d has length %d (log ends at %d)", ErrCorruptSegment, r.f.Name(), pos, l, r.limit)
	}
	return h, nil
}

// batchSize returns the full size of the batch whose header is h.
func batchSize(h record.Batch) int64 { return record.LogOverhead + int64(h.Length()) }
