// Package record owns Kafka's RecordBatch format (magic v2): parsing and
// validating batches as producers send them (Validate), assigning offsets,
// leader epochs and LogAppendTime timestamps in place, iterating records
// (Batch.Records, decompressing where needed), the compression codecs, the
// transaction control records, and building batches (Builder, for tests and
// for the broker's own internal topics and markers). It knows nothing about
// files or partitions; internal/storage stores the bytes this package has
// validated exactly as they are.
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
//
// Records parses strictly: varints must be well-formed and fit their type
// (at most 5 bytes and 32 bits for varint, 10 bytes and 64 bits for
// varlong), lengths must fit inside the record, a record's fields must use
// exactly its declared length, a header key cannot be null, the batch must
// hold exactly recordCount records and nothing after them. Offset is
// baseOffset + offsetDelta; Timestamp is baseTimestamp + timestampDelta,
// or maxTimestamp for every record of a LogAppendTime batch, as Kafka's
// consumers read it.
//
// # Control records (transaction markers)
//
// A control batch (attribute bit 5) holds one record whose key and value
// are, big-endian:
//
//	key:   version int16 (0), type int16 (0 ABORT, 1 COMMIT)
//	value: version int16 (0), coordinatorEpoch int32
//
// NewEndTxnMarkerBatch builds one as Kafka's coordinator does
// (transactional, producer id and epoch, no sequence, uncompressed);
// Batch.EndTxnMarker reads it back.
//
// # Compression
//
// The records block (everything after the 61-byte header) is compressed
// as one unit when the codec bits say so. AppendCompressed writes what
// Kafka's Java client reads, and AppendDecompressed reads what any client
// writes:
//
//	gzip    one gzip member (multi-member input is read too)
//	snappy  written in xerial framing, as Java's snappy-java does:
//	          magic 0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00, int32 version 1,
//	          int32 min-compatible version 1, then chunks of
//	          [int32 length][snappy block] of up to 32 KiB input each;
//	        read: xerial framing or one raw snappy block (librdkafka,
//	        franz-go, sarama), strictly as standard snappy: S2's repeat
//	        code (a copy-1 with offset 0) is refused (snappy.go)
//	lz4     the LZ4 frame format: written with independent 64 KiB blocks
//	        and no content checksum (Java's Lz4BlockOutputStream); read
//	        only if it is exactly one frame with independent blocks and no
//	        dictionary, since Java's reader rejects or truncates anything
//	        else and the broker must not store what Java cannot consume
//	zstd    one or more zstd frames, window up to 2^27 (zstd-jni's limit)
//
// Decompression is bounded: a block may expand to UncompressedLimit of its
// size (256x, at least 16 MiB, at most MaxUncompressedBytes = 256 MiB);
// beyond that it is ErrCorrupt, after a bounded allocation (a small
// multiple of the limit). The limit depends only on the compressed size,
// so whatever Validate accepted, Records reads later. Encoders and
// decoders come from sync.Pools (one shared zstd encoder, which is safe
// for concurrent use); none starts a goroutine; every exported function of
// the package is safe for concurrent use, while a Batch must not be read
// while a setter writes it and a Builder belongs to one goroutine.
//
// # Validation (Validate), in order, as Kafka's broker for magic 2
//
//	header present, length field == bytes            ErrCorrupt
//	magic == 2                                       ErrInvalid
//	size <= max.message.bytes                        ErrTooLarge
//	CRC-32C                                          ErrCorrupt
//	codec id <= 4                                    ErrUnsupportedCodec
//	lastOffsetDelta >= 0, recordCount > 0,
//	  lastOffsetDelta == recordCount - 1             ErrInvalid
//	no control batch from a client                   ErrInvalid
//	transactional => producerId >= 0                 ErrInvalid
//	from a client: producerId >= 0 =>
//	  baseSequence >= 0                              ErrInvalid
//	records block decompresses within the limit      ErrCorrupt
//	records parse strictly, count == recordCount     ErrInvalid
//	offset deltas are 0, 1, ..., recordCount-1       ErrInvalid
//	control batch records carry a control key        ErrInvalid
//	per record, collected (*ValidationError):
//	  compacted topic => non-null key                ErrInvalid
//	  CreateTime topic, timestamp != -1 =>
//	    now-before.max <= ts <= now+after.max        ErrInvalidTimestamp
//	  producer set LogAppendTime                     ErrInvalidTimestamp
//
// SingleBatch checks beforehand that a produce request's records for a
// partition are exactly one batch. ErrInvalidTimestamp wraps ErrInvalid
// (test it first). Records parse
// errors are ErrCorrupt from Records (stored data) but ErrInvalid from
// Validate, whose CRC check has passed: Kafka answers INVALID_RECORD
// there, which a producer does not retry.
//
// # Ownership of slices
//
// A Batch aliases the buffer it was sliced from; setters write into it.
// Record.Key, Record.Value and header values alias the batch, or for a
// compressed batch a pooled buffer reused once Records returns: they are
// valid only during the callback, and Records reuses the Record and its
// Headers slice. Header keys are strings (copies). Builder.Build and the
// Append functions return memory the caller owns.
//
// # Performance
//
// Validate of an uncompressed batch is a CRC-32C over the batch and a
// walk over its records. Both have fast paths; neither skips a check:
//
//   - crc32cUpdate (crc32c.go, crc32c_amd64.s) computes every batch CRC.
//     On amd64 CPUs with AVX-512 and VPCLMULQDQ (Intel Ice Lake, AMD
//     Zen 4 and later) it folds inputs of 1 KiB or more by carry-less
//     multiplication, 256 bytes per iteration in four 512-bit registers,
//     from a 64-byte boundary, as hash/crc32 does for IEEE; elsewhere it
//     is hash/crc32 (three streams of the SSE 4.2 CRC32 instruction on
//     amd64). Tests check it against hash/crc32 at every length and
//     alignment, derive its constants from the polynomial, and fuzz it.
//   - walkPlain walks a data batch's records (decompressed if need be):
//     records whose varints take one or two bytes are checked in a loop
//     that calls nothing and builds no Record; a record with a longer
//     varint is read by the general reader; the first record that breaks
//     a rule sends the batch to the general walk, which reports the
//     error, so messages and RecordErrors are the general walk's. A
//     differential test on random batches and FuzzValidateFastPath check
//     that both walks agree on any input.
//
// BenchmarkValidate validates a 1 MiB batch of 1024 records with 1 KiB
// text-like values (1,061,821 bytes uncompressed). 2-core VM, Intel Xeon
// with AVX-512 and VPCLMULQDQ, go1.26.8, 2026-11-22, load average 1-4;
// medians of 6 runs, alternating with the code before these fast paths
// (commit 99c21ee). Wall-clock time per batch, CPU time (user + system,
// cpu-ns/op; the old build does not report it) and MB/s of uncompressed
// batch per second of CPU time:
//
//	go test -run '^$' -bench 'Validate|CRC32C' -benchmem ./internal/record
//
//	                         before     now      now, CPU   CPU MB/s
//	CRC-32C, hash/crc32      38.9 us    36.7 us   36.4 us    29,100
//	CRC-32C, crc32cUpdate       -        9.6 us    9.5 us   111,500
//	Validate none            60.7 us    19.1 us   18.8 us    56,400  0 allocs
//	  with the general walk     -       31.9 us   31.3 us    33,900
//	Validate lz4              404 us     394 us    388 us     2,740  decompress alone 372 us
//	Validate zstd             775 us     770 us    756 us     1,400  decompress alone 740 us
//	Validate snappy          1.20 ms    1.18 ms   1.16 ms       920  decompress alone 1.14 ms
//	  since s2.Decode + walk    -        0.67 ms      -        1,590  decompress alone 0.63 ms
//	Validate gzip            2.75 ms    2.63 ms   2.63 ms       400  decompress alone 2.61 ms
//
// So Validate of an uncompressed 1 MiB batch went from about 60 to 19 us:
// the CRC from 36 to 9.5 us, the walk from 22 to 9 us (9 ns per record).
// Compressed validation costs what decompression costs (its CRC is over
// the smaller compressed bytes; pooled buffers, amortized allocations
// only when a GC empties the pools). The walk weighs more with small
// records: BenchmarkValidateSmallRecords (8192 records of 100 bytes,
// 925 KB) takes 81 us of CPU uncompressed with the fast walk and 191 us
// with the general one, 380 and 493 us with lz4, 1.23 and 1.36 ms with
// snappy. Compressed sizes of the 1 KiB-record batch: lz4 2.6x smaller,
// snappy 3.5x, gzip and zstd 5.2x.
//
// Snappy blocks were decoded with snappy.DecodeStrict (pure Go); they are
// now decoded with s2.Decode (assembly), which accepts exactly the same
// blocks but one construct, S2's repeat code, found by a separate walk of
// the tags run as four interleaved chains (snappy.go explains why that is
// exact). 2026-11-22, load average about 1.5; BenchmarkValidate rows are
// medians of 3 in one run (its -DecodeStrict rows are the old decoder),
// BenchmarkSnappyDecode rows one run (MB/s from wall-clock time):
//
//	go test -run '^$' -bench 'Validate$|SnappyDecode' -count 3 ./internal/record
//
//	                            DecodeStrict   s2.Decode + walk   ratio
//	Validate snappy (xerial)       1.21 ms         0.67 ms        1.8x
//	  decompress alone             1.19 ms         0.63 ms        1.9x
//	1 MiB text, one raw block      1.13 ms         0.59 ms        1.9x
//	  in 32 KiB chunks             1.15 ms         0.63 ms        1.8x
//	1 MiB JSON-like, one block     0.61 ms         0.40 ms        1.5x
//	  in 32 KiB chunks             0.55 ms         0.43 ms        1.3x
//
// Of the text block's 0.59 ms, s2.Decode takes 0.43 and the walk 0.16; a
// plain one-chain walk took 0.36 ms (2.9 GB/s), as long as the decode.
//
// BenchmarkCRC32C: crc32cUpdate's kernel is faster than hash/crc32 from
// 256 bytes (9 against 14 ns) and 3.8x as fast from 4 KiB (37 against
// 140 ns) to 1 MiB (9.3 against 36 us); crc32cFoldMin is 1 KiB (2.3x
// there) so that small batches do not wake the 512-bit units.
//
// Tried and not adopted, measured on the same machine: computing the CRC
// in 4-32 KiB chunks just ahead of the walk, so that the walk reads
// record headers from L1, changed CPU time by -1.6% to +2.5% (the walk
// is bound by instructions, not memory); computing the CRC of a large
// batch on two goroutines and combining the halves (zlib's
// crc32_combine, for Castagnoli) cost 43% more CPU at 1 MiB (52 against
// 36 us) and 48% more at 256 KiB, and under the load of other builds
// was slower by the wall clock too (44 against 37 us), so it would take
// CPU from a broker's other work for no gain; folding on one core is
// 3.8x instead.
package record
