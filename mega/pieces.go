package mega

import "ferry/mega/megacrypto"

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

// cryptBlock is the slice size of the fused CTR+checksum loop: small
// enough to stay in L1/L2 between the two passes.
const cryptBlock = 32 << 10

// chunkSlices returns the plaintext of each chunk of piece p, in buf.
func chunkSlices(p *piece, buf []byte, chunks []megacrypto.Chunk) [][]byte {
	out := make([][]byte, p.nchunks)
	for i := range out {
		ch := chunks[p.chunk0+i]
		out[i] = buf[ch.Offset-p.off : ch.Offset-p.off+ch.Size]
	}
	return out
}

// sealPiece MACs the plaintext in buf (piece p) into macs, all its chunks
// at once (their CBC chains interleaved), then encrypts it in place; it
// returns the upload checksum of the ciphertext.
func sealPiece(fk *megacrypto.FileKey, mm *megacrypto.MultiMAC, p *piece, buf []byte,
	chunks []megacrypto.Chunk, macs [][16]byte) [12]byte {
	mm.Sum(chunkSlices(p, buf, chunks), macs[p.chunk0:p.chunk0+p.nchunks])
	var sum megacrypto.UploadChecksum
	ctr := megacrypto.NewCTR(fk, p.off)
	for data := buf[:p.size]; len(data) > 0; {
		b := data[:min(len(data), cryptBlock)]
		ctr.XORKeyStream(b, b)
		sum.Write(b)
		data = data[len(b):]
	}
	return sum.Sum()
}

// openPiece decrypts the ciphertext in buf (piece p) in place and records
// the chunk MACs of the plaintext, in one pass where the CPU allows
// (megacrypto.MultiMAC.Open).
func openPiece(mm *megacrypto.MultiMAC, p *piece, buf []byte,
	chunks []megacrypto.Chunk, macs [][16]byte) {
	offs := make([]int64, p.nchunks)
	for i := range offs {
		offs[i] = chunks[p.chunk0+i].Offset
	}
	mm.Open(chunkSlices(p, buf, chunks), offs, macs[p.chunk0:p.chunk0+p.nchunks])
}
