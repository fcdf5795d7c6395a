package storage

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestEpochCacheAssign(t *testing.T) {
	c := &epochCache{}
	steps := []struct {
		epoch   int32
		start   int64
		changed bool
		want    []EpochEntry
	}{
		{-1, 0, false, nil},
		{0, 0, true, []EpochEntry{{0, 0}}},
		{0, 10, false, []EpochEntry{{0, 0}}}, // same epoch later: ignored
		{2, 10, true, []EpochEntry{{0, 0}, {2, 10}}},
		{3, 20, true, []EpochEntry{{0, 0}, {2, 10}, {3, 20}}},
		{3, 15, true, []EpochEntry{{0, 0}, {2, 10}, {3, 15}}}, // same epoch, earlier start: replaces
		{1, 12, true, []EpochEntry{{0, 0}, {1, 12}}},          // lower epoch: drops non-monotonic entries
	}
	for i, s := range steps {
		if got := c.assign(s.epoch, s.start); got != s.changed {
			t.Errorf("step %d assign(%d, %d) changed=%v, want %v", i, s.epoch, s.start, got, s.changed)
		}
		if got := c.snapshot(); !reflect.DeepEqual(got, s.want) && !(len(got) == 0 && len(s.want) == 0) {
			t.Fatalf("step %d: %v, want %v", i, got, s.want)
		}
	}
}

func TestEpochCacheEndOffsetFor(t *testing.T) {
	c := &epochCache{entries: []EpochEntry{{2, 10}, {4, 30}, {7, 55}}}
	const leo = 80
	cases := []struct {
		req       int32
		wantEpoch int32
		wantOff   int64
	}{
		{UndefinedEpoch, UndefinedEpoch, UndefinedEpochOffset},
		{7, 7, leo}, // latest: log end offset
		{4, 4, 55},  // start of the next epoch
		{5, 4, 55},  // unknown epoch between: previous epoch, next start
		{1, 1, 10},  // below every epoch: requested epoch, first start
		{2, 2, 30},  // first epoch
		{9, UndefinedEpoch, UndefinedEpochOffset},
	}
	for _, tc := range cases {
		e, off := c.endOffsetFor(tc.req, leo)
		if e != tc.wantEpoch || off != tc.wantOff {
			t.Errorf("endOffsetFor(%d) = (%d, %d), want (%d, %d)", tc.req, e, off, tc.wantEpoch, tc.wantOff)
		}
	}
	empty := &epochCache{}
	if e, off := empty.endOffsetFor(3, leo); e != UndefinedEpoch || off != UndefinedEpochOffset {
		t.Errorf("empty cache: (%d, %d)", e, off)
	}
}

func TestEpochCacheTruncate(t *testing.T) {
	base := []EpochEntry{{2, 10}, {4, 30}, {7, 55}}
	cases := []struct {
		name string
		op   func(c *epochCache) bool
		want []EpochEntry
		chg  bool
	}{
		{"end beyond", func(c *epochCache) bool { return c.truncateFromEnd(80) }, base, false},
		{"end at last start", func(c *epochCache) bool { return c.truncateFromEnd(55) }, base[:2], true},
		{"end inside", func(c *epochCache) bool { return c.truncateFromEnd(31) }, base[:2], true},
		{"end at first", func(c *epochCache) bool { return c.truncateFromEnd(10) }, []EpochEntry{}, true},
		{"start below", func(c *epochCache) bool { return c.truncateFromStart(5) }, base, false},
		{"start inside", func(c *epochCache) bool { return c.truncateFromStart(40) }, []EpochEntry{{4, 40}, {7, 55}}, true},
		{"start exact", func(c *epochCache) bool { return c.truncateFromStart(55) }, []EpochEntry{{7, 55}}, true},
		{"start beyond", func(c *epochCache) bool { return c.truncateFromStart(99) }, []EpochEntry{{7, 99}}, true},
	}
	for _, tc := range cases {
		c := &epochCache{entries: append([]EpochEntry(nil), base...)}
		if got := tc.op(c); got != tc.chg {
			t.Errorf("%s: changed=%v", tc.name, got)
		}
		if got := c.snapshot(); len(got) != len(tc.want) || (len(got) > 0 && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	c := &epochCache{entries: append([]EpochEntry(nil), base...)}
	for _, tc := range []struct {
		off  int64
		want int32
		ok   bool
	}{{5, 0, false}, {10, 2, true}, {54, 4, true}, {1000, 7, true}} {
		if e, ok := c.epochForOffset(tc.off); e != tc.want || ok != tc.ok {
			t.Errorf("epochForOffset(%d) = %d %v", tc.off, e, ok)
		}
	}
}

func TestEpochCheckpointFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, leaderEpochCheckpointFile)
	c, err := loadEpochCache(path)
	if err != nil || len(c.snapshot()) != 0 {
		t.Fatalf("missing file: %v %v", c.snapshot(), err)
	}
	c.assign(0, 0)
	c.assign(3, 150)
	if err := c.persist(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if string(data) != "0\n2\n0 0\n3 150\n" {
		t.Fatalf("file content %q", data)
	}
	if fileExists(path + tmpSuffix) {
		t.Fatal("temp file left behind")
	}
	d, err := loadEpochCache(path)
	if err != nil || !reflect.DeepEqual(d.snapshot(), c.snapshot()) {
		t.Fatalf("reload: %v %v", d.snapshot(), err)
	}
	for _, bad := range []string{"", "1\n0\n", "0\n2\n0 0\n", "0\n1\n0\n", "0\n1\nx 1\n", "0\n1\n-1 5\n", "0\n-1\n"} {
		if _, err := parseEpochCheckpoint(bad); !isErr(err, ErrCorruptCheckpoint) {
			t.Errorf("parse %q: %v", bad, err)
		}
	}
}

func FuzzEpochCheckpoint(f *testing.F) {
	f.Add("0\n2\n0 0\n3 150\n")
	f.Add("0\n0\n")
	f.Add("0\n1\n5 9223372036854775807\n")
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, s string) {
		entries, err := parseEpochCheckpoint(s)
		if err != nil {
			if !isErr(err, ErrCorruptCheckpoint) {
				t.Fatalf("error %v is not ErrCorruptCheckpoint", err)
			}
			return
		}
		again, err := parseEpochCheckpoint(string(formatEpochCheckpoint(entries)))
		if err != nil || !reflect.DeepEqual(again, entries) && len(entries) > 0 {
			t.Fatalf("round trip of %v: %v %v", entries, again, err)
		}
	})
}

func TestPartitionMetadata(t *testing.T) {
	dir := t.TempDir()
	id := [16]byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 1, 2, 3, 4, 5, 6, 7, 8}
	if _, ok, err := readPartitionMetadata(dir); ok || err != nil {
		t.Fatalf("missing file: %v %v", ok, err)
	}
	if err := writePartitionMetadata(dir, id); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, partitionMetadataFile))
	if want := "version: 0\ntopic_id: EjRWeJq83vABAgMEBQYHCA"; string(data) != want {
		t.Fatalf("content %q, want %q", data, want)
	}
	got, ok, err := readPartitionMetadata(dir)
	if err != nil || !ok || got != id {
		t.Fatalf("read back %x %v %v", got, ok, err)
	}
	for _, bad := range []string{"", "version: 1\ntopic_id: EjRWeJq83vABAgMEBQYHCA", "version: 0\ntopic: x", "version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAA", "version: 0\ntopic_id: !!"} {
		if _, err := parsePartitionMetadata(bad); !isErr(err, ErrCorruptCheckpoint) {
			t.Errorf("parse %q: %v", bad, err)
		}
	}
}

func FuzzPartitionMetadata(f *testing.F) {
	f.Add("version: 0\ntopic_id: EjRWeJq83vABAgMEBQYHCA")
	f.Add("version: 0\ntopic_id: EjRWeJq83vABAgMEBQYHCA\n")
	f.Add("version:0\ntopic_id:x")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := parsePartitionMetadata(s)
		if err != nil {
			if !isErr(err, ErrCorruptCheckpoint) {
				t.Fatalf("error %v is not ErrCorruptCheckpoint", err)
			}
			return
		}
		again, err := parsePartitionMetadata("version: 0\ntopic_id: " + TopicIDString(id))
		if err != nil || again != id {
			t.Fatalf("round trip: %x %v", again, err)
		}
	})
}

// TestLogAssignLeaderEpoch: a new leader epoch is known from the moment it
// is assigned (Kafka's makeLeader), before any batch carries it, and
// survives a restart through the checkpoint.
func TestLogAssignLeaderEpoch(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "topic-0")
	l := openTestLog(t, dir, DefaultLogConfig(), OpenOptions{})
	defer func() { l.Close() }()
	endFor := func(epoch int32, wantEpoch int32, wantOff int64) {
		t.Helper()
		if e, off := l.EndOffsetForEpoch(epoch); e != wantEpoch || off != wantOff {
			t.Fatalf("EndOffsetForEpoch(%d) = (%d, %d), want (%d, %d)", epoch, e, off, wantEpoch, wantOff)
		}
	}
	endFor(0, UndefinedEpoch, UndefinedEpochOffset)
	if err := l.AssignLeaderEpoch(0); err != nil {
		t.Fatal(err)
	}
	endFor(0, 0, 0)
	if err := l.AssignLeaderEpoch(0); err != nil { // same epoch: no-op
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		b := makeBatch(t, 2, 1000, 10, byte(i))
		if _, err := l.Append(append([]byte(nil), b...), AppendOptions{LeaderEpoch: 0, Origin: OriginClient}); err != nil {
			t.Fatal(err)
		}
	}
	leo := l.LogEndOffset()
	if leo != 6 {
		t.Fatalf("LEO %d", leo)
	}
	endFor(0, 0, leo)
	if err := l.AssignLeaderEpoch(3); err != nil {
		t.Fatal(err)
	}
	if got, want := l.LeaderEpochs(), []EpochEntry{{0, 0}, {3, leo}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("epochs %v, want %v", got, want)
	}
	endFor(3, 3, leo)
	endFor(1, 0, leo) // largest epoch <= 1 is 0; it ends where epoch 3 starts
	endFor(2, 0, leo)
	endFor(4, UndefinedEpoch, UndefinedEpochOffset)
	if err := l.AssignLeaderEpoch(2); !isErr(err, ErrStaleLeaderEpoch) {
		t.Fatalf("older epoch: %v", err)
	}
	if err := l.AssignLeaderEpoch(-1); !isErr(err, ErrStaleLeaderEpoch) {
		t.Fatalf("negative epoch: %v", err)
	}
	// Appending in epoch 3 keeps its start where it was assigned.
	b := makeBatch(t, 2, 2000, 10, 9)
	if _, err := l.Append(append([]byte(nil), b...), AppendOptions{LeaderEpoch: 3, Origin: OriginClient}); err != nil {
		t.Fatal(err)
	}
	endFor(3, 3, leo+2)
	endFor(2, 0, leo)
	data, err := os.ReadFile(filepath.Join(dir, leaderEpochCheckpointFile))
	if err != nil || string(data) != "0\n2\n0 0\n3 6\n" {
		t.Fatalf("checkpoint %q, %v", data, err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openTestLog(t, dir, DefaultLogConfig(), OpenOptions{})
	if got, want := l.LeaderEpochs(), []EpochEntry{{0, 0}, {3, leo}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after reopen: epochs %v, want %v", got, want)
	}
	l.Close()
	if err := l.AssignLeaderEpoch(5); !isErr(err, ErrLogClosed) {
		t.Fatalf("closed log: %v", err)
	}
}
