// Package storage owns partition logs on disk in Apache Kafka's layout:
// segments (.log, .index, .timeindex, .txnindex), the leader epoch cache
// (leader-epoch-checkpoint) and partition.metadata, with Kafka's append,
// read, roll, flush, truncation, retention and crash-recovery rules
// (Kafka's LogSegment, OffsetIndex, TimeIndex, TransactionIndex,
// LocalLog/UnifiedLog, LogLoader and LeaderEpochFileCache). The log
// manager (log directories, checkpoints, background loops) lives in this
// package too, in manager*.go.
//
// Record batches are stored exactly as validated by internal/record, so a
// fetch sends file bytes with sendfile (ReadResult.WriteTo).
//
// # Directory layout
//
// One directory per partition, <topic>-<partition>/:
//
//	00000000000000000000.log        batches with offsets >= 0
//	00000000000000000000.index      sparse offset index of that segment
//	00000000000000000000.timeindex  time index of that segment
//	00000000000000000000.txnindex   aborted transactions (only once one exists)
//	00000000000000004096.log        next segment: its base offset, 20 digits
//	...
//	leader-epoch-checkpoint
//	partition.metadata
//	00000000000000004096.snapshot   producer state of every batch below 4096
//
// Transient names: *.deleted (a segment removed from the log whose files
// wait file.delete.delay.ms for in-flight reads), *.cleaned and *.swap
// (log cleaner output, see Compaction), *.tmp (an atomic checkpoint write). Open removes
// or completes all of them.
//
// # .log
//
// Whole RecordBatch v2 batches (see internal/record's doc for the batch
// layout), back to back, offsets strictly increasing. With preallocate the
// file is extended to segment.bytes when created and trimmed to its data
// when the segment is rolled or closed.
//
// # .index (offset index): 8-byte entries, big-endian
//
//	offset  size  field
//	     0     4  relativeOffset  last offset of the batch, minus the segment's base offset
//	     4     4  position        byte position of that batch in the .log
//
// One entry is added before a batch whenever more than
// index.interval.bytes were appended since the previous entry, so the
// index is sparse. Lookup takes the last entry at or below the wanted
// offset and scans batch headers forward from its position.
//
// # .timeindex: 12-byte entries, big-endian
//
//	offset  size  field
//	     0     8  timestamp       largest batch max timestamp seen so far
//	     8     4  relativeOffset  last offset of the batch carrying it
//
// An entry is added with each offset index entry when the segment's
// largest timestamp grew, and once more when the segment is rolled or
// closed, so the last entry is the segment's largest timestamp (used by
// retention.ms and by ListOffsets). Both fields strictly increase.
//
// Both index files are preallocated (sparse) to segment.index.bytes,
// rounded down to whole entries, while their segment is active, and
// trimmed to exactly their entries on roll and close; an index that is
// full rolls the segment. Relative offsets must fit an int32, so an append
// whose last offset is more than MaxInt32 above the segment's base rolls
// first.
//
// # .txnindex: 34-byte entries, big-endian
//
//	offset  size  field
//	     0     2  version           0
//	     2     8  producerId
//	    10     8  firstOffset       first offset of the aborted transaction
//	    18     8  lastOffset        offset of its ABORT marker (in this segment)
//	    26     8  lastStableOffset  the partition's LSO when the abort was written
//
// Entries are in marker order. The file exists only once an entry does.
//
// # .snapshot (producer state): big-endian
//
// Idempotent producers' state (Kafka's ProducerStateManager, see
// producerstate.go): per producer id the epoch and its last five batches'
// sequence and offset ranges, for duplicate and sequence checks. The file
// <offset>.snapshot holds the state of every batch below offset:
//
//	offset  size  field
//	     0     2  version             1
//	     2     4  crc                 CRC-32C of everything after this field
//	     6     4  entryCount
//	    10        entries, by ascending producerId:
//	              8  producerId
//	              2  producerEpoch
//	              4  coordinatorEpoch        -1 if none
//	              8  currentTxnFirstOffset   -1 if no open transaction
//	              8  lastTimestamp           max timestamp of its last batch (expiry)
//	              1  batchCount              0..5, oldest first:
//	                 4  firstSeq
//	                 4  lastSeq
//	                 8  firstOffset
//	                 8  lastOffset
//	                 8  maxTimestamp
//
// Unlike Kafka's format (one batch per producer), all five cached batches
// are kept, so a retry of any of them is still detected after a restart.
// A snapshot is written at each new segment's base offset on roll (not
// fsynced on the append path: a torn one fails its CRC and is ignored)
// and at the log end offset on Close (atomically, fsynced). Only the
// newest three are kept; truncation deletes those above the new end,
// retention and DeleteRecords those below the log start. Open deletes
// those outside [log start, log end], loads the newest that decodes (a
// corrupt one is deleted, never fatal) and replays the batch headers above
// it; after a clean shutdown that is the one at the log end, so nothing is
// read.
//
// # leader-epoch-checkpoint and partition.metadata
//
// Text, written atomically (temp file, fsync, rename, fsync directory):
//
//	0            version                  version: 0
//	2            entry count              topic_id: <base64url, 22 chars>
//	0 0          epoch startOffset
//	5 1042
//
// # Index design: resident while active, pread when inactive
//
// Kafka memory-maps every index. Here an active segment's index entries
// live in a Go slice (the authoritative copy, searched in memory) and are
// written to the preallocated file lazily, on flush, roll and close: index
// contents only have to be durable once the recovery point passes them,
// and recovery rebuilds the indexes of everything above it. An inactive
// segment's index is searched in its trimmed file with one pread per
// binary-search probe, so lookups stay O(log n), memory is proportional to
// the active segments rather than the whole log, no file is mapped (there
// is no mmap count limit to hit and nothing can fault on an unmapped or
// truncated region), and the append path makes no system call for
// indexing. An inactive segment's index files are opened on first lookup
// (Open closes them after checking), so a log holds about one descriptor
// per segment. Open's sanity check looks only at an index's ends (both
// last entries are confirmed against the batch headers they name: the
// time index's last one is the segment's largest timestamp), so every
// entry a lookup uses is confirmed against the batch header it points at;
// a damaged entry costs a scan of the segment, never a wrong answer.
//
// # Concurrency
//
// A Log is safe for concurrent use. appendMu serializes writers (Append,
// Roll, truncation, retention, Close). An append publishes without any
// lock a reader holds: after the write(2) it stores the new index entries
// (written beyond the published count, the count stored last), then the
// segment's size, then the log end offset, all atomically, so readers
// see only whole, committed batches and appends never wait for a reader's
// disk read. Readers (Read, OffsetForTimestamp, CollectAbortedTxns) hold
// mu shared while they locate bytes; only structural changes (roll,
// truncation, retention, Close) take it exclusively, briefly. fsync runs
// under flushMu alone, which neither readers nor the append path wait
// for. Lock order: appendMu, flushMu, mu.
//
// Segments leaving the log (retention, truncation) are renamed to
// *.deleted at once and closed and removed after file.delete.delay.ms, by
// the log's own timer or by the owner's scheduler (OpenOptions), so a
// ReadResult taken just before stays sendable for that long.
//
// # Durability and recovery
//
// Appends reach the page cache; fsync happens when flush.messages
// messages are unflushed, when the manager finds flush.ms elapsed
// (FlushDue), for the old segment after every roll (in the background),
// and on Close. The recovery point is the offset below which everything
// (data and indexes) is fsynced. Open trusts segments below it and
// rescans the rest after an unclean shutdown, truncating at the first
// torn or corrupt batch; see Open.
//
// Truncation (TruncateTo, TruncateFullyAndStartAt) is durable before it
// returns, so before any later append: the directory is fsynced after the
// doomed segments are renamed to .deleted (and a new segment created),
// and a cut .log is fsynced at its new length. Inside the broker it goes
// through the Manager, which lowers the recovery point to the truncation
// offset and checkpoints it before touching any file, and checkpoints the
// recovery point and log start offset again after: a crash at any instant
// has the next start scan everything the truncation touched. Should a
// truncation's directory update still be lost (a disk that lies), its
// doomed segments come back overlapping newer data; recovery keeps the
// earlier segment, which holds the newer data, and sets the later ones
// aside (Open, setAside).
//
// # Compaction (the log cleaner, cleaner*.go)
//
// Kafka's LogCleaner for logs whose cleanup.policy has compact. The
// Manager runs log.cleaner.threads goroutines (stopped by Close); each
// picks the filthiest log (CleanOnce) and cleans it:
//
//   - The dirty section runs from the partition's entry in
//     cleaner-offset-checkpoint (the offset the last cleaning reached;
//     Kafka's format, one file per log dir) to the first uncleanable
//     offset: the lowest of the active segment's base, the last stable
//     offset (at most the high watermark), the recovery point, and the
//     base of the first segment with data younger than
//     min.compaction.lag.ms, rounded down to a segment base. A log is
//     cleaned when its dirty ratio (dirty bytes over clean plus dirty)
//     is above min.cleanable.dirty.ratio, when max.compaction.lag.ms has
//     passed for its first dirty segment, or when the earliest delete
//     horizon pending in it has come (see below), unless it is held
//     off after failed cleanings (see below).
//   - An offset map (key -> latest offset) is built over the dirty
//     section: an exact Go map, within log.cleaner.dedupe.buffer.size /
//     log.cleaner.threads bytes (key length + 64 per entry), where Kafka
//     hashes keys into a fixed buffer; when it is full the cleaning stops
//     at the last batch mapped.
//   - Every segment from the log start to the end of the mapped range
//     (the first batch the full map could not take, else the first
//     uncleanable offset) that lies wholly below that end is rewritten,
//     in groups that fit segment.bytes, segment.index.bytes and an int32
//     of offsets (groupSegmentsBySize), into one cleaned
//     segment per group named after the group's first base offset. A
//     record stays if no later offset of its key is mapped; a record
//     without a key goes (produce refuses them on compacted topics); data
//     of aborted transactions goes (.txnindex). A batch whose records
//     all stay is copied byte for byte; otherwise it is re-encoded with
//     the same base offset, last offset delta (so its last sequence
//     survives), producer id, epoch, base sequence, leader epoch and
//     codec (recompressed). The last batch of each producer the producer
//     state knows is kept even when emptied (a header with no records),
//     as Kafka does, so its sequence survives a restart.
//
// Tombstones and transaction markers live delete.retention.ms after the
// first cleaning that keeps them (KIP-534): that cleaning re-encodes
// their batch with attribute bit 6 (delete horizon) set and the horizon
// in the base timestamp field:
//
//	offset  size  field
//	    17     4  crc             recomputed over attributes..end
//	    21     2  attributes      bit 6 set: the batch has a delete horizon
//	    27     8  baseTimestamp   now + delete.retention.ms (the horizon)
//	    35     8  maxTimestamp    largest record timestamp, unchanged
//	              records: timestampDelta = record timestamp - horizon
//	              (negative; base + delta is still each record's timestamp)
//
// A later cleaning at or after the horizon drops the tombstones; a marker
// goes once no batch of its transaction remains and its horizon has
// passed. Consumers compute base + delta, as Kafka's and franz-go's do,
// so they see the original timestamps.
//
// Each cleaning records the earliest horizon still ahead of a retained
// tombstone or marker (CleanStats.NextDeleteHorizonMs; a batch that
// keeps its horizon bit but no tombstone does not count, so it cannot
// make the cleaner loop), and the log is cleaned again once it has come,
// whatever its dirty ratio. That value is in memory only, and Kafka
// loses it on a restart: a quiet topic then keeps its expired tombstones
// until enough new data is dirty. Here the first cleaner pass after a
// log is opened (not Open itself, nor the append path) recovers it
// (Log.recoverDeleteHorizon): it reads only the batch headers (4 KiB
// preads, charged to the cleaner's I/O throttle) of the segments below
// the cleaner checkpoint, where alone cleanings write horizons, once per
// log per process, and takes the smallest horizon there. Headers cannot
// tell whether the batch still holds a tombstone, so a horizon already
// passed can cost one needless cleaning, which records the exact value.
// No file format changes (cleaner-offset-checkpoint stays Kafka's).
//
// The guarantee, with B = log.cleaner.backoff.ms and a tombstone (or
// marker) first kept by a cleaning at time T, horizon H = T +
// delete.retention.ms (broker clock): it is never removed before H
// (consumers that read the log from the start within
// delete.retention.ms of that cleaning see it), other than by a later
// record of its key or, with cleanup.policy compact,delete, by
// retention. It is removed by the first cleaning at or after H:
// a cleaner thread that finds nothing to clean sleeps B, so, with the
// broker running (or started again by then) and the log's cleanings not
// failing, that is by H + B plus the time to clean the logs queued ahead
// of it (the filthiest goes first; past-due logs rank first). After a
// restart past H it goes in the first cleaner pass, which runs as the
// cleaner starts and scans before it selects. A marker also
// waits for its transaction's data to be cleaned away. A log whose
// cleanings fail waits its retry backoff too (below).
//
// A cleaning that fails (not one aborted by truncation, deletion or
// Close), such as a corrupt segment or a full disk, holds its log off
// for B, doubled after each consecutive failure up to one hour (or B if
// longer), while the thread goes on with the other logs at once. Kafka
// instead marks such a partition uncleanable until its log dir is
// replaced; retrying lets a repaired log (space freed, the bad segment
// deleted by retention or truncation) be cleaned again without a
// restart. The first failure is logged at Error, retries at Debug, and
// the first success after failures at Info, so a stuck log neither
// floods the log nor goes silent.
//
// Crash safety is Kafka's protocol: a group is written to *.cleaned files
// and fsynced, renamed to *.swap (directory fsynced); then, under the
// append lock, the new segment replaces the group in the segment list,
// the old files are renamed *.deleted (removed after
// file.delete.delay.ms, so readers holding them finish), the *.swap files
// are renamed to their live names and the directory is fsynced. Open
// discards *.cleaned files and completes *.swap files (deleting the
// segments they replace). Appends and reads go on during a cleaning:
// only each group's swap takes the append lock and mu. Cleaned segments
// end before the next segment begins (compaction removes offsets), which
// recovery's gap rule would take for a lost tail; three things keep it
// from dropping cleaned data: the cleaner only rewrites data below the
// recovery point; the manager writes recovery-point-offset-checkpoint
// before the first cleaned file is written (not merely before the first
// swap: Open completes any .swap file it finds), so an unclean start
// never scans a cleaned segment; and Open does not apply the gap rule
// below the cleaner checkpoint (OpenOptions.CleanerOffset), for a
// recovery checkpoint that was lost. For that the cleaner checkpoint is raised to the end of the
// rewritten range and written with the recovery point, and no cleaned
// segment is followed by one based above it.
//
// Truncation and deletion first abort a cleaning of the log in progress
// and hold off new ones until they are done (Kafka's
// abortAndPauseCleaning; Log.abortCleaning): the offset map may hold
// offsets the truncation removes, so records it marks superseded can be
// the latest of their keys again, and a segment read before the
// truncation may hold truncated data. A cleaning whose dirty section was
// computed before a truncation starts over. Truncation caps the cleaner
// checkpoint at the new end while the cleaner is held off (a cleaning
// records its checkpoint under the same lock), and deleting a log drops
// its entry, so a partition created again starts uncleaned.
//
// Not done yet: transactions are not implemented by the broker, so the
// transactional rules (aborted data, markers) are exercised only by
// tests that write such batches directly; log.cleaner.io.buffer.size and
// the load factor are not used (the Go map has no load factor).
//
// # fsync failure
//
// A failed fsync is never retried. On Linux the kernel may drop (mark
// clean) the dirty pages a failed fsync covered, so the next fsync
// "succeeds" although the data never reached the disk; retrying would
// move the recovery point past lost data, acknowledge produces
// (flush.messages=1 acknowledges only after fsync) that are not durable,
// and let the next start trust it. Instead the first fsync failure of any
// of a Log's files (segment, indexes, transaction index, the directory
// during a flush) fails the Log for good, as Kafka fails the log dir
// (KafkaStorageException): the failing flush returns ErrLogFailed (so an
// Append that flushed fails its produce), the recovery point is frozen,
// and every later Append, Flush, FlushUpTo, Roll, truncation, DeleteRecords
// and retention call returns ErrLogFailed. Close still closes the files,
// and the manager writes the recovery-point checkpoint (frozen, hence
// safe) but no clean-shutdown marker for that dir, so the next start
// rescans everything above the recovery point with CRC checks.
//
// Reads keep being served, unlike Kafka, which takes the dir offline.
// This broker is single-node, so there is no other replica for consumers
// to move to; what was published is in the page cache, and consumers can
// drain it before the restart. The risk is a page the kernel dropped and
// evicted, re-read from disk with stale bytes: every batch carries a CRC
// that consumers check, so such a read fails loudly rather than silently.
// All fsyncs go through the syncFile variable, which tests replace to
// inject failures.
package storage
