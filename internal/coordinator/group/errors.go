package group

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-streaming/samsa/internal/purgatory"
	"github.com/samsa-streaming/samsa/internal/record"
	"github.com/samsa-streaming/samsa/internal/replica"
	"github.com/samsa-streaming/samsa/internal/storage"
)

var (
	// ErrInvalidConfig is returned (wrapped) by New for a Config it
	// cannot work with.
	ErrInvalidConfig = errors.New("group: invalid config")

	// ErrClosed is returned by Close when called twice; requests made
	// after Close are answered NOT_COORDINATOR.
	ErrClosed = errors.New("group: coordinator closed")

	// ErrCorruptRecord marks a __consumer_offsets record that cannot be
	// decoded: a key or value of an unknown version, a truncated field,
	// trailing bytes. Loading skips such records with a log line.
	ErrCorruptRecord = errors.New("group: corrupt __consumer_offsets record")
)

// appendErrorCode maps the error of an append to __consumer_offsets to the
// code the client sees, as Kafka's
// GroupMetadataManager.appendGroupMetadataErrorToResponseError and the
// old storeOffsets callback do: a partition that is not (or no longer)
// led here, or whose log failed, sends the client looking for the new
// coordinator (NOT_COORDINATOR); a partition that cannot take the write
// just now (not enough replicas, replication timed out, unknown) is
// COORDINATOR_NOT_AVAILABLE, which clients retry; a write too large for the
// log is UNKNOWN_SERVER_ERROR (a bug or a misconfigured topic, nothing
// the client can fix).
func appendErrorCode(err error) int16 {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, replica.ErrNotLeader), errors.Is(err, replica.ErrClosed),
		errors.Is(err, replica.ErrFencedLeaderEpoch),
		errors.Is(err, storage.ErrLogClosed), errors.Is(err, storage.ErrLogFailed),
		errors.Is(err, storage.ErrCorruptSegment), errors.Is(err, purgatory.ErrClosed):
		return kerr.NotCoordinator.Code
	case errors.Is(err, replica.ErrUnknownTopicOrPartition), errors.Is(err, storage.ErrUnknownPartition),
		errors.Is(err, replica.ErrNotEnoughReplicas), errors.Is(err, replica.ErrNotEnoughReplicasAfterAppend),
		errors.Is(err, replica.ErrRequestTimedOut):
		return kerr.CoordinatorNotAvailable.Code
	case errors.Is(err, record.ErrTooLarge), errors.Is(err, storage.ErrRecordBatchTooLarge):
		return kerr.UnknownServerError.Code
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	return kerr.UnknownServerError.Code
}

// The error codes the state machine answers with, named once.
var (
	codeNotCoordinator         = kerr.NotCoordinator.Code
	codeCoordinatorNotAvail    = kerr.CoordinatorNotAvailable.Code
	codeLoadInProgress         = kerr.CoordinatorLoadInProgress.Code
	codeUnknownMemberID        = kerr.UnknownMemberID.Code
	codeFencedInstanceID       = kerr.FencedInstanceID.Code
	codeIllegalGeneration      = kerr.IllegalGeneration.Code
	codeRebalanceInProgress    = kerr.RebalanceInProgress.Code
	codeInconsistentProtocol   = kerr.InconsistentGroupProtocol.Code
	codeInvalidGroupID         = kerr.InvalidGroupID.Code
	codeInvalidSessionTimeout  = kerr.InvalidSessionTimeout.Code
	codeMemberIDRequired       = kerr.MemberIDRequired.Code
	codeGroupMaxSizeReached    = kerr.GroupMaxSizeReached.Code
	codeGroupIDNotFound        = kerr.GroupIDNotFound.Code
	codeNonEmptyGroup          = kerr.NonEmptyGroup.Code
	codeOffsetMetadataTooLarge = kerr.OffsetMetadataTooLarge.Code
	codeGroupSubscribedToTopic = kerr.GroupSubscribedToTopic.Code
	codeUnknownServerError     = kerr.UnknownServerError.Code
)
