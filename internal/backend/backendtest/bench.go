package backendtest

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"ferry/internal/backend"
)

// Bench runs throughput sub-benchmarks on backends from cfg.NewTB:
// Put/<size> stores a file over and over, Open/<size> reads one whole, and
// OpenRange/64KiB reads random 64 KiB ranges of a 4 MiB file.
func Bench(b *testing.B, cfg Config) {
	if cfg.NewTB == nil {
		b.Fatal("backendtest.Bench needs Config.NewTB")
	}
	sizes := []struct {
		name string
		n    int64
	}{{"4KiB", 4 << 10}, {"1MiB", 1 << 20}, {"4MiB", 4 << 20}}
	for _, s := range sizes {
		b.Run("Put/"+s.name, func(b *testing.B) {
			be := cfg.NewTB(b)
			data := content(uint64(s.n), s.n)
			b.SetBytes(s.n)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := be.Put(b.Context(), "bench", bytes.NewReader(data), s.n, mtime1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, s := range sizes {
		b.Run("Open/"+s.name, func(b *testing.B) {
			be := cfg.NewTB(b)
			benchPut(b, be, "bench", s.n)
			b.SetBytes(s.n)
			b.ReportAllocs()
			for b.Loop() {
				benchRead(b, be, "bench", 0, -1, s.n)
			}
		})
	}
	b.Run("OpenRange/64KiB", func(b *testing.B) {
		const size, n = 4 << 20, 64 << 10
		be := cfg.NewTB(b)
		benchPut(b, be, "bench", size)
		r := rand.New(rand.NewPCG(3, 4))
		b.SetBytes(n)
		b.ReportAllocs()
		for b.Loop() {
			benchRead(b, be, "bench", r.Int64N(size-n), n, n)
		}
	})
}

func benchPut(b *testing.B, be backend.Backend, p string, n int64) {
	b.Helper()
	if _, err := be.Put(b.Context(), p, bytes.NewReader(content(uint64(n), n)), n, mtime1); err != nil {
		b.Fatal(err)
	}
}

func benchRead(b *testing.B, be backend.Backend, p string, off, n, want int64) {
	rc, err := be.Open(b.Context(), p, off, n)
	if err != nil {
		b.Fatal(err)
	}
	got, err := io.Copy(io.Discard, rc)
	rc.Close()
	if err != nil || got != want {
		b.Fatal(fmt.Sprintf("Open(%q, %d, %d): read %d bytes, %v; want %d", p, off, n, got, err, want))
	}
}
