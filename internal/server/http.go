package server

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"

	"github.com/samsa-streaming/samsa/internal/metrics"
	"github.com/samsa-streaming/samsa/internal/network"
)

// sidePort is the HTTP side port (samsa.http.listener) and the metrics it
// serves. Both are nil when the key is empty: then nothing is counted.
// Set in Start before anything else; never changed after.
type sidePort struct {
	metrics *metrics.Registry
	http    *metrics.HTTPServer
	// ready is what Ready reports and /readyz mirrors: set once the
	// broker serves, cleared for good when it starts stopping.
	ready atomic.Bool
}

// startHTTP binds the side port first, so that /healthz answers and
// /readyz says "starting" while logs are recovered, and so that a taken
// port fails the start before any work.
func (s *Server) startHTTP() error {
	addr := s.broker.HTTPListener
	if addr == "" {
		return nil
	}
	reg := metrics.NewRegistry()
	h, err := metrics.ListenHTTP(metrics.HTTPConfig{
		Addr:     addr,
		Gatherer: reg,
		Logger:   s.log.With("component", "http"),
	})
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.side.metrics, s.side.http = reg, h
	return nil
}

// requestObserver is what the network layer reports finished requests
// to: the registry, or nil (not a typed nil) when the side port is off.
func (s *Server) requestObserver() network.RequestObserver {
	if s.side.metrics == nil {
		return nil
	}
	return s.side.metrics
}

// markReady adds the broker-state collector and turns /readyz to 200: the
// broker serves on every listener and is registered.
func (s *Server) markReady() error {
	if s.side.http == nil {
		s.side.ready.Store(true)
		return nil
	}
	if err := s.side.metrics.RegisterBroker(metrics.Broker{
		Replicas:    s.replicas,
		Connections: s.network.NumConnections,
	}); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.side.ready.Store(true)
	s.side.http.SetReady()
	return nil
}

// markStopping turns /readyz to 503 before anything stops, so a load
// balancer stops sending clients while the listeners still drain.
func (s *Server) markStopping() {
	s.side.ready.Store(false)
	if s.side.http != nil {
		s.side.http.SetStopping()
	}
}

// closeHTTP closes the side port. Close calls it after the Kafka
// listeners drained (a scrape during the drain still works) and before
// the replica manager and logs close (a scrape never reads a closed log).
func (s *Server) closeHTTP(ctx context.Context) error {
	if s.side.http == nil {
		return nil
	}
	return s.side.http.Close(ctx)
}

// HTTPAddr returns the address the HTTP side port is bound to (the real
// port when samsa.http.listener asked for port 0), or nil when it is
// disabled.
func (s *Server) HTTPAddr() net.Addr {
	if s.side.http == nil {
		return nil
	}
	return s.side.http.Addr()
}

// Ready reports whether the broker serves on every listener and has not
// begun to stop: what /readyz answers 200 for.
func (s *Server) Ready() bool { return s.side.ready.Load() }
