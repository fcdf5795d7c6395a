package config

import (
	"errors"
	"testing"
)

// FuzzParseValue: any string either fails to parse or parses to a value whose
// canonical form parses back to the same value (what DescribeConfigs shows is
// what AlterConfigs accepts).
func FuzzParseValue(f *testing.F) {
	for _, seed := range []string{"", "1", " -7 ", "true", "0.5", "1e400", "NaN", "a, b ,c", ",,", "\x01x\x02", "9223372036854775808", "2.5d"} {
		for typ := TypeBoolean; typ <= TypePassword; typ++ {
			f.Add(int8(typ), seed)
		}
	}
	f.Fuzz(func(t *testing.T, typ int8, raw string) {
		ty := Type(typ)
		if ty < TypeBoolean || ty > TypePassword {
			return
		}
		v, err := parseValue(ty, raw)
		if err != nil {
			return
		}
		canon, ok := v.Canonical()
		if !ok {
			t.Fatalf("parsed %q to null", raw)
		}
		again, err := parseValue(ty, canon)
		if err != nil {
			t.Fatalf("canonical %q of %q does not parse: %v", canon, raw, err)
		}
		if !again.Equal(v) {
			t.Fatalf("%q -> %q -> %q", raw, canon, again.String())
		}
	})
}

// FuzzParseListeners: no panic, and a parsed listener list prints back to
// an equivalent list.
func FuzzParseListeners(f *testing.F) {
	for _, seed := range []string{"PLAINTEXT://:9092", "A://[::1]:1,B://h:2", "x://[fe80::1%eth0]:0", "A://B://h:1", "A://[h:1", ":///:", "A://h:99999"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ls, err := ParseListeners(s)
		if err != nil {
			return
		}
		for _, l := range ls {
			again, err := ParseListener(l.String())
			if err != nil {
				t.Fatalf("%+v prints as %q, which does not parse: %v", l, l.String(), err)
			}
			if again != l {
				t.Fatalf("%q -> %+v -> %+v", s, l, again)
			}
		}
		_, _ = ParseSecurityProtocolMap(s)
		_, _ = ParseQuorumVoters(csv(s))
	})
}

// FuzzAlterConfigs drives the paths that take config names and values from
// the network (AlterConfigs, IncrementalAlterConfigs, DescribeConfigs,
// CreateTopics): none may panic, and every error is one of the package's.
func FuzzAlterConfigs(f *testing.F) {
	for _, seed := range [][2]string{
		{"retention.ms", "-1"}, {"num.io.threads", "0"}, {"listeners", "X://:1"}, {"listener.name.a.ssl.client.auth", "required"},
		{"cleanup.policy", "compact,,"}, {"log.retention.hours", "2147483647"}, {"", ""}, {"listener.name..", "\x00"},
		{"message.timestamp.difference.max.ms", "5"}, {"segment.bytes", "1048576"}, {"ssl.keystore.password", "pw"},
	} {
		f.Add(seed[0], seed[1], true)
	}
	c, err := NewBrokerConfig(nil)
	if err != nil {
		f.Fatal(err)
	}
	known := []error{ErrUnknownConfig, ErrInvalidValue, ErrConflict, ErrNotDynamic, ErrPerBrokerOnly}
	checkErr := func(t *testing.T, err error) {
		if err == nil {
			return
		}
		for _, k := range known {
			if errors.Is(err, k) {
				return
			}
		}
		t.Fatalf("error of unknown class: %v", err)
	}
	f.Fuzz(func(t *testing.T, name, value string, perBroker bool) {
		checkErr(t, c.ValidateDynamic(perBroker, map[string]*string{name: &value}))
		checkErr(t, c.ValidateTopicConfigs(nil, map[string]string{name: value}))
		_ = c.Describe(perBroker, DescribeOptions{Names: []string{name}, IncludeSynonyms: true, IncludeDocumentation: true})
		o := map[string]string{name: value}
		for op := OpSet; op <= OpSubtract+1; op++ {
			checkErr(t, TopicDefs().ApplyIncremental(o, name, op, &value))
			checkErr(t, BrokerDefs().ApplyIncremental(o, name, op, &value))
		}
		if tc, err := c.ResolveTopic(map[string]string{name: value}); err == nil {
			_ = tc.Describe(DescribeOptions{IncludeSynonyms: true})
		} else {
			checkErr(t, err)
		}
	})
}
