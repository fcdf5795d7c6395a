package group

import "testing"

// TestPartitionFor checks Kafka's placement: Java's String.hashCode over
// UTF-16 code units, Utils.abs (MinInt32 -> 0), modulo the partition
// count. The expected values were computed independently of this code.
func TestPartitionFor(t *testing.T) {
	for _, tc := range []struct {
		group string
		hash  int32
		p50   int32
	}{
		{"", 0, 0},
		{"a", 97, 47},
		{"hello", 99162322, 22},
		{"polygenelubricants", -2147483648, 0}, // hashCode is Integer.MIN_VALUE
		{"my-group", -1906497762, 12},          // negative: abs, not a mask
		{"console-consumer-1", 35782224, 24},
		{"grüße", 98768023, 23},
		{"😀grp", 1276929186, 36}, // a surrogate pair
	} {
		if got := javaStringHash(tc.group); got != tc.hash {
			t.Errorf("hash(%q) = %d, want %d", tc.group, got, tc.hash)
		}
		if got := partitionFor(tc.group, 50); got != tc.p50 {
			t.Errorf("partitionFor(%q, 50) = %d, want %d", tc.group, got, tc.p50)
		}
	}
}
