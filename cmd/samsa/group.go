package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-streaming/samsa/internal/cli"
)

func init() { extraCommands = append(extraCommands, newGroupCmd) }

// The group commands are kafka-consumer-groups.sh's --list, --describe,
// --delete, --reset-offsets and --delete-offsets as subcommands, with its
// column names and messages where a script might read them.
func newGroupCmd() *cobra.Command {
	f := &topicFlags{}
	cmd := &cobra.Command{
		Use:   "group",
		Short: "List, describe, delete consumer groups and reset their offsets",
		Long: `Manage consumer groups on any Kafka-protocol cluster (Samsa or Apache
Kafka) with the standard requests (ListGroups, DescribeGroups, OffsetFetch,
OffsetCommit, DeleteGroups, OffsetDelete), as kafka-consumer-groups.sh does.`,
	}
	f.register(cmd.PersistentFlags())
	cmd.PersistentFlags().DurationVar(&f.timeout, "timeout", 30*time.Second, "how long to wait for the cluster to answer")
	cmd.AddCommand(newGroupListCmd(f), newGroupDescribeCmd(f), newGroupDeleteCmd(f),
		newGroupResetOffsetsCmd(f), newGroupDeleteOffsetsCmd(f))
	return cmd
}

func newGroupListCmd(f *topicFlags) *cobra.Command {
	var state bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List consumer groups, one per line (with --state: and their state)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.admin(cmd.Context(), func(ctx context.Context, adm *kadm.Client) error {
				groups, err := adm.ListGroups(ctx)
				if err != nil {
					return fmt.Errorf("list groups: %w", err)
				}
				out := cmd.OutOrStdout()
				if !state {
					for _, g := range groups.Groups() {
						fmt.Fprintln(out, g)
					}
					return nil
				}
				tw := tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)
				fmt.Fprintln(tw, "GROUP\tSTATE")
				for _, g := range groups.Sorted() {
					fmt.Fprintf(tw, "%s\t%s\n", g.Group, dash(g.State))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&state, "state", false, "show each group's state (Stable, Empty ...)")
	return cmd
}

func newGroupDescribeCmd(f *topicFlags) *cobra.Command {
	var members, state bool
	cmd := &cobra.Command{
		Use:   "describe GROUP...",
		Short: "Show a group's committed offsets and lag per partition, its members or its state",
		Long: `Without flags, print one line per partition the group has committed offsets
for or is assigned: GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG
CONSUMER-ID HOST CLIENT-ID, as kafka-consumer-groups.sh --describe does
("-" where there is no commit or no member). --members lists the members
and how many partitions each is assigned; --state prints the group's
coordinator, assignment strategy, state and member count.`,
		Example: `  samsa group describe orders
  samsa group describe orders --members
  samsa group describe orders billing --state`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, groups []string) error {
			if members && state {
				return errors.New("--members and --state exclude each other")
			}
			return f.admin(cmd.Context(), func(ctx context.Context, adm *kadm.Client) error {
				return describeGroups(ctx, cmd.OutOrStdout(), adm, groups, members, state)
			})
		},
	}
	cmd.Flags().BoolVar(&members, "members", false, "list the members instead of the offsets")
	cmd.Flags().BoolVar(&state, "state", false, "print the group's state instead of the offsets")
	return cmd
}

func describeGroups(ctx context.Context, w io.Writer, adm *kadm.Client, groups []string, members, state bool) error {
	lags, err := adm.Lag(ctx, groups...)
	if err != nil {
		return fmt.Errorf("describe groups: %w", err)
	}
	var errs []error
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, g := range groups {
		l, ok := lags[g]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("describe group %s: no answer for it", g))
			continue
		case l.DescribeErr != nil:
			errs = append(errs, fmt.Errorf("describe group %s: %w", g, l.DescribeErr))
			continue
		case l.State == "Dead":
			// A group the coordinator does not know describes as Dead.
			errs = append(errs, fmt.Errorf("consumer group '%s' does not exist", g))
			continue
		}
		switch {
		case state:
			fmt.Fprintln(tw, "\nGROUP\tCOORDINATOR (ID)\tASSIGNMENT-STRATEGY\tSTATE\t#MEMBERS")
			coord := fmt.Sprintf("%s:%d (%d)", l.Coordinator.Host, l.Coordinator.Port, l.Coordinator.NodeID)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", g, coord, dash(l.Protocol), l.State, len(l.Members))
		case members:
			if len(l.Members) == 0 {
				fmt.Fprintf(tw, "\nConsumer group '%s' has no active members.\n", g)
				continue
			}
			fmt.Fprintln(tw, "\nGROUP\tCONSUMER-ID\tHOST\tCLIENT-ID\t#PARTITIONS")
			for _, m := range l.Members {
				n := 0
				if c, ok := m.Assigned.AsConsumer(); ok {
					for _, t := range c.Topics {
						n += len(t.Partitions)
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", g, m.MemberID, m.ClientHost, m.ClientID, n)
			}
		default:
			if l.FetchErr != nil {
				errs = append(errs, fmt.Errorf("fetch offsets of group %s: %w", g, l.FetchErr))
				continue
			}
			if len(l.Members) == 0 {
				fmt.Fprintf(tw, "\nConsumer group '%s' has no active members.\n", g)
			}
			fmt.Fprintln(tw, "\nGROUP\tTOPIC\tPARTITION\tCURRENT-OFFSET\tLOG-END-OFFSET\tLAG\tCONSUMER-ID\tHOST\tCLIENT-ID")
			for _, ml := range l.Lag.Sorted() {
				if ml.Member == nil && ml.Commit.At < 0 {
					// kadm lists every partition of a topic with a
					// commit; Kafka's tool lists only committed or
					// assigned ones.
					continue
				}
				cur, end, lag := "-", "-", "-"
				if ml.Commit.At >= 0 {
					cur = strconv.FormatInt(ml.Commit.At, 10)
				}
				if ml.End.Err == nil {
					end = strconv.FormatInt(ml.End.Offset, 10)
				}
				if ml.Commit.At >= 0 && ml.Lag >= 0 {
					lag = strconv.FormatInt(ml.Lag, 10)
				}
				id, host, client := "-", "-", "-"
				if ml.Member != nil {
					id, host, client = ml.Member.MemberID, ml.Member.ClientHost, ml.Member.ClientID
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", g, ml.Topic, ml.Partition, cur, end, lag, id, host, client)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func newGroupDeleteCmd(f *topicFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "delete GROUP...",
		Short: "Delete consumer groups and their committed offsets (they must have no members)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, groups []string) error {
			return f.admin(cmd.Context(), func(ctx context.Context, adm *kadm.Client) error {
				resps, err := adm.DeleteGroups(ctx, groups...)
				if err != nil {
					return fmt.Errorf("delete groups: %w", err)
				}
				var ok []string
				var errs []error
				for _, g := range groups {
					r, found := resps[g]
					switch {
					case !found:
						errs = append(errs, fmt.Errorf("group '%s': no answer for it in the response", g))
					case r.Err != nil:
						// Kafka's tool: "Group 'g' could not be deleted due to: ..."
						errs = append(errs, fmt.Errorf("group '%s' could not be deleted due to: %w", g, r.Err))
					default:
						ok = append(ok, "'"+g+"'")
					}
				}
				if len(ok) > 0 {
					fmt.Fprintf(cmd.OutOrStdout(), "Deletion of requested consumer groups (%s) was successful.\n", strings.Join(ok, ", "))
				}
				return errors.Join(errs...)
			})
		},
	}
}

// topicPartitionsFlag resolves --topic values (TOPIC or TOPIC:P,P) against
// the topics' metadata into the partitions they name; every topic and
// partition named must exist. A topic named without partitions anywhere
// means all of its partitions.
func topicPartitionsFlag(ctx context.Context, adm *kadm.Client, specs []string) (kadm.TopicsSet, error) {
	var topics []string
	whole := map[string]bool{}
	some := map[string][]int32{}
	for _, s := range specs {
		t, ps, err := cli.ParseTopicPartitions(s)
		if err != nil {
			return nil, fmt.Errorf("--topic: %w", err)
		}
		if !whole[t] && some[t] == nil {
			topics = append(topics, t)
		}
		if ps == nil {
			whole[t] = true
		} else {
			some[t] = append(some[t], ps...)
		}
	}
	md, err := adm.Metadata(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	set := kadm.TopicsSet{}
	for _, t := range topics {
		td, ok := md.Topics[t]
		switch {
		case !ok:
			return nil, fmt.Errorf("topic %s: %w", t, kerr.UnknownTopicOrPartition)
		case td.Err != nil:
			return nil, fmt.Errorf("topic %s: %w", t, td.Err)
		case whole[t]:
			set.Add(t, td.Partitions.Numbers()...)
			continue
		}
		for _, p := range some[t] {
			if _, ok := td.Partitions[p]; !ok {
				return nil, fmt.Errorf("topic %s has no partition %d", t, p)
			}
			set.Add(t, p)
		}
	}
	return set, nil
}

func newGroupResetOffsetsCmd(f *topicFlags) *cobra.Command {
	var (
		rf        cli.ResetFlags
		topics    []string
		allTopics bool
		execute   bool
		dryRun    bool
	)
	cmd := &cobra.Command{
		Use:   "reset-offsets GROUP",
		Short: "Move a group's committed offsets (dry run unless --execute)",
		Long: `Compute new committed offsets for the partitions named by --topic (TOPIC for
all its partitions, TOPIC:P,P for some) or, with --all-topics, every topic
the group has committed offsets for, and print them as GROUP TOPIC
PARTITION NEW-OFFSET. Nothing changes unless --execute is given, as with
kafka-consumer-groups.sh. Offsets outside a partition's range are clamped
to its log start or end. The group must have no active members: a running
member would overwrite the reset with its next commit.

Exactly one strategy: --to-earliest, --to-latest, --to-current (commit the
current position; partitions without a commit go to the end), --to-offset
N, --shift-by N (from the committed offset; negative goes back),
--to-datetime TIME (the first record at or after TIME: RFC 3339 or Unix
ms).`,
		Example: `  samsa group reset-offsets orders --topic orders --to-earliest --execute
  samsa group reset-offsets orders --topic orders:0,1 --shift-by -100
  samsa group reset-offsets orders --all-topics --to-datetime 2024-05-01T00:00:00Z --execute`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := cli.ParseResetSpec(rf)
			if err != nil {
				return err
			}
			if (len(topics) > 0) == allTopics {
				return errors.New("give --topic (repeatable) or --all-topics")
			}
			if execute && dryRun {
				return errors.New("--execute and --dry-run exclude each other")
			}
			return f.admin(cmd.Context(), func(ctx context.Context, adm *kadm.Client) error {
				return resetOffsets(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), adm, args[0], spec, topics, execute)
			})
		},
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&topics, "topic", nil, "TOPIC or TOPIC:P,P,... to reset (repeatable)")
	fs.BoolVar(&allTopics, "all-topics", false, "reset every topic the group has committed offsets for")
	fs.BoolVar(&rf.ToEarliest, "to-earliest", false, "reset to each partition's log start")
	fs.BoolVar(&rf.ToLatest, "to-latest", false, "reset to each partition's end")
	fs.BoolVar(&rf.ToCurrent, "to-current", false, "reset to the committed offset (partitions without one: the end)")
	fs.StringVar(&rf.ToOffset, "to-offset", "", "reset to this offset")
	fs.StringVar(&rf.ShiftBy, "shift-by", "", "move the committed offset by this many records (negative: back)")
	fs.StringVar(&rf.ToDatetime, "to-datetime", "", "reset to the first record at or after this time (RFC 3339 or Unix ms)")
	fs.BoolVar(&execute, "execute", false, "commit the new offsets")
	fs.BoolVar(&dryRun, "dry-run", false, "only print the new offsets (the default)")
	return cmd
}

func resetOffsets(ctx context.Context, stdout, stderr io.Writer, adm *kadm.Client, group string, spec cli.ResetSpec, topics []string, execute bool) error {
	described, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return fmt.Errorf("describe group %s: %w", group, err)
	}
	d := described[group]
	if d.Err != nil {
		return fmt.Errorf("describe group %s: %w", group, d.Err)
	}
	if d.State != "Empty" && d.State != "Dead" {
		return fmt.Errorf("assignments can only be reset if the group '%s' is inactive, but the current state is %s", group, d.State)
	}
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return fmt.Errorf("fetch offsets of group %s: %w", group, err)
	}
	if err := committed.Error(); err != nil {
		return fmt.Errorf("fetch offsets of group %s: %w", group, err)
	}
	var set kadm.TopicsSet
	if len(topics) > 0 {
		if set, err = topicPartitionsFlag(ctx, adm, topics); err != nil {
			return err
		}
	} else {
		set = kadm.TopicsSet{}
		committed.Each(func(o kadm.OffsetResponse) { set.Add(o.Topic, o.Partition) })
		if len(set) == 0 {
			return fmt.Errorf("group %s has no committed offsets to reset", group)
		}
	}
	names := set.Topics()
	starts, err := adm.ListStartOffsets(ctx, names...)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return fmt.Errorf("list start offsets: %w", err)
	}
	ends, err := adm.ListEndOffsets(ctx, names...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("list end offsets: %w", err)
	}
	var byTime kadm.ListedOffsets
	if spec.NeedsTimes() {
		if byTime, err = adm.ListOffsetsAfterMilli(ctx, spec.N, names...); err != nil {
			return fmt.Errorf("list offsets by time: %w", err)
		}
	}

	next := kadm.Offsets{}
	var errs []error
	for _, tp := range set.Sorted() {
		for _, p := range tp.Partitions {
			cur := int64(-1)
			if c, ok := committed.Lookup(tp.Topic, p); ok && c.Err == nil {
				cur = c.At
			}
			start, _ := starts.Lookup(tp.Topic, p)
			end, _ := ends.Lookup(tp.Topic, p)
			at := int64(-1)
			if lo, ok := byTime.Lookup(tp.Topic, p); ok && lo.Err == nil {
				at = lo.Offset
			}
			off, ok := spec.Target(cur, start.Offset, end.Offset, at)
			if !ok {
				errs = append(errs, fmt.Errorf("cannot shift the offset of %s-%d: the group has no committed offset there", tp.Topic, p))
				continue
			}
			next.Add(kadm.Offset{Topic: tp.Topic, Partition: p, At: off, LeaderEpoch: -1})
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if execute {
		resps, err := adm.CommitOffsets(ctx, group, next)
		if err != nil {
			return fmt.Errorf("commit offsets of group %s: %w", group, err)
		}
		if err := resps.Error(); err != nil {
			return fmt.Errorf("commit offsets of group %s: %w", group, err)
		}
	} else {
		fmt.Fprintln(stderr, "WARN: No action will be performed as the --execute option is missing. In a future major release, the default behavior of this command will be to prompt the user before executing the reset rather than doing a dry run. You should add the --dry-run option explicitly if you are scripting this command and want to keep the current default behavior without prompting.")
	}
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "\nGROUP\tTOPIC\tPARTITION\tNEW-OFFSET")
	for _, o := range next.Sorted() {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", group, o.Topic, o.Partition, o.At)
	}
	return tw.Flush()
}

func newGroupDeleteOffsetsCmd(f *topicFlags) *cobra.Command {
	var topics []string
	cmd := &cobra.Command{
		Use:   "delete-offsets GROUP",
		Short: "Delete a group's committed offsets for some topics or partitions",
		Long: `Delete the group's committed offsets of the partitions named by --topic
(TOPIC for all its partitions, TOPIC:P,P for some), with OffsetDelete. The
coordinator refuses partitions that a member of the group is consuming.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(topics) == 0 {
				return errors.New("give --topic (repeatable)")
			}
			group := args[0]
			return f.admin(cmd.Context(), func(ctx context.Context, adm *kadm.Client) error {
				set, err := topicPartitionsFlag(ctx, adm, topics)
				if err != nil {
					return err
				}
				resps, err := adm.DeleteOffsets(ctx, group, set)
				if err != nil {
					return fmt.Errorf("delete offsets of group %s: %w", group, err)
				}
				type row struct {
					topic string
					p     int32
					err   error
				}
				var rows []row
				failed := false
				for t, ps := range resps {
					for p, err := range ps {
						rows = append(rows, row{t, p, err})
						failed = failed || err != nil
					}
				}
				sort.Slice(rows, func(i, j int) bool {
					if rows[i].topic != rows[j].topic {
						return rows[i].topic < rows[j].topic
					}
					return rows[i].p < rows[j].p
				})
				out := cmd.OutOrStdout()
				if failed {
					fmt.Fprintf(out, "Request succeed for deleting offsets from group %s, with errors on some partitions.\n", group)
				} else {
					fmt.Fprintf(out, "Request succeed for deleting offsets from group %s.\n", group)
				}
				tw := tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)
				fmt.Fprintln(tw, "\nTOPIC\tPARTITION\tSTATUS")
				var errs []error
				for _, r := range rows {
					status := "Successful"
					if r.err != nil {
						status = "Error: " + r.err.Error()
						errs = append(errs, fmt.Errorf("delete offset of %s-%d: %w", r.topic, r.p, r.err))
					}
					fmt.Fprintf(tw, "%s\t%d\t%s\n", r.topic, r.p, status)
				}
				if err := tw.Flush(); err != nil {
					errs = append(errs, err)
				}
				return errors.Join(errs...)
			})
		},
	}
	cmd.Flags().StringArrayVar(&topics, "topic", nil, "TOPIC or TOPIC:P,P,... (repeatable)")
	return cmd
}

// dash prints "-" for an empty value, as Kafka's tools do.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
