package vfs_test

import (
	"context"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"ferry/internal/vfs"
)

// benchSize is the file the read benchmarks read: FERRY_VFS_BENCH_MB
// MiB (1 GiB by default, the benchmark).
func benchSize() int64 {
	if s, err := strconv.Atoi(os.Getenv("FERRY_VFS_BENCH_MB")); err == nil && s > 0 {
		return int64(s) << 20
	}
	return 1 << 30
}

// benchMega returns a MEGA backend (counted) on a fresh local server
// holding "big", benchSize() bytes of random data.
func benchMega(b *testing.B) (*countingMega, int64) {
	b.Helper()
	_, mb, _ := newMegaVFS(b, vfs.Options{})
	size := benchSize()
	src := io.LimitReader(rand.NewChaCha8([32]byte{1}), size)
	if _, err := mb.Put(b.Context(), "big", src, size, time.Unix(1700000000, 0)); err != nil {
		b.Fatal(err)
	}
	return mb, size
}

// openBig opens "big" on a VFS with a cold cache (maxSize is
// Options.CacheMaxSize).
func openBig(b *testing.B, mb *countingMega, maxSize int64) (*vfs.VFS, *vfs.Handle) {
	v, err := vfs.New(b.Context(), mb, vfs.Options{CacheDir: b.TempDir(), CacheMaxSize: maxSize})
	if err != nil {
		b.Fatal(err)
	}
	n, err := v.Root().Lookup(b.Context(), "big")
	if err != nil {
		b.Fatal(err)
	}
	h, err := v.Open(b.Context(), n, vfs.OpenRead)
	if err != nil {
		b.Fatal(err)
	}
	return v, h
}

// BenchmarkSequentialRead reads a file whole through a VFS with a cold
// cache in 1 MiB reads with ReadData, four in flight, as the kernel sends
// a mount's read-ahead (internal/mount sets it to 4 MiB), against the
// MEGA client's verified parallel download (what `ferry cat` does).
// vfs-nocache reads with the block cache off (one verified stream).
func BenchmarkSequentialRead(b *testing.B) {
	mb, size := benchMega(b)
	for _, c := range []struct {
		name    string
		maxSize int64
	}{{"vfs", 0}, {"vfs-nocache", -1}} {
		b.Run(c.name, func(b *testing.B) { seqRead(b, mb, size, c.maxSize) })
	}
	b.Run("cat", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			rc, err := mb.Open(b.Context(), "big", 0, -1)
			if err != nil {
				b.Fatal(err)
			}
			if n, err := io.Copy(io.Discard, rc); err != nil || n != size {
				b.Fatal(n, err)
			}
			rc.Close()
		}
	})
}

func seqRead(b *testing.B, mb *countingMega, size, maxSize int64) {
	b.SetBytes(size)
	for b.Loop() {
		v, h := openBig(b, mb, maxSize)
		const bs, inFlight = 1 << 20, 4
		next := make(chan int64)
		errs := make(chan error, inFlight)
		for range inFlight {
			go func() {
				buf := make([]byte, bs)
				var failed error
				for off := range next {
					if failed != nil {
						continue
					}
					if _, err := h.ReadData(context.Background(), buf, off); err != nil && err != io.EOF {
						failed = err
					}
				}
				errs <- failed
			}()
		}
		for off := int64(0); off < size; off += bs {
			next <- off
		}
		close(next)
		for range inFlight {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
		h.Release(b.Context())
		v.Close()
	}
}

// BenchmarkRandomRead4K makes 200 random 4 KiB reads of the file through
// a VFS with a cold cache and reports the bytes fetched from the server
// and the p50 and p99 latency of one read.
func BenchmarkRandomRead4K(b *testing.B) {
	mb, size := benchMega(b)
	var lat []time.Duration
	var fetched int64
	runs := 0
	for b.Loop() {
		v, h := openBig(b, mb, 0)
		r := rand.New(rand.NewPCG(uint64(runs), 7))
		buf := make([]byte, 4096)
		before := mb.bytes.Load()
		for range 200 {
			off := r.Int64N(size - 4096)
			t0 := time.Now()
			if _, err := h.ReadAt(context.Background(), buf, off); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		fetched += mb.bytes.Load() - before
		runs++
		h.Release(b.Context())
		v.Close()
	}
	slices.Sort(lat)
	b.ReportMetric(float64(fetched)/float64(runs)/(1<<20), "MiB-fetched/200reads")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
