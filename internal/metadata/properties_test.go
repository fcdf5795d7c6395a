package metadata

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// kafkaWritten is meta.properties as Kafka 3.7+ writes it (Properties.store
// with an empty comment, then a date comment, keys in hash order).
const kafkaWritten = `#
#Tue Mar 12 10:15:42 UTC 2024
node.id=1
directory.id=J8aAPcfLQt2bqs1JT_rMgQ
version=1
cluster.id=MkU3OEVBNTcwNTJENDM2Qk
`

func TestParseKafkaMetaProperties(t *testing.T) {
	mp, err := ParseMetaProperties([]byte(kafkaWritten))
	if err != nil {
		t.Fatal(err)
	}
	dirID, _ := ParseUUID("J8aAPcfLQt2bqs1JT_rMgQ")
	want := MetaProperties{Version: 1, ClusterID: "MkU3OEVBNTcwNTJENDM2Qk", NodeID: 1, DirectoryID: dirID}
	if mp != want {
		t.Fatalf("got %+v\nwant %+v", mp, want)
	}
	back, err := ParseMetaProperties(mp.Marshal())
	if err != nil || back != mp {
		t.Fatalf("marshal round trip: %+v %v\n%s", back, err, mp.Marshal())
	}
	if !bytes.Contains(mp.Marshal(), []byte("\ncluster.id=MkU3OEVBNTcwNTJENDM2Qk\n")) ||
		!bytes.Contains(mp.Marshal(), []byte("\nversion=1\n")) {
		t.Fatalf("marshalled form:\n%s", mp.Marshal())
	}
	// Without a directory.id (Kafka before 3.7).
	noDir := MetaProperties{Version: 1, ClusterID: "abc", NodeID: 3}
	if bytes.Contains(noDir.Marshal(), []byte("directory.id")) {
		t.Fatal("zero directory id written")
	}
}

func TestParseMetaPropertiesErrors(t *testing.T) {
	cases := map[string]string{
		"no version (v0)":        "broker.id=1\ncluster.id=x\n",
		"version 0":              "version=0\nnode.id=1\ncluster.id=x\n",
		"version 2":              "version=2\nnode.id=1\ncluster.id=x\n",
		"no cluster id":          "version=1\nnode.id=1\n",
		"empty cluster id":       "version=1\nnode.id=1\ncluster.id=\n",
		"no node id":             "version=1\ncluster.id=x\n",
		"bad node id":            "version=1\nnode.id=one\ncluster.id=x\n",
		"negative node id":       "version=1\nnode.id=-1\ncluster.id=x\n",
		"node id overflow":       "version=1\nnode.id=4294967296\ncluster.id=x\n",
		"bad directory id":       "version=1\nnode.id=1\ncluster.id=x\ndirectory.id=nope\n",
		"reserved directory id":  "version=1\nnode.id=1\ncluster.id=x\ndirectory.id=AAAAAAAAAAAAAAAAAAAAAQ\n",
		"not utf-8":              "version=1\nnode.id=1\ncluster.id=\xff\n",
		"bad unicode escape":     "version=1\nnode.id=1\ncluster.id=\\u12\n",
		"bad unicode escape hex": "version=1\nnode.id=1\ncluster.id=\\uzzzz\n",
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseMetaProperties([]byte(in)); !errors.Is(err, ErrInvalidMetaProperties) {
				t.Fatalf("err = %v, want ErrInvalidMetaProperties", err)
			}
		})
	}
}

func TestParseProperties(t *testing.T) {
	in := "# comment\n! other comment\n\n  a = 1\nb:2\nc 3\nd\\=x=4\ne=multi\\\n   line\nf=\\u0041\\t\\\\\ng=\\uD83D\\uDE00\r\nh\ni=last\\"
	got, err := parseProperties([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "1", "b": "2", "c": "3", "d=x": "4", "e": "multiline", "f": "A\t\\", "g": "😀", "h": "", "i": "last"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	// Escaping round-trips awkward keys and values.
	for _, s := range []string{"a b", " lead", "x=y:z#!", "tab\there", "nl\nhere", "back\\slash", "ünïcode", "\x01"} {
		line := escapeProperty(s, true) + "=" + escapeProperty(s, false)
		m, err := parseProperties([]byte(line))
		if err != nil || len(m) != 1 || m[s] != s {
			t.Errorf("round trip of %q via %q: %q %v", s, line, m, err)
		}
	}
}

func FuzzParseMetaProperties(f *testing.F) {
	f.Add([]byte(kafkaWritten))
	f.Add(MetaProperties{Version: 1, ClusterID: "c", NodeID: 7}.Marshal())
	f.Add([]byte("a=\\u00e9\\\n b\nversion=1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		mp, err := ParseMetaProperties(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidMetaProperties) {
				t.Fatalf("error does not wrap ErrInvalidMetaProperties: %v", err)
			}
			return
		}
		if back, err := ParseMetaProperties(mp.Marshal()); err != nil || back != mp {
			t.Fatalf("marshal round trip: %+v vs %+v: %v", back, mp, err)
		}
	})
}

func TestEnsureMetaPropertiesFirstStartAndRestart(t *testing.T) {
	root := t.TempDir()
	dirs := []string{filepath.Join(root, "d1"), filepath.Join(root, "d2")}
	ident, err := EnsureMetaProperties(dirs, 3, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ident.ClusterID) != 22 {
		t.Fatalf("cluster id %q", ident.ClusterID)
	}
	if _, err := ParseUUID(ident.ClusterID); err != nil {
		t.Fatal(err)
	}
	if ident.DirectoryIDs[dirs[0]] == ident.DirectoryIDs[dirs[1]] || ident.DirectoryIDs[dirs[0]].IsZero() {
		t.Fatalf("directory ids %v", ident.DirectoryIDs)
	}
	for _, d := range dirs {
		mp, err := ReadMetaProperties(d)
		if err != nil {
			t.Fatal(err)
		}
		if mp.NodeID != 3 || mp.ClusterID != ident.ClusterID || mp.DirectoryID != ident.DirectoryIDs[d] || mp.Version != 1 {
			t.Fatalf("%s: %+v", d, mp)
		}
	}
	// A restart keeps everything.
	again, err := EnsureMetaProperties(dirs, 3, "", nil)
	if err != nil || !reflect.DeepEqual(again, ident) {
		t.Fatalf("restart: %+v %v", again, err)
	}
	// The configured cluster id, when given, must match.
	if _, err := EnsureMetaProperties(dirs, 3, ident.ClusterID, nil); err != nil {
		t.Fatal(err)
	}
	// A new, empty log dir joins with the same cluster id.
	dirs = append(dirs, filepath.Join(root, "d3"))
	grown, err := EnsureMetaProperties(dirs, 3, "", nil)
	if err != nil || grown.ClusterID != ident.ClusterID || len(grown.DirectoryIDs) != 3 {
		t.Fatalf("grown: %+v %v", grown, err)
	}
}

func TestEnsureMetaPropertiesRefusals(t *testing.T) {
	root := t.TempDir()
	d1, d2 := filepath.Join(root, "d1"), filepath.Join(root, "d2")
	ident, err := EnsureMetaProperties([]string{d1}, 1, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureMetaProperties([]string{d1}, 2, "", nil); !errors.Is(err, ErrNodeIDMismatch) {
		t.Fatalf("other node id: %v", err)
	}
	other, _ := NewClusterID()
	if _, err := EnsureMetaProperties([]string{d1}, 1, other, nil); !errors.Is(err, ErrClusterIDMismatch) {
		t.Fatalf("other configured cluster id: %v", err)
	}
	// Two dirs from different clusters.
	os.MkdirAll(d2, 0o755)
	if err := WriteMetaProperties(d2, MetaProperties{Version: 1, ClusterID: other, NodeID: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureMetaProperties([]string{d1, d2}, 1, "", nil); !errors.Is(err, ErrClusterIDMismatch) {
		t.Fatalf("dirs disagree: %v", err)
	}
	// Two dirs with the same directory id (one copied from the other).
	data, _ := os.ReadFile(filepath.Join(d1, MetaPropertiesFileName))
	os.WriteFile(filepath.Join(d2, MetaPropertiesFileName), data, 0o644)
	if _, err := EnsureMetaProperties([]string{d1, d2}, 1, "", nil); !errors.Is(err, ErrInvalidMetaProperties) {
		t.Fatalf("duplicate directory id: %v", err)
	}
	// A damaged file refuses too.
	os.WriteFile(filepath.Join(d2, MetaPropertiesFileName), []byte("version=1\n"), 0o644)
	if _, err := EnsureMetaProperties([]string{d1, d2}, 1, "", nil); !errors.Is(err, ErrInvalidMetaProperties) {
		t.Fatalf("damaged file: %v", err)
	}
	if _, err := EnsureMetaProperties([]string{d1}, 1, "not-a-uuid", nil); err == nil || !strings.Contains(err.Error(), "valid UUID") {
		t.Fatalf("invalid configured id: %v", err)
	}
	if _, err := EnsureMetaProperties(nil, 1, "", nil); err == nil {
		t.Fatal("no dirs accepted")
	}
	if _, err := EnsureMetaProperties([]string{d1}, -1, "", nil); err == nil {
		t.Fatal("negative node id accepted")
	}
	// Nothing was rewritten by the refusals.
	mp, err := ReadMetaProperties(d1)
	if err != nil || mp.ClusterID != ident.ClusterID || mp.NodeID != 1 {
		t.Fatalf("d1 changed: %+v %v", mp, err)
	}
	if _, err := ReadMetaProperties(filepath.Join(root, "none")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestEnsureMetaPropertiesAddsDirectoryID(t *testing.T) {
	d := t.TempDir()
	// A file from Kafka before directory IDs.
	if err := WriteMetaProperties(d, MetaProperties{Version: 1, ClusterID: "MkU3OEVBNTcwNTJENDM2Qk", NodeID: 0}); err != nil {
		t.Fatal(err)
	}
	ident, err := EnsureMetaProperties([]string{d}, 0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	mp, _ := ReadMetaProperties(d)
	if mp.DirectoryID.IsZero() || mp.DirectoryID != ident.DirectoryIDs[d] || mp.ClusterID != "MkU3OEVBNTcwNTJENDM2Qk" {
		t.Fatalf("%+v", mp)
	}
}
