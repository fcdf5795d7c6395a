package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"sync"
	"sync/atomic"
)

// Sizes of one entry in each fixed-width index file (see doc.go).
const (
	offsetEntrySize = 8  // relative offset int32, position int32
	timeEntrySize   = 12 // timestamp int64, relative offset int32
)

// index is the machinery .index and .timeindex share: a file of
// fixed-size big-endian entries, preallocated (sparse) to
// segment.index.bytes while its segment is active and trimmed to exactly
// its entries when the segment is rolled or closed, as Kafka does.
//
// While the segment is active the entries are also held in memory, the
// authoritative copy: appends touch only memory (the file is written back
// lazily by writeBack on flush, roll and close, since index contents only
// need to be durable once the recovery point passes them, and recovery
// rebuilds the indexes of anything above it). Lookups on an active index
// binary-search memory; lookups on an inactive one binary-search the file
// with one pread per probe, so memory stays proportional to the active
// segments rather than to the whole log, and no file is ever
// memory-mapped (nothing can fault on a truncated or unmapped region).
// An inactive index's descriptor is opened on first use and kept (Kafka's
// LazyIndex): Open closes those of every inactive segment after checking
// them, so a log costs one descriptor per segment plus those of segments
// actually read.
//
// Concurrency. The appender publishes entries without any lock readers
// take: it writes an entry's bytes beyond the published count (growing
// into a new buffer when full), stores the buffer, then stores the count;
// a reader loads the count, then the buffer (view), and only reads below
// the count. Structural changes — truncation, dropping or loading the
// resident copy — happen only under the owning Log's mu held exclusively,
// which readers hold shared for the whole lookup. maxEntries belongs to
// the appender (and to those structural changes). written and the file
// handle are guarded by fileMu (the handle also has an atomic fast path).
type index struct {
	path      string // guarded by fileMu after open
	base      int64
	entrySize int

	n          atomic.Int64           // published entry count
	mem        atomic.Pointer[[]byte] // resident entries (len is the capacity), nil when inactive
	maxEntries int                    // appender

	fileMu  sync.Mutex
	file    atomic.Pointer[os.File] // written under fileMu; nil while closed
	written int                     // guarded by fileMu: entries [0, written) are in the file
	closed  bool                    // guarded by fileMu: closed for good (close), never reopened
}

// idxView is a consistent snapshot of an index for one lookup: entries
// [0, n), resident in mem or (mem == nil) read from the file.
type idxView struct {
	x   *index
	n   int
	mem []byte
}

// view loads the count, then the buffer (see index for why this order).
// The caller holds the Log's mu (shared or exclusive) or is the appender.
func (x *index) view() idxView {
	v := idxView{x: x, n: int(x.n.Load())}
	if p := x.mem.Load(); p != nil {
		v.mem = *p
	}
	return v
}

func (x *index) count() int { return int(x.n.Load()) }

func (x *index) resident() bool { return x.mem.Load() != nil }

// open opens (creating if absent and create is set) an index file and
// counts its entries from its size. A size that is not a multiple of the
// entry size is reported as ErrCorruptIndex with the file still open (the
// caller rebuilds the index); any other error leaves x without a file.
func (x *index) open(path string, base int64, entrySize int, create bool) error {
	flag := os.O_RDWR
	if create {
		flag |= os.O_CREATE
	}
	f, err := os.OpenFile(path, flag, 0o644)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	x.path, x.base, x.entrySize = path, base, entrySize
	x.file.Store(f)
	size := st.Size()
	if size%int64(entrySize) != 0 {
		return fmt.Errorf("%w: %s has %d bytes, not a multiple of %d", ErrCorruptIndex, path, size, entrySize)
	}
	if size/int64(entrySize) > math.MaxInt32 {
		return fmt.Errorf("%w: %s is implausibly large (%d bytes)", ErrCorruptIndex, path, size)
	}
	n := int(size / int64(entrySize))
	x.n.Store(int64(n))
	x.maxEntries = n
	x.written = n
	return nil
}

// handle returns the open file, opening it if needed.
func (x *index) handle() (*os.File, error) {
	if f := x.file.Load(); f != nil {
		return f, nil
	}
	x.fileMu.Lock()
	defer x.fileMu.Unlock()
	return x.handleLocked()
}

func (x *index) handleLocked() (*os.File, error) {
	if f := x.file.Load(); f != nil {
		return f, nil
	}
	if x.closed {
		// A flush that took the segment before it was deleted must not
		// reopen (and leak) the file its delayed deletion closed.
		return nil, fmt.Errorf("index %s: %w", x.path, os.ErrClosed)
	}
	f, err := os.OpenFile(x.path, os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	x.file.Store(f)
	return f, nil
}

// release closes the descriptor of an inactive index; the next lookup
// reopens it. The caller guarantees no lookup is running (it owns the
// segment, as Open does, or the segment has left its log).
func (x *index) release() error {
	x.fileMu.Lock()
	defer x.fileMu.Unlock()
	if f := x.file.Swap(nil); f != nil {
		return f.Close()
	}
	return nil
}

// entryBytes returns entry i: a slice of the resident copy, else read from
// the file into buf.
func (v idxView) entryBytes(i int, buf []byte) ([]byte, error) {
	es := v.x.entrySize
	off := i * es
	if v.mem != nil {
		return v.mem[off : off+es], nil
	}
	f, err := v.x.handle()
	if err != nil {
		return nil, err
	}
	if _, err := f.ReadAt(buf[:es], int64(off)); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("read index entry %d of %s: %w", i, f.Name(), err)
	}
	return buf[:es], nil
}

// search returns the largest slot in [0, n) whose key is <= target, or -1.
// Keys must be non-decreasing in slot order (offsets, positions and
// timestamps all are). It costs O(log n) entry reads.
func (v idxView) search(target int64, key func(e []byte) int64) (int, error) {
	var buf [timeEntrySize]byte
	lo, hi := 0, v.n // first slot with key > target lies in [lo, hi]
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		e, err := v.entryBytes(mid, buf[:])
		if err != nil {
			return -1, err
		}
		if key(e) <= target {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo - 1, nil
}

// appendEntry publishes one encoded entry. Appender only; the index is
// resident and the caller has checked it is not full.
func (x *index) appendEntry(e []byte) {
	n := int(x.n.Load())
	mem := *x.mem.Load()
	end := (n + 1) * x.entrySize
	if end > len(mem) {
		grown := make([]byte, max(2*len(mem), end, 1024))
		copy(grown, mem[:n*x.entrySize])
		x.mem.Store(&grown)
		mem = grown
	}
	copy(mem[n*x.entrySize:end], e)
	x.n.Store(int64(n + 1))
}

// truncateEntries drops entries [n, ...). The caller holds the Log's mu
// exclusively and its flush lock.
func (x *index) truncateEntries(n int) {
	if n >= x.count() {
		return
	}
	x.n.Store(int64(n))
	x.fileMu.Lock()
	x.written = min(x.written, n)
	x.fileMu.Unlock()
}

// writeBack copies entries not yet in the file from v (a view taken under
// the Log's mu) into the file. It does not fsync.
func (x *index) writeBack(v idxView) error {
	x.fileMu.Lock()
	defer x.fileMu.Unlock()
	return x.writeBackLocked(v)
}

func (x *index) writeBackLocked(v idxView) error {
	if v.mem == nil || v.n <= x.written {
		return nil
	}
	f, err := x.handleLocked()
	if err != nil {
		return err
	}
	from, to := x.written*x.entrySize, v.n*x.entrySize
	if _, err := f.WriteAt(v.mem[from:to], int64(from)); err != nil {
		return fmt.Errorf("write index %s: %w", x.path, err)
	}
	x.written = v.n
	return nil
}

// trim writes back pending entries and cuts the file to exactly its
// entries (Kafka's trimToValidSize). Appender only.
func (x *index) trim() error {
	x.fileMu.Lock()
	defer x.fileMu.Unlock()
	v := x.view()
	if err := x.writeBackLocked(v); err != nil {
		return err
	}
	f, err := x.handleLocked()
	if err != nil {
		return err
	}
	if err := f.Truncate(int64(v.n * x.entrySize)); err != nil {
		return fmt.Errorf("trim index %s: %w", x.path, err)
	}
	return nil
}

// activate makes the index resident and preallocates its file to hold
// maxBytes of entries (Kafka's resize to segment.index.bytes when a
// segment becomes the active one). The caller holds the Log's mu
// exclusively, or owns the index (Open).
func (x *index) activate(maxBytes int32) error {
	n := x.count()
	maxEntries := max(int(maxBytes)/x.entrySize, n) // never lose entries by shrinking
	x.fileMu.Lock()
	defer x.fileMu.Unlock()
	f, err := x.handleLocked()
	if err != nil {
		return err
	}
	if !x.resident() {
		mem := make([]byte, max(n*x.entrySize, 1024))
		if n > 0 {
			if _, err := f.ReadAt(mem[:n*x.entrySize], 0); err != nil {
				return fmt.Errorf("load index %s: %w", x.path, err)
			}
		}
		x.mem.Store(&mem)
	}
	if err := x.writeBackLocked(x.view()); err != nil {
		return err
	}
	if err := f.Truncate(int64(maxEntries * x.entrySize)); err != nil {
		return fmt.Errorf("preallocate index %s: %w", x.path, err)
	}
	x.maxEntries = maxEntries
	return nil
}

// deactivate drops the resident copy once trim has put every entry in the
// file; lookups then read the file. The caller holds the Log's mu
// exclusively.
func (x *index) deactivate() {
	x.mem.Store(nil)
	x.maxEntries = x.count()
}

// reset removes every entry (recovery rebuilds from scratch). The caller
// owns the index exclusively.
func (x *index) reset() {
	x.n.Store(0)
	if !x.resident() {
		mem := make([]byte, 1024)
		x.mem.Store(&mem)
	}
	x.fileMu.Lock()
	x.written = 0
	x.fileMu.Unlock()
}

// sync fsyncs the file, reopening a released one: its content may have
// been rebuilt by recovery and not yet made durable.
func (x *index) sync() error {
	x.fileMu.Lock()
	defer x.fileMu.Unlock()
	f, err := x.handleLocked()
	if err != nil {
		return err
	}
	if err := fsync(f, "index "+x.path); err != nil {
		return err
	}
	return nil
}

// renameTo renames the file (open or not) and remembers the new path.
func (x *index) renameTo(path string) error {
	x.fileMu.Lock()
	defer x.fileMu.Unlock()
	if err := os.Rename(x.path, path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	x.path = path
	return nil
}

// close closes the descriptor for good: unlike release, later calls fail
// rather than reopen the file.
func (x *index) close() error {
	x.fileMu.Lock()
	x.closed = true
	x.fileMu.Unlock()
	return x.release()
}

// offsetIndex maps an offset to the file position of the batch holding
// it: entry (relative offset r, position p) says the batch starting at p
// has last offset base+r. It is sparse: one entry per index.interval.bytes
// of log. See index for concurrency.
type offsetIndex struct{ index }

// openOffsetIndex opens an offset index. On ErrCorruptIndex the returned
// index is still usable for a rebuild; on other errors it is nil.
func openOffsetIndex(path string, base int64, create bool) (*offsetIndex, error) {
	x := &offsetIndex{}
	err := x.open(path, base, offsetEntrySize, create)
	if x.file.Load() == nil {
		return nil, err
	}
	return x, err
}

func decodeOffsetEntry(base int64, e []byte) (offset int64, pos int64) {
	return base + int64(int32(binary.BigEndian.Uint32(e))), int64(int32(binary.BigEndian.Uint32(e[4:])))
}

func relOffsetKey(e []byte) int64 { return int64(int32(binary.BigEndian.Uint32(e))) }
func positionKey(e []byte) int64  { return int64(int32(binary.BigEndian.Uint32(e[4:]))) }

// isFull reports whether the index has no free slot. Appender only.
func (x *offsetIndex) isFull() bool { return x.count() >= x.maxEntries }

// canAppendOffset reports whether offset is representable relative to
// the segment's base offset (a non-negative int32 delta).
func (x *offsetIndex) canAppendOffset(offset int64) bool {
	d := offset - x.base
	return d >= 0 && d <= math.MaxInt32
}

// offsetView is a snapshot of an offset index for lookups.
type offsetView struct{ idxView }

func (x *offsetIndex) view() offsetView { return offsetView{x.index.view()} }

// entry returns slot i decoded.
func (v offsetView) entry(i int) (offset, pos int64, err error) {
	var buf [offsetEntrySize]byte
	e, err := v.entryBytes(i, buf[:])
	if err != nil {
		return 0, 0, err
	}
	offset, pos = decodeOffsetEntry(v.x.base, e)
	return offset, pos, nil
}

// lookup returns the entry with the largest offset <= target, or (base,
// 0) when there is none: a position from which a forward scan finds the
// batch holding target.
func (v offsetView) lookup(target int64) (offset, pos int64, err error) {
	slot, err := v.search(target-v.x.base, relOffsetKey)
	if err != nil || slot < 0 {
		return v.x.base, 0, err
	}
	return v.entry(slot)
}

// lookupByPosition returns the entry with the largest position <= pos, or
// (base, 0).
func (v offsetView) lookupByPosition(pos int64) (offset, position int64, err error) {
	slot, err := v.search(pos, positionKey)
	if err != nil || slot < 0 {
		return v.x.base, 0, err
	}
	return v.entry(slot)
}

// append adds (offset, pos). Offsets must strictly increase. Appender
// only.
func (x *offsetIndex) append(offset int64, pos int64) error {
	if !x.canAppendOffset(offset) {
		return fmt.Errorf("%w: offset %d does not fit index of segment %d", ErrCorruptIndex, offset, x.base)
	}
	if v := x.view(); v.n > 0 {
		last, _, err := v.entry(v.n - 1)
		if err != nil {
			return err
		}
		if offset <= last {
			return fmt.Errorf("%w: index offset %d not above last entry %d in segment %d", ErrCorruptIndex, offset, last, x.base)
		}
	}
	var e [offsetEntrySize]byte
	binary.BigEndian.PutUint32(e[:], uint32(offset-x.base))
	binary.BigEndian.PutUint32(e[4:], uint32(pos))
	x.appendEntry(e[:])
	return nil
}

// truncateTo drops every entry whose offset is >= offset. The caller
// holds the Log's mu exclusively and its flush lock.
func (x *offsetIndex) truncateTo(offset int64) error {
	slot, err := x.view().search(offset-x.base-1, relOffsetKey)
	if err != nil {
		return err
	}
	x.truncateEntries(slot + 1)
	return nil
}

// timeIndex maps a timestamp to an offset: entry (t, relative offset r)
// says the largest timestamp in the segment up to the batch whose last
// offset is base+r is t. Entries strictly increase in both fields. The
// last slot is reserved for the entry written when the segment is rolled
// or closed (Kafka's isFull). See index for concurrency.
type timeIndex struct {
	index
	lastTs  int64 // appender: timestamp of the last entry, -1 if none
	lastOff int64 // appender: offset of the last entry, base if none
}

// openTimeIndex opens a time index. On ErrCorruptIndex the returned index
// is still usable for a rebuild; on other errors it is nil.
func openTimeIndex(path string, base int64, create bool) (*timeIndex, error) {
	x := &timeIndex{lastTs: -1, lastOff: base}
	err := x.open(path, base, timeEntrySize, create)
	if x.file.Load() == nil {
		return nil, err
	}
	if err == nil {
		err = x.loadLast()
	}
	return x, err
}

func decodeTimeEntry(base int64, e []byte) (ts, offset int64) {
	return int64(binary.BigEndian.Uint64(e)), base + int64(int32(binary.BigEndian.Uint32(e[8:])))
}

func timestampKey(e []byte) int64  { return int64(binary.BigEndian.Uint64(e)) }
func timeOffsetKey(e []byte) int64 { return int64(int32(binary.BigEndian.Uint32(e[8:]))) }

func (x *timeIndex) loadLast() error {
	x.lastTs, x.lastOff = -1, x.base
	v := x.view()
	if v.n == 0 {
		return nil
	}
	ts, off, err := v.entry(v.n - 1)
	if err != nil {
		return err
	}
	x.lastTs, x.lastOff = ts, off
	return nil
}

// isFull reports whether only the reserved slot is left. Appender only.
func (x *timeIndex) isFull() bool { return x.count() >= x.maxEntries-1 }

// timeView is a snapshot of a time index for lookups.
type timeView struct{ idxView }

func (x *timeIndex) view() timeView { return timeView{x.index.view()} }

func (v timeView) entry(i int) (ts, offset int64, err error) {
	var buf [timeEntrySize]byte
	e, err := v.entryBytes(i, buf[:])
	if err != nil {
		return 0, 0, err
	}
	ts, offset = decodeTimeEntry(v.x.base, e)
	return ts, offset, nil
}

// lookup returns the entry with the largest timestamp <= target, or (-1,
// base) when every entry is later (or there are none).
func (v timeView) lookup(target int64) (ts, offset int64, err error) {
	slot, err := v.search(target, timestampKey)
	if err != nil || slot < 0 {
		return -1, v.x.base, err
	}
	return v.entry(slot)
}

// maybeAppend adds (ts, offset) if ts is above the last entry's
// timestamp. skipFull is set only on roll and close, which use the slot
// isFull reserves. Appender only.
func (x *timeIndex) maybeAppend(ts, offset int64, skipFull bool) error {
	n := x.count()
	if n > 0 && offset < x.lastOff {
		return fmt.Errorf("%w: time index offset %d below last entry %d in segment %d", ErrCorruptIndex, offset, x.lastOff, x.base)
	}
	if ts <= x.lastTs {
		return nil // nothing newer to record (or no timestamp at all)
	}
	if (!skipFull && x.isFull()) || n >= x.maxEntries {
		return fmt.Errorf("%w: time index of segment %d is full", ErrCorruptIndex, x.base)
	}
	d := offset - x.base
	if d < 0 || d > math.MaxInt32 {
		return fmt.Errorf("%w: offset %d does not fit time index of segment %d", ErrCorruptIndex, offset, x.base)
	}
	var e [timeEntrySize]byte
	binary.BigEndian.PutUint64(e[:], uint64(ts))
	binary.BigEndian.PutUint32(e[8:], uint32(d))
	x.appendEntry(e[:])
	x.lastTs, x.lastOff = ts, offset
	return nil
}

// truncateTo drops every entry whose offset is >= offset. The caller
// holds the Log's mu exclusively and its flush lock.
func (x *timeIndex) truncateTo(offset int64) error {
	slot, err := x.view().search(offset-x.base-1, timeOffsetKey)
	if err != nil {
		return err
	}
	x.truncateEntries(slot + 1)
	return x.loadLast()
}

// resetTime clears every entry (recovery rebuild).
func (x *timeIndex) resetTime() {
	x.reset()
	x.lastTs, x.lastOff = -1, x.base
}
