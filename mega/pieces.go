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

// chunkSlices returns the plaintext of each chunk of piece p, in buf.
func chunkSlices(p *piece, buf []byte, chunks []megacrypto.Chunk) [][]byte {
	out := make([][]byte, p.nchunks)
	for i := range out {
		ch := chunks[p.chunk0+i]
		out[i] = buf[ch.Offset-p.off : ch.Offset-p.off+ch.Size]
	}
	return out
}

// chunkOffsets returns the file offset of each chunk of piece p.
func chunkOffsets(p *piece, chunks []megacrypto.Chunk) []int64 {
	out := make([]int64, p.nchunks)
	for i := range out {
		out[i] = chunks[p.chunk0+i].Offset
	}
	return out
}

// sealPiece MACs the plaintext in buf (piece p) into macs and encrypts
// it in place, in one pass where the CPU allows (megacrypto.MultiMAC.Seal);
// it returns the upload checksum of the ciphertext.
func sealPiece(mm *megacrypto.MultiMAC, p *piece, buf []byte,
	chunks []megacrypto.Chunk, macs [][16]byte) [12]byte {
	mm.Seal(chunkSlices(p, buf, chunks), chunkOffsets(p, chunks), macs[p.chunk0:p.chunk0+p.nchunks])
	var sum megacrypto.UploadChecksum
	sum.Write(buf[:p.size])
	return sum.Sum()
}

// openPiece decrypts the ciphertext in buf (piece p) in place and records
// the chunk MACs of the plaintext, in one pass where the CPU allows
// (megacrypto.MultiMAC.Open).
func openPiece(mm *megacrypto.MultiMAC, p *piece, buf []byte,
	chunks []megacrypto.Chunk, macs [][16]byte) {
	mm.Open(chunkSlices(p, buf, chunks), chunkOffsets(p, chunks), macs[p.chunk0:p.chunk0+p.nchunks])
}
