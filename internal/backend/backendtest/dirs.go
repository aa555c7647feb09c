package backendtest

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"testing"
	"time"

	"ferry/internal/backend"
)

// testNotExist checks that List, Stat, Open, Remove and Rmdir of missing
// paths (at the root, below a missing directory, in an existing directory
// and below a file) give fs.ErrNotExist.
func testNotExist(t *testing.T, b backend.Backend, _ *Config) {
	ctx := t.Context()
	put(t, b, "present/file", []byte("x"), mtime1)
	for _, p := range []string{"missing", "missing/deeper", "present/missing", "present/file/below"} {
		_, err := b.List(ctx, p)
		wantErrIs(t, err, fs.ErrNotExist, "List(%q)", p)
		_, err = b.Stat(ctx, p)
		wantErrIs(t, err, fs.ErrNotExist, "Stat(%q)", p)
		rc, err := b.Open(ctx, p, 0, -1)
		if err == nil {
			rc.Close()
		}
		wantErrIs(t, err, fs.ErrNotExist, "Open(%q)", p)
		wantErrIs(t, b.Remove(ctx, p), fs.ErrNotExist, "Remove(%q)", p)
		wantErrIs(t, b.Rmdir(ctx, p), fs.ErrNotExist, "Rmdir(%q)", p)
	}
	wantFile(t, b, "present/file", []byte("x"))
}

// testMkdirIdempotent creates nested directories twice, and checks that a
// file in the way is fs.ErrExist.
func testMkdirIdempotent(t *testing.T, b backend.Backend, _ *Config) {
	ctx := t.Context()
	mkdir(t, b, "d/e/f")
	for _, p := range []string{"d", "d/e", "d/e/f"} {
		wantDir(t, b, p)
	}
	for _, p := range []string{"d/e/f", "d/e", "d", ""} {
		if err := b.Mkdir(ctx, p); err != nil {
			t.Errorf("Mkdir(%q) of an existing directory: %v, want nil", p, err)
		}
	}
	if got := paths(list(t, b, "d")); !slices.Equal(got, []string{"d/e/"}) {
		t.Errorf("List(d) after repeated Mkdir = %v, want [d/e/]", got)
	}
	if got := paths(list(t, b, "")); !slices.Equal(got, []string{"d/"}) {
		t.Errorf("List(\"\") after repeated Mkdir = %v, want [d/]", got)
	}
	if es := list(t, b, "d/e/f"); len(es) != 0 {
		t.Errorf("List(d/e/f) = %v, want empty", paths(es))
	}

	put(t, b, "d/file", []byte("data"), mtime1)
	for _, p := range []string{"d/file", "d/file/sub"} {
		wantErrIs(t, b.Mkdir(ctx, p), fs.ErrExist, "Mkdir(%q) with a file in the way", p)
	}
	wantFile(t, b, "d/file", []byte("data"))
}

// testRmdirNonEmptyFails checks that Rmdir refuses non-empty directories
// (backend.ErrNotEmpty) and files (backend.ErrNotDir), and removes empty
// ones.
func testRmdirNonEmptyFails(t *testing.T, b backend.Backend, _ *Config) {
	ctx := t.Context()
	put(t, b, "full/file", []byte("x"), mtime1)
	mkdir(t, b, "nested/sub")
	wantErrIs(t, b.Rmdir(ctx, "full"), backend.ErrNotEmpty, "Rmdir of a directory holding a file")
	wantErrIs(t, b.Rmdir(ctx, "nested"), backend.ErrNotEmpty, "Rmdir of a directory holding a directory")
	wantErrIs(t, b.Rmdir(ctx, "full/file"), backend.ErrNotDir, "Rmdir of a file")
	wantFile(t, b, "full/file", []byte("x"))
	wantDir(t, b, "nested/sub")

	for _, p := range []string{"nested/sub", "nested"} {
		if err := b.Rmdir(ctx, p); err != nil {
			t.Fatalf("Rmdir(%q) of an empty directory: %v", p, err)
		}
		wantNotExist(t, b, p)
	}
	if got := paths(list(t, b, "")); !slices.Equal(got, []string{"full/"}) {
		t.Errorf("List(\"\") = %v, want [full/]", got)
	}
}

// testRemoveDirFails checks that Remove refuses directories, empty or not
// (backend.ErrIsDir), and that removing a directory's last file leaves the
// directory.
func testRemoveDirFails(t *testing.T, b backend.Backend, _ *Config) {
	ctx := t.Context()
	mkdir(t, b, "empty")
	put(t, b, "full/file", []byte("x"), mtime1)
	for _, p := range []string{"empty", "full"} {
		wantErrIs(t, b.Remove(ctx, p), backend.ErrIsDir, "Remove(%q) of a directory", p)
		wantDir(t, b, p)
	}
	wantFile(t, b, "full/file", []byte("x"))
	if err := b.Remove(ctx, "full/file"); err != nil {
		t.Fatalf("Remove of a file: %v", err)
	}
	wantNotExist(t, b, "full/file")
	wantDir(t, b, "full")
}

// testKindConflicts checks operations that meet an object of the other
// kind: Put over a directory or below a file is fs.ErrExist, List of a
// file is backend.ErrNotDir, Open of a directory is backend.ErrIsDir, and
// nothing changes.
func testKindConflicts(t *testing.T, b backend.Backend, _ *Config) {
	ctx := t.Context()
	put(t, b, "dir/file", []byte("x"), mtime1)

	_, err := b.Put(ctx, "dir", newReader([]byte("y")), 1, mtime1)
	wantErrIs(t, err, fs.ErrExist, "Put over a directory")
	_, err = b.Put(ctx, "dir/file/child", newReader([]byte("y")), 1, mtime1)
	wantErrIs(t, err, fs.ErrExist, "Put below a file")
	_, err = b.Put(ctx, "dir/file/a/b", newReader([]byte("y")), 1, mtime1)
	wantErrIs(t, err, fs.ErrExist, "Put two levels below a file")

	_, err = b.List(ctx, "dir/file")
	wantErrIs(t, err, backend.ErrNotDir, "List of a file")
	rc, err := b.Open(ctx, "dir", 0, -1)
	if err == nil {
		rc.Close()
	}
	wantErrIs(t, err, backend.ErrIsDir, "Open of a directory")

	wantDir(t, b, "dir")
	wantFile(t, b, "dir/file", []byte("x"))
	if got := paths(list(t, b, "dir")); !slices.Equal(got, []string{"dir/file"}) {
		t.Errorf("List(dir) = %v, want [dir/file]", got)
	}
}

// testListContents checks that List returns exactly the children of a
// directory with the right kinds, sizes and mtimes, at the root and below.
func testListContents(t *testing.T, b backend.Backend, _ *Config) {
	ctx := t.Context()
	if es, err := b.List(ctx, ""); err == nil && len(es) != 0 {
		t.Fatalf("List(\"\") of a fresh backend = %v, want empty: Config.New must root each backend in a fresh empty directory", paths(es))
	}
	root := stat(t, b, "")
	if !root.IsDir || root.Path != "" {
		t.Errorf("Stat(\"\") = %+v, want a directory with Path \"\"", root)
	}

	files := map[string][]byte{
		"a.txt":           content(4, 10),
		"b.bin":           nil,
		"sub/c.txt":       content(5, 1234),
		"sub/deeper/d":    content(6, 99),
		"sub/deeper/e.gz": content(7, 3),
	}
	mts := map[string]time.Time{}
	i := 0
	for p, data := range files {
		mts[p] = mtime1.Add(time.Duration(i) * 37 * time.Second)
		put(t, b, p, data, mts[p])
		i++
	}
	mkdir(t, b, "empty")
	mkdir(t, b, "sub/empty2")

	want := map[string][]string{
		"":           {"a.txt", "b.bin", "empty/", "sub/"},
		"sub":        {"sub/c.txt", "sub/deeper/", "sub/empty2/"},
		"sub/deeper": {"sub/deeper/d", "sub/deeper/e.gz"},
		"empty":      {},
		"sub/empty2": {},
	}
	for dir, wantPaths := range want {
		es := list(t, b, dir)
		if got := paths(es); !slices.Equal(got, wantPaths) {
			t.Errorf("List(%q) = %v, want %v", dir, got, wantPaths)
			continue
		}
		for _, e := range es {
			if e.IsDir {
				wantEntry(t, b, fmt.Sprintf("List(%q) entry", dir), e, e.Path, true, 0, time.Time{})
				continue
			}
			wantEntry(t, b, fmt.Sprintf("List(%q) entry", dir), e, e.Path, false, int64(len(files[e.Path])), mts[e.Path])
		}
	}
}

// listOnly hides a backend's optional interfaces, so backend.Walk falls
// back to one List per directory.
type listOnly struct{ backend.Backend }

// testWalk checks backend.Walk (the backend's own Walker, if it has one)
// against the generic walk built on List: order, depth limit, SkipDir,
// and the errors for a file and a missing directory.
func testWalk(t *testing.T, b backend.Backend, _ *Config) {
	ctx := t.Context()
	for _, p := range []string{"a", "b/c", "b/d/e", "b/d/f", "b/g", "h i/j"} {
		put(t, b, p, content(8, 3), mtime1)
	}
	mkdir(t, b, "b/empty")
	walk := func(b backend.Backend, dir string, depth int, skip string) ([]string, error) {
		var got []string
		err := backend.Walk(ctx, b, dir, depth, func(e backend.Entry) error {
			got = append(got, paths([]backend.Entry{e})...)
			if e.Path == skip {
				return backend.SkipDir
			}
			return nil
		})
		return got, err
	}
	for _, c := range []struct {
		dir   string
		depth int
		skip  string
		want  []string
	}{
		{"", 0, "", []string{"a", "b/", "b/c", "b/d/", "b/d/e", "b/d/f", "b/empty/", "b/g", "h i/", "h i/j"}},
		{"", 1, "", []string{"a", "b/", "h i/"}},
		{"b", 2, "", []string{"b/c", "b/d/", "b/d/e", "b/d/f", "b/empty/", "b/g"}},
		{"", 0, "b/d", []string{"a", "b/", "b/c", "b/d/", "b/empty/", "b/g", "h i/", "h i/j"}},
	} {
		got, err := walk(b, c.dir, c.depth, c.skip)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("Walk(%q, depth %d, skip %q) = %q, %v; want %q", c.dir, c.depth, c.skip, got, err, c.want)
		}
		generic, err := walk(listOnly{b}, c.dir, c.depth, c.skip)
		if err != nil || !slices.Equal(got, generic) {
			t.Errorf("Walk(%q, depth %d, skip %q) = %q; the List-based walk gives %q, %v", c.dir, c.depth, c.skip, got, generic, err)
		}
	}
	_, err := walk(b, "a", 0, "")
	wantErrIs(t, err, backend.ErrNotDir, "Walk of a file")
	_, err = walk(b, "missing", 0, "")
	wantErrIs(t, err, fs.ErrNotExist, "Walk of a missing directory")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err = backend.Walk(cctx, b, "", 0, func(backend.Entry) error { return nil })
	wantErrIs(t, err, context.Canceled, "Walk with a cancelled context")
}
