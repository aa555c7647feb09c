package mega

import (
	"crypto/cipher"

	"ferry/mega/megacrypto"
)

// A piece is the unit of transfer: consecutive whole MAC chunks sent in one
// upload POST or fetched with one download range.
type piece struct {
	off, size int64
	chunk0    int // index of the first chunk
	nchunks   int
}

// pieces groups a file's chunks into pieces of at most c.piece bytes (a
// chunk bigger than that is a piece of its own). A 0-byte file is one empty
// piece: MEGA uploads it as one empty POST.
func (c *Client) pieces(chunks []megacrypto.Chunk) []piece {
	if len(chunks) == 0 {
		return []piece{{}}
	}
	var ps []piece
	cur := piece{}
	for i, ch := range chunks {
		if cur.nchunks > 0 && cur.size+ch.Size > c.piece {
			ps = append(ps, cur)
			cur = piece{off: ch.Offset, chunk0: i}
		}
		if cur.nchunks == 0 {
			cur = piece{off: ch.Offset, chunk0: i}
		}
		cur.size += ch.Size
		cur.nchunks++
	}
	return append(ps, cur)
}

// cryptBlock is the slice size of the fused MAC+CTR loop: small enough to
// stay in L1/L2 between the two passes.
const cryptBlock = 32 << 10

// sealPiece MACs the plaintext in buf (piece p) chunk by chunk into macs and
// encrypts it in place; it returns the upload checksum of the ciphertext.
func sealPiece(fk *megacrypto.FileKey, mac *megacrypto.ChunkMAC, p *piece, buf []byte,
	chunks []megacrypto.Chunk, macs [][16]byte) [12]byte {
	var sum megacrypto.UploadChecksum
	ctr := megacrypto.NewCTR(fk, p.off)
	for ci := p.chunk0; ci < p.chunk0+p.nchunks; ci++ {
		ch := chunks[ci]
		data := buf[ch.Offset-p.off : ch.Offset-p.off+ch.Size]
		mac.Reset()
		for len(data) > 0 {
			k := min(len(data), cryptBlock)
			b := data[:k]
			mac.Write(b)
			ctr.XORKeyStream(b, b)
			sum.Write(b)
			data = data[k:]
		}
		macs[ci] = mac.Sum()
	}
	return sum.Sum()
}

// openPiece decrypts the ciphertext in buf (piece p) in place and records
// the chunk MACs of the plaintext.
func openPiece(ctr cipher.Stream, mac *megacrypto.ChunkMAC, p *piece, buf []byte,
	chunks []megacrypto.Chunk, macs [][16]byte) {
	for ci := p.chunk0; ci < p.chunk0+p.nchunks; ci++ {
		ch := chunks[ci]
		data := buf[ch.Offset-p.off : ch.Offset-p.off+ch.Size]
		mac.Reset()
		for len(data) > 0 {
			k := min(len(data), cryptBlock)
			b := data[:k]
			ctr.XORKeyStream(b, b)
			mac.Write(b)
			data = data[k:]
		}
		macs[ci] = mac.Sum()
	}
}
