package megacrypto

import "sync"

// MultiMAC computes the chunk MACs of several chunks of one file at once.
//
// The CBC-MAC of one chunk is a chain of dependent AES encryptions, so a
// single chain runs at the AES latency, not its throughput. Different chunks
// of a file are independent chains under the same key: on amd64 with AES-NI,
// Sum interleaves up to eight of them in one assembly loop, which hides the
// latency and runs several times faster per core than ChunkMAC. Elsewhere
// (and with the purego build tag) Sum runs ChunkMAC on each chunk in turn.
//
// A MultiMAC is immutable after NewMultiMAC, so it is safe for concurrent
// use. Create it with NewMultiMAC; the zero value is not usable.
type MultiMAC struct {
	fk    FileKey  // for Open's two-pass path (NewCTR)
	iv    [16]byte // N || N: the MAC of an empty chunk
	fast  bool     // Sum uses the assembly kernels with keys
	fused bool     // Open uses the fused kernel (see open.go)

	// keys is the AES-128 key schedule in the kernels' form: rk0..rk9,
	// then rk10 xor rk0 (see multimac_amd64.s). Unused without the kernels.
	keys [11][16]byte

	// pool holds *ChunkMAC for the portable path. A ChunkMAC is not safe for
	// concurrent use and too big to build per call without allocating.
	pool sync.Pool
}

// multiMACPortable makes NewMultiMAC build MultiMACs that use the portable
// path even when the assembly kernels are available. Tests flip it.
var multiMACPortable = false

// NewMultiMAC returns a MultiMAC for fk's key and nonce.
func NewMultiMAC(fk *FileKey) *MultiMAC {
	m := &MultiMAC{fk: *fk}
	copy(m.iv[:8], fk.Nonce[:])
	copy(m.iv[8:], fk.Nonce[:])
	if !multiMACPortable && m.initFast(fk) {
		m.fast = true
		m.fused = openHasFused && !openTwoPassOnly
		return m
	}
	k := *fk
	m.pool.New = func() any { return NewChunkMAC(&k) }
	return m
}

// Sum sets macs[i] to the MAC of chunks[i] (exactly what ChunkMAC gives),
// for any number of chunks of any lengths; macs beyond len(chunks) are left
// alone. It panics if len(macs) < len(chunks). It does not allocate.
func (m *MultiMAC) Sum(chunks [][]byte, macs [][16]byte) {
	if len(macs) < len(chunks) {
		panic("megacrypto: MultiMAC.Sum: fewer macs than chunks")
	}
	if len(chunks) == 0 {
		return
	}
	if m.fast {
		m.sumFast(chunks, macs)
		return
	}
	m.sumPortable(chunks, macs)
}

// sumPortable is Sum with one ChunkMAC from the pool, chunk after chunk.
func (m *MultiMAC) sumPortable(chunks [][]byte, macs [][16]byte) {
	c := m.pool.Get().(*ChunkMAC)
	for i, p := range chunks {
		c.Reset()
		c.Write(p)
		macs[i] = c.Sum()
	}
	m.pool.Put(c)
}
