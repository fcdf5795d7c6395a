// Package testutil starts real Samsa brokers inside a test: a full
// server.Server on a free loopback port with its data in the test's temp
// dir, stopped (cleanly) when the test ends. Tests drive it with real Kafka
// clients (franz-go, sarama, kafka-go), which is the point: the protocol is
// the contract and the clients are the judges. Scrape reads the broker's
// HTTP side port (/metrics), which test brokers bind on a free port too.
package testutil
