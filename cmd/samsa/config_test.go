package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/samsa-streaming/samsa/internal/testutil"
)

// parseTable reads the tabwriter table in out whose header row starts with
// firstCol, cutting each row at the header's column offsets (so that an
// empty cell, such as a config whose value is "", does not shift the
// others). Rows end at the first blank line.
func parseTable(t *testing.T, out, firstCol string) []map[string]string {
	t.Helper()
	lines := strings.Split(out, "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(l, firstCol+" ") {
			start = i
			break
		}
	}
	if start < 0 {
		t.Fatalf("no table headed %s in:\n%s", firstCol, out)
	}
	header := lines[start]
	var names []string
	var offs []int
	for i := 0; i < len(header); i++ {
		if header[i] != ' ' && (i == 0 || header[i-1] == ' ') {
			offs = append(offs, i)
			end := strings.IndexByte(header[i:], ' ')
			if end < 0 {
				end = len(header) - i
			}
			names = append(names, header[i:i+end])
		}
	}
	var rows []map[string]string
	for _, l := range lines[start+1:] {
		if strings.TrimSpace(l) == "" {
			break
		}
		row := map[string]string{}
		for c, off := range offs {
			end := len(l)
			if c+1 < len(offs) && offs[c+1] < end {
				end = offs[c+1]
			}
			if off < len(l) {
				row[names[c]] = strings.TrimSpace(l[off:end])
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// configRows runs `samsa config describe args...` and returns its rows by
// config name.
func configRows(t *testing.T, args ...string) map[string]map[string]string {
	t.Helper()
	out, _ := mustCLI(t, "", append([]string{"config", "describe"}, args...)...)
	byName := map[string]map[string]string{}
	for _, r := range parseTable(t, out, "NAME") {
		byName[r["NAME"]] = r
	}
	return byName
}

func wantConfig(t *testing.T, rows map[string]map[string]string, name, value, source string) {
	t.Helper()
	r, ok := rows[name]
	if !ok {
		t.Fatalf("no %s among %v", name, rows)
	}
	if r["VALUE"] != value || r["SOURCE"] != source {
		t.Fatalf("%s = %q from %s, want %q from %s", name, r["VALUE"], r["SOURCE"], value, source)
	}
}

// TestConfigTopic drives `samsa config` on a topic: describe lists only
// the overrides, alter sets (with the bracketed list syntax), validates
// without changing, surfaces the broker's refusal, and --delete reverts to
// the default.
func TestConfigTopic(t *testing.T) {
	b := testutil.StartBroker(t)
	bk := "--brokers=" + b.Addr
	mustCLI(t, "", "topic", "create", "cfg", bk, "-p", "1")

	out, _ := mustCLI(t, "", "config", "describe", "--topic", "cfg", bk)
	if !strings.HasPrefix(out, "Dynamic configs for topic cfg are:\n") || len(parseTable(t, out, "NAME")) != 0 {
		t.Fatalf("describe of a topic without overrides:\n%s", out)
	}

	out, _ = mustCLI(t, "", "config", "alter", "--topic", "cfg", bk,
		"--set", "retention.ms=3600000,cleanup.policy=[compact,delete]", "--set", "max.message.bytes=65536")
	if out != "Completed updating config for topic cfg.\n" {
		t.Fatalf("alter output: %q", out)
	}
	rows := configRows(t, "--topic", "cfg", bk)
	if len(rows) != 3 {
		t.Fatalf("after alter, describe lists %d configs, want the 3 overrides: %v", len(rows), rows)
	}
	wantConfig(t, rows, "retention.ms", "3600000", "DYNAMIC_TOPIC_CONFIG")
	wantConfig(t, rows, "cleanup.policy", "compact,delete", "DYNAMIC_TOPIC_CONFIG")
	wantConfig(t, rows, "max.message.bytes", "65536", "DYNAMIC_TOPIC_CONFIG")
	if rows["retention.ms"]["READ-ONLY"] != "false" {
		t.Errorf("retention.ms READ-ONLY = %q", rows["retention.ms"]["READ-ONLY"])
	}
	all := configRows(t, "--topic", "cfg", "--all", bk)
	wantConfig(t, all, "retention.ms", "3600000", "DYNAMIC_TOPIC_CONFIG")
	wantConfig(t, all, "segment.bytes", "1073741824", "DEFAULT_CONFIG")

	// Validate-only checks the change but does not make it.
	out, _ = mustCLI(t, "", "config", "alter", "--topic", "cfg", bk, "--set", "retention.ms=1000", "--validate-only")
	if !strings.Contains(out, "nothing was changed") {
		t.Errorf("--validate-only output: %q", out)
	}
	wantConfig(t, configRows(t, "--topic", "cfg", bk), "retention.ms", "3600000", "DYNAMIC_TOPIC_CONFIG")

	// An invalid value: the broker's error code and its message, and a
	// failing command; nothing changes, not even the valid part.
	for _, validate := range []bool{false, true} {
		args := []string{"config", "alter", "--topic", "cfg", bk, "--set", "segment.ms=100000,retention.ms=abc"}
		if validate {
			args = append(args, "--validate-only")
		}
		_, _, err := runCLI(t, "", args...)
		if err == nil || !strings.Contains(err.Error(), "INVALID_CONFIG") ||
			!strings.Contains(err.Error(), "Invalid value abc for configuration retention.ms") {
			t.Fatalf("alter with retention.ms=abc (validate-only %v): err = %v, want INVALID_CONFIG with the broker's message", validate, err)
		}
	}
	rows = configRows(t, "--topic", "cfg", bk)
	if _, ok := rows["segment.ms"]; ok || len(rows) != 3 {
		t.Fatalf("a refused alter changed configs: %v", rows)
	}

	// --delete reverts to the default.
	out, _ = mustCLI(t, "", "config", "alter", "--topic", "cfg", bk, "--delete", "retention.ms, max.message.bytes")
	if out != "Completed updating config for topic cfg.\n" {
		t.Fatalf("delete output: %q", out)
	}
	rows = configRows(t, "--topic", "cfg", bk)
	if _, ok := rows["retention.ms"]; ok || len(rows) != 1 {
		t.Fatalf("after --delete, describe lists %v", rows)
	}
	wantConfig(t, configRows(t, "--topic", "cfg", "--all", bk), "retention.ms", "604800000", "DEFAULT_CONFIG")

	// Deleting what is not set is refused before anything is sent, as
	// kafka-configs.sh does.
	_, _, err := runCLI(t, "", "config", "alter", "--topic", "cfg", bk, "--delete", "cleanup.policy,segment.ms")
	if err == nil || !strings.Contains(err.Error(), "invalid config(s): segment.ms") {
		t.Fatalf("delete of an unset config: err = %v", err)
	}
	wantConfig(t, configRows(t, "--topic", "cfg", bk), "cleanup.policy", "compact,delete", "DYNAMIC_TOPIC_CONFIG")

	for _, bad := range [][]string{
		{"describe"}, // no resource
		{"describe", "--topic", "cfg", "--broker-defaults"}, // two
		{"describe", "--broker", "one"},                     // not an id
		{"alter", "--topic", "cfg"},                         // nothing to do
		{"alter", "--topic", "cfg", "--set", "a=b=c"},       // unbracketed '='
		{"alter", "--topic", "cfg", "--set", "retention.ms=1", "--delete", "retention.ms"},
		{"describe", "--topic", "no-such-topic"},
	} {
		if _, _, err := runCLI(t, "", append(append([]string{"config"}, bad...), bk)...); err == nil {
			t.Errorf("samsa config %s succeeded", strings.Join(bad, " "))
		}
	}
}

// TestConfigBroker round-trips dynamic broker configs at both levels: the
// cluster-wide default, then one broker's own value over it, each visible
// with its source and each reverting on --delete.
func TestConfigBroker(t *testing.T) {
	b := testutil.StartBroker(t)
	bk := "--brokers=" + b.Addr
	id := strconv.Itoa(int(b.NodeID()))

	out, _ := mustCLI(t, "", "config", "alter", "--broker-defaults", bk, "--set", "log.retention.ms=7200000")
	if out != "Completed updating default config for brokers in the cluster.\n" {
		t.Fatalf("alter defaults output: %q", out)
	}
	out, _ = mustCLI(t, "", "config", "describe", "--broker-defaults", bk)
	if !strings.HasPrefix(out, "Default configs for brokers in the cluster are:\n") {
		t.Errorf("describe defaults heading:\n%s", out)
	}
	defaults := configRows(t, "--broker-defaults", bk)
	if len(defaults) != 1 {
		t.Fatalf("broker defaults: %v", defaults)
	}
	wantConfig(t, defaults, "log.retention.ms", "7200000", "DYNAMIC_DEFAULT_BROKER_CONFIG")
	// The broker inherits it, but has nothing of its own yet.
	if own := configRows(t, "--broker", id, bk); len(own) != 0 {
		t.Fatalf("broker %s's own dynamic configs: %v", id, own)
	}
	all := configRows(t, "--broker", id, "--all", bk)
	wantConfig(t, all, "log.retention.ms", "7200000", "DYNAMIC_DEFAULT_BROKER_CONFIG")
	if all["log.retention.ms"]["READ-ONLY"] != "false" {
		t.Errorf("log.retention.ms READ-ONLY = %q", all["log.retention.ms"]["READ-ONLY"])
	}
	if all["broker.id"]["READ-ONLY"] != "true" {
		t.Errorf("broker.id READ-ONLY = %q, want true", all["broker.id"]["READ-ONLY"])
	}
	if v := all["ssl.keystore.password"]["VALUE"]; v != "(sensitive)" {
		t.Errorf("ssl.keystore.password shows %q, want it masked", v)
	}

	// The broker's own value wins over the default, and --delete falls
	// back to it.
	mustCLI(t, "", "config", "alter", "--broker", id, bk, "--set", "log.retention.ms=3600000")
	wantConfig(t, configRows(t, "--broker", id, bk), "log.retention.ms", "3600000", "DYNAMIC_BROKER_CONFIG")
	mustCLI(t, "", "config", "alter", "--broker", id, bk, "--delete", "log.retention.ms")
	wantConfig(t, configRows(t, "--broker", id, "--all", bk), "log.retention.ms", "7200000", "DYNAMIC_DEFAULT_BROKER_CONFIG")
	mustCLI(t, "", "config", "alter", "--broker-defaults", bk, "--delete", "log.retention.ms")
	if d := configRows(t, "--broker-defaults", bk); len(d) != 0 {
		t.Fatalf("defaults after --delete: %v", d)
	}
	wantConfig(t, configRows(t, "--broker", id, "--all", bk), "log.retention.ms", "null", "DEFAULT_CONFIG")

	// Brokers answer an unknown name with INVALID_REQUEST and a message.
	_, _, err := runCLI(t, "", "config", "alter", "--broker-defaults", bk, "--set", "no.such.config=1")
	if err == nil || !strings.Contains(err.Error(), "INVALID_REQUEST") || !strings.Contains(err.Error(), "no.such.config") {
		t.Fatalf("unknown broker config: err = %v", err)
	}
	_, _, err = runCLI(t, "", "config", "describe", "--broker", "999", bk)
	if err == nil || !strings.Contains(err.Error(), "no broker with id 999") {
		t.Fatalf("describe of an unknown broker: err = %v", err)
	}
}
