package storage

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/samsa-streaming/samsa/internal/record"
)

// ErrCleaningAborted marks a cleaning round given up because the log
// changed under it (retention, truncation, deletion or Close replaced the
// segments it read) or the cleaner is stopping. Nothing was swapped in;
// the next round starts over.
var ErrCleaningAborted = errors.New("storage: log cleaning aborted")

// ErrOffsetMapFull marks a cleaning whose offset map could not hold even
// the first dirty batch's keys (log.cleaner.dedupe.buffer.size too small).
var ErrOffsetMapFull = errors.New("storage: cleaner offset map cannot hold one batch")

// cleanable is Kafka's LogToClean: where a compacted log's dirty section
// starts and ends, and its byte counts.
type cleanable struct {
	firstDirty       int64 // cleaner checkpoint, clamped to [log start, first uncleanable]
	firstUncleanable int64 // base of the first segment that may not be cleaned
	cleanBytes       int64 // segments below firstDirty
	dirtyBytes       int64 // segments in [firstDirty, firstUncleanable)
	// needNow is set when max.compaction.lag.ms has passed for the first
	// dirty segment, or a delete horizon the last cleaning set has come:
	// the log is cleaned whatever its dirty ratio.
	needNow bool
}

// ratio returns the dirty ratio: dirty bytes over clean plus dirty.
func (c cleanable) ratio() float64 {
	total := c.cleanBytes + c.dirtyBytes
	if total == 0 {
		return 0
	}
	return float64(c.dirtyBytes) / float64(total)
}

// cleanableInfo computes the log's dirty section from the cleaner
// checkpoint firstDirty (Kafka's LogCleanerManager.cleanableOffsets).
// The first uncleanable offset is the lowest of the active segment's base
// offset, the last stable offset (which is at most the high watermark),
// the recovery point (so that only fsynced data is ever rewritten, see
// doc.go), and the base of the first dirty segment whose largest
// timestamp is within min.compaction.lag.ms of now; it is then rounded
// down to a segment base, so whole segments are cleaned.
func (l *Log) cleanableInfo(firstDirty int64, nowMs int64) cleanable {
	cfg := l.config()
	l.mu.RLock()
	defer l.mu.RUnlock()
	segs := l.segments
	start := l.logStart.Load()
	bound := min(segs[len(segs)-1].base, l.LastStableOffset(), l.recoveryPoint.Load())
	if firstDirty < start || firstDirty > l.leo.Load() {
		firstDirty = start
	}
	c := cleanable{}
	uncleanable := segs[len(segs)-1].base
	for i, s := range segs[:len(segs)-1] {
		next := segs[i+1].base
		if next > bound {
			uncleanable = s.base
			break
		}
		if next > firstDirty && cfg.MinCompactionLagMs > 0 && s.largestTimestamp() > nowMs-cfg.MinCompactionLagMs {
			uncleanable = s.base
			break
		}
	}
	c.firstUncleanable = uncleanable
	c.firstDirty = min(firstDirty, uncleanable)
	firstDirtySeg := -1
	for i, s := range segs {
		if s.base >= uncleanable {
			break
		}
		end := l.leo.Load()
		if i+1 < len(segs) {
			end = segs[i+1].base
		}
		if end <= c.firstDirty {
			c.cleanBytes += s.size.Load()
			continue
		}
		if firstDirtySeg < 0 {
			firstDirtySeg = i
		}
		c.dirtyBytes += s.size.Load()
	}
	if firstDirtySeg >= 0 && cfg.MaxCompactionLagMs > 0 && cfg.MaxCompactionLagMs < math.MaxInt64 {
		if ts, ok := segs[firstDirtySeg].firstBatchTimestamp(); ok && nowMs-ts > cfg.MaxCompactionLagMs {
			c.needNow = true
		}
	}
	if h := l.deleteHorizon.Load(); h > 0 && h <= nowMs && c.cleanBytes > 0 {
		c.needNow = true
	}
	return c
}

// recoverDeleteHorizon restores, once per Log (an open forgets it), the
// earliest delete horizon pending in the cleaned section, which only
// cleanings otherwise record: without it a quiet compacted log whose
// tombstones' horizon passes after a restart would keep them until new
// dirty data passed min.cleanable.dirty.ratio or max.compaction.lag.ms
// (Kafka's weakness too). The cleaner thread calls it, never Open or the
// append path. It reads only batch headers (headerReader, 4 KiB preads,
// charged to throttle) of the segments below cleanedUpTo (the cleaner
// checkpoint: cleanings write horizons only there), and takes the
// smallest base timestamp of a batch with the delete-horizon bit.
// Headers cannot tell whether a batch still holds a tombstone, so a
// horizon already passed may be taken for a pending one; that costs one
// cleaning, which then records the exact value (NextDeleteHorizonMs).
//
// It holds cleanMu, so it never races a cleaning of the log (which sets
// the horizon itself); if cleanMu is busy (a cleaning, truncation or
// deletion) it returns and the next pass tries again. It stops early,
// without recording anything, if a truncation or deletion is waiting.
// A read error other than a segment leaving the log still marks the
// horizon known (with what was found), so a corrupt segment is not
// rescanned every pass; the cleaning of the log reports it.
func (l *Log) recoverDeleteHorizon(cleanedUpTo int64, throttle func(n int64) error) error {
	if l.horizonKnown.Load() || !l.cleanMu.TryLock() {
		return nil
	}
	defer l.cleanMu.Unlock()
	if l.horizonKnown.Load() {
		return nil
	}
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return ErrLogClosed
	}
	segs := slices.Clone(l.segments)
	l.mu.RUnlock()
	earliest := int64(math.MaxInt64)
	var scanErr error
	for _, s := range segs {
		if s.base >= cleanedUpTo {
			break
		}
		if err := l.cleaningAborted(); err != nil {
			return err
		}
		h, read, err := s.earliestDeleteHorizon()
		earliest = min(earliest, h)
		if throttle != nil {
			if terr := throttle(read); terr != nil {
				return terr
			}
		}
		if err != nil && !s.deleted.Load() {
			scanErr = fmt.Errorf("scan delete horizons of %s: %w", s.log.Name(), err)
			break
		}
	}
	if earliest < math.MaxInt64 {
		l.deleteHorizon.Store(earliest)
	}
	l.horizonKnown.Store(true)
	return scanErr
}

// earliestDeleteHorizon returns the smallest delete horizon among the
// segment's batch headers (math.MaxInt64 if none) and the bytes read.
func (s *segment) earliestDeleteHorizon() (int64, int64, error) {
	size := s.size.Load()
	r := newHeaderReader(s.log, size)
	defer r.release()
	earliest := int64(math.MaxInt64)
	for pos := int64(0); pos < size; {
		h, err := r.at(pos)
		if err != nil {
			return earliest, r.read, err
		}
		if h.Attributes().HasDeleteHorizon() {
			earliest = min(earliest, h.BaseTimestamp())
		}
		pos += batchSize(h)
	}
	return earliest, r.read, nil
}

// firstBatchTimestamp returns the max timestamp of the segment's first
// batch (Kafka's LogSegment.getFirstBatchTimestamp), false if empty.
func (s *segment) firstBatchTimestamp() (int64, bool) {
	if s.size.Load() < record.HeaderSize {
		return 0, false
	}
	r := newHeaderReader(s.log, s.size.Load())
	defer r.release()
	h, err := r.at(0)
	if err != nil {
		return 0, false
	}
	return h.MaxTimestamp(), true
}

// CleanStats describes one cleaning (Kafka's CleanerStats).
type CleanStats struct {
	BytesRead, BytesWritten     int64
	RecordsRead, RecordsDeleted int64
	MapRecords                  int64 // records read while building the offset map
	TombstonesRetained          int64
	SegmentsCleaned             int // segments replaced
	Groups                      int // cleaned segments written
	FirstDirty, EndOffset       int64
	DeleteHorizonMs             int64 // latest delete horizon stamped or seen, -1 if none
	// NextDeleteHorizonMs is the earliest delete horizon after this
	// cleaning's time of a batch that keeps a tombstone or marker the
	// horizon will remove, -1 if none: when the cleaner must come back.
	// A horizon already passed is left out (what it covers is gone, or,
	// for a marker, waits for its transaction's data, which only new
	// dirty data can remove), so a batch that keeps its horizon bit but
	// no tombstone never makes the cleaner loop.
	NextDeleteHorizonMs int64
}

// cleanRun carries one cleaning's inputs.
type cleanRun struct {
	nowMs       int64
	firstDirty  int64
	uncleanable int64
	mapBudget   int64                 // bytes the offset map may use
	throttle    func(n int64) error   // called per batch read or written; may return ErrCleaningAborted
	beforeSwap  func(end int64) error // called before the first cleaned file is written (see clean)
	// onCleaned, if set, runs when the cleaning succeeded, still under
	// cleanMu: the cleaner records its checkpoint there, so no truncation
	// (which takes cleanMu) can come between the cleaning and that
	// record and leave the checkpoint above the truncated log's end.
	onCleaned func(st CleanStats)
	// gen, if checkGen, is the log's cleanGen when firstDirty and
	// uncleanable were computed; a truncation or deletion since then
	// aborts the cleaning.
	gen      uint64
	checkGen bool
	ioBuf    []byte
}

// offsetMap is the cleaner's key -> latest offset map (Kafka's
// SkimpyOffsetMap). Kafka hashes each key (MD5) into a fixed buffer of
// log.cleaner.dedupe.buffer.size / log.cleaner.threads bytes, 24 bytes
// per entry, and accepts the tiny chance of a hash collision losing a
// record. Here it is an exact Go map, so collisions cannot happen; its
// memory is bounded by the same budget, charging each entry its key's
// length plus offsetMapEntryOverhead (the map's bucket slot, string
// header and int64). Once an entry would pass the budget the map is
// full, and the cleaning covers only the batches mapped so far.
type offsetMap struct {
	m       map[string]int64
	used    int64
	budget  int64
	latest  int64 // largest offset mapped, -1 if none
	entries int64
}

const offsetMapEntryOverhead = 64

func newOffsetMap(budget int64) *offsetMap {
	return &offsetMap{m: make(map[string]int64), budget: budget, latest: -1}
}

// fits reports whether the keys would fit (assuming all are new).
func (om *offsetMap) fits(keyBytes, keys int64) bool {
	return om.used+keyBytes+keys*offsetMapEntryOverhead <= om.budget
}

func (om *offsetMap) put(key []byte, offset int64) {
	if _, ok := om.m[string(key)]; !ok {
		om.used += int64(len(key)) + offsetMapEntryOverhead
		om.entries++
	}
	om.m[string(key)] = offset
	om.latest = max(om.latest, offset)
}

func (om *offsetMap) get(key []byte) (int64, bool) {
	o, ok := om.m[string(key)]
	return o, ok
}

// cleanerTxns is Kafka's CleanedTransactionMetadata: it follows the
// transactions through one cleaning, in offset order, to tell aborted
// data (discarded) from committed data, and whether a transaction marker
// still has data of its transaction behind it.
type cleanerTxns struct {
	aborted          []AbortedTxn // by first offset, not yet started
	ongoingAborted   map[int64]*cleanerAborted
	ongoingCommitted map[int64]bool
	// cleanedIndex receives the aborted transactions whose markers are
	// retained, for the cleaned segment's .txnindex.
	cleanedIndex []AbortedTxn
}

type cleanerAborted struct {
	txn          AbortedTxn
	lastObserved int64 // last offset of a batch of it read in this cleaning, -1 if none
}

func newCleanerTxns(aborted []AbortedTxn) *cleanerTxns {
	slices.SortFunc(aborted, func(a, b AbortedTxn) int { return int(a.FirstOffset - b.FirstOffset) })
	return &cleanerTxns{aborted: aborted, ongoingAborted: map[int64]*cleanerAborted{}, ongoingCommitted: map[int64]bool{}}
}

func (t *cleanerTxns) consumeUpTo(offset int64) {
	for len(t.aborted) > 0 && t.aborted[0].FirstOffset <= offset {
		a := t.aborted[0]
		t.aborted = t.aborted[1:]
		t.ongoingAborted[a.ProducerID] = &cleanerAborted{txn: a, lastObserved: -1}
	}
}

// onBatchRead reports whether the data batch b belongs to an aborted
// transaction (and so is discarded).
func (t *cleanerTxns) onBatchRead(b record.Batch) bool {
	t.consumeUpTo(b.LastOffset())
	if !b.Attributes().Transactional() {
		return false
	}
	if a := t.ongoingAborted[b.ProducerID()]; a != nil {
		a.lastObserved = b.LastOffset()
		return true
	}
	t.ongoingCommitted[b.ProducerID()] = true
	return false
}

// onControlBatchRead reports whether the marker b may be discarded: its
// transaction has no batch left in the log (none was read in this
// cleaning). An abort marker that stays keeps its .txnindex entry.
func (t *cleanerTxns) onControlBatchRead(b record.Batch) bool {
	t.consumeUpTo(b.LastOffset())
	var typ record.ControlType = -1
	_ = b.Records(func(r *record.Record) error {
		if k, err := record.ParseControlKey(r.Key); err == nil {
			typ = k.Type
		}
		return errStopRecords
	})
	pid := b.ProducerID()
	switch typ {
	case record.ControlAbort:
		a := t.ongoingAborted[pid]
		delete(t.ongoingAborted, pid)
		if a != nil && a.lastObserved >= 0 {
			t.cleanedIndex = append(t.cleanedIndex, a.txn)
			return false
		}
		return true
	case record.ControlCommit:
		had := t.ongoingCommitted[pid]
		delete(t.ongoingCommitted, pid)
		return !had
	}
	return false
}

// lastProducerBatch is what the cleaner knows of an active producer:
// the last offset of its last data batch (-1 if unknown) and its epoch.
type lastProducerBatch struct {
	lastDataOffset int64
	epoch          int16
}

// clean runs one cleaning of the log (Kafka's Cleaner.doClean): it maps
// the latest offset of every key in the dirty section [firstDirty,
// firstUncleanable) (as far as the map's budget allows), then rewrites
// every segment from the log start to the end of the mapped range, in
// groups (groupSegmentsBySize), into cleaned segments that replace them.
// Reads and appends continue meanwhile: segments are read through their
// open files, and only the swap of each group takes the append lock.
func (l *Log) clean(run *cleanRun) (CleanStats, error) {
	l.cleanMu.Lock()
	defer l.cleanMu.Unlock()
	st := CleanStats{FirstDirty: run.firstDirty, DeleteHorizonMs: -1, NextDeleteHorizonMs: -1}
	if run.checkGen && l.cleanGen.Load() != run.gen {
		return st, fmt.Errorf("%w: the log was truncated since its dirty section was computed", ErrCleaningAborted)
	}
	cfg := l.config()
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return st, ErrLogClosed
	}
	segs := slices.Clone(l.segments)
	l.mu.RUnlock()

	// Producers' last batches (Kafka keeps each active producer's last
	// batch, even emptied, so its sequence survives).
	l.appendMu.Lock()
	last := make(map[int64]lastProducerBatch, len(l.pstate.producers))
	for pid, e := range l.pstate.producers {
		lp := lastProducerBatch{lastDataOffset: -1, epoch: e.Epoch}
		if e.NumBatches > 0 {
			lp.lastDataOffset = e.Batches[e.NumBatches-1].LastOffset
		}
		last[pid] = lp
	}
	l.appendMu.Unlock()

	// The aborted transactions below the first uncleanable offset.
	var aborted []AbortedTxn
	for _, s := range segs {
		if s.base >= run.uncleanable {
			break
		}
		aborted = append(aborted, s.txnIdx.all()...)
	}

	om := newOffsetMap(run.mapBudget)
	stop, err := l.buildOffsetMap(segs, run, om, newCleanerTxns(slices.Clone(aborted)), &st)
	if err != nil {
		return st, err
	}
	// end is where the mapped range ends: the whole dirty section, or
	// the first batch the full map could not take. Only the segments
	// wholly below it are rewritten (a segment the map stopped in waits
	// for the next cleaning, which starts at end). So every cleaned
	// segment is followed by one based at or below end, the cleaner
	// checkpoint this cleaning makes durable before its first swap:
	// Open's gap rule, which a cleaned segment ending early would trip,
	// never applies to it even when the recovery point checkpoint is
	// lost (see OpenOptions.CleanerOffset).
	end := max(stop, run.firstDirty)
	st.EndOffset = end
	var inRange []*segment
	for i, s := range segs {
		if i+1 < len(segs) && segs[i+1].base <= end && s.base < run.uncleanable {
			inRange = append(inRange, s)
		}
	}
	if len(inRange) == 0 {
		return st, nil
	}
	groups := groupSegmentsBySize(inRange, segs, cfg, run.uncleanable)
	txns := newCleanerTxns(aborted)
	horizon := run.nowMs + cfg.DeleteRetentionMs
	// The recovery point (and cleaner checkpoint) must be durable before
	// the first .swap file exists, not just before the first swap: Open
	// completes a .swap it finds, and a cleaned segment it then scanned
	// (a recovery point checkpoint older than the cleaned range) would
	// end before the next segment and be taken for a lost tail, dropping
	// everything after it.
	if run.beforeSwap != nil {
		if err := run.beforeSwap(end); err != nil {
			return st, err
		}
	}
	for _, g := range groups {
		cs, err := l.cleanGroup(g, om, txns, last, run, horizon, cfg, &st)
		if err != nil {
			return st, err
		}
		if testHookCleanerSwap != nil {
			if err := testHookCleanerSwap(l, g, cs); err != nil {
				return st, err // the test left the files as a crash would
			}
		}
		if err := l.replaceSegments(g, cs); err != nil {
			return st, err
		}
		st.SegmentsCleaned += len(g)
		st.Groups++
	}
	// Every cleaned segment (all below the checkpoint) was rewritten,
	// so this cleaning saw every pending horizon.
	l.deleteHorizon.Store(max(st.NextDeleteHorizonMs, 0))
	l.horizonKnown.Store(true)
	if run.onCleaned != nil {
		run.onCleaned(st)
	}
	return st, nil
}

// abortCleaning is Kafka's LogCleanerManager.abortAndPauseCleaning: it
// makes a cleaning of this log in progress stop (at its next batch read
// or swap, with ErrCleaningAborted) and waits for it, and keeps any new
// one from starting until release is called. Truncation and deletion
// call it before changing the log: a cleaning's offset map may hold
// offsets a truncation removes, and a record those offsets superseded
// is then the latest of its key again; cleaning on would drop it, or
// swap in a segment read before the truncation (with the truncated data
// in it). Lock order: cleanMu before appendMu.
func (l *Log) abortCleaning() (release func()) {
	l.cleanAborts.Add(1)
	l.cleanMu.Lock()
	l.cleanGen.Add(1)
	return func() {
		l.cleanAborts.Add(-1)
		l.cleanMu.Unlock()
	}
}

// cleaningAborted returns ErrCleaningAborted if an abortCleaning caller
// is waiting.
func (l *Log) cleaningAborted() error {
	if l.cleanAborts.Load() > 0 {
		return fmt.Errorf("%w: the log is being truncated or deleted", ErrCleaningAborted)
	}
	return nil
}

// buildOffsetMap reads the dirty section's batches and maps each key to
// its latest offset (Kafka's buildOffsetMap), skipping control batches
// and aborted transactions' data. It stops before a batch whose keys
// might not fit, and returns the offset it stopped at: that batch's base
// offset, or run.uncleanable when the whole dirty section was mapped.
func (l *Log) buildOffsetMap(segs []*segment, run *cleanRun, om *offsetMap, txns *cleanerTxns, st *CleanStats) (int64, error) {
	stop := run.uncleanable
	full := false
	for i, s := range segs {
		if full || s.base >= run.uncleanable {
			break
		}
		end := run.uncleanable
		if i+1 < len(segs) {
			end = min(end, segs[i+1].base)
		}
		if end <= run.firstDirty {
			continue
		}
		err := l.forEachBatch(s, run, func(b record.Batch) (bool, error) {
			if b.LastOffset() < run.firstDirty {
				return true, nil
			}
			if b.Attributes().Control() {
				txns.onControlBatchRead(b)
				return true, nil
			}
			if txns.onBatchRead(b) {
				return true, nil
			}
			if !om.fits(int64(len(b)), int64(b.NumRecords())) {
				if om.latest < 0 {
					return false, fmt.Errorf("%w: batch at %d", ErrOffsetMapFull, b.BaseOffset())
				}
				full, stop = true, b.BaseOffset()
				return false, nil
			}
			return true, b.Records(func(r *record.Record) error {
				st.MapRecords++
				if r.Key != nil && r.Offset >= run.firstDirty {
					om.put(r.Key, r.Offset)
				}
				return nil
			})
		})
		if err != nil {
			return 0, err
		}
	}
	return stop, nil
}

// forEachBatch reads segment s's batches in order through the throttle,
// calling fn until it returns false or an error. A segment removed from
// the log while it is read aborts the cleaning.
func (l *Log) forEachBatch(s *segment, run *cleanRun, fn func(b record.Batch) (bool, error)) error {
	size := s.size.Load()
	if run.ioBuf == nil {
		run.ioBuf = make([]byte, 1<<20)
	}
	var pos int64
	for pos < size {
		if err := l.cleaningAborted(); err != nil {
			return err
		}
		n := min(int64(len(run.ioBuf)), size-pos)
		buf := run.ioBuf[:n]
		if _, err := s.log.ReadAt(buf, pos); err != nil {
			if s.deleted.Load() {
				return fmt.Errorf("%w: segment %d left the log", ErrCleaningAborted, s.base)
			}
			return fmt.Errorf("cleaner read %s at %d: %w", s.log.Name(), pos, err)
		}
		if run.throttle != nil {
			if err := run.throttle(n); err != nil {
				return err
			}
		}
		consumed := int64(0)
		for consumed < n {
			b, err := record.Peek(buf[consumed:])
			if errors.Is(err, record.ErrIncomplete) {
				if consumed == 0 {
					// A batch larger than the buffer: grow and retry.
					need := int64(record.LogOverhead)
					if len(buf) >= record.LogOverhead {
						need += int64(int32(uint32(buf[8])<<24 | uint32(buf[9])<<16 | uint32(buf[10])<<8 | uint32(buf[11])))
					}
					if need <= int64(len(run.ioBuf)) || need > math.MaxInt32 {
						return fmt.Errorf("%w: truncated batch at %d of %s", ErrCorruptSegment, pos, s.log.Name())
					}
					run.ioBuf = make([]byte, need)
				}
				break
			}
			if err != nil {
				return fmt.Errorf("%w: %s at %d: %w", ErrCorruptSegment, s.log.Name(), pos+consumed, err)
			}
			if err := b.Verify(); err != nil {
				return fmt.Errorf("%w: %s at %d: %w", ErrCorruptSegment, s.log.Name(), pos+consumed, err)
			}
			more, err := fn(b)
			if err != nil || !more {
				return err
			}
			consumed += int64(len(b))
		}
		pos += consumed
	}
	return nil
}

// groupSegmentsBySize is Kafka's Cleaner.groupSegmentsBySize: consecutive
// segments whose combined log size fits segment.bytes, whose combined
// offset index entries fit segment.index.bytes, and whose offsets fit an
// int32 above the group's base, become one cleaned segment. all is the
// whole segment list (for each segment's end offset).
func groupSegmentsBySize(segs, all []*segment, cfg LogConfig, uncleanable int64) [][]*segment {
	nextBase := func(s *segment) int64 {
		i := sort.Search(len(all), func(i int) bool { return all[i].base > s.base })
		if i < len(all) {
			return all[i].base
		}
		return uncleanable
	}
	var groups [][]*segment
	for len(segs) > 0 {
		g := []*segment{segs[0]}
		logSize := segs[0].size.Load()
		idxSize := int64(segs[0].offIdx.count()) * offsetEntrySize
		for len(g) < len(segs) {
			s := segs[len(g)]
			if logSize+s.size.Load() > int64(cfg.SegmentBytes) ||
				idxSize+int64(s.offIdx.count())*offsetEntrySize > int64(cfg.SegmentIndexBytes) ||
				nextBase(s)-1-g[0].base > math.MaxInt32 {
				break
			}
			logSize += s.size.Load()
			idxSize += int64(s.offIdx.count()) * offsetEntrySize
			g = append(g, s)
		}
		groups = append(groups, g)
		segs = segs[len(g):]
	}
	return groups
}

// cleanGroup writes the cleaned copy of group g into a new segment named
// after g's first base offset with the .cleaned suffix (Kafka's
// cleanSegments), fsyncs it and renames its files to .swap. The caller
// swaps it in.
func (l *Log) cleanGroup(g []*segment, om *offsetMap, txns *cleanerTxns, last map[int64]lastProducerBatch,
	run *cleanRun, horizon int64, cfg LogConfig, st *CleanStats,
) (cs *segment, err error) {
	cs, err = createSuffixedSegment(l.dir, g[0].base, cleanedSuffix, cfg, run.nowMs)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			cs.removeFiles()
		}
	}()
	txns.cleanedIndex = txns.cleanedIndex[:0]
	var out, scratch []byte
	var pos int64
	interval := int64(cfg.IndexIntervalBytes)
	flush := func() error {
		if len(out) == 0 {
			return nil
		}
		if run.throttle != nil {
			if err := run.throttle(int64(len(out))); err != nil {
				return err
			}
		}
		if _, err := cs.log.WriteAt(out, pos); err != nil {
			return fmt.Errorf("write %s: %w", cs.log.Name(), err)
		}
		if err := cs.indexAppended(out, pos, interval); err != nil {
			return err
		}
		pos += int64(len(out))
		st.BytesWritten += int64(len(out))
		out = out[:0]
		return nil
	}
	for _, s := range g {
		err := l.forEachBatch(s, run, func(b record.Batch) (bool, error) {
			st.BytesRead += int64(len(b))
			st.RecordsRead += int64(b.NumRecords())
			ctl := b.Attributes().Control()
			var canDiscard bool
			if ctl {
				canDiscard = txns.onControlBatchRead(b)
			} else {
				canDiscard = txns.onBatchRead(b)
			}
			discard := canDiscard
			if ctl {
				discard = canDiscard && b.Attributes().HasDeleteHorizon() && b.BaseTimestamp() <= run.nowMs
			}
			retention := deleteEmpty
			if lp, ok := last[b.ProducerID()]; ok && b.ProducerID() != record.NoProducerID &&
				((lp.lastDataOffset >= 0 && b.LastOffset() == lp.lastDataOffset) ||
					(lp.lastDataOffset < 0 && ctl && b.ProducerEpoch() == lp.epoch)) {
				retention = retainEmpty
			} else if discard {
				retention = deleteBatch
			}
			keep := func(r *record.Record) bool {
				if discard {
					return false
				}
				if ctl {
					return true
				}
				if r.Key == nil {
					return false // never on a compacted topic; Kafka counts it invalid
				}
				if found, ok := om.get(r.Key); ok && r.Offset < found {
					return false
				}
				if r.Value == nil && b.Attributes().HasDeleteHorizon() && run.nowMs >= b.BaseTimestamp() {
					return false
				}
				return true
			}
			setHorizon := func(tombstones int) bool { return tombstones > 0 || (ctl && canDiscard) }
			var res filterResult
			var err error
			out, scratch, res, err = appendFilteredBatch(out, scratch, b, retention, keep, setHorizon, horizon)
			if err != nil {
				return false, fmt.Errorf("clean batch at %d of %s: %w", b.BaseOffset(), s.log.Name(), err)
			}
			st.RecordsDeleted += int64(res.removed)
			st.TombstonesRetained += int64(res.tombstones)
			if res.written && res.deleteHorizonMs > 0 {
				st.DeleteHorizonMs = max(st.DeleteHorizonMs, res.deleteHorizonMs)
			}
			if res.written && res.retained > 0 && res.deleteHorizonMs > run.nowMs && (res.tombstones > 0 || ctl) {
				if st.NextDeleteHorizonMs < 0 || res.deleteHorizonMs < st.NextDeleteHorizonMs {
					st.NextDeleteHorizonMs = res.deleteHorizonMs
				}
			}
			if len(out) >= 1<<20 {
				return true, flush()
			}
			return true, nil
		})
		if err != nil {
			return nil, err
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	for _, a := range txns.cleanedIndex {
		if err := cs.txnIdx.append(a); err != nil {
			return nil, err
		}
	}
	cs.size.Store(pos)
	if err := cs.becomeInactive(); err != nil {
		return nil, err
	}
	if err := cs.syncFiles(cs.offIdx.index.view(), cs.timeIdx.index.view()); err != nil {
		return nil, err
	}
	cs.deactivateLocked()
	if err := cs.releaseIndexes(); err != nil {
		return nil, err
	}
	if err := cs.renameSuffix(swapSuffix); err != nil {
		return nil, err
	}
	if err := syncDir(l.dir); err != nil {
		return nil, err
	}
	return cs, nil
}

// testHookCleanerSwap, when set by a test, runs before each group's swap;
// an error stops the cleaning there, leaving every file as it is (the
// tests simulate a crash at each step of the swap with it).
var testHookCleanerSwap func(l *Log, g []*segment, cs *segment) error

// createSuffixedSegment creates an empty segment at base whose files
// carry suffix after their usual names (the cleaner's .cleaned output).
func createSuffixedSegment(dir string, base int64, suffix string, cfg LogConfig, nowMs int64) (*segment, error) {
	s := &segment{base: base, dir: dir, maxTs: -1, offsetOfMaxTs: base, rollingTs: -1, rollingTsLoaded: true, createdMs: nowMs, suffix: suffix}
	var err error
	if s.log, err = os.OpenFile(s.path(logSuffix), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644); err != nil {
		return nil, err
	}
	for _, sfx := range []string{indexSuffix, timeIndexSuffix, txnIndexSuffix} {
		if err := removeIfExists(s.path(sfx)); err != nil {
			s.closeFiles()
			return nil, err
		}
	}
	if s.offIdx, err = openOffsetIndex(s.path(indexSuffix), base, true); err == nil {
		if s.timeIdx, err = openTimeIndex(s.path(timeIndexSuffix), base, true); err == nil {
			if s.txnIdx, err = openTxnIndex(s.path(txnIndexSuffix), base); err == nil {
				if err = s.offIdx.activate(cfg.SegmentIndexBytes); err == nil {
					err = s.timeIdx.activate(cfg.SegmentIndexBytes)
				}
			}
		}
	}
	if err != nil {
		s.closeFiles()
		return nil, err
	}
	return s, nil
}

// renameSuffix renames every file of s from its current suffix to
// suffix ("" for the live names); open descriptors stay valid.
func (s *segment) renameSuffix(suffix string) error {
	plain := func(sfx string) string { return filepath.Join(s.dir, segmentFileName(s.base, sfx)) }
	if err := os.Rename(s.path(logSuffix), plain(logSuffix)+suffix); err != nil {
		return err
	}
	if err := s.offIdx.renameTo(plain(indexSuffix) + suffix); err != nil {
		return err
	}
	if err := s.timeIdx.renameTo(plain(timeIndexSuffix) + suffix); err != nil {
		return err
	}
	if err := s.txnIdx.rename(plain(txnIndexSuffix) + suffix); err != nil {
		return err
	}
	s.suffix = suffix
	return nil
}

// replaceSegments swaps the cleaned segment cs (its files named .swap) in
// for group g (Kafka's LocalLog.replaceSegments): under the append lock
// and, briefly, mu it checks that g is still in the log, puts cs in its
// place, renames g's files to .deleted (removed after
// file.delete.delay.ms, so reads that hold them finish), renames cs's
// files to their live names and fsyncs the directory. A crash at any
// step is completed or rolled back by Open (see
// removeTempFilesAndCompleteSwaps).
func (l *Log) replaceSegments(g []*segment, cs *segment) error {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	if err := l.cleaningAborted(); err != nil {
		cs.removeFiles()
		return err
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		cs.removeFiles()
		return ErrLogClosed
	}
	i := slices.Index(l.segments, g[0])
	if i < 0 || i+len(g) >= len(l.segments) || !slices.Equal(l.segments[i:i+len(g)], g) {
		l.mu.Unlock()
		cs.removeFiles()
		return fmt.Errorf("%w: segments %d.. changed during cleaning", ErrCleaningAborted, g[0].base)
	}
	segs := slices.Clone(l.segments)
	segs = slices.Replace(segs, i, i+len(g), cs)
	l.segments = segs
	for _, s := range g {
		s.deleted.Store(true)
	}
	l.mu.Unlock()
	err := l.renameSegments(g)
	l.scheduleRemoval(g)
	if e := cs.renameSuffix(""); e != nil && err == nil {
		err = e
	}
	l.dirDirty.Store(false)
	if e := syncDir(l.dir); e != nil {
		l.dirDirty.Store(true)
		if err == nil {
			err = e
		}
	}
	return err
}
