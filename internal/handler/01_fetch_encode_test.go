package handler

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// shapeGen draws the random choices of a response shape, from a PRNG or
// from fuzz bytes.
type shapeGen interface{ intn(n int) int }

type rngGen struct{ r *rand.Rand }

func (g rngGen) intn(n int) int { return g.r.IntN(n) }

type bytesGen struct{ b []byte }

func (g *bytesGen) intn(n int) int {
	if len(g.b) == 0 {
		return 0
	}
	v := int(g.b[0])
	if len(g.b) > 1 {
		v = v<<8 | int(g.b[1])
		g.b = g.b[2:]
	} else {
		g.b = g.b[1:]
	}
	return v % n
}

func pick[T any](g shapeGen, vs ...T) T { return vs[g.intn(len(vs))] }

// randomFetchResp draws a response of version v. Partitions take their
// records from file (a range within fileData) when file is not nil and
// the draw says so, else inline.
func randomFetchResp(g shapeGen, v int16, file *os.File, fileData []byte) *fetchResp {
	r := &fetchResp{
		version:    v,
		throttleMs: pick[int32](g, 0, 1, 1000, -1),
		sessionID:  pick[int32](g, 0, 1, 123456789, 2147483647),
	}
	if v >= 7 {
		r.errorCode = pick[int16](g, 0, 0, 70, 71, 106)
	} else {
		r.sessionID = 0
	}
	for range g.intn(4) {
		t := fetchRespTopic{name: pick(g, "", "t", "topic-with-a-longer-name.x_y")}
		for i := range t.id {
			t.id[i] = byte(g.intn(256))
		}
		for range g.intn(5) {
			p := newFetchRespPartition(int32(g.intn(1000)), pick[int16](g, 0, 0, 0, 1, 3, 6, 74, 100))
			p.highWatermark = pick[int64](g, -1, 0, 42, 1<<40)
			p.lastStableOffset = pick[int64](g, -1, 0, 41)
			p.logStartOffset = pick[int64](g, -1, 0, 7)
			if g.intn(2) == 0 {
				p.aborted = []abortedTxn{}
				for range g.intn(3) {
					p.aborted = append(p.aborted, abortedTxn{producerID: int64(g.intn(1 << 16)), firstOffset: int64(g.intn(1 << 16))})
				}
			}
			if v >= 11 {
				p.preferredReadReplica = pick[int32](g, -1, -1, 0, 3)
			}
			if v >= 12 {
				if g.intn(3) == 0 {
					p.divergingEpoch = epochEndOffset{int32(g.intn(10)), int64(g.intn(1000))}
				}
				if g.intn(3) == 0 {
					p.currentLeader = leaderIDEpoch{pick[int32](g, -1, 0, 2), int32(g.intn(10))}
				}
				if g.intn(4) == 0 {
					p.snapshotID = snapshotID{int64(g.intn(1000)), pick[int32](g, -1, 4)}
				}
			}
			switch {
			case file != nil && len(fileData) > 0 && g.intn(2) == 0:
				p.file = file
				p.filePos = int64(g.intn(len(fileData)))
				p.fileSize = int64(g.intn(len(fileData) - int(p.filePos) + 1))
			case g.intn(2) == 0:
				p.records = make([]byte, pick(g, 1, 61, 3000))
				for i := range p.records {
					p.records[i] = byte(g.intn(256))
				}
			}
			t.parts = append(t.parts, p)
		}
		r.topics = append(r.topics, t)
	}
	if v >= 12 { // encoded from v16 only
		for range pick(g, 0, 0, 1, 3) {
			n := fetchRespNode{id: int32(g.intn(5)), host: pick(g, "localhost", "b-1.example.com"), port: int32(g.intn(65536))}
			if g.intn(2) == 0 {
				rack := pick(g, "", "rack-a")
				n.rack = &rack
			}
			r.nodes = append(r.nodes, n)
		}
	}
	return r
}

// toKmsg is the response as kmsg models it, with every file range read
// into memory.
func toKmsg(t testing.TB, r *fetchResp) *kmsg.FetchResponse {
	k := kmsg.NewPtrFetchResponse()
	k.Version = r.version
	k.ThrottleMillis, k.ErrorCode, k.SessionID = r.throttleMs, r.errorCode, r.sessionID
	for _, tp := range r.topics {
		kt := kmsg.NewFetchResponseTopic()
		kt.Topic, kt.TopicID = tp.name, tp.id
		for _, p := range tp.parts {
			kp := kmsg.NewFetchResponseTopicPartition()
			kp.Partition, kp.ErrorCode = p.index, p.errorCode
			kp.HighWatermark, kp.LastStableOffset, kp.LogStartOffset = p.highWatermark, p.lastStableOffset, p.logStartOffset
			kp.DivergingEpoch.Epoch, kp.DivergingEpoch.EndOffset = p.divergingEpoch.epoch, p.divergingEpoch.endOffset
			kp.CurrentLeader.LeaderID, kp.CurrentLeader.LeaderEpoch = p.currentLeader.leaderID, p.currentLeader.leaderEpoch
			kp.SnapshotID.EndOffset, kp.SnapshotID.Epoch = p.snapshotID.endOffset, p.snapshotID.epoch
			if p.aborted != nil {
				kp.AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{}
				for _, a := range p.aborted {
					ka := kmsg.NewFetchResponseTopicPartitionAbortedTransaction()
					ka.ProducerID, ka.FirstOffset = a.producerID, a.firstOffset
					kp.AbortedTransactions = append(kp.AbortedTransactions, ka)
				}
			}
			kp.PreferredReadReplica = p.preferredReadReplica
			kp.RecordBatches = []byte{}
			if p.file != nil {
				b := make([]byte, p.fileSize)
				if _, err := p.file.ReadAt(b, p.filePos); err != nil && p.fileSize > 0 {
					t.Fatal(err)
				}
				kp.RecordBatches = b
			} else if p.records != nil {
				kp.RecordBatches = p.records
			}
			kt.Partitions = append(kt.Partitions, kp)
		}
		k.Topics = append(k.Topics, kt)
	}
	for _, n := range r.nodes {
		if r.version < 16 {
			break // node_endpoints is a v16+ field; kmsg would send it from v12
		}
		kb := kmsg.NewFetchResponseBroker()
		kb.NodeID, kb.Host, kb.Port, kb.Rack = n.id, n.host, n.port, n.rack
		k.Brokers = append(k.Brokers, kb)
	}
	return k
}

// materialize encodes r and returns the body with file ranges read in,
// and how many bytes went as file ranges.
func materialize(t testing.TB, r *fetchResp) ([]byte, int64) {
	var e fetchEncoder
	r.encode(&e)
	e.flush()
	var out []byte
	var fileBytes int64
	for _, pc := range e.pieces {
		if pc.file == nil {
			out = append(out, pc.b...)
			continue
		}
		b := make([]byte, pc.n)
		if _, err := pc.file.ReadAt(b, pc.pos); err != nil {
			t.Fatal(err)
		}
		out = append(out, b...)
		fileBytes += pc.n
	}
	if int64(len(out)) != e.size {
		t.Fatalf("encoder size %d, bytes %d", e.size, len(out))
	}
	return out, fileBytes
}

// checkDecoded compares what kmsg decoded with the intended response,
// field by field and version by version, independently of kmsg's encoder.
func checkDecoded(t testing.TB, r *fetchResp, want, got *kmsg.FetchResponse) {
	t.Helper()
	v := r.version
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("v%d: "+format, append([]any{v}, args...)...)
	}
	if got.ThrottleMillis != want.ThrottleMillis {
		fail("throttle %d, want %d", got.ThrottleMillis, want.ThrottleMillis)
	}
	if v >= 7 && (got.ErrorCode != want.ErrorCode || got.SessionID != want.SessionID) {
		fail("error %d session %d, want %d %d", got.ErrorCode, got.SessionID, want.ErrorCode, want.SessionID)
	}
	if len(got.Topics) != len(want.Topics) {
		fail("%d topics, want %d", len(got.Topics), len(want.Topics))
	}
	for i := range want.Topics {
		wt, gt := &want.Topics[i], &got.Topics[i]
		if v >= 13 && gt.TopicID != wt.TopicID || v < 13 && gt.Topic != wt.Topic {
			fail("topic %d: %q %x, want %q %x", i, gt.Topic, gt.TopicID, wt.Topic, wt.TopicID)
		}
		if len(gt.Partitions) != len(wt.Partitions) {
			fail("topic %d: %d partitions, want %d", i, len(gt.Partitions), len(wt.Partitions))
		}
		for j := range wt.Partitions {
			w, g := wt.Partitions[j], gt.Partitions[j]
			if v < 5 {
				w.LogStartOffset = -1
			}
			if v < 11 {
				w.PreferredReadReplica = -1
			}
			if v < 12 {
				w.DivergingEpoch, w.CurrentLeader, w.SnapshotID = g.DivergingEpoch, g.CurrentLeader, g.SnapshotID
				if !reflect.DeepEqual(g.DivergingEpoch, kmsg.NewFetchResponseTopicPartitionDivergingEpoch()) ||
					!reflect.DeepEqual(g.CurrentLeader, kmsg.NewFetchResponseTopicPartitionCurrentLeader()) ||
					!reflect.DeepEqual(g.SnapshotID, kmsg.NewFetchResponseTopicPartitionSnapshotID()) {
					fail("tagged fields decoded from a non-flexible version")
				}
			}
			if (w.AbortedTransactions == nil) != (g.AbortedTransactions == nil) {
				fail("aborted null %v, want %v", g.AbortedTransactions == nil, w.AbortedTransactions == nil)
			}
			if len(w.AbortedTransactions) == 0 && len(g.AbortedTransactions) == 0 {
				w.AbortedTransactions, g.AbortedTransactions = nil, nil
			}
			if !bytes.Equal(w.RecordBatches, g.RecordBatches) || g.RecordBatches == nil {
				fail("records %d bytes (nil %v), want %d", len(g.RecordBatches), g.RecordBatches == nil, len(w.RecordBatches))
			}
			w.RecordBatches, g.RecordBatches = nil, nil
			if !reflect.DeepEqual(w, g) {
				fail("partition %d/%d:\n got %+v\nwant %+v", i, j, g, w)
			}
		}
	}
	if v >= 16 {
		if !reflect.DeepEqual(got.Brokers, want.Brokers) && !(len(got.Brokers) == 0 && len(want.Brokers) == 0) {
			fail("brokers %+v, want %+v", got.Brokers, want.Brokers)
		}
	} else if len(got.Brokers) != 0 {
		fail("brokers before v16")
	}
}

// checkFetchEncoding verifies one response: the encoded bytes, with file
// ranges read in, decode with kmsg to the intended values and equal
// kmsg's own encoding byte for byte; file data never passes through the
// byte chunks.
func checkFetchEncoding(t testing.TB, r *fetchResp) {
	t.Helper()
	got, fileBytes := materialize(t, r)
	want := toKmsg(t, r)
	if wantBytes := want.AppendTo(nil); !bytes.Equal(got, wantBytes) {
		t.Fatalf("v%d: %d bytes differ from kmsg's %d\n got %x\nwant %x", r.version, len(got), len(wantBytes), got, wantBytes)
	}
	var fileTotal int64
	for _, tp := range r.topics {
		for _, p := range tp.parts {
			if p.file != nil {
				fileTotal += p.fileSize
			}
		}
	}
	if fileBytes != fileTotal {
		t.Fatalf("v%d: %d bytes sent as file ranges, want %d", r.version, fileBytes, fileTotal)
	}
	dec := kmsg.NewPtrFetchResponse()
	dec.Version = r.version
	if err := dec.ReadFrom(got); err != nil {
		t.Fatalf("v%d: kmsg cannot decode: %v", r.version, err)
	}
	checkDecoded(t, r, want, dec)
}

func fetchTestFile(t testing.TB) (*os.File, []byte) {
	data := make([]byte, 20000)
	for i := range data {
		data[i] = byte(i*7 + i>>8)
	}
	path := filepath.Join(t.TempDir(), "00000000000000000000.log")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, data
}

func TestFetchEncoderEveryVersion(t *testing.T) {
	f, data := fetchTestFile(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for v := int16(fetchMinVersion); v <= kmsg.NewPtrFetchRequest().MaxVersion(); v++ {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			// Empty response, and one of each kind of partition.
			checkFetchEncoding(t, &fetchResp{version: v})
			full := &fetchResp{version: v, throttleMs: 5, errorCode: 0, sessionID: 9}
			if v < 7 {
				full.sessionID = 0
			}
			p1 := newFetchRespPartition(0, 0)
			p1.highWatermark, p1.lastStableOffset, p1.logStartOffset = 100, 90, 3
			p1.file, p1.filePos, p1.fileSize = f, 17, 4000
			p1.aborted = []abortedTxn{{producerID: 4, firstOffset: 91}}
			p2 := newFetchRespPartition(1, 1) // OFFSET_OUT_OF_RANGE: no records
			p3 := newFetchRespPartition(2, 6) // NOT_LEADER_OR_FOLLOWER
			if v >= 12 {
				p3.currentLeader = leaderIDEpoch{2, 7}
			}
			p4 := newFetchRespPartition(3, 0)
			p4.file, p4.filePos, p4.fileSize = f, 0, 0 // an empty range
			full.topics = []fetchRespTopic{{name: "a", id: [16]byte{1}, parts: []fetchRespPartition{p1, p2}}, {name: "b", id: [16]byte{2}, parts: []fetchRespPartition{p3, p4}}}
			if v >= 16 {
				full.nodes = []fetchRespNode{{id: 2, host: "h", port: 9092}}
			}
			checkFetchEncoding(t, full)
			for range 300 {
				checkFetchEncoding(t, randomFetchResp(rngGen{rng}, v, f, data))
			}
		})
	}
}

func TestFetchEncoderNetworkResponse(t *testing.T) {
	f, _ := fetchTestFile(t)
	r := &fetchResp{version: 13}
	p := newFetchRespPartition(0, 0)
	p.file, p.filePos, p.fileSize = f, 100, 5000
	r.topics = []fetchRespTopic{{id: [16]byte{7}, parts: []fetchRespPartition{p, p}}}
	body, _ := materialize(t, r)
	released := 0
	resp, err := encodeFetchResponse(r, func() { released++ })
	if err != nil {
		t.Fatal(err)
	}
	if resp.Len() != int64(len(body)) {
		t.Fatalf("response length %d, body %d", resp.Len(), len(body))
	}
	resp.Done()
	if released != 1 {
		t.Fatalf("release called %d times", released)
	}
	// An invalid file range is refused, not sent.
	p.filePos = -1
	r.topics[0].parts[0] = p
	if _, err := encodeFetchResponse(r, nil); err == nil {
		t.Fatal("negative file position accepted")
	}
}

func FuzzFetchEncoder(f *testing.F) {
	f.Add(int16(4), []byte{})
	f.Add(int16(12), []byte{1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add(int16(16), []byte{255, 1, 0, 3, 0, 2, 9, 9, 9, 9, 9, 9, 0, 0, 1, 1, 1})
	f.Add(int16(18), bytes.Repeat([]byte{1, 0}, 200))
	f.Fuzz(func(t *testing.T, v int16, shape []byte) {
		if v < fetchMinVersion || v > kmsg.NewPtrFetchRequest().MaxVersion() {
			return
		}
		file, data := fetchTestFile(t)
		checkFetchEncoding(t, randomFetchResp(&bytesGen{b: shape}, v, file, data))
	})
}

// BenchmarkFetchEncode encodes a 100-partition response whose records are
// file ranges, as a consumer's poll does, and releases it.
func BenchmarkFetchEncode(b *testing.B) {
	f, _ := fetchTestFile(b)
	r := &fetchResp{version: 16, sessionID: 7}
	for ti := range 10 {
		t := fetchRespTopic{id: [16]byte{byte(ti)}}
		for p := range 10 {
			fp := newFetchRespPartition(int32(p), 0)
			fp.highWatermark, fp.lastStableOffset, fp.logStartOffset = 1000, 1000, 0
			fp.file, fp.filePos, fp.fileSize = f, int64(p*100), 16<<10
			t.parts = append(t.parts, fp)
		}
		r.topics = append(r.topics, t)
	}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := encodeFetchResponse(r, nil)
		if err != nil {
			b.Fatal(err)
		}
		resp.Done()
	}
}
