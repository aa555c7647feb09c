package vfs_test

import (
	"bytes"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/memory"
	"ferry/internal/vfs"
	"ferry/megaserver/megaservertest"
)

// TestDirModTimeKeptOverListing: a directory's mtime set through the VFS
// (rsync -a and cp -a set them last) survives the next listing of its
// parent, which carries the backend's own time for it.
func TestDirModTimeKeptOverListing(t *testing.T) {
	ctx := t.Context()
	v, err := vfs.New(ctx, memory.New(), vfs.Options{CacheDir: t.TempDir(), DirCacheTime: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	d, err := v.Root().Mkdir(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	mt := time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := d.SetModTime(ctx, mt); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Root().ReadDir(ctx); err != nil { // lists the root again
		t.Fatal(err)
	}
	d2, err := v.Root().Lookup(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	if got := d2.Attr().ModTime; !got.Equal(mt) {
		t.Fatalf("directory mtime after a listing: %v, want %v", got, mt)
	}
}

// TestCorruptStaysFailed: once a full read of a handle finds the file
// corrupt (the MAC at its end does not verify), every later read of the
// handle fails with that error, at any offset. The kernel reads ahead
// past the failed range and retries pages singly; before, those reads
// were served by unverified ranged reads and tar copied the corrupt
// file with no error.
func TestCorruptStaysFailed(t *testing.T) {
	ctx := t.Context()
	ts := megaservertest.Start(t)
	b := newMegaAt(t, ts.URL)
	const size = 5003
	data := bytes.Repeat([]byte("ferry"), size/5+1)[:size]
	if _, err := b.Put(ctx, "victim", bytes.NewReader(data), size, time.Now()); err != nil {
		t.Fatal(err)
	}
	ts.FlipByte(t, size, 1000)
	v := newVFS(t, b)
	n, err := v.Root().Lookup(ctx, "victim")
	if err != nil {
		t.Fatal(err)
	}
	h, err := v.Open(ctx, n, vfs.OpenRead)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release(ctx)
	p := make([]byte, 4096)
	if _, err := h.ReadAt(ctx, p, 0); !backend.IsFatal(err) {
		t.Fatalf("full read of a corrupt file: %v, want the MAC error", err)
	}
	for _, off := range []int64{4096, 0, 1000, size - 1} {
		if k, err := h.ReadAt(ctx, p, off); !backend.IsFatal(err) {
			t.Errorf("read at %d after the MAC failed: %d bytes, %v; want the MAC error", off, k, err)
		}
	}
}
