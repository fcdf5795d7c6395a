package record

import "fmt"

// compress returns the records block encoded with codec. Only CodecNone is
// wired here so far; the other codecs arrive with codecs.go.
func compress(codec Codec, raw []byte) ([]byte, error) {
	switch codec {
	case CodecNone:
		return raw, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrUnsupportedCodec, codec)
}
