//go:build unix

package storage

// Crash tests: a child process (this test binary, re-executed with
// crashChildEnv set) appends to a Manager-owned log and acknowledges what
// Flush made durable; the parent SIGKILLs it at random moments, optionally
// simulates a power loss on top (the unsynced tail of the log damaged),
// recovers the log and checks every invariant the design promises:
//
//   - every acknowledged batch is there, byte for byte;
//   - offsets are contiguous from 0 and every batch passes Verify, so
//     nothing after a gap or a torn batch is served;
//   - every batch is exactly one the child appended: the child derives a
//     batch's content from (seed, base offset), so the parent rebuilds the
//     expected bytes (compressed with the same codec) and compares;
//   - batches from before the kill keep their bytes, batches from the
//     killed run carry its leader epoch, and the leader epoch cache agrees
//     with the batches;
//   - the next child recovers to the very log end offset the parent saw.
//
// Some children also truncate their log (Manager.TruncateTo, as a
// follower diverging from its leader would) before a flush, to a batch
// of theirs that nothing acknowledged yet, and append again: a batch's
// content derives from its base offset alone, so the model holds, and
// kills land in the middle of truncations and of the checkpoint writes
// around them.
//
// Then the next cycle appends to the recovered log.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/samsa-streaming/samsa/internal/record"
)

const crashChildEnv = "SAMSA_STORAGE_CRASH_CHILD"

var (
	crashTP      = TopicPartition{Topic: "crash.test-topic", Partition: 7}
	crashTopicID = [16]byte{0xc4, 0xa5, 0x11}
)

// crashChildParams is what the parent tells a child, as JSON in
// crashChildEnv.
type crashChildParams struct {
	Dir          string
	Seed         int64
	Epoch        int32
	SegmentBytes int32
	MaxBytes     int // stop appending after this many bytes and wait to be killed
	MaxUnflushed int // appends between flushes: 1..MaxUnflushed
	// AnnounceRolls makes the child print "P" right before an append
	// that will roll the segment, so the parent can kill it mid-roll.
	AnnounceRolls bool
	// TruncateOdds, if positive, makes one flush in TruncateOdds (on
	// average) be preceded by a truncation, announced "T x", to the base
	// offset x of a batch of this run that no flush acknowledged yet.
	TruncateOdds int
}

// init turns the test binary into the crash child when the parent asks
// for one. It runs before TestMain, so the child never runs tests.
func init() {
	if spec := os.Getenv(crashChildEnv); spec != "" {
		os.Exit(crashChild(spec))
	}
}

func crashLogConfig(segmentBytes int32) LogConfig {
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = segmentBytes
	cfg.SegmentIndexBytes = 4096 // a full index rolls too
	cfg.IndexIntervalBytes = 512
	cfg.RetentionMs = -1
	cfg.FileDeleteDelayMs = 0
	return cfg
}

// crashBatch returns the batch the child appends at base: its records,
// sizes, keys and codec derive from (seed, base) alone.
func crashBatch(seed, base int64) record.Batch {
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(base)))
	opts := record.DefaultBuilderOptions()
	opts.Codec = []record.Codec{record.CodecNone, record.CodecGzip, record.CodecSnappy, record.CodecLz4, record.CodecZstd}[rng.IntN(5)]
	b := record.NewBuilder(opts)
	n := 1 + rng.IntN(25)
	for i := range n {
		key := fmt.Appendf(nil, "key-%d", rng.IntN(50))
		value := make([]byte, rng.IntN(150))
		if rng.IntN(2) == 0 {
			for j := range value {
				value[j] = byte(rng.Uint32())
			}
		} else {
			copy(value, bytes.Repeat([]byte("samsa "), len(value)/6+1))
		}
		var headers []record.Header
		if rng.IntN(4) == 0 {
			headers = append(headers, record.Header{Key: "h", Value: key})
		}
		b.Add(1_700_000_000_000+base*3+int64(i), key, value, headers...)
	}
	batch, err := b.Build()
	if err != nil {
		panic(err) // test-only: the builder never fails on these inputs
	}
	return batch
}

// crashChild is the child process: open, report the recovered log end
// offset ("R n"), append and flush, acknowledging each flush ("A n":
// every offset below n is durable), and report "D" when MaxBytes are in.
// It exits by itself only on an error (or after a watchdog delay, should
// the parent be gone).
func crashChild(spec string) int {
	var p crashChildParams
	if err := json.Unmarshal([]byte(spec), &p); err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 2
	}
	fail := func(what string, err error) int {
		fmt.Fprintf(os.Stderr, "crash child: %s: %v\n", what, err)
		return 2
	}
	m, err := NewManager(ManagerConfig{
		Dirs:                            []string{p.Dir},
		DefaultConfig:                   crashLogConfig(p.SegmentBytes),
		RecoveryCheckpointInterval:      7 * time.Millisecond, // killed mid-write too
		HighWatermarkCheckpointInterval: 5 * time.Millisecond,
		StartOffsetCheckpointInterval:   -1,
		RetentionCheckInterval:          -1,
		FlushCheckInterval:              -1,
	})
	if err != nil {
		return fail("NewManager", err)
	}
	if err := m.Open(context.Background()); err != nil {
		return fail("Open", err)
	}
	m.Start()
	l, err := m.GetOrCreate(crashTP, LogConfig{}, crashTopicID)
	if err != nil {
		return fail("GetOrCreate", err)
	}
	out := os.Stdout
	// The active segment's size, to foresee rolls (no preallocation: the
	// file holds just the data).
	bases := l.SegmentBaseOffsets()
	activeBase := bases[len(bases)-1]
	var active int64
	if st, err := os.Stat(filepath.Join(l.Dir(), segmentFileName(activeBase, logSuffix))); err == nil {
		active = st.Size()
	}
	fmt.Fprintf(out, "R %d\n", l.LogEndOffset())
	rng := rand.New(rand.NewPCG(uint64(p.Seed), uint64(p.Epoch)))
	written := 0
	untilFlush := 1 + rng.IntN(p.MaxUnflushed)
	// Base offsets of this run's batches above the last flush: what may be
	// truncated (earlier runs' batches are the parent's model).
	var unacked []int64
	for written < p.MaxBytes {
		unacked = append(unacked, l.LogEndOffset())
		b := crashBatch(p.Seed, l.LogEndOffset())
		if p.AnnounceRolls && active+int64(len(b)) > int64(p.SegmentBytes) {
			fmt.Fprintln(out, "P")
		}
		if _, err := l.Append(b, AppendOptions{LeaderEpoch: p.Epoch, Origin: OriginClient}); err != nil {
			return fail("Append", err)
		}
		if bases := l.SegmentBaseOffsets(); bases[len(bases)-1] != activeBase {
			activeBase, active = bases[len(bases)-1], int64(len(b))
		} else {
			active += int64(len(b))
		}
		l.SetHighWatermark(l.LogEndOffset())
		written += len(b)
		if untilFlush--; untilFlush == 0 || written >= p.MaxBytes {
			if p.TruncateOdds > 0 && rng.IntN(p.TruncateOdds) == 0 {
				x := unacked[rng.IntN(len(unacked))]
				fmt.Fprintf(out, "T %d\n", x)
				if err := m.TruncateTo(crashTP, x); err != nil {
					return fail("TruncateTo", err)
				}
				unacked = unacked[:slices.Index(unacked, x)]
				bases := l.SegmentBaseOffsets()
				activeBase, active = bases[len(bases)-1], 0
				if st, err := os.Stat(filepath.Join(l.Dir(), segmentFileName(activeBase, logSuffix))); err == nil {
					active = st.Size()
				}
			}
			leo := l.LogEndOffset()
			if err := l.Flush(); err != nil {
				return fail("Flush", err)
			}
			fmt.Fprintf(out, "A %d\n", leo)
			unacked = unacked[:0]
			untilFlush = 1 + rng.IntN(p.MaxUnflushed)
		}
	}
	fmt.Fprintln(out, "D")
	time.Sleep(time.Minute) // the parent kills us long before
	return 3
}

// crashHarness is the parent's model of the log.
type crashHarness struct {
	t     *testing.T
	dir   string
	seed  int64
	rng   *rand.Rand
	known map[int64][]byte // base offset -> stored bytes, for every batch seen
	acked int64            // every offset below was acknowledged durable
	leo   int64            // log end offset after the last recovery

	// figures for the log
	cycles, acks, readyKills, earlyKills, lateKills, rollKills int
	emptyActive                                                int // kills that left a just-rolled, empty segment
	gaps                                                       int // power cuts that lost a segment in the middle
	truncations                                                int // truncations the children announced
	truncated, damaged                                         int64
	segments                                                   int
}

func newCrashHarness(t *testing.T, seed int64) *crashHarness {
	return &crashHarness{t: t, dir: t.TempDir(), seed: seed, rng: rand.New(rand.NewPCG(uint64(seed), 99)), known: map[int64][]byte{}}
}

// killPlan says when to kill the child: after delay from its start, or
// (if afterAcks > 0) delay after its afterAcks-th acknowledgement, or (if
// afterReady) delay after it reported its recovered offset, or (if
// atRoll > 0) delay after it announced its atRoll-th segment roll.
type killPlan struct {
	delay      time.Duration
	afterAcks  int
	afterReady bool
	atRoll     int
}

func (h *crashHarness) plan() killPlan {
	switch r := h.rng.IntN(10); {
	case r < 2:
		h.rollKills++
		return killPlan{atRoll: 1 + h.rng.IntN(3), delay: time.Duration(h.rng.IntN(400)) * time.Microsecond}
	case r < 6:
		h.lateKills++
		return killPlan{afterAcks: 1 + h.rng.IntN(3), delay: time.Duration(h.rng.IntN(30_000)) * time.Microsecond}
	case r < 8:
		h.readyKills++
		return killPlan{afterReady: true, delay: time.Duration(h.rng.IntN(15_000)) * time.Microsecond}
	default:
		h.earlyKills++ // often while the child is still starting or recovering
		return killPlan{delay: time.Duration(h.rng.IntN(250)) * time.Millisecond}
	}
}

// runChild runs one child until plan says to kill it, then SIGKILLs it.
func (h *crashHarness) runChild(epoch int32, plan killPlan) {
	t := h.t
	segBytes := int32(128 << 10)
	if plan.atRoll > 0 || h.rng.IntN(3) == 0 {
		segBytes = int32(6<<10 + h.rng.IntN(10<<10)) // a roll every few batches
	}
	spec, _ := json.Marshal(crashChildParams{
		Dir: h.dir, Seed: h.seed, Epoch: epoch, SegmentBytes: segBytes,
		MaxBytes: 64<<10 + h.rng.IntN(512<<10), MaxUnflushed: 1 + h.rng.IntN(40),
		AnnounceRolls: plan.atRoll > 0, TruncateOdds: []int{0, 2, 5}[h.rng.IntN(3)],
	})
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), crashChildEnv+"="+string(spec))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() { // ends at EOF, when the child is dead
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()

	var timer <-chan time.Time
	if !plan.afterReady && plan.afterAcks == 0 && plan.atRoll == 0 {
		timer = time.After(plan.delay)
	}
	watchdog := time.After(30 * time.Second)
	acks, rolls := 0, 0
	handle := func(line string) {
		kind, arg, _ := strings.Cut(line, " ")
		switch kind {
		case "R":
			n, _ := strconv.ParseInt(arg, 10, 64)
			if n != h.leo {
				t.Errorf("epoch %d: child recovered to %d, the parent saw %d", epoch, n, h.leo)
			}
			if plan.afterReady {
				timer = time.After(plan.delay)
			}
		case "A":
			n, _ := strconv.ParseInt(arg, 10, 64)
			h.acked = max(h.acked, n)
			h.acks++
			if acks++; acks == plan.afterAcks {
				timer = time.After(plan.delay)
			}
		case "T":
			h.truncations++
		case "P":
			if rolls++; rolls == plan.atRoll {
				timer = time.After(plan.delay)
			}
		case "D":
			if timer == nil {
				timer = time.After(0)
			}
		default:
			t.Errorf("child said %q", line)
		}
	}
wait:
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				break wait // died by itself
			}
			handle(line)
		case <-timer:
			break wait
		case <-watchdog:
			t.Error("child never reached its kill point")
			break wait
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	for line := range lines {
		handle(line) // acknowledgements written before the kill count
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("epoch %d: child ended with %v, not SIGKILL; stderr:\n%s", epoch, err, stderr.String())
	}
	h.cycles++
	if h.killedAfterRoll() {
		h.emptyActive++
	}
}

// verify recovers the log (through a Manager, like a broker) and checks
// it against the model. It leaves the dir either cleanly closed or, like
// another crash, abandoned.
func (h *crashHarness) verify(epoch int32) {
	t := h.t
	m, err := NewManager(ManagerConfig{Dirs: []string{h.dir}, DefaultConfig: crashLogConfig(64 << 10)})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Open(context.Background()); err != nil {
		m.Close()
		t.Fatalf("epoch %d: recovery failed: %v", epoch, err)
	}
	h.truncated += m.LoadStats().BytesTruncated
	l, ok := m.Get(crashTP)
	if !ok {
		if h.acked > 0 {
			t.Fatalf("epoch %d: log gone, %d offsets acknowledged", epoch, h.acked)
		}
		m.Close()
		return // killed before the partition existed
	}
	if l.LogStartOffset() != 0 {
		t.Fatalf("epoch %d: log start offset %d", epoch, l.LogStartOffset())
	}
	prevLEO := h.leo
	next := int64(0)
	var epochs []EpochEntry
	for _, b := range readAllBatches(t, l) { // every batch passes Verify
		base := b.BaseOffset()
		if base != next {
			t.Fatalf("epoch %d: batch at %d after offset %d: a gap was served", epoch, base, next-1)
		}
		e := b.PartitionLeaderEpoch()
		if base < prevLEO {
			if !bytes.Equal(b, h.known[base]) {
				t.Fatalf("epoch %d: batch %d changed since the last recovery (acknowledged up to %d)", epoch, base, h.acked)
			}
		} else {
			if e != epoch {
				t.Fatalf("epoch %d: new batch %d carries epoch %d", epoch, base, e)
			}
			want := crashBatch(h.seed, base)
			want.SetBaseOffset(base)
			want.SetPartitionLeaderEpoch(e)
			if !bytes.Equal(b, want) {
				t.Fatalf("epoch %d: batch %d (%d bytes) is not what the child appended (%d bytes)", epoch, base, len(b), len(want))
			}
			h.known[base] = slices.Clone(b)
		}
		if len(epochs) == 0 || epochs[len(epochs)-1].Epoch != e {
			if len(epochs) > 0 && epochs[len(epochs)-1].Epoch > e {
				t.Fatalf("epoch %d: leader epoch goes down at %d", epoch, base)
			}
			epochs = append(epochs, EpochEntry{Epoch: e, StartOffset: base})
		}
		next = b.NextOffset()
	}
	leo := l.LogEndOffset()
	if next != leo {
		t.Fatalf("epoch %d: batches end at %d, log end offset %d", epoch, next, leo)
	}
	if leo < h.acked {
		t.Fatalf("epoch %d: acknowledged offsets lost: recovered to %d, %d acknowledged", epoch, leo, h.acked)
	}
	if got := l.LeaderEpochs(); !slices.Equal(got, epochs) {
		t.Fatalf("epoch %d: leader epoch cache %v, batches say %v", epoch, got, epochs)
	}
	if hw := l.HighWatermark(); hw > leo {
		t.Fatalf("epoch %d: high watermark %d above log end %d", epoch, hw, leo)
	}
	for base := range h.known {
		if base >= leo {
			delete(h.known, base) // never acknowledged, lost: may be rewritten
		}
	}
	h.leo = leo
	h.segments = l.NumSegments()
	if h.rng.IntN(3) == 0 {
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if h.rng.IntN(3) == 0 {
			// A clean close without its marker: the next open recovers
			// data that is all intact.
			os.Remove(filepath.Join(h.dir, cleanShutdownFile))
		}
	} else {
		crashManager(t, m)
	}
}

// powerLoss damages what a power cut may damage after a kill: anything
// past the durable point (the larger of the acknowledged offset and the
// checkpointed recovery point). Segments created after it may vanish (a
// suffix of them, as unsynced directory entries go), the .log holding the
// durable point may lose or garble its tail, and indexes of the segments
// recovery rescans may be cut or garbled. Nothing durable is touched.
func (h *crashHarness) powerLoss() {
	t := h.t
	if _, err := os.Stat(filepath.Join(h.dir, cleanShutdownFile)); err == nil {
		return // killed before Open removed the marker: everything is fsynced
	}
	bound := h.acked
	if rp, err := readOffsetCheckpoint(filepath.Join(h.dir, recoveryPointCheckpointFile)); err == nil {
		bound = max(bound, rp[crashTP])
	}
	pdir := filepath.Join(h.dir, crashTP.String())
	entries, err := os.ReadDir(pdir)
	if err != nil {
		return // the partition never got created
	}
	var bases []int64
	for _, e := range entries {
		if base, suffix, ok := parseSegmentFileName(e.Name()); ok && suffix == logSuffix {
			bases = append(bases, base)
		}
	}
	slices.Sort(bases)
	type seg struct {
		base          int64
		durable, size int64
	}
	var segs []seg
	for _, base := range bases {
		data, err := os.ReadFile(filepath.Join(pdir, segmentFileName(base, logSuffix)))
		if err != nil {
			t.Fatal(err)
		}
		durable, _ := record.Batches(data, func(b record.Batch) error {
			if b.Verify() != nil || b.NextOffset() > bound {
				return errStopScan
			}
			return nil
		})
		segs = append(segs, seg{base, int64(durable), int64(len(data))})
	}
	// The first segment with anything volatile; those before stay.
	v := slices.IndexFunc(segs, func(s seg) bool { return s.durable < s.size || s.base >= bound })
	if v < 0 {
		return
	}
	remove := func(base int64, suffixes ...string) {
		for _, suffix := range suffixes {
			os.Remove(filepath.Join(pdir, segmentFileName(base, suffix)))
		}
	}
	// Lose a suffix of the segments created after the durable point.
	first := v + 1
	if segs[v].base >= bound {
		first = v
	}
	cut := len(segs)
	if first < len(segs) && h.rng.IntN(2) == 0 {
		cut = first + h.rng.IntN(len(segs)-first)
		for i := cut; i < len(segs); i++ {
			if i == cut && h.rng.IntN(4) == 0 {
				// The .log's directory entry was lost but its indexes'
				// were not: orphan index files.
				remove(segs[i].base, logSuffix)
			} else {
				remove(segs[i].base, logSuffix, indexSuffix, timeIndexSuffix, txnIndexSuffix)
			}
			h.damaged += segs[i].size
		}
	}
	// Sometimes a volatile segment in the middle loses its directory
	// entries while later ones keep theirs: recovery must stop at the gap.
	lost := int64(-1)
	if cut-first >= 2 && h.rng.IntN(3) == 0 {
		i := first + h.rng.IntN(cut-first-1)
		lost = segs[i].base
		remove(lost, logSuffix, indexSuffix, timeIndexSuffix, txnIndexSuffix)
		h.damaged += segs[i].size
		h.gaps++
	}
	for _, s := range segs[v:cut] {
		if s.base == lost {
			continue
		}
		path := filepath.Join(pdir, segmentFileName(s.base, logSuffix))
		size := s.durable + h.rng.Int64N(s.size-s.durable+1)
		if err := os.Truncate(path, size); err != nil {
			t.Fatal(err)
		}
		h.damaged += s.size - size
		if h.rng.IntN(2) == 0 {
			garble(t, h.rng, path, s.durable, size+256)
		}
		for _, suffix := range []string{indexSuffix, timeIndexSuffix} {
			ipath := filepath.Join(pdir, segmentFileName(s.base, suffix))
			st, err := os.Stat(ipath)
			if err != nil {
				continue
			}
			switch h.rng.IntN(3) {
			case 0:
				os.Truncate(ipath, h.rng.Int64N(st.Size()+1))
			case 1:
				garble(t, h.rng, ipath, 0, st.Size())
			}
		}
	}
}

var errStopScan = errors.New("stop")

// killedAfterRoll reports whether the log's newest segment is empty while
// older ones exist: the kill came between a roll and the first write to
// the new segment.
func (h *crashHarness) killedAfterRoll() bool {
	entries, err := os.ReadDir(filepath.Join(h.dir, crashTP.String()))
	if err != nil {
		return false
	}
	var newest fs.DirEntry
	n := 0
	for _, e := range entries {
		if _, suffix, ok := parseSegmentFileName(e.Name()); ok && suffix == logSuffix {
			n++
			newest = e // ReadDir sorts by name: base offsets in 20 digits
		}
	}
	if n < 2 {
		return false
	}
	info, err := newest.Info()
	return err == nil && info.Size() == 0
}

// garble overwrites a random run of bytes within [from, to) of path with
// random bytes (extending the file if the run passes its end).
func garble(t *testing.T, rng *rand.Rand, path string, from, to int64) {
	if to <= from {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	at := from + rng.Int64N(to-from)
	junk := make([]byte, 1+rng.IntN(int(min(to-at, 600))))
	for i := range junk {
		junk[i] = byte(rng.Uint32())
	}
	if _, err := f.WriteAt(junk, at); err != nil {
		t.Fatal(err)
	}
}

func runCrashCycles(t *testing.T, cycles int, powerLoss bool) {
	h := newCrashHarness(t, time.Now().UnixNano())
	t.Logf("seed %d", h.seed)
	start := time.Now()
	for epoch := int32(1); epoch <= int32(cycles); epoch++ {
		h.runChild(epoch, h.plan())
		if powerLoss {
			h.powerLoss()
		}
		h.verify(epoch)
		if t.Failed() {
			t.FailNow()
		}
	}
	t.Logf("%d kill/recover cycles in %v: %d acknowledgements, log end offset %d (%d offsets acknowledged) in %d segments, "+
		"kills: %d after acks, %d at a segment roll (%d left a just-rolled empty segment), %d right after start-up, %d at a random moment; %d truncations; %d torn bytes truncated by recovery, %d bytes damaged by simulated power loss (%d times a segment in the middle)",
		h.cycles, time.Since(start).Round(time.Millisecond), h.acks, h.leo, h.acked, h.segments,
		h.lateKills, h.rollKills, h.emptyActive, h.readyKills, h.earlyKills, h.truncations, h.truncated, h.damaged, h.gaps)
	if h.acks == 0 || h.acked == 0 {
		t.Fatal("no cycle acknowledged anything: the test tested nothing")
	}
}

// TestCrashKillRecover kills the appending child at random moments (kill
// -9 keeps the page cache, so unflushed batches may survive) and checks
// recovery after each kill.
func TestCrashKillRecover(t *testing.T) {
	t.Parallel()
	cycles := 50
	if testing.Short() {
		cycles = 12
	}
	runCrashCycles(t, cycles, false)
}

// TestCrashPowerLoss adds a simulated power cut after each kill: the
// unsynced part of the log is truncated, garbled or lost.
func TestCrashPowerLoss(t *testing.T) {
	t.Parallel()
	cycles := 20
	if testing.Short() {
		cycles = 6
	}
	runCrashCycles(t, cycles, true)
}

// TestCrashChildLockedOut checks the log dir lock across processes: a
// child cannot open a dir the parent's Manager holds.
func TestCrashChildLockedOut(t *testing.T) {
	dir := t.TempDir()
	newTestManager(t, []string{dir}, nil)
	spec, _ := json.Marshal(crashChildParams{Dir: dir, SegmentBytes: 1 << 20, MaxBytes: 1, MaxUnflushed: 1})
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), crashChildEnv+"="+string(spec))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), ErrLogDirLocked.Error()) {
		t.Fatalf("child on a locked dir: %v, %s", err, out)
	}
}
