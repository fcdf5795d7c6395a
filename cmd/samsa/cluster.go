package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { extraCommands = append(extraCommands, newClusterCmd) }

// clients is topicFlags.admin for commands that also send raw kmsg
// requests kadm has no helper for (DescribeCluster, DescribeConfigs with
// its read-only flag, ApiVersions to a chosen broker): fn gets the franz-go
// client and an admin client over it, both closed afterwards, under the
// --timeout deadline.
func (f *topicFlags) clients(parent context.Context, fn func(context.Context, *kgo.Client, *kadm.Client) error) error {
	cl, err := f.newClient()
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(parent, f.timeout)
	defer cancel()
	adm := kadm.NewClient(cl)
	adm.SetTimeoutMillis(int32(f.timeout.Milliseconds()))
	err = fn(ctx, cl, adm)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer from %s within %s: %w", f.brokers, f.timeout, err)
	}
	return err
}

// The cluster commands are the read-only views of kafka-cluster.sh
// cluster-id, kafka-broker-api-versions.sh and kafka-log-dirs.sh
// --describe, with tables instead of Java's toString and JSON.
func newClusterCmd() *cobra.Command {
	f := &topicFlags{}
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Show the cluster's id, controller and brokers, their API versions and log dirs",
		Long: `Inspect any Kafka-protocol cluster (Samsa or Apache Kafka) with the standard
requests: DescribeCluster (describe), ApiVersions (api-versions) and
DescribeLogDirs (log-dirs). Nothing here changes the cluster.`,
	}
	f.register(cmd.PersistentFlags())
	cmd.PersistentFlags().DurationVar(&f.timeout, "timeout", 30*time.Second, "how long to wait for the cluster to answer")
	cmd.AddCommand(newClusterDescribeCmd(f), newClusterAPIVersionsCmd(f), newClusterLogDirsCmd(f))
	return cmd
}

func newClusterDescribeCmd(f *topicFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "describe",
		Short: "Show the cluster id, the controller and every broker (id, host:port, rack)",
		Long: `Print the cluster id, the id of the active controller and one line per live
broker with its advertised host:port and rack (- when it has none), from a
DescribeCluster request; a broker too old for DescribeCluster (before Kafka
2.8) is asked with Metadata instead.`,
		Example: `  samsa cluster describe
  samsa cluster describe --brokers kafka-1:9092`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.clients(cmd.Context(), func(ctx context.Context, cl *kgo.Client, adm *kadm.Client) error {
				id, controller, brokers, err := describeCluster(ctx, cl, adm)
				if err != nil {
					return err
				}
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "Cluster ID: %s\nController: %s\n\n", id, leaderString(controller))
				tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
				fmt.Fprintln(tw, "BROKER\tHOST:PORT\tRACK")
				for _, b := range brokers {
					fmt.Fprintf(tw, "%d\t%s\t%s\n", b.NodeID, hostPort(b.Host, b.Port), rackString(b.Rack))
				}
				return tw.Flush()
			})
		},
	}
}

// describeCluster asks for DescribeCluster, falling back to Metadata for
// brokers that predate it. Brokers come back sorted by id.
func describeCluster(ctx context.Context, cl *kgo.Client, adm *kadm.Client) (clusterID string, controller int32, brokers kadm.BrokerDetails, err error) {
	req := kmsg.NewPtrDescribeClusterRequest()
	resp, err := req.RequestWith(ctx, cl)
	if err == nil {
		if e := kerr.ErrorForCode(resp.ErrorCode); e != nil {
			return "", 0, nil, fmt.Errorf("describe cluster: %w", withMessage(e, derefString(resp.ErrorMessage)))
		}
		for _, b := range resp.Brokers {
			brokers = append(brokers, kadm.BrokerDetail{NodeID: b.NodeID, Host: b.Host, Port: b.Port, Rack: b.Rack})
		}
		sort.Slice(brokers, func(i, j int) bool { return brokers[i].NodeID < brokers[j].NodeID })
		return resp.ClusterID, resp.ControllerID, brokers, nil
	}
	if !isTooOld(err) {
		return "", 0, nil, fmt.Errorf("describe cluster: %w", err)
	}
	md, err := adm.BrokerMetadata(ctx)
	if err != nil {
		return "", 0, nil, fmt.Errorf("metadata: %w", err)
	}
	brokers = append(brokers, md.Brokers...)
	sort.Slice(brokers, func(i, j int) bool { return brokers[i].NodeID < brokers[j].NodeID })
	return md.Cluster, md.Controller, brokers, nil
}

// isTooOld reports whether err is franz-go refusing a request because the
// broker said (in ApiVersions) that it does not serve it, or the broker
// answering UNSUPPORTED_VERSION. franz-go does not export its sentinel for
// the former, so its text is matched.
func isTooOld(err error) bool {
	return errors.Is(err, kerr.UnsupportedVersion) || strings.Contains(err.Error(), "broker is too old")
}

func newClusterAPIVersionsCmd(f *topicFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "api-versions",
		Short: "List the request types and versions each broker serves",
		Long: `Ask every broker for its ApiVersions, as kafka-broker-api-versions.sh does,
and print per broker a table of the API keys it serves: the key, the
request's name, the lowest and highest version the broker accepts, and
USABLE, the version this client would use (the highest both sides know;
"unusable" when the ranges do not meet).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.clients(cmd.Context(), func(ctx context.Context, cl *kgo.Client, adm *kadm.Client) error {
				md, err := adm.BrokerMetadata(ctx)
				if err != nil {
					return fmt.Errorf("metadata: %w", err)
				}
				w := cmd.OutOrStdout()
				var errs []error
				for i, b := range md.Brokers {
					if i > 0 {
						fmt.Fprintln(w)
					}
					fmt.Fprintf(w, "%s (id: %d rack: %s)\n", hostPort(b.Host, b.Port), b.NodeID, rackString(b.Rack))
					req := kmsg.NewPtrApiVersionsRequest()
					req.ClientSoftwareName = "samsa-cli"
					req.ClientSoftwareVersion = "1"
					resp, err := req.RequestWith(ctx, cl.Broker(int(b.NodeID)))
					if err == nil {
						err = kerr.ErrorForCode(resp.ErrorCode)
					}
					if err != nil {
						fmt.Fprintf(w, "error: %v\n", err)
						errs = append(errs, fmt.Errorf("api versions of broker %d: %w", b.NodeID, err))
						continue
					}
					if err := writeAPIVersions(w, resp.ApiKeys); err != nil {
						return err
					}
				}
				return errors.Join(errs...)
			})
		},
	}
}

// writeAPIVersions prints one broker's ApiVersions as a table sorted by key.
func writeAPIVersions(w io.Writer, keys []kmsg.ApiVersionsResponseApiKey) error {
	keys = append([]kmsg.ApiVersionsResponseApiKey(nil), keys...)
	sort.Slice(keys, func(i, j int) bool { return keys[i].ApiKey < keys[j].ApiKey })
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tNAME\tMIN\tMAX\tUSABLE")
	for _, k := range keys {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%s\n", k.ApiKey, apiName(k.ApiKey), k.MinVersion, k.MaxVersion, usableVersion(k))
	}
	return tw.Flush()
}

// apiName is Kafka's name for a request key, or UNKNOWN(key) for a key
// this client does not know.
func apiName(key int16) string {
	if n := kmsg.NameForKey(key); n != "" && n != "Unknown" {
		return n
	}
	return "UNKNOWN(" + strconv.Itoa(int(key)) + ")"
}

// usableVersion is the version a request of this key would be sent at: the
// highest version both this client and the broker know.
func usableVersion(k kmsg.ApiVersionsResponseApiKey) string {
	req := kmsg.RequestForKey(k.ApiKey)
	if req == nil {
		return "unknown"
	}
	v := min(req.MaxVersion(), k.MaxVersion)
	if v < k.MinVersion {
		return "unusable"
	}
	return strconv.Itoa(int(v))
}

func newClusterLogDirsCmd(f *topicFlags) *cobra.Command {
	var (
		topics  []string
		brokers []int32
	)
	cmd := &cobra.Command{
		Use:   "log-dirs",
		Short: "Show each broker's log dirs and the size and lag of the partitions in them",
		Long: `Describe the log dirs of every broker (or of --broker ones) with
DescribeLogDirs, as kafka-log-dirs.sh --describe does, but as a table: one
row per partition replica with the dir it lives in, its size in bytes, its
offset lag (how far the replica's log end is behind the high watermark; 0
on the leader) and whether it is a future replica being moved between dirs.
A dir holding none of the partitions asked about gets one row with "-" in
the partition columns. With --topic only those topics' partitions are
listed.`,
		Example: `  samsa cluster log-dirs
  samsa cluster log-dirs --topic orders --topic audit --broker 1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.clients(cmd.Context(), func(ctx context.Context, _ *kgo.Client, adm *kadm.Client) error {
				return describeLogDirs(ctx, cmd.OutOrStdout(), adm, topics, brokers)
			})
		},
	}
	cmd.Flags().StringArrayVar(&topics, "topic", nil, "list only this topic's partitions (repeatable; default: every partition)")
	cmd.Flags().Int32SliceVar(&brokers, "broker", nil, "describe only this broker id's dirs (repeatable or comma-separated; default: every broker)")
	return cmd
}

func describeLogDirs(ctx context.Context, w io.Writer, adm *kadm.Client, topics []string, brokers []int32) error {
	var set kadm.TopicsSet // nil: every partition
	if len(topics) > 0 {
		md, err := adm.Metadata(ctx, topics...)
		if err != nil {
			return fmt.Errorf("metadata: %w", err)
		}
		set = kadm.TopicsSet{}
		for _, t := range topics {
			td, ok := md.Topics[t]
			switch {
			case !ok:
				return fmt.Errorf("topic %s: %w", t, kerr.UnknownTopicOrPartition)
			case td.Err != nil:
				return fmt.Errorf("topic %s: %w", t, td.Err)
			}
			for p := range td.Partitions {
				set.Add(t, p)
			}
		}
	}
	var dirs []kadm.DescribedLogDir
	var errs []error
	if len(brokers) == 0 {
		all, err := adm.DescribeAllLogDirs(ctx, set)
		if err != nil {
			// *ShardErrors: some brokers failed; show the others.
			errs = append(errs, fmt.Errorf("describe log dirs: %w", err))
		}
		dirs = all.Sorted()
	} else {
		for _, b := range brokers {
			ds, err := adm.DescribeBrokerLogDirs(ctx, b, set)
			if err != nil {
				errs = append(errs, fmt.Errorf("describe log dirs of broker %d: %w", b, unknownBrokerHint(err, b)))
				continue
			}
			dirs = append(dirs, ds.Sorted()...)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "BROKER\tDIR\tTOPIC\tPARTITION\tSIZE\tOFFSET-LAG\tFUTURE")
	for _, d := range dirs {
		if d.Err != nil {
			errs = append(errs, fmt.Errorf("broker %d dir %s: %w", d.Broker, d.Dir, d.Err))
			fmt.Fprintf(tw, "%d\t%s\t-\t-\t-\t-\t-\n", d.Broker, d.Dir)
			continue
		}
		ps := d.Topics.Sorted()
		if len(ps) == 0 {
			fmt.Fprintf(tw, "%d\t%s\t-\t-\t-\t-\t-\n", d.Broker, d.Dir)
		}
		for _, p := range ps {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%d\t%t\n", d.Broker, d.Dir, p.Topic, p.Partition, p.Size, p.OffsetLag, p.IsFuture)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// unknownBrokerHint says what franz-go's bare "unknown broker" (which it
// does not export, and which kadm wraps in its shard errors) means: the id
// named on the command line is not in the cluster's metadata.
func unknownBrokerHint(err error, id int32) error {
	if err != nil && strings.HasSuffix(err.Error(), "unknown broker") {
		return fmt.Errorf("%w (no broker with id %d in the cluster; samsa cluster describe lists them)", err, id)
	}
	return err
}

func hostPort(host string, port int32) string {
	return net.JoinHostPort(host, strconv.Itoa(int(port)))
}

// rackString prints a broker's rack, "-" when it has none (Kafka prints
// null).
func rackString(rack *string) string {
	if rack == nil || *rack == "" {
		return "-"
	}
	return *rack
}

func derefString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
