package repo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/memory"
	"ferry/internal/backup/pace"
	"ferry/internal/retry"
)

var errInjected = errors.New("injected put failure")

// failingPuts fails every Put of a path with the prefix.
type failingPuts struct {
	backend.Backend
	prefix string
}

func (f failingPuts) Put(ctx context.Context, p string, r io.Reader, size int64, mt time.Time) (backend.Entry, error) {
	if strings.HasPrefix(p, f.prefix) {
		return backend.Entry{}, errInjected
	}
	return f.Backend.Put(ctx, p, r, size, mt)
}

// TestUploadFailureSticks makes every data pack upload fail: the error
// comes back from a later SaveBlob, from Flush and Close, no index is
// written, and no temporary pack is left.
func TestUploadFailureSticks(t *testing.T) {
	ctx := t.Context()
	mem := memory.New()
	o := testOptions(t)
	o.PackSize = 16 << 10
	r := initRepo(t, failingPuts{mem, "data/"}, o)
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		_, _, _, err = r.SaveBlob(ctx, DataBlob, randBytes(uint64(i), 10000))
		if err == nil {
			r.uploads.wait()
		}
	}
	if !errors.Is(err, errInjected) {
		t.Fatalf("SaveBlob after a failed upload: %v, want the upload's error", err)
	}
	if err := r.Flush(ctx); !errors.Is(err, errInjected) {
		t.Errorf("Flush: %v, want the upload's error", err)
	}
	if err := r.Close(); !errors.Is(err, errInjected) {
		t.Errorf("Close: %v, want the upload's error", err)
	}
	if idx := objects(t, mem, "index"); len(idx) != 0 {
		t.Errorf("index written after a failed upload: %v", idx)
	}
	if tmp, _ := filepath.Glob(filepath.Join(o.CacheDir, "ferry-pack-*")); len(tmp) != 0 {
		t.Errorf("temporary packs left: %v", tmp)
	}
}

// TestCancelled checks that a cancelled ctx stores nothing.
func TestCancelled(t *testing.T) {
	be := memory.New()
	o := testOptions(t)
	r := initRepo(t, be, o)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, _, err := r.SaveBlob(ctx, DataBlob, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("SaveBlob with a cancelled ctx: %v", err)
	}
	if _, _, _, err := r.SaveBlob(t.Context(), DataBlob, []byte("y")); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Flush with a cancelled ctx: %v", err)
	}
	if got := append(objects(t, be, "data"), objects(t, be, "index")...); len(got) != 0 {
		t.Errorf("objects written with a cancelled ctx: %v", got)
	}
	if _, err := Open(ctx, be, testPassword, o); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a cancelled ctx: %v", err)
	}
}

// TestCloseDiscards checks that Close drops the open packs and their
// temporary files, uploading nothing.
func TestCloseDiscards(t *testing.T) {
	be := memory.New()
	o := testOptions(t)
	r := initRepo(t, be, o)
	if _, _, _, err := r.SaveBlob(t.Context(), TreeBlob, []byte("tree")); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if tmp, _ := filepath.Glob(filepath.Join(o.CacheDir, "ferry-pack-*")); len(tmp) != 0 {
		t.Errorf("temporary packs left: %v", tmp)
	}
	if got := objects(t, be, "tree"); len(got) != 0 {
		t.Errorf("Close uploaded %v", got)
	}
}

// TestStaleTempRemoved checks that Open removes temporary packs older
// than a day (a killed process's) and keeps recent ones (another
// process's, maybe running).
func TestStaleTempRemoved(t *testing.T) {
	be := memory.New()
	o := testOptions(t)
	initRepo(t, be, o)
	old := filepath.Join(o.CacheDir, "ferry-pack-old.tmp")
	recent := filepath.Join(o.CacheDir, "ferry-pack-recent.tmp")
	for _, f := range []string{old, recent} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chtimes(old, time.Now().Add(-25*time.Hour), time.Now().Add(-25*time.Hour)); err != nil {
		t.Fatal(err)
	}
	openRepo(t, be, o)
	if _, err := os.Stat(old); err == nil {
		t.Errorf("stale temporary pack kept")
	}
	if _, err := os.Stat(recent); err != nil {
		t.Errorf("recent temporary pack removed: %v", err)
	}
}

// gatedPuts holds every Put of a data pack until gate is closed (or the
// Put's ctx ends), and tells started when one is waiting.
type gatedPuts struct {
	backend.Backend
	gate    chan struct{}
	started chan struct{}
}

func (g gatedPuts) Put(ctx context.Context, p string, r io.Reader, size int64, mt time.Time) (backend.Entry, error) {
	if strings.HasPrefix(p, "data/") {
		select {
		case g.started <- struct{}{}:
		default:
		}
		select {
		case <-g.gate:
		case <-ctx.Done():
			return backend.Entry{}, ctx.Err()
		}
	}
	return g.Backend.Put(ctx, p, r, size, mt)
}

// fillPack saves blobs with ctx until a data pack's upload has started.
func fillPack(t *testing.T, ctx context.Context, r *Repository, started chan struct{}) [][]byte {
	t.Helper()
	var saved [][]byte
	for i := 0; ; i++ {
		b := randBytes(uint64(i), 6000)
		if _, _, _, err := r.SaveBlob(ctx, DataBlob, b); err != nil {
			t.Fatal(err)
		}
		saved = append(saved, b)
		select {
		case <-started:
			return saved
		case <-time.After(time.Millisecond):
		}
		if i > 1000 {
			t.Fatal("no upload started")
		}
	}
}

// TestUploadOutlivesCallCtx cancels the ctx of the SaveBlob call whose
// pack is uploading (as an errgroup's ctx ends before the archiver's
// Flush): the upload goes on, and Flush with its own ctx succeeds.
func TestUploadOutlivesCallCtx(t *testing.T) {
	mem := memory.New()
	g := gatedPuts{mem, make(chan struct{}), make(chan struct{}, 1)}
	o := testOptions(t)
	o.PackSize = 16 << 10
	r := initRepo(t, g, o)
	callCtx, cancel := context.WithCancel(t.Context())
	saved := fillPack(t, callCtx, r, g.started)
	cancel()
	close(g.gate)
	if err := r.Flush(t.Context()); err != nil {
		t.Fatalf("Flush after the filling call's ctx ended: %v", err)
	}
	r2 := openRepo(t, mem, testOptions(t))
	for i, b := range saved {
		if _, err := r2.LoadBlob(t.Context(), DataBlob, r2.BlobID(b), nil); err != nil {
			t.Fatalf("blob %d: %v", i, err)
		}
	}
}

// TestFlushCtxStopsUploads checks that Flush returns when its ctx ends,
// with the uploads it waited for stopped.
func TestFlushCtxStopsUploads(t *testing.T) {
	mem := memory.New()
	g := gatedPuts{mem, make(chan struct{}), make(chan struct{}, 1)} // never opened
	o := testOptions(t)
	o.PackSize = 16 << 10
	r := initRepo(t, g, o)
	fillPack(t, t.Context(), r, g.started)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Flush(ctx) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Flush: %v, want its ctx's error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Flush did not return after its ctx ended")
	}
	if err := r.Close(); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Close: %v", err)
	}
	if got := objects(t, mem, "index"); len(got) != 0 {
		t.Errorf("index written: %v", got)
	}
}

// TestNoGoroutineLeak checks that every goroutine a Repository starts
// has ended after Flush and after Close.
func TestNoGoroutineLeak(t *testing.T) {
	zstdCodecs()
	settle := func(want int) int {
		n := runtime.NumGoroutine()
		for deadline := time.Now().Add(10 * time.Second); n > want && time.Now().Before(deadline); n = runtime.NumGoroutine() {
			time.Sleep(10 * time.Millisecond)
		}
		return n
	}
	base := runtime.NumGoroutine()
	ctx := t.Context()
	be := memory.New()
	o := testOptions(t)
	o.PackSize = 16 << 10
	r := initRepo(t, be, o)
	for i := range 20 {
		if _, _, _, err := r.SaveBlob(ctx, DataBlob, randBytes(uint64(i), 10000)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := settle(base); n > base {
		t.Errorf("%d goroutines after Flush, %d before", n, base)
	}
	r2 := openRepo(t, be, o)
	for i := range 20 {
		r2.SaveBlob(ctx, DataBlob, randBytes(uint64(100+i), 10000))
	}
	if _, err := r2.Snapshots(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r2.Close(); err != nil {
		t.Fatal(err)
	}
	if n := settle(base); n > base {
		t.Errorf("%d goroutines after Close, %d before", n, base)
	}
}

// flakyPuts fails the first Put of a data pack with a retryable 503
// after reading part of its body, as a dropped upload does.
type flakyPuts struct {
	backend.Backend
	failed atomic.Bool
}

func (f *flakyPuts) Put(ctx context.Context, p string, r io.Reader, size int64, mt time.Time) (backend.Entry, error) {
	if strings.HasPrefix(p, "data/") && f.failed.CompareAndSwap(false, true) {
		io.CopyN(io.Discard, r, size/2)
		return backend.Entry{}, &backend.PathError{Op: "put", Backend: f.String(), Path: p,
			Err: &retry.StatusError{StatusCode: 503, Status: "503 Service Unavailable", Op: "upload"}}
	}
	return f.Backend.Put(ctx, p, r, size, mt)
}

// TestPackUploadRetried: a pack upload that fails with a retryable error
// is retried by the backup's pacer (it can rewind the pack's file), and
// the repository checks clean afterwards.
func TestPackUploadRetried(t *testing.T) {
	ctx := t.Context()
	flaky := &flakyPuts{Backend: memory.New()}
	r := initRepo(t, pace.Wrap(flaky, pace.Options{}), testOptions(t))
	for i := range 5 {
		if _, _, _, err := r.SaveBlob(ctx, DataBlob, randBytes(uint64(i), 100000)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatalf("Flush after one failed pack upload: %v", err)
	}
	if !flaky.failed.Load() {
		t.Fatal("no upload failed: the test tested nothing")
	}
	res, err := r.Check(ctx, CheckOptions{ReadData: 1})
	if err != nil || len(res.Problems) != 0 {
		t.Fatalf("Check: %v %v", res.Problems, err)
	}
}

// TestConcurrentInitLoserFails: when another run's Init replaces the
// config this run's Init wrote (two first backups into one empty location
// at once), this run's Flush fails with ErrRecreated and indexes nothing,
// so no object the winner cannot read is ever listed; and an Init that
// finds another config right after writing its own reports ErrExists.
func TestConcurrentInitLoserFails(t *testing.T) {
	ctx := t.Context()
	mem := memory.New()
	a := initRepo(t, mem, testOptions(t))
	other := memory.New()
	initRepo(t, other, testOptions(t))
	rc, err := other.Open(ctx, "config", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	winner, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mem.Put(ctx, "config", bytes.NewReader(winner), int64(len(winner)), time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := a.SaveBlob(ctx, DataBlob, randBytes(1, 5000)); err != nil {
		t.Fatal(err)
	}
	if err := a.Flush(ctx); !errors.Is(err, ErrRecreated) {
		t.Fatalf("Flush after another run's config replaced this run's: %v, want ErrRecreated", err)
	}
	if idx := objects(t, mem, "index"); len(idx) != 0 {
		t.Errorf("the loser wrote an index: %v", idx)
	}
}
