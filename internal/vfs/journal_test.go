package vfs_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
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
