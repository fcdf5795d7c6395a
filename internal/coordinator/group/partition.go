package group

import "unicode/utf16"

// OffsetsTopic is the internal topic that holds the groups' committed
// offsets and metadata, Kafka's Topic.GROUP_METADATA_TOPIC_NAME.
const OffsetsTopic = "__consumer_offsets"

// PartitionFor returns the __consumer_offsets partition that owns groupID,
// and so the shard (and the broker leading that partition) that
// coordinates it. It is Kafka's GroupCoordinatorService.partitionFor,
// Utils.abs(groupId.hashCode()) % offsets.topic.num.partitions, so that a
// Samsa broker and a Kafka broker agree on where every group lives and
// existing tools reading the topic find each group where Kafka would put
// it. It is safe for concurrent use.
func (c *Coordinator) PartitionFor(groupID string) int32 {
	return partitionFor(groupID, c.cfg.NumPartitions)
}

func partitionFor(groupID string, n int32) int32 {
	if n <= 0 {
		return 0
	}
	return kafkaAbs(javaStringHash(groupID)) % n
}

// javaStringHash is Java's String.hashCode: s[0]*31^(n-1) + ... + s[n-1]
// over the UTF-16 code units of the string, in wrapping int32 arithmetic.
// Kafka decodes the group id from UTF-8; a Go string holding invalid UTF-8
// decodes each bad byte as U+FFFD, as Java's decoder does for the common
// cases.
func javaStringHash(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			hi, lo := utf16.EncodeRune(r)
			h = 31*h + hi
			h = 31*h + lo
			continue
		}
		h = 31*h + r
	}
	return h
}

// kafkaAbs is Kafka's Utils.abs: the absolute value, except that
// math.MinInt32 (which has none in int32) maps to 0.
func kafkaAbs(n int32) int32 {
	switch {
	case n == -1<<31:
		return 0
	case n < 0:
		return -n
	}
	return n
}
