package mega

import (
	"context"
	"fmt"
	"io"

	"ferry/internal/backend"
	"ferry/mega/megacrypto"
)

var _ backend.Fingerprinter = (*Backend)(nil)

// FingerprintOf implements backend.Fingerprinter: the `c` attribute MEGA
// would give a file of e's size and mtime (whole seconds) with the content
// r reads, from at most 8 KiB of sampled windows.
func (b *Backend) FingerprintOf(ctx context.Context, e backend.Entry, r io.ReaderAt) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	fp, err := megacrypto.Fingerprint(r, e.Size, e.ModTime.Unix())
	if err != nil {
		return "", fmt.Errorf("fingerprint %s: %w", e.Path, err)
	}
	return fp, nil
}

// SameContent implements backend.Fingerprinter: two `c` attributes
// describe the same content when their CRC parts are equal (the mtime
// part is for the engine to compare, within a second). Strings that are
// not `c` attributes are compared whole.
func (b *Backend) SameContent(x, y string) bool {
	cx, _, errX := megacrypto.ParseFingerprint(x)
	cy, _, errY := megacrypto.ParseFingerprint(y)
	if errX != nil || errY != nil {
		return x == y
	}
	return cx == cy
}
