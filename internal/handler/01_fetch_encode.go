package handler

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync"

	"github.com/samsa-streaming/samsa/internal/network"
)

// This file encodes Fetch responses without copying record bytes: kmsg can
// only encode records held in memory, so the Fetch body is written here,
// field by field as Kafka's FetchResponse.json lays it out for versions
// 4 to 18, into byte chunks with the partitions' records left as file
// ranges between them, which the network layer sends with sendfile(2).
//
//	FetchResponse body (v4+; "v7+" etc. say when a field appears; flexible
//	versions v12+ use compact lengths (uvarint n+1) and tagged fields)
//
//	throttle_time_ms int32
//	error_code       int16                       v7+
//	session_id       int32                       v7+
//	responses        array of:
//	  topic          string                      v4-v12
//	  topic_id       uuid (16 bytes)             v13+
//	  partitions     array of:
//	    partition_index        int32
//	    error_code             int16
//	    high_watermark         int64
//	    last_stable_offset     int64
//	    log_start_offset       int64             v5+
//	    aborted_transactions   nullable array of:
//	      producer_id          int64
//	      first_offset         int64
//	      <tags>                                 v12+
//	    preferred_read_replica int32             v11+
//	    records                nullable bytes    <- the file range
//	    <tags>                                   v12+: 0 diverging_epoch
//	                                             {epoch int32, end_offset int64},
//	                                             1 current_leader {leader_id int32,
//	                                             leader_epoch int32}, 2 snapshot_id
//	                                             {end_offset int64, epoch int32},
//	                                             each sent only when not its
//	                                             default (-1s)
//	  <tags>                                     v12+ (none)
//	<tags>                                       v12+: 0 node_endpoints, v16+,
//	                                             when not empty: array of
//	                                             {node_id int32, host string,
//	                                             port int32, rack nullable
//	                                             string, <tags>}

// fetchResp is a Fetch response to encode. It is built by the Fetch
// handler and owned by the request until its network response is done.
type fetchResp struct {
	version    int16
	throttleMs int32
	errorCode  int16
	sessionID  int32
	topics     []fetchRespTopic
	nodes      []fetchRespNode // v16+ node_endpoints
}

type fetchRespTopic struct {
	name  string   // < v13
	id    [16]byte // v13+
	parts []fetchRespPartition
}

// epochEndOffset is diverging_epoch; -1s are its default (not sent).
type epochEndOffset struct {
	epoch     int32
	endOffset int64
}

// leaderIDEpoch is current_leader; -1s are its default (not sent).
type leaderIDEpoch struct {
	leaderID    int32
	leaderEpoch int32
}

// snapshotID is snapshot_id; -1s are its default (not sent).
type snapshotID struct {
	endOffset int64
	epoch     int32
}

type abortedTxn struct {
	producerID  int64
	firstOffset int64
}

type fetchRespPartition struct {
	index                int32
	errorCode            int16
	highWatermark        int64
	lastStableOffset     int64
	logStartOffset       int64
	divergingEpoch       epochEndOffset
	currentLeader        leaderIDEpoch
	snapshotID           snapshotID
	aborted              []abortedTxn // nil: null (read_uncommitted, errors)
	preferredReadReplica int32

	// The records: inline bytes (tests), or fileSize bytes of file from
	// filePos. Neither is an empty (not null) records field, as Kafka
	// sends for a partition with nothing to return.
	records  []byte
	file     *os.File
	filePos  int64
	fileSize int64
}

type fetchRespNode struct {
	id   int32
	host string
	port int32
	rack *string
}

var (
	noDivergingEpoch = epochEndOffset{-1, -1}
	noCurrentLeader  = leaderIDEpoch{-1, -1}
	noSnapshotID     = snapshotID{-1, -1}
)

// newFetchRespPartition returns a partition answer with Kafka's defaults.
func newFetchRespPartition(index int32, errorCode int16) fetchRespPartition {
	return fetchRespPartition{
		index: index, errorCode: errorCode,
		highWatermark: -1, lastStableOffset: -1, logStartOffset: -1,
		divergingEpoch: noDivergingEpoch, currentLeader: noCurrentLeader, snapshotID: noSnapshotID,
		preferredReadReplica: -1,
	}
}

func (p *fetchRespPartition) recordsLen() int64 {
	if p.file != nil {
		return p.fileSize
	}
	return int64(len(p.records))
}

// fetchPiece is a run of response body bytes: b, or n bytes of file at
// pos.
type fetchPiece struct {
	b    []byte
	file *os.File
	pos  int64
	n    int64
}

// fetchEncoder accumulates a body as byte chunks and file ranges. Bytes
// go to buf; a file range closes the chunk so far. Chunks handed out are
// never written again: later bytes are only appended beyond them.
type fetchEncoder struct {
	buf    []byte
	mark   int // start of the chunk being written
	pieces []fetchPiece
	size   int64
}

func (e *fetchEncoder) flush() {
	if len(e.buf) > e.mark {
		e.pieces = append(e.pieces, fetchPiece{b: e.buf[e.mark:len(e.buf):len(e.buf)]})
		e.size += int64(len(e.buf) - e.mark)
		e.mark = len(e.buf)
	}
}

func (e *fetchEncoder) file(f *os.File, pos, n int64) {
	e.flush()
	e.pieces = append(e.pieces, fetchPiece{file: f, pos: pos, n: n})
	e.size += n
}

func (e *fetchEncoder) i8(v int8)   { e.buf = append(e.buf, byte(v)) }
func (e *fetchEncoder) i16(v int16) { e.buf = binary.BigEndian.AppendUint16(e.buf, uint16(v)) }
func (e *fetchEncoder) i32(v int32) { e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(v)) }
func (e *fetchEncoder) i64(v int64) { e.buf = binary.BigEndian.AppendUint64(e.buf, uint64(v)) }
func (e *fetchEncoder) uvarint(v uint64) {
	e.buf = binary.AppendUvarint(e.buf, v)
}

// arrayLen writes an array length: compact (n+1, 0 for null) when
// flexible, else int32 (-1 for null).
func (e *fetchEncoder) arrayLen(n int, null, flexible bool) {
	switch {
	case flexible && null:
		e.uvarint(0)
	case flexible:
		e.uvarint(uint64(n) + 1)
	case null:
		e.i32(-1)
	default:
		e.i32(int32(n))
	}
}

func (e *fetchEncoder) str(s string, flexible bool) {
	if flexible {
		e.uvarint(uint64(len(s)) + 1)
	} else {
		e.i16(int16(len(s)))
	}
	e.buf = append(e.buf, s...)
}

func (e *fetchEncoder) nullableStr(s *string, flexible bool) {
	if s != nil {
		e.str(*s, flexible)
		return
	}
	if flexible {
		e.uvarint(0)
	} else {
		e.i16(-1)
	}
}

// encode appends r's body to e.
func (r *fetchResp) encode(e *fetchEncoder) {
	v := r.version
	flex := v >= 12
	e.i32(r.throttleMs)
	if v >= 7 {
		e.i16(r.errorCode)
		e.i32(r.sessionID)
	}
	e.arrayLen(len(r.topics), false, flex)
	for ti := range r.topics {
		t := &r.topics[ti]
		if v >= 13 {
			e.buf = append(e.buf, t.id[:]...)
		} else {
			e.str(t.name, flex)
		}
		e.arrayLen(len(t.parts), false, flex)
		for pi := range t.parts {
			encodeFetchPartition(e, &t.parts[pi], v)
		}
		if flex {
			e.uvarint(0) // topic tags
		}
	}
	if !flex {
		return
	}
	if v >= 16 && len(r.nodes) > 0 {
		e.uvarint(1)
		e.uvarint(0) // node_endpoints
		// The field's size precedes it: encode it apart first.
		sub := fetchEncoder{buf: make([]byte, 0, 32*len(r.nodes))}
		sub.arrayLen(len(r.nodes), false, true)
		for _, n := range r.nodes {
			sub.i32(n.id)
			sub.str(n.host, true)
			sub.i32(n.port)
			sub.nullableStr(n.rack, true)
			sub.uvarint(0)
		}
		e.uvarint(uint64(len(sub.buf)))
		e.buf = append(e.buf, sub.buf...)
		return
	}
	e.uvarint(0)
}

func encodeFetchPartition(e *fetchEncoder, p *fetchRespPartition, v int16) {
	flex := v >= 12
	e.i32(p.index)
	e.i16(p.errorCode)
	e.i64(p.highWatermark)
	e.i64(p.lastStableOffset)
	if v >= 5 {
		e.i64(p.logStartOffset)
	}
	e.arrayLen(len(p.aborted), p.aborted == nil, flex)
	for _, a := range p.aborted {
		e.i64(a.producerID)
		e.i64(a.firstOffset)
		if flex {
			e.uvarint(0)
		}
	}
	if v >= 11 {
		e.i32(p.preferredReadReplica)
	}
	n := p.recordsLen()
	if flex {
		e.uvarint(uint64(n) + 1)
	} else {
		e.i32(int32(n))
	}
	if p.file != nil {
		if n > 0 {
			e.file(p.file, p.filePos, n)
		}
	} else {
		e.buf = append(e.buf, p.records...)
	}
	if !flex {
		return
	}
	tags := 0
	if p.divergingEpoch != noDivergingEpoch {
		tags++
	}
	if p.currentLeader != noCurrentLeader {
		tags++
	}
	if p.snapshotID != noSnapshotID {
		tags++
	}
	e.uvarint(uint64(tags))
	if p.divergingEpoch != noDivergingEpoch {
		e.uvarint(0)
		e.uvarint(4 + 8 + 1)
		e.i32(p.divergingEpoch.epoch)
		e.i64(p.divergingEpoch.endOffset)
		e.uvarint(0)
	}
	if p.currentLeader != noCurrentLeader {
		e.uvarint(1)
		e.uvarint(4 + 4 + 1)
		e.i32(p.currentLeader.leaderID)
		e.i32(p.currentLeader.leaderEpoch)
		e.uvarint(0)
	}
	if p.snapshotID != noSnapshotID {
		e.uvarint(2)
		e.uvarint(8 + 4 + 1)
		e.i64(p.snapshotID.endOffset)
		e.i32(p.snapshotID.epoch)
		e.uvarint(0)
	}
}

// fetchEncoders recycles encoders (their byte buffer and piece list): a
// consumer polling in a loop needs one per response, sized like the last.
var fetchEncoders = sync.Pool{New: func() any { return &fetchEncoder{buf: make([]byte, 0, 4096)} }}

// maxPooledFetchBuf keeps a rare huge response (thousands of partitions)
// from pinning its buffer in the pool.
const maxPooledFetchBuf = 1 << 20

// encodeFetchResponse encodes r into a network response whose record
// bytes are file ranges. Its Done returns the pooled buffer and then calls
// release (if not nil), when the network layer no longer needs the bytes
// or files. An error (a file range the network layer refuses) leaves
// nothing to release but release itself, which the caller still owns.
func encodeFetchResponse(r *fetchResp, release func()) (*network.Response, error) {
	e := fetchEncoders.Get().(*fetchEncoder)
	e.buf, e.mark, e.pieces, e.size = e.buf[:0], 0, e.pieces[:0], 0
	r.encode(e)
	e.flush()
	resp := &network.Response{}
	for _, pc := range e.pieces {
		if pc.file == nil {
			resp.Append(pc.b)
			continue
		}
		if err := resp.AppendFile(pc.file, pc.pos, pc.n); err != nil {
			fetchEncoders.Put(e)
			return nil, fmt.Errorf("fetch response: %w", err)
		}
	}
	// The pieces are in resp now; the encoder's buffer stays in use
	// until the response is written.
	clear(e.pieces)
	resp.Done = func() {
		if cap(e.buf) <= maxPooledFetchBuf {
			fetchEncoders.Put(e)
		}
		if release != nil {
			release()
		}
	}
	return resp, nil
}
