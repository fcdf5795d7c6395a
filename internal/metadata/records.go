package metadata

import (
	"encoding/binary"
	"fmt"
)

// RecordType identifies a metadata record type. The numbers are KRaft's
// metadata record API keys for the records Samsa shares with Kafka, so an
// operator who knows one log can read the other's dump.
type RecordType uint8

// The record types. See doc.go for each body's layout.
const (
	TypeRegisterBroker   RecordType = 0
	TypeUnregisterBroker RecordType = 1
	TypeTopic            RecordType = 2
	TypePartition        RecordType = 3
	TypeConfig           RecordType = 4
	TypePartitionChange  RecordType = 5
	TypeRemoveTopic      RecordType = 9
	TypeFeatureLevel     RecordType = 12
	TypeProducerIDs      RecordType = 15
)

// String names a record type the way Kafka's MetadataRecordType does.
func (t RecordType) String() string {
	switch t {
	case TypeRegisterBroker:
		return "RegisterBrokerRecord"
	case TypeUnregisterBroker:
		return "UnregisterBrokerRecord"
	case TypeTopic:
		return "TopicRecord"
	case TypePartition:
		return "PartitionRecord"
	case TypeConfig:
		return "ConfigRecord"
	case TypePartitionChange:
		return "PartitionChangeRecord"
	case TypeRemoveTopic:
		return "RemoveTopicRecord"
	case TypeFeatureLevel:
		return "FeatureLevelRecord"
	case TypeProducerIDs:
		return "ProducerIdsRecord"
	}
	return fmt.Sprintf("RecordType(%d)", uint8(t))
}

// Record is one metadata record. The set of implementations is closed (the
// types in this file); each encodes itself at the newest version this build
// writes, and the decoder accepts every version it knows.
type Record interface {
	// Type returns the record's type.
	Type() RecordType
	// appendBody appends the body (after type and version) at the current
	// version.
	appendBody(b []byte) []byte
}

// The versions this build writes. A decoder refuses versions above these:
// a record from a newer Samsa must not be half-understood.
const (
	currentVersion uint8 = 0
)

// Leader values with a special meaning, as in Kafka's LeaderConstants.
const (
	// NoLeader is a partition without a leader.
	NoLeader int32 = -1
	// NoLeaderChange in a PartitionChangeRecord keeps the current leader.
	NoLeaderChange int32 = -2
)

// TopicRecord creates a topic with no partitions yet; PartitionRecords
// follow it in the same batch. Internal marks topics the broker itself
// created for its own use (__consumer_offsets, __transaction_state), which
// Metadata responses flag as internal.
type TopicRecord struct {
	Name     string
	TopicID  UUID
	Internal bool
}

// PartitionRecord creates a partition, or replaces an existing one whole.
type PartitionRecord struct {
	PartitionID    int32
	TopicID        UUID
	Replicas       []int32
	ISR            []int32
	Leader         int32
	LeaderEpoch    int32
	PartitionEpoch int32
}

// PartitionChangeRecord changes a partition in place. Nil slices and
// NoLeaderChange leave the field as it was; a leader change bumps the
// leader epoch and every change bumps the partition epoch, as in KRaft.
type PartitionChangeRecord struct {
	PartitionID int32
	TopicID     UUID
	ISR         []int32 // nil: unchanged
	Leader      int32   // NoLeaderChange: unchanged
	Replicas    []int32 // nil: unchanged
}

// ConfigResourceType is Kafka's ConfigResource.Type byte.
type ConfigResourceType int8

// The config resource types metadata stores.
const (
	ResourceTopic  ConfigResourceType = 2
	ResourceBroker ConfigResourceType = 4
)

// ConfigResource names what a config override applies to: a topic by name,
// or a broker by decimal node id ("" is the cluster-wide broker default).
type ConfigResource struct {
	Type ConfigResourceType
	Name string
}

// ConfigRecord sets one config override, or deletes it when Value is nil.
type ConfigRecord struct {
	ResourceType ConfigResourceType
	ResourceName string
	Name         string
	Value        *string
}

// RemoveTopicRecord deletes a topic, its partitions and its config
// overrides.
type RemoveTopicRecord struct {
	TopicID UUID
}

// FeatureLevelRecord finalises a feature (e.g. "metadata.version") at a
// level; level 0 removes it.
type FeatureLevelRecord struct {
	Name  string
	Level int16
}

// ProducerIdsRecord hands a block of producer ids to a broker, as KRaft's
// ProducerIdsRecord does: the block is every id from the previous
// NextProducerID (0 at first) up to, not including, this one. Only the
// high-water mark is stored, so replaying the log (or a snapshot) can never
// hand out an id twice, however many brokers asked.
type ProducerIdsRecord struct {
	BrokerID       int32
	BrokerEpoch    int64
	NextProducerID int64
}

// Endpoint is one listener a broker accepts clients on.
type Endpoint struct {
	Listener         string // listener name, e.g. "PLAINTEXT"
	Host             string
	Port             uint16
	SecurityProtocol int16 // Kafka's SecurityProtocol id: 0 PLAINTEXT, 1 SSL, 2 SASL_PLAINTEXT, 3 SASL_SSL
}

// RegisterBrokerRecord registers (or re-registers, with a higher epoch) a
// broker and its endpoints. Rack "" means no rack.
type RegisterBrokerRecord struct {
	BrokerID  int32
	Epoch     int64
	Rack      string
	Fenced    bool
	Endpoints []Endpoint
}

// UnregisterBrokerRecord removes a broker registration of a given epoch.
type UnregisterBrokerRecord struct {
	BrokerID int32
	Epoch    int64
}

func (TopicRecord) Type() RecordType            { return TypeTopic }
func (PartitionRecord) Type() RecordType        { return TypePartition }
func (PartitionChangeRecord) Type() RecordType  { return TypePartitionChange }
func (ConfigRecord) Type() RecordType           { return TypeConfig }
func (RemoveTopicRecord) Type() RecordType      { return TypeRemoveTopic }
func (FeatureLevelRecord) Type() RecordType     { return TypeFeatureLevel }
func (RegisterBrokerRecord) Type() RecordType   { return TypeRegisterBroker }
func (UnregisterBrokerRecord) Type() RecordType { return TypeUnregisterBroker }
func (ProducerIdsRecord) Type() RecordType      { return TypeProducerIDs }

// ---- encoding ----

// AppendRecord appends r's encoding (type, version, body) to dst and returns
// the extended slice. The encoding is deterministic: equal records give
// equal bytes.
func AppendRecord(dst []byte, r Record) []byte {
	dst = append(dst, byte(r.Type()), currentVersion)
	return r.appendBody(dst)
}

// AppendRecords appends a record sequence as a batch body: a uvarint count,
// then each record prefixed by its uvarint length.
func AppendRecords(dst []byte, recs []Record) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(recs)))
	var scratch []byte
	for _, r := range recs {
		scratch = AppendRecord(scratch[:0], r)
		dst = binary.AppendUvarint(dst, uint64(len(scratch)))
		dst = append(dst, scratch...)
	}
	return dst
}

func appendInt16(b []byte, v int16) []byte { return binary.BigEndian.AppendUint16(b, uint16(v)) }
func appendInt32(b []byte, v int32) []byte { return binary.BigEndian.AppendUint32(b, uint32(v)) }
func appendInt64(b []byte, v int64) []byte { return binary.BigEndian.AppendUint64(b, uint64(v)) }

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendNullableString(b []byte, s *string) []byte {
	if s == nil {
		return append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(*s))+1)
	return append(b, *s...)
}

func appendInt32s(b []byte, vs []int32) []byte {
	b = binary.AppendUvarint(b, uint64(len(vs)))
	for _, v := range vs {
		b = appendInt32(b, v)
	}
	return b
}

func appendNullableInt32s(b []byte, vs []int32) []byte {
	if vs == nil {
		return append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(vs))+1)
	for _, v := range vs {
		b = appendInt32(b, v)
	}
	return b
}

func (r TopicRecord) appendBody(b []byte) []byte {
	b = appendString(b, r.Name)
	b = append(b, r.TopicID[:]...)
	return appendBool(b, r.Internal)
}

func (r PartitionRecord) appendBody(b []byte) []byte {
	b = appendInt32(b, r.PartitionID)
	b = append(b, r.TopicID[:]...)
	b = appendInt32s(b, r.Replicas)
	b = appendInt32s(b, r.ISR)
	b = appendInt32(b, r.Leader)
	b = appendInt32(b, r.LeaderEpoch)
	return appendInt32(b, r.PartitionEpoch)
}

func (r PartitionChangeRecord) appendBody(b []byte) []byte {
	b = appendInt32(b, r.PartitionID)
	b = append(b, r.TopicID[:]...)
	b = appendNullableInt32s(b, r.ISR)
	b = appendInt32(b, r.Leader)
	return appendNullableInt32s(b, r.Replicas)
}

func (r ConfigRecord) appendBody(b []byte) []byte {
	b = append(b, byte(r.ResourceType))
	b = appendString(b, r.ResourceName)
	b = appendString(b, r.Name)
	return appendNullableString(b, r.Value)
}

func (r RemoveTopicRecord) appendBody(b []byte) []byte {
	return append(b, r.TopicID[:]...)
}

func (r FeatureLevelRecord) appendBody(b []byte) []byte {
	b = appendString(b, r.Name)
	return appendInt16(b, r.Level)
}

func (r RegisterBrokerRecord) appendBody(b []byte) []byte {
	b = appendInt32(b, r.BrokerID)
	b = appendInt64(b, r.Epoch)
	b = appendString(b, r.Rack)
	b = appendBool(b, r.Fenced)
	b = binary.AppendUvarint(b, uint64(len(r.Endpoints)))
	for _, e := range r.Endpoints {
		b = appendString(b, e.Listener)
		b = appendString(b, e.Host)
		b = binary.BigEndian.AppendUint16(b, e.Port)
		b = appendInt16(b, e.SecurityProtocol)
	}
	return b
}

func (r UnregisterBrokerRecord) appendBody(b []byte) []byte {
	b = appendInt32(b, r.BrokerID)
	return appendInt64(b, r.Epoch)
}

func (r ProducerIdsRecord) appendBody(b []byte) []byte {
	b = appendInt32(b, r.BrokerID)
	b = appendInt64(b, r.BrokerEpoch)
	return appendInt64(b, r.NextProducerID)
}

// ---- decoding ----

// reader decodes primitives from a buffer. The first failure is sticky:
// later reads return zero values and err keeps the first cause, so a
// decoder reads every field and checks once.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: at byte %d: %s", ErrMalformed, r.off, fmt.Sprintf(format, args...))
	}
}

func (r *reader) remaining() int { return len(r.b) - r.off }

func (r *reader) take(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > r.remaining() {
		r.fail("%s needs %d bytes, %d left", what, n, r.remaining())
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

func (r *reader) uint8(what string) uint8 {
	s := r.take(1, what)
	if s == nil {
		return 0
	}
	return s[0]
}

func (r *reader) int16(what string) int16 {
	s := r.take(2, what)
	if s == nil {
		return 0
	}
	return int16(binary.BigEndian.Uint16(s))
}

func (r *reader) uint16(what string) uint16 {
	s := r.take(2, what)
	if s == nil {
		return 0
	}
	return binary.BigEndian.Uint16(s)
}

func (r *reader) int32(what string) int32 {
	s := r.take(4, what)
	if s == nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(s))
}

func (r *reader) int64(what string) int64 {
	s := r.take(8, what)
	if s == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(s))
}

func (r *reader) bool(what string) bool {
	v := r.uint8(what)
	if v > 1 {
		r.fail("%s: boolean byte %d", what, v)
	}
	return v == 1
}

// uvarint reads an unsigned varint no larger than max.
func (r *reader) uvarint(what string, max uint64) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail("%s: bad varint", what)
		return 0
	}
	// Reject non-minimal encodings so that each value has exactly one
	// encoding and decode-then-encode reproduces the input.
	if n != uvarintLen(v) {
		r.fail("%s: non-minimal varint", what)
		return 0
	}
	r.off += n
	if v > max {
		r.fail("%s: %d exceeds %d", what, v, max)
		return 0
	}
	return v
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func (r *reader) string(what string) string {
	n := r.uvarint(what+" length", uint64(r.remaining()))
	return string(r.take(int(n), what))
}

func (r *reader) nullableString(what string) *string {
	n := r.uvarint(what+" length", uint64(r.remaining())+1)
	if n == 0 || r.err != nil {
		return nil
	}
	s := string(r.take(int(n-1), what))
	return &s
}

func (r *reader) uuid(what string) UUID {
	var u UUID
	copy(u[:], r.take(16, what))
	return u
}

func (r *reader) int32s(what string) []int32 {
	n := r.uvarint(what+" count", uint64(r.remaining()/4))
	if r.err != nil || n == 0 {
		// Empty and absent encode alike; decode both to nil so that images
		// built from decoded records compare equal to the originals.
		return nil
	}
	vs := make([]int32, n)
	for i := range vs {
		vs[i] = r.int32(what)
	}
	return vs
}

func (r *reader) nullableInt32s(what string) []int32 {
	n := r.uvarint(what+" count", uint64(r.remaining()/4)+1)
	if n == 0 || r.err != nil {
		return nil
	}
	vs := make([]int32, n-1)
	for i := range vs {
		vs[i] = r.int32(what)
	}
	return vs
}

// DecodeRecord decodes one record that fills b exactly. Errors wrap
// ErrMalformed.
func DecodeRecord(b []byte) (Record, error) {
	r := &reader{b: b}
	rec := r.record()
	if r.err == nil && r.remaining() != 0 {
		r.fail("%d trailing bytes after %v", r.remaining(), rec.Type())
	}
	if r.err != nil {
		return nil, r.err
	}
	return rec, nil
}

// DecodeRecords decodes a batch body written by AppendRecords. Errors wrap
// ErrMalformed. The returned records do not alias b.
func DecodeRecords(b []byte) ([]Record, error) {
	r := &reader{b: b}
	// Every record takes at least 3 bytes (length, type, version), which
	// bounds the count before anything is allocated.
	n := r.uvarint("record count", uint64(r.remaining()/3))
	if r.err != nil {
		return nil, r.err
	}
	recs := make([]Record, 0, n)
	for i := uint64(0); i < n; i++ {
		size := r.uvarint("record length", uint64(r.remaining()))
		body := r.take(int(size), "record")
		if r.err != nil {
			return nil, r.err
		}
		rec, err := DecodeRecord(body)
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		recs = append(recs, rec)
	}
	if r.remaining() != 0 {
		r.fail("%d trailing bytes after %d records", r.remaining(), n)
		return nil, r.err
	}
	return recs, nil
}

func (r *reader) record() Record {
	typ := RecordType(r.uint8("record type"))
	ver := r.uint8("record version")
	if r.err != nil {
		return nil
	}
	if ver > currentVersion {
		r.fail("%v version %d is newer than this build reads (%d)", typ, ver, currentVersion)
		return nil
	}
	switch typ {
	case TypeTopic:
		return TopicRecord{
			Name:     r.string("topic name"),
			TopicID:  r.uuid("topic id"),
			Internal: r.bool("internal"),
		}
	case TypePartition:
		return PartitionRecord{
			PartitionID:    r.int32("partition id"),
			TopicID:        r.uuid("topic id"),
			Replicas:       r.int32s("replicas"),
			ISR:            r.int32s("isr"),
			Leader:         r.int32("leader"),
			LeaderEpoch:    r.int32("leader epoch"),
			PartitionEpoch: r.int32("partition epoch"),
		}
	case TypePartitionChange:
		return PartitionChangeRecord{
			PartitionID: r.int32("partition id"),
			TopicID:     r.uuid("topic id"),
			ISR:         r.nullableInt32s("isr"),
			Leader:      r.int32("leader"),
			Replicas:    r.nullableInt32s("replicas"),
		}
	case TypeConfig:
		return ConfigRecord{
			ResourceType: ConfigResourceType(r.uint8("resource type")),
			ResourceName: r.string("resource name"),
			Name:         r.string("config name"),
			Value:        r.nullableString("config value"),
		}
	case TypeRemoveTopic:
		return RemoveTopicRecord{TopicID: r.uuid("topic id")}
	case TypeFeatureLevel:
		return FeatureLevelRecord{
			Name:  r.string("feature name"),
			Level: r.int16("feature level"),
		}
	case TypeRegisterBroker:
		rec := RegisterBrokerRecord{
			BrokerID: r.int32("broker id"),
			Epoch:    r.int64("broker epoch"),
			Rack:     r.string("rack"),
			Fenced:   r.bool("fenced"),
		}
		// An endpoint takes at least 6 bytes (two empty strings, port,
		// protocol).
		n := r.uvarint("endpoint count", uint64(r.remaining()/6))
		if r.err != nil {
			return nil
		}
		if n > 0 {
			rec.Endpoints = make([]Endpoint, n)
		}
		for i := range rec.Endpoints {
			rec.Endpoints[i] = Endpoint{
				Listener:         r.string("listener"),
				Host:             r.string("host"),
				Port:             r.uint16("port"),
				SecurityProtocol: r.int16("security protocol"),
			}
		}
		return rec
	case TypeUnregisterBroker:
		return UnregisterBrokerRecord{
			BrokerID: r.int32("broker id"),
			Epoch:    r.int64("broker epoch"),
		}
	case TypeProducerIDs:
		return ProducerIdsRecord{
			BrokerID:       r.int32("broker id"),
			BrokerEpoch:    r.int64("broker epoch"),
			NextProducerID: r.int64("next producer id"),
		}
	}
	r.fail("unknown record type %d", uint8(typ))
	return nil
}
