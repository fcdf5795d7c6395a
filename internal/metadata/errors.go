package metadata

import (
	"errors"
	"fmt"
)

// The sentinel errors below are what callers test with errors.Is. Every error
// this package returns wraps exactly one of them. The handler maps the
// admin-operation sentinels to Kafka error codes at the edge (the code each
// maps to is named in its comment) and puts ErrorMessage(err) in the
// response's error_message.
var (
	// ErrTopicExists: a topic with that name already exists.
	// Kafka: TOPIC_ALREADY_EXISTS.
	ErrTopicExists = errors.New("metadata: topic already exists")

	// ErrUnknownTopic: no topic has that name.
	// Kafka: UNKNOWN_TOPIC_OR_PARTITION.
	ErrUnknownTopic = errors.New("metadata: unknown topic")

	// ErrUnknownTopicID: no topic has that ID. Kafka: UNKNOWN_TOPIC_ID.
	ErrUnknownTopicID = errors.New("metadata: unknown topic id")

	// ErrInvalidTopic: the name breaks Kafka's topic name rules, or collides
	// with an existing topic once '.' and '_' are unified.
	// Kafka: INVALID_TOPIC_EXCEPTION.
	ErrInvalidTopic = errors.New("metadata: invalid topic")

	// ErrInvalidPartitions: a partition count that is not positive, or that
	// does not grow the topic. Kafka: INVALID_PARTITIONS.
	ErrInvalidPartitions = errors.New("metadata: invalid partitions")

	// ErrInvalidReplicationFactor: a replication factor below 1 (other than
	// -1, the default) or above the number of registered brokers.
	// Kafka: INVALID_REPLICATION_FACTOR.
	ErrInvalidReplicationFactor = errors.New("metadata: invalid replication factor")

	// ErrInvalidReplicaAssignment: a manual assignment that names an unknown
	// broker, repeats one, or is inconsistent.
	// Kafka: INVALID_REPLICA_ASSIGNMENT.
	ErrInvalidReplicaAssignment = errors.New("metadata: invalid replica assignment")

	// ErrInvalidConfig: the injected config validator refused the resulting
	// overrides, or an operation does not suit the config.
	// Kafka: INVALID_CONFIG.
	ErrInvalidConfig = errors.New("metadata: invalid config")

	// ErrBrokerNotRegistered: an unregistration of a broker that is not
	// registered. Kafka: BROKER_ID_NOT_REGISTERED.
	ErrBrokerNotRegistered = errors.New("metadata: broker not registered")

	// ErrInvalidRequest: a request that is malformed as a whole (duplicate
	// names, both or neither of a name and an ID, an unsupported resource).
	// Kafka: INVALID_REQUEST.
	ErrInvalidRequest = errors.New("metadata: invalid request")

	// ErrProducerIDsExhausted: the next block of producer ids would pass
	// the largest int64. Kafka: UNKNOWN_SERVER_ERROR, as Kafka's
	// controller throws UnknownServerException in that case.
	ErrProducerIDsExhausted = errors.New("metadata: producer ids exhausted")

	// ErrMalformed marks bytes that do not decode as metadata records: a
	// short buffer, a length beyond the bytes present, trailing bytes, an
	// unknown record type or version.
	ErrMalformed = errors.New("metadata: malformed record")

	// ErrInconsistent marks a record that does not apply to the image it is
	// applied to: a partition of an unknown topic, a duplicate topic ID, an
	// ISR outside the replicas. The controller never writes one; seeing it
	// during replay means the log is damaged or was written by a bug.
	ErrInconsistent = errors.New("metadata: record inconsistent with image")

	// ErrCorrupt marks a metadata log or snapshot that cannot be recovered
	// by truncating a torn tail: a bad snapshot, a bad file header, a gap in
	// offsets, or a checksummed entry that does not decode or apply. The
	// broker refuses to start rather than serve metadata it cannot trust.
	ErrCorrupt = errors.New("metadata: corrupt metadata log")

	// ErrLogFailed marks a local log that hit a write or fsync error. The
	// error is sticky: after a failed fsync the page cache can no longer be
	// trusted, so every later append fails too and the broker must restart
	// (Kafka halts on metadata log I/O errors for the same reason).
	ErrLogFailed = errors.New("metadata: metadata log failed")

	// ErrClosed: the log was closed.
	ErrClosed = errors.New("metadata: metadata log closed")

	// ErrBatchTooLarge: one operation produced more record bytes than a
	// single log entry may hold. Kafka: POLICY_VIOLATION (Kafka bounds the
	// records of one operation too).
	ErrBatchTooLarge = errors.New("metadata: batch too large")

	// ErrInvalidMetaProperties marks a meta.properties file that does not
	// parse or lacks a required key.
	ErrInvalidMetaProperties = errors.New("metadata: invalid meta.properties")

	// ErrNodeIDMismatch: a log directory's meta.properties names another
	// node.id than this broker's. Kafka refuses to start in that case.
	ErrNodeIDMismatch = errors.New("metadata: node.id mismatch")

	// ErrClusterIDMismatch: log directories (or the configured cluster id)
	// disagree on cluster.id. Kafka refuses to start in that case.
	ErrClusterIDMismatch = errors.New("metadata: cluster.id mismatch")
)

// apiError pairs a sentinel with the message Kafka would send in a
// response's error_message field, so the handler can return Kafka's text
// without parsing ours. cause, when set, is an error from an injected
// function (a config validator) that stays reachable with errors.Is/As.
type apiError struct {
	kind  error
	msg   string
	cause error
}

func (e *apiError) Error() string { return e.kind.Error() + ": " + e.msg }

func (e *apiError) Unwrap() []error {
	if e.cause != nil {
		return []error{e.kind, e.cause}
	}
	return []error{e.kind}
}

// newAPIError returns an error that wraps kind and carries a client-facing
// message formatted like Kafka's.
func newAPIError(kind error, format string, args ...any) error {
	return &apiError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// ErrorMessage returns the text Kafka would put in a response's
// error_message for err: the message of the innermost admin error it wraps,
// or "" when err carries none (Kafka sends null there, e.g. for
// UNKNOWN_TOPIC_OR_PARTITION).
func ErrorMessage(err error) string {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.msg
	}
	return ""
}
