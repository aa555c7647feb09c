package mega

import (
	"errors"
	"io/fs"
	"slices"
	"testing"

	"ferry/megaserver/megaservertest"
)

// TestLookupNames reaches nodes whose names hold "/" or are "." and "..",
// which a path string cannot name, and PathNames gives their names back.
func TestLookupNames(t *testing.T) {
	ts := megaservertest.Start(t)
	c := newLoggedIn(t, ts)
	ctx := t.Context()
	top, err := c.Mkdir(ctx, c.Root(), "top")
	if err != nil {
		t.Fatal(err)
	}
	xy, err := c.Mkdir(ctx, top, "x/y")
	if err != nil {
		t.Fatal(err)
	}
	f := upload(t, c, xy, "a/b.txt", []byte("ab"))
	dot := upload(t, c, top, ".", []byte("dot"))
	dotdot := upload(t, c, top, "..", []byte("dotdot"))

	for _, tc := range []struct {
		names []string
		want  *Node
	}{
		{[]string{"top", "x/y", "a/b.txt"}, f},
		{[]string{"top", "x/y"}, xy},
		{[]string{"top", "."}, dot},
		{[]string{"top", ".."}, dotdot},
		{nil, c.Root()},
	} {
		ns, err := c.LookupNames(tc.names...)
		if err != nil || len(ns) != 1 || ns[0].Handle != tc.want.Handle {
			t.Errorf("LookupNames(%q) = %v, %v; want %s", tc.names, ns, err, tc.want.Handle)
			continue
		}
		if got, ok := c.PathNames(ns[0]); !ok || !slices.Equal(got, tc.names) {
			t.Errorf("PathNames(%s) = %q, %v; want %q", ns[0].Handle, got, ok, tc.names)
		}
	}
	// Through a path string "x/y/a/b.txt" is four names, and "." is skipped.
	if _, err := c.Lookup("top/x/y/a/b.txt"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Lookup(top/x/y/a/b.txt) = %v, want fs.ErrNotExist", err)
	}
	if _, err := c.LookupNames("top", "x"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LookupNames(top, x) = %v, want fs.ErrNotExist", err)
	}
	if err := c.Trash(ctx, dot); err != nil {
		t.Fatal(err)
	}
	if got, ok := c.PathNames(c.Node(dot.Handle)); ok {
		t.Errorf("PathNames of a trashed node = %q, true; want false", got)
	}
}
