package megacrypto

import (
	"crypto/cipher"
	"encoding/binary"
)

// NewCTR returns the AES-CTR keystream for content key k and nonce n,
// positioned at byte offset off (any offset: a partial block is skipped).
// The counter block is N || BE64(off/16). NewCTR panics if off is negative.
//
// The same stream encrypts and decrypts; it is not safe for concurrent use.
// On amd64 with VAES it is ferry's own kernel (ctr_amd64.s, sixteen blocks
// in flight on 256-bit registers, about twice the standard library's
// rate); elsewhere the standard library's AES-CTR.
func NewCTR(fk *FileKey, off int64) cipher.Stream {
	if off < 0 {
		panic("megacrypto: NewCTR: negative offset")
	}
	if s, ok := newFastCTR(fk, off); ok {
		return s
	}
	var iv [16]byte
	copy(iv[:8], fk.Nonce[:])
	binary.BigEndian.PutUint64(iv[8:], uint64(off)/16)
	s := cipher.NewCTR(mustAES(&fk.Key), iv[:])
	if skip := off % 16; skip != 0 {
		var junk [16]byte
		s.XORKeyStream(junk[:skip], junk[:skip])
	}
	return s
}

// ctrPortable makes NewCTR use the standard library even where the kernel
// is available. Tests flip it to compare the two.
var ctrPortable = false
