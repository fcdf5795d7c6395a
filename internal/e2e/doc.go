// Package e2e is the layer-2 integration suite: it starts the exact broker
// `samsa serve` assembles (testutil.StartBroker → server.Start, every
// subsystem, real loopback sockets) and drives it with three independent
// Kafka clients written by other people, because the wire protocol is the
// contract and real clients are the judges:
//
//   - franz-go: kgo (producer, direct partition consumer, raw kmsg requests)
//     and kadm (topics, offsets, DeleteRecords, configs, cluster);
//   - IBM/sarama: SyncProducer, Consumer/PartitionConsumer, ClusterAdmin;
//   - segmentio/kafka-go: Writer, Reader, Client and Conn.
//
// Each test sees the broker as a user does. It checks what the user would
// notice: every key, value (including null), header and timestamp comes back
// as produced, in per-partition order at contiguous offsets, for every
// compression codec and every acks mode; offsets can be listed by time;
// deleted records stay deleted; configs round-trip with Kafka's names and
// sources; long polls wait for data and answer when it comes; the broker
// reports the identity it was configured with; data survives a clean
// restart; topics are auto-created; and garbage on a socket closes that
// connection without hurting anyone else.
//
// The package holds only tests (this file exists to say what they are for).
// Unit tests of each subsystem live with the subsystem; crash recovery
// (kill -9, torn tails) is covered in internal/storage.
package e2e
