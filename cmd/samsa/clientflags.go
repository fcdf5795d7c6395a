package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-streaming/samsa/internal/cli"
)

// clientFlags are the connection flags every client subcommand shares.
type clientFlags struct {
	brokers  string
	clientID string
}

func (f *clientFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.brokers, "brokers", defaultBrokers(),
		"bootstrap brokers host:port[,host:port...]; $"+envBrokers+" sets the default")
	fs.StringVar(&f.clientID, "client-id", "samsa-cli", "client.id sent to the brokers")
}

// newClient returns a franz-go client for the flags plus opts. It does not
// connect: the first request does.
func (f *clientFlags) newClient(opts ...kgo.Opt) (*kgo.Client, error) {
	seeds, err := cli.SplitBrokers(f.brokers)
	if err != nil {
		return nil, fmt.Errorf("--brokers: %w", err)
	}
	all := append([]kgo.Opt{kgo.SeedBrokers(seeds...), kgo.ClientID(f.clientID)}, opts...)
	cl, err := kgo.NewClient(all...)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return cl, nil
}

// signalContext is parent cancelled also on SIGINT or SIGTERM, so that a
// long-running tool (consume, perf) stops cleanly, prints its summary and
// exits 0 when interrupted.
func signalContext(parent context.Context) (context.Context, context.CancelFunc) {
	if parent == nil {
		parent = context.Background()
	}
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}
