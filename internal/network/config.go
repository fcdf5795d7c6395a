package network

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"
)

// Kafka's defaults for the settings this package applies.
const (
	// DefaultSocketRequestMaxBytes is socket.request.max.bytes' default.
	DefaultSocketRequestMaxBytes = 104857600
	// DefaultConnectionsMaxIdle is connections.max.idle.ms' default.
	DefaultConnectionsMaxIdle = 600000 * time.Millisecond
	// DefaultMaxInFlightPerConnection is how many requests of one connection
	// may be dispatched and not yet answered. Kafka mutes a connection from
	// the moment a request is read until its response is sent, which is 1.
	DefaultMaxInFlightPerConnection = 1
)

// ErrInvalidConfig reports a Config or listener list that cannot be used.
var ErrInvalidConfig = errors.New("network: invalid config")

// ListenerConfig is one listener, as in Kafka's `listeners` config
// (NAME://host:port).
type ListenerConfig struct {
	// Name is the listener name, e.g. PLAINTEXT. Unique within a server.
	Name string
	// Addr is the host:port to bind; port 0 picks a free port (see
	// Server.Addr for the one bound).
	Addr string
	// TLS, if set, makes this a TLS listener. Responses on it are written
	// through TLS (file ranges with pread + write instead of sendfile).
	TLS *tls.Config
}

// Config configures a Server. Zero values mean Kafka's defaults.
type Config struct {
	// Listeners to bind. At least one.
	Listeners []ListenerConfig
	// SocketRequestMaxBytes is socket.request.max.bytes: a frame whose
	// size prefix is larger closes the connection. 0 means the default.
	SocketRequestMaxBytes int32
	// ConnectionsMaxIdle is connections.max.idle.ms: a connection with no
	// bytes read or written for this long is closed. 0 means the default;
	// negative disables idle closing.
	ConnectionsMaxIdle time.Duration
	// MaxInFlightPerConnection bounds the requests of one connection that
	// have been dispatched to the handler and not yet completed and taken
	// by the writer (which takes completed responses in order, and holds
	// one batch at a time). While it is reached the connection is not read
	// (TCP pushes back on the client). 0 means
	// DefaultMaxInFlightPerConnection: 1, as Kafka, so a request is
	// dispatched only after the one before it has been answered.
	MaxInFlightPerConnection int
	// SocketSendBufferBytes and SocketReceiveBufferBytes are
	// socket.send.buffer.bytes and socket.receive.buffer.bytes: SO_SNDBUF and
	// SO_RCVBUF of accepted connections. 0 or -1 keeps the OS default (and
	// its autotuning); the config layer supplies Kafka's 102400 if wanted.
	SocketSendBufferBytes    int
	SocketReceiveBufferBytes int
	// Logger receives connection-level events. nil discards them.
	Logger *slog.Logger
	// Handler serves every request. Required.
	Handler Handler
	// Observer, if set, is told about every request once its response is
	// written (request metrics). nil costs nothing.
	Observer RequestObserver
}

func (c *Config) withDefaults() (Config, error) {
	out := *c
	if len(out.Listeners) == 0 {
		return out, fmt.Errorf("%w: no listeners", ErrInvalidConfig)
	}
	seen := make(map[string]bool, len(out.Listeners))
	for _, l := range out.Listeners {
		if l.Name == "" {
			return out, fmt.Errorf("%w: listener %q has no name", ErrInvalidConfig, l.Addr)
		}
		if seen[l.Name] {
			return out, fmt.Errorf("%w: listener name %s used twice", ErrInvalidConfig, l.Name)
		}
		seen[l.Name] = true
	}
	if out.Handler == nil {
		return out, fmt.Errorf("%w: no handler", ErrInvalidConfig)
	}
	switch {
	case out.SocketRequestMaxBytes == 0:
		out.SocketRequestMaxBytes = DefaultSocketRequestMaxBytes
	case out.SocketRequestMaxBytes < 0:
		return out, fmt.Errorf("%w: socket.request.max.bytes %d", ErrInvalidConfig, out.SocketRequestMaxBytes)
	}
	if out.ConnectionsMaxIdle == 0 {
		out.ConnectionsMaxIdle = DefaultConnectionsMaxIdle
	}
	switch {
	case out.MaxInFlightPerConnection == 0:
		out.MaxInFlightPerConnection = DefaultMaxInFlightPerConnection
	case out.MaxInFlightPerConnection < 0:
		return out, fmt.Errorf("%w: max in-flight per connection %d", ErrInvalidConfig, out.MaxInFlightPerConnection)
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.DiscardHandler)
	}
	return out, nil
}

// ParseListeners parses Kafka's `listeners` syntax: a comma-separated list of
// NAME://host:port, e.g. "PLAINTEXT://127.0.0.1:9092,INTERNAL://:9093". An
// empty host binds every interface, as in Kafka. Names are upper-cased
// (Kafka treats listener names case-insensitively) and must be unique.
func ParseListeners(s string) ([]ListenerConfig, error) {
	var out []ListenerConfig
	seen := map[string]bool{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, addr, ok := strings.Cut(item, "://")
		if !ok || name == "" {
			return nil, fmt.Errorf("%w: listener %q is not NAME://host:port", ErrInvalidConfig, item)
		}
		name = strings.ToUpper(name)
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("%w: listener %q: %v", ErrInvalidConfig, item, err)
		}
		if seen[name] {
			return nil, fmt.Errorf("%w: listener name %s used twice", ErrInvalidConfig, name)
		}
		seen[name] = true
		out = append(out, ListenerConfig{Name: name, Addr: addr})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no listeners in %q", ErrInvalidConfig, s)
	}
	return out, nil
}
