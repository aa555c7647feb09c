package interop

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ferry/mega"
	"ferry/megaserver"
	"ferry/megaserver/megaservertest"
)

// serveDirEnv makes the test binary a server process: TestKill9's child
// runs megaserver on the directory it names and prints its URL.
const serveDirEnv = "FERRY_INTEROP_SERVE_DIR"

// urlPrefix starts the line on which a child server announces its URL.
const urlPrefix = "FERRY_SERVER_URL="

// serveChild is the child's side: open the store, serve on 127.0.0.1:0,
// announce the URL on stdout, serve until killed.
func serveChild(dir string) {
	srv, err := megaserver.Open(megaserver.Options{
		Dir:    dir,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child server:", err)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "child server:", err)
		os.Exit(2)
	}
	fmt.Printf("%shttp://%s\n", urlPrefix, ln.Addr())
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintln(os.Stderr, "child server:", hs.Serve(ln))
	os.Exit(2)
}

// childServer is a server running in a child process.
type childServer struct {
	cmd    *exec.Cmd
	url    string
	stderr *bytes.Buffer
	done   chan struct{} // closed when the process was waited for
}

// startChildServer re-executes the test binary as a server on dir.
func startChildServer(t *testing.T, dir string) *childServer {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cs := &childServer{stderr: &bytes.Buffer{}, done: make(chan struct{})}
	cs.cmd = exec.Command(os.Args[0], "-test.run=^TestKill9DuringParallelUploads$", "-test.count=1")
	cs.cmd.Env = append(os.Environ(), serveDirEnv+"="+dir)
	cs.cmd.Stdout = pw
	cs.cmd.Stderr = cs.stderr
	if err := cs.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	go func() {
		cs.cmd.Wait()
		close(cs.done)
	}()
	t.Cleanup(func() { cs.kill(t) })
	urls := make(chan string, 1)
	go func() {
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), urlPrefix); ok {
				urls <- u
			}
		}
		close(urls)
	}()
	select {
	case u, ok := <-urls:
		if !ok {
			<-cs.done
			t.Fatalf("child server exited: %v\n%s", cs.cmd.ProcessState, cs.stderr)
		}
		cs.url = u
	case <-time.After(20 * time.Second):
		t.Fatal("child server did not start")
	}
	return cs
}

// kill sends SIGKILL and waits for the process to end.
func (cs *childServer) kill(t *testing.T) {
	select {
	case <-cs.done:
		return
	default:
	}
	if err := cs.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Errorf("kill child server: %v", err)
	}
	<-cs.done
	if ws, ok := cs.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Errorf("child server ended with %v, not SIGKILL\n%s", cs.cmd.ProcessState, cs.stderr)
	}
}

// upload is one upload the test started.
type upload struct {
	name string
	seed uint64
	size int64
	node *mega.Node // nil if Upload failed
	err  error
}

// TestKill9DuringParallelUploads kills the server process with SIGKILL
// while ferry's client runs uploads in parallel, restarts it on the same
// data directory and checks the server's crash guarantee: every upload
// whose node was returned is there and downloads byte for byte with its
// MAC verified; an upload whose `p` committed just before the kill may
// exist without the client having heard of it, but then it too is whole;
// nothing else exists (no half-made node, no duplicate, no orphan blob, no
// temporary file).
func TestKill9DuringParallelUploads(t *testing.T) {
	if dir := os.Getenv(serveDirEnv); dir != "" {
		serveChild(dir) // the child process: never returns
	}
	if testing.Short() {
		t.Skip("spawns server processes")
	}
	ctx := t.Context()
	dir := t.TempDir()
	// Create the seeded accounts in the data directory, then let go of it.
	megaservertest.Start(t, megaservertest.WithDir(dir)).Close()

	first := startChildServer(t, dir)
	opts := clientOptions(t, first.url)
	opts.Logger = slog.New(slog.DiscardHandler) // the kill makes requests fail: expected
	opts.Retry.MaxAttempts = 4                  // fail fast once the server is gone
	opts.UploadConcurrency = 2
	opts.MemoryBudget = 8 << 20
	c := newFerry(t, opts, megaservertest.UserV2, megaservertest.PasswordV2)
	parent, err := c.Mkdir(ctx, c.Root(), "uploads")
	if err != nil {
		t.Fatal(err)
	}

	const files, workers, killAfter = 40, 8, 10
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	uploads := make([]*upload, files)
	for i := range uploads {
		uploads[i] = &upload{name: fmt.Sprintf("up-%02d.bin", i), seed: rnd.Uint64(), size: 64<<10 + rnd.Int64N(4<<20)}
	}
	// After the kill the dispatcher stops; uploads in flight run on until
	// they fail against the dead server.
	stopDispatch := make(chan struct{})
	work := make(chan *upload)
	finished := make(chan *upload, files)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for u := range work {
				u.node, u.err = c.Upload(ctx, parent, u.name, newPRNG(u.seed, u.size), u.size, time.Now())
				finished <- u
			}
		})
	}
	go func() {
		defer close(work)
		for _, u := range uploads {
			select {
			case work <- u:
			case <-stopDispatch:
				return
			}
		}
	}()
	done := 0
	for done < killAfter {
		if u := <-finished; u.err != nil {
			t.Fatalf("upload %s before the kill: %v", u.name, u.err)
		}
		done++
	}
	first.kill(t)
	close(stopDispatch)
	wg.Wait()
	close(finished)
	for range finished {
		done++
	}
	var ok, failed int
	for _, u := range uploads {
		switch {
		case u.node != nil:
			ok++
		case u.err != nil:
			failed++
		}
	}
	t.Logf("%d uploads returned a node, %d failed when the server was killed, %d not started", ok, failed, files-ok-failed)

	// Restart on the same directory (a new port) and resume the session.
	second := startChildServer(t, dir)
	opts.APIURL = second.url
	c2 := mega.New(opts)
	sess := c.Session()
	sess.APIURL = second.url
	if err := c2.Resume(ctx, sess); err != nil {
		t.Fatalf("Resume after the restart: %v", err)
	}
	if err := c2.FetchTree(ctx); err != nil {
		t.Fatalf("FetchTree after the restart: %v", err)
	}

	byName := map[string]*upload{}
	for _, u := range uploads {
		byName[u.name] = u
		if u.node == nil {
			continue
		}
		n := c2.Node(u.node.Handle)
		if n == nil || n.Name != u.name || n.Size != u.size || n.Parent != parent.Handle {
			t.Errorf("upload %s returned node %s, after the restart: %+v", u.name, u.node.Handle, n)
			continue
		}
		if got := ferryDownload(t, c2, n); got != sumOf(newPRNG(u.seed, u.size)) {
			t.Errorf("upload %s: content differs after the restart", u.name)
		}
	}
	// Everything in the folder is an upload we made, once, and whole.
	seen := map[string]bool{}
	unacked := 0
	kids := c2.Children(c2.Node(parent.Handle))
	for _, n := range kids {
		u := byName[n.Name]
		switch {
		case u == nil || n.Type != mega.FileNode:
			t.Errorf("unexpected node %v after the restart", n)
			continue
		case seen[n.Name]:
			t.Errorf("upload %s exists twice after the restart", n.Name)
			continue
		}
		seen[n.Name] = true
		if u.node != nil {
			continue // checked above
		}
		// Its `p` committed, but the kill took the reply.
		unacked++
		if n.Size != u.size {
			t.Errorf("half-made node %v: %d bytes, want %d", n, n.Size, u.size)
		} else if got := ferryDownload(t, c2, n); got != sumOf(newPRNG(u.seed, u.size)) {
			t.Errorf("node %v (committed, reply lost): content differs", n)
		}
	}
	if others := len(ferryTree(t, c2)) - len(kids) - 1; others != 0 {
		t.Errorf("%d nodes outside the upload folder after the restart", others)
	}
	t.Logf("%d nodes after the restart, %d of them committed without the client hearing of it", len(kids), unacked)

	// The restart left no orphan blob and no temporary upload file.
	blobs, err := os.ReadDir(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	if len(blobs) != len(kids) {
		t.Errorf("%d blobs on disk for %d file nodes", len(blobs), len(kids))
	}
	if tmp, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(tmp) != 0 {
		t.Errorf("%d temporary files left after the restart", len(tmp))
	}

	// The restarted server takes new uploads in the resumed session.
	data := pattern(1, 300000)
	n, err := c2.Upload(ctx, c2.Root(), "after-restart.bin", bytes.NewReader(data), int64(len(data)), time.Now())
	if err != nil {
		t.Fatalf("upload after the restart: %v", err)
	}
	if got := ferryDownload(t, c2, n); got != sumOf(bytes.NewReader(data)) {
		t.Error("upload after the restart: content differs")
	}
}
