//go:build unix

package record

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user + system) the process has used,
// for benchmarks that report it beside wall-clock time: on a shared,
// loaded machine wall-clock figures move by 2x between runs, CPU time far
// less.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
