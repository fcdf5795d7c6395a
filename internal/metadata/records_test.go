package metadata

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
)

func strp(s string) *string { return &s }

var testTopicID = UUID{0x12, 0x34, 15: 0x56}

// sampleRecords has one record of every type, with every optional field
// both present and absent somewhere.
func sampleRecords() []Record {
	return []Record{
		RegisterBrokerRecord{BrokerID: 1, Epoch: 7, Rack: "rack-a", Fenced: true, Endpoints: []Endpoint{
			{Listener: "PLAINTEXT", Host: "127.0.0.1", Port: 9092, SecurityProtocol: 0},
			{Listener: "SASL_SSL", Host: "example.com", Port: 9094, SecurityProtocol: 3},
		}},
		RegisterBrokerRecord{BrokerID: 2, Epoch: 8},
		UnregisterBrokerRecord{BrokerID: 2, Epoch: 8},
		TopicRecord{Name: "orders", TopicID: testTopicID},
		TopicRecord{Name: "__consumer_offsets", TopicID: UUID{1: 9}, Internal: true},
		PartitionRecord{PartitionID: 0, TopicID: testTopicID, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2},
			Leader: 1, LeaderEpoch: 4, PartitionEpoch: 9},
		PartitionRecord{PartitionID: 1, TopicID: testTopicID, Replicas: []int32{1}, Leader: NoLeader},
		PartitionChangeRecord{PartitionID: 0, TopicID: testTopicID, ISR: []int32{1}, Leader: NoLeaderChange},
		PartitionChangeRecord{PartitionID: 0, TopicID: testTopicID, Leader: 2, Replicas: []int32{2, 1}},
		ConfigRecord{ResourceType: ResourceTopic, ResourceName: "orders", Name: "retention.ms", Value: strp("1000")},
		ConfigRecord{ResourceType: ResourceBroker, ResourceName: "", Name: "log.retention.ms", Value: strp("")},
		ConfigRecord{ResourceType: ResourceBroker, ResourceName: "1", Name: "x"},
		RemoveTopicRecord{TopicID: testTopicID},
		FeatureLevelRecord{Name: "metadata.version", Level: 1},
		FeatureLevelRecord{Name: "x", Level: 0},
		ProducerIdsRecord{BrokerID: 1, BrokerEpoch: 7, NextProducerID: 1000},
		ProducerIdsRecord{BrokerID: -1, BrokerEpoch: -1, NextProducerID: -1},
	}
}

func TestRecordRoundTrip(t *testing.T) {
	for _, rec := range sampleRecords() {
		enc := AppendRecord(nil, rec)
		if enc[0] != byte(rec.Type()) || enc[1] != 0 {
			t.Errorf("%v: header bytes %v", rec.Type(), enc[:2])
		}
		got, err := DecodeRecord(enc)
		if err != nil {
			t.Fatalf("%v: decode: %v", rec.Type(), err)
		}
		if !reflect.DeepEqual(got, rec) {
			t.Errorf("%v: round trip\n got %#v\nwant %#v", rec.Type(), got, rec)
		}
		if again := AppendRecord(nil, got); !bytes.Equal(again, enc) {
			t.Errorf("%v: re-encoding differs", rec.Type())
		}
	}
	recs := sampleRecords()
	body := AppendRecords(nil, recs)
	got, err := DecodeRecords(body)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, recs) {
		t.Errorf("batch round trip differs")
	}
	empty := AppendRecords(nil, nil)
	if got, err := DecodeRecords(empty); err != nil || len(got) != 0 {
		t.Errorf("empty batch: %v %v", got, err)
	}
}

// TestRecordEncodingBytes pins the byte layout doc.go draws, so that a
// change to the format cannot go unnoticed.
func TestRecordEncodingBytes(t *testing.T) {
	got := AppendRecord(nil, TopicRecord{Name: "ab", TopicID: UUID{0: 0xAA, 15: 0xBB}, Internal: true})
	want := []byte{2, 0, 2, 'a', 'b', 0xAA, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xBB, 1}
	if !bytes.Equal(got, want) {
		t.Errorf("TopicRecord bytes\n got %x\nwant %x", got, want)
	}
	got = AppendRecord(nil, ConfigRecord{ResourceType: ResourceTopic, ResourceName: "t", Name: "k", Value: nil})
	want = []byte{4, 0, 2, 1, 't', 1, 'k', 0}
	if !bytes.Equal(got, want) {
		t.Errorf("ConfigRecord bytes\n got %x\nwant %x", got, want)
	}
	got = AppendRecord(nil, PartitionChangeRecord{PartitionID: 3, Leader: NoLeaderChange, ISR: []int32{}})
	want = append([]byte{5, 0, 0, 0, 0, 3}, make([]byte, 16)...)
	want = append(want, 1, 0xff, 0xff, 0xff, 0xfe, 0)
	if !bytes.Equal(got, want) {
		t.Errorf("PartitionChangeRecord bytes\n got %x\nwant %x", got, want)
	}
	got = AppendRecord(nil, ProducerIdsRecord{BrokerID: 1, BrokerEpoch: 2, NextProducerID: 1000})
	want = []byte{15, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0x03, 0xe8}
	if !bytes.Equal(got, want) {
		t.Errorf("ProducerIdsRecord bytes\n got %x\nwant %x", got, want)
	}
}

func TestDecodeMalformed(t *testing.T) {
	valid := AppendRecord(nil, PartitionRecord{PartitionID: 1, TopicID: testTopicID, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1})
	cases := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"type only", []byte{2}},
		{"unknown type", []byte{99, 0}},
		{"newer version", []byte{2, 1, 0}},
		{"short uuid", []byte{9, 0, 1, 2, 3}},
		{"truncated", valid[:len(valid)-1]},
		{"trailing byte", append(append([]byte{}, valid...), 0)},
		{"bool not 0 or 1", append(append([]byte{2, 0, 0}, make([]byte, 16)...), 2)},
		{"string longer than input", []byte{2, 0, 10, 'a'}},
		{"huge array count", append(append([]byte{3, 0, 0, 0, 0, 1}, make([]byte, 16)...), 0xff, 0xff, 0xff, 0xff, 0x0f)},
		{"non-minimal varint", append(append([]byte{2, 0, 0x80, 0x00}, make([]byte, 16)...), 0)},
		{"varint overflow", []byte{2, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{"nullable string past end", []byte{4, 0, 2, 0, 0, 5, 'a'}},
		{"short producer ids", []byte{15, 0, 0, 0, 0, 1, 0, 0, 0}},
		{"endpoint count past end", append(append([]byte{0, 0, 0, 0, 0, 1}, make([]byte, 8)...), 0, 0, 50)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeRecord(c.in)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("DecodeRecord(%x) = %v, want ErrMalformed", c.in, err)
			}
		})
	}
	batchCases := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"count too large", []byte{5, 2, 0}},
		{"record length past end", []byte{1, 40, 2, 0}},
		{"bad record", []byte{1, 2, 99, 0}},
		{"trailing", append(AppendRecords(nil, nil), 0)},
	}
	for _, c := range batchCases {
		t.Run("batch "+c.name, func(t *testing.T) {
			_, err := DecodeRecords(c.in)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("DecodeRecords(%x) = %v, want ErrMalformed", c.in, err)
			}
		})
	}
}

// FuzzDecodeRecords checks that arbitrary bytes never panic the decoder,
// and that whatever decodes re-encodes to exactly the input (the encoding
// has one form per value).
func FuzzDecodeRecords(f *testing.F) {
	f.Add(AppendRecords(nil, sampleRecords()))
	f.Add(AppendRecords(nil, nil))
	for _, r := range sampleRecords() {
		f.Add(AppendRecords(nil, []Record{r}))
	}
	f.Add([]byte{1, 3, 9, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := DecodeRecords(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		if again := AppendRecords(nil, recs); !bytes.Equal(again, data) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", data, again)
		}
		// Applying decoded garbage must fail cleanly or succeed, never
		// panic.
		_, _, _ = EmptyImage().Apply(Batch{Offset: 1, Records: recs})
	})
}

func FuzzDecodeRecord(f *testing.F) {
	for _, r := range sampleRecords() {
		f.Add(AppendRecord(nil, r))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := DecodeRecord(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		if again := AppendRecord(nil, rec); !bytes.Equal(again, data) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", data, again)
		}
	})
}

func TestUvarintLen(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 16383, 16384, 1<<63 - 1, 1<<64 - 1} {
		if got, want := uvarintLen(v), len(binary.AppendUvarint(nil, v)); got != want {
			t.Errorf("uvarintLen(%d) = %d, want %d", v, got, want)
		}
	}
}
