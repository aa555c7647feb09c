package mediafireserver

import (
	"bytes"
	"crypto/sha256"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// hashRange hashes exactly the range asked for, whole units and a short
// last one, as the bytes read from the file hash.
func TestHashRange(t *testing.T) {
	const unit = 1 << 20
	data := make([]byte, 3*unit+12345)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	p := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, c := range []struct{ off, n int64 }{{0, unit}, {unit, 2 * unit}, {3 * unit, 12345}, {2 * unit, 0}} {
		h := sha256.New()
		if err := hashRange(h, f, c.off, c.n); err != nil {
			t.Fatalf("%d bytes at %d: %v", c.n, c.off, err)
		}
		want := sha256.Sum256(data[c.off : c.off+c.n])
		if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
			t.Errorf("%d bytes at %d: hash %x, want %x", c.n, c.off, got, want)
		}
	}
}
