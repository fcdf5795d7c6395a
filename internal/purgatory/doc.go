// Package purgatory owns the broker's waiting: a hierarchical timing wheel
// (Timer) that holds every deadline in the broker, and purgatories
// (Purgatory) of delayed operations that park a request until an event
// satisfies it or its deadline passes. It re-expresses Apache Kafka's
// SystemTimer/TimingWheel/TimerTaskList and DelayedOperationPurgatory in Go.
// The handler layer parks acks=all produces (keyed by partition, waiting
// for the high watermark), fetch long-polls (fetch.min.bytes or
// fetch.max.wait.ms), and the group coordinator parks join barriers and
// heartbeat/session deadlines; none of them sleeps a goroutine per request.
//
// # The timing wheel
//
// Time is counted in ticks of TimerConfig.Tick (1 ms) since the timer was
// created. The finest wheel has WheelSize (20) buckets of one tick; a
// deadline beyond its span goes to a lazily created overflow wheel of 20
// buckets of 20 ticks, then 20 of 400, and so on, so adding a task is O(1)
// at any horizon (one division to pick the bucket, one list append):
//
//	level 0   tick 1      [ 0][ 1][ 2] ... [19]      covers 20 ms
//	level 1   tick 20     [ 0][ 1][ 2] ... [19]      covers 400 ms
//	level 2   tick 400    [ 0][ 1][ 2] ... [19]      covers 8 s
//	  ...                                            (level n covers 20^(n+1) ms)
//
//	bucket = sentinel <-> task <-> task <-> ... (intrusive doubly linked ring)
//
//	heap of non-empty buckets, keyed by bucket expiration (Kafka's DelayQueue):
//	  min = next bucket due; the reaper sleeps exactly until then.
//
// Each bucket is a doubly linked list threaded through the tasks, so Stop
// (cancel) unlinks a task in O(1) and allocates nothing; a bucket emptied by
// cancels stays queued and is skipped when it comes due, as in Kafka. Only
// non-empty buckets enter the heap, so the clock jumps from due bucket to
// due bucket instead of ticking. When a coarse bucket comes due its tasks
// are reinserted: they cascade into finer wheels, or into the due list if
// their tick has come. Rescheduling a scheduled task moves it.
//
// A task is due at its deadline rounded up to the next tick boundary. It
// runs at the first advance of the clock at or after that instant: never
// early, and, when the clock is advanced at every tick (as the reaper does),
// less than one tick late. This differs from Kafka only in resolution:
// Kafka rounds to whole milliseconds and may run a task in the millisecond
// of its deadline.
//
// # Who runs what
//
// One Timer serves the whole broker. It has one mutex; scheduling,
// rescheduling and stopping take it for O(1) work. Expired tasks are
// collected under the lock and run after releasing it, sequentially, on the
// goroutine that advanced the clock: in production that is the timer's one
// reaper goroutine (started by NewTimer, stopped by Close), which sleeps
// until the head of the heap is due or an earlier bucket appears; in manual
// mode (TimerConfig.Clock set, e.g. to a ManualClock) no goroutine is
// started and tests call Advance after moving the clock, so nothing sleeps.
// Tasks must be short: they delay the tasks behind them. Kafka runs them on
// a separate single executor thread; here the reaper is that thread.
//
// # Delayed operations
//
// An Operation has TryComplete (is it answerable now?), OnComplete (send
// the answer) and OnExpiration (it timed out). TryCompleteElseWatch checks
// once, then, holding the operation's lock, watches it under every key,
// checks again (closing the window in which an event could slip between
// the first check and the watch), and schedules its deadline on the timer.
// CheckAndComplete(key), called by whatever may satisfy the operations on
// key, re-checks them. Completion and expiry race through one
// compare-and-swap: exactly one wins, exactly once. The winner cancels the
// deadline (O(1)), then calls OnComplete, preceded by OnExpiration if it was
// the expiry. All of one operation's callbacks run under its lock (a private
// mutex, or a shared one supplied through OpLocker), so TryComplete never
// runs concurrently with itself nor after completion.
//
// Kafka calls onComplete and then onExpiration; this package calls
// OnExpiration first so that it can mark the answer as timed out before
// OnComplete builds it. Kafka's own onExpiration implementations only
// record metrics, so nothing a client sees differs.
//
// Completed operations leave watch lists lazily, as in Kafka: the list of
// the key that completed them is compacted at once, and the others are
// swept when the entries of finished operations outnumber both
// Config.PurgeInterval (Kafka's *.purgatory.purge.interval.requests, 1000)
// and the live entries. The second bound (not in Kafka) keeps a sweep's cost
// proportional to the garbage it removes, so purging is amortized O(1) per
// operation and memory stays proportional to the operations still waiting.
//
// Close expires (rather than drops) every operation still parked, in
// deadline order, before it returns, so every request gets exactly one
// answer; operations parked after Close are expired at once. A Timer's
// Close instead drops its tasks: they are plain functions. Close the
// purgatories before the timer they share.
//
// Benchmarks against Go's runtime timers and a goroutine-per-request
// baseline, with the command that produced them, are in docs/purgatory.md.
package purgatory
