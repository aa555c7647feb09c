package megacrypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"math/rand/v2"
	"testing"
)

// openRef is the reference for Open on one chunk: the standard library's
// CTR at the chunk's offset, in place, then a fresh ChunkMAC. For Seal
// (seal set) the MAC comes first.
func openRef(t testing.TB, fk *FileKey, c []byte, off int64, seal bool) [16]byte {
	m := NewChunkMAC(fk)
	if seal {
		m.Write(c)
	}
	stdCTR(t, fk, off).XORKeyStream(c, c)
	if !seal {
		m.Write(c)
	}
	return m.Sum()
}

// opName names Open or Seal.
func opName(seal bool) string {
	if seal {
		return "Seal"
	}
	return "Open"
}

// crypt calls m.Open, or m.Seal if seal is set.
func crypt(m *MultiMAC, chunks [][]byte, offs []int64, macs [][16]byte, seal bool) {
	if seal {
		m.Seal(chunks, offs, macs)
	} else {
		m.Open(chunks, offs, macs)
	}
}

// useTwoPassOpen makes NewMultiMAC build MultiMACs whose Open takes the
// two-pass path until the test ends.
func useTwoPassOpen(tb testing.TB) {
	old := openTwoPassOnly
	openTwoPassOnly = true
	tb.Cleanup(func() { openTwoPassOnly = old })
}

// openCase is one call of Open: chunk lengths, file offsets and the
// misalignment of each chunk's memory.
type openCase struct {
	lens  []int
	offs  []int64
	align []int
}

// randomOpenCase draws 0..12 chunks: lengths as randomChunks does, file
// offsets mostly block-aligned (as MAC chunks are) but sometimes not,
// memory at any alignment.
func randomOpenCase(r *rand.Rand) openCase {
	n := r.IntN(13)
	c := openCase{lens: make([]int, n), offs: make([]int64, n), align: make([]int, n)}
	for i := range n {
		switch r.IntN(4) {
		case 0:
			c.lens[i] = r.IntN(200)
		case 1:
			c.lens[i] = r.IntN(300000)
		default:
			c.lens[i] = multiMACLens[r.IntN(len(multiMACLens))]
		}
		c.offs[i] = r.Int64N(1<<40) &^ 15
		if r.IntN(5) == 0 {
			c.offs[i] += r.Int64N(16)
		}
		c.align[i] = r.IntN(64)
	}
	return c
}

// checkOpen runs Open (Seal if seal is set) on random data laid out as c
// and compares the output and MACs with openRef; macs has spare entries
// that Open must leave alone.
func checkOpen(t *testing.T, m *MultiMAC, fk *FileKey, c openCase, seed uint64, seal bool) {
	t.Helper()
	chunks := make([][]byte, len(c.lens))
	want := make([][]byte, len(c.lens))
	wantMACs := make([][16]byte, len(c.lens))
	for i, n := range c.lens {
		buf := make([]byte, c.align[i]+n)
		copy(buf[c.align[i]:], multiMACPool[int(seed)%1000:][:n])
		chunks[i] = buf[c.align[i]:]
		want[i] = bytes.Clone(chunks[i])
		wantMACs[i] = openRef(t, fk, want[i], c.offs[i], seal)
	}
	macs := make([][16]byte, len(chunks)+2)
	sentinel := [16]byte{0xde, 0xad}
	for i := range macs {
		macs[i] = sentinel
	}
	crypt(m, chunks, c.offs, macs, seal)
	for i := range chunks {
		if !bytes.Equal(chunks[i], want[i]) {
			t.Fatalf("%s case %+v: chunk %d: output differs", opName(seal), c, i)
		}
		if macs[i] != wantMACs[i] {
			t.Fatalf("%s case %+v: chunk %d: MAC %x, want %x", opName(seal), c, i, macs[i], wantMACs[i])
		}
	}
	for _, x := range macs[len(chunks):] {
		if x != sentinel {
			t.Fatalf("%s case %+v: wrote past len(chunks)", opName(seal), c)
		}
	}
}

// runOpenCases checks fixed and random cases under random keys, for Open
// and for Seal.
func runOpenCases(t *testing.T, seed uint64, random int) {
	t.Helper()
	for _, seal := range []bool{false, true} {
		runCryptCases(t, seed, random, seal)
	}
}

// runCryptCases is runOpenCases for one of Open and Seal.
func runCryptCases(t *testing.T, seed uint64, random int, seal bool) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 3))
	newKey := func() (*FileKey, *MultiMAC) {
		var fk FileKey
		copy(fk.Key[:], randBytes(r.Uint64(), 16))
		copy(fk.Nonce[:], randBytes(r.Uint64(), 8))
		return &fk, NewMultiMAC(&fk)
	}
	mib := 1 << 20
	fixed := []openCase{
		{},
		{lens: []int{0}, offs: []int64{0}, align: []int{0}},
		{lens: []int{1}, offs: []int64{16}, align: []int{3}},
		{lens: []int{64, 63, 65, 15, 16, 17, 127, 129}, offs: make([]int64, 8), align: []int{0, 1, 2, 3, 4, 5, 6, 7}},
		{lens: []int{mib, mib, mib, mib}, offs: []int64{0, int64(mib), 2 * int64(mib), 3 * int64(mib)}, align: make([]int, 4)},
		{lens: []int{mib, mib, mib, mib, mib, mib, mib, mib}, offs: []int64{0, 16, 32, 48, 64, 80, 96, 112}, align: []int{1, 0, 0, 0, 0, 0, 0, 9}},
		{lens: []int{mib + 1, mib - 1, mib + 15, mib - 15, 1, 0, 3, mib + 63, mib}, offs: []int64{5 << 20, 0, 1 << 20, 2 << 20, 3 << 20, 4 << 20, 6 << 20, 7 << 20, 9}, align: make([]int, 9)},
		// The largest offsets an int64 holds.
		{lens: []int{4096, 100}, offs: []int64{1<<63 - 4096, 1<<63 - 100}, align: []int{0, 0}},
	}
	for i, c := range fixed {
		fk, m := newKey()
		checkOpen(t, m, fk, c, uint64(i), seal)
	}
	for i := range random {
		fk, m := newKey()
		checkOpen(t, m, fk, randomOpenCase(r), uint64(i), seal)
	}
}

func TestOpen(t *testing.T) {
	if !NewMultiMAC(&FileKey{}).fused {
		t.Log("no fused kernel here: Open is the two-pass path")
	}
	runOpenCases(t, 1, 150)
}

// TestOpenTwoPass forces the two-pass path, with and without the MAC
// kernels.
func TestOpenTwoPass(t *testing.T) {
	useTwoPassOpen(t)
	if m := NewMultiMAC(&FileKey{}); m.fused {
		t.Fatal("openTwoPassOnly did not force the two-pass path")
	}
	runOpenCases(t, 2, 40)
	usePortableMultiMAC(t)
	runOpenCases(t, 3, 20)
}

// openPool is random ciphertext for the file layouts: 20 MiB and a margin
// to misalign it by.
var openPool = func() []byte {
	b := make([]byte, 20<<20+64)
	blk, err := aes.NewCipher(make([]byte, 16))
	if err != nil {
		panic(err)
	}
	cipher.NewCTR(blk, make([]byte, 16)).XORKeyStream(b, b)
	return b
}()

// TestOpenFileLayouts opens files of sizes 0..20 MiB piece by piece, as a
// download does (pieces of whole chunks up to a byte budget), for sizes
// around every chunk boundary and odd ones, at every memory alignment;
// and seals them back, as an upload does.
func TestOpenFileLayouts(t *testing.T) {
	const maxSize = 20 << 20
	var fk FileKey
	copy(fk.Key[:], randBytes(77, 16))
	copy(fk.Nonce[:], randBytes(78, 8))
	m := NewMultiMAC(&fk)

	// The reference plaintext of the whole pool, and the MACs of its
	// chunks: a shorter file has the same chunks but a shorter last one.
	plain := bytes.Clone(openPool[:maxSize])
	stdCTR(t, &fk, 0).XORKeyStream(plain, plain)
	all := Chunks(maxSize)
	allMACs := chunkMACs(&fk, func() [][]byte {
		out := make([][]byte, len(all))
		for i, c := range all {
			out[i] = plain[c.Offset : c.Offset+c.Size]
		}
		return out
	}())

	sizes := []int64{}
	for n := range int64(70) {
		sizes = append(sizes, n)
	}
	for _, c := range all {
		for _, d := range []int64{-1, 0, 1, 33, 64} {
			if e := c.Offset + c.Size + d; e > 0 && e <= maxSize {
				sizes = append(sizes, e)
			}
		}
	}
	sizes = append(sizes, 4095, 128<<10+4097, 3<<20+5, 9<<20+333333)
	if testing.Short() {
		sizes = sizes[:20]
	}

	work := make([]byte, maxSize+64)
	for k, size := range sizes {
		seal := k%2 == 1
		in, out := openPool, plain
		if seal {
			in, out = plain, openPool
		}
		align := k % 64
		buf := work[align : align+int(size)]
		copy(buf, in[:size])
		chunks := Chunks(size)
		macs := make([][16]byte, len(chunks))
		budget := []int64{8 << 20, 2 << 20, 1 << 20}[k%3]
		for i := 0; i < len(chunks); {
			j, sum := i, int64(0)
			for j < len(chunks) && (j == i || sum+chunks[j].Size <= budget) {
				sum += chunks[j].Size
				j++
			}
			ps := make([][]byte, j-i)
			offs := make([]int64, j-i)
			for x, c := range chunks[i:j] {
				ps[x], offs[x] = buf[c.Offset:c.Offset+c.Size], c.Offset
			}
			crypt(m, ps, offs, macs[i:j], seal)
			i = j
		}
		if !bytes.Equal(buf, out[:size]) {
			t.Fatalf("%s size %d: output differs", opName(seal), size)
		}
		for i, c := range chunks {
			want := allMACs[i]
			if c.Size != all[i].Size {
				want = chunkMACs(&fk, [][]byte{plain[c.Offset : c.Offset+c.Size]})[0]
			}
			if macs[i] != want {
				t.Fatalf("%s size %d: chunk %d: MAC %x, want %x", opName(seal), size, i, macs[i], want)
			}
		}
	}
}

func TestOpenPanicsOnShortArgs(t *testing.T) {
	m := NewMultiMAC(&FileKey{})
	for _, seal := range []bool{false, true} {
		for _, tt := range []struct {
			offs []int64
			macs [][16]byte
		}{
			{make([]int64, 2), make([][16]byte, 1)},
			{make([]int64, 1), make([][16]byte, 2)},
		} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("%s with %d offsets and %d macs for 2 chunks did not panic", opName(seal), len(tt.offs), len(tt.macs))
					}
				}()
				crypt(m, [][]byte{{1}, {2}}, tt.offs, tt.macs, seal)
			}()
		}
	}
}

// benchOpen opens (seals if seal is set) chunks of the given sizes (at
// consecutive offsets) per iteration; the data stays random-like, so
// every iteration does the same work.
func benchOpen(b *testing.B, m *MultiMAC, sizes []int, seal bool) {
	total := 0
	for _, s := range sizes {
		total += s
	}
	buf := pattern(total)
	chunks := make([][]byte, len(sizes))
	offs := make([]int64, len(sizes))
	off := 0
	for i, s := range sizes {
		chunks[i], offs[i] = buf[off:off+s], int64(off)
		off += s
	}
	macs := make([][16]byte, len(sizes))
	b.SetBytes(int64(total))
	b.ReportAllocs()
	for b.Loop() {
		crypt(m, chunks, offs, macs, seal)
	}
}

// BenchmarkOpen compares the fused kernel with the two passes, for 1, 4
// and 8 one-MiB chunks and for the first piece of a big file (the eight
// small chunks, 128 KiB to 1 MiB, then three 1 MiB ones: 7.5 MiB).
func BenchmarkOpen(b *testing.B) { benchCrypt(b, false) }

// BenchmarkSeal is BenchmarkOpen for Seal.
func BenchmarkSeal(b *testing.B) { benchCrypt(b, true) }

// benchCrypt runs BenchmarkOpen or BenchmarkSeal.
func benchCrypt(b *testing.B, seal bool) {
	fk := tvFileKey()
	first := []int{}
	for _, c := range Chunks(64 << 20)[:11] {
		first = append(first, int(c.Size))
	}
	layouts := []struct {
		name  string
		sizes []int
	}{
		{"1x1MiB", []int{1 << 20}},
		{"4x1MiB", []int{1 << 20, 1 << 20, 1 << 20, 1 << 20}},
		{"8x1MiB", []int{1 << 20, 1 << 20, 1 << 20, 1 << 20, 1 << 20, 1 << 20, 1 << 20, 1 << 20}},
		{"firstpiece", first},
	}
	for _, l := range layouts {
		for _, twoPass := range []bool{false, true} {
			name := "fused"
			if twoPass {
				name = "twopass"
			}
			b.Run(fmt.Sprintf("%s/%s", l.name, name), func(b *testing.B) {
				if twoPass {
					useTwoPassOpen(b)
				}
				m := NewMultiMAC(&fk)
				if !twoPass && !m.fused {
					b.Skip("no fused kernel here")
				}
				benchOpen(b, m, l.sizes, seal)
			})
		}
	}
}

// FuzzOpen checks Open and Seal against openRef on chunk layouts drawn
// from the fuzzer's seed: up to twelve chunks of any length below 300 KiB
// (the fuzzer's bytes pick them), at any offset and alignment.
func FuzzOpen(f *testing.F) {
	f.Add(uint64(1), []byte{0, 1, 2, 3})
	f.Add(uint64(7), []byte{255, 255, 64, 63, 65, 16, 17, 15, 0})
	f.Fuzz(func(t *testing.T, seed uint64, spec []byte) {
		r := rand.New(rand.NewPCG(seed, 4))
		n := min(len(spec), 12)
		c := openCase{lens: make([]int, n), offs: make([]int64, n), align: make([]int, n)}
		for i := range n {
			// The byte picks the length's scale, the seed the rest.
			c.lens[i] = int(spec[i]) * (1 + r.IntN(1200))
			c.offs[i] = r.Int64N(1 << 40)
			if spec[i]%4 != 0 {
				c.offs[i] &^= 15
			}
			c.align[i] = r.IntN(64)
		}
		var fk FileKey
		copy(fk.Key[:], randBytes(seed, 16))
		copy(fk.Nonce[:], randBytes(seed+1, 8))
		m := NewMultiMAC(&fk)
		checkOpen(t, m, &fk, c, seed, seed%2 == 1)
	})
}
