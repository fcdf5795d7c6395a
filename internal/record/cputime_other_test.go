//go:build !unix

package record

import "time"

// processCPU is not measured here; benchmarks then omit their CPU metrics.
func processCPU() time.Duration { return 0 }
