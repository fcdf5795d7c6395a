package storage

import (
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samsa-streaming/samsa/internal/record"
)

// TestStressConcurrentLog runs an appender (rolling often) against
// readers, ListOffsets lookups, flushes, explicit rolls, retention,
// DeleteRecords and (with truncate set) follower truncations, all at
// once, and checks that every read that no truncation overlapped returns
// whole, valid, contiguous batches starting with the batch that holds the
// offset asked for. Run it with -race.
func TestStressConcurrentLog(t *testing.T) {
	for _, tc := range []struct {
		name        string
		preallocate bool
		truncate    bool
	}{
		{"plain", false, false},
		{"preallocate", true, false},
		{"truncate", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) { stressLog(t, tc.preallocate, tc.truncate) })
	}
}

func stressLog(t *testing.T, preallocate, truncate bool) {
	cfg := smallConfig()
	cfg.Preallocate = preallocate
	cfg.FileDeleteDelayMs = 500 // reads copy at once, well within it
	cfg.RetentionBytes = 6 * int64(cfg.SegmentBytes)
	clk := newTestClock()
	l := newTestLog(t, cfg, clk)

	const appends = 500
	var (
		done      atomic.Bool
		truncGen  atomic.Int64 // odd while a truncation runs; bumped around each
		failMu    sync.Mutex
		failure   error
		wg        sync.WaitGroup
		readsDone atomic.Int64
	)
	fail := func(err error) {
		failMu.Lock()
		if failure == nil {
			failure = err
		}
		failMu.Unlock()
		done.Store(true)
	}
	bg := func(fn func(rng *rand.Rand)) {
		seed := rand.Uint64()
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, 1))
			for !done.Load() {
				fn(rng)
			}
		})
	}

	// Readers.
	for range 3 {
		bg(func(rng *rand.Rand) {
			start, leo := l.LogStartOffset(), l.LogEndOffset()
			if leo <= start {
				return
			}
			off := start + rng.Int64N(leo-start)
			gen := truncGen.Load()
			rr, err := l.Read(off, 1+rng.IntN(3000), leo, true)
			if errors.Is(err, ErrOffsetOutOfRange) {
				return // retention or a truncation moved past off meanwhile
			}
			if err != nil {
				fail(err)
				return
			}
			data, err := rr.Bytes()
			if gen%2 == 1 || truncGen.Load() != gen {
				return // a truncation may have rewritten the range
			}
			if err != nil {
				fail(err)
				return
			}
			if rr.Size == 0 {
				fail(errors.New("empty read below the log end offset"))
				return
			}
			next := int64(-1)
			n, err := record.Batches(data, func(b record.Batch) error {
				if err := b.Verify(); err != nil {
					return err
				}
				if next >= 0 && b.BaseOffset() != next {
					return errors.New("batches not contiguous")
				}
				if next < 0 && (b.BaseOffset() > off || b.LastOffset() < off) {
					return errors.New("first batch does not hold the offset read")
				}
				next = b.NextOffset()
				return nil
			})
			if err == nil && n != len(data) {
				err = errors.New("read ends inside a batch")
			}
			if err != nil {
				fail(err)
				return
			}
			readsDone.Add(1)
		})
	}
	// ListOffsets by time and MAX_TIMESTAMP.
	bg(func(rng *rand.Rand) {
		ts := clk.Ms() - rng.Int64N(20000)
		if rng.IntN(4) == 0 {
			ts = MaxTimestampSpec
		}
		if _, _, _, _, err := l.OffsetForTimestamp(ts); err != nil {
			fail(err)
		}
	})
	// Flushes, rolls, retention and DeleteRecords.
	bg(func(rng *rand.Rand) {
		var err error
		switch rng.IntN(4) {
		case 0:
			err = l.Flush()
		case 1:
			err = l.Roll()
		case 2:
			_, err = l.DeleteOldSegments()
		case 3:
			start, hw := l.LogStartOffset(), l.HighWatermark()
			if hw > start && rng.IntN(8) == 0 {
				_, err = l.DeleteRecordsBefore(start + rng.Int64N(hw-start+1))
				if errors.Is(err, ErrOffsetOutOfRange) {
					err = nil // a truncation lowered the high watermark meanwhile
				}
			}
		}
		if err != nil {
			fail(err)
		}
		time.Sleep(time.Duration(rng.IntN(500)) * time.Microsecond)
	})
	if truncate {
		bg(func(rng *rand.Rand) {
			time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
			start, leo := l.LogStartOffset(), l.LogEndOffset()
			if leo-start < 10 {
				return
			}
			truncGen.Add(1)
			err := l.TruncateTo(leo - 1 - rng.Int64N(min(leo-start, 200)))
			truncGen.Add(1)
			if err != nil {
				fail(err)
			}
		})
	}

	// The appender.
	rng := rand.New(rand.NewPCG(rand.Uint64(), 2))
	// At least appends appends, and on until the readers have checked
	// enough reads (a loaded machine may starve them), within a bound.
	for i := 0; (i < appends || readsDone.Load() < 200) && i < 20*appends && !done.Load(); i++ {
		clk.Advance(time.Millisecond)
		b := makeBatch(t, 1+rng.IntN(6), clk.Ms()-rng.Int64N(5000), rng.IntN(200), byte(i))
		if _, err := l.Append(b, AppendOptions{Origin: OriginClient}); err != nil {
			fail(err)
			break
		}
		l.SetHighWatermark(l.LogEndOffset())
	}
	done.Store(true)
	wg.Wait()
	if failure != nil {
		t.Fatal(failure)
	}
	if readsDone.Load() == 0 {
		t.Fatal("no read was checked")
	}
	// What is left must read back whole.
	readAllBatches(t, l)
}
