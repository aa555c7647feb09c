package vfs_test

import (
	"bytes"
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
