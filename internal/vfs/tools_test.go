package vfs_test

import (
	"testing"
	"time"

	"ferry/internal/backend/memory"
	"ferry/internal/vfs"
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
