package main

import (
	"slices"
	"testing"

	"github.com/samsa-streaming/samsa/internal/cli"
	"github.com/samsa-streaming/samsa/internal/config"
)

func TestServerEnvDropsClientVariables(t *testing.T) {
	env := []string{"PATH=/bin", "SAMSA_BROKERS=10.0.0.1:9092", "SAMSA_NUM_PARTITIONS=3", "SAMSA_BROKERSX=1"}
	got := serverEnv(env)
	want := []string{"PATH=/bin", "SAMSA_NUM_PARTITIONS=3", "SAMSA_BROKERSX=1"}
	if !slices.Equal(got, want) {
		t.Fatalf("serverEnv = %q, want %q", got, want)
	}

	// Why it exists: the broker's config loader refuses SAMSA_BROKERS as
	// an unknown key, and accepts the filtered environment.
	dir := t.TempDir()
	env = []string{"SAMSA_BROKERS=127.0.0.1:9092", "SAMSA_LOG_DIRS=" + dir}
	if _, err := config.Load(config.LoadOptions{Env: env}); err == nil {
		t.Fatal("config.Load accepted SAMSA_BROKERS; serverEnv is no longer needed")
	}
	cfg, err := config.Load(config.LoadOptions{Env: serverEnv(env)})
	if err != nil {
		t.Fatalf("config.Load(serverEnv(env)): %v", err)
	}
	if dirs := cfg.Broker().LogDirs; len(dirs) != 1 || dirs[0] != dir {
		t.Fatalf("log.dirs = %q, want the SAMSA_LOG_DIRS value", dirs)
	}
}

func TestDefaultBrokers(t *testing.T) {
	t.Setenv(envBrokers, "")
	if got := defaultBrokers(); got != cli.DefaultBrokers {
		t.Fatalf("defaultBrokers() = %q with no env", got)
	}
	t.Setenv(envBrokers, " b1:9092,b2:9092 ")
	if got := defaultBrokers(); got != "b1:9092,b2:9092" {
		t.Fatalf("defaultBrokers() = %q", got)
	}
	// The flag default follows the environment when the command is built.
	cmd := newConsumeCmd()
	if got := cmd.Flags().Lookup("brokers").DefValue; got != "b1:9092,b2:9092" {
		t.Fatalf("--brokers default = %q", got)
	}
}
