package vfs_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/memory"
	"ferry/internal/vfs"
)

// newWriteBackVFS is a VFS over b with Options.WriteBack d.
func newWriteBackVFS(t *testing.T, b *faulty, cacheDir string, d time.Duration) *vfs.VFS {
	t.Helper()
	v, err := vfs.New(t.Context(), b, vfs.Options{CacheDir: cacheDir, UploadRetry: fastRetry, WriteBack: d,
		RetryFailed: 20 * time.Millisecond,
		Logger:      slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (f *faulty) putCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.puts
}

// TestWriteBack: with Options.WriteBack a close returns before the
// upload, the VFS serves the new content meanwhile, a file rewritten
// within the delay is uploaded once, and the upload happens after it.
func TestWriteBack(t *testing.T) {
	ctx := t.Context()
	b := &faulty{Backend: memory.New()}
	v := newWriteBackVFS(t, b, t.TempDir(), 300*time.Millisecond)
	defer v.Close()

	n, h := create(t, v, "a.txt", "first")
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stat(ctx, "a.txt"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("uploaded at close with write-back: %v", err)
	}
	// Rewritten before the write-back: one upload of the last content.
	h, err := v.Open(ctx, n, vfs.OpenWrite|vfs.OpenTrunc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.WriteAt(ctx, []byte("second version"), 0); err != nil {
		t.Fatal(err)
	}
	if err := h.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if got := readNode(t, v, "a.txt"); got != "second version" {
		t.Fatalf("read before the write-back: %q", got)
	}
	start := time.Now()
	waitFor(t, "the write-back", func() bool { _, err := b.Stat(ctx, "a.txt"); return err == nil })
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("uploaded %v after the close, before the write-back delay", d)
	}
	if got, _ := content(t, b, "a.txt"); got != "second version" {
		t.Fatalf("uploaded %q", got)
	}
	if p := b.putCount(); p != 1 {
		t.Errorf("%d uploads, want 1", p)
	}
}

// TestWriteBackSyncAndCrash: Sync uploads what waits for its write-back
// at once; a VFS that ends without Sync (a crash) leaves the journal, and
// the next one uploads the file; a failing write-back is retried.
func TestWriteBackSyncAndCrash(t *testing.T) {
	ctx := t.Context()
	b := &faulty{Backend: memory.New()}
	cache := t.TempDir()
	v := newWriteBackVFS(t, b, cache, time.Hour)
	for _, name := range []string{"s1", "s2", "s3", "s4", "s5"} {
		_, h := create(t, v, name, "synced "+name)
		if err := h.Release(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"s1", "s2", "s3", "s4", "s5"} {
		if got, _ := content(t, b, name); got != "synced "+name {
			t.Fatalf("%s after Sync: %q", name, got)
		}
	}

	_, h := create(t, v, "crash.txt", "closed, then the process died")
	if err := h.Release(ctx); err != nil {
		t.Fatal(err)
	}
	v.Abandon()
	b.setFails(2) // the replay fails twice first
	v2 := newWriteBackVFS(t, b, cache, time.Hour)
	defer v2.Close()
	waitFor(t, "the replay", func() bool { _, err := b.Stat(ctx, "crash.txt"); return err == nil })
	if got, _ := content(t, b, "crash.txt"); got != "closed, then the process died" {
		t.Fatalf("replayed %q", got)
	}

	// A write-back that fails is retried in the background.
	v3 := newWriteBackVFS(t, b, t.TempDir(), 10*time.Millisecond)
	defer v3.Close()
	b.setFails(6) // more than one write-back's attempts
	_, h = create(t, v3, "flaky.txt", "uploaded in the end")
	if err := h.Release(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the retried write-back", func() bool { _, err := b.Stat(ctx, "flaky.txt"); return err == nil })
}

// readNode reads file name of v's root whole through a new handle.
func readNode(t *testing.T, v *vfs.VFS, name string) string {
	t.Helper()
	n, err := v.Root().Lookup(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	h, err := v.Open(t.Context(), n, vfs.OpenRead)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release(t.Context())
	b, err := readAll(t.Context(), h, n.Attr().Size, 4096, false)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// gatedPut holds every Put until gate is closed; started, if not nil,
// gets a value as each Put arrives.
type gatedPut struct {
	*faulty
	gate, started chan struct{}
}

func (g gatedPut) Put(ctx context.Context, p string, r io.Reader, size int64, t time.Time) (backend.Entry, error) {
	if g.started != nil {
		g.started <- struct{}{}
	}
	select {
	case <-g.gate:
	case <-ctx.Done():
		return backend.Entry{}, ctx.Err()
	}
	return g.faulty.Put(ctx, p, r, size, t)
}

// TestWriteBackNow: with WriteBackNow a close returns while the upload,
// started at once, still runs; the file reaches the backend with no Sync;
// an fsync waits for its upload and reports the upload's error.
func TestWriteBackNow(t *testing.T) {
	ctx := t.Context()
	f := &faulty{Backend: memory.New()}
	b := gatedPut{faulty: f, gate: make(chan struct{})}
	v, err := vfs.New(ctx, b, vfs.Options{CacheDir: t.TempDir(), UploadRetry: fastRetry, WriteBack: vfs.WriteBackNow,
		RetryFailed: 20 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()

	closed := make(chan error, 1)
	go func() {
		_, h := create(t, v, "a.txt", "at once")
		closed <- errors.Join(h.Flush(ctx), h.Release(ctx))
	}()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("close waited for the upload")
	}
	waitFor(t, "the upload to start", func() bool { return f.putCount() == 0 }) // held at the gate
	close(b.gate)
	waitFor(t, "the upload", func() bool { _, err := f.Stat(ctx, "a.txt"); return err == nil })
	if got, _ := content(t, f, "a.txt"); got != "at once" {
		t.Fatalf("uploaded %q", got)
	}

	f.setFails(-1)
	_, h := create(t, v, "b.txt", "fails")
	if err := h.Fsync(ctx); err == nil {
		t.Error("fsync of a file whose upload fails: no error")
	}
	if err := h.Release(ctx); err != nil {
		t.Fatal(err)
	}
	f.setFails(0)
	if err := v.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := content(t, f, "b.txt"); got != "fails" {
		t.Errorf("after Sync: %q", got)
	}
}

// TestWriteBackAttrAtUploadEnd: attributes asked for while a background
// upload runs (they wait for it) are the uploaded file's, not the empty
// entry the node had before: a getattr at that moment once gave size 0,
// and the kernel then read nothing for a second.
func TestWriteBackAttrAtUploadEnd(t *testing.T) {
	ctx := t.Context()
	f := &faulty{Backend: memory.New()}
	b := gatedPut{faulty: f, gate: make(chan struct{}), started: make(chan struct{}, 1)}
	v, err := vfs.New(ctx, b, vfs.Options{CacheDir: t.TempDir(), UploadRetry: fastRetry, WriteBack: vfs.WriteBackNow})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	n, h := create(t, v, "a.txt", "7 bytes")
	if err := errors.Join(h.Flush(ctx), h.Release(ctx)); err != nil {
		t.Fatal(err)
	}
	<-b.started // the upload holds the write file now
	got := make(chan vfs.Attr, 1)
	go func() { got <- n.Attr() }()
	time.Sleep(50 * time.Millisecond) // Attr waits for the upload
	close(b.gate)
	if a := <-got; a.Size != 7 {
		t.Errorf("Attr during the upload: size %d, want 7", a.Size)
	}
}

// TestWriteBackSyncUploadsFlushedOpen: Sync (at unmount) uploads a file
// that a flush journalled for write-back but that was never released, as
// when the kernel ends a lazily unmounted connection before the release.
func TestWriteBackSyncUploadsFlushedOpen(t *testing.T) {
	ctx := t.Context()
	b := &faulty{Backend: memory.New()}
	v := newWriteBackVFS(t, b, t.TempDir(), vfs.WriteBackNow)
	defer v.Close()
	_, h := create(t, v, "open.txt", "flushed, not released")
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := v.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := content(t, b, "open.txt"); got != "flushed, not released" {
		t.Errorf("after Sync: %q", got)
	}
}
