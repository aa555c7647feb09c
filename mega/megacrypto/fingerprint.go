package megacrypto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/bits"
)

// Fingerprint layout (mega-protocol.md §4).
const (
	fpSmall   = 8192 // files up to this size are CRCed whole
	fpWindow  = 64   // bytes per sampled window of a large file
	fpWindows = 128  // 4 lanes of 32 windows
)

// Fingerprinter computes the `c` attribute while the file streams past once.
// Create it with the final size; Write must receive exactly size bytes in
// order. It buffers at most 8 KiB.
//
// Files of at most 8 KiB are kept whole; of larger files only the 128
// sampled 64-byte windows are copied as they stream by. A Fingerprinter is
// not safe for concurrent use.
type Fingerprinter struct {
	size int64
	pos  int64            // bytes written so far
	next int              // first window not yet complete (large files)
	offs [fpWindows]int64 // window offsets (large files)
	buf  [fpSmall]byte    // whole small file, or the windows in order
}

// NewFingerprinter starts a fingerprint for a file of the given size. A
// negative size counts as 0.
func NewFingerprinter(size int64) *Fingerprinter {
	f := &Fingerprinter{size: max(size, 0)}
	if f.size > fpSmall {
		span := uint64(f.size - fpWindow)
		for k := range f.offs {
			// span*k/127 as the SDK's unsigned 64-bit arithmetic computes it
			// for any file below 2^56 bytes; the 128-bit product keeps the
			// offsets sorted for larger sizes too. hi < 2^7, so Div64 is safe.
			hi, lo := bits.Mul64(span, uint64(k))
			off, _ := bits.Div64(hi, lo, fpWindows-1)
			f.offs[k] = int64(min(off, span))
		}
	}
	return f
}

// Write feeds the next bytes of the file. It fails, after taking what fits,
// only if p goes past the size given to NewFingerprinter.
func (f *Fingerprinter) Write(p []byte) (int, error) {
	var err error
	if rest := f.size - f.pos; int64(len(p)) > rest {
		p = p[:rest]
		err = fmt.Errorf("fingerprint: write past the declared size %d: %w", f.size, ErrFingerprint)
	}
	start := f.pos
	end := start + int64(len(p))
	f.pos = end
	if f.size <= fpSmall {
		copy(f.buf[start:], p)
		return len(p), err
	}
	for k := f.next; k < fpWindows; k++ {
		o := f.offs[k]
		if o >= end {
			break
		}
		lo, hi := max(o, start), min(o+fpWindow, end)
		if lo < hi {
			copy(f.buf[k*fpWindow+int(lo-o):], p[lo-start:hi-start])
		}
		if k == f.next && o+fpWindow <= end {
			f.next++
		}
	}
	return len(p), err
}

// Sum returns the fingerprint with mtime (Unix seconds), base64url. Bytes
// not written yet count as zeros.
func (f *Fingerprinter) Sum(mtime int64) string {
	var crc [16]byte
	switch s := int(min(f.size, fpSmall+1)); {
	case s <= 16:
		copy(crc[:], f.buf[:s])
	case s <= fpSmall:
		for i := range 4 {
			lane := f.buf[i*s/4 : (i+1)*s/4]
			binary.BigEndian.PutUint32(crc[4*i:], crc32.ChecksumIEEE(lane))
		}
	default:
		const lane = fpWindows / 4 * fpWindow
		for i := range 4 {
			binary.BigEndian.PutUint32(crc[4*i:], crc32.ChecksumIEEE(f.buf[i*lane:(i+1)*lane]))
		}
	}
	return FormatFingerprint(crc, mtime)
}

// Fingerprint computes the `c` attribute from an io.ReaderAt, reading only
// the sampled windows (at most 8 KiB).
func Fingerprint(r io.ReaderAt, size int64, mtime int64) (string, error) {
	if size < 0 {
		return "", fmt.Errorf("fingerprint: negative size %d", size)
	}
	f := NewFingerprinter(size)
	if size <= fpSmall {
		if err := readFull(r, f.buf[:size], 0); err != nil {
			return "", err
		}
	} else {
		for k, off := range f.offs {
			if err := readFull(r, f.buf[k*fpWindow:(k+1)*fpWindow], off); err != nil {
				return "", err
			}
		}
	}
	f.pos, f.next = size, fpWindows
	return f.Sum(mtime), nil
}

// readFull fills b from r at off.
func readFull(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("fingerprint: read %d bytes at %d: %w", len(b), off, err)
}

// FormatFingerprint encodes a `c` attribute from its CRC part and mtime
// (Unix seconds): b64(crc || L || the L low bytes of mtime, little-endian,
// without trailing zero bytes). Use it to change the mtime of a known `c`.
func FormatFingerprint(crc [16]byte, mtime int64) string {
	var b [16 + 1 + 8]byte
	copy(b[:], crc[:])
	n := 0
	for v := uint64(mtime); v != 0; v >>= 8 {
		b[17+n] = byte(v)
		n++
	}
	b[16] = byte(n)
	return B64Encode(b[:17+n])
}

// ParseFingerprint decodes a `c` attribute into its CRC part and mtime.
// Like the SDK it ignores bytes after the mtime.
func ParseFingerprint(c string) (crc [16]byte, mtime int64, err error) {
	b, err := B64Decode(c)
	if err != nil {
		return crc, 0, fmt.Errorf("fingerprint: %w: %w", ErrFingerprint, err)
	}
	if len(b) < 17 {
		return crc, 0, fmt.Errorf("fingerprint of %d bytes, want at least 17: %w", len(b), ErrFingerprint)
	}
	n := int(b[16])
	if n > 8 || len(b) < 17+n {
		return crc, 0, fmt.Errorf("fingerprint: bad mtime length %d in %d bytes: %w", n, len(b), ErrFingerprint)
	}
	copy(crc[:], b)
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[17+i])
	}
	return crc, int64(v), nil
}
