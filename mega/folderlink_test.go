package mega

import (
	"bytes"
	"errors"
	"testing"

	"ferry/megaserver/megaservertest"
)

// TestFolderLink: a folder link opens with no account (`n=` context): the
// subtree with its names, lookups relative to the folder, files read back
// MAC-verified; a file uploaded (and one moved) into the folder after it
// was linked opens too, since ferry sends `cr`. It needs the server's
// folder-link context.
func TestFolderLink(t *testing.T) {
	ts := megaservertest.Start(t)
	ctx := t.Context()
	owner := newLoggedIn(t, ts)
	dir, err := owner.Mkdir(ctx, owner.Root(), "shared")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := owner.Mkdir(ctx, dir, "sub")
	if err != nil {
		t.Fatal(err)
	}
	before := randomBytes(t, 200000)
	upload(t, owner, sub, "before.bin", before)
	outside := upload(t, owner, owner.Root(), "outside.bin", randomBytes(t, 10))
	url, err := owner.Link(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	after := randomBytes(t, 1234)
	upload(t, owner, dir, "after.bin", after)
	later, err := owner.Mkdir(ctx, dir, "later")
	if err != nil {
		t.Fatal(err)
	}
	moved := randomBytes(t, 99)
	mv := upload(t, owner, owner.Root(), "moved.bin", moved)
	if err := owner.Move(ctx, mv, later); err != nil {
		t.Fatal(err)
	}

	l, err := ParseLink(url)
	if err != nil {
		t.Fatal(err)
	}
	fl, err := OpenFolderLink(ctx, testOptions(t, ts), l)
	if err != nil {
		t.Fatalf("OpenFolderLink: %v", err)
	}
	if root := fl.Root(); root == nil || root.Handle != dir.Handle || root.Name != "shared" {
		t.Fatalf("Root = %v, want the linked folder", root)
	}
	var names []string
	for _, k := range fl.Children(fl.Root()) {
		names = append(names, k.Name)
	}
	if want := "[after.bin later sub]"; fmtList(names) != want {
		t.Errorf("children %v, want %s", names, want)
	}
	if fl.Node(outside.Handle) != nil {
		t.Errorf("a node outside the folder is in the link's tree")
	}
	for path, want := range map[string][]byte{"sub/before.bin": before, "after.bin": after, "later/moved.bin": moved} {
		ns, err := fl.Lookup(path)
		if err != nil {
			t.Errorf("Lookup(%q): %v", path, err)
			continue
		}
		if ns[0].Err != nil {
			t.Errorf("%s: %v", path, ns[0].Err)
			continue
		}
		var buf bytes.Buffer
		if err := fl.Download(ctx, ns[0], &buf); err != nil || !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("Download(%s): %v", path, err)
		}
		if names, ok := fl.PathNames(ns[0]); !ok || fmtList(names) != fmtList(splitPath(path)) {
			t.Errorf("PathNames(%s) = %v, %v", path, names, ok)
		}
	}

	t.Run("wrong key", func(t *testing.T) {
		bad := l
		bad.Key = bytes.Repeat([]byte{3}, 16)
		fl, err := OpenFolderLink(ctx, testOptions(t, ts), bad)
		if err == nil && fl.Root().Err == nil {
			t.Errorf("a folder link with another key decrypted its folder")
		}
	})
	t.Run("unlinked", func(t *testing.T) {
		if err := owner.Unlink(ctx, dir); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenFolderLink(ctx, testOptions(t, ts), l); !errors.Is(err, ErrLinkNotFound) {
			t.Errorf("OpenFolderLink after Unlink: %v, want ErrLinkNotFound", err)
		}
		again, err := owner.Link(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		if again == url {
			t.Errorf("a new link after unlink has the old key")
		}
	})
}

func fmtList(s []string) string {
	var b bytes.Buffer
	b.WriteString("[")
	for i, x := range s {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(x)
	}
	b.WriteString("]")
	return b.String()
}

func splitPath(p string) []string { return bytes2strings(bytes.Split([]byte(p), []byte("/"))) }

func bytes2strings(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}
