package metadata

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
)

// UUID is Kafka's 128-bit identifier (Uuid in the Java code base): topic
// IDs, directory IDs and, in its string form, cluster IDs. It is a plain
// array, so it compares with == and converts to and from kmsg's [16]byte
// fields directly. Byte 0 is the most significant byte.
type UUID [16]byte

// ZeroUUID is Kafka's ZERO_UUID: "no ID" in requests and responses.
var ZeroUUID UUID

// oneUUID is Kafka's ONE_UUID (METADATA_TOPIC_ID), reserved for the
// metadata topic itself.
var oneUUID = UUID{15: 1}

// String returns the UUID the way Kafka prints it: URL-safe base64 without
// padding, always 22 characters.
func (u UUID) String() string {
	return base64.RawURLEncoding.EncodeToString(u[:])
}

// IsZero reports whether u is ZeroUUID.
func (u UUID) IsZero() bool { return u == ZeroUUID }

// ParseUUID parses Kafka's string form of a UUID (URL-safe base64 of 16
// bytes, without padding, as Uuid.toString writes it). Padding is accepted
// too, as Java's decoder accepts it.
func ParseUUID(s string) (UUID, error) {
	var u UUID
	if len(s) > 24 {
		return u, fmt.Errorf("metadata: %q is too long to be a base64 UUID", s)
	}
	raw := s
	for len(raw) > 0 && raw[len(raw)-1] == '=' {
		raw = raw[:len(raw)-1]
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return u, fmt.Errorf("metadata: %q is not a base64 UUID: %v", s, err)
	}
	if len(b) != 16 {
		return u, fmt.Errorf("metadata: %q decodes to %d bytes, not the 16 of a UUID", s, len(b))
	}
	copy(u[:], b)
	return u, nil
}

// RandomUUID returns a random version 4 UUID read from r (crypto/rand when
// r is nil). Like Kafka's Uuid.randomUuid it never returns the reserved
// zero and one UUIDs, nor one whose string form starts with '-', which
// command-line tools would take for a flag.
func RandomUUID(r io.Reader) (UUID, error) {
	if r == nil {
		r = rand.Reader
	}
	for {
		var u UUID
		if _, err := io.ReadFull(r, u[:]); err != nil {
			return ZeroUUID, fmt.Errorf("metadata: random uuid: %w", err)
		}
		u[6] = u[6]&0x0f | 0x40 // version 4
		u[8] = u[8]&0x3f | 0x80 // IETF variant
		if u == ZeroUUID || u == oneUUID || u.String()[0] == '-' {
			continue
		}
		return u, nil
	}
}

// NewClusterID returns a fresh cluster ID the way Kafka's storage tool
// makes one: a random UUID in its 22-character base64url form.
func NewClusterID() (string, error) {
	u, err := RandomUUID(nil)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// reservedDirectoryID reports whether u is one of the 100 directory IDs
// Kafka reserves (UNASSIGNED, LOST, MIGRATING and room for more): the most
// significant 8 bytes zero and the least significant below 100.
func reservedDirectoryID(u UUID) bool {
	for _, b := range u[:15] {
		if b != 0 {
			return false
		}
	}
	return u[15] < 100
}

// randomDirectoryID returns a random UUID that is not a reserved directory
// ID, as Kafka's DirectoryId.random does.
func randomDirectoryID(r io.Reader) (UUID, error) {
	for {
		u, err := RandomUUID(r)
		if err != nil || !reservedDirectoryID(u) {
			return u, err
		}
	}
}
