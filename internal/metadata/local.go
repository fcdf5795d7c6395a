package metadata

import (
	"errors"
	"fmt"
)

// Local is the metadata stack of a single-node broker, wired in the order
// it needs: log dir identities checked (meta.properties), the metadata log
// replayed into a Publisher, and a Controller writing through that log. The
// server can build the same from the parts; Local is that wiring done once.
type Local struct {
	Publisher  *Publisher
	Log        *LocalLog
	Controller *Controller
	// Identity is the cluster ID and the directory IDs of the log dirs.
	Identity LogDirIdentity
}

// OpenLocal verifies (or, on first start, writes) meta.properties in every
// log dir with EnsureMetaProperties(logDirs, cfg.NodeID, clusterID), then
// opens the metadata log in MetadataLogDir(logDirs[0]) and a Controller on
// it. clusterID may be "" to keep the stored one or generate one. Listeners
// subscribed to the returned Publisher see changes from then on; the image
// already replayed is Publisher.Image().
func OpenLocal(logDirs []string, clusterID string, cfg ControllerConfig, opts LocalLogOptions) (*Local, error) {
	if len(logDirs) == 0 {
		return nil, errors.New("metadata: no log directories")
	}
	ident, err := EnsureMetaProperties(logDirs, cfg.NodeID, clusterID, cfg.Random)
	if err != nil {
		return nil, err
	}
	pub := NewPublisher()
	log, err := OpenLocalLog(MetadataLogDir(logDirs[0]), pub, opts)
	if err != nil {
		return nil, fmt.Errorf("metadata: open metadata log: %w", err)
	}
	return &Local{
		Publisher:  pub,
		Log:        log,
		Controller: NewController(log, pub, cfg),
		Identity:   ident,
	}, nil
}

// Close closes the metadata log. Committed changes are already durable.
func (l *Local) Close() error { return l.Log.Close() }
