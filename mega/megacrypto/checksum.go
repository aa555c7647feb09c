package megacrypto

import "encoding/binary"

// UploadChecksum is the 12-byte XOR checksum of the `c=`/`d=` upload query:
// sum[i mod 12] ^= body[i]. The zero value is ready; Write never fails.
type UploadChecksum struct {
	sum [12]byte
	pos int // len(body) mod 12
}

// Write adds p to the checksum. It always returns len(p), nil.
func (c *UploadChecksum) Write(p []byte) (int, error) {
	n := len(p)
	for c.pos != 0 && len(p) > 0 {
		c.sum[c.pos] ^= p[0]
		p = p[1:]
		c.pos = (c.pos + 1) % 12
	}
	if len(p) == 0 {
		return n, nil
	}
	// 24 bytes cover the 12 positions twice; fold three words at the end.
	if len(p) >= 24 {
		var a, b, d uint64
		for ; len(p) >= 48; p = p[48:] {
			a ^= binary.LittleEndian.Uint64(p[0:]) ^ binary.LittleEndian.Uint64(p[24:])
			b ^= binary.LittleEndian.Uint64(p[8:]) ^ binary.LittleEndian.Uint64(p[32:])
			d ^= binary.LittleEndian.Uint64(p[16:]) ^ binary.LittleEndian.Uint64(p[40:])
		}
		if len(p) >= 24 {
			a ^= binary.LittleEndian.Uint64(p[0:])
			b ^= binary.LittleEndian.Uint64(p[8:])
			d ^= binary.LittleEndian.Uint64(p[16:])
			p = p[24:]
		}
		var w [24]byte
		binary.LittleEndian.PutUint64(w[0:], a)
		binary.LittleEndian.PutUint64(w[8:], b)
		binary.LittleEndian.PutUint64(w[16:], d)
		for i := range 12 {
			c.sum[i] ^= w[i] ^ w[12+i]
		}
	}
	for i, v := range p {
		c.sum[i%12] ^= v
	}
	c.pos = len(p) % 12
	return n, nil
}

// Sum returns the 12-byte checksum.
func (c *UploadChecksum) Sum() [12]byte { return c.sum }
