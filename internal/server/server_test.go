package server_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func produce(t *testing.T, addr, topic string, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range n {
		r := &kgo.Record{Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "v%d", i)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
	}
}

func consumeAll(t *testing.T, addr, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d: %v", len(out), n, err)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch: %v", err) })
		out = append(out, fs.Records()...)
	}
	return out
}

// TestRestartKeepsDataAndOpensClean produces, stops the broker cleanly,
// starts it again on the same data dir and checks that every record is
// still there and that the clean shutdown let the logs load without a scan.
func TestRestartKeepsDataAndOpensClean(t *testing.T) {
	b := testutil.StartBroker(t, "num.partitions=3")
	adm := kadm.NewClient(mustClient(t, b.Addr))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, 3, 1, nil, "restart"); err != nil {
		t.Fatal(err)
	}
	produce(t, b.Addr, "restart", 300)
	b.Stop(t)

	props := b.Props
	props["listeners"] = "PLAINTEXT://127.0.0.1:0"
	b2 := testutil.StartBrokerProps(t, props)
	st := b2.LogLoadStats()
	if st.Logs != 3 || st.CleanDirs != 1 || st.SegmentsRecovered != 0 || st.BytesScanned != 0 {
		t.Fatalf("restart after clean stop: %+v, want 3 logs loaded clean with nothing scanned", st)
	}
	recs := consumeAll(t, b2.Addr, "restart", 300)
	seen := map[string]bool{}
	for _, r := range recs {
		if string(r.Value) != "v"+string(r.Key[1:]) {
			t.Fatalf("record %q=%q", r.Key, r.Value)
		}
		seen[string(r.Key)] = true
	}
	if len(seen) != 300 {
		t.Fatalf("got %d distinct keys, want 300", len(seen))
	}
	if b2.Metadata().Topic("restart") == nil {
		t.Fatal("topic lost from metadata across restart")
	}
}

// TestDeletedTopicLeavesNoLog deletes a topic and checks its partition log
// is gone from the broker and that the name can be reused at once.
func TestDeletedTopicLeavesNoLog(t *testing.T) {
	b := testutil.StartBroker(t)
	adm := kadm.NewClient(mustClient(t, b.Addr))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "gone"); err != nil {
		t.Fatal(err)
	}
	produce(t, b.Addr, "gone", 10)
	if _, err := adm.DeleteTopic(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "gone"); err != nil {
		t.Fatalf("recreate: %v", err)
	}
	ends, err := adm.ListEndOffsets(ctx, "gone")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := ends.Lookup("gone", 0); !ok || o.Offset != 0 {
		t.Fatalf("recreated topic end offset %+v, want 0 (old data must be gone)", o)
	}
}

func mustClient(t *testing.T, addr string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// TestLostMetadataKeepsLogsAsStray restarts a broker whose metadata log was
// lost: its partition logs are no longer in the metadata, and must be set
// aside with their data, not deleted.
func TestLostMetadataKeepsLogsAsStray(t *testing.T) {
	b := testutil.StartBroker(t)
	adm := kadm.NewClient(mustClient(t, b.Addr))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "precious"); err != nil {
		t.Fatal(err)
	}
	produce(t, b.Addr, "precious", 20)
	b.Stop(t)
	if err := os.RemoveAll(metadata.MetadataLogDir(b.Dir)); err != nil {
		t.Fatal(err)
	}

	props := b.Props
	props["listeners"] = "PLAINTEXT://127.0.0.1:0"
	b2 := testutil.StartBrokerProps(t, props)
	if b2.Metadata().Topic("precious") != nil {
		t.Fatal("topic survived the loss of the metadata log")
	}
	matches, _ := filepath.Glob(filepath.Join(b.Dir, "precious-0.*-stray"))
	if len(matches) != 1 {
		t.Fatalf("stray dirs %v, want the old partition kept aside", matches)
	}
	segs, _ := filepath.Glob(filepath.Join(matches[0], "*.log"))
	if len(segs) == 0 {
		t.Fatalf("stray dir %s lost its segments", matches[0])
	}
	if fi, err := os.Stat(segs[0]); err != nil || fi.Size() == 0 {
		t.Fatalf("stray segment %s: %v", segs[0], err)
	}
	// The name is free again, with no old data in it.
	adm2 := kadm.NewClient(mustClient(t, b2.Addr))
	if _, err := adm2.CreateTopic(ctx, 1, 1, nil, "precious"); err != nil {
		t.Fatalf("recreate: %v", err)
	}
	ends, err := adm2.ListEndOffsets(ctx, "precious")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := ends.Lookup("precious", 0); !ok || o.Offset != 0 {
		t.Fatalf("recreated topic end offset %+v, want 0", o)
	}
}
