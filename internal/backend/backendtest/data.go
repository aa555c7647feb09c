package backendtest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
	"time"

	"ferry/internal/backend"
)

// testPutGetRoundTrip stores a file below missing parents and reads back
// its content, size and mtime through Put's entry, Stat, List and Open.
func testPutGetRoundTrip(t *testing.T, b backend.Backend, _ *Config) {
	const p = "a/b/file.bin"
	data := content(1, 100_003)
	e := put(t, b, p, data, mtime1)
	wantEntry(t, b, "Put's entry", e, p, false, int64(len(data)), mtime1)
	wantEntry(t, b, "Stat", stat(t, b, p), p, false, int64(len(data)), mtime1)
	wantDir(t, b, "a")
	wantDir(t, b, "a/b")

	es := list(t, b, "a/b")
	if len(es) != 1 {
		t.Fatalf("List(a/b) = %v, want [%s]", paths(es), p)
	}
	wantEntry(t, b, "List entry", es[0], p, false, int64(len(data)), mtime1)

	rc, err := b.Open(t.Context(), p, 0, -1)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := iotest.TestReader(rc, data); err != nil {
		t.Errorf("reader from Open(%q, 0, -1): %v", p, err)
	}
	if err := rc.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	wantFile(t, b, p, data)
}

// testZeroLength stores and reads empty files.
func testZeroLength(t *testing.T, b backend.Backend, _ *Config) {
	for _, p := range []string{"empty", "dir/empty"} {
		e := put(t, b, p, nil, mtime1)
		wantEntry(t, b, "Put's entry", e, p, false, 0, mtime1)
		wantEntry(t, b, "Stat", stat(t, b, p), p, false, 0, mtime1)
		wantFile(t, b, p, nil)
		got, err := read(t.Context(), b, p, 0, 10)
		if err != nil || len(got) != 0 {
			t.Errorf("Open(%q, 0, 10) = %d bytes, %v; want 0 bytes, nil", p, len(got), err)
		}
	}
	es := list(t, b, "")
	if got, want := fmt.Sprint(paths(es)), "[dir/ empty]"; got != want {
		t.Errorf("List(\"\") = %s, want %s", got, want)
	}
	for _, e := range es {
		if !e.IsDir && e.Size != 0 {
			t.Errorf("List entry %q has Size %d, want 0", e.Path, e.Size)
		}
	}
}

// megaChunkStarts are the offsets where MEGA's upload and MAC chunks start
// (128 KiB, then one more 128 KiB each time, up to 1 MiB chunks); past the
// last, chunks start every 1 MiB.
var megaChunkStarts = []int64{131072, 393216, 786432, 1310720, 1966080, 2752512, 3670016, 4718592}

// chunkStarts returns MEGA's chunk starts below limit.
func chunkStarts(limit int64) []int64 {
	var starts []int64
	for _, s := range megaChunkStarts {
		if s < limit {
			starts = append(starts, s)
		}
	}
	for s := megaChunkStarts[len(megaChunkStarts)-1] + 1<<20; s < limit; s += 1 << 20 {
		starts = append(starts, s)
	}
	return starts
}

// chunkSizes returns the file sizes ChunkBoundarySizes stores: small sizes
// around AES blocks, then each chunk start up to maxSize and one byte
// either side. Quick keeps the first and last chunk starts only.
func chunkSizes(maxSize int64, quick bool) []int64 {
	starts := chunkStarts(maxSize + 2)
	if quick && len(starts) > 2 {
		starts = []int64{starts[0], starts[len(starts)-1]}
	}
	var sizes []int64
	if !quick {
		sizes = append(sizes, 1, 15, 16, 17, 4095, 4096, 4097)
	}
	for _, s := range starts {
		for _, n := range []int64{s - 1, s, s + 1} {
			if n <= maxSize {
				sizes = append(sizes, n)
			}
		}
	}
	return sizes
}

// testChunkBoundarySizes stores files of sizes around MEGA's chunk starts
// and reads them back, whole and across each boundary.
func testChunkBoundarySizes(t *testing.T, b backend.Backend, cfg *Config) {
	sizes := chunkSizes(cfg.MaxLarge, cfg.Quick)
	t.Logf("sizes: %v", sizes)
	for _, n := range sizes {
		p := fmt.Sprintf("size-%d", n)
		data := content(uint64(n), n)
		e := put(t, b, p, data, mtime1)
		if e.Size != n {
			t.Errorf("Put(%q): Size %d, want %d", p, e.Size, n)
		}
		if got := stat(t, b, p).Size; got != n {
			t.Errorf("Stat(%q): Size %d, want %d", p, got, n)
		}
		got := get(t, b, p)
		if sha256.Sum256(got) != sha256.Sum256(data) {
			t.Errorf("content of %q: %s", p, diffBytes(got, data))
		}
		// Ranges straddling each chunk boundary inside the file.
		if cfg.Quick {
			continue
		}
		for _, s := range chunkStarts(n) {
			off, l := s-7, int64(16)
			got, err := read(t.Context(), b, p, off, l)
			want := data[off:min(off+l, n)]
			if err != nil {
				t.Errorf("Open(%q, %d, %d): %v", p, off, l, err)
			} else if !bytes.Equal(got, want) {
				t.Errorf("Open(%q, %d, %d): %s", p, off, l, diffBytes(got, want))
			}
		}
	}
}

// testRangedReads reads ranges of one file at random (fixed-seed) offsets
// and lengths, plus the edge cases of the contract.
func testRangedReads(t *testing.T, b backend.Backend, cfg *Config) {
	const p = "ranged.bin"
	const size = 400_009 // crosses two MEGA chunk boundaries
	data := content(2, size)
	put(t, b, p, data, mtime1)

	type rng struct{ off, n int64 }
	ranges := []rng{
		{0, -1}, {0, size}, {0, 1}, {1, -1}, {size - 1, 1}, {size - 1, -1},
		{0, 0}, {17, 0}, // empty ranges
		{size, -1}, {size, 10}, {size + 100, 10}, {size + 100, -1}, // at and past EOF
		{size - 5, 100}, {100, size}, // truncated at EOF
		{131072 - 3, 7}, {393216 - 100, 1000}, // across chunk boundaries
	}
	r := rand.New(rand.NewPCG(1, 2))
	random := 40
	if cfg.Quick {
		random = 8
	}
	for range random {
		off := r.Int64N(size)
		n := r.Int64N(size - off + 1000) // sometimes past EOF
		if r.IntN(8) == 0 {
			n = -1
		}
		ranges = append(ranges, rng{off, n})
	}
	for _, rg := range ranges {
		end := int64(size)
		if rg.n >= 0 {
			end = min(rg.off+rg.n, size)
		}
		want := data[min(rg.off, size):max(min(rg.off, size), end)]
		got, err := read(t.Context(), b, p, rg.off, rg.n)
		if err != nil {
			t.Errorf("Open(%q, %d, %d): %v", p, rg.off, rg.n, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("Open(%q, %d, %d): %s", p, rg.off, rg.n, diffBytes(got, want))
		}
	}

	// Reading in tiny pieces must give the same bytes (and io.EOF after
	// the last one, which io.ReadAll requires).
	rc, err := b.Open(t.Context(), p, 1000, 5000)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	got, err := io.ReadAll(iotest.OneByteReader(rc))
	rc.Close()
	if err != nil {
		t.Errorf("one-byte reads of Open(%q, 1000, 5000): %v", p, err)
	}
	wantContent(t, "one-byte reads", got, data[1000:6000])
}

// testOverwrite puts over an existing file, shorter and then longer, and
// checks that the new size, mtime and content replace the old ones and
// that no second object appears.
func testOverwrite(t *testing.T, b backend.Backend, _ *Config) {
	const p = "dir/over.txt"
	put(t, b, p, content(3, 10_000), mtime1)
	for i, n := range []int64{500, 200_000, 0, 1} {
		data := content(uint64(10+i), n)
		mt := mtime2.Add(time.Duration(i) * time.Hour)
		e := put(t, b, p, data, mt)
		wantEntry(t, b, fmt.Sprintf("overwrite %d: Put's entry", i), e, p, false, n, mt)
		wantEntry(t, b, fmt.Sprintf("overwrite %d: Stat", i), stat(t, b, p), p, false, n, mt)
		wantFile(t, b, p, data)
		es := list(t, b, "dir")
		if len(es) != 1 {
			t.Fatalf("overwrite %d: List(dir) = %v, want only %s", i, paths(es), p)
		}
		wantEntry(t, b, fmt.Sprintf("overwrite %d: List entry", i), es[0], p, false, n, mt)
	}
}

// testModTimeRoundTrip stores files with several mtimes and reads them
// back through Put's entry, Stat and List.
func testModTimeRoundTrip(t *testing.T, b backend.Backend, _ *Config) {
	mts := []time.Time{
		mtime1, mtime2, mtime3,
		time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.FixedZone("X", 5*3600+1800)),
		time.Now().Add(-time.Minute),
	}
	want := map[string]time.Time{}
	for i, mt := range mts {
		p := fmt.Sprintf("mt%d", i)
		want[p] = mt
		e := put(t, b, p, []byte(p), mt)
		wantEntry(t, b, "Put's entry", e, p, false, int64(len(p)), mt)
		wantEntry(t, b, "Stat", stat(t, b, p), p, false, int64(len(p)), mt)
	}
	for _, e := range list(t, b, "") {
		wantEntry(t, b, "List entry", e, e.Path, false, int64(len(e.Path)), want[e.Path])
	}
}
