package cli

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// ParseTopicPartitions reads a --topic value of kafka-consumer-groups.sh:
// "TOPIC" (every partition; partitions is nil) or "TOPIC:P,P,..." (those
// partitions, sorted and without duplicates).
func ParseTopicPartitions(s string) (topic string, partitions []int32, err error) {
	topic, list, hasList := strings.Cut(strings.TrimSpace(s), ":")
	if topic == "" {
		return "", nil, fmt.Errorf("%w: topic %q (want TOPIC or TOPIC:P,P,...)", ErrInvalid, s)
	}
	if !hasList {
		return topic, nil, nil
	}
	for _, f := range strings.Split(list, ",") {
		p, err := strconv.ParseInt(strings.TrimSpace(f), 10, 32)
		if err != nil || p < 0 {
			return "", nil, fmt.Errorf("%w: partition %q in %q (want TOPIC:P,P,... with partitions >= 0)", ErrInvalid, f, s)
		}
		partitions = append(partitions, int32(p))
	}
	slices.Sort(partitions)
	return topic, slices.Compact(partitions), nil
}

// ResetKind says where a ResetSpec moves a group's offsets.
type ResetKind uint8

const (
	// ResetToEarliest moves to each partition's log start offset.
	ResetToEarliest ResetKind = iota + 1
	// ResetToLatest moves to each partition's end (high watermark).
	ResetToLatest
	// ResetToCurrent keeps the committed offset (useful to commit an
	// explicit offset where there was none: those go to the end).
	ResetToCurrent
	// ResetToOffset moves to the absolute offset N.
	ResetToOffset
	// ResetShiftBy moves the committed offset by N (negative: back).
	ResetShiftBy
	// ResetToDatetime moves to the first record stamped at or after N
	// (Unix milliseconds).
	ResetToDatetime
)

// ResetSpec is the one reset-offsets strategy the flags chose.
type ResetSpec struct {
	Kind ResetKind
	N    int64 // the offset, shift or timestamp of ResetToOffset, ResetShiftBy, ResetToDatetime
}

// ResetFlags are reset-offsets' mutually exclusive strategy flags as
// given; an empty string is a flag not given.
type ResetFlags struct {
	ToEarliest, ToLatest, ToCurrent bool
	ToOffset, ShiftBy, ToDatetime   string
}

// ParseResetSpec picks the strategy from exactly one of the flags, as
// kafka-consumer-groups.sh --reset-offsets requires.
func ParseResetSpec(f ResetFlags) (ResetSpec, error) {
	var specs []ResetSpec
	if f.ToEarliest {
		specs = append(specs, ResetSpec{Kind: ResetToEarliest})
	}
	if f.ToLatest {
		specs = append(specs, ResetSpec{Kind: ResetToLatest})
	}
	if f.ToCurrent {
		specs = append(specs, ResetSpec{Kind: ResetToCurrent})
	}
	if f.ToOffset != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(f.ToOffset), 10, 64)
		if err != nil || n < 0 {
			return ResetSpec{}, fmt.Errorf("%w: --to-offset %q (want an offset >= 0)", ErrInvalid, f.ToOffset)
		}
		specs = append(specs, ResetSpec{Kind: ResetToOffset, N: n})
	}
	if f.ShiftBy != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(f.ShiftBy), 10, 64)
		if err != nil || n == math.MinInt64 {
			return ResetSpec{}, fmt.Errorf("%w: --shift-by %q (want a number of records, negative to go back)", ErrInvalid, f.ShiftBy)
		}
		specs = append(specs, ResetSpec{Kind: ResetShiftBy, N: n})
	}
	if f.ToDatetime != "" {
		ms, err := ParseTimestamp(f.ToDatetime)
		if err != nil {
			return ResetSpec{}, fmt.Errorf("--to-datetime: %w", err)
		}
		specs = append(specs, ResetSpec{Kind: ResetToDatetime, N: ms})
	}
	if len(specs) != 1 {
		return ResetSpec{}, fmt.Errorf("%w: give exactly one of --to-earliest, --to-latest, --to-current, --to-offset, --shift-by and --to-datetime", ErrInvalid)
	}
	return specs[0], nil
}

// NeedsTimes reports whether Target needs the partitions' offsets by
// time (a ListOffsets by timestamp).
func (r ResetSpec) NeedsTimes() bool { return r.Kind == ResetToDatetime }

// Target returns the offset r moves a partition to, as
// kafka-consumer-groups.sh computes it: committed is the group's
// committed offset (-1: none), logStart and end the partition's bounds,
// byTime its first offset at or after r's timestamp (-1: none, which
// means the end). Offsets outside [logStart, end] are clamped into it,
// as Kafka does (it warns and uses the nearest bound). ok is false when
// the strategy needs a committed offset and there is none (--shift-by).
func (r ResetSpec) Target(committed, logStart, end, byTime int64) (offset int64, ok bool) {
	clamp := func(v int64) int64 { return max(logStart, min(v, end)) }
	switch r.Kind {
	case ResetToEarliest:
		return logStart, true
	case ResetToLatest:
		return end, true
	case ResetToCurrent:
		if committed < 0 {
			// Kafka: partitions without a commit go to the log end.
			return end, true
		}
		return clamp(committed), true
	case ResetToOffset:
		return clamp(r.N), true
	case ResetShiftBy:
		if committed < 0 {
			return 0, false
		}
		sum := committed + r.N
		if r.N > 0 && sum < committed { // overflow
			sum = math.MaxInt64
		}
		return clamp(sum), true
	case ResetToDatetime:
		if byTime < 0 {
			return end, true
		}
		return clamp(byTime), true
	}
	return 0, false
}
