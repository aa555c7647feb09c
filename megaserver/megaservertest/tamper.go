package megaservertest

import (
	"os"
	"path/filepath"
	"testing"
)

// FlipByte corrupts stored ciphertext behind the server's back, the way a
// failing disk or a hostile host would: it XORs the byte at off of the one
// blob of exactly size bytes with 0x01. The test fails unless exactly one
// blob has that size, so give the victim a size no other file has.
func (ts *TestServer) FlipByte(t testing.TB, size, off int64) {
	t.Helper()
	var found []string
	err := filepath.WalkDir(filepath.Join(ts.Dir, "blobs"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if fi, err := d.Info(); err == nil && fi.Size() == size {
			found = append(found, p)
		}
		return nil
	})
	if err != nil || len(found) != 1 {
		t.Fatalf("FlipByte: %d blobs of %d bytes (%v), want exactly 1", len(found), size, err)
	}
	f, err := os.OpenFile(found[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("FlipByte: %v", err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatalf("FlipByte: %v", err)
	}
	b[0] ^= 0x01
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatalf("FlipByte: %v", err)
	}
}
