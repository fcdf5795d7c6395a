package record

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ControlType is the type field of a control record's key. Kafka writes
// ABORT and COMMIT markers to end transactions; KRaft uses higher types in
// its own log, which this broker neither writes nor interprets.
type ControlType int16

// The transaction marker types.
const (
	ControlAbort  ControlType = 0
	ControlCommit ControlType = 1
)

// String returns Kafka's name for the type.
func (t ControlType) String() string {
	switch t {
	case ControlAbort:
		return "ABORT"
	case ControlCommit:
		return "COMMIT"
	}
	return fmt.Sprintf("UNKNOWN(%d)", int16(t))
}

// Current versions of the control record key and the end-transaction
// marker value, as Kafka writes them.
const (
	ControlKeyVersion   int16 = 0
	EndTxnMarkerVersion int16 = 0
)

const (
	controlKeySize   = 4 // version int16, type int16
	endTxnMarkerSize = 6 // version int16, coordinatorEpoch int32
)

// ControlKey is the key of a control record:
//
//	version  int16  0
//	type     int16  0 ABORT, 1 COMMIT
//
// Later versions may append fields; readers ignore them, as Kafka does.
type ControlKey struct {
	Version int16
	Type    ControlType
}

// ParseControlKey decodes a control record's key. A null or short key, or
// a negative version, is ErrCorrupt. Unknown types are returned, not
// rejected: Kafka reads them as UNKNOWN.
func ParseControlKey(key []byte) (ControlKey, error) {
	if len(key) < controlKeySize {
		if key == nil {
			return ControlKey{}, fmt.Errorf("%w: control record with a null key", ErrCorrupt)
		}
		return ControlKey{}, fmt.Errorf("%w: control record key of %d bytes, need %d", ErrCorrupt, len(key), controlKeySize)
	}
	k := ControlKey{
		Version: int16(binary.BigEndian.Uint16(key)),
		Type:    ControlType(binary.BigEndian.Uint16(key[2:])),
	}
	if k.Version < 0 {
		return ControlKey{}, fmt.Errorf("%w: control record key version %d", ErrCorrupt, k.Version)
	}
	return k, nil
}

// AppendTo appends the encoded key to dst.
func (k ControlKey) AppendTo(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(k.Version))
	return binary.BigEndian.AppendUint16(dst, uint16(k.Type))
}

// EndTxnMarker is a transaction marker: the control record a transaction
// coordinator writes to every partition of a transaction to commit or
// abort it. Its value is:
//
//	version           int16  0
//	coordinatorEpoch  int32  epoch of the coordinator that wrote it
type EndTxnMarker struct {
	Type             ControlType // ControlCommit or ControlAbort
	CoordinatorEpoch int32
}

// AppendValue appends the marker's record value (version 0) to dst.
func (m EndTxnMarker) AppendValue(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(EndTxnMarkerVersion))
	return binary.BigEndian.AppendUint32(dst, uint32(m.CoordinatorEpoch))
}

// ParseEndTxnMarker decodes a transaction marker from its control record's
// key and value. A type other than COMMIT or ABORT, a null or short value,
// or a negative version is ErrCorrupt; bytes after the known fields (a
// later version) are ignored, as Kafka does.
func ParseEndTxnMarker(key, value []byte) (EndTxnMarker, error) {
	k, err := ParseControlKey(key)
	if err != nil {
		return EndTxnMarker{}, err
	}
	if k.Type != ControlCommit && k.Type != ControlAbort {
		return EndTxnMarker{}, fmt.Errorf("%w: control record type %s is not a transaction marker", ErrCorrupt, k.Type)
	}
	if len(value) < endTxnMarkerSize {
		return EndTxnMarker{}, fmt.Errorf("%w: transaction marker value of %d bytes, need %d", ErrCorrupt, len(value), endTxnMarkerSize)
	}
	if v := int16(binary.BigEndian.Uint16(value)); v < 0 {
		return EndTxnMarker{}, fmt.Errorf("%w: transaction marker version %d", ErrCorrupt, v)
	}
	return EndTxnMarker{Type: k.Type, CoordinatorEpoch: int32(binary.BigEndian.Uint32(value[2:]))}, nil
}

// NewControlBatch builds an uncompressed control batch holding one control
// record with the given key and value at timestampMs. opts supplies the
// producer fields; Control is forced on and Codec off.
func NewControlBatch(opts BuilderOptions, timestampMs int64, key ControlKey, value []byte) (Batch, error) {
	opts.Control = true
	opts.Codec = CodecNone
	b := NewBuilder(opts)
	b.Add(timestampMs, key.AppendTo(nil), value)
	return b.Build()
}

// NewEndTxnMarkerBatch builds the batch a transaction coordinator appends
// to a partition to end a producer's transaction, as Kafka's
// MemoryRecords.withEndTransactionMarker does: a transactional control
// batch carrying the producer id and epoch, no sequence, and one record
// whose key is the marker type and whose value holds the coordinator
// epoch. Base offset and leader epoch are left 0 for the log to assign.
func NewEndTxnMarkerBatch(producerID int64, producerEpoch int16, timestampMs int64, m EndTxnMarker) (Batch, error) {
	if m.Type != ControlCommit && m.Type != ControlAbort {
		return nil, fmt.Errorf("%w: control type %s is not a transaction marker", ErrInvalid, m.Type)
	}
	if producerID < 0 {
		return nil, fmt.Errorf("%w: transaction marker without a producer id", ErrInvalid)
	}
	opts := BuilderOptions{
		ProducerID:    producerID,
		ProducerEpoch: producerEpoch,
		BaseSequence:  NoSequence,
		Transactional: true,
	}
	return NewControlBatch(opts, timestampMs, ControlKey{Version: ControlKeyVersion, Type: m.Type}, m.AppendValue(nil))
}

// errFound stops a Records walk once the wanted record was seen.
var errFound = errors.New("record: found")

// EndTxnMarker decodes the transaction marker a control batch carries (its
// first record). A batch that is not a control batch is ErrInvalid; one
// whose record does not parse as a marker is ErrCorrupt.
func (b Batch) EndTxnMarker() (EndTxnMarker, error) {
	if err := b.checkFraming(); err != nil {
		return EndTxnMarker{}, err
	}
	if !b.Attributes().Control() {
		return EndTxnMarker{}, fmt.Errorf("%w: batch at base offset %d is not a control batch", ErrInvalid, b.BaseOffset())
	}
	var (
		m      EndTxnMarker
		parsed error
	)
	err := b.Records(func(r *Record) error {
		m, parsed = ParseEndTxnMarker(r.Key, r.Value)
		return errFound
	})
	switch {
	case err == errFound:
		return m, parsed
	case err != nil:
		return EndTxnMarker{}, err
	}
	return EndTxnMarker{}, fmt.Errorf("%w: control batch at base offset %d has no record", ErrCorrupt, b.BaseOffset())
}
