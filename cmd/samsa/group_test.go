package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-streaming/samsa/internal/testutil"
)

// describeRows runs `samsa group describe GROUP` and returns its table
// rows (after the header) split into columns.
func describeRows(t *testing.T, bk, group string) [][]string {
	t.Helper()
	out, _ := mustCLI(t, "", "group", "describe", group, bk)
	var rows [][]string
	header := false
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 0 && f[0] == "GROUP":
			header = true
		case header && len(f) > 0:
			rows = append(rows, f)
		}
	}
	return rows
}

// committedCol returns partition -> CURRENT-OFFSET column of describe.
func committedCol(t *testing.T, bk, group string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, r := range describeRows(t, bk, group) {
		if len(r) < 6 {
			t.Fatalf("describe row %v", r)
		}
		out[r[2]] = r[3]
	}
	return out
}

// TestGroupCommands drives `samsa group` through a group's life: consumed
// and committed by `samsa consume --group`, listed, described, its
// offsets reset (dry run, then executed), refused while it has a member,
// offsets deleted, and the group deleted.
//
// Known failure under -race (coordinator/group, not this test):
// Coordinator.ListGroups increments its gather counter ("g.left++" in
// admin.go) without the gather's mutex while shards already answering
// decrement it under the mutex; `samsa group list` then trips the race
// detector, and a lost update can leave the ListGroups request unanswered.
func TestGroupCommands(t *testing.T) {
	b := testutil.StartBroker(t)
	bk := "--brokers=" + b.Addr
	mustCLI(t, "", "topic", "create", "gt", bk, "-p", "2")
	mustCLI(t, "a\nb\nc\nd\ne\nf\n", "produce", "gt", bk, "--partition", "0")
	mustCLI(t, "x\ny\n", "produce", "gt", bk, "--partition", "1")

	// Not a group yet.
	if _, _, err := runCLI(t, "", "group", "describe", "g1", bk); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("describe an unknown group: %v", err)
	}
	out, _ := mustCLI(t, "", "consume", "gt", bk, "--group", "g1", "--from-beginning", "-e")
	if n := len(strings.Fields(out)); n != 8 {
		t.Fatalf("consumed %q", out)
	}

	out, _ = mustCLI(t, "", "group", "list", bk)
	if strings.TrimSpace(out) != "g1" {
		t.Fatalf("group list: %q", out)
	}
	out, _ = mustCLI(t, "", "group", "list", "--state", bk)
	if f := strings.Fields(out); len(f) != 4 || f[2] != "g1" || f[3] != "Empty" {
		t.Fatalf("group list --state: %q", out)
	}
	rows := describeRows(t, bk, "g1")
	if len(rows) != 2 {
		t.Fatalf("describe rows %v", rows)
	}
	for _, r := range rows {
		// GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID
		want := map[string]string{"0": "6", "1": "2"}[r[2]]
		if len(r) != 9 || r[0] != "g1" || r[1] != "gt" || r[3] != want || r[4] != want || r[5] != "0" || r[6] != "-" {
			t.Fatalf("describe row %v", r)
		}
	}
	out, _ = mustCLI(t, "", "group", "describe", "g1", "--state", bk)
	if !strings.Contains(out, "Empty") || !strings.Contains(out, "ASSIGNMENT-STRATEGY") {
		t.Fatalf("describe --state: %q", out)
	}
	out, _ = mustCLI(t, "", "group", "describe", "g1", "--members", bk)
	if !strings.Contains(out, "Consumer group 'g1' has no active members.") {
		t.Fatalf("describe --members: %q", out)
	}

	// Dry run by default: printed, not committed.
	out, errOut := mustCLI(t, "", "group", "reset-offsets", "g1", "--topic", "gt", "--to-earliest", bk)
	if !strings.Contains(out, "NEW-OFFSET") || !strings.Contains(errOut, "No action will be performed") {
		t.Fatalf("dry run: %q %q", out, errOut)
	}
	if got := committedCol(t, bk, "g1"); got["0"] != "6" || got["1"] != "2" {
		t.Fatalf("a dry run changed the commits: %v", got)
	}
	mustCLI(t, "", "group", "reset-offsets", "g1", "--topic", "gt:0", "--shift-by", "-4", "--execute", bk)
	if got := committedCol(t, bk, "g1"); got["0"] != "2" || got["1"] != "2" {
		t.Fatalf("after --shift-by -4 on partition 0: %v", got)
	}
	mustCLI(t, "", "group", "reset-offsets", "g1", "--all-topics", "--to-offset", "99", "--execute", bk)
	if got := committedCol(t, bk, "g1"); got["0"] != "6" || got["1"] != "2" {
		t.Fatalf("after --to-offset 99 (clamped to the ends): %v", got)
	}
	mustCLI(t, "", "group", "reset-offsets", "g1", "--topic", "gt", "--to-earliest", "--execute", bk)
	out, _ = mustCLI(t, "", "consume", "gt", bk, "--group", "g1", "-e")
	if n := len(strings.Fields(out)); n != 8 {
		t.Fatalf("after a reset to the earliest the group read %q", out)
	}
	for _, bad := range [][]string{
		{"--topic", "gt"}, // no strategy
		{"--topic", "gt", "--to-earliest", "--to-latest"}, // two
		{"--to-earliest"},                    // no topics
		{"--topic", "gt:7", "--to-earliest"}, // no such partition
		{"--topic", "nope", "--to-earliest"}, // no such topic
		{"--topic", "gt", "--to-earliest", "--execute", "--dry-run"},
	} {
		args := append([]string{"group", "reset-offsets", "g1", bk}, bad...)
		if _, _, err := runCLI(t, "", args...); err == nil {
			t.Errorf("samsa %v accepted", args)
		}
	}

	// A group with a live member cannot be reset, lose its offsets or be
	// deleted.
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.ConsumerGroup("g1"), kgo.ConsumeTopics("gt"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	polling := make(chan struct{})
	go func() {
		defer close(polling)
		for ctx.Err() == nil {
			cl.PollFetches(ctx)
		}
	}()
	waitStable := time.Now().Add(30 * time.Second)
	for {
		// The member is listed as soon as it joins, with no partitions
		// until the rebalance completes and its assignment is synced.
		out, _ = mustCLI(t, "", "group", "describe", "g1", "--members", bk)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) == 2 && strings.Contains(lines[0], "CONSUMER-ID") {
			f := strings.Fields(lines[1])
			if len(f) != 5 || f[0] != "g1" {
				t.Fatalf("describe --members: %q", out)
			}
			if f[4] == "2" {
				break
			}
		}
		if time.Now().After(waitStable) {
			t.Fatalf("the member never got both partitions: %q", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, _, err := runCLI(t, "", "group", "reset-offsets", "g1", "--topic", "gt", "--to-latest", "--execute", bk); err == nil ||
		!strings.Contains(err.Error(), "inactive") {
		t.Fatalf("reset of a live group: %v", err)
	}
	if _, _, err := runCLI(t, "", "group", "delete", "g1", bk); err == nil || !strings.Contains(err.Error(), "NON_EMPTY_GROUP") {
		t.Fatalf("delete a live group: %v", err)
	}
	out, _, err = runCLI(t, "", "group", "delete-offsets", "g1", "--topic", "gt", bk)
	if err == nil || !strings.Contains(out, "GROUP_SUBSCRIBED_TO_TOPIC") {
		t.Fatalf("delete-offsets of a consumed topic: %v %q", err, out)
	}
	cancel()
	<-polling
	cl.Close()

	out, _ = mustCLI(t, "", "group", "delete-offsets", "g1", "--topic", "gt:1", bk)
	if !strings.Contains(out, "Request succeed for deleting offsets from group g1.") || !strings.Contains(out, "Successful") {
		t.Fatalf("delete-offsets: %q", out)
	}
	if got := committedCol(t, bk, "g1"); got["0"] != "6" || len(got) != 1 {
		t.Fatalf("after deleting the offset of partition 1: %v", got)
	}
	out, _ = mustCLI(t, "", "group", "delete", "g1", bk)
	if strings.TrimSpace(out) != "Deletion of requested consumer groups ('g1') was successful." {
		t.Fatalf("delete: %q", out)
	}
	if out, _ := mustCLI(t, "", "group", "list", bk); strings.TrimSpace(out) != "" {
		t.Fatalf("groups left after the delete: %q", out)
	}
	if _, _, err := runCLI(t, "", "group", "delete", "g1", bk); err == nil || !strings.Contains(err.Error(), "GROUP_ID_NOT_FOUND") {
		t.Fatalf("delete a deleted group: %v", err)
	}
}
