package storage

import (
	"github.com/samsa-streaming/samsa/internal/record"
)

// txnRebuilder regenerates transaction index entries while recovery scans
// a contiguous run of segments (Kafka rebuilds them from producer state
// during LogSegment.recover). It follows each producer's open transaction
// from its first transactional batch to its marker and, for an ABORT
// marker, appends the entry to the index of the segment holding the
// marker.
//
// Kafka seeds this from producer-state snapshots. Until snapshots exist
// here, state from before the scan is recovered on demand: when an abort's
// transaction may have started before the scan, findStart walks older
// segments' batch headers backwards for that producer. The last stable
// offset stored with a rebuilt entry must never be above the true one (a
// fetch stops searching later segments at an entry whose LSO reaches its
// range); when the scan did not start at the log's first segment,
// transactions begun earlier are unknown, so the entry gets the first
// segment's base offset, which is always low enough and merely makes
// read_committed fetches look at a few more index files.
type txnRebuilder struct {
	complete  bool  // the scan started at the first segment: no unseen earlier state
	floorLSO  int64 // LSO to record when !complete
	ongoing   map[int64]txnStart
	closed    map[int64]bool // producers whose marker the scan has seen
	findStart func(pid, candidate int64) (int64, error)
}

type txnStart struct {
	first        int64
	maybeEarlier bool // the transaction may have begun before the scan
}

func newTxnRebuilder(complete bool, floorLSO int64, findStart func(pid, candidate int64) (int64, error)) *txnRebuilder {
	return &txnRebuilder{
		complete:  complete,
		floorLSO:  floorLSO,
		ongoing:   make(map[int64]txnStart),
		closed:    make(map[int64]bool),
		findStart: findStart,
	}
}

// observe folds one valid batch of segment s into the state.
func (t *txnRebuilder) observe(b record.Batch, s *segment) error {
	pid := b.ProducerID()
	attrs := b.Attributes()
	if pid < 0 || !attrs.Transactional() {
		return nil
	}
	if !attrs.Control() {
		if _, open := t.ongoing[pid]; !open {
			t.ongoing[pid] = txnStart{first: b.BaseOffset(), maybeEarlier: !t.complete && !t.closed[pid]}
		}
		return nil
	}
	st, open := t.ongoing[pid]
	delete(t.ongoing, pid)
	known := t.closed[pid]
	t.closed[pid] = true
	m, err := b.EndTxnMarker()
	if err != nil || m.Type != record.ControlAbort {
		return nil // a commit, or a control record that is not a marker
	}
	first := b.BaseOffset() // Kafka: a marker with no open transaction spans only itself
	switch {
	case open && !st.maybeEarlier:
		first = st.first
	case open:
		if first, err = t.findStart(pid, st.first); err != nil {
			return err
		}
	case !known && !t.complete:
		if first, err = t.findStart(pid, first); err != nil {
			return err
		}
	}
	lso := b.LastOffset() + 1
	for other, o := range t.ongoing {
		if other != pid && o.first < lso {
			lso = o.first
		}
	}
	if !t.complete {
		lso = min(lso, t.floorLSO)
	}
	return s.txnIdx.append(AbortedTxn{ProducerID: pid, FirstOffset: first, LastOffset: b.LastOffset(), LastStableOffset: lso})
}

// findTxnStartIn walks segs (older than the recovery scan, oldest first)
// backwards for producer pid's transaction that was still open when the
// scan began, whose earliest known batch is at candidate: the answer is
// the first transactional data batch after pid's last marker.
func findTxnStartIn(segs []*segment, pid, candidate int64) (int64, error) {
	type seen struct {
		offset  int64
		control bool
	}
	var batches []seen
	for i := len(segs) - 1; i >= 0; i-- {
		s := segs[i]
		batches = batches[:0]
		size := s.size.Load()
		r := newHeaderReader(s.log, size)
		for pos := int64(0); pos < size; {
			h, err := r.at(pos)
			if err != nil {
				r.release()
				return 0, err
			}
			if h.ProducerID() == pid && h.Attributes().Transactional() {
				batches = append(batches, seen{h.BaseOffset(), h.Attributes().Control()})
			}
			pos += batchSize(h)
		}
		r.release()
		for j := len(batches) - 1; j >= 0; j-- {
			if batches[j].control {
				return candidate, nil
			}
			candidate = batches[j].offset
		}
	}
	return candidate, nil
}
