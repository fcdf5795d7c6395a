package cli

import (
	"fmt"
	"strings"
)

// ConfigEntry is one key=value assignment from a --set flag.
type ConfigEntry struct {
	Key, Value string
}

// errConfigFormat is kafka-configs.sh's message for an --add-config it
// cannot split, so that the same typo reads the same in both tools.
const errConfigFormat = `all configs to be added must be in the format "key=val" or "key=[val1,val2]" to group values which contain commas`

// ParseConfigSets reads --set values the way kafka-configs.sh reads
// --add-config: each value is a comma-separated list of key=value pairs,
// and a value that itself holds commas (a LIST config such as
// cleanup.policy=[compact,delete]) is written in square brackets, which are
// dropped. A comma or '=' between '[' and the next ']' does not split. Keys
// and values are trimmed; a value may be empty (ssl.endpoint.identification.algorithm=)
// but a '=' outside brackets in a value is an error, as in Kafka, since it
// almost always means a missing comma; bracket the value to keep it.
//
// A key given twice keeps its last value at the place it first appeared,
// as a Java Properties would keep one entry. Keys may use only the
// characters Kafka allows ([$a-zA-Z0-9._-]).
func ParseConfigSets(flags []string) ([]ConfigEntry, error) {
	var out []ConfigEntry
	at := map[string]int{}
	for _, flag := range flags {
		for _, pair := range splitUnbracketed(flag, ',') {
			kv := splitUnbracketed(pair, '=')
			if len(kv) != 2 {
				return nil, fmt.Errorf("%w: %q: %s", ErrInvalid, pair, errConfigFormat)
			}
			key := strings.TrimSpace(kv[0])
			if err := checkConfigKey(key); err != nil {
				return nil, err
			}
			value := strings.TrimSpace(strings.NewReplacer("[", "", "]", "").Replace(kv[1]))
			if i, ok := at[key]; ok {
				out[i].Value = value
				continue
			}
			at[key] = len(out)
			out = append(out, ConfigEntry{Key: key, Value: value})
		}
	}
	return out, nil
}

// ParseConfigDeletes reads --delete values: comma-separated config names,
// trimmed, as kafka-configs.sh's --delete-config. Duplicates collapse.
func ParseConfigDeletes(flags []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, flag := range flags {
		for _, key := range strings.Split(flag, ",") {
			key = strings.TrimSpace(key)
			if err := checkConfigKey(key); err != nil {
				return nil, err
			}
			if !seen[key] {
				seen[key] = true
				out = append(out, key)
			}
		}
	}
	return out, nil
}

// checkConfigKey refuses an empty key and the characters Kafka's
// ConfigCommand.validatePropsKey refuses.
func checkConfigKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty config name", ErrInvalid)
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '$' || c == '.' || c == '_' || c == '-'
		if !ok {
			return fmt.Errorf("%w: invalid character found for config key: %s", ErrInvalid, key)
		}
	}
	return nil
}

// splitUnbracketed splits s at every sep that is not inside brackets. As in
// kafka-configs.sh (whose split pattern is sep followed by a lookahead for
// "no ']' before the next '[' or the end"), a sep is inside brackets when
// the next bracket after it is a ']'; an unmatched '[' therefore protects
// nothing. The result always has at least one element.
func splitUnbracketed(s string, sep byte) []string {
	// protected[i]: the first '[' or ']' after position i is ']'.
	protected := make([]bool, len(s))
	next := byte(0)
	for i := len(s) - 1; i >= 0; i-- {
		protected[i] = next == ']'
		if s[i] == '[' || s[i] == ']' {
			next = s[i]
		}
	}
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == sep && !protected[i] {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
