package storage

import (
	"encoding/binary"
	"fmt"

	"github.com/samsa-streaming/samsa/internal/record"
)

// Byte positions of the RecordBatch v2 header fields the cleaner writes
// (see internal/record's doc for the layout).
const (
	cbLength        = 8
	cbAttributes    = 21
	cbBaseTimestamp = 27
	cbMaxTimestamp  = 35
	cbRecordCount   = 57
)

// batchRetention is what the cleaner does with a batch as a whole
// (Kafka's RecordFilter.BatchRetention).
type batchRetention int8

const (
	// deleteEmpty keeps the retained records; a batch left empty goes.
	deleteEmpty batchRetention = iota
	// retainEmpty keeps the retained records and, if none is, an empty
	// batch header: the last batch of an active producer, whose sequence
	// numbers must survive so that its next append is in sequence.
	retainEmpty
	// deleteBatch drops the batch whole (aborted data, expired markers).
	deleteBatch
)

// filterResult describes what appendFilteredBatch wrote.
type filterResult struct {
	written         bool // something (the batch, rebuilt or not, or an empty header) was appended
	retained        int  // records kept
	removed         int  // records dropped
	tombstones      int  // retained tombstones (null values)
	rewritten       bool // the batch was re-encoded rather than copied
	deleteHorizonMs int64
}

// appendFilteredBatch appends to dst what the cleaner keeps of b (Kafka's
// MemoryRecords.filterTo for one batch): keep(r) decides per record;
// retention decides for the batch as a whole; setHorizon asks that a
// retained batch carrying tombstones or a transaction marker be stamped
// with the delete horizon horizonMs (KIP-534) if it has none yet.
//
// A batch whose records are all kept and that needs no horizon is copied
// byte for byte. Otherwise it is re-encoded as Kafka's builder does: same
// base offset, last offset delta (so the last sequence survives), producer
// id, epoch, base sequence, leader epoch, attributes and codec (records
// recompressed with it); the surviving records keep their offsets and
// timestamps, encoded as deltas from the new base timestamp, which is the
// delete horizon when the batch has one (attribute bit 6) and the first
// retained record's timestamp otherwise; the max timestamp is the largest
// retained one (LogAppendTime batches keep theirs). A batch left with no
// record is dropped, or written as an empty header under retainEmpty.
// The CRC is recomputed. scratch is a reusable buffer; the grown one is
// returned.
func appendFilteredBatch(dst, scratch []byte, b record.Batch, retention batchRetention,
	keep func(r *record.Record) bool, setHorizon func(tombstones int) bool, horizonMs int64,
) (out, scratchOut []byte, res filterResult, err error) {
	if retention == deleteBatch {
		res.removed = int(b.NumRecords())
		return dst, scratch, res, nil
	}
	attrs := b.Attributes()
	logAppend := attrs.LogAppendTime()
	hasHorizon := attrs.HasDeleteHorizon()
	res.deleteHorizonMs = -1
	if hasHorizon {
		res.deleteHorizonMs = b.BaseTimestamp()
	}
	// First pass: decide which records stay (and count tombstones), so
	// that the base timestamp is known before anything is encoded.
	kept := make([]bool, 0, max(int(b.NumRecords()), 0))
	err = b.Records(func(r *record.Record) error {
		k := keep(r)
		kept = append(kept, k)
		if k {
			res.retained++
			if r.Value == nil {
				res.tombstones++
			}
		} else {
			res.removed++
		}
		return nil
	})
	if err != nil {
		return dst, scratch, res, err
	}
	needHorizon := !hasHorizon && res.retained > 0 && setHorizon(res.tombstones)
	if res.retained == 0 {
		if retention != retainEmpty {
			return dst, scratch, res, nil
		}
		if b.NumRecords() == 0 {
			res.written = true
			return append(dst, b...), scratch, res, nil
		}
		res.written, res.rewritten = true, true
		return appendEmptyBatch(dst, b), scratch, res, nil
	}
	if res.removed == 0 && !needHorizon {
		res.written = true
		return append(dst, b...), scratch, res, nil
	}
	baseTs := int64(record.NoTimestamp)
	if hasHorizon {
		baseTs = b.BaseTimestamp()
	} else if needHorizon {
		baseTs = horizonMs
		res.deleteHorizonMs = horizonMs
		attrs = attrs.WithDeleteHorizon(true)
	}
	body := scratch[:0]
	maxTs := int64(record.NoTimestamp)
	var rec []byte
	i, count := 0, int32(0)
	err = b.Records(func(r *record.Record) error {
		k := kept[i]
		i++
		if !k {
			return nil
		}
		ts := r.Timestamp
		if logAppend {
			// Readers take every record's timestamp from the max
			// timestamp; keep the stored delta at zero.
			ts = b.MaxTimestamp()
		}
		if baseTs == record.NoTimestamp {
			baseTs = ts
		}
		maxTs = max(maxTs, ts)
		rec = rec[:0]
		rec = append(rec, byte(r.Attributes))
		rec = record.AppendVarlong(rec, ts-baseTs)
		rec = record.AppendVarint(rec, int32(r.Offset-b.BaseOffset()))
		rec = appendCleanerVarBytes(rec, r.Key)
		rec = appendCleanerVarBytes(rec, r.Value)
		rec = record.AppendVarint(rec, int32(len(r.Headers)))
		for _, h := range r.Headers {
			rec = appendCleanerVarBytes(rec, []byte(h.Key))
			rec = appendCleanerVarBytes(rec, h.Value)
		}
		body = record.AppendVarint(body, int32(len(rec)))
		body = append(body, rec...)
		count++
		return nil
	})
	if err != nil {
		return dst, body, res, err
	}
	if logAppend {
		maxTs = b.MaxTimestamp()
	}
	start := len(dst)
	dst = append(dst, b[:record.HeaderSize]...)
	dst, err = record.AppendCompressed(dst, attrs.Codec(), body)
	if err != nil {
		return dst[:start], body, res, fmt.Errorf("recompress batch at %d: %w", b.BaseOffset(), err)
	}
	nb := dst[start:]
	binary.BigEndian.PutUint32(nb[cbLength:], uint32(len(nb)-record.LogOverhead))
	binary.BigEndian.PutUint16(nb[cbAttributes:], uint16(attrs))
	binary.BigEndian.PutUint64(nb[cbBaseTimestamp:], uint64(baseTs))
	binary.BigEndian.PutUint64(nb[cbMaxTimestamp:], uint64(maxTs))
	binary.BigEndian.PutUint32(nb[cbRecordCount:], uint32(count))
	record.Batch(nb).UpdateCRC()
	res.written, res.rewritten = true, true
	return dst, body, res, nil
}

// appendEmptyBatch appends the header of b with no records (Kafka's
// DefaultRecordBatch.writeEmptyHeader): offsets, producer fields, leader
// epoch, transactional and control flags kept, codec none, no delete
// horizon, both timestamps b's max timestamp.
func appendEmptyBatch(dst []byte, b record.Batch) []byte {
	start := len(dst)
	dst = append(dst, b[:record.HeaderSize]...)
	nb := dst[start:]
	old := b.Attributes()
	attrs := record.Attributes(0).WithLogAppendTime(old.LogAppendTime()).
		WithTransactional(old.Transactional()).WithControl(old.Control())
	binary.BigEndian.PutUint32(nb[cbLength:], uint32(record.HeaderSize-record.LogOverhead))
	binary.BigEndian.PutUint16(nb[cbAttributes:], uint16(attrs))
	binary.BigEndian.PutUint64(nb[cbBaseTimestamp:], uint64(b.MaxTimestamp()))
	binary.BigEndian.PutUint32(nb[cbRecordCount:], 0)
	record.Batch(nb).UpdateCRC()
	return dst
}

// appendCleanerVarBytes appends p as a varint length and bytes, -1 for nil.
func appendCleanerVarBytes(dst, p []byte) []byte {
	if p == nil {
		return record.AppendVarint(dst, -1)
	}
	dst = record.AppendVarint(dst, int32(len(p)))
	return append(dst, p...)
}
