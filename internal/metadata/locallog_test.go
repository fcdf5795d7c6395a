package metadata

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

func openLog(t testing.TB, dir string, opts LocalLogOptions) (*LocalLog, *Publisher) {
	t.Helper()
	pub := NewPublisher()
	l, err := OpenLocalLog(dir, pub, opts)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	return l, pub
}

// writeHistory appends historyBatches through a fresh log in dir and
// returns the image after each batch and the log file size after each.
func writeHistory(t testing.TB, dir string) ([]*Image, []int64) {
	t.Helper()
	l, pub := openLog(t, dir, LocalLogOptions{CompactBytes: -1})
	defer l.Close()
	images := []*Image{pub.Image()}
	sizes := []int64{l.Stats().LogBytes}
	for _, b := range historyBatches() {
		off, err := l.Append(b.Records)
		if err != nil {
			t.Fatal(err)
		}
		if off != b.Offset {
			t.Fatalf("offset %d, want %d", off, b.Offset)
		}
		images = append(images, pub.Image())
		sizes = append(sizes, l.Stats().LogBytes)
	}
	return images, sizes
}

func TestLocalLogReplayAfterRestart(t *testing.T) {
	dir := t.TempDir()
	images, sizes := writeHistory(t, dir)
	final := images[len(images)-1]
	if fi, err := os.Stat(filepath.Join(dir, LogFileName)); err != nil || fi.Size() != sizes[len(sizes)-1] {
		t.Fatalf("log size %v %v", fi, err)
	}
	l, pub := openLog(t, dir, LocalLogOptions{})
	defer l.Close()
	if !reflect.DeepEqual(pub.Image(), final) {
		t.Fatal("replayed image differs from the image before restart")
	}
	if st := l.Stats(); st.LastOffset != final.Offset() || st.TruncatedBytes != 0 || st.SnapshotOffset != 0 {
		t.Fatalf("stats %+v", st)
	}
	// Appending continues at the next offset.
	off, err := l.Append([]Record{FeatureLevelRecord{Name: "f", Level: 2}})
	if err != nil || off != final.Offset()+1 {
		t.Fatalf("append after restart: %d %v", off, err)
	}
}

func TestLocalLogEmptyAndReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", MetadataLogDirName)
	l, pub := openLog(t, dir, LocalLogOptions{})
	if pub.Image().Offset() != 0 {
		t.Fatal("fresh log has an offset")
	}
	if err := l.Snapshot(); err != nil { // snapshot of the empty image
		t.Fatal(err)
	}
	l.Close()
	if _, err := l.Append(nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
	if err := l.Snapshot(); !errors.Is(err, ErrClosed) {
		t.Fatalf("snapshot after close: %v", err)
	}
	l2, pub2 := openLog(t, dir, LocalLogOptions{})
	defer l2.Close()
	if pub2.Image().Offset() != 0 || pub2.Image().TopicCount() != 0 {
		t.Fatal("reopened empty log")
	}
}

// copyPrefix writes the first n bytes of data as the log of a fresh dir.
func copyPrefix(t *testing.T, data []byte, n int) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, LogFileName), data[:n], 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// damagePoints returns the byte positions worth damaging in a log whose
// entries end at sizes: each side of every entry boundary, a byte in each
// entry's length, CRC and offset fields and its first record byte, and a
// stride through the rest. Trying every byte of the log would take seconds
// of fsyncs and find nothing these miss.
func damagePoints(sizes []int64, total int) []int {
	set := map[int]bool{}
	for _, s := range sizes {
		for _, d := range []int{-1, 0, 1, 3, 5, 11, 16} {
			set[int(s)+d] = true
		}
	}
	for p := fileHeaderSize; p < total; p += 29 {
		set[p] = true
	}
	var out []int
	for p := range set {
		if p >= fileHeaderSize && p <= total {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// TestLocalLogTornTail cuts the log at every byte: a crash mid-write. The
// recovered image is the image after the last whole entry before the cut,
// never less; the file is truncated to that entry's end, and appending then
// works and survives a restart.
func TestLocalLogTornTail(t *testing.T) {
	src := t.TempDir()
	images, sizes := writeHistory(t, src)
	data, err := os.ReadFile(filepath.Join(src, LogFileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, cut := range damagePoints(sizes, len(data)) {
		dir := copyPrefix(t, data, cut)
		// The last entry that fits wholly in the prefix.
		k := 0
		for k+1 < len(sizes) && sizes[k+1] <= int64(cut) {
			k++
		}
		l, pub := openLog(t, dir, LocalLogOptions{})
		if !reflect.DeepEqual(pub.Image(), images[k]) {
			t.Fatalf("cut at %d: recovered offset %d, want %d", cut, pub.Image().Offset(), images[k].Offset())
		}
		st := l.Stats()
		if st.LogBytes != sizes[k] || st.TruncatedBytes != int64(cut)-sizes[k] {
			t.Fatalf("cut at %d: stats %+v, want size %d", cut, st, sizes[k])
		}
		if cut%11 == 0 || cut == len(data)-1 {
			if _, err := l.Append([]Record{FeatureLevelRecord{Name: "after", Level: 1}}); err != nil {
				t.Fatal(err)
			}
			l.Close()
			l2, pub2 := openLog(t, dir, LocalLogOptions{})
			if pub2.Image().FeatureLevel("after") != 1 || pub2.Image().Offset() != images[k].Offset()+1 || l2.Stats().TruncatedBytes != 0 {
				t.Fatalf("cut at %d: append after recovery lost", cut)
			}
			l2.Close()
		} else {
			l.Close()
		}
	}
}

// TestLocalLogFlippedByte damages each byte of the entries in turn. CRC-32C
// catches every single-byte error, so the damaged entry and everything
// after it is dropped, and every entry before it is kept.
func TestLocalLogFlippedByte(t *testing.T) {
	src := t.TempDir()
	images, sizes := writeHistory(t, src)
	data, err := os.ReadFile(filepath.Join(src, LogFileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, pos := range damagePoints(sizes, len(data)-1) {
		damaged := bytes.Clone(data)
		damaged[pos] ^= 0x5a
		dir := copyPrefix(t, damaged, len(damaged))
		k := 0 // entries wholly before pos
		for k+1 < len(sizes) && sizes[k+1] <= int64(pos) {
			k++
		}
		l, pub := openLog(t, dir, LocalLogOptions{})
		if !reflect.DeepEqual(pub.Image(), images[k]) {
			t.Fatalf("flip at %d: recovered offset %d, want %d", pos, pub.Image().Offset(), images[k].Offset())
		}
		l.Close()
	}
	for pos := range fileHeaderSize {
		damaged := bytes.Clone(data)
		damaged[pos] ^= 0x01
		dir := copyPrefix(t, damaged, len(damaged))
		if _, err := OpenLocalLog(dir, NewPublisher(), LocalLogOptions{}); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("header flip at %d: %v, want ErrCorrupt", pos, err)
		}
	}
}

func TestLocalLogRefusesNonTornDamage(t *testing.T) {
	hdr := appendFileHeader(nil, logMagic)
	good := func(off int64) []byte {
		return appendFrame(nil, off, []Record{FeatureLevelRecord{Name: "f", Level: int16(off)}})
	}
	cases := map[string][]byte{
		"gap in offsets":        bytes.Join([][]byte{hdr, good(1), good(3)}, nil),
		"offset not 1 at start": bytes.Join([][]byte{hdr, good(2)}, nil),
		"repeated offset":       bytes.Join([][]byte{hdr, good(1), good(1)}, nil),
		"checksummed garbage":   bytes.Join([][]byte{hdr, good(1), frameOf(2, []byte{1, 2, 99, 0})}, nil),
		"does not apply":        bytes.Join([][]byte{hdr, appendFrame(nil, 1, []Record{RemoveTopicRecord{TopicID: idA}})}, nil),
		"short header":          hdr[:5],
		"wrong magic":           []byte("SMMS\x00\x00\x00\x01"),
		"newer format":          []byte("SMML\x00\x00\x00\x02"),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			dir := copyPrefix(t, data, len(data))
			_, err := OpenLocalLog(dir, NewPublisher(), LocalLogOptions{})
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("open = %v, want ErrCorrupt", err)
			}
			after, _ := os.ReadFile(filepath.Join(dir, LogFileName))
			if !bytes.Equal(after, data) {
				t.Fatal("a refused open modified the log")
			}
		})
	}
}

// frameOf frames raw body bytes (after the offset) with a valid CRC.
func frameOf(offset int64, records []byte) []byte {
	f := appendFrame(nil, offset, nil)
	f = append(f[:frameHeaderSize+8], records...)
	out := appendFrameRaw(f[frameHeaderSize:])
	return out
}

func appendFrameRaw(body []byte) []byte {
	out := make([]byte, frameHeaderSize, frameHeaderSize+len(body))
	out = append(out, body...)
	putFrameHeader(out)
	return out
}

func TestLocalLogCompaction(t *testing.T) {
	dir := t.TempDir()
	l, pub := openLog(t, dir, LocalLogOptions{CompactBytes: 600})
	var lastSnap int64
	compactions := 0
	for _, b := range historyBatches() {
		if _, err := l.Append(b.Records); err != nil {
			t.Fatal(err)
		}
		if st := l.Stats(); st.SnapshotOffset != lastSnap {
			compactions++
			lastSnap = st.SnapshotOffset
			if st.SnapshotOffset != st.LastOffset || st.LogBytes != fileHeaderSize {
				t.Fatalf("after compaction: %+v", st)
			}
		}
	}
	if compactions < 2 {
		t.Fatalf("%d compactions", compactions)
	}
	want := pub.Image()
	l.Close()
	l2, pub2 := openLog(t, dir, LocalLogOptions{})
	if !reflect.DeepEqual(pub2.Image(), want) {
		t.Fatal("snapshot + log replay differs")
	}
	// An explicit snapshot leaves an empty log and the same image.
	if _, err := l2.Append([]Record{FeatureLevelRecord{Name: "x", Level: 1}}); err != nil {
		t.Fatal(err)
	}
	want = pub2.Image()
	if err := l2.Snapshot(); err != nil {
		t.Fatal(err)
	}
	snap, _ := os.ReadFile(filepath.Join(dir, SnapshotFileName))
	if !bytes.Equal(snap, EncodeSnapshot(want)) {
		t.Fatal("snapshot file is not EncodeSnapshot of the image")
	}
	l2.Close()
	l3, pub3 := openLog(t, dir, LocalLogOptions{})
	defer l3.Close()
	if !reflect.DeepEqual(pub3.Image(), want) || l3.Stats().SnapshotOffset != want.Offset() {
		t.Fatal("image after explicit snapshot")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != LogFileName && e.Name() != SnapshotFileName {
			t.Errorf("stray file %s", e.Name())
		}
	}
}

// TestLocalLogCrashDuringCompaction covers the moment between the snapshot
// rename and the log replacement: the new snapshot and the old, full log.
func TestLocalLogCrashDuringCompaction(t *testing.T) {
	src := t.TempDir()
	images, _ := writeHistory(t, src)
	final := images[len(images)-1]
	logData, _ := os.ReadFile(filepath.Join(src, LogFileName))
	for _, snapAt := range []int{1, len(images) / 2, len(images) - 1} {
		dir := copyPrefix(t, logData, len(logData))
		if err := os.WriteFile(filepath.Join(dir, SnapshotFileName), EncodeSnapshot(images[snapAt]), 0o644); err != nil {
			t.Fatal(err)
		}
		// Stale temporary files from the interrupted compaction.
		os.WriteFile(filepath.Join(dir, LogFileName+".tmp"), []byte("junk"), 0o644)
		os.WriteFile(filepath.Join(dir, SnapshotFileName+".tmp"), []byte("junk"), 0o644)
		l, pub := openLog(t, dir, LocalLogOptions{})
		if !reflect.DeepEqual(pub.Image(), final) {
			t.Fatalf("snapshot at %d: image differs", snapAt)
		}
		l.Close()
		if _, err := os.Stat(filepath.Join(dir, LogFileName+".tmp")); !errors.Is(err, os.ErrNotExist) {
			t.Fatal("stale temp file kept")
		}
	}
	// A snapshot newer than the log's end, with a log that does not reach
	// it, is fine too (the snapshot covers everything).
	dir := copyPrefix(t, logData, fileHeaderSize)
	os.WriteFile(filepath.Join(dir, SnapshotFileName), EncodeSnapshot(final), 0o644)
	l, pub := openLog(t, dir, LocalLogOptions{})
	if !reflect.DeepEqual(pub.Image(), final) {
		t.Fatal("snapshot-only image differs")
	}
	l.Close()
}

func TestLocalLogCorruptSnapshot(t *testing.T) {
	src := t.TempDir()
	images, _ := writeHistory(t, src)
	snap := EncodeSnapshot(images[len(images)-1])
	cases := map[string][]byte{
		"truncated":       snap[:len(snap)-1],
		"no terminator":   snap[:len(snap)-17],
		"trailing bytes":  append(bytes.Clone(snap), 0),
		"flipped byte":    func() []byte { b := bytes.Clone(snap); b[len(b)/2] ^= 1; return b }(),
		"bad magic":       append([]byte("SMML"), snap[4:]...),
		"mixed offsets":   bytes.Join([][]byte{appendFileHeader(nil, snapshotMagic), appendFrame(nil, 3, []Record{FeatureLevelRecord{Name: "a", Level: 1}}), appendFrame(nil, 4, nil)}, nil),
		"does not apply":  bytes.Join([][]byte{appendFileHeader(nil, snapshotMagic), appendFrame(nil, 3, []Record{RemoveTopicRecord{TopicID: idA}}), appendFrame(nil, 3, nil)}, nil),
		"records at zero": bytes.Join([][]byte{appendFileHeader(nil, snapshotMagic), appendFrame(nil, 0, []Record{FeatureLevelRecord{Name: "a", Level: 1}}), appendFrame(nil, 0, nil)}, nil),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeSnapshot(data); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("DecodeSnapshot = %v, want ErrCorrupt", err)
			}
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, SnapshotFileName), data, 0o644)
			if _, err := OpenLocalLog(dir, NewPublisher(), LocalLogOptions{}); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("open = %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestSnapshotChunking(t *testing.T) {
	// An image larger than a chunk spans several frames and round-trips.
	im := EmptyImage()
	var recs []Record
	big := string(bytes.Repeat([]byte("v"), 1000))
	for i := range 1500 {
		recs = append(recs, ConfigRecord{ResourceType: ResourceBroker, Name: "k" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676)), Value: &big})
	}
	im, _ = mustApply(t, im, Batch{Offset: 9, Records: recs})
	snap := EncodeSnapshot(im)
	if len(snap) < snapshotChunkBytes+snapshotChunkBytes/4 {
		t.Fatalf("snapshot only %d bytes", len(snap))
	}
	back, err := DecodeSnapshot(snap)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, im) {
		t.Fatal("chunked snapshot round trip differs")
	}
}

func TestLocalLogAppendRejectsWithoutWriting(t *testing.T) {
	dir := t.TempDir()
	l, pub := openLog(t, dir, LocalLogOptions{})
	defer l.Close()
	before := l.Stats()
	if _, err := l.Append([]Record{RemoveTopicRecord{TopicID: idA}}); !errors.Is(err, ErrInconsistent) {
		t.Fatalf("append = %v, want ErrInconsistent", err)
	}
	saved := entryLimit
	entryLimit = 100
	defer func() { entryLimit = saved }()
	big := string(bytes.Repeat([]byte("x"), 200))
	if _, err := l.Append([]Record{ConfigRecord{ResourceType: ResourceBroker, Name: "k", Value: &big}}); !errors.Is(err, ErrBatchTooLarge) {
		t.Fatalf("append = %v, want ErrBatchTooLarge", err)
	}
	if l.Stats() != before || pub.Image().Offset() != 0 {
		t.Fatal("a refused append changed the log")
	}
	// The log still works.
	if off, err := l.Append([]Record{FeatureLevelRecord{Name: "f", Level: 1}}); err != nil || off != 1 {
		t.Fatalf("append = %d %v", off, err)
	}
}

// TestLocalLogDurableBeforeVisible checks, from a listener, that a change
// is on disk by the time anyone can see it.
func TestLocalLogDurableBeforeVisible(t *testing.T) {
	dir := t.TempDir()
	l, pub := openLog(t, dir, LocalLogOptions{CompactBytes: -1})
	defer l.Close()
	seen := 0
	pub.Subscribe(func(prev, next *Image, d *Delta) {
		seen++
		// Replaying the file as it is now must already yield next.
		data, err := os.ReadFile(filepath.Join(dir, LogFileName))
		if err != nil {
			t.Error(err)
			return
		}
		im, _, err := replayLog(EmptyImage(), data)
		if err != nil || !reflect.DeepEqual(im, next) {
			t.Errorf("published offset %d before it was written: %v", next.Offset(), err)
		}
	})
	for _, b := range historyBatches()[:5] {
		if _, err := l.Append(b.Records); err != nil {
			t.Fatal(err)
		}
	}
	if seen != 5 {
		t.Fatalf("listener saw %d changes", seen)
	}
}

func TestLocalLogFailStop(t *testing.T) {
	dir := t.TempDir()
	l, pub := openLog(t, dir, LocalLogOptions{})
	if _, err := l.Append([]Record{FeatureLevelRecord{Name: "f", Level: 1}}); err != nil {
		t.Fatal(err)
	}
	// Pull the file out from under the log: the next write fails.
	l.mu.Lock()
	l.f.Close()
	l.mu.Unlock()
	_, err := l.Append([]Record{FeatureLevelRecord{Name: "g", Level: 1}})
	if !errors.Is(err, ErrLogFailed) {
		t.Fatalf("append = %v, want ErrLogFailed", err)
	}
	if pub.Image().FeatureLevel("g") != 0 {
		t.Fatal("a failed append was published")
	}
	if _, err := l.Append([]Record{FeatureLevelRecord{Name: "h", Level: 1}}); !errors.Is(err, ErrLogFailed) {
		t.Fatalf("second append = %v, want the sticky ErrLogFailed", err)
	}
	if err := l.Snapshot(); !errors.Is(err, ErrLogFailed) {
		t.Fatalf("snapshot = %v", err)
	}
	l.closed = true
	l2, pub2 := openLog(t, dir, LocalLogOptions{})
	defer l2.Close()
	if pub2.Image().FeatureLevel("f") != 1 || pub2.Image().Offset() != 1 {
		t.Fatal("committed entry lost")
	}
}

func TestLocalLogSecondWriterRefused(t *testing.T) {
	dir := t.TempDir()
	l, pub := openLog(t, dir, LocalLogOptions{})
	defer l.Close()
	// Someone else feeds the same publisher: the log must notice rather
	// than write an entry at a wrong offset.
	if err := pub.Apply(Batch{Offset: 1, Records: []Record{FeatureLevelRecord{Name: "f", Level: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append([]Record{FeatureLevelRecord{Name: "g", Level: 1}}); !errors.Is(err, ErrInconsistent) {
		t.Fatalf("append = %v, want ErrInconsistent", err)
	}
	if l.Stats().LogBytes != fileHeaderSize {
		t.Fatal("entry written")
	}
}

// FuzzReplayLog feeds arbitrary bytes as the entries of a log file. Opening
// must never panic; it either refuses with ErrCorrupt or recovers a prefix
// of the file, after which a reopen finds nothing more to truncate and the
// same image.
func FuzzReplayLog(f *testing.F) {
	src := f.TempDir()
	writeHistory(f, src)
	data, err := os.ReadFile(filepath.Join(src, LogFileName))
	if err != nil {
		f.Fatal(err)
	}
	entries := data[fileHeaderSize:]
	f.Add(entries)
	f.Add(entries[:len(entries)/2])
	f.Add(appendFrame(nil, 1, []Record{FeatureLevelRecord{Name: "f", Level: 1}}))
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, entries []byte) {
		dir := t.TempDir()
		input := append(appendFileHeader(nil, logMagic), entries...)
		if err := os.WriteFile(filepath.Join(dir, LogFileName), input, 0o644); err != nil {
			t.Fatal(err)
		}
		l, err := OpenLocalLog(dir, NewPublisher(), LocalLogOptions{})
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("open error does not wrap ErrCorrupt: %v", err)
			}
			return
		}
		l.Close()
		after, err := os.ReadFile(filepath.Join(dir, LogFileName))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(input, after) {
			t.Fatal("recovered log is not a prefix of the input")
		}
		pub := NewPublisher()
		l2, err := OpenLocalLog(dir, pub, LocalLogOptions{})
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		defer l2.Close()
		if l2.Stats().TruncatedBytes != 0 {
			t.Fatal("second open truncated again")
		}
		want, _, err := replayLog(EmptyImage(), after)
		if err != nil || !reflect.DeepEqual(pub.Image(), want) {
			t.Fatalf("reopened image differs: %v", err)
		}
	})
}

func FuzzDecodeSnapshot(f *testing.F) {
	src := f.TempDir()
	images, _ := writeHistory(f, src)
	f.Add(EncodeSnapshot(images[len(images)-1]))
	f.Add(EncodeSnapshot(EmptyImage()))
	f.Fuzz(func(t *testing.T, data []byte) {
		im, err := DecodeSnapshot(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error does not wrap ErrCorrupt: %v", err)
			}
			return
		}
		if again, err := DecodeSnapshot(EncodeSnapshot(im)); err != nil || !reflect.DeepEqual(again, im) {
			t.Fatalf("re-encoded snapshot differs: %v", err)
		}
	})
}
