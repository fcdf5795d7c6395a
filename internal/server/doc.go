// Package server assembles one Samsa broker from its subsystems and owns
// their order of start and stop:
//
//	start: config -> HTTP side port (/healthz up, /readyz "starting") ->
//	       meta.properties -> metadata log (replay) -> log manager
//	       (load and recover partitions) -> timer -> replica manager ->
//	       group coordinator -> partitions from the metadata image (which
//	       elects the coordinator for the __consumer_offsets partitions
//	       this node leads) -> handler -> network listeners
//	       -> broker registration (with the bound, advertised endpoints) ->
//	       ready (broker metrics registered, /readyz 200)
//	stop:  not ready (/readyz 503) -> parked fetches answer (a long poll
//	       would hold the drain for up to its max wait) -> group
//	       coordinator (parked joins and syncs answer NOT_COORDINATOR, for
//	       the same reason; no more appends to __consumer_offsets) ->
//	       network (stop accepting, drain in-flight requests) -> HTTP side
//	       port -> replica manager (parked operations answer) -> timer ->
//	       log manager (flush, checkpoints, clean-shutdown markers) ->
//	       metadata log
//
// The HTTP side port (samsa.http.listener; internal/metrics) binds first,
// so a taken port fails the start before any recovery and liveness is
// answered during a long one; it closes after the Kafka listeners drained
// (metrics stay scrapeable while they do) and before anything a scrape
// reads is closed.
//
// It also owns the one piece of glue between metadata and data: a metadata
// listener that turns each published change into partition actions (a topic
// created becomes logs led by this node, a topic deleted removes its logs, a
// config override re-applies the topic's effective log config) and tells
// the group coordinator which __consumer_offsets partitions it leads
// (groups.go: OnElection when this node leads one, OnResignation when it
// stops leading it or the topic is deleted). The same
// reconciliation runs once at start against the replayed image, so a crash
// between a metadata commit and its log change is repaired on restart; a log
// the metadata does not know is renamed "-stray" and kept, never deleted.
package server
