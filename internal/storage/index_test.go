package storage

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// newOffsetIndex creates an active offset index with room for max entries.
func newOffsetIndex(t *testing.T, base int64, maxEntries int) *offsetIndex {
	t.Helper()
	x, err := openOffsetIndex(filepath.Join(t.TempDir(), "seg.index"), base, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.activate(int32(maxEntries * offsetEntrySize)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.close() })
	return x
}

func TestOffsetIndexLookup(t *testing.T) {
	// Entries (last offset of batch, position): as LogSegment.append adds them.
	entries := [][2]int64{{109, 0}, {119, 300}, {135, 700}, {150, 1200}}
	cases := []struct {
		name    string
		target  int64
		wantOff int64
		wantPos int64
	}{
		{"below every entry", 100, 100, 0},
		{"exact first", 109, 109, 0},
		{"between", 125, 119, 300},
		{"exact last", 150, 150, 1200},
		{"above last", 10_000, 150, 1200},
	}
	for _, resident := range []bool{true, false} {
		x := newOffsetIndex(t, 100, 16)
		for _, e := range entries {
			if err := x.append(e[0], e[1]); err != nil {
				t.Fatal(err)
			}
		}
		if !resident {
			if err := x.trim(); err != nil {
				t.Fatal(err)
			}
			x.deactivate()
		}
		for _, tc := range cases {
			off, pos, err := x.view().lookup(tc.target)
			if err != nil || off != tc.wantOff || pos != tc.wantPos {
				t.Errorf("resident=%v %s: lookup(%d) = (%d, %d, %v), want (%d, %d)", resident, tc.name, tc.target, off, pos, err, tc.wantOff, tc.wantPos)
			}
		}
		for _, tc := range []struct{ pos, wantPos int64 }{{0, 0}, {299, 0}, {300, 300}, {1199, 700}, {5000, 1200}} {
			if _, pos, err := x.view().lookupByPosition(tc.pos); err != nil || pos != tc.wantPos {
				t.Errorf("resident=%v: lookupByPosition(%d) = %d, %v; want %d", resident, tc.pos, pos, err, tc.wantPos)
			}
		}
	}
}

func TestOffsetIndexAppendRules(t *testing.T) {
	x := newOffsetIndex(t, 100, 2)
	cases := []struct {
		name    string
		offset  int64
		wantErr bool
	}{
		{"first", 105, false},
		{"equal to last", 105, true},
		{"below last", 104, true},
		{"below base", 99, true},
		{"overflows relative offset", 100 + 1<<31, true},
		{"second", 106, false},
	}
	for _, tc := range cases {
		err := x.append(tc.offset, 1)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: append(%d) = %v, wantErr %v", tc.name, tc.offset, err, tc.wantErr)
		}
	}
	if !x.isFull() {
		t.Errorf("index with 2 of 2 entries not full")
	}
}

func TestOffsetIndexTruncate(t *testing.T) {
	cases := []struct {
		target  int64
		wantLen int
	}{
		{0, 0}, {10, 0}, {19, 1}, {20, 1}, {21, 2}, {29, 2}, {30, 2}, {31, 3}, {1000, 3},
	}
	for _, tc := range cases {
		x := newOffsetIndex(t, 0, 8)
		for i, o := range []int64{10, 20, 30} {
			x.append(o, int64(i*100))
		}
		if err := x.truncateTo(tc.target); err != nil {
			t.Fatal(err)
		}
		if x.count() != tc.wantLen {
			t.Errorf("truncateTo(%d): %d entries, want %d", tc.target, x.count(), tc.wantLen)
		}
	}
}

func TestIndexTrimAndReactivate(t *testing.T) {
	x := newOffsetIndex(t, 0, 100)
	st, _ := os.Stat(x.path)
	if st.Size() != 100*offsetEntrySize {
		t.Fatalf("preallocated size %d, want %d", st.Size(), 100*offsetEntrySize)
	}
	for i := int64(1); i <= 5; i++ {
		x.append(i*10, i*100)
	}
	if err := x.trim(); err != nil {
		t.Fatal(err)
	}
	x.deactivate()
	st, _ = os.Stat(x.path)
	if st.Size() != 5*offsetEntrySize {
		t.Fatalf("trimmed size %d, want %d", st.Size(), 5*offsetEntrySize)
	}
	// Reopen from the file, as Open does.
	path := x.path
	y, err := openOffsetIndex(path, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer y.close()
	if y.count() != 5 {
		t.Fatalf("reopened with %d entries", y.count())
	}
	if err := y.activate(1024); err != nil {
		t.Fatal(err)
	}
	if y.maxEntries != 1024/offsetEntrySize || !y.resident() || y.count() != 5 {
		t.Fatalf("activate: max %d resident %v n %d", y.maxEntries, y.resident(), y.count())
	}
	if off, pos, _ := y.view().lookup(35); off != 30 || pos != 300 {
		t.Fatalf("lookup after reactivate = (%d, %d)", off, pos)
	}
}

func TestIndexOpenRejectsPartialEntry(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.index")
	os.WriteFile(path, make([]byte, 13), 0o644)
	x, err := openOffsetIndex(path, 0, false)
	if !isErr(err, ErrCorruptIndex) || x == nil {
		t.Fatalf("open 13-byte index: %v", err)
	}
	x.close()
}

func TestTimeIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.timeindex")
	x, err := openTimeIndex(path, 100, true)
	if err != nil {
		t.Fatal(err)
	}
	defer x.close()
	if err := x.activate(5 * timeEntrySize); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		ts, off  int64
		wantN    int
		wantErr  bool
		skipFull bool
	}{
		{-1, 100, 0, false, false}, // no timestamp: nothing recorded
		{1000, 105, 1, false, false},
		{1000, 107, 1, false, false}, // same timestamp: nothing new
		{999, 108, 1, false, false},  // older: nothing new
		{1500, 104, 1, true, false},  // offset going back
		{1500, 110, 2, false, false},
		{2000, 120, 3, false, false},
		{2500, 130, 4, false, false},
		{3000, 140, 4, true, false}, // last slot is reserved: full
		{3000, 140, 5, false, true}, // roll/close may use it
	}
	for i, s := range steps {
		err := x.maybeAppend(s.ts, s.off, s.skipFull)
		if (err != nil) != s.wantErr || x.count() != s.wantN {
			t.Fatalf("step %d maybeAppend(%d, %d): err %v n %d, want err %v n %d", i, s.ts, s.off, err, x.count(), s.wantErr, s.wantN)
		}
	}
	lookups := []struct{ ts, wantTs, wantOff int64 }{
		{10, -1, 100}, {1000, 1000, 105}, {1499, 1000, 105}, {2000, 2000, 120}, {99999, 3000, 140},
	}
	for _, c := range lookups {
		if ts, off, err := x.view().lookup(c.ts); err != nil || ts != c.wantTs || off != c.wantOff {
			t.Errorf("lookup(%d) = (%d, %d, %v), want (%d, %d)", c.ts, ts, off, err, c.wantTs, c.wantOff)
		}
	}
	if err := x.truncateTo(120); err != nil {
		t.Fatal(err)
	}
	if x.count() != 2 || x.lastTs != 1500 || x.lastOff != 110 {
		t.Fatalf("after truncateTo(120): n %d last (%d, %d)", x.count(), x.lastTs, x.lastOff)
	}
}

func TestTxnIndex(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "00000000000000000100.txnindex")
	x, err := openTxnIndex(path, 100)
	if err != nil {
		t.Fatal(err)
	}
	if fileExists(path) {
		t.Fatal("txnindex created before its first entry")
	}
	txns := []AbortedTxn{
		{ProducerID: 1, FirstOffset: 90, LastOffset: 105, LastStableOffset: 90},
		{ProducerID: 2, FirstOffset: 100, LastOffset: 120, LastStableOffset: 110},
		{ProducerID: 3, FirstOffset: 110, LastOffset: 130, LastStableOffset: 200},
	}
	for _, tx := range txns {
		if err := x.append(tx); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.append(AbortedTxn{ProducerID: 4, FirstOffset: 1, LastOffset: 130}); !isErr(err, ErrCorruptIndex) {
		t.Fatalf("non-increasing last offset accepted: %v", err)
	}
	st, _ := os.Stat(path)
	if st.Size() != 3*txnEntrySize {
		t.Fatalf("file size %d", st.Size())
	}
	collect := []struct {
		from, upper  int64
		wantPIDs     []int64
		wantComplete bool
	}{
		{0, 95, []int64{1}, true}, // the second entry's LSO 110 proves nothing later overlaps
		{106, 111, []int64{2, 3}, true},
		{0, 200, []int64{1, 2, 3}, true},
		{121, 150, []int64{3}, true},
		{131, 150, nil, true},
		{0, 105, []int64{1, 2}, true},
		{0, 300, []int64{1, 2, 3}, false}, // no LSO reaches 300: later segments may hold more
		{200, 300, nil, false},
	}
	for _, c := range collect {
		got, complete := x.collect(nil, c.from, c.upper)
		var pids []int64
		for _, g := range got {
			pids = append(pids, g.ProducerID)
		}
		if !equalInt64s(pids, c.wantPIDs) || complete != c.wantComplete {
			t.Errorf("collect(%d, %d) = %v %v, want %v %v", c.from, c.upper, pids, complete, c.wantPIDs, c.wantComplete)
		}
	}
	x.close()
	y, err := openTxnIndex(path, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got := y.all(); len(got) != 3 || got[2] != txns[2] {
		t.Fatalf("reopened: %+v", got)
	}
	if err := y.truncateTo(120); err != nil {
		t.Fatal(err)
	}
	if got := y.all(); len(got) != 1 {
		t.Fatalf("after truncateTo(120): %+v", got)
	}
	st, _ = os.Stat(path)
	if st.Size() != txnEntrySize {
		t.Fatalf("truncated file size %d", st.Size())
	}
	y.close()
}

func TestTxnIndexCorrupt(t *testing.T) {
	entry := func(version int16, last int64) []byte {
		e := make([]byte, txnEntrySize)
		AbortedTxn{ProducerID: 1, FirstOffset: last - 1, LastOffset: last}.encode(e)
		binary.BigEndian.PutUint16(e, uint16(version))
		return e
	}
	cases := []struct {
		name string
		data []byte
	}{
		{"partial entry", make([]byte, 20)},
		{"unknown version", entry(1, 150)},
		{"below segment", entry(0, 50)},
		{"not increasing", append(entry(0, 150), entry(0, 150)...)},
	}
	for _, tc := range cases {
		path := filepath.Join(t.TempDir(), "x.txnindex")
		os.WriteFile(path, tc.data, 0o644)
		x, err := openTxnIndex(path, 100)
		if !isErr(err, ErrCorruptIndex) {
			t.Errorf("%s: %v, want ErrCorruptIndex", tc.name, err)
		}
		if x != nil {
			x.close()
		}
	}
}

func FuzzTxnIndexParse(f *testing.F) {
	e := make([]byte, txnEntrySize)
	AbortedTxn{ProducerID: 7, FirstOffset: 100, LastOffset: 110, LastStableOffset: 100}.encode(e)
	f.Add(e)
	f.Add(append(e, e...))
	f.Add([]byte{0, 1, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		x := &txnIndex{base: 100, path: "fuzz"}
		if err := x.parse(data); err != nil {
			if !isErr(err, ErrCorruptIndex) {
				t.Fatalf("parse error %v is not ErrCorruptIndex", err)
			}
			return
		}
		for i, tx := range x.entries {
			if tx.LastOffset < 100 || (i > 0 && x.entries[i-1].LastOffset >= tx.LastOffset) {
				t.Fatalf("accepted bad entry %+v", tx)
			}
		}
	})
}

func equalInt64s(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func isErr(err, target error) bool { return errors.Is(err, target) }

// TestClosedIndexStaysClosed: a flush that took a segment just before
// retention removed it may still sync or write back its indexes after
// the delayed deletion closed them. Reopening the file by path then would
// leak the descriptor, and with it the deleted file's disk space, for the
// life of the process; the calls must fail instead (the flush sees the
// segment is deleted and moves on). A released (lazily closed) index
// still reopens on use.
func TestClosedIndexStaysClosed(t *testing.T) {
	x := newOffsetIndex(t, 0, 100)
	x.append(10, 100)
	v := x.index.view()
	if err := x.release(); err != nil {
		t.Fatal(err)
	}
	if err := x.sync(); err != nil {
		t.Fatalf("sync of a released index: %v", err)
	}
	if err := x.close(); err != nil {
		t.Fatal(err)
	}
	if err := x.sync(); err == nil {
		t.Error("sync of a closed index succeeded")
	}
	if err := x.writeBack(v); err == nil {
		t.Error("write-back to a closed index succeeded")
	}
	if x.file.Load() != nil {
		x.close()
		t.Fatal("a closed index reopened its file")
	}
}
