package handler

import (
	"os"
	"path/filepath"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/storage"
)

// DescribeLogDirs: version 0 was removed in Kafka 4.0 (KIP-896).
func init() {
	register(kmsg.DescribeLogDirs.Int16(), 1, -1, serveDescribeLogDirs)
}

// serveDescribeLogDirs lists this broker's log dirs as Kafka's
// ReplicaManager.describeLogDirs does: each configured dir by its absolute
// path with, from v4, the total and usable bytes of its volume (-1 where
// the platform cannot say), and the requested partitions (all when the
// topic list is null) whose logs live there, with their size in bytes and
// offset lag (the high watermark minus the log end offset, floored at 0;
// always 0 for a leader). A topic with none of its requested partitions in
// a dir is left out of that dir. A dir that cannot be read is reported
// with KAFKA_STORAGE_ERROR. Samsa moves no replicas between dirs, so no
// log is a future log and no dir is cordoned.
func serveDescribeLogDirs(h *Handler, c *Context, req *kmsg.DescribeLogDirsRequest) {
	v := c.Version()
	resp := kmsg.NewPtrDescribeLogDirsResponse()
	logs := h.deps.Logs
	if logs == nil {
		resp.Dirs = []kmsg.DescribeLogDirsResponseDir{}
		c.respond(resp)
		return
	}

	var wanted map[storage.TopicPartition]bool
	if req.Topics != nil {
		wanted = map[storage.TopicPartition]bool{}
		for _, t := range req.Topics {
			for _, p := range t.Partitions {
				wanted[storage.TopicPartition{Topic: t.Topic, Partition: p}] = true
			}
		}
	}
	// Group the hosted logs by the log dir they live in.
	type part struct {
		tp  storage.TopicPartition
		log *storage.Log
	}
	byDir := map[string][]part{}
	for _, tp := range logs.Logs() {
		if wanted != nil && !wanted[tp] {
			continue
		}
		l, ok := logs.Get(tp)
		if !ok {
			continue // deleted since Logs returned
		}
		dir := absPath(filepath.Dir(l.Dir()))
		byDir[dir] = append(byDir[dir], part{tp, l})
	}

	seen := map[string]bool{}
	for _, d := range logs.Dirs() {
		dir := absPath(d)
		if seen[dir] {
			continue
		}
		seen[dir] = true
		rd := kmsg.NewDescribeLogDirsResponseDir()
		rd.Dir = dir
		rd.Topics = []kmsg.DescribeLogDirsResponseDirTopic{}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			h.log.Warn("unable to describe log dir", "dir", dir, "err", err)
			rd.ErrorCode = kerr.KafkaStorageError.Code
			resp.Dirs = append(resp.Dirs, rd)
			continue
		}
		if v >= 4 {
			rd.TotalBytes, rd.UsableBytes = volumeSpace(dir)
		}
		// Logs() is sorted by topic then partition, so topics come out
		// grouped and in order.
		for _, p := range byDir[dir] {
			n := len(rd.Topics)
			if n == 0 || rd.Topics[n-1].Topic != p.tp.Topic {
				t := kmsg.NewDescribeLogDirsResponseDirTopic()
				t.Topic = p.tp.Topic
				rd.Topics = append(rd.Topics, t)
				n++
			}
			rp := kmsg.NewDescribeLogDirsResponseDirTopicPartition()
			rp.Partition = p.tp.Partition
			rp.Size = p.log.Size()
			rp.OffsetLag = max(p.log.HighWatermark()-p.log.LogEndOffset(), 0)
			rd.Topics[n-1].Partitions = append(rd.Topics[n-1].Partitions, rp)
		}
		resp.Dirs = append(resp.Dirs, rd)
	}
	c.respond(resp)
}

// absPath returns the cleaned absolute form of a path, or the path cleaned
// when the working directory is unknown.
func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return filepath.Clean(p)
}
