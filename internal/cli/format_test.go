package cli

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func testRecord() *kgo.Record {
	return &kgo.Record{
		Topic:     "demo",
		Partition: 2,
		Offset:    41,
		Timestamp: time.UnixMilli(1700000000123),
		Key:       []byte("user-1"),
		Value:     []byte("hello world"),
		Headers:   []kgo.RecordHeader{{Key: "a", Value: []byte("1")}, {Key: "b", Value: []byte("two")}},
	}
}

func TestFormatPlaceholders(t *testing.T) {
	for format, want := range map[string]string{
		`%s\n`:                       "hello world\n",
		`%t/%p@%o %T`:                "demo/2@41 1700000000123",
		`%k=%s (%K,%S)`:              "user-1=hello world (6,11)",
		`[%h]\t100%%\r\\`:            "[a=1,b=two]\t100%\r\\",
		`no placeholders \q`:         `no placeholders \q`,
		`trailing backslash \`:       `trailing backslash \`,
		`%p%o%p`:                     "2412",
		"literal\nnewline %k":        "literal\nnewline user-1",
		`%k|%K|%s|%S|%h|` + "\u00e9": "user-1|6|hello world|11|a=1,b=two|\u00e9",
	} {
		f, err := ParseFormat(format)
		if err != nil {
			t.Errorf("ParseFormat(%q): %v", format, err)
			continue
		}
		if got := string(f.Append(nil, testRecord())); got != want {
			t.Errorf("format %q = %q, want %q", format, got, want)
		}
	}
}

func TestFormatNulls(t *testing.T) {
	f, err := ParseFormat(`%k|%K|%s|%S|%h`)
	if err != nil {
		t.Fatal(err)
	}
	r := &kgo.Record{Value: []byte{}}
	if got := string(f.Append(nil, r)); got != "|-1||0|" {
		t.Errorf("null key, empty value: %q", got)
	}
}

func TestFormatErrors(t *testing.T) {
	for _, bad := range []string{`%`, `abc%`, `%x`, `%s %Z`} {
		if _, err := ParseFormat(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseFormat(%q): err = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestFormatAppendsToCallerBuffer(t *testing.T) {
	f, _ := ParseFormat(`%o,`)
	buf := []byte("x:")
	buf = f.Append(buf, testRecord())
	buf = f.Append(buf, testRecord())
	if string(buf) != "x:41,41," {
		t.Fatalf("got %q", buf)
	}
}

func TestFormatJSON(t *testing.T) {
	f, err := ParseFormat("json")
	if err != nil {
		t.Fatal(err)
	}
	line := f.Append(nil, testRecord())
	if !strings.HasSuffix(string(line), "}\n") || strings.Count(string(line), "\n") != 1 {
		t.Fatalf("not one line: %q", line)
	}
	var got map[string]any
	if err := json.Unmarshal(line, &got); err != nil {
		t.Fatal(err)
	}
	if got["topic"] != "demo" || got["partition"] != 2.0 || got["offset"] != 41.0 ||
		got["timestamp"] != 1700000000123.0 || got["key"] != "user-1" || got["value"] != "hello world" {
		t.Errorf("json = %v", got)
	}
	hs, _ := got["headers"].([]any)
	if len(hs) != 2 || hs[1].(map[string]any)["key"] != "b" || hs[1].(map[string]any)["value"] != "two" {
		t.Errorf("headers = %v", got["headers"])
	}

	// Null key, binary value, binary header value.
	r := &kgo.Record{Topic: "t", Value: []byte{0xff, 0x00, 0xfe}, Headers: []kgo.RecordHeader{{Key: "h", Value: []byte{0x80}}, {Key: "n"}}}
	var bin struct {
		Key      *string `json:"key"`
		Value    *string `json:"value"`
		ValueB64 string  `json:"value_base64"`
		Headers  []struct {
			Key      string  `json:"key"`
			Value    *string `json:"value"`
			ValueB64 string  `json:"value_base64"`
		} `json:"headers"`
	}
	if err := json.Unmarshal(f.Append(nil, r), &bin); err != nil {
		t.Fatal(err)
	}
	if bin.Key != nil || bin.Value != nil || bin.ValueB64 != "/wD+" {
		t.Errorf("binary record: key %v value %v b64 %q", bin.Key, bin.Value, bin.ValueB64)
	}
	if len(bin.Headers) != 2 || bin.Headers[0].ValueB64 != "gA==" || bin.Headers[0].Value != nil || bin.Headers[1].Value != nil || bin.Headers[1].ValueB64 != "" {
		t.Errorf("binary headers: %+v", bin.Headers)
	}
}

// FuzzParseFormat checks that any format string either fails with
// ErrInvalid or renders any record without panicking, and that a format
// without '%' or '\' renders as itself.
func FuzzParseFormat(f *testing.F) {
	for _, seed := range []string{"", "json", `%s\n`, `%k=%s %h %T %t %p %o %K %S %%`, `\`, `%`, `%z`, `\n\t\r\\\x`, "\xff%s"} {
		f.Add(seed, []byte("k"), []byte("v\xff"))
	}
	f.Fuzz(func(t *testing.T, format string, key, value []byte) {
		fm, err := ParseFormat(format)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		r := testRecord()
		r.Key, r.Value = key, value
		out := fm.Append(nil, r)
		if format != "json" && !strings.ContainsAny(format, `%\`) && string(out) != format {
			t.Fatalf("plain format %q rendered as %q", format, out)
		}
		if format == "json" && !json.Valid(out) {
			t.Fatalf("json output invalid: %q", out)
		}
	})
}
