package network

import (
	"errors"
	"fmt"
	"math"
	"os"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Errors returned to a handler completing a request.
var (
	// ErrAlreadyCompleted is returned when a request is completed twice.
	// The second completion is ignored.
	ErrAlreadyCompleted = errors.New("network: request already completed")
	// ErrConnectionClosed is returned when a request is completed after its
	// connection closed. The response is dropped (and its Done is called).
	ErrConnectionClosed = errors.New("network: connection closed")
	// ErrResponseTooLarge is returned when a response does not fit a frame
	// (its size prefix is an int32). The request stays open so the handler
	// can answer with an error instead.
	ErrResponseTooLarge = errors.New("network: response exceeds the maximum frame size")
	// ErrInvalidFileRange is returned by Response.AppendFile for a nil file
	// or a negative offset or length.
	ErrInvalidFileRange = errors.New("network: invalid file range")
)

// Handler serves requests. See the package documentation for the contract.
type Handler interface {
	// Handle is called once per request, on the connection's reader
	// goroutine, in arrival order: the next request of the same connection
	// is not dispatched until Handle returns. Handle must complete req
	// exactly once, with Respond, RespondMsg, NoResponse or
	// CloseConnection, either before returning or later from any goroutine.
	// Handle must not block for long: work that waits is parked (in a
	// purgatory) and completed from elsewhere. req.Body, and anything
	// aliasing it, must not be used after req is completed (see
	// Request.Body).
	Handle(req *Request)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(req *Request)

// Handle calls f(req).
func (f HandlerFunc) Handle(req *Request) { f(req) }

// Principal is the authenticated identity of a connection, in Kafka's
// KafkaPrincipal form "Type:Name".
type Principal struct {
	Type string
	Name string
}

// AnonymousPrincipal is the principal of a connection that did not
// authenticate (Kafka's KafkaPrincipal.ANONYMOUS).
var AnonymousPrincipal = Principal{Type: "User", Name: "ANONYMOUS"}

// String returns "Type:Name", as Kafka prints and stores principals in ACLs.
func (p Principal) String() string { return p.Type + ":" + p.Name }

// completion says how a request was completed.
type completion uint8

const (
	pending    completion = iota // not completed yet
	respond                      // write resp
	noResponse                   // nothing to write (acks=0 produce)
	closeConn                    // write nothing; close after earlier responses
)

// Request is one request read from a connection. Header, Body, Conn,
// Principal and ReceivedAt are set before Handle is called and never changed
// by this package afterwards. Body is lent, not given: see its field. The
// completion methods are safe for concurrent use.
type Request struct {
	// Header is the parsed request header. It owns its memory (the
	// client id is a copy) and may be kept indefinitely.
	Header Header
	// Body is the request body after the header: for flexible requests
	// it starts after the header's tagged fields. Decode it with
	// kmsg.RequestForKey(Header.APIKey), SetVersion(Header.APIVersion),
	// ReadFrom(Body).
	//
	// Body lies in a recycled frame buffer. It, and every slice that
	// aliases it, is valid while Handle runs and, outside Handle, until
	// the request is completed (Respond, RespondMsg, NoResponse or
	// CloseConnection); after that the network layer may overwrite the
	// bytes with another request's frame. This includes what kmsg
	// decodes from it: ReadFrom copies strings, but []byte fields
	// (Produce's Records, any UnknownTags) alias Body. Whatever must
	// outlive the completion (a parked operation, a goroutine, an error
	// or log line built later) must be copied first. The handler may
	// modify Body in place (the log does, assigning offsets in a
	// produced batch), and a Response passed to Respond may include
	// slices of Body: the frame is released only once Handle has
	// returned and the response has been written or dropped.
	Body []byte
	// Conn is the connection the request arrived on.
	Conn *Conn
	// Principal is the connection's principal when the request was read.
	Principal Principal
	// ReceivedAt is when the request's frame was fully read.
	ReceivedAt time.Time

	// how and resp are guarded by Conn.mu.
	how  completion
	resp *Response

	// wireIn is the request frame's size with its prefix, set before
	// Handle; wireOut the response frame's, set by the writer goroutine
	// when it writes it. Both are for the RequestObserver.
	wireIn  int64
	wireOut int64

	// frame is the buffer Body aliases. refs counts what still needs it:
	// one for Handle, dropped when it returns, and one for the
	// completion, dropped when a response has been written or dropped
	// (at once for NoResponse and CloseConnection). Whoever drops the
	// last reference releases frame, exactly once; frame is written only
	// before Handle is called.
	frame *frameBuf
	refs  atomic.Int32
}

// unref drops one reference to the request's frame and releases the
// frame when it was the last.
func (r *Request) unref() {
	if r.refs.Add(-1) == 0 {
		f := r.frame
		r.frame = nil
		releaseFrame(f)
	}
}

// responseDone runs the response's Done and drops the completion's
// reference to the frame: the response has been written or dropped.
func (r *Request) responseDone() {
	r.resp.done()
	r.unref()
}

// Respond completes the request with resp, written after the responses to
// all earlier requests of the connection, preceded by the size prefix and
// the response header for the request's key and version. The network layer
// holds resp (and its byte slices and files) until it has been written or
// dropped, then calls resp.Done. A nil resp is an empty body.
func (r *Request) Respond(resp *Response) error {
	if resp == nil {
		resp = &Response{}
	}
	hdr := int64(4)
	if r.Header.ResponseHeaderVersion() >= 1 {
		hdr++
	}
	if resp.size+hdr > math.MaxInt32 {
		return fmt.Errorf("%w: %d body bytes", ErrResponseTooLarge, resp.size)
	}
	return r.Conn.complete(r, respond, resp)
}

// RespondMsg completes the request with msg encoded as the body. The caller
// sets msg's version (normally the request's version).
func (r *Request) RespondMsg(msg kmsg.Response) error {
	return r.Respond(NewResponse(msg.AppendTo(nil)))
}

// NoResponse completes the request without a response, as Kafka does for a
// produce request with acks=0. Order still holds: later responses are
// written only once every earlier request has been completed.
func (r *Request) NoResponse() error { return r.Conn.complete(r, noResponse, nil) }

// CloseConnection completes the request without a response and closes the
// connection once the responses to earlier requests are written; no later
// request of the connection is dispatched. Kafka does this for a request
// with an unknown API key or an unsupported version (other than ApiVersions).
func (r *Request) CloseConnection() error { return r.Conn.complete(r, closeConn, nil) }

// part is a run of response bytes: either b, or length bytes of file from
// offset.
type part struct {
	b      []byte
	file   *os.File
	offset int64
	length int64
}

// Response is a response body (everything after the response header) made of
// byte chunks and file ranges, written in the order they were appended. A
// Response is not safe for concurrent use; once passed to Respond it belongs
// to the network layer until Done is called.
type Response struct {
	parts []part
	size  int64 // total body bytes

	// CloseAfter closes the connection once this response is written
	// (Kafka does this after a failed SASL authentication).
	CloseAfter bool

	// Done, if set, is called exactly once when the network layer no
	// longer needs the response's slices and files: after it has been
	// written, or when it is dropped because the connection closed (then
	// possibly inside Respond itself, or on whichever goroutine closed the
	// connection). It must be quick and must not block; it is where a
	// handler returns pooled buffers or releases a segment reference.
	Done func()
}

// NewResponse returns a response whose body is the given chunks.
func NewResponse(chunks ...[]byte) *Response {
	r := &Response{}
	for _, c := range chunks {
		r.Append(c)
	}
	return r
}

// Append adds b to the body. b is not copied: it must not change until Done.
// b may be a slice of the request's Body, which is kept until then.
func (r *Response) Append(b []byte) {
	if len(b) == 0 {
		return
	}
	r.parts = append(r.parts, part{b: b})
	r.size += int64(len(b))
}

// AppendFile adds length bytes of f starting at offset to the body. They are
// read when the response is written, with pread or sendfile at that explicit
// offset (never f's shared file position), so f may be read concurrently by
// other connections and appended to concurrently; the range must already lie
// within the file. f must stay open until Done.
func (r *Response) AppendFile(f *os.File, offset, length int64) error {
	if f == nil || offset < 0 || length < 0 {
		return fmt.Errorf("%w: file %v offset %d length %d", ErrInvalidFileRange, f != nil, offset, length)
	}
	if length == 0 {
		return nil
	}
	r.parts = append(r.parts, part{file: f, offset: offset, length: length})
	r.size += length
	return nil
}

// Len returns the body size in bytes.
func (r *Response) Len() int64 { return r.size }

func (r *Response) done() {
	if r != nil && r.Done != nil {
		r.Done()
	}
}
