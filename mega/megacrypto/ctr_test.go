package megacrypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
)

// stdCTR is the reference: the standard library's CTR with MEGA's counter
// block, positioned at off.
func stdCTR(t testing.TB, fk *FileKey, off int64) cipher.Stream {
	t.Helper()
	blk, err := aes.NewCipher(fk.Key[:])
	if err != nil {
		t.Fatal(err)
	}
	var iv [16]byte
	copy(iv[:8], fk.Nonce[:])
	binary.BigEndian.PutUint64(iv[8:], uint64(off)/16)
	s := cipher.NewCTR(blk, iv[:])
	junk := make([]byte, off%16)
	s.XORKeyStream(junk, junk)
	return s
}

// TestCTRMatchesStandardLibrary checks NewCTR (the VAES kernel where the
// machine has it) against the standard library's CTR for random keys,
// offsets, lengths and ways of splitting the stream into calls, in place
// and between buffers.
func TestCTRMatchesStandardLibrary(t *testing.T) {
	if !ctrHasVAES {
		t.Log("no VAES here: NewCTR is the standard library's; comparing it with itself")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 300 {
		var fk FileKey
		for i := range fk.Key {
			fk.Key[i] = byte(rng.Uint32())
		}
		for i := range fk.Nonce {
			fk.Nonce[i] = byte(rng.Uint32())
		}
		off := rng.Int64N(1 << 40)
		if iter%3 == 0 {
			off = rng.Int64N(64)
		}
		n := rng.IntN(5000)
		if iter%10 == 0 {
			n = rng.IntN(300000)
		}
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(rng.Uint32())
		}
		want := make([]byte, n)
		stdCTR(t, &fk, off).XORKeyStream(want, src)

		got := make([]byte, n)
		s := NewCTR(&fk, off)
		inPlace := iter%2 == 0
		if inPlace {
			copy(got, src)
		}
		for done := 0; done < n; {
			k := min(n-done, 1+rng.IntN(600))
			if iter%7 == 0 {
				k = n - done
			}
			if inPlace {
				s.XORKeyStream(got[done:done+k], got[done:done+k])
			} else {
				s.XORKeyStream(got[done:done+k], src[done:done+k])
			}
			done += k
		}
		if !bytes.Equal(got, want) {
			i := 0
			for i < n && got[i] == want[i] {
				i++
			}
			t.Fatalf("iter %d (off %d, %d bytes, in place %v): first difference at byte %d", iter, off, n, inPlace, i)
		}
	}
}

// TestCTRShortDst checks the cipher.Stream contract's panic.
func TestCTRShortDst(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a dst shorter than src")
		}
	}()
	var fk FileKey
	NewCTR(&fk, 0).XORKeyStream(make([]byte, 3), make([]byte, 4))
}

// BenchmarkCTRKernel compares NewCTR with the standard library's CTR (the
// portable path) on buffers in L1, L2 and beyond.
func BenchmarkCTRKernel(b *testing.B) {
	var fk FileKey
	for _, size := range []int{32 << 10, 1 << 20, 8 << 20} {
		buf := make([]byte, size)
		for _, impl := range []string{"ferry", "stdlib"} {
			b.Run(fmt.Sprintf("%s-%dKiB", impl, size>>10), func(b *testing.B) {
				ctrPortable = impl == "stdlib"
				defer func() { ctrPortable = false }()
				b.SetBytes(int64(size))
				for b.Loop() {
					NewCTR(&fk, 0).XORKeyStream(buf, buf)
				}
			})
		}
	}
}
