package mediafire

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"

	"ferry/mediafire/mfapi"
)

// UnitHashes are the SHA-256s (lower-case hex) of the resumable units of
// a file, cut every UnitSize bytes.
type UnitHashes struct {
	UnitSize int64
	Sums     []string
}

// sum returns the hash of unit id if h has it for units of unitSize.
func (h *UnitHashes) sum(unitSize int64, id int) (string, bool) {
	if h == nil || h.UnitSize != unitSize || id < 0 || id >= len(h.Sums) {
		return "", false
	}
	return h.Sums[id], true
}

// UnitHasher computes the UnitHashes of a file of a given size as its
// bytes are written to it, for the unit size the service uses for that
// size (mfapi.UnitSize, §6.3 of the spec), so a caller that reads the
// source once for the file's hash gets the units' hashes in the same
// pass. Upload uses them when the server's unit size is that one and
// hashes the units itself otherwise.
type UnitHasher struct {
	unit int64
	h    hash.Hash
	n    int64 // bytes of the current unit written
	sums []string
}

// NewUnitHasher returns a UnitHasher for a file of size bytes.
func NewUnitHasher(size int64) *UnitHasher {
	return &UnitHasher{unit: mfapi.UnitSize(size), h: sha256.New()}
}

// Write hashes p; it never fails.
func (u *UnitHasher) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := int(min(int64(len(p)), u.unit-u.n))
		u.h.Write(p[:k])
		u.n += int64(k)
		p = p[k:]
		if u.n == u.unit {
			u.cut()
		}
	}
	return n, nil
}

func (u *UnitHasher) cut() {
	u.sums = append(u.sums, hex.EncodeToString(u.h.Sum(nil)))
	u.h.Reset()
	u.n = 0
}

// Hashes returns the hashes of the units written, the last one possibly
// short. Call it once, after the last Write.
func (u *UnitHasher) Hashes() *UnitHashes {
	if u.n > 0 || len(u.sums) == 0 {
		u.cut()
	}
	return &UnitHashes{UnitSize: u.unit, Sums: u.sums}
}
