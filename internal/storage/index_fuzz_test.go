package storage

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/samsa-streaming/samsa/internal/record"
)

// indexFuzzTemplate is a cleanly closed log FuzzIndexFiles copies for
// each input, with its batches and every record's (offset, timestamp).
type indexFuzzTemplate struct {
	dir     string
	bases   []int64
	batches []record.Batch
	recs    [][2]int64
}

func newIndexFuzzTemplate(f *testing.F) *indexFuzzTemplate {
	tpl := &indexFuzzTemplate{dir: filepath.Join(f.TempDir(), "t-0")}
	cfg := smallConfig()
	cfg.IndexIntervalBytes = 64
	l, err := Open(tpl.dir, cfg, OpenOptions{})
	if err != nil {
		f.Fatal(err)
	}
	for i := 0; i < 60; i++ {
		ts := int64(1000 + i*10)
		b := makeBatchTs(f, ts+5, ts, ts+2) // max first: the scan inside a batch matters
		res, err := l.Append(b, AppendOptions{Origin: OriginClient})
		if err != nil {
			f.Fatal(err)
		}
		tpl.batches = append(tpl.batches, b)
		for j, rts := range []int64{ts + 5, ts, ts + 2} {
			tpl.recs = append(tpl.recs, [2]int64{res.FirstOffset + int64(j), rts})
		}
	}
	tpl.bases = l.SegmentBaseOffsets()
	if err := l.Close(); err != nil {
		f.Fatal(err)
	}
	return tpl
}

// FuzzIndexFiles replaces the offset and time index of a middle segment
// of a cleanly closed log with arbitrary bytes and checks that the log
// still opens and answers reads and timestamp lookups exactly as the
// intact one does: a damaged index may cost a rebuild or a scan, never a
// wrong answer.
func FuzzIndexFiles(f *testing.F) {
	tpl := newIndexFuzzTemplate(f)
	entry := func(rel, pos uint32) []byte {
		e := make([]byte, 8)
		binary.BigEndian.PutUint32(e, rel)
		binary.BigEndian.PutUint32(e[4:], pos)
		return e
	}
	f.Add([]byte{}, []byte{})
	f.Add(entry(1, 0), make([]byte, 12))
	f.Add(append(entry(3, 77), entry(2, 10)...), []byte{0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1})
	f.Add(make([]byte, 64), make([]byte, 48))
	// The real indexes with damaged interior entries: they pass Open's
	// sanity check (which only looks at the ends), so lookups must catch
	// the damage themselves.
	realOff, err := os.ReadFile(segPath(tpl.dir, tpl.bases[1], indexSuffix))
	if err != nil || len(realOff) < 4*offsetEntrySize {
		f.Fatalf("template index: %d bytes, %v", len(realOff), err)
	}
	realTime, err := os.ReadFile(segPath(tpl.dir, tpl.bases[1], timeIndexSuffix))
	if err != nil || len(realTime) < 3*timeEntrySize {
		f.Fatalf("template time index: %d bytes, %v", len(realTime), err)
	}
	for _, at := range []int{1, len(realOff)/offsetEntrySize - 2} {
		for _, delta := range []uint32{1, 40, 1 << 20} {
			bad := append([]byte(nil), realOff...)
			e := bad[at*offsetEntrySize:]
			binary.BigEndian.PutUint32(e[4:], binary.BigEndian.Uint32(e[4:])+delta) // position
			f.Add(bad, realTime)
			bad = append([]byte(nil), realOff...)
			e = bad[at*offsetEntrySize:]
			binary.BigEndian.PutUint32(e, binary.BigEndian.Uint32(e)+delta) // offset
			f.Add(bad, realTime)
		}
	}
	badTime := append([]byte(nil), realTime...)
	binary.BigEndian.PutUint32(badTime[timeEntrySize+8:], binary.BigEndian.Uint32(badTime[timeEntrySize+8:])+5)
	f.Add(realOff, badTime)
	badTime = append([]byte(nil), realTime...)
	binary.BigEndian.PutUint64(badTime[timeEntrySize:], binary.BigEndian.Uint64(badTime[timeEntrySize:])-3)
	f.Add(realOff, badTime)
	f.Fuzz(func(t *testing.T, offIdx, timeIdx []byte) {
		dir := filepath.Join(t.TempDir(), "t-0")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		ents, err := os.ReadDir(tpl.dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			data, err := os.ReadFile(filepath.Join(tpl.dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644)
		}
		target := tpl.bases[1]
		os.WriteFile(segPath(dir, target, indexSuffix), offIdx, 0o644)
		os.WriteFile(segPath(dir, target, timeIndexSuffix), timeIdx, 0o644)

		l, err := Open(dir, smallConfig(), OpenOptions{CleanShutdown: true})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		defer l.Close()
		equalBatches(t, readAllBatches(t, l), tpl.batches)
		leo := l.LogEndOffset()
		for _, b := range tpl.batches {
			for off := b.BaseOffset(); off <= b.LastOffset(); off++ {
				rr, err := l.Read(off, 1, leo, true)
				if err != nil || rr.FirstOffset != b.BaseOffset() || rr.Size != int64(len(b)) {
					t.Fatalf("Read(%d) = first %d size %d %v, want %d %d", off, rr.FirstOffset, rr.Size, err, b.BaseOffset(), len(b))
				}
			}
		}
		for target := int64(990); target <= 1600; target += 7 {
			wantOff, wantTs := int64(-1), int64(-1)
			for _, r := range tpl.recs {
				if r[1] >= target {
					wantOff, wantTs = r[0], r[1]
					break
				}
			}
			off, ts, _, found, err := l.OffsetForTimestamp(target)
			if err != nil || found != (wantOff >= 0) || off != wantOff || (found && ts != wantTs) {
				t.Fatalf("OffsetForTimestamp(%d) = %d %d %v %v, want %d %d", target, off, ts, found, err, wantOff, wantTs)
			}
		}
	})
}
