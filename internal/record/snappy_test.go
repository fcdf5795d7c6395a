package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/snappy"
)

// decodeSnappyStrictGo decodes with snappy.DecodeStrict, the pure-Go
// strict decoder that decodeSnappyStrict must agree with; benchmarks use
// it as the baseline.
func decodeSnappyStrictGo(dst, src []byte) error {
	out, err := snappy.DecodeStrict(dst, src)
	if err != nil {
		return err
	}
	if len(out) != len(dst) {
		return fmt.Errorf("block decoded to %d bytes, header says %d", len(out), len(dst))
	}
	return nil
}

// jsonLikeRecords returns 1024 values of 1 KiB, each a JSON object with
// the same field names and random values (ids, numbers, hex strings,
// enumerations): data that compresses less well than benchRecords' text.
func jsonLikeRecords() []testRecord {
	rng := rand.New(rand.NewPCG(11, 12))
	events := []string{"click", "view", "purchase", "signup", "logout", "search"}
	recs := make([]testRecord, 1024)
	for i := range recs {
		v := make([]byte, 0, 1100)
		v = append(v, '[')
		for len(v) < 1024 {
			v = fmt.Appendf(v, `{"id":%d,"user":"u%06d","event":%q,"ts":%d,"amount":%d.%02d,"session":"%016x","ok":%t},`,
				rng.Uint64N(1<<40), rng.IntN(1e6), events[rng.IntN(len(events))], testNow+rng.Int64N(1e7),
				rng.IntN(10000), rng.IntN(100), rng.Uint64(), rng.IntN(2) == 0)
		}
		recs[i] = testRecord{ts: testNow + int64(i), key: fmt.Appendf(nil, "key-%d", rng.IntN(1e5)), value: v[:1024]}
	}
	return recs
}

// snappyRepeatBlocks returns blocks that s2.Decode accepts but standard
// snappy rejects: the literal "abcd", a copy-1 of offset 4 (length 4),
// then a copy-1 of offset 0, S2's repeat of offset 4, in each of its
// length forms (tag length 0-4 meaning 4-8; 5, 6, 7 taking 1, 2, 3 more
// bytes of length).
func snappyRepeatBlocks() map[string][]byte {
	prefix := []byte{3 << 2, 'a', 'b', 'c', 'd', 0x01, 0x04}
	blocks := map[string][]byte{}
	add := func(name string, outLen int, tail ...byte) {
		b := s2AppendUvarint(nil, uint64(outLen))
		blocks[name] = append(append(b, prefix...), tail...)
	}
	for l := range 5 {
		add(fmt.Sprintf("repeat len %d", 4+l), 8+4+l, byte(l<<2|1), 0)
	}
	add("repeat len+1 byte", 8+4+4+7, 5<<2|1, 0, 7)
	add("repeat len+2 bytes", 8+4+(1<<8)+3, 6<<2|1, 0, 3, 0)
	add("repeat len+3 bytes", 8+4+(1<<16)+2, 7<<2|1, 0, 2, 0, 0)
	return blocks
}

func s2AppendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// decodeBoth decodes block with both strict decoders and fails the test if
// they disagree; it returns the error they share.
func decodeBoth(t testing.TB, block []byte) ([]byte, error) {
	t.Helper()
	n, err := snappy.DecodedLen(block)
	if err != nil {
		if _, err2 := s2.DecodedLen(block); err2 == nil {
			t.Fatalf("length header: snappy says %v, s2 accepts", err)
		}
		return nil, err
	}
	if n > 1<<20 {
		return nil, errors.New("too large for the test")
	}
	want := make([]byte, n)
	errWant := decodeSnappyStrictGo(want, block)
	got := make([]byte, n)
	errGot := decodeSnappyStrict(got, block)
	if (errWant == nil) != (errGot == nil) {
		t.Fatalf("snappy.DecodeStrict: %v; decodeSnappyStrict: %v (block % x)", errWant, errGot, block[:min(len(block), 64)])
	}
	if errWant == nil && !bytes.Equal(want, got) {
		t.Fatalf("outputs differ (block % x)", block[:min(len(block), 64)])
	}
	return got, errGot
}

func TestSnappyStrictRejectsS2Repeats(t *testing.T) {
	for name, block := range snappyRepeatBlocks() {
		t.Run(name, func(t *testing.T) {
			if _, err := s2.Decode(nil, block); err != nil {
				t.Fatalf("s2.Decode rejects the block (%v): the test does not test the repeat code", err)
			}
			if _, err := decodeBoth(t, block); !errors.Is(err, errSnappyRepeat) {
				t.Fatalf("got %v, want errSnappyRepeat", err)
			}
			if _, err := AppendDecompressed(nil, CodecSnappy, block); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("AppendDecompressed: got %v, want ErrCorrupt", err)
			}
		})
	}
	// S2's own encoder emits repeat codes for repetitive data; such
	// blocks must be refused whole, also inside xerial framing.
	in := bytes.Repeat(compressInputs()["text"], 20)
	for _, enc := range []struct {
		name string
		fn   func(dst, src []byte) []byte
	}{{"Encode", s2.Encode}, {"EncodeBetter", s2.EncodeBetter}, {"EncodeBest", s2.EncodeBest}} {
		t.Run("s2."+enc.name, func(t *testing.T) {
			block := enc.fn(nil, in)
			_, hdr := binary.Uvarint(block)
			if !snappyHasRepeat(block[hdr:]) {
				t.Fatal("s2 output has no repeat code: the test does not test it")
			}
			if _, err := s2.Decode(nil, block); err != nil {
				t.Fatal(err)
			}
			if _, err := decodeBoth(t, block); !errors.Is(err, errSnappyRepeat) {
				t.Fatalf("got %v, want errSnappyRepeat", err)
			}
			framed := append(append([]byte{}, xerialHeader[:]...), byte(len(block)>>24), byte(len(block)>>16), byte(len(block)>>8), byte(len(block)))
			framed = append(framed, block...)
			if _, err := AppendDecompressed(nil, CodecSnappy, framed); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("xerial: got %v, want ErrCorrupt", err)
			}
		})
	}
}

// TestSnappyStrictAgrees checks hand-made edge cases and real encoders'
// output against snappy.DecodeStrict: offset 0 in copy-2 and copy-4 (no
// S2 meaning, rejected by both), each literal length form, 4-byte
// offsets, overlapping copies, and corrupt variants.
func TestSnappyStrictAgrees(t *testing.T) {
	cases := map[string][]byte{
		"empty":                 {0},
		"copy-2 offset 0":       {8, 1 << 2, 'a', 'b', 3<<2 | 2, 0, 0},
		"copy-4 offset 0":       {8, 1 << 2, 'a', 'b', 3<<2 | 3, 0, 0, 0, 0},
		"copy-1 before data":    {4, 0x01, 0x01},
		"copy-1 offset 256":     {4, 0x21, 0x00},
		"literal 60 form":       append([]byte{3, 60 << 2, 2}, "abc"...),
		"literal 61 form":       append([]byte{3, 61 << 2, 2, 0}, "abc"...),
		"literal 62 form":       append([]byte{3, 62 << 2, 2, 0, 0}, "abc"...),
		"literal 63 form":       append([]byte{3, 63 << 2, 2, 0, 0, 0}, "abc"...),
		"literal 63 huge":       {3, 63 << 2, 0xff, 0xff, 0xff, 0xff, 'a'},
		"literal past end":      {3, 2 << 2, 'a'},
		"long literal cut":      {3, 62 << 2, 2},
		"overlapping copy-1":    {10, 0, 'a', 1<<2 | 1, 1},
		"overlapping copy-2":    {21, 0, 'a', 19<<2 | 2, 1, 0},
		"copy-4 offset":         {21, 1 << 2, 'a', 'b', 18<<2 | 3, 2, 0, 0, 0},
		"copy past output":      {6, 1 << 2, 'a', 'b', 1<<2 | 1, 2},
		"output short":          {9, 1 << 2, 'a', 'b', 1<<2 | 1, 2},
		"lone copy tag":         {2, 1 << 2, 'a', 'b', 1},
		"bad varint":            {0xff, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"copy-1 offset 0 first": s2RepeatBlock(),
	}
	var json []byte
	for _, r := range jsonLikeRecords()[:40] {
		json = append(json, r.value...)
	}
	text := bytes.Repeat(compressInputs()["text"], 20)
	for name, in := range map[string][]byte{"json": json, "text": text, "random": compressInputs()["random 200KiB"][:40<<10]} {
		cases[name+" s2.EncodeSnappy"] = s2.EncodeSnappy(nil, in)
		cases[name+" s2.EncodeSnappyBest"] = s2.EncodeSnappyBest(nil, in)
		cases[name+" snappy.Encode"] = snappy.Encode(nil, in)
	}
	for name, block := range cases {
		t.Run(name, func(t *testing.T) {
			decodeBoth(t, block)
			for i := range min(len(block), 200) {
				decodeBoth(t, block[:i])
				decodeBoth(t, flip(block, i))
			}
		})
	}
	for _, name := range []string{"json s2.EncodeSnappy", "text snappy.Encode", "literal 63 form", "overlapping copy-2", "copy-4 offset", "empty"} {
		if _, err := decodeBoth(t, cases[name]); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzSnappyStrict checks that decodeSnappyStrict (s2.Decode plus the
// repeat-code walk) accepts exactly the blocks snappy.DecodeStrict
// accepts, with the same output, and that the walk survives any input.
func FuzzSnappyStrict(f *testing.F) {
	var json []byte
	for _, r := range jsonLikeRecords()[:3] {
		json = append(json, r.value...)
	}
	text := bytes.Repeat([]byte("the quick brown fox jumps "), 40)
	for _, in := range [][]byte{json, text, {}, {1}} {
		f.Add(s2.EncodeSnappy(nil, in))
		f.Add(snappy.Encode(nil, in))
		f.Add(s2.Encode(nil, in))
		f.Add(s2.EncodeBest(nil, in))
	}
	for _, block := range snappyRepeatBlocks() {
		f.Add(block)
	}
	f.Add(s2RepeatBlock())
	f.Add([]byte{8, 1 << 2, 'a', 'b', 3<<2 | 2, 0, 0})
	f.Add([]byte{3, 63 << 2, 2, 0, 0, 0, 'a', 'b', 'c'})
	f.Add(flip(s2.EncodeSnappy(nil, text), 10))
	f.Fuzz(func(t *testing.T, block []byte) {
		checkLanes(t, block)
		decodeBoth(t, block)
	})
}

// checkLanes fails the test if the walk in lanes disagrees with the plain
// sequential walk on src (a tag stream, or any bytes).
func checkLanes(t testing.TB, src []byte) {
	t.Helper()
	if got, want := snappyHasRepeatLanes(src), snappyWalk(src, 0, len(src)) >= 0; got != want {
		t.Fatalf("walk in lanes says %v, sequential walk %v (%d bytes)", got, want, len(src))
	}
}

// TestSnappyLanesAgree compares the walk in lanes with the sequential walk
// on large blocks, where snappyHasRepeat uses lanes: real encoders' output
// (s2.Encode's with repeat codes), mutated by flipped bytes and by
// copy-1 tags of offset 0 written at random places, some in tag position
// and some inside literals, so that lanes both fall into step and fail to.
func TestSnappyLanesAgree(t *testing.T) {
	var json []byte
	for _, r := range jsonLikeRecords()[:64] {
		json = append(json, r.value...)
	}
	text := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog "), 1500)
	random := compressInputs()["random 200KiB"][:64<<10]
	var blocks [][]byte
	for _, in := range [][]byte{json, text, random, append(append([]byte{}, random[:9000]...), text[:30000]...)} {
		for _, enc := range []func(dst, src []byte) []byte{s2.EncodeSnappy, s2.EncodeSnappyBest, s2.Encode} {
			block := enc(nil, in)
			_, hdr := binary.Uvarint(block)
			blocks = append(blocks, block[hdr:])
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	found := 0
	for i := range 3000 {
		src := append([]byte{}, blocks[i%len(blocks)]...)
		for range rng.IntN(4) {
			if len(src) < 4 {
				break
			}
			switch p := rng.IntN(len(src) - 1); rng.IntN(3) {
			case 0:
				src[p] ^= byte(1 + rng.IntN(255))
			case 1:
				src[p], src[p+1] = byte(rng.IntN(8)<<2|1), 0
			case 2:
				src = src[:p+1]
			}
		}
		checkLanes(t, src)
		if snappyWalk(src, 0, len(src)) >= 0 {
			found++
		}
	}
	// Both outcomes must occur for the comparison to mean anything.
	if found < 100 || found > 2900 {
		t.Fatalf("%d of 3000 mutated blocks hold a repeat code", found)
	}
	for _, block := range blocks {
		checkLanes(t, block)
	}
}

// BenchmarkSnappyDecode compares decodeSnappyStrict with
// snappy.DecodeStrict on 1 MiB of text-like and of JSON-like record
// values, compressed as one raw block (librdkafka, franz-go) and as
// xerial's 32 KiB chunks (Java), and shows the parts: s2.Decode alone and
// the repeat-code walk alone.
func BenchmarkSnappyDecode(b *testing.B) {
	for _, data := range []struct {
		name string
		recs []testRecord
	}{{"text", benchRecords()}, {"json", jsonLikeRecords()}} {
		var in []byte
		for _, r := range data.recs {
			in = append(in, r.value...)
		}
		for _, chunk := range []int{len(in), xerialChunkSize} {
			var blocks [][]byte
			for p := 0; p < len(in); p += chunk {
				blocks = append(blocks, s2.EncodeSnappy(nil, in[p:min(p+chunk, len(in))]))
			}
			for _, impl := range []struct {
				name string
				fn   func(dst, src []byte) error
			}{
				{"DecodeStrict", decodeSnappyStrictGo},
				{"s2+walk", decodeSnappyStrict},
				{"s2.Decode", func(dst, src []byte) error { _, err := s2.Decode(dst, src); return err }},
				{"walk", func(dst, src []byte) error {
					_, hdr := binary.Uvarint(src)
					if snappyHasRepeat(src[hdr:]) {
						return errSnappyRepeat
					}
					return nil
				}},
			} {
				b.Run(fmt.Sprintf("data=%s/chunk=%d/impl=%s", data.name, chunk, impl.name), func(b *testing.B) {
					b.SetBytes(int64(len(in)))
					dst := make([]byte, chunk)
					cpu := startCPUMeter(b)
					for b.Loop() {
						for _, block := range blocks {
							n, _ := snappy.DecodedLen(block)
							if err := impl.fn(dst[:n], block); err != nil {
								b.Fatal(err)
							}
						}
					}
					cpu.report(int64(len(in)))
				})
			}
		}
	}
}
