package e2e_test

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// KIP-848 consumer groups end to end: franz-go members with
// kgo.ServerSideBalancer() let the broker's group coordinator assign
// partitions (ConsumerGroupHeartbeat). The heartbeat interval is lowered
// so that reconciliation (revoke, acknowledge, assign) takes a few
// hundred milliseconds instead of the default five seconds per step.
var consumer848Props = []string{
	"group.consumer.min.heartbeat.interval.ms=100",
	"group.consumer.heartbeat.interval.ms=200",
}

// TestGroupConsumerProtocol: with the server-side uniform (franz-go's
// sticky) and range assignors, two members split a 6-partition topic, a
// partition is handed over only after its previous owner committed and
// revoked it, the member left alone gets every partition, and a fresh
// member resumes at the commits: every record is consumed exactly once
// (the members commit on revocation and before leaving).
func TestGroupConsumerProtocol(t *testing.T) {
	for _, tc := range []struct {
		name     string
		balancer kgo.GroupBalancer
	}{
		{"uniform", kgo.CooperativeStickyBalancer()},
		{"range", kgo.RangeBalancer()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const parts = 6
			e := newEnv(t, consumer848Props...)
			topic, group := "g848-"+tc.name, "cg-"+tc.name
			groupTopic(t, e, topic, parts)
			opts := []kgo.Opt{kgo.ServerSideBalancer(), kgo.Balancers(tc.balancer)}

			produceEach(t, e.b.Addr, topic, parts, 10, "one")
			a := startMember(t, e.b.Addr, group, topic, "a", opts...)
			end := e.endOffsets(t, topic)
			waitFor(t, 30*time.Second, "member a to consume the first round", func() bool {
				return len(a.assignment()) == parts && allConsumed(end, a)
			})

			b := startMember(t, e.b.Addr, group, topic, "b", opts...)
			waitFor(t, 30*time.Second, "a and b to split the partitions", func() bool {
				return disjointCover(parts, a.assignment(), b.assignment())
			})
			if got := len(a.assignment()); got != parts/2 {
				t.Errorf("a kept %d partitions, want %d", got, parts/2)
			}
			// The broker describes the group it assigned.
			described, err := e.adm.DescribeConsumerGroups(ctxFor(t, 10*time.Second), group)
			if err != nil {
				t.Fatalf("describe: %v", err)
			}
			if d := described[group]; d.Err != nil || len(d.Members) != 2 {
				t.Errorf("describe: %+v", d)
			}

			produceEach(t, e.b.Addr, topic, parts, 10, "two")
			end = e.endOffsets(t, topic)
			waitFor(t, 30*time.Second, "the second round to be consumed", func() bool { return allConsumed(end, a, b) })

			a.stop(true)
			waitFor(t, 30*time.Second, "b to take every partition", func() bool { return len(b.assignment()) == parts })
			produceEach(t, e.b.Addr, topic, parts, 10, "three")
			end = e.endOffsets(t, topic)
			waitFor(t, 30*time.Second, "the third round to be consumed", func() bool { return allConsumed(end, a, b) })

			b.stop(true)
			committed, err := e.adm.FetchOffsets(ctxFor(t, 10*time.Second), group)
			if err != nil || committed.Error() != nil {
				t.Fatalf("fetch offsets: %v %v", err, committed.Error())
			}
			for p, o := range end {
				if c, ok := committed.Lookup(topic, p); !ok || c.At != o {
					t.Errorf("partition %d: committed %+v, want %d", p, c, o)
				}
			}
			produceEach(t, e.b.Addr, topic, parts, 5, "four")
			end = e.endOffsets(t, topic)
			c := startMember(t, e.b.Addr, group, topic, "c", opts...)
			waitFor(t, 30*time.Second, "c to consume the fourth round", func() bool { return allConsumed(end, a, b, c) })
			c.stop(true)
			for _, r := range c.records() {
				if r.o < 30 {
					t.Errorf("restarted client re-read %d/%d, below the commit 30", r.p, r.o)
				}
			}
			checkExactlyOnce(t, end, a, b, c)
		})
	}
}
