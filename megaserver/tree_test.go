package megaserver_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ferry/mega/megaapi"
	"ferry/megaserver/megaservertest"
)

func TestFetchFreshAccount(t *testing.T) {
	ts := megaservertest.Start(t)
	c := login(t, ts, megaservertest.UserV2, megaservertest.PasswordV2)
	_, body := c.post(c.nextID(), `[{"a":"f","c":1}]`)
	var res []map[string]json.RawMessage
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatalf("f reply %q: %v", body, err)
	}
	for _, k := range []string{"f", "ok", "s", "u", "sn", "ph"} {
		if _, ok := res[0][k]; !ok {
			t.Errorf("f reply lacks %q: %s", k, body)
		}
	}
	tr := c.fetch()
	if len(tr.Nodes) != 3 {
		t.Fatalf("fresh account has %d nodes, want 3", len(tr.Nodes))
	}
	for i, n := range tr.Nodes {
		if n.Type != i+2 || n.Owner != c.user || n.Parent != "" || len(n.Handle) != 8 || n.TS == 0 {
			t.Errorf("root %d = %+v", i, n)
		}
	}
	if tr.SN != "AAAAAAAAAAA" {
		t.Errorf("sn = %q, want AAAAAAAAAAA", tr.SN)
	}
}

func TestTreeOperations(t *testing.T) {
	ts := megaservertest.Start(t)
	c := login(t, ts, megaservertest.UserV2, megaservertest.PasswordV2)
	tr := c.fetch()
	root, rubbish := tr.byType(megaapi.TypeRoot).Handle, tr.byType(megaapi.TypeRubbish).Handle

	a := c.mkdir(root)
	if a.Parent != root || a.Type != 1 || !strings.HasPrefix(a.Key, c.user+":") || a.Owner != c.user {
		t.Errorf("mkdir node = %+v", a)
	}
	b := c.mkdir(a.Handle)
	data := randBytes(300000)
	f := c.uploadFile(b.Handle, data)
	if f.Size != int64(len(data)) || f.Parent != b.Handle || f.Type != 0 || len(f.Key) != 11+1+43 {
		t.Errorf("file node = %+v", f)
	}

	// parents before children
	tr = c.fetch()
	seen := map[string]bool{}
	for _, n := range tr.Nodes {
		if n.Parent != "" && !seen[n.Parent] {
			t.Errorf("node %s listed before its parent %s", n.Handle, n.Parent)
		}
		seen[n.Handle] = true
	}
	if len(tr.Nodes) != 6 {
		t.Errorf("%d nodes, want 6", len(tr.Nodes))
	}

	t.Run("move errors", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			n, t string
			want int
		}{
			{"into own subtree", a.Handle, b.Handle, -10},
			{"into itself", a.Handle, a.Handle, -10},
			{"into a file", a.Handle, f.Handle, -2},
			{"root", root, a.Handle, -11},
			{"missing node", "AAAAAAAA", root, -9},
			{"missing target", a.Handle, "AAAAAAAA", -9},
		} {
			if got := c.code(map[string]any{"a": "m", "n": tc.n, "t": tc.t}); got != tc.want {
				t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
			}
		}
	})

	t.Run("rename", func(t *testing.T) {
		at := randB64(48)
		if got := c.code(map[string]any{"a": "a", "n": f.Handle, "at": at}); got != 0 {
			t.Fatalf("a = %d", got)
		}
		at2 := randB64(16)
		if got := c.code(map[string]any{"a": "a", "n": f.Handle, "attr": at2, "key": randB64(32)}); got != 0 {
			t.Fatalf("a with attr = %d", got)
		}
		n, _ := c.fetch().find(f.Handle)
		if n.Attr != at2 {
			t.Errorf("attr = %q, want %q", n.Attr, at2)
		}
		for _, bad := range []any{"", "AAAA", "!!!!", randB64(15), 7} {
			if got := c.code(map[string]any{"a": "a", "n": f.Handle, "at": bad}); got != -2 {
				t.Errorf("a with at=%v: %d, want -2", bad, got)
			}
		}
		if got := c.code(map[string]any{"a": "a", "n": root, "at": at}); got != -11 {
			t.Errorf("rename root: %d, want -11", got)
		}
	})

	t.Run("put errors", func(t *testing.T) {
		folder := func(k string, a any) map[string]any {
			return map[string]any{"a": "p", "t": root, "n": []any{map[string]any{"h": "xxxxxxxx", "t": 1, "a": a, "k": k}}}
		}
		for _, tc := range []struct {
			name string
			cmd  any
			want int
		}{
			{"bad key", folder(randB64(32), randB64(16)), -2},
			{"bad attr", folder(randB64(16), randB64(10)), -2},
			{"no nodes", map[string]any{"a": "p", "t": root, "n": []any{}}, -2},
			{"bad type", map[string]any{"a": "p", "t": root, "n": []any{map[string]any{"h": "x", "t": 2, "a": randB64(16), "k": randB64(16)}}}, -2},
			{"unknown token", map[string]any{"a": "p", "t": root, "n": []any{map[string]any{"h": randB64(27), "t": 0, "a": randB64(16), "k": randB64(32)}}}, -9},
			{"missing target", map[string]any{"a": "p", "t": "AAAAAAAA", "n": []any{map[string]any{"h": "x", "t": 1, "a": randB64(16), "k": randB64(16)}}}, -9},
			{"file target", map[string]any{"a": "p", "t": f.Handle, "n": []any{map[string]any{"h": "x", "t": 1, "a": randB64(16), "k": randB64(16)}}}, -2},
		} {
			if got := c.code(tc.cmd); got != tc.want {
				t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
			}
		}
	})

	t.Run("sdk batch with placeholders", func(t *testing.T) {
		var rep megaapi.PutNodesReply
		c.do(map[string]any{"a": "p", "t": root, "n": []any{
			map[string]any{"h": "tmp1", "t": 1, "a": randB64(16), "k": randB64(16)},
			map[string]any{"h": "tmp2", "p": "tmp1", "t": 1, "a": randB64(16), "k": randB64(16)},
		}}, &rep)
		if len(rep.Nodes) != 2 || rep.Nodes[1].Parent != rep.Nodes[0].Handle || rep.Nodes[0].Parent != root {
			t.Errorf("batch nodes = %+v", rep.Nodes)
		}
		c.code(map[string]any{"a": "d", "n": rep.Nodes[0].Handle})
	})

	t.Run("link", func(t *testing.T) {
		var ph, ph2 string
		c.do(map[string]any{"a": "l", "n": f.Handle}, &ph)
		c.do(map[string]any{"a": "l", "n": f.Handle}, &ph2)
		if len(ph) != 8 || ph != ph2 {
			t.Errorf("l = %q then %q, want the same 8-char handle", ph, ph2)
		}
		tr := c.fetch()
		if len(tr.PH) != 1 || tr.PH[0].PH != ph || tr.PH[0].Handle != f.Handle {
			t.Errorf("f ph = %+v", tr.PH)
		}
		anon := newClient(t, ts, nil)
		var g megaapi.DownloadReply
		anon.do(map[string]any{"a": "g", "g": 1, "p": ph}, &g)
		if g.Size != int64(len(data)) || g.URL == "" {
			t.Errorf("public g = %+v", g)
		}
		status, body := get(t, g.URL, nil)
		if status != 200 || !bytes.Equal(body, data) {
			t.Errorf("public download: HTTP %d, %d bytes", status, len(body))
		}
		if got := c.code(map[string]any{"a": "l", "n": f.Handle, "d": 1}); got != 0 {
			t.Errorf("l d:1 = %d", got)
		}
		if got := anon.code(map[string]any{"a": "g", "g": 1, "p": ph}); got != -9 {
			t.Errorf("g on removed link = %d, want -9", got)
		}
		if got := c.code(map[string]any{"a": "l", "n": f.Handle, "d": 1}); got != -9 {
			t.Errorf("second l d:1 = %d, want -9", got)
		}
		if got := c.code(map[string]any{"a": "l", "n": root}); got != -11 {
			t.Errorf("l root = %d, want -11", got)
		}
	})

	t.Run("quota", func(t *testing.T) {
		var q megaapi.QuotaReply
		c.do(map[string]any{"a": "uq", "strg": 1, "xfer": 1}, &q)
		if q.Cstrg != int64(len(data)) || q.Mstrg <= q.Cstrg {
			t.Errorf("uq = %+v", q)
		}
		if got := q.Cstrgn[root]; len(got) != 5 || got[0] != int64(len(data)) || got[1] != 1 || got[2] < 2 {
			t.Errorf("cstrgn[root] = %v", got)
		}
	})

	t.Run("trash, delete and empty rubbish", func(t *testing.T) {
		if got := c.code(map[string]any{"a": "m", "n": a.Handle, "t": rubbish}); got != 0 {
			t.Fatalf("move to rubbish = %d", got)
		}
		tr := c.fetch()
		if n, _ := tr.find(a.Handle); n.Parent != rubbish {
			t.Errorf("after move parent = %q", n.Parent)
		}
		blobs := countFiles(t, filepath.Join(ts.Dir, "blobs"))
		if blobs != 1 {
			t.Errorf("%d blobs before delete, want 1", blobs)
		}
		if got := c.code(map[string]any{"a": "dr"}); got != 0 {
			t.Fatalf("dr = %d", got)
		}
		tr = c.fetch()
		if len(tr.Nodes) != 3 {
			t.Errorf("%d nodes after dr, want 3", len(tr.Nodes))
		}
		if n := countFiles(t, filepath.Join(ts.Dir, "blobs")); n != 0 {
			t.Errorf("%d blobs after dr, want 0", n)
		}
		var q megaapi.QuotaReply
		c.do(map[string]any{"a": "uq", "strg": 1}, &q)
		if q.Cstrg != 0 {
			t.Errorf("used after dr = %d", q.Cstrg)
		}
		for _, r := range []string{root, rubbish} {
			if got := c.code(map[string]any{"a": "d", "n": r}); got != -11 {
				t.Errorf("d root = %d, want -11", got)
			}
		}
		x := c.mkdir(root)
		c.uploadFile(x.Handle, []byte("hello"))
		if got := c.code(map[string]any{"a": "d", "n": x.Handle}); got != 0 {
			t.Errorf("d = %d", got)
		}
		if got := c.code(map[string]any{"a": "d", "n": x.Handle}); got != -9 {
			t.Errorf("d again = %d, want -9", got)
		}
		if len(c.fetch().Nodes) != 3 {
			t.Errorf("subtree not deleted")
		}
	})
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

func TestQuotaEnforced(t *testing.T) {
	ts := megaservertest.Start(t)
	ts.AddUser(t, "erin@example.com", "pw erin", megaservertest.UserOpts{QuotaBytes: 1000})
	c := login(t, ts, "erin@example.com", "pw erin")
	root := c.root()
	if got := c.code(map[string]any{"a": "u", "s": 1001}); got != -17 {
		t.Errorf("u over quota = %d, want -17", got)
	}
	tok1 := c.uploadAll(randBytes(600), 0)
	tok2 := c.uploadAll(randBytes(600), 0)
	c.putFile(root, tok1)
	if got := c.code(map[string]any{"a": "p", "t": root, "n": []any{map[string]any{"h": tok2, "t": 0, "a": randB64(16), "k": randB64(32)}}}); got != -17 {
		t.Errorf("p over quota = %d, want -17", got)
	}
	var q megaapi.QuotaReply
	c.do(map[string]any{"a": "uq", "strg": 1}, &q)
	if q.Mstrg != 1000 || q.Cstrg != 600 {
		t.Errorf("uq = %+v", q)
	}
}

func TestReplayCache(t *testing.T) {
	ts := megaservertest.Start(t)
	c := login(t, ts, megaservertest.UserV2, megaservertest.PasswordV2)
	root := c.root()
	body := string(mustJSON([]any{map[string]any{"a": "p", "t": root, "n": []any{
		map[string]any{"h": "xxxxxxxx", "t": 1, "a": randB64(16), "k": randB64(16)},
	}}}))
	_, r1 := c.post("424242", body)
	_, r2 := c.post("424242", body)
	if !bytes.Equal(r1, r2) {
		t.Errorf("replayed reply differs:\n%s\n%s", r1, r2)
	}
	if n := len(c.fetch().Nodes); n != 4 {
		t.Errorf("%d nodes after a replayed p, want 4", n)
	}
	// Same id with another body executes.
	_, r3 := c.post("424242", strings.Replace(body, `"t":1`, `"t":1 `, 1))
	if bytes.Equal(r1, r3) {
		t.Errorf("different body got the cached reply")
	}
	// An upload token retried after its p succeeded still gets the node.
	tok := c.uploadAll([]byte("replay me"), 2)
	pb := string(mustJSON([]any{map[string]any{"a": "p", "t": root, "n": []any{
		map[string]any{"h": tok, "t": 0, "a": randB64(16), "k": randB64(32)},
	}}}))
	_, p1 := c.post("515151", pb)
	_, p2 := c.post("515151", pb)
	if !bytes.Equal(p1, p2) || p1[1] != '{' {
		t.Errorf("p retry: %s then %s", p1, p2)
	}
	// A 402 is never cached: covered by TestHashcash (same id 7 reused).
}
