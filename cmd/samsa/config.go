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
	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/cli"
)

func init() { extraCommands = append(extraCommands, newConfigCmd) }

// The config commands are kafka-configs.sh --describe and --alter for the
// config resources that have one (topics, a broker, the cluster-wide
// broker defaults), with its filters, its --add-config list syntax and its
// messages.
func newConfigCmd() *cobra.Command {
	f := &topicFlags{}
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Describe and alter topic and broker configs",
		Long: `Read and change the dynamic configs of a topic (--topic T), of one broker
(--broker ID) or the cluster-wide broker defaults (--broker-defaults) on any
Kafka-protocol cluster (Samsa or Apache Kafka), with DescribeConfigs and
IncrementalAlterConfigs, as kafka-configs.sh --describe and --alter do.
Config names are Kafka's (retention.ms, cleanup.policy, log.retention.ms ...).`,
	}
	f.register(cmd.PersistentFlags())
	cmd.PersistentFlags().DurationVar(&f.timeout, "timeout", 30*time.Second, "how long to wait for the cluster to answer")
	cmd.AddCommand(newConfigDescribeCmd(f), newConfigAlterCmd(f))
	return cmd
}

// configTarget is the resource a config command works on, from the
// --topic / --broker / --broker-defaults flags.
type configTarget struct {
	topic          string
	broker         string
	brokerDefaults bool
}

func (t *configTarget) register(fs *pflag.FlagSet) {
	fs.StringVar(&t.topic, "topic", "", "the topic whose configs to use")
	fs.StringVar(&t.broker, "broker", "", "the broker (by node id) whose configs to use")
	fs.BoolVar(&t.brokerDefaults, "broker-defaults", false, "the cluster-wide broker defaults, which every broker uses unless it has its own value")
}

// configResource is a resolved configTarget.
type configResource struct {
	typ  kmsg.ConfigResourceType
	name string // topic name, broker id, or "" for the broker defaults
	// dynamic is the source of the values set on exactly this resource:
	// what describe lists without --all, and what --delete may remove.
	dynamic kmsg.ConfigSource
}

func (t *configTarget) resolve() (configResource, error) {
	n := 0
	for _, set := range []bool{t.topic != "", t.broker != "", t.brokerDefaults} {
		if set {
			n++
		}
	}
	if n != 1 {
		return configResource{}, errors.New("name exactly one of --topic TOPIC, --broker ID and --broker-defaults")
	}
	switch {
	case t.topic != "":
		return configResource{kmsg.ConfigResourceTypeTopic, t.topic, kmsg.ConfigSourceDynamicTopicConfig}, nil
	case t.broker != "":
		if _, err := strconv.ParseInt(t.broker, 10, 32); err != nil {
			// kafka-configs.sh's message.
			return configResource{}, fmt.Errorf("the entity name for brokers must be a valid integer broker id, found: %s", t.broker)
		}
		return configResource{kmsg.ConfigResourceTypeBroker, t.broker, kmsg.ConfigSourceDynamicBrokerConfig}, nil
	}
	return configResource{kmsg.ConfigResourceTypeBroker, "", kmsg.ConfigSourceDynamicDefaultBrokerConfig}, nil
}

// String names the resource as kafka-configs.sh's messages do.
func (r configResource) String() string {
	switch {
	case r.typ == kmsg.ConfigResourceTypeTopic:
		return "topic " + r.name
	case r.name == "":
		return "the broker defaults"
	}
	return "broker " + r.name
}

// configEntry is one described config. kadm.Config lacks the read-only
// flag, so describe sends DescribeConfigs itself and keeps the whole entry.
type configEntry struct {
	kadm.Config
	readOnly bool
}

// describeResourceConfigs returns every config of r, sorted by name.
func describeResourceConfigs(ctx context.Context, cl *kgo.Client, r configResource) ([]configEntry, error) {
	req := kmsg.NewPtrDescribeConfigsRequest()
	res := kmsg.NewDescribeConfigsRequestResource()
	res.ResourceType, res.ResourceName = r.typ, r.name
	req.Resources = append(req.Resources, res)
	// franz-go sends a request for one broker's configs to that broker,
	// which is the only one that can answer it.
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		if r.typ == kmsg.ConfigResourceTypeBroker && r.name != "" {
			id, _ := strconv.ParseInt(r.name, 10, 32)
			err = unknownBrokerHint(err, int32(id))
		}
		return nil, fmt.Errorf("describe configs of %s: %w", r, err)
	}
	if len(resp.Resources) != 1 {
		return nil, fmt.Errorf("describe configs of %s: %d resources in the response, want 1", r, len(resp.Resources))
	}
	rr := resp.Resources[0]
	if err := kerr.ErrorForCode(rr.ErrorCode); err != nil {
		return nil, fmt.Errorf("describe configs of %s: %w", r, withMessage(err, derefString(rr.ErrorMessage)))
	}
	out := make([]configEntry, 0, len(rr.Configs))
	for _, c := range rr.Configs {
		out = append(out, configEntry{
			Config:   kadm.Config{Key: c.Name, Value: c.Value, Sensitive: c.IsSensitive, Source: c.Source},
			readOnly: c.ReadOnly,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func newConfigDescribeCmd(f *topicFlags) *cobra.Command {
	var (
		target configTarget
		all    bool
	)
	cmd := &cobra.Command{
		Use:   "describe (--topic TOPIC | --broker ID | --broker-defaults) [--all]",
		Short: "List a topic's or broker's configs with their source and read-only flag",
		Long: `List the configs of one resource as a table: NAME, VALUE ("(sensitive)"
for passwords and keys, which brokers never send), SOURCE (where the value
comes from: DYNAMIC_TOPIC_CONFIG, DYNAMIC_BROKER_CONFIG,
DYNAMIC_DEFAULT_BROKER_CONFIG, STATIC_BROKER_CONFIG, DEFAULT_CONFIG ...) and
READ-ONLY (true when it cannot be changed without a restart).

Like kafka-configs.sh --describe, only the values set dynamically on that
very resource are listed (the topic's overrides; the broker's own dynamic
configs; the cluster-wide defaults) unless --all is given, which lists
every config with its effective value.`,
		Example: `  samsa config describe --topic orders
  samsa config describe --broker 1 --all
  samsa config describe --broker-defaults`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := target.resolve()
			if err != nil {
				return err
			}
			return f.clients(cmd.Context(), func(ctx context.Context, cl *kgo.Client, _ *kadm.Client) error {
				entries, err := describeResourceConfigs(ctx, cl, r)
				if err != nil {
					return err
				}
				return writeConfigs(cmd.OutOrStdout(), r, entries, all)
			})
		},
	}
	target.register(cmd.Flags())
	cmd.Flags().BoolVar(&all, "all", false, "list every config with its effective value, not only those set dynamically on this resource")
	return cmd
}

// writeConfigs prints kafka-configs.sh's heading for r, then the entries
// (all of them, or those set on r) as a table.
func writeConfigs(w io.Writer, r configResource, entries []configEntry, all bool) error {
	switch {
	case r.typ == kmsg.ConfigResourceTypeBroker && r.name == "":
		fmt.Fprintln(w, "Default configs for brokers in the cluster are:")
	case all:
		fmt.Fprintf(w, "All configs for %s are:\n", r)
	default:
		fmt.Fprintf(w, "Dynamic configs for %s are:\n", r)
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVALUE\tSOURCE\tREAD-ONLY")
	for _, e := range entries {
		if !all && e.Source != r.dynamic {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%t\n", e.Key, configValue(e.Config), e.Source, e.readOnly)
	}
	return tw.Flush()
}

func newConfigAlterCmd(f *topicFlags) *cobra.Command {
	var (
		target       configTarget
		sets, dels   []string
		validateOnly bool
	)
	cmd := &cobra.Command{
		Use:   "alter (--topic TOPIC | --broker ID | --broker-defaults) [--set k=v[,k=v]] [--delete k[,k]]",
		Short: "Set or delete dynamic configs of a topic, a broker or the broker defaults",
		Long: `Change configs with one IncrementalAlterConfigs request, as kafka-configs.sh
--alter does: --set is its --add-config (SET each key to the value) and
--delete its --delete-config (DELETE the key, so the resource falls back to
the next source: a topic to the broker's value, a broker to the
cluster-wide default, the default to the static or built-in value).

--set takes comma-separated key=value pairs; a value that holds commas (a
list such as cleanup.policy=compact,delete) goes in square brackets:
--set cleanup.policy=[compact,delete]. --delete takes comma-separated names,
each of which must be set dynamically on the resource (samsa config
describe lists them), or nothing is sent. Both flags repeat.

The broker validates the result as a whole and changes all or nothing; its
refusal is printed with its message (INVALID_CONFIG: Invalid value ... for
configuration ...) and the command exits non-zero. --validate-only asks the
broker to check the change without applying it.`,
		Example: `  samsa config alter --topic orders --set retention.ms=86400000,cleanup.policy=[compact,delete]
  samsa config alter --topic orders --delete retention.ms
  samsa config alter --broker-defaults --set log.retention.ms=604800000
  samsa config alter --broker 1 --set log.cleaner.threads=2 --validate-only`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := target.resolve()
			if err != nil {
				return err
			}
			toSet, err := cli.ParseConfigSets(sets)
			if err != nil {
				return fmt.Errorf("--set: %w", err)
			}
			toDelete, err := cli.ParseConfigDeletes(dels)
			if err != nil {
				return fmt.Errorf("--delete: %w", err)
			}
			if len(toSet)+len(toDelete) == 0 {
				return errors.New("nothing to change: give --set key=value or --delete key")
			}
			for _, e := range toSet {
				for _, d := range toDelete {
					if e.Key == d {
						return fmt.Errorf("config %s is both set and deleted", d)
					}
				}
			}
			// Deletes first, then sets, in one request, as kafka-configs.sh.
			alters := make([]kadm.AlterConfig, 0, len(toSet)+len(toDelete))
			for _, k := range toDelete {
				alters = append(alters, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: k})
			}
			for _, e := range toSet {
				alters = append(alters, kadm.AlterConfig{Op: kadm.SetConfig, Name: e.Key, Value: kadm.StringPtr(e.Value)})
			}
			return f.clients(cmd.Context(), func(ctx context.Context, cl *kgo.Client, adm *kadm.Client) error {
				if len(toDelete) > 0 {
					if err := checkDeletable(ctx, cl, r, toDelete); err != nil {
						return err
					}
				}
				if err := alterResourceConfigs(ctx, adm, r, alters, validateOnly); err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				switch {
				case validateOnly:
					fmt.Fprintf(out, "Validated the config changes for %s; nothing was changed.\n", r)
				case r.typ == kmsg.ConfigResourceTypeBroker && r.name == "":
					fmt.Fprintln(out, "Completed updating default config for brokers in the cluster.")
				default:
					fmt.Fprintf(out, "Completed updating config for %s.\n", r)
				}
				return nil
			})
		},
	}
	target.register(cmd.Flags())
	cmd.Flags().StringArrayVar(&sets, "set", nil, "configs to set: key=value[,key=value...]; bracket a value with commas: key=[a,b] (repeatable)")
	cmd.Flags().StringArrayVar(&dels, "delete", nil, "configs to delete, back to the inherited value: key[,key...] (repeatable)")
	cmd.Flags().BoolVar(&validateOnly, "validate-only", false, "have the broker validate the change without applying it")
	return cmd
}

// checkDeletable refuses, as kafka-configs.sh does, to delete configs that
// are not set dynamically on r: such a delete would silently do nothing,
// which usually means a typo in the name.
func checkDeletable(ctx context.Context, cl *kgo.Client, r configResource, keys []string) error {
	entries, err := describeResourceConfigs(ctx, cl, r)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	for _, e := range entries {
		if e.Source == r.dynamic {
			set[e.Key] = true
		}
	}
	var missing []string
	for _, k := range keys {
		if !set[k] {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("invalid config(s): %s: not set on %s, nothing to delete", strings.Join(missing, ","), r)
	}
	return nil
}

// alterResourceConfigs sends one IncrementalAlterConfigs for r and returns
// the broker's refusal, with its message, if any.
func alterResourceConfigs(ctx context.Context, adm *kadm.Client, r configResource, alters []kadm.AlterConfig, validateOnly bool) error {
	var (
		resps kadm.AlterConfigsResponses
		err   error
		ids   []int32
	)
	if r.typ == kmsg.ConfigResourceTypeTopic {
		alter := adm.AlterTopicConfigs
		if validateOnly {
			alter = adm.ValidateAlterTopicConfigs
		}
		resps, err = alter(ctx, alters, r.name)
	} else {
		alter := adm.AlterBrokerConfigs
		if validateOnly {
			alter = adm.ValidateAlterBrokerConfigs
		}
		if r.name != "" {
			id, _ := strconv.ParseInt(r.name, 10, 32) // checked by resolve
			ids = append(ids, int32(id))
		}
		resps, err = alter(ctx, alters, ids...)
	}
	if err != nil {
		if len(ids) == 1 {
			err = unknownBrokerHint(err, ids[0])
		}
		return fmt.Errorf("alter configs of %s: %w", r, err)
	}
	resp, err := resps.On(r.name, nil)
	if err != nil {
		return fmt.Errorf("alter configs of %s: no answer for it in the response", r)
	}
	if resp.Err != nil {
		return fmt.Errorf("alter configs of %s: %w", r, withMessage(resp.Err, resp.ErrMessage))
	}
	return nil
}
