package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/local"
	"ferry/internal/backend/mega"
	"ferry/internal/backup/repo"
	"ferry/megaserver/megaservertest"
)

// roundTripBackends are the backends the round trips run on:
// local, and MEGA on the loopback server, clean and with faults the
// client's retries must hide.
func roundTripBackends() []struct {
	name string
	new  func(t *testing.T) backend.Backend
} {
	return []struct {
		name string
		new  func(t *testing.T) backend.Backend
	}{
		{"local", func(t *testing.T) backend.Backend {
			b, err := local.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return b
		}},
		{"mega", func(t *testing.T) backend.Backend { return newMegaRepoBackend(t, "") }},
		{"mega-faults", func(t *testing.T) backend.Backend { return newMegaRepoBackend(t, "eagain=0.05,http500=0.02,drop=0.01") }},
	}
}

// newMegaRepoBackend returns the MEGA backend on a fresh loopback
// server's seeded account, with faults on when faults is not empty.
func newMegaRepoBackend(t *testing.T, faults string) backend.Backend {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := megaservertest.Start(t, megaservertest.WithLogger(quiet), megaservertest.WithFaults(faults))
	b, err := mega.Type.New(t.Context(), "test", backend.ConfigMap{
		"user": megaservertest.UserV2, "pass": megaservertest.PasswordV2, "url": srv.URL,
	}, "repo", backend.Env{CacheDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatalf("mega backend: %v", err)
	}
	t.Cleanup(func() {
		if c, ok := b.(backend.Closer); ok {
			c.Close()
		}
	})
	return b
}

// makeDataset writes n files into dir: random and text contents of
// several sizes, some duplicated, in nested directories, plus what
// makeRestoreSource adds (odd names, symlinks, empty dirs, modes).
func makeDataset(t testing.TB, dir string, n int) []string {
	t.Helper()
	makeRestoreSource(t, filepath.Join(dir, "misc"))
	rng := rand.New(rand.NewPCG(11, 12))
	var files []string
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("d%d", i%4), fmt.Sprintf("sub%d", i%3), fmt.Sprintf("f%03d", i))
		var data []byte
		switch i % 3 {
		case 0:
			data = rtRandBytes(rng, 1+rng.IntN(120<<10))
		case 1:
			data = []byte(strings.Repeat(fmt.Sprintf("line %d of a text file\n", i), 1+rng.IntN(3000)))
		default:
			data = rtRandBytes(rand.New(rand.NewPCG(99, uint64(i%5))), 60<<10) // duplicated
		}
		rtWriteFile(t, p, data, 0o644, time.Date(2026, 11, 1, 0, 0, 0, i, time.UTC).Add(time.Duration(i)*time.Minute))
		files = append(files, p)
	}
	return files
}

// copyTree copies src to dst with cp -a, keeping every attribute: the
// reference a later restore is compared with.
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v\n%s", err, out)
	}
}

// repoBytes is the size of the objects below dir on be (recursively).
func repoBytes(t testing.TB, be backend.Backend, dir string) int64 {
	t.Helper()
	ents, err := be.List(t.Context(), dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, e := range ents {
		if e.IsDir {
			n += repoBytes(t, be, e.Path)
		} else {
			n += e.Size
		}
	}
	return n
}

// TestRoundTrip is the round trip on each backend: back up,
// change 5% of the files, back up again, restore each snapshot exactly
// (contents, mtimes, modes, diff -r), forget the first and prune (the
// space shrinks and the remaining snapshot still restores), and an
// interrupted restore that a rerun completes.
func TestRoundTrip(t *testing.T) {
	for _, bt := range roundTripBackends() {
		t.Run(bt.name, func(t *testing.T) {
			ctx := t.Context()
			be := bt.new(t)
			opts := repo.Options{CacheDir: t.TempDir(), PackSize: 512 << 10, KDF: testKDF, Chunker: smallChunks, Logger: rtLogger(t)}
			r, err := repo.Init(ctx, be, rtPassword, opts)
			if err != nil {
				t.Fatal(err)
			}
			work := t.TempDir()
			src := filepath.Join(work, "src")
			files := makeDataset(t, src, 60)

			backupOnce := func(when time.Time) *repo.Snapshot {
				t.Helper()
				res, err := Backup(ctx, r, Options{Paths: []string{src}, Hostname: "h", Time: when, Logger: rtLogger(t)})
				if err != nil {
					t.Fatal(err)
				}
				if res.Err != nil || res.Snapshot == nil {
					t.Fatalf("backup: %v, snapshot %v", res.Err, res.Snapshot)
				}
				return res.Snapshot
			}
			s1 := backupOnce(time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC))
			copyTree(t, src, filepath.Join(work, "ref1"))

			// Change 5% of the files: 3 of 60 rewritten, and one removed
			// and one added.
			rng := rand.New(rand.NewPCG(21, 22))
			for _, i := range []int{5, 17, 42} {
				rtWriteFile(t, files[i], rtRandBytes(rng, 50<<10), 0o600, time.Date(2026, 12, 1, 12, 0, 0, 777, time.UTC))
			}
			os.Remove(files[30])
			rtWriteFile(t, filepath.Join(src, "d1", "new file"), []byte("new"), 0o644, time.Unix(1764590000, 1))
			s2 := backupOnce(time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC))
			copyTree(t, src, filepath.Join(work, "ref2"))

			for i, s := range []*repo.Snapshot{s1, s2} {
				dest := filepath.Join(work, fmt.Sprintf("restore%d", i+1))
				if _, err := Restore(ctx, r, s.Tree, dest, RestoreOptions{}); err != nil {
					t.Fatalf("restore snapshot %d: %v", i+1, err)
				}
				ref := filepath.Join(work, fmt.Sprintf("ref%d", i+1))
				sameTree(t, ref, dest)
				diffR(t, ref, dest)
				diffs, err := CompareData(ctx, r, s.Tree, "", ref)
				if err != nil || len(diffs) != 0 {
					t.Errorf("compare-data of snapshot %d: %v %v", i+1, diffs, err)
				}
			}

			// Forget the first snapshot and prune twice (mark, then sweep
			// past the grace period): the data shrinks and snapshot 2
			// still restores.
			before := repoBytes(t, be, "data")
			if err := r.RemoveSnapshot(ctx, s1.ID); err != nil {
				t.Fatal(err)
			}
			st, err := Prune(ctx, r, PruneOptions{Logger: rtLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			if st.PacksMarked == 0 || st.PacksDeleted != 0 {
				t.Errorf("first prune: %+v, want packs marked and none deleted", st)
			}
			st, err = Prune(ctx, r, PruneOptions{Now: time.Now().Add(25 * time.Hour), Logger: rtLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			after := repoBytes(t, be, "data")
			if st.PacksDeleted == 0 || after >= before {
				t.Errorf("second prune: %+v; data %d bytes before, %d after", st, before, after)
			}
			t.Logf("prune: %d -> %d data bytes; %+v", before, after, st)
			// A fresh Open sees the same: the index no longer lists what
			// was deleted.
			r2, err := repo.Open(ctx, be, rtPassword, repo.Options{CacheDir: t.TempDir(), Logger: rtLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			res, err := r2.Check(ctx, repo.CheckOptions{ReadData: 1})
			if err != nil || !res.OK() {
				t.Errorf("check after prune: %v %v", res.Problems, err)
			}
			dest := filepath.Join(work, "restore2-after-prune")
			if _, err := Restore(ctx, r2, s2.Tree, dest, RestoreOptions{}); err != nil {
				t.Fatal(err)
			}
			sameTree(t, filepath.Join(work, "ref2"), dest)

			// Interrupted restore, then a rerun that completes it.
			dest = filepath.Join(work, "interrupted")
			cctx, cancel := context.WithCancel(ctx)
			_, err = Restore(cctx, r2, s2.Tree, dest, RestoreOptions{Progress: func(p RestoreProgress) {
				if p.Files >= 10 {
					cancel()
				}
			}})
			cancel()
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted restore: %v", err)
			}
			rst, err := Restore(ctx, r2, s2.Tree, dest, RestoreOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if rst.FilesSkipped < 10 {
				t.Errorf("rerun skipped %d files, want at least the 10 finished before the cancel", rst.FilesSkipped)
			}
			sameTree(t, filepath.Join(work, "ref2"), dest)
		})
	}
}
