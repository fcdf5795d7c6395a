package metadata

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
)

// Log orders metadata batches and makes them durable beneath a Controller.
// The Controller only validates and proposes; the log decides what is
// committed and feeds every committed batch to the Publisher it was opened
// with. The local log does that on this node after an fsync; a Raft log will
// do it on every node from its state machine once a quorum has the entry.
// Swapping one for the other changes nothing above this interface.
type Log interface {
	// Append commits records as one atomic batch and returns its offset.
	// When it returns nil the batch is durable and the Publisher's image
	// includes it. On error the batch is not visible; whether it was
	// committed is unknown only if the error wraps ErrLogFailed.
	Append(records []Record) (offset int64, err error)
}

// File names inside a metadata log directory.
const (
	// MetadataLogDirName is the directory, under the first log dir, that
	// holds the metadata log: Kafka's name for its metadata partition.
	MetadataLogDirName = "__cluster_metadata-0"

	// LogFileName and SnapshotFileName hold the entries and the snapshot.
	// They are not Kafka's segment and checkpoint names because their
	// formats are not Kafka's: Kafka's tools must not mistake them.
	LogFileName      = "metadata.log"
	SnapshotFileName = "metadata.snapshot"

	// DefaultCompactBytes is the log size past which an append writes a
	// snapshot and starts a fresh log.
	DefaultCompactBytes = 4 << 20
)

// entryLimit is the largest frame Append writes: MaxEntryBytes, lowered by
// tests.
var entryLimit = MaxEntryBytes

// MetadataLogDir returns the metadata log directory under a log dir.
func MetadataLogDir(logDir string) string {
	return filepath.Join(logDir, MetadataLogDirName)
}

// LocalLogOptions tunes a LocalLog. The zero value is usable.
type LocalLogOptions struct {
	// CompactBytes: once the log file is larger than this and than the
	// last snapshot, the next append writes a snapshot of the image and
	// starts an empty log, so that startup replays a bounded log. Zero
	// means DefaultCompactBytes; negative disables automatic compaction.
	CompactBytes int64

	// Logger receives recovery and compaction messages; nil discards them.
	Logger *slog.Logger
}

// LocalLogStats describes a LocalLog's files.
type LocalLogStats struct {
	SnapshotOffset int64 // offset the snapshot file holds; 0 without one
	LastOffset     int64 // offset of the last committed batch
	LogBytes       int64 // size of the log file
	SnapshotBytes  int64 // size of the snapshot file
	TruncatedBytes int64 // torn or corrupt tail bytes dropped when opening
}

// LocalLog is the single-node metadata log: a snapshot file and a log file
// of checksummed entries in one directory (formats in doc.go). Each Append
// is written and fsynced before its batch is published, so a change a
// client has been told about survives a crash. Opening replays the snapshot
// and the log, truncating a torn or corrupt tail. A LocalLog is safe for
// concurrent use; appends are serialised.
type LocalLog struct {
	dir    string
	pub    *Publisher
	opts   LocalLogOptions
	logger *slog.Logger

	mu        sync.Mutex
	f         *os.File // guarded by mu; the open log file
	size      int64    // guarded by mu; bytes in the log file
	last      int64    // guarded by mu; offset of the last batch
	snapOff   int64    // guarded by mu
	snapBytes int64    // guarded by mu
	truncated int64    // guarded by mu
	failed    error    // guarded by mu; sticky ErrLogFailed
	closed    bool     // guarded by mu
	buf       []byte   // guarded by mu; frame encoding buffer
}

var _ Log = (*LocalLog)(nil)

// OpenLocalLog opens (creating if needed) the metadata log in dir, replays
// it, and installs the resulting image in pub with Restore (listeners
// already subscribed see it as one Delta). A torn or corrupt tail (a frame
// that is incomplete or fails its CRC) is truncated away, along with
// everything after it; every entry before it is kept. Any other damage (see
// ErrCorrupt) refuses to open. The log must be pub's only feed.
func OpenLocalLog(dir string, pub *Publisher, opts LocalLogOptions) (*LocalLog, error) {
	if opts.CompactBytes == 0 {
		opts.CompactBytes = DefaultCompactBytes
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l := &LocalLog{dir: dir, pub: pub, opts: opts, logger: logger}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("metadata: create %s: %w", dir, err)
	}
	for _, name := range []string{LogFileName, SnapshotFileName} {
		if err := os.Remove(filepath.Join(dir, name+".tmp")); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("metadata: remove stale temp file: %w", err)
		}
	}

	base := EmptyImage()
	snapData, ok, err := readFileIfExists(filepath.Join(dir, SnapshotFileName))
	if err != nil {
		return nil, fmt.Errorf("metadata: read snapshot: %w", err)
	}
	if ok {
		if base, err = DecodeSnapshot(snapData); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, SnapshotFileName), err)
		}
		l.snapOff, l.snapBytes = base.offset, int64(len(snapData))
	}

	logPath := filepath.Join(dir, LogFileName)
	logData, ok, err := readFileIfExists(logPath)
	if err != nil {
		return nil, fmt.Errorf("metadata: read log: %w", err)
	}
	if !ok {
		if err := writeFileAtomic(dir, LogFileName, appendFileHeader(nil, logMagic)); err != nil {
			return nil, fmt.Errorf("metadata: create log: %w", err)
		}
		logData = appendFileHeader(nil, logMagic)
	}
	img, valid, err := replayLog(base, logData)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", logPath, err)
	}

	f, err := os.OpenFile(logPath, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("metadata: open log: %w", err)
	}
	if valid < len(logData) {
		l.truncated = int64(len(logData) - valid)
		logger.Warn("metadata log: truncating torn or corrupt tail",
			"path", logPath, "valid_bytes", valid, "dropped_bytes", l.truncated, "last_offset", img.offset)
		err := f.Truncate(int64(valid))
		if err == nil {
			err = f.Sync()
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("metadata: truncate log tail: %w", err)
		}
	}
	l.f, l.size, l.last = f, int64(valid), img.offset
	pub.Restore(img)
	logger.Info("metadata log: loaded", "dir", dir, "snapshot_offset", l.snapOff, "last_offset", l.last)
	return l, nil
}

// replayLog applies the log file's entries above base's offset to base. It
// returns the image and the length of the valid prefix of data: the bytes
// before the first torn or corrupt frame.
func replayLog(base *Image, data []byte) (*Image, int, error) {
	if err := checkFileHeader(data, logMagic); err != nil {
		return nil, 0, err
	}
	b := newBuilder(base)
	pos, prev := fileHeaderSize, int64(0)
	for pos < len(data) {
		off, recs, size, err := readFrame(data[pos:])
		if errors.Is(err, errTorn) {
			break
		}
		if err != nil {
			return nil, 0, fmt.Errorf("%w: entry at byte %d: %w", ErrCorrupt, pos, err)
		}
		switch {
		case off <= prev:
			return nil, 0, fmt.Errorf("%w: entry at byte %d has offset %d after %d", ErrCorrupt, pos, off, prev)
		case off <= base.offset:
			// Already in the snapshot: a crash between writing the
			// snapshot and replacing the log leaves these behind.
		case off != b.cur.offset+1:
			return nil, 0, fmt.Errorf("%w: entry at byte %d has offset %d, expected %d", ErrCorrupt, pos, off, b.cur.offset+1)
		default:
			if err := b.apply(Batch{Offset: off, Records: recs}); err != nil {
				return nil, 0, fmt.Errorf("%w: %w", ErrCorrupt, err)
			}
		}
		prev = off
		pos += size
	}
	return b.build(), pos, nil
}

// Append implements Log: the batch gets the next offset, is checked against
// the current image, written and fsynced, and only then published.
func (l *LocalLog) Append(records []Record) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, ErrClosed
	}
	if l.failed != nil {
		return 0, l.failed
	}
	var offset int64
	err := l.pub.update(func(cur *Image) (*Image, *Delta, error) {
		if cur.offset != l.last {
			return nil, nil, inconsistent("publisher is at offset %d but the log at %d: another writer feeds it", cur.offset, l.last)
		}
		batch := Batch{Offset: l.last + 1, Records: records}
		next, delta, err := cur.Apply(batch)
		if err != nil {
			return nil, nil, err
		}
		l.buf = appendFrame(l.buf[:0], batch.Offset, records)
		if len(l.buf)-frameHeaderSize > entryLimit {
			return nil, nil, fmt.Errorf("%w: %d bytes, at most %d", ErrBatchTooLarge, len(l.buf)-frameHeaderSize, entryLimit)
		}
		if err := l.writeLocked(l.buf); err != nil {
			return nil, nil, err
		}
		l.last, offset = batch.Offset, batch.Offset
		return next, delta, nil
	})
	if cap(l.buf) > snapshotChunkBytes {
		l.buf = nil // do not pin a rare huge batch's buffer
	}
	if err != nil {
		return 0, err
	}
	if l.opts.CompactBytes > 0 && l.size > l.opts.CompactBytes && l.size > l.snapBytes {
		if err := l.compactLocked(); err != nil {
			// The batch is committed; the old snapshot and log still
			// describe it. Compaction is retried on a later append.
			l.logger.Warn("metadata log: compaction failed", "dir", l.dir, "err", err)
		}
	}
	return offset, nil
}

// writeLocked appends buf to the log file and fsyncs it. Any failure makes
// the log fail-stop: after a failed fsync the kernel may have dropped the
// dirty pages, so nothing written since the last good fsync can be trusted.
func (l *LocalLog) writeLocked(buf []byte) error {
	_, err := l.f.WriteAt(buf, l.size)
	if err == nil {
		err = l.f.Sync()
	}
	if err != nil {
		// Best effort: cut what may have been written, so a restart does
		// not find an entry a client was told failed.
		_ = l.f.Truncate(l.size)
		l.failed = fmt.Errorf("%w: %s: %w", ErrLogFailed, l.f.Name(), err)
		return l.failed
	}
	l.size += int64(len(buf))
	return nil
}

// Snapshot writes a snapshot of the current image and starts an empty log
// now, rather than waiting for the log to reach CompactBytes.
func (l *LocalLog) Snapshot() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if l.failed != nil {
		return l.failed
	}
	return l.compactLocked()
}

// compactLocked replaces snapshot+log with a snapshot of the image at the
// last offset and an empty log. Each file is replaced atomically, snapshot
// first: a crash in between leaves the new snapshot and the old log, whose
// entries the snapshot already covers and replay skips.
func (l *LocalLog) compactLocked() error {
	img := l.pub.Image()
	if img.offset != l.last {
		return inconsistent("publisher is at offset %d but the log at %d", img.offset, l.last)
	}
	snap := EncodeSnapshot(img)
	if err := writeFileAtomic(l.dir, SnapshotFileName, snap); err != nil {
		return fmt.Errorf("metadata: write snapshot: %w", err)
	}
	l.snapOff, l.snapBytes = img.offset, int64(len(snap))
	header := appendFileHeader(nil, logMagic)
	if err := writeFileAtomic(l.dir, LogFileName, header); err != nil {
		return fmt.Errorf("metadata: replace log: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(l.dir, LogFileName), os.O_RDWR, 0)
	if err != nil {
		// The new log is in place but cannot be opened; appending to the
		// old, unlinked file would lose entries.
		l.failed = fmt.Errorf("%w: reopen log after compaction: %w", ErrLogFailed, err)
		return l.failed
	}
	l.f.Close()
	l.f, l.size = f, int64(len(header))
	l.logger.Info("metadata log: compacted", "dir", l.dir, "snapshot_offset", img.offset, "snapshot_bytes", len(snap))
	return nil
}

// Stats describes the log's files.
func (l *LocalLog) Stats() LocalLogStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return LocalLogStats{
		SnapshotOffset: l.snapOff,
		LastOffset:     l.last,
		LogBytes:       l.size,
		SnapshotBytes:  l.snapBytes,
		TruncatedBytes: l.truncated,
	}
}

// Dir returns the directory the log lives in.
func (l *LocalLog) Dir() string { return l.dir }

// Close closes the log file. Later appends fail with ErrClosed. Everything
// appended is already durable, so Close does no I/O but the close itself.
func (l *LocalLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	return l.f.Close()
}
