package megaserver_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/mega/megaapi"
	"ferry/megaserver"
	"ferry/megaserver/megaservertest"
)

// dialFrom opens a TCP connection to the server from a loopback address
// of its own (127.0.0.0/8 is all loopback on Linux), so tests can play
// several remote hosts.
func dialFrom(t testing.TB, ts *megaservertest.TestServer, ip string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatalf("dial from %s: %v", ip, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitClosed reads from c until the server closes it, and returns how long
// that took; it fails the test if c is still open after limit.
func waitClosed(t testing.TB, c net.Conn, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	c.SetReadDeadline(start.Add(limit))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %v", limit)
	}
	return time.Since(start)
}

// roundTrip sends one keep-alive request on c and returns the status.
func roundTrip(c net.Conn, br *bufio.Reader, path string) (int, error) {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestLimitSlowBodyIsCut(t *testing.T) {
	ts := megaservertest.Start(t, megaservertest.WithLimits(megaserver.Limits{BodyTimeout: 300 * time.Millisecond}))
	for _, tc := range []struct {
		name, path string
	}{
		{"cs", "/cs"},
		{"ul", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.path == "" {
				c := login(t, ts, megaservertest.UserV2, megaservertest.PasswordV2)
				tc.path = strings.TrimPrefix(c.uploadURL(2000000000, 0), ts.URL) + "/0"
			}
			// The attack of the issue: a 2 GB body announced, two bytes sent.
			c := dialFrom(t, ts, "127.0.0.1")
			fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000000\r\n\r\n[{", tc.path)
			if d := waitClosed(t, c, 5*time.Second); d < 200*time.Millisecond {
				t.Errorf("closed after %v, before the body timeout", d)
			}
		})
	}
	t.Run("trickle", func(t *testing.T) {
		// A byte every 50 ms never pauses for BodyTimeout but stays far
		// below MinBodyRate (1 KiB/s): cut after about BodyTimeout.
		c := dialFrom(t, ts, "127.0.0.1")
		fmt.Fprintf(c, "POST /cs HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; i < 200; i++ {
				if _, err := c.Write([]byte(" ")); err != nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
		if d := waitClosed(t, c, 5*time.Second); d > 2*time.Second {
			t.Errorf("trickling body cut after %v", d)
		}
		c.Close()
		<-done
	})
	t.Run("silent", func(t *testing.T) {
		ts := megaservertest.Start(t, megaservertest.WithLimits(megaserver.Limits{ReadHeaderTimeout: 300 * time.Millisecond}))
		c := dialFrom(t, ts, "127.0.0.1")
		if d := waitClosed(t, c, 5*time.Second); d < 200*time.Millisecond {
			t.Errorf("closed after %v, before the header timeout", d)
		}
	})
	t.Run("steady upload survives", func(t *testing.T) {
		// Pauses shorter than BodyTimeout at a rate above MinBodyRate: the
		// request takes several BodyTimeouts and succeeds.
		c := login(t, ts, megaservertest.UserV2, megaservertest.PasswordV2)
		const size = 64 << 10
		url := c.uploadURL(size, 0)
		pr, pw := io.Pipe()
		go func() {
			chunk := make([]byte, size/8)
			for i := 0; i < 8; i++ {
				time.Sleep(150 * time.Millisecond)
				pw.Write(chunk)
			}
			pw.Close()
		}()
		req, _ := http.NewRequest(http.MethodPost, url+"/0", pr)
		req.ContentLength = size
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if len(body) != 36 {
			t.Errorf("steady upload: reply %q, want a completion token", body)
		}
	})
}

func TestLimitStalledDownloadIsCut(t *testing.T) {
	// The timeout leaves a reading client (below) room for the scheduling
	// stalls of a loaded machine under the race detector: at 300 ms one
	// was cut in CI.
	ts := megaservertest.Start(t, megaservertest.WithLimits(megaserver.Limits{WriteTimeout: time.Second}))
	c := login(t, ts, megaservertest.UserV2, megaservertest.PasswordV2)
	const size = 48 << 20 // far more than the socket buffers hold
	n := c.uploadFile(c.root(), make([]byte, size))
	url := c.downloadURL(n.Handle)
	for _, path := range []string{"", "/0-" + fmt.Sprint(size-1)} {
		conn := dialFrom(t, ts, "127.0.0.1")
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetReadBuffer(64 << 10)
		}
		fmt.Fprintf(conn, "GET %s%s HTTP/1.1\r\nHost: x\r\n\r\n", strings.TrimPrefix(url, ts.URL), path)
		time.Sleep(3 * time.Second) // a client that does not read
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		got, _ := io.Copy(io.Discard, conn)
		if got >= size {
			t.Errorf("GET %q: a client that stopped reading got all %d bytes; want the server to give up", path, got)
		}
	}
	// A client that reads gets everything, however long it takes.
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got, err := io.Copy(io.Discard, resp.Body); got != size || err != nil {
		t.Errorf("download: %d bytes, %v; want %d", got, err, size)
	}
}

func TestLimitConnections(t *testing.T) {
	ts := megaservertest.Start(t, megaservertest.WithLimits(megaserver.Limits{MaxConns: 6, MaxConnsPerIP: 4}))
	type conn struct {
		c  net.Conn
		br *bufio.Reader
	}
	dial := func(ip string) conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
		if err != nil {
			// A refused connection can be reset before connect returns.
			return conn{}
		}
		t.Cleanup(func() { c.Close() })
		return conn{c, bufio.NewReader(c)}
	}
	served := func(c conn) bool {
		if c.c == nil {
			return false
		}
		status, err := roundTrip(c.c, c.br, "/cs")
		return err == nil && status == http.StatusMethodNotAllowed
	}
	var heavy []conn
	for i := 0; i < 4; i++ {
		c := dial("127.0.0.2")
		if !served(c) {
			t.Fatalf("connection %d from 127.0.0.2 not served", i)
		}
		heavy = append(heavy, c)
	}
	if served(dial("127.0.0.2")) {
		t.Errorf("a 5th connection from 127.0.0.2 was served; the per-address limit is 4")
	}
	for i := 0; i < 2; i++ {
		if !served(dial("127.0.0.3")) {
			t.Fatalf("connection %d from 127.0.0.3 not served", i)
		}
	}
	if n, _, _ := ts.Server.ConnStats(); n != 6 {
		t.Errorf("open connections = %d, want 6", n)
	}
	// The total is reached: a newcomer evicts the oldest connection of the
	// address holding the most (127.0.0.2), and is served.
	if !served(dial("127.0.0.1")) {
		t.Errorf("a client from a third address was not served at the total limit")
	}
	if served(heavy[0]) {
		t.Errorf("the oldest connection of the heaviest address survived the eviction")
	}
	for i, c := range heavy[1:] {
		if !served(c) {
			t.Errorf("connection %d of 127.0.0.2 was closed; only the oldest should be", i+1)
		}
	}
	// 127.0.0.3 holds 2, 127.0.0.1 holds 1: another from 127.0.0.3 is not
	// heavier than anybody, so it is refused.
	if served(dial("127.0.0.3")) {
		t.Errorf("a 3rd connection from 127.0.0.3 was served beyond the total limit")
	}
	open, refused, evicted := ts.Server.ConnStats()
	if open != 6 || refused != 2 || evicted != 1 {
		t.Errorf("ConnStats = open %d, refused %d, evicted %d; want 6, 2, 1", open, refused, evicted)
	}
}

func TestLimitFetchesPerBatch(t *testing.T) {
	ts := megaservertest.Start(t)
	if err := megaservertest.FillFolders(t.Context(), ts.URL, megaservertest.UserV2, megaservertest.PasswordV2, 2000,
		func(i int) string { return fmt.Sprintf("folder %d", i) }); err != nil {
		t.Fatal(err)
	}
	c := login(t, ts, megaservertest.UserV2, megaservertest.PasswordV2)
	_, single := c.post(c.nextID(), `[{"a":"f","c":1}]`)
	cmds := make([]any, 100)
	for i := range cmds {
		cmds[i] = map[string]any{"a": "f", "c": 1}
	}
	body, _ := json.Marshal(cmds)
	status, reply := c.post(c.nextID(), string(body))
	if status != http.StatusOK {
		t.Fatalf("HTTP %d", status)
	}
	if max := len(single) + 100*4; len(reply) > max {
		t.Errorf("100 f in one %d-byte batch: %d-byte reply, want at most %d (one tree)", len(body), len(reply), max)
	}
	var res []json.RawMessage
	if err := json.Unmarshal(reply, &res); err != nil || len(res) != 100 {
		t.Fatalf("reply: %d results, %v", len(res), err)
	}
	if res[0][0] != '{' {
		t.Errorf("first f: %s, want the tree", abbrev(res[0]))
	}
	for i, r := range res[1:] {
		if code, ok := asCode(r); !ok || code != int(megaapi.EAGAIN) {
			t.Fatalf("f %d: %s, want -3 (EAGAIN)", i+1, abbrev(r))
		}
	}

	// A batch longer than MaxBatchCommands is refused as a whole.
	long := make([]any, megaserver.DefaultLimits.MaxBatchCommands+1)
	for i := range long {
		long[i] = map[string]any{"a": "ug"}
	}
	body, _ = json.Marshal(long)
	if _, reply := c.post(c.nextID(), string(body)); string(reply) != "-2" {
		t.Errorf("batch of %d: %q, want -2", len(long), abbrev(reply))
	}
}

func TestLimitQuotaBatchIsCheap(t *testing.T) {
	ts := megaservertest.Start(t)
	if err := megaservertest.FillFolders(t.Context(), ts.URL, megaservertest.UserV2, megaservertest.PasswordV2, 10000,
		func(i int) string { return fmt.Sprintf("folder %d", i) }); err != nil {
		t.Fatal(err)
	}
	c := login(t, ts, megaservertest.UserV2, megaservertest.PasswordV2)
	cmds := make([]any, 1000)
	for i := range cmds {
		cmds[i] = map[string]any{"a": "uq", "strg": 1, "xfer": 1}
	}
	start := time.Now()
	res := c.batch(cmds...)
	elapsed := time.Since(start)
	for i, r := range res {
		if !bytes.Equal(r, res[0]) {
			t.Fatalf("uq %d: %s differs from the first %s", i, abbrev(r), abbrev(res[0]))
		}
	}
	var q megaapi.QuotaReply
	if err := json.Unmarshal(res[0], &q); err != nil {
		t.Fatal(err)
	}
	root := c.root()
	if got := q.Cstrgn[root]; len(got) < 3 || got[2] != 10000 {
		t.Errorf("cstrgn[root] = %v, want 10000 folders", got)
	}
	// Each uq walking the 10,000 nodes took about 15 s here.
	if limit := 3 * time.Second; elapsed > limit {
		t.Errorf("1000 uq on a 10,000-node tree took %v, want under %v", elapsed, limit)
	}
	t.Logf("1000 uq on a 10,000-node tree: %v", elapsed)

	// The cached numbers follow the tree.
	c.uploadFile(root, make([]byte, 1000))
	c.do(map[string]any{"a": "uq", "strg": 1}, &q)
	if got := q.Cstrgn[root]; len(got) < 2 || got[0] != 1000 || got[1] != 1 {
		t.Errorf("after an upload cstrgn[root] = %v, want 1000 bytes in 1 file", got)
	}
	// A change between two uq in one batch would need a second walk.
	mk := func() any {
		return map[string]any{"a": "p", "t": root, "n": []any{map[string]any{"h": "xxxxxxxx", "t": 1, "a": randB64(32), "k": randB64(16)}}}
	}
	res = c.batch(mk(), map[string]any{"a": "uq", "strg": 1}, mk(), map[string]any{"a": "uq", "strg": 1})
	if res[1][0] != '{' {
		t.Errorf("first uq after a change: %s", abbrev(res[1]))
	}
	if code, ok := asCode(res[3]); !ok || code != int(megaapi.EAGAIN) {
		t.Errorf("second walking uq in a batch: %s, want -3", abbrev(res[3]))
	}
}

func TestLimitUploadSlotsExpire(t *testing.T) {
	ttl := 300 * time.Millisecond
	ts := megaservertest.Start(t, megaservertest.WithLimits(megaserver.Limits{UploadIdleTTL: ttl}))
	c := login(t, ts, megaservertest.UserV2, megaservertest.PasswordV2)
	idle := c.uploadURL(1000, 0)
	busy := c.uploadURL(1000, 0)

	// busy receives its body over 4 TTLs: a slot with data arriving stays.
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < 10; i++ {
			pw.Write(make([]byte, 100))
			time.Sleep(ttl / 3)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, busy+"/0", pr)
	req.ContentLength = 1000
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(tok) != 36 {
		t.Errorf("slow but steady upload: %q, want a completion token", tok)
	}
	if got := postChunk(t, idle, 0, make([]byte, 1000), ""); string(got) != "-8" {
		t.Errorf("slot idle for %v: %q, want -8 (EEXPIRED)", 4*ttl, got)
	}
	// The finished upload was not turned into a node: it goes too.
	time.Sleep(2 * ttl)
	if code := c.code(map[string]any{"a": "p", "t": c.root(), "n": []any{
		map[string]any{"h": string(tok), "t": 0, "a": randB64(32), "k": randB64(32)},
	}}); code != int(megaapi.ENOENT) {
		t.Errorf("p of an upload finished %v ago: %d, want -9", 2*ttl, code)
	}
}

func TestLimitUploadSlotsRecycled(t *testing.T) {
	ts := megaservertest.Start(t, megaservertest.WithLimits(megaserver.Limits{MaxUploadsPerUser: 3}))
	c := login(t, ts, megaservertest.UserV2, megaservertest.PasswordV2)
	var urls []string
	for i := 0; i < 3; i++ {
		urls = append(urls, c.uploadURL(10, 0))
		time.Sleep(5 * time.Millisecond)
	}
	// Killed clients left 3 slots: a new upload recycles the oldest.
	fresh := c.uploadURL(10, 0)
	if fresh == "" {
		t.Fatal("no upload URL at the limit")
	}
	if got := postChunk(t, urls[0], 0, make([]byte, 10), ""); string(got) != "-8" {
		t.Errorf("recycled slot: %q, want -8", got)
	}
	for _, u := range append(urls[1:], fresh) {
		if got := postChunk(t, u, 0, make([]byte, 10), ""); len(got) != 36 {
			t.Errorf("slot %s: %q, want a completion token", u, got)
		}
	}

	// Only slots receiving data hold their place: with every slot busy,
	// `u` answers -6.
	ts = megaservertest.Start(t, megaservertest.WithLimits(megaserver.Limits{MaxUploadsPerUser: 1}))
	c = login(t, ts, megaservertest.UserV2, megaservertest.PasswordV2)
	url := c.uploadURL(1000, 0)
	deadline := time.Now().Add(10 * time.Second)
	for {
		// Start a POST that sends 2 of its 1000 bytes and stalls, so the
		// slot has a POST in progress.
		conn := dialFrom(t, ts, "127.0.0.1")
		fmt.Fprintf(conn, "POST %s/0 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nxx", strings.TrimPrefix(url, ts.URL))
		time.Sleep(50 * time.Millisecond)
		code := c.batch(map[string]any{"a": "u", "s": 10})[0]
		if n, ok := asCode(code); ok && n == int(megaapi.ETOOMANY) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("u with the only slot busy: %s, want -6", abbrev(code))
		}
		// The POST had not begun when u came (a loaded machine), so u
		// recycled its slot and gave a new one: hold that one instead.
		var rep struct {
			P string `json:"p"`
		}
		if err := json.Unmarshal(code, &rep); err != nil || rep.P == "" {
			t.Fatalf("u: %s, want an upload URL or -6", abbrev(code))
		}
		url = rep.P
	}
}

func TestLimitOversizeBodyGetsCode(t *testing.T) {
	ts := megaservertest.Start(t, megaservertest.WithMaxRequestBytes(1<<10))
	c := login(t, ts, megaservertest.UserV2, megaservertest.PasswordV2)
	const size = 8 << 20
	// send writes the whole request before reading the reply, as simple
	// clients do, and returns the reply's status line and body.
	send := func(path string, chunked bool) (string, error) {
		conn := dialFrom(t, ts, "127.0.0.1")
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", path, size)
		body := bytes.Repeat([]byte(" "), size)
		if chunked {
			head = fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n", path, size)
			body = append(body, "\r\n0\r\n\r\n"...)
		}
		if _, err := conn.Write(append([]byte(head), body...)); err != nil {
			return "", fmt.Errorf("write: %w", err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			return "", fmt.Errorf("read reply: %w", err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, b), err
	}
	url := strings.TrimPrefix(c.uploadURL(1000, 0), ts.URL)
	for _, tc := range []struct {
		name, path, want string
	}{
		{"cs", "/cs?id=1", "200 -2"},
		{"ul longer than the slot", url + "/0", "200 -7"},
		{"ul unknown slot", "/ul/nosuchslot/0", "200 -8"},
	} {
		for _, chunked := range []bool{false, true} {
			got, err := send(tc.path, chunked)
			if err != nil || got != tc.want {
				t.Errorf("%s (%d bytes, chunked %v): %q, %v; want %q", tc.name, size, chunked, got, err, tc.want)
			}
		}
	}
}

// logCapture records the messages logged at any level.
type logCapture struct {
	mu   sync.Mutex
	msgs []string
}

func (h *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (h *logCapture) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.msgs = append(h.msgs, r.Message)
	h.mu.Unlock()
	return nil
}
func (h *logCapture) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logCapture) WithGroup(string) slog.Handler      { return h }

func TestDropFaultWritesNothingAfterHijack(t *testing.T) {
	logs := &logCapture{}
	ts := megaservertest.Start(t, megaservertest.WithFaults("drop=0.5,seed=3"), megaservertest.WithLogger(slog.New(logs)))
	var sess *megaservertest.Session
	for i := 0; sess == nil && i < 100; i++ {
		sess, _ = ts.TryLogin(t.Context(), megaservertest.UserV2, megaservertest.PasswordV2, "")
	}
	if sess == nil {
		t.Fatal("no login through the drops")
	}
	c := newClient(t, ts, sess)
	var url string
	for i := 0; url == "" && i < 100; i++ { // the replay cache gives the same slot on a retry
		resp, err := http.Post(c.base+"/cs?id=1&sid="+c.sid, "application/json", strings.NewReader(`[{"a":"u","s":3000000}]`))
		if err != nil {
			continue
		}
		var rep []megaapi.UploadReply
		if json.NewDecoder(resp.Body).Decode(&rep) == nil && len(rep) == 1 {
			url = rep[0].URL
		}
		resp.Body.Close()
	}
	if url == "" {
		t.Fatal("no upload slot through the drops")
	}
	for i := 0; i < 10; i++ {
		resp, err := http.Post(url+"/0", "application/octet-stream", bytes.NewReader(make([]byte, 262144)))
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		get, err := http.Get(c.base + "/cs")
		if err == nil {
			get.Body.Close()
		}
	}
	ts.Close()
	logs.mu.Lock()
	defer logs.mu.Unlock()
	var dropped int
	for _, m := range logs.msgs {
		if strings.Contains(m, "hijacked") {
			t.Errorf("server log: %s", m)
		}
		if strings.Contains(m, "dropping connection") {
			dropped++
		}
	}
	if dropped == 0 {
		t.Errorf("no connection was dropped; the test tests nothing")
	}
}
