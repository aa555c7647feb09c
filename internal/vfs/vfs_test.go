package vfs_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/memory"
	"ferry/internal/vfs"
	"ferry/internal/vfs/vfstest"
)

// newVFS returns a VFS over b with its cache in the test's temp dir.
func newVFS(t *testing.T, b backend.Backend) *vfs.VFS {
	t.Helper()
	v, err := vfs.New(t.Context(), b, vfs.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func TestSuiteMemory(t *testing.T) {
	vfstest.Run(t, vfstest.Config{New: func(t *testing.T) vfstest.Env {
		b := memory.New()
		return vfstest.Env{FS: vfstest.InProcess(newVFS(t, b)), Backend: b}
	}})
}

func TestSuiteMemoryDuplicates(t *testing.T) {
	vfstest.Run(t, vfstest.Config{New: func(t *testing.T) vfstest.Env {
		b := memory.NewDuplicates(memory.Options{})
		return vfstest.Env{FS: vfstest.InProcess(newVFS(t, b)), Backend: b,
			MakeDuplicate: func(t *testing.T, p string, data []byte) {
				if _, err := b.PutDuplicate(t.Context(), p, bytes.NewReader(data), int64(len(data)), time.Now()); err != nil {
					t.Fatal(err)
				}
			}}
	}})
}

// TestRoot serves a subdirectory of the backend: the VFS sees only what
// is below it, and what it creates lands there.
func TestRoot(t *testing.T) {
	ctx := t.Context()
	b := memory.New()
	for p, data := range map[string]string{"outside.txt": "no", "sub/inside.txt": "yes"} {
		if _, err := b.Put(ctx, p, strings.NewReader(data), int64(len(data)), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	v, err := vfs.New(ctx, b, vfs.Options{CacheDir: t.TempDir(), Root: "sub"})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	kids, err := v.Root().ReadDir(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(kids) != 1 || kids[0].Name() != "inside.txt" {
		t.Fatalf("root of sub lists %d entries, want only inside.txt", len(kids))
	}
	_, h, err := v.Root().Create(ctx, "new.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.WriteAt(ctx, []byte("fresh"), 0); err != nil {
		t.Fatal(err)
	}
	if err := h.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if e, err := b.Stat(ctx, "sub/new.txt"); err != nil || e.Size != 5 {
		t.Errorf("created file at sub/new.txt: %+v, %v", e, err)
	}
	if _, err := vfs.New(ctx, b, vfs.Options{CacheDir: t.TempDir(), Root: "sub/inside.txt"}); err == nil {
		t.Error("a file as the root was accepted")
	}
}
