package handler

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/purgatory"
	"github.com/samsa-streaming/samsa/internal/record"
	"github.com/samsa-streaming/samsa/internal/replica"
	"github.com/samsa-streaming/samsa/internal/storage"
)

// errorCodes maps the subsystems' sentinel errors to Kafka error codes, in
// the order they are tested: the first sentinel err wraps wins. Order
// matters where sentinels wrap one another (record.ErrInvalidTimestamp
// wraps record.ErrInvalid) and where an error may wrap two (a
// replica-context error around a storage error).
var errorCodes = []struct {
	err  error
	code *kerr.Error
}{
	// replica: per-partition outcomes of the data plane.
	{replica.ErrNotLeader, kerr.NotLeaderForPartition},
	{replica.ErrUnknownTopicOrPartition, kerr.UnknownTopicOrPartition},
	{replica.ErrFencedLeaderEpoch, kerr.FencedLeaderEpoch},
	{replica.ErrUnknownLeaderEpoch, kerr.UnknownLeaderEpoch},
	{replica.ErrNotEnoughReplicasAfterAppend, kerr.NotEnoughReplicasAfterAppend},
	{replica.ErrNotEnoughReplicas, kerr.NotEnoughReplicas},
	{replica.ErrOffsetNotAvailable, kerr.OffsetNotAvailable},
	{replica.ErrRequestTimedOut, kerr.RequestTimedOut},
	{replica.ErrInvalidRequiredAcks, kerr.InvalidRequiredAcks},
	{replica.ErrPolicyViolation, kerr.PolicyViolation},
	{replica.ErrInconsistentTopicID, kerr.InconsistentTopicID},
	{replica.ErrUnknownTopicID, kerr.UnknownTopicID},
	// A stopping broker no longer leads: clients look elsewhere.
	{replica.ErrClosed, kerr.NotLeaderForPartition},

	// record: a producer's batch refused by validation. The timestamp
	// sentinel wraps ErrInvalid, so it comes first.
	{record.ErrInvalidTimestamp, kerr.InvalidTimestamp},
	{record.ErrInvalid, kerr.InvalidRecord},
	{record.ErrTooLarge, kerr.MessageTooLarge},
	{record.ErrCorrupt, kerr.CorruptMessage},
	{record.ErrIncomplete, kerr.CorruptMessage},
	{record.ErrUnsupportedCodec, kerr.UnsupportedCompressionType},

	// storage.
	{storage.ErrOffsetOutOfRange, kerr.OffsetOutOfRange},
	{storage.ErrRecordBatchTooLarge, kerr.RecordListTooLarge},
	{storage.ErrInconsistentTopicID, kerr.InconsistentTopicID},
	{storage.ErrStaleLeaderEpoch, kerr.FencedLeaderEpoch},
	{storage.ErrInvalidProducerEpoch, kerr.InvalidProducerEpoch},
	{storage.ErrOutOfOrderSequence, kerr.OutOfOrderSequenceNumber},
	{storage.ErrLogClosed, kerr.KafkaStorageError},
	{storage.ErrLogFailed, kerr.KafkaStorageError},
	{storage.ErrCorruptSegment, kerr.KafkaStorageError},
	{storage.ErrTruncatedRead, kerr.KafkaStorageError},
	{storage.ErrUnknownPartition, kerr.UnknownTopicOrPartition},
	{storage.ErrInvalidPartitionDir, kerr.InvalidTopicException},

	// metadata: admin operations (the message goes in error_message; see
	// metadata.ErrorMessage).
	{metadata.ErrTopicExists, kerr.TopicAlreadyExists},
	{metadata.ErrUnknownTopic, kerr.UnknownTopicOrPartition},
	{metadata.ErrUnknownTopicID, kerr.UnknownTopicID},
	{metadata.ErrInvalidTopic, kerr.InvalidTopicException},
	{metadata.ErrInvalidPartitions, kerr.InvalidPartitions},
	{metadata.ErrInvalidReplicationFactor, kerr.InvalidReplicationFactor},
	{metadata.ErrInvalidReplicaAssignment, kerr.InvalidReplicaAssignment},
	{metadata.ErrInvalidConfig, kerr.InvalidConfig},
	{metadata.ErrBrokerNotRegistered, kerr.BrokerIDNotRegistered},
	{metadata.ErrInvalidRequest, kerr.InvalidRequest},
	{metadata.ErrBatchTooLarge, kerr.PolicyViolation},
	// Kafka's controller throws UnknownServerException when the producer
	// id space is used up.
	{metadata.ErrProducerIDsExhausted, kerr.UnknownServerError},

	{purgatory.ErrClosed, kerr.NotLeaderForPartition},
}

// errorCode returns the Kafka error code for err: 0 for nil, the code of
// the first sentinel in errorCodes that err wraps, UNKNOWN_SERVER_ERROR
// otherwise (an I/O error, a bug), as Kafka's Errors.forException answers
// for exceptions it has no code for. It is the one place where this
// broker's errors become wire codes; every handler uses it.
func errorCode(err error) int16 {
	if err == nil {
		return 0
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	for _, m := range errorCodes {
		if errors.Is(err, m.err) {
			return m.code.Code
		}
	}
	return kerr.UnknownServerError.Code
}

// partitionErrorCode is errorCode for a partition-level data-plane answer:
// a partition this node does not host but the metadata image knows
// answers NOT_LEADER_OR_FOLLOWER (the client should refresh its metadata
// and go to the leader), as Kafka's ReplicaManager does for a partition
// in its metadata cache but not in its allPartitions; one the image does
// not know answers UNKNOWN_TOPIC_OR_PARTITION.
func partitionErrorCode(im *metadata.Image, tp replica.TopicPartition, err error) int16 {
	code := errorCode(err)
	if code == kerr.UnknownTopicOrPartition.Code && im != nil {
		if _, ok := im.Partition(tp.Topic, tp.Partition); ok {
			return kerr.NotLeaderForPartition.Code
		}
	}
	return code
}

// errorMessage returns the text for a response's error_message field, or
// nil where Kafka sends null: the message of an admin error from the
// metadata controller.
func errorMessage(err error) *string {
	if err == nil {
		return nil
	}
	if msg := metadata.ErrorMessage(err); msg != "" {
		return &msg
	}
	return nil
}
