//go:build !amd64 || purego

package record

// haveCRC32CFold is false off amd64: crc32cUpdate is hash/crc32's
// (which uses the CPU's CRC instructions where it has them).
const haveCRC32CFold = false

const crc32cFoldMin = 1024

func castagnoliAVX512(crc uint32, p []byte) uint32 { panic("record: castagnoliAVX512 without amd64") }
