package record

import (
	"encoding/binary"
	"errors"

	"github.com/klauspost/compress/s2"
)

// Strict snappy block decoding, fast.
//
// A snappy block is a varint decoded length followed by tags. The low two
// bits of a tag byte give its kind:
//
//	00 literal  length-1 in the upper 6 bits, or 60-63 there meaning
//	            that 1-4 little-endian bytes of length-1 follow; then the
//	            literal bytes
//	01 copy-1   2 bytes: length-4 in bits 2-4, offset bits 8-10 in bits
//	            5-7, then offset bits 0-7
//	10 copy-2   3 bytes: length-1 in bits 2-7, then a 16-bit offset
//	11 copy-4   5 bytes: length-1 in bits 2-7, then a 32-bit offset
//
// s2.Decode (assembly on amd64 and arm64, about 2.7x as fast as the pure-Go
// snappy.DecodeStrict) parses exactly this grammar with exactly the same
// checks (literal and copy lengths within the output, offsets within what
// was written, the output filled exactly), with one exception: a copy-1
// whose 11-bit offset is 0 is S2's "repeat the last offset" code, which
// for tag lengths 5, 6 and 7 also takes 1, 2 or 3 further bytes of length.
// Standard snappy (snappy-java, librdkafka, the C++ reference) rejects any
// offset 0. A copy-2 or copy-4 with offset 0 is rejected by both. So the
// two decoders walk the same tags up to the first copy-1 with offset 0,
// where the strict one stops with an error: s2.Decode plus a check that
// no such tag exists accepts exactly what DecodeStrict accepts, with the
// same output. FuzzSnappyStrict compares the two on arbitrary input.

// errSnappyRepeat reports a block that uses S2's repeat-offset extension.
var errSnappyRepeat = errors.New("copy with offset 0 (S2 repeat code, not standard snappy)")

// decodeSnappyStrict decodes the snappy block src into dst, which must
// have exactly the block's decoded length, rejecting what a standard
// snappy decoder rejects.
func decodeSnappyStrict(dst, src []byte) error {
	_, hdr := binary.Uvarint(src)
	if hdr <= 0 {
		return s2.ErrCorrupt
	}
	out, err := s2.Decode(dst, src)
	if err != nil {
		return err
	}
	if len(out) != len(dst) {
		return s2.ErrCorrupt
	}
	if snappyHasRepeat(src[hdr:]) {
		return errSnappyRepeat
	}
	return nil
}

// snappyTagSkip gives, for each tag byte, how many bytes the tag occupies
// with its literal bytes: 2-61 for a short literal, 2, 3 or 5 for copies,
// and 0 for a long literal (60-63 in the upper bits), whose length follows
// the tag and which the walk handles apart.
var snappyTagSkip = func() (t [256]uint8) {
	for i := range t {
		switch i & 3 {
		case 0:
			if x := i >> 2; x < 60 {
				t[i] = uint8(x + 2)
			}
		case 1:
			t[i] = 2
		case 2:
			t[i] = 3
		case 3:
			t[i] = 5
		}
	}
	return t
}()

// snappyHasRepeat reports whether the tag stream src (a block without its
// length header) holds a copy-1 with offset 0. It only steps from tag to
// tag, skipping literal bytes, but that is a chain of dependent loads (the
// tag at s says where the next one is) costing about as much as the whole
// assembly decode, which is bound by the same chain. So the walk runs as
// snappyLanes independent chains at once, which the CPU overlaps: lane 0
// walks from the start, lane k from byte k*len/snappyLanes, as if a tag
// began there, recording where its first tags lie. Where a lane began
// mid-tag its walk is wrong at first, but tag walks fall into step within
// a few tags; a later pass walks the true chain on from where lane k-1
// stopped until it lands on a position lane k recorded, from which lane
// k's walk is the true one (its result for tags from there on is kept,
// for the tags before discarded). Should the true walk not land on a
// recorded position, it simply walks lane k's stretch itself, so the
// result never depends on lanes falling into step, only the speed.
//
// It is meant for blocks s2.Decode accepted, but is safe on any input: a
// tag running past the end ends the walk. The test for offset 0 is one
// compare ((tag&0xe3 ^ 0x01) | next is zero only for a copy-1 with bits
// 5-7 and the next byte all zero), so that copy-1 tags with short offsets,
// frequent in text, cost no branch mispredictions.
func snappyHasRepeat(src []byte) bool {
	if len(src) < snappyLaneMin*snappyLanes {
		return snappyWalk(src, 0, len(src)) >= 0
	}
	return snappyHasRepeatLanes(src)
}

// snappyHasRepeatLanes is snappyHasRepeat's walk in lanes, for any length
// (tests run it on short input too).
func snappyHasRepeatLanes(src []byte) bool {
	var lanes [snappyLanes]snappyLane
	for k := range lanes {
		lanes[k].start = k * len(src) / snappyLanes
		lanes[k].stop = (k + 1) * len(src) / snappyLanes
	}
	snappyWalkLanes(src, &lanes)
	if lanes[0].lastCand >= 0 {
		return true
	}
	r := lanes[0].end
	for k := 1; k < snappyLanes; k++ {
		l := &lanes[k]
		j := 0
		for {
			for j < l.recorded && l.pos[j] < r {
				j++
			}
			if j == l.recorded || r >= len(src)-1 {
				break
			}
			if l.pos[j] == r {
				// In step: lane k's tags from its j-th on are the true ones.
				if l.lastCand >= j {
					return true
				}
				r = l.end
				goto next
			}
			// The true walk is behind lane k's next recorded tag: one step.
			skip, cand := snappyStep(src, r)
			if cand {
				return true
			}
			if skip < 0 {
				return false
			}
			r += skip
		}
		// Not in step within lane k's recorded tags: walk its stretch.
		if r < l.stop {
			at := snappyWalk(src, r, l.stop)
			if at >= 0 {
				return true
			}
			r = -at - 1
		}
	next:
	}
	return false
}

const (
	// snappyLanes is how many walks run at once.
	snappyLanes = 4
	// snappyLaneMin is the least stretch of a lane worth splitting for.
	snappyLaneMin = 512
	// snappyLaneRecord is how many of its first tag positions a lane
	// records for the true walk to fall into step with.
	snappyLaneRecord = 32
)

// snappyLane is one walk of snappyHasRepeat: from start until a tag starts
// at or beyond stop (or the block ends).
type snappyLane struct {
	start, stop int
	end         int // where the walk stopped: the first tag at or beyond stop
	lastCand    int // index of the lane's last copy-1 with offset 0, or -1
	recorded    int // how many of pos are set
	pos         [snappyLaneRecord]int
}

// snappyStep returns the size of the tag at s with its literal bytes, or -1
// if it runs past the end, and whether it is a copy-1 with offset 0. s must
// be below len(src)-1.
func snappyStep(src []byte, s int) (int, bool) {
	tag, next := src[s], src[s+1]
	skip := int(snappyTagSkip[tag])
	if skip == 0 {
		skip = snappyLongLiteral(src, s)
	}
	return skip, uint32(tag&0xe3^0x01)|uint32(next) == 0
}

// snappyLongLiteral returns the size of the long literal at s (a tag with
// 60-63 in its upper bits, then 1-4 bytes of length-1, then the bytes), or
// -1 if it runs past the end.
func snappyLongLiteral(src []byte, s int) int {
	n := int(src[s]>>2) - 59
	if len(src)-s-1 < n {
		return -1
	}
	var x uint64
	for i := n; i > 0; i-- {
		x = x<<8 | uint64(src[s+i])
	}
	if x >= uint64(len(src)) {
		return -1
	}
	return 1 + n + int(x) + 1
}

// snappyWalk walks the true chain from the tag at s until a tag starts at
// or beyond stop. It returns the position of a copy-1 with offset 0 if it
// meets one, else -1-(where it stopped). A copy-1 needs two bytes, so a
// lone last byte is never looked at.
func snappyWalk(src []byte, s, stop int) int {
	for s < stop && s < len(src)-1 {
		skip, cand := snappyStep(src, s)
		if cand {
			return s
		}
		if skip < 0 {
			return -1 - len(src)
		}
		s += skip
	}
	return -1 - s
}

// snappyWalkLanes runs the lanes' walks, interleaved so that the CPU
// overlaps their chains, and fills in end, lastCand, recorded and pos.
func snappyWalkLanes(src []byte, lanes *[snappyLanes]snappyLane) {
	// Each walk covers [s, e): e is the lane's stop, at most len(src)-1
	// (a lone last byte is no copy-1). Lanes other than 0 first record
	// their first tag positions, one lane at a time.
	var s, e, n [snappyLanes]int
	for k := range lanes {
		l := &lanes[k]
		s[k], e[k], l.lastCand = l.start, min(l.stop, len(src)-1), -1
		if k == 0 {
			continue
		}
		for s[k] < e[k] && n[k] < snappyLaneRecord {
			l.pos[n[k]] = s[k]
			skip, cand := snappyStep(src, s[k])
			if cand {
				l.lastCand = n[k]
			}
			n[k]++
			s[k] += skip
			if skip < 0 {
				s[k] = len(src)
			}
		}
		l.recorded = n[k]
	}
	// The interleaved walk, in locals so that the chains stay in
	// registers, while every lane has work.
	s0, s1, s2, s3 := s[0], s[1], s[2], s[3]
	e0, e1, e2, e3 := e[0], e[1], e[2], e[3]
	n1, n2, n3 := n[1], n[2], n[3]
	c0, c1, c2, c3 := -1, lanes[1].lastCand, lanes[2].lastCand, lanes[3].lastCand
	for s0 < e0 && s1 < e1 && s2 < e2 && s3 < e3 {
		t0, t1, t2, t3 := src[s0], src[s1], src[s2], src[s3]
		x0, x1, x2, x3 := src[s0+1], src[s1+1], src[s2+1], src[s3+1]
		k0, k1, k2, k3 := int(snappyTagSkip[t0]), int(snappyTagSkip[t1]), int(snappyTagSkip[t2]), int(snappyTagSkip[t3])
		if k0 == 0 || k1 == 0 || k2 == 0 || k3 == 0 {
			// A long literal: rare, out of line. One running past the
			// end ends its lane (and so this loop).
			k0, k1, k2, k3 = snappyLongSkip(src, s0, k0), snappyLongSkip(src, s1, k1), snappyLongSkip(src, s2, k2), snappyLongSkip(src, s3, k3)
		}
		if uint32(t0&0xe3^0x01)|uint32(x0) == 0 {
			c0 = 0
		}
		if uint32(t1&0xe3^0x01)|uint32(x1) == 0 {
			c1 = n1
		}
		if uint32(t2&0xe3^0x01)|uint32(x2) == 0 {
			c2 = n2
		}
		if uint32(t3&0xe3^0x01)|uint32(x3) == 0 {
			c3 = n3
		}
		s0, s1, s2, s3 = s0+k0, s1+k1, s2+k2, s3+k3
		n1, n2, n3 = n1+1, n2+1, n3+1
	}
	s, n = [snappyLanes]int{s0, s1, s2, s3}, [snappyLanes]int{0, n1, n2, n3}
	c := [snappyLanes]int{c0, c1, c2, c3}
	for k := range lanes {
		for s[k] < e[k] {
			skip, cand := snappyStep(src, s[k])
			if cand {
				c[k] = n[k]
			}
			n[k]++
			s[k] += skip
			if skip < 0 {
				s[k] = len(src)
			}
		}
		lanes[k].end, lanes[k].lastCand = s[k], c[k]
	}
}

// snappyLongSkip returns skip, or if it is 0 (a long literal at s) the
// long literal's size, or len(src) if it runs past the end.
func snappyLongSkip(src []byte, s, skip int) int {
	if skip != 0 {
		return skip
	}
	if skip = snappyLongLiteral(src, s); skip < 0 {
		return len(src)
	}
	return skip
}
