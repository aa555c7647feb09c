package mega

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
	"ferry/megaserver/megaservertest"
)

func mkdir(t *testing.T, c *Client, parent *Node, name string) *Node {
	t.Helper()
	n, err := c.Mkdir(t.Context(), parent, name)
	if err != nil {
		t.Fatalf("Mkdir(%q): %v", name, err)
	}
	return n
}

func names(ns []*Node) string {
	var s []string
	for _, n := range ns {
		s = append(s, n.Name)
	}
	return strings.Join(s, ",")
}

func TestTreeAndDuplicates(t *testing.T) {
	ts := megaservertest.Start(t)
	c := newLoggedIn(t, ts)
	a1 := mkdir(t, c, c.Root(), "a")
	a2 := mkdir(t, c, c.Root(), "a")
	mkdir(t, c, a1, "b")
	mkdir(t, c, a2, "b")
	upload(t, c, a1, "dup.txt", []byte("one"))
	upload(t, c, a1, "dup.txt", []byte("two"))
	mkdir(t, c, c.Root(), "zeta")

	// A second client sees the same tree after a full fetch.
	c2 := newLoggedIn(t, ts)
	for _, cl := range []*Client{c, c2} {
		as, err := cl.Lookup("a")
		if err != nil || len(as) != 2 {
			t.Fatalf("Lookup(a) = %v, %v; want both folders", names(as), err)
		}
		bs, err := cl.Lookup("/a/b/")
		if err != nil || len(bs) != 2 {
			t.Fatalf("Lookup(/a/b/) = %d nodes, %v; want 2", len(bs), err)
		}
		d, err := cl.Lookup("a/dup.txt")
		if err != nil || len(d) != 2 || d[0].Size != 3 {
			t.Fatalf("Lookup(a/dup.txt) = %d nodes, %v", len(d), err)
		}
		if _, err := cl.Lookup("a/missing"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Lookup(a/missing) = %v, want fs.ErrNotExist", err)
		}
		if r, err := cl.Lookup("/"); err != nil || len(r) != 1 || r[0].Type != RootNode {
			t.Fatalf("Lookup(/) = %v, %v", r, err)
		}
		if got := names(cl.Children(cl.Root())); got != "a,a,zeta" {
			t.Errorf("Children(root) = %s", got)
		}
		if got := cl.Path(d[0]); got != "/a/dup.txt" {
			t.Errorf("Path = %q", got)
		}
	}
	if c2.SN() == "" {
		t.Error("no SN")
	}
}

func TestLookupBeforeFetch(t *testing.T) {
	c := New(Options{})
	if _, err := c.Lookup("x"); !errors.Is(err, ErrNoTree) {
		t.Fatalf("Lookup = %v, want ErrNoTree", err)
	}
	if c.Root() != nil || c.Children(nil) != nil || c.Node("x") != nil {
		t.Fatal("accessors before FetchTree must return nil")
	}
}

func TestMutationsAndPackets(t *testing.T) {
	ts := megaservertest.Start(t)
	var changes atomic.Int32
	opts := testOptions(t, ts)
	c := newLoggedIn(t, ts)
	opts.OnChange = func() { changes.Add(1) }
	c2 := newLoggedInAs(t, ts, opts, megaservertest.UserV2, megaservertest.PasswordV2)
	ctx := t.Context()
	poll := func() {
		t.Helper()
		if _, err := c2.Poll(ctx); err != nil {
			t.Fatalf("Poll: %v", err)
		}
	}
	if changed, err := c2.Poll(ctx); err != nil || changed {
		t.Fatalf("first Poll = %v, %v; want nothing", changed, err)
	}

	// t: new folder, new file.
	dir := mkdir(t, c, c.Root(), "docs")
	sub := mkdir(t, c, dir, "sub")
	f := upload(t, c, sub, "note.txt", []byte("hello"))
	if c.Node(f.Handle) == nil {
		t.Fatal("own upload not in the local tree")
	}
	poll()
	if n := c2.Node(f.Handle); n == nil || n.Name != "note.txt" || c2.Path(n) != "/docs/sub/note.txt" {
		t.Fatalf("other client: %v at %q", n, c2.Path(n))
	}
	if changes.Load() == 0 {
		t.Error("OnChange not called")
	}

	// u: rename keeps the fingerprint and mtime; SetModTime keeps the CRC.
	if err := c.Rename(ctx, f, "renamed.txt"); err != nil {
		t.Fatal(err)
	}
	if n := c.Node(f.Handle); n.Name != "renamed.txt" || n.Fingerprint != f.Fingerprint {
		t.Fatalf("local after rename: %+v", n)
	}
	mt := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	if err := c.SetModTime(ctx, f, mt); err != nil {
		t.Fatal(err)
	}
	poll()
	n := c2.Node(f.Handle)
	if n.Name != "renamed.txt" || !n.ModTime.Equal(mt) {
		t.Fatalf("other client after rename+mtime: %q %v", n.Name, n.ModTime)
	}
	crc1, _, _ := megacrypto.ParseFingerprint(f.Fingerprint)
	crc2, _, _ := megacrypto.ParseFingerprint(n.Fingerprint)
	if crc1 != crc2 {
		t.Error("SetModTime changed the CRC part")
	}
	if err := c.SetModTime(ctx, dir, mt); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("SetModTime on a folder = %v, want ErrUnsupported", err)
	}

	// move: d(m:1) + t in one batch keeps the subtree.
	other := mkdir(t, c, c.Root(), "other")
	if err := c.Move(ctx, sub, other); err != nil {
		t.Fatal(err)
	}
	if got := c.Path(c.Node(f.Handle)); got != "/other/sub/renamed.txt" {
		t.Fatalf("local path after move = %q", got)
	}
	poll()
	if got := c2.Path(c2.Node(f.Handle)); got != "/other/sub/renamed.txt" {
		t.Fatalf("other client's path after move = %q", got)
	}
	if err := c.Move(ctx, other, sub); !errors.Is(err, megaapi.ECIRCULAR) {
		t.Errorf("move into own subtree = %v, want ECIRCULAR", err)
	}

	// link and unlink.
	url, err := c.Link(ctx, f)
	if err != nil || !strings.HasPrefix(url, "https://mega.nz/file/") {
		t.Fatalf("Link = %q, %v", url, err)
	}
	key, _ := megacrypto.B64Decode(url[strings.Index(url, "#")+1:])
	if len(key) != 32 {
		t.Errorf("file link key of %d bytes", len(key))
	}
	url2, err := c.Link(ctx, f)
	if err != nil || url2 != url {
		t.Errorf("second Link = %q, %v; want the same link", url2, err)
	}
	furl, err := c.Link(ctx, dir)
	if err != nil || !strings.HasPrefix(furl, "https://mega.nz/folder/") {
		t.Fatalf("folder Link = %q, %v", furl, err)
	}
	if key, _ := megacrypto.B64Decode(furl[strings.Index(furl, "#")+1:]); len(key) != 16 {
		t.Errorf("folder link key of %d bytes", len(key))
	}
	poll()
	if ph := c2.Node(f.Handle).PublicHandle; ph == "" || !strings.Contains(url, ph) {
		t.Errorf("other client's public handle = %q", ph)
	}
	if err := c.Unlink(ctx, f); err != nil {
		t.Fatal(err)
	}
	poll()
	if ph := c2.Node(f.Handle).PublicHandle; ph != "" {
		t.Errorf("public handle after Unlink = %q", ph)
	}

	// trash, then delete and empty the bin.
	if err := c.Trash(ctx, other); err != nil {
		t.Fatal(err)
	}
	poll()
	if got := c2.Path(c2.Node(f.Handle)); got != "/Rubbish Bin/other/sub/renamed.txt" {
		t.Fatalf("path after trash = %q", got)
	}
	if err := c.Delete(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if c.Node(dir.Handle) != nil {
		t.Fatal("deleted node still in the local tree")
	}
	if err := c.EmptyRubbish(ctx); err != nil {
		t.Fatal(err)
	}
	if c.Node(f.Handle) != nil || len(c.Children(c.Rubbish())) != 0 {
		t.Fatal("rubbish bin not empty locally")
	}
	poll()
	if c2.Node(dir.Handle) != nil || c2.Node(f.Handle) != nil || c2.Node(sub.Handle) != nil {
		t.Fatal("other client still has deleted nodes")
	}

	// The first client's own packets are harmless.
	poll0, err := c.Poll(ctx)
	if err != nil || !poll0 {
		t.Fatalf("Poll of own packets = %v, %v", poll0, err)
	}
	if got, want := treeDump(c), treeDump(c2); got != want {
		t.Fatalf("trees differ after applying own packets:\n%s\nvs\n%s", got, want)
	}
	fresh := newLoggedIn(t, ts)
	if got, want := treeDump(fresh), treeDump(c2); got != want {
		t.Fatalf("packet-maintained tree differs from a fresh fetch:\n%s\nvs\n%s", want, got)
	}

	q, err := c.Quota(ctx)
	if err != nil || q.Total <= 0 {
		t.Fatalf("Quota = %+v, %v", q, err)
	}
}

// treeDump renders the tree for comparisons.
func treeDump(c *Client) string {
	var b strings.Builder
	c.withTree(func(t *tree) {
		var hs []string
		for h := range t.nodes {
			hs = append(hs, h)
		}
		sortStrings(hs)
		for _, h := range hs {
			n := t.nodes[h]
			b.WriteString(n.Handle + " " + n.Parent + " " + n.Name + " " + n.Fingerprint + " " + n.PublicHandle + "\n")
		}
	})
	return b.String()
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestWatch(t *testing.T) {
	ts := megaservertest.Start(t, megaservertest.WithWaitTimeout(200*time.Millisecond))
	c := newLoggedIn(t, ts)
	changed := make(chan struct{}, 10)
	opts := testOptions(t, ts)
	opts.OnChange = func() { changed <- struct{}{} }
	c2 := newLoggedInAs(t, ts, opts, megaservertest.UserV2, megaservertest.PasswordV2)
	done := make(chan error, 1)
	wctx, wcancel := context.WithCancel(t.Context())
	go func() { done <- c2.Watch(wctx) }()
	d := mkdir(t, c, c.Root(), "watched")
	deadline := time.After(10 * time.Second)
	for c2.Node(d.Handle) == nil {
		select {
		case <-changed:
		case <-deadline:
			t.Fatal("Watch did not deliver the new folder")
		}
	}
	wcancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Watch after cancel = %v, want context.Canceled", err)
	}
}

func TestExportImportTree(t *testing.T) {
	ts := megaservertest.Start(t)
	c := newLoggedIn(t, ts)
	d := mkdir(t, c, c.Root(), "cached")
	f := upload(t, c, d, "file", []byte("data"))
	if _, err := c.Link(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.ExportTree(&buf); err != nil {
		t.Fatal(err)
	}
	// The export holds decrypted names and keys (callers encrypt it).
	if !bytes.Contains(buf.Bytes(), []byte("cached")) || buf.Bytes()[0] != 0 {
		t.Error("export is not in the binary format with decrypted names")
	}
	c2 := New(testOptions(t, ts))
	if err := c2.Resume(t.Context(), c.Session()); err != nil {
		t.Fatal(err)
	}
	if err := c2.ImportTree(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if got, want := treeDump(c2), treeDump(c); got != want {
		t.Fatalf("imported tree differs:\n%s\nvs\n%s", got, want)
	}
	if c2.SN() != c.SN() {
		t.Fatalf("SN %q, want %q", c2.SN(), c.SN())
	}
	// Catch up from the cached SN.
	mkdir(t, c, d, "later")
	if _, err := c2.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n, err := c2.Lookup("cached/later"); err != nil || len(n) != 1 {
		t.Fatalf("after Poll from the imported SN: %v", err)
	}
	// A tree for another account is refused.
	other := newLoggedInAs(t, ts, testOptions(t, ts), megaservertest.UserV1, megaservertest.PasswordV1)
	if err := other.ImportTree(bytes.NewReader(buf.Bytes())); err == nil {
		t.Fatal("ImportTree accepted another user's tree")
	}
}

func TestNilNodes(t *testing.T) {
	ts := megaservertest.Start(t)
	c := newLoggedIn(t, ts)
	ctx := t.Context()
	for name, err := range map[string]error{
		"Rename":     c.Rename(ctx, nil, "x"),
		"SetModTime": c.SetModTime(ctx, nil, time.Now()),
		"Move":       c.Move(ctx, nil, c.Root()),
		"MoveTo":     c.Move(ctx, c.Root(), nil),
		"Trash":      c.Trash(ctx, nil),
		"Delete":     c.Delete(ctx, nil),
		"Unlink":     c.Unlink(ctx, nil),
	} {
		if err == nil {
			t.Errorf("%s(nil) succeeded", name)
		}
	}
	if _, err := c.Link(ctx, nil); err == nil {
		t.Error("Link(nil) succeeded")
	}
	if _, err := c.Mkdir(ctx, nil, "x"); err == nil {
		t.Error("Mkdir(nil) succeeded")
	}
	if _, err := c.Open(ctx, nil); err == nil {
		t.Error("Open(nil) succeeded")
	}
	if _, err := c.Upload(ctx, nil, "x", nil, 0, time.Now()); err == nil {
		t.Error("Upload(nil) succeeded")
	}
	if err := c.Download(ctx, c.Root(), io.Discard); err == nil {
		t.Error("Download(root) succeeded")
	}
}
