package storage

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samsa-streaming/samsa/internal/record"
)

// recordingHandler is a slog.Handler that keeps every record's level
// and message, for tests that count log lines.
type recordingHandler struct {
	mu   sync.Mutex
	recs []slog.Record // guarded by mu
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler            { return h }
func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r)
	return nil
}

// count returns how many records at level have a message starting with
// prefix.
func (h *recordingHandler) count(level slog.Level, prefix string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.recs {
		if r.Level == level && strings.HasPrefix(r.Message, prefix) {
			n++
		}
	}
	return n
}

func openCleanerManager(t *testing.T, dir string, clk *testClock, cfg LogConfig, cc CleanerConfig, logger *slog.Logger) *Manager {
	t.Helper()
	m, err := NewManager(ManagerConfig{Dirs: []string{dir}, Clock: clk.Now, DefaultConfig: cfg, Cleaner: cc, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	return m
}

func tombstoneKeys(recs []kv) []string {
	var out []string
	for _, r := range recs {
		if r.tomb {
			out = append(out, r.key)
		}
	}
	return out
}

// A quiet compacted log whose tombstones' delete horizon passes while
// the broker is down has them removed by the first cleaner pass after
// the restart, with nothing appended: the horizon is recovered from the
// batch headers, not only kept in memory.
func TestCleanDeleteHorizonSurvivesRestart(t *testing.T) {
	clk := newTestClock()
	dir := t.TempDir()
	cfg := compactCfg()
	cfg.DeleteRetentionMs = 60_000
	tp := TopicPartition{Topic: "quiet"}

	m := openCleanerManager(t, dir, clk, cfg, CleanerConfig{}, nil)
	l, err := m.GetOrCreate(tp, cfg, [16]byte{})
	if err != nil {
		t.Fatal(err)
	}
	var recs []kv
	for i := range 40 {
		recs = append(recs, kv{key: fmt.Sprintf("k%d", i%5), value: strings.Repeat("x", 30)})
	}
	recs = append(recs, kv{key: "k1", tomb: true}, kv{key: "k2", tomb: true})
	appendKVs(t, l, clk, record.CodecNone, recs)
	// One batch holding a value and a tombstone: once the horizon has
	// passed it keeps the value and its horizon bit but no tombstone,
	// which must not make the cleaner clean it on every pass.
	b := record.NewBuilder(record.DefaultBuilderOptions())
	b.Add(clk.Ms(), []byte("m1"), []byte("v"))
	b.Add(clk.Ms(), []byte("m2"), nil)
	mixed, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, mixed)
	var filler []kv
	for i := range 40 {
		filler = append(filler, kv{key: fmt.Sprintf("f%d", i), value: strings.Repeat("y", 30)})
	}
	appendKVs(t, l, clk, record.CodecNone, filler)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if !m.CleanOnce() {
		t.Fatal("nothing cleaned")
	}
	horizon := clk.Ms() + cfg.DeleteRetentionMs
	st, _ := m.LastCleanStats(tp)
	if st.NextDeleteHorizonMs != horizon {
		t.Fatalf("next delete horizon %d, want %d", st.NextDeleteHorizonMs, horizon)
	}
	if got := tombstoneKeys(readAllKVs(t, l)); len(got) != 3 {
		t.Fatalf("tombstones after the first cleaning: %v", got)
	}
	if m.CleanOnce() {
		t.Fatal("cleaned again before the horizon")
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	// Restart just before the horizon: the first pass recovers it
	// (Open does not scan), and does not clean yet.
	clk.Advance(time.Duration(cfg.DeleteRetentionMs-1) * time.Millisecond)
	m = openCleanerManager(t, dir, clk, cfg, CleanerConfig{}, nil)
	defer m.Close()
	l, ok := m.Get(tp)
	if !ok {
		t.Fatal("log not reopened")
	}
	l.SetHighWatermark(l.LogEndOffset())
	if l.horizonKnown.Load() || l.deleteHorizon.Load() != 0 {
		t.Fatal("Open scanned the delete horizons")
	}
	if m.CleanOnce() {
		t.Fatal("cleaned before the horizon after a restart")
	}
	if !l.horizonKnown.Load() || l.deleteHorizon.Load() != horizon {
		t.Fatalf("recovered horizon %d (known %v), want %d", l.deleteHorizon.Load(), l.horizonKnown.Load(), horizon)
	}
	leo := l.LogEndOffset()

	// At the horizon the next pass drops the tombstones, with nothing
	// appended, then has nothing more to do.
	clk.Advance(time.Millisecond)
	if !m.CleanOnce() {
		t.Fatal("tombstones past their horizon not cleaned after a restart")
	}
	got := readAllKVs(t, l)
	if tk := tombstoneKeys(got); len(tk) != 0 {
		t.Fatalf("tombstones survived their horizon: %v", tk)
	}
	keys := map[string]bool{}
	for _, r := range got {
		keys[r.key] = true
	}
	for _, k := range []string{"k0", "k3", "k4", "m1", "f0", "f39"} {
		if !keys[k] {
			t.Fatalf("key %s lost; have %v", k, keys)
		}
	}
	if keys["k1"] || keys["k2"] || keys["m2"] {
		t.Fatalf("deleted key still present: %v", keys)
	}
	if l.LogEndOffset() != leo {
		t.Fatal("log end moved")
	}
	st, _ = m.LastCleanStats(tp)
	if st.NextDeleteHorizonMs != -1 {
		t.Fatalf("next delete horizon %d after the tombstones went, want -1", st.NextDeleteHorizonMs)
	}
	for range 3 {
		if m.CleanOnce() {
			t.Fatal("cleaned again with no tombstone left (horizon bit of the mixed batch)")
		}
		clk.Advance(time.Hour)
	}
}

// The delete horizon scan reads headers only once per opened log, and
// sees horizons in every cleaned segment.
func TestRecoverDeleteHorizonScansCleanedSection(t *testing.T) {
	clk := newTestClock()
	cfg := compactCfg()
	cfg.DeleteRetentionMs = 60_000
	l := newTestLog(t, cfg, clk)
	var recs []kv
	for i := range 60 {
		recs = append(recs, kv{key: fmt.Sprintf("k%d", i%7), value: strings.Repeat("x", 40)})
		if i%20 == 19 {
			recs = append(recs, kv{key: fmt.Sprintf("t%d", i), tomb: true})
		}
	}
	appendKVs(t, l, clk, record.CodecNone, recs)
	first := cleanNow(t, l, clk, 0)
	firstHorizon := first.NextDeleteHorizonMs
	if firstHorizon <= 0 {
		t.Fatalf("no horizon stamped: %+v", first)
	}
	// More tombstones later get a later horizon; the earliest wins.
	clk.Advance(time.Second)
	var more []kv
	for i := range 30 {
		more = append(more, kv{key: fmt.Sprintf("n%d", i), value: strings.Repeat("z", 40)})
	}
	more = append(more, kv{key: "n3", tomb: true})
	for i := range 30 {
		more = append(more, kv{key: fmt.Sprintf("p%d", i), value: strings.Repeat("z", 40)})
	}
	appendKVs(t, l, clk, record.CodecNone, more)
	second := cleanNow(t, l, clk, first.EndOffset)
	if second.NextDeleteHorizonMs != firstHorizon || second.DeleteHorizonMs != clk.Ms()+cfg.DeleteRetentionMs {
		t.Fatalf("second cleaning: next %d latest %d, first horizon %d", second.NextDeleteHorizonMs, second.DeleteHorizonMs, firstHorizon)
	}
	dir := l.Dir()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openTestLog(t, dir, cfg, OpenOptions{Clock: clk.Now, CleanerOffset: second.EndOffset})
	t.Cleanup(func() { l.Close() })
	// Below a checkpoint of 0 nothing is cleaned, so nothing is read.
	if err := l.recoverDeleteHorizon(0, nil); err != nil || l.deleteHorizon.Load() != 0 || !l.horizonKnown.Load() {
		t.Fatalf("scan below 0: %v, horizon %d", err, l.deleteHorizon.Load())
	}
	l.horizonKnown.Store(false)
	var read int64
	if err := l.recoverDeleteHorizon(second.EndOffset, func(n int64) error { read += n; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := l.deleteHorizon.Load(); got != firstHorizon {
		t.Fatalf("recovered horizon %d, want %d", got, firstHorizon)
	}
	if read <= 0 {
		t.Fatal("scan charged nothing to the throttle")
	}
	// Once known it is not scanned again.
	l.deleteHorizon.Store(1)
	if err := l.recoverDeleteHorizon(second.EndOffset, nil); err != nil || l.deleteHorizon.Load() != 1 {
		t.Fatalf("scanned twice: %v, horizon %d", err, l.deleteHorizon.Load())
	}
}

func TestCleanerRetryDelay(t *testing.T) {
	prev := time.Duration(0)
	for n := 1; n < 100; n++ {
		d := cleanerRetryDelay(15*time.Second, n)
		if d < prev || d > cleanerMaxRetryBackoff {
			t.Fatalf("delay %d: %v after %v", n, d, prev)
		}
		prev = d
	}
	if prev != cleanerMaxRetryBackoff {
		t.Fatalf("delay never reaches the cap: %v", prev)
	}
	if d := cleanerRetryDelay(15*time.Second, 3); d != time.Minute {
		t.Fatalf("third delay %v, want 1m", d)
	}
	if d := cleanerRetryDelay(2*time.Hour, 5); d != 2*time.Hour {
		t.Fatalf("delay with a backoff above the cap: %v", d)
	}
}

// A log whose cleanings fail is retried with exponential backoff, logged
// once when it starts failing and once when it works again, and does not
// keep the other logs from being cleaned.
func TestCleanFailureBacksOff(t *testing.T) {
	clk := newTestClock()
	h := &recordingHandler{}
	cfg := compactCfg()
	m := openCleanerManager(t, t.TempDir(), clk, cfg, CleanerConfig{Backoff: time.Second}, slog.New(h))
	defer m.Close()
	mk := func(name string) (*Log, TopicPartition) {
		tp := TopicPartition{Topic: name}
		l, err := m.GetOrCreate(tp, cfg, [16]byte{})
		if err != nil {
			t.Fatal(err)
		}
		var recs []kv
		for i := range 200 {
			recs = append(recs, kv{key: fmt.Sprintf("k%d", i%5), value: strings.Repeat("v", 20)})
		}
		appendKVs(t, l, clk, record.CodecNone, recs)
		if err := l.Flush(); err != nil {
			t.Fatal(err)
		}
		return l, tp
	}
	bad, badTP := mk("bad")
	_, goodTP := mk("good")

	// Corrupt the last byte of bad's first batch: its CRC fails.
	path := filepath.Join(bad.Dir(), segmentFileName(0, logSuffix))
	first := cleanerBatches(t, bad)[0]
	pos := int64(len(first) - 1)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	orig := []byte{first[len(first)-1]}
	if _, err := f.WriteAt([]byte{orig[0] ^ 0xff}, pos); err != nil {
		t.Fatal(err)
	}

	failures := func() cleanFailure {
		m.cleaner.mu.Lock()
		defer m.cleaner.mu.Unlock()
		return m.cleaner.failures[badTP]
	}
	// Whichever comes first, good gets cleaned and bad fails once.
	for range 2 {
		cleaned, failed := m.cleanOnce()
		if cleaned == failed {
			t.Fatalf("pass cleaned %v failed %v", cleaned, failed)
		}
	}
	if _, ok := m.LastCleanStats(goodTP); !ok {
		t.Fatal("the failing log kept the other from being cleaned")
	}
	if f := failures(); f.count != 1 {
		t.Fatalf("failures %+v, want 1", f)
	}
	// Held off for 1s, then 2s, then 4s.
	for n, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		clk.Advance(wait - time.Millisecond)
		if cleaned, failed := m.cleanOnce(); cleaned || failed {
			t.Fatalf("retry %d before its backoff %v", n+1, wait)
		}
		clk.Advance(time.Millisecond)
		if _, failed := m.cleanOnce(); !failed {
			t.Fatalf("retry %d not attempted after %v", n+1, wait)
		}
		if f := failures(); f.count != n+2 {
			t.Fatalf("failures %+v, want %d", f, n+2)
		}
	}
	if n := h.count(slog.LevelError, "cleaning log failed"); n != 1 {
		t.Fatalf("%d error lines for a failing log, want 1", n)
	}
	if n := h.count(slog.LevelDebug, "cleaning log failed again"); n != 3 {
		t.Fatalf("%d debug lines for retries, want 3", n)
	}

	// Repaired, it is cleaned at its next retry and the state is reset.
	if _, err := f.WriteAt(orig, pos); err != nil {
		t.Fatal(err)
	}
	clk.Advance(8 * time.Second)
	if !m.CleanOnce() {
		t.Fatal("repaired log not cleaned")
	}
	if _, ok := m.LastCleanStats(badTP); !ok {
		t.Fatal("bad log not cleaned")
	}
	if f, ok := m.cleaner.failures[badTP]; ok {
		t.Fatalf("failure state kept: %+v", f)
	}
	if n := h.count(slog.LevelInfo, "log cleaning works again"); n != 1 {
		t.Fatalf("%d recovery lines, want 1", n)
	}
}
