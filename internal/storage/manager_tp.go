package storage

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// TopicPartition names one partition. Its directory under a log dir is
// String(): "<topic>-<partition>", as in Kafka.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// String returns the partition's directory name, "<topic>-<partition>".
func (tp TopicPartition) String() string {
	return tp.Topic + "-" + strconv.FormatInt(int64(tp.Partition), 10)
}

// Directory-name suffixes Kafka gives partition directories that are not
// (or not yet) the live replica: a deleted partition waiting for removal,
// a replica being moved to another log dir (AlterReplicaLogDirs), and a
// replica the controller no longer assigns to this broker (KIP-858).
const (
	deleteDirSuffix = "-delete"
	futureDirSuffix = "-future"
	strayDirSuffix  = "-stray"
)

// maxTopicLength is Kafka's limit on topic names (Topic.MAX_NAME_LENGTH):
// 255 bytes of file name minus room for "-<partition>" and suffixes.
const maxTopicLength = 249

// partitionDirKind says what a partition directory name denotes.
type partitionDirKind int8

const (
	dirLive    partitionDirKind = iota // "<topic>-<partition>"
	dirDeleted                         // "<topic>-<partition>.<uuid>-delete"
	dirFuture                          // "<topic>-<partition>.<uuid>-future"
	dirStray                           // "<topic>-<partition>.<uuid>-stray"
)

// ErrInvalidPartitionDir marks a directory in a log dir whose name is not
// a partition directory, or a TopicPartition that cannot name one. Kafka
// refuses to start on such a directory (it cannot tell whose data it is);
// so does Manager.Open.
var ErrInvalidPartitionDir = errors.New("storage: not a partition directory name")

// parsePartitionDir parses a directory name the way Kafka's
// UnifiedLog.parseTopicPartitionName does: an optional ".<id>-delete",
// ".<id>-future" or ".<id>-stray" suffix is cut at the last '.', and the
// partition is what follows the last '-' (so the topic may itself contain
// '-' and '.'). Unlike Kafka it accepts only the canonical decimal form
// of the partition (no sign, no leading zeros), so that a directory name
// and its TopicPartition map one to one.
func parsePartitionDir(name string) (TopicPartition, partitionDirKind, error) {
	bad := func(why string) (TopicPartition, partitionDirKind, error) {
		return TopicPartition{}, 0, fmt.Errorf("%w: %q: %s (want topic-partition, or topic-partition.uniqueId-delete if marked for deletion)", ErrInvalidPartitionDir, name, why)
	}
	kind := dirLive
	base := name
	for _, s := range []struct {
		suffix string
		kind   partitionDirKind
	}{{deleteDirSuffix, dirDeleted}, {futureDirSuffix, dirFuture}, {strayDirSuffix, dirStray}} {
		if !strings.HasSuffix(name, s.suffix) {
			continue
		}
		// Kafka's pattern: ^(\S+)-(\S+)\.(\S+)-suffix$
		dot := strings.LastIndexByte(name, '.')
		if dot < 0 || dot+1 >= len(name)-len(s.suffix) {
			return bad("missing unique id before " + s.suffix)
		}
		kind, base = s.kind, name[:dot]
		break
	}
	if strings.ContainsFunc(base, isSpace) {
		return bad("contains white space")
	}
	dash := strings.LastIndexByte(base, '-')
	if dash < 0 {
		return bad("no '-'")
	}
	topic, part := base[:dash], base[dash+1:]
	if topic == "" || part == "" {
		return bad("empty topic or partition")
	}
	p, err := strconv.ParseInt(part, 10, 32)
	if err != nil || p < 0 || strconv.FormatInt(p, 10) != part {
		return bad("partition is not a non-negative decimal number")
	}
	return TopicPartition{Topic: topic, Partition: int32(p)}, kind, nil
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v'
}

// validate checks that tp can name a new partition directory: a legal
// Kafka topic name (Topic.validate: 1 to 249 characters from
// [a-zA-Z0-9._-], not "." or "..") and a non-negative partition. Besides
// matching Kafka, this keeps any path separator out of the directory
// name.
func (tp TopicPartition) validate() error {
	t := tp.Topic
	switch {
	case t == "" || t == "." || t == "..":
		return fmt.Errorf("%w: illegal topic name %q", ErrInvalidPartitionDir, t)
	case len(t) > maxTopicLength:
		return fmt.Errorf("%w: topic name of %d characters exceeds %d", ErrInvalidPartitionDir, len(t), maxTopicLength)
	case tp.Partition < 0:
		return fmt.Errorf("%w: negative partition %d", ErrInvalidPartitionDir, tp.Partition)
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: topic %q contains %q", ErrInvalidPartitionDir, t, c)
		}
	}
	return nil
}

// deleteDirName returns the name a deleted partition's directory is
// renamed to, as Kafka's UnifiedLog.logDeleteDirName does:
// "<topic>-<partition>.<32 hex digits>-delete", with the topic cut short
// if the whole name would exceed 255 bytes. The random id lets a topic of
// the same name be recreated (and deleted again) at once.
func deleteDirName(tp TopicPartition) string { return renamedDirName(tp, deleteDirSuffix) }

// strayDirName is the name a stray partition's directory is renamed to
// (Kafka's "<topic>-<partition>.<uuid>-stray"), kept for an operator.
func strayDirName(tp TopicPartition) string { return renamedDirName(tp, strayDirSuffix) }

func renamedDirName(tp TopicPartition, kind string) string {
	var id [16]byte
	_, _ = rand.Read(id[:]) // crypto/rand.Read never returns an error (Go 1.24+)
	suffix := "-" + strconv.FormatInt(int64(tp.Partition), 10) + "." + hex.EncodeToString(id[:]) + kind
	topic := tp.Topic
	if len(topic) > 255-len(suffix) {
		topic = topic[:255-len(suffix)]
	}
	return topic + suffix
}
