package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// EnvPrefix prefixes the environment variables that set broker configs.
const EnvPrefix = "SAMSA_"

// EnvKey maps an environment variable name to the config key it sets:
// the prefix is stripped, the rest lower-cased, and underscores turned into
// dots — "___" stands for '-' and "__" for '_' (the convention of Confluent's
// images), so SAMSA_LOG_DIRS is log.dirs and
// SAMSA_LISTENER_NAME_SASL__SSL_SCRAM___SHA___256_SASL_JAAS_CONFIG is
// listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config. ok is false for
// names without the prefix or with nothing after it.
func EnvKey(name string) (key string, ok bool) {
	rest, ok := strings.CutPrefix(name, EnvPrefix)
	if !ok || rest == "" {
		return "", false
	}
	rest = strings.ToLower(rest)
	rest = strings.ReplaceAll(rest, "___", "-")
	rest = strings.ReplaceAll(rest, "__", "\x00")
	rest = strings.ReplaceAll(rest, "_", ".")
	return strings.ReplaceAll(rest, "\x00", "_"), true
}

// EnvName maps a config key to its environment variable (the inverse of
// EnvKey): log.dirs -> SAMSA_LOG_DIRS.
func EnvName(key string) string {
	r := strings.NewReplacer("-", "___", "_", "__", ".", "_")
	return EnvPrefix + strings.ToUpper(r.Replace(key))
}

// LoadOptions names the sources of a node's static configuration. Later
// sources override earlier ones key by key: the properties file, then the
// environment, then the --override arguments in order.
type LoadOptions struct {
	// File is the path of a Java .properties file; "" for none.
	File string
	// Env is the environment as os.Environ returns it; every SAMSA_ variable
	// is a config (see EnvKey), others are ignored.
	Env []string
	// Overrides are --override arguments, each "key=value".
	Overrides []string
}

// Load reads and validates a node's static configuration from its sources
// (precedence: file < environment < --override) and returns the node's
// BrokerConfig with empty dynamic levels. Every unknown key and invalid value
// is reported, each naming the key, the value, what is expected and where it
// came from; the result wraps ErrUnknownConfig, ErrInvalidValue, ErrConflict
// or ErrMalformed.
func Load(opts LoadOptions) (*BrokerConfig, error) {
	in := map[string]staticInput{}
	var errs []error
	if opts.File != "" {
		data, err := os.ReadFile(opts.File)
		if err != nil {
			return nil, fmt.Errorf("config: read %s: %w", opts.File, err)
		}
		props, err := ParseProperties(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", opts.File, err)
		}
		for _, p := range props {
			in[p.Key] = staticInput{raw: p.Value, origin: fmt.Sprintf("%s:%d", opts.File, p.Line)}
		}
	}
	for _, kv := range opts.Env {
		name, value, _ := strings.Cut(kv, "=")
		key, ok := EnvKey(name)
		if !ok {
			continue
		}
		in[key] = staticInput{raw: value, origin: "environment variable " + name}
	}
	for _, o := range opts.Overrides {
		key, value, ok := strings.Cut(o, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			errs = append(errs, &Error{Err: ErrMalformed, Name: o, Origin: "--override",
				Reason: fmt.Sprintf("--override %q is not of the form key=value", o)})
			continue
		}
		in[key] = staticInput{raw: value, origin: "--override " + key}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return newBrokerConfig(in)
}
