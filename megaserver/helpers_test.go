package megaserver_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
	"ferry/megaserver/megaservertest"
)

// client speaks raw MEGA JSON to a test server.
type client struct {
	t    testing.TB
	base string
	sid  string
	user string
	n    string // a folder link's public handle, sent as n=
	id   atomic.Int64
}

var clientIDs atomic.Int64

func newClient(t testing.TB, ts *megaservertest.TestServer, sess *megaservertest.Session) *client {
	c := &client{t: t, base: ts.URL}
	c.id.Store(clientIDs.Add(1) * 1_000_000)
	if sess != nil {
		c.sid, c.user = sess.SID, sess.User
	}
	return c
}

// login starts a test server session for email and returns a client.
func login(t testing.TB, ts *megaservertest.TestServer, email, password string) *client {
	t.Helper()
	return newClient(t, ts, ts.Login(t, email, password))
}

func (c *client) nextID() string { return strconv.FormatInt(c.id.Add(1), 10) }

// post sends body to /cs with the given id and returns status and body.
func (c *client) post(id, body string) (int, []byte) {
	c.t.Helper()
	u := c.base + "/cs?id=" + id
	if c.sid != "" {
		u += "&sid=" + c.sid
	}
	if c.n != "" {
		u += "&n=" + c.n
	}
	resp, err := http.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		c.t.Fatalf("POST /cs: %v", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("read /cs reply: %v", err)
	}
	return resp.StatusCode, data
}

// batch sends commands and returns the per-command results; a
// whole-request error fails the test.
func (c *client) batch(cmds ...any) []json.RawMessage {
	c.t.Helper()
	body, err := json.Marshal(cmds)
	if err != nil {
		c.t.Fatal(err)
	}
	status, data := c.post(c.nextID(), string(body))
	if status != http.StatusOK {
		c.t.Fatalf("cs %s: HTTP %d", body, status)
	}
	var res []json.RawMessage
	if err := json.Unmarshal(data, &res); err != nil {
		c.t.Fatalf("cs %s: reply %q is not an array", abbrev(body), abbrev(data))
	}
	if len(res) != len(cmds) {
		c.t.Fatalf("cs: %d results for %d commands", len(res), len(cmds))
	}
	return res
}

// do sends one command and decodes a successful result into out.
func (c *client) do(cmd any, out any) {
	c.t.Helper()
	res := c.batch(cmd)[0]
	if code, ok := asCode(res); ok && code < 0 {
		c.t.Fatalf("command %s: error %d", abbrev(mustJSON(cmd)), code)
	}
	if out != nil {
		if err := json.Unmarshal(res, out); err != nil {
			c.t.Fatalf("decode %s: %v", abbrev(res), err)
		}
	}
}

// code sends one command and returns its numeric result (0 or an error);
// a non-numeric result fails the test.
func (c *client) code(cmd any) int {
	c.t.Helper()
	res := c.batch(cmd)[0]
	code, ok := asCode(res)
	if !ok {
		c.t.Fatalf("command %s: want a number, got %s", abbrev(mustJSON(cmd)), abbrev(res))
	}
	return code
}

func asCode(raw []byte) (int, bool) {
	var n int
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, false
	}
	return n, true
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func abbrev(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

type tree struct {
	Nodes []megaapi.Node         `json:"f"`
	OK    []json.RawMessage      `json:"ok"`
	S     []json.RawMessage      `json:"s"`
	U     []json.RawMessage      `json:"u"`
	SN    string                 `json:"sn"`
	PH    []megaapi.PublicLink   `json:"ph"`
	Extra map[string]interface{} `json:"-"`
}

func (tr *tree) byType(t int) megaapi.Node {
	for _, n := range tr.Nodes {
		if n.Type == t {
			return n
		}
	}
	return megaapi.Node{}
}

func (tr *tree) find(h string) (megaapi.Node, bool) {
	for _, n := range tr.Nodes {
		if n.Handle == h {
			return n, true
		}
	}
	return megaapi.Node{}, false
}

func (c *client) fetch() *tree {
	c.t.Helper()
	var tr tree
	c.do(map[string]any{"a": "f", "c": 1}, &tr)
	return &tr
}

func (c *client) root() string {
	c.t.Helper()
	return c.fetch().byType(megaapi.TypeRoot).Handle
}

func randB64(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return megacrypto.B64Encode(b)
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// mkdir creates a folder and returns its node.
func (c *client) mkdir(parent string) megaapi.Node {
	c.t.Helper()
	var rep megaapi.PutNodesReply
	c.do(map[string]any{"a": "p", "t": parent, "n": []any{
		map[string]any{"h": "xxxxxxxx", "t": 1, "a": randB64(32), "k": randB64(16)},
	}}, &rep)
	if len(rep.Nodes) != 1 {
		c.t.Fatalf("mkdir: %d nodes", len(rep.Nodes))
	}
	return rep.Nodes[0]
}

// uploadURL asks for an upload slot.
func (c *client) uploadURL(size int64, v int) string {
	c.t.Helper()
	cmd := map[string]any{"a": "u", "s": size}
	if v > 0 {
		cmd["v"] = v
	}
	var rep megaapi.UploadReply
	c.do(cmd, &rep)
	return rep.URL
}

// postChunk posts data at off and returns the reply body.
func postChunk(t testing.TB, url string, off int64, data []byte, query string) []byte {
	t.Helper()
	u := fmt.Sprintf("%s/%d%s", url, off, query)
	resp, err := http.Post(u, "application/octet-stream", bytes.NewReader(data))
	if err != nil {
		t.Fatalf("POST chunk: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST chunk: HTTP %d", resp.StatusCode)
	}
	return body
}

// uploadAll posts data chunk by chunk and returns the completion token
// as the client would send it in `p`.
func (c *client) uploadAll(data []byte, v int) string {
	c.t.Helper()
	url := c.uploadURL(int64(len(data)), v)
	var tok []byte
	chunks := megacrypto.Chunks(int64(len(data)))
	if len(chunks) == 0 {
		chunks = []megacrypto.Chunk{{Offset: 0, Size: 0}}
	}
	for _, ch := range chunks {
		body := postChunk(c.t, url, ch.Offset, data[ch.Offset:ch.Offset+ch.Size], "")
		if len(body) > 0 {
			tok = body
		}
	}
	return tokenForP(c.t, tok, v)
}

func tokenForP(t testing.TB, tok []byte, v int) string {
	t.Helper()
	if v >= 2 {
		if len(tok) != 36 || tok[35] != 1 {
			t.Fatalf("binary completion token %q", tok)
		}
		return megacrypto.B64Encode(tok)
	}
	if len(tok) != 36 {
		t.Fatalf("text completion token %q", tok)
	}
	return string(tok)
}

// putFile creates a file node from a completion token.
func (c *client) putFile(parent, token string) megaapi.Node {
	c.t.Helper()
	var rep megaapi.PutNodesReply
	c.do(map[string]any{"a": "p", "t": parent, "n": []any{
		map[string]any{"h": token, "t": 0, "a": randB64(32), "k": randB64(32)},
	}}, &rep)
	if len(rep.Nodes) != 1 {
		c.t.Fatalf("put file: %d nodes", len(rep.Nodes))
	}
	return rep.Nodes[0]
}

// uploadFile uploads data into parent and returns the node.
func (c *client) uploadFile(parent string, data []byte) megaapi.Node {
	c.t.Helper()
	return c.putFile(parent, c.uploadAll(data, 0))
}

// downloadURL returns the `g` URL of an own node.
func (c *client) downloadURL(h string) string {
	c.t.Helper()
	var rep megaapi.DownloadReply
	c.do(map[string]any{"a": "g", "g": 1, "n": h}, &rep)
	return rep.URL
}

func get(t testing.TB, url string, hdr map[string]string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET body: %v", err)
	}
	return resp.StatusCode, body
}

func (c *client) download(h string) []byte {
	c.t.Helper()
	status, body := get(c.t, c.downloadURL(h), nil)
	if status != http.StatusOK {
		c.t.Fatalf("download %s: HTTP %d", h, status)
	}
	return body
}
