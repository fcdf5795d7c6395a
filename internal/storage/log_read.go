package storage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/samsa-streaming/samsa/internal/record"
)

// ReadResult is the answer to Read: a byte range of one segment file
// holding whole batches, ready to be sent with sendfile (WriteTo), plus the
// partition's offsets as they were when the range was chosen.
//
// The range stays readable after Read returns, while later appends,
// rolls and retention run: a segment that retention deletes keeps its open
// file until file.delete.delay.ms has passed, so a ReadResult must be
// copied out within that delay (and before Close). A TruncateTo that cuts
// into the range invalidates it; copying then reports ErrTruncatedRead (or
// sends bytes of later appends, which the client's offset and CRC checks
// reject, as with Kafka).
type ReadResult struct {
	File     *os.File
	Position int64 // of the first byte in File
	Size     int64 // bytes; 0 means nothing to read (yet)

	// FirstOffset is the base offset of the first batch returned (which
	// may be below the offset asked for: a read starting inside a batch
	// returns that whole batch), or the offset asked for when Size is 0.
	FirstOffset int64

	HighWatermark    int64
	LastStableOffset int64
	LogStartOffset   int64
	LogEndOffset     int64
}

// Read returns up to maxBytes of whole batches from one segment, starting
// with the batch that holds offset and never including a batch whose last
// offset is at or above upTo (the high watermark for consumers, the last
// stable offset for read_committed, the log end offset for followers).
// With minOneBatch the first batch is returned even if it alone exceeds
// maxBytes (Kafka's minOneMessage); without it such a read is empty. An
// offset below the log start offset or above the log end offset is
// ErrOffsetOutOfRange; the log end offset itself reads as empty. Safe for
// concurrent use; it never waits for an append or an fsync (only for a
// roll, truncation or retention switching segments).
func (l *Log) Read(offset int64, maxBytes int, upTo int64, minOneBatch bool) (ReadResult, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return ReadResult{}, ErrLogClosed
	}
	leo, start := l.leo.Load(), l.logStart.Load()
	res := ReadResult{
		FirstOffset:      offset,
		HighWatermark:    l.hw.Load(),
		LastStableOffset: l.LastStableOffset(),
		LogStartOffset:   start,
		LogEndOffset:     leo,
	}
	if offset < start || offset > leo {
		return res, fmt.Errorf("%w: offset %d, log has [%d, %d)", ErrOffsetOutOfRange, offset, start, leo)
	}
	if offset == leo || offset >= upTo || maxBytes < 0 {
		return res, nil
	}
	for i := max(l.floorSegmentLocked(offset), 0); i < len(l.segments); i++ {
		s := l.segments[i]
		size := s.size.Load()
		r := newHeaderReader(s.log, size)
		pos, h, found, err := s.findBatch(r, offset)
		if err != nil || !found {
			r.release()
			if err != nil {
				return res, err
			}
			continue
		}
		first, firstSize, firstLast := h.BaseOffset(), batchSize(h), h.LastOffset()
		limit := int64(maxBytes)
		if minOneBatch {
			limit = max(limit, firstSize)
		}
		if firstLast >= upTo || firstSize > limit {
			r.release()
			return res, nil
		}
		end, err := s.extendRead(r, pos, pos+firstSize, min(pos+limit, size), upTo)
		r.release()
		if err != nil {
			return res, err
		}
		res.File, res.Position, res.Size, res.FirstOffset = s.log, pos, end-pos, first
		return res, nil
	}
	return res, nil
}

// extendRead returns where a read starting at start, whose first batch
// ends at end, stops: the last batch boundary at or below bound before
// any batch reaching upTo. It jumps ahead with the offset index (by
// position for bound, by offset for upTo) instead of walking every batch
// header from the start, so a large read costs O(log n) index probes and
// about one index interval of header reads. The caller holds Log.mu.
func (s *segment) extendRead(r *headerReader, start, end, bound, upTo int64) (int64, error) {
	if end >= bound {
		return end, nil
	}
	// Every batch before an indexed position at or below bound ends at or
	// below bound; every batch up to and including an indexed offset below
	// upTo ends before upTo. A position satisfying both is a safe place to
	// resume walking.
	v := s.offIdx.view()
	offPos, byPos, err := v.lookupByPosition(bound)
	if err != nil {
		return 0, err
	}
	offOff, byOff, err := v.lookup(upTo - 1)
	if err != nil {
		return 0, err
	}
	if jump := min(byPos, byOff); jump > end {
		// Trust the jump only if both entries check out against the log.
		if s.indexedPosition(r, offPos, byPos) == byPos && s.indexedPosition(r, offOff, byOff) == byOff {
			end = jump
		}
	}
	for end < bound {
		h, err := r.at(end)
		if err != nil {
			return 0, err
		}
		if end+batchSize(h) > bound || h.LastOffset() >= upTo {
			break
		}
		end += batchSize(h)
	}
	return end, nil
}

// ReadInto appends the result's bytes to dst and returns the extended
// slice.
func (r ReadResult) ReadInto(dst []byte) ([]byte, error) {
	if r.Size == 0 {
		return dst, nil
	}
	n := len(dst)
	dst = slices.Grow(dst, int(r.Size))[:n+int(r.Size)]
	m, err := r.File.ReadAt(dst[n:], r.Position)
	if int64(m) < r.Size {
		if err == nil || errors.Is(err, io.EOF) {
			err = ErrTruncatedRead
		}
		return dst[:n], fmt.Errorf("read %s at %d: %w", r.File.Name(), r.Position, err)
	}
	return dst, nil
}

// Bytes returns a copy of the result's bytes.
func (r ReadResult) Bytes() ([]byte, error) { return r.ReadInto(nil) }

// WriteTo copies the result's bytes to w. When w is a socket (a
// *net.TCPConn or anything else exposing its descriptor through
// syscall.Conn) on Linux it uses sendfile(2) with an explicit file offset,
// so the page cache goes straight to the socket and concurrent readers of
// the same file never share a file position; otherwise it copies through
// positioned reads. Bytes cut from the file meanwhile yield
// ErrTruncatedRead: the caller has sent a short response and must close
// the connection.
func (r ReadResult) WriteTo(w io.Writer) (int64, error) {
	if r.Size == 0 {
		return 0, nil
	}
	if n, handled, err := sendfile(w, r.File, r.Position, r.Size); handled {
		if err == nil && n < r.Size {
			err = ErrTruncatedRead
		}
		return n, err
	}
	n, err := io.Copy(w, io.NewSectionReader(r.File, r.Position, r.Size))
	if err == nil && n < r.Size {
		err = ErrTruncatedRead
	}
	return n, err
}

// The ListOffsets special timestamps (ListOffsetsRequest's constants).
const (
	LatestTimestamp                int64 = -1
	EarliestTimestamp              int64 = -2
	MaxTimestampSpec               int64 = -3 // KIP-734
	EarliestLocalTimestamp         int64 = -4 // KIP-405; no tiered storage here, so the log start
	LatestTieredTimestamp          int64 = -5 // KIP-1005; no tiered storage: offset -1
	EarliestPendingUploadTimestamp int64 = -6 // KIP-1023; no tiered storage: offset -1
)

// OffsetForTimestamp answers ListOffsets as Kafka's
// UnifiedLog.fetchOffsetByTimestamp does:
//
//   - EarliestTimestamp, EarliestLocalTimestamp: the log start offset, with
//     the first cached epoch if it starts there or before;
//   - LatestTimestamp: the log end offset and the latest epoch (the
//     handler substitutes the high watermark or last stable offset for
//     consumers);
//   - MaxTimestampSpec: the first record carrying the largest timestamp
//     in the log, and its batch's epoch;
//   - LatestTieredTimestamp, EarliestPendingUploadTimestamp: offset -1,
//     epoch -1 (no tiered storage);
//   - ts >= 0: the first record at or after the log start offset whose
//     timestamp is >= ts, found through the time index of the first
//     segment whose largest timestamp reaches ts and a scan of that
//     segment's batches and records; found=false if no record is that
//     late.
//
// timestamp is -1 for the special values. leaderEpoch is -1 when unknown.
func (l *Log) OffsetForTimestamp(ts int64) (offset, timestamp int64, leaderEpoch int32, found bool, err error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return -1, -1, -1, false, ErrLogClosed
	}
	start := l.logStart.Load()
	switch {
	case ts == EarliestTimestamp || ts == EarliestLocalTimestamp:
		epoch := UndefinedEpoch
		if e, ok := l.epochs.earliest(); ok && e.StartOffset <= start {
			epoch = e.Epoch
		}
		return start, -1, epoch, true, nil
	case ts == LatestTimestamp:
		epoch := UndefinedEpoch
		if e, ok := l.epochs.latest(); ok {
			epoch = e.Epoch
		}
		return l.leo.Load(), -1, epoch, true, nil
	case ts == LatestTieredTimestamp || ts == EarliestPendingUploadTimestamp:
		return -1, -1, -1, true, nil
	case ts == MaxTimestampSpec:
		return l.maxTimestampOffsetLocked()
	case ts < 0:
		return -1, -1, -1, false, nil
	}
	for _, s := range l.segments {
		if s.size.Load() > 0 && s.largestTimestamp() >= ts {
			return s.findOffsetByTimestamp(ts, start)
		}
	}
	return -1, -1, -1, false, nil
}

// maxTimestampOffsetLocked is KIP-734's MAX_TIMESTAMP lookup.
func (l *Log) maxTimestampOffsetLocked() (offset, timestamp int64, leaderEpoch int32, found bool, err error) {
	var best *segment
	bestTs, bestOff := int64(-1), int64(0)
	for _, s := range l.segments {
		ts, off := s.maxTimestamp()
		if s.size.Load() > 0 && (best == nil || ts > bestTs) {
			best, bestTs, bestOff = s, ts, off
		}
	}
	if best == nil || bestTs < 0 {
		return -1, -1, -1, false, nil
	}
	_, pos, err := best.offIdx.view().lookup(bestOff)
	if err != nil {
		return -1, -1, -1, false, err
	}
	size := best.size.Load()
	r := newHeaderReader(best.log, size)
	defer r.release()
	for pos < size {
		h, err := r.at(pos)
		if err != nil {
			return -1, -1, -1, false, err
		}
		if h.MaxTimestamp() == bestTs {
			b, _, err := best.readBatch(pos, h, nil)
			if err != nil {
				return -1, -1, -1, false, err
			}
			off, ok, err := firstRecordWithTimestamp(b, bestTs)
			if err != nil || !ok {
				return -1, -1, -1, false, err
			}
			return off, bestTs, epochOrUndefined(b.PartitionLeaderEpoch()), true, nil
		}
		pos += batchSize(h)
	}
	return -1, -1, -1, false, nil
}

// findOffsetByTimestamp is Kafka's LogSegment.findOffsetByTimestamp: the
// first record at or after startingOffset whose timestamp is >= ts. The
// caller holds Log.mu.
func (s *segment) findOffsetByTimestamp(ts, startingOffset int64) (offset, timestamp int64, leaderEpoch int32, found bool, err error) {
	indexedTs, indexed, err := s.timeIdx.view().lookup(ts)
	if err != nil {
		return -1, -1, -1, false, err
	}
	size := s.size.Load()
	r := newHeaderReader(s.log, size)
	defer r.release()
	if indexed != s.base {
		// The entry says the batch ending at indexed carries indexedTs as
		// its max timestamp; skip the records before it only if the log
		// agrees (see indexedPosition). Any entry is checked, whatever its
		// timestamp: a damaged one may hold a negative timestamp and a
		// large offset, and skipping to that offset would miss the answer.
		_, h, found, err := s.findBatch(r, indexed)
		if err != nil {
			return -1, -1, -1, false, err
		}
		if !found || h.LastOffset() != indexed || h.MaxTimestamp() != indexedTs {
			indexed = s.base
		}
	}
	entryOff, entryPos, err := s.offIdx.view().lookup(max(indexed, startingOffset))
	if err != nil {
		return -1, -1, -1, false, err
	}
	pos := s.indexedPosition(r, entryOff, entryPos)
	var buf []byte
	for pos < size {
		h, err := r.at(pos)
		if err != nil {
			return -1, -1, -1, false, err
		}
		size := batchSize(h)
		if h.MaxTimestamp() >= ts && h.LastOffset() >= startingOffset {
			var b record.Batch
			b, buf, err = s.readBatch(pos, h, buf)
			if err != nil {
				return -1, -1, -1, false, err
			}
			var recTs int64
			var ok bool
			err = b.Records(func(rec *record.Record) error {
				if rec.Timestamp >= ts && rec.Offset >= startingOffset {
					offset, recTs, ok = rec.Offset, rec.Timestamp, true
					return errStopRecords
				}
				return nil
			})
			if err != nil && err != errStopRecords {
				return -1, -1, -1, false, fmt.Errorf("%w: batch at %d of %s: %w", ErrCorruptSegment, pos, s.log.Name(), err)
			}
			if ok {
				return offset, recTs, epochOrUndefined(b.PartitionLeaderEpoch()), true, nil
			}
		}
		pos += size
	}
	return -1, -1, -1, false, nil
}

var errStopRecords = errors.New("storage: stop")

// firstRecordWithTimestamp returns the offset of the first record of b
// whose timestamp is ts (Kafka's RecordBatch.offsetOfMaxTimestamp).
func firstRecordWithTimestamp(b record.Batch, ts int64) (int64, bool, error) {
	var off int64
	var ok bool
	err := b.Records(func(rec *record.Record) error {
		if rec.Timestamp == ts {
			off, ok = rec.Offset, true
			return errStopRecords
		}
		return nil
	})
	if err != nil && err != errStopRecords {
		return 0, false, fmt.Errorf("%w: %w", ErrCorruptSegment, err)
	}
	return off, ok, nil
}

func epochOrUndefined(e int32) int32 {
	if e < 0 {
		return UndefinedEpoch
	}
	return e
}

// CollectAbortedTxns returns the aborted transactions overlapping
// [fetchOffset, upperBound), reading the transaction indexes from the
// segment holding fetchOffset onwards until one proves the search
// complete (Kafka's collectAbortedTransactions). A read_committed fetch
// passes the offset range it returns.
func (l *Log) CollectAbortedTxns(fetchOffset, upperBound int64) ([]AbortedTxn, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, ErrLogClosed
	}
	var out []AbortedTxn
	for i := max(l.floorSegmentLocked(fetchOffset), 0); i < len(l.segments); i++ {
		var complete bool
		out, complete = l.segments[i].txnIdx.collect(out, fetchOffset, upperBound)
		if complete {
			break
		}
	}
	return out, nil
}
