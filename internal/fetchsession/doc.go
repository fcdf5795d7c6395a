// Package fetchsession implements Kafka's incremental fetch sessions
// (KIP-227): the broker-side cache of what each fetcher asked for last time
// and what it was told, so that a fetcher polling many partitions sends only
// the partitions whose request changed and receives only the partitions
// whose answer changed. It is Kafka's FetchSessionCache, FetchSession and
// FetchContext (core/.../server/FetchSession.scala) as plain Go logic: no
// network, no storage, no Kafka wire types; the Fetch handler feeds it the
// decoded request and the per-partition outcomes and encodes what it says.
//
// # The protocol
//
// A Fetch request (v7+) carries a session id and a session epoch:
//
//	session_id  epoch   meaning
//	----------  ------  ---------------------------------------------------
//	any         0       full fetch; open a new session (closing session_id
//	                    first if it is not 0); the response carries the new
//	                    session's id, or 0 if the cache had no room
//	any         -1      full fetch without a session (closing session_id if
//	                    it is not 0); the response's session id is 0
//	id > 0      n > 0   incremental fetch in session id, which must be at
//	                    epoch n: the request lists only partitions that are
//	                    new or whose fetch parameters changed, plus
//	                    "forgotten" partitions to drop; every other cached
//	                    partition is fetched with its cached parameters
//
// Requests older than v7 have no session fields; the handler passes epoch
// -1 for them. Session errors are top-level (the response has no
// partitions, session id 0):
//
//	FETCH_SESSION_ID_NOT_FOUND      incremental, and the id is not cached
//	                                (never created, evicted, or closed)
//	INVALID_FETCH_SESSION_EPOCH     incremental, and the epoch is not the
//	                                session's (a lost or duplicated request);
//	                                also at response time when another
//	                                request of the same session won the race
//	                                (then the response carries the id)
//	FETCH_SESSION_TOPIC_ID_ERROR    the session was opened with topic IDs
//	                                (v13+) and this request names topics
//	                                (< v13), or the other way round
//
// Epochs run 1, 2, ... MaxInt32, 1, ... (Kafka's FetchMetadata.nextEpoch);
// a session is born at epoch 1, and every incremental request that is
// accepted moves it to the next epoch. If an incremental request forgets
// every partition, the session is closed and the request is answered as a
// sessionless fetch.
//
// # What a session caches
//
// Per partition: the fetcher's last fetch offset, partition max bytes,
// current leader epoch, last fetched epoch and (followers) log start
// offset; and the last high watermark, last stable offset and log start
// offset the fetcher was told. An incremental response includes a
// partition only if it returned records, its high watermark, last stable
// offset or log start offset changed, it has an error (the cached high
// watermark is then set to -1, so the partition is sent again once the
// error clears), it names a preferred read replica, or it reports a
// diverging epoch. Kafka compares the high watermark and log start offset;
// this package also compares the last stable offset, so a read_committed
// consumer learns of a committed transaction without waiting for the next
// high watermark move.
//
// Partitions of a session are kept in order; the ones that returned
// records move to the back, so that when MaxBytes cuts a response short the
// partitions left out are first in line next time (Kafka's fairness rule).
//
// Sessions of v13+ requests key partitions by topic ID, older ones by topic
// name. A topic ID the broker does not know stays in the session without a
// name (the handler answers UNKNOWN_TOPIC_ID for it) and is resolved again
// on every fetch, so a topic created later, or deleted meanwhile, is seen.
//
// # The cache
//
// max.incremental.fetch.session.cache.slots (default 1000) bounds the
// number of sessions, split over shards (Kafka: 8) each owning a disjoint
// range of session ids and its own lock; new sessions go to the shards in
// turn. When a shard is full, a new session may evict an existing one
// (Kafka's tryEvict):
//
//  1. the least recently used session, if it has been unused for more than
//     the eviction time (Kafka's 120 s); otherwise
//  2. the "least valuable" evictable session, ordered by (privileged,
//     partition count, id): a follower's session (privileged) evicts any
//     consumer's session and a follower's session older than the eviction
//     time; a consumer's session evicts only sessions older than the
//     eviction time (as of their last use) with strictly fewer partitions
//     and never a follower's.
//
// If nothing can be evicted the full fetch is still answered, with session
// id 0, and the fetcher goes on with full fetches.
//
// A Cache is safe for concurrent use. A Context belongs to one request; its
// Complete may run on another goroutine than NewContext (the fetch
// purgatory).
package fetchsession
