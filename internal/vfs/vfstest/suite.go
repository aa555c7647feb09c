// Package vfstest is the behaviour suite of ferry's file system: one
// table of checks with stable names, run on a VFS in process
// (InProcess) and through a real mount with the os package (Dir), over
// any backend. Each check gets a fresh file system from Config.New, so
// `-run 'TestSuite/RenameAcrossDirs'` runs one alone.
package vfstest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"ferry/internal/backend"
)

// Env is one check's file system and the backend under it (empty at
// the start), for changes made behind the file system's back.
type Env struct {
	FS      FS
	Backend backend.Backend
	// MakeDuplicate, if set, stores a second file called p with data
	// beside the one there (backends with duplicate names).
	MakeDuplicate func(t *testing.T, p string, data []byte)
	// Corrupt, if set, flips a byte of the stored content of file p
	// behind the backend's back (a failing disk at the service), for
	// backends that verify what they read (MEGA's MACs).
	Corrupt func(t *testing.T, p string)
	// Settle, if set, is called before the suite looks at the backend: it
	// finishes the uploads a close left to the background (write-back).
	Settle func(t *testing.T)
}

// settled returns the backend once the uploads that closes left to the
// background are done.
func (e Env) settled(t *testing.T) backend.Backend {
	t.Helper()
	if e.Settle != nil {
		e.Settle(t)
	}
	return e.Backend
}

// Config configures Run.
type Config struct {
	New func(t *testing.T) Env
	// Unsupported names checks to skip, each with the reason.
	Unsupported map[string]string
	// ChangeTimeout is how long an outside change may take to show; 0
	// means 5 s. Without a ChangeNotifier the check is skipped.
	ChangeTimeout time.Duration
}

type check struct {
	name string
	fn   func(t *testing.T, c Config, e Env)
}

var checks = []check{
	{"WriteRead", checkWriteRead},
	{"ReadAtOffsets", checkReadAtOffsets},
	{"StoredOnClose", checkStoredOnClose},
	{"Overwrite", checkOverwrite},
	{"Append", checkAppend},
	{"RandomWrite", checkRandomWrite},
	{"Truncate", checkTruncate},
	{"MkdirRmdir", checkMkdirRmdir},
	{"RemoveFile", checkRemoveFile},
	{"RenameFile", checkRenameFile},
	{"RenameAcrossDirs", checkRenameAcrossDirs},
	{"RenameDir", checkRenameDir},
	{"RenameReplace", checkRenameReplace},
	{"ModTime", checkModTime},
	{"InodeStable", checkInodeStable},
	{"OutsideChange", checkOutsideChange},
	{"Duplicates", checkDuplicates},
	{"ReadParallel", checkReadParallel},
	{"ReadOrders", checkReadOrders},
	{"CorruptRead", checkCorruptRead},
}

// Names returns the checks' names.
func Names() []string {
	var out []string
	for _, c := range checks {
		out = append(out, c.name)
	}
	return out
}

// Run runs every check as a subtest.
func Run(t *testing.T, c Config) {
	for name := range c.Unsupported {
		if !slices.Contains(Names(), name) {
			t.Fatalf("Unsupported names %q, which is not a check", name)
		}
	}
	for _, ch := range checks {
		t.Run(ch.name, func(t *testing.T) {
			if why, ok := c.Unsupported[ch.name]; ok {
				t.Skip(why)
			}
			ch.fn(t, c, c.New(t))
		})
	}
}

func data(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantFile(t *testing.T, f FS, name string, want []byte) {
	t.Helper()
	got, err := f.ReadFile(name)
	if err != nil {
		t.Fatalf("ReadFile(%s): %v", name, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("ReadFile(%s): %d bytes, want %d (equal prefix %d)", name, len(got), len(want), prefix(got, want))
	}
}

func prefix(a, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

func wantGone(t *testing.T, f FS, name string) {
	t.Helper()
	if _, err := f.Stat(name); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat(%s) = %v, want fs.ErrNotExist", name, err)
	}
}

func wantBackend(t *testing.T, b backend.Backend, p string, want []byte) {
	t.Helper()
	rc, err := b.Open(context.Background(), p, 0, -1)
	if err != nil {
		t.Fatalf("backend Open(%s): %v", p, err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("backend has %d bytes at %s (%v), want %d", len(got), p, err, len(want))
	}
}

func checkWriteRead(t *testing.T, _ Config, e Env) {
	for _, n := range []int{0, 1, 4095, 131073, 1 << 20} {
		d := data(n, uint64(n))
		name := "f" + string(rune('a'+n%26))
		must(t, "WriteFile", e.FS.WriteFile(name, d))
		wantFile(t, e.FS, name, d)
		if i, err := e.FS.Stat(name); err != nil || i.Size != int64(n) || i.IsDir {
			t.Fatalf("Stat(%s) = %+v, %v; want size %d", name, i, err, n)
		}
	}
}

func checkReadAtOffsets(t *testing.T, _ Config, e Env) {
	d := data(3<<20+12345, 2)
	must(t, "WriteFile", e.FS.WriteFile("big", d))
	f, err := e.FS.OpenFile("big", os.O_RDONLY)
	must(t, "Open", err)
	defer f.Close()
	for _, r := range [][2]int{{12345, 100}, {0, 4096}, {len(d) - 7, 7}, {1 << 20, 300000}, {4096, 4096}, {8192, 65536}, {len(d) - 10, 100}} {
		buf := make([]byte, r[1])
		n, err := f.ReadAt(buf, int64(r[0]))
		want := d[r[0]:min(r[0]+r[1], len(d))]
		if (err != nil && err != io.EOF) || !bytes.Equal(buf[:n], want) {
			t.Fatalf("ReadAt(%d, %d) = %d, %v; want %d bytes", r[0], r[1], n, err, len(want))
		}
	}
	if n, err := f.ReadAt(make([]byte, 10), int64(len(d))); n != 0 || err != io.EOF {
		t.Fatalf("ReadAt at the end = %d, %v; want 0, io.EOF", n, err)
	}
}

func checkStoredOnClose(t *testing.T, _ Config, e Env) {
	d := data(200000, 3)
	must(t, "Mkdir", e.FS.Mkdir("dir"))
	f, err := e.FS.OpenFile("dir/new", os.O_RDWR|os.O_CREATE|os.O_TRUNC)
	must(t, "Create", err)
	_, err = f.WriteAt(d, 0)
	must(t, "WriteAt", err)
	must(t, "Close", f.Close())
	wantBackend(t, e.settled(t), "dir/new", d)
}

func checkOverwrite(t *testing.T, _ Config, e Env) {
	must(t, "WriteFile", e.FS.WriteFile("f", data(100000, 4)))
	d := data(777, 5)
	must(t, "WriteFile", e.FS.WriteFile("f", d))
	wantFile(t, e.FS, "f", d)
	wantBackend(t, e.settled(t), "f", d)
}

func checkAppend(t *testing.T, _ Config, e Env) {
	d := data(150000, 6)
	must(t, "WriteFile", e.FS.WriteFile("f", d[:100000]))
	f, err := e.FS.OpenFile("f", os.O_WRONLY)
	must(t, "Open", err)
	_, err = f.WriteAt(d[100000:], 100000)
	must(t, "WriteAt", err)
	must(t, "Close", f.Close())
	wantFile(t, e.FS, "f", d)
	wantBackend(t, e.settled(t), "f", d)
}

func checkRandomWrite(t *testing.T, _ Config, e Env) {
	d := data(300000, 7)
	must(t, "WriteFile", e.FS.WriteFile("f", d))
	f, err := e.FS.OpenFile("f", os.O_RDWR)
	must(t, "Open", err)
	patch := []byte("patched in the middle")
	_, err = f.WriteAt(patch, 123457)
	must(t, "WriteAt", err)
	copy(d[123457:], patch)
	buf := make([]byte, 100)
	_, err = f.ReadAt(buf, 123400)
	must(t, "ReadAt", err)
	if !bytes.Equal(buf, d[123400:123500]) {
		t.Fatalf("ReadAt through the write handle differs")
	}
	must(t, "Sync", f.Sync())
	must(t, "Close", f.Close())
	wantFile(t, e.FS, "f", d)
	wantBackend(t, e.settled(t), "f", d)
}

func checkTruncate(t *testing.T, _ Config, e Env) {
	d := data(200000, 8)
	must(t, "WriteFile", e.FS.WriteFile("f", d))
	must(t, "Truncate", e.FS.Truncate("f", 1000))
	wantFile(t, e.FS, "f", d[:1000])
	f, err := e.FS.OpenFile("f", os.O_RDWR)
	must(t, "Open", err)
	must(t, "ftruncate", f.Truncate(3000))
	must(t, "Close", f.Close())
	want := append(slices.Clone(d[:1000]), make([]byte, 2000)...)
	wantFile(t, e.FS, "f", want)
	wantBackend(t, e.settled(t), "f", want)
}

func isNotEmpty(err error) bool {
	return errors.Is(err, backend.ErrNotEmpty) || errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST)
}

func checkMkdirRmdir(t *testing.T, _ Config, e Env) {
	must(t, "Mkdir", e.FS.Mkdir("d"))
	if err := e.FS.Mkdir("d"); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second Mkdir = %v, want fs.ErrExist", err)
	}
	must(t, "Mkdir", e.FS.Mkdir("d/e"))
	must(t, "WriteFile", e.FS.WriteFile("d/e/f", []byte("x")))
	if err := e.FS.Remove("d/e"); !isNotEmpty(err) {
		t.Fatalf("Remove of a full directory = %v, want ENOTEMPTY", err)
	}
	must(t, "Remove file", e.FS.Remove("d/e/f"))
	must(t, "Remove dir", e.FS.Remove("d/e"))
	wantGone(t, e.FS, "d/e")
	if names, err := e.FS.ReadDir("d"); err != nil || len(names) != 0 {
		t.Fatalf("ReadDir(d) = %q, %v; want empty", names, err)
	}
	if _, err := e.settled(t).Stat(context.Background(), "d/e"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("backend Stat(d/e) = %v, want fs.ErrNotExist", err)
	}
}

func checkRemoveFile(t *testing.T, _ Config, e Env) {
	if err := e.FS.Remove("missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Remove(missing) = %v, want fs.ErrNotExist", err)
	}
	must(t, "WriteFile", e.FS.WriteFile("f", []byte("x")))
	must(t, "Remove", e.FS.Remove("f"))
	wantGone(t, e.FS, "f")
	if _, err := e.settled(t).Stat(context.Background(), "f"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("backend Stat(f) = %v, want fs.ErrNotExist", err)
	}
}

func checkRenameFile(t *testing.T, _ Config, e Env) {
	d := data(5000, 9)
	must(t, "WriteFile", e.FS.WriteFile("a", d))
	must(t, "Rename", e.FS.Rename("a", "b"))
	wantGone(t, e.FS, "a")
	wantFile(t, e.FS, "b", d)
	wantBackend(t, e.settled(t), "b", d)
}

func checkRenameAcrossDirs(t *testing.T, _ Config, e Env) {
	d := data(5000, 10)
	must(t, "Mkdir", e.FS.Mkdir("x"))
	must(t, "Mkdir", e.FS.Mkdir("y"))
	must(t, "WriteFile", e.FS.WriteFile("x/f", d))
	must(t, "Rename", e.FS.Rename("x/f", "y/g"))
	wantGone(t, e.FS, "x/f")
	wantFile(t, e.FS, "y/g", d)
	wantBackend(t, e.settled(t), "y/g", d)
}

func checkRenameDir(t *testing.T, _ Config, e Env) {
	d := data(5000, 11)
	must(t, "Mkdir", e.FS.Mkdir("x"))
	must(t, "Mkdir", e.FS.Mkdir("x/sub"))
	must(t, "WriteFile", e.FS.WriteFile("x/sub/f", d))
	must(t, "Mkdir", e.FS.Mkdir("y"))
	must(t, "Rename", e.FS.Rename("x", "y/x2"))
	wantGone(t, e.FS, "x")
	wantFile(t, e.FS, "y/x2/sub/f", d)
	must(t, "WriteFile after the move", e.FS.WriteFile("y/x2/sub/g", d[:10]))
	wantBackend(t, e.settled(t), "y/x2/sub/g", d[:10])
	wantBackend(t, e.settled(t), "y/x2/sub/f", d)
}

func checkRenameReplace(t *testing.T, _ Config, e Env) {
	must(t, "WriteFile", e.FS.WriteFile("a", []byte("new")))
	must(t, "WriteFile", e.FS.WriteFile("b", []byte("old content")))
	must(t, "Rename", e.FS.Rename("a", "b"))
	wantFile(t, e.FS, "b", []byte("new"))
	if names, err := e.FS.ReadDir(""); err != nil || !slices.Equal(names, []string{"b"}) {
		t.Fatalf("ReadDir = %q, %v; want [b]", names, err)
	}
}

func checkModTime(t *testing.T, _ Config, e Env) {
	must(t, "WriteFile", e.FS.WriteFile("f", []byte("x")))
	mt := time.Date(2020, 2, 3, 4, 5, 6, 0, time.UTC)
	must(t, "Chtimes", e.FS.Chtimes("f", mt))
	i, err := e.FS.Stat("f")
	must(t, "Stat", err)
	if !i.ModTime.Equal(mt) {
		t.Fatalf("mtime %v, want %v", i.ModTime, mt)
	}
	be, err := e.settled(t).Stat(context.Background(), "f")
	must(t, "backend Stat", err)
	if d := be.ModTime.Sub(mt).Abs(); d > backend.Precision(e.Backend) {
		t.Fatalf("backend mtime %v, want %v", be.ModTime, mt)
	}
}

func checkInodeStable(t *testing.T, _ Config, e Env) {
	must(t, "WriteFile", e.FS.WriteFile("f", []byte("x")))
	a, err := e.FS.Stat("f")
	must(t, "Stat", err)
	must(t, "WriteFile", e.FS.WriteFile("f", []byte("rewritten")))
	b, err := e.FS.Stat("f")
	must(t, "Stat", err)
	must(t, "Rename", e.FS.Rename("f", "g"))
	c, err := e.FS.Stat("g")
	must(t, "Stat", err)
	if a.Ino == 0 || a.Ino != b.Ino || b.Ino != c.Ino {
		t.Fatalf("inode numbers %d, %d (rewritten), %d (renamed); want one number", a.Ino, b.Ino, c.Ino)
	}
}

func checkOutsideChange(t *testing.T, c Config, e Env) {
	if _, ok := e.Backend.(backend.ChangeNotifier); !ok {
		t.Skip("the backend reports no outside changes; listings refresh after --dir-cache-time")
	}
	must(t, "Mkdir", e.FS.Mkdir("d"))
	if names, err := e.FS.ReadDir("d"); err != nil || len(names) != 0 {
		t.Fatalf("ReadDir = %q, %v", names, err)
	}
	d := data(1234, 12)
	if _, err := e.Backend.Put(context.Background(), "d/outside", bytes.NewReader(d), int64(len(d)), time.Now()); err != nil {
		t.Fatal(err)
	}
	timeout := cmp(c.ChangeTimeout, 5*time.Second)
	deadline := time.Now().Add(timeout)
	for {
		names, _ := e.FS.ReadDir("d")
		if slices.Contains(names, "outside") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a file stored behind the file system's back is not listed after %v: %q", timeout, names)
		}
		time.Sleep(50 * time.Millisecond)
	}
	wantFile(t, e.FS, "d/outside", d)
}

func cmp(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func checkDuplicates(t *testing.T, _ Config, e Env) {
	if e.MakeDuplicate == nil {
		t.Skip("the backend has unique names")
	}
	// Both objects exist before the file system lists the root.
	a, b := data(1000, 13), data(2000, 14)
	if _, err := e.Backend.Put(context.Background(), "x.txt", bytes.NewReader(a), int64(len(a)), time.Now()); err != nil {
		t.Fatal(err)
	}
	e.MakeDuplicate(t, "x.txt", b)
	names, err := e.FS.ReadDir("")
	must(t, "ReadDir", err)
	if !slices.Equal(names, []string{"x (2).txt", "x.txt"}) {
		t.Fatalf("ReadDir = %q, want both objects", names)
	}
	one, err := e.FS.ReadFile("x.txt")
	must(t, "ReadFile", err)
	two, err := e.FS.ReadFile("x (2).txt")
	must(t, "ReadFile", err)
	if !(bytes.Equal(one, a) && bytes.Equal(two, b)) && !(bytes.Equal(one, b) && bytes.Equal(two, a)) {
		t.Fatalf("the two objects read as %d and %d bytes, want 1000 and 2000", len(one), len(two))
	}
	must(t, "Remove", e.FS.Remove("x (2).txt"))
	names, err = e.FS.ReadDir("")
	must(t, "ReadDir", err)
	if !slices.Equal(names, []string{"x.txt"}) {
		t.Fatalf("after removing the duplicate: %q", names)
	}
	wantFile(t, e.FS, "x.txt", one)
}

// putBackend stores d at p in the backend, behind the file system.
func putBackend(t *testing.T, b backend.Backend, p string, d []byte) {
	t.Helper()
	if _, err := b.Put(context.Background(), p, bytes.NewReader(d), int64(len(d)), time.Unix(1700000000, 0)); err != nil {
		t.Fatalf("backend Put(%s): %v", p, err)
	}
}

// readOrder reads all of f in blocks of bs, in the order of perm over
// the block numbers, and returns the content or the first error.
func readOrder(f File, size int64, bs int, perm []int) ([]byte, error) {
	out := make([]byte, size)
	for _, i := range perm {
		off := int64(i) * int64(bs)
		end := min(off+int64(bs), size)
		n, err := f.ReadAt(out[off:end], off)
		if err != nil && !(err == io.EOF && off+int64(n) == end) {
			return nil, err
		}
	}
	return out, nil
}

func blocks(size int64, bs int) int { return int((size + int64(bs) - 1) / int64(bs)) }

// checkReadParallel: reads of one open file at many offsets at once all
// get the right bytes.
func checkReadParallel(t *testing.T, _ Config, e Env) {
	d := data(5<<20+333, 3)
	putBackend(t, e.Backend, "par", d)
	f, err := e.FS.OpenFile("par", os.O_RDONLY)
	must(t, "Open", err)
	defer f.Close()
	errs := make(chan error, 16)
	for i := range 16 {
		go func() {
			r := rand.New(rand.NewPCG(uint64(i), 2))
			for range 8 {
				off := r.IntN(len(d))
				n := 1 + r.IntN(200<<10)
				buf := make([]byte, n)
				got, err := f.ReadAt(buf, int64(off))
				want := d[off:min(off+n, len(d))]
				if (err != nil && err != io.EOF) || !bytes.Equal(buf[:got], want) {
					errs <- fmt.Errorf("ReadAt(%d, %d) = %d, %v; want %d bytes", off, n, got, err, len(want))
					return
				}
			}
			errs <- nil
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// checkReadOrders: a file read whole in reverse and in random block
// order, then again in order (partly cached by then), is intact.
func checkReadOrders(t *testing.T, _ Config, e Env) {
	const bs = 96 << 10
	d := data(6<<20+4321, 4)
	putBackend(t, e.Backend, "ord", d)
	n := blocks(int64(len(d)), bs)
	rev := make([]int, n)
	for i := range rev {
		rev[i] = n - 1 - i
	}
	seq := make([]int, n)
	for i := range seq {
		seq[i] = i
	}
	for _, perm := range [][]int{rev, rand.New(rand.NewPCG(5, 5)).Perm(n), seq} {
		f, err := e.FS.OpenFile("ord", os.O_RDONLY)
		must(t, "Open", err)
		got, err := readOrder(f, int64(len(d)), bs, perm)
		f.Close()
		if err != nil || !bytes.Equal(got, d) {
			t.Fatalf("read in order %v...: %v (equal prefix %d)", perm[:3], err, prefix(got, d))
		}
	}
	wantFile(t, e.FS, "ord", d)
}

// checkCorruptRead: a file whose stored content was corrupted fails a
// whole read with a fatal error (EIO through a mount), read in order or
// in reverse; it never reads as if intact.
func checkCorruptRead(t *testing.T, _ Config, e Env) {
	if e.Corrupt == nil {
		t.Skip("Env.Corrupt is not set: the backend's reads are trusted")
	}
	const bs = 128 << 10
	d := data(3<<20+7777, 6)
	putBackend(t, e.Backend, "bad", d)
	e.Corrupt(t, "bad")
	n := blocks(int64(len(d)), bs)
	seq, rev := make([]int, n), make([]int, n)
	for i := range seq {
		seq[i], rev[i] = i, n-1-i
	}
	for _, perm := range [][]int{seq, rev} {
		f, err := e.FS.OpenFile("bad", os.O_RDONLY)
		must(t, "Open", err)
		_, err = readOrder(f, int64(len(d)), bs, perm)
		f.Close()
		if err == nil {
			t.Fatalf("a corrupted file read whole (block %d first) without an error", perm[0])
		}
		if !backend.IsFatal(err) && !errors.Is(err, syscall.EIO) {
			t.Fatalf("a corrupted file read whole: %v, want a fatal error or EIO", err)
		}
	}
}
