package handler

import (
	"path/filepath"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestDescribeLogDirs(t *testing.T) {
	b := startAdminBroker(t, registered)
	b.createTopic(t, "big", 2, nil)
	b.createTopic(t, "small", 1, nil)
	b.appendRecords(t, "big", 1, 20, 100)

	all, err := b.admin(t).DescribeAllLogDirs(ctx10(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	dirs := all[1]
	dir, err := filepath.Abs(b.Dir)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := dirs[dir]
	if !ok || d.Err != nil || len(dirs) != 1 {
		t.Fatalf("dirs %+v, want %s", dirs, dir)
	}
	if d.TotalBytes <= 0 || d.UsableBytes < 0 || d.UsableBytes > d.TotalBytes {
		t.Fatalf("volume %d/%d", d.UsableBytes, d.TotalBytes)
	}
	p, ok := d.Topics.Lookup("big", 1)
	if !ok || p.Size < 20*100 || p.OffsetLag != 0 || p.IsFuture {
		t.Fatalf("big-1 %+v", p)
	}
	if p, ok := d.Topics.Lookup("big", 0); !ok || p.Size != 0 {
		t.Fatalf("big-0 %+v", p)
	}
	if _, ok := d.Topics.Lookup("small", 0); !ok {
		t.Fatal("small-0 missing")
	}

	// A subset: only the named partitions; a topic with none hosted is
	// left out.
	set := kadm.TopicsSet{}
	set.Add("big", 1)
	set.Add("ghost", 0)
	some, err := b.admin(t).DescribeBrokerLogDirs(ctx10(t), 1, set)
	if err != nil {
		t.Fatal(err)
	}
	if got := some[dir].Topics; len(got) != 1 || len(got["big"]) != 1 {
		t.Fatalf("subset %+v", got)
	}

	// v1 (the floor) has no volume sizes; v5 has them and IsCordoned.
	for _, v := range []int16{1, 5} {
		req := kmsg.NewPtrDescribeLogDirsRequest()
		req.SetVersion(v)
		resp := b.raw(t, req).(*kmsg.DescribeLogDirsResponse)
		if len(resp.Dirs) != 1 || resp.Dirs[0].Dir != dir || len(resp.Dirs[0].Topics) != 2 {
			t.Fatalf("v%d %+v", v, resp.Dirs)
		}
		if v == 5 && resp.Dirs[0].TotalBytes <= 0 {
			t.Fatalf("v5 total bytes %d", resp.Dirs[0].TotalBytes)
		}
	}
}
