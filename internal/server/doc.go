// Package server assembles one Samsa broker from its subsystems and owns
// their order of start and stop:
//
//	start: config -> meta.properties -> metadata log (replay) -> log manager
//	       (load and recover partitions) -> timer -> replica manager ->
//	       partitions from the metadata image -> handler -> network listeners
//	       -> broker registration (with the bound, advertised endpoints)
//	stop:  parked fetches answer (a long poll would hold the drain for up
//	       to its max wait) -> network (stop accepting, drain in-flight
//	       requests) -> replica manager (parked operations answer) -> timer
//	       -> log manager (flush, checkpoints, clean-shutdown markers) ->
//	       metadata log
//
// It also owns the one piece of glue between metadata and data: a metadata
// listener that turns each published change into partition actions (a topic
// created becomes logs led by this node, a topic deleted removes its logs, a
// config override re-applies the topic's effective log config). The same
// reconciliation runs once at start against the replayed image, so a crash
// between a metadata commit and its log change is repaired on restart; a log
// the metadata does not know is renamed "-stray" and kept, never deleted.
package server
