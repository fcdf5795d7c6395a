package record

import (
	"bytes"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Our control key and marker value encodings match franz-go's, which is
// generated from Kafka's own message definitions.
func TestControlEncodingMatchesKafka(t *testing.T) {
	for _, typ := range []ControlType{ControlAbort, ControlCommit} {
		theirs := (&kmsg.ControlRecordKey{Version: 0, Type: kmsg.ControlRecordKeyType(typ)}).AppendTo(nil)
		ours := ControlKey{Version: ControlKeyVersion, Type: typ}.AppendTo(nil)
		if !bytes.Equal(ours, theirs) {
			t.Fatalf("%v key: % x, Kafka % x", typ, ours, theirs)
		}
		k, err := ParseControlKey(theirs)
		if err != nil || k.Type != typ || k.Version != 0 {
			t.Fatalf("ParseControlKey(% x) = %+v, %v", theirs, k, err)
		}
	}
	theirs := (&kmsg.EndTxnMarker{Version: 0, CoordinatorEpoch: 77}).AppendTo(nil)
	if ours := (EndTxnMarker{Type: ControlCommit, CoordinatorEpoch: 77}).AppendValue(nil); !bytes.Equal(ours, theirs) {
		t.Fatalf("marker value % x, Kafka % x", ours, theirs)
	}
}

func TestParseControlErrors(t *testing.T) {
	commitKey := ControlKey{Type: ControlCommit}.AppendTo(nil)
	value := EndTxnMarker{CoordinatorEpoch: 3}.AppendValue(nil)
	for _, tc := range []struct {
		name       string
		key, value []byte
	}{
		{"null key", nil, value},
		{"short key", []byte{0, 0, 0}, value},
		{"negative key version", []byte{0xff, 0xff, 0, 1}, value},
		{"not a marker type", ControlKey{Type: 2}.AppendTo(nil), value},
		{"null value", commitKey, nil},
		{"short value", commitKey, value[:5]},
		{"negative value version", commitKey, []byte{0x80, 0, 0, 0, 0, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseEndTxnMarker(tc.key, tc.value); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got %v, want ErrCorrupt", err)
			}
		})
	}
	// Later versions may append fields; they are ignored.
	m, err := ParseEndTxnMarker(append(ControlKey{Version: 1, Type: ControlAbort}.AppendTo(nil), 9, 9), append([]byte{0, 1, 0, 0, 0, 5}, 1, 2, 3))
	if err != nil || m != (EndTxnMarker{Type: ControlAbort, CoordinatorEpoch: 5}) {
		t.Fatalf("future versions: %+v, %v", m, err)
	}
}

func TestEndTxnMarkerBatch(t *testing.T) {
	for _, typ := range []ControlType{ControlCommit, ControlAbort} {
		m := EndTxnMarker{Type: typ, CoordinatorEpoch: 12}
		b, err := NewEndTxnMarkerBatch(4000, 7, 1_700_000_000_000, m)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Verify(); err != nil {
			t.Fatal(err)
		}
		a := b.Attributes()
		if !a.Control() || !a.Transactional() || a.Codec() != CodecNone || a.LogAppendTime() {
			t.Fatalf("attributes %b", a)
		}
		if b.ProducerID() != 4000 || b.ProducerEpoch() != 7 || b.BaseSequence() != NoSequence || b.NumRecords() != 1 {
			t.Fatalf("producer fields %d/%d/%d, %d records", b.ProducerID(), b.ProducerEpoch(), b.BaseSequence(), b.NumRecords())
		}
		got, err := b.EndTxnMarker()
		if err != nil || got != m {
			t.Fatalf("EndTxnMarker() = %+v, %v, want %+v", got, err, m)
		}
		recs := collect(t, b)
		if recs[0].ts != 1_700_000_000_000 {
			t.Fatalf("marker timestamp %d", recs[0].ts)
		}
		// franz-go reads the same marker from the record.
		var key kmsg.ControlRecordKey
		var val kmsg.EndTxnMarker
		if key.ReadFrom(recs[0].key) != nil || val.ReadFrom(recs[0].value) != nil ||
			int16(key.Type) != int16(typ) || val.CoordinatorEpoch != 12 {
			t.Fatalf("franz-go reads %+v %+v", key, val)
		}
	}
	if _, err := NewEndTxnMarkerBatch(-1, 0, 0, EndTxnMarker{Type: ControlCommit}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("marker without producer id: %v", err)
	}
	if _, err := NewEndTxnMarkerBatch(1, 0, 0, EndTxnMarker{Type: 5}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("marker of type 5: %v", err)
	}
	data := buildBatch(t, DefaultBuilderOptions(), sampleRecords(1))
	if _, err := data.EndTxnMarker(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("EndTxnMarker on a data batch: %v", err)
	}
}

func TestNewControlBatch(t *testing.T) {
	opts := DefaultBuilderOptions()
	opts.Codec = CodecZstd // ignored: control batches are written uncompressed
	b, err := NewControlBatch(opts, 9, ControlKey{Type: 6}, []byte("voters"))
	if err != nil {
		t.Fatal(err)
	}
	if !b.Attributes().Control() || b.Attributes().Codec() != CodecNone {
		t.Fatalf("attributes %b", b.Attributes())
	}
	r := collect(t, b)[0]
	k, err := ParseControlKey(r.key)
	if err != nil || k.Type != 6 || string(r.value) != "voters" {
		t.Fatalf("control record %+v %q: %v", k, r.value, err)
	}
	if _, err := b.EndTxnMarker(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("EndTxnMarker on a type-6 control batch: %v", err)
	}
}
