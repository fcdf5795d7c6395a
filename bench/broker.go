package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// broker is one broker under test: started, measured, stopped.
type broker interface {
	// Name labels the broker's column in the report.
	Name() string
	// Addr is the bootstrap host:port.
	Addr() string
	// Stop shuts the broker down and reports a failed shutdown.
	Stop() error
}

// kfakeBroker is franz-go's in-memory reference broker, run inside this
// process with a single node, like the Samsa under test.
type kfakeBroker struct{ c *kfake.Cluster }

func startKfake() (*kfakeBroker, error) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(-1))
	if err != nil {
		return nil, fmt.Errorf("bench: start kfake: %w", err)
	}
	return &kfakeBroker{c: c}, nil
}

func (k *kfakeBroker) Name() string { return "kfake" }
func (k *kfakeBroker) Addr() string { return k.c.ListenAddrs()[0] }
func (k *kfakeBroker) Stop() error  { k.c.Close(); return nil }

// buildSamsa compiles the product's cmd/samsa from the module at root into
// dir and returns the binary's path. The bench module cannot import the
// product's internal packages (Go's internal rule), and measuring the
// shipped binary is the point anyway.
func buildSamsa(root, dir string) (string, error) {
	bin := filepath.Join(dir, "samsa")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/samsa")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("bench: go build ./cmd/samsa in %s: %w\n%s", root, err, out)
	}
	return bin, nil
}

// samsaBroker is `samsa serve` as a child process on a free loopback port
// with a fresh data dir.
type samsaBroker struct {
	cmd     *exec.Cmd
	addr    string
	dataDir string
	logPath string
	exited  chan error
}

// startSamsa runs bin serve with its data under dir and returns once the
// broker printed its ready line. extra are further --override key=value
// settings.
func startSamsa(bin, dir string, extra []string) (*samsaBroker, error) {
	data, err := os.MkdirTemp(dir, "samsa-data-")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	logPath := data + ".log"
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	args := []string{"serve",
		"--override", "listeners=PLAINTEXT://127.0.0.1:0",
		// The side port on a free port too: a bench beside a running
		// broker (or another bench) must not clash on 9644.
		"--override", "samsa.http.listener=127.0.0.1:0",
		"--override", "log.dirs=" + data,
		"--log-level", "warn",
	}
	for _, kv := range extra {
		args = append(args, "--override", kv)
	}
	cmd := exec.Command(bin, args...)
	// SAMSA_* variables would configure the broker: keep the caller's out.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SAMSA_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("bench: start %s: %w", bin, err)
	}
	s := &samsaBroker{cmd: cmd, dataDir: data, logPath: logPath, exited: make(chan error, 1)}
	ready := make(chan string, 1)
	go func() {
		// Read the ready line, then keep draining stdout so the broker
		// never blocks writing to it.
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if addr, ok := strings.CutPrefix(line, "samsa: serving on "); ok {
				if i := strings.IndexByte(addr, ' '); i > 0 {
					addr = addr[:i]
				}
				select {
				case ready <- addr:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		s.exited <- cmd.Wait()
		logf.Close()
	}()
	select {
	case s.addr = <-ready:
		return s, nil
	case err := <-s.exited:
		return nil, fmt.Errorf("bench: samsa serve exited before it was ready (%v); log: %s\n%s", err, logPath, tail(logPath))
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("bench: samsa serve not ready after 60s; log: %s\n%s", logPath, tail(logPath))
	}
}

func (s *samsaBroker) Name() string { return "samsa" }
func (s *samsaBroker) Addr() string { return s.addr }

// Pid is the broker process's id, for profiling it from outside.
func (s *samsaBroker) Pid() int { return s.cmd.Process.Pid }

// Stop sends SIGTERM, as an operator would, and expects a clean exit 0
// within 30 s; the data dir is removed afterwards.
func (s *samsaBroker) Stop() error {
	defer os.RemoveAll(s.dataDir)
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		if err != nil {
			return fmt.Errorf("bench: samsa serve exited with %v after SIGTERM; log: %s\n%s", err, s.logPath, tail(s.logPath))
		}
		return nil
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return errors.New("bench: samsa serve still running 30s after SIGTERM; killed")
	}
}

// tail returns the last lines of a log file for an error message.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}

// waitReady polls until the broker answers; kfake and samsa both accept
// connections as soon as they report ready, this only guards the race
// between a listener's accept loop and the first dial.
func waitReady(ctx context.Context, dial func(context.Context) error) error {
	var err error
	for i := 0; i < 50; i++ {
		if err = dial(ctx); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return err
}
