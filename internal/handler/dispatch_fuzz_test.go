package handler

import (
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/network"
)

// FuzzDispatch sends arbitrary bodies, under the header of any API key and
// version, to a broker holding a topic. Whatever the bytes, the broker must
// answer or close that connection promptly (no panic, no hang, no runaway
// decode), and must go on serving other connections. The seeds are every
// registered API's default request at its lowest and highest version.
func FuzzDispatch(f *testing.F) {
	for _, a := range supportedAPIs() {
		req := kmsg.RequestForKey(a.key)
		for _, v := range []int16{a.min, a.max} {
			req.SetVersion(v)
			f.Add(a.key, v, req.AppendTo(nil))
		}
	}
	f.Add(int16(0x7f00), int16(0), []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, key, version int16, body []byte) {
		b := startBroker(t)
		b.createTopic(t, "t", 2, nil)

		hdr := network.AppendRequestHeader(nil, &network.Header{
			APIKey: key, APIVersion: version, CorrelationID: 1,
			ClientID: kmsg.StringPtr("fuzz"), Version: network.RequestHeaderVersion(key, version),
		})
		frame := binary.BigEndian.AppendUint32(nil, uint32(len(hdr)+len(body)))
		frame = append(append(frame, hdr...), body...)
		c := b.dial(t)
		_ = c.conn.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := c.conn.Write(frame); err != nil {
			t.Fatal(err)
		}
		// An answer (or a close) must come; what it says is the API's
		// business, tested elsewhere. acks=0 produce answers nothing, so a
		// follow-up ApiVersions on the same connection proves progress.
		c.send(kmsg.NewPtrApiVersionsRequest())
		var size [4]byte
		var ne net.Error
		if _, err := c.conn.Read(size[:1]); errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("%s v%d: no answer and no close within the deadline", kmsg.NameForKey(key), version)
		}
		// Still serving.
		if resp := b.raw(t, kmsg.NewPtrApiVersionsRequest()).(*kmsg.ApiVersionsResponse); resp.ErrorCode != 0 {
			t.Fatalf("after %s v%d: ApiVersions error %d", kmsg.NameForKey(key), version, resp.ErrorCode)
		}
	})
}
