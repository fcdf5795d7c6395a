package replica

// Manager hosts this node's partitions. It is safe for concurrent use.
type Manager struct{}
