package record

import (
	"bytes"
	"errors"
	"testing"
)

func buildTestBatch(t *testing.T, n int) Batch {
	t.Helper()
	b := NewBuilder(DefaultBuilderOptions())
	for i := 0; i < n; i++ {
		b.Add(1000+int64(i), []byte{byte('k'), byte(i)}, bytes.Repeat([]byte{byte(i)}, 10))
	}
	batch, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return batch
}

func TestBuildPeekVerify(t *testing.T) {
	batch := buildTestBatch(t, 3)
	if err := batch.Verify(); err != nil {
		t.Fatalf("verify fresh batch: %v", err)
	}
	if got := batch.NumRecords(); got != 3 {
		t.Errorf("NumRecords = %d, want 3", got)
	}
	if got := batch.LastOffsetDelta(); got != 2 {
		t.Errorf("LastOffsetDelta = %d, want 2", got)
	}
	if batch.BaseTimestamp() != 1000 || batch.MaxTimestamp() != 1002 {
		t.Errorf("timestamps = %d/%d, want 1000/1002", batch.BaseTimestamp(), batch.MaxTimestamp())
	}
	if batch.ProducerID() != NoProducerID || batch.BaseSequence() != NoSequence || batch.LastSequence() != NoSequence {
		t.Errorf("producer fields = %d/%d", batch.ProducerID(), batch.BaseSequence())
	}
	buf := append(append([]byte{}, batch...), 1, 2, 3)
	peeked, err := Peek(buf)
	if err != nil || !bytes.Equal(peeked, batch) {
		t.Fatalf("Peek = %v, %v", len(peeked), err)
	}
	if _, err := Peek(batch[:len(batch)-1]); !errors.Is(err, ErrIncomplete) {
		t.Errorf("Peek truncated: %v, want ErrIncomplete", err)
	}
}

func TestOffsetAndEpochRewriteKeepsCRC(t *testing.T) {
	batch := buildTestBatch(t, 2)
	crc := batch.CRC()
	batch.SetBaseOffset(1 << 40)
	batch.SetPartitionLeaderEpoch(7)
	if err := batch.Verify(); err != nil {
		t.Fatalf("verify after rewrite: %v", err)
	}
	if batch.CRC() != crc || batch.BaseOffset() != 1<<40 || batch.LastOffset() != 1<<40+1 || batch.PartitionLeaderEpoch() != 7 {
		t.Fatalf("rewrite fields wrong")
	}
}

func TestLogAppendTimeRecomputesCRC(t *testing.T) {
	batch := buildTestBatch(t, 2)
	batch.SetLogAppendTime(99999)
	if err := batch.Verify(); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if !batch.Attributes().LogAppendTime() || batch.MaxTimestamp() != 99999 {
		t.Fatalf("log append time not set")
	}
}

func TestVerifyDetectsDamage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(Batch)
	}{
		{"flipped record byte", func(b Batch) { b[len(b)-1] ^= 0x40 }},
		{"flipped attributes", func(b Batch) { b[attributesOffset+1] ^= 0x01 }},
		{"old magic", func(b Batch) { b[magicOffset] = 1 }},
		{"flipped crc", func(b Batch) { b[crcOffset] ^= 0xff }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			batch := buildTestBatch(t, 2)
			tc.damage(batch)
			if err := batch.Verify(); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Verify = %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestPeekRejectsShortLength(t *testing.T) {
	batch := buildTestBatch(t, 1)
	batch[lengthOffset+3] = 10 // length 10 < header
	batch[lengthOffset], batch[lengthOffset+1], batch[lengthOffset+2] = 0, 0, 0
	if _, err := Peek(batch); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Peek = %v, want ErrCorrupt", err)
	}
}

func TestBatchesWalk(t *testing.T) {
	a, b := buildTestBatch(t, 1), buildTestBatch(t, 4)
	buf := append(append(append([]byte{}, a...), b...), b[:20]...)
	var sizes []int
	n, err := Batches(buf, func(x Batch) error { sizes = append(sizes, len(x)); return nil })
	if n != len(a)+len(b) || !errors.Is(err, ErrIncomplete) || len(sizes) != 2 {
		t.Fatalf("Batches = %d, %v, %v", n, err, sizes)
	}
}
