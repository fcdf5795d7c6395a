package metadata

import (
	"fmt"
	"math/rand/v2"
)

// ReplicaPlacer chooses the replicas of new partitions: for each of count
// partitions numbered from firstPartition, replicationFactor distinct broker
// IDs, the first being the preferred leader. brokers are the usable
// (registered, unfenced) brokers sorted by ID, never empty; the caller has
// checked that replicationFactor is between 1 and len(brokers). The
// returned slices are the caller's.
//
// Placement is a function of the broker set so that the cluster work can
// swap in a rack-aware placer (Broker.Rack) without touching the
// controller.
type ReplicaPlacer func(brokers []*Broker, firstPartition, count int32, replicationFactor int16) ([][]int32, error)

// RoundRobinPlacer returns Kafka's classic rack-unaware placement: the
// first replica of consecutive partitions walks the brokers round-robin from
// a random start, and the other replicas follow at a shift that changes
// every time the first replica wraps around, so leaders and followers both
// spread evenly. rng supplies the random start and shift (nil: a randomly
// seeded source); it is used by one goroutine at a time, which the
// Controller's serialisation guarantees.
func RoundRobinPlacer(rng *rand.Rand) ReplicaPlacer {
	if rng == nil {
		rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return func(brokers []*Broker, firstPartition, count int32, replicationFactor int16) ([][]int32, error) {
		n := len(brokers)
		if n == 0 || int(replicationFactor) > n || replicationFactor < 1 {
			return nil, newAPIError(ErrInvalidReplicationFactor,
				"Unable to replicate the partition %d time(s): The target replication factor of %d cannot be reached because only %d broker(s) are registered.",
				replicationFactor, replicationFactor, n)
		}
		return placeRoundRobin(brokers, firstPartition, count, int(replicationFactor), rng.IntN(n), rng.IntN(n)), nil
	}
}

// placeRoundRobin is the deterministic core of RoundRobinPlacer.
func placeRoundRobin(brokers []*Broker, firstPartition, count int32, rf, start, shift int) [][]int32 {
	n := len(brokers)
	out := make([][]int32, 0, count)
	p := int(max(firstPartition, 0))
	for range count {
		if p > 0 && p%n == 0 {
			shift++
		}
		first := (p + start) % n
		replicas := make([]int32, 0, rf)
		replicas = append(replicas, brokers[first].ID)
		for j := 0; j < rf-1; j++ {
			// Followers sit 1..n-1 places after the leader, never on it.
			replicas = append(replicas, brokers[(first+1+(shift+j)%(n-1))%n].ID)
		}
		out = append(out, replicas)
		p++
	}
	return out
}

// checkPlacement verifies a placer's answer before it becomes records.
func checkPlacement(assignment [][]int32, count int32, rf int16, usable map[int32]bool) error {
	if len(assignment) != int(count) {
		return fmt.Errorf("metadata: placer returned %d partitions, want %d", len(assignment), count)
	}
	for i, replicas := range assignment {
		if len(replicas) != int(rf) {
			return fmt.Errorf("metadata: placer gave partition %d %d replicas, want %d", i, len(replicas), rf)
		}
		seen := map[int32]bool{}
		for _, r := range replicas {
			if !usable[r] || seen[r] {
				return fmt.Errorf("metadata: placer gave partition %d unusable or repeated broker %d", i, r)
			}
			seen[r] = true
		}
	}
	return nil
}
