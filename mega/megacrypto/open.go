package megacrypto

// Open decrypts each chunks[i] in place as the CTR stream NewCTR(fk,
// offs[i]) would (offs[i] is the chunk's byte offset in the file) and
// sets macs[i] to the MAC of its plaintext: exactly what decrypting with
// NewCTR and then calling Sum gives, for any number of chunks of any
// lengths and offsets. macs beyond len(chunks) are left alone. The chunks
// must not overlap. It panics if offs or macs are shorter than chunks.
//
// On amd64 with VAES and AVX-512 (and without the purego tag), chunks at
// block-aligned offsets (every MAC chunk's is) go through a fused kernel
// that decrypts and MACs eight chunks in one pass over the data; the
// keystream fills the AES issue slots the MAC chains leave idle, so this
// is markedly faster than the two passes. Elsewhere Open runs the two
// passes, NewCTR then Sum.
func (m *MultiMAC) Open(chunks [][]byte, offs []int64, macs [][16]byte) {
	if len(macs) < len(chunks) || len(offs) < len(chunks) {
		panic("megacrypto: MultiMAC.Open: fewer offsets or macs than chunks")
	}
	m.crypt(chunks, offs, macs, false)
}

// Seal is the mirror of Open for uploads: it sets macs[i] to the MAC of
// the plaintext chunks[i] and encrypts the chunk in place as the CTR
// stream NewCTR(fk, offs[i]) would; exactly what Sum and then encrypting
// with NewCTR give. The same rules and the same fused kernel apply.
func (m *MultiMAC) Seal(chunks [][]byte, offs []int64, macs [][16]byte) {
	if len(macs) < len(chunks) || len(offs) < len(chunks) {
		panic("megacrypto: MultiMAC.Seal: fewer offsets or macs than chunks")
	}
	m.crypt(chunks, offs, macs, true)
}

// crypt is Open, or Seal if seal is set.
func (m *MultiMAC) crypt(chunks [][]byte, offs []int64, macs [][16]byte, seal bool) {
	if len(chunks) == 0 {
		return
	}
	if m.fused {
		m.cryptFused(chunks, offs, macs, seal)
		return
	}
	m.cryptTwoPass(chunks, offs, macs, seal)
}

// cryptTwoPass is crypt as two passes: the CTR stream, then Sum to open;
// Sum, then the CTR stream to seal.
func (m *MultiMAC) cryptTwoPass(chunks [][]byte, offs []int64, macs [][16]byte, seal bool) {
	if seal {
		m.Sum(chunks, macs)
	}
	for i, c := range chunks {
		NewCTR(&m.fk, offs[i]).XORKeyStream(c, c)
	}
	if !seal {
		m.Sum(chunks, macs)
	}
}

// openTwoPassOnly makes NewMultiMAC build MultiMACs whose Open takes the
// two-pass path (and Seal likewise) even where the fused kernel is
// available. Tests flip it.
var openTwoPassOnly = false
