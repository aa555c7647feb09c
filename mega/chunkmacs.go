package mega

import (
	"fmt"

	"ferry/mega/megacrypto"
)

// ChunkMACs checks a file's content chunk by chunk, for a cache that
// holds parts of a file fetched with File.ReadAt at different times: the
// MAC of each whole chunk it holds, and once it holds them all, the
// file's meta-MAC, which is what a full download checks. It is
// immutable, so safe for concurrent use.
type ChunkMACs struct {
	fk     megacrypto.FileKey
	mm     *megacrypto.MultiMAC
	chunks []megacrypto.Chunk
}

// NewChunkMACs returns the checker of file node n's content, under n's
// file key.
func NewChunkMACs(n *Node) (*ChunkMACs, error) {
	if n == nil {
		return nil, errNilNode
	}
	fk, err := n.fileKey()
	if err != nil {
		return nil, err
	}
	return &ChunkMACs{fk: fk, mm: megacrypto.NewMultiMAC(&fk), chunks: megacrypto.Chunks(n.Size)}, nil
}

// Chunks returns the file's MAC chunks in offset order (none for an
// empty file). The caller must not change them.
func (m *ChunkMACs) Chunks() []megacrypto.Chunk { return m.chunks }

// Sum sets macs[i] to the MAC of the plaintext ps[i] of a whole chunk.
// Several chunks are MACed at once (megacrypto.MultiMAC).
func (m *ChunkMACs) Sum(ps [][]byte, macs [][16]byte) { m.mm.Sum(ps, macs) }

// Verify checks the MACs of all chunks, in offset order, against the
// meta-MAC in the file key. A mismatch is an error wrapping
// megacrypto.ErrMAC.
func (m *ChunkMACs) Verify(macs [][16]byte) error {
	if len(macs) != len(m.chunks) {
		return fmt.Errorf("verify: %d chunk MACs for %d chunks", len(macs), len(m.chunks))
	}
	if megacrypto.MetaMAC(&m.fk, macs) != m.fk.MetaMAC {
		return fmt.Errorf("verify: %w", megacrypto.ErrMAC)
	}
	return nil
}
