package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/local"
	"ferry/internal/backup/chunker"
	"ferry/internal/backup/repo"
	"ferry/internal/backup/tree"
)

var (
	testPassword = []byte("archiver test password")
	testKDF      = repo.KDF{Time: 1, MemoryKiB: 64, Threads: 1}
	// smallChunks make a few hundred KiB several chunks.
	smallChunks = chunker.Params{Min: 16 << 10, Avg: 32 << 10, Max: 128 << 10}
)

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// testRepo is a repository on a local directory (so tests can count its
// objects) with small packs and chunks.
type testRepo struct {
	dir  string
	be   backend.Backend
	opts repo.Options
}

func newTestRepo(t *testing.T) *testRepo {
	t.Helper()
	dir := t.TempDir()
	be, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	tr := &testRepo{dir: dir, be: be, opts: repo.Options{CacheDir: t.TempDir(), PackSize: 256 << 10, KDF: testKDF,
		Chunker: smallChunks, Logger: testLogger(t)}}
	r, err := repo.Init(t.Context(), be, testPassword, tr.opts)
	if err != nil {
		t.Fatal(err)
	}
	_ = r
	return tr
}

func (tr *testRepo) open(t *testing.T) *repo.Repository {
	t.Helper()
	r, err := repo.Open(t.Context(), tr.be, testPassword, tr.opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// objects counts the files below the repository directory.
func (tr *testRepo) objects(t *testing.T) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(tr.dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func backupOnce(t *testing.T, r Repository, o Options) *Result {
	t.Helper()
	if o.Logger == nil {
		o.Logger = testLogger(t)
	}
	if o.Hostname == "" {
		o.Hostname = "testhost"
	}
	res, err := Backup(t.Context(), r, o)
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	return res
}

func writeFile(t *testing.T, p string, b []byte, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// makeSource writes a small tree with odd names, an empty dir, a symlink
// and files around the chunk sizes.
func makeSource(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	mt := time.Unix(1733112000, 123456789)
	writeFile(t, filepath.Join(src, "big.bin"), randBytes(1, 700<<10), mt)
	writeFile(t, filepath.Join(src, "a", "small.txt"), []byte("hello\n"), mt)
	writeFile(t, filepath.Join(src, "a", "b", "dup.bin"), randBytes(1, 700<<10), mt) // same content as big.bin
	writeFile(t, filepath.Join(src, "odd\xff\xfe name\nwith newline"), []byte("odd"), mt)
	writeFile(t, filepath.Join(src, "empty"), nil, mt)
	if err := os.MkdirAll(filepath.Join(src, "emptydir"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../nowhere/\xff", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	return src
}

// loadTree loads and decodes a tree.
func loadTree(t *testing.T, r *repo.Repository, id repo.ID) *tree.Tree {
	t.Helper()
	b, err := r.LoadBlob(t.Context(), repo.TreeBlob, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := tree.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestBackupStoresTree: the snapshot's root is the source directory, with
// odd names, the symlink (not followed), the empty dir, modes, mtimes to
// the nanosecond, and content whose blobs give back the files.
func TestBackupStoresTree(t *testing.T) {
	tr := newTestRepo(t)
	src := makeSource(t)
	r := tr.open(t)
	res := backupOnce(t, r, Options{Paths: []string{src}})
	if res.Snapshot == nil || res.Err != nil {
		t.Fatalf("snapshot %v, err %v", res.Snapshot, res.Err)
	}
	r = tr.open(t)
	snaps, err := r.Snapshots(t.Context())
	if err != nil || len(snaps) != 1 || snaps[0].Tree != res.Root {
		t.Fatalf("Snapshots = %+v, %v", snaps, err)
	}
	root := loadTree(t, r, res.Root)
	var names []string
	for _, n := range root.Nodes {
		names = append(names, string(n.Name))
	}
	want := []string{"a", "big.bin", "empty", "emptydir", "link", "odd\xff\xfe name\nwith newline"}
	if !equalStrings(names, want) {
		t.Fatalf("root names %q, want %q", names, want)
	}
	link := root.Find([]byte("link"))
	if link.Type != tree.Symlink || string(link.Target) != "../nowhere/\xff" {
		t.Errorf("link node %+v", link)
	}
	ed := root.Find([]byte("emptydir"))
	if ed.Type != tree.Dir || ed.Mode.Perm() != 0o700 || len(loadTree(t, r, ed.Subtree).Nodes) != 0 {
		t.Errorf("emptydir node %+v", ed)
	}
	big := root.Find([]byte("big.bin"))
	if !big.ModTime.Equal(time.Unix(1733112000, 123456789)) || big.Mode.Perm() != 0o644 || big.Inode == 0 {
		t.Errorf("big.bin node %+v", big)
	}
	if len(big.Content) < 2 {
		t.Fatalf("big.bin has %d blobs, want several", len(big.Content))
	}
	var got []byte
	for _, id := range big.Content {
		b, err := r.LoadBlob(t.Context(), repo.DataBlob, id, nil)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b...)
	}
	if !bytes.Equal(got, randBytes(1, 700<<10)) {
		t.Fatal("big.bin's blobs do not give back its content")
	}
	if res.Stats.DedupBytes < 600<<10 {
		t.Errorf("DedupBytes %d: the duplicate file was not deduplicated", res.Stats.DedupBytes)
	}
	if res.Stats.FilesNew != 6 || res.Stats.Files != 6 || res.Stats.Dirs != 3 {
		t.Errorf("stats %+v", res.Stats)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestBackupNoChange: a second run with nothing changed writes no object
// and reads no file.
func TestBackupNoChange(t *testing.T) {
	tr := newTestRepo(t)
	src := makeSource(t)
	backupOnce(t, tr.open(t), Options{Paths: []string{src}})
	before := tr.objects(t)
	r := tr.open(t)
	res := backupOnce(t, r, Options{Paths: []string{src}})
	if !res.Unchanged || res.Snapshot != nil {
		t.Fatalf("second run: unchanged %v, snapshot %v", res.Unchanged, res.Snapshot)
	}
	if res.Stats.BytesRead != 0 || res.Stats.FilesUnmodified != 6 {
		t.Errorf("second run read %d bytes, %d files unmodified", res.Stats.BytesRead, res.Stats.FilesUnmodified)
	}
	if after := tr.objects(t); after != before {
		t.Errorf("objects %d -> %d, want no new object", before, after)
	}
	if st := r.Stats(); st.ObjectsWritten != 0 {
		t.Errorf("repository stats: %d objects written", st.ObjectsWritten)
	}
}

// TestBackupIncremental: one changed file is read again, the others are
// not; a deleted file is counted; the new snapshot names its parent.
func TestBackupIncremental(t *testing.T) {
	tr := newTestRepo(t)
	src := makeSource(t)
	first := backupOnce(t, tr.open(t), Options{Paths: []string{src}})
	before := tr.objects(t)
	writeFile(t, filepath.Join(src, "a", "small.txt"), []byte("hello, changed\n"), time.Unix(1733200000, 0))
	if err := os.Remove(filepath.Join(src, "empty")); err != nil {
		t.Fatal(err)
	}
	res := backupOnce(t, tr.open(t), Options{Paths: []string{src}})
	if res.Snapshot == nil || res.Snapshot.Parent == nil || *res.Snapshot.Parent != first.Snapshot.ID {
		t.Fatalf("snapshot %+v, want parent %s", res.Snapshot, first.Snapshot.ID.Short())
	}
	s := res.Stats
	if s.FilesChanged != 1 || s.FilesUnmodified != 4 || s.Deleted != 1 || s.BytesRead != int64(len("hello, changed\n")) {
		t.Errorf("stats %+v", s)
	}
	// One data pack, one tree pack, one index, one snapshot.
	if added := tr.objects(t) - before; added > 4 {
		t.Errorf("a small incremental wrote %d objects, want <= 4", added)
	}
}

// failingFile reads the first n bytes of a file, then fails.
type failingFile struct {
	*os.File
	n int
}

func (f *failingFile) Read(b []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("input/output error (injected)")
	}
	b = b[:min(len(b), f.n)]
	n, err := f.File.Read(b)
	f.n -= n
	return n, err
}

// growingFile appends to its file on the first read, changes times such
// that the size and mtime after the read differ; it does so on the first
// `times` opens.
type growingFile struct {
	*os.File
	grow bool
}

func (f *growingFile) Read(b []byte) (int, error) {
	if f.grow {
		f.grow = false
		w, err := os.OpenFile(f.Name(), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return 0, err
		}
		w.Write([]byte("more"))
		w.Close()
		os.Chtimes(f.Name(), time.Now(), time.Now().Add(time.Hour))
	}
	return f.File.Read(b)
}

// newTestArchiver is Backup's archiver with defaults, for tests that
// change how source files open.
func newTestArchiver(t *testing.T, r Repository, o Options) *archiver {
	t.Helper()
	o.Logger, o.Hostname = testLogger(t), "testhost"
	a, err := newArchiver(r, o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestBackupUnreadable: a file whose read fails is left out and reported,
// the snapshot is still written with the rest.
func TestBackupUnreadable(t *testing.T) {
	tr := newTestRepo(t)
	src := makeSource(t)
	bad := filepath.Join(src, "a", "b", "dup.bin")
	r := tr.open(t)
	a := newTestArchiver(t, r, Options{Paths: []string{src}})
	a.open = func(name string) (sourceFile, error) {
		f, err := os.Open(name)
		if err != nil || name != bad {
			return f, err
		}
		return &failingFile{File: f, n: 100 << 10}, nil
	}
	res, err := a.run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var fe *FileError
	if !errors.As(res.Err, &fe) || fe.Path != bad || res.Stats.Errors != 1 || res.Snapshot == nil {
		t.Fatalf("Err %v, errors %d, snapshot %v", res.Err, res.Stats.Errors, res.Snapshot)
	}
	b := loadTree(t, tr.open(t), loadTree(t, r, res.Root).Find([]byte("a")).Subtree)
	bt := loadTree(t, r, b.Find([]byte("b")).Subtree)
	if len(bt.Nodes) != 0 {
		t.Fatalf("the unreadable file is in the snapshot: %+v", bt.Nodes)
	}
	if b.Find([]byte("small.txt")) == nil {
		t.Fatal("a/small.txt is missing")
	}
}

// TestBackupUnreadableDir: a directory that cannot be listed is left out.
func TestBackupUnreadableDir(t *testing.T) {
	tr := newTestRepo(t)
	src := makeSource(t)
	r := tr.open(t)
	a := newTestArchiver(t, r, Options{Paths: []string{src}})
	res, err := a.run(t.Context())
	if err != nil || res.Err != nil {
		t.Fatal(err, res.Err)
	}
	// Replace a/b by a file between the listing of a and the scan of a/b
	// is racy; a directory removed after its parent's listing is not an
	// error (it is gone), so check the listing failure through a
	// directory that is not readable for a non-root user only.
	if os.Geteuid() == 0 {
		t.Skip("root lists every directory")
	}
	os.Chmod(filepath.Join(src, "a", "b"), 0)
	t.Cleanup(func() { os.Chmod(filepath.Join(src, "a", "b"), 0o755) })
	res = backupOnce(t, tr.open(t), Options{Paths: []string{src}})
	if res.Stats.Errors != 1 || res.Snapshot == nil {
		t.Fatalf("errors %d, snapshot %v", res.Stats.Errors, res.Snapshot)
	}
}

// TestBackupFileChanging: a file that changes during its read is read
// again; one that changes during both reads is left out as an error.
func TestBackupFileChanging(t *testing.T) {
	for _, tc := range []struct {
		name    string
		changes int
		wantErr bool
	}{
		{"once", 1, false},
		{"twice", 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTestRepo(t)
			src := makeSource(t)
			target := filepath.Join(src, "big.bin")
			r := tr.open(t)
			a := newTestArchiver(t, r, Options{Paths: []string{src}})
			opens := 0
			a.open = func(name string) (sourceFile, error) {
				f, err := os.Open(name)
				if err != nil || name != target {
					return f, err
				}
				opens++
				return &growingFile{File: f, grow: opens <= tc.changes}, nil
			}
			res, err := a.run(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if opens != 2 {
				t.Errorf("big.bin opened %d times, want 2", opens)
			}
			n := loadTree(t, r, res.Root).Find([]byte("big.bin"))
			if tc.wantErr {
				if !errors.Is(res.Err, ErrFileChanged) || n != nil || res.Stats.Errors != 1 {
					t.Fatalf("Err %v, node %v", res.Err, n)
				}
				return
			}
			if res.Err != nil || n == nil || n.Size != 700<<10+4*int64(tc.changes) {
				t.Fatalf("Err %v, node %+v", res.Err, n)
			}
		})
	}
}

// TestBackupReplacedByFIFO: a file replaced by a FIFO between the scan and
// the read is left out as an error; the read does not block.
func TestBackupReplacedByFIFO(t *testing.T) {
	tr := newTestRepo(t)
	src := makeSource(t)
	target := filepath.Join(src, "a", "small.txt")
	r := tr.open(t)
	a := newTestArchiver(t, r, Options{Paths: []string{src}})
	a.open = func(name string) (sourceFile, error) {
		if name == target {
			os.Remove(target)
			if err := syscall.Mkfifo(target, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return openSource(name)
	}
	done := make(chan struct{})
	var res *Result
	var err error
	go func() { res, err = a.run(t.Context()); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the backup blocked on a FIFO")
	}
	if err != nil || res.Stats.Errors != 1 || res.Snapshot == nil {
		t.Fatalf("err %v, errors %d, snapshot %v", err, res.Stats.Errors, res.Snapshot)
	}
}

// TestBackupSourceSymlink: a source given as a symlink to a directory is
// backed up as that directory (and recorded by its real path).
func TestBackupSourceSymlink(t *testing.T) {
	tr := newTestRepo(t)
	src := makeSource(t)
	link := filepath.Join(t.TempDir(), "photos")
	if err := os.Symlink(src, link); err != nil {
		t.Fatal(err)
	}
	r := tr.open(t)
	res := backupOnce(t, r, Options{Paths: []string{link}})
	if res.Snapshot == nil || len(res.Snapshot.Paths) != 1 || res.Snapshot.Paths[0] != src {
		t.Fatalf("snapshot %+v, want paths [%s]", res.Snapshot, src)
	}
	if root := loadTree(t, r, res.Root); root.Find([]byte("big.bin")) == nil {
		t.Fatalf("root %+v does not hold the directory's entries", root.Nodes)
	}
}

// TestBackupFileRemoved: a file removed between the scan and its read is
// left out without an error.
func TestBackupFileRemoved(t *testing.T) {
	tr := newTestRepo(t)
	src := makeSource(t)
	target := filepath.Join(src, "big.bin")
	r := tr.open(t)
	a := newTestArchiver(t, r, Options{Paths: []string{src}})
	a.open = func(name string) (sourceFile, error) {
		if name == target {
			os.Remove(target)
		}
		return openSource(name)
	}
	res, err := a.run(t.Context())
	if err != nil || res.Err != nil || res.Stats.Errors != 0 || res.Snapshot == nil {
		t.Fatalf("err %v, Err %v, errors %d", err, res.Err, res.Stats.Errors)
	}
	if loadTree(t, r, res.Root).Find([]byte("big.bin")) != nil {
		t.Fatal("the removed file is in the snapshot")
	}
}

// cancellingRepo cancels the run's context at the n-th SaveBlob.
type cancellingRepo struct {
	*repo.Repository
	n      atomic.Int64
	at     int64
	cancel context.CancelFunc
}

func (c *cancellingRepo) SaveBlob(ctx context.Context, t repo.BlobType, plain []byte) (repo.ID, bool, int, error) {
	if c.n.Add(1) == c.at {
		c.cancel()
	}
	return c.Repository.SaveBlob(ctx, t, plain)
}

// TestBackupCancel: a cancelled backup returns the context's error soon,
// leaves no goroutine behind, and a later run completes.
func TestBackupCancel(t *testing.T) {
	tr := newTestRepo(t)
	src := t.TempDir()
	for i := range 40 {
		writeFile(t, filepath.Join(src, fmt.Sprintf("f%02d", i)), randBytes(uint64(i), 200<<10), time.Unix(1e9, 0))
	}
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	r := &cancellingRepo{Repository: tr.open(t), at: 20, cancel: cancel}
	done := make(chan error, 1)
	go func() {
		_, err := Backup(ctx, r, Options{Paths: []string{src}, Hostname: "h", Logger: testLogger(t)})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Backup = %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a cancelled backup did not return")
	}
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > before+2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines before, %d after the cancelled backup", before, runtime.NumGoroutine())
		}
	}
	res := backupOnce(t, tr.open(t), Options{Paths: []string{src}, Hostname: "h"})
	if res.Snapshot == nil || res.Stats.Files != 40 {
		t.Fatalf("rerun: %+v", res.Stats)
	}
}
