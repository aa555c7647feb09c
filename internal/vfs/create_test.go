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
