package backup

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/local"
	"ferry/internal/backup/repo"
	"ferry/internal/backup/tree"
)

const modeBits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

var (
	rtPassword = []byte("correct horse battery staple")
	// rtKDF makes keys fast to derive in tests.
	rtKDF = repo.KDF{Time: 1, MemoryKiB: 64, Threads: 1}
)

func rtLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// newTestRepo creates a repository on a local backend in a temporary
// directory, with small packs so a test has many.
func newRestoreRepo(t testing.TB) (*repo.Repository, backend.Backend) {
	t.Helper()
	be, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return initRepo(t, be), be
}

func initRepo(t testing.TB, be backend.Backend) *repo.Repository {
	t.Helper()
	r, err := repo.Init(t.Context(), be, rtPassword, repo.Options{CacheDir: t.TempDir(), PackSize: 256 << 10, KDF: rtKDF, Logger: rtLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// saveDir stores directory dir in r as the archiver would, but with fixed
// 64 KiB pieces for content, and returns the root tree's ID. It lets the
// restorer's tests build trees with exactly the nodes they want.
func saveDir(t testing.TB, r *repo.Repository, dir string) repo.ID {
	t.Helper()
	ctx := t.Context()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var tr tree.Tree
	for _, e := range ents {
		full := filepath.Join(dir, e.Name())
		fi, err := os.Lstat(full)
		if err != nil {
			t.Fatal(err)
		}
		n := tree.Node{Name: []byte(e.Name()), Mode: fi.Mode() & modeBits, ModTime: fi.ModTime(), Size: fi.Size()}
		switch {
		case fi.IsDir():
			n.Type, n.Size, n.Subtree = "dir", 0, saveDir(t, r, full)
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(full)
			if err != nil {
				t.Fatal(err)
			}
			n.Type, n.Size, n.Target = "symlink", 0, []byte(target)
		default:
			n.Type = "file"
			data, err := os.ReadFile(full)
			if err != nil {
				t.Fatal(err)
			}
			for len(data) > 0 {
				k := min(len(data), 64<<10)
				id, _, _, err := r.SaveBlob(ctx, repo.DataBlob, data[:k])
				if err != nil {
					t.Fatal(err)
				}
				n.Content = append(n.Content, id)
				data = data[k:]
			}
		}
		tr.Nodes = append(tr.Nodes, n)
	}
	id, _, _, err := r.SaveBlob(ctx, repo.TreeBlob, tree.Encode(&tr))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// saveTree stores a hand-made tree.
func saveTree(t testing.TB, r *repo.Repository, tr *tree.Tree) repo.ID {
	t.Helper()
	id, _, _, err := r.SaveBlob(t.Context(), repo.TreeBlob, tree.Encode(tr))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func flush(t testing.TB, r *repo.Repository) {
	t.Helper()
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func rtRandBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// writeFile writes a file with a mode and an mtime with nanoseconds.
func rtWriteFile(t testing.TB, p string, data []byte, mode fs.FileMode, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// makeRestoreSource fills dir with what a restore must bring back exactly: sizes
// around the 64 KiB pieces, an empty file, a duplicated file, odd names
// (invalid UTF-8, quotes, a newline, a leading dot), a symlink and a
// dangling one, an empty directory, modes with special bits, mtimes with
// nanoseconds, and directory mtimes set last.
func makeRestoreSource(t testing.TB, dir string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 11, 30, 12, 34, 56, 123456789, time.UTC)
	dup := rtRandBytes(rng, 200<<10)
	files := []struct {
		name string
		data []byte
		mode fs.FileMode
	}{
		{"empty", nil, 0o644},
		{"one", []byte("x"), 0o600},
		{"exact-64k", rtRandBytes(rng, 64<<10), 0o644},
		{"big", rtRandBytes(rng, 700<<10+17), 0o640},
		{"dup-a", dup, 0o644},
		{"sub/dup-b", dup, 0o644},
		{"sub/deeper/text.txt", bytes.Repeat([]byte("all work and no play "), 9000), 0o444},
		{"odd/\xff\xfe not utf-8", []byte("invalid"), 0o644},
		{"odd/quote\"s 'and' spaces ", []byte("q"), 0o644},
		{"odd/new\nline", []byte("n"), 0o644},
		{"odd/.hidden", []byte("h"), 0o644},
		{"odd/? < > & +", []byte("p"), 0o644},
		{"setuid", []byte("#!/bin/sh\n"), 0o755 | fs.ModeSetuid},
		{"sticky-setgid", []byte("s"), 0o755 | fs.ModeSetgid},
	}
	for i, f := range files {
		rtWriteFile(t, filepath.Join(dir, f.name), f.data, f.mode, base.Add(time.Duration(i)*time.Hour+time.Duration(i)))
	}
	if err := os.Symlink("sub/deeper/text.txt", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../nowhere\xff", filepath.Join(dir, "odd", "dangling")); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"emptydir", "sub/emptier"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "sub", "emptier"), 0o710); err != nil {
		t.Fatal(err)
	}
	// Symlink and directory times last, deepest first.
	ts := []string{"odd/dangling", "link", "sub/deeper", "sub/emptier", "sub", "odd", "emptydir"}
	for i, p := range ts {
		mt := base.Add(-time.Duration(i+1)*24*time.Hour + 777)
		if err := setModTime(filepath.Join(dir, p), mt); err != nil {
			t.Fatal(err)
		}
	}
}

// sameTree fails t unless got holds what want holds: the same names, types,
// contents, modes, mtimes (nanoseconds) and symlink targets.
func sameTree(t testing.TB, want, got string) {
	t.Helper()
	var n int
	err := filepath.WalkDir(want, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		q := filepath.Join(got, rel)
		wi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		gi, err := os.Lstat(q)
		if err != nil {
			t.Errorf("%q: missing in the restore: %v", rel, err)
			return nil
		}
		n++
		if wi.Mode().Type() != gi.Mode().Type() {
			t.Errorf("%q: type %v, want %v", rel, gi.Mode().Type(), wi.Mode().Type())
			return nil
		}
		if rel != "." && wi.Mode()&fs.ModeSymlink == 0 && wi.Mode()&modeBits != gi.Mode()&modeBits {
			t.Errorf("%q: mode %v, want %v", rel, gi.Mode()&modeBits, wi.Mode()&modeBits)
		}
		if rel != "." && !wi.ModTime().Equal(gi.ModTime()) {
			t.Errorf("%q: mtime %s, want %s", rel, gi.ModTime().Format(time.RFC3339Nano), wi.ModTime().Format(time.RFC3339Nano))
		}
		switch {
		case wi.Mode()&fs.ModeSymlink != 0:
			wt, _ := os.Readlink(p)
			gt, _ := os.Readlink(q)
			if wt != gt {
				t.Errorf("%q: symlink to %q, want %q", rel, gt, wt)
			}
		case wi.Mode().IsRegular():
			wb, _ := os.ReadFile(p)
			gb, err := os.ReadFile(q)
			if err != nil || !bytes.Equal(wb, gb) {
				t.Errorf("%q: content differs (%d bytes, want %d; %v)", rel, len(gb), len(wb), err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing extra, and no temporary files left.
	filepath.WalkDir(got, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(got, p)
		if _, err := os.Lstat(filepath.Join(want, rel)); err != nil {
			t.Errorf("%q: in the restore only", rel)
		}
		return nil
	})
	if n < 2 {
		t.Fatalf("compared only %d entries", n)
	}
}

// diffR runs diff -r, the check, when diff is installed.
func diffR(t testing.TB, a, b string) {
	t.Helper()
	if _, err := exec.LookPath("diff"); err != nil {
		t.Log("no diff(1): skipping diff -r")
		return
	}
	out, err := exec.Command("diff", "-r", "--no-dereference", a, b).CombinedOutput()
	if err != nil {
		t.Errorf("diff -r %s %s: %v\n%s", a, b, err, out)
	}
}

func TestRestore(t *testing.T) {
	src := t.TempDir()
	makeRestoreSource(t, src)
	r, _ := newRestoreRepo(t)
	root := saveDir(t, r, src)
	flush(t, r)

	dest := filepath.Join(t.TempDir(), "restore")
	st, err := Restore(t.Context(), r, root, dest, RestoreOptions{Logger: rtLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	sameTree(t, src, dest)
	diffR(t, src, dest)
	// 14 files, 2 symlinks, 6 dirs (sub, sub/deeper, sub/emptier, odd, emptydir... )
	if st.Files != 14 || st.Symlinks != 2 || st.FilesSkipped != 0 {
		t.Errorf("stats %+v, want 14 files, 2 symlinks, none skipped", st)
	}
	// The duplicated file's four pieces are fetched once.
	distinct := map[repo.ID]bool{}
	walkFiles(t, r, root, func(n tree.Node) {
		for _, id := range n.Content {
			distinct[id] = true
		}
	})
	if st.Blobs != len(distinct) {
		t.Errorf("fetched %d blobs, want the %d distinct ones", st.Blobs, len(distinct))
	}
	if st.Ranges == 0 || st.Ranges > st.Blobs {
		t.Errorf("%d ranges read for %d blobs", st.Ranges, st.Blobs)
	}

	// A second run finds everything complete.
	st, err = Restore(t.Context(), r, root, dest, RestoreOptions{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.FilesSkipped != 14 || st.Ranges != 0 {
		t.Errorf("rerun: %+v, want 14 files skipped and no pack read", st)
	}
	sameTree(t, src, dest)
}

// walkFiles calls fn for each file node below tree id.
func walkFiles(t testing.TB, r BlobLoader, id repo.ID, fn func(tree.Node)) {
	t.Helper()
	tr, err := loadTreeBlob(t.Context(), r, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range tr.Nodes {
		switch n.Type {
		case "dir":
			walkFiles(t, r, n.Subtree, fn)
		case "file":
			fn(n)
		}
	}
}

// TestRestoreRangesCoalesce checks that neighbouring blobs of a pack are
// read with one request and that MaxGap splits ranges.
func TestRestoreRangesCoalesce(t *testing.T) {
	src := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	mt := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	rtWriteFile(t, filepath.Join(src, "f"), rtRandBytes(rng, 1<<20), 0o644, mt)
	r, _ := newRestoreRepo(t)
	root := saveDir(t, r, src)
	flush(t, r)
	st, err := Restore(t.Context(), r, root, t.TempDir(), RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	packs := map[repo.ID]bool{}
	walkFiles(t, r, root, func(n tree.Node) {
		for _, id := range n.Content {
			pb, _ := r.Lookup(repo.DataBlob, id)
			packs[pb.Pack] = true
		}
	})
	if st.Ranges != len(packs) {
		t.Errorf("%d ranges for 16 blobs in %d packs, want one per pack", st.Ranges, len(packs))
	}
}

// TestRestorePath restores a subdirectory and a single file.
func TestRestorePath(t *testing.T) {
	src := t.TempDir()
	makeRestoreSource(t, src)
	r, _ := newRestoreRepo(t)
	root := saveDir(t, r, src)
	flush(t, r)

	dest := t.TempDir()
	if _, err := Restore(t.Context(), r, root, dest, RestoreOptions{Path: "sub"}); err != nil {
		t.Fatal(err)
	}
	sameTree(t, filepath.Join(src, "sub"), dest)

	dest = t.TempDir()
	if _, err := Restore(t.Context(), r, root, dest, RestoreOptions{Path: "/sub/deeper/text.txt"}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dest, "text.txt"))
	want, _ := os.ReadFile(filepath.Join(src, "sub/deeper/text.txt"))
	if !bytes.Equal(got, want) {
		t.Errorf("--path file: got %d bytes, want %d", len(got), len(want))
	}

	_, err := Restore(t.Context(), r, root, t.TempDir(), RestoreOptions{Path: "sub/missing"})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), `"sub/missing"`) {
		t.Errorf("--path sub/missing: %v, want fs.ErrNotExist naming the path", err)
	}
}

// TestRestoreUnsafeNames checks that a tree naming ".." or a name with a
// slash cannot write outside the destination.
func TestRestoreUnsafeNames(t *testing.T) {
	r, _ := newRestoreRepo(t)
	for _, name := range []string{"..", ".", "a/../../x", "", "nul\x00"} {
		root := saveTree(t, r, &tree.Tree{Nodes: []tree.Node{{Name: []byte(name), Type: "file", Mode: 0o644}}})
		flush(t, r)
		parent := t.TempDir()
		_, err := Restore(t.Context(), r, root, filepath.Join(parent, "dest"), RestoreOptions{})
		if err == nil || !strings.Contains(err.Error(), "unsafe name") && !errors.Is(err, tree.ErrCorrupt) {
			t.Errorf("name %q: %v, want an unsafe name error", name, err)
		}
		if ents, _ := os.ReadDir(parent); len(ents) > 1 {
			t.Errorf("name %q: written beside dest: %v", name, ents)
		}
	}
}

// TestRestoreResume cancels a restore after its first file and reruns
// it: the rerun skips the finished files, completes the rest, and no
// temporary file is left either time.
func TestRestoreResume(t *testing.T) {
	src := t.TempDir()
	rng := rand.New(rand.NewPCG(5, 6))
	mt := time.Date(2026, 2, 3, 4, 5, 6, 7, time.UTC)
	for i := range 20 {
		rtWriteFile(t, filepath.Join(src, "d", string(rune('a'+i))), rtRandBytes(rng, 100<<10+i), 0o644, mt)
	}
	r, _ := newRestoreRepo(t)
	root := saveDir(t, r, src)
	flush(t, r)

	dest := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	st, err := Restore(ctx, r, root, dest, RestoreOptions{Packs: 1, Progress: func(p RestoreProgress) {
		if p.Files >= 3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled restore: %v (stats %+v)", err, st)
	}
	if st.Files < 3 || st.Files >= 20 {
		t.Fatalf("cancelled restore wrote %d files, want some but not all", st.Files)
	}
	left, _ := filepath.Glob(filepath.Join(dest, "d", ".*"))
	if len(left) != 0 {
		t.Errorf("temporary files left after the cancel: %q", left)
	}
	done := st.Files

	st, err = Restore(t.Context(), r, root, dest, RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.FilesSkipped != done || st.Files != 20 {
		t.Errorf("rerun: %+v, want %d skipped of 20", st, done)
	}
	sameTree(t, src, dest)
}

// TestRestoreVerifyRewrites checks that with Verify a file with the right
// size and mtime but other content is written again, and without it kept.
func TestRestoreVerifyRewrites(t *testing.T) {
	src := t.TempDir()
	mt := time.Date(2026, 2, 3, 4, 5, 6, 7, time.UTC)
	rtWriteFile(t, filepath.Join(src, "f"), []byte("the right content"), 0o644, mt)
	r, _ := newRestoreRepo(t)
	root := saveDir(t, r, src)
	flush(t, r)
	dest := t.TempDir()
	rtWriteFile(t, filepath.Join(dest, "f"), []byte("the wrong content"), 0o644, mt)

	if _, err := Restore(t.Context(), r, root, dest, RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "f")); string(b) != "the wrong content" {
		t.Fatalf("without Verify the file was rewritten: %q", b)
	}
	st, err := Restore(t.Context(), r, root, dest, RestoreOptions{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "f")); string(b) != "the right content" || st.FilesSkipped != 0 {
		t.Errorf("with Verify: %q, %+v", b, st)
	}
}

// TestRestoreCorruptPack flips a byte inside a stored blob: the restore
// fails naming the blob and the pack, and leaves no partial file.
func TestRestoreCorruptPack(t *testing.T) {
	src := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 8))
	rtWriteFile(t, filepath.Join(src, "f"), rtRandBytes(rng, 10000), 0o644, time.Unix(1e9, 5))
	r, be := newRestoreRepo(t)
	root := saveDir(t, r, src)
	flush(t, r)
	var id repo.ID
	walkFiles(t, r, root, func(n tree.Node) { id = n.Content[0] })
	pb, _ := r.Lookup(repo.DataBlob, id)
	flipByte(t, be, packPath(pb), pb.Offset+pb.Length/2)

	dest := t.TempDir()
	_, err := Restore(t.Context(), r, root, dest, RestoreOptions{})
	if err == nil || !strings.Contains(err.Error(), id.Short()) || !strings.Contains(err.Error(), pb.Pack.Short()) {
		t.Fatalf("restore of a corrupt blob: %v, want an error naming blob %s and pack %s", err, id.Short(), pb.Pack.Short())
	}
	if ents, _ := os.ReadDir(dest); len(ents) != 0 {
		t.Errorf("left in dest: %v", ents)
	}
}

// packPath is a data pack's object name, as the repository format has it.
func packPath(pb repo.PackedBlob) string {
	h := pb.Pack.String()
	return "data/" + h[:2] + "/" + h
}

// flipByte flips one byte of object p on be.
func flipByte(t testing.TB, be backend.Backend, p string, off int64) {
	t.Helper()
	ctx := t.Context()
	rc, err := be.Open(ctx, p, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0x40
	e, err := be.Stat(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := be.Put(ctx, p, bytes.NewReader(b), int64(len(b)), e.ModTime); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkRestore restores 32 MiB in 64 files of random data from a
// repository on local disk: the pack reads, decryption, ID checks and
// file writes of the restorer's hot path.
func BenchmarkRestore(b *testing.B) {
	src := b.TempDir()
	rng := rand.New(rand.NewPCG(41, 42))
	mt := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const files, size = 64, 512 << 10
	for i := range files {
		rtWriteFile(b, filepath.Join(src, "d", string(rune('a'+i%26))+string(rune('a'+i/26))), rtRandBytes(rng, size), 0o644, mt)
	}
	be, err := local.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	r, err := repo.Init(b.Context(), be, rtPassword, repo.Options{CacheDir: b.TempDir(), PackSize: 16 << 20, KDF: rtKDF})
	if err != nil {
		b.Fatal(err)
	}
	root := saveDir(b, r, src)
	flush(b, r)
	dests := b.TempDir()
	b.SetBytes(files * size)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		dest := filepath.Join(dests, strconv.Itoa(n))
		if _, err := Restore(b.Context(), r, root, dest, RestoreOptions{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.RemoveAll(dest)
		b.StartTimer()
	}
}

// TestRestoreReplacesSymlinks: a rerun into a destination where a
// directory or a temporary file name of the snapshot is a symlink (left by
// another snapshot, or planted) replaces the link and writes nothing
// through it.
func TestRestoreReplacesSymlinks(t *testing.T) {
	src := t.TempDir()
	mt := time.Date(2026, 5, 6, 7, 8, 9, 10, time.UTC)
	rtWriteFile(t, filepath.Join(src, "sub", "f"), []byte("inside"), 0o644, mt)
	rtWriteFile(t, filepath.Join(src, "g"), []byte("gee"), 0o644, mt)
	r, _ := newRestoreRepo(t)
	root := saveDir(t, r, src)
	flush(t, r)

	outside := t.TempDir()
	victim := filepath.Join(outside, "victim")
	rtWriteFile(t, victim, []byte("untouched"), 0o644, mt)
	dest := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dest, "sub")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(dest, ".g.ferry-restore")); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(t.Context(), r, root, dest, RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	sameTree(t, src, dest)
	if ents, _ := os.ReadDir(outside); len(ents) != 1 {
		t.Errorf("written outside the destination: %v", ents)
	}
	if b, _ := os.ReadFile(victim); string(b) != "untouched" {
		t.Errorf("the symlinked temporary name's target was written: %q", b)
	}
}
