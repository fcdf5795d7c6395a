package metadata

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Entry framing, shared by the log and the snapshot (see doc.go):
//
//	length  uint32  bytes after the crc field
//	crc     uint32  CRC-32C of those bytes
//	offset  int64
//	records         AppendRecords encoding
const (
	frameHeaderSize = 8 // length + crc
	minFrameLength  = 9 // offset + a one-byte record count

	// MaxEntryBytes bounds one log entry. Kafka bounds a single operation
	// at 10,000 records; a batch at this size holds far more, and the
	// bound keeps a corrupt length from asking for gigabytes.
	MaxEntryBytes = 64 << 20
)

// File headers: a magic naming the file kind and a format version.
const (
	fileHeaderSize    = 8
	logMagic          = "SMML" // Samsa metadata log
	snapshotMagic     = "SMMS" // Samsa metadata snapshot
	fileFormatVersion = 1
)

func appendFileHeader(b []byte, magic string) []byte {
	b = append(b, magic...)
	return binary.BigEndian.AppendUint32(b, fileFormatVersion)
}

func checkFileHeader(b []byte, magic string) error {
	if len(b) < fileHeaderSize {
		return fmt.Errorf("%w: file header is %d bytes, want %d", ErrCorrupt, len(b), fileHeaderSize)
	}
	if string(b[:4]) != magic {
		return fmt.Errorf("%w: magic %q, want %q", ErrCorrupt, b[:4], magic)
	}
	if v := binary.BigEndian.Uint32(b[4:8]); v != fileFormatVersion {
		return fmt.Errorf("%w: format version %d, this build reads %d", ErrCorrupt, v, fileFormatVersion)
	}
	return nil
}

// appendFrame appends one framed entry holding recs at offset.
func appendFrame(dst []byte, offset int64, recs []Record) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, frameHeaderSize)...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(offset))
	dst = AppendRecords(dst, recs)
	putFrameHeader(dst[start:])
	return dst
}

// putFrameHeader fills in the length and CRC of the frame that starts at
// frame[0] and runs to the end of frame.
func putFrameHeader(frame []byte) {
	body := frame[frameHeaderSize:]
	binary.BigEndian.PutUint32(frame, uint32(len(body)))
	binary.BigEndian.PutUint32(frame[4:], crc32.Checksum(body, castagnoli))
}

// errTorn marks a frame that is incomplete or fails its checksum: what a
// crash in the middle of a write leaves behind.
var errTorn = errors.New("metadata: torn or corrupt entry")

// readFrame reads the frame at the start of b. It returns the frame's
// offset, its undecoded records, and its total size. errTorn means the
// bytes are not a whole, intact frame; an error wrapping ErrMalformed means
// the frame is intact but its records do not decode.
func readFrame(b []byte) (offset int64, recs []Record, size int, err error) {
	if len(b) < frameHeaderSize {
		return 0, nil, 0, fmt.Errorf("%w: %d bytes left, a frame header needs %d", errTorn, len(b), frameHeaderSize)
	}
	length := binary.BigEndian.Uint32(b)
	if length < minFrameLength || length > MaxEntryBytes {
		return 0, nil, 0, fmt.Errorf("%w: frame length %d", errTorn, length)
	}
	if uint64(len(b)-frameHeaderSize) < uint64(length) {
		return 0, nil, 0, fmt.Errorf("%w: frame length %d, %d bytes left", errTorn, length, len(b)-frameHeaderSize)
	}
	body := b[frameHeaderSize : frameHeaderSize+int(length)]
	if got, want := crc32.Checksum(body, castagnoli), binary.BigEndian.Uint32(b[4:]); got != want {
		return 0, nil, 0, fmt.Errorf("%w: crc %08x, header says %08x", errTorn, got, want)
	}
	offset = int64(binary.BigEndian.Uint64(body))
	recs, err = DecodeRecords(body[8:])
	if err != nil {
		return 0, nil, 0, err
	}
	return offset, recs, frameHeaderSize + int(length), nil
}
