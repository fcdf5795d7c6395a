package metadata

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// snapshotChunkBytes is the size at which a snapshot starts a new frame, so
// that a large image never needs one huge frame (nor a huge read to check
// one checksum).
const snapshotChunkBytes = 1 << 20

// EncodeSnapshot returns the snapshot file bytes for img: the file header,
// frames at img's offset holding img.Records() in chunks, and an empty
// terminating frame. Equal images encode to equal bytes.
func EncodeSnapshot(img *Image) []byte {
	out := appendFileHeader(nil, snapshotMagic)
	var chunk []Record
	size := 0
	for _, r := range img.Records() {
		chunk = append(chunk, r)
		size += len(AppendRecord(nil, r))
		if size >= snapshotChunkBytes {
			out = appendFrame(out, img.offset, chunk)
			chunk, size = chunk[:0], 0
		}
	}
	if len(chunk) > 0 {
		out = appendFrame(out, img.offset, chunk)
	}
	return appendFrame(out, img.offset, nil)
}

// DecodeSnapshot rebuilds an image from snapshot file bytes. A snapshot is
// written atomically, so any damage (a bad header or checksum, a missing
// terminator, bytes after it, records that do not apply) is corruption,
// never a torn write: errors wrap ErrCorrupt.
func DecodeSnapshot(data []byte) (*Image, error) {
	if err := checkFileHeader(data, snapshotMagic); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	pos := fileHeaderSize
	var recs []Record
	offset := int64(-1)
	for {
		off, frame, size, err := readFrame(data[pos:])
		if err != nil {
			return nil, fmt.Errorf("%w: snapshot frame at byte %d: %w", ErrCorrupt, pos, err)
		}
		if offset >= 0 && off != offset {
			return nil, fmt.Errorf("%w: snapshot frame at byte %d has offset %d, earlier frames %d", ErrCorrupt, pos, off, offset)
		}
		offset = off
		pos += size
		if len(frame) == 0 {
			break
		}
		recs = append(recs, frame...)
	}
	if pos != len(data) {
		return nil, fmt.Errorf("%w: %d bytes after the snapshot's last frame", ErrCorrupt, len(data)-pos)
	}
	if offset < 0 {
		return nil, fmt.Errorf("%w: snapshot offset %d", ErrCorrupt, offset)
	}
	if offset == 0 {
		if len(recs) != 0 {
			return nil, fmt.Errorf("%w: snapshot at offset 0 holds records", ErrCorrupt)
		}
		return EmptyImage(), nil
	}
	img, _, err := EmptyImage().Apply(Batch{Offset: offset, Records: recs})
	if err != nil {
		return nil, fmt.Errorf("%w: snapshot: %w", ErrCorrupt, err)
	}
	return img, nil
}

// writeFileAtomic writes data to dir/name through a temporary file: write,
// fsync, rename over name, fsync the directory. A crash leaves either the
// old file or the new one, never a mix.
func writeFileAtomic(dir, name string, data []byte) error {
	tmp := filepath.Join(dir, name+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	_, err = w.Write(data)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

// syncDir fsyncs a directory so that a rename or create in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// readFileIfExists returns a file's bytes, or nil and false when it does not
// exist.
func readFileIfExists(path string) ([]byte, bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return data, true, nil
}
