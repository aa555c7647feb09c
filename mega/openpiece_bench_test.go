package mega

import (
	"fmt"
	"testing"

	"ferry/mega/megacrypto"
)

// BenchmarkOpenPiece is the download's CPU per piece: decrypt in place
// and MAC its chunks, for pieces of 4 and 8 one-MiB chunks (the chunk
// count decides how many MAC chains run interleaved).
func BenchmarkOpenPiece(b *testing.B) {
	var fk megacrypto.FileKey
	for _, n := range []int{4, 8} {
		b.Run(fmt.Sprintf("chunks=%d", n), func(b *testing.B) {
			size := int64(n) << 20
			chunks := megacrypto.Chunks(64 << 20)
			first := 8 + 10 // a piece of whole 1 MiB chunks past the small ones
			p := piece{off: chunks[first].Offset, size: size, chunk0: first, nchunks: n}
			buf := make([]byte, size)
			macs := make([][16]byte, len(chunks))
			mm := megacrypto.NewMultiMAC(&fk)
			b.SetBytes(size)
			for b.Loop() {
				openPiece(mm, &p, buf, chunks, macs)
			}
		})
	}
}
