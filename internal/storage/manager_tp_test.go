package storage

import (
	"errors"
	"strings"
	"testing"
)

func TestParsePartitionDir(t *testing.T) {
	ok := []struct {
		name string
		tp   TopicPartition
		kind partitionDirKind
	}{
		{"orders-0", TopicPartition{"orders", 0}, dirLive},
		{"my-topic-12", TopicPartition{"my-topic", 12}, dirLive},
		{"a.b.c-3", TopicPartition{"a.b.c", 3}, dirLive},
		{"t--1", TopicPartition{"t-", 1}, dirLive},
		{"__consumer_offsets-49", TopicPartition{"__consumer_offsets", 49}, dirLive},
		{"my.topic-2.0123456789abcdef0123456789abcdef-delete", TopicPartition{"my.topic", 2}, dirDeleted},
		{"x-y-0.abc-future", TopicPartition{"x-y", 0}, dirFuture},
		{"x-0.abc-stray", TopicPartition{"x", 0}, dirStray},
		{"t-2147483647", TopicPartition{"t", 2147483647}, dirLive},
	}
	for _, c := range ok {
		tp, kind, err := parsePartitionDir(c.name)
		if err != nil || tp != c.tp || kind != c.kind {
			t.Errorf("%q: got %v %v %v, want %v %v", c.name, tp, kind, err, c.tp, c.kind)
		}
	}
	bad := []string{
		"", "orders", "-0", "orders-", "orders-x", "orders-+1", "orders-01", "orders-2147483648",
		"orders-0-delete", "orders-0.-delete", "lost+found", ".snapshot", "t-1 ", "t x-1",
		"orders-0.abc-future.x", "-delete", ".abc-delete",
	}
	for _, name := range bad {
		if tp, kind, err := parsePartitionDir(name); !errors.Is(err, ErrInvalidPartitionDir) {
			t.Errorf("%q: accepted as %v %v", name, tp, kind)
		}
	}
}

func FuzzParsePartitionDir(f *testing.F) {
	for _, s := range []string{"orders-0", "a.b-c-7", "t-0.0123456789abcdef0123456789abcdef-delete", "x-0.1-future", "x-0.1-stray", "t-01", "-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		tp, kind, err := parsePartitionDir(name)
		if err != nil {
			return
		}
		if tp.Partition < 0 || tp.Topic == "" {
			t.Fatalf("%q parsed to %v", name, tp)
		}
		if kind == dirLive && tp.String() != name {
			t.Fatalf("%q parsed to %v, which names %q", name, tp, tp.String())
		}
		if kind != dirLive && !strings.HasPrefix(name, tp.String()+".") {
			t.Fatalf("%q parsed to %v kind %d", name, tp, kind)
		}
	})
}

func TestTopicPartitionValidate(t *testing.T) {
	for _, tp := range []TopicPartition{{"orders", 0}, {"a.b_c-D9", 7}, {strings.Repeat("x", 249), 0}} {
		if err := tp.validate(); err != nil {
			t.Errorf("%v: %v", tp, err)
		}
	}
	for _, tp := range []TopicPartition{{"", 0}, {".", 0}, {"..", 0}, {"a/b", 0}, {"a b", 0}, {"ä", 0}, {strings.Repeat("x", 250), 0}, {"t", -1}} {
		if err := tp.validate(); !errors.Is(err, ErrInvalidPartitionDir) {
			t.Errorf("%v accepted", tp)
		}
	}
}

func TestDeleteDirName(t *testing.T) {
	for _, tp := range []TopicPartition{{"orders", 3}, {"a.b-c", 0}, {strings.Repeat("t", 249), 2147483647}} {
		name := deleteDirName(tp)
		if len(name) > 255 {
			t.Fatalf("%d-byte name", len(name))
		}
		got, kind, err := parsePartitionDir(name)
		if err != nil || kind != dirDeleted || got.Partition != tp.Partition || !strings.HasPrefix(tp.Topic, got.Topic) {
			t.Fatalf("%q parsed to %v %v %v", name, got, kind, err)
		}
		if name == deleteDirName(tp) {
			t.Fatalf("two deletions of %v got the same directory name", tp)
		}
	}
}
