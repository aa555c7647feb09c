package vfs_test

import (
	"bytes"
	"io"
	"testing"
	"time"

	"ferry/internal/backend/memory"
	"ferry/internal/vfs"
)

// TestCreateSurvivesListing: a listing of the directory applied the
// moment a new file appears in it (the refresher after an outside change,
// seen losing one of 1,000 files in cp -r) must keep the file and its
// data: the backend does not have it yet, but it is being written.
func TestCreateSurvivesListing(t *testing.T) {
	ctx := t.Context()
	b := memory.New()
	v, err := vfs.New(ctx, b, vfs.Options{CacheDir: t.TempDir(), DirCacheTime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	root := v.Root()
	if _, err := root.ReadDir(ctx); err != nil { // cache the listing, so Create inserts into it
		t.Fatal(err)
	}
	v.AfterCreate(func(d *vfs.Node) {
		if err := v.ListNow(d); err != nil {
			t.Error(err)
		}
	})
	_, h, err := root.Create(ctx, "new.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := []byte("written while a listing came in")
	if _, err := h.WriteAt(ctx, want, 0); err != nil {
		t.Fatal(err)
	}
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	h.Release(ctx)
	rc, err := b.Open(ctx, "new.txt", 0, -1)
	if err != nil {
		t.Fatalf("the file written is not on the backend: %v", err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("backend has %q, want %q", got, want)
	}
}

// TestModTimeAfterUploadWhileOpen: a time set after the upload at close
// but before the kernel's release (touch or rsync right after a write)
// is what the file's attributes show, and what the backend holds; the
// write file still attached used to show its old time.
func TestModTimeAfterUploadWhileOpen(t *testing.T) {
	ctx := t.Context()
	b := memory.New()
	v, err := vfs.New(ctx, b, vfs.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	n, h, err := v.Root().Create(ctx, "f")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.WriteAt(ctx, []byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	mt := time.Date(2020, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := n.SetModTime(ctx, mt); err != nil {
		t.Fatal(err)
	}
	if got := n.Attr().ModTime; !got.Equal(mt) {
		t.Errorf("attributes before release: mtime %v, want %v", got, mt)
	}
	if err := h.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if got := n.Attr().ModTime; !got.Equal(mt) {
		t.Errorf("attributes after release: mtime %v, want %v", got, mt)
	}
	if e, err := b.Stat(ctx, "f"); err != nil || !e.ModTime.Equal(mt) {
		t.Errorf("backend: %v, %v; want mtime %v", e.ModTime, err, mt)
	}
}
