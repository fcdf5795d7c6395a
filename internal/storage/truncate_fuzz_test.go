package storage

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/samsa-streaming/samsa/internal/record"
)

// FuzzTruncateRecovery is a truncate, append, crash cycle with the worst
// a power loss can add: a log of random batches is flushed and truncated
// (TruncateTo, or TruncateFullyAndStartAt behind or ahead of its end),
// new batches are appended (flushed or not), and the process dies (a
// crash, or a clean close). Then the files the truncation removed (any
// subset of the doomed segments and producer snapshots) come back as they
// were, as lost directory updates would bring them, and an unflushed tail
// may be torn off. Reopening with what the Manager would have
// checkpointed must serve a prefix of the new history (the batches kept
// below the truncation point, then the new ones), byte for byte, never a
// stale batch, and lose nothing that was durable: the kept batches and
// every new batch before the tear.
//
// Two states no rule can recover are excluded: a stale segment beginning
// exactly where the recovered new history ends (nothing tells it from a
// new segment rolled there), and after a clean shutdown a stale segment
// beginning after that end (the clean path trusts gaps between segments,
// which a follower of a compacted leader makes when it rolls at an
// incoming batch's offset; after an unclean one, recovery drops what
// follows a gap).
func FuzzTruncateRecovery(f *testing.F) {
	f.Add(uint64(1), uint8(40), uint8(30), uint16(200), uint8(0), uint64(0xffff_ffff_ffff_ffff))
	f.Add(uint64(2), uint8(60), uint8(60), uint16(90), uint8(0b100), uint64(0xffff_ffff_ffff_ffff))
	f.Add(uint64(3), uint8(50), uint8(20), uint16(10), uint8(0b1100), uint64(0x5555_5555_5555_5555))
	f.Add(uint64(4), uint8(45), uint8(40), uint16(333), uint8(0b10000), uint64(0xffff_ffff_ffff_ffff))
	f.Add(uint64(5), uint8(63), uint8(63), uint16(500), uint8(0b10), uint64(0xffff_ffff_ffff_ffff))
	f.Add(uint64(6), uint8(40), uint8(50), uint16(70), uint8(0b11), uint64(0xffff_ffff_ffff_ffff))
	f.Add(uint64(7), uint8(50), uint8(50), uint16(120), uint8(0b100100), uint64(0xffff_ffff_ffff_ffff))
	f.Add(uint64(8), uint8(30), uint8(10), uint16(150), uint8(0b10001), uint64(0xaaaa_aaaa_aaaa_aaaa))
	f.Fuzz(func(t *testing.T, seed uint64, nOld, nNew uint8, at uint16, mode uint8, restoreMask uint64) {
		rng := rand.New(rand.NewPCG(seed, uint64(nOld)<<8|uint64(nNew)))
		kind := mode & 3 // 0, 1: TruncateTo; 2: fully, behind the end; 3: fully, ahead
		flushNew := mode&4 != 0
		trustFlushed := mode&8 != 0 // reopen with the recovery point after the flush
		tear := mode&16 != 0 && !flushNew
		clean := mode&32 != 0 && !tear

		cfg := smallConfig()
		cfg.SegmentBytes = 2048
		cfg.FileDeleteDelayMs = 60_000
		dir := filepath.Join(t.TempDir(), "t-0")
		l := openTestLog(t, dir, cfg, OpenOptions{})
		add := func(epoch int32) record.Batch {
			b := append(record.Batch(nil), makeBatch(t, 1+rng.IntN(6), 1000, rng.IntN(80), byte(rng.Uint32()))...)
			if _, err := l.Append(b, AppendOptions{Origin: OriginClient, LeaderEpoch: epoch}); err != nil {
				t.Fatal(err)
			}
			return b
		}
		var old []record.Batch
		for range int(nOld%64) + 1 {
			old = append(old, add(1))
		}
		if err := l.Flush(); err != nil {
			t.Fatal(err)
		}
		saved := map[string][]byte{}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if _, suffix, ok := parseSegmentFileName(e.Name()); ok && (isSegmentFile(suffix) || suffix == snapshotSuffix) {
				data, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				saved[e.Name()] = data
			}
		}

		leo := l.LogEndOffset()
		var want []record.Batch // the new history
		switch kind {
		case 0, 1:
			err = l.TruncateTo(int64(at) % leo)
		case 2:
			err = l.TruncateFullyAndStartAt(int64(at) % leo)
		case 3:
			err = l.TruncateFullyAndStartAt(leo + int64(at)%100)
		}
		if err != nil {
			t.Fatal(err)
		}
		start, truncRP := l.LogStartOffset(), l.RecoveryPoint()
		if kind < 2 {
			want = keepBelow(old, l.LogEndOffset())
		}
		cutBase := l.SegmentBaseOffsets()[0]
		cutSize := int64(0)
		if st, err := os.Stat(segPath(dir, cutBase, logSuffix)); err == nil {
			cutSize = st.Size()
		}
		for range int(nNew%64) + 1 {
			want = append(want, add(2))
		}
		if flushNew {
			if err := l.Flush(); err != nil {
				t.Fatal(err)
			}
		}
		opts := OpenOptions{RecoveryPoint: truncRP, LogStartOffset: start}
		if flushNew && trustFlushed {
			opts.RecoveryPoint = l.RecoveryPoint()
		}
		bases := l.SegmentBaseOffsets()
		lastBase := bases[len(bases)-1]
		if clean {
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			opts.CleanShutdown, opts.RecoveryPoint = true, l.LogEndOffset()
		} else {
			crash(t, l)
		}

		// How much must survive: everything, unless an unflushed tail of
		// the last segment is torn off.
		mustKeep := len(want)
		if tear {
			durable := int64(0)
			if lastBase == cutBase {
				durable = cutSize
			}
			path := segPath(dir, lastBase, logSuffix)
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			size := durable + int64(at)*7919%(st.Size()-durable+1)
			if err := os.Truncate(path, size); err != nil {
				t.Fatal(err)
			}
			mustKeep = 0
			var pos int64
			for _, b := range want {
				if b.BaseOffset() >= lastBase {
					if pos += int64(len(b)); pos > size {
						break
					}
				}
				mustKeep++
			}
		}

		// The lost directory updates: removed files come back as they
		// were, except over a name the new history uses and at a batch
		// boundary of the new history (where recovery may end).
		boundary := map[int64]bool{start: true}
		for _, b := range want {
			boundary[b.NextOffset()] = true
		}
		newEnd := start
		if len(want) > 0 {
			newEnd = want[len(want)-1].NextOffset()
		}
		names := slices.Sorted(func(yield func(string) bool) {
			for name := range saved {
				if !yield(name) {
					return
				}
			}
		})
		var restored []int64
		for k, name := range names {
			base, suffix, _ := parseSegmentFileName(name)
			if restoreMask&(1<<(k%64)) == 0 || fileExists(filepath.Join(dir, name)) {
				continue
			}
			if suffix != snapshotSuffix {
				if suffix != logSuffix || boundary[base] || clean && base > newEnd || fileExists(segPath(dir, base, logSuffix)) {
					continue
				}
				for _, sfx := range []string{logSuffix, indexSuffix, timeIndexSuffix, txnIndexSuffix} {
					if data, ok := saved[segmentFileName(base, sfx)]; ok {
						os.WriteFile(segPath(dir, base, sfx), data, 0o644)
						os.Remove(segPath(dir, base, sfx) + deletedSuffix)
					}
				}
				restored = append(restored, base)
				continue
			}
			os.WriteFile(filepath.Join(dir, name), saved[name], 0o644)
		}

		l2, err := Open(dir, cfg, opts)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		defer l2.Close()
		got := readAllBatches(t, l2) // every batch passes Verify
		if len(got) > len(want) || len(got) < mustKeep {
			t.Fatalf("recovered %d batches; the new history has %d, %d of them durable (restored %v)", len(got), len(want), mustKeep, restored)
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("batch %d (offset %d) is not the new history's (restored %v)", i, got[i].BaseOffset(), restored)
			}
		}
		if !tear && len(got) != len(want) {
			t.Fatalf("recovered %d of %d batches without a tear", len(got), len(want))
		}
		end := start
		if len(got) > 0 {
			end = got[len(got)-1].NextOffset()
		}
		if l2.LogEndOffset() != end || l2.LogStartOffset() != start {
			t.Fatalf("log %d..%d, batches %d..%d", l2.LogStartOffset(), l2.LogEndOffset(), start, end)
		}
		for _, base := range restored {
			if fileExists(segPath(dir, base, logSuffix)) {
				t.Fatalf("stale segment %d still under its live name", base)
			}
		}
		for _, e := range l2.LeaderEpochs() {
			if e.StartOffset >= end {
				t.Fatalf("epoch entry %v at or beyond the log end %d", e, end)
			}
		}
	})
}
