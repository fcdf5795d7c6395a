// Package metadata owns the cluster metadata: topics (name, ID, internal
// flag), partitions (replicas, ISR, leader and epochs), topic and dynamic
// broker config overrides, registered brokers and finalised features; and
// the identity files (meta.properties) of the log dirs.
//
// It follows Kafka's KRaft design: metadata is a log of records, and the
// state every request handler reads is an in-memory image built by
// replaying that log.
//
//   - Records (records.go) are the only way metadata changes. Their types
//     mirror KRaft's (TopicRecord, PartitionRecord, PartitionChangeRecord,
//     ConfigRecord, RemoveTopicRecord, FeatureLevelRecord,
//     RegisterBrokerRecord, UnregisterBrokerRecord, ProducerIdsRecord) and
//     use KRaft's type numbers.
//   - An Image (image.go) is an immutable snapshot. Image.Apply turns an
//     image and a Batch of records into the next image and a Delta, copying
//     only what the batch touches. Applying the same batches always yields
//     the same image.
//   - A Publisher holds the current image behind an atomic pointer (readers
//     never lock) and tells Listeners about each Delta, in order.
//   - A Log orders batches and feeds the committed ones to the Publisher.
//     LocalLog is the single-node log: a file of checksummed entries,
//     fsynced before a change is published, plus a snapshot that compacts
//     it. A Raft-replicated log will implement the same interface and feed a
//     Publisher on every node from its state machine; nothing above Log
//     changes.
//   - The Controller is the single writer: it validates admin operations
//     (CreateTopics, DeleteTopics, CreatePartitions, config changes, broker
//     registration, producer id blocks) against the current image with
//     Kafka's rules and error messages, and commits them through the Log. Its errors wrap sentinels
//     (errors.go) that the handler maps to Kafka error codes, and
//     ErrorMessage gives the text for error_message. Config validation and
//     replica placement are injected (ControllerConfig), so this package
//     knows no config names and the cluster work can bring rack-aware
//     placement.
//   - OpenLocal wires a single-node broker: meta.properties in every log
//     dir, the LocalLog under the first one, a Publisher and a Controller.
//
// # Record encoding
//
// All fixed-width integers are big-endian. uvarint is unsigned LEB128
// (encoding/binary.AppendUvarint), always minimal. Composite types:
//
//	string           uvarint length, bytes
//	nullable string  uvarint length+1 (0 = null), bytes
//	int32 array      uvarint count, count × int32
//	nullable array   uvarint count+1 (0 = null), count × int32
//	uuid             16 bytes, most significant first
//	bool             1 byte, 0 or 1
//
// A record is a type byte, a version byte (0 for every type today; a decoder
// refuses versions newer than it knows) and a body:
//
//	type  record                 body (version 0)
//	   0  RegisterBrokerRecord   brokerId int32, epoch int64, rack string, fenced bool,
//	                             uvarint count × (listener string, host string,
//	                                              port uint16, securityProtocol int16)
//	   1  UnregisterBrokerRecord brokerId int32, epoch int64
//	   2  TopicRecord            name string, topicId uuid, internal bool
//	   3  PartitionRecord        partitionId int32, topicId uuid, replicas int32 array,
//	                             isr int32 array, leader int32, leaderEpoch int32,
//	                             partitionEpoch int32
//	   4  ConfigRecord           resourceType int8 (2 topic, 4 broker), resourceName string,
//	                             name string, value nullable string (null = delete)
//	   5  PartitionChangeRecord  partitionId int32, topicId uuid, isr nullable array,
//	                             leader int32 (-2 = unchanged), replicas nullable array
//	   9  RemoveTopicRecord      topicId uuid
//	  12  FeatureLevelRecord     name string, level int16 (0 = remove)
//	  15  ProducerIdsRecord      brokerId int32, brokerEpoch int64, nextProducerId int64
//	                             (the broker owns [previous nextProducerId, this one))
//
// A batch body is a uvarint record count followed by each record prefixed
// with its uvarint length, so that every record's bytes are delimited and a
// decoder can insist that each one is consumed exactly.
//
// # Files in the metadata log dir (<first log dir>/__cluster_metadata-0/)
//
// Both files start with an 8-byte header, then frames:
//
//	header:  magic [4]byte ("SMML" log, "SMMS" snapshot), formatVersion uint32 (1)
//
//	frame:   offset  size
//	              0     4  length  uint32, bytes after the crc field (9 .. 64 MiB)
//	              4     4  crc     CRC-32C (Castagnoli) of those bytes
//	              8     8  offset  int64, the batch's offset
//	             16     …  batch body (above)
//
// metadata.log holds one frame per committed batch, offsets dense and
// increasing. Append writes the frame and fsyncs before the batch is
// published, so nothing a client was told about can be lost by a crash.
// Opening replays the frames: the first frame that is incomplete or fails
// its CRC (a torn write) is truncated away with everything after it, and
// every frame before it is kept. A frame that passes its CRC but does not
// decode or apply, a gap in offsets, or a bad header is not a torn write
// and refuses the open (ErrCorrupt).
//
// metadata.snapshot holds the image at one offset: frames that all carry
// that offset and together hold Image.Records() (chunked at about 1 MiB),
// then a frame with zero records that terminates the snapshot. Compaction
// writes a snapshot of the current image atomically (temporary file, fsync,
// rename, fsync of the directory), then replaces the log the same way with
// an empty one. A crash between the two leaves the new snapshot and the old
// log; replay skips the log's frames at or below the snapshot's offset.
//
// # meta.properties (in every log dir)
//
// Kafka's identity file, in Java properties syntax (see MetaProperties):
// version=1, cluster.id (22-character base64url UUID), node.id and
// directory.id. EnsureMetaProperties refuses to start on a node.id or
// cluster.id mismatch, as Kafka does, and writes missing files, generating
// the cluster ID on first start.
package metadata
