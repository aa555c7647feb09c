package interop

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ferry/mega"
	"ferry/megaserver/megaservertest"
)

// faultSpec is the server's fault mix for TestFaultsMixedOperations: per
// request, 5% whole-request EAGAIN, 2% HTTP 500, 1% connections dropped in
// the middle of a body, 1% answered after a pause.
const faultSpec = "eagain=0.05,http500=0.02,drop=0.01,slow=0.01,slowdelay=50ms"

// mnode is the test's model of a node.
type mnode struct {
	parent string
	name   string
	dir    bool
	size   int64
	seed   uint64 // content: pattern(seed, size)
	link   string // public handle, "" if not exported
}

// model is what the tree must look like, by handle.
type model struct {
	root, rubbish string
	nodes         map[string]*mnode
}

func (m *model) entries() map[string]entry {
	out := make(map[string]entry, len(m.nodes))
	for h, n := range m.nodes {
		out[h] = entry{Parent: n.parent, Name: n.name, Dir: n.dir, Size: n.size}
	}
	return out
}

// handles returns the handles of nodes that pass keep, sorted (so a
// seeded run picks the same ones).
func (m *model) handles(keep func(h string, n *mnode) bool) []string {
	var out []string
	for h, n := range m.nodes {
		if keep(h, n) {
			out = append(out, h)
		}
	}
	slices.Sort(out)
	return out
}

// inRubbish reports whether h is in the rubbish bin's subtree.
func (m *model) inRubbish(h string) bool {
	for n := m.nodes[h]; n != nil; n = m.nodes[n.parent] {
		if n.parent == m.rubbish {
			return true
		}
	}
	return false
}

// within reports whether h is anc or in its subtree.
func (m *model) within(h, anc string) bool {
	for cur := h; cur != ""; {
		if cur == anc {
			return true
		}
		n := m.nodes[cur]
		if n == nil {
			return false
		}
		cur = n.parent
	}
	return false
}

// remove deletes h and its subtree.
func (m *model) remove(h string) {
	for k, n := range m.nodes {
		if n.parent == h {
			m.remove(k)
		}
	}
	delete(m.nodes, h)
}

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// randomSize draws upload sizes: empty and tiny files, sizes around the
// first chunk boundaries, and multi-chunk files up to 6 MiB.
func randomSize(r *rand.Rand) int64 {
	switch x := r.IntN(10); {
	case x == 0:
		return int64(r.IntN(17))
	case x < 3:
		return int64(r.IntN(20000))
	case x < 5:
		return pick(r, []int64{131071, 131072, 131073, 393215, 393216, 393217})
	case x < 8:
		return int64(r.IntN(2 << 20))
	default:
		return 2<<20 + int64(r.IntN(4<<20))
	}
}

// TestFaultsMixedOperations runs 200 random operations of ferry's client
// against a server injecting faults (faultSpec). The client's retries must
// hide every fault: each operation succeeds, every byte read back is
// right, and after each operation the client's tree matches the model
// kept here. At the end a fresh session on a fault-free restart of the
// same data sees exactly the model and downloads every file intact.
//
// FERRY_INTEROP_SEED=N repeats a run's choice of operations (the server's
// faults also come from the seed; goroutine timing still varies).
func TestFaultsMixedOperations(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("FERRY_INTEROP_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("FERRY_INTEROP_SEED: %v", err)
		}
	}
	t.Logf("seed %d (repeat with FERRY_INTEROP_SEED=%d)", seed, seed)
	rnd := rand.New(rand.NewPCG(seed, 0x5eed))
	ctx := t.Context()

	ts := megaservertest.Start(t, megaservertest.WithFaults(faultSpec+",seed="+strconv.FormatUint(seed|1, 10)))
	// Login itself runs under faults too.
	opts := clientOptions(t, ts.URL)
	var retries atomic.Int64
	opts.Retry.OnRetry = func(int, error, time.Duration) { retries.Add(1) }
	c := newFerry(t, opts, megaservertest.UserV2, megaservertest.PasswordV2)
	m := &model{root: c.Root().Handle, rubbish: c.Rubbish().Handle, nodes: map[string]*mnode{}}

	const ops = 200
	counts := map[string]int{}
	var bytesUp, bytesDown int64
	for i := range ops {
		live := func(h string, n *mnode) bool { return !m.inRubbish(h) }
		dirs := append(m.handles(func(h string, n *mnode) bool { return n.dir && live(h, n) }), m.root)
		files := m.handles(func(h string, n *mnode) bool { return !n.dir })
		all := m.handles(func(string, *mnode) bool { return true })

		op := pick(rnd, []string{"mkdir", "mkdir", "upload", "upload", "upload", "upload",
			"download", "download", "readat", "readat", "rename", "move", "move", "trash", "delete", "link"})
		switch {
		case op == "download" || op == "readat" || op == "link":
			if len(files) == 0 {
				op = "upload"
			}
		case op == "rename" || op == "move" || op == "trash" || op == "delete":
			if len(all) == 0 {
				op = "mkdir"
			}
		}
		counts[op]++
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("op %d (%s, seed %d): %s", i, op, seed, fmt.Sprintf(format, args...))
		}
		node := func(h string) *mega.Node {
			n := c.Node(h)
			if n == nil {
				fail("node %s missing from the client's tree", h)
			}
			return n
		}

		switch op {
		case "mkdir":
			parent := pick(rnd, dirs)
			name := fmt.Sprintf("dir-%d", i)
			n, err := c.Mkdir(ctx, node(parent), name)
			if err != nil {
				fail("Mkdir: %v", err)
			}
			m.nodes[n.Handle] = &mnode{parent: parent, name: name, dir: true}

		case "upload":
			parent := pick(rnd, dirs)
			size, fseed := randomSize(rnd), rnd.Uint64()
			name := fmt.Sprintf("file-%d", i)
			// Half the sources can be rewound (a lost upload slot restarts),
			// half are one-way streams.
			var src io.Reader = newPRNG(fseed, size)
			if rnd.IntN(2) == 0 {
				src = bytes.NewReader(pattern(fseed, int(size)))
			}
			n, err := c.Upload(ctx, node(parent), name, src, size, time.Unix(1700000000+int64(i), 0))
			if err != nil {
				fail("Upload(%d bytes): %v", size, err)
			}
			if n.Size != size {
				fail("Upload(%d bytes) made a node of %d bytes", size, n.Size)
			}
			m.nodes[n.Handle] = &mnode{parent: parent, name: name, size: size, seed: fseed}
			bytesUp += size

		case "download":
			h := pick(rnd, files)
			f := m.nodes[h]
			got := ferryDownload(t, c, node(h))
			if want := sumOf(newPRNG(f.seed, f.size)); got != want {
				fail("download of %s (%d bytes) differs", h, f.size)
			}
			bytesDown += f.size

		case "readat":
			h := pick(rnd, files)
			f := m.nodes[h]
			file, err := c.Open(ctx, node(h))
			if err != nil {
				fail("Open: %v", err)
			}
			off := rnd.Int64N(f.size + 1)
			buf := make([]byte, rnd.IntN(300000)+1)
			n, err := file.ReadAt(buf, off)
			want := pattern(f.seed, int(f.size))[off:min(off+int64(len(buf)), f.size)]
			switch {
			case n != len(want):
				fail("ReadAt(%d bytes at %d of %d) = %d, %v", len(buf), off, f.size, n, err)
			case n < len(buf) && err != io.EOF, n == len(buf) && err != nil:
				fail("ReadAt(%d bytes at %d of %d): %v", len(buf), off, f.size, err)
			case !bytes.Equal(buf[:n], want):
				fail("ReadAt(%d bytes at %d of %d): wrong bytes", len(buf), off, f.size)
			}
			bytesDown += int64(n)

		case "rename":
			h := pick(rnd, all)
			name := fmt.Sprintf("%s-r%d", m.nodes[h].name, i)
			if err := c.Rename(ctx, node(h), name); err != nil {
				fail("Rename: %v", err)
			}
			m.nodes[h].name = name

		case "move":
			h := pick(rnd, all)
			var targets []string
			for _, d := range dirs {
				if !m.within(d, h) {
					targets = append(targets, d)
				}
			}
			to := pick(rnd, targets)
			if err := c.Move(ctx, node(h), node(to)); err != nil {
				fail("Move: %v", err)
			}
			m.nodes[h].parent = to

		case "trash":
			h := pick(rnd, all)
			if err := c.Trash(ctx, node(h)); err != nil {
				fail("Trash: %v", err)
			}
			m.nodes[h].parent = m.rubbish

		case "delete":
			h := pick(rnd, all)
			if err := c.Delete(ctx, node(h)); err != nil {
				fail("Delete: %v", err)
			}
			m.remove(h)

		case "link":
			h := pick(rnd, append(files, dirs[:len(dirs)-1]...))
			link, err := c.Link(ctx, node(h))
			if err != nil {
				fail("Link: %v", err)
			}
			ph, key := parseLink(t, link)
			if prev := m.nodes[h].link; prev != "" && prev != ph {
				fail("second Link of %s gave public handle %s, first %s", h, ph, prev)
			}
			if wantKey := map[bool]int{true: 16, false: 32}[m.nodes[h].dir]; len(key) != wantKey {
				fail("Link key of %d bytes, want %d", len(key), wantKey)
			}
			m.nodes[h].link = ph
		}

		if d := diffTrees(ferryTree(t, c), m.entries()); d != "" {
			fail("client tree differs from the model:\n%s", d)
		}
		if i%20 == 19 {
			// Our own changes come back as action packets; applying them
			// must leave the tree as it is.
			poll(t, c)
			if d := diffTrees(ferryTree(t, c), m.entries()); d != "" {
				fail("after Poll the client tree differs from the model:\n%s", d)
			}
		}
	}
	t.Logf("operations: %v; %d MiB up, %d MiB down; %d requests retried", counts, bytesUp>>20, bytesDown>>20, retries.Load())
	if retries.Load() == 0 {
		t.Errorf("no request was retried: were faults injected?")
	}

	// A fresh session on the same data without faults sees the model.
	ts.Close()
	ts2 := megaservertest.Start(t, megaservertest.WithDir(ts.Dir))
	fresh := newFerry(t, clientOptions(t, ts2.URL), megaservertest.UserV2, megaservertest.PasswordV2)
	if d := diffTrees(ferryTree(t, fresh), m.entries()); d != "" {
		t.Fatalf("fresh session after the run differs from the model:\n%s", d)
	}
	nfiles := 0
	for h, f := range m.nodes {
		n := fresh.Node(h)
		if n.PublicHandle != f.link {
			t.Errorf("%v: public handle %q, want %q", n, n.PublicHandle, f.link)
		}
		if f.dir {
			continue
		}
		nfiles++
		if got, want := ferryDownload(t, fresh, n), sumOf(newPRNG(f.seed, f.size)); got != want {
			t.Errorf("%v (%d bytes): content differs after the run", n, f.size)
		}
		if f.link != "" {
			_, key := parseLink(t, mustLink(t, fresh, n))
			if name, data := publicFetch(t, ts2.URL, f.link, key); name != f.name || sha256.Sum256(data) != sumOf(newPRNG(f.seed, f.size)) {
				t.Errorf("public link of %v opens as %q with other content", n, name)
			}
		}
	}
	// Every file node has its blob, and no blob is left without a node.
	blobs, err := os.ReadDir(filepath.Join(ts2.Dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	if len(blobs) != nfiles {
		t.Errorf("%d blobs on disk for %d file nodes", len(blobs), nfiles)
	}
}

// mustLink returns n's public link (the existing one if exported).
func mustLink(t testing.TB, c *mega.Client, n *mega.Node) string {
	t.Helper()
	link, err := c.Link(t.Context(), n)
	if err != nil {
		t.Fatalf("Link(%v): %v", n, err)
	}
	return link
}

// cutZeroReply writes the server's reply, except that it cuts the first
// /cs reply that is exactly `[0]` after its first byte and closes the
// connection, as the server's drop fault does.
func cutZeroReply(cut *atomic.Bool) func(w http.ResponseWriter, r *http.Request, resp *http.Response) {
	return func(w http.ResponseWriter, r *http.Request, resp *http.Response) {
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(resp.StatusCode)
		if strings.HasPrefix(r.URL.Path, "/cs") && string(body) == "[0]" && cut.CompareAndSwap(false, true) {
			w.Write(body[:1])
			rc := http.NewResponseController(w)
			rc.Flush()
			if conn, _, err := rc.Hijack(); err == nil {
				conn.Close()
				return
			}
			panic(http.ErrAbortHandler)
		}
		w.Write(body)
	}
}

// TestTruncatedZeroReplyIsRetried: a `[0]` reply cut after `[` (what the
// server's drop fault does to it) is a truncated body like any other, so
// the client retries it; the retry's id makes the server replay `[0]`.
func TestTruncatedZeroReplyIsRetried(t *testing.T) {
	ts := megaservertest.Start(t)
	var cut atomic.Bool
	proxy := megaservertest.StartProxy(t, ts.URL, megaservertest.ProxyConfig{Reply: cutZeroReply(&cut)})
	c := newFerry(t, clientOptions(t, proxy.URL), megaservertest.UserV2, megaservertest.PasswordV2)
	dir, err := c.Mkdir(t.Context(), c.Root(), "dir")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := c.Mkdir(t.Context(), c.Root(), "sub")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Move(t.Context(), sub, dir); err != nil {
		t.Errorf("Move with its `[0]` reply truncated once: %v", err)
	}
	if !cut.Load() {
		t.Fatal("the proxy truncated no reply")
	}
	fresh := newFerry(t, clientOptions(t, ts.URL), megaservertest.UserV2, megaservertest.PasswordV2)
	if got := fresh.Path(fresh.Node(sub.Handle)); got != "/dir/sub" {
		t.Errorf("after the move the folder is at %q, want /dir/sub", got)
	}
}

// TestPollAfterOwnMoves: a Poll replays this client's own earlier moves
// onto a tree that already shows their outcome. Here the replay first puts
// X under Y while the tree has Y under X; applying the packets must still
// end (no walk around the X<->Y cycle) and leave the final state.
func TestPollAfterOwnMoves(t *testing.T) {
	ts := megaservertest.Start(t)
	c := newFerry(t, clientOptions(t, ts.URL), megaservertest.UserV2, megaservertest.PasswordV2)
	ctx := t.Context()
	x, err := c.Mkdir(ctx, c.Root(), "X")
	if err != nil {
		t.Fatal(err)
	}
	y, err := c.Mkdir(ctx, c.Root(), "Y")
	if err != nil {
		t.Fatal(err)
	}
	poll(t, c) // the tree's sn now follows the mkdirs
	for _, mv := range []struct{ n, to *mega.Node }{{x, y}, {x, c.Root()}, {y, x}} {
		if err := c.Move(ctx, mv.n, mv.to); err != nil {
			t.Fatal(err)
		}
	}
	poll(t, c) // replays: X into Y, X back to the root, Y into X
	if got := c.Path(c.Node(y.Handle)); got != "/X/Y" {
		t.Errorf("after Poll, Y is at %q, want /X/Y", got)
	}
	if d := diffTrees(ferryTree(t, c), ferryTree(t, newFerry(t, clientOptions(t, ts.URL), megaservertest.UserV2, megaservertest.PasswordV2))); d != "" {
		t.Errorf("after Poll the tree differs from a fresh fetch:\n%s", d)
	}
}
