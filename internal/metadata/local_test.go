package metadata

import (
	"errors"
	"path/filepath"
	"reflect"
	"testing"
)

func TestOpenLocal(t *testing.T) {
	root := t.TempDir()
	dirs := []string{filepath.Join(root, "a"), filepath.Join(root, "b")}
	l, err := OpenLocal(dirs, "", ControllerConfig{NodeID: 2}, LocalLogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := l.Controller.CreateTopic(CreateTopicRequest{Name: "t", NumPartitions: 2, ReplicationFactor: -1}, false)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := l.Publisher.Image().Partition("t", 1); p.Leader != 2 {
		t.Fatalf("leader %d", p.Leader)
	}
	if l.Log.Dir() != filepath.Join(dirs[0], "__cluster_metadata-0") {
		t.Fatalf("log dir %s", l.Log.Dir())
	}
	want, cluster := l.Publisher.Image(), l.Identity.ClusterID
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	l2, err := OpenLocal(dirs, "", ControllerConfig{NodeID: 2}, LocalLogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l2.Identity.ClusterID != cluster || !reflect.DeepEqual(l2.Publisher.Image(), want) ||
		l2.Publisher.Image().Topic("t").ID != res.TopicID {
		t.Fatal("restart lost identity or metadata")
	}
	l2.Close()

	if _, err := OpenLocal(dirs, "", ControllerConfig{NodeID: 3}, LocalLogOptions{}); !errors.Is(err, ErrNodeIDMismatch) {
		t.Fatalf("other node id: %v", err)
	}
	if _, err := OpenLocal(nil, "", ControllerConfig{}, LocalLogOptions{}); err == nil {
		t.Fatal("no dirs accepted")
	}
}
