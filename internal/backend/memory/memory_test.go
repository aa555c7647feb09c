package memory

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/backendtest"
)

func TestConformance(t *testing.T) {
	backendtest.Run(t, backendtest.Config{
		NewTB: func(testing.TB) backend.Backend { return New() },
	})
}

// TestConformanceDuplicates runs the suite on the duplicate-names mode at
// MEGA's precision, Duplicates and OpenEntry included.
func TestConformanceDuplicates(t *testing.T) {
	backendtest.Run(t, backendtest.Config{
		NewTB:         func(testing.TB) backend.Backend { return NewDuplicates(Options{Precision: time.Second}) },
		MakeDuplicate: makeDuplicate,
	})
}

// makeDuplicate stores another file at p, one byte longer than the
// newest one there.
func makeDuplicate(t *testing.T, be backend.Backend, p string) {
	t.Helper()
	b := be.(*DupBackend)
	old, err := b.Stat(t.Context(), p)
	if err != nil {
		t.Fatalf("MakeDuplicate: %v", err)
	}
	data := bytes.Repeat([]byte("d"), int(old.Size)+1)
	if _, err := b.PutDuplicate(t.Context(), p, bytes.NewReader(data), int64(len(data)), time.Now()); err != nil {
		t.Fatalf("MakeDuplicate: %v", err)
	}
}

func BenchmarkConformance(b *testing.B) {
	backendtest.Bench(b, backendtest.Config{
		NewTB: func(testing.TB) backend.Backend { return New() },
	})
}

// TestTypeNew checks the registry constructor: a rooted backend passes the
// suite, and named stores are shared while unnamed ones are private.
func TestTypeNew(t *testing.T) {
	backendtest.Run(t, backendtest.Config{
		New: func(t *testing.T) backend.Backend {
			ctx, cancel := context.WithCancel(t.Context())
			b, err := Type.New(ctx, "mem", backend.ConfigMap{"store": t.Name()}, "some/root", backend.Env{})
			if err != nil {
				t.Fatal(err)
			}
			cancel() // the backend must not keep New's ctx
			if err := b.Mkdir(t.Context(), ""); err != nil {
				t.Fatal(err)
			}
			return b
		},
		Quick: true,
	})
}

// TestModes checks what tells the modes apart: only DupBackend claims
// backend.DuplicateNamer and gives IDs, and Options set the name and the
// precision.
func TestModes(t *testing.T) {
	ctx := t.Context()
	mt := time.Date(2024, 5, 17, 12, 34, 56, 789, time.UTC)
	for _, tc := range []struct {
		b        backend.Backend
		dups     bool
		name     string
		prec     time.Duration
		wantTime time.Time
	}{
		{New(), false, "memory:", time.Nanosecond, mt},
		{NewWithOptions(Options{Name: "local", Precision: time.Millisecond}), false, "local:", time.Millisecond, mt.Truncate(time.Millisecond)},
		{NewDuplicates(Options{}), true, "memory:", time.Nanosecond, mt},
		{NewDuplicates(Options{Name: "mega", Precision: time.Second}), true, "mega:", time.Second, mt.Truncate(time.Second)},
	} {
		t.Run(tc.name+tc.prec.String(), func(t *testing.T) {
			if _, ok := tc.b.(backend.DuplicateNamer); ok != tc.dups {
				t.Errorf("DuplicateNamer: %v, want %v", ok, tc.dups)
			}
			if got := tc.b.String(); got != tc.name {
				t.Errorf("String() = %q, want %q", got, tc.name)
			}
			if got := backend.Precision(tc.b); got != tc.prec {
				t.Errorf("Precision = %v, want %v", got, tc.prec)
			}
			e, err := tc.b.Put(ctx, "d/f", strings.NewReader("x"), 1, mt)
			if err != nil {
				t.Fatal(err)
			}
			es, err := tc.b.List(ctx, "d")
			if err != nil {
				t.Fatal(err)
			}
			st, err := tc.b.Stat(ctx, "d/f")
			if err != nil {
				t.Fatal(err)
			}
			for _, got := range []backend.Entry{e, es[0], st} {
				if (got.ID != "") != tc.dups {
					t.Errorf("entry %+v: ID %q with duplicates %v", got, got.ID, tc.dups)
				}
				if !got.ModTime.Equal(tc.wantTime) {
					t.Errorf("ModTime %v, want %v", got.ModTime, tc.wantTime)
				}
			}
		})
	}
}

// TestDuplicateSemantics checks the MEGA behaviours the suite does not:
// path methods address the newest object, Put replaces every file of its
// name but keeps directories, same-named directories are merged, and a
// move keeps an object's age.
func TestDuplicateSemantics(t *testing.T) {
	ctx := t.Context()
	b := NewDuplicates(Options{Precision: time.Second})
	t0 := time.Date(2024, 5, 17, 12, 0, 0, 0, time.UTC)
	dup := func(p, data string, mt time.Time) backend.Entry {
		t.Helper()
		e, err := b.PutDuplicate(ctx, p, strings.NewReader(data), int64(len(data)), mt)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	read := func(p string) string {
		t.Helper()
		rc, err := b.Open(ctx, p, 0, -1)
		if err != nil {
			t.Fatalf("Open(%q): %v", p, err)
		}
		defer rc.Close()
		data, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	list := func(dir string) []string {
		t.Helper()
		es, err := b.List(ctx, dir)
		if err != nil {
			t.Fatalf("List(%q): %v", dir, err)
		}
		backend.SortEntries(es)
		var out []string
		for _, e := range es {
			s := e.Path
			if e.IsDir {
				s += "/"
			} else {
				s += "=" + readEntry(t, b, e)
			}
			out = append(out, s)
		}
		return out
	}
	wantList := func(dir string, want ...string) {
		t.Helper()
		if got := list(dir); !slices.Equal(got, want) {
			t.Errorf("List(%q) = %q, want %q", dir, got, want)
		}
	}

	// The newest by creation, not by mtime, and listed oldest first.
	dup("f", "old", t0.Add(time.Hour))
	dup("f", "new", t0)
	wantList("", "f=old", "f=new")
	if got := read("f"); got != "new" {
		t.Errorf("Open(f) = %q, want the newest, %q", got, "new")
	}
	if e, err := b.Stat(ctx, "f"); err != nil || e.Size != 3 || !e.ModTime.Equal(t0) {
		t.Errorf("Stat(f) = %+v, %v; want the newest", e, err)
	}
	if err := b.Remove(ctx, "f"); err != nil {
		t.Fatal(err)
	}
	wantList("", "f=old")

	// Put replaces every file of the name, and keeps a directory.
	dup("f", "two", t0)
	if _, err := b.MkdirDuplicate(ctx, "f"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(ctx, "f", strings.NewReader("put"), 3, t0); err != nil {
		t.Fatal(err)
	}
	wantList("", "f/", "f=put")
	if got := read("f"); got != "put" {
		t.Errorf("Open(f) = %q, want %q", got, "put")
	}

	// Same-named directories: listed merged; the newest gets new files,
	// Rmdir takes the newest, Purge all of them.
	put := func(p, data string) {
		t.Helper()
		if _, err := b.Put(ctx, p, strings.NewReader(data), int64(len(data)), t0); err != nil {
			t.Fatal(err)
		}
	}
	put("d/a", "a")
	if _, err := b.MkdirDuplicate(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	put("d/b", "b")
	if _, err := b.Put(ctx, "d/a/below", strings.NewReader("x"), 1, t0); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Put below the file d/a: %v, want fs.ErrExist", err)
	}
	wantList("d", "d/a=a", "d/b=b")
	wantList("", "d/", "d/", "f/", "f=put")
	if err := b.Rmdir(ctx, "d"); !errors.Is(err, backend.ErrNotEmpty) {
		t.Errorf("Rmdir(d) with d/b in the newest d: %v, want ErrNotEmpty", err)
	}
	if err := b.Remove(ctx, "d/b"); err != nil {
		t.Fatal(err)
	}
	if err := b.Rmdir(ctx, "d"); err != nil {
		t.Fatalf("Rmdir of the newest, empty d: %v", err)
	}
	wantList("", "d/", "f/", "f=put")
	wantList("d", "d/a=a")
	if _, err := b.MkdirDuplicate(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	if err := b.Purge(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stat(ctx, "d"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(d) after Purge: %v, want fs.ErrNotExist", err)
	}

	// A rename keeps an object's age, and an entry is gone from its old
	// path.
	old := dup("r/x", "older", t0)
	dup("r/y", "newer", t0)
	renamed, err := b.RenameEntry(ctx, old, "y")
	if err != nil {
		t.Fatal(err)
	}
	wantList("r", "r/y=older", "r/y=newer")
	if got := read("r/y"); got != "newer" {
		t.Errorf("Open(r/y) = %q, want the newer object", got)
	}
	if _, err := backend.OpenEntry(ctx, b, old, 0, -1); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenEntry at the old path: %v, want fs.ErrNotExist", err)
	}
	if got := readEntry(t, b, renamed); got != "older" {
		t.Errorf("OpenEntry(renamed) = %q", got)
	}
	if _, err := b.RenameEntry(ctx, renamed, "a/b"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("RenameEntry to a/b: %v, want fs.ErrInvalid", err)
	}
}

// readEntry returns the content of the object e names.
func readEntry(t *testing.T, b backend.Backend, e backend.Entry) string {
	t.Helper()
	rc, err := backend.OpenEntry(t.Context(), b, e, 0, -1)
	if err != nil {
		t.Fatalf("OpenEntry(%s %s): %v", e.Path, e.ID, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
