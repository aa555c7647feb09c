package megacrypto

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

// multiMACPool is random bytes that test chunks are cut from, so building a
// case costs no data generation (which is slow under -race).
var multiMACPool = randBytes(0x3ac, 4<<20+64)

// chunkMACs is the reference: a fresh ChunkMAC per chunk.
func chunkMACs(fk *FileKey, chunks [][]byte) [][16]byte {
	out := make([][16]byte, len(chunks))
	for i, c := range chunks {
		m := NewChunkMAC(fk)
		m.Write(c)
		out[i] = m.Sum()
	}
	return out
}

// multiMACLens are the chunk lengths the random cases draw from.
var multiMACLens = []int{0, 1, 15, 16, 17, 31, 32, 33, 255, 1000, 4095, 4096, 32767, 32768 + 16, 65537, 128 << 10, 300001, 1 << 20}

// randomChunks returns 0..12 chunks: lengths from multiMACLens or random,
// cut from multiMACPool at random (often odd) offsets, overlapping at will.
func randomChunks(r *rand.Rand) [][]byte {
	chunks := make([][]byte, r.IntN(13))
	for i := range chunks {
		var n int
		switch r.IntN(4) {
		case 0:
			n = r.IntN(100)
		case 1:
			n = r.IntN(200000)
		default:
			n = multiMACLens[r.IntN(len(multiMACLens))]
		}
		off := r.IntN(len(multiMACPool) - n + 1)
		chunks[i] = multiMACPool[off : off+n : off+n]
	}
	return chunks
}

// checkMultiMAC compares m.Sum with ChunkMAC on chunks; macs has spare
// entries that Sum must leave alone.
func checkMultiMAC(t *testing.T, m *MultiMAC, fk *FileKey, chunks [][]byte) {
	t.Helper()
	want := chunkMACs(fk, chunks)
	macs := make([][16]byte, len(chunks)+2)
	sentinel := [16]byte{0xde, 0xad}
	for i := range macs {
		macs[i] = sentinel
	}
	m.Sum(chunks, macs)
	for i := range chunks {
		if macs[i] != want[i] {
			lens := make([]int, len(chunks))
			for j, c := range chunks {
				lens[j] = len(c)
			}
			t.Fatalf("chunk %d of lengths %v: MAC %x, want %x", i, lens, macs[i], want[i])
		}
	}
	for _, x := range macs[len(chunks):] {
		if x != sentinel {
			t.Fatalf("Sum wrote past len(chunks)")
		}
	}
}

// usePortableMultiMAC makes NewMultiMAC build portable MultiMACs until the
// test ends.
func usePortableMultiMAC(t *testing.T) {
	old := multiMACPortable
	multiMACPortable = true
	t.Cleanup(func() { multiMACPortable = old })
}

// runMultiMACCases checks fixed and random cases against ChunkMAC.
func runMultiMACCases(t *testing.T, seed uint64, random int) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	var fk FileKey
	copy(fk.Key[:], randBytes(seed, 16))
	copy(fk.Nonce[:], randBytes(seed+1, 8))
	m := NewMultiMAC(&fk)
	p := multiMACPool
	fixed := [][][]byte{
		nil,
		{{}},
		{p[:1]},
		{p[:16], p[1:17], p[3:18], p[5:36], p[7:40], p[:0]},
		{p[:1<<20], p[1 : 1+1<<20], p[3 : 3+1<<20], p[5 : 5+1<<20]},
		{p[:128<<10], p[(128<<10)+1 : (384<<10)+1], p[7 : 7+1<<20], p[:15], p[9 : 9+(512<<10)]},
		{p[:33], p[:17], p[:31], p[:1], p[:15], p[:16], p[:0], p[1:2], p[3:100], p[11:4107], p[13 : 13+65536], p[:2]},
	}
	for _, chunks := range fixed {
		checkMultiMAC(t, m, &fk, chunks)
	}
	for range random {
		checkMultiMAC(t, m, &fk, randomChunks(r))
	}
}

func TestMultiMAC(t *testing.T) {
	runMultiMACCases(t, 1, 200)
}

func TestMultiMACPortable(t *testing.T) {
	usePortableMultiMAC(t)
	if m := NewMultiMAC(&FileKey{}); m.fast {
		t.Fatal("multiMACPortable did not force the portable path")
	}
	runMultiMACCases(t, 2, 40)
}

// TestMultiMACVectors pins Sum to the definition: N||N for an empty chunk
// and the block-by-block CBC-MAC for aligned ones.
func TestMultiMACVectors(t *testing.T) {
	fk := tvFileKey()
	for _, portable := range []bool{false, true} {
		old := multiMACPortable
		multiMACPortable = portable
		m := NewMultiMAC(&fk)
		multiMACPortable = old
		data := randBytes(9, 5000)
		chunks := [][]byte{nil, data[:16], data[:4992], data[16:4096]}
		macs := make([][16]byte, len(chunks))
		m.Sum(chunks, macs)
		var iv [16]byte
		copy(iv[:8], fk.Nonce[:])
		copy(iv[8:], fk.Nonce[:])
		if macs[0] != iv {
			t.Errorf("portable=%v: empty chunk MAC %x, want N||N %x", portable, macs[0], iv)
		}
		for i := 1; i < len(chunks); i++ {
			if want := slowCBCMAC(&fk, chunks[i]); macs[i] != want {
				t.Errorf("portable=%v: chunk of %d bytes: MAC %x, want %x", portable, len(chunks[i]), macs[i], want)
			}
		}
	}
}

func TestMultiMACPanicsOnShortMACs(t *testing.T) {
	m := NewMultiMAC(&FileKey{})
	defer func() {
		if recover() == nil {
			t.Error("Sum with len(macs) < len(chunks) did not panic")
		}
	}()
	m.Sum([][]byte{{1}, {2}}, make([][16]byte, 1))
}

func TestMultiMACNoAllocs(t *testing.T) {
	fk := tvFileKey()
	p := multiMACPool
	chunks := [][]byte{p[:100000], p[1:70001], p[3:18], nil, p[5 : 5+65536], p[7:9], p[:16], p[9:40000], p[11:50011], p[:3]}
	for _, portable := range []bool{false, true} {
		if portable && raceEnabled {
			continue // sync.Pool drops items at random under the race detector
		}
		old := multiMACPortable
		multiMACPortable = portable
		m := NewMultiMAC(&fk)
		multiMACPortable = old
		var macs [12][16]byte
		allocs := testing.AllocsPerRun(20, func() {
			m.Sum(chunks, macs[:])
			m.Sum(chunks[:1], macs[:1])
		})
		if allocs != 0 {
			t.Errorf("portable=%v: Sum allocates %.1f times per call, want 0", portable, allocs)
		}
	}
}

// TestMultiMACConcurrent shares one MultiMAC among goroutines (run it with
// -race).
func TestMultiMACConcurrent(t *testing.T) {
	for _, portable := range []bool{false, true} {
		t.Run(fmt.Sprintf("portable=%v", portable), func(t *testing.T) {
			if portable {
				usePortableMultiMAC(t)
			}
			fk := tvFileKey()
			m := NewMultiMAC(&fk)
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			for g := range 4 {
				wg.Go(func() {
					r := rand.New(rand.NewPCG(uint64(g), 7))
					for range 15 {
						chunks := randomChunks(r)
						want := chunkMACs(&fk, chunks)
						macs := make([][16]byte, len(chunks))
						m.Sum(chunks, macs)
						for i := range want {
							if macs[i] != want[i] {
								errs <- fmt.Errorf("goroutine %d: chunk %d of %d: MAC %x, want %x", g, i, len(chunks[i]), macs[i], want[i])
								return
							}
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

// FuzzMultiMAC cuts up to 16 chunks out of data, one per byte of layout,
// and compares Sum with ChunkMAC on both paths.
func FuzzMultiMAC(f *testing.F) {
	f.Add([]byte{0}, []byte{}, []byte{})
	f.Add(seq(0, 16), []byte{16, 17, 0, 1, 255, 200}, pattern(3000))
	f.Add(seq(3, 16), []byte{15, 31, 33, 250, 251, 252, 253, 254, 255}, pattern(70000))
	f.Fuzz(func(t *testing.T, key, layout, data []byte) {
		var fk FileKey
		copy(fk.Key[:], key)
		copy(fk.Nonce[:], key[min(len(key), 16):])
		var chunks [][]byte
		pos := 0
		for _, b := range layout[:min(len(layout), 16)] {
			// Bytes under 200 are lengths; above, steps of 997 bytes,
			// enough to go past a kernel call's block limit.
			n := int(b)
			if b >= 200 {
				n = 200 + int(b-200)*997
			}
			n = min(n, len(data)-pos)
			chunks = append(chunks, data[pos:pos+n])
			pos += n / 2 // consecutive chunks overlap
		}
		want := chunkMACs(&fk, chunks)
		for _, m := range []*MultiMAC{NewMultiMAC(&fk), newPortableMultiMAC(&fk)} {
			macs := make([][16]byte, len(chunks))
			m.Sum(chunks, macs)
			for i := range want {
				if macs[i] != want[i] {
					t.Fatalf("fast=%v: chunk %d of %d bytes: MAC %x, want %x", m.fast, i, len(chunks[i]), macs[i], want[i])
				}
			}
		}
	})
}

// newPortableMultiMAC is NewMultiMAC on the portable path. Only for
// non-parallel tests: it flips multiMACPortable.
func newPortableMultiMAC(fk *FileKey) *MultiMAC {
	old := multiMACPortable
	multiMACPortable = true
	defer func() { multiMACPortable = old }()
	return NewMultiMAC(fk)
}

func BenchmarkMultiMAC(b *testing.B) {
	fk := tvFileKey()
	for _, bc := range []struct {
		name string
		n    int // chunks
		size int // bytes each
	}{
		{"1x1MiB", 1, benchSize},
		{"4x1MiB", 4, benchSize},
		{"8x1MiB", 8, benchSize},
		{"12x1MiB", 12, benchSize},
	} {
		b.Run(bc.name, func(b *testing.B) {
			benchMultiMAC(b, NewMultiMAC(&fk), bc.n, bc.size)
		})
	}
	// The first eight chunks of a file, 128 KiB to 1 MiB (4.5 MiB): lanes
	// retire and refill at different times.
	b.Run("128KiBx1..8", func(b *testing.B) {
		m := NewMultiMAC(&fk)
		src := pattern(36 * chunkUnit)
		var chunks [][]byte
		for i, off := 1, 0; i <= 8; i++ {
			chunks = append(chunks, src[off:off+i*chunkUnit])
			off += i * chunkUnit
		}
		macs := make([][16]byte, len(chunks))
		b.SetBytes(int64(len(src)))
		b.ReportAllocs()
		for b.Loop() {
			m.Sum(chunks, macs)
		}
	})
	b.Run("portable-4x1MiB", func(b *testing.B) {
		benchMultiMAC(b, newPortableMultiMAC(&fk), 4, benchSize)
	})
}

func benchMultiMAC(b *testing.B, m *MultiMAC, n, size int) {
	src := pattern(n * size)
	chunks := make([][]byte, n)
	for i := range chunks {
		chunks[i] = src[i*size : (i+1)*size]
	}
	macs := make([][16]byte, n)
	b.SetBytes(int64(n * size))
	b.ReportAllocs()
	for b.Loop() {
		m.Sum(chunks, macs)
	}
}
