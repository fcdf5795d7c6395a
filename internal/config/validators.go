package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Validator checks a parsed value. Validate's error text says what is
// expected, in Kafka's wording where Kafka has one ("Value must be at least
// 1"); Def.Parse wraps it in an *Error naming the config and the value.
// String describes the valid values as Kafka's docs do. Validators are
// immutable and safe for concurrent use.
type Validator interface {
	Validate(v Value) error
	String() string
}

type rangeValidator struct {
	min, max       *float64
	minStr, maxStr string
}

func (r rangeValidator) Validate(v Value) error {
	if v.IsNull() {
		return errors.New("Value must be non-null")
	}
	n := float64(v.i)
	if v.t == TypeDouble {
		n = v.f
	}
	if r.min != nil && n < *r.min {
		return errors.New("Value must be at least " + r.minStr)
	}
	if r.max != nil && n > *r.max {
		return errors.New("Value must be no more than " + r.maxStr)
	}
	return nil
}

func (r rangeValidator) String() string {
	switch {
	case r.min == nil && r.max == nil:
		return "[...]"
	case r.min == nil:
		return "[...," + r.maxStr + "]"
	case r.max == nil:
		return "[" + r.minStr + ",...]"
	}
	return "[" + r.minStr + ",...," + r.maxStr + "]"
}

// AtLeast accepts numbers >= min (Kafka's Range.atLeast).
func AtLeast(min int64) Validator {
	m := float64(min)
	return rangeValidator{min: &m, minStr: strconv.FormatInt(min, 10)}
}

// Between accepts numbers in [min, max] (Kafka's Range.between).
func Between(min, max int64) Validator {
	lo, hi := float64(min), float64(max)
	return rangeValidator{min: &lo, max: &hi, minStr: strconv.FormatInt(min, 10), maxStr: strconv.FormatInt(max, 10)}
}

// AtLeastFloat accepts doubles >= min.
func AtLeastFloat(min float64) Validator {
	return rangeValidator{min: &min, minStr: formatJavaDouble(min)}
}

type oneOf struct{ valid []string }

func (o oneOf) Validate(v Value) error {
	if !slices.Contains(o.valid, v.s) {
		return errors.New("String must be one of: " + strings.Join(o.valid, ", "))
	}
	return nil
}

func (o oneOf) String() string { return "[" + strings.Join(o.valid, ", ") + "]" }

// OneOf accepts exactly one of the given strings, case-sensitively (Kafka's
// ValidString.in).
func OneOf(valid ...string) Validator { return oneOf{valid: valid} }

type listOf struct{ valid []string }

func (l listOf) Validate(v Value) error {
	for _, e := range v.l {
		if !slices.Contains(l.valid, e) {
			return errors.New("String must be one of: " + strings.Join(l.valid, ", "))
		}
	}
	return nil
}

func (l listOf) String() string { return "[" + strings.Join(l.valid, ", ") + "]" }

// ListOf accepts lists whose every element is one of the given strings
// (Kafka's ValidList.in); the empty list is accepted, as in Kafka.
func ListOf(valid ...string) Validator { return listOf{valid: valid} }

type funcValidator struct {
	desc string
	fn   func(Value) error
}

func (f funcValidator) Validate(v Value) error { return f.fn(v) }
func (f funcValidator) String() string         { return f.desc }

// ValidatorFunc adapts a function to a Validator; desc is what String returns.
func ValidatorFunc(desc string, fn func(Value) error) Validator {
	return funcValidator{desc: desc, fn: fn}
}

// gzipLevel is Kafka's CompressionType.GZIP.levelValidator: 1..9 or -1.
var gzipLevel = ValidatorFunc("[1,...,9] or -1", func(v Value) error {
	if v.i > 9 || (v.i < 1 && v.i != -1) {
		return errors.New("Value must be between 1 and 9 or equal to -1")
	}
	return nil
})

var throttledReplicaRE = regexp.MustCompile(`^([0-9]+:[0-9]+)?$`)

// throttledReplicas is Kafka's ThrottledReplicaListValidator: "*" or a list
// of partitionId:brokerId pairs.
func throttledReplicas(name string) Validator {
	return ValidatorFunc("[partitionId]:[brokerId],[partitionId]:[brokerId],...", func(v Value) error {
		joined := ""
		ok := true
		for _, e := range v.l {
			e = javaTrim(e)
			joined += e
			if !throttledReplicaRE.MatchString(e) {
				ok = false
			}
		}
		if ok || joined == "*" {
			return nil
		}
		return errors.New(name + " must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...")
	})
}

// nonEmptyNoDuplicates is Kafka 4's ValidList.anyNonDuplicateValues for
// log.dir/log.dirs: no duplicates and no empty entries; allowEmptyList says
// whether the list itself may be empty.
func nonEmptyNoDuplicates(allowEmptyList bool) Validator {
	return ValidatorFunc("A list of unique, non-empty values", func(v Value) error {
		if !allowEmptyList && len(v.l) == 0 {
			return errors.New("Configuration must not be empty")
		}
		seen := map[string]bool{}
		for _, e := range v.l {
			if e == "" {
				return errors.New("Configuration values must not be empty")
			}
			if seen[e] {
				return fmt.Errorf("Configuration values must not be duplicated: %s", e)
			}
			seen[e] = true
		}
		return nil
	})
}

// processRoles accepts a non-empty, duplicate-free subset of {broker,
// controller} (Kafka's ValidList.in("broker", "controller") plus the KRaft
// start-up checks).
var processRoles = ValidatorFunc("[broker, controller]", func(v Value) error {
	if len(v.l) == 0 {
		return errors.New("process.roles must contain broker, controller or both")
	}
	seen := map[string]bool{}
	for _, r := range v.l {
		if r != "broker" && r != "controller" {
			return errors.New("String must be one of: broker, controller")
		}
		if seen[r] {
			return errors.New("Duplicate role names found in process.roles")
		}
		seen[r] = true
	}
	return nil
})

// clusterID accepts a Kafka cluster id: a UUID in URL-safe base64 without
// padding (22 characters), as kafka-storage.sh random-uuid prints.
var clusterID = ValidatorFunc("a 22-character URL-safe base64 UUID, as kafka-storage.sh random-uuid prints", func(v Value) error {
	if v.IsNull() {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(v.s)
	if err != nil || len(b) != 16 {
		return errors.New("Cluster id must be a 16-byte UUID in URL-safe base64 without padding (22 characters), e.g. MkU3OEVBNTcwNTJENDM2Qk")
	}
	return nil
})

// listenerList validates a listeners / advertised.listeners value.
var listenerList = ValidatorFunc("a comma-separated list of NAME://host:port", func(v Value) error {
	if v.IsNull() {
		return nil
	}
	_, err := ParseListeners(v.s)
	return err
})

// protocolMap validates listener.security.protocol.map.
var protocolMap = ValidatorFunc("a comma-separated list of LISTENER_NAME:SECURITY_PROTOCOL", func(v Value) error {
	_, err := ParseSecurityProtocolMap(v.s)
	return err
})

// hostPortOrEmpty accepts "" (disabled) or host:port with a numeric port.
var hostPortOrEmpty = ValidatorFunc("host:port, or empty to disable", func(v Value) error {
	if v.s == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(v.s)
	if err != nil {
		return errors.New("Expected host:port (use [::1]:port for IPv6), or an empty value to disable")
	}
	_ = host
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return errors.New("Port must be a number between 0 and 65535")
	}
	return nil
})

// quorumVoters validates controller.quorum.voters: id@host:port entries.
var quorumVoters = ValidatorFunc("a comma-separated list of {id}@{host}:{port}", func(v Value) error {
	_, err := ParseQuorumVoters(v.l)
	return err
})

// hostPortList validates a list of host:port entries.
var hostPortList = ValidatorFunc("a comma-separated list of host:port", func(v Value) error {
	for _, e := range v.l {
		if _, _, err := splitHostPort(e); err != nil {
			return err
		}
	}
	return nil
})

// onlyNull accepts only an unset (null or empty) value: Samsa cannot load the
// Java plugin classes these configs name.
func onlyNull(what string) Validator {
	return ValidatorFunc("null (Samsa loads no Java plugins)", func(v Value) error {
		if v.IsNull() || v.s == "" {
			return nil
		}
		return errors.New("Samsa cannot load Java classes; " + what + " must be left unset")
	})
}

// onlyFalse accepts false only, for features Samsa does not have.
func onlyFalse(what string) Validator {
	return ValidatorFunc("false ("+what+" is not supported by Samsa)", func(v Value) error {
		if v.b {
			return errors.New(what + " is not supported by Samsa; the value must be false")
		}
		return nil
	})
}
