package network

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Sentinel errors for malformed input. A frame or header that fails with one
// of these closes the connection it came from, and nothing else.
var (
	// ErrNegativeSize reports a frame whose size prefix is negative.
	ErrNegativeSize = errors.New("network: negative frame size")
	// ErrFrameTooLarge reports a frame larger than socket.request.max.bytes.
	ErrFrameTooLarge = errors.New("network: frame size exceeds socket.request.max.bytes")
	// ErrTruncatedHeader reports a frame too short to hold its request header.
	ErrTruncatedHeader = errors.New("network: truncated request header")
	// ErrMalformedHeader reports a request header whose fields are invalid
	// (a client id length below -1, a tagged field that overruns the frame).
	ErrMalformedHeader = errors.New("network: malformed request header")
)

// Header is a parsed Kafka request header. It never refers to the frame it
// was parsed from: ClientID is a copy.
type Header struct {
	// APIKey identifies the request type (0 Produce, 1 Fetch, 18 ApiVersions...).
	APIKey int16
	// APIVersion is the version of the request body.
	APIVersion int16
	// CorrelationID is echoed in the response header.
	CorrelationID int32
	// ClientID is the nullable client id (nil when absent: header v0, or
	// a null string on the wire).
	ClientID *string
	// Version is the request header version that was parsed: 0, 1 or 2.
	Version int8
}

// Flexible reports whether the request body uses the flexible encoding of
// KIP-482 (compact strings and arrays, tagged fields): exactly when the
// request header is v2.
func (h *Header) Flexible() bool { return h.Version >= 2 }

// ResponseHeaderVersion returns the response header version (0 or 1) that
// answers this request; see ResponseHeaderVersion.
func (h *Header) ResponseHeaderVersion() int8 {
	return ResponseHeaderVersion(h.APIKey, h.APIVersion)
}

// keyApiVersions is ApiVersions, whose response header is always v0 (KIP-511):
// a client that does not yet know the broker's versions must be able to read it.
const keyApiVersions = 18

// keyControlledShutdown is ControlledShutdown, whose v0 used a header without
// a client id.
const keyControlledShutdown = 7

// flexibleFrom[key] is the first version of the request with that key that
// uses flexible encoding, math.MaxInt16+1 (never) if none, or -1 if kmsg does
// not know the key. It is computed once from kmsg, which is generated from
// Kafka's own message definitions, so it cannot drift from them. It is read
// only after init and so safe for concurrent use.
var flexibleFrom [kmsg.MaxKey + 1]int32

const neverFlexible = 1 << 15

func init() {
	for k := range flexibleFrom {
		r := kmsg.RequestForKey(int16(k))
		if r == nil {
			flexibleFrom[k] = -1
			continue
		}
		// kmsg's IsFlexible is "Version >= N" (Kafka's flexibleVersions are
		// always open-ended ranges "N+" or "none"), so it is monotone in the
		// version and a binary search over all int16 versions finds N. That
		// also gets versions newer than kmsg knows right, as Kafka does.
		lo, hi := int32(0), int32(neverFlexible)
		for lo < hi {
			mid := (lo + hi) / 2
			r.SetVersion(int16(mid))
			if r.IsFlexible() {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		flexibleFrom[k] = lo
	}
}

// KnownKey reports whether key is a request type that kmsg (and so this
// broker's codec) knows.
func KnownKey(key int16) bool {
	return key >= 0 && int(key) < len(flexibleFrom) && flexibleFrom[key] >= 0
}

// IsFlexible reports whether the request (key, version) uses flexible
// encoding. It is false for unknown keys.
func IsFlexible(key, version int16) bool {
	if !KnownKey(key) {
		return false
	}
	return int32(version) >= flexibleFrom[key]
}

// RequestHeaderVersion returns the request header version that Kafka uses
// for (key, version): 2 for flexible requests (ApiVersions v3+ included, as
// KIP-511 requires), 0 for ControlledShutdown v0 (which predates client ids),
// 1 otherwise. Unknown keys get 1: their header is parsed as far as Kafka's
// universal prefix goes (key, version, correlation id, client id), and any
// tagged fields stay at the front of the body.
func RequestHeaderVersion(key, version int16) int8 {
	switch {
	case key == keyControlledShutdown && version == 0:
		return 0
	case IsFlexible(key, version):
		return 2
	default:
		return 1
	}
}

// ResponseHeaderVersion returns the response header version that Kafka uses
// for (key, version): 1 (correlation id + tagged fields) for flexible
// requests, 0 (correlation id only) otherwise, and always 0 for ApiVersions.
func ResponseHeaderVersion(key, version int16) int8 {
	if key != keyApiVersions && IsFlexible(key, version) {
		return 1
	}
	return 0
}

// ParseRequest parses the request header at the start of frame (the bytes
// after the size prefix) and returns it with the body that follows. The
// body aliases frame. ParseRequest never panics, whatever frame holds.
func ParseRequest(frame []byte) (Header, []byte, error) {
	return parseRequest(frame, nil)
}

// parseRequest is ParseRequest that reuses *lastClientID (and updates it)
// when the client id is the same as the previous request's, as it nearly
// always is on one connection, saving two allocations per request. The
// strings are immutable, so sharing them between requests is safe.
func parseRequest(frame []byte, lastClientID **string) (Header, []byte, error) {
	var h Header
	if len(frame) < 8 {
		return h, nil, fmt.Errorf("%w: %d bytes, need at least 8", ErrTruncatedHeader, len(frame))
	}
	h.APIKey = int16(binary.BigEndian.Uint16(frame[0:]))
	h.APIVersion = int16(binary.BigEndian.Uint16(frame[2:]))
	h.CorrelationID = int32(binary.BigEndian.Uint32(frame[4:]))
	h.Version = RequestHeaderVersion(h.APIKey, h.APIVersion)
	rest := frame[8:]
	if h.Version == 0 {
		return h, rest, nil
	}

	// v1: client_id is a NULLABLE_STRING with an int16 length, even in
	// header v2 (Kafka never made it compact, so that ApiVersions can be
	// read by brokers that do not know the client's version).
	if len(rest) < 2 {
		return h, nil, fmt.Errorf("%w: no room for client id length", ErrTruncatedHeader)
	}
	n := int16(binary.BigEndian.Uint16(rest))
	rest = rest[2:]
	switch {
	case n == -1:
	case n < -1:
		return h, nil, fmt.Errorf("%w: client id length %d", ErrMalformedHeader, n)
	case int(n) > len(rest):
		return h, nil, fmt.Errorf("%w: client id of %d bytes, %d left", ErrTruncatedHeader, n, len(rest))
	default:
		if lastClientID != nil && *lastClientID != nil && **lastClientID == string(rest[:n]) {
			h.ClientID = *lastClientID
		} else {
			s := string(rest[:n])
			h.ClientID = &s
			if lastClientID != nil {
				*lastClientID = h.ClientID
			}
		}
		rest = rest[n:]
	}
	if h.Version == 1 {
		return h, rest, nil
	}

	// v2: tagged fields. The request header defines no tags, so every
	// tag is unknown and skipped, as Kafka does; only their framing is
	// checked.
	rest, err := skipTaggedFields(rest)
	if err != nil {
		return h, nil, err
	}
	return h, rest, nil
}

// skipTaggedFields skips a KIP-482 tagged field section:
// uvarint count, then count × (uvarint tag, uvarint size, size bytes).
func skipTaggedFields(b []byte) ([]byte, error) {
	count, b, err := uvarint32(b)
	if err != nil {
		return nil, err
	}
	for i := uint32(0); i < count; i++ {
		if _, b, err = uvarint32(b); err != nil { // tag
			return nil, err
		}
		var size uint32
		if size, b, err = uvarint32(b); err != nil {
			return nil, err
		}
		if uint64(size) > uint64(len(b)) {
			return nil, fmt.Errorf("%w: tagged field of %d bytes, %d left", ErrMalformedHeader, size, len(b))
		}
		b = b[size:]
	}
	return b, nil
}

// uvarint32 decodes an unsigned varint that must fit in 32 bits (Kafka's
// UNSIGNED_VARINT is at most 5 bytes).
func uvarint32(b []byte) (uint32, []byte, error) {
	v, n := binary.Uvarint(b)
	switch {
	case n == 0:
		return 0, nil, fmt.Errorf("%w: truncated varint", ErrTruncatedHeader)
	case n < 0 || n > 5 || v > 1<<32-1:
		return 0, nil, fmt.Errorf("%w: varint overflows 32 bits", ErrMalformedHeader)
	}
	return uint32(v), b[n:], nil
}

// AppendRequestHeader appends h in wire form (header version h.Version) to
// dst: the inverse of ParseRequest, for tests and for clients built on this
// package. It writes no tagged fields.
func AppendRequestHeader(dst []byte, h *Header) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(h.APIKey))
	dst = binary.BigEndian.AppendUint16(dst, uint16(h.APIVersion))
	dst = binary.BigEndian.AppendUint32(dst, uint32(h.CorrelationID))
	if h.Version == 0 {
		return dst
	}
	if h.ClientID == nil {
		dst = binary.BigEndian.AppendUint16(dst, 0xffff)
	} else {
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(*h.ClientID)))
		dst = append(dst, *h.ClientID...)
	}
	if h.Version >= 2 {
		dst = append(dst, 0)
	}
	return dst
}

// AppendResponseHeader appends a response header of version v (0: the
// correlation id; 1: the correlation id and an empty tagged field section).
func AppendResponseHeader(dst []byte, correlationID int32, v int8) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(correlationID))
	if v >= 1 {
		dst = append(dst, 0)
	}
	return dst
}

// AppendResponseFrame appends a complete response frame for msg: the size
// prefix, the response header that Kafka uses for msg's key and version, and
// msg's body. The network layer writes headers itself; this is for tests,
// tools and any code that must produce whole frames.
func AppendResponseFrame(dst []byte, correlationID int32, msg kmsg.Response) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = AppendResponseHeader(dst, correlationID, ResponseHeaderVersion(msg.Key(), msg.GetVersion()))
	dst = msg.AppendTo(dst)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}
