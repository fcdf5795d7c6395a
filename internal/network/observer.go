package network

import "time"

// RequestObserver is told about each request the server finished: its
// response written to the socket (or, for a request completed with
// NoResponse, its turn in the connection's order reached). Requests whose
// connection closed first, and those completed with CloseConnection, are
// not reported. The metrics side port implements it.
//
// ObserveRequest is called on the connection's writer goroutine, once per
// request, after the write; many connections call it concurrently. It must
// be cheap and must not block: it delays the connection's next response.
type RequestObserver interface {
	ObserveRequest(RequestStats)
}

// RequestStats describes one finished request. It is passed by value and
// refers to nothing the network layer reuses.
type RequestStats struct {
	// Listener is the name of the listener the request arrived on.
	Listener string
	// APIKey and APIVersion are from the request header (the key may be
	// one the handler did not know).
	APIKey     int16
	APIVersion int16
	// BytesIn is the request frame's size on the wire, size prefix
	// included.
	BytesIn int64
	// BytesOut is the response frame's size on the wire, size prefix
	// included; 0 when there was no response (acks=0 produce).
	BytesOut int64
	// Duration is Kafka's TotalTimeMs: from the request frame fully read
	// to its response written to the socket.
	Duration time.Duration
}

// observe reports the requests of a batch the writer finished, with one
// clock read for the batch.
func (c *Conn) observe(batch []*Request, obs RequestObserver) {
	now := time.Now()
	for _, r := range batch {
		if r.how != respond && r.how != noResponse {
			continue
		}
		obs.ObserveRequest(RequestStats{
			Listener:   c.listener,
			APIKey:     r.Header.APIKey,
			APIVersion: r.Header.APIVersion,
			BytesIn:    r.wireIn,
			BytesOut:   r.wireOut,
			Duration:   now.Sub(r.ReceivedAt),
		})
	}
}
