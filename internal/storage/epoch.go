package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
)

// leaderEpochCheckpointFile is the per-partition leader epoch cache file,
// in Kafka's checkpoint text format:
//
//	0                  version
//	2                  number of entries
//	0 0                epoch startOffset
//	3 1500             ...
const leaderEpochCheckpointFile = "leader-epoch-checkpoint"

// UndefinedEpoch and UndefinedEpochOffset are Kafka's "no such epoch"
// answers for OffsetForLeaderEpoch (both -1).
const (
	UndefinedEpoch       int32 = -1
	UndefinedEpochOffset int64 = -1
)

// EpochEntry is one leader epoch and the first offset written in it.
type EpochEntry struct {
	Epoch       int32
	StartOffset int64
}

// epochCache is Kafka's LeaderEpochFileCache: the start offset of every
// leader epoch still present in the log, in increasing order of both
// fields. Mutations come from the Log's appender, truncation and
// log-start changes (all under the Log's append lock) and are persisted by
// persist; lookups (OffsetForLeaderEpoch, ListOffsets) take the read
// lock only. Safe for concurrent use.
type epochCache struct {
	path string

	mu      sync.RWMutex
	entries []EpochEntry // guarded by mu
}

// loadEpochCache reads path; a missing file is an empty cache.
func loadEpochCache(path string) (*epochCache, error) {
	c := &epochCache{path: path}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	entries, err := parseEpochCheckpoint(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, e := range entries {
		c.assignLocked(e)
	}
	return c, nil
}

func parseEpochCheckpoint(s string) ([]EpochEntry, error) {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) < 2 {
		return nil, fmt.Errorf("%w: missing header", ErrCorruptCheckpoint)
	}
	if strings.TrimSpace(lines[0]) != "0" {
		return nil, fmt.Errorf("%w: unknown version %q", ErrCorruptCheckpoint, lines[0])
	}
	n, err := strconv.Atoi(strings.TrimSpace(lines[1]))
	if err != nil || n < 0 || n != len(lines)-2 {
		return nil, fmt.Errorf("%w: count %q but %d entries", ErrCorruptCheckpoint, lines[1], len(lines)-2)
	}
	entries := make([]EpochEntry, 0, n)
	for _, line := range lines[2:] {
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return nil, fmt.Errorf("%w: malformed line %q", ErrCorruptCheckpoint, line)
		}
		epoch, err1 := strconv.ParseInt(fields[0], 10, 32)
		off, err2 := strconv.ParseInt(fields[1], 10, 64)
		if err1 != nil || err2 != nil || epoch < 0 || off < 0 {
			return nil, fmt.Errorf("%w: malformed line %q", ErrCorruptCheckpoint, line)
		}
		entries = append(entries, EpochEntry{Epoch: int32(epoch), StartOffset: off})
	}
	return entries, nil
}

func formatEpochCheckpoint(entries []EpochEntry) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "0\n%d\n", len(entries))
	for _, e := range entries {
		fmt.Fprintf(&b, "%d %d\n", e.Epoch, e.StartOffset)
	}
	return []byte(b.String())
}

// persist writes the current entries atomically. Callers serialize
// persists (the Log's append lock).
func (c *epochCache) persist() error {
	c.mu.RLock()
	data := formatEpochCheckpoint(c.entries)
	c.mu.RUnlock()
	return writeFileAtomic(c.path, data)
}

// snapshot returns a copy of the entries.
func (c *epochCache) snapshot() []EpochEntry {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]EpochEntry(nil), c.entries...)
}

// assign records that epoch starts at startOffset, reporting whether the
// cache changed. As in Kafka, an entry that repeats the latest epoch at a
// later offset is ignored, and entries that would break monotonicity (an
// epoch or start offset at or above the new one) are removed first.
// Negative epochs (unstamped data) are ignored.
func (c *epochCache) assign(epoch int32, startOffset int64) bool {
	if epoch < 0 || startOffset < 0 {
		return false
	}
	e := EpochEntry{epoch, startOffset}
	c.mu.RLock()
	needed := c.updateNeededLocked(e)
	c.mu.RUnlock()
	if !needed {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.assignLocked(e)
}

func (c *epochCache) updateNeededLocked(e EpochEntry) bool {
	if len(c.entries) == 0 {
		return true
	}
	last := c.entries[len(c.entries)-1]
	return e.Epoch != last.Epoch || e.StartOffset < last.StartOffset
}

func (c *epochCache) assignLocked(e EpochEntry) bool {
	if !c.updateNeededLocked(e) {
		return false
	}
	n := len(c.entries)
	for n > 0 && (c.entries[n-1].Epoch >= e.Epoch || c.entries[n-1].StartOffset >= e.StartOffset) {
		n--
	}
	c.entries = append(c.entries[:n], e)
	return true
}

// latest returns the newest entry.
func (c *epochCache) latest() (EpochEntry, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if len(c.entries) == 0 {
		return EpochEntry{}, false
	}
	return c.entries[len(c.entries)-1], true
}

// earliest returns the oldest entry.
func (c *epochCache) earliest() (EpochEntry, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if len(c.entries) == 0 {
		return EpochEntry{}, false
	}
	return c.entries[0], true
}

// epochForOffset returns the epoch whose range holds offset.
func (c *epochCache) epochForOffset(offset int64) (int32, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for i := len(c.entries) - 1; i >= 0; i-- {
		if c.entries[i].StartOffset <= offset {
			return c.entries[i].Epoch, true
		}
	}
	return 0, false
}

// endOffsetFor answers OffsetForLeaderEpoch exactly as Kafka's
// LeaderEpochFileCache.endOffsetFor: the requested epoch (or the largest
// epoch below it) and the start offset of the next epoch, the log end
// offset for the latest epoch, and (UndefinedEpoch, UndefinedEpochOffset)
// for an undefined or unknown-high epoch.
func (c *epochCache) endOffsetFor(epoch int32, logEndOffset int64) (int32, int64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if epoch == UndefinedEpoch || len(c.entries) == 0 {
		return UndefinedEpoch, UndefinedEpochOffset
	}
	if c.entries[len(c.entries)-1].Epoch == epoch {
		return epoch, logEndOffset
	}
	// higher: first entry with Epoch > epoch; floor: the one before it.
	higher := -1
	for i, e := range c.entries {
		if e.Epoch > epoch {
			higher = i
			break
		}
	}
	if higher < 0 {
		return UndefinedEpoch, UndefinedEpochOffset
	}
	if higher == 0 {
		return epoch, c.entries[0].StartOffset
	}
	return c.entries[higher-1].Epoch, c.entries[higher].StartOffset
}

// truncateFromEnd removes the entries starting at or after endOffset
// (the log was truncated to endOffset), reporting whether any were.
func (c *epochCache) truncateFromEnd(endOffset int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.entries)
	if endOffset < 0 || n == 0 || c.entries[n-1].StartOffset < endOffset {
		return false
	}
	for n > 0 && c.entries[n-1].StartOffset >= endOffset {
		n--
	}
	c.entries = c.entries[:n]
	return true
}

// truncateFromStart drops the entries wholly below startOffset (the log
// start moved there), keeping the epoch that covers startOffset with its
// start moved up to it, reporting whether anything changed.
func (c *epochCache) truncateFromStart(startOffset int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) == 0 || startOffset <= c.entries[0].StartOffset {
		return false
	}
	i := 0
	for i < len(c.entries) && c.entries[i].StartOffset <= startOffset {
		i++
	}
	// entries[i-1] covers startOffset.
	kept := append([]EpochEntry{{c.entries[i-1].Epoch, startOffset}}, c.entries[i:]...)
	c.entries = kept
	return true
}

// clear removes every entry.
func (c *epochCache) clear() {
	c.mu.Lock()
	c.entries = nil
	c.mu.Unlock()
}
