// Command bench measures Samsa end to end beside a reference broker: the
// same workload (fixed-size records produced with acks=all by franz-go,
// then consumed back from the beginning) against `samsa serve` (the real
// binary, built from this checkout, as a child process with its data on
// disk) and against franz-go's kfake (an in-memory Kafka in this process),
// and prints both figures side by side with their ratio.
//
// It is its own module so that kfake is never a dependency of the product
// (kfake is a peer we measure against, not a part). Run it with
//
//	make bench-e2e
//	cd bench && go run . -records 500000 -rounds 5
//
// Each round starts each broker fresh and alternates which goes first, so
// neither always runs on a warmer machine; the table reports the median of
// the rounds.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	var (
		w         workload
		rounds    int
		root      string
		samsaBin  string
		only      string
		overrides stringList
		timeout   time.Duration
		perfOut   string
	)
	flag.IntVar(&w.records, "records", 200000, "records to produce and consume per broker per round")
	flag.IntVar(&w.recordSize, "size", 1024, "bytes per record value")
	var parts int
	flag.IntVar(&parts, "partitions", 6, "partitions of the topic")
	flag.DurationVar(&w.linger, "linger", -1, "producer linger (negative: franz-go's default, 10ms)")
	flag.IntVar(&w.maxBuffered, "max-buffered", 0, "producer's max buffered records (0: franz-go's default, 50000)")
	flag.StringVar(&w.compression, "compression", "none", "producer batch compression: none, snappy (franz-go's default), lz4, zstd or gzip")
	flag.IntVar(&rounds, "rounds", 3, "rounds; each starts both brokers afresh")
	flag.StringVar(&root, "root", "..", "the Samsa checkout to build cmd/samsa from")
	flag.StringVar(&samsaBin, "samsa", "", "a prebuilt samsa binary (default: go build from -root)")
	flag.StringVar(&only, "only", "", "measure only samsa or only kfake")
	flag.Var(&overrides, "samsa-override", "extra key=value broker config for samsa serve (repeatable)")
	flag.DurationVar(&timeout, "timeout", 10*time.Minute, "give up after this long")
	flag.StringVar(&perfOut, "perf-record", "", "profile samsa serve with Linux perf (perf record -g) during round 1 into this file; read it with perf report -i FILE")
	flag.Parse()
	w.partitions = int32(parts)
	if _, err := codec(w.compression); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if w.records < 1 || w.recordSize < 1 || parts < 1 || rounds < 1 || (only != "" && only != "samsa" && only != "kfake") {
		flag.Usage()
		os.Exit(2)
	}

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := bench(ctx, w, rounds, root, samsaBin, only, overrides, perfOut); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func bench(ctx context.Context, w workload, rounds int, root, samsaBin, only string, overrides []string, perfOut string) error {
	tmp, err := os.MkdirTemp("", "samsa-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if samsaBin == "" && only != "kfake" {
		if samsaBin, err = buildSamsa(root, tmp); err != nil {
			return err
		}
	}

	fmt.Printf("workload: %d records of %d B (random letters), %d partitions, acks=all, compression %s, then consumed back; producer linger %s, max buffered %s (franz-go)\n",
		w.records, w.recordSize, w.partitions, w.compression, orDefault(w.linger >= 0, w.linger.String(), "10ms"),
		orDefault(w.maxBuffered > 0, fmt.Sprint(w.maxBuffered), "50000"))
	fmt.Printf("machine: %s\n", machine())
	fmt.Printf("command: cd bench && go run . %s\n", strings.Join(os.Args[1:], " "))

	names := []string{"samsa", "kfake"}
	if only != "" {
		names = []string{only}
	}
	results := map[string][]result{}
	for r := 0; r < rounds; r++ {
		order := slices.Clone(names)
		if r%2 == 1 {
			slices.Reverse(order)
		}
		for _, name := range order {
			var b broker
			switch name {
			case "samsa":
				b, err = startSamsa(samsaBin, tmp, overrides)
			default:
				b, err = startKfake()
			}
			if err != nil {
				return err
			}
			wr := w
			wr.topic = fmt.Sprintf("bench-%d", r)
			var prof *exec.Cmd
			if s, ok := b.(*samsaBroker); ok && perfOut != "" && r == 0 {
				if prof, err = startPerf(s.Pid(), perfOut); err != nil {
					_ = b.Stop()
					return err
				}
			}
			res, err := run(ctx, b.Addr(), wr)
			if prof != nil {
				stopPerf(prof)
			}
			stopErr := b.Stop()
			if err != nil {
				return fmt.Errorf("%s, round %d: %w", name, r+1, err)
			}
			if stopErr != nil {
				return stopErr
			}
			results[name] = append(results[name], res)
			fmt.Printf("round %d %-5s  produce %9.0f records/s %7.1f MB/s p50 %8s p99 %8s | consume %9.0f records/s %7.1f MB/s\n",
				r+1, name, res.produceRate(), res.produceMBps(), fmtDur(res.quantile(0.5)), fmtDur(res.quantile(0.99)),
				res.consumeRate(), res.consumeMBps())
		}
	}

	type metric struct {
		name        string
		get         func(result) float64
		higherIsBig bool
		dur         bool
	}
	metrics := []metric{
		{"produce records/s", result.produceRate, true, false},
		{"produce MB/s", result.produceMBps, true, false},
		{"produce p50 latency", func(r result) float64 { return float64(r.quantile(0.5)) }, false, true},
		{"produce p99 latency", func(r result) float64 { return float64(r.quantile(0.99)) }, false, true},
		{"consume records/s", result.consumeRate, true, false},
		{"consume MB/s", result.consumeMBps, true, false},
	}
	fmt.Println()
	fmt.Printf("%-22s", fmt.Sprintf("median of %d round(s)", rounds))
	for _, n := range names {
		fmt.Printf(" %12s", n)
	}
	if len(names) == 2 {
		fmt.Printf(" %13s", "samsa/kfake")
	}
	fmt.Println()
	for _, m := range metrics {
		fmt.Printf("%-22s", m.name)
		var med []float64
		for _, n := range names {
			v := median(results[n], m.get)
			med = append(med, v)
			if m.dur {
				fmt.Printf(" %12s", fmtDur(time.Duration(v)))
			} else {
				fmt.Printf(" %12.1f", v)
			}
		}
		if len(med) == 2 && med[1] > 0 {
			fmt.Printf(" %13.2f", med[0]/med[1])
		}
		fmt.Println()
	}
	return nil
}

func median(rs []result, get func(result) float64) float64 {
	vs := make([]float64, len(rs))
	for i, r := range rs {
		vs[i] = get(r)
	}
	slices.Sort(vs)
	if len(vs)%2 == 1 {
		return vs[len(vs)/2]
	}
	return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
}

func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

func orDefault(ok bool, v, def string) string {
	if ok {
		return v
	}
	return def
}

// machine describes where the figures come from: CPUs and model, kernel,
// Go version, date.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := runtime.GOOS
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel += " " + strings.TrimSpace(string(b))
	}
	goVersion := runtime.Version()
	if out, err := exec.Command("go", "env", "GOVERSION").Output(); err == nil {
		goVersion = strings.TrimSpace(string(out))
	}
	return fmt.Sprintf("%d CPUs (%s), %s, %s/%s, %s, %s", runtime.NumCPU(), model, kernel,
		runtime.GOOS, runtime.GOARCH, goVersion, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
}

// startPerf attaches `perf record` (call graphs, the cpu-clock event, which
// works where hardware counters are not exposed) to pid.
func startPerf(pid int, out string) (*exec.Cmd, error) {
	cmd := exec.Command("perf", "record", "-e", "cpu-clock", "-F", "999", "-g", "-p", fmt.Sprint(pid), "-o", out)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: perf record: %w", err)
	}
	time.Sleep(300 * time.Millisecond) // let it attach before the load starts
	return cmd, nil
}

// stopPerf ends a perf record the way Ctrl-C does, so it writes its file.
func stopPerf(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(os.Interrupt)
	_ = cmd.Wait()
}
