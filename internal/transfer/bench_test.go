package transfer

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ferry/internal/backend"
	"ferry/internal/backend/memory"
	"ferry/internal/filter"
)

// benchTree fills b with dirs x perDir files of size bytes under root.
func benchTree(b *testing.B, be backend.Backend, root string, dirs, perDir, size int) {
	b.Helper()
	data := bytes.Repeat([]byte{'x'}, size)
	ctx := context.Background()
	for d := range dirs {
		for f := range perDir {
			p := backend.Join(root, fmt.Sprintf("dir%03d/sub/file%05d.dat", d, f))
			if _, err := be.Put(ctx, p, bytes.NewReader(data), int64(size), t0); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkSyncDecisions syncs two identical in-memory trees of 100,000
// files: listing, merging and deciding, with nothing to transfer.
func BenchmarkSyncDecisions(b *testing.B) {
	const dirs, perDir = 100, 1000
	src, dst := memory.New(), memory.New()
	benchTree(b, src, "", dirs, perDir, 1)
	benchTree(b, dst, "", dirs, perDir, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		opts := Options{Stats: new(Stats)}
		if err := Sync(context.Background(), Location{src, ""}, Location{dst, ""}, opts); err != nil {
			b.Fatal(err)
		}
		if s := opts.Stats.Snapshot(); s.Checks != dirs*perDir || s.Transfers != 0 {
			b.Fatalf("stats %+v", s)
		}
	}
	b.ReportMetric(float64(dirs*perDir)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkCopySmallFiles copies 1,000 files of 4 KiB between in-memory
// backends: the per-file overhead of the pipeline.
func BenchmarkCopySmallFiles(b *testing.B) {
	const files, size = 1000, 4 << 10
	src := memory.New()
	benchTree(b, src, "", 10, files/10, size)
	b.SetBytes(files * size)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		dst := memory.New()
		opts := Options{Stats: new(Stats)}
		if err := Copy(context.Background(), Location{src, ""}, Location{dst, ""}, opts); err != nil {
			b.Fatal(err)
		}
		if s := opts.Stats.Snapshot(); s.Transfers != files {
			b.Fatalf("stats %+v", s)
		}
	}
	b.ReportMetric(float64(files)*float64(b.N)/b.Elapsed().Seconds(), "files/s")
}

// BenchmarkLimiterWait is the cost --bwlimit adds to each read of a
// transfer (a timetable of a week's slots, four readers at once), at a
// rate high enough that no read waits.
func BenchmarkLimiterWait(b *testing.B) {
	var slots []Slot
	for d := range 7 {
		slots = append(slots, Slot{Weekday: d, Minute: 8 * 60, Rate: Bandwidth{1 << 50, 1 << 50}},
			Slot{Weekday: d, Minute: 18 * 60, Rate: Bandwidth{1 << 50, 1 << 50}})
	}
	l := NewScheduleLimiter(slots).Direction(true, true)
	b.SetBytes(32 << 10)
	b.SetParallelism(1)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.wait(nil, 32<<10)
		}
	})
}

// BenchmarkFilesFrom copies 3 files named in a --files-from list out of
// an in-memory tree of 100,000 files: "lookup" is --files-from (a Stat per
// listed file and side), "anchored" the same paths as --include rules (the
// walk lists only the directories holding them, 1,000 entries each),
// "walk" an unanchored --include that lists the whole tree.
func BenchmarkFilesFrom(b *testing.B) {
	const dirs, perDir = 100, 1000
	src := memory.New()
	benchTree(b, src, "", dirs, perDir, 1)
	paths := []string{"dir007/sub/file00042.dat", "dir050/sub/file00500.dat", "dir099/sub/file00999.dat"}
	list := filepath.Join(b.TempDir(), "files")
	if err := os.WriteFile(list, []byte(strings.Join(paths, "\n")+"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	anchored := make([]string, len(paths))
	for i, p := range paths {
		anchored[i] = "/" + p
	}
	for _, bc := range []struct {
		name string
		opts filter.Options
	}{
		{"lookup", filter.Options{FilesFrom: []string{list}}},
		{"anchored", filter.Options{Include: anchored}},
		{"walk", filter.Options{Include: []string{"{file00042,file00500,file00999}.dat"}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			flt, err := filter.New(bc.opts)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				opts := Options{Stats: new(Stats), Filter: flt}
				if err := Copy(context.Background(), Location{src, ""}, Location{memory.New(), ""}, opts); err != nil {
					b.Fatal(err)
				}
				if s := opts.Stats.Snapshot(); s.Transfers < 3 {
					b.Fatalf("stats %+v", s)
				}
			}
		})
	}
}
