package main

import (
	"os"
	"strings"

	"github.com/samsa-streaming/samsa/internal/cli"
)

// envBrokers names the bootstrap servers for the client subcommands (topic,
// produce, consume, perf) when --brokers is not given: a comma-separated
// host:port list.
const envBrokers = "SAMSA_BROKERS"

// clientEnvVars are the SAMSA_-prefixed environment variables that belong
// to the client subcommands, not to the broker. `samsa serve` reads every
// other SAMSA_ variable as a broker config key (SAMSA_LOG_DIRS is
// log.dirs) and refuses unknown keys, so a shell that exports
// SAMSA_BROKERS for the tools would otherwise fail every `samsa serve` in
// it with "unknown config brokers". serve passes its environment through
// serverEnv first.
var clientEnvVars = []string{envBrokers}

// serverEnv returns env (as os.Environ gives it) without the client-side
// variables in clientEnvVars, for config.Load in `samsa serve`.
func serverEnv(env []string) []string {
	out := make([]string, 0, len(env))
next:
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		for _, c := range clientEnvVars {
			if name == c {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}

// defaultBrokers is the --brokers default: $SAMSA_BROKERS if set, else the
// address a flagless `samsa serve` listens on.
func defaultBrokers() string {
	if v := strings.TrimSpace(os.Getenv(envBrokers)); v != "" {
		return v
	}
	return cli.DefaultBrokers
}
