package group

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/samsa-streaming/samsa/internal/metadata"
)

// The key versions (Kafka's CoordinatorRecordType ids) of the records of
// KIP-848 consumer groups in __consumer_offsets.
const (
	cgMetadataKeyVersion          int16 = 3
	cgPartitionMetadataKeyVersion int16 = 4 // read and ignored (Kafka 4.1 replaced it by the metadata hash)
	cgMemberMetadataKeyVersion    int16 = 5
	cgTargetMetadataKeyVersion    int16 = 6
	cgTargetMemberKeyVersion      int16 = 7
	cgCurrentAssignmentKeyVersion int16 = 8
	cgRegexKeyVersion             int16 = 16
)

// partSet is a set of partitions by topic ID: an assignment. A nil or
// empty set is "no partitions". Partition sets are never empty inside.
type partSet map[metadata.UUID]map[int32]bool

func (p partSet) clone() partSet {
	out := make(partSet, len(p))
	for t, ps := range p {
		out[t] = make(map[int32]bool, len(ps))
		for n := range ps {
			out[t][n] = true
		}
	}
	return out
}

func (p partSet) add(t metadata.UUID, n int32) {
	if p[t] == nil {
		p[t] = map[int32]bool{}
	}
	p[t][n] = true
}

func (p partSet) has(t metadata.UUID, n int32) bool { return p[t][n] }

func (p partSet) count() int {
	n := 0
	for _, ps := range p {
		n += len(ps)
	}
	return n
}

func (p partSet) equal(o partSet) bool {
	if p.count() != o.count() {
		return false
	}
	for t, ps := range p {
		for n := range ps {
			if !o[t][n] {
				return false
			}
		}
	}
	return true
}

// topics returns the topic IDs in byte order, a new slice.
func (p partSet) topics() []metadata.UUID {
	ts := make([]metadata.UUID, 0, len(p))
	for t, ps := range p {
		if len(ps) > 0 {
			ts = append(ts, t)
		}
	}
	slices.SortFunc(ts, func(a, b metadata.UUID) int { return compareUUID(a, b) })
	return ts
}

// partitions returns the partitions of t in order, a new slice.
func (p partSet) partitions(t metadata.UUID) []int32 {
	out := make([]int32, 0, len(p[t]))
	for n := range p[t] {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func compareUUID(a, b metadata.UUID) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// cgMetadata is ConsumerGroupMetadataValue: the group epoch and (Kafka
// 4.1, tagged field 0) the hash of the subscribed topics' metadata.
type cgMetadata struct {
	epoch        int32
	metadataHash int64
}

// cgMember is ConsumerGroupMemberMetadataValue: a member's subscription.
type cgMember struct {
	instanceID       *string
	rackID           *string
	clientID         string
	clientHost       string
	topicNames       []string
	topicRegex       *string
	rebalanceTimeout int32 // ms
	serverAssignor   *string
}

// cgCurrent is ConsumerGroupCurrentMemberAssignmentValue: where a member
// is in its reconciliation.
type cgCurrent struct {
	memberEpoch   int32
	previousEpoch int32
	state         memberState
	assigned      partSet
	pending       partSet // partitions pending revocation
}

// cgRegex is ConsumerGroupRegularExpressionValue: the topics a
// subscribed regular expression resolved to, at which metadata version
// (the image offset) and when.
type cgRegex struct {
	topics    []string
	version   int64
	timestamp int64
}

// consumerRecord is one decoded consumer-group record; kind is its key
// version, and exactly the value field of that kind is set unless the
// record is a tombstone.
type consumerRecord struct {
	kind      int16
	group     string
	member    string // member metadata, target member, current assignment
	regex     string // regular expression
	tombstone bool

	meta       cgMetadata
	memberMeta cgMember
	target     partSet // target assignment member
	assignEp   int32   // target assignment metadata
	current    cgCurrent
	resolved   cgRegex
}

// --- encoding ---

func appendString16(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

func appendCompactString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s))+1)
	return append(b, s...)
}

func appendCompactNullable(b []byte, s *string) []byte {
	if s == nil {
		return append(b, 0)
	}
	return appendCompactString(b, *s)
}

func appendCompactStrings(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss))+1)
	for _, s := range ss {
		b = appendCompactString(b, s)
	}
	return b
}

func appendI32(b []byte, v int32) []byte { return binary.BigEndian.AppendUint32(b, uint32(v)) }
func appendI64(b []byte, v int64) []byte { return binary.BigEndian.AppendUint64(b, uint64(v)) }

// appendTopicPartitions encodes []TopicPartitions (TopicId uuid,
// Partitions []int32, each struct closed by an empty tag section).
func appendTopicPartitions(b []byte, p partSet) []byte {
	ts := p.topics()
	b = binary.AppendUvarint(b, uint64(len(ts))+1)
	for _, t := range ts {
		b = append(b, t[:]...)
		ps := p.partitions(t)
		b = binary.AppendUvarint(b, uint64(len(ps))+1)
		for _, n := range ps {
			b = appendI32(b, n)
		}
		b = append(b, 0) // no tagged fields
	}
	return b
}

// consumerKey encodes the key of a consumer-group record: an int16
// version, then the group id and, for per-member and per-regex records,
// the member id or the expression (non-flexible int16-length strings).
func consumerKey(kind int16, group string, sub ...string) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(kind))
	b = appendString16(b, group)
	for _, s := range sub {
		b = appendString16(b, s)
	}
	return b
}

// encode returns the record's key and value (nil for a tombstone).
func (r *consumerRecord) encode() kv {
	var key []byte
	switch r.kind {
	case cgMemberMetadataKeyVersion, cgTargetMemberKeyVersion, cgCurrentAssignmentKeyVersion:
		key = consumerKey(r.kind, r.group, r.member)
	case cgRegexKeyVersion:
		key = consumerKey(r.kind, r.group, r.regex)
	default:
		key = consumerKey(r.kind, r.group)
	}
	if r.tombstone {
		return kv{key: key}
	}
	v := []byte{0, 0} // value version 0 (flexible)
	switch r.kind {
	case cgMetadataKeyVersion:
		v = appendI32(v, r.meta.epoch)
		if r.meta.metadataHash != 0 {
			// One tagged field: tag 0, size 8, the hash.
			v = append(v, 1, 0, 8)
			v = appendI64(v, r.meta.metadataHash)
		} else {
			v = append(v, 0)
		}
		return kv{key, v}
	case cgMemberMetadataKeyVersion:
		m := r.memberMeta
		v = appendCompactNullable(v, m.instanceID)
		v = appendCompactNullable(v, m.rackID)
		v = appendCompactString(v, m.clientID)
		v = appendCompactString(v, m.clientHost)
		v = appendCompactStrings(v, m.topicNames)
		v = appendCompactNullable(v, m.topicRegex)
		v = appendI32(v, m.rebalanceTimeout)
		v = appendCompactNullable(v, m.serverAssignor)
	case cgTargetMetadataKeyVersion:
		v = appendI32(v, r.assignEp)
	case cgTargetMemberKeyVersion:
		v = appendTopicPartitions(v, r.target)
	case cgCurrentAssignmentKeyVersion:
		c := r.current
		v = appendI32(v, c.memberEpoch)
		v = appendI32(v, c.previousEpoch)
		v = append(v, byte(c.state))
		v = appendTopicPartitions(v, c.assigned)
		v = appendTopicPartitions(v, c.pending)
	case cgRegexKeyVersion:
		v = appendCompactStrings(v, r.resolved.topics)
		v = appendI64(v, r.resolved.version)
		v = appendI64(v, r.resolved.timestamp)
	}
	return kv{key, append(v, 0)} // no tagged fields
}

// --- decoding ---

// reader decodes Kafka's primitive types; the first error sticks and
// every later read returns zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: truncated or invalid %s", ErrCorruptRecord, what)
	}
	r.b = nil
}

func (r *reader) take(n int, what string) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		r.fail(what)
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) i8() int8   { b := r.take(1, "int8"); return int8(at(b, 0)) }
func (r *reader) i16() int16 { b := r.take(2, "int16"); return int16(be16(b)) }
func (r *reader) i32() int32 { b := r.take(4, "int32"); return int32(be32(b)) }
func (r *reader) i64() int64 { b := r.take(8, "int64"); return int64(be64(b)) }

func at(b []byte, i int) byte {
	if i < len(b) {
		return b[i]
	}
	return 0
}
func be16(b []byte) uint16 {
	if len(b) < 2 {
		return 0
	}
	return binary.BigEndian.Uint16(b)
}
func be32(b []byte) uint32 {
	if len(b) < 4 {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}
func be64(b []byte) uint64 {
	if len(b) < 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func (r *reader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail(what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) string16() string {
	n := r.i16()
	if n < 0 {
		r.fail("string")
		return ""
	}
	return string(r.take(int(n), "string"))
}

// compactLen reads a compact length (n+1; 0 is null) and returns n, or
// -1 for null. A length longer than the remaining bytes is an error.
func (r *reader) compactLen(what string) int {
	v := r.uvarint(what)
	if r.err != nil {
		return -1
	}
	if v == 0 {
		return -1
	}
	if v-1 > uint64(len(r.b)) || v-1 > math.MaxInt32 {
		r.fail(what)
		return -1
	}
	return int(v - 1)
}

func (r *reader) compactString() string {
	n := r.compactLen("string")
	if n < 0 {
		r.fail("string")
		return ""
	}
	return string(r.take(n, "string"))
}

func (r *reader) compactNullable() *string {
	n := r.compactLen("nullable string")
	if n < 0 {
		return nil
	}
	s := string(r.take(n, "nullable string"))
	return &s
}

func (r *reader) compactStrings() []string {
	n := r.compactLen("string array")
	if n < 0 {
		r.fail("string array")
		return nil
	}
	out := make([]string, 0, min(n, 1024))
	for range n {
		if r.err != nil {
			return nil
		}
		out = append(out, r.compactString())
	}
	return out
}

// tags reads a tagged-field section, calling fn for each field with its
// bytes; unknown tags are skipped, as Kafka's readers do.
func (r *reader) tags(fn func(tag uint64, b []byte)) {
	n := r.uvarint("tag count")
	for range n {
		if r.err != nil {
			return
		}
		tag := r.uvarint("tag")
		size := r.uvarint("tag size")
		if size > uint64(len(r.b)) {
			r.fail("tagged field")
			return
		}
		b := r.take(int(size), "tagged field")
		if fn != nil && r.err == nil {
			fn(tag, b)
		}
	}
}

func (r *reader) topicPartitions() partSet {
	n := r.compactLen("topic partitions")
	if n < 0 {
		r.fail("topic partitions")
		return nil
	}
	out := partSet{}
	for range n {
		if r.err != nil {
			return nil
		}
		var t metadata.UUID
		copy(t[:], r.take(16, "topic id"))
		np := r.compactLen("partitions")
		if np < 0 {
			r.fail("partitions")
			return nil
		}
		for range np {
			p := r.i32()
			if r.err != nil {
				return nil
			}
			out.add(t, p)
		}
		r.tags(nil)
	}
	return out
}

// decodeConsumerRecord decodes a record whose key version is one of the
// consumer-group kinds. It returns ok false for other key versions (the
// records of group types this coordinator does not know), an error
// wrapping ErrCorruptRecord for anything that does not decode, and never
// panics.
func decodeConsumerRecord(key, value []byte) (rec consumerRecord, ok bool, err error) {
	kr := &reader{b: key}
	rec.kind = kr.i16()
	switch rec.kind {
	case cgMetadataKeyVersion, cgPartitionMetadataKeyVersion, cgTargetMetadataKeyVersion:
		rec.group = kr.string16()
	case cgMemberMetadataKeyVersion, cgTargetMemberKeyVersion, cgCurrentAssignmentKeyVersion:
		rec.group = kr.string16()
		rec.member = kr.string16()
	case cgRegexKeyVersion:
		rec.group = kr.string16()
		rec.regex = kr.string16()
	default:
		return rec, false, nil
	}
	if kr.err == nil && len(kr.b) != 0 {
		kr.fail("key (trailing bytes)")
	}
	if kr.err != nil {
		return rec, true, fmt.Errorf("consumer group key %d: %w", rec.kind, kr.err)
	}
	if value == nil {
		rec.tombstone = true
		return rec, true, nil
	}
	r := &reader{b: value}
	if v := r.i16(); r.err == nil && v != 0 {
		return rec, true, fmt.Errorf("%w: consumer group record %d: value version %d", ErrCorruptRecord, rec.kind, v)
	}
	switch rec.kind {
	case cgMetadataKeyVersion:
		rec.meta.epoch = r.i32()
		r.tags(func(tag uint64, b []byte) {
			if tag == 0 && len(b) == 8 {
				rec.meta.metadataHash = int64(binary.BigEndian.Uint64(b))
			}
		})
	case cgPartitionMetadataKeyVersion:
		// Superseded by the metadata hash; the bytes are not needed.
		r.b = nil
	case cgMemberMetadataKeyVersion:
		m := &rec.memberMeta
		m.instanceID = r.compactNullable()
		m.rackID = r.compactNullable()
		m.clientID = r.compactString()
		m.clientHost = r.compactString()
		m.topicNames = r.compactStrings()
		m.topicRegex = r.compactNullable()
		m.rebalanceTimeout = r.i32()
		m.serverAssignor = r.compactNullable()
		r.tags(nil) // tag 0: ClassicMemberMetadata, not used here
	case cgTargetMetadataKeyVersion:
		rec.assignEp = r.i32()
		r.tags(nil)
	case cgTargetMemberKeyVersion:
		rec.target = r.topicPartitions()
		r.tags(nil)
	case cgCurrentAssignmentKeyVersion:
		c := &rec.current
		c.memberEpoch = r.i32()
		c.previousEpoch = r.i32()
		c.state = memberState(r.i8())
		c.assigned = r.topicPartitions()
		c.pending = r.topicPartitions()
		r.tags(nil)
	case cgRegexKeyVersion:
		rec.resolved.topics = r.compactStrings()
		rec.resolved.version = r.i64()
		rec.resolved.timestamp = r.i64()
		r.tags(nil)
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("value (trailing bytes)")
	}
	if r.err != nil {
		return rec, true, fmt.Errorf("consumer group value %d: %w", rec.kind, r.err)
	}
	return rec, true, nil
}
