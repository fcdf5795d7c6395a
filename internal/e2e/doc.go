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
// sources; long polls wait for data and answer when it comes (and do not
// hold up a clean stop); the broker reports the identity it was configured
// with; data survives a clean restart; topics are auto-created; and
// garbage on a socket closes that connection without hurting anyone else.
//
// One file per concern: the codec x acks matrix per client
// (franz_test.go, sarama_test.go, kafkago_test.go), list_offsets_test.go,
// delete_records_test.go, configs_test.go, long_poll_test.go,
// shutdown_test.go, identity_test.go, restart_test.go,
// auto_create_test.go and bad_input_test.go; harness_test.go holds the
// shared record set and its comparison, and a bare connection that frames
// requests by hand (the framing is drawn in internal/network's doc) to send
// an exact version, or bytes that are no request at all.
//
// Where a client cannot observe something (kafka-go's Reader returns an
// empty key as nil, its ListOffsets replaces the broker's timestamp with
// the requested one), the test says so and checks it another way. Where a
// client gives no ordering (kafka-go spreads an acks=0 Writer's batches
// over several connections), the test waits as a user would.
//
// The package holds only tests (this file exists to say what they are for);
// one broker per top-level test, started on a free loopback port with its
// data in the test's temp dir. Unit tests of each subsystem live with the
// subsystem; crash recovery (kill -9, torn tails) is covered in
// internal/storage.
package e2e
