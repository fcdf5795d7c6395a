package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/cli"
)

func init() { extraCommands = append(extraCommands, newTopicCmd) }

// topicFlags are shared by every topic subcommand.
type topicFlags struct {
	clientFlags
	timeout time.Duration
}

// admin runs fn with an admin client whose requests are bounded by the
// --timeout flag, closing the client afterwards.
func (f *topicFlags) admin(parent context.Context, fn func(context.Context, *kadm.Client) error) error {
	cl, err := f.newClient()
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(parent, f.timeout)
	defer cancel()
	adm := kadm.NewClient(cl)
	adm.SetTimeoutMillis(int32(f.timeout.Milliseconds()))
	err = fn(ctx, adm)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer from %s within %s: %w", f.brokers, f.timeout, err)
	}
	return err
}

func newTopicCmd() *cobra.Command {
	f := &topicFlags{}
	cmd := &cobra.Command{
		Use:   "topic",
		Short: "Create, list, describe, delete and configure topics",
		Long: `Manage topics on any Kafka-protocol cluster (Samsa or Apache Kafka)
with the standard admin requests (CreateTopics, Metadata, DescribeConfigs,
IncrementalAlterConfigs, DeleteTopics).`,
	}
	f.register(cmd.PersistentFlags())
	cmd.PersistentFlags().DurationVar(&f.timeout, "timeout", 30*time.Second, "how long to wait for the cluster to answer")
	cmd.AddCommand(newTopicCreateCmd(f), newTopicListCmd(f), newTopicDescribeCmd(f),
		newTopicDeleteCmd(f), newTopicAlterConfigCmd(f))
	return cmd
}

func newTopicCreateCmd(f *topicFlags) *cobra.Command {
	var (
		partitions  int32
		rf          int16
		configs     []string
		ifNotExists bool
	)
	cmd := &cobra.Command{
		Use:   "create TOPIC...",
		Short: "Create topics",
		Example: `  samsa topic create demo --partitions 3
  samsa topic create events -p 6 -r 3 --config retention.ms=86400000 --config cleanup.policy=compact`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, topics []string) error {
			cfg := map[string]*string{}
			for _, kv := range configs {
				k, v, err := cli.ParseKeyValue(kv)
				if err != nil {
					return fmt.Errorf("--config: %w", err)
				}
				cfg[k] = kadm.StringPtr(v)
			}
			out := cmd.OutOrStdout()
			return f.admin(cmd.Context(), func(ctx context.Context, adm *kadm.Client) error {
				resps, err := adm.CreateTopics(ctx, partitions, rf, cfg, topics...)
				if err != nil {
					return fmt.Errorf("create topics: %w", err)
				}
				var errs []error
				for _, t := range topics {
					r, ok := resps[t]
					switch {
					case !ok:
						errs = append(errs, fmt.Errorf("create topic %s: no answer for it in the response", t))
					case r.Err != nil && ifNotExists && errors.Is(r.Err, kerr.TopicAlreadyExists):
						fmt.Fprintf(out, "Topic %s already exists.\n", t)
					case r.Err != nil:
						errs = append(errs, fmt.Errorf("create topic %s: %w", t, withMessage(r.Err, r.ErrMessage)))
					default:
						fmt.Fprintf(out, "Created topic %s (%s, replication factor %d).\n", t, plural(int(r.NumPartitions), "partition"), r.ReplicationFactor)
					}
				}
				return errors.Join(errs...)
			})
		},
	}
	cmd.Flags().Int32VarP(&partitions, "partitions", "p", -1, "number of partitions (-1: the broker's num.partitions)")
	cmd.Flags().Int16VarP(&rf, "replication-factor", "r", -1, "replicas per partition (-1: the broker's default.replication.factor)")
	cmd.Flags().StringArrayVarP(&configs, "config", "c", nil, "topic config key=value, e.g. retention.ms=3600000 (repeatable)")
	cmd.Flags().BoolVar(&ifNotExists, "if-not-exists", false, "succeed when the topic already exists")
	return cmd
}

func newTopicListCmd(f *topicFlags) *cobra.Command {
	var internal bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List topic names, one per line",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.admin(cmd.Context(), func(ctx context.Context, adm *kadm.Client) error {
				list := adm.ListTopics
				if internal {
					list = adm.ListTopicsWithInternal
				}
				tds, err := list(ctx)
				if err != nil {
					return fmt.Errorf("list topics: %w", err)
				}
				for _, name := range tds.Names() {
					fmt.Fprintln(cmd.OutOrStdout(), name)
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&internal, "internal", false, "include internal topics (__consumer_offsets ...)")
	return cmd
}

func newTopicDescribeCmd(f *topicFlags) *cobra.Command {
	var allConfigs bool
	cmd := &cobra.Command{
		Use:   "describe [TOPIC...]",
		Short: "Show partitions, leaders, replicas, ISR and configs (with their sources)",
		Long: `Show each topic as kafka-topics.sh --describe does (a topic line, then a
line per partition with its leader, replicas and in-sync replicas), followed
by its configs and where each value comes from (DYNAMIC_TOPIC_CONFIG,
STATIC_BROKER_CONFIG, DEFAULT_CONFIG ...). Only configs that differ from the
built-in default are listed unless --all-configs is given. With no TOPIC,
every non-internal topic is described.`,
		RunE: func(cmd *cobra.Command, topics []string) error {
			return f.admin(cmd.Context(), func(ctx context.Context, adm *kadm.Client) error {
				return describeTopics(ctx, cmd.OutOrStdout(), adm, topics, allConfigs)
			})
		},
	}
	cmd.Flags().BoolVar(&allConfigs, "all-configs", false, "list every config, defaults included")
	return cmd
}

func describeTopics(ctx context.Context, w io.Writer, adm *kadm.Client, topics []string, allConfigs bool) error {
	md, err := adm.Metadata(ctx, topics...)
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	if len(topics) == 0 {
		md.Topics.FilterInternal()
		topics = md.Topics.Names()
	}
	var found []string
	var errs []error
	for _, t := range topics {
		td, ok := md.Topics[t]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("describe topic %s: %w", t, kerr.UnknownTopicOrPartition))
		case td.Err != nil:
			errs = append(errs, fmt.Errorf("describe topic %s: %w", t, td.Err))
		default:
			found = append(found, t)
		}
	}
	var configs kadm.ResourceConfigs
	if len(found) > 0 {
		configs, err = adm.DescribeTopicConfigs(ctx, found...)
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("describe configs: %w", err))...)
		}
	}
	for _, t := range found {
		td := md.Topics[t]
		rc, cerr := configs.On(t, nil)
		if cerr == nil && rc.Err != nil {
			cerr = withMessage(rc.Err, rc.ErrMessage)
		}
		if cerr != nil {
			errs = append(errs, fmt.Errorf("describe configs of %s: %w", t, cerr))
		}
		var overridden []string
		var shown []kadm.Config
		for _, c := range rc.Configs {
			if c.Source != kmsg.ConfigSourceDefaultConfig {
				overridden = append(overridden, c.Key+"="+configValue(c))
			}
			if allConfigs || c.Source != kmsg.ConfigSourceDefaultConfig {
				shown = append(shown, c)
			}
		}
		sort.Strings(overridden)
		sort.Slice(shown, func(i, j int) bool { return shown[i].Key < shown[j].Key })
		fmt.Fprintf(w, "Topic: %s\tTopicId: %s\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: %s\n",
			t, kafkaUUID(td.ID), len(td.Partitions), td.Partitions.NumReplicas(), strings.Join(overridden, ","))
		for _, p := range td.Partitions.Sorted() {
			fmt.Fprintf(w, "\tTopic: %s\tPartition: %d\tLeader: %s\tReplicas: %s\tIsr: %s",
				t, p.Partition, leaderString(p.Leader), joinInt32s(p.Replicas), joinInt32s(p.ISR))
			if len(p.OfflineReplicas) > 0 {
				fmt.Fprintf(w, "\tOffline: %s", joinInt32s(p.OfflineReplicas))
			}
			if p.Err != nil {
				fmt.Fprintf(w, "\tError: %v", p.Err)
			}
			fmt.Fprintln(w)
		}
		for _, c := range shown {
			fmt.Fprintf(w, "\tConfig: %s=%s\tSource: %s\n", c.Key, configValue(c), c.Source)
		}
	}
	return errors.Join(errs...)
}

func newTopicDeleteCmd(f *topicFlags) *cobra.Command {
	var ifExists bool
	cmd := &cobra.Command{
		Use:   "delete TOPIC...",
		Short: "Delete topics and all their records",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, topics []string) error {
			return f.admin(cmd.Context(), func(ctx context.Context, adm *kadm.Client) error {
				resps, err := adm.DeleteTopics(ctx, topics...)
				if err != nil {
					return fmt.Errorf("delete topics: %w", err)
				}
				var errs []error
				for _, t := range topics {
					r, ok := resps[t]
					switch {
					case !ok:
						errs = append(errs, fmt.Errorf("delete topic %s: no answer for it in the response", t))
					case r.Err != nil && ifExists && errors.Is(r.Err, kerr.UnknownTopicOrPartition):
						fmt.Fprintf(cmd.OutOrStdout(), "Topic %s does not exist.\n", t)
					case r.Err != nil:
						errs = append(errs, fmt.Errorf("delete topic %s: %w", t, withMessage(r.Err, r.ErrMessage)))
					default:
						fmt.Fprintf(cmd.OutOrStdout(), "Deleted topic %s.\n", t)
					}
				}
				return errors.Join(errs...)
			})
		},
	}
	cmd.Flags().BoolVar(&ifExists, "if-exists", false, "succeed when the topic does not exist")
	return cmd
}

func newTopicAlterConfigCmd(f *topicFlags) *cobra.Command {
	var sets, deletes []string
	cmd := &cobra.Command{
		Use:   "alter-config TOPIC...",
		Short: "Set or remove topic config overrides (IncrementalAlterConfigs)",
		Example: `  samsa topic alter-config demo --set retention.ms=3600000 --set cleanup.policy=compact
  samsa topic alter-config demo --delete retention.ms`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, topics []string) error {
			if len(sets)+len(deletes) == 0 {
				return errors.New("nothing to change: give --set key=value or --delete key")
			}
			var alters []kadm.AlterConfig
			for _, kv := range sets {
				k, v, err := cli.ParseKeyValue(kv)
				if err != nil {
					return fmt.Errorf("--set: %w", err)
				}
				alters = append(alters, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: kadm.StringPtr(v)})
			}
			for _, k := range deletes {
				if k == "" {
					return errors.New("--delete: empty config name")
				}
				alters = append(alters, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: k})
			}
			return f.admin(cmd.Context(), func(ctx context.Context, adm *kadm.Client) error {
				resps, err := adm.AlterTopicConfigs(ctx, alters, topics...)
				if err != nil {
					return fmt.Errorf("alter configs: %w", err)
				}
				var errs []error
				for _, t := range topics {
					r, err := resps.On(t, nil)
					switch {
					case err != nil:
						errs = append(errs, fmt.Errorf("alter configs of %s: no answer for it in the response", t))
					case r.Err != nil:
						errs = append(errs, fmt.Errorf("alter configs of %s: %w", t, withMessage(r.Err, r.ErrMessage)))
					default:
						fmt.Fprintf(cmd.OutOrStdout(), "Altered configs of topic %s.\n", t)
					}
				}
				return errors.Join(errs...)
			})
		},
	}
	cmd.Flags().StringArrayVar(&sets, "set", nil, "config key=value to set (repeatable)")
	cmd.Flags().StringArrayVar(&deletes, "delete", nil, "config key to remove, back to the broker's value (repeatable)")
	return cmd
}

// withMessage adds a broker's error message, when it sent one that says
// more than the error code's own text.
func withMessage(err error, msg string) error {
	if msg == "" || strings.Contains(err.Error(), msg) {
		return err
	}
	return fmt.Errorf("%w (%s)", err, msg)
}

// kafkaUUID prints a topic id as Kafka does (Uuid.toString: URL-safe
// base64 without padding), so ids can be compared with Kafka's tools.
func kafkaUUID(id kadm.TopicID) string {
	return base64.RawURLEncoding.EncodeToString(id[:])
}

func configValue(c kadm.Config) string {
	if c.Sensitive {
		return "(sensitive)"
	}
	if c.Value == nil {
		return "null"
	}
	return *c.Value
}

func leaderString(id int32) string {
	if id < 0 {
		return "none"
	}
	return strconv.Itoa(int(id))
}

func joinInt32s(ids []int32) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(int(id))
	}
	return strings.Join(s, ",")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
