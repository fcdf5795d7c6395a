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

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

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
