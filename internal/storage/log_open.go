package storage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/samsa-streaming/samsa/internal/record"
)

// Open loads (or creates) the partition log in dir, recovering it as
// Kafka's LogLoader does:
//
//   - leftover *.deleted, *.cleaned and *.tmp files are removed, and
//     interrupted cleaner swaps (*.swap) are completed or discarded;
//   - index files without a .log are removed, and so are the segments
//     lying wholly below LogStartOffset (see dropBelowStart);
//   - every segment's indexes get a cheap sanity check, and a segment with
//     a missing or inconsistent index is recovered (scanned, indexes
//     rebuilt);
//   - without CleanShutdown, every segment from the one holding
//     RecoveryPoint to the end is recovered: each batch is framed, its CRC
//     and offsets checked, and the log truncated at the first torn or
//     corrupt batch, with every later segment deleted; a segment that ends
//     before the next one begins (its unflushed tail lost whole) also
//     ends the log there, so the log stays a prefix of what was written;
//   - a recovered segment whose data runs past the next segment's base
//     offset keeps its data, and the later segments starting inside it
//     (leftovers of a truncation whose directory update was lost) are set
//     aside: renamed to .deleted and removed later (see setAside);
//   - with CleanShutdown nothing is scanned but the active segment's tail
//     after its last index entry (to find the log end offset);
//   - segments trusted without a scan (all after a clean shutdown, those
//     below the recovery point otherwise) are still checked for overlap
//     by walking the few batch headers after their last index entry; any
//     overlap there is logged as a bug and the log recovered from that
//     segment on, as after an unclean shutdown;
//   - a log whose end is below LogStartOffset (its files were lost) is
//     emptied and restarted there; an empty directory gets one empty
//     segment at LogStartOffset.
//
// Recovery never serves a corrupt batch and never drops a batch that
// precedes the first damaged one.
func Open(dir string, cfg LogConfig, opts OpenOptions) (*Log, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	l := &Log{dir: dir, clock: opts.Clock, logger: opts.Logger, sched: opts.ScheduleDelete,
		pstate: newProducerState(), pidExpMs: opts.ProducerIDExpirationMs}
	if l.pidExpMs <= 0 {
		l.pidExpMs = DefaultProducerIDExpirationMs
	}
	if l.clock == nil {
		l.clock = time.Now
	}
	if l.logger == nil {
		l.logger = slog.New(slog.DiscardHandler)
	}
	l.logger = l.logger.With("dir", dir)
	l.cfg.Store(&cfg)
	l.unstable.Store(-1)
	if err := l.loadTopicID(opts.TopicID); err != nil {
		return nil, err
	}
	epochs, err := loadEpochCache(filepath.Join(dir, leaderEpochCheckpointFile))
	if err != nil {
		return nil, err
	}
	l.epochs = epochs
	ld := &loader{l: l, cfg: cfg, opts: opts, now: l.nowMs()}
	if err := ld.load(); err != nil {
		for _, s := range ld.segs {
			s.closeFiles()
		}
		return nil, fmt.Errorf("open log %s: %w", dir, err)
	}
	return l, nil
}

func (l *Log) loadTopicID(want [16]byte) error {
	have, ok, err := readPartitionMetadata(l.dir)
	if err != nil {
		return err
	}
	if want == ([16]byte{}) {
		l.topicID = have
		return nil
	}
	if ok && have != want {
		return fmt.Errorf("%w: %s holds topic %s, not %s", ErrInconsistentTopicID, l.dir, TopicIDString(have), TopicIDString(want))
	}
	if !ok {
		if err := writePartitionMetadata(l.dir, want); err != nil {
			return err
		}
	}
	l.topicID = want
	return nil
}

// loader carries Open's working state.
type loader struct {
	l    *Log
	cfg  LogConfig
	opts OpenOptions
	now  int64

	segs         []*segment
	next         map[*segment]int64 // next offset of each recovered segment
	buf          []byte             // recovery read buffer
	epochChanged bool

	setAsideFiles []string // .log files of the segments setAside took out
	setAsideAbove int64    // lowest base of a segment kept over set-aside ones
}

func (ld *loader) load() error {
	l := ld.l
	if err := ld.removeTempFilesAndCompleteSwaps(); err != nil {
		return err
	}
	bases, err := ld.listSegments()
	if err != nil {
		return err
	}
	rebuild := make([]error, 0, len(bases))
	for _, b := range bases {
		s, needRebuild, err := openSegment(l.dir, b, ld.now, ld.cfg)
		if err != nil {
			return fmt.Errorf("open segment %d: %w", b, err)
		}
		ld.segs = append(ld.segs, s)
		rebuild = append(rebuild, needRebuild)
	}
	ld.next = make(map[*segment]int64)
	rebuild = ld.dropBelowStart(rebuild)

	// Which segments to scan: those with a bad index, plus (unclean) the
	// run from the segment holding the recovery point to the end.
	runStart := len(ld.segs)
	if !ld.opts.CleanShutdown && len(ld.segs) > 0 {
		runStart = max(ld.floor(ld.opts.RecoveryPoint), 0)
	}
	runStart = ld.checkTrustedSegments(runStart, rebuild)
	var tr *txnRebuilder
	for i := 0; i < len(ld.segs); i++ {
		if rebuild[i] == nil && i < runStart {
			tr = nil // a gap: transaction state no longer follows
			continue
		}
		if rebuild[i] != nil {
			l.logger.Warn("rebuilding segment indexes", "base", ld.segs[i].base, "reason", rebuild[i])
			l.stats.IndexesRebuilt++
		}
		if tr == nil {
			tr = ld.newTxnRebuilder(i)
		}
		cut, err := ld.recoverSegment(i, tr)
		if err != nil {
			return err
		}
		if i == len(ld.segs)-1 {
			continue
		}
		next := ld.next[ld.segs[i]]
		if !cut {
			// Later segments starting below this one's recovered end are
			// leftovers of a truncation (see setAside).
			j := i + 1
			for j < len(ld.segs) && ld.segs[j].base < next {
				j++
			}
			if j > i+1 {
				ld.setAside(i, j)
				rebuild = slices.Delete(rebuild, i+1, j)
				// The rest is recovered as after an unclean shutdown,
				// gap rule included, even where it would be trusted.
				runStart = min(runStart, i)
				if i == len(ld.segs)-1 {
					continue
				}
			}
		}
		switch {
		case cut:
			ld.dropFrom(i + 1)
		case i >= runStart && next < ld.segs[i+1].base && ld.segs[i+1].base > ld.opts.CleanerOffset:
			// The segment ends before the next one begins, above the
			// recovery point: its unflushed tail was lost whole (power
			// loss at a batch boundary). Later data would follow a hole,
			// so it goes too and the log stays a prefix of what was
			// written. (Kafka keeps the hole.) Segments the cleaner
			// wrote end early by design: below the cleaner checkpoint
			// the rule does not apply. The cleaner only rewrites fsynced
			// data and checkpoints the recovery point before swapping
			// (see cleaner.go), so a cleaned segment is normally below
			// the recovery point and not scanned at all; the cleaner
			// offset covers a lost or unreadable recovery checkpoint.
			l.logger.Warn("segment ends before the next one begins; dropping the later segments", "base", ld.segs[i].base, "end", next, "nextBase", ld.segs[i+1].base)
			ld.dropFrom(i + 1)
		}
	}

	if err := ld.finishSetAside(); err != nil {
		return err
	}

	// The log end offset: known for a recovered last segment, else from
	// the tail after the last index entry (the only scan a clean open
	// does); a tail that does not parse gets the segment recovered.
	var leo int64
	if n := len(ld.segs); n > 0 {
		last := ld.segs[n-1]
		next, recovered := ld.next[last]
		if !recovered {
			next, err = last.scanTail()
			if err != nil {
				l.logger.Warn("active segment tail does not parse; recovering it", "base", last.base, "err", err)
				if _, err := ld.recoverSegment(n-1, ld.newTxnRebuilder(n-1)); err != nil {
					return err
				}
				next = ld.next[last]
			}
		}
		leo = next
		if leo < ld.opts.LogStartOffset {
			l.logger.Warn("log ends below its start offset; deleting every segment", "logEndOffset", leo, "logStartOffset", ld.opts.LogStartOffset)
			ld.dropFrom(0)
			l.epochs.clear()
			ld.epochChanged = true
		}
	}
	if len(ld.segs) == 0 {
		s, err := createSegment(l.dir, ld.opts.LogStartOffset, ld.cfg, ld.now)
		if err != nil {
			return err
		}
		ld.segs = append(ld.segs, s)
		leo = ld.opts.LogStartOffset
		l.dirDirty.Store(true)
	}

	// Only the last segment stays active (resident, preallocated indexes);
	// recovered earlier ones are trimmed like rolled segments.
	for _, s := range ld.segs[:len(ld.segs)-1] {
		if s.offIdx.resident() {
			if err := s.becomeInactive(); err != nil {
				return err
			}
			s.deactivateLocked()
		}
		if err := s.releaseIndexes(); err != nil {
			return err
		}
	}
	if err := ld.segs[len(ld.segs)-1].activate(ld.cfg); err != nil {
		return err
	}

	logStart := max(ld.opts.LogStartOffset, ld.segs[0].base)
	if l.epochs.truncateFromEnd(leo) {
		ld.epochChanged = true
	}
	if l.epochs.truncateFromStart(ld.opts.LogStartOffset) {
		ld.epochChanged = true
	}
	if ld.epochChanged {
		if err := l.epochs.persist(); err != nil {
			return err
		}
	}

	rp := min(ld.opts.RecoveryPoint, leo)
	if ld.opts.CleanShutdown {
		rp = leo
	}
	if err := ld.syncRecoveredBelow(rp); err != nil {
		return err
	}
	l.segments = ld.segs
	l.leo.Store(leo)
	l.logStart.Store(logStart)
	l.recoveryPoint.Store(rp)
	l.hw.Store(max(min(ld.opts.HighWatermark, leo), logStart))
	l.lastFlushMs.Store(ld.now)
	l.stats.Segments = len(l.segments)
	// Producer state: snapshots above the end (data lost to recovery) or
	// below the start go, then the newest remaining one is loaded and the
	// batches above it replayed. After a clean shutdown Close wrote the
	// snapshot at the log end offset, so nothing is read.
	if err := l.deleteSnapshots(func(off int64) bool { return off > leo || off < logStart }); err != nil {
		return err
	}
	return l.rebuildProducerStateLocked()
}

// syncRecoveredBelow makes durable what recovery wrote to segments that
// lie wholly below the recovery point rp (indexes rebuilt because one was
// missing or damaged): no flush reaches them again, and the next Open
// trusts them without a scan, so a rebuilt .txnindex lost to a power loss
// would silently hide aborted transactions. Recovered segments from the
// one holding rp on are left to the next flush, which starts there; the
// files recovery may have created in them get their directory entries
// synced then too.
func (ld *loader) syncRecoveredBelow(rp int64) error {
	if len(ld.next) == 0 {
		return nil
	}
	ld.l.dirDirty.Store(true)
	synced := false
	for _, s := range ld.segs[:max(ld.floor(rp), 0)] {
		if _, recovered := ld.next[s]; !recovered {
			continue
		}
		if err := s.syncFiles(s.offIdx.index.view(), s.timeIdx.index.view()); err != nil {
			return err
		}
		if err := s.releaseIndexes(); err != nil { // sync reopened them
			return err
		}
		synced = true
	}
	if synced {
		if err := syncDir(ld.l.dir); err != nil {
			return err
		}
	}
	return nil
}

// checkTrustedSegments looks for overlap among the segments Open would
// trust without a scan (every one after a clean shutdown, those below the
// recovery point otherwise): the offset after each one's last batch,
// found by walking the batch headers after its last offset index entry
// (a read or two, never a scan of the segment), must not pass the next
// segment's base offset. A log this package wrote has no overlap there
// (the clean-shutdown marker and the recovery point both follow fsyncs of
// the data and the directory, and a truncation syncs its renames before
// returning), so overlap there means a bug, or a disk that lost writes it
// had acknowledged. It is logged, and the log is recovered from the first
// such segment on, as after an unclean shutdown, so that setAside's rule
// decides what is served. It returns the index of the first segment to
// recover: runStart, or that segment. A segment whose tail does not parse
// is only logged; reads of it fail (as they did before this check).
// The walk usually costs nothing extra: the sanity check already read the
// header at the last index entry and the chunk after it (openEnd).
func (ld *loader) checkTrustedSegments(runStart int, rebuild []error) int {
	for i := 0; i < min(runStart, len(ld.segs)-1); i++ {
		if rebuild[i] != nil {
			continue // recovered anyway, and checked then
		}
		s, later := ld.segs[i], ld.segs[i+1]
		end := s.openEnd // usually found by the sanity check already
		if end < 0 {
			var err error
			if end, err = s.nextOffset(); err != nil {
				ld.l.logger.Warn("cannot read the tail of a segment trusted without a scan", "base", s.base, "err", err)
				continue
			}
		}
		if end > later.base {
			ld.l.logger.Warn("segments overlap in a log trusted without a scan (a bug, or a disk that lost acknowledged writes); recovering it from the first of them",
				"base", s.base, "end", end, "nextBase", later.base, "cleanShutdown", ld.opts.CleanShutdown, "recoveryPoint", ld.opts.RecoveryPoint)
			return i
		}
	}
	return runStart
}

// setAside takes segments [keep+1, to) out of the log being opened: each
// starts below keep's recovered end (the offset after its last batch), so
// it cannot be served along with keep. The rule is to keep the earlier
// segment, whole, and set aside every later one that starts inside it,
// then apply the usual rules (a gap above the recovery point ends the
// log) to the next remaining one. Why the earlier one: segments are
// created at the log end offset and never written below their successor's
// base, so an earlier segment's data can only pass a later one's base if
// it was written after that later segment left the log, i.e. after a
// truncation made the earlier one active again; the later ones are older
// history, from before the truncation, which removed them (renamed them
// to .deleted), and a lost directory update (a power loss before the
// directory was fsynced; Log.TruncateTo now syncs it before returning)
// brought them back. The kept segment holds the newest data at those
// offsets, and everything before it is untouched, so the rule never drops
// a batch that precedes the overlap, and never serves data truncated away
// next to data written after. The alternative, cutting the earlier
// segment at the later one's base, would serve the stale segment after
// new data: a log that was never written. (Kafka's loader does not look:
// both segments stay and reads find whichever the offset maps to.) A
// stale segment starting exactly at the kept data's end is not caught by
// offsets: nothing tells it from a new segment rolled there.
//
// The segments' files are renamed to .deleted at once and removed after
// file.delete.delay.ms, like retention's; finishSetAside does the rest.
func (ld *loader) setAside(keep, to int) {
	l := ld.l
	set := slices.Clone(ld.segs[keep+1 : to])
	for _, s := range set {
		ld.setAsideFiles = append(ld.setAsideFiles, filepath.Base(s.path(logSuffix)))
	}
	if len(ld.setAsideFiles) == len(set) {
		ld.setAsideAbove = ld.segs[keep].base
	}
	ld.segs = slices.Delete(ld.segs, keep+1, to)
	l.stats.SegmentsSetAside += len(set)
	if err := l.renameSegments(set); err != nil {
		// They are out of the log either way, and removed (under
		// whatever name they have) after the delay; were they to come
		// back, the next Open would set them aside again.
		l.logger.Warn("renaming overlapping segments for deletion", "err", err)
	}
	l.scheduleRemoval(set)
}

// finishSetAside completes what setAside did during recovery: one
// warning naming every file set aside; the producer snapshots above the
// first kept segment's base deleted, since they may describe the set-aside
// history (the producer state is rebuilt from an older one); and the
// directory fsynced, so that the set-aside segments do not come back.
func (ld *loader) finishSetAside() error {
	if len(ld.setAsideFiles) == 0 {
		return nil
	}
	l := ld.l
	l.logger.Warn("segments started inside the recovered data of the segment before them: leftovers of a truncation whose directory update was lost; set aside",
		"files", ld.setAsideFiles, "keptFrom", ld.setAsideAbove)
	above := ld.setAsideAbove
	if err := l.deleteSnapshots(func(off int64) bool { return off > above }); err != nil {
		return err
	}
	l.dirDirty.Store(false)
	if err := syncDir(l.dir); err != nil {
		l.dirDirty.Store(true)
		return err
	}
	return nil
}

// dropBelowStart deletes the segments that lie wholly below
// LogStartOffset (the next one starts at or below it) before anything is
// recovered, and returns rebuild without their entries. Nothing below the
// log start is ever served, and retention would delete them next; they are
// normally gone already, but a crash between DeleteRecords moving the
// start and deleting the segments leaves some, and a power loss that took
// back the renames of a TruncateFullyAndStartAt restarting the log ahead
// of its old end brings back all the old ones: recovered, they would end
// before the new segment begins, and the gap rule would drop the new data
// instead. The last segment always stays.
func (ld *loader) dropBelowStart(rebuild []error) []error {
	n := 0
	for n+1 < len(ld.segs) && ld.segs[n+1].base <= ld.opts.LogStartOffset {
		n++
	}
	if n == 0 {
		return rebuild
	}
	l := ld.l
	l.logger.Info("deleting segments wholly below the log start offset", "segments", n, "first", ld.segs[0].base, "logStartOffset", ld.opts.LogStartOffset)
	for _, s := range ld.segs[:n] {
		if err := s.removeFiles(); err != nil {
			l.logger.Warn("removing segment files", "base", s.base, "err", err)
		}
	}
	l.stats.SegmentsDropped += n
	l.dirDirty.Store(true)
	ld.segs = ld.segs[n:]
	return rebuild[n:]
}

// floor returns the index of the last loaded segment whose base is <=
// offset, or -1.
func (ld *loader) floor(offset int64) int {
	return sort.Search(len(ld.segs), func(i int) bool { return ld.segs[i].base > offset }) - 1
}

func (ld *loader) newTxnRebuilder(i int) *txnRebuilder {
	older := ld.segs[:i]
	return newTxnRebuilder(i == 0, ld.segs[0].base, func(pid, candidate int64) (int64, error) {
		return findTxnStartIn(older, pid, candidate)
	})
}

// dropFrom deletes segments [i, ...) outright (nothing reads them yet).
func (ld *loader) dropFrom(i int) {
	for _, s := range ld.segs[i:] {
		ld.l.logger.Warn("deleting segment after recovery truncation", "base", s.base)
		if err := s.removeFiles(); err != nil {
			ld.l.logger.Warn("removing segment files", "base", s.base, "err", err)
		}
		ld.l.stats.SegmentsDropped++
	}
	ld.segs = ld.segs[:i]
	ld.l.dirDirty.Store(true)
}

// recoverSegment is Kafka's LogSegment.recover: it reads segment i batch
// by batch, keeping each batch that frames correctly, passes its CRC and
// continues the offsets, rebuilding the offset, time and transaction
// indexes and the leader epoch cache on the way, and truncates the file
// at the first batch that does not. cut reports whether anything other
// than preallocated zeros was cut.
func (ld *loader) recoverSegment(i int, tr *txnRebuilder) (cut bool, err error) {
	l, s := ld.l, ld.segs[i]
	st, err := s.log.Stat()
	if err != nil {
		return false, err
	}
	fileSize := st.Size()
	s.offIdx.reset()
	s.timeIdx.resetTime()
	if err := s.txnIdx.reset(); err != nil {
		return false, err
	}
	if err := s.activate(ld.cfg); err != nil {
		return false, err
	}
	s.setMaxTimestamp(-1, s.base)
	s.bytesSinceIndex = 0
	s.rollingTs, s.rollingTsLoaded = -1, false

	if ld.buf == nil {
		ld.buf = make([]byte, 1<<20)
	}
	interval := int64(ld.cfg.IndexIntervalBytes)
	next := s.base
	var valid int64
	var bufStart, bufEnd int64 // file range held in ld.buf[:bufEnd-bufStart]
	var stopReason error
	for valid < fileSize {
		// Make sure the 12-byte frame header, then the whole batch, is buffered.
		need := int64(record.LogOverhead)
		if fileSize-valid < need {
			stopReason = fmt.Errorf("%w: %d trailing bytes", record.ErrIncomplete, fileSize-valid)
			break
		}
		if err := ld.fill(s.log, valid, need, fileSize, &bufStart, &bufEnd); err != nil {
			return false, err
		}
		frame := ld.buf[valid-bufStart:]
		length := int64(int32(uint32(frame[8])<<24 | uint32(frame[9])<<16 | uint32(frame[10])<<8 | uint32(frame[11])))
		if length < record.HeaderSize-record.LogOverhead {
			stopReason = fmt.Errorf("%w: batch length %d", record.ErrCorrupt, length)
			break
		}
		size := record.LogOverhead + length
		if valid+size > fileSize {
			stopReason = fmt.Errorf("%w: batch of %d bytes, %d present", record.ErrIncomplete, size, fileSize-valid)
			break
		}
		if err := ld.fill(s.log, valid, size, fileSize, &bufStart, &bufEnd); err != nil {
			return false, err
		}
		b := record.Batch(ld.buf[valid-bufStart : valid-bufStart+size])
		if err := b.Verify(); err != nil {
			stopReason = err
			break
		}
		if b.BaseOffset() < next {
			stopReason = fmt.Errorf("%w: base offset %d below %d", record.ErrCorrupt, b.BaseOffset(), next)
			break
		}
		if !s.offIdx.canAppendOffset(b.LastOffset()) {
			stopReason = fmt.Errorf("%w: offset %d does not fit segment %d", record.ErrCorrupt, b.LastOffset(), s.base)
			break
		}
		if err := s.indexAppended(b, valid, interval); err != nil {
			return false, err
		}
		if e := b.PartitionLeaderEpoch(); e >= 0 {
			if latest, ok := l.epochs.latest(); !ok || e > latest.Epoch {
				l.epochs.assign(e, b.BaseOffset())
				ld.epochChanged = true
			}
		}
		if err := tr.observe(b, s); err != nil {
			return false, err
		}
		next = b.NextOffset()
		valid += size
	}
	l.stats.SegmentsRecovered++
	l.stats.BytesScanned += valid
	if valid < fileSize {
		zeros, err := allZero(s.log, valid, fileSize)
		if err != nil {
			return false, err
		}
		cut = !zeros
		if cut {
			l.logger.Warn("truncating corrupt or torn segment tail", "base", s.base, "position", valid, "bytes", fileSize-valid, "reason", stopReason)
			l.stats.BytesTruncated += fileSize - valid
		}
		if err := s.log.Truncate(valid); err != nil {
			return false, fmt.Errorf("truncate %s: %w", s.log.Name(), err)
		}
	}
	s.size.Store(valid)
	s.fileSize = valid
	if err := s.timeIdx.maybeAppend(s.maxTs, s.offsetOfMaxTs, true); err != nil {
		return false, err
	}
	ld.next[s] = next
	return cut, nil
}

// fill makes ld.buf hold file bytes [pos, pos+need), growing the buffer
// for batches larger than it and reading ahead as far as it can.
func (ld *loader) fill(f *os.File, pos, need, fileSize int64, bufStart, bufEnd *int64) error {
	if pos >= *bufStart && pos+need <= *bufEnd {
		return nil
	}
	if int64(len(ld.buf)) < need {
		ld.buf = make([]byte, need)
	}
	n := min(int64(len(ld.buf)), fileSize-pos)
	if _, err := f.ReadAt(ld.buf[:n], pos); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read %s at %d: %w", f.Name(), pos, err)
	}
	*bufStart, *bufEnd = pos, pos+n
	return nil
}

// allZero reports whether file bytes [from, to) are all zero: the
// unwritten preallocated tail of a segment that was not closed cleanly,
// which recovery trims without calling it corruption.
func allZero(f *os.File, from, to int64) (bool, error) {
	buf := make([]byte, min(to-from, 1<<20))
	for pos := from; pos < to; {
		n := min(int64(len(buf)), to-pos)
		if _, err := f.ReadAt(buf[:n], pos); err != nil && !errors.Is(err, io.EOF) {
			return false, err
		}
		if bytes.IndexFunc(buf[:n], func(r rune) bool { return r != 0 }) >= 0 {
			return false, nil
		}
		pos += n
	}
	return true, nil
}

// removeTempFilesAndCompleteSwaps is Kafka's first pass over the
// directory: drop .deleted, .tmp and .cleaned leftovers, discard swap files
// from an incomplete cleaner split (at or above the lowest .cleaned base
// offset), and complete the remaining swaps: delete the segments the swap
// replaces and rename the .swap files into place.
func (ld *loader) removeTempFilesAndCompleteSwaps() error {
	l := ld.l
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return err
	}
	minCleaned := int64(math.MaxInt64)
	var swaps []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		name := e.Name()
		switch {
		case strings.HasSuffix(name, deletedSuffix), strings.HasSuffix(name, tmpSuffix):
			if err := removeIfExists(filepath.Join(l.dir, name)); err != nil {
				return err
			}
			l.dirDirty.Store(true)
		case strings.HasSuffix(name, cleanedSuffix):
			if base, _, ok := parseSegmentFileName(name); ok {
				minCleaned = min(minCleaned, base)
			}
			if err := removeIfExists(filepath.Join(l.dir, name)); err != nil {
				return err
			}
			l.dirDirty.Store(true)
		case strings.HasSuffix(name, swapSuffix):
			swaps = append(swaps, name)
		}
	}
	if len(swaps) == 0 {
		return nil
	}
	var valid []string
	minSwap, maxSwap := int64(math.MaxInt64), int64(math.MinInt64)
	for _, name := range swaps {
		base, suffix, ok := parseSegmentFileName(name)
		if !ok || base >= minCleaned {
			if err := removeIfExists(filepath.Join(l.dir, name)); err != nil {
				return err
			}
			continue
		}
		valid = append(valid, name)
		if suffix == logSuffix+swapSuffix {
			next, err := swapNextOffset(filepath.Join(l.dir, name), base)
			if err != nil {
				return err
			}
			minSwap, maxSwap = min(minSwap, base), max(maxSwap, next)
			l.stats.SwapsCompleted++
		}
	}
	for _, e := range entries {
		base, suffix, ok := parseSegmentFileName(e.Name())
		if ok && isSegmentFile(suffix) && base >= minSwap && base < maxSwap {
			l.logger.Info("deleting segment replaced by an interrupted swap", "file", e.Name())
			if err := removeIfExists(filepath.Join(l.dir, e.Name())); err != nil {
				return err
			}
		}
	}
	for _, name := range valid {
		if err := os.Rename(filepath.Join(l.dir, name), filepath.Join(l.dir, strings.TrimSuffix(name, swapSuffix))); err != nil {
			return err
		}
	}
	l.dirDirty.Store(true)
	return nil
}

// swapNextOffset walks the headers of a .log.swap file to find the offset
// after its last whole batch.
func swapNextOffset(path string, base int64) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	r := newHeaderReader(f, st.Size())
	defer r.release()
	next := base
	for pos := int64(0); pos < st.Size(); {
		h, err := r.at(pos)
		if err != nil {
			break // the swap is recovered like any segment once renamed
		}
		next = h.NextOffset()
		pos += batchSize(h)
	}
	return next, nil
}

// listSegments removes index files whose .log is gone and returns the
// base offsets of the .log files, ascending.
func (ld *loader) listSegments() ([]int64, error) {
	l := ld.l
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, err
	}
	logs := make(map[int64]bool)
	for _, e := range entries {
		if base, suffix, ok := parseSegmentFileName(e.Name()); ok && suffix == logSuffix && !e.IsDir() {
			logs[base] = true
		}
	}
	for _, e := range entries {
		base, suffix, ok := parseSegmentFileName(e.Name())
		if ok && suffix != logSuffix && isSegmentFile(suffix) && !logs[base] {
			l.logger.Warn("removing orphaned index file", "file", e.Name())
			if err := removeIfExists(filepath.Join(l.dir, e.Name())); err != nil {
				return nil, err
			}
			l.dirDirty.Store(true)
		}
	}
	bases := make([]int64, 0, len(logs))
	for b := range logs {
		bases = append(bases, b)
	}
	sort.Slice(bases, func(i, j int) bool { return bases[i] < bases[j] })
	return bases, nil
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
