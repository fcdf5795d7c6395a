package cli

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ErrInvalid is wrapped by every error this package returns for a flag
// value it cannot use; the wrapping message names the value.
var ErrInvalid = errors.New("cli: invalid value")

// DefaultBrokers is where the client tools look for a broker when neither
// --brokers nor SAMSA_BROKERS says otherwise: where `samsa serve` listens
// with no flags.
const DefaultBrokers = "127.0.0.1:9092"

// SplitBrokers splits a comma-separated bootstrap list ("a:9092,b:9092"),
// dropping blanks. It returns an error for an empty list.
func SplitBrokers(s string) ([]string, error) {
	var out []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: empty broker list %q", ErrInvalid, s)
	}
	return out, nil
}

// ParseAcks maps an acks setting as Kafka spells it ("all", "-1", "1", "0")
// to franz-go's. franz-go's idempotent producer needs acks=all, so
// idempotent reports whether the setting allows it.
func ParseAcks(s string) (acks kgo.Acks, idempotent bool, err error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "all", "-1":
		return kgo.AllISRAcks(), true, nil
	case "1", "leader":
		return kgo.LeaderAck(), false, nil
	case "0", "none":
		return kgo.NoAck(), false, nil
	}
	return kgo.Acks{}, false, fmt.Errorf("%w: acks %q (want all, -1, 1 or 0)", ErrInvalid, s)
}

// ParseCompression maps a compression.type name (none, gzip, snappy, lz4,
// zstd) to a franz-go codec.
func ParseCompression(s string) (kgo.CompressionCodec, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "none", "", "uncompressed":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("%w: compression %q (want none, gzip, snappy, lz4 or zstd)", ErrInvalid, s)
}

// ParseKeyValue splits "k=v" at the first '='. The value may be empty; the
// key may not.
func ParseKeyValue(s string) (key, value string, err error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return "", "", fmt.Errorf("%w: %q is not key=value", ErrInvalid, s)
	}
	return k, v, nil
}

// ParseHeaders turns repeated --header k=v flags into record headers, in
// order (Kafka allows repeated header keys, so duplicates are kept).
func ParseHeaders(kvs []string) ([]kgo.RecordHeader, error) {
	hs := make([]kgo.RecordHeader, 0, len(kvs))
	for _, kv := range kvs {
		k, v, err := ParseKeyValue(kv)
		if err != nil {
			return nil, fmt.Errorf("header: %w", err)
		}
		hs = append(hs, kgo.RecordHeader{Key: k, Value: []byte(v)})
	}
	return hs, nil
}

// ParseTimestamp reads a point in time as RFC 3339 (2024-05-01T12:00:00Z,
// fractional seconds allowed) or as Unix milliseconds, and returns Unix
// milliseconds, the unit Kafka timestamps use.
func ParseTimestamp(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		if ms < 0 {
			return 0, fmt.Errorf("%w: timestamp %q is negative", ErrInvalid, s)
		}
		return ms, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, fmt.Errorf("%w: timestamp %q (want RFC 3339 like 2024-05-01T12:00:00Z, or Unix milliseconds)", ErrInvalid, s)
	}
	return t.UnixMilli(), nil
}

// StartKind says which kind of position a StartOffset names.
type StartKind uint8

const (
	// StartAtEnd starts at the end of each partition, or At (<= 0)
	// records before it.
	StartAtEnd StartKind = iota
	// StartAtBeginning starts at each partition's log start offset.
	StartAtBeginning
	// StartAtOffset starts at the absolute offset At.
	StartAtOffset
	// StartAtTime starts at the first record stamped at or after At
	// (Unix milliseconds).
	StartAtTime
)

// StartOffset is where a consumer begins, decided from the consume flags.
type StartOffset struct {
	Kind StartKind
	// At is the offset (StartAtOffset), the timestamp in Unix ms
	// (StartAtTime), or how far before the end, as a number <= 0
	// (StartAtEnd).
	At int64
}

// Offset returns the franz-go offset to start or reset at.
func (s StartOffset) Offset() kgo.Offset {
	switch s.Kind {
	case StartAtBeginning:
		return kgo.NewOffset().AtStart()
	case StartAtOffset:
		return kgo.NewOffset().At(s.At)
	case StartAtTime:
		return kgo.NewOffset().AfterMilli(s.At)
	}
	if s.At < 0 {
		return kgo.NewOffset().AtEnd().Relative(s.At)
	}
	return kgo.NewOffset().AtEnd()
}

// Position returns the offset this start resolves to in a partition whose
// log starts at logStart and ends at end (the next offset to be written).
// byTime is the partition's first offset at or after the timestamp
// (ListOffsets by time), or -1 when there is none; it is only read for
// StartAtTime. The result is always within [logStart, end].
func (s StartOffset) Position(logStart, end, byTime int64) int64 {
	clamp := func(v int64) int64 { return max(logStart, min(v, end)) }
	switch s.Kind {
	case StartAtBeginning:
		return logStart
	case StartAtOffset:
		return clamp(s.At)
	case StartAtTime:
		if byTime < 0 {
			return end
		}
		return clamp(byTime)
	}
	return clamp(end + min(s.At, 0))
}

// String says in words where consumption starts.
func (s StartOffset) String() string {
	switch s.Kind {
	case StartAtBeginning:
		return "the beginning"
	case StartAtOffset:
		return "offset " + strconv.FormatInt(s.At, 10)
	case StartAtTime:
		return "timestamp " + strconv.FormatInt(s.At, 10)
	}
	if s.At < 0 {
		return strconv.FormatInt(-s.At, 10) + " before the end"
	}
	return "the end"
}

// ParseStartOffset decides where a consumer starts from the three mutually
// exclusive flags: fromBeginning, offset ("earliest"/"beginning",
// "latest"/"end", an absolute offset N >= 0, or -N for N records before
// the end, as kcat's -o), and fromTimestamp (see ParseTimestamp). With none
// set, consumption starts at the end, as Kafka's console consumer does.
func ParseStartOffset(fromBeginning bool, offset, fromTimestamp string) (StartOffset, error) {
	set := 0
	for _, b := range []bool{fromBeginning, offset != "", fromTimestamp != ""} {
		if b {
			set++
		}
	}
	if set > 1 {
		return StartOffset{}, fmt.Errorf("%w: use only one of --from-beginning, --offset and --from-timestamp", ErrInvalid)
	}
	switch {
	case fromBeginning:
		return StartOffset{Kind: StartAtBeginning}, nil
	case fromTimestamp != "":
		ms, err := ParseTimestamp(fromTimestamp)
		if err != nil {
			return StartOffset{}, err
		}
		return StartOffset{Kind: StartAtTime, At: ms}, nil
	case offset != "":
		switch strings.ToLower(strings.TrimSpace(offset)) {
		case "earliest", "beginning", "start", "oldest":
			return StartOffset{Kind: StartAtBeginning}, nil
		case "latest", "end", "newest":
			return StartOffset{Kind: StartAtEnd}, nil
		}
		n, err := strconv.ParseInt(strings.TrimSpace(offset), 10, 64)
		if err != nil || n == math.MinInt64 {
			return StartOffset{}, fmt.Errorf("%w: offset %q (want earliest, latest, N or -N)", ErrInvalid, offset)
		}
		if n < 0 {
			return StartOffset{Kind: StartAtEnd, At: n}, nil
		}
		return StartOffset{Kind: StartAtOffset, At: n}, nil
	}
	return StartOffset{Kind: StartAtEnd}, nil
}

// ParseSize reads a byte size: a plain number or one with a K, M or G
// suffix (powers of 1024, optional trailing B or iB: 1KiB, 1K, 1024).
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(t, "IB")
	t = strings.TrimSuffix(t, "B")
	mult := int64(1)
	switch {
	case strings.HasSuffix(t, "K"):
		mult, t = 1<<10, t[:len(t)-1]
	case strings.HasSuffix(t, "M"):
		mult, t = 1<<20, t[:len(t)-1]
	case strings.HasSuffix(t, "G"):
		mult, t = 1<<30, t[:len(t)-1]
	}
	n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%w: size %q (want a number of bytes, optionally with K, M or G)", ErrInvalid, s)
	}
	return n * mult, nil
}
