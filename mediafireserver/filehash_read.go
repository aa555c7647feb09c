//go:build !unix

package mediafireserver

import (
	"hash"
	"os"
)

// hashRange feeds h the n bytes of f at off.
func hashRange(h hash.Hash, f *os.File, off, n int64) error { return readRange(h, f, off, n) }
