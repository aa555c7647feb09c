package megacrypto

import (
	"fmt"
	"io"
)

// FileKey is the key material of one file: content key K, CTR nonce N and
// meta-MAC M.
type FileKey struct {
	Key     [16]byte
	Nonce   [8]byte
	MetaMAC [8]byte
}

// NewFileKey draws K and N from rnd (crypto/rand in production).
func NewFileKey(rnd io.Reader) (FileKey, error) {
	var buf [24]byte
	if _, err := io.ReadFull(rnd, buf[:]); err != nil {
		return FileKey{}, fmt.Errorf("new file key: read random: %w", err)
	}
	var fk FileKey
	copy(fk.Key[:], buf[:16])
	copy(fk.Nonce[:], buf[16:])
	return fk, nil
}

// Pack returns the 32-byte node key (K xor (N||M)) || N || M.
func (fk FileKey) Pack() []byte {
	nk := make([]byte, 32)
	copy(nk[16:24], fk.Nonce[:])
	copy(nk[24:32], fk.MetaMAC[:])
	for i := range 16 {
		nk[i] = fk.Key[i] ^ nk[16+i]
	}
	return nk
}

// UnpackFileKey folds a 32-byte node key back into K, N and M.
func UnpackFileKey(nodeKey []byte) (FileKey, error) {
	if len(nodeKey) != 32 {
		return FileKey{}, fmt.Errorf("file node key of %d bytes, want 32: %w", len(nodeKey), ErrKeySize)
	}
	var fk FileKey
	for i := range 16 {
		fk.Key[i] = nodeKey[i] ^ nodeKey[16+i]
	}
	copy(fk.Nonce[:], nodeKey[16:24])
	copy(fk.MetaMAC[:], nodeKey[24:32])
	return fk, nil
}
