package interop

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	gomega "github.com/t3rm1n4l/go-mega"

	"ferry/mega"
	"ferry/megaserver/megaservertest"
)

// interopSizes are file sizes around MEGA's chunk boundaries (131072,
// 393216, ... 4718592, then every MiB) and its fingerprint's small/large
// switch (8192). go-mega and ferry compute the same MACs at every size
// (megajs differs at exact boundaries, mega-protocol.md §5.3).
var interopSizes = []int{0, 1, 16, 17, 8192, 8193, 131071, 131072, 131073, 300000, 393216, 4718592, 5<<20 + 3}

// gmWait is the server's wait-URL timeout in the go-mega tests. go-mega
// notices that it has applied every pending packet only when a wait URL
// answers, so a short wait keeps settle quick.
const gmWait = 50 * time.Millisecond

// newGoMega logs go-mega in to apiURL. go-mega's event goroutine runs
// until the process ends (go-mega has no way to stop it); its log goes
// nowhere, since it may outlive the test.
func newGoMega(t testing.TB, apiURL, email, password string) *gomega.Mega {
	t.Helper()
	m := gomega.New()
	m.SetLogger(nil)
	m.SetAPIUrl(apiURL)
	m.SetRetries(5)
	if err := m.Login(email, password); err != nil {
		t.Fatalf("go-mega Login(%s): %v", email, err)
	}
	return m
}

// settle waits until go-mega's event goroutine has applied every action
// packet the server had for it and gone back to waiting. go-mega's event
// goroutine writes node fields (keys, MACs, children) that DownloadFile
// and the tree walks read without its lock, so every go-mega read of the
// tree here follows a settle: that keeps the tests race-free.
//
// go-mega signals "idle" when an sc poll answers a wait URL. That answer
// can arrive just after a change but before its packets were fetched, so
// settle waits for two such answers in a row.
func settle(m *gomega.Mega) {
	for range 2 {
		m.WaitEvents(m.WaitEventsStart(), 5*time.Second)
	}
}

// gmEventually settles go-mega until cond holds (at most ~5 s).
func gmEventually(t testing.TB, m *gomega.Mega, what string, cond func() bool) {
	t.Helper()
	for range 50 {
		settle(m)
		if cond() {
			return
		}
	}
	t.Fatalf("go-mega never saw %s", what)
}

// gmTree returns every node under go-mega's Cloud Drive and trash by
// handle, like ferryTree. Call it settled.
func gmTree(t testing.TB, m *gomega.Mega) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	var walk func(n *gomega.Node)
	walk = func(n *gomega.Node) {
		kids, err := m.FS.GetChildren(n)
		if err != nil {
			t.Fatalf("go-mega GetChildren(%s): %v", n.GetHash(), err)
		}
		kids = append([]*gomega.Node(nil), kids...)
		for _, k := range kids {
			typ := k.GetType()
			out[k.GetHash()] = entry{Parent: n.GetHash(), Name: k.GetName(), Dir: typ != gomega.FILE, Size: k.GetSize()}
			walk(k)
		}
	}
	walk(m.FS.GetRoot())
	walk(m.FS.GetTrash())
	return out
}

// gmParent returns the handle of n's parent in go-mega's tree ("" if none).
func gmParent(t testing.TB, m *gomega.Mega, h string) string {
	t.Helper()
	e, ok := gmTree(t, m)[h]
	if !ok {
		return ""
	}
	return e.Parent
}

// gmDownload downloads n with go-mega (which checks the MAC) and returns the
// SHA-256 of the content.
func gmDownload(t testing.TB, m *gomega.Mega, n *gomega.Node) [32]byte {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "download")
	if err := m.DownloadFile(n, dst, nil); err != nil {
		t.Fatalf("go-mega DownloadFile(%s, %d bytes): %v", n.GetName(), n.GetSize(), err)
	}
	data, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(data)
}

// TestGoMegaInterop runs go-mega and ferry's client side by side on one
// account (v2 and legacy v1): each sees the other's changes through action
// packets, downloads the other's uploads with their MACs verified, and
// both agree on public links and on the final tree.
func TestGoMegaInterop(t *testing.T) {
	for _, acct := range []struct{ name, email, password string }{
		{"v2", megaservertest.UserV2, megaservertest.PasswordV2},
		{"v1", megaservertest.UserV1, megaservertest.PasswordV1},
	} {
		t.Run(acct.name, func(t *testing.T) {
			ts := megaservertest.Start(t, megaservertest.WithWaitTimeout(gmWait),
				megaservertest.WithLogger(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))))
			gm := newGoMega(t, ts.URL, acct.email, acct.password)
			fc := newFerry(t, clientOptions(t, ts.URL), acct.email, acct.password)
			testGoMegaToFerry(t, ts, gm, fc)
			testFerryToGoMega(t, ts, gm, fc)

			// Fresh sessions of both clients list the same tree, and the
			// long-lived ones agree with it.
			settle(gm)
			poll(t, fc)
			gm2 := newGoMega(t, ts.URL, acct.email, acct.password)
			fc2 := newFerry(t, clientOptions(t, ts.URL), acct.email, acct.password)
			want := ferryTree(t, fc2)
			if d := diffTrees(gmTree(t, gm2), want); d != "" {
				t.Errorf("fresh go-mega session vs fresh ferry session:\n%s", d)
			}
			if d := diffTrees(ferryTree(t, fc), want); d != "" {
				t.Errorf("ferry session kept current by Poll vs fresh ferry session:\n%s", d)
			}
			if d := diffTrees(gmTree(t, gm), want); d != "" {
				t.Errorf("go-mega session kept current by events vs fresh ferry session:\n%s", d)
			}
		})
	}
}

// testGoMegaToFerry: go-mega changes, ferry's second session follows with
// Poll and verifies go-mega's uploads.
func testGoMegaToFerry(t *testing.T, ts *megaservertest.TestServer, gm *gomega.Mega, fc *mega.Client) {
	ctx := t.Context()
	if kids, err := gm.FS.GetChildren(gm.FS.GetRoot()); err != nil || len(kids) != 0 {
		t.Fatalf("go-mega lists %d nodes in a fresh Cloud Drive (%v)", len(kids), err)
	}
	if gm.FS.GetRoot().GetHash() != fc.Root().Handle || gm.FS.GetTrash().GetHash() != fc.Rubbish().Handle {
		t.Fatalf("go-mega and ferry disagree on the root handles")
	}

	dir, err := gm.CreateDir("from-gomega", gm.FS.GetRoot())
	if err != nil {
		t.Fatalf("go-mega CreateDir: %v", err)
	}
	settle(gm)
	poll(t, fc)
	if n := fc.Node(dir.GetHash()); n == nil || n.Name != "from-gomega" || n.Type != mega.FolderNode || n.Parent != fc.Root().Handle {
		t.Fatalf("ferry sees go-mega's folder as %+v", n)
	}

	// Uploads at every interesting size; ferry downloads and verifies each.
	tmp := t.TempDir()
	files := map[int]*gomega.Node{}
	for _, size := range interopSizes {
		data := pattern(uint64(size), size)
		src := filepath.Join(tmp, fmt.Sprint(size))
		if err := os.WriteFile(src, data, 0o600); err != nil {
			t.Fatal(err)
		}
		n, err := gm.UploadFile(src, dir, fmt.Sprintf("gm-%d.bin", size), nil)
		if err != nil {
			t.Fatalf("go-mega UploadFile(%d bytes): %v", size, err)
		}
		files[size] = n
	}
	settle(gm)
	poll(t, fc)
	for _, size := range interopSizes {
		h := files[size].GetHash()
		n := fc.Node(h)
		if n == nil || n.Err != nil || n.Name != fmt.Sprintf("gm-%d.bin", size) || n.Size != int64(size) || n.Parent != dir.GetHash() {
			t.Fatalf("ferry sees go-mega's %d-byte upload as %+v", size, n)
		}
		if n.Fingerprint != "" || !n.ModTime.Equal(n.CreatedAt) {
			t.Errorf("%d bytes: go-mega writes no `c`, yet ferry has fingerprint %q, mtime %v (created %v)",
				size, n.Fingerprint, n.ModTime, n.CreatedAt)
		}
		if got, want := ferryDownload(t, fc, n), sha256.Sum256(pattern(uint64(size), size)); got != want {
			t.Errorf("ferry download of go-mega's %d-byte upload differs", size)
		}
	}
	// Ranged reads of a go-mega upload, across chunk boundaries.
	big := fc.Node(files[5<<20+3].GetHash())
	f, err := fc.Open(ctx, big)
	if err != nil {
		t.Fatalf("ferry Open: %v", err)
	}
	whole := pattern(5<<20+3, 5<<20+3)
	for _, r := range [][2]int64{{0, 1}, {131060, 40}, {393215, 2}, {4718590, 100000}, {5<<20 - 5, 100}} {
		buf := make([]byte, r[1])
		n, err := f.ReadAt(buf, r[0])
		want := whole[r[0]:min(r[0]+r[1], int64(len(whole)))]
		if n != len(want) || !bytes.Equal(buf[:n], want) || (n < len(buf)) != (err != nil) {
			t.Errorf("ReadAt(%d, %d) = %d, %v; content ok: %t", r[0], r[1], n, err, bytes.Equal(buf[:n], want))
		}
	}

	// Rename, then move into a new subfolder.
	moved := files[131073]
	if err := gm.Rename(moved, "renamed.bin"); err != nil {
		t.Fatalf("go-mega Rename: %v", err)
	}
	settle(gm)
	poll(t, fc)
	if n := fc.Node(moved.GetHash()); n == nil || n.Name != "renamed.bin" {
		t.Fatalf("ferry sees go-mega's rename as %+v", n)
	}
	sub, err := gm.CreateDir("sub", dir)
	if err != nil {
		t.Fatalf("go-mega CreateDir: %v", err)
	}
	if err := gm.Move(moved, sub); err != nil {
		t.Fatalf("go-mega Move: %v", err)
	}
	settle(gm)
	poll(t, fc)
	if n := fc.Node(moved.GetHash()); n == nil || n.Parent != sub.GetHash() || fc.Path(n) != "/from-gomega/sub/renamed.bin" {
		t.Fatalf("ferry sees go-mega's move as %+v at %q", n, fc.Path(n))
	}

	// Trash, permanent delete of a file, permanent delete of a folder with
	// contents.
	if err := gm.Delete(files[1], false); err != nil {
		t.Fatalf("go-mega Delete(trash): %v", err)
	}
	if err := gm.Delete(files[16], true); err != nil {
		t.Fatalf("go-mega Delete(destroy): %v", err)
	}
	doomed, err := gm.CreateDir("doomed", dir)
	if err != nil {
		t.Fatalf("go-mega CreateDir: %v", err)
	}
	src := filepath.Join(tmp, "17")
	inDoomed, err := gm.UploadFile(src, doomed, "inside.bin", nil)
	if err != nil {
		t.Fatalf("go-mega UploadFile: %v", err)
	}
	settle(gm)
	poll(t, fc)
	if fc.Node(inDoomed.GetHash()) == nil {
		t.Fatalf("ferry does not see go-mega's upload into a folder")
	}
	if err := gm.Delete(doomed, true); err != nil {
		t.Fatalf("go-mega Delete(folder, destroy): %v", err)
	}
	settle(gm)
	poll(t, fc)
	if n := fc.Node(files[1].GetHash()); n == nil || n.Parent != fc.Rubbish().Handle || fc.Path(n) != "/Rubbish Bin/gm-1.bin" {
		t.Errorf("ferry sees go-mega's trashed file as %+v", n)
	}
	for _, h := range []string{files[16].GetHash(), doomed.GetHash(), inDoomed.GetHash()} {
		if n := fc.Node(h); n != nil {
			t.Errorf("ferry still has %v after go-mega deleted it permanently", n)
		}
	}

	// A go-mega link is the link ferry makes for the node, and it opens.
	linked := files[300000]
	link, err := gm.Link(linked, true)
	if err != nil {
		t.Fatalf("go-mega Link: %v", err)
	}
	ph, key := parseLink(t, link)
	poll(t, fc)
	n := fc.Node(linked.GetHash())
	if n == nil || n.PublicHandle != ph {
		t.Fatalf("ferry sees go-mega's link (public handle %q) as %+v", ph, n)
	}
	flink, err := fc.Link(ctx, n)
	if err != nil {
		t.Fatalf("ferry Link of a node go-mega exported: %v", err)
	}
	if fph, fkey := parseLink(t, flink); fph != ph || !bytes.Equal(fkey, key) {
		t.Errorf("ferry link %q and go-mega link %q differ", flink, link)
	}
	name, data := publicFetch(t, ts.URL, ph, key)
	if name != "gm-300000.bin" || !bytes.Equal(data, pattern(300000, 300000)) {
		t.Errorf("go-mega's public link opens as %q with %d bytes (content ok: %t)", name, len(data), bytes.Equal(data, pattern(300000, 300000)))
	}
}

// testFerryToGoMega: ferry uploads and changes, go-mega follows through its
// event loop and verifies ferry's uploads.
func testFerryToGoMega(t *testing.T, ts *megaservertest.TestServer, gm *gomega.Mega, fc *mega.Client) {
	ctx := t.Context()
	dir, err := fc.Mkdir(ctx, fc.Root(), "from-ferry")
	if err != nil {
		t.Fatalf("ferry Mkdir: %v", err)
	}
	mtime := func(size int) time.Time { return time.Unix(1600000000+int64(size), 0) }
	nodes := map[int]*mega.Node{}
	for _, size := range interopSizes {
		data := pattern(uint64(size)+1, size)
		n, err := fc.Upload(ctx, dir, fmt.Sprintf("ferry-%d.bin", size), bytes.NewReader(data), int64(size), mtime(size))
		if err != nil {
			t.Fatalf("ferry Upload(%d bytes): %v", size, err)
		}
		if n.Fingerprint == "" {
			t.Errorf("ferry upload of %d bytes has no `c` attribute", size)
		}
		nodes[size] = n
	}
	gmEventually(t, gm, "ferry's uploads", func() bool {
		for _, n := range nodes {
			if gm.FS.HashLookup(n.Handle) == nil {
				return false
			}
		}
		return true
	})
	for _, size := range interopSizes {
		gn := gm.FS.HashLookup(nodes[size].Handle)
		// ferry's attributes carry `c` (fingerprint and mtime) besides
		// `n`; go-mega must still read the name.
		if gn.GetName() != fmt.Sprintf("ferry-%d.bin", size) || gn.GetSize() != int64(size) || gmParent(t, gm, gn.GetHash()) != dir.Handle {
			t.Fatalf("go-mega sees ferry's %d-byte upload as name %q size %d", size, gn.GetName(), gn.GetSize())
		}
		if got, want := gmDownload(t, gm, gn), sha256.Sum256(pattern(uint64(size)+1, size)); got != want {
			t.Errorf("go-mega download of ferry's %d-byte upload differs", size)
		}
	}

	// ferry's mutations reach go-mega.
	sub, err := fc.Mkdir(ctx, dir, "sub")
	if err != nil {
		t.Fatalf("ferry Mkdir: %v", err)
	}
	if err := fc.Rename(ctx, nodes[17], "ferry-renamed.bin"); err != nil {
		t.Fatalf("ferry Rename: %v", err)
	}
	if err := fc.Move(ctx, nodes[8193], sub); err != nil {
		t.Fatalf("ferry Move: %v", err)
	}
	if err := fc.Trash(ctx, nodes[8192]); err != nil {
		t.Fatalf("ferry Trash: %v", err)
	}
	if err := fc.Delete(ctx, nodes[1]); err != nil {
		t.Fatalf("ferry Delete: %v", err)
	}
	gmEventually(t, gm, "ferry's mkdir, rename, move, trash and delete", func() bool {
		return diffTrees(gmTree(t, gm), ferryTree(t, fc)) == ""
	})
	if d := diffTrees(gmTree(t, gm), ferryTree(t, fc)); d != "" {
		t.Fatalf("go-mega vs ferry:\n%s", d)
	}

	// go-mega renames a ferry upload: go-mega rewrites the attributes as
	// {"n":...} only, dropping `c`. ferry must cope (name updated, no key
	// error; the mtime falls back to the creation time).
	renamed := gm.FS.HashLookup(nodes[131071].Handle)
	if err := gm.Rename(renamed, "renamed-by-gomega.bin"); err != nil {
		t.Fatalf("go-mega Rename of a ferry upload: %v", err)
	}
	settle(gm)
	poll(t, fc)
	if n := fc.Node(nodes[131071].Handle); n == nil || n.Err != nil || n.Name != "renamed-by-gomega.bin" {
		t.Errorf("ferry sees a go-mega rename of its upload as %+v", n)
	} else {
		t.Logf("after a go-mega rename ferry's upload has fingerprint %q, mtime %v (go-mega drops `c`)", n.Fingerprint, n.ModTime)
	}

	// A ferry link is the link go-mega makes for the node, and it opens.
	linked := nodes[393216]
	flink, err := fc.Link(ctx, linked)
	if err != nil {
		t.Fatalf("ferry Link: %v", err)
	}
	ph, key := parseLink(t, flink)
	settle(gm)
	glink, err := gm.Link(gm.FS.HashLookup(linked.Handle), true)
	if err != nil {
		t.Fatalf("go-mega Link of a node ferry exported: %v", err)
	}
	if gph, gkey := parseLink(t, glink); gph != ph || !bytes.Equal(gkey, key) {
		t.Errorf("go-mega link %q and ferry link %q differ", glink, flink)
	}
	name, data := publicFetch(t, ts.URL, ph, key)
	if name != "ferry-393216.bin" || !bytes.Equal(data, pattern(393216+1, 393216)) {
		t.Errorf("ferry's public link opens as %q with %d bytes", name, len(data))
	}

	// ferry's mtimes (in `c`) survive in a resumed session that fetches the
	// tree afresh, go-mega's activity notwithstanding.
	fresh := mega.New(clientOptions(t, ts.URL))
	if err := fresh.Resume(ctx, fc.Session()); err != nil {
		t.Fatalf("ferry Resume: %v", err)
	}
	if err := fresh.FetchTree(ctx); err != nil {
		t.Fatalf("ferry FetchTree: %v", err)
	}
	for size, n := range nodes {
		if size == 1 || size == 131071 {
			continue // deleted; renamed by go-mega
		}
		if got := fresh.Node(n.Handle); got == nil || !got.ModTime.Equal(mtime(size)) {
			t.Errorf("%d bytes: mtime after a fresh fetch is %+v, want %v", size, got, mtime(size))
		}
	}
}
