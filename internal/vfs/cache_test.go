package vfs_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"ferry/internal/backend"
	megabackend "ferry/internal/backend/mega"
	"ferry/internal/backend/memory"
	"ferry/internal/vfs"
	"ferry/internal/vfs/vfstest"
	"ferry/megaserver/megaservertest"
)

// counting is a backend whose reads are counted: opens and bytes
// delivered. delay, if set, holds every Open that long.
type counting struct {
	backend.Backend
	opens, bytes atomic.Int64
	inFlight     atomic.Int64
	maxInFlight  atomic.Int64
	delay        time.Duration
}

func (c *counting) Open(ctx context.Context, p string, off, n int64) (io.ReadCloser, error) {
	c.opens.Add(1)
	now := c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	for {
		m := c.maxInFlight.Load()
		if now <= m || c.maxInFlight.CompareAndSwap(m, now) {
			break
		}
	}
	if c.delay > 0 {
		select {
		case <-time.After(c.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	rc, err := c.Backend.Open(ctx, p, off, n)
	if err != nil {
		return nil, err
	}
	return &countingReader{rc, &c.bytes}, nil
}

type countingReader struct {
	io.ReadCloser
	n *atomic.Int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	r.n.Add(int64(n))
	return n, err
}

// countingMega counts the reads of a MEGA backend, keeping its
// capabilities (ChunkVerifier, DuplicateNamer, ...).
type countingMega struct {
	*megabackend.Backend
	opens, bytes atomic.Int64
}

func (c *countingMega) OpenEntry(ctx context.Context, e backend.Entry, off, n int64) (io.ReadCloser, error) {
	c.opens.Add(1)
	rc, err := c.Backend.OpenEntry(ctx, e, off, n)
	if err != nil {
		return nil, err
	}
	return &countingReader{rc, &c.bytes}, nil
}

func putData(t *testing.T, b backend.Backend, p string, data []byte) {
	t.Helper()
	if _, err := b.Put(t.Context(), p, bytes.NewReader(data), int64(len(data)), time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
}

func randData(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func open(t *testing.T, v *vfs.VFS, name string) *vfs.Handle {
	t.Helper()
	n, err := v.Root().Lookup(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	h, err := v.Open(t.Context(), n, vfs.OpenRead)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// readAll reads h from 0 to its end in reads of size bs, in the order of
// offs (all offsets when nil).
func readAll(ctx context.Context, h *vfs.Handle, size int64, bs int, reverse bool) ([]byte, error) {
	out := make([]byte, size)
	var offs []int64
	for off := int64(0); off < size; off += int64(bs) {
		offs = append(offs, off)
	}
	if reverse {
		sort.Slice(offs, func(i, j int) bool { return offs[i] > offs[j] })
	}
	for _, off := range offs {
		n, err := h.ReadAt(ctx, out[off:min(off+int64(bs), size)], off)
		if err != nil && err != io.EOF {
			return nil, err
		}
		if want := min(int64(bs), size-off); int64(n) != want {
			return nil, errors.New("short read")
		}
	}
	return out, nil
}

// TestCacheRereadFetchesNothing: a file read whole once is read again,
// through another handle, from the cache; random 4 KiB reads fetch about
// what they ask for.
func TestCacheRereadFetchesNothing(t *testing.T) {
	ctx := t.Context()
	b := &counting{Backend: memory.New()}
	data := randData(3<<20+100, 1)
	putData(t, b, "f", data)
	v := newVFS(t, b)
	for i := range 2 {
		h := open(t, v, "f")
		got, err := readAll(ctx, h, int64(len(data)), 128<<10, false)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read %d: %v, equal %v", i, err, bytes.Equal(got, data))
		}
		h.Release(ctx)
		if i == 0 {
			if n := b.bytes.Load(); n != int64(len(data)) {
				t.Errorf("first read fetched %d bytes, want %d", n, len(data))
			}
			b.opens.Store(0)
		}
	}
	if n := b.opens.Load(); n != 0 {
		t.Errorf("second read opened the backend %d times, want 0", n)
	}

	putData(t, b, "g", randData(64<<20, 2))
	v2 := newVFS(t, b)
	h := open(t, v2, "g")
	defer h.Release(ctx)
	b.bytes.Store(0)
	r := rand.New(rand.NewPCG(3, 3))
	buf := make([]byte, 4096)
	for range 200 {
		off := r.Int64N(64<<20 - 4096)
		if _, err := h.ReadAt(ctx, buf, off); err != nil {
			t.Fatal(err)
		}
	}
	if n := b.bytes.Load(); n > 200*8192 {
		t.Errorf("200 random 4 KiB reads fetched %d bytes, want <= %d", n, 200*8192)
	}
}

// TestCacheEviction: beyond CacheMaxSize the least recently used closed
// file goes; a file open all along keeps its blocks.
func TestCacheEviction(t *testing.T) {
	ctx := t.Context()
	b := &counting{Backend: memory.New()}
	const size = 1 << 20
	for _, n := range []string{"open", "a", "b", "c"} {
		putData(t, b, n, randData(size, uint64(len(n))+uint64(n[0])))
	}
	v, err := vfs.New(ctx, b, vfs.Options{CacheDir: t.TempDir(), CacheMaxSize: 2*size + size/2})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	keep := open(t, v, "open")
	defer keep.Release(ctx)
	if _, err := readAll(ctx, keep, size, 128<<10, false); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b", "c"} {
		h := open(t, v, n)
		if _, err := readAll(ctx, h, size, 128<<10, false); err != nil {
			t.Fatal(err)
		}
		h.Release(ctx)
	}
	b.opens.Store(0)
	if _, err := readAll(ctx, keep, size, 128<<10, false); err != nil {
		t.Fatal(err)
	}
	if n := b.opens.Load(); n != 0 {
		t.Errorf("the open file was fetched again (%d opens): its blocks were evicted", n)
	}
	h := open(t, v, "c") // the newest closed file fits
	readAll(ctx, h, size, 128<<10, false)
	h.Release(ctx)
	if n := b.opens.Load(); n != 0 {
		t.Errorf("the newest closed file was fetched again (%d opens)", n)
	}
	h = open(t, v, "a") // the oldest was evicted
	readAll(ctx, h, size, 128<<10, false)
	h.Release(ctx)
	if n := b.opens.Load(); n == 0 {
		t.Error("the least recently used file was still cached beyond the bound")
	}
}

// TestCacheChangedObject: a file changed behind the VFS (same size) is
// read with its new bytes once the VFS sees the new entry.
func TestCacheChangedObject(t *testing.T) {
	ctx := t.Context()
	b := memory.New()
	old, fresh := randData(200<<10, 4), randData(200<<10, 5)
	putData(t, b, "f", old)
	v, err := vfs.New(ctx, b, vfs.Options{CacheDir: t.TempDir(), DirCacheTime: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	h := open(t, v, "f")
	got, err := readAll(ctx, h, int64(len(old)), 64<<10, false)
	h.Release(ctx)
	if err != nil || !bytes.Equal(got, old) {
		t.Fatalf("first read: %v", err)
	}
	if _, err := b.Put(ctx, "f", bytes.NewReader(fresh), int64(len(fresh)), time.Unix(1700000100, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Root().ReadDir(ctx); err != nil {
		t.Fatal(err)
	}
	h = open(t, v, "f")
	got, err = readAll(ctx, h, int64(len(fresh)), 64<<10, false)
	h.Release(ctx)
	if err != nil || !bytes.Equal(got, fresh) {
		t.Fatalf("read after the change: %v, old bytes %v", err, bytes.Equal(got, old))
	}
}

// TestCacheParallelReads: two reads of one handle at different offsets
// fetch at the same time, not one after the other.
func TestCacheParallelReads(t *testing.T) {
	ctx := t.Context()
	b := &counting{Backend: memory.New(), delay: 300 * time.Millisecond}
	data := randData(8<<20, 6)
	putData(t, b, "f", data)
	v := newVFS(t, b)
	h := open(t, v, "f")
	defer h.Release(ctx)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			off := int64(1<<20 + i*5<<20)
			buf := make([]byte, 4096)
			if _, err := h.ReadAt(ctx, buf, off); err != nil {
				t.Error(err)
			} else if !bytes.Equal(buf, data[off:off+4096]) {
				t.Error("wrong bytes")
			}
		})
	}
	wg.Wait()
	if m := b.maxInFlight.Load(); m < 2 {
		t.Errorf("at most %d fetch in flight for two reads of one handle, want 2", m)
	}
}

// newMegaVFS returns a VFS over a fresh MEGA test server (counted), the
// server and the VFS's cache dir.
func newMegaVFS(t testing.TB, o vfs.Options) (*vfs.VFS, *countingMega, *megaservertest.TestServer) {
	t.Helper()
	ts := megaservertest.Start(t)
	mb, err := megabackend.New(t.Context(), "m", backend.ConfigMap{
		"user": megaservertest.UserV2, "pass": megaservertest.PasswordV2, "url": ts.URL,
	}, "", backend.Env{CacheDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mb.(backend.Closer).Close() })
	b := &countingMega{Backend: mb.(*megabackend.Backend)}
	if o.CacheDir == "" {
		o.CacheDir = t.TempDir()
	}
	v, err := vfs.New(t.Context(), b, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v, b, ts
}

// TestCacheMegaTamper: with one byte of the stored blob flipped, reading
// the whole file fails with a fatal error, in order and in reverse order
// (each read ranged and partly from the cache); the other ranges read
// fine until the last one completes the file.
func TestCacheMegaTamper(t *testing.T) {
	for _, reverse := range []bool{false, true} {
		t.Run(map[bool]string{false: "Sequential", true: "Reverse"}[reverse], func(t *testing.T) {
			ctx := t.Context()
			v, b, ts := newMegaVFS(t, vfs.Options{})
			const size = 6<<20 + 12345
			data := randData(size, 7)
			putData(t, b, "f", data)
			ts.FlipByte(t, size, 5<<20+3)
			h := open(t, v, "f")
			defer h.Release(ctx)
			_, err := readAll(ctx, h, size, 100<<10, reverse)
			if err == nil || !backend.IsFatal(err) {
				t.Fatalf("full read of a tampered file: %v, want a fatal error", err)
			}
			// The failure sticks while the file is open.
			if _, err := h.ReadAt(ctx, make([]byte, 10), 0); !backend.IsFatal(err) {
				t.Errorf("read after the failure: %v, want the fatal error", err)
			}
		})
	}
}

// TestCacheMegaCorruptCacheFile: a flipped byte in the cache's data file
// is never read back: the chunk's MAC no longer matches, so it is fetched
// again.
func TestCacheMegaCorruptCacheFile(t *testing.T) {
	ctx := t.Context()
	cacheDir := t.TempDir()
	v, b, _ := newMegaVFS(t, vfs.Options{CacheDir: cacheDir})
	const size = 3<<20 + 77
	data := randData(size, 8)
	putData(t, b, "f", data)
	h := open(t, v, "f")
	// Backwards: a sequential read would keep the chunks in memory only.
	if got, err := readAll(ctx, h, size, 4096, true); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("first read: %v", err)
	}
	h.Release(ctx)
	files, _ := filepath.Glob(filepath.Join(vfs.BackendCacheDir(cacheDir, b), "blocks-*", "*"))
	var blob string
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && fi.Size() == size {
			blob = f
		}
	}
	if blob == "" {
		t.Fatalf("no cache data file of %d bytes in %v", size, files)
	}
	f, err := os.OpenFile(blob, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	one := []byte{0}
	f.ReadAt(one, 2<<20+5)
	one[0] ^= 0x40
	f.WriteAt(one, 2<<20+5)
	f.Close()
	b.opens.Store(0)
	h = open(t, v, "f")
	defer h.Release(ctx)
	for _, bs := range []int{4096, 128 << 10} {
		got, err := readAll(ctx, h, size, bs, bs == 4096)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read of a corrupted cache (reads of %d): %v, equal %v", bs, err, bytes.Equal(got, data))
		}
	}
	if b.opens.Load() == 0 {
		t.Error("the corrupted chunk was not fetched again")
	}
}

// TestCacheMegaRandomReads: random 4 KiB reads of a MEGA file fetch about
// 4 KiB each, and a file read whole from the cache verifies.
func TestCacheMegaRandomReads(t *testing.T) {
	ctx := t.Context()
	v, b, _ := newMegaVFS(t, vfs.Options{})
	const size = 32 << 20
	data := randData(size, 9)
	putData(t, b, "f", data)
	h := open(t, v, "f")
	defer h.Release(ctx)
	r := rand.New(rand.NewPCG(10, 10))
	buf := make([]byte, 4096)
	for range 200 {
		off := r.Int64N(size - 4096)
		if _, err := h.ReadAt(ctx, buf, off); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf, data[off:off+4096]) {
			t.Fatalf("wrong bytes at %d", off)
		}
	}
	if n := b.bytes.Load(); n > 200*8192 {
		t.Errorf("200 random 4 KiB reads fetched %d bytes, want <= %d", n, 200*8192)
	}
	if got, err := readAll(ctx, h, size, 128<<10, false); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("full read after random reads: %v", err)
	}
}

// TestSuiteMega runs the behaviour suite in process over MEGA, with
// stored blobs corrupted for CorruptRead.
func TestSuiteMega(t *testing.T) {
	vfstest.Run(t, vfstest.Config{New: func(t *testing.T) vfstest.Env {
		v, b, ts := newMegaVFS(t, vfs.Options{})
		return vfstest.Env{FS: vfstest.InProcess(v), Backend: b,
			Corrupt: func(t *testing.T, p string) {
				e, err := b.Stat(t.Context(), p)
				if err != nil {
					t.Fatal(err)
				}
				ts.FlipByte(t, e.Size, e.Size/2)
			}}
	}})
}

// TestCacheReadAheadFillsPipeline: a reader of one 1 MiB read at a time
// (a mount's direct I/O, dd bs=1M) keeps all four read-ahead fetches in
// flight once its window has grown, not two: with two, a reader faster
// than the backend waited for a piece every 8 MiB.
func TestCacheReadAheadFillsPipeline(t *testing.T) {
	ctx := t.Context()
	b := &counting{Backend: memory.New(), delay: 100 * time.Millisecond}
	data := randData(72<<20, 13)
	putData(t, b, "f", data)
	v := newVFS(t, b)
	h := open(t, v, "f")
	defer h.Release(ctx)
	got, err := readAll(ctx, h, int64(len(data)), 1<<20, false)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("sequential read: %v, equal %v", err, bytes.Equal(got, data))
	}
	if n := b.maxInFlight.Load(); n < 4 {
		t.Errorf("at most %d backend reads in flight during a sequential read, want 4 or more", n)
	}
}

// TestCacheMegaSequentialStaysInMemory: a MEGA file read sequentially,
// as the kernel does (1 MiB reads, several at a time, out of order),
// returns the right bytes, fetches each about once, and writes nothing
// to the cache's data file: read-ahead chunks stay in memory until read.
// A sequential read of a tampered file still fails.
func TestCacheMegaSequentialStaysInMemory(t *testing.T) {
	ctx := t.Context()
	cacheDir := t.TempDir()
	v, b, ts := newMegaVFS(t, vfs.Options{CacheDir: cacheDir})
	const size = 40<<20 + 333
	data := randData(size, 11)
	putData(t, b, "f", data)
	h := open(t, v, "f")
	got := make([]byte, size)
	const bs, inFlight = 1 << 20, 4
	for base := int64(0); base < size; base += bs * inFlight {
		var wg sync.WaitGroup
		for k := inFlight - 1; k >= 0; k-- { // the later reads first
			off := base + int64(k)*bs
			if off >= size {
				continue
			}
			wg.Go(func() {
				n, err := h.ReadAt(ctx, got[off:min(off+bs, size)], off)
				if err != nil && err != io.EOF {
					t.Errorf("read at %d: %v", off, err)
				} else if want := min(bs, size-off); int64(n) != want {
					t.Errorf("read at %d: %d bytes, want %d", off, n, want)
				}
			})
		}
		wg.Wait()
	}
	if !bytes.Equal(got, data) {
		t.Fatal("wrong bytes")
	}
	if n := b.bytes.Load(); n > size+size/10 {
		t.Errorf("a sequential read of %d bytes fetched %d", size, n)
	}
	// Read-ahead fetches whole pieces (eight chunks MACed at once), not a
	// chunk per read as the window slides: a handful of ramp-up fetches,
	// then one per 8 MiB.
	if n := b.opens.Load(); n > 14 {
		t.Errorf("a sequential read of %d bytes made %d ranged requests, want at most 14", size, n)
	}
	files, _ := filepath.Glob(filepath.Join(vfs.BackendCacheDir(cacheDir, b), "blocks-*", "*"))
	for _, f := range files {
		var st syscall.Stat_t
		if err := syscall.Stat(f, &st); err != nil {
			t.Fatal(err)
		}
		if st.Blocks != 0 {
			t.Errorf("%s: %d bytes on disk after a sequential read, want none", f, st.Blocks*512)
		}
	}
	h.Release(ctx)

	// Read again after a close: fetched again, still in memory only, and
	// checked as a whole: a flipped byte fails the read.
	e, err := b.Stat(ctx, "f")
	if err != nil {
		t.Fatal(err)
	}
	ts.FlipByte(t, e.Size, e.Size/3)
	h = open(t, v, "f")
	defer h.Release(ctx)
	if _, err := readAll(ctx, h, size, bs, false); !backend.IsFatal(err) {
		t.Errorf("sequential read of a tampered file: %v, want a fatal error", err)
	}
}

// TestCacheMegaReadAfterRename: a MEGA file partly in the cache, renamed
// and opened again under its new name, reads the rest from its new path
// (the cache keeps the object by ID).
func TestCacheMegaReadAfterRename(t *testing.T) {
	ctx := t.Context()
	v, b, _ := newMegaVFS(t, vfs.Options{})
	const size = 3 << 20
	data := randData(size, 12)
	putData(t, b, "old", data)
	h := open(t, v, "old")
	buf := make([]byte, 4096)
	if _, err := h.ReadAt(ctx, buf, 1<<20); err != nil {
		t.Fatal(err)
	}
	h.Release(ctx)
	if err := v.Root().Rename(ctx, "old", v.Root(), "new"); err != nil {
		t.Fatal(err)
	}
	h = open(t, v, "new")
	defer h.Release(ctx)
	got, err := readAll(ctx, h, size, 128<<10, false)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read after the rename: %v, equal %v", err, bytes.Equal(got, data))
	}
}

// TestCacheReadDataNoCopy: a sequential read of a MEGA file in 1 MiB
// reads gets, for most of them, the checked chunks in memory themselves
// (two chunks of one fetch in one piece), not a copy into its buffer;
// every byte is right, and ReadAt returns the same bytes.
func TestCacheReadDataNoCopy(t *testing.T) {
	ctx := t.Context()
	v, b, _ := newMegaVFS(t, vfs.Options{})
	data := randData(40<<20, 11)
	putData(t, b, "f", data)
	h := open(t, v, "f")
	defer h.Release(ctx)
	const bs = 1 << 20
	shared := 0
	for off := 0; off < len(data); off += bs {
		p := make([]byte, bs)
		got, err := h.ReadData(ctx, p, int64(off))
		if err != nil && err != io.EOF {
			t.Fatalf("ReadData at %d: %v", off, err)
		}
		if !bytes.Equal(got, data[off:min(off+bs, len(data))]) {
			t.Fatalf("ReadData at %d: wrong bytes", off)
		}
		if &got[0] != &p[0] {
			shared++
		}
	}
	if reads := len(data) / bs; shared < reads/2 {
		t.Errorf("%d of %d sequential 1 MiB reads returned memory of the cache, want most", shared, reads)
	}
	p := make([]byte, 3*bs)
	if n, err := h.ReadAt(ctx, p, 30<<20+5); err != nil || n != len(p) || !bytes.Equal(p, data[30<<20+5:][:len(p)]) {
		t.Errorf("ReadAt after: %d, %v", n, err)
	}
}
