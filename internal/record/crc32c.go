package record

import (
	"hash/crc32"
	"unsafe"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32cUpdate returns crc updated with p, as crc32.Update(crc,
// castagnoli, p) does. Every batch CRC this package computes or checks
// goes through it. Where the CPU has AVX-512 with VPCLMULQDQ it folds
// inputs of crc32cFoldMin bytes or more by carry-less multiplication
// (crc32c_amd64.s), about 4x as fast as hash/crc32's SSE 4.2 CRC32
// instruction streams; everywhere else, and for short inputs, it is
// hash/crc32.
func crc32cUpdate(crc uint32, p []byte) uint32 {
	if len(p) >= crc32cFoldMin && haveCRC32CFold {
		// The kernel loads 64 bytes at a time: from a 64-byte boundary
		// none of its loads straddles two cache lines, which would cost
		// a third of its speed (a batch's CRC starts 21 bytes in).
		if head := int(-uintptr(unsafe.Pointer(unsafe.SliceData(p))) & 63); head != 0 {
			crc = crc32.Update(crc, castagnoli, p[:head])
			p = p[head:]
		}
		n := len(p) &^ 15
		crc = ^castagnoliAVX512(^crc, p[:n])
		p = p[n:]
	}
	return crc32.Update(crc, castagnoli, p)
}
