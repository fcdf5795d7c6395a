//go:build !purego

package record

import "golang.org/x/sys/cpu"

// haveCRC32CFold reports whether castagnoliAVX512 can run: AVX-512
// (foundation, with the OS saving its registers) and VPCLMULQDQ, so Intel
// Ice Lake and AMD Zen 4 or later, on which 512-bit instructions do not
// lower the core's clock as they did on Skylake-X. PCLMULQDQ and
// SSE 4.1 (for the last steps) come with any such CPU.
var haveCRC32CFold = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VPCLMULQDQ && cpu.X86.HasPCLMULQDQ && cpu.X86.HasSSE41

// crc32cFoldMin is the shortest input castagnoliAVX512 takes; below it
// hash/crc32 is as fast (see BenchmarkCRC32C).
const crc32cFoldMin = 1024

// castagnoliAVX512 updates the CRC register crc (not inverted) with p,
// whose length must be at least 256 and a multiple of 16. See
// crc32c_amd64.s.
//
//go:noescape
func castagnoliAVX512(crc uint32, p []byte) uint32
