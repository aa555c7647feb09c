package megacrypto

import (
	"crypto/cipher"
	"crypto/subtle"
)

// macScratch is the size of ChunkMAC's CBC output buffer. Bigger buffers
// only save call overhead, which is already negligible at 16 KiB.
const macScratch = 16 << 10

// ChunkMAC computes one chunk's CBC-MAC over plaintext (IV = N||N; the final
// partial block is zero-padded). Write never fails. Reset starts a new chunk.
//
// Write does not allocate: whole blocks go through the standard library's
// AES-CBC encrypter in bulk and a partial block is carried to the next Write.
// A ChunkMAC is not safe for concurrent use.
type ChunkMAC struct {
	block cipher.Block
	cbc   cipher.BlockMode
	iv    [16]byte // N || N
	state [16]byte // CBC-MAC over the whole blocks written so far
	part  [16]byte // pending partial block
	npart int      // bytes used in part
	buf   [macScratch]byte
}

// ivSetter is implemented by the standard library's CBC encrypters.
type ivSetter interface{ SetIV([]byte) }

// NewChunkMAC returns a ChunkMAC for fk.
func NewChunkMAC(fk *FileKey) *ChunkMAC {
	m := &ChunkMAC{block: mustAES(&fk.Key)}
	copy(m.iv[:8], fk.Nonce[:])
	copy(m.iv[8:], fk.Nonce[:])
	m.state = m.iv
	m.cbc = cipher.NewCBCEncrypter(m.block, m.iv[:])
	return m
}

// Write adds p to the chunk. It always returns len(p), nil.
func (m *ChunkMAC) Write(p []byte) (int, error) {
	n := len(p)
	if m.npart > 0 {
		c := copy(m.part[m.npart:], p)
		m.npart += c
		p = p[c:]
		if m.npart < 16 {
			return n, nil
		}
		m.cbc.CryptBlocks(m.buf[:16], m.part[:])
		copy(m.state[:], m.buf[:16])
		m.npart = 0
	}
	if whole := len(p) &^ 15; whole > 0 {
		var last []byte
		for q := p[:whole]; len(q) > 0; {
			k := min(len(q), macScratch)
			m.cbc.CryptBlocks(m.buf[:k], q[:k])
			last = m.buf[k-16 : k]
			q = q[k:]
		}
		copy(m.state[:], last)
		p = p[whole:]
	}
	m.npart = copy(m.part[:], p)
	return n, nil
}

// Sum returns the chunk's MAC. It does not change the state, so more data
// may still be written.
func (m *ChunkMAC) Sum() [16]byte {
	if m.npart == 0 {
		return m.state
	}
	// Pad and encrypt the partial block in the scratch buffer, so nothing
	// escapes to the heap through the cipher.Block interface.
	x := m.buf[:16]
	clear(x)
	copy(x, m.part[:m.npart])
	subtle.XORBytes(x, x, m.state[:])
	m.block.Encrypt(x, x)
	return [16]byte(x)
}

// Reset starts a new chunk.
func (m *ChunkMAC) Reset() {
	m.state = m.iv
	m.npart = 0
	if s, ok := m.cbc.(ivSetter); ok {
		s.SetIV(m.iv[:])
	} else {
		m.cbc = cipher.NewCBCEncrypter(m.block, m.iv[:])
	}
}

// MetaMAC condenses chunk MACs (in offset order) into the 8-byte meta-MAC.
// No chunks gives the SDK's empty-file value, eight zero bytes.
func MetaMAC(fk *FileKey, chunkMACs [][16]byte) [8]byte {
	var m [8]byte
	if len(chunkMACs) == 0 {
		return m
	}
	b := mustAES(&fk.Key)
	var acc [16]byte
	for i := range chunkMACs {
		subtle.XORBytes(acc[:], acc[:], chunkMACs[i][:])
		b.Encrypt(acc[:], acc[:])
	}
	for i := range 4 {
		m[i] = acc[i] ^ acc[4+i]
		m[4+i] = acc[8+i] ^ acc[12+i]
	}
	return m
}
