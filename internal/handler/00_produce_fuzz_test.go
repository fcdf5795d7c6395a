package handler

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/record"
)

// FuzzValidateProduceRecords feeds arbitrary partition record bytes to the
// produce path's first decoder. It must never panic, and either refuse
// the bytes with one of Kafka's codes or return exactly one complete
// magic-2 batch that is a prefix of the input.
func FuzzValidateProduceRecords(f *testing.F) {
	opts := record.DefaultBuilderOptions()
	bl := record.NewBuilder(opts)
	bl.Add(time.Now().UnixMilli(), []byte("k"), []byte("v"))
	built, err := bl.Build()
	if err != nil {
		f.Fatal(err)
	}
	good := []byte(built)
	f.Add(good, int16(9))
	f.Add(append(append([]byte{}, good...), good...), int16(9))
	f.Add(append(append([]byte{}, good...), good[:20]...), int16(3))
	f.Add(good[:16], int16(9))
	f.Add([]byte{}, int16(13))
	short := bytes.Clone(good)
	binary.BigEndian.PutUint32(short[8:], 3)
	f.Add(short, int16(9))
	huge := bytes.Clone(good)
	binary.BigEndian.PutUint32(huge[8:], 0x7fffffff)
	f.Add(huge, int16(9))
	neg := bytes.Clone(good)
	binary.BigEndian.PutUint32(neg[8:], 0x80000000)
	f.Add(neg, int16(9))

	allowed := map[int16]bool{0: true, kerr.InvalidRecord.Code: true, kerr.CorruptMessage.Code: true, kerr.UnsupportedCompressionType.Code: true}
	f.Fuzz(func(t *testing.T, data []byte, version int16) {
		batch, code := validateProduceRecords(version, data)
		if !allowed[code] {
			t.Fatalf("unexpected code %d", code)
		}
		if code != 0 {
			if batch != nil {
				t.Fatal("batch returned with an error")
			}
			return
		}
		if len(batch) < batchHeaderToMagic || !bytes.HasPrefix(data, batch) || batch[batchMagicOffset] != record.CurrentMagic {
			t.Fatalf("accepted %d bytes that are not a magic-2 prefix of the input", len(batch))
		}
		if int(binary.BigEndian.Uint32(batch[batchLengthOffset:]))+12 != len(batch) {
			t.Fatal("accepted batch length disagrees with its length field")
		}
		// The transactional check reads the same header bytes.
		req := kmsg.NewPtrProduceRequest()
		rt := kmsg.NewProduceRequestTopic()
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = data
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		_ = hasTransactionalBatch(req)
	})
}
