package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/coordinator/group"
	"github.com/samsa-streaming/samsa/internal/handler"
	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/network"
	"github.com/samsa-streaming/samsa/internal/purgatory"
	"github.com/samsa-streaming/samsa/internal/replica"
	"github.com/samsa-streaming/samsa/internal/storage"
)

// Server is one running broker. Build it with Start; stop it with Close.
// Its accessors are safe for concurrent use.
type Server struct {
	cfg    *config.BrokerConfig
	broker *config.Broker
	log    *slog.Logger

	clusterID  string
	publisher  *metadata.Publisher
	metaLog    *metadata.LocalLog
	controller *metadata.Controller
	logs       *storage.Manager
	timer      *purgatory.Timer
	replicas   *replica.Manager
	groups     *group.Coordinator // consumer groups (groups.go)
	network    *network.Server
	unsub      func()
	side       sidePort // the HTTP side port and its metrics (http.go)

	closeOnce sync.Once
	closeErr  error
}

// Start brings a broker up on cfg and returns once it is serving on every
// listener. On error, whatever was started is stopped again.
func Start(ctx context.Context, cfg *config.BrokerConfig, log *slog.Logger) (_ *Server, err error) {
	if log == nil {
		log = slog.Default()
	}
	b := cfg.Broker()
	s := &Server{cfg: cfg, broker: b, log: log}
	defer func() {
		if err != nil {
			_ = s.Close(context.Background())
		}
	}()
	if err := s.startHTTP(); err != nil {
		return nil, err
	}

	for _, dir := range b.LogDirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("server: create log dir: %w", err)
		}
	}
	ident, err := metadata.EnsureMetaProperties(b.LogDirs, b.NodeID, b.ClusterID, nil)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.clusterID = ident.ClusterID

	// Metadata: replay the local log into the publisher's image.
	metaDir := b.MetadataLogDir
	if metaDir == "" {
		metaDir = b.LogDirs[0]
	}
	s.publisher = metadata.NewPublisher()
	s.metaLog, err = metadata.OpenLocalLog(metadata.MetadataLogDir(metaDir), s.publisher,
		metadata.LocalLogOptions{Logger: log.With("component", "metadata")})
	if err != nil {
		return nil, fmt.Errorf("server: open metadata log: %w", err)
	}

	// Partition logs: load (and recover) everything on disk.
	s.logs, err = storage.NewManager(storage.ManagerConfig{
		Dirs:                            b.LogDirs,
		RecoveryThreadsPerDir:           int(b.NumRecoveryThreadsPerDataDir),
		FlushCheckInterval:              b.LogFlushSchedulerInterval,
		RetentionCheckInterval:          b.LogRetentionCheckInterval,
		RecoveryCheckpointInterval:      b.LogFlushOffsetCheckpointInterval,
		StartOffsetCheckpointInterval:   b.LogFlushStartOffsetCheckpointInterval,
		HighWatermarkCheckpointInterval: b.ReplicaHighWatermarkCheckpointInterval,
		DefaultConfig:                   replica.TopicPartitionConfig(b.LogDefaults).Log,
		ConfigFor:                       s.topicLogConfig,
		Logger:                          log.With("component", "storage"),
		Cleaner: storage.CleanerConfig{
			Enable:              b.LogCleanerEnable,
			Threads:             int(b.LogCleanerThreads),
			DedupeBufferSize:    b.LogCleanerDedupeBufferSize,
			IOMaxBytesPerSecond: b.LogCleanerIOMaxBytesPerSecond,
			Backoff:             b.LogCleanerBackoff,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if err := s.logs.Open(ctx); err != nil {
		return nil, fmt.Errorf("server: load logs: %w", err)
	}
	s.logs.Start()

	s.timer, err = purgatory.NewTimer(purgatory.TimerConfig{})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.replicas, err = replica.NewManager(replica.Config{
		NodeID: b.NodeID,
		Logs:   s.logs,
		Timer:  s.timer,
		Logger: log.With("component", "replica"),
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if err := s.startGroups(); err != nil {
		return nil, err
	}

	// From here on every metadata change reaches the partitions; first
	// bring them in line with the replayed image.
	s.unsub = s.publisher.Subscribe(s.onMetadataChange)
	if err := s.reconcile(s.publisher.Image()); err != nil {
		return nil, err
	}

	s.controller = metadata.NewController(s.metaLog, s.publisher, metadata.ControllerConfig{
		NodeID:                   b.NodeID,
		DefaultNumPartitions:     b.NumPartitions,
		DefaultReplicationFactor: int16(b.DefaultReplicationFactor),
		ValidateTopicConfig: func(_ string, overrides map[string]string) error {
			return cfg.ValidateTopicConfigs(nil, overrides)
		},
		ValidateBrokerConfig: func(resource string, overrides map[string]string) error {
			updates := make(map[string]*string, len(overrides))
			for k, v := range overrides {
				updates[k] = &v
			}
			return cfg.ValidateDynamic(resource != "", updates)
		},
		ListConfig: listConfig,
		Logger:     log.With("component", "controller"),
	})

	h := handler.New(handler.Deps{
		Logger:     log,
		NodeID:     b.NodeID,
		Metadata:   s.publisher.Image,
		Replicas:   s.replicas,
		Controller: s.controller,
		Config:     cfg,
		ClusterID:  s.clusterID,
		Logs:       s.logs,
		Groups:     s.groups,
	})
	var listeners []network.ListenerConfig
	for _, l := range b.Listeners {
		listeners = append(listeners, network.ListenerConfig{Name: l.Name, Addr: l.Addr()})
	}
	s.network, err = network.NewServer(network.Config{
		Listeners:             listeners,
		SocketRequestMaxBytes: b.SocketRequestMaxBytes,
		ConnectionsMaxIdle:    b.ConnectionsMaxIdle,
		Logger:                log.With("component", "network"),
		Handler:               h,
		Observer:              s.requestObserver(),
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if err := s.network.Start(); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if _, err := s.controller.RegisterBroker(metadata.Broker{
		ID:        b.NodeID,
		Rack:      b.Rack,
		Endpoints: s.advertisedEndpoints(),
	}); err != nil {
		return nil, fmt.Errorf("server: register broker: %w", err)
	}
	if err := s.markReady(); err != nil {
		return nil, err
	}
	return s, nil
}

// advertisedEndpoints are the endpoints clients are told about: each
// advertised listener, with the port the listener actually bound when the
// configuration asked for port 0, and the bound address when the host is
// empty (bind-all).
func (s *Server) advertisedEndpoints() []metadata.Endpoint {
	var eps []metadata.Endpoint
	for _, l := range s.broker.AdvertisedListeners {
		host, port := l.Host, l.Port
		if addr, ok := s.network.Addr(l.Name).(*net.TCPAddr); ok && addr != nil {
			if port == 0 {
				port = addr.Port
			}
			if host == "" {
				host = addr.IP.String()
				if addr.IP.IsUnspecified() {
					if h, err := os.Hostname(); err == nil {
						host = h
					}
				}
			}
		}
		eps = append(eps, metadata.Endpoint{
			Listener:         l.Name,
			Host:             host,
			Port:             uint16(port),
			SecurityProtocol: securityProtocolID(l.SecurityProtocol),
		})
	}
	return eps
}

// listConfig tells the controller which configs are lists (so
// IncrementalAlterConfigs APPEND and SUBTRACT apply) and their defaults.
func listConfig(res metadata.ConfigResource, name string) (bool, string) {
	reg := config.TopicDefs()
	if res.Type == metadata.ResourceBroker {
		reg = config.BrokerDefs()
	}
	d, ok := reg.Lookup(name)
	if !ok || d.Type != config.TypeList {
		return false, ""
	}
	dflt, _ := d.Default()
	return true, dflt
}

func securityProtocolID(p config.SecurityProtocol) int16 {
	switch p {
	case "SSL":
		return 1
	case "SASL_PLAINTEXT":
		return 2
	case "SASL_SSL":
		return 3
	}
	return 0
}

// ClusterID returns the cluster id from meta.properties.
func (s *Server) ClusterID() string { return s.clusterID }

// NodeID returns this broker's node.id.
func (s *Server) NodeID() int32 { return s.broker.NodeID }

// Addr returns the address the named listener is bound to, or nil.
func (s *Server) Addr(listener string) net.Addr { return s.network.Addr(listener) }

// BootstrapAddr returns host:port of the first listener, for clients.
func (s *Server) BootstrapAddr() string {
	l := s.broker.Listeners[0]
	addr := s.network.Addr(l.Name).(*net.TCPAddr)
	host := l.Host
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.Itoa(addr.Port))
}

// LogLoadStats reports what loading the partition logs at start did; after
// a clean shutdown it scanned nothing.
func (s *Server) LogLoadStats() storage.ManagerLoadStats { return s.logs.LoadStats() }

// Metadata returns the current metadata image.
func (s *Server) Metadata() *metadata.Image { return s.publisher.Image() }

// Close stops the broker in order (see the package doc) and returns the
// first error. A clean Close leaves every log dir marked clean, so the next
// start loads without scanning. Close is idempotent.
func (s *Server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		var errs []error
		s.markStopping()
		if s.replicas != nil {
			// The drain below waits for in-flight requests; a parked
			// fetch would hold it until its max wait ran out.
			s.replicas.ReleaseFetches()
		}
		// Likewise parked joins and syncs; the coordinator also stops
		// appending to its partitions before the replicas close.
		errs = append(errs, s.closeGroups())
		if s.network != nil {
			errs = append(errs, s.network.Close(ctx))
		}
		errs = append(errs, s.closeHTTP(ctx))
		if s.unsub != nil {
			s.unsub()
		}
		if s.replicas != nil {
			errs = append(errs, s.replicas.Close())
		}
		if s.timer != nil {
			s.timer.Close()
		}
		if s.logs != nil {
			errs = append(errs, s.logs.Close())
		}
		if s.metaLog != nil {
			errs = append(errs, s.metaLog.Close())
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}
