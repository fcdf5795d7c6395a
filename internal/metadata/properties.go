package metadata

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// MetaPropertiesFileName is the identity file Kafka keeps in every log dir.
const MetaPropertiesFileName = "meta.properties"

// MetaPropertiesVersion is the version of the meta.properties format for
// KRaft-era brokers (Kafka's MetaPropertiesVersion.V1): node.id rather than
// broker.id, and cluster.id always present.
const MetaPropertiesVersion = 1

// MetaProperties is the content of a log dir's meta.properties, in Kafka's
// format (Java properties):
//
//	version=1
//	cluster.id=<22-char base64url UUID>
//	node.id=<int>
//	directory.id=<22-char base64url UUID>
//
// A file written by Kafka reads here and one written here reads in Kafka.
type MetaProperties struct {
	Version     int
	ClusterID   string
	NodeID      int32
	DirectoryID UUID // ZeroUUID when the file has none (older Kafka)
}

// Marshal returns the file's bytes, in Java properties syntax with keys
// sorted (Kafka writes them in hash order; readers do not care).
func (mp MetaProperties) Marshal() []byte {
	var sb strings.Builder
	sb.WriteString("#\n#Written by Samsa\n")
	props := map[string]string{
		"version":    strconv.Itoa(mp.Version),
		"cluster.id": mp.ClusterID,
		"node.id":    strconv.FormatInt(int64(mp.NodeID), 10),
	}
	if !mp.DirectoryID.IsZero() {
		props["directory.id"] = mp.DirectoryID.String()
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		sb.WriteString(escapeProperty(k, true))
		sb.WriteByte('=')
		sb.WriteString(escapeProperty(props[k], false))
		sb.WriteByte('\n')
	}
	return []byte(sb.String())
}

// ParseMetaProperties parses meta.properties bytes. It requires version 1
// with cluster.id and node.id, as Kafka does for KRaft; directory.id is
// optional but must be a valid, unreserved UUID when present. Errors wrap
// ErrInvalidMetaProperties.
func ParseMetaProperties(data []byte) (MetaProperties, error) {
	var mp MetaProperties
	props, err := parseProperties(data)
	if err != nil {
		return mp, err
	}
	bad := func(format string, args ...any) (MetaProperties, error) {
		return MetaProperties{}, fmt.Errorf("%w: %s", ErrInvalidMetaProperties, fmt.Sprintf(format, args...))
	}
	v, ok := props["version"]
	if !ok {
		return bad("no version (a version 0 file from a ZooKeeper-era broker is not supported)")
	}
	if mp.Version, err = strconv.Atoi(v); err != nil || mp.Version != MetaPropertiesVersion {
		return bad("unsupported version %q", v)
	}
	if mp.ClusterID = props["cluster.id"]; mp.ClusterID == "" {
		return bad("cluster.id was not found")
	}
	n, ok := props["node.id"]
	if !ok {
		return bad("node.id was not found")
	}
	id, err := strconv.ParseInt(n, 10, 32)
	if err != nil || id < 0 {
		return bad("unable to read node.id %q as a non-negative base-10 number", n)
	}
	mp.NodeID = int32(id)
	if d, ok := props["directory.id"]; ok {
		if mp.DirectoryID, err = ParseUUID(d); err != nil {
			return bad("unable to read directory.id as a Uuid: %v", err)
		}
		if reservedDirectoryID(mp.DirectoryID) {
			return bad("reserved directory.id %s", d)
		}
	}
	return mp, nil
}

// ReadMetaProperties reads dir/meta.properties. A missing file gives an
// error wrapping os.ErrNotExist.
func ReadMetaProperties(dir string) (MetaProperties, error) {
	path := filepath.Join(dir, MetaPropertiesFileName)
	data, err := os.ReadFile(path)
	if err != nil {
		return MetaProperties{}, fmt.Errorf("metadata: read %s: %w", path, err)
	}
	mp, err := ParseMetaProperties(data)
	if err != nil {
		return MetaProperties{}, fmt.Errorf("%s: %w", path, err)
	}
	return mp, nil
}

// WriteMetaProperties writes dir/meta.properties atomically (temporary
// file, fsync, rename, fsync dir), as Kafka does.
func WriteMetaProperties(dir string, mp MetaProperties) error {
	if err := writeFileAtomic(dir, MetaPropertiesFileName, mp.Marshal()); err != nil {
		return fmt.Errorf("metadata: write %s: %w", filepath.Join(dir, MetaPropertiesFileName), err)
	}
	return nil
}

// LogDirIdentity is what EnsureMetaProperties settles: the cluster ID every
// log dir agrees on, and each dir's directory ID.
type LogDirIdentity struct {
	ClusterID    string
	DirectoryIDs map[string]UUID // by log dir path as given
}

// EnsureMetaProperties checks the meta.properties of every log dir against
// this node and each other, and writes the missing ones, the way a Kafka
// broker verifies its log dirs at startup (and the way kafka-storage format
// initialises them; Samsa formats on first start).
//
// Every existing file must name nodeID (else ErrNodeIDMismatch) and the same
// cluster ID, which must equal clusterID when that is not "" (else
// ErrClusterIDMismatch); directory IDs must be distinct. Dirs without the
// file (created when missing) get one with the agreed cluster ID, or a new
// one (NewClusterID) when no dir has one and clusterID is "". A file without
// a directory.id gets one written in. rand supplies randomness (nil means
// crypto/rand).
func EnsureMetaProperties(logDirs []string, nodeID int32, clusterID string, rand io.Reader) (LogDirIdentity, error) {
	var none LogDirIdentity
	if len(logDirs) == 0 {
		return none, errors.New("metadata: no log directories")
	}
	if nodeID < 0 {
		return none, fmt.Errorf("metadata: invalid node.id %d", nodeID)
	}
	if clusterID != "" {
		if _, err := ParseUUID(clusterID); err != nil {
			return none, fmt.Errorf("metadata: cluster id %q does not appear to be a valid UUID: %w", clusterID, err)
		}
	}
	existing := make(map[string]MetaProperties, len(logDirs))
	seenDirIDs := map[UUID]string{}
	for _, dir := range logDirs {
		mp, err := ReadMetaProperties(dir)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return none, err
		}
		path := filepath.Join(dir, MetaPropertiesFileName)
		if mp.NodeID != nodeID {
			return none, fmt.Errorf("%w: stored node id %d doesn't match the configured node id %d in %s. "+
				"If you moved your data, make sure your configured node id matches. If you intend to create "+
				"a new node, you should remove all data in your data directories", ErrNodeIDMismatch, mp.NodeID, nodeID, path)
		}
		if clusterID == "" {
			clusterID = mp.ClusterID
		} else if mp.ClusterID != clusterID {
			return none, fmt.Errorf("%w: invalid cluster.id in %s: expected %s, but read %s",
				ErrClusterIDMismatch, path, clusterID, mp.ClusterID)
		}
		if !mp.DirectoryID.IsZero() {
			if prev, dup := seenDirIDs[mp.DirectoryID]; dup {
				return none, fmt.Errorf("%w: duplicate directory ID %s in %s and %s",
					ErrInvalidMetaProperties, mp.DirectoryID, prev, dir)
			}
			seenDirIDs[mp.DirectoryID] = dir
		}
		existing[dir] = mp
	}
	if clusterID == "" {
		id, err := RandomUUID(rand)
		if err != nil {
			return none, err
		}
		clusterID = id.String()
	}
	ident := LogDirIdentity{ClusterID: clusterID, DirectoryIDs: make(map[string]UUID, len(logDirs))}
	for _, dir := range logDirs {
		mp, ok := existing[dir]
		if ok && !mp.DirectoryID.IsZero() {
			ident.DirectoryIDs[dir] = mp.DirectoryID
			continue
		}
		if !ok {
			mp = MetaProperties{Version: MetaPropertiesVersion, ClusterID: clusterID, NodeID: nodeID}
		}
		for {
			id, err := randomDirectoryID(rand)
			if err != nil {
				return none, err
			}
			if _, dup := seenDirIDs[id]; !dup {
				mp.DirectoryID = id
				seenDirIDs[id] = dir
				break
			}
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return none, fmt.Errorf("metadata: create log dir %s: %w", dir, err)
		}
		if err := WriteMetaProperties(dir, mp); err != nil {
			return none, err
		}
		ident.DirectoryIDs[dir] = mp.DirectoryID
	}
	return ident, nil
}

// parseProperties reads the Java properties syntax that java.util.Properties
// load() accepts: '#' and '!' comments, key and value separated by '=', ':'
// or whitespace, backslash escapes (\t \n \r \f, \uXXXX, and any other
// character taken literally) and lines continued by a trailing backslash.
// Input must be UTF-8 (Kafka writes meta.properties as UTF-8). Later keys
// override earlier ones, as in Java.
func parseProperties(data []byte) (map[string]string, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: not UTF-8", ErrInvalidMetaProperties)
	}
	props := map[string]string{}
	lines := strings.Split(strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimLeft(lines[i], " \t\f")
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		// Join continuation lines: an odd number of trailing backslashes.
		for endsWithContinuation(line) && i+1 < len(lines) {
			i++
			line = line[:len(line)-1] + strings.TrimLeft(lines[i], " \t\f")
		}
		if endsWithContinuation(line) {
			line = line[:len(line)-1]
		}
		key, value, err := splitProperty(line)
		if err != nil {
			return nil, err
		}
		props[key] = value
	}
	return props, nil
}

func endsWithContinuation(line string) bool {
	n := 0
	for i := len(line) - 1; i >= 0 && line[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// splitProperty splits a logical line into its unescaped key and value.
func splitProperty(line string) (string, string, error) {
	end := len(line)
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c == '\\' {
			i++
			continue
		}
		if c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f' {
			end = i
			break
		}
	}
	key, rest := line[:end], line[end:]
	rest = strings.TrimLeft(rest, " \t\f")
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = strings.TrimLeft(rest[1:], " \t\f")
	}
	k, err := unescapeProperty(key)
	if err != nil {
		return "", "", err
	}
	v, err := unescapeProperty(rest)
	if err != nil {
		return "", "", err
	}
	return k, v, nil
}

func unescapeProperty(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			sb.WriteByte(c)
			continue
		}
		i++
		if i == len(s) {
			break // a lone trailing backslash is dropped, as Java does
		}
		switch s[i] {
		case 't':
			sb.WriteByte('\t')
		case 'n':
			sb.WriteByte('\n')
		case 'r':
			sb.WriteByte('\r')
		case 'f':
			sb.WriteByte('\f')
		case 'u':
			r, ok := hex4(s[i+1:])
			if !ok {
				return "", fmt.Errorf("%w: malformed \\uxxxx escape", ErrInvalidMetaProperties)
			}
			i += 4
			// Java strings are UTF-16: a character outside the BMP is
			// written as two escapes, a surrogate pair.
			if utf16.IsSurrogate(r) && strings.HasPrefix(s[i+1:], `\u`) {
				if r2, ok := hex4(s[i+3:]); ok {
					if c := utf16.DecodeRune(r, r2); c != utf8.RuneError {
						r = c
						i += 6
					}
				}
			}
			sb.WriteRune(r)
		default:
			sb.WriteByte(s[i])
		}
	}
	return sb.String(), nil
}

// hex4 parses the four hex digits a \u escape needs at the start of s.
func hex4(s string) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	v, err := strconv.ParseUint(s[:4], 16, 16)
	return rune(v), err == nil
}

// escapeProperty escapes s for a properties file: backslash, separators and
// comment characters, spaces in keys and a leading space in values, and
// every character outside printable ASCII.
func escapeProperty(s string, key bool) string {
	var sb strings.Builder
	for i, r := range s {
		switch {
		case r == '\\':
			sb.WriteString(`\\`)
		case r == '\t':
			sb.WriteString(`\t`)
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\r':
			sb.WriteString(`\r`)
		case r == '\f':
			sb.WriteString(`\f`)
		case r == '=' || r == ':' || r == '#' || r == '!':
			sb.WriteByte('\\')
			sb.WriteRune(r)
		case r == ' ' && (key || i == 0):
			sb.WriteString(`\ `)
		case r < 0x20 || r > 0x7e:
			// Kafka reads meta.properties with Properties.load(InputStream),
			// which decodes ISO-8859-1: only \u escapes carry other
			// characters safely. Outside the BMP, a UTF-16 surrogate pair.
			if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
				fmt.Fprintf(&sb, `\u%04X\u%04X`, r1, r2)
			} else {
				fmt.Fprintf(&sb, `\u%04X`, r)
			}
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}
