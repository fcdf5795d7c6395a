package storage

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samsa-streaming/samsa/internal/record"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kv is one record as a test writes or reads it; a nil value is a
// tombstone.
type kv struct {
	key, value string
	tomb       bool
	offset     int64
	ts         int64
}

func compactCfg() LogConfig {
	cfg := DefaultLogConfig()
	cfg.Compact, cfg.Delete = true, false
	cfg.SegmentBytes = 1024
	cfg.IndexIntervalBytes = 128
	cfg.SegmentIndexBytes = 4096
	cfg.FileDeleteDelayMs = 0
	cfg.DeleteRetentionMs = 1000
	return cfg
}

// appendKVs appends each record as its own batch (codec c), stamping
// timestamps from the clock, and returns them with their offsets.
func appendKVs(t testing.TB, l *Log, clk *testClock, c record.Codec, recs []kv) []kv {
	t.Helper()
	out := make([]kv, 0, len(recs))
	for _, r := range recs {
		opts := record.DefaultBuilderOptions()
		opts.Codec = c
		b := record.NewBuilder(opts)
		var v []byte
		if r.tomb {
			r.value = ""
		} else {
			v = []byte(r.value)
		}
		b.Add(clk.Ms(), []byte(r.key), v)
		batch, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		res := mustAppend(t, l, batch)
		r.offset, r.ts = res.FirstOffset, clk.Ms()
		out = append(out, r)
	}
	l.SetHighWatermark(l.LogEndOffset())
	return out
}

// readAllKVs reads every record from the log start to the end.
func readAllKVs(t testing.TB, l *Log) []kv {
	t.Helper()
	var out []kv
	for _, b := range cleanerBatches(t, l) {
		err := b.Records(func(r *record.Record) error {
			out = append(out, kv{key: string(r.Key), value: string(r.Value), tomb: r.Value == nil, offset: r.Offset, ts: r.Timestamp})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func cleanerBatches(t testing.TB, l *Log) []record.Batch {
	t.Helper()
	var out []record.Batch
	off := l.LogStartOffset()
	for off < l.LogEndOffset() {
		res, err := l.Read(off, 1<<20, l.LogEndOffset(), true)
		if err != nil {
			t.Fatalf("Read(%d): %v", off, err)
		}
		if res.Size == 0 {
			break
		}
		buf := make([]byte, res.Size)
		if _, err := res.File.ReadAt(buf, res.Position); err != nil {
			t.Fatal(err)
		}
		for len(buf) > 0 {
			b, err := record.Peek(buf)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Verify(); err != nil {
				t.Fatalf("batch at %d: %v", b.BaseOffset(), err)
			}
			out = append(out, b)
			off = b.NextOffset()
			buf = buf[len(b):]
		}
	}
	return out
}

// latest returns the model: each key's last record.
func latest(recs []kv) map[string]kv {
	m := map[string]kv{}
	for _, r := range recs {
		m[r.key] = r
	}
	return m
}

// cleanNow runs one cleaning of l as the manager would, from firstDirty.
func cleanNow(t testing.TB, l *Log, clk *testClock, firstDirty int64) CleanStats {
	t.Helper()
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	ci := l.cleanableInfo(firstDirty, clk.Ms())
	st, err := l.clean(&cleanRun{nowMs: clk.Ms(), firstDirty: ci.firstDirty, uncleanable: ci.firstUncleanable, mapBudget: 64 << 20})
	if err != nil {
		t.Fatalf("clean: %v", err)
	}
	return st
}

// checkCompacted asserts that the log holds exactly one record per key
// of the model among those below upTo, at the model's offset, with its
// value, and every record at or above upTo as written.
func checkCompacted(t testing.TB, got []kv, written []kv, upTo int64, tombstonesGone bool) {
	t.Helper()
	var below []kv
	for _, r := range written {
		if r.offset < upTo {
			below = append(below, r)
		}
	}
	model := latest(below)
	seen := map[string]bool{}
	for _, r := range got {
		if r.offset >= upTo {
			continue
		}
		want, ok := model[r.key]
		if !ok {
			t.Fatalf("unknown key %q", r.key)
		}
		if r.offset != want.offset || r.value != want.value || r.tomb != want.tomb {
			t.Fatalf("key %q: got offset %d value %q tomb %v, want offset %d value %q tomb %v", r.key, r.offset, r.value, r.tomb, want.offset, want.value, want.tomb)
		}
		if seen[r.key] {
			t.Fatalf("key %q twice", r.key)
		}
		seen[r.key] = true
		if r.ts != want.ts {
			t.Fatalf("key %q: timestamp %d, want %d", r.key, r.ts, want.ts)
		}
	}
	for k, want := range model {
		if want.offset >= upTo || seen[k] {
			continue
		}
		if want.tomb && tombstonesGone {
			continue
		}
		t.Fatalf("key %q (offset %d) missing", k, want.offset)
	}
}

func TestCleanKeepsLatestPerKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys int
		recs int
	}{
		{"few keys", 3, 200},
		{"many keys", 50, 300},
		{"unique keys", 400, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newTestClock()
			l := newTestLog(t, compactCfg(), clk)
			var recs []kv
			for i := range tc.recs {
				recs = append(recs, kv{key: fmt.Sprintf("k%03d", i%tc.keys), value: fmt.Sprintf("v%d", i)})
			}
			written := appendKVs(t, l, clk, record.CodecNone, recs)
			before := l.Size()
			active := l.SegmentBaseOffsets()[l.NumSegments()-1]
			st := cleanNow(t, l, clk, 0)
			if st.EndOffset != active {
				t.Fatalf("end offset %d, want the active segment's base %d", st.EndOffset, active)
			}
			checkCompacted(t, readAllKVs(t, l), written, active, false)
			if tc.keys < tc.recs && l.Size() >= before {
				t.Fatalf("size %d not below %d", l.Size(), before)
			}
			if l.LogEndOffset() != int64(tc.recs) {
				t.Fatalf("log end %d", l.LogEndOffset())
			}
			// Cleaning again with nothing dirty changes nothing.
			got1 := readAllKVs(t, l)
			cleanNow(t, l, clk, st.EndOffset)
			if got2 := readAllKVs(t, l); fmt.Sprint(got1) != fmt.Sprint(got2) {
				t.Fatal("second cleaning changed the log")
			}
		})
	}
}

func TestCleanTombstonesLiveDeleteRetention(t *testing.T) {
	clk := newTestClock()
	cfg := compactCfg()
	cfg.DeleteRetentionMs = 60_000
	l := newTestLog(t, cfg, clk)
	var recs []kv
	for i := range 40 {
		recs = append(recs, kv{key: fmt.Sprintf("k%d", i%5), value: strings.Repeat("x", 30)})
	}
	recs = append(recs, kv{key: "k1", tomb: true}, kv{key: "k2", tomb: true})
	for i := range 40 {
		recs = append(recs, kv{key: fmt.Sprintf("f%d", i), value: strings.Repeat("y", 30)})
	}
	written := appendKVs(t, l, clk, record.CodecNone, recs)
	active := l.SegmentBaseOffsets()[l.NumSegments()-1]
	st := cleanNow(t, l, clk, 0)
	wantHorizon := clk.Ms() + cfg.DeleteRetentionMs
	if st.DeleteHorizonMs != wantHorizon {
		t.Fatalf("delete horizon %d, want %d", st.DeleteHorizonMs, wantHorizon)
	}
	got := readAllKVs(t, l)
	checkCompacted(t, got, written, active, false)
	// The tombstones' batches carry the horizon: attribute bit 6, base
	// timestamp = horizon, a valid CRC, and records whose timestamps
	// (base + delta) are unchanged, as franz-go computes them.
	found := 0
	for _, b := range cleanerBatches(t, l) {
		tomb := false
		_ = b.Records(func(r *record.Record) error { tomb = tomb || r.Value == nil; return nil })
		if !tomb {
			if b.Attributes().HasDeleteHorizon() {
				t.Fatalf("batch at %d without tombstone has a delete horizon", b.BaseOffset())
			}
			continue
		}
		found++
		if !b.Attributes().HasDeleteHorizon() || b.BaseTimestamp() != wantHorizon {
			t.Fatalf("tombstone batch at %d: attrs %x base ts %d", b.BaseOffset(), b.Attributes(), b.BaseTimestamp())
		}
		if b.CRC() != b.ComputeCRC() {
			t.Fatal("CRC not rewritten")
		}
		var kb kmsg.RecordBatch
		if err := kb.ReadFrom(b); err != nil {
			t.Fatal(err)
		}
		if kb.Attributes&0x40 == 0 || kb.FirstTimestamp != wantHorizon {
			t.Fatalf("franz-go reads attrs %x first ts %d", kb.Attributes, kb.FirstTimestamp)
		}
		var kr kmsg.Record
		if err := kr.ReadFrom(kb.Records); err != nil {
			t.Fatal(err)
		}
		want := latest(written)[string(kr.Key)]
		if ts := kb.FirstTimestamp + kr.TimestampDelta64; ts != want.ts {
			t.Fatalf("franz-go timestamp %d, want %d", ts, want.ts)
		}
	}
	if found != 2 {
		t.Fatalf("%d tombstone batches, want 2", found)
	}
	// Before the horizon a cleaning keeps them; at it, drops them.
	clk.Advance(time.Duration(cfg.DeleteRetentionMs-1) * time.Millisecond)
	if ci := l.cleanableInfo(st.EndOffset, clk.Ms()); ci.needNow {
		t.Fatal("cleanable before the horizon")
	}
	cleanNow(t, l, clk, st.EndOffset)
	checkCompacted(t, readAllKVs(t, l), written, active, false)
	clk.Advance(time.Millisecond)
	if ci := l.cleanableInfo(st.EndOffset, clk.Ms()); !ci.needNow {
		t.Fatal("not cleanable at the horizon")
	}
	cleanNow(t, l, clk, st.EndOffset)
	got = readAllKVs(t, l)
	checkCompacted(t, got, written, active, true)
	for _, r := range got {
		if r.tomb {
			t.Fatalf("tombstone for %q survived its horizon", r.key)
		}
	}
}

func TestCleanRecompressesPerCodec(t *testing.T) {
	for _, c := range []record.Codec{record.CodecNone, record.CodecGzip, record.CodecSnappy, record.CodecLz4, record.CodecZstd} {
		t.Run(c.String(), func(t *testing.T) {
			clk := newTestClock()
			l := newTestLog(t, compactCfg(), clk)
			// Batches of 4 records, keys overlapping across batches, so
			// that cleaning rewrites (not copies) most of them.
			var written []kv
			for i := range 60 {
				opts := record.DefaultBuilderOptions()
				opts.Codec = c
				b := record.NewBuilder(opts)
				var recs []kv
				for j := range 4 {
					r := kv{key: fmt.Sprintf("k%d", (i*4+j)%7), value: fmt.Sprintf("value-%d-%d", i, j), ts: clk.Ms() + int64(j)}
					b.Add(r.ts, []byte(r.key), []byte(r.value))
					recs = append(recs, r)
				}
				batch, err := b.Build()
				if err != nil {
					t.Fatal(err)
				}
				res := mustAppend(t, l, batch)
				for j := range recs {
					recs[j].offset = res.FirstOffset + int64(j)
				}
				written = append(written, recs...)
				clk.Advance(time.Millisecond)
			}
			l.SetHighWatermark(l.LogEndOffset())
			active := l.SegmentBaseOffsets()[l.NumSegments()-1]
			st := cleanNow(t, l, clk, 0)
			if st.RecordsDeleted == 0 {
				t.Fatal("nothing deleted")
			}
			checkCompacted(t, readAllKVs(t, l), written, active, false)
			for _, b := range cleanerBatches(t, l) {
				if b.Attributes().Codec() != c {
					t.Fatalf("batch at %d has codec %v", b.BaseOffset(), b.Attributes().Codec())
				}
				if b.LastOffsetDelta() != 3 {
					t.Fatalf("batch at %d: last offset delta %d, want 3 (preserved)", b.BaseOffset(), b.LastOffsetDelta())
				}
			}
		})
	}
}

func TestCleanRetainsProducerLastBatch(t *testing.T) {
	clk := newTestClock()
	l := newTestLog(t, compactCfg(), clk)
	build := func(pid int64, seq int32, keys ...string) record.Batch {
		opts := record.DefaultBuilderOptions()
		if pid >= 0 {
			opts.ProducerID, opts.ProducerEpoch, opts.BaseSequence = pid, 3, seq
		}
		b := record.NewBuilder(opts)
		for _, k := range keys {
			b.Add(clk.Ms(), []byte(k), []byte("v"+k))
		}
		batch, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		return batch
	}
	mustAppend(t, l, build(7, 0, "a", "b"))
	last := mustAppend(t, l, build(7, 2, "a", "b"))
	mustAppend(t, l, build(-1, 0, "a", "b")) // supersedes both producer batches
	for i := range 40 {
		mustAppend(t, l, build(-1, 0, fmt.Sprintf("filler%d", i)))
	}
	l.SetHighWatermark(l.LogEndOffset())
	cleanNow(t, l, clk, 0)
	var pbatches []record.Batch
	for _, b := range cleanerBatches(t, l) {
		if b.ProducerID() == 7 {
			pbatches = append(pbatches, b)
		}
	}
	if len(pbatches) != 1 {
		t.Fatalf("%d batches of producer 7 left, want its last one", len(pbatches))
	}
	b := pbatches[0]
	if b.NumRecords() != 0 || b.BaseOffset() != last.FirstOffset || b.LastOffset() != last.LastOffset ||
		b.BaseSequence() != 2 || b.LastSequence() != 3 || b.ProducerEpoch() != 3 {
		t.Fatalf("kept batch: records %d offsets %d-%d seq %d-%d epoch %d", b.NumRecords(), b.BaseOffset(), b.LastOffset(), b.BaseSequence(), b.LastSequence(), b.ProducerEpoch())
	}
	// The producer's next batch is still in sequence after a restart.
	dir := l.Dir()
	l.Close()
	l2 := openTestLog(t, dir, compactCfg(), OpenOptions{Clock: clk.Now})
	defer l2.Close()
	if _, err := l2.Append(build(7, 4, "c"), AppendOptions{Origin: OriginClient}); err != nil {
		t.Fatalf("next batch of the producer: %v", err)
	}
}

func TestCleanTransactionMarkers(t *testing.T) {
	clk := newTestClock()
	cfg := compactCfg()
	cfg.DeleteRetentionMs = 1000
	l := newTestLog(t, cfg, clk)
	const pid = 9
	data := func(keys ...string) {
		opts := record.DefaultBuilderOptions()
		opts.ProducerID, opts.ProducerEpoch, opts.BaseSequence, opts.Transactional = pid, 0, 0, true
		b := record.NewBuilder(opts)
		for _, k := range keys {
			b.Add(clk.Ms(), []byte(k), []byte("txn"))
		}
		batch, _ := b.Build()
		if _, err := l.Append(batch, AppendOptions{Origin: OriginReplication}); err != nil {
			t.Fatal(err)
		}
	}
	_ = data
	// Committed transaction: data then COMMIT marker, then its key
	// overwritten by plain records.
	opts := record.DefaultBuilderOptions()
	opts.ProducerID, opts.ProducerEpoch, opts.BaseSequence, opts.Transactional = pid, 0, 0, true
	b := record.NewBuilder(opts)
	b.Add(clk.Ms(), []byte("t"), []byte("txn"))
	tb, _ := b.Build()
	mustAppend(t, l, tb)
	marker, err := record.NewEndTxnMarkerBatch(pid, 0, clk.Ms(), record.EndTxnMarker{Type: record.ControlCommit})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(marker, AppendOptions{Origin: OriginCoordinator}); err != nil {
		t.Fatal(err)
	}
	var recs []kv
	recs = append(recs, kv{key: "t", value: "plain"})
	for i := range 40 {
		recs = append(recs, kv{key: fmt.Sprintf("f%d", i), value: strings.Repeat("z", 30)})
	}
	appendKVs(t, l, clk, record.CodecNone, recs)
	markers := func() (n int, horizon bool) {
		for _, b := range cleanerBatches(t, l) {
			if b.Attributes().Control() {
				n++
				horizon = b.Attributes().HasDeleteHorizon()
			}
		}
		return
	}
	// First cleaning: the transaction's data batch is read (so the
	// marker must stay, no horizon yet).
	st := cleanNow(t, l, clk, 0)
	if n, h := markers(); n != 1 || h {
		t.Fatalf("after first cleaning: %d markers, horizon %v", n, h)
	}
	// The data batch stays (empty) while it is the producer's last
	// batch, as in Kafka, and with it the marker. Once the producer has
	// expired, the empty batch goes, and the next cleaning, finding no
	// data of the transaction, stamps the marker with a horizon.
	clk.Advance(time.Duration(DefaultProducerIDExpirationMs+1) * time.Millisecond)
	if l.RemoveExpiredProducers() != 1 {
		t.Fatal("producer not expired")
	}
	st = cleanNow(t, l, clk, st.EndOffset)
	st = cleanNow(t, l, clk, st.EndOffset)
	if n, h := markers(); n != 1 || !h {
		t.Fatalf("after second cleaning: %d markers, horizon %v", n, h)
	}
	clk.Advance(time.Duration(cfg.DeleteRetentionMs) * time.Millisecond)
	cleanNow(t, l, clk, st.EndOffset)
	if n, _ := markers(); n != 0 {
		// The marker may stay only as the producer's last batch.
		for _, b := range cleanerBatches(t, l) {
			if b.Attributes().Control() && b.NumRecords() != 0 {
				t.Fatalf("marker with records kept past its horizon")
			}
		}
	}
}

func TestCleanDirtyRatioSelection(t *testing.T) {
	clk := newTestClock()
	m, err := NewManager(ManagerConfig{Dirs: []string{t.TempDir()}, Clock: clk.Now, DefaultConfig: compactCfg()})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	mk := func(name string, compact bool, dupEvery int) (*Log, TopicPartition) {
		cfg := compactCfg()
		cfg.Compact = compact
		cfg.Delete = !compact
		tp := TopicPartition{Topic: name}
		l, err := m.GetOrCreate(tp, cfg, [16]byte{})
		if err != nil {
			t.Fatal(err)
		}
		var recs []kv
		for i := range 200 {
			recs = append(recs, kv{key: fmt.Sprintf("k%d", i%dupEvery), value: strings.Repeat("v", 20)})
		}
		appendKVs(t, l, clk, record.CodecNone, recs)
		if err := l.Flush(); err != nil {
			t.Fatal(err)
		}
		return l, tp
	}
	_, dup := mk("dup", true, 5)
	_, plain := mk("plain", false, 5)
	_, uniq := mk("uniq", true, 1000)
	if !m.CleanOnce() {
		t.Fatal("nothing cleaned")
	}
	if _, ok := m.LastCleanStats(plain); ok {
		t.Fatal("cleaned a delete-policy log")
	}
	// Both compacted logs were all dirty (ratio 1): both get cleaned,
	// then neither is above the ratio.
	if !m.CleanOnce() {
		t.Fatal("second log not cleaned")
	}
	if _, ok := m.LastCleanStats(dup); !ok {
		t.Fatal("dup not cleaned")
	}
	if _, ok := m.LastCleanStats(uniq); !ok {
		t.Fatal("uniq not cleaned")
	}
	if m.CleanOnce() {
		t.Fatal("cleaned a log with nothing dirty")
	}
	// A little new dirty data is below min.cleanable.dirty.ratio 0.5.
	l, _ := m.Get(uniq)
	appendKVs(t, l, clk, record.CodecNone, []kv{{key: "k1", value: "x"}})
	if m.CleanOnce() {
		t.Fatal("cleaned a log below the dirty ratio")
	}
	// The checkpoint file holds the cleaned offsets, Kafka's format.
	data, err := os.ReadFile(filepath.Join(m.Dirs()[0], cleanerOffsetCheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	offs, err := parseOffsetCheckpoint("x", data)
	if err != nil || offs[dup] != m.CleanerCheckpoint(dup) || offs[dup] == 0 {
		t.Fatalf("checkpoint %q: %v", data, err)
	}
}

func TestCleanConcurrentReadsAndAppends(t *testing.T) {
	clk := newTestClock()
	// Readers hold a ReadResult's file across the swap; replaced segment
	// files stay open for file.delete.delay.ms (Kafka's protection for
	// in-flight reads), which compactCfg sets to 0 for the other tests.
	cfg := compactCfg()
	cfg.FileDeleteDelayMs = 60000
	l := newTestLog(t, cfg, clk)
	var recs []kv
	for i := range 400 {
		recs = append(recs, kv{key: fmt.Sprintf("k%d", i%13), value: strings.Repeat("v", 25)})
	}
	appendKVs(t, l, clk, record.CodecNone, recs)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				off := l.LogStartOffset()
				for off < l.HighWatermark() {
					res, err := l.Read(off, 4096, l.HighWatermark(), true)
					if err != nil {
						errc <- err
						return
					}
					if res.Size == 0 {
						break
					}
					buf := make([]byte, res.Size)
					if _, err := res.File.ReadAt(buf, res.Position); err != nil {
						errc <- err
						return
					}
					for len(buf) > 0 {
						b, err := record.Peek(buf)
						if err == nil {
							err = b.Verify()
						}
						if err != nil {
							errc <- err
							return
						}
						off = b.NextOffset()
						buf = buf[len(b):]
					}
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 200 {
			select {
			case <-stop:
				return
			default:
			}
			b := record.NewBuilder(record.DefaultBuilderOptions())
			b.Add(clk.Ms(), []byte(fmt.Sprintf("k%d", i%13)), []byte("new"))
			batch, _ := b.Build()
			if _, err := l.Append(batch, AppendOptions{Origin: OriginClient}); err != nil {
				errc <- err
				return
			}
			l.SetHighWatermark(l.LogEndOffset())
		}
	})
	dirty := int64(0)
	for range 5 {
		dirty = cleanNow(t, l, clk, dirty).EndOffset
	}
	close(stop)
	wg.Wait()
	select {
	case err := <-errc:
		t.Fatal(err)
	default:
	}
}

// errCrash stops a cleaning before a swap step, as a crash would.
var errCrash = errors.New("simulated crash")

// TestCleanCrashDuringSwap leaves the files as each step of the swap
// protocol leaves them (.cleaned written; renamed .swap; some old
// segments renamed .deleted; all of them) and checks that Open recovers a
// log with every latest value, whatever the recovery point.
func TestCleanCrashDuringSwap(t *testing.T) {
	steps := []struct {
		name string
		do   func(t *testing.T, l *Log, g []*segment, cs *segment)
	}{
		{"cleaned", func(t *testing.T, l *Log, g []*segment, cs *segment) {
			cs.closeFiles()
			renameAll(t, l.dir, swapSuffix, cleanedSuffix)
		}},
		{"swap", func(t *testing.T, l *Log, g []*segment, cs *segment) { cs.closeFiles() }},
		{"swap, one old segment deleted", func(t *testing.T, l *Log, g []*segment, cs *segment) {
			cs.closeFiles()
			if err := g[len(g)-1].renameForDeletion(); err != nil {
				t.Fatal(err)
			}
		}},
		{"swap, all old segments deleted", func(t *testing.T, l *Log, g []*segment, cs *segment) {
			cs.closeFiles()
			for _, s := range g {
				if err := s.renameForDeletion(); err != nil {
					t.Fatal(err)
				}
			}
		}},
	}
	for _, step := range steps {
		for _, rp := range []string{"recovery point", "zero recovery point"} {
			t.Run(step.name+"/"+rp, func(t *testing.T) {
				clk := newTestClock()
				dir := filepath.Join(t.TempDir(), "t-0")
				l := openTestLog(t, dir, compactCfg(), OpenOptions{Clock: clk.Now})
				var recs []kv
				for i := range 300 {
					recs = append(recs, kv{key: fmt.Sprintf("k%d", i%17), value: fmt.Sprintf("v%d", i)})
				}
				written := appendKVs(t, l, clk, record.CodecNone, recs)
				// A first, complete cleaning, so that gaps already exist.
				first := cleanNow(t, l, clk, 0)
				written = append(written, appendKVs(t, l, clk, record.CodecNone, recs[:100])...)
				if err := l.Flush(); err != nil {
					t.Fatal(err)
				}
				crashed := false
				testHookCleanerSwap = func(hl *Log, g []*segment, cs *segment) error {
					if crashed {
						return errCrash
					}
					crashed = true
					step.do(t, hl, g, cs)
					return errCrash
				}
				ci := l.cleanableInfo(first.EndOffset, clk.Ms())
				_, err := l.clean(&cleanRun{nowMs: clk.Ms(), firstDirty: ci.firstDirty, uncleanable: ci.firstUncleanable, mapBudget: 1 << 20})
				testHookCleanerSwap = nil
				if !errors.Is(err, errCrash) {
					t.Fatalf("clean: %v", err)
				}
				rpOff := l.RecoveryPoint()
				leo := l.LogEndOffset()
				closeWithoutMarker(t, l)
				opts := OpenOptions{Clock: clk.Now, RecoveryPoint: rpOff, CleanerOffset: first.EndOffset}
				if rp == "zero recovery point" {
					opts.RecoveryPoint = 0
				}
				l2 := openTestLog(t, dir, compactCfg(), opts)
				defer l2.Close()
				if l2.LogEndOffset() != leo {
					t.Fatalf("log end %d after recovery, want %d", l2.LogEndOffset(), leo)
				}
				l2.SetHighWatermark(leo)
				got := readAllKVs(t, l2)
				gotLatest := latest(got)
				for k, want := range latest(written) {
					if g := gotLatest[k]; g.offset != want.offset || g.value != want.value {
						t.Fatalf("key %q: got %+v, want %+v", k, g, want)
					}
				}
				for _, e := range mustReadDir(t, dir) {
					if strings.HasSuffix(e, swapSuffix) || strings.HasSuffix(e, cleanedSuffix) {
						t.Fatalf("leftover %s", e)
					}
				}
			})
		}
	}
}

// closeWithoutMarker closes l (the test opens it again without
// CleanShutdown, as after a crash).
func closeWithoutMarker(t *testing.T, l *Log) {
	t.Helper()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func renameAll(t *testing.T, dir, from, to string) {
	t.Helper()
	for _, name := range mustReadDir(t, dir) {
		if strings.HasSuffix(name, from) {
			if err := os.Rename(filepath.Join(dir, name), filepath.Join(dir, strings.TrimSuffix(name, from)+to)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func mustReadDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// TestCleanedGapsSurviveFullRecovery: cleaned segments end before the
// next one begins; a recovery that scans them (no recovery point) must
// not take that for a lost tail and drop the later segments.
func TestCleanedGapsSurviveFullRecovery(t *testing.T) {
	clk := newTestClock()
	dir := filepath.Join(t.TempDir(), "t-0")
	l := openTestLog(t, dir, compactCfg(), OpenOptions{Clock: clk.Now})
	var recs []kv
	for i := range 300 {
		recs = append(recs, kv{key: fmt.Sprintf("k%d", i%4), value: fmt.Sprintf("v%d", i)})
	}
	written := appendKVs(t, l, clk, record.CodecNone, recs)
	st := cleanNow(t, l, clk, 0)
	leo := l.LogEndOffset()
	closeWithoutMarker(t, l)
	l2 := openTestLog(t, dir, compactCfg(), OpenOptions{Clock: clk.Now, CleanerOffset: st.EndOffset})
	defer l2.Close()
	if l2.LogEndOffset() != leo {
		t.Fatalf("log end %d, want %d: recovery dropped cleaned data", l2.LogEndOffset(), leo)
	}
	l2.SetHighWatermark(leo)
	checkCompacted(t, readAllKVs(t, l2), written, st.EndOffset, false)
}

// FuzzCleaner appends random keys, values and tombstones, cleans, and
// compares the log with a model map; then passes the delete horizon and
// checks the tombstones are gone.
func FuzzCleaner(f *testing.F) {
	f.Add([]byte{1, 2, 3, 1, 2, 3, 0x81, 4, 5})
	f.Add(bytes.Repeat([]byte{7, 0x87, 3}, 50))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 600 {
			ops = ops[:600]
		}
		clk := newTestClock()
		cfg := compactCfg()
		cfg.SegmentBytes = 400
		l := newTestLog(t, cfg, clk)
		var recs []kv
		for i, op := range ops {
			r := kv{key: fmt.Sprintf("k%d", op&0x1f), value: fmt.Sprintf("v%d", i)}
			r.tomb = op&0x80 != 0
			recs = append(recs, r)
		}
		recs = append(recs, kv{key: "end", value: "x"})
		written := appendKVs(t, l, clk, record.Codec(rand.IntN(2)), recs)
		if err := l.Roll(); err != nil {
			t.Fatal(err)
		}
		l.SetHighWatermark(l.LogEndOffset())
		st := cleanNow(t, l, clk, 0)
		checkCompacted(t, readAllKVs(t, l), written, st.EndOffset, false)
		clk.Advance(time.Duration(cfg.DeleteRetentionMs) * time.Millisecond)
		cleanNow(t, l, clk, st.EndOffset)
		got := readAllKVs(t, l)
		checkCompacted(t, got, written, st.EndOffset, true)
		for _, r := range got {
			if r.tomb {
				t.Fatalf("tombstone %q survived", r.key)
			}
		}
	})
}

// TestCleanerThreadsRunAndStop starts the manager's cleaner threads,
// waits for them to clean a compacted log, and closes the manager
// (goleak, in TestMain, checks they stopped).
func TestCleanerThreadsRunAndStop(t *testing.T) {
	dir := t.TempDir()
	m, err := NewManager(ManagerConfig{Dirs: []string{dir}, DefaultConfig: compactCfg(),
		Cleaner: CleanerConfig{Enable: true, Threads: 2, Backoff: 5 * time.Millisecond, IOMaxBytesPerSecond: 50 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	tp := TopicPartition{Topic: "c"}
	l, err := m.GetOrCreate(tp, compactCfg(), [16]byte{})
	if err != nil {
		t.Fatal(err)
	}
	clk := newTestClock()
	var recs []kv
	for i := range 300 {
		recs = append(recs, kv{key: fmt.Sprintf("k%d", i%3), value: "v"})
	}
	appendKVs(t, l, clk, record.CodecNone, recs)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	m.Start()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := m.LastCleanStats(tp); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("cleaner threads never cleaned the log")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	offs, err := readOffsetCheckpoint(filepath.Join(dir, cleanerOffsetCheckpointFile))
	if err != nil || offs[tp] == 0 {
		t.Fatalf("cleaner checkpoint after Close: %v %v", offs, err)
	}
}
