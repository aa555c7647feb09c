package mount_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"ferry/internal/backend/memory"
	"ferry/internal/mount"
	"ferry/internal/vfs"
	"ferry/internal/vfs/vfstest"
)

// TestSuiteMountMegaDirectIO runs the behaviour suite through a
// --direct-io mount with ferry mount's default write-back.
func TestSuiteMountMegaDirectIO(t *testing.T) {
	vfstest.Run(t, vfstest.Config{New: func(t *testing.T) vfstest.Env {
		b, _ := newMega(t)
		m := mountWith(t, b, vfs.Options{CacheDir: t.TempDir(), WriteBack: vfs.WriteBackNow}, mount.Options{DirectIO: true})
		return vfstest.Env{FS: vfstest.Dir(m.dir), Backend: b, Settle: func(t *testing.T) {
			if err := m.v.Sync(m.ctx); err != nil {
				t.Fatalf("settling the write-back: %v", err)
			}
		}}
	}})
}

// readCounting reads the file at p whole through one descriptor, then
// maps it and counts its pages that the kernel's page cache holds
// (mincore reports a file mapping's page cache, whether or not the
// mapping touched the pages; the same descriptor, since an open without
// FOPEN_KEEP_CACHE drops them). It never touches the mapping: a fault
// on it is a FUSE read served by this very process, and a goroutine
// stuck in a page fault blocks the garbage collector's stop-the-world,
// which then stops the FUSE server too. git, in its own process, reads
// mapped files through the mount in TestGitMegaDirectIO.
func readCounting(t *testing.T, p string) (cached, pages int, read []byte) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if read, err = io.ReadAll(f); err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, len(read), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatalf("mmap %s: %v", p, err)
	}
	defer unix.Munmap(mem)
	vec := make([]byte, (len(mem)+os.Getpagesize()-1)/os.Getpagesize())
	if _, _, en := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(unsafe.SliceData(mem))), uintptr(len(mem)), uintptr(unsafe.Pointer(&vec[0]))); en != 0 {
		t.Fatalf("mincore: %v", en)
	}
	for _, v := range vec {
		if v&1 != 0 {
			cached++
		}
	}
	return cached, len(vec), read
}

// TestDirectIOKeepsPagesOut: a file read whole through a --direct-io
// mount leaves none of its pages in the kernel's page cache, where a
// default mount leaves them all; a shared mmap of it works on both.
func TestDirectIOKeepsPagesOut(t *testing.T) {
	want := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	for _, c := range []struct {
		name     string
		directIO bool
	}{{"page cache", false}, {"direct-io", true}} {
		t.Run(c.name, func(t *testing.T) {
			m := mountWith(t, memory.New(), vfs.Options{CacheDir: t.TempDir()}, mount.Options{DirectIO: c.directIO})
			p := filepath.Join(m.dir, "f.bin")
			if err := os.WriteFile(p, want, 0o644); err != nil {
				t.Fatal(err)
			}
			cached, pages, got := readCounting(t, p)
			if !bytes.Equal(got, want) {
				t.Fatalf("read back %d bytes that differ from the file", len(got))
			}
			switch {
			case c.directIO && cached != 0:
				t.Errorf("direct-io: %d of %d pages in the page cache after a read, want none", cached, pages)
			case !c.directIO && cached < pages/2:
				t.Errorf("page cache: %d of %d pages cached after a read, want them (the test cannot tell the modes apart)", cached, pages)
			}
		})
	}
}
