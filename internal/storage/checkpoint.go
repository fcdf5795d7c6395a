package storage

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Per-log-dir files, with Kafka's names so operators and Kafka's own
// tools recognise them.
const (
	// recoveryPointCheckpointFile holds each partition's recovery point:
	// everything below it was fsynced, so an unclean start recovers only
	// from there (log.flush.offset.checkpoint.interval.ms).
	recoveryPointCheckpointFile = "recovery-point-offset-checkpoint"
	// logStartOffsetCheckpointFile holds every partition's log start
	// offset, so that records deleted by DeleteRecords stay invisible
	// after a restart and segments wholly below the start that a lost
	// directory update brought back are dropped by Open
	// (log.flush.start.offset.checkpoint.interval.ms). Kafka writes only
	// the offsets ahead of the first segment.
	logStartOffsetCheckpointFile = "log-start-offset-checkpoint"
	// replicationOffsetCheckpointFile holds high watermarks
	// (replica.high.watermark.checkpoint.interval.ms).
	replicationOffsetCheckpointFile = "replication-offset-checkpoint"
	// cleanerOffsetCheckpointFile holds the log cleaner's first dirty
	// offset per compacted partition (written by the cleaner).
	cleanerOffsetCheckpointFile = "cleaner-offset-checkpoint"
	// cleanShutdownFile marks a log dir whose logs were all flushed and
	// closed and whose checkpoints were written: its indexes are trusted
	// and nothing is recovered. Kafka's CleanShutdownFileHandler name and
	// content (KIP-966 added the broker epoch).
	cleanShutdownFile = ".kafka_cleanshutdown"
	// lockFile is flock(2)ed while a Manager owns the log dir, so two
	// brokers never share one (Kafka's ".lock").
	lockFile = ".lock"
)

// offsetCheckpointVersion is the only version of Kafka's offset
// checkpoint format.
const offsetCheckpointVersion = 0

// An offset checkpoint file (recovery points, log start offsets, high
// watermarks, cleaner offsets) is Kafka's OffsetCheckpointFile text:
//
//	0                      version
//	3                      number of entries
//	orders 0 1200          topic, partition, offset, separated by spaces
//	orders 1 1187
//	__consumer_offsets 7 0
//
// Lines end in "\n". Kafka reads an empty file (or one holding only the
// version) as no entries; so does readOffsetCheckpoint. Everything else
// is parsed strictly: a wrong version, a count that disagrees with the
// lines, a line without exactly three fields, a negative or non-numeric
// partition or offset, or a partition listed twice makes the whole file
// corrupt (ErrCorruptCheckpoint naming the file and line). The manager
// then ignores the file, as Kafka does, which for the recovery point
// means a full recovery: slow, never wrong.

// readOffsetCheckpoint reads the offset checkpoint at path. A missing
// file is an empty map and no error.
func readOffsetCheckpoint(path string) (map[TopicPartition]int64, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[TopicPartition]int64{}, nil
	}
	if err != nil {
		return nil, err
	}
	return parseOffsetCheckpoint(path, data)
}

// parseOffsetCheckpoint parses an offset checkpoint's content; name is
// used in errors.
func parseOffsetCheckpoint(name string, data []byte) (map[TopicPartition]int64, error) {
	out := map[TopicPartition]int64{}
	if len(data) == 0 {
		return out, nil
	}
	lines := strings.Split(string(data), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1] // the final newline ends the last line
	}
	bad := func(line int, format string, args ...any) error {
		return fmt.Errorf("%w: %s line %d: %s", ErrCorruptCheckpoint, name, line, fmt.Sprintf(format, args...))
	}
	for i, l := range lines {
		if strings.HasSuffix(l, "\r") { // written on Windows; Java's readLine accepts it
			lines[i] = l[:len(l)-1]
		}
	}
	version, err := strconv.Atoi(lines[0])
	if err != nil {
		return nil, bad(1, "malformed version %q", lines[0])
	}
	if version != offsetCheckpointVersion {
		return nil, bad(1, "unrecognised version %d, expected %d", version, offsetCheckpointVersion)
	}
	if len(lines) == 1 {
		return out, nil
	}
	count, err := strconv.Atoi(lines[1])
	if err != nil || count < 0 {
		return nil, bad(2, "malformed entry count %q", lines[1])
	}
	if count != len(lines)-2 {
		return nil, bad(2, "expected %d entries, found %d", count, len(lines)-2)
	}
	for i, l := range lines[2:] {
		n := i + 3
		f := strings.Fields(l)
		if len(f) != 3 {
			return nil, bad(n, "malformed entry %q", l)
		}
		p, err1 := strconv.ParseInt(f[1], 10, 32)
		off, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil || p < 0 || off < 0 {
			return nil, bad(n, "malformed entry %q", l)
		}
		tp := TopicPartition{Topic: f[0], Partition: int32(p)}
		if _, dup := out[tp]; dup {
			return nil, bad(n, "duplicate entry for %s", tp)
		}
		out[tp] = off
	}
	return out, nil
}

// formatOffsetCheckpoint renders offsets in the checkpoint format,
// sorted by topic and partition so equal maps give equal files.
func formatOffsetCheckpoint(offsets map[TopicPartition]int64) []byte {
	tps := make([]TopicPartition, 0, len(offsets))
	for tp := range offsets {
		tps = append(tps, tp)
	}
	slices.SortFunc(tps, func(a, b TopicPartition) int {
		return cmp.Or(strings.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	var b bytes.Buffer
	b.Grow(8 + len(tps)*32)
	b.WriteString(strconv.Itoa(offsetCheckpointVersion))
	b.WriteByte('\n')
	b.WriteString(strconv.Itoa(len(tps)))
	b.WriteByte('\n')
	for _, tp := range tps {
		b.WriteString(tp.Topic)
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(int64(tp.Partition), 10))
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(offsets[tp], 10))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// writeOffsetCheckpoint replaces the checkpoint at path atomically
// (temp file, fsync, rename, fsync of the directory). Concurrent writers
// of one path must be serialized by the caller: they share the temp file.
func writeOffsetCheckpoint(path string, offsets map[TopicPartition]int64) error {
	if err := writeFileAtomic(path, formatOffsetCheckpoint(offsets)); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
