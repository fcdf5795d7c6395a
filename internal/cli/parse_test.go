package cli

import (
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestSplitBrokers(t *testing.T) {
	got, err := SplitBrokers(" a:1, ,b:2,")
	if err != nil || len(got) != 2 || got[0] != "a:1" || got[1] != "b:2" {
		t.Fatalf("SplitBrokers = %q, %v", got, err)
	}
	if _, err := SplitBrokers(" , "); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty list: err = %v, want ErrInvalid", err)
	}
}

func TestParseAcks(t *testing.T) {
	for _, tc := range []struct {
		in         string
		acks       kgo.Acks
		idempotent bool
	}{
		{"all", kgo.AllISRAcks(), true},
		{"-1", kgo.AllISRAcks(), true},
		{"1", kgo.LeaderAck(), false},
		{"0", kgo.NoAck(), false},
	} {
		acks, idem, err := ParseAcks(tc.in)
		if err != nil || acks != tc.acks || idem != tc.idempotent {
			t.Errorf("ParseAcks(%q) = %v, %v, %v", tc.in, acks, idem, err)
		}
	}
	if _, _, err := ParseAcks("2"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseAcks(2): err = %v", err)
	}
}

func TestParseCompression(t *testing.T) {
	for _, name := range []string{"none", "gzip", "snappy", "lz4", "zstd", "ZSTD"} {
		if _, err := ParseCompression(name); err != nil {
			t.Errorf("ParseCompression(%q): %v", name, err)
		}
	}
	if _, err := ParseCompression("brotli"); !errors.Is(err, ErrInvalid) {
		t.Errorf("brotli: err = %v", err)
	}
}

func TestParseHeaders(t *testing.T) {
	hs, err := ParseHeaders([]string{"a=1", "b=", "a=x=y"})
	if err != nil {
		t.Fatal(err)
	}
	want := []kgo.RecordHeader{{Key: "a", Value: []byte("1")}, {Key: "b", Value: []byte("")}, {Key: "a", Value: []byte("x=y")}}
	if len(hs) != len(want) {
		t.Fatalf("got %d headers", len(hs))
	}
	for i := range want {
		if hs[i].Key != want[i].Key || string(hs[i].Value) != string(want[i].Value) {
			t.Errorf("header %d = %s=%s, want %s=%s", i, hs[i].Key, hs[i].Value, want[i].Key, want[i].Value)
		}
	}
	for _, bad := range []string{"novalue", "=v"} {
		if _, err := ParseHeaders([]string{bad}); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseHeaders(%q): err = %v", bad, err)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	for in, want := range map[string]int64{
		"1700000000123":                 1700000000123,
		"0":                             0,
		"2023-11-14T22:13:20Z":          1700000000000,
		"2023-11-14T23:13:20.5+01:00":   1700000000500,
		" 2023-11-14T22:13:20.123456Z ": 1700000000123,
	} {
		got, err := ParseTimestamp(in)
		if err != nil || got != want {
			t.Errorf("ParseTimestamp(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"-5", "yesterday", "2023-11-14", ""} {
		if _, err := ParseTimestamp(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseTimestamp(%q): err = %v", bad, err)
		}
	}
}

func TestParseStartOffset(t *testing.T) {
	ms := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
	for _, tc := range []struct {
		begin    bool
		offset   string
		ts       string
		want     StartOffset
		describe string
	}{
		{want: StartOffset{Kind: StartAtEnd}, describe: "the end"},
		{begin: true, want: StartOffset{Kind: StartAtBeginning}, describe: "the beginning"},
		{offset: "earliest", want: StartOffset{Kind: StartAtBeginning}, describe: "the beginning"},
		{offset: "latest", want: StartOffset{Kind: StartAtEnd}, describe: "the end"},
		{offset: "42", want: StartOffset{Kind: StartAtOffset, At: 42}, describe: "offset 42"},
		{offset: "-10", want: StartOffset{Kind: StartAtEnd, At: -10}, describe: "10 before the end"},
		{ts: "2024-05-01T12:00:00Z", want: StartOffset{Kind: StartAtTime, At: ms}, describe: "timestamp 1714564800000"},
	} {
		got, err := ParseStartOffset(tc.begin, tc.offset, tc.ts)
		if err != nil || got != tc.want || got.String() != tc.describe {
			t.Errorf("ParseStartOffset(%v, %q, %q) = %+v (%s), %v; want %+v (%s)", tc.begin, tc.offset, tc.ts, got, got, err, tc.want, tc.describe)
		}
	}
	for _, bad := range [][3]string{{"b", "1", ""}, {"", "1", "0"}, {"", "x", ""}, {"", "", "never"}, {"", "-9223372036854775808", ""}} {
		if _, err := ParseStartOffset(bad[0] != "", bad[1], bad[2]); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseStartOffset(%q): err = %v", bad, err)
		}
	}
}

func TestStartOffsetKgo(t *testing.T) {
	for _, tc := range []struct {
		s    StartOffset
		want kgo.Offset
	}{
		{StartOffset{Kind: StartAtBeginning}, kgo.NewOffset().AtStart()},
		{StartOffset{Kind: StartAtEnd}, kgo.NewOffset().AtEnd()},
		{StartOffset{Kind: StartAtEnd, At: -3}, kgo.NewOffset().AtEnd().Relative(-3)},
		{StartOffset{Kind: StartAtOffset, At: 7}, kgo.NewOffset().At(7)},
		{StartOffset{Kind: StartAtTime, At: 99}, kgo.NewOffset().AfterMilli(99)},
	} {
		if got := tc.s.Offset(); got.String() != tc.want.String() {
			t.Errorf("%+v.Offset() = %v, want %v", tc.s, got, tc.want)
		}
	}
}

func TestStartOffsetPosition(t *testing.T) {
	// A partition holding offsets [10, 20).
	const logStart, end = 10, 20
	for _, tc := range []struct {
		s      StartOffset
		byTime int64
		want   int64
	}{
		{StartOffset{Kind: StartAtBeginning}, -1, 10},
		{StartOffset{Kind: StartAtEnd}, -1, 20},
		{StartOffset{Kind: StartAtEnd, At: -3}, -1, 17},
		{StartOffset{Kind: StartAtEnd, At: -300}, -1, 10},
		{StartOffset{Kind: StartAtOffset, At: 15}, -1, 15},
		{StartOffset{Kind: StartAtOffset, At: 2}, -1, 10},
		{StartOffset{Kind: StartAtOffset, At: 99}, -1, 20},
		{StartOffset{Kind: StartAtTime, At: 5}, 12, 12},
		{StartOffset{Kind: StartAtTime, At: 5}, -1, 20},
	} {
		if got := tc.s.Position(logStart, end, tc.byTime); got != tc.want {
			t.Errorf("%v.Position(byTime %d) = %d, want %d", tc.s, tc.byTime, got, tc.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1024": 1024, "1K": 1024, "1KiB": 1024, "2kb": 2048, "1MiB": 1 << 20, "3G": 3 << 30, "0": 0} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "1T", "KiB", "99999999999G"} {
		if _, err := ParseSize(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseSize(%q): err = %v", bad, err)
		}
	}
}
