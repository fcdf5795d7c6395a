package testutil

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/server"
)

// Broker is a broker started by StartBroker.
type Broker struct {
	*server.Server
	// Addr is host:port for clients' bootstrap servers.
	Addr string
	// Dir is the broker's (only) log dir.
	Dir string
	// Props are the properties it was started with, for a restart.
	Props map[string]string
}

// testDefaults make a broker suitable for tests: free loopback ports (the
// Kafka listener and the HTTP side port, so that brokers started in
// parallel never clash on the side port's fixed default), data in the
// test's temp dir, no 3 s initial rebalance delay.
func testDefaults(dir string) map[string]string {
	return map[string]string{
		"listeners":                        "PLAINTEXT://127.0.0.1:0",
		"samsa.http.listener":              "127.0.0.1:0",
		"log.dirs":                         dir,
		"group.initial.rebalance.delay.ms": "0",
	}
}

// StartBroker starts a broker with the test defaults overridden by
// key=value pairs, and stops it when the test ends. The broker's logs are
// discarded unless the environment variable TESTUTIL_LOG is set (then they
// go to stderr at debug level).
func StartBroker(t testing.TB, overrides ...string) *Broker {
	t.Helper()
	props := testDefaults(t.TempDir())
	for _, kv := range overrides {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Fatalf("testutil: override %q is not key=value", kv)
		}
		props[k] = v
	}
	return StartBrokerProps(t, props)
}

// StartBrokerProps starts a broker with exactly props (see StartBroker).
func StartBrokerProps(t testing.TB, props map[string]string) *Broker {
	t.Helper()
	cfg, err := config.NewBrokerConfig(props)
	if err != nil {
		t.Fatalf("testutil: config: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("TESTUTIL_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, err := server.Start(ctx, cfg, logger)
	if err != nil {
		t.Fatalf("testutil: start broker: %v", err)
	}
	b := &Broker{Server: srv, Addr: srv.BootstrapAddr(), Dir: props["log.dirs"], Props: props}
	t.Cleanup(func() { b.Stop(t) })
	return b
}

// Stop closes the broker cleanly (idempotent).
func (b *Broker) Stop(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		t.Errorf("testutil: stop broker: %v", err)
	}
}
