package bench

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	gomega "github.com/t3rm1n4l/go-mega"
)

// Shape of the small-files set: cliSmallDirs folders of equal share of
// $FERRY_BENCH_SMALL_FILES files (default 1000), 1 to 64 KiB each.
const (
	cliSmallDirs = 10
	cliSmallMax  = 64 << 10
	cliSmallSeed = 0x5eed
)

// TestBenchSmallFiles copies a folder of many small files (default 1,000
// of 1-64 KiB, deterministic contents and sizes, in 10 subfolders) up to a
// fresh remote folder on one loopback server:
//
//   - ferry-tN: `ferry copy SRC m:dst --transfers N` (the binary; N=4 is
//     its default), with the cache dir of an earlier command, as a user's
//     second command would run.
//   - gomega: one Login, CreateDir for the folders, then UploadFile for
//     each file in turn: what a sequential go-mega (or rclone with
//     --transfers 1) does. Login is inside the timing, as ferry's process
//     start and session resume are.
//
// Each run's destination is new. It runs only with FERRY_BENCH_CLI=1 and
// logs lines bench/cli.sh turns into a table:
//
//	SMALLFILES tool=ferry-t4 run=1 files=1000 bytes=33000000 seconds=1.23
func TestBenchSmallFiles(t *testing.T) {
	cliSkip(t)
	files := 1000
	if n, err := strconv.Atoi(os.Getenv("FERRY_BENCH_SMALL_FILES")); err == nil && n > 0 {
		files = n
	}
	src := filepath.Join(t.TempDir(), "src")
	total := cliWriteSmallFiles(t, src, files)
	ts := cliServer(t)
	f := newCLIFerry(t, ts.URL)
	cache := t.TempDir()
	f.mustRun(t, cache, "mkdir", "m:warmup")

	report := func(tool string, run int, d time.Duration) {
		t.Logf("SMALLFILES tool=%s run=%d files=%d bytes=%d seconds=%.4f", tool, run, files, total, d.Seconds())
	}
	for run := 1; run <= cliRuns(t); run++ {
		for _, n := range []int{4, 16} {
			dst := fmt.Sprintf("m:ferry-t%d-%d", n, run)
			r, err := f.run(cache, "copy", src, dst, "--transfers", strconv.Itoa(n))
			if err != nil {
				t.Fatalf("ferry copy: %v", err)
			}
			if got := cliCountLines(f.mustRun(t, cache, "ls", "-R", dst).stdout); got != files {
				t.Fatalf("ferry copy --transfers %d: %d files at %s, want %d", n, got, dst, files)
			}
			report(fmt.Sprintf("ferry-t%d", n), run, r.wall)
		}

		start := time.Now()
		m, err := cliGoMega(ts.URL)
		if err != nil {
			t.Fatal(err)
		}
		if err := cliGoMegaUpload(m, src, fmt.Sprintf("gomega-%d", run)); err != nil {
			t.Fatal(err)
		}
		d := time.Since(start)
		if got := cliCountLines(f.mustRun(t, cache, "ls", "-R", fmt.Sprintf("m:gomega-%d", run)).stdout); got != files {
			t.Fatalf("go-mega: %d files, want %d", got, files)
		}
		report("gomega", run, d)
	}
}

// cliWriteSmallFiles writes files files of 1 to 64 KiB under dir and
// returns their total size.
func cliWriteSmallFiles(t *testing.T, dir string, files int) int64 {
	t.Helper()
	rng := rand.New(rand.NewPCG(cliSmallSeed, cliSmallSeed))
	buf := make([]byte, cliSmallMax)
	var total int64
	for i := range files {
		sub := filepath.Join(dir, fmt.Sprintf("d%02d", i%cliSmallDirs))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		size := 1 + rng.IntN(cliSmallMax)
		for j := 0; j < size; j += 8 {
			v := rng.Uint64()
			for k := 0; k < 8 && j+k < size; k++ {
				buf[j+k] = byte(v >> (8 * k))
			}
		}
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%05d.bin", i)), buf[:size], 0o644); err != nil {
			t.Fatal(err)
		}
		total += int64(size)
	}
	return total
}

// cliGoMegaUpload mirrors src (one level of subfolders) into a new folder
// name under the root, one UploadFile at a time.
func cliGoMegaUpload(m *gomega.Mega, src, name string) error {
	dst, err := m.CreateDir(name, m.FS.GetRoot())
	if err != nil {
		return err
	}
	subs, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, s := range subs {
		dir, err := m.CreateDir(s.Name(), dst)
		if err != nil {
			return err
		}
		ents, err := os.ReadDir(filepath.Join(src, s.Name()))
		if err != nil {
			return err
		}
		for _, e := range ents {
			if _, err := m.UploadFile(filepath.Join(src, s.Name(), e.Name()), dir, e.Name(), nil); err != nil {
				return fmt.Errorf("UploadFile %s: %w", e.Name(), err)
			}
		}
	}
	return nil
}
