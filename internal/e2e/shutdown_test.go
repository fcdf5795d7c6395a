package e2e_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestStopAnswersParkedFetches stops a broker while a consumer's fetch is
// parked with a 60 s MaxWait. A clean stop lets in-flight requests finish,
// but a long poll must not hold it up for the rest of its wait (SIGTERM
// would hang for as long as any client's fetch.max.wait.ms): the parked
// fetch is answered at once, with what there is (nothing), and the stop
// completes.
func TestStopAnswersParkedFetches(t *testing.T) {
	e := newEnv(t)
	const topic = "stopping"
	e.createTopic(t, topic, 1, nil)
	id := e.topicID(t, topic)

	written := make(fetchWritten, 1)
	fetcher := newKgo(t, e.b.Addr, kgo.WithHooks(written))
	type result struct {
		resp *kmsg.FetchResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := fetchReq(topic, id, 0, 0, 60000, 1).RequestWith(context.Background(), fetcher)
		done <- result{resp, err}
	}()
	select {
	case <-written:
	case <-time.After(10 * time.Second):
		t.Fatal("the fetch was never written")
	}
	time.Sleep(300 * time.Millisecond) // let the broker park it

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	err := e.b.Close(ctx)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("stop with a parked fetch: %v after %v", err, elapsed)
	}
	if elapsed >= promptly {
		t.Fatalf("stop took %v with a parked fetch", elapsed)
	}
	var r result
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the parked fetch got no answer and its connection stayed open")
	}
	if r.err != nil {
		t.Fatalf("the parked fetch was dropped, not answered: %v", r.err)
	}
	if err := kerr.ErrorForCode(r.resp.ErrorCode); err != nil {
		t.Fatal(err)
	}
	if len(r.resp.Topics) != 1 || len(r.resp.Topics[0].Partitions) != 1 {
		t.Fatalf("the parked fetch was answered with %d topics", len(r.resp.Topics))
	}
	if p := r.resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || len(p.RecordBatches) != 0 {
		t.Fatalf("the parked fetch was answered with error %d and %d bytes, want an empty answer", p.ErrorCode, len(p.RecordBatches))
	}
}
