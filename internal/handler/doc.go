// Package handler serves Kafka requests: it decodes each request body with
// kmsg (generated from Kafka's own message definitions), checks the API
// version against the range this broker advertises, and dispatches to the
// function serving that API, one file per API key, each registering its
// version range in an init function. Errors from the subsystems become Kafka
// error codes here, at the edge, and nowhere else (errors.go holds the one
// mapping).
//
// # APIs served
//
//	file                               API                      served versions
//	00_produce.go                      Produce                  3-max (0-2 advertised, see below)
//	01_fetch.go, 01_fetch_encode.go    Fetch                    4-max, zero-copy
//	02_list_offsets.go                 ListOffsets              0-max
//	03_metadata.go                     Metadata                 0-max, auto-create
//	10_find_coordinator.go             FindCoordinator          0-max (v0 kept, see below)
//	18_api_versions.go                 ApiVersions              0-max
//	19_create_topics.go                CreateTopics             2-max
//	20_delete_topics.go                DeleteTopics             1-max
//	21_delete_records.go               DeleteRecords            0-max
//	23_offset_for_leader_epoch.go      OffsetForLeaderEpoch     0-max
//	32_describe_configs.go             DescribeConfigs          1-max
//	33_alter_configs.go                AlterConfigs             0-max
//	35_describe_log_dirs.go            DescribeLogDirs          1-max
//	37_create_partitions.go            CreatePartitions         0-max
//	44_incremental_alter_configs.go    IncrementalAlterConfigs  0-max
//	60_describe_cluster.go             DescribeCluster          0-max
//
// max is the newest version kmsg knows; floors are Kafka 4's (KIP-896).
// Produce v0-v2 are advertised, as Kafka 4 does for librdkafka's sake
// (KAFKA-18659), and a request at those versions closes the connection as
// Kafka's does. FindCoordinator keeps v0, which KIP-896 drops: kafka-go and
// kafka-python before 2.1 look up their group coordinator with v0 only.
// admin.go holds what the admin APIs share: the per-listener
// view of brokers, error mapping and authorized-operation bit sets.
//
// # Bad input
//
// Requests a broker cannot interpret close the connection, as Kafka does: an
// unknown API key, an unsupported version of any API but ApiVersions, or a
// body that does not parse. An ApiVersions request newer than this broker
// speaks is answered with UNSUPPORTED_VERSION and the supported ranges in a
// v0 body (KIP-511), so that the client retries with a version it shares.
// kmsg is used through a patched copy (third_party/franz-go/pkg/kmsg) whose
// tagged-field loops stop when the input runs out; FuzzDispatch sends
// arbitrary bodies to every API and version of a running broker.
//
// # Deferred answers
//
// Produce with acks=all and Fetch with a wait are parked in the replica
// manager's purgatories and answered from whichever goroutine completes or
// expires them; the handler never blocks a connection's reader on them.
//
// # Request bodies are lent
//
// A request's body lies in a frame buffer the network layer recycles once
// the request is completed (and Handle has returned): see network.Request.
// kmsg's ReadFrom copies strings, but []byte fields alias the body, and of
// the APIs served only Produce has one (Records), plus UnknownTags
// everywhere, which nothing reads. What a parked answer keeps must not
// alias the body once the request is completed: Produce's records are
// validated and appended inside Handle (the log writes them to the segment
// file before AppendRecords returns; the replica manager parks an acks=all
// produce with offsets only), and the parked answer, finishProduce, builds
// the response from names, codes and offsets and completes the request
// last; a parked Fetch keeps names, offsets and session state. The tests
// run with network.PoisonReleasedFrames, so a body used after its release
// reads DE AD BE EF.
package handler
