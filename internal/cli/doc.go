// Package cli holds the client-side pieces shared by samsa's data and admin
// subcommands (topic, produce, consume, group, config, cluster, perf):
// turning flag strings into franz-go options (brokers, acks, compression,
// start offsets, timestamps, headers), kafka-configs.sh's --add-config
// syntax (k=v pairs with [a,b] list values) for config alter, the offsets a
// group's reset-offsets moves to,
// rendering consumed records (--format), and a latency histogram for the
// perf tools.
//
// Everything here speaks only the standard Kafka protocol through franz-go,
// so the commands built on it work against Samsa and Apache Kafka alike.
// Nothing in this package imports the broker.
//
// # Record format
//
// A --format string is literal text with placeholders, the same letters as
// kcat's -f so that muscle memory carries over:
//
//	%t topic        %p partition     %o offset        %T timestamp (Unix ms)
//	%k key          %K key length    %s value         %S value length
//	%h headers as k=v,k=v            %% a percent sign
//	\n newline      \t tab           \r carriage return  \\ backslash
//
// A null key or value renders as the empty string and its length as -1.
// The format "json" instead writes one JSON object per record per line:
//
//	{"topic":"t","partition":0,"offset":7,"timestamp":1700000000000,
//	 "key":"k","value":"v","headers":[{"key":"h","value":"x"}],"leader_epoch":0}
//
// A key or value that is not valid UTF-8 is JSON null and its bytes go,
// base64-encoded, under "key_base64" or "value_base64" (a header value
// likewise under the header's "value_base64"), so every byte survives the
// trip; a null key or value is JSON null with no *_base64 field. The
// leader_epoch field is the batch's partition leader epoch.
package cli
