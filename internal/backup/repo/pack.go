package repo

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Pack layout: the stored blobs back to back, then the encrypted header,
// then the header's stored length as 4 bytes little-endian. The header's
// plaintext is one 42-byte entry per blob, in pack order:
//
//	type (1) | flags (1, bit 0: compressed) | length (4 LE) | raw length (4 LE) | blob ID (32)
//
// A blob's offset is the sum of the lengths before it. The pack's name is
// the SHA-256 of the whole file.
const (
	headerEntrySize = 42
	// maxPackBlobs bounds the blobs of one pack, and so its header.
	maxPackBlobs = 1 << 16
	// maxBlobSize bounds one blob's plaintext.
	maxBlobSize = 256 << 20
	// maxHeaderSize bounds a stored header.
	maxHeaderSize = maxPackBlobs*headerEntrySize + overhead
)

// packPath is a pack's object name: data/xx/<id> or tree/xx/<id>.
func packPath(t BlobType, id ID) string {
	s := id.String()
	return t.String() + "/" + s[:2] + "/" + s
}

// hashWriter writes to w and hashes what it writes with SHA-256.
type hashWriter struct {
	w io.Writer
	h hash.Hash
}

func newHashWriter(w io.Writer) *hashWriter { return &hashWriter{w: w, h: sha256.New()} }

func (hw *hashWriter) Write(p []byte) (int, error) {
	n, err := hw.w.Write(p)
	hw.h.Write(p[:n])
	return n, err
}

func (hw *hashWriter) sum() ID {
	var id ID
	hw.h.Sum(id[:0])
	return id
}

// packer assembles one pack in a temporary file. Its owner (the
// Repository's packer slot, under packMu) serialises calls.
type packer struct {
	t     BlobType
	f     *os.File
	bw    *bufio.Writer
	hw    *hashWriter
	off   int64
	blobs []blobEntry
}

func newPacker(dir string, t BlobType) (*packer, error) {
	f, err := os.CreateTemp(dir, "ferry-pack-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("repo: temporary pack: %w", err)
	}
	hw := newHashWriter(f)
	return &packer{t: t, f: f, hw: hw, bw: bufio.NewWriterSize(hw, 1<<20)}, nil
}

// add appends one stored blob.
func (p *packer) add(id ID, stored []byte, rawLen int, compressed bool) error {
	if _, err := p.bw.Write(stored); err != nil {
		return fmt.Errorf("repo: temporary pack: %w", err)
	}
	p.blobs = append(p.blobs, blobEntry{ID: id, Offset: p.off, Length: int64(len(stored)),
		RawLength: int64(rawLen), Compressed: compressed})
	p.off += int64(len(stored))
	return nil
}

func (p *packer) full(target int64) bool { return p.off >= target || len(p.blobs) >= maxPackBlobs }

// finish writes the header and trailer and returns the pack's entry; the
// file is then complete, named by the returned ID.
func (p *packer) finish(c *crypter) (packEntry, error) {
	hdr, err := c.seal(nil, encodeHeader(p.t, p.blobs))
	if err != nil {
		return packEntry{}, err
	}
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(len(hdr)))
	if _, err := p.bw.Write(hdr); err != nil {
		return packEntry{}, fmt.Errorf("repo: temporary pack: %w", err)
	}
	if err := p.bw.Flush(); err != nil {
		return packEntry{}, fmt.Errorf("repo: temporary pack: %w", err)
	}
	return packEntry{ID: p.hw.sum(), Type: p.t, Size: p.off + int64(len(hdr)), Blobs: p.blobs}, nil
}

// discard removes the temporary file.
func (p *packer) discard() {
	p.f.Close()
	os.Remove(p.f.Name())
}

func encodeHeader(t BlobType, blobs []blobEntry) []byte {
	b := make([]byte, 0, len(blobs)*headerEntrySize)
	for _, e := range blobs {
		var flags byte
		if e.Compressed {
			flags = 1
		}
		b = append(b, byte(t), flags)
		b = binary.LittleEndian.AppendUint32(b, uint32(e.Length))
		b = binary.LittleEndian.AppendUint32(b, uint32(e.RawLength))
		b = append(b, e.ID[:]...)
	}
	return b
}

// decodeHeader parses a header's plaintext for a pack of size bytes whose
// stored header is hdrLen bytes, checking that the blobs fill the pack
// exactly and are all of one type.
func decodeHeader(b []byte, size, hdrLen int64) (packEntry, error) {
	var p packEntry
	if len(b)%headerEntrySize != 0 || len(b) == 0 {
		return p, fmt.Errorf("header of %d bytes is not whole entries", len(b))
	}
	var off int64
	for len(b) > 0 {
		t, flags := BlobType(b[0]), b[1]
		if !t.valid() || flags > 1 {
			return p, fmt.Errorf("header entry %d: bad type %d or flags %d", len(p.Blobs), b[0], flags)
		}
		if p.Type == 0 {
			p.Type = t
		} else if t != p.Type {
			return p, fmt.Errorf("header entry %d: %s blob in a %s pack", len(p.Blobs), t, p.Type)
		}
		e := blobEntry{Offset: off, Length: int64(binary.LittleEndian.Uint32(b[2:])),
			RawLength: int64(binary.LittleEndian.Uint32(b[6:])), Compressed: flags == 1}
		copy(e.ID[:], b[10:42])
		if e.Length < overhead {
			return p, fmt.Errorf("header entry %d: length %d too short", len(p.Blobs), e.Length)
		}
		off += e.Length
		p.Blobs = append(p.Blobs, e)
		b = b[headerEntrySize:]
	}
	if off+hdrLen+4 != size {
		return p, fmt.Errorf("blobs end at %d, header of %d bytes and 4-byte trailer do not make the pack's %d bytes", off, hdrLen, size)
	}
	p.Size = size
	return p, nil
}

// readPackHeader reads the header of pack id (size bytes) with ranged
// reads of its tail, and checks it.
func (r *Repository) readPackHeader(ctx context.Context, t BlobType, id ID, size int64) (packEntry, error) {
	name := packPath(t, id)
	if size > maxPackSize {
		return packEntry{}, fmt.Errorf("repo: %s: %w: %d bytes is larger than a pack may be", name, ErrCorrupt, size)
	}
	if size < 4+overhead+headerEntrySize {
		return packEntry{}, fmt.Errorf("repo: %s: %w: %d bytes is too short for a pack", name, ErrCorrupt, size)
	}
	tail := min(size, 16<<10)
	b, err := r.readRange(ctx, name, size-tail, tail)
	if err != nil {
		return packEntry{}, err
	}
	hdrLen := int64(binary.LittleEndian.Uint32(b[len(b)-4:]))
	if hdrLen > maxHeaderSize || hdrLen+4 > size {
		return packEntry{}, fmt.Errorf("repo: %s: %w: header length %d does not fit", name, ErrCorrupt, hdrLen)
	}
	if hdrLen+4 > tail {
		if b, err = r.readRange(ctx, name, size-4-hdrLen, hdrLen+4); err != nil {
			return packEntry{}, err
		}
	}
	sealed := b[len(b)-4-int(hdrLen) : len(b)-4]
	plain, err := r.c.open(nil, sealed)
	if err != nil {
		return packEntry{}, fmt.Errorf("repo: %s: header: %w: %w", name, ErrCorrupt, err)
	}
	p, err := decodeHeader(plain, size, hdrLen)
	if err != nil {
		return packEntry{}, fmt.Errorf("repo: %s: header: %w: %w", name, ErrCorrupt, err)
	}
	if p.Type != t {
		return packEntry{}, fmt.Errorf("repo: %s: %w: holds %s blobs", name, ErrCorrupt, p.Type)
	}
	p.ID = id
	return p, nil
}

// readRange reads exactly length bytes at off of object name.
func (r *Repository) readRange(ctx context.Context, name string, off, length int64) ([]byte, error) {
	rc, err := r.be.Open(ctx, name, off, length)
	if err != nil {
		return nil, fmt.Errorf("repo: read %s: %w", name, err)
	}
	defer rc.Close()
	b := make([]byte, length)
	if _, err := io.ReadFull(rc, b); err != nil {
		return nil, fmt.Errorf("repo: read %s at %d+%d: %w", name, off, length, err)
	}
	r.st.objectsRead.Add(1)
	r.st.bytesDownloaded.Add(length)
	return b, nil
}

// upload stores a finished pack from its temporary file and records it
// in the index. A tree pack's file moves into the local cache.
func (r *Repository) upload(ctx context.Context, p *packer, e packEntry) error {
	defer p.discard()
	if _, err := p.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("repo: temporary pack: %w", err)
	}
	name := packPath(e.Type, e.ID)
	// A Seeker, so the backup's pacer can rewind it and retry.
	if _, err := r.be.Put(ctx, name, io.NewSectionReader(p.f, 0, e.Size), e.Size, time.Now()); err != nil {
		return fmt.Errorf("repo: write %s: %w", name, err)
	}
	r.st.objectsWritten.Add(1)
	r.st.bytesUploaded.Add(e.Size)
	if e.Type == TreeBlob && r.cache != nil {
		dst := r.cache.path(name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err == nil {
			if err := os.Rename(p.f.Name(), dst); err != nil {
				r.log.Debug("local cache: tree pack not kept", "name", name, "err", err)
			}
		}
	}
	r.mu.Lock()
	r.idx.addPack(e)
	for _, b := range e.Blobs {
		delete(r.pending, blobKey{e.Type, b.ID})
	}
	r.fresh = append(r.fresh, e)
	r.mu.Unlock()
	return nil
}
