package storage

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOffsetCheckpointRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), recoveryPointCheckpointFile)
	want := map[TopicPartition]int64{
		{"orders", 0}:             1200,
		{"orders", 1}:             1187,
		{"__consumer_offsets", 7}: 0,
		{"a.b-c_d", 2147483647}:   9223372036854775807,
	}
	if err := writeOffsetCheckpoint(path, want); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Kafka's layout, sorted for determinism.
	wantText := "0\n4\n__consumer_offsets 7 0\na.b-c_d 2147483647 9223372036854775807\norders 0 1200\norders 1 1187\n"
	if string(data) != wantText {
		t.Fatalf("file content:\n%s\nwant:\n%s", data, wantText)
	}
	got, err := readOffsetCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Fatalf("read %v, want %v", got, want)
	}
	if _, err := os.Stat(path + tmpSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temp file left behind: %v", err)
	}

	// Overwrite with fewer entries, then with none.
	if err := writeOffsetCheckpoint(path, map[TopicPartition]int64{{"x", 3}: 5}); err != nil {
		t.Fatal(err)
	}
	if got, _ := readOffsetCheckpoint(path); !maps.Equal(got, map[TopicPartition]int64{{"x", 3}: 5}) {
		t.Fatalf("after overwrite: %v", got)
	}
	if err := writeOffsetCheckpoint(path, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := readOffsetCheckpoint(path); err != nil || len(got) != 0 {
		t.Fatalf("empty checkpoint read as %v, %v", got, err)
	}
}

func TestOffsetCheckpointMissingAndEmpty(t *testing.T) {
	dir := t.TempDir()
	got, err := readOffsetCheckpoint(filepath.Join(dir, "absent"))
	if err != nil || len(got) != 0 {
		t.Fatalf("missing file: %v, %v", got, err)
	}
	// Kafka creates checkpoint files empty and reads an empty file, or one
	// with only a version line, as no entries.
	for _, content := range []string{"", "0\n", "0", "0\n0\n", "0\r\n1\r\nt 0 5\r\n"} {
		got, err := parseOffsetCheckpoint("f", []byte(content))
		if err != nil {
			t.Fatalf("%q: %v", content, err)
		}
		if len(got) > 1 || (len(got) == 1 && got[TopicPartition{"t", 0}] != 5) {
			t.Fatalf("%q: %v", content, got)
		}
	}
}

func TestOffsetCheckpointStrict(t *testing.T) {
	cases := []struct {
		name, content string
		line          int
	}{
		{"version", "1\n0\n", 1},
		{"version text", "zero\n0\n", 1},
		{"version space", " 0\n0\n", 1},
		{"count text", "0\nx\n", 2},
		{"count negative", "0\n-1\n", 2},
		{"count too high", "0\n2\nt 0 1\n", 2},
		{"count too low", "0\n0\nt 0 1\n", 2},
		{"two fields", "0\n1\nt 0\n", 3},
		{"four fields", "0\n1\nt 0 1 2\n", 3},
		{"partition text", "0\n1\nt p 1\n", 3},
		{"partition negative", "0\n1\nt -1 1\n", 3},
		{"partition overflow", "0\n1\nt 2147483648 1\n", 3},
		{"offset negative", "0\n1\nt 0 -5\n", 3},
		{"offset text", "0\n1\nt 0 five\n", 3},
		{"blank line", "0\n2\nt 0 1\n\n", 4},
		{"trailing blank line", "0\n1\nt 0 1\n\n", 2},
		{"duplicate", "0\n2\nt 0 1\nt 0 2\n", 4},
		{"torn", "0\n3\nt 0 1\nt 1 2\nt 2", 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseOffsetCheckpoint("/data/recovery-point-offset-checkpoint", []byte(c.content))
			if !errors.Is(err, ErrCorruptCheckpoint) {
				t.Fatalf("err = %v, want ErrCorruptCheckpoint", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "/data/recovery-point-offset-checkpoint") {
				t.Fatalf("error does not name the file: %v", err)
			}
			if want := "line " + string(rune('0'+c.line)) + ":"; c.name != "torn" && !strings.Contains(msg, want) {
				t.Fatalf("error %q does not name %s", msg, want)
			}
		})
	}
}

func FuzzOffsetCheckpoint(f *testing.F) {
	f.Add([]byte("0\n2\norders 0 1200\norders 1 1187\n"))
	f.Add([]byte("0\n0\n"))
	f.Add([]byte(""))
	f.Add([]byte("0\n1\nt\t0\t5"))
	f.Add([]byte("0\n1\n t  0 5 \r\n"))
	f.Add([]byte("1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := parseOffsetCheckpoint("fuzz", data)
		if err != nil {
			if !errors.Is(err, ErrCorruptCheckpoint) {
				t.Fatalf("error %v is not ErrCorruptCheckpoint", err)
			}
			return
		}
		// Whatever parses survives a write and a read unchanged.
		again, err := parseOffsetCheckpoint("fuzz", formatOffsetCheckpoint(got))
		if err != nil {
			t.Fatalf("reparse of %q: %v", formatOffsetCheckpoint(got), err)
		}
		if !maps.Equal(got, again) {
			t.Fatalf("round trip changed %v to %v", got, again)
		}
		for tp, off := range got {
			if tp.Partition < 0 || off < 0 || tp.Topic == "" {
				t.Fatalf("accepted %v -> %d", tp, off)
			}
		}
	})
}
