package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"ferry/mega"
	"ferry/megaserver/megaservertest"
)

// rawTree lists every node below the Cloud Drive folder dir as the MEGA
// names from dir down, each quoted, joined by " > ", as a fresh client
// sees them.
func rawTree(t *testing.T, srv *megaservertest.TestServer, dir string) []string {
	t.Helper()
	c := otherClient(t, srv)
	ns, err := c.LookupNames(dir)
	if err != nil || len(ns) != 1 {
		t.Fatalf("raw lookup of %q: %v, %v", dir, ns, err)
	}
	var out []string
	var walk func(n *mega.Node, prefix string)
	walk = func(n *mega.Node, prefix string) {
		for _, k := range c.Children(n) {
			p := prefix + strconv.Quote(k.Name)
			out = append(out, p)
			if k.IsDir() {
				walk(k, p+" > ")
			}
		}
	}
	walk(ns[0], "")
	slices.Sort(out)
	return out
}

// TestSyncInvalidUTF8Names syncs local names that are not UTF-8 to MEGA:
// they are stored in rclone's ‛XX form without colliding, a second sync
// transfers nothing and changes no node, and a copy back gives the
// original bytes.
func TestSyncInvalidUTF8Names(t *testing.T) {
	srv, remote := megaCLI(t)
	src, back := t.TempDir(), filepath.Join(t.TempDir(), "back")
	files := map[string]string{"c\xff.txt": "ff", "c\xfe.txt": "fe", "d\xfe/f\xff.bin": "nested", "ok.txt": "ok"}
	writeFiles(t, src, files)
	run := func(args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, t.Context(), "", append(args, remote...)...)
	}
	want := []string{`"c‛FE.txt"`, `"c‛FF.txt"`, `"d‛FE"`, `"d‛FE" > "f‛FF.bin"`, `"ok.txt"`}
	if code, _, errOut := run("sync", "-v", src, ":mega:dir"); code != 0 || !strings.Contains(errOut, "Transferred:  4 / 4, 100%") {
		t.Fatalf("first sync: exit %d\n%s", code, errOut)
	}
	if got := rawTree(t, srv, "dir"); !slices.Equal(got, want) {
		t.Fatalf("MEGA nodes after the first sync:\n got %s\nwant %s", got, want)
	}
	code, _, errOut := run("sync", "-v", src, ":mega:dir")
	if code != 0 || !strings.Contains(errOut, "Transferred:  0 / 0, -") || strings.Contains(errOut, "Deleted") {
		t.Errorf("second sync: exit %d\n%s", code, errOut)
	}
	if got := rawTree(t, srv, "dir"); !slices.Equal(got, want) {
		t.Errorf("MEGA nodes after the second sync:\n got %s\nwant %s", got, want)
	}
	if code, _, errOut := run("copy", ":mega:dir", back); code != 0 {
		t.Fatalf("copy back: exit %d\n%s", code, errOut)
	}
	sameFiles(t, "copied back", readFiles(t, back), files)
}

// TestNamesFromOtherClients reads nodes another client named "a/b.txt",
// ".", ".." and "x/y": lsf, size and copy show and copy them as "a／b.txt",
// "．", "．．" and "x／y" and nothing escapes the destination; copying
// back recreates the original MEGA names; rmdir of a folder holding only
// such a node says it is not empty, and lsf shows what it holds.
func TestNamesFromOtherClients(t *testing.T) {
	srv, remote := megaCLI(t)
	ctx := t.Context()
	c := otherClient(t, srv)
	mkdir := func(parent *mega.Node, name string) *mega.Node {
		t.Helper()
		d, err := c.Mkdir(ctx, parent, name)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	upload := func(parent *mega.Node, name, data string) {
		t.Helper()
		if _, err := c.Upload(ctx, parent, name, bytes.NewReader([]byte(data)), int64(len(data)), xferTime); err != nil {
			t.Fatal(err)
		}
	}
	dir := mkdir(c.Root(), "dir")
	upload(dir, "a/b.txt", "ab")
	upload(dir, ".", "dot")
	upload(dir, "..", "dotdot")
	upload(mkdir(dir, "x/y"), "in.txt", "in")
	upload(mkdir(dir, "solo"), "..", "solo")
	original := rawTree(t, srv, "dir")

	run := func(args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, ctx, "", append(args, remote...)...)
	}
	lines := func(s string) []string {
		out := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
		slices.Sort(out)
		return out
	}
	code, out, errOut := run("lsf", "-R", ":mega:dir")
	if want := []string{"a／b.txt", "solo/", "solo/．．", "x／y/", "x／y/in.txt", "．", "．．"}; code != 0 || !slices.Equal(lines(out), want) {
		t.Errorf("lsf -R: exit %d, %q, want %q\n%s", code, lines(out), want, errOut)
	}
	if code, out, errOut := run("lsf", ":mega:dir/x／y"); code != 0 || out != "in.txt\n" {
		t.Errorf("lsf of x／y: exit %d, %q\n%s", code, out, errOut)
	}
	if code, out, errOut := run("size", ":mega:dir"); code != 0 || !strings.Contains(out, "Total objects: 5\n") || !strings.Contains(out, "(17 Byte)") {
		t.Errorf("size: exit %d\n%s%s", code, out, errOut)
	}

	parent := t.TempDir()
	dst := filepath.Join(parent, "out")
	if code, _, errOut := run("copy", ":mega:dir", dst); code != 0 {
		t.Fatalf("copy: exit %d\n%s", code, errOut)
	}
	sameFiles(t, "copied", readFiles(t, dst), map[string]string{
		"a／b.txt": "ab", "．": "dot", "．．": "dotdot", "x／y/in.txt": "in", "solo/．．": "solo"})
	if des, err := os.ReadDir(parent); err != nil || len(des) != 1 || des[0].Name() != "out" {
		t.Errorf("the destination's parent holds %v (%v), want only out", des, err)
	}

	if code, _, errOut := run("copy", dst, ":mega:dir2"); code != 0 {
		t.Fatalf("copy back: exit %d\n%s", code, errOut)
	}
	if got := rawTree(t, srv, "dir2"); !slices.Equal(got, original) {
		t.Errorf("MEGA nodes copied back:\n got %s\nwant %s", got, original)
	}

	code, _, errOut = run("rmdir", ":mega:dir/solo")
	if code == 0 || !strings.Contains(errOut, "directory not empty") {
		t.Errorf("rmdir of a folder holding \"..\": exit %d\n%s", code, errOut)
	}
	if code, out, errOut := run("lsf", ":mega:dir/solo"); code != 0 || out != "．．\n" {
		t.Errorf("lsf of the folder rmdir refused: exit %d, %q\n%s", code, out, errOut)
	}
}
