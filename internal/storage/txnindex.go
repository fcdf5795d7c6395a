package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
)

// txnEntrySize is the size of one .txnindex entry (see doc.go).
const txnEntrySize = 34

// txnIndexVersion is the only entry version Kafka has defined.
const txnIndexVersion = 0

// AbortedTxn is one aborted transaction as the transaction index records
// it: the producer, the offsets of its first record and of its abort
// marker, and the partition's last stable offset when the abort was
// written (a fetch whose range ends at or below it can stop searching
// later segments). A read_committed consumer uses the list to skip the
// aborted records.
type AbortedTxn struct {
	ProducerID       int64
	FirstOffset      int64
	LastOffset       int64
	LastStableOffset int64
}

func (t AbortedTxn) encode(e []byte) {
	binary.BigEndian.PutUint16(e, txnIndexVersion)
	binary.BigEndian.PutUint64(e[2:], uint64(t.ProducerID))
	binary.BigEndian.PutUint64(e[10:], uint64(t.FirstOffset))
	binary.BigEndian.PutUint64(e[18:], uint64(t.LastOffset))
	binary.BigEndian.PutUint64(e[26:], uint64(t.LastStableOffset))
}

// txnIndex is a segment's .txnindex: the aborted transactions whose abort
// markers lie in the segment, in marker order. Like Kafka, the file is
// created only when the first entry is written. The entries are few (one
// per aborted transaction), so they are held in memory once loaded. Safe
// for concurrent use.
type txnIndex struct {
	base int64

	mu      sync.Mutex
	path    string       // guarded by mu
	file    *os.File     // guarded by mu; nil while the file does not exist
	entries []AbortedTxn // guarded by mu
}

// openTxnIndex loads path if it exists. A file that is not a whole number
// of valid entries is reported as ErrCorruptIndex (with the index usable
// for a rebuild).
func openTxnIndex(path string, base int64) (*txnIndex, error) {
	x := &txnIndex{base: base, path: path}
	f, err := os.OpenFile(path, os.O_RDWR, 0o644)
	if errors.Is(err, fs.ErrNotExist) {
		return x, nil
	}
	if err != nil {
		return nil, err
	}
	x.file = f
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	buf := make([]byte, st.Size())
	if _, err := f.ReadAt(buf, 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("read transaction index %s: %w", path, err)
	}
	return x, x.parse(buf)
}

func (x *txnIndex) parse(buf []byte) error {
	for len(buf) >= txnEntrySize {
		e := buf[:txnEntrySize]
		buf = buf[txnEntrySize:]
		if v := int16(binary.BigEndian.Uint16(e)); v != txnIndexVersion {
			return fmt.Errorf("%w: %s: aborted transaction version %d", ErrCorruptIndex, x.path, v)
		}
		t := AbortedTxn{
			ProducerID:       int64(binary.BigEndian.Uint64(e[2:])),
			FirstOffset:      int64(binary.BigEndian.Uint64(e[10:])),
			LastOffset:       int64(binary.BigEndian.Uint64(e[18:])),
			LastStableOffset: int64(binary.BigEndian.Uint64(e[26:])),
		}
		if t.LastOffset < x.base || t.FirstOffset > t.LastOffset {
			return fmt.Errorf("%w: %s: aborted transaction %+v outside segment %d", ErrCorruptIndex, x.path, t, x.base)
		}
		if n := len(x.entries); n > 0 && x.entries[n-1].LastOffset >= t.LastOffset {
			return fmt.Errorf("%w: %s: aborted transaction last offsets not increasing at %d", ErrCorruptIndex, x.path, t.LastOffset)
		}
		x.entries = append(x.entries, t)
	}
	if len(buf) != 0 {
		return fmt.Errorf("%w: %s ends with a partial %d-byte entry", ErrCorruptIndex, x.path, len(buf))
	}
	return nil
}

// append writes one entry; last offsets must strictly increase (Kafka's
// rule). The file is created on first use.
func (x *txnIndex) append(t AbortedTxn) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if n := len(x.entries); n > 0 && x.entries[n-1].LastOffset >= t.LastOffset {
		return fmt.Errorf("%w: aborted transaction last offset %d not above %d in %s", ErrCorruptIndex, t.LastOffset, x.entries[n-1].LastOffset, x.path)
	}
	if x.file == nil {
		f, err := os.OpenFile(x.path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		x.file = f
	}
	var e [txnEntrySize]byte
	t.encode(e[:])
	if _, err := x.file.WriteAt(e[:], int64(len(x.entries))*txnEntrySize); err != nil {
		return fmt.Errorf("write transaction index %s: %w", x.path, err)
	}
	x.entries = append(x.entries, t)
	return nil
}

// collect appends to dst the aborted transactions overlapping [fetchOffset,
// upperBound) and reports whether the search is complete: an entry whose
// last stable offset is at or above upperBound proves no later segment
// holds an abort of a transaction that started before upperBound (Kafka's
// TransactionIndex.collectAbortedTxns).
func (x *txnIndex) collect(dst []AbortedTxn, fetchOffset, upperBound int64) ([]AbortedTxn, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, t := range x.entries {
		if t.LastOffset >= fetchOffset && t.FirstOffset < upperBound {
			dst = append(dst, t)
		}
		if t.LastStableOffset >= upperBound {
			return dst, true
		}
	}
	return dst, false
}

// all returns a copy of every entry.
func (x *txnIndex) all() []AbortedTxn {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]AbortedTxn(nil), x.entries...)
}

// truncateTo drops the entries whose abort marker is at or after offset.
func (x *txnIndex) truncateTo(offset int64) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := len(x.entries)
	for n > 0 && x.entries[n-1].LastOffset >= offset {
		n--
	}
	return x.truncateEntriesLocked(n)
}

// reset removes every entry.
func (x *txnIndex) reset() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.truncateEntriesLocked(0)
}

func (x *txnIndex) truncateEntriesLocked(n int) error {
	x.entries = x.entries[:n]
	if x.file == nil {
		return nil
	}
	if err := x.file.Truncate(int64(n) * txnEntrySize); err != nil {
		return fmt.Errorf("truncate transaction index %s: %w", x.path, err)
	}
	return nil
}

func (x *txnIndex) sync() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.file == nil {
		return nil
	}
	if err := fsync(x.file, "transaction index "+x.path); err != nil {
		return err
	}
	return nil
}

// rename moves the file (if it exists) to newPath.
func (x *txnIndex) rename(newPath string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := os.Rename(x.path, newPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	x.path = newPath
	return nil
}

func (x *txnIndex) close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.file == nil {
		return nil
	}
	err := x.file.Close()
	x.file = nil
	return err
}

// remove closes and deletes the file.
func (x *txnIndex) remove() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.file != nil {
		x.file.Close()
		x.file = nil
	}
	if err := os.Remove(x.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
