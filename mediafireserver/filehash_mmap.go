//go:build unix

package mediafireserver

import (
	"hash"
	"os"
	"syscall"
)

// hashRange feeds h the n bytes of f at off (a multiple of the page size;
// off+n at most f's size) from a read-only mapping of them, so the hash
// reads the page cache in place instead of a copy of it in a buffer. A
// file that cannot be mapped is read. The server's unit data files only
// grow while they are hashed (no truncation, which would fault a reader
// of the mapping).
func hashRange(h hash.Hash, f *os.File, off, n int64) error {
	if n <= 0 {
		return nil
	}
	m, err := syscall.Mmap(int(f.Fd()), off, int(n), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return readRange(h, f, off, n)
	}
	h.Write(m)
	return syscall.Munmap(m)
}
