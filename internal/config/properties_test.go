package config

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseProperties(t *testing.T) {
	type kv = [2]string
	tests := []struct {
		name string
		in   string
		want []kv
	}{
		{"empty", "", nil},
		{"equals", "a=b", []kv{{"a", "b"}}},
		{"colon", "a:b", []kv{{"a", "b"}}},
		{"space separator", "a b", []kv{{"a", "b"}}},
		{"tab separator", "a\tb", []kv{{"a", "b"}}},
		{"form feed separator", "a\fb", []kv{{"a", "b"}}},
		{"spaces around separator", "a  =   b", []kv{{"a", "b"}}},
		{"space then colon", "a   :b", []kv{{"a", "b"}}},
		{"only one separator consumed", "a = = b", []kv{{"a", "= b"}}},
		{"colon after equals kept", "a=:b", []kv{{"a", ":b"}}},
		{"trailing whitespace kept", "a=b  ", []kv{{"a", "b  "}}},
		{"leading whitespace skipped", "   \t\fa=b", []kv{{"a", "b"}}},
		{"key only", "a", []kv{{"a", ""}}},
		{"key and separator only", "a=", []kv{{"a", ""}}},
		{"key and spaces only", "a   ", []kv{{"a", ""}}},
		{"empty key", "=b", []kv{{"", "b"}}},
		{"hash comment", "# a=b\nc=d", []kv{{"c", "d"}}},
		{"bang comment", "! a=b\nc=d", []kv{{"c", "d"}}},
		{"indented comment", "   # a=b", nil},
		{"hash inside value", "a=b#c", []kv{{"a", "b#c"}}},
		{"blank lines", "\n\n  \n\ta=b\n\n", []kv{{"a", "b"}}},
		{"CRLF", "a=b\r\nc=d\r\n", []kv{{"a", "b"}, {"c", "d"}}},
		{"CR only", "a=b\rc=d", []kv{{"a", "b"}, {"c", "d"}}},
		{"continuation", "a=b\\\n   c", []kv{{"a", "bc"}}},
		{"continuation CRLF", "a=b\\\r\n   c", []kv{{"a", "bc"}}},
		{"continuation keeps inner spaces", "a=b \\\n  c", []kv{{"a", "b c"}}},
		{"double continuation", "a=1\\\n 2\\\n 3", []kv{{"a", "123"}}},
		{"continued key", "ke\\\n  y=v", []kv{{"key", "v"}}},
		{"even backslashes do not continue", "a=b\\\\\nc=d", []kv{{"a", "b\\"}, {"c", "d"}}},
		{"three backslashes continue", "a=b\\\\\\\nc", []kv{{"a", "b\\c"}}},
		{"continuation at EOF", "a=b\\", []kv{{"a", "b"}}},
		{"blank continuation line ends", "a=b\\\n\n c=d", []kv{{"a", "b"}, {"c", "d"}}},
		{"continuation line starting with hash", "a=b\\\n#c", []kv{{"a", "b#c"}}},
		{"comment does not continue", "# x\\\na=b", []kv{{"a", "b"}}},
		{"escapes", `a=\t\n\r\f`, []kv{{"a", "\t\n\r\f"}}},
		{"escaped separators in key", `a\=b\:c\ d=e`, []kv{{"a=b:c d", "e"}}},
		{"escaped other chars", `a=\q\\\#`, []kv{{"a", `q\#`}}},
		{"unicode escape", `a=\u0041\u00e9\u20AC`, []kv{{"a", "Aé€"}}},
		{"surrogate pair", `a=\uD83D\uDE00`, []kv{{"a", "😀"}}},
		{"lone high surrogate", `a=\uD83Dx`, []kv{{"a", "\uFFFDx"}}},
		{"lone low surrogate", `a=\uDE00`, []kv{{"a", "\uFFFD"}}},
		{"unicode in key", `\u0061=b`, []kv{{"a", "b"}}},
		{"raw UTF-8", "a=héllo", []kv{{"a", "héllo"}}},
		{"invalid UTF-8 replaced", "a=\xff", []kv{{"a", "\uFFFD"}}},
		{"duplicates kept in order", "a=1\na=2", []kv{{"a", "1"}, {"a", "2"}}},
		{"escaped leading space in value", `a=\ b`, []kv{{"a", " b"}}},
		{"whitespace before continuation key", "  a \\\n  = b", []kv{{"a", "b"}}},
		{"kafka listener", "listeners=PLAINTEXT://:9092,CONTROLLER://:9093", []kv{{"listeners", "PLAINTEXT://:9092,CONTROLLER://:9093"}}},
		{"windows path", `log.dirs=C:\\kafka\\logs`, []kv{{"log.dirs", `C:\kafka\logs`}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseProperties([]byte(tc.in))
			if err != nil {
				t.Fatalf("ParseProperties(%q): %v", tc.in, err)
			}
			var pairs []kv
			for _, p := range got {
				pairs = append(pairs, kv{p.Key, p.Value})
			}
			if !reflect.DeepEqual(pairs, tc.want) {
				t.Errorf("ParseProperties(%q) = %q, want %q", tc.in, pairs, tc.want)
			}
		})
	}
}

func TestParsePropertiesLineNumbers(t *testing.T) {
	in := "# header\n\na=1\nb=2\\\n  3\r\nc=4"
	got, err := ParseProperties([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Property{{"a", "1", 3}, {"b", "23", 4}, {"c", "4", 6}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestParsePropertiesMalformedUnicode(t *testing.T) {
	for _, in := range []string{`a=\u12`, `a=\u12G4`, `\uZZZZ=b`, `a=\u`} {
		_, err := ParseProperties([]byte(in))
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseProperties(%q) error = %v, want ErrMalformed", in, err)
		}
	}
}

func TestFormatPropertiesRoundTrip(t *testing.T) {
	props := []Property{
		{Key: "plain", Value: "value"},
		{Key: "with space", Value: " leading and trailing "},
		{Key: "sep=:#!", Value: "a=b:c#d!e"},
		{Key: "ctl", Value: "\t\n\r\f\x01"},
		{Key: "uni", Value: "é€😀"},
		{Key: "back\\slash", Value: `C:\dir\`},
		{Key: "", Value: ""},
	}
	got, err := ParseProperties(FormatProperties(props))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(props) {
		t.Fatalf("got %d properties, want %d:\n%s", len(got), len(props), FormatProperties(props))
	}
	for i := range props {
		if got[i].Key != props[i].Key || got[i].Value != props[i].Value {
			t.Errorf("property %d: got %q=%q, want %q=%q", i, got[i].Key, got[i].Value, props[i].Key, props[i].Value)
		}
	}
}

// FuzzParseProperties checks that the parser never panics and that whatever
// it reads survives a write/read round trip unchanged.
func FuzzParseProperties(f *testing.F) {
	for _, seed := range []string{
		"", "a=b", "a:b", "a b", "#c\n!c\na=b", "a=b\\\n  c", "a=b\\", `a=\u0041\uD83D\uDE00`,
		`a=\u12`, "a=b\r\nc=d\re=f", "\\\n", "=\n:\n \n", "k\\=e\\ y=v\\\\", "a=\xff\xfe",
		"listeners=PLAINTEXT://:9092\nlog.dirs=/tmp/x\\\n ,/tmp/y",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		props, err := ParseProperties(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		again, err := ParseProperties(FormatProperties(props))
		if err != nil {
			t.Fatalf("re-parse of formatted output failed: %v", err)
		}
		if len(again) != len(props) {
			t.Fatalf("round trip changed count: %d -> %d", len(props), len(again))
		}
		for i := range props {
			if props[i].Key != again[i].Key || props[i].Value != again[i].Value {
				t.Fatalf("round trip changed %q=%q into %q=%q", props[i].Key, props[i].Value, again[i].Key, again[i].Value)
			}
		}
	})
}
