package backup

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"ferry/internal/backend/local"
	"ferry/internal/backup/chunker"
	"ferry/internal/backup/repo"
)

// benchSource writes files of random data totalling about size bytes.
func benchSource(b *testing.B, files, size int) string {
	b.Helper()
	src := b.TempDir()
	for i := range files {
		p := filepath.Join(src, fmt.Sprintf("d%d", i%10), fmt.Sprintf("f%04d", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, randBytes(uint64(i), size/files), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return src
}

func benchRepo(b *testing.B) *repo.Repository {
	b.Helper()
	be, err := local.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	r, err := repo.Init(b.Context(), be, testPassword, repo.Options{CacheDir: b.TempDir(), KDF: testKDF,
		PackSize: repo.DefaultLocalPackSize, Chunker: chunker.DefaultParams(), Compression: "off"})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkBackupFull: a first backup of 64 MiB of random data in 64
// files into a local repository (read, chunk, hash, encrypt, pack, write).
func BenchmarkBackupFull(b *testing.B) {
	const size = 64 << 20
	src := benchSource(b, 64, size)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		r := benchRepo(b)
		b.StartTimer()
		if _, err := Backup(b.Context(), r, Options{Paths: []string{src}, Hostname: "bench", Logger: slog.New(slog.DiscardHandler)}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBackupNoChange: a backup of 2000 unchanged files: the scan and
// the comparison with the parent snapshot, nothing read or written.
func BenchmarkBackupNoChange(b *testing.B) {
	src := benchSource(b, 2000, 2000*1024)
	r := benchRepo(b)
	o := Options{Paths: []string{src}, Hostname: "bench", Logger: slog.New(slog.DiscardHandler)}
	if _, err := Backup(b.Context(), r, o); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := Backup(b.Context(), r, o)
		if err != nil || !res.Unchanged {
			b.Fatal(err, res.Unchanged)
		}
	}
}
