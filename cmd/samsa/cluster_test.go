package main

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/testutil"
)

// TestClusterCommands checks `samsa cluster describe`, `api-versions` and
// `log-dirs` against what the broker itself says.
func TestClusterCommands(t *testing.T) {
	b := testutil.StartBroker(t)
	bk := "--brokers=" + b.Addr
	id := strconv.Itoa(int(b.NodeID()))

	out, _ := mustCLI(t, "", "cluster", "describe", bk)
	if !strings.HasPrefix(out, "Cluster ID: "+b.ClusterID()+"\nController: "+id+"\n") {
		t.Errorf("describe heading:\n%s", out)
	}
	rows := parseTable(t, out, "BROKER")
	if len(rows) != 1 || rows[0]["BROKER"] != id || rows[0]["HOST:PORT"] != b.Addr || rows[0]["RACK"] != "-" {
		t.Errorf("describe brokers = %v, want broker %s at %s", rows, id, b.Addr)
	}

	// api-versions agrees with the broker's own ApiVersions answer.
	want := brokerAPIVersions(t, b.Addr)
	out, _ = mustCLI(t, "", "cluster", "api-versions", bk)
	if !strings.HasPrefix(out, b.Addr+" (id: "+id+" rack: -)\n") {
		t.Errorf("api-versions heading:\n%s", out)
	}
	rows = parseTable(t, out, "KEY")
	if len(rows) != len(want) {
		t.Errorf("api-versions lists %d keys, the broker serves %d", len(rows), len(want))
	}
	var produce map[string]string
	for _, r := range rows {
		if r["KEY"] == "0" {
			produce = r
		}
	}
	p := want[0]
	if produce == nil || produce["NAME"] != "Produce" ||
		produce["MIN"] != strconv.Itoa(int(p.MinVersion)) || produce["MAX"] != strconv.Itoa(int(p.MaxVersion)) {
		t.Errorf("api-versions Produce row = %v, want Produce %d-%d", produce, p.MinVersion, p.MaxVersion)
	}
	if u, err := strconv.Atoi(produce["USABLE"]); err != nil || u < int(p.MinVersion) || u > int(p.MaxVersion) {
		t.Errorf("Produce USABLE = %q, outside %d-%d", produce["USABLE"], p.MinVersion, p.MaxVersion)
	}

	// log-dirs: the partition produced to has bytes, the other none.
	mustCLI(t, "", "topic", "create", "ld", bk, "-p", "2")
	mustCLI(t, "", "topic", "create", "other", bk, "-p", "1")
	mustCLI(t, "one\ntwo\nthree\n", "produce", "ld", bk, "--partition", "1")
	dir, err := filepath.Abs(b.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{}, {"--broker", id}} {
		out, _ = mustCLI(t, "", append([]string{"cluster", "log-dirs", "--topic", "ld", bk}, args...)...)
		rows = parseTable(t, out, "BROKER")
		if len(rows) != 2 {
			t.Fatalf("log-dirs --topic ld %v lists %d rows, want its 2 partitions:\n%s", args, len(rows), out)
		}
		for _, r := range rows {
			if r["BROKER"] != id || r["DIR"] != dir || r["TOPIC"] != "ld" || r["OFFSET-LAG"] != "0" || r["FUTURE"] != "false" {
				t.Errorf("log-dirs row %v", r)
			}
			size, err := strconv.ParseInt(r["SIZE"], 10, 64)
			switch {
			case err != nil:
				t.Errorf("log-dirs SIZE %q", r["SIZE"])
			case r["PARTITION"] == "1" && size <= 0:
				t.Errorf("partition 1 holds 3 records but SIZE = %d", size)
			case r["PARTITION"] == "0" && size != 0:
				t.Errorf("empty partition 0 has SIZE = %d", size)
			}
		}
	}
	out, _ = mustCLI(t, "", "cluster", "log-dirs", bk)
	if n := len(parseTable(t, out, "BROKER")); n != 3 {
		t.Errorf("log-dirs without --topic lists %d partitions, want 3:\n%s", n, out)
	}

	for _, bad := range [][]string{
		{"log-dirs", "--topic", "no-such-topic"},
		{"log-dirs", "--broker", "999"},
		{"describe", "extra-arg"},
	} {
		if _, _, err := runCLI(t, "", append(append([]string{"cluster"}, bad...), bk)...); err == nil {
			t.Errorf("samsa cluster %s succeeded", strings.Join(bad, " "))
		}
	}
}

// brokerAPIVersions asks the broker at addr for its ApiVersions directly.
func brokerAPIVersions(t *testing.T, addr string) map[int16]kmsg.ApiVersionsResponseApiKey {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int16]kmsg.ApiVersionsResponseApiKey{}
	for _, k := range resp.ApiKeys {
		out[k.ApiKey] = k
	}
	return out
}
