// Package record owns Kafka's RecordBatch format (magic v2): parsing and
// validating batches as producers send them, assigning offsets and
// LogAppendTime timestamps in place, iterating records (decompressing where
// needed), and building batches (for tests and for the broker's own internal
// topics). It knows nothing about files or partitions; internal/storage
// stores the bytes this package has validated exactly as they are.
//
// # Batch layout (all integers big-endian)
//
//	offset  size  field
//	     0     8  baseOffset            assigned by the broker on append
//	     8     4  batchLength           bytes after this field (total - 12)
//	    12     4  partitionLeaderEpoch  set by the broker on append
//	    16     1  magic                 2
//	    17     4  crc                   CRC-32C (Castagnoli) of bytes [21, end)
//	    21     2  attributes            see below
//	    23     4  lastOffsetDelta
//	    27     8  baseTimestamp
//	    35     8  maxTimestamp
//	    43     8  producerId            -1 when not idempotent
//	    51     2  producerEpoch
//	    53     4  baseSequence
//	    57     4  recordCount
//	    61     …  records               compressed as one block if codec != none
//
// The CRC deliberately excludes baseOffset, batchLength and
// partitionLeaderEpoch, so the broker rewrites those three without
// recomputing it. Setting LogAppendTime changes attributes and maxTimestamp,
// which the CRC covers, so that path recomputes it.
//
// Attributes (int16):
//
//	bits 0-2  compression codec: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd
//	bit  3    timestamp type: 0 CreateTime, 1 LogAppendTime
//	bit  4    isTransactional
//	bit  5    isControlBatch (a commit/abort marker)
//	bit  6    hasDeleteHorizonMs (set by the cleaner: baseTimestamp is then
//	          the delete horizon for tombstones and markers in the batch)
//
// # Record layout (inside the records block; varints are zig-zag, as protobuf sint)
//
//	length          varint   bytes after this field
//	attributes      int8     unused, 0
//	timestampDelta  varlong  from baseTimestamp
//	offsetDelta     varint   from baseOffset
//	keyLength       varint   -1 for a null key
//	key             bytes
//	valueLength     varint   -1 for a null value (a tombstone)
//	value           bytes
//	headerCount     varint
//	headers         repeated: keyLength varint, key, valueLength varint, value
package record
