package record

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// fuzzSeeds adds batches of every codec and shape (built here, and encoded
// by franz-go and kafka-go), plus a few broken ones, to a fuzz corpus.
// Crashers the fuzzers found are kept under testdata/fuzz/<FuzzName>/ and
// run with these seeds as ordinary tests.
func fuzzSeeds(f *testing.F) {
	small := sampleRecords(4)
	small[2].value = []byte("a value that is not large") // keep seeds small for the mutator
	idem := DefaultBuilderOptions()
	idem.ProducerID, idem.ProducerEpoch, idem.BaseSequence, idem.Transactional = 3, 1, 9, true
	for _, codec := range allCodecs {
		f.Add([]byte(buildBatch(f, codecOpts(codec), small)))
		o := idem
		o.Codec = codec
		f.Add([]byte(buildBatch(f, o, small[:2])))
		f.Add(franzGoBatch(f, codec, small, -1, -1))
		f.Add(kafkaGoBatch(f, codec, kafkaGoRecords()[:3]))
	}
	marker, err := NewEndTxnMarkerBatch(5, 2, 1000, EndTxnMarker{Type: ControlCommit, CoordinatorEpoch: 4})
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(marker))
	good := buildBatch(f, DefaultBuilderOptions(), small)
	f.Add([]byte(good[:len(good)-3]))
	f.Add([]byte(rawBatch(append(AppendVarint(nil, 3), 0, 0), 1)))
	f.Add([]byte{})
	f.Add(make([]byte, HeaderSize))
}

// errIsKnown reports whether err wraps one of the package's sentinels.
func errIsKnown(err error) bool {
	for _, s := range []error{ErrCorrupt, ErrTooLarge, ErrInvalid, ErrUnsupportedCodec, ErrIncomplete} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// fixFraming makes arbitrary bytes pass the framing checks (length field,
// magic, CRC) so that the fuzzer spends its time on what lies behind them.
func fixFraming(data []byte) Batch {
	b := Batch(append([]byte{}, data...))
	if len(b) >= HeaderSize {
		binary.BigEndian.PutUint32(b[lengthOffset:], uint32(len(b)-LogOverhead))
		b[magicOffset] = CurrentMagic
		b.UpdateCRC()
	}
	return b
}

func FuzzPeekVerify(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Peek(data)
		if err != nil {
			if !errors.Is(err, ErrIncomplete) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Peek error %v is neither ErrIncomplete nor ErrCorrupt", err)
			}
		} else {
			if len(b) > len(data) || len(b) != b.Size() || len(b) < HeaderSize {
				t.Fatalf("Peek returned %d bytes of %d, size field %d", len(b), len(data), b.Size())
			}
			if err := b.Verify(); err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Verify error %v is not ErrCorrupt", err)
			}
			_ = b.LastSequence()
			_ = b.NextOffset()
			_ = b.RecordsBytes()
		}
		n, err := Batches(data, func(Batch) error { return nil })
		if n > len(data) || (err == nil && n != len(data)) {
			t.Fatalf("Batches consumed %d of %d bytes, err %v", n, len(data), err)
		}
	})
}

func FuzzRecords(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, b := range []Batch{Batch(data), fixFraming(data)} {
			n := int32(0)
			err := b.Records(func(r *Record) error {
				n++
				for _, h := range r.Headers {
					_ = len(h.Key) + len(h.Value)
				}
				return nil
			})
			if err != nil {
				if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupportedCodec) {
					t.Fatalf("Records error %v is neither ErrCorrupt nor ErrUnsupportedCodec", err)
				}
				continue
			}
			if n != b.NumRecords() {
				t.Fatalf("Records succeeded with %d records, header says %d", n, b.NumRecords())
			}
		}
	})
}

func FuzzValidate(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := ValidateOptions{MaxBatchBytes: 1 << 20, NowMs: 1_700_000_000_000, TimestampBeforeMaxMs: 1 << 62, TimestampAfterMaxMs: 1 << 62, AllowControl: len(data)%2 == 0}
		for _, b := range []Batch{Batch(data), fixFraming(data)} {
			info, err := Validate(b, opts)
			if err != nil {
				if !errIsKnown(err) {
					t.Fatalf("Validate error %v wraps no sentinel", err)
				}
				continue
			}
			// Whatever Validate accepts is readable and agrees with it.
			if err := b.Verify(); err != nil {
				t.Fatalf("Validate accepted a batch Verify refuses: %v", err)
			}
			var n int32
			maxTs, maxOff := int64(NoTimestamp), int64(-1)
			err = b.Records(func(r *Record) error {
				if r.Offset != b.BaseOffset()+int64(n) {
					t.Fatalf("record %d at offset %d", n, r.Offset)
				}
				if r.Timestamp > maxTs {
					maxTs, maxOff = r.Timestamp, r.Offset
				}
				n++
				return nil
			})
			if err != nil {
				t.Fatalf("Validate accepted a batch Records refuses: %v", err)
			}
			if n != info.NumRecords || maxTs != info.MaxTimestamp || maxOff != info.OffsetOfMaxTimestamp {
				t.Fatalf("BatchInfo %+v, records say %d records, max %d at %d", info, n, maxTs, maxOff)
			}
		}
	})
}

// FuzzValidateFastPath checks that Validate's fast path for data batches
// (walkPlain) and its general path reach the same verdict,
// BatchInfo and error on any bytes, under topic settings drawn from the
// input, and that walkPlain alone is safe on any bytes.
func FuzzValidateFastPath(f *testing.F) {
	fuzzSeeds(f)
	rng := rand.New(rand.NewPCG(21, 22))
	for range 24 {
		if b, _ := randomDataBatch(rng); len(b) < 4096 {
			f.Add([]byte(b))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var flags byte
		if len(data) > 0 {
			flags = data[len(data)/2] ^ byte(len(data))
		}
		opts := ValidateOptions{
			NowMs:                testNow,
			Compacted:            flags&1 != 0,
			LogAppendTime:        flags&2 != 0,
			AllowControl:         flags&4 != 0,
			TimestampBeforeMaxMs: math.MaxInt64,
			TimestampAfterMaxMs:  math.MaxInt64,
		}
		if flags&8 != 0 {
			opts.TimestampBeforeMaxMs, opts.TimestampAfterMaxMs = 1000, 1000
		}
		for _, b := range []Batch{Batch(data), fixFraming(data)} {
			sameValidation(t, b, opts)
			if len(b) >= HeaderSize {
				walkPlain(b[HeaderSize:], b.NumRecords(), b.BaseTimestamp(), testNow-1000, testNow+1000, flags&16 != 0, opts.Compacted)
			}
		}
	})
}
