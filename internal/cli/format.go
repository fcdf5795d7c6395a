package cli

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Formatter renders consumed records as text. Build one with ParseFormat.
// A Formatter is immutable and safe for concurrent use.
type Formatter struct {
	json  bool
	parts []part
}

type partKind uint8

const (
	partLiteral partKind = iota
	partTopic
	partPartition
	partOffset
	partTimestamp
	partKey
	partKeyLen
	partValue
	partValueLen
	partHeaders
)

type part struct {
	kind partKind
	lit  string
}

// ParseFormat compiles a --format string (see the package doc for the
// placeholders), or "json" for one JSON object per line. An unknown
// placeholder or a trailing lone '%' is an error, so a typo does not
// silently print garbage.
func ParseFormat(s string) (*Formatter, error) {
	if s == "json" {
		return &Formatter{json: true}, nil
	}
	f := &Formatter{}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			f.parts = append(f.parts, part{kind: partLiteral, lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 == len(s) {
				lit.WriteByte('\\')
				continue
			}
			i++
			switch s[i] {
			case 'n':
				lit.WriteByte('\n')
			case 't':
				lit.WriteByte('\t')
			case 'r':
				lit.WriteByte('\r')
			case '\\':
				lit.WriteByte('\\')
			default:
				// Unknown escapes stay as written.
				lit.WriteByte('\\')
				lit.WriteByte(s[i])
			}
		case '%':
			if i+1 == len(s) {
				return nil, fmt.Errorf("%w: format %q ends with a lone %%", ErrInvalid, s)
			}
			i++
			var k partKind
			switch s[i] {
			case '%':
				lit.WriteByte('%')
				continue
			case 't':
				k = partTopic
			case 'p':
				k = partPartition
			case 'o':
				k = partOffset
			case 'T':
				k = partTimestamp
			case 'k':
				k = partKey
			case 'K':
				k = partKeyLen
			case 's':
				k = partValue
			case 'S':
				k = partValueLen
			case 'h':
				k = partHeaders
			default:
				return nil, fmt.Errorf("%w: format %q has unknown placeholder %%%c (known: %%t %%p %%o %%T %%k %%K %%s %%S %%h %%%%)", ErrInvalid, s, s[i])
			}
			flush()
			f.parts = append(f.parts, part{kind: k})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return f, nil
}

// Append renders r onto dst and returns the extended slice; the caller
// owns both.
func (f *Formatter) Append(dst []byte, r *kgo.Record) []byte {
	if f.json {
		return appendJSON(dst, r)
	}
	for _, p := range f.parts {
		switch p.kind {
		case partLiteral:
			dst = append(dst, p.lit...)
		case partTopic:
			dst = append(dst, r.Topic...)
		case partPartition:
			dst = strconv.AppendInt(dst, int64(r.Partition), 10)
		case partOffset:
			dst = strconv.AppendInt(dst, r.Offset, 10)
		case partTimestamp:
			dst = strconv.AppendInt(dst, r.Timestamp.UnixMilli(), 10)
		case partKey:
			dst = append(dst, r.Key...)
		case partKeyLen:
			dst = appendLen(dst, r.Key)
		case partValue:
			dst = append(dst, r.Value...)
		case partValueLen:
			dst = appendLen(dst, r.Value)
		case partHeaders:
			for i, h := range r.Headers {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = append(dst, h.Key...)
				dst = append(dst, '=')
				dst = append(dst, h.Value...)
			}
		}
	}
	return dst
}

func appendLen(dst, b []byte) []byte {
	if b == nil {
		return append(dst, "-1"...)
	}
	return strconv.AppendInt(dst, int64(len(b)), 10)
}

// jsonRecord is the shape of one --format json line. Bytes that are valid
// UTF-8 travel as strings; others as base64 in the *B64 fields.
type jsonRecord struct {
	Topic       string       `json:"topic"`
	Partition   int32        `json:"partition"`
	Offset      int64        `json:"offset"`
	Timestamp   int64        `json:"timestamp"`
	Key         *string      `json:"key"`
	KeyB64      *string      `json:"key_base64,omitempty"`
	Value       *string      `json:"value"`
	ValueB64    *string      `json:"value_base64,omitempty"`
	Headers     []jsonHeader `json:"headers"`
	LeaderEpoch int32        `json:"leader_epoch"`
}

type jsonHeader struct {
	Key      string  `json:"key"`
	Value    *string `json:"value"`
	ValueB64 *string `json:"value_base64,omitempty"`
}

// textOrB64 splits b into (string, nil) when it is valid UTF-8, (nil,
// base64) when it is not, and (nil, nil) when it is null.
func textOrB64(b []byte) (text, b64 *string) {
	if b == nil {
		return nil, nil
	}
	if utf8.Valid(b) {
		s := string(b)
		return &s, nil
	}
	s := base64.StdEncoding.EncodeToString(b)
	return nil, &s
}

func appendJSON(dst []byte, r *kgo.Record) []byte {
	jr := jsonRecord{
		Topic:       r.Topic,
		Partition:   r.Partition,
		Offset:      r.Offset,
		Timestamp:   r.Timestamp.UnixMilli(),
		Headers:     make([]jsonHeader, 0, len(r.Headers)),
		LeaderEpoch: r.LeaderEpoch,
	}
	jr.Key, jr.KeyB64 = textOrB64(r.Key)
	jr.Value, jr.ValueB64 = textOrB64(r.Value)
	for _, h := range r.Headers {
		jh := jsonHeader{Key: h.Key}
		jh.Value, jh.ValueB64 = textOrB64(h.Value)
		jr.Headers = append(jr.Headers, jh)
	}
	b, err := json.Marshal(jr)
	if err != nil {
		// Marshal of strings, numbers and pointers to strings cannot
		// fail; keep the line well formed if it ever does.
		b = []byte(`{"error":` + strconv.Quote(err.Error()) + `}`)
	}
	dst = append(dst, b...)
	return append(dst, '\n')
}
