package vfs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"ferry/internal/backend"
	megabackend "ferry/internal/backend/mega"
	"ferry/internal/backend/memory"
	"ferry/internal/retry"
	"ferry/internal/vfs"
	"ferry/megaserver/megaservertest"
)

// faulty wraps a backend: Put fails with a retryable HTTP 503 while
// fails is not zero (counting down when positive, for ever when
// negative).
type faulty struct {
	backend.Backend
	mu    sync.Mutex
	fails int
	puts  int
}

func (f *faulty) setFails(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fails = n
}

func (f *faulty) Put(ctx context.Context, p string, r io.Reader, size int64, t time.Time) (backend.Entry, error) {
	f.mu.Lock()
	f.puts++
	fail := f.fails != 0
	if f.fails > 0 {
		f.fails--
	}
	f.mu.Unlock()
	if fail {
		io.Copy(io.Discard, r)
		return backend.Entry{}, &backend.PathError{Op: "put", Backend: f.String(), Path: p, Err: &retry.StatusError{StatusCode: 503, Status: "503 Service Unavailable", Op: "upload"}}
	}
	return f.Backend.Put(ctx, p, r, size, t)
}

// fastRetry keeps the tests' backoff short.
var fastRetry = retry.Policy{Base: time.Millisecond, Cap: 5 * time.Millisecond, MaxAttempts: 4}

func newVFSIn(t *testing.T, b backend.Backend, cacheDir string) *vfs.VFS {
	t.Helper()
	return newVFSRetry(t, b, cacheDir, fastRetry)
}

func newVFSRetry(t *testing.T, b backend.Backend, cacheDir string, p retry.Policy) *vfs.VFS {
	t.Helper()
	v, err := vfs.New(t.Context(), b, vfs.Options{CacheDir: cacheDir, UploadRetry: p,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// create makes file name in v's root with data and returns its handle.
func create(t *testing.T, v *vfs.VFS, name, data string) (*vfs.Node, *vfs.Handle) {
	t.Helper()
	n, h, err := v.Root().Create(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.WriteAt(t.Context(), []byte(data), 0); err != nil {
		t.Fatal(err)
	}
	return n, h
}

// content returns file p of b, or fails the test.
func content(t *testing.T, b backend.Backend, p string) (string, backend.Entry) {
	t.Helper()
	e, err := b.Stat(t.Context(), p)
	if err != nil {
		t.Fatalf("stat %s: %v", p, err)
	}
	rc, err := b.Open(t.Context(), p, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(got), e
}

// journalFiles lists the names in the journal dir of b under cacheDir.
func journalFiles(t *testing.T, cacheDir string, b backend.Backend) []string {
	t.Helper()
	des, err := os.ReadDir(filepath.Join(vfs.BackendCacheDir(cacheDir, b), "journal"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		out = append(out, de.Name())
	}
	return out
}

func countSuffix(names []string, suffix string) int {
	n := 0
	for _, s := range names {
		if strings.HasSuffix(s, suffix) {
			n++
		}
	}
	return n
}

// TestUploadRetriesTransient: an upload failing twice with a retryable
// error is stored at close.
func TestUploadRetriesTransient(t *testing.T) {
	fb := &faulty{Backend: memory.New(), fails: 2}
	cache := t.TempDir()
	v := newVFSIn(t, fb, cache)
	_, h := create(t, v, "a.txt", "retried")
	if err := h.Release(t.Context()); err != nil {
		t.Fatalf("release: %v", err)
	}
	if got, _ := content(t, fb, "a.txt"); got != "retried" {
		t.Fatalf("stored %q", got)
	}
	if fb.puts != 3 {
		t.Errorf("%d Puts, want 3 (two failures and the success)", fb.puts)
	}
	if j := journalFiles(t, cache, fb); len(j) != 0 {
		t.Errorf("journal after a successful upload: %v", j)
	}
}

// writeHand writes a journal record and its data by hand, in the format
// doc.go describes.
func writeHand(t *testing.T, cacheDir string, b backend.Backend, name string, rec map[string]any, data string) {
	t.Helper()
	dir := filepath.Join(vfs.BackendCacheDir(cacheDir, b), "journal")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".data"), []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	j, _ := json.Marshal(rec)
	if err := os.WriteFile(filepath.Join(dir, name+".json"), j, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestUploadFailureJournalled: an upload that always fails is the error
// of fsync and release; the data stays journalled, also past Close, and
// a new VFS over the cache dir with a working backend uploads it with
// its bytes and mtime.
func TestUploadFailureJournalled(t *testing.T) {
	ctx := t.Context()
	mem := memory.New()
	fb := &faulty{Backend: mem, fails: -1}
	cache := t.TempDir()
	v := newVFSIn(t, fb, cache)
	n, h := create(t, v, "lost?.txt", "keep me")
	mtime := time.Date(2022, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := n.SetModTime(ctx, mtime); err != nil {
		t.Fatal(err)
	}
	if err := h.Fsync(ctx); err == nil {
		t.Fatal("fsync of a failing upload succeeded")
	}
	if err := h.Release(ctx); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("release: %v, want the upload's 503", err)
	}
	if fb.puts != 2*fastRetry.MaxAttempts {
		t.Errorf("%d Puts, want %d (fsync and release, each retried)", fb.puts, 2*fastRetry.MaxAttempts)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	j := journalFiles(t, cache, fb)
	if countSuffix(j, ".json") != 1 || countSuffix(j, ".data") != 1 {
		t.Fatalf("journal after a failed upload and Close: %v, want one record and its data", j)
	}
	if _, err := mem.Stat(ctx, "lost?.txt"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("file stored by a failing backend: %v", err)
	}

	fb.setFails(0)
	v2 := newVFSIn(t, fb, cache)
	v2.WaitReplay()
	got, e := content(t, mem, "lost?.txt")
	if got != "keep me" || !e.ModTime.Equal(mtime) {
		t.Fatalf("replayed file: %q mtime %v, want %q mtime %v", got, e.ModTime, "keep me", mtime)
	}
	if j := journalFiles(t, cache, fb); len(j) != 0 {
		t.Errorf("journal after the replay: %v", j)
	}
	// The replayed file is in the new VFS's tree.
	if c, err := v2.Root().Lookup(ctx, "lost?.txt"); err != nil || c.Attr().Size != 7 {
		t.Errorf("lookup after replay: %v", err)
	}
}

// TestCrashReplay: a process that dies after the journal record of a
// flush is written but before the upload leaves the file for the next
// VFS; a file written but never flushed is not journalled.
func TestCrashReplay(t *testing.T) {
	ctx := t.Context()
	b := memory.New()
	cache := t.TempDir()
	v, err := vfs.New(ctx, b, vfs.Options{CacheDir: cache, UploadRetry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	v.CrashBeforeUploads()
	_, h := create(t, v, "crashed.txt", "written and closed")
	if err := h.Flush(ctx); !errors.Is(err, vfs.ErrCrash) {
		t.Fatalf("flush: %v", err)
	}
	create(t, v, "unflushed.txt", "never closed")
	v.Abandon() // the process is gone: no release, no Close

	v2 := newVFSIn(t, b, cache)
	v2.WaitReplay()
	if got, _ := content(t, b, "crashed.txt"); got != "written and closed" {
		t.Fatalf("replayed %q", got)
	}
	if _, err := b.Stat(ctx, "unflushed.txt"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file never flushed was uploaded: %v", err)
	}
	if j := journalFiles(t, cache, b); len(j) != 0 {
		t.Errorf("journal after the replay: %v", j)
	}
}

// TestReplayOtherBackend: the journal of one remote is not replayed on
// another sharing the cache dir, and a record naming another remote is
// never replayed.
func TestReplayOtherBackend(t *testing.T) {
	ctx := t.Context()
	one := memory.NewWithOptions(memory.Options{Name: "one"})
	two := memory.NewWithOptions(memory.Options{Name: "two"})
	cache := t.TempDir()
	v, err := vfs.New(ctx, one, vfs.Options{CacheDir: cache, UploadRetry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	v.CrashBeforeUploads()
	_, h := create(t, v, "of-one.txt", "one's")
	h.Flush(ctx)
	v.Abandon()
	// A record of "two:" in one's journal dir (copied there, say).
	writeHand(t, cache, one, "w-stray", map[string]any{"version": 1, "backend": two.String(), "root": "", "path": "stray.txt", "size": 5, "mtime": time.Now()}, "stray")

	v2 := newVFSIn(t, two, cache)
	v2.WaitReplay()
	if es, _ := two.List(ctx, ""); len(es) != 0 {
		t.Fatalf("remote two got %v from remote one's journal", es)
	}
	v1 := newVFSIn(t, one, cache)
	v1.WaitReplay()
	if got, _ := content(t, one, "of-one.txt"); got != "one's" {
		t.Fatalf("remote one's journal replayed %q", got)
	}
	if _, err := one.Stat(ctx, "stray.txt"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a record of remote two was replayed on one: %v", err)
	}
	if j := journalFiles(t, cache, one); countSuffix(j, ".json") != 1 {
		t.Errorf("the record of another remote was not kept: %v", j)
	}
}

// TestReplayKeepsNewer: a replay does not overwrite a destination whose
// mtime is newer than the journalled write, and does replace an older
// one.
func TestReplayKeepsNewer(t *testing.T) {
	ctx := t.Context()
	b := memory.New()
	cache := t.TempDir()
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for p, mt := range map[string]time.Time{"newer.txt": old.Add(time.Hour), "older.txt": old.Add(-time.Hour)} {
		if _, err := b.Put(ctx, p, strings.NewReader("there"), 5, mt); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"newer.txt", "older.txt"} {
		writeHand(t, cache, b, "w-"+p, map[string]any{"version": 1, "backend": b.String(), "root": "", "path": p, "size": 10, "mtime": old}, "journalled")
	}
	v := newVFSIn(t, b, cache)
	v.WaitReplay()
	if got, _ := content(t, b, "newer.txt"); got != "there" {
		t.Errorf("a newer destination was overwritten with %q", got)
	}
	if got, e := content(t, b, "older.txt"); got != "journalled" || !e.ModTime.Equal(old) {
		t.Errorf("an older destination: %q mtime %v, want the journalled write", got, e.ModTime)
	}
	if j := journalFiles(t, cache, b); len(j) != 0 {
		t.Errorf("journal after the replay: %v", j)
	}
}

// TestSecondVFSOwnArea: while one VFS of a remote holds the journal, a
// second one over the same cache dir does not replay it and writes in
// its own area; what that one leaves is replayed by the next owner.
func TestSecondVFSOwnArea(t *testing.T) {
	ctx := t.Context()
	b := memory.New()
	cache := t.TempDir()
	v1, err := vfs.New(ctx, b, vfs.Options{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	writeHand(t, cache, b, "w-pending", map[string]any{"version": 1, "backend": b.String(), "root": "", "path": "pending.txt", "size": 7, "mtime": time.Now()}, "pending")
	v2, err := vfs.New(ctx, b, vfs.Options{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	v2.WaitReplay()
	if _, err := b.Stat(ctx, "pending.txt"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the second VFS replayed the first one's journal: %v", err)
	}
	v2.CrashBeforeUploads()
	_, h := create(t, v2, "second.txt", "second")
	h.Flush(ctx)
	v2.Abandon()
	v1.Close()

	v3 := newVFSIn(t, b, cache)
	v3.WaitReplay()
	for p, want := range map[string]string{"pending.txt": "pending", "second.txt": "second"} {
		if got, _ := content(t, b, p); got != want {
			t.Errorf("%s: %q, want %q", p, got, want)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(vfs.BackendCacheDir(cache, b), "write-*")); len(left) != 0 {
		t.Errorf("private areas left after their replay: %v", left)
	}
}

// TestMegaOutageJournalled: on the MEGA backend, an upload during an
// outage of the upload endpoint (every chunk POST fails) fails at
// release and stays journalled; after the server is back (same data,
// new address) a new VFS stores it.
func TestMegaOutageJournalled(t *testing.T) {
	ctx := t.Context()
	ts := megaservertest.Start(t, megaservertest.WithFaults("ul.http500=1"))
	b := newMegaAt(t, ts.URL)
	cache := t.TempDir()
	// One attempt: the MEGA client already retries each chunk POST.
	v := newVFSRetry(t, b, cache, retry.Policy{MaxAttempts: -1})
	data := strings.Repeat("mega journal ", 1000)
	n, h := create(t, v, "outage.txt", data)
	mtime := time.Date(2023, 3, 4, 5, 6, 7, 0, time.UTC)
	n.SetModTime(ctx, mtime)
	if err := h.Release(ctx); err == nil {
		t.Fatal("release during an upload outage succeeded")
	}
	v.Close()
	if j := journalFiles(t, cache, b); countSuffix(j, ".json") != 1 {
		t.Fatalf("journal after the failed upload: %v", j)
	}
	b.(backend.Closer).Close()
	ts.Close()

	ts2 := megaservertest.Start(t, megaservertest.WithDir(ts.Dir), megaservertest.WithoutSeedUsers(), megaservertest.WithFaults("ul.http500=0.3"))
	b2 := newMegaAt(t, ts2.URL)
	v2 := newVFSIn(t, b2, cache)
	v2.WaitReplay()
	got, e := content(t, b2, "outage.txt")
	if got != data || !e.ModTime.Equal(mtime) {
		t.Fatalf("replayed on MEGA: %d bytes mtime %v, want %d bytes mtime %v", len(got), e.ModTime, len(data), mtime)
	}
}

// newMegaAt is the MEGA backend "m" of the seeded user at url.
func newMegaAt(t *testing.T, url string) backend.Backend {
	t.Helper()
	b, err := megabackend.New(t.Context(), "m", backend.ConfigMap{
		"user": megaservertest.UserV2, "pass": megaservertest.PasswordV2, "url": url,
	}, "", backend.Env{CacheDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.(backend.Closer).Close() })
	return b
}

// failUpload creates name with data in v over the failing fb and
// releases it: the upload fails and stays journalled.
func failUpload(t *testing.T, v *vfs.VFS, name, data string) *vfs.Node {
	t.Helper()
	n, h := create(t, v, name, data)
	if err := h.Release(t.Context()); err == nil {
		t.Fatalf("release of %s over a failing backend succeeded", name)
	}
	return n
}

// records returns the journal records of b under cacheDir, by path.
func records(t *testing.T, cacheDir string, b backend.Backend) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	dir := filepath.Join(vfs.BackendCacheDir(cacheDir, b), "journal")
	for _, fn := range journalFiles(t, cacheDir, b) {
		if !strings.HasSuffix(fn, ".json") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, fn))
		if err != nil {
			t.Fatal(err)
		}
		var rec struct {
			Path string `json:"path"`
			Size int64  `json:"size"`
		}
		if err := json.Unmarshal(raw, &rec); err != nil {
			t.Fatal(err)
		}
		out[rec.Path] = rec.Size
	}
	return out
}

// TestFailedUploadRemovedStaysRemoved: a file whose upload failed and
// that is then removed, or replaced by a rename, is not uploaded by the
// next VFS (the journal record goes with the file); a renamed one is
// uploaded under its new name only.
func TestFailedUploadRemovedStaysRemoved(t *testing.T) {
	ctx := t.Context()
	mem := memory.New()
	if _, err := mem.Put(ctx, "old.txt", strings.NewReader("old"), 3, time.Now()); err != nil {
		t.Fatal(err)
	}
	fb := &faulty{Backend: mem, fails: -1}
	cache := t.TempDir()
	v := newVFSIn(t, fb, cache)
	failUpload(t, v, "gone.txt", "removed after its upload failed")
	failUpload(t, v, "moved.txt", "renamed after its upload failed")
	failUpload(t, v, "over.txt", "replaced by a rename")
	failUpload(t, v, "winner.txt", "renamed over over.txt")
	// A rewrite of a file the backend has, failed, then removed.
	old, err := v.Root().Lookup(ctx, "old.txt")
	if err != nil {
		t.Fatal(err)
	}
	h, err := v.Open(ctx, old, vfs.OpenWrite|vfs.OpenTrunc)
	if err != nil {
		t.Fatal(err)
	}
	h.WriteAt(ctx, []byte("rewritten"), 0)
	if err := h.Release(ctx); err == nil {
		t.Fatal("release of a rewrite over a failing backend succeeded")
	}
	if got := records(t, cache, fb); len(got) != 5 {
		t.Fatalf("records before the removals: %v, want 5", got)
	}
	// A failed upload is still in the tree, with its content.
	if a := mustLookup(t, v, "gone.txt").Attr(); a.Size != int64(len("removed after its upload failed")) {
		t.Errorf("size of a file whose upload failed: %d", a.Size)
	}

	root := v.Root()
	for _, name := range []string{"gone.txt", "old.txt"} {
		if err := root.Remove(ctx, name); err != nil {
			t.Fatalf("remove %s: %v", name, err)
		}
	}
	if err := root.Rename(ctx, "moved.txt", root, "renamed.txt"); err != nil {
		t.Fatal(err)
	}
	if err := root.Rename(ctx, "winner.txt", root, "over.txt"); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"renamed.txt": int64(len("renamed after its upload failed")), "over.txt": int64(len("renamed over over.txt"))}
	if got := records(t, cache, fb); !maps.Equal(got, want) {
		t.Errorf("records after remove and rename: %v, want %v", got, want)
	}
	v.Abandon() // a crash: nothing more is tried

	fb.setFails(0)
	v2 := newVFSIn(t, fb, cache)
	v2.WaitReplay()
	for _, p := range []string{"gone.txt", "old.txt", "moved.txt", "winner.txt"} {
		if _, err := mem.Stat(ctx, p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is on the backend after the replay: %v", p, err)
		}
	}
	for p, data := range map[string]string{"renamed.txt": "renamed after its upload failed", "over.txt": "renamed over over.txt"} {
		if got, _ := content(t, mem, p); got != data {
			t.Errorf("%s after the replay: %q, want %q", p, got, data)
		}
	}
}

// faultyMover is faulty with the backend's server-side Move.
type faultyMover struct{ *faulty }

func (f faultyMover) Move(ctx context.Context, src, dst string) (backend.Entry, error) {
	return f.Backend.(backend.Mover).Move(ctx, src, dst)
}

// TestPendingReplayRemovedOrRenamed: a journal record of an earlier VFS
// whose replay failed is dropped when its file is removed and follows
// its file when it is renamed (also with its folder).
func TestPendingReplayRemovedOrRenamed(t *testing.T) {
	ctx := t.Context()
	mem := memory.New()
	cache := t.TempDir()
	for _, p := range []string{"del.txt", "mv.txt", "dir/in.txt"} {
		e, err := mem.Put(ctx, p, strings.NewReader("old"), 3, time.Now().Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		writeHand(t, cache, mem, "w-"+strings.ReplaceAll(p, "/", "-"), map[string]any{"version": 1, "backend": mem.String(), "root": "", "path": p, "size": 7, "mtime": time.Now().Add(-time.Minute), "replaces": e.ID}, "journal")
	}
	fb := &faultyMover{&faulty{Backend: mem, fails: -1}}
	v := newVFSIn(t, fb, cache)
	v.WaitReplay() // fails: the records stay
	if got := records(t, cache, fb); len(got) != 3 {
		t.Fatalf("records after a failed replay: %v", got)
	}
	root := v.Root()
	if err := root.Remove(ctx, "del.txt"); err != nil {
		t.Fatal(err)
	}
	if err := root.Rename(ctx, "mv.txt", root, "mv2.txt"); err != nil {
		t.Fatal(err)
	}
	if err := root.Rename(ctx, "dir", root, "dir2"); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"mv2.txt": 7, "dir2/in.txt": 7}
	if got := records(t, cache, fb); !maps.Equal(got, want) {
		t.Errorf("records after remove and renames: %v, want %v", got, want)
	}
	v.Close()

	fb.setFails(0)
	v2 := newVFSIn(t, fb, cache)
	v2.WaitReplay()
	if _, err := mem.Stat(ctx, "del.txt"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a removed file came back: %v", err)
	}
	for _, p := range []string{"mv2.txt", "dir2/in.txt"} {
		if got, _ := content(t, mem, p); got != "journal" {
			t.Errorf("%s: %q, want the journalled content", p, got)
		}
	}
	for _, p := range []string{"mv.txt", "dir/in.txt"} {
		if _, err := mem.Stat(ctx, p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is back at its old name: %v", p, err)
		}
	}
}

// TestRmdirWithFailedUpload: a folder holding a file whose upload failed
// is not empty.
func TestRmdirWithFailedUpload(t *testing.T) {
	ctx := t.Context()
	fb := &faulty{Backend: memory.New()}
	v := newVFSIn(t, fb, t.TempDir())
	d, err := v.Root().Mkdir(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	fb.setFails(-1)
	_, h, err := d.Create(ctx, "f.txt")
	if err != nil {
		t.Fatal(err)
	}
	h.WriteAt(ctx, []byte("x"), 0)
	if err := h.Release(ctx); err == nil {
		t.Fatal("release succeeded")
	}
	if err := v.Root().Rmdir(ctx, "d"); !errors.Is(err, backend.ErrNotEmpty) {
		t.Errorf("rmdir of a folder with a pending upload: %v, want ErrNotEmpty", err)
	}
}

func mustLookup(t *testing.T, v *vfs.VFS, name string) *vfs.Node {
	t.Helper()
	n, err := v.Root().Lookup(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestFailedUploadRetriedInBackground: an upload that failed at release
// is tried again by the running VFS, Options.RetryFailed later and
// again with a doubled wait, and at once when another upload succeeds;
// a replay of an earlier VFS's record that failed is retried the same
// way. Time is synctest's.
func TestFailedUploadRetriedInBackground(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		mem := memory.New()
		cache := t.TempDir()
		writeHand(t, cache, mem, "w-replayed", map[string]any{"version": 1, "backend": mem.String(), "root": "", "path": "replayed.txt", "size": 8, "mtime": time.Now()}, "replayed")
		fb := &faulty{Backend: mem, fails: -1}
		v, err := vfs.New(ctx, fb, vfs.Options{CacheDir: cache, UploadRetry: fastRetry, RetryFailed: 30 * time.Second,
			Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		v.WaitReplay()
		failUpload(t, v, "a.txt", "retried later")
		puts := func() int {
			fb.mu.Lock()
			defer fb.mu.Unlock()
			return fb.puts
		}
		before := puts()
		time.Sleep(31 * time.Second) // the first round: still failing
		synctest.Wait()
		if got := puts() - before; got != 2 {
			t.Fatalf("%d Puts in the first background round, want 2 (a.txt and the replay)", got)
		}
		time.Sleep(31 * time.Second) // the wait doubled: nothing yet
		synctest.Wait()
		if got := puts() - before; got != 2 {
			t.Fatalf("%d Puts 62 s after the failure, want still 2 (the wait doubles)", got)
		}
		fb.setFails(0)
		time.Sleep(30 * time.Second)
		synctest.Wait()
		for p, want := range map[string]string{"a.txt": "retried later", "replayed.txt": "replayed"} {
			if got, _ := content(t, mem, p); got != want {
				t.Errorf("%s after the outage: %q, want %q", p, got, want)
			}
		}
		if j := journalFiles(t, cache, fb); len(j) != 0 {
			t.Errorf("journal after the background uploads: %v", j)
		}

		// The backend is seen working: retry at once.
		fb.setFails(-1)
		failUpload(t, v, "b.txt", "retried at once")
		fb.setFails(0)
		_, h := create(t, v, "c.txt", "works")
		if err := h.Release(ctx); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got, _ := content(t, mem, "b.txt"); got != "retried at once" {
			t.Errorf("b.txt right after another upload succeeded: %q", got)
		}
	})
}

// TestSyncUploadsFailed: Sync tries the kept uploads once more at once
// (what a mount does before it ends).
func TestSyncUploadsFailed(t *testing.T) {
	ctx := t.Context()
	fb := &faulty{Backend: memory.New(), fails: -1}
	cache := t.TempDir()
	v := newVFSRetry(t, fb, cache, fastRetry)
	failUpload(t, v, "s.txt", "synced")
	if err := v.Sync(ctx); err == nil {
		t.Error("Sync over a failing backend succeeded")
	}
	fb.setFails(0)
	if err := v.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := content(t, fb, "s.txt"); got != "synced" {
		t.Errorf("after Sync: %q", got)
	}
	if j := journalFiles(t, cache, fb); len(j) != 0 {
		t.Errorf("journal after Sync: %v", j)
	}
}

// TestMegaOutageRetriedWhileMounted: on the MEGA backend, an upload that
// fails at release during an outage of the upload endpoint (a proxy
// answers 500 to every chunk POST) is uploaded by the same VFS once the
// outage ends, with its bytes and mtime, and its journal record goes.
func TestMegaOutageRetriedWhileMounted(t *testing.T) {
	ctx := t.Context()
	ts := megaservertest.Start(t)
	var outage atomic.Bool
	proxy := megaservertest.StartProxy(t, ts.URL, megaservertest.ProxyConfig{
		Reply: func(w http.ResponseWriter, r *http.Request, resp *http.Response) {
			if outage.Load() && strings.HasPrefix(r.URL.Path, "/ul/") {
				http.Error(w, "outage", http.StatusInternalServerError)
				return
			}
			for k, v := range resp.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(resp.StatusCode)
			io.Copy(w, resp.Body)
		},
	})
	b := newMegaAt(t, proxy.URL)
	cache := t.TempDir()
	v, err := vfs.New(ctx, b, vfs.Options{CacheDir: cache, UploadRetry: retry.Policy{MaxAttempts: -1}, RetryFailed: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	outage.Store(true)
	data := strings.Repeat("outage ends ", 20000)
	n, h := create(t, v, "later.txt", data)
	mtime := time.Date(2021, 2, 3, 4, 5, 6, 0, time.UTC)
	n.SetModTime(ctx, mtime)
	if err := h.Release(ctx); err == nil {
		t.Fatal("release during an upload outage succeeded")
	}
	time.Sleep(time.Second) // background rounds fail meanwhile
	if _, err := b.Stat(ctx, "later.txt"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stored during the outage: %v", err)
	}
	outage.Store(false)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if _, err := b.Stat(ctx, "later.txt"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not uploaded a minute after the outage ended")
		}
	}
	got, e := content(t, b, "later.txt")
	if got != data || !e.ModTime.Equal(mtime) {
		t.Errorf("uploaded after the outage: %d bytes mtime %v, want %d bytes mtime %v", len(got), e.ModTime, len(data), mtime)
	}
	for deadline := time.Now().Add(10 * time.Second); len(journalFiles(t, cache, b)) > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("journal after the background upload: %v", journalFiles(t, cache, b))
		}
	}
}

// TestFailedUploadFolderRenamed: the journal record of a file whose
// upload failed follows a rename of its folder, so the next VFS uploads
// it into the renamed folder and does not bring the old one back.
func TestFailedUploadFolderRenamed(t *testing.T) {
	ctx := t.Context()
	mem := memory.New()
	fb := &faultyMover{&faulty{Backend: mem}}
	cache := t.TempDir()
	v := newVFSIn(t, fb, cache)
	d, err := v.Root().Mkdir(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := d.Mkdir(ctx, "sub")
	if err != nil {
		t.Fatal(err)
	}
	fb.setFails(-1)
	_, h, err := sub.Create(ctx, "f.txt")
	if err != nil {
		t.Fatal(err)
	}
	h.WriteAt(ctx, []byte("in a moved folder"), 0)
	if err := h.Release(ctx); err == nil {
		t.Fatal("release over a failing backend succeeded")
	}
	if err := v.Root().Rename(ctx, "d", v.Root(), "e"); err != nil {
		t.Fatal(err)
	}
	if got, want := records(t, cache, fb), map[string]int64{"e/sub/f.txt": 17}; !maps.Equal(got, want) {
		t.Errorf("records after the folder's rename: %v, want %v", got, want)
	}
	v.Abandon()

	fb.setFails(0)
	v2 := newVFSIn(t, fb, cache)
	v2.WaitReplay()
	if got, _ := content(t, mem, "e/sub/f.txt"); got != "in a moved folder" {
		t.Errorf("e/sub/f.txt after the replay: %q", got)
	}
	if _, err := mem.Stat(ctx, "d"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the old folder came back: %v", err)
	}
}

// TestUploadDefaultAttempts: with UploadRetry's attempts left zero a
// failing upload at fsync is tried DefaultUploadAttempts times, not the
// ten of retry's default (each attempt already has the backend's own
// retries inside: a close in a MEGA outage blocked for three minutes).
func TestUploadDefaultAttempts(t *testing.T) {
	fb := &faulty{Backend: memory.New(), fails: -1}
	v := newVFSRetry(t, fb, t.TempDir(), retry.Policy{Base: time.Millisecond, Cap: time.Millisecond})
	_, h := create(t, v, "f.txt", "data")
	if err := h.Fsync(t.Context()); err == nil {
		t.Fatal("fsync of a failing upload succeeded")
	}
	fb.mu.Lock()
	defer fb.mu.Unlock()
	if fb.puts != vfs.DefaultUploadAttempts {
		t.Errorf("%d Puts, want %d", fb.puts, vfs.DefaultUploadAttempts)
	}
}

// slowPut wraps a backend: each Put waits delay first and counts the
// journal records on disk then, in atRecords.
type slowPut struct {
	backend.Backend
	delay     time.Duration
	records   func() int
	atRecords []int
}

func (s *slowPut) Put(ctx context.Context, p string, r io.Reader, size int64, t time.Time) (backend.Entry, error) {
	time.Sleep(s.delay)
	s.atRecords = append(s.atRecords, s.records())
	return s.Backend.Put(ctx, p, r, size, t)
}

// TestJournalOnlySlowUploads: an upload at close that ends within the
// journal's grace writes no record (no fsyncs on a fast server), one that
// runs longer has its record on disk while it runs, and either leaves
// none once stored. Time is synctest's.
func TestJournalOnlySlowUploads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		mem := memory.New()
		cache := t.TempDir()
		sp := &slowPut{Backend: mem, records: func() int { return countSuffix(journalFiles(t, cache, mem), ".json") }}
		v := newVFSIn(t, sp, cache)
		for _, c := range []struct {
			delay   time.Duration
			records int
		}{{10 * time.Millisecond, 0}, {time.Second, 1}} {
			sp.delay = c.delay
			name := fmt.Sprintf("after-%v.txt", c.delay)
			_, h := create(t, v, name, "data")
			if err := h.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if got := sp.atRecords[len(sp.atRecords)-1]; got != c.records {
				t.Errorf("%s: %d journal records while its upload ran, want %d", name, got, c.records)
			}
			if err := h.Release(ctx); err != nil {
				t.Fatal(err)
			}
			if j := journalFiles(t, cache, mem); countSuffix(j, ".json") != 0 {
				t.Errorf("%s: journal after the upload: %v", name, j)
			}
			if got, _ := content(t, mem, name); got != "data" {
				t.Errorf("%s: stored %q", name, got)
			}
		}
	})
}
