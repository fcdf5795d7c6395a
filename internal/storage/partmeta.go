package storage

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// partitionMetadataFile is the per-partition file that binds the
// directory to its topic id (KIP-516), in Kafka's text format:
//
//	version: 0
//	topic_id: <22-character base64url topic id, no padding>
const partitionMetadataFile = "partition.metadata"

// TopicIDString renders a topic id the way Kafka's Uuid.toString does:
// URL-safe base64 without padding.
func TopicIDString(id [16]byte) string {
	return base64.RawURLEncoding.EncodeToString(id[:])
}

// readPartitionMetadata returns the topic id recorded in dir, or ok=false
// when the file does not exist.
func readPartitionMetadata(dir string) (id [16]byte, ok bool, err error) {
	path := filepath.Join(dir, partitionMetadataFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return id, false, nil
	}
	if err != nil {
		return id, false, err
	}
	id, err = parsePartitionMetadata(string(data))
	if err != nil {
		return id, false, fmt.Errorf("%s: %w", path, err)
	}
	return id, true, nil
}

func parsePartitionMetadata(s string) (id [16]byte, err error) {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) != 2 {
		return id, fmt.Errorf("%w: want 2 lines, got %d", ErrCorruptCheckpoint, len(lines))
	}
	version, ok := strings.CutPrefix(lines[0], "version:")
	if !ok || strings.TrimSpace(version) != "0" {
		return id, fmt.Errorf("%w: bad version line %q", ErrCorruptCheckpoint, lines[0])
	}
	text, ok := strings.CutPrefix(lines[1], "topic_id:")
	if !ok {
		return id, fmt.Errorf("%w: bad topic id line %q", ErrCorruptCheckpoint, lines[1])
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil || len(raw) != 16 {
		return id, fmt.Errorf("%w: bad topic id %q", ErrCorruptCheckpoint, text)
	}
	copy(id[:], raw)
	if id == ([16]byte{}) {
		return id, fmt.Errorf("%w: zero topic id", ErrCorruptCheckpoint)
	}
	return id, nil
}

// writePartitionMetadata records id in dir atomically.
func writePartitionMetadata(dir string, id [16]byte) error {
	content := "version: 0\ntopic_id: " + TopicIDString(id)
	return writeFileAtomic(filepath.Join(dir, partitionMetadataFile), []byte(content))
}
