package storage

import (
	"bytes"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/samsa-streaming/samsa/internal/record"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testClock is an injectable clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock { return &testClock{now: time.UnixMilli(1_700_000_000_000)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *testClock) Ms() int64 { return c.Now().UnixMilli() }

func openTestLog(t testing.TB, dir string, cfg LogConfig, opts OpenOptions) *Log {
	t.Helper()
	l, err := Open(dir, cfg, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

// newTestLog opens a fresh log in a temp dir, closed at cleanup.
func newTestLog(t testing.TB, cfg LogConfig, clk *testClock) *Log {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "topic-0")
	opts := OpenOptions{}
	if clk != nil {
		opts.Clock = clk.Now
	}
	l := openTestLog(t, dir, cfg, opts)
	t.Cleanup(func() { l.Close() })
	return l
}

// mustAppend appends a batch as a client and returns the result.
func mustAppend(t testing.TB, l *Log, b record.Batch) AppendResult {
	t.Helper()
	res, err := l.Append(append([]byte(nil), b...), AppendOptions{LeaderEpoch: 0, Origin: OriginClient})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return res
}

// appended records what tests appended: each batch's bytes as stored.
type appended struct {
	batches []record.Batch
}

// appendRecords appends count client batches of recs records each (values
// of size bytes) and remembers the stored bytes.
func (a *appended) add(t testing.TB, l *Log, count, recs, size int, ts int64) {
	t.Helper()
	for i := 0; i < count; i++ {
		b := makeBatch(t, recs, ts+int64(i)*int64(recs), size, byte(len(a.batches)))
		buf := append([]byte(nil), b...)
		if _, err := l.Append(buf, AppendOptions{Origin: OriginClient}); err != nil {
			t.Fatalf("Append #%d: %v", len(a.batches), err)
		}
		a.batches = append(a.batches, record.Batch(buf))
	}
}

// readAllBatches reads the whole log [log start, LEO) through Read and
// returns the batches, verifying each.
func readAllBatches(t testing.TB, l *Log) []record.Batch {
	t.Helper()
	var out []record.Batch
	off := l.LogStartOffset()
	for off < l.LogEndOffset() {
		rr, err := l.Read(off, 1<<20, l.LogEndOffset(), true)
		if err != nil {
			t.Fatalf("Read(%d): %v", off, err)
		}
		if rr.Size == 0 {
			// An empty segment or a gap: move to the next segment.
			next := int64(-1)
			for _, b := range l.SegmentBaseOffsets() {
				if b > off {
					next = b
					break
				}
			}
			if next < 0 {
				t.Fatalf("Read(%d) empty below LEO %d", off, l.LogEndOffset())
			}
			off = next
			continue
		}
		data, err := rr.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		n, err := record.Batches(data, func(b record.Batch) error {
			if err := b.Verify(); err != nil {
				return err
			}
			out = append(out, append(record.Batch(nil), b...))
			off = b.NextOffset()
			return nil
		})
		if err != nil || n != len(data) {
			t.Fatalf("Read(%d) returned %d bytes, %d whole: %v", rr.FirstOffset, len(data), n, err)
		}
	}
	return out
}

func equalBatches(t testing.TB, got, want []record.Batch) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d batches, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("batch %d differs: got base %d len %d, want base %d len %d", i, got[i].BaseOffset(), len(got[i]), want[i].BaseOffset(), len(want[i]))
		}
	}
}
