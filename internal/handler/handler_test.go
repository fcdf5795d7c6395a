package handler

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"

	"github.com/samsa-streaming/samsa/internal/network"
)

func TestMain(m *testing.M) {
	// Request frames are recycled once a request is completed; poisoning
	// them on release makes a handler that keeps using a body (or a kmsg
	// []byte field aliasing it, such as Produce's Records) afterwards fail
	// here with corrupted data instead of silently in production.
	network.PoisonReleasedFrames.Store(true)
	goleak.VerifyTestMain(m)
}

// startNetwork serves h on a free loopback port and returns its address.
func startNetwork(t *testing.T, h *Handler) string {
	t.Helper()
	srv, err := network.NewServer(network.Config{
		Listeners: []network.ListenerConfig{{Name: "PLAINTEXT", Addr: "127.0.0.1:0"}},
		Handler:   h,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
	})
	return srv.Addr("PLAINTEXT").String()
}

func TestApiVersionsWithFranzGo(t *testing.T) {
	addr := startNetwork(t, New(Deps{}))
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorCode != 0 {
		t.Fatalf("error code %d", resp.ErrorCode)
	}
	found := false
	for _, k := range resp.ApiKeys {
		if k.ApiKey == kmsg.ApiVersions.Int16() {
			found = true
			if k.MinVersion != 0 || k.MaxVersion != kmsg.NewPtrApiVersionsRequest().MaxVersion() {
				t.Errorf("ApiVersions range %d-%d", k.MinVersion, k.MaxVersion)
			}
		}
	}
	if !found {
		t.Fatalf("ApiVersions not advertised: %+v", resp.ApiKeys)
	}
}

// rawRequest writes one request frame (header v1 for simplicity unless the
// body says otherwise) and returns the response frame body after the
// correlation id.
func rawRoundTrip(t *testing.T, conn net.Conn, frame []byte) []byte {
	t.Helper()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write(frame); err != nil {
		t.Fatal(err)
	}
	var size [4]byte
	if _, err := io.ReadFull(conn, size[:]); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(conn, buf); err != nil {
		t.Fatal(err)
	}
	return buf
}

func TestApiVersionsNewerThanSupportedGetsV0Body(t *testing.T) {
	addr := startNetwork(t, New(Deps{}))
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// ApiVersions v99, header v2: key, version, correlation id, client id,
	// empty tagged fields, then a body we do not understand.
	hdr := []byte{0, 18, 0, 99, 0, 0, 0, 7, 0, 3, 'c', 'l', 'i', 0, 0xde, 0xad}
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(hdr)))
	frame = append(frame, hdr...)
	resp := rawRoundTrip(t, conn, frame)
	if got := int32(binary.BigEndian.Uint32(resp)); got != 7 {
		t.Fatalf("correlation id %d", got)
	}
	var body kmsg.ApiVersionsResponse
	body.SetVersion(0)
	if err := body.ReadFrom(resp[4:]); err != nil {
		t.Fatalf("v0 body does not parse: %v", err)
	}
	if body.ErrorCode != kerr.UnsupportedVersion.Code || len(body.ApiKeys) == 0 {
		t.Fatalf("got error %d with %d keys", body.ErrorCode, len(body.ApiKeys))
	}
}

func TestUnknownKeyAndBadBodyCloseOnlyThatConnection(t *testing.T) {
	addr := startNetwork(t, New(Deps{}))
	for name, hdr := range map[string][]byte{
		"unknown key":         {0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0xff, 0xff},
		"unsupported version": {0, 18, 0x7f, 0, 0, 0, 0, 1, 0xff, 0xff},
		"truncated v3 body":   {0, 18, 0, 3, 0, 0, 0, 1, 0xff, 0xff, 0, 5},
	} {
		t.Run(name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			frame := binary.BigEndian.AppendUint32(nil, uint32(len(hdr)))
			frame = append(frame, hdr...)
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := conn.Write(frame); err != nil {
				t.Fatal(err)
			}
			if n, err := conn.Read(make([]byte, 64)); err == nil {
				// ApiVersions with a huge version legitimately answers.
				if name != "unsupported version" {
					t.Fatalf("got %d response bytes, want the connection closed", n)
				}
			}
		})
	}
	// The broker still serves a well-behaved client.
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl); err != nil {
		t.Fatal(err)
	}
}

// TestTagCountBombIsRejectedQuickly sends flexible requests whose tagged
// field count is 2^32-1 with no tags behind it. Upstream kmsg looped once per
// announced tag after the input ran out (about 45 s of CPU for these 9
// bytes); the patched copy in third_party stops at once, so the connection
// is closed as malformed long before the generous deadline below.
func TestTagCountBombIsRejectedQuickly(t *testing.T) {
	addr := startNetwork(t, New(Deps{}))
	bomb := []byte{0xff, 0xff, 0xff, 0xff, 0x0f}
	for name, req := range map[string][]byte{
		// ApiVersions v3: header v2, then client software name and version.
		"ApiVersions v3": append([]byte{0, 18, 0, 3, 0, 0, 0, 1, 0xff, 0xff, 0, 2, 'a', 2, 'b'}, bomb...),
		// Metadata v12: header v2, then a null topics array, then the bomb.
		"Metadata v12": append([]byte{0, 3, 0, 12, 0, 0, 0, 1, 0xff, 0xff, 0, 0, 1, 0}, bomb...),
	} {
		t.Run(name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			frame := binary.BigEndian.AppendUint32(nil, uint32(len(req)))
			_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
			if _, err := conn.Write(append(frame, req...)); err != nil {
				t.Fatal(err)
			}
			n, err := conn.Read(make([]byte, 64))
			if err == nil {
				t.Fatalf("got %d response bytes to a malformed request", n)
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("the broker was still decoding the tag count bomb after 20 s")
			}
		})
	}
}
