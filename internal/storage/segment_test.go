package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"testing"

	"github.com/samsa-streaming/samsa/internal/record"
)

func TestSegmentFileNames(t *testing.T) {
	if got := segmentFileName(42, logSuffix); got != "00000000000000000042.log" {
		t.Fatalf("segmentFileName = %q", got)
	}
	cases := []struct {
		name   string
		base   int64
		suffix string
		ok     bool
	}{
		{"00000000000000000042.log", 42, ".log", true},
		{"00000000000000001000.timeindex", 1000, ".timeindex", true},
		{"09223372036854775807.index", 9223372036854775807, ".index", true},
		{"00000000000000000042.log.deleted", 42, ".log.deleted", true},
		{"leader-epoch-checkpoint", 0, "", false},
		{"0000000000000000004x.log", 0, "", false},
		{"00000000000000000042log", 0, "", false},
		{"42.log", 0, "", false},
	}
	for _, tc := range cases {
		base, suffix, ok := parseSegmentFileName(tc.name)
		if ok != tc.ok || (ok && (base != tc.base || suffix != tc.suffix)) {
			t.Errorf("parse(%q) = %d %q %v", tc.name, base, suffix, ok)
		}
	}
}

// fillSegment appends count batches of 3 records (offsets from s.base) the
// way Log.Append does, returning the batches.
func fillSegment(t *testing.T, s *segment, count int, interval int64) []record.Batch {
	t.Helper()
	var out []record.Batch
	next := s.base
	for i := 0; i < count; i++ {
		b := makeBatch(t, 3, 1000+int64(i)*10, 50, byte(i))
		b.SetBaseOffset(next)
		if _, err := s.log.WriteAt(b, s.size.Load()); err != nil {
			t.Fatal(err)
		}
		if err := s.indexAppended(b, s.size.Load(), interval); err != nil {
			t.Fatal(err)
		}
		s.size.Add(int64(len(b)))
		next = b.NextOffset()
		out = append(out, b)
	}
	return out
}

func TestSegmentFindBatchActiveAndInactive(t *testing.T) {
	dir := t.TempDir()
	cfg := smallConfig()
	s, err := createSegment(dir, 100, cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	batches := fillSegment(t, s, 40, 300)
	if s.offIdx.count() < 5 {
		t.Fatalf("only %d index entries for %d bytes", s.offIdx.count(), s.size.Load())
	}
	check := func(state string) {
		r := newHeaderReader(s.log, s.size.Load())
		defer r.release()
		pos := int64(0)
		for _, b := range batches {
			for off := b.BaseOffset(); off <= b.LastOffset(); off++ {
				p, h, found, err := s.findBatch(r, off)
				if err != nil || !found || p != pos || h.BaseOffset() != b.BaseOffset() {
					t.Fatalf("%s: findBatch(%d) = %d %v %v, want position %d", state, off, p, found, err, pos)
				}
			}
			pos += int64(len(b))
		}
		if _, _, found, err := s.findBatch(r, batches[len(batches)-1].NextOffset()); found || err != nil {
			t.Fatalf("%s: findBatch past the end found=%v err=%v", state, found, err)
		}
		next, err := s.nextOffset()
		if err != nil || next != batches[len(batches)-1].NextOffset() {
			t.Fatalf("%s: nextOffset = %d, %v", state, next, err)
		}
	}
	check("active")
	if err := s.becomeInactive(); err != nil {
		t.Fatal(err)
	}
	s.deactivateLocked()
	check("inactive")
	if st, _ := os.Stat(s.offIdx.path); st.Size() != int64(s.offIdx.count()*offsetEntrySize) {
		t.Fatalf("index not trimmed: %d bytes for %d entries", st.Size(), s.offIdx.count())
	}
	wantMax := batches[len(batches)-1].MaxTimestamp()
	if s.timeIdx.lastTs != wantMax || s.timeIdx.lastOff != batches[len(batches)-1].LastOffset() {
		t.Fatalf("final time index entry (%d, %d), want (%d, ...)", s.timeIdx.lastTs, s.timeIdx.lastOff, wantMax)
	}
	s.close()

	// Reopen: indexes pass the sanity check and the tail scan finds the end.
	s2, rebuild, err := openSegment(dir, 100, 0, cfg)
	if err != nil || rebuild != nil {
		t.Fatalf("openSegment: %v / %v", err, rebuild)
	}
	defer s2.close()
	next, err := s2.scanTail()
	if err != nil || next != batches[len(batches)-1].NextOffset() || s2.maxTs != wantMax {
		t.Fatalf("scanTail = %d %v, maxTs %d", next, err, s2.maxTs)
	}
}

func TestSegmentSanityCheck(t *testing.T) {
	cfg := smallConfig()
	build := func(t *testing.T) (string, *segment) {
		dir := t.TempDir()
		s, err := createSegment(dir, 0, cfg, 0)
		if err != nil {
			t.Fatal(err)
		}
		fillSegment(t, s, 30, 200)
		if err := s.becomeInactive(); err != nil {
			t.Fatal(err)
		}
		s.deactivateLocked()
		s.close()
		return dir, s
	}
	cases := []struct {
		name   string
		damage func(t *testing.T, s *segment)
	}{
		{"missing offset index", func(t *testing.T, s *segment) { os.Remove(s.path(indexSuffix)) }},
		{"missing time index", func(t *testing.T, s *segment) { os.Remove(s.path(timeIndexSuffix)) }},
		{"offset index partial entry", func(t *testing.T, s *segment) { appendBytes(t, s.path(indexSuffix), []byte{1, 2, 3}) }},
		{"time index partial entry", func(t *testing.T, s *segment) { appendBytes(t, s.path(timeIndexSuffix), []byte{1}) }},
		{"offset index zero entry appended", func(t *testing.T, s *segment) { appendBytes(t, s.path(indexSuffix), make([]byte, 8)) }},
		{"offset index garbage", func(t *testing.T, s *segment) { overwrite(t, s.path(indexSuffix), bytes.Repeat([]byte{0x5a}, 64)) }},
		{"offset index last entry points elsewhere", func(t *testing.T, s *segment) {
			data, _ := os.ReadFile(s.path(indexSuffix))
			pos := binary.BigEndian.Uint32(data[len(data)-4:])
			binary.BigEndian.PutUint32(data[len(data)-4:], pos+1)
			os.WriteFile(s.path(indexSuffix), data, 0o644)
		}},
		{"time index out of order", func(t *testing.T, s *segment) {
			data, _ := os.ReadFile(s.path(timeIndexSuffix))
			binary.BigEndian.PutUint64(data[len(data)-12:], 1)
			os.WriteFile(s.path(timeIndexSuffix), data, 0o644)
		}},
		{"txn index garbage", func(t *testing.T, s *segment) { overwrite(t, s.path(txnIndexSuffix), []byte{9, 9, 9}) }},
	}
	t.Run("intact", func(t *testing.T) {
		dir, _ := build(t)
		s, rebuild, err := openSegment(dir, 0, 0, cfg)
		if err != nil || rebuild != nil {
			t.Fatalf("intact segment: %v / %v", err, rebuild)
		}
		s.close()
	})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, s := build(t)
			tc.damage(t, s)
			s2, rebuild, err := openSegment(dir, 0, 0, cfg)
			if err != nil {
				t.Fatalf("openSegment: %v", err)
			}
			defer s2.close()
			if !isErr(rebuild, ErrCorruptIndex) {
				t.Fatalf("damage not detected: %v", rebuild)
			}
		})
	}
}

func TestHeaderReaderRejectsBadFraming(t *testing.T) {
	dir := t.TempDir()
	f, _ := os.Create(dir + "/x.log")
	defer f.Close()
	b := makeBatch(t, 2, 0, 10, 1)
	f.Write(b)
	cases := []struct {
		name  string
		pos   int64
		limit int64
	}{
		{"batch crosses limit", 0, int64(len(b)) - 1},
		{"header past limit", 10, int64(len(b))},
		{"garbage length", 1, int64(len(b))},
	}
	for _, tc := range cases {
		r := newHeaderReader(f, tc.limit)
		if _, err := r.at(tc.pos); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
		r.release()
	}
	r := newHeaderReader(f, int64(len(b)))
	defer r.release()
	if h, err := r.at(0); err != nil || batchSize(h) != int64(len(b)) {
		t.Fatalf("valid header: %v", err)
	}
}

func appendBytes(t *testing.T, path string, p []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(p)
	f.Close()
}

func overwrite(t *testing.T, path string, p []byte) {
	t.Helper()
	if err := os.WriteFile(path, p, 0o644); err != nil {
		t.Fatal(err)
	}
}

// smallConfig is a config with small segments and indexes so tests roll
// and index often.
func smallConfig() LogConfig {
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 4096
	cfg.IndexIntervalBytes = 256
	cfg.SegmentIndexBytes = 1024
	cfg.FileDeleteDelayMs = 0
	cfg.RetentionMs = -1
	return cfg
}

// makeBatch builds an uncompressed batch of n records with timestamps
// ts, ts+1, ... and values of valueSize bytes derived from seed.
func makeBatch(t testing.TB, n int, ts int64, valueSize int, seed byte) record.Batch {
	t.Helper()
	b := record.NewBuilder(record.DefaultBuilderOptions())
	for i := 0; i < n; i++ {
		v := bytes.Repeat([]byte{seed + byte(i)}, valueSize)
		b.Add(ts+int64(i), []byte(fmt.Sprintf("k%d-%d", seed, i)), v)
	}
	batch, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return batch
}

// makeBatchTs builds a batch whose records have exactly the given
// timestamps.
func makeBatchTs(t testing.TB, tss ...int64) record.Batch {
	t.Helper()
	b := record.NewBuilder(record.DefaultBuilderOptions())
	for i, ts := range tss {
		b.Add(ts, []byte{byte(i)}, []byte("v"))
	}
	batch, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return batch
}
