package e2e_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// frame prefixes body with its 4-byte size.
func frame(body []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

// reqHeader builds a request header v1 (key, version, correlation id, client
// id) for hand-made frames.
func reqHeader(key, version int16, clientIDLen int16, clientID string) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(key))
	b = binary.BigEndian.AppendUint16(b, uint16(version))
	b = binary.BigEndian.AppendUint32(b, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(clientIDLen))
	return append(b, clientID...)
}

// expectClosed requires the broker to close c without answering: a read
// ends in EOF or a reset, not in data and not in a timeout.
func expectClosed(t *testing.T, c net.Conn, what string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 1024)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			t.Errorf("%s: the broker answered %d bytes (% x...)", what, n, buf[:min(n, 16)])
			return
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("%s: the connection is still open", what)
			return
		}
		if err != nil {
			return // EOF or reset: closed
		}
	}
}

// TestBadInputDoesNotStopTheBroker sends, each on its own connection,
// bytes that are not a Kafka request: HTTP, random noise, a frame cut
// short, size prefixes of 2 GiB and beyond socket.request.max.bytes,
// frames too short for a header, a negative client id length, unknown API
// keys, an unsupported version and a body that does not parse. Kafka
// closes such a connection without an answer; so must Samsa, every time,
// while a connection opened before keeps working and a normal client
// then produces and consumes. An ApiVersions newer than the broker's is
// the one exception Kafka answers (KIP-511), with UNSUPPORTED_VERSION.
func TestBadInputDoesNotStopTheBroker(t *testing.T) {
	e := newEnv(t)
	good := dialRaw(t, e.b.Addr)
	apiVersions := func(c *rawConn) {
		t.Helper()
		req := kmsg.NewPtrApiVersionsRequest()
		req.ClientSoftwareName = "samsa-e2e" // v3 requires both (KIP-511)
		req.ClientSoftwareVersion = "1.0"
		resp := c.request(t, req, 3).(*kmsg.ApiVersionsResponse)
		if resp.ErrorCode != 0 || len(resp.ApiKeys) == 0 {
			t.Fatalf("ApiVersions: error %d, %d keys", resp.ErrorCode, len(resp.ApiKeys))
		}
	}
	apiVersions(good)

	rng := rand.New(rand.NewPCG(1, 2))
	noise := make([]byte, 4096)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	produceBody := kmsg.NewPtrProduceRequest()
	produceBody.Acks = 1
	validProduce := requestBytes(produceBody, 9, 1)

	cases := []struct {
		name      string
		bytes     []byte
		halfClose bool // then close our side for writing: the frame never completes
	}{
		{"HTTP request", []byte("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"), false},
		{"TLS client hello", []byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03}, false},
		{"random noise", noise, false},
		{"truncated frame", append(binary.BigEndian.AppendUint32(nil, 100), reqHeader(18, 3, 0, "")...), true},
		{"truncated size", []byte{0, 0}, true},
		{"2 GiB size prefix", binary.BigEndian.AppendUint32(nil, 1<<31), false},
		{"2 GiB - 1 size prefix", append(binary.BigEndian.AppendUint32(nil, 1<<31-1), noise[:64]...), false},
		{"size above socket.request.max.bytes", binary.BigEndian.AppendUint32(nil, 104857600+1), false},
		{"negative size", binary.BigEndian.AppendUint32(nil, 0xfffffff0), false},
		{"empty frame", frame(nil), false},
		{"frame shorter than a header", frame([]byte{0, 18, 0}), false},
		{"negative client id length", frame(reqHeader(18, 3, -5, "")), false},
		{"client id past the frame", frame(reqHeader(18, 0, 300, "abc")), false},
		{"unknown api key 9999", frame(append(reqHeader(9999, 0, 3, "bad"), noise[:32]...)), false},
		{"negative api key", frame(reqHeader(-1, 0, 3, "bad")), false},
		{"unsupported produce version", frame(reqHeader(0, 99, 3, "bad")), false},
		{"produce body that does not parse", frame(append(reqHeader(0, 3, 3, "bad"), noise[:40]...)), false},
		{"produce body cut short", validProduce[:len(validProduce)-3], true},
		{"metadata with a huge topic count", frame(append(reqHeader(3, 4, 0, ""), 0x7f, 0xff, 0xff, 0xff)), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			conn := dialRaw(t, e.b.Addr)
			_, _ = conn.Write(c.bytes) // the broker may close while we write
			if c.halfClose {
				_ = conn.Conn.(*net.TCPConn).CloseWrite()
			}
			expectClosed(t, conn, c.name)
		})
	}

	t.Run("newer ApiVersions is answered", func(t *testing.T) {
		conn := dialRaw(t, e.b.Addr)
		if _, err := conn.Write(frame(append(reqHeader(18, 99, 3, "new"), 0))); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		var size [4]byte
		if _, err := io.ReadFull(conn, size[:]); err != nil {
			t.Fatalf("no answer: %v", err)
		}
		body := make([]byte, binary.BigEndian.Uint32(size[:]))
		if _, err := io.ReadFull(conn, body); err != nil {
			t.Fatal(err)
		}
		resp := kmsg.NewPtrApiVersionsResponse()
		resp.Version = 0
		if err := resp.ReadFrom(body[4:]); err != nil {
			t.Fatal(err)
		}
		if !errors.Is(kerr.ErrorForCode(resp.ErrorCode), kerr.UnsupportedVersion) || len(resp.ApiKeys) == 0 {
			t.Fatalf("ApiVersions v99: error %d, %d keys; want UNSUPPORTED_VERSION with the supported ranges", resp.ErrorCode, len(resp.ApiKeys))
		}
		apiVersions(conn) // and the connection goes on at a version both speak
	})

	// The connection opened before all this still works, and so does a
	// normal client.
	apiVersions(good)
	const topic = "after-garbage"
	e.createTopic(t, topic, 1, nil)
	prod := newKgo(t, e.b.Addr, kgo.DefaultProduceTopic(topic))
	var recs []*kgo.Record
	for i := range 10 {
		recs = append(recs, &kgo.Record{Value: fmt.Appendf(nil, "still here %d", i)})
	}
	if err := prod.ProduceSync(ctxFor(t, 20*time.Second), recs...).FirstErr(); err != nil {
		t.Fatalf("produce after bad input: %v", err)
	}
	cons := newKgo(t, e.b.Addr, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(0)}}),
		kgo.FetchMaxWait(100*time.Millisecond))
	for i, r := range franzPoll(t, cons, 10) {
		if want := fmt.Sprintf("still here %d", i); string(r.value) != want || r.offset != int64(i) {
			t.Fatalf("record %d: %q at %d, want %q", i, r.value, r.offset, want)
		}
	}
}
