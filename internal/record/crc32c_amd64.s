//go:build !purego

#include "textflag.h"

// CRC-32C (Castagnoli) by carry-less multiplication, 256 bytes per
// iteration in four 512-bit accumulators (AVX-512 VPCLMULQDQ). This is
// the folding method of Intel's "Fast CRC Computation for Generic
// Polynomials Using PCLMULQDQ Instruction" (Gopal et al., 2009) for a
// bit-reflected CRC, laid out as Go's hash/crc32 does it for IEEE
// (ieeeCLMUL in crc32_amd64.s), with the Castagnoli constants and four
// independent accumulators instead of one, so that the multiplier's
// latency is hidden. crc32c_amd64.go says when it is used; the constants
// are derived, and checked, in crc32c_test.go (TestCRC32CConstants).
//
// Each 128-bit lane holds 16 bytes of message. Folding a lane forward by
// D bits multiplies its low qword by k(D+32) and its high qword by
// k(D-32), where k(n) = reflect32(x^n mod P) << 1, and XORs both products
// into the lane D bits further on.

// k(2048+32), k(2048-32): fold by 256 bytes (the main loop).
DATA fold256<>+0(SB)/8, $0xdcb17aa4
DATA fold256<>+8(SB)/8, $0xb9e02b86
GLOBL fold256<>(SB), RODATA, $16

// k(512+32), k(512-32): fold by 64 bytes.
DATA fold64<>+0(SB)/8, $0x740eef02
DATA fold64<>+8(SB)/8, $0x9e4addf8
GLOBL fold64<>(SB), RODATA, $16

// k(128+32), k(128-32): fold by 16 bytes.
DATA fold16<>+0(SB)/8, $0xf20c0dfe
DATA fold16<>+8(SB)/8, $0x14cd00bd6
GLOBL fold16<>(SB), RODATA, $16

// k(64): 64 to 32 bits.
DATA fold8<>+0(SB)/8, $0xdd45aab8
GLOBL fold8<>(SB), RODATA, $8

// Barrett reduction: P' = reflect33(P), u' = reflect33(x^64 div P).
DATA barrett<>+0(SB)/8, $0x105ec76f1
DATA barrett<>+8(SB)/8, $0xdea713f1
GLOBL barrett<>(SB), RODATA, $16

// func castagnoliAVX512(crc uint32, p []byte) uint32
//
// crc is the CRC register (not inverted); len(p) must be at least 256
// and a multiple of 16.
TEXT ·castagnoliAVX512(SB), NOSPLIT, $0-36
	MOVL crc+0(FP), AX
	MOVQ p_base+8(FP), SI
	MOVQ p_len+16(FP), CX

	// Z1..Z4: the first 256 bytes, with the CRC register XORed into the
	// first four.
	VPXORQ    Z10, Z10, Z10
	VMOVD     AX, X10
	VMOVDQU64 (SI), Z1
	VMOVDQU64 64(SI), Z2
	VMOVDQU64 128(SI), Z3
	VMOVDQU64 192(SI), Z4
	VPXORQ    Z10, Z1, Z1
	ADDQ      $256, SI
	SUBQ      $256, CX
	CMPQ      CX, $256
	JB        fold4

	VBROADCASTI32X4 fold256<>+0(SB), Z0

	PCALIGN $32
loop256:
	VMOVDQU64  (SI), Z11
	VMOVDQU64  64(SI), Z12
	VMOVDQU64  128(SI), Z13
	VMOVDQU64  192(SI), Z14
	VPCLMULQDQ $0x11, Z0, Z1, Z5
	VPCLMULQDQ $0x11, Z0, Z2, Z6
	VPCLMULQDQ $0x11, Z0, Z3, Z7
	VPCLMULQDQ $0x11, Z0, Z4, Z8
	VPCLMULQDQ $0x00, Z0, Z1, Z1
	VPCLMULQDQ $0x00, Z0, Z2, Z2
	VPCLMULQDQ $0x00, Z0, Z3, Z3
	VPCLMULQDQ $0x00, Z0, Z4, Z4
	VPTERNLOGD $0x96, Z11, Z5, Z1
	VPTERNLOGD $0x96, Z12, Z6, Z2
	VPTERNLOGD $0x96, Z13, Z7, Z3
	VPTERNLOGD $0x96, Z14, Z8, Z4
	ADDQ       $256, SI
	SUBQ       $256, CX
	CMPQ       CX, $256
	JAE        loop256

fold4:
	// Fold Z1 into Z2, Z2 into Z3, Z3 into Z4 (64 bytes apart each).
	VBROADCASTI32X4 fold64<>+0(SB), Z0
	VPCLMULQDQ      $0x11, Z0, Z1, Z5
	VPCLMULQDQ      $0x00, Z0, Z1, Z1
	VPTERNLOGD      $0x96, Z5, Z1, Z2
	VPCLMULQDQ      $0x11, Z0, Z2, Z5
	VPCLMULQDQ      $0x00, Z0, Z2, Z2
	VPTERNLOGD      $0x96, Z5, Z2, Z3
	VPCLMULQDQ      $0x11, Z0, Z3, Z5
	VPCLMULQDQ      $0x00, Z0, Z3, Z3
	VPTERNLOGD      $0x96, Z5, Z3, Z4
	CMPQ            CX, $64
	JB              lanes

loop64:
	VMOVDQU64  (SI), Z11
	VPCLMULQDQ $0x11, Z0, Z4, Z5
	VPCLMULQDQ $0x00, Z0, Z4, Z4
	VPTERNLOGD $0x96, Z11, Z5, Z4
	ADDQ       $64, SI
	SUBQ       $64, CX
	CMPQ       CX, $64
	JAE        loop64

lanes:
	// Fold the four lanes of Z4 into X1, 16 bytes at a time.
	VEXTRACTI32X4 $1, Z4, X2
	VEXTRACTI32X4 $2, Z4, X3
	VEXTRACTI32X4 $3, Z4, X5
	VMOVDQA       X4, X1
	VZEROUPPER

	MOVOU     fold16<>+0(SB), X0
	MOVOA     X1, X6
	PCLMULQDQ $0x00, X0, X1
	PCLMULQDQ $0x11, X0, X6
	PXOR      X6, X1
	PXOR      X2, X1
	MOVOA     X1, X6
	PCLMULQDQ $0x00, X0, X1
	PCLMULQDQ $0x11, X0, X6
	PXOR      X6, X1
	PXOR      X3, X1
	MOVOA     X1, X6
	PCLMULQDQ $0x00, X0, X1
	PCLMULQDQ $0x11, X0, X6
	PXOR      X6, X1
	PXOR      X5, X1

	CMPQ CX, $16
	JB   reduce

loop16:
	MOVOU     (SI), X10
	MOVOA     X1, X6
	PCLMULQDQ $0x00, X0, X1
	PCLMULQDQ $0x11, X0, X6
	PXOR      X6, X1
	PXOR      X10, X1
	ADDQ      $16, SI
	SUBQ      $16, CX
	CMPQ      CX, $16
	JAE       loop16

reduce:
	// 128 bits to 64 (by k(128-32), the high qword of X0), 64 to 32
	// (by k(64)), then Barrett reduction to the 32-bit remainder.
	PCMPEQB   X3, X3
	PCLMULQDQ $0x01, X1, X0
	PSRLDQ    $8, X1
	PXOR      X0, X1

	MOVOA     X1, X2
	MOVQ      fold8<>+0(SB), X0
	PSRLQ     $32, X3
	PSRLDQ    $4, X2
	PAND      X3, X1
	PCLMULQDQ $0x00, X0, X1
	PXOR      X2, X1

	MOVOU     barrett<>+0(SB), X0
	MOVOA     X1, X2
	PAND      X3, X1
	PCLMULQDQ $0x10, X0, X1
	PAND      X3, X1
	PCLMULQDQ $0x00, X0, X1
	PXOR      X2, X1

	PEXTRD $1, X1, AX
	MOVL   AX, ret+32(FP)
	RET
