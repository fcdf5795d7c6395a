// Package handler serves Kafka requests: it decodes each request body with
// kmsg (generated from Kafka's own message definitions), checks the API
// version against the range this broker advertises, and dispatches to the
// function serving that API, one file per API key (00_produce.go,
// 18_api_versions.go, ...), each registering its version range in an init
// function. Errors from the subsystems become Kafka error codes here, at the
// edge, and nowhere else.
//
// Requests a broker cannot interpret close the connection, as Kafka does: an
// unknown API key, an unsupported version of any API but ApiVersions, or a
// body that does not parse. An ApiVersions request newer than this broker
// speaks is answered with UNSUPPORTED_VERSION and the supported ranges in a
// v0 body (KIP-511), so that the client retries with a version it shares.
package handler
