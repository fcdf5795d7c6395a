package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/samsa-streaming/samsa/internal/record"
)

// numBatchesToRetain is how many of a producer's latest batches are kept
// for duplicate detection (Kafka's ProducerStateEntry.NUM_BATCHES_TO_RETAIN:
// a producer has at most max.in.flight.requests.per.connection = 5
// batches in flight).
const numBatchesToRetain = 5

// DefaultProducerIDExpirationMs is producer.id.expiration.ms's default.
const DefaultProducerIDExpirationMs = 86400000

// snapshotSuffix names a producer state snapshot file.
const snapshotSuffix = ".snapshot"

// ProducerBatch is what the producer state keeps of one appended batch.
type ProducerBatch struct {
	FirstSeq, LastSeq       int32
	FirstOffset, LastOffset int64
	MaxTimestamp            int64
}

// ProducerEntry is one idempotent producer's state (Kafka's
// ProducerStateEntry).
type ProducerEntry struct {
	ProducerID       int64
	Epoch            int16
	CoordinatorEpoch int32
	// CurrentTxnFirstOffset is the first offset of the producer's open
	// transaction, -1 if none.
	CurrentTxnFirstOffset int64
	// LastTimestamp is the max timestamp of its last batch; expiry
	// (producer.id.expiration.ms) compares it with the clock.
	LastTimestamp int64
	// Batches holds the latest NumBatches batches, oldest first.
	Batches    [numBatchesToRetain]ProducerBatch
	NumBatches int
}

func newProducerEntry(pid int64) ProducerEntry {
	return ProducerEntry{ProducerID: pid, Epoch: -1, CoordinatorEpoch: -1, CurrentTxnFirstOffset: -1, LastTimestamp: record.NoTimestamp}
}

// lastSeq returns the last sequence appended, or -1.
func (e *ProducerEntry) lastSeq() int32 {
	if e.NumBatches == 0 {
		return record.NoSequence
	}
	return e.Batches[e.NumBatches-1].LastSeq
}

// findDuplicate returns the cached batch with the same epoch and sequence
// range (Kafka's findDuplicateBatch).
func (e *ProducerEntry) findDuplicate(epoch int16, first, last int32) (ProducerBatch, bool) {
	if epoch != e.Epoch {
		return ProducerBatch{}, false
	}
	for i := 0; i < e.NumBatches; i++ {
		if b := e.Batches[i]; b.FirstSeq == first && b.LastSeq == last {
			return b, true
		}
	}
	return ProducerBatch{}, false
}

// addBatch records a data batch, dropping the cached batches of an older
// epoch and the oldest one beyond numBatchesToRetain.
func (e *ProducerEntry) addBatch(epoch int16, pb ProducerBatch) {
	if epoch != e.Epoch {
		e.Epoch, e.NumBatches = epoch, 0
	}
	if e.NumBatches == numBatchesToRetain {
		copy(e.Batches[:], e.Batches[1:])
		e.NumBatches--
	}
	e.Batches[e.NumBatches] = pb
	e.NumBatches++
	e.LastTimestamp = pb.MaxTimestamp
}

// inSequence is Kafka's ProducerAppendInfo.inSequence: next follows last,
// wrapping from MaxInt32 to 0.
func inSequence(last, next int32) bool {
	return int64(next) == int64(last)+1 || (next == 0 && last == 1<<31-1)
}

// producerState is a Log's producer map (Kafka's ProducerStateManager),
// guarded by the Log's appendMu. staged holds the updates of the append
// in progress (Kafka's ProducerAppendInfo), in batch order, so several
// batches of one producer in one request are checked against each other;
// they are committed once their bytes are written.
type producerState struct {
	producers map[int64]*ProducerEntry
	staged    []stagedEntry
}

type stagedEntry struct {
	entry ProducerEntry
	last  int64 // last offset of the batch that produced it
}

func newProducerState() *producerState {
	return &producerState{producers: make(map[int64]*ProducerEntry)}
}

// current returns the producer's entry including staged updates.
func (ps *producerState) current(pid int64) (ProducerEntry, bool) {
	for i := len(ps.staged) - 1; i >= 0; i-- {
		if ps.staged[i].entry.ProducerID == pid {
			return ps.staged[i].entry, true
		}
	}
	if e, ok := ps.producers[pid]; ok {
		return *e, true
	}
	return newProducerEntry(pid), false
}

// checkDuplicate reports whether b (a client batch) repeats one of its
// producer's cached batches, which Kafka answers with the original
// offsets instead of appending it again.
func (ps *producerState) checkDuplicate(b record.Batch) (ProducerBatch, bool) {
	e, ok := ps.current(b.ProducerID())
	if !ok {
		return ProducerBatch{}, false
	}
	return e.findDuplicate(b.ProducerEpoch(), b.BaseSequence(), b.LastSequence())
}

// stage validates b, whose offsets are final, against its producer's
// state (Kafka's ProducerAppendInfo.append) and stages the update. Epochs
// are checked for client and coordinator appends, sequences for client
// appends only; replication takes the leader's word.
func (ps *producerState) stage(b record.Batch, origin AppendOrigin) error {
	pid := b.ProducerID()
	e, _ := ps.current(pid)
	epoch := b.ProducerEpoch()
	if epoch < e.Epoch && origin != OriginReplication {
		return fmt.Errorf("%w: producer %d epoch %d is older than the current %d", ErrInvalidProducerEpoch, pid, epoch, e.Epoch)
	}
	attrs := b.Attributes()
	if attrs.Control() {
		e.Epoch = epoch
		e.CurrentTxnFirstOffset = -1
		e.LastTimestamp = b.MaxTimestamp()
		if len(b) == b.Size() { // a header-only rebuild keeps the last known one
			if m, err := b.EndTxnMarker(); err == nil {
				e.CoordinatorEpoch = m.CoordinatorEpoch
			}
		}
	} else {
		first := b.BaseSequence()
		if origin == OriginClient {
			if err := checkSequence(&e, epoch, first); err != nil {
				return fmt.Errorf("%w: producer %d epoch %d", err, pid, epoch)
			}
		}
		if attrs.Transactional() && e.CurrentTxnFirstOffset < 0 {
			e.CurrentTxnFirstOffset = b.BaseOffset()
		}
		e.addBatch(epoch, ProducerBatch{FirstSeq: first, LastSeq: b.LastSequence(), FirstOffset: b.BaseOffset(), LastOffset: b.LastOffset(), MaxTimestamp: b.MaxTimestamp()})
	}
	ps.staged = append(ps.staged, stagedEntry{entry: e, last: b.LastOffset()})
	return nil
}

// checkSequence is Kafka's ProducerAppendInfo.checkSequence: a new epoch
// must start at sequence 0 (unless the producer had no epoch yet: its
// state was lost to retention, DeleteRecords or expiry, so any sequence
// is accepted, as Kafka does since KIP-360 rather than answering
// UNKNOWN_PRODUCER_ID); within an epoch the batch must follow the last
// one.
func checkSequence(e *ProducerEntry, epoch int16, first int32) error {
	if epoch != e.Epoch {
		if first != 0 && e.Epoch != -1 {
			return fmt.Errorf("%w: sequence %d for a new epoch (current %d), expected 0", ErrOutOfOrderSequence, first, e.Epoch)
		}
		return nil
	}
	if last := e.lastSeq(); last != record.NoSequence && !inSequence(last, first) {
		return fmt.Errorf("%w: sequence %d after %d", ErrOutOfOrderSequence, first, last)
	}
	return nil
}

// commitUpTo makes the staged updates of batches ending at or below
// offset part of the state.
func (ps *producerState) commitUpTo(offset int64) {
	n := 0
	for n < len(ps.staged) && ps.staged[n].last <= offset {
		se := ps.staged[n].entry
		if p, ok := ps.producers[se.ProducerID]; ok {
			*p = se
		} else {
			ps.producers[se.ProducerID] = &se
		}
		n++
	}
	rest := copy(ps.staged, ps.staged[n:])
	ps.staged = ps.staged[:rest]
}

// discard drops staged updates (an append that failed).
func (ps *producerState) discard() { ps.staged = ps.staged[:0] }

// observe folds a batch read back from the log into the state (recovery
// and truncation rebuilds, Kafka's loadProducersFromRecords).
func (ps *producerState) observe(b record.Batch) {
	if b.ProducerID() < 0 {
		return
	}
	_ = ps.stage(b, OriginReplication)
	ps.commitUpTo(b.LastOffset())
}

// expire removes producers whose last timestamp is older than
// expirationMs before now and that have no open transaction (Kafka's
// removeExpiredProducers).
func (ps *producerState) expire(now, expirationMs int64) int {
	n := 0
	for pid, e := range ps.producers {
		if e.CurrentTxnFirstOffset < 0 && now-e.LastTimestamp >= expirationMs {
			delete(ps.producers, pid)
			n++
		}
	}
	return n
}

// Snapshot files: <20-digit offset>.snapshot, the producer state of every
// batch below offset. See doc.go for the byte format.
const (
	snapshotVersion     = 1
	snapshotHeaderSize  = 2 + 4 + 4
	snapshotEntryFixed  = 8 + 2 + 4 + 8 + 8 + 1
	snapshotBatchSize   = 4 + 4 + 8 + 8 + 8
	snapshotCRCStartPos = 6
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func snapshotFileName(offset int64) string {
	return fmt.Sprintf("%020d%s", offset, snapshotSuffix)
}

// encodeSnapshot serializes the committed producers, ordered by id.
func encodeSnapshot(producers map[int64]*ProducerEntry) []byte {
	ids := make([]int64, 0, len(producers))
	size := snapshotHeaderSize
	for pid, e := range producers {
		ids = append(ids, pid)
		size += snapshotEntryFixed + e.NumBatches*snapshotBatchSize
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	buf := make([]byte, snapshotHeaderSize, size)
	binary.BigEndian.PutUint16(buf[0:], snapshotVersion)
	binary.BigEndian.PutUint32(buf[6:], uint32(len(ids)))
	for _, pid := range ids {
		e := producers[pid]
		buf = binary.BigEndian.AppendUint64(buf, uint64(e.ProducerID))
		buf = binary.BigEndian.AppendUint16(buf, uint16(e.Epoch))
		buf = binary.BigEndian.AppendUint32(buf, uint32(e.CoordinatorEpoch))
		buf = binary.BigEndian.AppendUint64(buf, uint64(e.CurrentTxnFirstOffset))
		buf = binary.BigEndian.AppendUint64(buf, uint64(e.LastTimestamp))
		buf = append(buf, byte(e.NumBatches))
		for _, b := range e.Batches[:e.NumBatches] {
			buf = binary.BigEndian.AppendUint32(buf, uint32(b.FirstSeq))
			buf = binary.BigEndian.AppendUint32(buf, uint32(b.LastSeq))
			buf = binary.BigEndian.AppendUint64(buf, uint64(b.FirstOffset))
			buf = binary.BigEndian.AppendUint64(buf, uint64(b.LastOffset))
			buf = binary.BigEndian.AppendUint64(buf, uint64(b.MaxTimestamp))
		}
	}
	binary.BigEndian.PutUint32(buf[2:], crc32.Checksum(buf[snapshotCRCStartPos:], castagnoli))
	return buf
}

// decodeSnapshot parses a snapshot; anything malformed is
// ErrCorruptSnapshot.
func decodeSnapshot(buf []byte) (map[int64]*ProducerEntry, error) {
	if len(buf) < snapshotHeaderSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrCorruptSnapshot, len(buf))
	}
	if v := binary.BigEndian.Uint16(buf); v != snapshotVersion {
		return nil, fmt.Errorf("%w: version %d", ErrCorruptSnapshot, v)
	}
	if want, got := binary.BigEndian.Uint32(buf[2:]), crc32.Checksum(buf[snapshotCRCStartPos:], castagnoli); want != got {
		return nil, fmt.Errorf("%w: crc %08x, computed %08x", ErrCorruptSnapshot, want, got)
	}
	n := binary.BigEndian.Uint32(buf[6:])
	if int64(n)*snapshotEntryFixed > int64(len(buf)-snapshotHeaderSize) {
		return nil, fmt.Errorf("%w: %d entries in %d bytes", ErrCorruptSnapshot, n, len(buf))
	}
	out := make(map[int64]*ProducerEntry, n)
	p := buf[snapshotHeaderSize:]
	for i := uint32(0); i < n; i++ {
		if len(p) < snapshotEntryFixed {
			return nil, fmt.Errorf("%w: entry %d truncated", ErrCorruptSnapshot, i)
		}
		e := &ProducerEntry{
			ProducerID:            int64(binary.BigEndian.Uint64(p)),
			Epoch:                 int16(binary.BigEndian.Uint16(p[8:])),
			CoordinatorEpoch:      int32(binary.BigEndian.Uint32(p[10:])),
			CurrentTxnFirstOffset: int64(binary.BigEndian.Uint64(p[14:])),
			LastTimestamp:         int64(binary.BigEndian.Uint64(p[22:])),
			NumBatches:            int(p[30]),
		}
		p = p[snapshotEntryFixed:]
		if e.ProducerID < 0 || e.NumBatches > numBatchesToRetain || len(p) < e.NumBatches*snapshotBatchSize {
			return nil, fmt.Errorf("%w: entry %d invalid", ErrCorruptSnapshot, i)
		}
		if _, dup := out[e.ProducerID]; dup {
			return nil, fmt.Errorf("%w: producer %d listed twice", ErrCorruptSnapshot, e.ProducerID)
		}
		for j := 0; j < e.NumBatches; j++ {
			e.Batches[j] = ProducerBatch{
				FirstSeq:     int32(binary.BigEndian.Uint32(p)),
				LastSeq:      int32(binary.BigEndian.Uint32(p[4:])),
				FirstOffset:  int64(binary.BigEndian.Uint64(p[8:])),
				LastOffset:   int64(binary.BigEndian.Uint64(p[16:])),
				MaxTimestamp: int64(binary.BigEndian.Uint64(p[24:])),
			}
			p = p[snapshotBatchSize:]
		}
		out[e.ProducerID] = e
	}
	if len(p) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorruptSnapshot, len(p))
	}
	return out, nil
}

// listSnapshots returns the offsets of the snapshot files in dir,
// ascending.
func listSnapshots(dir string) ([]int64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, snapshotSuffix) || len(name) != 20+len(snapshotSuffix) {
			continue
		}
		if off, err := strconv.ParseInt(name[:20], 10, 64); err == nil {
			out = append(out, off)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// maxSnapshots is how many snapshot files a log keeps (Kafka keeps one per
// segment; a few suffice to restart recovery from below the recovery
// point).
const maxSnapshots = 3

// writeSnapshotLocked writes the committed state as the snapshot at
// offset and prunes old ones. sync says whether to fsync (Close, which the
// clean-shutdown marker vouches for); a roll's snapshot is not fsynced on
// the append path: a torn one fails its CRC and is ignored. The caller
// holds appendMu.
func (l *Log) writeSnapshotLocked(offset int64, sync bool) error {
	path := filepath.Join(l.dir, snapshotFileName(offset))
	data := encodeSnapshot(l.pstate.producers)
	if sync {
		if err := writeFileAtomic(path, data); err != nil {
			return fmt.Errorf("write producer snapshot: %w", err)
		}
	} else {
		tmp := path + tmpSuffix
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			return fmt.Errorf("write producer snapshot: %w", err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("write producer snapshot: %w", err)
		}
		l.dirDirty.Store(true)
	}
	offs, err := listSnapshots(l.dir)
	if err != nil {
		return err
	}
	for len(offs) > maxSnapshots {
		if err := removeIfExists(filepath.Join(l.dir, snapshotFileName(offs[0]))); err != nil {
			return err
		}
		offs = offs[1:]
	}
	return nil
}

// deleteSnapshots removes snapshot files whose offset satisfies drop.
func (l *Log) deleteSnapshots(drop func(off int64) bool) error {
	offs, err := listSnapshots(l.dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, off := range offs {
		if drop(off) {
			errs = append(errs, removeIfExists(filepath.Join(l.dir, snapshotFileName(off))))
			l.dirDirty.Store(true)
		}
	}
	return errors.Join(errs...)
}

// loadSnapshotAtOrBelow loads the newest valid snapshot at or below
// limit, deleting corrupt ones on the way, and returns its offset, or -1
// (with empty state) when there is none.
func (l *Log) loadSnapshotAtOrBelow(limit int64) int64 {
	offs, err := listSnapshots(l.dir)
	if err != nil {
		l.logger.Warn("listing producer snapshots", "err", err)
	}
	for i := len(offs) - 1; i >= 0; i-- {
		if offs[i] > limit {
			continue
		}
		path := filepath.Join(l.dir, snapshotFileName(offs[i]))
		data, err := os.ReadFile(path)
		var m map[int64]*ProducerEntry
		if err == nil {
			m, err = decodeSnapshot(data)
		}
		if err != nil {
			l.logger.Warn("ignoring unreadable producer snapshot", "file", path, "err", err)
			_ = removeIfExists(path)
			continue
		}
		l.pstate.producers = m
		l.pstate.staged = l.pstate.staged[:0]
		return offs[i]
	}
	l.pstate.producers = make(map[int64]*ProducerEntry)
	l.pstate.staged = l.pstate.staged[:0]
	return -1
}

// rebuildProducerStateLocked reloads the producer state as of the log end
// offset: the newest valid snapshot at or below it (or, if start is
// larger, nothing) plus the batch headers from there to the end (Kafka's
// rebuildProducerState). The caller owns the log (Open) or holds
// appendMu and mu.
func (l *Log) rebuildProducerStateLocked() error {
	leo := l.leo.Load()
	from := l.loadSnapshotAtOrBelow(leo)
	if from == leo {
		return nil
	}
	from = max(from, l.segments[0].base)
	for _, s := range l.segments {
		size := s.size.Load()
		if size == 0 {
			continue
		}
		if i := l.floorSegmentLocked(from); i >= 0 && l.segments[i].base > s.base {
			continue // wholly below from
		}
		r := newHeaderReader(s.log, size)
		pos := int64(0)
		if s.base < from {
			p, _, found, err := s.findBatch(r, from)
			if err != nil {
				r.release()
				return err
			}
			if !found {
				r.release()
				continue
			}
			pos = p
		}
		for pos < size {
			h, err := r.at(pos)
			if err != nil {
				r.release()
				return err
			}
			if h.BaseOffset() >= from {
				l.pstate.observe(h)
				l.stats.ProducerBatchesScanned++
			}
			pos += batchSize(h)
		}
		r.release()
	}
	return nil
}
