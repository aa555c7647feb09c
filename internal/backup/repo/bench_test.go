package repo

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"crypto/sha256"
	"encoding/binary"
	"runtime"
	"syscall"
	"testing"

	"ferry/internal/backend"

	"ferry/internal/backend/memory"
)

// benchData are the 1 MiB blob kinds the benchmarks use.
var benchData = []struct {
	name string
	data func() []byte
}{
	{"random", func() []byte { return randBytes(1, 1<<20) }},
	{"text", func() []byte { return textBytes(1 << 20) }},
}

// sinkBackend keeps everything but data packs, which it reads and drops:
// SaveBlob's benchmark measures the repository, not a backend's copy.
type sinkBackend struct{ *memory.Backend }

func (s sinkBackend) Put(ctx context.Context, p string, r io.Reader, size int64, mt time.Time) (backend.Entry, error) {
	if strings.HasPrefix(p, "data/") {
		n, err := io.Copy(io.Discard, r)
		return backend.Entry{Path: p, Size: n, ModTime: mt}, err
	}
	return s.Backend.Put(ctx, p, r, size, mt)
}

func benchRepo(b *testing.B, be backend.Backend, compression string) *Repository {
	o := Options{CacheDir: b.TempDir(), PackSize: DefaultLocalPackSize, KDF: testKDF, Compression: compression}
	r, err := Init(b.Context(), be, testPassword, o)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkSaveBlob stores distinct 1 MiB blobs (a counter in the first
// bytes), packs included, on the memory backend.
func BenchmarkSaveBlob(b *testing.B) {
	for _, d := range benchData {
		b.Run(d.name, func(b *testing.B) {
			r := benchRepo(b, sinkBackend{memory.New()}, "auto")
			data := d.data()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			var n uint64
			start := processCPU()
			for b.Loop() {
				n++
				binary.LittleEndian.PutUint64(data, n)
				if _, _, _, err := r.SaveBlob(b.Context(), DataBlob, data); err != nil {
					b.Fatal(err)
				}
			}
			if err := r.Flush(b.Context()); err != nil {
				b.Fatal(err)
			}
			reportCPU(b, processCPU()-start, int64(n)*int64(len(data)))
			st := r.Stats()
			b.ReportMetric(float64(st.BytesStored)/float64(st.BytesNew), "stored/raw")
		})
	}
}

// BenchmarkLoadBlob reads 1 MiB blobs back (decrypt, decompress, verify).
func BenchmarkLoadBlob(b *testing.B) {
	for _, d := range benchData {
		b.Run(d.name, func(b *testing.B) {
			r := benchRepo(b, memory.New(), "auto")
			data := d.data()
			var ids []ID
			for i := range 32 {
				binary.LittleEndian.PutUint64(data, uint64(i))
				id, _, _, err := r.SaveBlob(b.Context(), DataBlob, data)
				if err != nil {
					b.Fatal(err)
				}
				ids = append(ids, id)
			}
			if err := r.Flush(b.Context()); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			var buf []byte
			i := 0
			start := processCPU()
			for b.Loop() {
				out, err := r.LoadBlob(b.Context(), DataBlob, ids[i%len(ids)], buf)
				if err != nil {
					b.Fatal(err)
				}
				buf = out
				i++
			}
			reportCPU(b, processCPU()-start, int64(i)*int64(len(data)))
		})
	}
}

// BenchmarkCrypto is the crypto a stored byte costs: the keyed ID, the
// AES-256-GCM seal and the pack's SHA-256. cpu@500MB/s is the share of
// one core that costs at 500 MB/s.
func BenchmarkCrypto(b *testing.B) {
	r := benchRepo(b, memory.New(), "off")
	data := randBytes(1, 1<<20)
	out := make([]byte, 0, len(data)+overhead)
	plain := make([]byte, 0, len(data))
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"id", func() { r.BlobID(data) }},
		{"seal", func() { out, _ = r.c.seal(out[:0], data) }},
		{"open", func() { r.c.open(plain[:0], out) }},
		{"sha256", func() { sha256.Sum256(data) }},
		{"save", func() { r.BlobID(data); out, _ = r.c.seal(out[:0], data); sha256.Sum256(out) }},
		{"load", func() { p, _ := r.c.open(plain[:0], out); r.BlobID(p) }},
	} {
		out, _ = r.c.seal(out[:0], data)
		b.Run(tc.name, func(b *testing.B) {
			// CPU time of this thread, not wall time: on a loaded machine
			// the wall clock also counts other processes' turns.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			b.SetBytes(int64(len(data)))
			start := threadCPU()
			for b.Loop() {
				tc.f()
			}
			reportCPU(b, threadCPU()-start, int64(b.N)*int64(len(data)))
		})
	}
}

// reportCPU reports the CPU time spent per byte as the share of one core
// that costs at 500 MB/s, and as the throughput of one busy core.
func reportCPU(b *testing.B, cpuNanos, bytes int64) {
	if bytes == 0 {
		return
	}
	nsPerByte := float64(cpuNanos) / float64(bytes)
	b.ReportMetric(nsPerByte*500e6/1e9*100, "%cpu@500MB/s")
	b.ReportMetric(1e3/nsPerByte, "cpuMB/s")
}

// processCPU returns the CPU time of the whole process (every goroutine:
// packing and uploads run in the background), in nanoseconds.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// threadCPU returns the CPU time (user and system) of the calling OS
// thread, in nanoseconds.
func threadCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkSaveBlobParallel is BenchmarkSaveBlob from GOMAXPROCS
// goroutines at once, as the archiver's workers call it.
func BenchmarkSaveBlobParallel(b *testing.B) {
	r := benchRepo(b, sinkBackend{memory.New()}, "auto")
	base := randBytes(1, 1<<20)
	b.SetBytes(int64(len(base)))
	var n atomic.Uint64
	start := processCPU()
	b.RunParallel(func(pb *testing.PB) {
		data := bytes.Clone(base)
		for pb.Next() {
			binary.LittleEndian.PutUint64(data, n.Add(1))
			if _, _, _, err := r.SaveBlob(b.Context(), DataBlob, data); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if err := r.Flush(b.Context()); err != nil {
		b.Fatal(err)
	}
	reportCPU(b, processCPU()-start, int64(n.Load())*int64(len(base)))
}
