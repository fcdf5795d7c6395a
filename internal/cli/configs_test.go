package cli

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseConfigSets(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want []ConfigEntry
	}{
		{[]string{"retention.ms=1000"}, []ConfigEntry{{"retention.ms", "1000"}}},
		{[]string{"a=1,b=2", "c=3"}, []ConfigEntry{{"a", "1"}, {"b", "2"}, {"c", "3"}}},
		{[]string{" a = 1 , b= 2"}, []ConfigEntry{{"a", "1"}, {"b", "2"}}},
		{[]string{"cleanup.policy=[compact,delete]"}, []ConfigEntry{{"cleanup.policy", "compact,delete"}}},
		{[]string{"x=[a,b],y=1,z=[c]"}, []ConfigEntry{{"x", "a,b"}, {"y", "1"}, {"z", "c"}}},
		{[]string{"ssl.endpoint.identification.algorithm="}, []ConfigEntry{{"ssl.endpoint.identification.algorithm", ""}}},
		{[]string{"jaas=[a=b c=d]"}, []ConfigEntry{{"jaas", "a=b c=d"}}},
		{[]string{"a=1", "b=2", "a=3"}, []ConfigEntry{{"a", "3"}, {"b", "2"}}},
		{[]string{"$weird-Key_1.x=v"}, []ConfigEntry{{"$weird-Key_1.x", "v"}}},
	} {
		got, err := ParseConfigSets(tc.in)
		if err != nil {
			t.Errorf("ParseConfigSets(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseConfigSets(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestParseConfigSetsErrors(t *testing.T) {
	for _, bad := range []string{"", "a", "a=1,", "a=1,,b=2", "a=b=c", "=1", "bad key=1", "k/x=1"} {
		_, err := ParseConfigSets([]string{bad})
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseConfigSets(%q): err = %v, want ErrInvalid", bad, err)
		}
	}
	_, err := ParseConfigSets([]string{"a=b=c"})
	if err == nil || !strings.Contains(err.Error(), `"key=[val1,val2]"`) {
		t.Errorf("format error does not say how to bracket: %v", err)
	}
}

func TestParseConfigDeletes(t *testing.T) {
	got, err := ParseConfigDeletes([]string{"a, b", "c,a"})
	if err != nil || !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Fatalf("ParseConfigDeletes = %v, %v", got, err)
	}
	for _, bad := range []string{"", "a,,b", "a b"} {
		if _, err := ParseConfigDeletes([]string{bad}); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseConfigDeletes(%q): err = %v", bad, err)
		}
	}
}

func TestSplitUnbracketed(t *testing.T) {
	for in, want := range map[string][]string{
		"":          {""},
		"a":         {"a"},
		"a,b":       {"a", "b"},
		"[a,b],c":   {"[a,b]", "c"},
		"a,[b":      {"a", "[b"},   // an unclosed '[' protects nothing
		"a,b],c":    {"a,b]", "c"}, // a ']' with no '[' protects what precedes it, as Kafka's lookahead does
		"[a],[b,c]": {"[a]", "[b,c]"},
	} {
		if got := splitUnbracketed(in, ','); !reflect.DeepEqual(got, want) {
			t.Errorf("splitUnbracketed(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParseConfigSets checks that any --set value either fails with
// ErrInvalid or yields non-empty, valid, unique keys whose values hold no
// brackets, and that splitting then rejoining loses nothing.
func FuzzParseConfigSets(f *testing.F) {
	for _, seed := range []string{"a=1", "a=[x,y],b=2", "a=b=c", "[", "]", "a=[", ",", "=", "a=1,a=2", "k=[a=b]"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got := strings.Join(splitUnbracketed(s, ','), ","); got != s {
			t.Fatalf("split/join of %q = %q", s, got)
		}
		es, err := ParseConfigSets([]string{s})
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, e := range es {
			if checkConfigKey(e.Key) != nil || seen[e.Key] || strings.ContainsAny(e.Value, "[]") {
				t.Fatalf("ParseConfigSets(%q) = %v", s, es)
			}
			seen[e.Key] = true
		}
	})
}
