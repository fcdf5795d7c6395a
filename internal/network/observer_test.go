package network

import (
	"sync"
	"testing"
)

// recordingObserver keeps every RequestStats it is given.
type recordingObserver struct {
	mu    sync.Mutex
	stats []RequestStats // guarded by mu
}

func (o *recordingObserver) ObserveRequest(s RequestStats) {
	o.mu.Lock()
	o.stats = append(o.stats, s)
	o.mu.Unlock()
}

func (o *recordingObserver) snapshot() []RequestStats {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]RequestStats(nil), o.stats...)
}

func TestObserverSeesEachFinishedRequest(t *testing.T) {
	obs := &recordingObserver{}
	h := HandlerFunc(func(r *Request) {
		switch r.Header.APIKey {
		case 0: // acks=0 produce: no response
			r.NoResponse()
		case 99: // unknown key: close
			r.CloseConnection()
		default:
			r.Respond(NewResponse(r.Body))
		}
	})
	s, _ := startServer(t, Config{Handler: h, Observer: obs})
	c := dial(t, s.Addr("PLAINTEXT"))

	metaReq := request(3, 1, 1, []byte("hello"))
	c.write(metaReq)
	c.recv(0)
	produceReq := request(0, 3, 2, []byte("fire and forget"))
	c.write(produceReq)
	// Flexible ApiVersions v3 still has a v0 response header; Metadata v9
	// is flexible with a v1 response header.
	flexReq := request(3, 9, 3, []byte("flexible"))
	c.write(flexReq)
	c.recv(1)

	eventually(t, "three observations", func() bool { return len(obs.snapshot()) == 3 })
	got := obs.snapshot()
	want := []RequestStats{
		{Listener: "PLAINTEXT", APIKey: 3, APIVersion: 1, BytesIn: int64(len(metaReq)), BytesOut: 4 + 4 + 5},
		{Listener: "PLAINTEXT", APIKey: 0, APIVersion: 3, BytesIn: int64(len(produceReq)), BytesOut: 0},
		{Listener: "PLAINTEXT", APIKey: 3, APIVersion: 9, BytesIn: int64(len(flexReq)), BytesOut: 4 + 5 + 8},
	}
	for i := range want {
		if got[i].Duration < 0 {
			t.Errorf("request %d: duration %v, want >= 0", i, got[i].Duration)
		}
		got[i].Duration = 0
		if got[i] != want[i] {
			t.Errorf("request %d: got %+v, want %+v", i, got[i], want[i])
		}
	}

	// A request that closes the connection is not reported.
	c.send(99, 0, 4, nil)
	c.expectClosed()
	if n := len(obs.snapshot()); n != 3 {
		t.Errorf("%d observations after CloseConnection, want 3", n)
	}
}
