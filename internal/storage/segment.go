package storage

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/samsa-streaming/samsa/internal/record"
)

// File name suffixes, as Kafka names them.
const (
	logSuffix       = ".log"
	indexSuffix     = ".index"
	timeIndexSuffix = ".timeindex"
	txnIndexSuffix  = ".txnindex"

	deletedSuffix = ".deleted" // segment removed from the log, file kept until file.delete.delay.ms
	cleanedSuffix = ".cleaned" // cleaner output not yet swapped in (discarded on Open)
	swapSuffix    = ".swap"    // cleaner output being swapped in (completed on Open)
)

// segmentFileName returns Kafka's name for a segment file: the base offset
// in 20 zero-padded digits, then the suffix.
func segmentFileName(base int64, suffix string) string {
	return fmt.Sprintf("%020d%s", base, suffix)
}

// parseSegmentFileName splits "00000000000000000042.log" into 42 and
// ".log". Names that do not start with 20 digits return ok=false.
func parseSegmentFileName(name string) (base int64, suffix string, ok bool) {
	if len(name) < 21 || name[20] != '.' {
		return 0, "", false
	}
	v, err := strconv.ParseInt(name[:20], 10, 64)
	if err != nil || v < 0 {
		return 0, "", false
	}
	return v, name[20:], true
}

// segment is one segment of a partition log: the .log file of whole
// batches and its three indexes. Its methods are called by the owning Log,
// which provides the locking: fields marked "appender" belong to whoever
// holds the Log's append lock (or to Open, which owns the segment
// exclusively). size is published atomically by the appender after the
// bytes are written, so readers never look past whole batches; maxTs and
// offsetOfMaxTs are written by the appender under tsMu and read by others
// under it.
type segment struct {
	base    int64
	dir     string
	log     *os.File
	offIdx  *offsetIndex
	timeIdx *timeIndex
	txnIdx  *txnIndex

	size atomic.Int64 // bytes of whole, published batches

	tsMu          sync.Mutex
	maxTs         int64 // guarded by tsMu (the appender may read it without): largest batch max timestamp, -1 if none
	offsetOfMaxTs int64 // guarded by tsMu (likewise): last offset of the batch carrying maxTs

	fileSize        int64  // appender: physical length of .log (above size when preallocated)
	bytesSinceIndex int64  // appender: log bytes appended since the last offset index entry
	rollingTs       int64  // appender: max timestamp of the first batch, -1 if none or unknown
	rollingTsLoaded bool   // appender: rollingTs is known (loaded lazily after Open)
	createdMs       int64  // appender: when this segment object was created
	jitterMs        int64  // appender: segment.jitter.ms draw for this segment
	suffix          string // appender: "" or deletedSuffix once renamed for deletion
	// openEnd is set by openSegment's sanity check, for Open alone: the
	// offset after the last batch, found by walking the headers after
	// the last offset index entry with the reader the check already
	// filled; -1 if unknown (no index entry, or the tail did not parse).
	openEnd int64

	// finishedUnsynced is set once the segment has been finished (its
	// final time index entry written, its files trimmed) and cleared by
	// the first flush that fsyncs it afterwards. A roll right after a
	// flush finishes a segment the recovery point has already passed; a
	// flush must sync it anyway, or Open could trust (without a scan) a
	// segment whose final time index entry or trimmed length was lost.
	finishedUnsynced atomic.Bool

	deletedFlag // set once the segment is removed from its log
}

func (s *segment) path(suffix string) string {
	return filepath.Join(s.dir, segmentFileName(s.base, suffix)+s.suffix)
}

func rollJitter(cfg LogConfig) int64 {
	if cfg.SegmentJitterMs <= 0 {
		return 0
	}
	return rand.Int64N(min(cfg.SegmentJitterMs, cfg.SegmentMs))
}

// createSegment creates a fresh, empty, active segment at base,
// replacing any files a previous incarnation left with the same name.
func createSegment(dir string, base int64, cfg LogConfig, nowMs int64) (s *segment, err error) {
	s = &segment{base: base, dir: dir, maxTs: -1, offsetOfMaxTs: base, rollingTs: -1, rollingTsLoaded: true, createdMs: nowMs, jitterMs: rollJitter(cfg)}
	defer func() {
		if err != nil {
			s.closeFiles()
		}
	}()
	if s.log, err = os.OpenFile(s.path(logSuffix), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644); err != nil {
		return nil, err
	}
	if cfg.Preallocate {
		if err := preallocate(s.log, int64(cfg.SegmentBytes)); err != nil {
			return nil, fmt.Errorf("preallocate %s: %w", s.log.Name(), err)
		}
		s.fileSize = int64(cfg.SegmentBytes)
	}
	for _, suffix := range []string{indexSuffix, timeIndexSuffix, txnIndexSuffix} {
		if err := os.Remove(s.path(suffix)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if s.offIdx, err = openOffsetIndex(s.path(indexSuffix), base, true); err != nil {
		return nil, err
	}
	if s.timeIdx, err = openTimeIndex(s.path(timeIndexSuffix), base, true); err != nil {
		return nil, err
	}
	if s.txnIdx, err = openTxnIndex(s.path(txnIndexSuffix), base); err != nil {
		return nil, err
	}
	if err := s.offIdx.activate(cfg.SegmentIndexBytes); err != nil {
		return nil, err
	}
	if err := s.timeIdx.activate(cfg.SegmentIndexBytes); err != nil {
		return nil, err
	}
	return s, nil
}

// preallocate reserves n bytes for f (Kafka's preallocate). fallocate
// gives real blocks where the file system supports it; otherwise the file
// is just extended (sparse), which is what Kafka's setLength does.
func preallocate(f *os.File, n int64) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fallocate(int(fd), n) }); err != nil {
		return err
	}
	if ferr == nil {
		return nil
	}
	return f.Truncate(n)
}

// openSegment opens the files of an existing segment. A missing or
// malformed index is not an error here: it comes back as needRebuild (with
// the reason), and the caller recovers the segment, which rebuilds every
// index from the log.
func openSegment(dir string, base int64, nowMs int64, cfg LogConfig) (s *segment, needRebuild error, err error) {
	s = &segment{base: base, dir: dir, maxTs: -1, offsetOfMaxTs: base, rollingTs: -1, createdMs: nowMs, jitterMs: rollJitter(cfg), openEnd: -1}
	defer func() {
		if err != nil {
			s.closeFiles()
		}
	}()
	if s.log, err = os.OpenFile(s.path(logSuffix), os.O_RDWR, 0o644); err != nil {
		return nil, nil, err
	}
	st, err := s.log.Stat()
	if err != nil {
		return nil, nil, err
	}
	s.size.Store(st.Size())
	s.fileSize = st.Size()
	if st.Size() > int64(^uint32(0)>>1) {
		return nil, nil, fmt.Errorf("%w: %s is larger than 2 GiB", ErrCorruptSegment, s.log.Name())
	}
	note := func(e error) {
		if needRebuild == nil {
			needRebuild = e
		}
	}
	for _, suffix := range []string{indexSuffix, timeIndexSuffix} {
		if _, serr := os.Stat(s.path(suffix)); errors.Is(serr, fs.ErrNotExist) {
			note(fmt.Errorf("%w: %s is missing", ErrCorruptIndex, s.path(suffix)))
		}
	}
	var ierr error
	if s.offIdx, ierr = openOffsetIndex(s.path(indexSuffix), base, true); s.offIdx == nil {
		return nil, nil, ierr
	}
	note(ierr)
	if s.timeIdx, ierr = openTimeIndex(s.path(timeIndexSuffix), base, true); s.timeIdx == nil {
		return nil, nil, ierr
	}
	note(ierr)
	if s.txnIdx, ierr = openTxnIndex(s.path(txnIndexSuffix), base); s.txnIdx == nil {
		return nil, nil, ierr
	}
	note(ierr)
	if needRebuild == nil {
		note(s.sanityCheck())
	}
	if needRebuild == nil && s.timeIdx.count() > 0 {
		s.maxTs, s.offsetOfMaxTs = s.timeIdx.lastTs, s.timeIdx.lastOff
	}
	return s, needRebuild, nil
}

// sanityCheck is Kafka's cheap index check, made a little stronger: the
// last offset index entry must point inside the log at a batch header
// whose last offset is the entry's offset, and the time index must be
// ordered at its ends and point inside the segment's offset range. It
// costs a few small preads, never a scan.
func (s *segment) sanityCheck() error {
	size := s.size.Load()
	ov, tv := s.offIdx.view(), s.timeIdx.view()
	if n := ov.n; n > 0 {
		off, pos, err := ov.entry(n - 1)
		if err != nil {
			return err
		}
		if off < s.base || pos < 0 || pos >= size {
			return fmt.Errorf("%w: %s: last entry (%d, %d) outside the segment (base %d, %d bytes)", ErrCorruptIndex, s.offIdx.path, off, pos, s.base, size)
		}
		r := newHeaderReader(s.log, size)
		h, err := r.at(pos)
		ok := err == nil && h.LastOffset() == off
		if ok {
			s.openEnd = walkToEnd(r, pos)
		}
		r.release()
		if !ok {
			return fmt.Errorf("%w: %s: last entry (%d, %d) does not point at the batch ending at %d", ErrCorruptIndex, s.offIdx.path, off, pos, off)
		}
		if n > 1 {
			o0, p0, err := ov.entry(0)
			if err != nil {
				return err
			}
			if o0 < s.base || o0 >= off || p0 < 0 || p0 >= pos {
				return fmt.Errorf("%w: %s: first entry (%d, %d) not below last (%d, %d)", ErrCorruptIndex, s.offIdx.path, o0, p0, off, pos)
			}
		}
	}
	if n := tv.n; n > 0 {
		ts0, off0, err := tv.entry(0)
		if err != nil {
			return err
		}
		ts, off := s.timeIdx.lastTs, s.timeIdx.lastOff
		if off < s.base || off0 < s.base || ts < ts0 || off < off0 || (n > 1 && ts == ts0) || ts < 0 {
			return fmt.Errorf("%w: %s: entries (%d, %d) .. (%d, %d) out of order", ErrCorruptIndex, s.timeIdx.path, ts0, off0, ts, off)
		}
		if size == 0 {
			return fmt.Errorf("%w: %s has entries for an empty segment", ErrCorruptIndex, s.timeIdx.path)
		}
		if !s.confirmTimeEntry(ov, ts, off) {
			return fmt.Errorf("%w: %s: last entry (%d, %d) is not the max timestamp of the batch ending at %d", ErrCorruptIndex, s.timeIdx.path, ts, off, off)
		}
	}
	return nil
}

// confirmTimeEntry reports whether the batch ending at offset carries ts
// as its max timestamp, as the time index's last entry claims. That entry
// becomes the segment's largest timestamp, which retention.ms and
// ListOffsets trust, so an entry that is ordered but wrong (a zeroed
// block, a damaged timestamp) must not pass. It usually costs one read:
// the entry normally names a batch after the last offset index entry,
// already confirmed, and the scan starts there; otherwise the offset
// index is searched.
func (s *segment) confirmTimeEntry(ov offsetView, ts, offset int64) bool {
	r := newHeaderReader(s.log, s.size.Load())
	defer r.release()
	pos := int64(0)
	if ov.n > 0 {
		lastOff, lastPos, err := ov.entry(ov.n - 1)
		if err != nil {
			return false
		}
		if offset >= lastOff {
			pos = lastPos
		} else {
			entryOff, entryPos, err := ov.lookup(offset)
			if err != nil {
				return false
			}
			pos = s.indexedPosition(r, entryOff, entryPos)
		}
	}
	for pos < r.limit {
		h, err := r.at(pos)
		if err != nil {
			return false
		}
		if h.LastOffset() >= offset {
			return h.LastOffset() == offset && h.MaxTimestamp() == ts
		}
		pos += batchSize(h)
	}
	return false
}

// readBatch reads the whole batch at pos, whose header h the caller has
// already seen, into buf (grown if needed) and returns it.
func (s *segment) readBatch(pos int64, h record.Batch, buf []byte) (record.Batch, []byte, error) {
	size := int(batchSize(h))
	if cap(buf) < size {
		buf = make([]byte, size)
	}
	buf = buf[:size]
	if _, err := s.log.ReadAt(buf, pos); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, buf, fmt.Errorf("read batch at %d of %s: %w", pos, s.log.Name(), err)
	}
	return record.Batch(buf), buf, nil
}

// findBatch returns the position and header of the first batch whose last
// offset is >= offset, scanning forward from the offset index's entry for
// it, or found=false if the segment has no such batch. The caller holds
// Log.mu (shared or exclusive) or is the appender, and passes a
// headerReader bounded by a size it loaded.
func (s *segment) findBatch(r *headerReader, offset int64) (pos int64, h record.Batch, found bool, err error) {
	entryOff, entryPos, err := s.offIdx.view().lookup(offset)
	if err != nil {
		return 0, nil, false, err
	}
	pos = s.indexedPosition(r, entryOff, entryPos)
	for pos < r.limit {
		h, err = r.at(pos)
		if err != nil {
			return 0, nil, false, err
		}
		if h.LastOffset() >= offset {
			return pos, h, true, nil
		}
		pos += batchSize(h)
	}
	return 0, nil, false, nil
}

// indexedPosition returns the position an offset index lookup gave if
// the batch header there confirms the entry (the batch at that position
// ends at the entry's offset), else 0. Open's sanity check only looks at
// an index's ends; this makes a lookup that hits a damaged interior entry
// fall back to scanning the segment from its start instead of parsing
// garbage as a batch.
func (s *segment) indexedPosition(r *headerReader, offset, pos int64) int64 {
	if pos == 0 {
		return 0
	}
	if h, err := r.at(pos); err == nil && h.LastOffset() == offset {
		return pos
	}
	return 0
}

// nextOffset returns the offset after the segment's last batch (its base
// offset when empty), scanning from the last offset index entry. The
// caller holds Log.mu or owns the segment.
func (s *segment) nextOffset() (int64, error) {
	next := s.base
	pos := int64(0)
	size := s.size.Load()
	if v := s.offIdx.view(); v.n > 0 {
		var err error
		if _, pos, err = v.entry(v.n - 1); err != nil {
			return 0, err
		}
	}
	r := newHeaderReader(s.log, size)
	defer r.release()
	for pos < size {
		h, err := r.at(pos)
		if err != nil {
			return 0, err
		}
		next = h.NextOffset()
		pos += batchSize(h)
	}
	return next, nil
}

// walkToEnd walks the batch headers from pos, which starts a batch, to
// the reader's limit and returns the offset after the last batch, or -1
// if a header does not parse.
func walkToEnd(r *headerReader, pos int64) int64 {
	next := int64(-1)
	for pos < r.limit {
		h, err := r.at(pos)
		if err != nil {
			return -1
		}
		next = h.NextOffset()
		pos += batchSize(h)
	}
	return next
}

// scanTail walks the batch headers after the last offset index entry to
// the end of the segment, to find the next offset and fold their
// timestamps into maxTs. It is the whole cost of opening a cleanly closed
// segment (Kafka's readNextOffset plus readLargestTimestamp). The caller
// owns the segment.
func (s *segment) scanTail() (next int64, err error) {
	next = s.base
	pos := int64(0)
	size := s.size.Load()
	if v := s.offIdx.view(); v.n > 0 {
		if _, pos, err = v.entry(v.n - 1); err != nil {
			return 0, err
		}
	}
	r := newHeaderReader(s.log, size)
	defer r.release()
	for pos < size {
		h, err := r.at(pos)
		if err != nil {
			return 0, err
		}
		if h.MaxTimestamp() > s.maxTs {
			s.maxTs, s.offsetOfMaxTs = h.MaxTimestamp(), h.LastOffset()
		}
		next = h.NextOffset()
		pos += batchSize(h)
	}
	return next, nil
}

// loadRollingTs reads the first batch's max timestamp, which segment.ms
// measures from (Kafka's rollingBasedTimestamp). Appender only.
func (s *segment) loadRollingTs() {
	if s.rollingTsLoaded {
		return
	}
	s.rollingTsLoaded = true
	size := s.size.Load()
	if size == 0 {
		return
	}
	r := newHeaderReader(s.log, size)
	defer r.release()
	if h, err := r.at(0); err == nil {
		s.rollingTs = h.MaxTimestamp()
	}
}

// timeWaitedForRoll is how long, for segment.ms purposes, this segment has
// been open: the spread between the incoming batch's timestamp and the
// first batch's when timestamps are known, else wall-clock time since the
// segment was created (Kafka's LogSegment.timeWaitedForRoll). Appender
// only.
func (s *segment) timeWaitedForRoll(nowMs, messageTs int64) int64 {
	s.loadRollingTs()
	if s.rollingTs >= 0 {
		return messageTs - s.rollingTs
	}
	return nowMs - s.createdMs
}

// maxTimestamp returns the largest batch max timestamp and the last
// offset of the batch carrying it.
func (s *segment) maxTimestamp() (ts, offset int64) {
	s.tsMu.Lock()
	defer s.tsMu.Unlock()
	return s.maxTs, s.offsetOfMaxTs
}

// setMaxTimestamp is the appender's (or recovery's) update of both.
func (s *segment) setMaxTimestamp(ts, offset int64) {
	s.tsMu.Lock()
	s.maxTs, s.offsetOfMaxTs = ts, offset
	s.tsMu.Unlock()
}

// largestTimestamp is what retention.ms compares: the largest record
// timestamp, or the file's modification time when no batch has one
// (Kafka's LogSegment.largestTimestamp).
func (s *segment) largestTimestamp() int64 {
	if ts, _ := s.maxTimestamp(); ts >= 0 {
		return ts
	}
	st, err := s.log.Stat()
	if err != nil {
		return 0
	}
	return st.ModTime().UnixMilli()
}

// indexAppended folds the batches of data, just written at pos, into the
// segment's max timestamp and indexes, adding an offset index entry (and
// a time index entry) whenever more than index.interval.bytes have been
// appended since the last one. Index entries are skipped, never failed,
// when an index is full: a sparser index is still correct. Appender only
// (or recovery); data holds only whole, validated batches.
func (s *segment) indexAppended(data []byte, pos int64, interval int64) error {
	maxTs, offOfMax := s.maxTs, s.offsetOfMaxTs
	defer func() {
		if maxTs != s.maxTs || offOfMax != s.offsetOfMaxTs {
			s.setMaxTimestamp(maxTs, offOfMax)
		}
	}()
	for len(data) > 0 {
		b := record.Batch(data[:record.Batch(data).Size()])
		size := int64(len(b))
		if ts := b.MaxTimestamp(); ts > maxTs {
			maxTs, offOfMax = ts, b.LastOffset()
		}
		if s.bytesSinceIndex > interval {
			if !s.offIdx.isFull() {
				if err := s.offIdx.append(b.LastOffset(), pos); err != nil {
					return err
				}
			}
			if !s.timeIdx.isFull() {
				if err := s.timeIdx.maybeAppend(maxTs, offOfMax, false); err != nil {
					return err
				}
			}
			s.bytesSinceIndex = 0
		}
		s.bytesSinceIndex += size
		pos += size
		data = data[size:]
	}
	return nil
}

// becomeInactive finishes a segment that stops being the active one (roll
// or close; Kafka's onBecomeInactiveSegment): record its max timestamp in
// the time index (using the reserved slot), trim both indexes and the .log
// to their real sizes. The caller holds the append lock; it then calls
// deactivateLocked under Log.mu to drop the resident index copies.
func (s *segment) becomeInactive() error {
	if !s.offIdx.resident() {
		return nil // already inactive
	}
	if err := s.timeIdx.maybeAppend(s.maxTs, s.offsetOfMaxTs, true); err != nil {
		return err
	}
	if err := s.offIdx.trim(); err != nil {
		return err
	}
	if err := s.timeIdx.trim(); err != nil {
		return err
	}
	return s.trimLog()
}

// trimLog cuts preallocated space off the .log file.
func (s *segment) trimLog() error {
	if size := s.size.Load(); s.fileSize > size {
		if err := s.log.Truncate(size); err != nil {
			return fmt.Errorf("trim %s: %w", s.log.Name(), err)
		}
		s.fileSize = size
	}
	return nil
}

// releaseIndexes closes the index descriptors of an inactive segment; the
// caller owns the segment (Open).
func (s *segment) releaseIndexes() error {
	return errors.Join(s.offIdx.release(), s.timeIdx.release())
}

// deactivateLocked drops the resident index copies; the caller holds
// Log.mu for writing.
func (s *segment) deactivateLocked() {
	s.offIdx.deactivate()
	s.timeIdx.deactivate()
}

// activate makes a segment the active one: resident, preallocated indexes
// (Kafka resizes them to segment.index.bytes). The caller holds Log.mu
// for writing, or owns the segment.
func (s *segment) activate(cfg LogConfig) error {
	if err := s.offIdx.activate(cfg.SegmentIndexBytes); err != nil {
		return err
	}
	return s.timeIdx.activate(cfg.SegmentIndexBytes)
}

// syncFiles fsyncs the log and index files, first writing back index
// entries (views taken by the caller under Log.mu).
func (s *segment) syncFiles(off, tim idxView) error {
	if err := s.offIdx.writeBack(off); err != nil {
		return err
	}
	if err := s.timeIdx.writeBack(tim); err != nil {
		return err
	}
	if err := fsync(s.log, s.log.Name()); err != nil {
		return err
	}
	if err := s.offIdx.sync(); err != nil {
		return err
	}
	if err := s.timeIdx.sync(); err != nil {
		return err
	}
	if err := s.txnIdx.sync(); err != nil {
		return err
	}
	if testHookSynced != nil {
		testHookSynced(s)
	}
	return nil
}

// testHookSynced, when set by a test, is called after syncFiles has
// fsynced a segment's files.
var testHookSynced func(s *segment)

// renameForDeletion renames every file of the segment to its .deleted
// name; the open descriptors stay valid, so in-flight reads continue.
func (s *segment) renameForDeletion() error {
	if err := os.Rename(s.path(logSuffix), s.path(logSuffix)+deletedSuffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := s.offIdx.renameTo(s.path(indexSuffix) + deletedSuffix); err != nil {
		return err
	}
	if err := s.timeIdx.renameTo(s.path(timeIndexSuffix) + deletedSuffix); err != nil {
		return err
	}
	if err := s.txnIdx.rename(s.path(txnIndexSuffix) + deletedSuffix); err != nil {
		return err
	}
	s.suffix = deletedSuffix
	return nil
}

// closeFiles closes every open descriptor, ignoring errors (used on
// failure paths and after renaming for deletion).
func (s *segment) closeFiles() {
	if s.log != nil {
		s.log.Close()
	}
	if s.offIdx != nil {
		s.offIdx.close()
	}
	if s.timeIdx != nil {
		s.timeIdx.close()
	}
	if s.txnIdx != nil {
		s.txnIdx.close()
	}
}

// close closes the descriptors, reporting the first error.
func (s *segment) close() error {
	var errs []error
	errs = append(errs, s.log.Close(), s.offIdx.close(), s.timeIdx.close(), s.txnIdx.close())
	return errors.Join(errs...)
}

// removeFiles closes the descriptors and deletes the files under their
// current names.
func (s *segment) removeFiles() error {
	s.closeFiles()
	var errs []error
	for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
		if err := os.Remove(s.path(suffix)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := s.txnIdx.remove(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// deletedFlag is embedded in segment so that a flush racing with
// retention can tell a file closed by deletion from a failure.
type deletedFlag struct{ deleted atomic.Bool }

// isSegmentFile reports whether name is a live segment file of any kind.
func isSegmentFile(suffix string) bool {
	switch suffix {
	case logSuffix, indexSuffix, timeIndexSuffix, txnIndexSuffix:
		return true
	}
	return false
}
