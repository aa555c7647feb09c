package mega

import (
	"context"
	"errors"
	"fmt"
	"io"

	"ferry/mega/megacrypto"
)

// matchBatch is how much plaintext MatchContent MACs per MultiMAC call:
// eight 1 MiB chunks, the widest interleave.
const matchBatch = 8 << 20

// MatchContent reports whether r holds exactly n's content, without
// downloading anything: it MACs r's bytes chunk by chunk under n's file key
// and compares the meta-MAC with the one in the key. r is read to its end
// (or one byte past n's size); a content of another length does not match.
func (c *Client) MatchContent(ctx context.Context, n *Node, r io.Reader) (bool, error) {
	if n == nil {
		return false, errNilNode
	}
	cur := c.current(n)
	fk, err := cur.fileKey()
	if err != nil {
		return false, err
	}
	chunks := megacrypto.Chunks(cur.Size)
	macs := make([][16]byte, len(chunks))
	mm := megacrypto.NewMultiMAC(&fk)
	buf := make([]byte, min(cur.Size, matchBatch))
	var slices [][]byte
	for i := 0; i < len(chunks); {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		// The next chunks that fit the buffer (always at least one: no
		// chunk is bigger than 1 MiB).
		j, size := i, int64(0)
		for j < len(chunks) && size+chunks[j].Size <= int64(len(buf)) {
			size += chunks[j].Size
			j++
		}
		if _, err := io.ReadFull(r, buf[:size]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return false, nil // shorter than n
			}
			return false, fmt.Errorf("read: %w", err)
		}
		slices = slices[:0]
		off := int64(0)
		for _, ch := range chunks[i:j] {
			slices = append(slices, buf[off:off+ch.Size])
			off += ch.Size
		}
		mm.Sum(slices, macs[i:j])
		i = j
	}
	var one [1]byte
	switch k, err := io.ReadFull(r, one[:]); {
	case k > 0:
		return false, nil // longer than n
	case err != nil && !errors.Is(err, io.EOF):
		return false, fmt.Errorf("read: %w", err)
	}
	return megacrypto.MetaMAC(&fk, macs) == fk.MetaMAC, nil
}
