package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Sentinel errors. Every error this package returns wraps one of them (most
// through *Error), so callers classify with errors.Is. A handler maps
// ErrUnknownConfig, ErrInvalidValue and ErrConflict to Kafka's INVALID_CONFIG,
// ErrNotDynamic and ErrPerBrokerOnly to INVALID_CONFIG as well (Kafka raises a
// ConfigException for them), and uses (*Error).Message as the error message.
var (
	// ErrUnknownConfig: the key is not a config of the scope it was given for.
	ErrUnknownConfig = errors.New("config: unknown configuration")
	// ErrInvalidValue: the value does not parse as the config's type or fails
	// its validator.
	ErrInvalidValue = errors.New("config: invalid value")
	// ErrConflict: values that are valid alone contradict each other
	// (min.compaction.lag.ms > max.compaction.lag.ms, a listener missing from
	// the security protocol map, ...).
	ErrConflict = errors.New("config: conflicting values")
	// ErrNotDynamic: a read-only config was given as a dynamic update.
	ErrNotDynamic = errors.New("config: cannot be updated dynamically")
	// ErrPerBrokerOnly: a per-broker config was given at the cluster-default
	// level.
	ErrPerBrokerOnly = errors.New("config: per-broker config at cluster default level")
	// ErrMalformed: a properties file, environment variable or --override
	// argument could not be read as key/value pairs.
	ErrMalformed = errors.New("config: malformed input")
)

// Error describes one rejected config: which key, which value, why, and where
// the value came from. It wraps one of the package's sentinel errors.
type Error struct {
	Err    error  // the sentinel: ErrUnknownConfig, ErrInvalidValue, ...
	Name   string // the config key, as given
	Value  string // the rejected value, as given (masked by Message when Sensitive)
	Reason string // what is expected, in Kafka's words where Kafka has them
	// Origin says where the value came from ("server.properties:12",
	// "environment variable SAMSA_NUM_PARTITIONS", "--override"); "" when it
	// came over the network.
	Origin string
	// Suggestion is a known key close to an unknown one, for a "did you
	// mean" hint; "" when nothing is close.
	Suggestion string
	Sensitive  bool
	// plain marks a Reason that is the whole message (no "Invalid value"
	// framing).
	plain bool
}

// Message returns the error text without the package prefix or origin, in
// the form Kafka puts in an INVALID_CONFIG response ("Invalid value 0 for
// configuration num.partitions: Value must be at least 1").
func (e *Error) Message() string {
	switch {
	case e.Err == ErrInvalidValue && e.Name != "" && !e.plain:
		v := e.Value
		if e.Sensitive {
			v = "[hidden]"
		}
		return fmt.Sprintf("Invalid value %s for configuration %s: %s", v, e.Name, e.Reason)
	case e.Reason != "":
		return e.Reason
	default:
		return strings.TrimPrefix(e.Err.Error(), "config: ") + ": " + e.Name
	}
}

// Error returns "config: " + Message, followed by the origin and any "did you
// mean" hint, so a start-up failure tells the operator exactly what to fix.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	b.WriteString(e.Message())
	if e.Origin != "" {
		b.WriteString(" (from ")
		b.WriteString(e.Origin)
		b.WriteString(")")
	}
	if e.Suggestion != "" {
		b.WriteString("; did you mean ")
		b.WriteString(e.Suggestion)
		b.WriteString("?")
	}
	return b.String()
}

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Err }

// FirstError returns the first *Error inside err (which may be a join of
// several), or nil. Handlers use it to pick the message for a response.
func FirstError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// Errors returns every *Error inside err, in order, looking through
// errors.Join trees.
func Errors(err error) []*Error {
	var out []*Error
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if e, ok := err.(*Error); ok {
			out = append(out, e)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, sub := range j.Unwrap() {
				walk(sub)
			}
			return
		}
		walk(errors.Unwrap(err))
	}
	walk(err)
	return out
}

func unknownError(scope Scope, name, origin string) *Error {
	reason := "Unknown broker config name: " + name
	if scope == ScopeTopic {
		// Kafka's exact wording (LogConfig.validateNames).
		reason = "Unknown topic config name: " + name
	}
	return &Error{
		Err:        ErrUnknownConfig,
		Name:       name,
		Reason:     reason,
		Origin:     origin,
		Suggestion: suggest(scope, name),
	}
}

func conflictError(name, value, reason string) *Error {
	return &Error{Err: ErrConflict, Name: name, Value: value, Reason: reason}
}

// suggest returns the known key nearest to name by edit distance, if it is
// close enough to be a plausible typo.
func suggest(scope Scope, name string) string {
	// A topic config given as a broker config (or the other way round)
	// points at its counterpart: segment.bytes <-> log.segment.bytes.
	for _, d := range topicRegistry.all {
		if len(d.Synonyms) == 0 {
			continue
		}
		if scope == ScopeBroker && d.Name == name {
			return d.Synonyms[0].Name + " (the broker default of topic config " + name + ")"
		}
		if scope == ScopeTopic && slices.ContainsFunc(d.Synonyms, func(s Synonym) bool { return s.Name == name }) {
			return d.Name + " (the topic config whose broker default is " + name + ")"
		}
	}
	reg := BrokerDefs()
	if scope == ScopeTopic {
		reg = TopicDefs()
	}
	best, bestDist := "", len(name)/3+1
	if bestDist > 3 {
		bestDist = 3
	}
	for _, d := range reg.all {
		if d.Internal {
			continue
		}
		if dist := editDistance(name, d.Name, bestDist); dist <= bestDist && (best == "" || dist < bestDist) {
			best, bestDist = d.Name, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, or max+1 if it is
// certainly larger than max (cheap early exit).
func editDistance(a, b string, max int) int {
	if d := len(a) - len(b); d > max || -d > max {
		return max + 1
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > max {
			return max + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
