package handler

import (
	"errors"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/record"
	"github.com/samsa-streaming/samsa/internal/replica"
	"github.com/samsa-streaming/samsa/internal/storage"
)

func TestErrorCode(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("append to t-0: %w", err) }
	for _, tc := range []struct {
		err  error
		want *kerr.Error
	}{
		{wrap(replica.ErrNotLeader), kerr.NotLeaderForPartition},
		{wrap(replica.ErrUnknownTopicOrPartition), kerr.UnknownTopicOrPartition},
		{wrap(replica.ErrFencedLeaderEpoch), kerr.FencedLeaderEpoch},
		{wrap(replica.ErrUnknownLeaderEpoch), kerr.UnknownLeaderEpoch},
		{wrap(replica.ErrNotEnoughReplicas), kerr.NotEnoughReplicas},
		{wrap(replica.ErrNotEnoughReplicasAfterAppend), kerr.NotEnoughReplicasAfterAppend},
		{wrap(replica.ErrOffsetNotAvailable), kerr.OffsetNotAvailable},
		{wrap(replica.ErrRequestTimedOut), kerr.RequestTimedOut},
		{wrap(replica.ErrInvalidRequiredAcks), kerr.InvalidRequiredAcks},
		{wrap(replica.ErrPolicyViolation), kerr.PolicyViolation},
		{wrap(replica.ErrInconsistentTopicID), kerr.InconsistentTopicID},
		{wrap(replica.ErrUnknownTopicID), kerr.UnknownTopicID},
		{wrap(replica.ErrClosed), kerr.NotLeaderForPartition},
		{wrap(replica.ErrOffsetOutOfRange), kerr.OffsetOutOfRange},
		{wrap(storage.ErrOffsetOutOfRange), kerr.OffsetOutOfRange},
		{wrap(storage.ErrRecordBatchTooLarge), kerr.RecordListTooLarge},
		{wrap(storage.ErrLogClosed), kerr.KafkaStorageError},
		{wrap(storage.ErrLogFailed), kerr.KafkaStorageError},
		{wrap(storage.ErrInconsistentTopicID), kerr.InconsistentTopicID},
		{wrap(storage.ErrStaleLeaderEpoch), kerr.FencedLeaderEpoch},
		{wrap(record.ErrInvalidTimestamp), kerr.InvalidTimestamp},
		{wrap(&record.ValidationError{Err: record.ErrInvalidTimestamp}), kerr.InvalidTimestamp},
		{wrap(&record.ValidationError{Err: record.ErrInvalid}), kerr.InvalidRecord},
		{wrap(record.ErrInvalid), kerr.InvalidRecord},
		{wrap(record.ErrCorrupt), kerr.CorruptMessage},
		{wrap(record.ErrTooLarge), kerr.MessageTooLarge},
		{wrap(record.ErrUnsupportedCodec), kerr.UnsupportedCompressionType},
		{wrap(metadata.ErrTopicExists), kerr.TopicAlreadyExists},
		{wrap(metadata.ErrInvalidRequest), kerr.InvalidRequest},
		{wrap(kerr.CoordinatorNotAvailable), kerr.CoordinatorNotAvailable},
		{errors.New("disk on fire"), kerr.UnknownServerError},
	} {
		if got := errorCode(tc.err); got != tc.want.Code {
			t.Errorf("%v: %v, want %v", tc.err, kerr.ErrorForCode(got), tc.want)
		}
	}
	if errorCode(nil) != 0 {
		t.Error("nil error has a code")
	}
}

func TestPartitionErrorCode(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "known", 1, nil)
	im := b.Publisher.Image()
	err := fmt.Errorf("x: %w", replica.ErrUnknownTopicOrPartition)
	if got := partitionErrorCode(im, replica.TopicPartition{Topic: "known", Partition: 0}, err); got != kerr.NotLeaderForPartition.Code {
		t.Errorf("known partition not hosted: %v", kerr.ErrorForCode(got))
	}
	if got := partitionErrorCode(im, replica.TopicPartition{Topic: "known", Partition: 3}, err); got != kerr.UnknownTopicOrPartition.Code {
		t.Errorf("unknown partition of a known topic: %v", kerr.ErrorForCode(got))
	}
	if got := partitionErrorCode(im, replica.TopicPartition{Topic: "nope", Partition: 0}, err); got != kerr.UnknownTopicOrPartition.Code {
		t.Errorf("unknown topic: %v", kerr.ErrorForCode(got))
	}
}
