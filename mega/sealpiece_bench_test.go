package mega

import (
	"testing"

	"ferry/mega/megacrypto"
)

// BenchmarkSealPiece is the upload's CPU per piece: MAC the plaintext,
// encrypt it in place and checksum the ciphertext, for pieces of 4 and 8
// one-MiB chunks and for a file's first piece (its eight small chunks and
// three 1 MiB ones).
func BenchmarkSealPiece(b *testing.B) {
	var fk megacrypto.FileKey
	chunks := megacrypto.Chunks(64 << 20)
	for _, tt := range []struct {
		name          string
		first, nchunk int
	}{
		{"chunks=4", 18, 4},
		{"chunks=8", 18, 8},
		{"firstpiece", 0, 11},
	} {
		b.Run(tt.name, func(b *testing.B) {
			p := piece{off: chunks[tt.first].Offset, chunk0: tt.first, nchunks: tt.nchunk}
			for _, c := range chunks[tt.first : tt.first+tt.nchunk] {
				p.size += c.Size
			}
			buf := make([]byte, p.size)
			macs := make([][16]byte, len(chunks))
			mm := megacrypto.NewMultiMAC(&fk)
			b.SetBytes(p.size)
			for b.Loop() {
				sealPiece(mm, &p, buf, chunks, macs)
			}
		})
	}
}
