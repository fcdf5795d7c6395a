package storage

import (
	"errors"
	"math"
	"path/filepath"
	"sync"
	"time"
)

// CleanerConfig configures the log cleaner (Kafka's CleanerConfig, from
// the broker's log.cleaner.* settings). The zero value is a disabled
// cleaner; the server passes log.cleaner.enable (default true).
type CleanerConfig struct {
	// Enable runs the cleaner (log.cleaner.enable).
	Enable bool
	// Threads is the number of cleaner goroutines (log.cleaner.threads,
	// default 1); 0 runs none, as in Kafka.
	Threads int
	// DedupeBufferSize is the memory for the offset maps of all threads
	// (log.cleaner.dedupe.buffer.size, default 128 MiB), split evenly.
	DedupeBufferSize int64
	// IOMaxBytesPerSecond caps the cleaner's reads plus writes
	// (log.cleaner.io.max.bytes.per.second, default unlimited); <= 0 or
	// +Inf means unlimited.
	IOMaxBytesPerSecond float64
	// Backoff is how long a thread sleeps when no log needs cleaning
	// (log.cleaner.backoff.ms, default 15 s).
	Backoff time.Duration
}

func (c CleanerConfig) withDefaults() CleanerConfig {
	if c.DedupeBufferSize <= 0 {
		c.DedupeBufferSize = 128 << 20
	}
	if c.Backoff <= 0 {
		c.Backoff = 15 * time.Second
	}
	return c
}

// cleaner is the Manager's LogCleaner plus LogCleanerManager: the cleaner
// checkpoints, which logs are being cleaned, and the shared throttle.
type cleaner struct {
	cfg      CleanerConfig
	throttle *throttler

	mu         sync.Mutex
	offsets    map[TopicPartition]int64 // guarded by mu: first dirty offset per partition (cleaner-offset-checkpoint)
	inProgress map[TopicPartition]bool  // guarded by mu
	lastStats  map[TopicPartition]CleanStats
	failures   map[TopicPartition]cleanFailure // guarded by mu: logs whose last cleaning failed
}

// cleanFailure is a log whose cleanings keep failing (a corrupt segment,
// a full disk). Kafka marks such a partition uncleanable
// (LogCleanerManager.markPartitionUncleanable) until the log dir is
// replaced; here it is retried after log.cleaner.backoff.ms doubled per
// consecutive failure, up to cleanerMaxRetryBackoff, so a repaired log
// (space freed, segment deleted by retention or truncation) is cleaned
// again without a restart, and a broken one neither floods the log nor
// starves the other logs of cleanings.
type cleanFailure struct {
	count     int   // consecutive failures
	retryAtMs int64 // no cleaning before this time
}

// cleanerMaxRetryBackoff caps the backoff of a log whose cleanings fail.
const cleanerMaxRetryBackoff = time.Hour

// cleanerRetryDelay is how long a log that failed n consecutive
// cleanings waits: backoff * 2^(n-1), capped at cleanerMaxRetryBackoff
// (or backoff, if that is longer).
func cleanerRetryDelay(backoff time.Duration, n int) time.Duration {
	limit := max(backoff, cleanerMaxRetryBackoff)
	d := backoff
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

func newCleaner(cfg CleanerConfig) *cleaner {
	cfg = cfg.withDefaults()
	return &cleaner{
		cfg:        cfg,
		throttle:   newThrottler(cfg.IOMaxBytesPerSecond),
		offsets:    map[TopicPartition]int64{},
		inProgress: map[TopicPartition]bool{},
		lastStats:  map[TopicPartition]CleanStats{},
		failures:   map[TopicPartition]cleanFailure{},
	}
}

// cleanerOffset returns tp's cleaner checkpoint, 0 if none.
func (c *cleaner) offset(tp TopicPartition) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offsets[tp]
}

// capOffset lowers tp's cleaner checkpoint to at most offset (a
// truncation; Kafka's LogCleaner.maybeTruncateCheckpoint).
func (c *cleaner) capOffset(tp TopicPartition, offset int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if o, ok := c.offsets[tp]; ok && o > offset {
		c.offsets[tp] = offset
	}
}

// forget drops tp's cleaner checkpoint and statistics (its log was
// deleted): a partition created again under the same name starts
// uncleaned, as Kafka's LogCleanerManager.updateCheckpoints removes a
// deleted partition's entry. Without it the new log would inherit a
// checkpoint describing the old one's data, and Open would skip the gap
// rule below it.
func (c *cleaner) forget(tp TopicPartition) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.offsets, tp)
	delete(c.lastStats, tp)
	delete(c.failures, tp)
}

// LastCleanStats returns the statistics of tp's latest cleaning.
func (m *Manager) LastCleanStats(tp TopicPartition) (CleanStats, bool) {
	c := m.cleaner
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.lastStats[tp]
	return st, ok
}

// CleanerCheckpoint returns tp's entry in cleaner-offset-checkpoint: the
// offset below which the log has been cleaned (0 if never).
func (m *Manager) CleanerCheckpoint(tp TopicPartition) int64 { return m.cleaner.offset(tp) }

// startCleaner starts the cleaner threads (Start calls it).
func (m *Manager) startCleaner() {
	if !m.cfg.Cleaner.Enable {
		return
	}
	for range m.cleaner.cfg.Threads {
		m.wg.Go(m.cleanerLoop)
	}
}

// cleanerLoop is one CleanerThread: clean the filthiest log, or back off
// for log.cleaner.backoff.ms when none needs it. After a failed cleaning
// it goes on at once: the failed log is held off (cleanFailure), and the
// others may need cleaning.
func (m *Manager) cleanerLoop() {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		if cleaned, failed := m.cleanOnce(); cleaned || failed {
			t.Reset(0)
		} else {
			t.Reset(m.cleaner.cfg.Backoff)
		}
	}
}

// CleanOnce cleans the filthiest compacted log, if one needs it (Kafka's
// grabFilthiestCompactedLog plus cleanLog), and reports whether it
// cleaned one. A log is eligible when its cleanup.policy has compact, it
// is not being cleaned, it has bytes in its dirty section, and its dirty
// ratio is above min.cleanable.dirty.ratio (strictly, as Kafka), or
// max.compaction.lag.ms has passed for its first dirty segment, or a
// delete horizon set by its last cleaning (or found by the header scan
// after an open, recoverDeleteHorizon) has come; and it is not held off
// after failed cleanings (cleanFailure). The cleaner threads call it;
// tests call it directly.
func (m *Manager) CleanOnce() bool {
	cleaned, _ := m.cleanOnce()
	return cleaned
}

// cleanOnce is CleanOnce; failed reports a cleaning that failed (not
// one aborted).
func (m *Manager) cleanOnce() (cleaned, failed bool) {
	c := m.cleaner
	now := m.clock().UnixMilli()
	entries := m.snapshot(nil)
	// The first time a compacted log is considered after it was opened,
	// recover its pending delete horizon from its batch headers (outside
	// c.mu: it reads files).
	for _, e := range entries {
		if !e.log.Config().Compact || e.log.Failed() || e.log.horizonKnown.Load() {
			continue
		}
		err := e.log.recoverDeleteHorizon(c.offset(e.tp), func(n int64) error { return c.throttle.take(n, m.stop) })
		switch {
		case err == nil:
		case errors.Is(err, ErrCleaningAborted), errors.Is(err, ErrLogClosed):
			m.logger.Debug("delete horizon scan aborted", "partition", e.tp.String(), "err", err)
		default:
			m.logger.Warn("scanning delete horizons", "partition", e.tp.String(), "err", err)
		}
	}
	var (
		best      logEntry
		bestC     cleanable
		bestGen   uint64
		bestRatio = -1.0
	)
	c.mu.Lock()
	for _, e := range entries {
		cfg := e.log.Config()
		if !cfg.Compact || c.inProgress[e.tp] || e.log.Failed() {
			continue
		}
		if f, ok := c.failures[e.tp]; ok && now < f.retryAtMs {
			continue
		}
		gen := e.log.cleanGen.Load() // before the bounds it guards
		ci := e.log.cleanableInfo(c.offsets[e.tp], now)
		ratio := ci.ratio()
		if !(ci.needNow && ci.cleanBytes+ci.dirtyBytes > 0) && !(ci.dirtyBytes > 0 && ratio > cfg.MinCleanableDirtyRatio) {
			continue
		}
		if ci.needNow {
			ratio = math.Inf(1) // Kafka cleans logs past max.compaction.lag.ms first
		}
		if ratio > bestRatio {
			best, bestC, bestGen, bestRatio = e, ci, gen, ratio
		}
	}
	if bestRatio < 0 {
		c.mu.Unlock()
		return false, false
	}
	c.inProgress[best.tp] = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.inProgress, best.tp)
		c.mu.Unlock()
	}()

	run := &cleanRun{
		nowMs:       now,
		firstDirty:  bestC.firstDirty,
		uncleanable: bestC.firstUncleanable,
		mapBudget:   c.cfg.DedupeBufferSize / int64(max(c.cfg.Threads, 1)),
		throttle: func(n int64) error {
			return c.throttle.take(n, m.stop)
		},
		// Make the recovery point durable before the first cleaned
		// segment is written (a .swap file Open would complete): it is
		// at least the first uncleanable offset, so a crash from here on
		// never has recovery scan (and apply the gap rule to) a cleaned
		// segment.
		beforeSwap: func(end int64) error {
			// The cleaner checkpoint goes with it, at the end of the
			// range this cleaning rewrites: should the recovery point
			// checkpoint be lost, Open still knows that the segments
			// below it may end early (see OpenOptions.CleanerOffset).
			// clean runs this under the log's cleanMu, like onCleaned.
			// Should a swap fail after this, the checkpoint stays: the
			// groups already swapped need it, and what is lost is only
			// that the rest of [firstDirty, end) is not mapped again.
			c.mu.Lock()
			c.offsets[best.tp] = max(c.offsets[best.tp], end)
			c.mu.Unlock()
			return m.checkpointDir(best.dir, ckptRecoveryPoint|ckptCleaner)
		},
		// Recorded under the log's cleanMu, so that a truncation (which
		// caps the checkpoint under cleanMu) cannot come in between.
		onCleaned: func(st CleanStats) {
			c.mu.Lock()
			c.offsets[best.tp] = st.EndOffset
			c.lastStats[best.tp] = st
			c.mu.Unlock()
		},
		gen:      bestGen,
		checkGen: true,
	}
	st, err := best.log.clean(run)
	switch {
	case err == nil:
		c.mu.Lock()
		f, wasFailing := c.failures[best.tp]
		delete(c.failures, best.tp)
		c.mu.Unlock()
		if wasFailing {
			m.logger.Info("log cleaning works again", "partition", best.tp.String(), "failedCleanings", f.count)
		}
		if err := m.checkpointDir(best.dir, ckptCleaner); err != nil {
			m.logger.Error("writing cleaner checkpoint", "dir", best.dir.path, "err", err)
		}
		m.logger.Info("cleaned log", "partition", best.tp.String(), "firstDirty", st.FirstDirty, "endOffset", st.EndOffset,
			"segments", st.SegmentsCleaned, "bytesRead", st.BytesRead, "bytesWritten", st.BytesWritten, "recordsDeleted", st.RecordsDeleted)
	case errors.Is(err, ErrCleaningAborted), errors.Is(err, ErrLogClosed):
		m.logger.Debug("log cleaning aborted", "partition", best.tp.String(), "err", err)
	default:
		// Log once per state change: the first failure at Error, the
		// retries at Debug, the recovery at Info.
		n, retryIn := c.recordFailure(best.tp, m.clock().UnixMilli())
		if n == 1 {
			m.logger.Error("cleaning log failed; retrying with exponential backoff until it succeeds",
				"partition", best.tp.String(), "retryIn", retryIn, "maxBackoff", max(c.cfg.Backoff, cleanerMaxRetryBackoff), "err", err)
		} else {
			m.logger.Debug("cleaning log failed again", "partition", best.tp.String(), "failures", n, "retryIn", retryIn, "err", err)
		}
		return false, true
	}
	return err == nil, false
}

// recordFailure counts a failed cleaning of tp at nowMs and holds the log
// off for the next retry delay; it returns the consecutive failures and
// that delay.
func (c *cleaner) recordFailure(tp TopicPartition, nowMs int64) (int, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.failures[tp]
	f.count++
	d := cleanerRetryDelay(c.cfg.Backoff, f.count)
	f.retryAtMs = nowMs + d.Milliseconds()
	c.failures[tp] = f
	return f.count, d
}

// cleanerCheckpointOffsets returns the cleaner checkpoint entries of the
// logs in logs, each capped at its log's end offset.
func (c *cleaner) checkpointOffsets(logs []logEntry) map[TopicPartition]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[TopicPartition]int64)
	for _, e := range logs {
		if o, ok := c.offsets[e.tp]; ok {
			out[e.tp] = min(o, e.log.LogEndOffset())
		}
	}
	return out
}

// loadCheckpoint records the entries read from a dir's
// cleaner-offset-checkpoint at Open.
func (c *cleaner) loadCheckpoint(offsets map[TopicPartition]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for tp, o := range offsets {
		c.offsets[tp] = o
	}
}

func cleanerCheckpointPath(d *logDir) string {
	return filepath.Join(d.path, cleanerOffsetCheckpointFile)
}

// throttler is a token bucket shared by the cleaner threads (Kafka's
// Throttler on log.cleaner.io.max.bytes.per.second): take(n) spends n
// bytes and sleeps while the bucket is in debt. The bucket holds at most
// one second of tokens.
type throttler struct {
	rate float64 // bytes per second; 0 means unlimited

	mu     sync.Mutex
	tokens float64   // guarded by mu
	last   time.Time // guarded by mu
	now    func() time.Time
}

func newThrottler(rate float64) *throttler {
	if rate <= 0 || math.IsInf(rate, 1) || rate >= math.MaxFloat64 {
		rate = 0
	}
	return &throttler{rate: rate, tokens: rate, now: time.Now}
}

// take spends n bytes, sleeping as needed; it returns
// ErrCleaningAborted at once when stop is closed.
func (t *throttler) take(n int64, stop <-chan struct{}) error {
	select {
	case <-stop:
		return ErrCleaningAborted
	default:
	}
	if t.rate == 0 {
		return nil
	}
	t.mu.Lock()
	now := t.now()
	if !t.last.IsZero() {
		t.tokens = min(t.rate, t.tokens+now.Sub(t.last).Seconds()*t.rate)
	}
	t.last = now
	t.tokens -= float64(n)
	var wait time.Duration
	if t.tokens < 0 {
		wait = time.Duration(-t.tokens / t.rate * float64(time.Second))
	}
	t.mu.Unlock()
	if wait <= 0 {
		return nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-stop:
		return ErrCleaningAborted
	case <-timer.C:
		return nil
	}
}
