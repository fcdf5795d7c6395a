package handler

import (
	"log/slog"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/coordinator/group"
	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/replica"
	"github.com/samsa-streaming/samsa/internal/storage"
)

// Deps are the broker subsystems a Handler serves requests with. The server
// package builds them and owns their lifecycle; the Handler only uses them.
type Deps struct {
	// Logger receives the handler's logs; nil means slog.Default.
	Logger *slog.Logger

	// NodeID is this broker's node.id: the leader id data-plane answers
	// carry and the id a replica fetch is checked against.
	NodeID int32

	// Metadata returns the current cluster metadata image (typically
	// metadata.Publisher.Image: one atomic load, never nil, never blocks).
	// Handlers resolve topic names and IDs through it and take one image
	// per request, so a request sees one consistent view of the cluster.
	Metadata func() *metadata.Image

	// Replicas hosts this node's partitions: the produce and fetch paths,
	// ListOffsets, DeleteRecords and OffsetForLeaderEpoch go through it.
	Replicas *replica.Manager

	// Controller validates and commits admin operations (CreateTopics,
	// DeleteTopics, CreatePartitions, AlterConfigs, IncrementalAlterConfigs
	// and Metadata's topic auto-creation). It returns once the change is
	// committed and published, so the image Metadata returns afterwards
	// includes it.
	Controller *metadata.Controller

	// Config is the broker's configuration: its identity (rack,
	// advertised listeners), auto-creation defaults, topic config
	// resolution and validation, and the dynamic levels DescribeConfigs
	// reports.
	Config *config.BrokerConfig

	// ClusterID is the cluster id of meta.properties, which Metadata and
	// DescribeCluster report.
	ClusterID string

	// Logs is the log manager: DescribeLogDirs lists its log dirs and the
	// partition logs in each.
	Logs *storage.Manager

	// Groups is the group coordinator (consumer groups and committed
	// offsets in __consumer_offsets). Nil means this broker runs none:
	// the group APIs then answer COORDINATOR_NOT_AVAILABLE.
	Groups *group.Coordinator
}
