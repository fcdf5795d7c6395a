package metadata

import (
	"bytes"
	"strings"
	"testing"
)

func TestUUIDString(t *testing.T) {
	// Kafka's Uuid(0, 1) prints as AAAAAAAAAAAAAAAAAAAAAQ.
	if got := oneUUID.String(); got != "AAAAAAAAAAAAAAAAAAAAAQ" {
		t.Errorf("ONE_UUID = %s", got)
	}
	u := UUID{0xff, 0xee, 0xdd, 15: 0x01}
	s := u.String()
	if len(s) != 22 {
		t.Fatalf("len %d", len(s))
	}
	back, err := ParseUUID(s)
	if err != nil || back != u {
		t.Fatalf("ParseUUID(%s) = %v, %v", s, back, err)
	}
	if back, err := ParseUUID(s + "=="); err != nil || back != u {
		t.Errorf("padded form: %v %v", back, err)
	}
	for _, bad := range []string{"", "short", strings.Repeat("A", 25), "AAAAAAAAAAAAAAAAAAAA+Q", "AAAAAAAAAAAAAAAAAAAAAAAA"} {
		if _, err := ParseUUID(bad); err == nil {
			t.Errorf("ParseUUID(%q) succeeded", bad)
		}
	}
}

func TestRandomUUID(t *testing.T) {
	seen := map[UUID]bool{}
	for range 200 {
		u, err := RandomUUID(nil)
		if err != nil {
			t.Fatal(err)
		}
		if u.IsZero() || u == oneUUID || u.String()[0] == '-' || seen[u] {
			t.Fatalf("bad random uuid %v", u)
		}
		if u[6]>>4 != 4 || u[8]>>6 != 2 {
			t.Fatalf("not a version 4 UUID: %x", u)
		}
		seen[u] = true
	}
	// A reader that yields a '-'-leading UUID first must be skipped past:
	// 0xfb is 111110 11 -> base64url '-' for the first six bits.
	first := bytes.Repeat([]byte{0xfb}, 16)
	second := bytes.Repeat([]byte{0x11}, 16)
	u, err := RandomUUID(bytes.NewReader(append(first, second...)))
	if err != nil {
		t.Fatal(err)
	}
	if u.String()[0] == '-' || u[0] != 0x11 {
		t.Errorf("got %v", u)
	}
	if _, err := RandomUUID(bytes.NewReader(nil)); err == nil {
		t.Error("RandomUUID on an empty reader succeeded")
	}
	id, err := NewClusterID()
	if err != nil || len(id) != 22 {
		t.Errorf("NewClusterID = %q, %v", id, err)
	}
	if _, err := ParseUUID(id); err != nil {
		t.Errorf("cluster id does not parse: %v", err)
	}
}

func TestReservedDirectoryID(t *testing.T) {
	if !reservedDirectoryID(UUID{}) || !reservedDirectoryID(UUID{15: 99}) {
		t.Error("low IDs must be reserved")
	}
	if reservedDirectoryID(UUID{15: 100}) || reservedDirectoryID(UUID{0: 1}) {
		t.Error("IDs from 100 up must not be reserved")
	}
}
