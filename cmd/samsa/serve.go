package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/server"
)

func newServeCmd() *cobra.Command {
	var (
		configFile string
		overrides  []string
		logLevel   string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a broker (no flags: a single node on 127.0.0.1:9092, data in ./samsa-data)",
		Long: `Run a Samsa broker.

Configuration uses Kafka's property names. Sources, lowest precedence first:
a properties file (--config), SAMSA_-prefixed environment variables
(SAMSA_LOG_DIRS=/x sets log.dirs), and --override key=value flags.
Unknown keys and invalid values fail the start.

An HTTP side port on samsa.http.listener (default 127.0.0.1:9644) serves
Prometheus metrics (/metrics), liveness (/healthz) and readiness (/readyz,
200 once every listener serves, 503 while starting or stopping). A taken
port fails the start; --override samsa.http.listener= turns it off.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			cfg, err := config.Load(config.LoadOptions{File: configFile, Env: serverEnv(os.Environ()), Overrides: overrides})
			if err != nil {
				return err
			}
			return serve(cmd.Context(), cfg, logger)
		},
	}
	cmd.Flags().StringVar(&configFile, "config", "", "a server.properties file")
	cmd.Flags().StringArrayVar(&overrides, "override", nil, "key=value, overriding the file and the environment (repeatable)")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

// serve runs a broker until SIGINT or SIGTERM, then stops it cleanly:
// listeners stop accepting, in-flight requests finish, logs are flushed and
// marked clean so the next start opens without a scan.
func serve(ctx context.Context, cfg *config.BrokerConfig, logger *slog.Logger) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	started := time.Now()
	srv, err := server.Start(ctx, cfg, logger)
	if err != nil {
		return err
	}
	b := cfg.Broker()
	side := "HTTP side port off"
	if a := srv.HTTPAddr(); a != nil {
		side = "metrics http://" + a.String() + "/metrics"
	}
	fmt.Printf("samsa: serving on %s (node.id %d, cluster %s, data in %v, %s) after %s\n",
		srv.BootstrapAddr(), srv.NodeID(), srv.ClusterID(), b.LogDirs, side, time.Since(started).Round(time.Millisecond))
	<-ctx.Done()
	stop()
	logger.Info("shutting down")
	closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Close(closeCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped cleanly")
	return nil
}
