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
// While the segment is active the entries are also held in mem, the
// authoritative copy: appends touch only memory (the file is written back
// lazily by writeBack on flush, roll and close, since index contents only
// need to be durable once the recovery point passes them, and recovery
// rebuilds the indexes of anything above it). Lookups on an active index
// binary-search mem; lookups on an inactive one binary-search the file with
// one pread per probe, so memory stays proportional to the active segments
// rather than to the whole log and no file is ever memory-mapped (nothing
// can fault on a truncated or unmapped region).
//
// An inactive index's file descriptor is opened on first use and kept
// (Kafka's LazyIndex): Open closes the index files of every inactive
// segment after checking them, so a log costs one descriptor per segment
// (its .log) plus those of the segments actually read.
//
// Concurrency: n, maxEntries and mem are guarded by the owning Log's mu
// (the appender changes them under the write lock; lookups run under the
// read lock). The bytes mem[:n*entrySize] never change except when the
// index is truncated, which the Log does under its write lock and its flush
// lock, so a flusher may copy them out after releasing the read lock.
// written and file are guarded by fileMu; lookups load file through the
// atomic fast path in handle.
type index struct {
	path      string // set at open and by renameTo (appender only)
	base      int64
	entrySize int

	n          int    // guarded by Log.mu: entries visible to lookups
	maxEntries int    // guarded by Log.mu
	mem        []byte // guarded by Log.mu: resident entries, nil when inactive

	fileMu  sync.Mutex
	file    atomic.Pointer[os.File] // written under fileMu; nil while closed
	written int                     // guarded by fileMu: entries [0, written) are in the file
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
	f, err := os.OpenFile(x.path, os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	x.file.Store(f)
	return f, nil
}

// release closes the descriptor of an inactive index; the next lookup
// reopens it. The caller guarantees no lookup is running (it owns the
// segment, as Open does).
func (x *index) release() error {
	x.fileMu.Lock()
	defer x.fileMu.Unlock()
	if f := x.file.Swap(nil); f != nil {
		return f.Close()
	}
	return nil
}

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
	x.n = int(size / int64(entrySize))
	x.maxEntries = x.n
	x.written = x.n
	return nil
}

// entryBytes returns entry i: a slice of mem when resident, else read from
// the file into buf. The caller holds Log.mu (read or write).
func (x *index) entryBytes(i int, buf []byte) ([]byte, error) {
	off := i * x.entrySize
	if x.mem != nil {
		return x.mem[off : off+x.entrySize], nil
	}
	f, err := x.handle()
	if err != nil {
		return nil, err
	}
	if _, err := f.ReadAt(buf[:x.entrySize], int64(off)); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("read index entry %d of %s: %w", i, x.path, err)
	}
	return buf[:x.entrySize], nil
}

// search returns the largest slot in [0, n) whose key is <= target, or -1.
// Keys must be non-decreasing in slot order (offsets, positions and
// timestamps all are). It costs O(log n) entry reads.
func (x *index) search(target int64, key func(e []byte) int64) (int, error) {
	var buf [timeEntrySize]byte
	lo, hi := 0, x.n // first slot with key > target lies in [lo, hi]
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		e, err := x.entryBytes(mid, buf[:])
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

// appendEntry adds one encoded entry to mem. The caller holds Log.mu for
// writing and has checked isFull.
func (x *index) appendEntry(e []byte) {
	x.mem = append(x.mem[:x.n*x.entrySize], e...)
	x.n++
}

// truncateEntries drops entries [n, ...). The caller holds Log.mu for
// writing and the Log's flush lock.
func (x *index) truncateEntries(n int) {
	if n >= x.n {
		return
	}
	x.n = n
	if x.mem != nil {
		x.mem = x.mem[:n*x.entrySize]
	}
	x.fileMu.Lock()
	x.written = min(x.written, n)
	x.fileMu.Unlock()
}

// writeBack copies entries not yet in the file from mem (a snapshot of
// mem and n taken under Log.mu) into the file. It does not fsync.
func (x *index) writeBack(mem []byte, n int) error {
	x.fileMu.Lock()
	defer x.fileMu.Unlock()
	return x.writeBackLocked(mem, n)
}

func (x *index) writeBackLocked(mem []byte, n int) error {
	if mem == nil || n <= x.written {
		return nil
	}
	f, err := x.handleLocked()
	if err != nil {
		return err
	}
	from, to := x.written*x.entrySize, n*x.entrySize
	if _, err := f.WriteAt(mem[from:to], int64(from)); err != nil {
		return fmt.Errorf("write index %s: %w", x.path, err)
	}
	x.written = n
	return nil
}

// trim writes back pending entries and cuts the file to exactly its
// entries (Kafka's trimToValidSize). The caller holds the Log's append
// lock, so mem and n are stable.
func (x *index) trim() error {
	x.fileMu.Lock()
	defer x.fileMu.Unlock()
	if err := x.writeBackLocked(x.mem, x.n); err != nil {
		return err
	}
	f, err := x.handleLocked()
	if err != nil {
		return err
	}
	if err := f.Truncate(int64(x.n * x.entrySize)); err != nil {
		return fmt.Errorf("trim index %s: %w", x.path, err)
	}
	return nil
}

// activate makes the index resident and preallocates its file to hold
// maxEntries (Kafka's resize to segment.index.bytes when a segment becomes
// the active one). The caller holds Log.mu for writing (or owns the index
// exclusively, during Open).
func (x *index) activate(maxBytes int32) error {
	maxEntries := int(maxBytes) / x.entrySize
	maxEntries = max(maxEntries, x.n) // never lose entries by shrinking
	x.fileMu.Lock()
	defer x.fileMu.Unlock()
	f, err := x.handleLocked()
	if err != nil {
		return err
	}
	if x.mem == nil {
		mem := make([]byte, x.n*x.entrySize, max(x.n*x.entrySize, 1024))
		if x.n > 0 {
			if _, err := f.ReadAt(mem, 0); err != nil {
				return fmt.Errorf("load index %s: %w", x.path, err)
			}
		}
		x.mem = mem
	}
	if err := x.writeBackLocked(x.mem, x.n); err != nil {
		return err
	}
	if err := f.Truncate(int64(maxEntries * x.entrySize)); err != nil {
		return fmt.Errorf("preallocate index %s: %w", x.path, err)
	}
	x.maxEntries = maxEntries
	return nil
}

// deactivate drops the resident copy once trim has put every entry in the
// file; lookups then read the file. The caller holds Log.mu for writing.
func (x *index) deactivate() {
	x.mem = nil
	x.maxEntries = x.n
}

// reset removes every entry (recovery rebuilds from scratch). The caller
// owns the index exclusively.
func (x *index) reset() {
	x.n = 0
	if x.mem != nil {
		x.mem = x.mem[:0]
	} else {
		x.mem = make([]byte, 0, 1024)
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
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync index %s: %w", x.path, err)
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

func (x *index) close() error { return x.release() }

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

func (x *offsetIndex) isFull() bool { return x.n >= x.maxEntries }

// canAppendOffset reports whether offset is representable relative to
// the segment's base offset (a non-negative int32 delta).
func (x *offsetIndex) canAppendOffset(offset int64) bool {
	d := offset - x.base
	return d >= 0 && d <= math.MaxInt32
}

// entry returns slot i decoded.
func (x *offsetIndex) entry(i int) (offset, pos int64, err error) {
	var buf [offsetEntrySize]byte
	e, err := x.entryBytes(i, buf[:])
	if err != nil {
		return 0, 0, err
	}
	offset, pos = decodeOffsetEntry(x.base, e)
	return offset, pos, nil
}

// lookup returns the entry with the largest offset <= target, or (base,
// 0) when there is none: a position from which a forward scan finds the
// batch holding target.
func (x *offsetIndex) lookup(target int64) (offset, pos int64, err error) {
	slot, err := x.search(target-x.base, func(e []byte) int64 { return int64(int32(binary.BigEndian.Uint32(e))) })
	if err != nil || slot < 0 {
		return x.base, 0, err
	}
	return x.entry(slot)
}

// lookupByPosition returns the entry with the largest position <= pos, or
// (base, 0).
func (x *offsetIndex) lookupByPosition(pos int64) (offset, position int64, err error) {
	slot, err := x.search(pos, func(e []byte) int64 { return int64(int32(binary.BigEndian.Uint32(e[4:]))) })
	if err != nil || slot < 0 {
		return x.base, 0, err
	}
	return x.entry(slot)
}

// append adds (offset, pos). Offsets must strictly increase.
func (x *offsetIndex) append(offset int64, pos int64) error {
	if !x.canAppendOffset(offset) {
		return fmt.Errorf("%w: offset %d does not fit index of segment %d", ErrCorruptIndex, offset, x.base)
	}
	if x.n > 0 {
		last, _, err := x.entry(x.n - 1)
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

// truncateTo drops every entry whose offset is >= offset.
func (x *offsetIndex) truncateTo(offset int64) error {
	slot, err := x.search(offset-x.base-1, func(e []byte) int64 { return int64(int32(binary.BigEndian.Uint32(e))) })
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
	lastTs  int64 // guarded by Log.mu: timestamp of the last entry, -1 if none
	lastOff int64 // guarded by Log.mu: offset of the last entry, base if none
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

func (x *timeIndex) loadLast() error {
	x.lastTs, x.lastOff = -1, x.base
	if x.n == 0 {
		return nil
	}
	ts, off, err := x.entry(x.n - 1)
	if err != nil {
		return err
	}
	x.lastTs, x.lastOff = ts, off
	return nil
}

func (x *timeIndex) isFull() bool { return x.n >= x.maxEntries-1 }

func (x *timeIndex) entry(i int) (ts, offset int64, err error) {
	var buf [timeEntrySize]byte
	e, err := x.entryBytes(i, buf[:])
	if err != nil {
		return 0, 0, err
	}
	ts, offset = decodeTimeEntry(x.base, e)
	return ts, offset, nil
}

// lookup returns the entry with the largest timestamp <= target, or (-1,
// base) when every entry is later (or there are none).
func (x *timeIndex) lookup(target int64) (ts, offset int64, err error) {
	slot, err := x.search(target, func(e []byte) int64 { return int64(binary.BigEndian.Uint64(e)) })
	if err != nil || slot < 0 {
		return -1, x.base, err
	}
	return x.entry(slot)
}

// maybeAppend adds (ts, offset) if ts is above the last entry's
// timestamp. skipFull is set only on roll and close, which use the slot
// isFull reserves.
func (x *timeIndex) maybeAppend(ts, offset int64, skipFull bool) error {
	if x.n > 0 && offset < x.lastOff {
		return fmt.Errorf("%w: time index offset %d below last entry %d in segment %d", ErrCorruptIndex, offset, x.lastOff, x.base)
	}
	if ts <= x.lastTs {
		return nil // nothing newer to record (or no timestamp at all)
	}
	if (!skipFull && x.isFull()) || x.n >= x.maxEntries {
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

// truncateTo drops every entry whose offset is >= offset.
func (x *timeIndex) truncateTo(offset int64) error {
	slot, err := x.search(offset-x.base-1, func(e []byte) int64 { return int64(int32(binary.BigEndian.Uint32(e[8:]))) })
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
