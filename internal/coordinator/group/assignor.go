package group

import (
	"slices"
	"strings"

	"github.com/samsa-streaming/samsa/internal/metadata"
)

// The server-side assignors group.consumer.assignors may name (Kafka's
// UniformAssignor and RangeAssignor). The first configured one is the
// default; a member may ask for another with ServerAssignor.
const (
	uniformAssignorName = "uniform"
	rangeAssignorName   = "range"
)

// assignmentMember is what an assignor knows of a member: its id and the
// topics it subscribes to (names of existing topics only).
type assignmentMember struct {
	id     string
	topics map[string]bool
}

// assignmentTopic is a subscribed topic that exists.
type assignmentTopic struct {
	name       string
	id         metadata.UUID
	partitions int32
}

// assignorFunc computes a target assignment from the members (sorted by
// id), the subscribed topics (sorted by name) and the previous target.
// It returns an entry for every member (possibly empty).
type assignorFunc func(members []assignmentMember, topics []assignmentTopic, prev map[string]partSet) map[string]partSet

func assignorByName(name string) assignorFunc {
	switch name {
	case uniformAssignorName:
		return uniformAssign
	case rangeAssignorName:
		return rangeAssign
	}
	return nil
}

// uniformAssign is a sticky, balanced assignment (what Kafka's
// UniformAssignor aims for): every partition of a subscribed topic goes
// to one member subscribed to it, member loads differ by at most one
// where subscriptions allow, and a partition stays with its previous
// owner whenever that keeps the balance, so a rebalance moves as few
// partitions as possible.
func uniformAssign(members []assignmentMember, topics []assignmentTopic, prev map[string]partSet) map[string]partSet {
	out := make(map[string]partSet, len(members))
	for _, m := range members {
		out[m.id] = partSet{}
	}
	if len(members) == 0 {
		return out
	}
	type tp struct {
		t   assignmentTopic
		p   int32
		elg []int // indexes of eligible members
	}
	var all []tp
	for _, t := range topics {
		var elg []int
		for i, m := range members {
			if m.topics[t.name] {
				elg = append(elg, i)
			}
		}
		if len(elg) == 0 {
			continue
		}
		for p := range t.partitions {
			all = append(all, tp{t, p, elg})
		}
	}
	// Quotas: the loads a greedy least-loaded placement reaches, which
	// is balanced within one partition for uniform subscriptions and
	// close to it for mixed ones.
	quota := make([]int, len(members))
	for _, x := range all {
		best := x.elg[0]
		for _, i := range x.elg[1:] {
			if quota[i] < quota[best] {
				best = i
			}
		}
		quota[best]++
	}
	load := make([]int, len(members))
	taken := map[metadata.UUID]map[int32]bool{}
	take := func(i int, x tp) {
		out[members[i].id].add(x.t.id, x.p)
		load[i]++
		if taken[x.t.id] == nil {
			taken[x.t.id] = map[int32]bool{}
		}
		taken[x.t.id][x.p] = true
	}
	// Sticky: previous owners keep what they may still have, up to
	// their quota.
	for _, x := range all {
		for _, i := range x.elg {
			if prev[members[i].id].has(x.t.id, x.p) && load[i] < quota[i] {
				take(i, x)
				break
			}
		}
	}
	// The rest go to the eligible member furthest below its quota, then
	// the least loaded (ties to the lower member id).
	for _, x := range all {
		if taken[x.t.id][x.p] {
			continue
		}
		best := -1
		for _, i := range x.elg {
			if best < 0 {
				best = i
				continue
			}
			di, db := quota[i]-load[i], quota[best]-load[best]
			if di > db || (di == db && load[i] < load[best]) {
				best = i
			}
		}
		take(best, x)
	}
	return out
}

// rangeAssign is Kafka's range assignment, per topic: the members
// subscribed to the topic, in member id order, each get a contiguous
// range of its partitions, the first (partitions mod members) one more.
// Members subscribed to the same topics with the same partition counts
// thus get the same partition numbers of each (co-partitioning).
func rangeAssign(members []assignmentMember, topics []assignmentTopic, _ map[string]partSet) map[string]partSet {
	out := make(map[string]partSet, len(members))
	for _, m := range members {
		out[m.id] = partSet{}
	}
	for _, t := range topics {
		var subs []string
		for _, m := range members {
			if m.topics[t.name] {
				subs = append(subs, m.id)
			}
		}
		if len(subs) == 0 {
			continue
		}
		slices.SortFunc(subs, strings.Compare)
		n := int32(len(subs))
		per, extra := t.partitions/n, t.partitions%n
		next := int32(0)
		for i, id := range subs {
			c := per
			if int32(i) < extra {
				c++
			}
			for p := next; p < next+c; p++ {
				out[id].add(t.id, p)
			}
			next += c
		}
	}
	return out
}
