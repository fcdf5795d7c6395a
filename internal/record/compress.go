package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Decompression limits. A records block is decompressed whole into memory,
// so a few hostile bytes (a "decompression bomb") must not be able to make
// the broker allocate without bound. The limit depends only on the
// compressed size, so a batch that Validate accepted always decompresses
// again later (Records on the stored bytes applies the same limit).
const (
	// MaxUncompressedBytes is the ceiling on the decompressed size of any
	// records block, whatever its compressed size.
	MaxUncompressedBytes = 256 << 20

	// minUncompressedLimit is the limit for small blocks: generous enough
	// for a single large, very compressible record (a 10 MiB value of
	// zeros gzips to about 10 KiB).
	minUncompressedLimit = 16 << 20

	// maxCompressionRatio bounds decompressed/compressed for blocks
	// large enough that minUncompressedLimit no longer dominates. Real
	// record data compresses 2-20x; 256x leaves room for logs that repeat
	// themselves, and MaxUncompressedBytes caps the product.
	maxCompressionRatio = 256

	// maxPooledBuffer is the largest decompression buffer kept for reuse.
	// Bigger ones are left to the garbage collector so that one huge
	// batch does not pin its memory in the pool.
	maxPooledBuffer = 8 << 20

	// zstdMaxWindow is the largest zstd window accepted: 2^27, the
	// default limit of the zstd library Java clients and brokers use
	// (ZSTD_WINDOWLOG_LIMIT_DEFAULT). The window is never allocated on
	// its own: blocks decode straight into the output buffer, which the
	// uncompressed limit bounds.
	zstdMaxWindow = 1 << 27

	// xerialChunkSize is the uncompressed size of each snappy chunk in a
	// xerial stream, as Java's SnappyOutputStream writes by default.
	xerialChunkSize = 32 << 10
)

// UncompressedLimit returns the largest decompressed size accepted for a
// records block of compressedLen bytes: 256 times its size, but at least
// 16 MiB and at most MaxUncompressedBytes. A block that would decompress to
// more is reported as ErrCorrupt, after at most that many bytes were
// produced.
func UncompressedLimit(compressedLen int) int {
	if compressedLen >= MaxUncompressedBytes/maxCompressionRatio {
		return MaxUncompressedBytes
	}
	return max(minUncompressedLimit, compressedLen*maxCompressionRatio)
}

// xerialHeader opens a snappy stream in the xerial framing that Java's
// snappy-java (and so Kafka's Java client) writes: the magic 0x82 "SNAPPY"
// 0x00, then version 1 and minimum compatible version 1 as int32s.
var xerialHeader = [16]byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1}

const xerialMagicLen = 8

// AppendCompressed appends src compressed with codec to dst and returns the
// extended slice. It writes what Kafka's Java client expects to read:
// gzip (one member, default level), snappy in xerial framing (32 KiB
// chunks), an LZ4 frame with independent 64 KiB blocks and no content
// checksum, and a zstd frame (default level). CodecNone appends src as is.
// AppendCompressed is safe for concurrent use; encoders come from pools.
func AppendCompressed(dst []byte, codec Codec, src []byte) ([]byte, error) {
	switch codec {
	case CodecNone:
		return append(dst, src...), nil
	case CodecGzip:
		return appendGzip(dst, src)
	case CodecSnappy:
		return appendXerial(dst, src), nil
	case CodecLz4:
		return appendLz4(dst, src)
	case CodecZstd:
		enc, err := zstdEncoder()
		if err != nil {
			return dst, fmt.Errorf("record: zstd encoder: %w", err)
		}
		return enc.EncodeAll(src, dst), nil
	}
	return dst, fmt.Errorf("%w: %s", ErrUnsupportedCodec, codec)
}

// AppendDecompressed appends the decompressed form of src, a records block
// compressed with codec, to dst and returns the extended slice. At most
// UncompressedLimit(len(src)) bytes are appended: a block that would
// decompress to more is ErrCorrupt, as is one that does not decode.
// Snappy input may be a raw snappy block or xerial-framed. LZ4 input must
// be one frame with independent blocks and nothing after it, as Java's
// reader requires. A codec id above 4 is ErrUnsupportedCodec. On error the
// returned slice holds dst's original bytes and possibly a partial tail;
// its capacity may be reused. AppendDecompressed is safe for concurrent
// use; decoders come from pools.
func AppendDecompressed(dst []byte, codec Codec, src []byte) ([]byte, error) {
	limit := UncompressedLimit(len(src))
	switch codec {
	case CodecNone:
		if len(src) > limit {
			return dst, errTooBig(codec, limit)
		}
		return append(dst, src...), nil
	case CodecGzip:
		return appendGunzip(dst, src, limit)
	case CodecSnappy:
		if len(src) >= xerialMagicLen && string(src[:xerialMagicLen]) == string(xerialHeader[:xerialMagicLen]) {
			return appendUnxerial(dst, src, limit)
		}
		return appendSnappyBlock(dst, src, limit)
	case CodecLz4:
		return appendUnlz4(dst, src, limit)
	case CodecZstd:
		return appendUnzstd(dst, src, limit)
	}
	return dst, fmt.Errorf("%w: %s", ErrUnsupportedCodec, codec)
}

func errTooBig(codec Codec, limit int) error {
	return fmt.Errorf("%w: %s records block decompresses beyond the %d-byte limit", ErrCorrupt, codec, limit)
}

func errDecode(codec Codec, err error) error {
	return fmt.Errorf("%w: %s records block: %v", ErrCorrupt, codec, err)
}

// appendWriter is an io.Writer appending to a slice, so stream encoders
// write straight into the caller's buffer.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// readLimited appends everything r yields to dst, failing once more than
// limit bytes were appended. It grows dst geometrically, never reserving
// much beyond limit.
func readLimited(codec Codec, r io.Reader, dst []byte, limit int) ([]byte, error) {
	base := len(dst)
	for {
		if len(dst) == cap(dst) {
			grow := max(cap(dst)-base, 64<<10)
			grow = min(grow, limit+1-(len(dst)-base))
			dst = slices.Grow(dst, grow)
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if len(dst)-base > limit {
			return dst, errTooBig(codec, limit)
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, errDecode(codec, err)
		}
	}
}

// gzip: writers and readers are pooled with their plumbing.

type gzipEncoder struct {
	w   *gzip.Writer
	out appendWriter
}

var gzipEncoders = sync.Pool{New: func() any {
	e := new(gzipEncoder)
	e.w = gzip.NewWriter(&e.out)
	return e
}}

func appendGzip(dst, src []byte) ([]byte, error) {
	e := gzipEncoders.Get().(*gzipEncoder)
	e.out.b = dst
	e.w.Reset(&e.out)
	_, err := e.w.Write(src)
	if err == nil {
		err = e.w.Close()
	}
	dst = e.out.b
	e.out.b = nil
	gzipEncoders.Put(e)
	if err != nil {
		return dst, fmt.Errorf("record: gzip: %w", err)
	}
	return dst, nil
}

type gzipDecoder struct {
	r   gzip.Reader
	src bytes.Reader
}

var gzipDecoders = sync.Pool{New: func() any { return new(gzipDecoder) }}

func appendGunzip(dst, src []byte, limit int) ([]byte, error) {
	d := gzipDecoders.Get().(*gzipDecoder)
	defer func() {
		d.src.Reset(nil)
		gzipDecoders.Put(d)
	}()
	d.src.Reset(src)
	if err := d.r.Reset(&d.src); err != nil {
		return dst, errDecode(CodecGzip, err)
	}
	return readLimited(CodecGzip, &d.r, dst, limit)
}

// snappy: Kafka's Java client writes xerial framing; librdkafka, franz-go
// and sarama write a raw block. Both decode; blocks are decoded with the
// strict standard-snappy decoder so that nothing is accepted that a Java
// consumer could not read back.

func appendXerial(dst, src []byte) []byte {
	dst = append(dst, xerialHeader[:]...)
	for len(src) > 0 {
		n := min(len(src), xerialChunkSize)
		need := s2.MaxEncodedLen(n)
		dst = slices.Grow(dst, 4+need)
		start := len(dst)
		enc := s2.EncodeSnappy(dst[start+4:start+4+need], src[:n])
		binary.BigEndian.PutUint32(dst[start:start+4], uint32(len(enc)))
		dst = dst[:start+4+len(enc)]
		src = src[n:]
	}
	return dst
}

func appendUnxerial(dst, src []byte, limit int) ([]byte, error) {
	if len(src) < len(xerialHeader) {
		return dst, errDecode(CodecSnappy, fmt.Errorf("xerial header of %d bytes, need %d", len(src), len(xerialHeader)))
	}
	base := len(dst)
	for p := len(xerialHeader); p < len(src); {
		if len(src)-p < 4 {
			return dst, errDecode(CodecSnappy, fmt.Errorf("xerial chunk length truncated at byte %d", p))
		}
		n := int(int32(binary.BigEndian.Uint32(src[p:])))
		p += 4
		if n < 0 || n > len(src)-p {
			return dst, errDecode(CodecSnappy, fmt.Errorf("xerial chunk of %d bytes at byte %d, %d present", n, p-4, len(src)-p))
		}
		var err error
		dst, err = appendSnappyBlock(dst, src[p:p+n], limit-(len(dst)-base))
		if err != nil {
			return dst, err
		}
		p += n
	}
	return dst, nil
}

func appendSnappyBlock(dst, block []byte, limit int) ([]byte, error) {
	n, err := snappy.DecodedLen(block)
	if err != nil {
		return dst, errDecode(CodecSnappy, err)
	}
	if n > limit {
		return dst, errTooBig(CodecSnappy, limit)
	}
	dst = slices.Grow(dst, n)
	if err := snappyBlockDecoder(dst[len(dst):len(dst)+n], block); err != nil {
		return dst, errDecode(CodecSnappy, err)
	}
	return dst[:len(dst)+n], nil
}

// snappyBlockDecoder decodes a snappy block into a slice of exactly its
// decoded length. It is decodeSnappyStrict; benchmarks swap in
// decodeSnappyStrictGo, the pure-Go reference, to compare the two.
var snappyBlockDecoder = decodeSnappyStrict

// lz4: the frame format (magic 2 batches; the broken-checksum variant of
// magic 0/1 is not supported).

type lz4Encoder struct {
	w   *lz4.Writer
	out appendWriter
}

var lz4Encoders = sync.Pool{New: func() any {
	e := new(lz4Encoder)
	e.w = lz4.NewWriter(&e.out)
	// Kafka's Lz4BlockOutputStream: 64 KiB independent blocks, no
	// content checksum. Options are constants and valid, so Apply cannot
	// fail on a fresh writer.
	_ = e.w.Apply(lz4.BlockSizeOption(lz4.Block64Kb), lz4.ChecksumOption(false))
	return e
}}

func appendLz4(dst, src []byte) ([]byte, error) {
	e := lz4Encoders.Get().(*lz4Encoder)
	e.out.b = dst
	e.w.Reset(&e.out)
	_, err := e.w.Write(src)
	if err == nil {
		err = e.w.Close()
	}
	dst = e.out.b
	e.out.b = nil
	e.w.Reset(nil)
	lz4Encoders.Put(e)
	if err != nil {
		return dst, fmt.Errorf("record: lz4: %w", err)
	}
	return dst, nil
}

type lz4Decoder struct {
	r   *lz4.Reader
	src bytes.Reader
}

var lz4Decoders = sync.Pool{New: func() any { return &lz4Decoder{r: lz4.NewReader(nil)} }}

func appendUnlz4(dst, src []byte, limit int) ([]byte, error) {
	if err := checkLz4Frame(src); err != nil {
		return dst, errDecode(CodecLz4, err)
	}
	d := lz4Decoders.Get().(*lz4Decoder)
	defer func() {
		d.r.Reset(nil)
		d.src.Reset(nil)
		lz4Decoders.Put(d)
	}()
	d.src.Reset(src)
	d.r.Reset(&d.src)
	return readLimited(CodecLz4, d.r, dst, limit)
}

// checkLz4Frame walks the frame's structure without decompressing: what
// Java's Lz4BlockInputStream accepts (version 1, no dictionary id,
// independent blocks, block sizes within the declared maximum) and
// exactly one frame spanning all of src, since Java reads one frame and
// would silently drop anything after it. The decoder then checks the
// header checksum, block checksums and the content itself.
func checkLz4Frame(src []byte) error {
	const (
		magic        = 0x184D2204
		flagDictID   = 0x01
		flagReserved = 0x02
		flagContChk  = 0x04
		flagContSize = 0x08
		flagBlockChk = 0x10
		flagIndep    = 0x20
		uncompressed = 0x80000000
	)
	if len(src) < 7 {
		return fmt.Errorf("frame of %d bytes is shorter than a frame header", len(src))
	}
	if m := binary.LittleEndian.Uint32(src); m != magic {
		return fmt.Errorf("frame magic %08x, want %08x", m, magic)
	}
	flg, bd := src[4], src[5]
	if v := flg >> 6; v != 1 {
		return fmt.Errorf("frame version %d, want 1", v)
	}
	if flg&(flagDictID|flagReserved) != 0 {
		return errors.New("frame uses a dictionary id or reserved flag bits")
	}
	if flg&flagIndep == 0 {
		return errors.New("frame has dependent blocks; Kafka requires independent blocks")
	}
	if bd&0x8f != 0 {
		return errors.New("frame block descriptor has reserved bits set")
	}
	sizeIdx := int(bd>>4) & 7
	if sizeIdx < 4 {
		return fmt.Errorf("frame block size id %d, want 4-7", sizeIdx)
	}
	maxBlock := 1 << (2*sizeIdx + 8)
	p := 6
	if flg&flagContSize != 0 {
		p += 8
	}
	p++ // header checksum
	for {
		if len(src)-p < 4 {
			return fmt.Errorf("frame truncated at byte %d", p)
		}
		size := binary.LittleEndian.Uint32(src[p:])
		p += 4
		if size == 0 {
			break
		}
		n := int(size &^ uncompressed)
		if n > maxBlock {
			return fmt.Errorf("block of %d bytes exceeds the frame's %d-byte maximum", n, maxBlock)
		}
		if flg&flagBlockChk != 0 {
			n += 4
		}
		if n > len(src)-p {
			return fmt.Errorf("block of %d bytes at byte %d, %d present", n, p, len(src)-p)
		}
		p += n
	}
	if flg&flagContChk != 0 {
		p += 4
	}
	if p != len(src) {
		return fmt.Errorf("frame ends at byte %d of %d", p, len(src))
	}
	return nil
}

// zstd: one shared encoder (EncodeAll is safe for concurrent use and keeps
// its own bounded set of encoder states) and pooled decoders. Decoders run
// with concurrency 1 so that they start no goroutines and need no Close.

var zstdEncoder = sync.OnceValues(func() (*zstd.Encoder, error) {
	return zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithZeroFrames(true))
})

var zstdDecoders sync.Pool // *zstd.Decoder

func getZstdDecoder() (*zstd.Decoder, error) {
	if d, ok := zstdDecoders.Get().(*zstd.Decoder); ok {
		return d, nil
	}
	d, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxWindow(zstdMaxWindow),
		zstd.WithDecoderMaxMemory(MaxUncompressedBytes),
		zstd.WithDecodeAllCapLimit(true),
	)
	if err != nil {
		return nil, fmt.Errorf("record: zstd decoder: %w", err)
	}
	return d, nil
}

// zstdBlockRoom is the most one zstd block can write (128 KiB) plus the
// decoder's copy slack: when DecodeAll fails with less room than this left
// in its capacity, the failure may be lack of room rather than bad input.
const zstdBlockRoom = 128<<10 + 64

// appendUnzstd decodes with DecodeAll limited to the capacity it is given
// (WithDecodeAllCapLimit), so output never grows past what was reserved: it
// starts from a guess (the frame's declared content size, else 4x the
// input) and quadruples the reservation while the decoder runs out of room,
// up to the limit. The decoder reports lack of room either as
// ErrDecoderSizeExceeded or, from inside a block, as a generic error; the
// latter is told apart from corrupt input by how much room was left.
func appendUnzstd(dst, src []byte, limit int) ([]byte, error) {
	d, err := getZstdDecoder()
	if err != nil {
		return dst, err
	}
	defer zstdDecoders.Put(d)
	base := len(dst)
	want := max(4*len(src), 2*zstdBlockRoom)
	var h zstd.Header
	if h.Decode(src) == nil && h.HasFCS {
		if h.FrameContentSize > uint64(limit) {
			return dst, errTooBig(CodecZstd, limit)
		}
		want = max(want, int(h.FrameContentSize))
	}
	want = min(max(want, cap(dst)-base), limit)
	for {
		dst = slices.Grow(dst[:base], want)
		out, err := d.DecodeAll(src, dst[:base:base+want])
		if err == nil {
			return out, nil
		}
		room := want
		if len(out) >= base {
			room = base + want - len(out)
		}
		if !errors.Is(err, zstd.ErrDecoderSizeExceeded) && room >= zstdBlockRoom {
			return dst[:base], errDecode(CodecZstd, err)
		}
		if want >= limit {
			return dst[:base], errTooBig(CodecZstd, limit)
		}
		want = min(4*want, limit)
	}
}

// decompressBuffer is a pooled buffer for decompressed records blocks.
type decompressBuffer struct{ b []byte }

var decompressBuffers = sync.Pool{New: func() any { return new(decompressBuffer) }}

func getDecompressBuffer() *decompressBuffer {
	return decompressBuffers.Get().(*decompressBuffer)
}

func (d *decompressBuffer) release() {
	if cap(d.b) > maxPooledBuffer {
		d.b = nil
	}
	d.b = d.b[:0]
	decompressBuffers.Put(d)
}

// uncompressedRecords returns the batch's records block, decompressed if
// its codec says so. When buf is non-nil the bytes live in it and the
// caller must call buf.release() once done with them (also on error).
func (b Batch) uncompressedRecords() (data []byte, buf *decompressBuffer, err error) {
	codec := b.Attributes().Codec()
	if codec == CodecNone {
		return b[HeaderSize:], nil, nil
	}
	buf = getDecompressBuffer()
	buf.b, err = AppendDecompressed(buf.b[:0], codec, b[HeaderSize:])
	if err != nil {
		return nil, buf, fmt.Errorf("%w (batch at base offset %d)", err, b.BaseOffset())
	}
	return buf.b, buf, nil
}
