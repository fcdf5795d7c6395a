// Package network is the broker's socket layer, Kafka's SocketServer: it owns
// the listeners, the accept loops, one reader and one writer goroutine per
// connection, request framing and header parsing, strictly in-order
// responses, the per-connection in-flight limit, idle closing, and writing
// file ranges to sockets with sendfile(2). It knows nothing about what a
// request means: bodies go to a Handler (the handler package) undecoded.
//
// # Wire format
//
// Every request and response is a frame: a 4-byte big-endian size, then that
// many bytes. The size covers the header and the body, never itself.
//
//	request frame
//	+----------+---------+-------------+----------------+-----------+------------+------+
//	| size     | api_key | api_version | correlation_id | client_id | tags       | body |
//	| int32    | int16   | int16       | int32          | see below | v2 only    |      |
//	+----------+---------+-------------+----------------+-----------+------------+------+
//	            \_________________ request header v0 ______________/
//	            \_______________________ request header v1 ________________/
//	            \_______________________ request header v2 ______________________________/
//
//	client_id (v1, v2)  int16 length n, then n bytes; n = -1 is null. It is
//	                    never a compact string, even in v2, so that a broker can
//	                    read an ApiVersions header of any version (KIP-511).
//	tags (v2)           uvarint count, then count × (uvarint tag, uvarint size,
//	                    size bytes) (KIP-482). The request header defines no tags;
//	                    all are skipped.
//
//	response frame
//	+----------+----------------+----------+------+
//	| size     | correlation_id | tags     | body |
//	| int32    | int32          | v1 only  |      |
//	+----------+----------------+----------+------+
//	            \ header v0 ___/
//	            \ header v1 ____________/            (this layer writes tags as one 0 byte)
//
// Which header a request uses depends on (api_key, api_version): v2 when that
// version of the request is flexible, v0 for ControlledShutdown v0, v1
// otherwise. The response header is v1 when the request is flexible, v0
// otherwise, and always v0 for ApiVersions: a client reads the ApiVersions
// response before it knows which versions the broker speaks. Flexibility is
// taken from kmsg (generated from Kafka's message definitions): see
// RequestHeaderVersion and ResponseHeaderVersion. A key kmsg does not know is
// parsed with header v1 and still handed to the handler, which decides (Kafka
// closes the connection: Request.CloseConnection).
//
// A size below 0 or above socket.request.max.bytes, a frame too short for its
// header, a client id length below -1, a tagged field running past the frame,
// or a connection ending inside a frame closes that connection with one log
// line; every other connection keeps being served.
//
// # Frame buffers
//
// Frames are read into recycled buffers: power-of-two size classes from
// 512 B to 16 MiB, one sync.Pool each, never zeroed (the read overwrites
// every byte the request exposes). Frames above 16 MiB get a buffer of
// their own. A frame of up to 1 MiB takes a buffer of its class at once.
// A larger one is read straight into a recycled buffer of its class if
// the pool has one (memory the broker already holds); otherwise it is
// read into a buffer that grows, class by class, with the bytes that
// actually arrive, so a size prefix alone cannot make the broker
// allocate. Pooled memory is bounded by the frames in use between two
// garbage collections: sync.Pool drops buffers that sit idle.
//
// # Handler contract
//
// Handler.Handle is called on the connection's reader goroutine, once per
// request, in arrival order; the next request of that connection is read and
// dispatched only after Handle returns. So a handler that applies requests
// (appends a produce) inside Handle applies them in the client's order.
// Handle must complete the request exactly once, with one of:
//
//	Respond(*Response)   a body of byte chunks and file ranges
//	RespondMsg(kmsg.Response)
//	NoResponse()         nothing is written (produce with acks=0)
//	CloseConnection()    nothing is written; the connection closes after the
//	                     responses to earlier requests (unknown api key)
//
// either before returning or later from any goroutine: a fetch long-poll is
// parked in a purgatory and completed by whatever satisfies or expires it,
// with no goroutine per parked request. Whatever order requests complete in,
// responses are written in request order: the writer writes the completed
// prefix of the connection's queue and waits at the first incomplete one.
// At most MaxInFlightPerConnection requests of a connection are dispatched
// and not yet answered (completed and handed to the writer); while that many
// are, the connection is not read and TCP pushes back on the client. The
// default, 1, is Kafka's muting of a channel while one of its requests is
// being served: a request is dispatched only after the one before it has
// been answered, so it sees all of that one's effects (an OffsetFetch after
// an OffsetCommit parked for durability). A larger value pipelines: dispatch
// and response order still hold, but request N+1 may be handled while N is
// parked.
//
// Each Request carries its parsed Header, the raw Body, the Conn (listener
// name, addresses, TLS state, Done channel, SetPrincipal for
// authentication) and the connection's Principal when the request was
// read: User:ANONYMOUS until SASL or TLS sets another.
//
// Body is lent to the handler, not given: it lies in a recycled frame
// buffer. Body, and every slice aliasing it, is valid while Handle runs
// and, outside Handle, until the request is completed (Respond,
// RespondMsg, NoResponse, CloseConnection). The network layer releases
// the frame, for reuse by another request, once both have happened, in
// either order: Handle has returned, and the request's response has been
// written or dropped (for NoResponse and CloseConnection, the completion
// itself). So a completion from another goroutine racing with the end of
// Handle (an acks=all produce acknowledged by the purgatory while the
// handler returns) never frees bytes under Handle, and a Response may
// include slices of Body. Whatever a handler keeps past the completion
// (in a purgatory operation, a goroutine, a cache, an error or a log line
// built later) must be a copy. kmsg's ReadFrom copies strings but not
// []byte fields: Produce's Records and any UnknownTags alias Body.
// PoisonReleasedFrames makes tests catch a handler that breaks this: a
// released frame is overwritten with DE AD BE EF.
//
// A Response's slices and files are the network layer's from Respond until
// its Done callback runs (after the write, or when the connection closed
// first). File ranges are written with sendfile(2) at an explicit offset
// (never the file's shared position, so many connections can read one
// segment at once, and it may be appended to meanwhile) on plain TCP
// sockets, and with pread + write on others (TLS). Ranges and chunks of up
// to 16 KiB are copied into the write buffer instead, so a batch of small
// responses, or a fetch response with many small partitions, is one write.
//
// # Request metrics
//
// Config.Observer, if set, is told about each request after the writer
// has written its response (or reached it, for NoResponse): listener, API
// key and version, request and response frame sizes, and Kafka's
// TotalTimeMs (frame read to response written). The writer reads the
// clock once per written batch and makes one interface call per request;
// nothing is allocated. The metrics side port (internal/metrics)
// implements it.
//
// # Lifecycle
//
// NewServer validates a Config (Kafka's defaults for zero values), Start
// binds every listener and returns once they listen (Addr gives the bound
// address when port 0 was asked for), Close stops accepting and reading,
// lets dispatched requests complete and be written, closes the connections
// and waits for every goroutine (or, when its context ends first, closes the
// connections at once). A connection with no bytes read or written for
// connections.max.idle.ms is closed by one reaper goroutine.
//
// Benchmarks (round trips, sendfile beside pread + write) and their figures
// are in docs/network.md.
package network
