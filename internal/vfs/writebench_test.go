package vfs_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/vfs"
)

// timedMega times the Puts of a MEGA backend.
type timedMega struct {
	*countingMega
	puts    atomic.Int64
	putTime atomic.Int64 // nanoseconds in Put
}

func (t *timedMega) Put(ctx context.Context, p string, r io.Reader, size int64, mtime time.Time) (backend.Entry, error) {
	start := time.Now()
	e, err := t.countingMega.Put(ctx, p, r, size, mtime)
	t.putTime.Add(int64(time.Since(start)))
	t.puts.Add(1)
	return e, err
}

// smallFileSizes are the sizes the small-file benchmark writes: 1-64 KiB,
// as bench/mount.sh's measure (c).
func smallFileSizes(n int) []int {
	r := rand.New(rand.NewPCG(1, 2))
	s := make([]int, n)
	for i := range s {
		s[i] = 1<<10 + r.IntN(63<<10)
	}
	return s
}

// BenchmarkSmallFileWrite writes small files one after the other, each
// created, written in 128 KiB writes (FUSE's max_write), flushed and
// released as `cp` through a mount does, 100 to a folder, on a loopback
// MEGA server; put stores the same files with backend Put, the floor the
// VFS adds its work to. It reports the share of each file's time spent in
// Put (put-share) and, for write-back, the time close takes.
func BenchmarkSmallFileWrite(b *testing.B) {
	sizes := smallFileSizes(1000)
	data := make([]byte, 64<<10)
	rand.NewChaCha8([32]byte{3}).Read(data)
	b.Run("put", func(b *testing.B) {
		_, mb, _ := newMegaVFS(b, vfs.Options{})
		i := 0
		for b.Loop() {
			size := sizes[i%len(sizes)]
			p := fmt.Sprintf("d%d/f%d", i/100, i)
			if _, err := mb.Put(b.Context(), p, bytes.NewReader(data[:size]), int64(size), time.Now()); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	for _, c := range []struct {
		name string
		o    vfs.Options
	}{{"vfs", vfs.Options{}}, {"vfs-writeback", vfs.Options{WriteBack: time.Hour}}} {
		b.Run(c.name, func(b *testing.B) {
			_, mb, _ := newMegaVFS(b, vfs.Options{})
			tm := &timedMega{countingMega: mb}
			c.o.CacheDir = b.TempDir()
			v, err := vfs.New(b.Context(), tm, c.o)
			if err != nil {
				b.Fatal(err)
			}
			defer v.Close()
			ctx := b.Context()
			i := 0
			var dir *vfs.Node
			for b.Loop() {
				if i%100 == 0 {
					if dir, err = v.Root().Mkdir(ctx, fmt.Sprintf("d%d", i/100)); err != nil {
						b.Fatal(err)
					}
				}
				size := sizes[i%len(sizes)]
				_, h, err := dir.Create(ctx, fmt.Sprintf("f%d", i))
				if err != nil {
					b.Fatal(err)
				}
				for off := 0; off < size; off += 128 << 10 {
					if _, err := h.WriteAt(ctx, data[off:min(size, off+128<<10)], int64(off)); err != nil {
						b.Fatal(err)
					}
				}
				if err := h.Flush(ctx); err != nil {
					b.Fatal(err)
				}
				if err := h.Release(ctx); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.StopTimer()
			if c.o.WriteBack > 0 {
				if err := v.Sync(ctx); err != nil {
					b.Fatal(err)
				}
			}
			if n := tm.puts.Load(); n > 0 && c.o.WriteBack == 0 {
				b.ReportMetric(float64(tm.putTime.Load())/float64(b.Elapsed()), "put-share")
			}
		})
	}
}
