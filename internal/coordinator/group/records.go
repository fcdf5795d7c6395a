package group

import (
	"encoding/binary"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Record key versions in __consumer_offsets (Kafka's CoordinatorRecordType
// ids): 0 and 1 are OffsetCommitKey, 2 is GroupMetadataKey. Higher
// versions are the records of other group types (KIP-848 consumer groups,
// share groups), which this coordinator does not load yet and skips.
const (
	offsetCommitKeyVersion  int16 = 1
	groupMetadataKeyVersion int16 = 2

	// The value versions written, as Kafka 4 writes them: OffsetCommitValue
	// v3 (leader epoch, no expire timestamp), v1 when the commit carries an
	// explicit retention (OffsetCommit v2-v4 RetentionTimeMs); and
	// GroupMetadataValue v3 (static members).
	offsetCommitValueVersion       int16 = 3
	offsetCommitValueExpireVersion int16 = 1
	groupMetadataValueVersion      int16 = 3

	maxOffsetCommitValueVersion  int16 = 4
	maxGroupMetadataValueVersion int16 = 4
)

// offsetAndMetadata is one committed offset (Kafka's OffsetAndMetadata).
type offsetAndMetadata struct {
	offset          int64
	leaderEpoch     int32 // -1 when none
	metadata        string
	commitTimestamp int64 // ms
	expireTimestamp int64 // ms; -1 when none (the retention rules apply)
}

// offsetCommitKey encodes the key of a committed offset.
func offsetCommitKey(group, topic string, partition int32) []byte {
	k := kmsg.OffsetCommitKey{Version: offsetCommitKeyVersion, Group: group, Topic: topic, Partition: partition}
	return k.AppendTo(nil)
}

// offsetCommitValue encodes a committed offset.
func offsetCommitValue(o offsetAndMetadata) []byte {
	v := kmsg.NewOffsetCommitValue()
	v.Version = offsetCommitValueVersion
	if o.expireTimestamp >= 0 {
		v.Version = offsetCommitValueExpireVersion
		v.ExpireTimestamp = o.expireTimestamp
	}
	v.Offset = o.offset
	v.LeaderEpoch = o.leaderEpoch
	v.Metadata = o.metadata
	v.CommitTimestamp = o.commitTimestamp
	return v.AppendTo(nil)
}

// groupMetadataKey encodes the key of a group's metadata.
func groupMetadataKey(group string) []byte {
	k := kmsg.GroupMetadataKey{Version: groupMetadataKeyVersion, Group: group}
	return k.AppendTo(nil)
}

// groupMetadataValue encodes g's metadata with the given assignment per
// member (Kafka's GroupCoordinatorRecordHelpers.newGroupMetadataRecord):
// each member's subscription is its metadata for the selected protocol.
// A member missing from assignment is written with an empty assignment.
func groupMetadataValue(g *classicGroup, assignment map[string][]byte) []byte {
	v := kmsg.NewGroupMetadataValue()
	v.Version = groupMetadataValueVersion
	v.ProtocolType = g.protocolType
	v.Generation = g.generation
	v.Protocol = g.protocolName
	if g.leaderID != "" {
		l := g.leaderID
		v.Leader = &l
	}
	v.CurrentStateTimestamp = g.stateTimestamp
	for _, m := range g.orderedMembers() {
		mm := kmsg.NewGroupMetadataValueMember()
		mm.MemberID = m.id
		mm.InstanceID = m.instanceID
		mm.ClientID = m.clientID
		mm.ClientHost = m.clientHost
		mm.RebalanceTimeoutMillis = int32(m.rebalanceTimeout.Milliseconds())
		mm.SessionTimeoutMillis = int32(m.sessionTimeout.Milliseconds())
		mm.Subscription = []byte{}
		if g.protocolName != nil {
			if md := m.metadata(*g.protocolName); md != nil {
				mm.Subscription = md
			}
		}
		mm.Assignment = assignment[m.id]
		if mm.Assignment == nil {
			mm.Assignment = []byte{}
		}
		v.Members = append(v.Members, mm)
	}
	return v.AppendTo(nil)
}

// loadedRecord is one decoded __consumer_offsets record. Exactly one of
// the pointers is set; a nil value inside means a tombstone.
type loadedRecord struct {
	offset   *offsetRecord
	group    *groupRecord
	consumer *consumerRecord // a KIP-848 consumer group record
}

type offsetRecord struct {
	group, topic string
	partition    int32
	value        *offsetAndMetadata // nil: tombstone
}

type groupRecord struct {
	group string
	value *kmsg.GroupMetadataValue // nil: tombstone
}

// decodeRecord decodes one __consumer_offsets record. It returns a zero
// loadedRecord and a nil error for the records of other coordinators'
// types (key versions above 2), which are skipped, and an error wrapping
// ErrCorruptRecord for anything that does not decode. It never panics,
// whatever the bytes.
func decodeRecord(key, value []byte) (loadedRecord, error) {
	if len(key) < 2 {
		return loadedRecord{}, fmt.Errorf("%w: key of %d bytes", ErrCorruptRecord, len(key))
	}
	switch kv := int16(binary.BigEndian.Uint16(key)); kv {
	case 0, 1:
		var k kmsg.OffsetCommitKey
		if err := k.ReadFrom(key); err != nil {
			return loadedRecord{}, fmt.Errorf("%w: offset commit key: %v", ErrCorruptRecord, err)
		}
		r := &offsetRecord{group: k.Group, topic: k.Topic, partition: k.Partition}
		if value != nil {
			o, err := decodeOffsetCommitValue(value)
			if err != nil {
				return loadedRecord{}, err
			}
			r.value = &o
		}
		return loadedRecord{offset: r}, nil
	case 2:
		var k kmsg.GroupMetadataKey
		if err := k.ReadFrom(key); err != nil {
			return loadedRecord{}, fmt.Errorf("%w: group metadata key: %v", ErrCorruptRecord, err)
		}
		r := &groupRecord{group: k.Group}
		if value != nil {
			if len(value) < 2 {
				return loadedRecord{}, fmt.Errorf("%w: group metadata value of %d bytes", ErrCorruptRecord, len(value))
			}
			if vv := int16(binary.BigEndian.Uint16(value)); vv < 0 || vv > maxGroupMetadataValueVersion {
				return loadedRecord{}, fmt.Errorf("%w: group metadata value version %d", ErrCorruptRecord, vv)
			}
			v := kmsg.NewGroupMetadataValue()
			if err := v.ReadFrom(value); err != nil {
				return loadedRecord{}, fmt.Errorf("%w: group metadata value: %v", ErrCorruptRecord, err)
			}
			r.value = &v
		}
		return loadedRecord{group: r}, nil
	default:
		if kv < 0 {
			return loadedRecord{}, fmt.Errorf("%w: key version %d", ErrCorruptRecord, kv)
		}
		rec, ok, err := decodeConsumerRecord(key, value)
		if err != nil {
			return loadedRecord{}, err
		}
		if ok {
			return loadedRecord{consumer: &rec}, nil
		}
		return loadedRecord{}, nil
	}
}

// decodeOffsetCommitValue decodes an OffsetCommitValue of any version
// Kafka has written (0-4), mapping absent fields to "none": no leader
// epoch before v3, no expire timestamp outside v1.
func decodeOffsetCommitValue(value []byte) (offsetAndMetadata, error) {
	if len(value) < 2 {
		return offsetAndMetadata{}, fmt.Errorf("%w: offset commit value of %d bytes", ErrCorruptRecord, len(value))
	}
	if vv := int16(binary.BigEndian.Uint16(value)); vv < 0 || vv > maxOffsetCommitValueVersion {
		return offsetAndMetadata{}, fmt.Errorf("%w: offset commit value version %d", ErrCorruptRecord, vv)
	}
	v := kmsg.NewOffsetCommitValue()
	if err := v.ReadFrom(value); err != nil {
		return offsetAndMetadata{}, fmt.Errorf("%w: offset commit value: %v", ErrCorruptRecord, err)
	}
	o := offsetAndMetadata{
		offset:          v.Offset,
		leaderEpoch:     -1,
		metadata:        v.Metadata,
		commitTimestamp: v.CommitTimestamp,
		expireTimestamp: -1,
	}
	if v.Version >= 3 {
		o.leaderEpoch = v.LeaderEpoch
	}
	if v.Version == 1 {
		o.expireTimestamp = v.ExpireTimestamp
	}
	return o, nil
}
