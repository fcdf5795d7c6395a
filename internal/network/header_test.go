package network

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestHeaderVersions(t *testing.T) {
	tests := []struct {
		name          string
		key, version  int16
		flexible      bool
		reqHdr, rsHdr int8
	}{
		{"produce v8 is the last non-flexible", 0, 8, false, 1, 0},
		{"produce v9 is flexible", 0, 9, true, 2, 1},
		{"fetch v11", 1, 11, false, 1, 0},
		{"fetch v12", 1, 12, true, 2, 1},
		{"metadata v8", 3, 8, false, 1, 0},
		{"metadata v9", 3, 9, true, 2, 1},
		{"controlled shutdown v0 has no client id", 7, 0, false, 0, 0},
		{"controlled shutdown v1", 7, 1, false, 1, 0},
		{"api versions v2", 18, 2, false, 1, 0},
		{"api versions v3: header v2, response header still v0", 18, 3, true, 2, 0},
		{"api versions newer than known stays flexible (KIP-511)", 18, 1000, true, 2, 0},
		{"describe cluster v0 flexible from the start", 60, 0, true, 2, 1},
		{"negative version of a known key", 0, -1, false, 1, 0},
		{"unknown key", 9999, 3, false, 1, 0},
		{"negative key", -1, 0, false, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsFlexible(tt.key, tt.version); got != tt.flexible {
				t.Errorf("IsFlexible = %v, want %v", got, tt.flexible)
			}
			if got := RequestHeaderVersion(tt.key, tt.version); got != tt.reqHdr {
				t.Errorf("RequestHeaderVersion = %d, want %d", got, tt.reqHdr)
			}
			if got := ResponseHeaderVersion(tt.key, tt.version); got != tt.rsHdr {
				t.Errorf("ResponseHeaderVersion = %d, want %d", got, tt.rsHdr)
			}
		})
	}
}

// TestFlexibleMatchesKmsg checks the precomputed table against kmsg for every
// key and every version kmsg knows, plus a few past the end.
func TestFlexibleMatchesKmsg(t *testing.T) {
	for k := int16(0); k <= kmsg.MaxKey; k++ {
		r := kmsg.RequestForKey(k)
		if r == nil {
			if KnownKey(k) {
				t.Errorf("key %d: KnownKey true, kmsg does not know it", k)
			}
			continue
		}
		for v := int16(0); v <= r.MaxVersion()+3; v++ {
			r.SetVersion(v)
			if got := IsFlexible(k, v); got != r.IsFlexible() {
				t.Errorf("key %d v%d: IsFlexible = %v, kmsg %v", k, v, got, r.IsFlexible())
			}
		}
	}
}

func strp(s string) *string { return &s }

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name  string
		frame []byte
		want  Header
		body  []byte
		err   error
	}{
		{
			name:  "v0: controlled shutdown v0",
			frame: cat(u16(7), u16(0), u32(42), []byte{0, 0, 0, 1}),
			want:  Header{APIKey: 7, APIVersion: 0, CorrelationID: 42, Version: 0},
			body:  []byte{0, 0, 0, 1},
		},
		{
			name:  "v1: produce v3 with client id",
			frame: cat(u16(0), u16(3), u32(7), u16(3), []byte("abc"), []byte("BODY")),
			want:  Header{APIKey: 0, APIVersion: 3, CorrelationID: 7, ClientID: strp("abc"), Version: 1},
			body:  []byte("BODY"),
		},
		{
			name:  "v1: null client id",
			frame: cat(u16(3), u16(1), u32(-5), u16(-1), []byte("B")),
			want:  Header{APIKey: 3, APIVersion: 1, CorrelationID: -5, Version: 1},
			body:  []byte("B"),
		},
		{
			name:  "v1: empty client id, empty body",
			frame: cat(u16(3), u16(1), u32(1), u16(0)),
			want:  Header{APIKey: 3, APIVersion: 1, CorrelationID: 1, ClientID: strp(""), Version: 1},
			body:  []byte{},
		},
		{
			name:  "v2: fetch v12, no tags",
			frame: cat(u16(1), u16(12), u32(9), u16(2), []byte("id"), []byte{0}, []byte("X")),
			want:  Header{APIKey: 1, APIVersion: 12, CorrelationID: 9, ClientID: strp("id"), Version: 2},
			body:  []byte("X"),
		},
		{
			name: "v2: unknown tags are skipped",
			frame: cat(u16(18), u16(3), u32(1), u16(1), []byte("c"),
				[]byte{2, 0, 3, 'a', 'b', 'c', 0x80, 0x01, 0}, []byte("Y")),
			want: Header{APIKey: 18, APIVersion: 3, CorrelationID: 1, ClientID: strp("c"), Version: 2},
			body: []byte("Y"),
		},
		{
			name:  "unknown key parsed as v1",
			frame: cat(u16(999), u16(0), u32(3), u16(1), []byte("z"), []byte{0, 1}),
			want:  Header{APIKey: 999, APIVersion: 0, CorrelationID: 3, ClientID: strp("z"), Version: 1},
			body:  []byte{0, 1},
		},
		{name: "empty frame", frame: nil, err: ErrTruncatedHeader},
		{name: "seven bytes", frame: []byte{0, 0, 0, 0, 0, 0, 0}, err: ErrTruncatedHeader},
		{name: "v1 without client id length", frame: cat(u16(0), u16(3), u32(1)), err: ErrTruncatedHeader},
		{name: "v1 one byte of client id length", frame: cat(u16(0), u16(3), u32(1), []byte{0}), err: ErrTruncatedHeader},
		{name: "client id longer than frame", frame: cat(u16(0), u16(3), u32(1), u16(10), []byte("abc")), err: ErrTruncatedHeader},
		{name: "client id length -2", frame: cat(u16(0), u16(3), u32(1), u16(-2)), err: ErrMalformedHeader},
		{name: "v2 without tag section", frame: cat(u16(1), u16(12), u32(1), u16(0)), err: ErrTruncatedHeader},
		{name: "v2 tag overruns frame", frame: cat(u16(1), u16(12), u32(1), u16(0), []byte{1, 0, 5, 'a'}), err: ErrMalformedHeader},
		{name: "v2 truncated tag", frame: cat(u16(1), u16(12), u32(1), u16(0), []byte{1, 0}), err: ErrTruncatedHeader},
		{name: "v2 varint too long", frame: cat(u16(1), u16(12), u32(1), u16(0), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}), err: ErrMalformedHeader},
		{name: "v2 varint over 32 bits", frame: cat(u16(1), u16(12), u32(1), u16(0), []byte{0xff, 0xff, 0xff, 0xff, 0x7f}), err: ErrMalformedHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, body, err := ParseRequest(tt.frame)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !headersEqual(h, tt.want) {
				t.Errorf("header = %+v (client %v), want %+v (client %v)", h, deref(h.ClientID), tt.want, deref(tt.want.ClientID))
			}
			if !bytes.Equal(body, tt.body) {
				t.Errorf("body = %q, want %q", body, tt.body)
			}
			// Round trip (tags are not re-emitted, so only for frames without).
			if tt.name != "v2: unknown tags are skipped" {
				again := append(AppendRequestHeader(nil, &h), body...)
				if !bytes.Equal(again, tt.frame) {
					t.Errorf("AppendRequestHeader round trip = %x, want %x", again, tt.frame)
				}
			}
		})
	}
}

// TestParseKmsgRequests encodes real requests with kmsg's client-side
// formatter (what franz-go sends) and checks the header and body boundaries.
func TestParseKmsgRequests(t *testing.T) {
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID("samsa-test"))
	for k := int16(0); k <= kmsg.MaxKey; k++ {
		r := kmsg.RequestForKey(k)
		if r == nil {
			continue
		}
		for _, v := range []int16{0, r.MaxVersion()} {
			r.SetVersion(v)
			frame := f.AppendRequest(nil, r, int32(k)*100+int32(v))
			if k == 7 && v == 0 {
				// kmsg's formatter stops after the v0 header here
				// (no size, no body); build the frame by hand.
				frame = frameOf(cat(u16(7), u16(0), u32(700), r.AppendTo(nil)))
			}
			if got := int(binary.BigEndian.Uint32(frame)); got != len(frame)-4 {
				t.Fatalf("key %d v%d: size prefix %d, frame %d", k, v, got, len(frame)-4)
			}
			h, body, _, err := readRequest(bytes.NewReader(frame), DefaultSocketRequestMaxBytes, nil)
			if err != nil {
				t.Fatalf("key %d v%d: %v", k, v, err)
			}
			if h.APIKey != k || h.APIVersion != v || h.CorrelationID != int32(k)*100+int32(v) {
				t.Errorf("key %d v%d: header %+v", k, v, h)
			}
			if k == 7 && v == 0 {
				if h.ClientID != nil || h.Version != 0 {
					t.Errorf("controlled shutdown v0: header %+v", h)
				}
			} else if deref(h.ClientID) != "samsa-test" {
				t.Errorf("key %d v%d: client id %v", k, v, deref(h.ClientID))
			}
			if h.Flexible() != r.IsFlexible() {
				t.Errorf("key %d v%d: flexible %v, kmsg %v", k, v, h.Flexible(), r.IsFlexible())
			}
			if want := r.AppendTo(nil); !bytes.Equal(body, want) {
				t.Errorf("key %d v%d: body %x, want %x", k, v, body, want)
			}
		}
	}
}

func TestReadRequestFraming(t *testing.T) {
	valid := frameOf(cat(u16(3), u16(1), u32(1), u16(0)))
	tests := []struct {
		name  string
		input []byte
		max   int32
		err   error
	}{
		{"clean end of stream", nil, 100, io.EOF},
		{"end inside size prefix", []byte{0, 0}, 100, errTruncatedFrame},
		{"end inside frame", []byte{0, 0, 0, 20, 0, 3, 0, 1}, 100, errTruncatedFrame},
		{"negative size", u32(-1), 100, ErrNegativeSize},
		{"2 GiB size is negative as int32", []byte{0x80, 0, 0, 0}, 100, ErrNegativeSize},
		{"2 GiB - 1 over the max", []byte{0x7f, 0xff, 0xff, 0xff}, DefaultSocketRequestMaxBytes, ErrFrameTooLarge},
		{"one over the max", append(u32(11), make([]byte, 11)...), 10, ErrFrameTooLarge},
		{"zero size", u32(0), 100, ErrTruncatedHeader},
		{"exactly the max", valid, int32(len(valid) - 4), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := readRequest(bytes.NewReader(tt.input), tt.max, nil)
			if tt.err == nil && err != nil || tt.err != nil && !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
		})
	}
}

// iotestHalfReader returns at most half of what is asked (and at least one
// byte), to exercise partial reads.
type iotestHalfReader struct{ r io.Reader }

func (h iotestHalfReader) Read(p []byte) (int, error) {
	return h.r.Read(p[:(len(p)+1)/2])
}

func TestAppendResponseFrame(t *testing.T) {
	av := kmsg.NewPtrApiVersionsResponse()
	av.SetVersion(3)
	got := AppendResponseFrame(nil, 77, av)
	// ApiVersions: header v0 even at a flexible version.
	want := cat(u32(int32(4+len(av.AppendTo(nil)))), u32(77), av.AppendTo(nil))
	if !bytes.Equal(got, want) {
		t.Fatalf("ApiVersions v3 frame %x, want %x", got, want)
	}
	md := kmsg.NewPtrMetadataResponse()
	md.SetVersion(12)
	got = AppendResponseFrame([]byte("prefix"), 5, md)
	want = cat([]byte("prefix"), u32(int32(5+len(md.AppendTo(nil)))), u32(5), []byte{0}, md.AppendTo(nil))
	if !bytes.Equal(got, want) {
		t.Fatalf("Metadata v12 frame %x, want %x", got, want)
	}
}

// FuzzReadRequest feeds arbitrary byte streams to the frame reader and
// header parser, as the reader goroutine does, checking that nothing panics,
// that no frame exceeds the limit, and that parsed bodies are suffixes of
// their frames.
func FuzzReadRequest(f *testing.F) {
	fm := kmsg.NewRequestFormatter(kmsg.FormatterClientID("fuzz"))
	for _, r := range []kmsg.Request{kmsg.NewPtrApiVersionsRequest(), kmsg.NewPtrProduceRequest(), kmsg.NewPtrFetchRequest(), kmsg.NewPtrControlledShutdownRequest()} {
		for _, v := range []int16{0, 3, r.MaxVersion()} {
			r.SetVersion(v)
			f.Add(fm.AppendRequest(nil, r, 1))
		}
	}
	f.Add(cat(frameOf(cat(u16(999), u16(0), u32(3), u16(1), []byte("z"))), u32(-1)))
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 0, 12, 0, 1, 0, 12, 0, 0, 0, 1, 0xff, 0xff, 0x85, 0x80})
	f.Add([]byte{0, 0, 0, 3, 1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 1 << 16
		br := bufio.NewReader(bytes.NewReader(data))
		var last *string
		for {
			h, body, frame, err := readRequest(br, max, &last)
			if err != nil {
				return
			}
			if len(frame.b) < len(body) || len(frame.b) > max || !bytes.HasSuffix(frame.b, body) {
				t.Fatalf("body is not a suffix of its %d-byte frame", len(frame.b))
			}
			if len(body) > max {
				t.Fatalf("body %d over max", len(body))
			}
			if h.Version < 0 || h.Version > 2 {
				t.Fatalf("header version %d", h.Version)
			}
			// Re-encoding the header and body must parse back the same.
			again := append(AppendRequestHeader(nil, &h), body...)
			h2, body2, err := ParseRequest(again)
			if err != nil || !headersEqual(h, h2) || !bytes.Equal(body, body2) {
				t.Fatalf("round trip: %v %+v %+v", err, h, h2)
			}
			releaseFrame(frame)
		}
	})
}

// FuzzParseRequest checks ParseRequest alone on arbitrary frames.
func FuzzParseRequest(f *testing.F) {
	f.Add(cat(u16(1), u16(12), u32(9), u16(2), []byte("id"), []byte{0}, []byte("X")))
	f.Add(cat(u16(18), u16(3), u32(1), u16(1), []byte("c"), []byte{2, 0, 3, 'a', 'b', 'c', 0x80, 0x01, 0}))
	f.Add(cat(u16(7), u16(0), u32(1)))
	f.Fuzz(func(t *testing.T, frame []byte) {
		h, body, err := ParseRequest(frame)
		if err != nil {
			return
		}
		if len(body) > len(frame)-8 || !bytes.HasSuffix(frame, body) {
			t.Fatalf("body is not a suffix of the frame")
		}
		if h.Version != RequestHeaderVersion(h.APIKey, h.APIVersion) {
			t.Fatalf("header version %d for key %d v%d", h.Version, h.APIKey, h.APIVersion)
		}
	})
}

func headersEqual(a, b Header) bool {
	if (a.ClientID == nil) != (b.ClientID == nil) || a.ClientID != nil && *a.ClientID != *b.ClientID {
		return false
	}
	a.ClientID, b.ClientID = nil, nil
	return a == b
}

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func u16(v int16) []byte { return binary.BigEndian.AppendUint16(nil, uint16(v)) }
func u32(v int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }

// frameOf prefixes b with its size.
func frameOf(b []byte) []byte { return append(u32(int32(len(b))), b...) }

// TestClientIDCache: consecutive requests of one connection share the
// client id string when it repeats, and get the right one when it changes.
func TestClientIDCache(t *testing.T) {
	ids := []*string{strp("a"), strp("a"), strp("b"), nil, strp("b"), strp("")}
	var stream []byte
	for i, id := range ids {
		h := Header{APIKey: 3, APIVersion: 1, CorrelationID: int32(i), ClientID: id, Version: 1}
		stream = append(stream, frameOf(AppendRequestHeader(nil, &h))...)
	}
	r := bytes.NewReader(stream)
	var last *string
	var prev *string
	for i, id := range ids {
		h, _, _, err := readRequest(r, 100, &last)
		if err != nil {
			t.Fatal(err)
		}
		if deref(h.ClientID) != deref(id) {
			t.Fatalf("request %d: client id %v, want %v", i, deref(h.ClientID), deref(id))
		}
		if i == 1 && h.ClientID != prev {
			t.Error("repeated client id not shared")
		}
		prev = h.ClientID
	}
}
