//go:build unix

package main

// TestServeKillRecover is the end-to-end form of the design's crash promise
// ("a crash at any instant must leave a log that recovers to a prefix of
// what was written; nothing acknowledged is lost; nothing corrupt is ever
// served"), run against the real binary rather than an in-process broker:
// `samsa serve` is built, started as a child process, loaded by franz-go
// producers with acks=all and SIGKILLed while a producer is mid-stream.
// Each cycle then checks
//
//   - the restart reports recovery (no clean-shutdown marker) and serves
//     every acknowledged record exactly once, at the partition and offset
//     its acknowledgement named, with its key and value intact; offsets are
//     contiguous from 0 and anything else present is a record the test
//     really sent (an unacknowledged one), never a torn or foreign one;
//   - SIGTERM then stops the broker with exit status 0, and the next start
//     loads clean (marker present, nothing recovered) with the same content.
//
// That clean broker takes the next cycle's traffic, so later cycles recover
// logs that have been through earlier crashes and restarts.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	crashTopic      = "crash-e2e"
	crashPartitions = 3
	// crashSyncRecords is stream 1 of a cycle: produced and all acknowledged
	// before the kill.
	crashSyncRecords = 3000
	// crashKillAfter is how many acknowledgements of the second stream
	// arrive before the kill; it keeps producing, so the kill lands
	// mid-traffic.
	crashKillAfter = 500
	// crashKillProducers is how many clients produce the second stream.
	crashKillProducers = 3
	// crashInFlight bounds each of those clients' unacknowledged records.
	crashInFlight = 1000
)

func TestServeKillRecover(t *testing.T) {
	cycles := 3
	if testing.Short() {
		cycles = 1
	}
	bin := buildSamsa(t)
	work := t.TempDir()
	data := filepath.Join(work, "data")
	led := newCrashLedger()

	runs := 0
	start := func() *serveProc {
		runs++
		return startServe(t, bin, data, filepath.Join(work, fmt.Sprintf("run%d", runs)))
	}

	b := start()
	createCrashTopic(t, b.addr)
	for cycle := 0; cycle < cycles; cycle++ {
		// Stream 1: every record acknowledged before the kill.
		produceSync(t, b.addr, led, cycle)
		// Streams 2..: still producing when the broker dies.
		produceUntilKilled(t, b, led, cycle)

		b = start()
		load := b.loadedLogs(t)
		if !b.logged(t, "no clean-shutdown marker") || load["cleanDirs"] != "0" {
			t.Fatalf("cycle %d: restart after SIGKILL did not report recovery; \"loaded logs\" fields %v; stderr:\n%s", cycle, load, b.stderrTail())
		}
		t.Logf("cycle %d: recovered after SIGKILL: loaded logs %v", cycle, load)
		ends := led.verify(t, b.addr, fmt.Sprintf("cycle %d after SIGKILL", cycle))

		b.stop(t)
		b = start()
		load = b.loadedLogs(t)
		if b.logged(t, "no clean-shutdown marker") || load["cleanDirs"] != "1" || load["segmentsRecovered"] != "0" || load["bytesScanned"] != "0" {
			t.Fatalf("cycle %d: start after SIGTERM did not load clean; \"loaded logs\" fields %v; stderr:\n%s", cycle, load, b.stderrTail())
		}
		if clean := led.verify(t, b.addr, fmt.Sprintf("cycle %d after SIGTERM", cycle)); fmt.Sprint(clean) != fmt.Sprint(ends) {
			t.Fatalf("cycle %d: log end offsets changed across a clean restart: %v, then %v", cycle, ends, clean)
		}
		b.checkSidePort(t)
	}
	b.stop(t)
}

// buildSamsa builds this package's binary into a temp dir. It is built
// without -race even under `go test -race`: the test is about the binary as
// shipped, and its packages are usually in the build cache already.
func buildSamsa(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "samsa")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -o %s . (in cmd/samsa): %v\n%s", bin, err, out)
	}
	return bin
}

// serveProc is one `samsa serve` child process.
type serveProc struct {
	cmd      *exec.Cmd
	addr     string // from its ready line
	httpAddr string // the HTTP side port's host:port, from its ready line
	stderr   string // path of the file its stderr (the slog log) goes to
	done     chan struct{}
	err      error // cmd.Wait's result; read only after done is closed
}

// startServe starts `samsa serve` on dataDir with the kernel choosing
// free loopback ports for the listener and the HTTP side port (the ready
// line names both, and the broker advertises what it bound), and waits for
// the ready line. The child's stdout and stderr go to files named by
// prefix. The child is SIGKILLed when the test ends if it is still
// running.
func startServe(t *testing.T, bin, dataDir, prefix string) *serveProc {
	t.Helper()
	stdout, err := os.Create(prefix + ".out")
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	stderr, err := os.Create(prefix + ".err")
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	cmd := exec.Command(bin, "serve",
		"--override", "listeners=PLAINTEXT://127.0.0.1:0",
		"--override", "samsa.http.listener=127.0.0.1:0",
		"--override", "log.dirs="+dataDir,
		"--override", "num.partitions="+strconv.Itoa(crashPartitions),
	)
	// SAMSA_* variables configure the broker; keep the caller's out of it.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SAMSA_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	p := &serveProc{cmd: cmd, stderr: prefix + ".err", done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
	})

	const ready = "samsa: serving on "
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, _ := os.ReadFile(prefix + ".out")
		if i := strings.Index(string(out), ready); i >= 0 {
			line, _, complete := strings.Cut(string(out[i+len(ready):]), "\n")
			if complete {
				addr, _, _ := strings.Cut(line, " ")
				p.addr = addr
				if m := readyHTTP.FindStringSubmatch(line); m != nil {
					p.httpAddr = m[1]
				}
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("samsa serve exited (%v) before its ready line; stdout:\n%s\nstderr:\n%s", p.err, out, p.stderrTail())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("samsa serve printed no ready line within 60s; stdout:\n%s\nstderr:\n%s", out, p.stderrTail())
		}
	}
}

// kill SIGKILLs the broker and waits for it to die of it.
func (p *serveProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("SIGKILL samsa serve: %v", err)
	}
	<-p.done
	var exit *exec.ExitError
	if !errors.As(p.err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("samsa serve ended with %v, want death by SIGKILL; stderr:\n%s", p.err, p.stderrTail())
	}
}

// stop SIGTERMs the broker and expects a clean exit with status 0.
func (p *serveProc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM samsa serve: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("samsa serve still running 60s after SIGTERM; stderr:\n%s", p.stderrTail())
	}
	if p.err != nil {
		t.Fatalf("samsa serve exited with %v after SIGTERM, want status 0; stderr:\n%s", p.err, p.stderrTail())
	}
	if !p.logged(t, "stopped cleanly") {
		t.Fatalf("samsa serve exited 0 after SIGTERM without logging \"stopped cleanly\"; stderr:\n%s", p.stderrTail())
	}
}

// logged reports whether the broker's log has a message containing msg.
func (p *serveProc) logged(t *testing.T, msg string) bool {
	t.Helper()
	log, err := os.ReadFile(p.stderr)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(log), msg)
}

// readyHTTP finds the side port in the ready line.
var readyHTTP = regexp.MustCompile(`metrics http://(\S+)/metrics`)

// checkSidePort asserts that the broker's HTTP side port says it is ready
// and that its metrics show the crash topic's partitions.
func (p *serveProc) checkSidePort(t *testing.T) {
	t.Helper()
	if p.httpAddr == "" {
		t.Fatal("the ready line names no HTTP side port")
	}
	get := func(path string) (int, string) {
		t.Helper()
		cl := &http.Client{Timeout: 30 * time.Second}
		resp, err := cl.Get("http://" + p.httpAddr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp.StatusCode, string(b)
	}
	if status, body := get("/readyz"); status != http.StatusOK || body != "ok\n" {
		t.Fatalf("/readyz = %d %q", status, body)
	}
	want := fmt.Sprintf("\nsamsa_partitions %d\n", crashPartitions)
	if status, body := get("/metrics"); status != http.StatusOK || !strings.Contains(body, want) {
		t.Fatalf("/metrics = %d, want %q in it", status, want)
	}
}

var logField = regexp.MustCompile(`(\w+)=("(?:[^"\\]|\\.)*"|\S+)`)

// loadedLogs returns the fields of the storage manager's "loaded logs" line
// (logs, segments, segmentsRecovered, bytesScanned, bytesTruncated,
// cleanDirs), which it logs before the broker is ready.
func (p *serveProc) loadedLogs(t *testing.T) map[string]string {
	t.Helper()
	log, err := os.ReadFile(p.stderr)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(log), "\n") {
		if !strings.Contains(line, `msg="loaded logs"`) {
			continue
		}
		fields := map[string]string{}
		for _, m := range logField.FindAllStringSubmatch(line, -1) {
			fields[m[1]] = m[2]
		}
		return fields
	}
	t.Fatalf("samsa serve logged no \"loaded logs\" line; stderr:\n%s", p.stderrTail())
	return nil
}

// stderrTail is the end of the broker's log, for failure messages.
func (p *serveProc) stderrTail() string {
	log, _ := os.ReadFile(p.stderr)
	lines := strings.Split(strings.TrimRight(string(log), "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

func createCrashTopic(t *testing.T, addr string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// -1 partitions: the broker's num.partitions, set by --override.
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, -1, -1, nil, crashTopic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", crashTopic, err)
	}
	if resp.NumPartitions != crashPartitions {
		t.Fatalf("topic %s created with %d partitions, want num.partitions=%d", crashTopic, resp.NumPartitions, crashPartitions)
	}
}

// crashRecord is a record's key and value, both derived from where it was
// produced (cycle, stream, sequence number), so any record read back can
// be checked on its own.
func crashRecord(cycle, stream, seq int) (key, value string) {
	key = fmt.Sprintf("key-%d", seq%101)
	value = fmt.Sprintf("c%d-s%d-n%d|%s|%s", cycle, stream, seq, key, strings.Repeat(string(rune('a'+seq%26)), 40+seq%60))
	return key, value
}

// parseCrashValue inverts crashRecord's value.
func parseCrashValue(value string) (cycle, stream, seq int, ok bool) {
	head, _, _ := strings.Cut(value, "|")
	n, err := fmt.Sscanf(head, "c%d-s%d-n%d", &cycle, &stream, &seq)
	return cycle, stream, seq, err == nil && n == 3
}

// ack is where the broker said it put a record.
type ack struct {
	partition int32
	offset    int64
}

// crashLedger is what the test produced, across all cycles.
type crashLedger struct {
	mu    sync.Mutex
	acked map[string]ack // by value; guarded by mu
	// order is the acknowledged values in the order their acks arrived.
	order []string // guarded by mu
	// sent is how many records of each {cycle, stream} were handed to a
	// producer; records with a larger seq were never sent.
	sent map[[2]int]int // guarded by mu
}

func newCrashLedger() *crashLedger {
	return &crashLedger{acked: map[string]ack{}, sent: map[[2]int]int{}}
}

func (l *crashLedger) recordAck(r *kgo.Record) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acked[string(r.Value)] = ack{r.Partition, r.Offset}
	l.order = append(l.order, string(r.Value))
}

func (l *crashLedger) recordSent(cycle, stream, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent[[2]int{cycle, stream}] = n
}

// produceSync is stream 1: crashSyncRecords keyed records, all of which
// must be acknowledged.
func produceSync(t *testing.T, addr string, led *crashLedger, cycle int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(crashTopic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	recs := make([]*kgo.Record, crashSyncRecords)
	for i := range recs {
		k, v := crashRecord(cycle, 1, i)
		recs[i] = &kgo.Record{Key: []byte(k), Value: []byte(v)}
	}
	led.recordSent(cycle, 1, len(recs))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	var errs []error
	for _, r := range recs {
		cl.Produce(ctx, r, func(r *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			led.recordAck(r)
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatalf("cycle %d: stream 1: flush %d records: %v", cycle, len(recs), err)
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("cycle %d: stream 1: %d of %d records failed: %v", cycle, len(errs), len(recs), err)
	}
}

// produceUntilKilled is the second stream of a cycle: crashKillProducers
// clients (streams 2, 3, ...; several, so produce requests overlap at the
// broker) produce keyed records without pause, each with at most
// crashInFlight unacknowledged. Once crashKillAfter of them are
// acknowledged it SIGKILLs the broker, then closes the producers and
// records which of their records were acknowledged.
func produceUntilKilled(t *testing.T, b *serveProc, led *crashLedger, cycle int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var (
		acked, failed atomic.Int64
		clients       []*kgo.Client
		sent          [crashKillProducers]int // sent[i] is owned by producer i until wg.Wait
		wg            sync.WaitGroup
	)
	// Close the clients even when the test fails before the kill, so
	// their goroutines never outlive the test.
	closed := false
	shutdown := func() {
		if closed {
			return
		}
		closed = true
		cancel()
		wg.Wait()
		for _, cl := range clients {
			cl.Close()
		}
	}
	defer shutdown()
	for i := range crashKillProducers {
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.addr), kgo.DefaultProduceTopic(crashTopic))
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, cl)
		slots := make(chan struct{}, crashInFlight)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case slots <- struct{}{}:
				case <-ctx.Done():
					return
				}
				k, v := crashRecord(cycle, 2+i, sent[i])
				sent[i]++
				cl.Produce(ctx, &kgo.Record{Key: []byte(k), Value: []byte(v)}, func(r *kgo.Record, err error) {
					if err == nil {
						led.recordAck(r)
						acked.Add(1)
					} else {
						failed.Add(1)
					}
					<-slots
				})
			}
		}()
	}

	deadline := time.Now().Add(60 * time.Second)
	for acked.Load() < crashKillAfter {
		if f := failed.Load(); f > 0 {
			t.Fatalf("cycle %d: second stream: %d records failed before the kill", cycle, f)
		}
		if time.Now().After(deadline) {
			t.Fatalf("cycle %d: second stream: only %d records acknowledged within 60s, want %d before the kill", cycle, acked.Load(), crashKillAfter)
		}
		time.Sleep(time.Millisecond)
	}
	// A random pause, so the kill does not always follow an
	// acknowledgement: a produce request may be on its way, half written,
	// or written but not yet answered.
	time.Sleep(time.Duration(rand.IntN(20_000)) * time.Microsecond)
	b.kill(t)
	shutdown()
	// Close fails whatever the clients still held; wait until every record
	// has had its promise, so no acknowledgement goes unrecorded.
	total := 0
	for i, n := range sent {
		led.recordSent(cycle, 2+i, n)
		total += n
	}
	for time.Now().Before(deadline.Add(30*time.Second)) && acked.Load()+failed.Load() < int64(total) {
		time.Sleep(5 * time.Millisecond)
	}
	if done := acked.Load() + failed.Load(); done != int64(total) {
		t.Fatalf("cycle %d: second stream: %d of %d promises called after the clients closed", cycle, done, total)
	}
	if failed.Load() == 0 {
		t.Fatalf("cycle %d: second stream: all %d records were acknowledged, so the kill did not land mid-traffic", cycle, total)
	}
	t.Logf("cycle %d: SIGKILL with the second stream at %d acknowledged, %d unacknowledged", cycle, acked.Load(), failed.Load())
}

// verify consumes the whole topic from the beginning and checks it against
// the ledger (see the file comment); it returns the partitions' log end
// offsets.
func (l *crashLedger) verify(t *testing.T, addr, when string) map[int32]int64 {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()

	// The acknowledgements themselves: one producer's, per partition, in
	// the order they arrived, name growing offsets. (Across producers the
	// order of arrival says nothing: their promises run concurrently.)
	type streamPartition struct {
		cycle, stream int
		partition     int32
	}
	last := map[streamPartition]int64{}
	for _, v := range l.order {
		a := l.acked[v]
		cycle, stream, _, _ := parseCrashValue(v)
		sp := streamPartition{cycle, stream, a.partition}
		if prev, ok := last[sp]; ok && a.offset <= prev {
			t.Fatalf("%s: acknowledgement of %.20q at partition %d offset %d came after one of its producer's at offset %d", when, v, a.partition, a.offset, prev)
		}
		last[sp] = a.offset
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	listed, err := kadm.NewClient(cl).ListEndOffsets(ctx, crashTopic)
	if err == nil {
		err = listed.Error()
	}
	if err != nil {
		t.Fatalf("%s: list end offsets: %v", when, err)
	}
	ends := map[int32]int64{}
	starts := map[int32]kgo.Offset{}
	remaining := int64(0)
	listed.Each(func(o kadm.ListedOffset) {
		ends[o.Partition] = o.Offset
		starts[o.Partition] = kgo.NewOffset().AtStart()
		remaining += o.Offset
	})
	if len(ends) != crashPartitions {
		t.Fatalf("%s: topic has partitions %v, want %d", when, ends, crashPartitions)
	}
	cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{crashTopic: starts})

	next := map[int32]int64{} // per partition, the offset the next record must have
	seen := map[string]int64{}
	for remaining > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%s: consumed up to %v within 60s, want up to the end offsets %v", when, next, ends)
		}
		fs.EachError(func(topic string, p int32, err error) {
			t.Fatalf("%s: fetch %s/%d: %v", when, topic, p, err)
		})
		fs.EachRecord(func(r *kgo.Record) {
			p, v := r.Partition, string(r.Value)
			if r.Offset != next[p] {
				t.Fatalf("%s: partition %d: record at offset %d, want %d (offsets must be contiguous from 0)", when, p, r.Offset, next[p])
			}
			next[p]++
			if r.Offset >= ends[p] {
				t.Fatalf("%s: partition %d: record at offset %d, past the end offset %d", when, p, r.Offset, ends[p])
			}
			remaining--
			cycle, stream, seq, ok := parseCrashValue(v)
			if !ok {
				t.Fatalf("%s: partition %d offset %d: value %.60q is not one the test produced", when, p, r.Offset, v)
			}
			if seq < 0 || seq >= l.sent[[2]int{cycle, stream}] {
				t.Fatalf("%s: partition %d offset %d: value %.60q was never sent", when, p, r.Offset, v)
			}
			if wk, wv := crashRecord(cycle, stream, seq); string(r.Key) != wk || v != wv {
				t.Fatalf("%s: partition %d offset %d: record (%.40q, %.60q) is damaged, want (%q, %.60q)", when, p, r.Offset, r.Key, v, wk, wv)
			}
			if prev, dup := seen[v]; dup {
				t.Fatalf("%s: partition %d: %.40q at offset %d and again at offset %d", when, p, v, prev, r.Offset)
			}
			seen[v] = r.Offset
			if a, ok := l.acked[v]; ok && (a.partition != p || a.offset != r.Offset) {
				t.Fatalf("%s: acknowledged %.40q at partition %d offset %d, found at partition %d offset %d", when, v, a.partition, a.offset, p, r.Offset)
			}
		})
	}
	for _, v := range l.order {
		if _, ok := seen[v]; !ok {
			a := l.acked[v]
			t.Fatalf("%s: acknowledged %.40q (partition %d offset %d) is missing; end offsets %v", when, v, a.partition, a.offset, ends)
		}
	}
	t.Logf("%s: %d acknowledged records all present, %d unacknowledged ones too; end offsets %v", when, len(l.order), len(seen)-len(l.order), ends)
	return ends
}
