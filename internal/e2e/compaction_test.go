package e2e_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/samsa-streaming/samsa/internal/testutil"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCompaction creates a compacted topic whose segments roll every
// 100 ms, produces rounds of records over a few keys (some tombstones)
// with franz-go, waits for the log cleaner, and consumes: fewer records
// than produced, every key's latest value (or tombstone) present, and
// every record's timestamp as produced, including those of tombstones
// whose batches now carry a delete horizon in their base timestamp.
func TestCompaction(t *testing.T) {
	b := testutil.StartBroker(t, "log.cleaner.backoff.ms=50")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	const topic = "compacted"
	cfg := map[string]*string{
		"cleanup.policy":            kadm.StringPtr("compact"),
		"segment.ms":                kadm.StringPtr("100"),
		"min.cleanable.dirty.ratio": kadm.StringPtr("0.01"),
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, cfg, topic); err != nil {
		t.Fatal(err)
	}
	type want struct {
		value string
		tomb  bool
		ts    time.Time
	}
	latest := map[string]want{}
	base := time.UnixMilli(time.Now().Add(-time.Hour).UnixMilli())
	produced := 0
	for round := range 6 {
		for i := range 50 {
			key := fmt.Sprintf("k%d", i%10)
			ts := base.Add(time.Duration(produced) * time.Millisecond)
			r := &kgo.Record{Topic: topic, Key: []byte(key), Timestamp: ts}
			w := want{ts: ts}
			if round == 4 && i%10 == 3 {
				w.tomb = true
			} else {
				w.value = fmt.Sprintf("v%d-%d", round, i)
				r.Value = []byte(w.value)
			}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
			latest[key] = w
			produced++
		}
		time.Sleep(150 * time.Millisecond) // the next round rolls a segment
	}
	// One more record rolls the last round's segment out of the active one.
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte("last"), Value: []byte("x"), Timestamp: base}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	latest["last"] = want{value: "x", ts: base}
	produced++

	consume := func() []*kgo.Record {
		c, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// Read up to the "last" record, the end of the log: a pass that
		// stopped short would look compacted without being so.
		var out []*kgo.Record
		for {
			fctx, fcancel := context.WithTimeout(ctx, 20*time.Second)
			fs := c.PollFetches(fctx)
			fcancel()
			if fctx.Err() != nil && fs.NumRecords() == 0 {
				t.Fatalf("consumed %d records and then nothing more; the log ends with key \"last\"", len(out))
			}
			out = append(out, fs.Records()...)
			if len(out) > 0 && out[len(out)-1].Key != nil && string(out[len(out)-1].Key) == "last" {
				return out
			}
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	var got []*kgo.Record
	for {
		got = consume()
		if len(got) < produced/2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("consumed %d of %d records", len(got), produced)
	if len(got) >= produced/2 {
		t.Fatalf("consumed %d of %d records: not compacted", len(got), produced)
	}
	seen := map[string]want{}
	for _, r := range got {
		w := want{value: string(r.Value), tomb: r.Value == nil, ts: r.Timestamp}
		seen[string(r.Key)] = w
	}
	for k, w := range latest {
		g, ok := seen[k]
		if !ok || g.value != w.value || g.tomb != w.tomb || !g.ts.Equal(w.ts) {
			t.Fatalf("key %q: consumed %+v (present %v), want %+v", k, g, ok, w)
		}
	}
}
