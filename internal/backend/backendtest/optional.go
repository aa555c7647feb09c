package backendtest

import (
	"fmt"
	"io/fs"
	"slices"
	"testing"
	"time"

	"ferry/internal/backend"
)

// as returns b as the optional interface T or skips the test.
func as[T any](t *testing.T, b backend.Backend, what string) T {
	t.Helper()
	v, ok := b.(T)
	if !ok {
		t.Skipf("%s does not implement backend.%s", b, what)
	}
	return v
}

// testDuplicates checks that a backend allowing several objects with one
// name lists each with its own ID, and that RemoveEntry and RenameEntry
// address exactly one of them.
func testDuplicates(t *testing.T, b backend.Backend, cfg *Config) {
	dn := as[backend.DuplicateNamer](t, b, "DuplicateNamer")
	if cfg.MakeDuplicate == nil {
		t.Skip("Config.MakeDuplicate is not set: the suite cannot create duplicates on this backend")
	}
	ctx := t.Context()
	const p = "dups/name.txt"
	dups := func(want int) []backend.Entry {
		t.Helper()
		var ds []backend.Entry
		for _, e := range list(t, b, "dups") {
			if e.Path == p {
				ds = append(ds, e)
			}
		}
		if len(ds) != want {
			t.Fatalf("List(dups) has %d entries %q, want %d", len(ds), p, want)
		}
		for i, e := range ds {
			if e.ID == "" {
				t.Errorf("duplicate %d has an empty ID", i)
			}
			for _, o := range ds[:i] {
				if o.ID == e.ID {
					t.Errorf("duplicates share ID %q", e.ID)
				}
			}
		}
		return ds
	}

	put(t, b, p, content(20, 100), mtime1)
	cfg.MakeDuplicate(t, b, p)
	ds := dups(2)

	if err := dn.RemoveEntry(ctx, ds[0]); err != nil {
		t.Fatalf("RemoveEntry(%s): %v", ds[0].ID, err)
	}
	left := dups(1)
	if left[0].ID != ds[1].ID {
		t.Errorf("RemoveEntry(%s) left ID %s, want %s", ds[0].ID, left[0].ID, ds[1].ID)
	}
	wantErrIs(t, dn.RemoveEntry(ctx, ds[0]), fs.ErrNotExist, "RemoveEntry of a removed entry")

	cfg.MakeDuplicate(t, b, p)
	ds = dups(2)
	renamed, err := dn.RenameEntry(ctx, ds[1], "renamed.txt")
	if err != nil {
		t.Fatalf("RenameEntry(%s): %v", ds[1].ID, err)
	}
	wantEntry(t, b, "RenameEntry's entry", renamed, "dups/renamed.txt", false, ds[1].Size, ds[1].ModTime)
	left = dups(1)
	if left[0].ID != ds[0].ID {
		t.Errorf("after RenameEntry(%s) the remaining duplicate is %s, want %s", ds[1].ID, left[0].ID, ds[0].ID)
	}
	if got := paths(list(t, b, "dups")); !slices.Equal(got, []string{"dups/name.txt", "dups/renamed.txt"}) {
		t.Errorf("List(dups) = %q, want [dups/name.txt dups/renamed.txt]", got)
	}
	wantEntry(t, b, "Stat(renamed)", stat(t, b, "dups/renamed.txt"), "dups/renamed.txt", false, ds[1].Size, ds[1].ModTime)
}

// testMove renames files in place, moves them across folders (creating
// parents), moves a directory with its contents, and moves onto an
// existing file, which is replaced.
func testMove(t *testing.T, b backend.Backend, _ *Config) {
	m := as[backend.Mover](t, b, "Mover")
	ctx := t.Context()
	move := func(src, dst string, data []byte, mt time.Time) {
		t.Helper()
		e, err := m.Move(ctx, src, dst)
		if err != nil {
			t.Fatalf("Move(%q, %q): %v", src, dst, err)
		}
		wantEntry(t, b, fmt.Sprintf("Move(%q, %q)", src, dst), e, dst, data == nil, int64(len(data)), mt)
		wantNotExist(t, b, src)
		if data != nil {
			wantEntry(t, b, "Stat after Move", stat(t, b, dst), dst, false, int64(len(data)), mt)
			wantFile(t, b, dst, data)
		} else {
			wantDir(t, b, dst)
		}
	}

	a := content(30, 1000)
	put(t, b, "a.txt", a, mtime1)
	move("a.txt", "b.txt", a, mtime1)
	move("b.txt", "x/y/c.txt", a, mtime1)
	move("x/y/c.txt", "x/c.txt", a, mtime1)
	if got := paths(list(t, b, "x")); !slices.Equal(got, []string{"x/c.txt", "x/y/"}) {
		t.Errorf("List(x) = %q, want [x/c.txt x/y/]", got)
	}

	// A directory with contents.
	f1, f2 := content(31, 10), content(32, 20)
	put(t, b, "d/f1", f1, mtime1)
	put(t, b, "d/s/f2", f2, mtime2)
	mkdir(t, b, "d/empty")
	move("d", "e/d2", nil, time.Time{})
	if got := paths(list(t, b, "e/d2")); !slices.Equal(got, []string{"e/d2/empty/", "e/d2/f1", "e/d2/s/"}) {
		t.Errorf("List(e/d2) = %q, want [e/d2/empty/ e/d2/f1 e/d2/s/]", got)
	}
	wantFile(t, b, "e/d2/f1", f1)
	wantFile(t, b, "e/d2/s/f2", f2)
	wantNotExist(t, b, "d/f1")

	// Onto an existing file.
	t1, t2 := content(33, 100), content(34, 300)
	put(t, b, "t1", t1, mtime1)
	put(t, b, "t2", t2, mtime2)
	move("t1", "t2", t1, mtime1)
	if got := paths(list(t, b, "")); !slices.Equal(got, []string{"e/", "t2", "x/"}) {
		t.Errorf("List(\"\") after moving onto a file = %q, want [e/ t2 x/]", got)
	}

	_, err := m.Move(ctx, "missing", "elsewhere")
	wantErrIs(t, err, fs.ErrNotExist, "Move of a missing path")
	wantNotExist(t, b, "elsewhere")
}

// testPurge removes a directory tree and leaves its siblings.
func testPurge(t *testing.T, b backend.Backend, _ *Config) {
	pu := as[backend.Purger](t, b, "Purger")
	ctx := t.Context()
	put(t, b, "p/a", []byte("a"), mtime1)
	put(t, b, "p/s/b", []byte("b"), mtime1)
	mkdir(t, b, "p/empty")
	put(t, b, "keep/c", []byte("c"), mtime1)
	put(t, b, "p2", []byte("p2"), mtime1)
	if err := pu.Purge(ctx, "p"); err != nil {
		t.Fatalf("Purge(p): %v", err)
	}
	wantNotExist(t, b, "p")
	wantNotExist(t, b, "p/s/b")
	wantFile(t, b, "keep/c", []byte("c"))
	wantFile(t, b, "p2", []byte("p2"))
	if got := paths(list(t, b, "")); !slices.Equal(got, []string{"keep/", "p2"}) {
		t.Errorf("List(\"\") after Purge = %q, want [keep/ p2]", got)
	}
	wantErrIs(t, pu.Purge(ctx, "p"), fs.ErrNotExist, "Purge of a missing directory")
}

// testPublicLink links and unlinks a file.
func testPublicLink(t *testing.T, b backend.Backend, _ *Config) {
	pl := as[backend.PublicLinker](t, b, "PublicLinker")
	ctx := t.Context()
	put(t, b, "shared/file", []byte("public"), mtime1)
	link, err := pl.PublicLink(ctx, "shared/file", false)
	if err != nil {
		t.Fatalf("PublicLink: %v", err)
	}
	if link == "" {
		t.Errorf("PublicLink returned an empty link")
	}
	t.Logf("link: %s", link)
	if again, err := pl.PublicLink(ctx, "shared/file", false); err != nil || again == "" {
		t.Errorf("second PublicLink = %q, %v; want a link", again, err)
	}
	if _, err := pl.PublicLink(ctx, "shared/file", true); err != nil {
		t.Errorf("PublicLink(unlink): %v", err)
	}
	wantFile(t, b, "shared/file", []byte("public"))
	_, err = pl.PublicLink(ctx, "missing", false)
	wantErrIs(t, err, fs.ErrNotExist, "PublicLink of a missing path")
}

// testAbout checks that usage numbers are consistent.
func testAbout(t *testing.T, b backend.Backend, _ *Config) {
	ab := as[backend.Abouter](t, b, "Abouter")
	put(t, b, "f", content(40, 4096), mtime1)
	u, err := ab.About(t.Context())
	if err != nil {
		t.Fatalf("About: %v", err)
	}
	t.Logf("usage: %+v", u)
	if u.Total < 0 && u.Used < 0 && u.Free < 0 && u.Trashed < 0 {
		t.Errorf("About = %+v: every number unknown", u)
	}
	if u.Total >= 0 && u.Used > u.Total {
		t.Errorf("About = %+v: Used > Total", u)
	}
	if u.Total >= 0 && u.Free > u.Total {
		t.Errorf("About = %+v: Free > Total", u)
	}
	if u.Used == 0 {
		t.Errorf("About = %+v: Used is 0 with a 4 KiB file stored", u)
	}
}

// testCleanUp runs CleanUp and checks that stored files survive it.
func testCleanUp(t *testing.T, b backend.Backend, _ *Config) {
	cu := as[backend.CleanUpper](t, b, "CleanUpper")
	put(t, b, "keep", []byte("keep"), mtime1)
	put(t, b, "gone", []byte("gone"), mtime1)
	if err := b.Remove(t.Context(), "gone"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if err := cu.CleanUp(t.Context()); err != nil {
		t.Fatalf("CleanUp: %v", err)
	}
	wantFile(t, b, "keep", []byte("keep"))
	wantNotExist(t, b, "gone")
}

// testSetModTime changes a file's mtime and checks content is unchanged.
func testSetModTime(t *testing.T, b backend.Backend, _ *Config) {
	ms := as[backend.ModTimeSetter](t, b, "ModTimeSetter")
	ctx := t.Context()
	data := content(50, 5000)
	put(t, b, "dir/f", data, mtime1)
	for _, mt := range []time.Time{mtime2, mtime3} {
		if err := ms.SetModTime(ctx, "dir/f", mt); err != nil {
			t.Fatalf("SetModTime: %v", err)
		}
		wantEntry(t, b, "Stat after SetModTime", stat(t, b, "dir/f"), "dir/f", false, int64(len(data)), mt)
		es := list(t, b, "dir")
		if len(es) != 1 {
			t.Fatalf("List(dir) = %q, want [dir/f]", paths(es))
		}
		wantEntry(t, b, "List after SetModTime", es[0], "dir/f", false, int64(len(data)), mt)
	}
	wantFile(t, b, "dir/f", data)
	wantErrIs(t, ms.SetModTime(ctx, "missing", mtime1), fs.ErrNotExist, "SetModTime of a missing path")
}
