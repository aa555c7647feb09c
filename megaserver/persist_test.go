package megaserver_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
	"ferry/megaserver"
	"ferry/megaserver/megaservertest"
)

func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	ts := megaservertest.Start(t, megaservertest.WithDir(dir))
	c := login(t, ts, megaservertest.UserV2, megaservertest.PasswordV2)
	tr := c.fetch()
	root := tr.byType(megaapi.TypeRoot).Handle
	folder := c.mkdir(root)
	data := randBytes(400000)
	file := c.uploadFile(folder.Handle, data)
	var ph string
	c.do(map[string]any{"a": "l", "n": file.Handle}, &ph)
	dl := c.downloadURL(file.Handle)
	sn := c.fetch().SN

	// The directory is locked while a server has it open.
	if _, err := megaserver.Open(megaserver.Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "in use by another ferry server") {
		t.Errorf("second Open: %v, want an in-use error", err)
	}
	ts.Close()

	// Leftovers of a crash: a temporary upload and a blob no node uses.
	os.WriteFile(filepath.Join(dir, "tmp", "ul-123"), []byte("partial"), 0o600)
	os.WriteFile(filepath.Join(dir, "blobs", strings.Repeat("ab", 16)), []byte("orphan"), 0o600)

	ts2 := megaservertest.Start(t, megaservertest.WithDir(dir))
	c.base = ts2.URL // same sid: sessions persist
	tr2 := c.fetch()
	if len(tr2.Nodes) != len(tr.Nodes)+2 || tr2.SN != sn {
		t.Errorf("after restart: %d nodes sn %s, want %d and %s", len(tr2.Nodes), tr2.SN, len(tr.Nodes)+2, sn)
	}
	if got := c.download(file.Handle); !bytes.Equal(got, data) {
		t.Errorf("content changed across restart")
	}
	// Old download URLs keep working (only the port changed).
	old := ts2.URL + dl[strings.Index(dl, "/dl/"):]
	if status, body := get(t, old, nil); status != 200 || !bytes.Equal(body, data) {
		t.Errorf("old download URL: HTTP %d", status)
	}
	if len(tr2.PH) != 1 || tr2.PH[0].PH != ph {
		t.Errorf("link lost: %+v", tr2.PH)
	}
	if rep, code := c.poll(sn); code != 0 || rep.W == "" {
		t.Errorf("sc with the old sn: %+v %d", rep, code)
	}
	if n := countFiles(t, filepath.Join(dir, "tmp")); n != 0 {
		t.Errorf("%d temporary files survived Open", n)
	}
	if n := countFiles(t, filepath.Join(dir, "blobs")); n != 1 {
		t.Errorf("%d blobs after Open, want 1 (orphan removed)", n)
	}
	// Upload slots do not survive: -8.
	u := c.uploadURL(10, 0)
	ts2.Close()
	ts3 := megaservertest.Start(t, megaservertest.WithDir(dir))
	slot := ts3.URL + u[strings.Index(u, "/ul/"):]
	if got := postChunk(t, slot, 0, make([]byte, 10), ""); string(got) != "-8" {
		t.Errorf("upload slot after restart: %q, want -8", got)
	}
}

// ---- kill -9 ----

const childDirEnv = "MEGASERVER_TEST_CHILD_DIR"

// TestChildServer is not a test: TestKill9 runs the test binary with this
// test selected and childDirEnv set, as a server process it can SIGKILL.
func TestChildServer(t *testing.T) {
	dir := os.Getenv(childDirEnv)
	if dir == "" {
		t.Skip("helper process for TestKill9")
	}
	srv, err := megaserver.Open(megaserver.Options{Dir: dir})
	if err != nil {
		fmt.Println("ERR=" + err.Error())
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("ERR=" + err.Error())
		os.Exit(2)
	}
	go http.Serve(ln, srv)
	fmt.Printf("ADDR=%s\n", ln.Addr())
	io.Copy(io.Discard, os.Stdin) // the parent closes stdin (or dies): stop
	os.Exit(0)
}

type childServer struct {
	url string
	cmd *exec.Cmd
	in  io.WriteCloser
}

func startChild(t *testing.T, dir string) *childServer {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildServer$", "-test.count=1")
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch := &childServer{cmd: cmd, in: in}
	t.Cleanup(func() { ch.kill() })
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if addr, ok := strings.CutPrefix(line, "ADDR="); ok {
			ch.url = "http://" + addr
			break
		}
		if msg, ok := strings.CutPrefix(line, "ERR="); ok {
			t.Fatalf("child server: %s", msg)
		}
	}
	if ch.url == "" {
		t.Fatalf("child server printed no address")
	}
	go io.Copy(io.Discard, out)
	return ch
}

func (c *childServer) kill() {
	if c.cmd.ProcessState != nil {
		return
	}
	c.cmd.Process.Kill() // SIGKILL
	c.in.Close()
	c.cmd.Wait()
}

// rawClient is an error-returning client for goroutines that outlive a
// killed server.
type rawClient struct {
	base, sid string
	http      *http.Client
}

func (rc *rawClient) cs(ctx context.Context, id string, cmd any) (json.RawMessage, error) {
	body, _ := json.Marshal([]any{cmd})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, rc.base+"/cs?id="+id+"&sid="+rc.sid, bytes.NewReader(body))
	resp, err := rc.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var res []json.RawMessage
	if err := json.Unmarshal(data, &res); err != nil || len(res) != 1 {
		return nil, fmt.Errorf("reply %q", data)
	}
	if n, ok := asCode(res[0]); ok && n < 0 {
		return nil, megaapi.ErrorCode(n)
	}
	return res[0], nil
}

func (rc *rawClient) upload(ctx context.Context, id, parent string, data []byte) (megaapi.Node, error) {
	raw, err := rc.cs(ctx, id+"u", map[string]any{"a": "u", "s": len(data)})
	if err != nil {
		return megaapi.Node{}, err
	}
	var ur megaapi.UploadReply
	json.Unmarshal(raw, &ur)
	chunks := megacrypto.Chunks(int64(len(data)))
	if len(chunks) == 0 {
		chunks = []megacrypto.Chunk{{}}
	}
	var tok []byte
	for _, ch := range chunks {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("%s/%d", ur.URL, ch.Offset), bytes.NewReader(data[ch.Offset:ch.Offset+ch.Size]))
		resp, err := rc.http.Do(req)
		if err != nil {
			return megaapi.Node{}, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return megaapi.Node{}, err
		}
		if len(body) > 0 {
			tok = body
		}
	}
	if len(tok) != 36 {
		return megaapi.Node{}, fmt.Errorf("token %q", tok)
	}
	raw, err = rc.cs(ctx, id+"p", map[string]any{"a": "p", "t": parent, "n": []any{
		map[string]any{"h": string(tok), "t": 0, "a": randB64(16), "k": randB64(32)},
	}})
	if err != nil {
		return megaapi.Node{}, err
	}
	var pr megaapi.PutNodesReply
	if err := json.Unmarshal(raw, &pr); err != nil || len(pr.Nodes) != 1 {
		return megaapi.Node{}, fmt.Errorf("p reply %s", raw)
	}
	return pr.Nodes[0], nil
}

// TestKill9 kills a server process while clients upload in parallel, then
// checks that every node whose `p` returned survived with intact bytes and
// that no half-made node or orphan blob exists.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	dir := t.TempDir()
	srv, err := megaserver.Open(megaserver.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	acct, err := megaservertest.Account(megaservertest.UserV2, megaservertest.PasswordV2, megacrypto.AccountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.AddUser(context.Background(), acct, megaserver.UserOptions{}); err != nil {
		t.Fatal(err)
	}
	srv.Close()

	child := startChild(t, dir)
	sess, err := (&megaservertest.TestServer{URL: child.url}).TryLogin(context.Background(), megaservertest.UserV2, megaservertest.PasswordV2, "")
	if err != nil {
		t.Fatal(err)
	}
	rc := &rawClient{base: child.url, sid: sess.SID, http: &http.Client{Timeout: 20 * time.Second}}
	raw, err := rc.cs(context.Background(), "f0", map[string]any{"a": "f", "c": 1})
	if err != nil {
		t.Fatal(err)
	}
	var tr tree
	json.Unmarshal(raw, &tr)
	root := tr.byType(megaapi.TypeRoot).Handle

	type done struct {
		h    string
		sum  [32]byte
		size int64
	}
	var (
		mu        sync.Mutex
		completed []done
		wg        sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for w := range 4 {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), 1))
			for i := 0; ctx.Err() == nil; i++ {
				data := randBytes(rnd.IntN(700000))
				n, err := rc.upload(ctx, fmt.Sprintf("w%di%d", w, i), root, data)
				if err != nil {
					return // the server died under us
				}
				mu.Lock()
				completed = append(completed, done{n.Handle, sha256.Sum256(data), int64(len(data))})
				mu.Unlock()
			}
		})
	}
	// Kill once some uploads have completed, while others are in flight.
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(completed)
		mu.Unlock()
		if n >= 12 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	child.kill()
	cancel()
	wg.Wait()
	if len(completed) == 0 {
		t.Fatalf("no upload completed before the kill")
	}

	child2 := startChild(t, dir)
	rc.base = child2.url // the old session must still be valid
	raw, err = rc.cs(context.Background(), "f1", map[string]any{"a": "f", "c": 1})
	if err != nil {
		t.Fatalf("f with the old sid after restart: %v", err)
	}
	tr = tree{}
	json.Unmarshal(raw, &tr)
	files := map[string]megaapi.Node{}
	for _, n := range tr.Nodes {
		if n.Type == megaapi.TypeFile {
			files[n.Handle] = n
		}
	}
	for _, d := range completed {
		n, ok := files[d.h]
		if !ok {
			t.Errorf("node %s whose p returned is gone", d.h)
			continue
		}
		if n.Size != d.size {
			t.Errorf("node %s size %d, want %d", d.h, n.Size, d.size)
		}
	}
	// Every file node (also those whose reply was lost) has intact bytes of
	// its size; the ones we know have the bytes we sent.
	sums := map[string][32]byte{}
	for _, d := range completed {
		sums[d.h] = d.sum
	}
	for h, n := range files {
		raw, err := rc.cs(context.Background(), "g"+h, map[string]any{"a": "g", "g": 1, "n": h})
		if err != nil {
			t.Errorf("g %s: %v", h, err)
			continue
		}
		var g megaapi.DownloadReply
		json.Unmarshal(raw, &g)
		resp, err := http.Get(g.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || int64(len(body)) != n.Size {
			t.Errorf("node %s: HTTP %d, %d bytes, want %d", h, resp.StatusCode, len(body), n.Size)
			continue
		}
		if want, ok := sums[h]; ok && sha256.Sum256(body) != want {
			t.Errorf("node %s: bytes differ", h)
		}
	}
	if n := countFiles(t, filepath.Join(dir, "blobs")); n != len(files) {
		t.Errorf("%d blobs for %d file nodes: orphans or missing blobs", n, len(files))
	}
	if n := countFiles(t, filepath.Join(dir, "tmp")); n != 0 {
		t.Errorf("%d temporary files after restart", n)
	}
	t.Logf("%d uploads completed before the kill, %d file nodes after restart", len(completed), len(files))
}
