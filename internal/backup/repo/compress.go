package repo

import (
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Compression policy: "auto" compresses a blob when a sample of it
// compresses well and the whole then shrinks; "max" tries every blob at
// the best level; "off" stores everything raw. Blobs stay raw whenever
// compression would not save at least 1/32 of their size.
const (
	// minCompress is the smallest blob worth trying.
	minCompress = 128
	// sampleSize is how much of a blob "auto" tries first (from three
	// places: start, middle, end).
	sampleSize = 3 * 4096
)

var (
	zstdOnce              sync.Once
	zFast, zDefault, zMax *zstd.Encoder
	zDec                  *zstd.Decoder
)

// zstdCodecs builds the shared encoders and the decoder; EncodeAll and
// DecodeAll are safe for concurrent use.
func zstdCodecs() {
	zstdOnce.Do(func() {
		enc := func(l zstd.EncoderLevel) *zstd.Encoder {
			e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(l), zstd.WithEncoderCRC(false),
				zstd.WithLowerEncoderMem(true))
			if err != nil {
				panic(err) // only for invalid options
			}
			return e
		}
		zFast, zDefault, zMax = enc(zstd.SpeedFastest), enc(zstd.SpeedDefault), enc(zstd.SpeedBestCompression)
		d, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(maxBlobSize), zstd.WithDecoderMaxWindow(maxBlobSize),
			zstd.IgnoreChecksum(true))
		if err != nil {
			panic(err)
		}
		zDec = d
	})
}

// compress returns plain's zstd compression appended to dst, or nil if
// the policy stores it raw.
func compress(policy string, dst, plain []byte) []byte {
	if policy == "off" || len(plain) < minCompress {
		return nil
	}
	zstdCodecs()
	enc := zMax
	if policy != "max" {
		enc = zDefault
		if len(plain) > 2*sampleSize && !sampleCompresses(plain) {
			return nil
		}
	}
	out := enc.EncodeAll(plain, dst)
	if len(out)-len(dst) > len(plain)-len(plain)/32 {
		return nil
	}
	return out
}

// sampleCompresses compresses three 4 KiB windows at the fastest level
// and reports whether they shrank by at least 1/8.
func sampleCompresses(plain []byte) bool {
	var sample [sampleSize]byte
	w := sampleSize / 3
	mid := len(plain)/2 - w/2
	copy(sample[:w], plain[:w])
	copy(sample[w:2*w], plain[mid:mid+w])
	copy(sample[2*w:], plain[len(plain)-w:])
	var out [sampleSize + 512]byte
	c := zFast.EncodeAll(sample[:], out[:0])
	return len(c) <= sampleSize-sampleSize/8
}

// decompress appends the plaintext of a zstd frame to dst, refusing
// more than rawLen bytes.
func decompress(dst, b []byte, rawLen int64) ([]byte, error) {
	zstdCodecs()
	if rawLen > maxBlobSize {
		return nil, fmt.Errorf("raw length %d too large", rawLen)
	}
	h := zstd.Header{}
	if err := h.Decode(b); err == nil && h.HasFCS && h.FrameContentSize != uint64(rawLen) {
		return nil, fmt.Errorf("zstd frame of %d bytes, want %d", h.FrameContentSize, rawLen)
	}
	if cap(dst)-len(dst) < int(rawLen) {
		nd := make([]byte, len(dst), len(dst)+int(rawLen))
		copy(nd, dst)
		dst = nd
	}
	return zDec.DecodeAll(b, dst)
}
