package record

import (
	"bytes"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"testing"
)

// randomBytes returns n bytes from rng.
func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// crc32cUpdate equals hash/crc32 for every length through several
// multiples of the folding block and every alignment of the input, from
// any starting CRC.
func TestCRC32CMatchesHashCRC32(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	buf := randomBytes(rng, 64+3000)
	for align := range 64 {
		for n := 0; n <= 3000; n++ {
			if n > 1100 && n%7 != 0 && n%16 != 0 {
				continue // keep the test fast; every length up to 1100, then a sample
			}
			p := buf[align : align+n]
			start := rng.Uint32()
			if got, want := crc32cUpdate(start, p), crc32.Update(start, castagnoli, p); got != want {
				t.Fatalf("align %d, length %d, start %08x: %08x, want %08x", align, n, start, got, want)
			}
		}
	}
	for _, n := range []int{4096, 65536 + 48, 1 << 20, 1<<20 + 15, 3<<20 + 256 + 64 + 16 + 5} {
		p := randomBytes(rng, n)
		if got, want := crc32cUpdate(0, p), crc32.Checksum(p, castagnoli); got != want {
			t.Fatalf("length %d: %08x, want %08x", n, got, want)
		}
	}
}

// The folding kernel alone, on the inputs it takes (multiples of 16 from
// 256 bytes), including all-zero and all-one data and CRC registers.
func TestCRC32CFoldKernel(t *testing.T) {
	if !haveCRC32CFold {
		t.Log("this CPU lacks AVX-512 VPCLMULQDQ: crc32cUpdate is hash/crc32 here, checked by TestCRC32CMatchesHashCRC32")
		return
	}
	rng := rand.New(rand.NewPCG(33, 34))
	for n := 256; n <= 4096+512; n += 16 {
		for _, fill := range []byte{0, 0xff, 1} {
			p := randomBytes(rng, n)
			if fill != 1 {
				for i := range p {
					p[i] = fill
				}
			}
			for _, reg := range []uint32{0, 0xffffffff, rng.Uint32()} {
				if got, want := castagnoliAVX512(reg, p), ^crc32.Update(^reg, castagnoli, p); got != want {
					t.Fatalf("length %d, fill %#x, register %08x: %08x, want %08x", n, fill, reg, got, want)
				}
			}
		}
	}
}

// xPowMod returns x^n mod P for the Castagnoli polynomial P, in normal
// (not reflected) bit order, by repeated doubling.
func xPowMod(n int) uint64 {
	const poly = 0x11edc6f41 // P with its x^32 term
	r := uint64(1)
	for range n {
		r <<= 1
		if r&(1<<32) != 0 {
			r ^= poly
		}
	}
	return r
}

// reflectBits returns the low bits bits of v in reverse order.
func reflectBits(v uint64, bits int) uint64 {
	var r uint64
	for i := range bits {
		if v&(1<<i) != 0 {
			r |= 1 << (bits - 1 - i)
		}
	}
	return r
}

// The constants in crc32c_amd64.s are the ones the folding method calls
// for, derived here from the polynomial: k(n) = reflect32(x^n mod P) << 1
// for folding by n bits, and Barrett's P' and u' = floor(x^64 / P),
// reflected over 33 bits. (The same derivation gives hash/crc32's IEEE
// constants.)
func TestCRC32CConstants(t *testing.T) {
	k := func(n int) uint64 { return reflectBits(xPowMod(n), 32) << 1 }
	// u = x^64 div P, by long division.
	const poly = 0x11edc6f41
	var u, r uint64
	for bit := 64; bit >= 0; bit-- {
		r <<= 1
		if bit == 64 {
			r |= 1
		}
		u <<= 1
		if r&(1<<32) != 0 {
			r ^= poly
			u |= 1
		}
	}
	want := map[string][]uint64{
		"fold256": {k(2048 + 32), k(2048 - 32)},
		"fold64":  {k(512 + 32), k(512 - 32)},
		"fold16":  {k(128 + 32), k(128 - 32)},
		"fold8":   {k(64)},
		"barrett": {reflectBits(poly, 33), reflectBits(u, 33)},
	}
	src, err := os.ReadFile("crc32c_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]uint64{}
	for _, m := range regexp.MustCompile(`(?m)^DATA (\w+)<>\+(\d+)\(SB\)/8, \$(0x[0-9a-f]+)$`).FindAllStringSubmatch(string(src), -1) {
		off, _ := strconv.Atoi(m[2])
		v, err := strconv.ParseUint(m[3], 0, 64)
		if err != nil || off%8 != 0 || off/8 != len(got[m[1]]) {
			t.Fatalf("unexpected DATA line %q", m[0])
		}
		got[m[1]] = append(got[m[1]], v)
	}
	if len(got) != len(want) {
		t.Fatalf("constants in crc32c_amd64.s: %x, want %x", got, want)
	}
	for name, w := range want {
		if g := got[name]; len(g) != len(w) || g[0] != w[0] || (len(w) > 1 && g[1] != w[1]) {
			t.Errorf("%s = %#x, want %#x", name, g, w)
		}
	}
}

// FuzzCRC32C checks crc32cUpdate against hash/crc32 on any bytes, fed
// whole and in two pieces split anywhere (so the kernel sees every
// length and alignment of its input), from any starting CRC.
func FuzzCRC32C(f *testing.F) {
	rng := rand.New(rand.NewPCG(35, 36))
	for _, n := range []int{0, 1, 15, 255, 256, 1023, 1024, 1025, 1040, 4096 + 21, 20000} {
		f.Add(randomBytes(rng, n), uint16(n/3), uint32(n))
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint16, start uint32) {
		want := crc32.Update(start, castagnoli, data)
		if got := crc32cUpdate(start, data); got != want {
			t.Fatalf("crc32cUpdate over %d bytes from %08x: %08x, want %08x", len(data), start, got, want)
		}
		cut := int(split) % (len(data) + 1)
		if got := crc32cUpdate(crc32cUpdate(start, data[:cut]), data[cut:]); got != want {
			t.Fatalf("crc32cUpdate over %d+%d bytes from %08x: %08x, want %08x", cut, len(data)-cut, start, got, want)
		}
		// The same bytes repeated past crc32cFoldMin, so that the
		// folding kernel sees every input, starting at the split.
		long := bytes.Repeat(data, 1+2*crc32cFoldMin/(len(data)+1))[cut:]
		if got, want := crc32cUpdate(start, long), crc32.Update(start, castagnoli, long); got != want {
			t.Fatalf("crc32cUpdate over %d bytes from %08x: %08x, want %08x", len(long), start, got, want)
		}
	})
}
