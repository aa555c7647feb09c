package mega

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"ferry/internal/backend"
	"ferry/megaserver/megaservertest"
)

func randomData(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func readAll(t *testing.T, b backend.Backend, p string, off, n int64) []byte {
	t.Helper()
	rc, err := b.Open(t.Context(), p, off, n)
	if err != nil {
		t.Fatalf("Open(%q, %d, %d): %v", p, off, n, err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q [%d,+%d): %v", p, off, n, err)
	}
	return got
}

// TestPutFailureKeepsOld: a Put whose source fails leaves the old file,
// and a successful one replaces it without leaving a duplicate.
func TestPutFailureKeepsOld(t *testing.T) {
	ts := megaservertest.Start(t)
	b := newOpener(t, ts).mustOpen("keep")
	old := randomData(1000)
	put(t, b, "f.bin", old)

	failing := io.MultiReader(bytes.NewReader(randomData(300_000)), iotest.ErrReader(errors.New("disk on fire")))
	if _, err := b.Put(t.Context(), "f.bin", failing, 600_000, time.Now()); err == nil {
		t.Fatal("Put with a failing reader succeeded")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := b.Put(ctx, "f.bin", bytes.NewReader(randomData(10)), 10, time.Now()); err == nil {
		t.Fatal("Put with a cancelled ctx succeeded")
	}
	if got := readAll(t, b, "f.bin", 0, -1); !bytes.Equal(got, old) {
		t.Fatalf("old content changed after failed Puts")
	}
	es, err := b.List(t.Context(), "")
	if err != nil || len(es) != 1 {
		t.Fatalf("List = %v, %v; want just f.bin", es, err)
	}

	newer := randomData(2000)
	put(t, b, "f.bin", newer)
	if got := readAll(t, b, "f.bin", 0, -1); !bytes.Equal(got, newer) {
		t.Fatalf("content not replaced")
	}
	if es, _ := b.List(t.Context(), ""); len(es) != 1 {
		t.Fatalf("%d entries after overwrite, want 1", len(es))
	}
	u, err := b.About(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if u.Trashed != int64(len(old)) {
		t.Errorf("Trashed = %d, want %d (the replaced file)", u.Trashed, len(old))
	}
	if err := b.CleanUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	if u, _ := b.About(t.Context()); u.Trashed != 0 {
		t.Errorf("Trashed = %d after CleanUp", u.Trashed)
	}
}

// TestDuplicates: List shows every node of a name, path methods use the
// newest, and the DuplicateNamer methods address one node.
func TestDuplicates(t *testing.T) {
	ts := megaservertest.Start(t)
	b := newOpener(t, ts).mustOpen("dups")
	put(t, b, "d.txt", []byte("first"))
	dir, err := b.c.Lookup("dups")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // `ts` has whole seconds: make "newest" unambiguous
	if _, err := b.c.Upload(t.Context(), dir[0], "d.txt", strings.NewReader("second!"), 7, time.Now()); err != nil {
		t.Fatal(err)
	}
	es, err := b.List(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].Path != "d.txt" || es[1].Path != "d.txt" || es[0].ID == es[1].ID {
		t.Fatalf("List = %+v, want two d.txt with distinct IDs", es)
	}
	st, err := b.Stat(t.Context(), "d.txt")
	if err != nil || st.Size != 7 {
		t.Fatalf("Stat = %+v, %v; want the newest (7 bytes)", st, err)
	}
	if got := readAll(t, b, "d.txt", 0, -1); string(got) != "second!" {
		t.Fatalf("Open read %q, want the newest", got)
	}
	var older backend.Entry
	for _, e := range es {
		if e.ID != st.ID {
			older = e
		}
	}
	renamed, err := b.RenameEntry(t.Context(), older, "d (1).txt")
	if err != nil || renamed.Path != "d (1).txt" || renamed.ID != older.ID {
		t.Fatalf("RenameEntry = %+v, %v", renamed, err)
	}
	if got := readAll(t, b, "d (1).txt", 0, -1); string(got) != "first" {
		t.Fatalf("renamed file reads %q", got)
	}
	if err := b.RemoveEntry(t.Context(), older); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("RemoveEntry with a stale path: %v, want ErrNotExist", err)
	}
	if err := b.RemoveEntry(t.Context(), renamed); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stat(t.Context(), "d (1).txt"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat after RemoveEntry: %v", err)
	}
}

// TestRangedReads reads ranges of a multi-chunk file, verified against
// the whole-file (MAC-checked) read.
func TestRangedReads(t *testing.T) {
	ts := megaservertest.Start(t)
	b := newOpener(t, ts).mustOpen("")
	data := randomData(5<<20 + 123)
	put(t, b, "big", data)
	for _, r := range []struct{ off, n int64 }{
		{0, -1}, {0, 1}, {1, 10}, {131071, 2}, {1 << 20, 4 << 20}, {5 << 20, -1}, {5<<20 + 122, 100},
		{int64(len(data)), 5}, {int64(len(data)) + 10, -1}, {3, 0}, {0, int64(len(data)) + 1},
	} {
		got := readAll(t, b, "big", r.off, r.n)
		end := int64(len(data))
		if r.n >= 0 && r.off+r.n < end {
			end = r.off + r.n
		}
		want := []byte{}
		if r.off < end {
			want = data[r.off:end]
		}
		if !bytes.Equal(got, want) {
			t.Errorf("[%d,+%d): got %d bytes, want %d", r.off, r.n, len(got), len(want))
		}
	}
	// Closing early stops the transfer without leaking its goroutine.
	rc, err := b.Open(t.Context(), "big", 10, -1)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	if _, err := io.ReadFull(rc, buf); err != nil || !bytes.Equal(buf, data[10:110]) {
		t.Fatalf("partial read: %v", err)
	}
	rc.Close()
}

// TestHardDelete removes permanently instead of to the rubbish bin.
func TestHardDelete(t *testing.T) {
	ts := megaservertest.Start(t)
	o := newOpener(t, ts)
	o.cfg[optHardDelete] = "true"
	b := o.mustOpen("hd")
	put(t, b, "a/f", randomData(100))
	put(t, b, "a/f", randomData(50))
	if err := b.Remove(t.Context(), "a/f"); err != nil {
		t.Fatal(err)
	}
	if err := b.Purge(t.Context(), "a"); err != nil {
		t.Fatal(err)
	}
	u, err := b.About(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if u.Trashed != 0 || len(b.c.Children(b.c.Rubbish())) != 0 {
		t.Errorf("rubbish bin not empty with hard_delete: %d bytes", u.Trashed)
	}
}

// TestKinds checks the errors for paths of the wrong kind.
func TestKinds(t *testing.T) {
	ts := megaservertest.Start(t)
	b := newOpener(t, ts).mustOpen("kinds")
	put(t, b, "file", []byte("x"))
	if err := b.Mkdir(t.Context(), "dir/sub"); err != nil {
		t.Fatal(err)
	}
	if err := b.Mkdir(t.Context(), "dir/sub"); err != nil {
		t.Fatalf("Mkdir is not idempotent: %v", err)
	}
	var pe *backend.PathError
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"mkdir over file", b.Mkdir(t.Context(), "file"), fs.ErrExist},
		{"mkdir under file", b.Mkdir(t.Context(), "file/x"), fs.ErrExist},
		{"put over dir", putErr(t, b, "dir"), fs.ErrExist},
		{"remove dir", b.Remove(t.Context(), "dir"), backend.ErrIsDir},
		{"rmdir file", b.Rmdir(t.Context(), "file"), backend.ErrNotDir},
		{"rmdir non-empty", b.Rmdir(t.Context(), "dir"), backend.ErrNotEmpty},
		{"remove missing", b.Remove(t.Context(), "nope"), fs.ErrNotExist},
		{"list file", listErr(t, b, "file"), backend.ErrNotDir},
		{"list missing", listErr(t, b, "nope"), fs.ErrNotExist},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
		if !errors.As(tc.err, &pe) {
			t.Errorf("%s: %T is not a *backend.PathError", tc.name, tc.err)
		}
	}
	// Move replaces a file and renames across folders.
	put(t, b, "dir/target", []byte("old"))
	e, err := b.Move(t.Context(), "file", "dir/target")
	if err != nil || e.Path != "dir/target" {
		t.Fatalf("Move = %+v, %v", e, err)
	}
	if got := readAll(t, b, "dir/target", 0, -1); string(got) != "x" {
		t.Errorf("after Move: %q", got)
	}
	if es, _ := b.List(t.Context(), "dir"); len(es) != 2 {
		t.Errorf("List(dir) = %+v, want sub and target", es)
	}
	if _, err := b.Move(t.Context(), "dir/target", "dir/sub"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Move onto a folder: %v", err)
	}
	mt := time.Unix(1600000000, 0)
	if err := b.SetModTime(t.Context(), "dir/target", mt); err != nil {
		t.Fatal(err)
	}
	if st, err := b.Stat(t.Context(), "dir/target"); err != nil || !st.ModTime.Equal(mt) || st.Fingerprint == "" {
		t.Errorf("after SetModTime: %+v, %v", st, err)
	}
}

func putErr(t *testing.T, b backend.Backend, p string) error {
	_, err := b.Put(t.Context(), p, strings.NewReader("y"), 1, time.Now())
	return err
}

func listErr(t *testing.T, b backend.Backend, p string) error {
	_, err := b.List(t.Context(), p)
	return err
}
