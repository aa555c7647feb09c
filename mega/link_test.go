package mega

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
	"ferry/megaserver/megaservertest"
)

// TestFolderLinkShares: a folder link carries a share key, not the folder
// key; the folder is shared with "EXP" and every node below it gets its
// key wrapped with the share key, so a link recipient can decrypt the
// subtree. The share key survives a fresh fetch and reaches other
// sessions through the action packet, and links stay stable.
func TestFolderLinkShares(t *testing.T) {
	ts := megaservertest.Start(t)
	ctx := t.Context()
	c := newLoggedIn(t, ts)
	dir, err := c.Mkdir(ctx, c.Root(), "shared")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := c.Mkdir(ctx, dir, "sub")
	if err != nil {
		t.Fatal(err)
	}
	data := randomBytes(t, 1000)
	f := upload(t, c, sub, "f.bin", data)
	c2 := newLoggedIn(t, ts)

	url, err := c.Link(ctx, dir)
	if err != nil || !strings.HasPrefix(url, "https://mega.nz/folder/") {
		t.Fatalf("Link(folder) = %q, %v", url, err)
	}
	sk, err := megacrypto.B64Decode(url[strings.Index(url, "#")+1:])
	if err != nil || len(sk) != 16 || bytes.Equal(sk, c.Node(dir.Handle).key) {
		t.Fatalf("folder link key %x (%v): want 16 bytes that are not the folder key", sk, err)
	}
	if again, err := c.Link(ctx, dir); err != nil || again != url {
		t.Errorf("second Link = %q, %v; want %q", again, err, url)
	}

	// What a link recipient gets: each node's key wrapped with the share
	// key, as "<folder>:<key>" in `k`.
	var rep struct {
		F  []megaapi.Node     `json:"f"`
		OK []megaapi.ShareKey `json:"ok"`
	}
	rawSessionCall(t, ts.URL, c.Session().SID, map[string]any{"a": "f", "c": 1}, &rep)
	found := 0
	for _, n := range rep.F {
		want := map[string][]byte{dir.Handle: c.Node(dir.Handle).key, sub.Handle: c.Node(sub.Handle).key, f.Handle: c.Node(f.Handle).key}[n.Handle]
		if want == nil {
			continue
		}
		_, entry, ok := strings.Cut(n.Key, "/"+dir.Handle+":")
		if !ok {
			t.Errorf("node %s: k %q has no share-key entry", n.Handle, n.Key)
			continue
		}
		entry, _, _ = strings.Cut(entry, "/")
		w, _ := megacrypto.B64Decode(entry)
		if k, err := megacrypto.DecryptKey(sk, w); err != nil || !bytes.Equal(k, want) {
			t.Errorf("node %s: share-wrapped key does not give its node key (%v)", n.Handle, err)
		}
		found++
	}
	if found != 3 {
		t.Errorf("%d nodes with share-wrapped keys, want 3", found)
	}
	if len(rep.OK) != 1 || rep.OK[0].Handle != dir.Handle {
		t.Errorf("ok list %+v, want the shared folder", rep.OK)
	}

	// A fresh session learns the share key from `ok`; a polling one from
	// the action packet. Both print the same link without a new share.
	c3 := newLoggedIn(t, ts)
	if got, err := c3.Link(ctx, c3.Node(dir.Handle)); err != nil || got != url {
		t.Errorf("fresh session's Link = %q, %v; want %q", got, err, url)
	}
	if _, err := c2.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := c2.Link(ctx, c2.Node(dir.Handle)); err != nil || got != url {
		t.Errorf("polling session's Link = %q, %v; want %q", got, err, url)
	}
}

// rawSessionCall posts one command with sid and decodes its result.
func rawSessionCall(t *testing.T, apiURL, sid string, cmd, out any) {
	t.Helper()
	body, _ := json.Marshal([]any{cmd})
	resp, err := http.Post(fmt.Sprintf("%s/cs?id=1&sid=%s", apiURL, sid), "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var results []json.RawMessage
	if err := json.Unmarshal(data, &results); err != nil || len(results) != 1 {
		t.Fatalf("reply %q", data)
	}
	if err := json.Unmarshal(results[0], out); err != nil {
		t.Fatalf("reply %q: %v", data, err)
	}
}

// TestFolderLinkStaleTree: a node moved out of the folder by another
// session makes the server refuse the share (ENOENT); Link polls for the
// change and shares again, without the moved node.
func TestFolderLinkStaleTree(t *testing.T) {
	ts := megaservertest.Start(t)
	ctx := t.Context()
	c := newLoggedIn(t, ts)
	dir, err := c.Mkdir(ctx, c.Root(), "shared")
	if err != nil {
		t.Fatal(err)
	}
	f := upload(t, c, dir, "f.bin", randomBytes(t, 10))
	c2 := newLoggedIn(t, ts)
	if err := c2.Move(ctx, c2.Node(f.Handle), c2.Root()); err != nil {
		t.Fatal(err)
	}
	url, err := c.Link(ctx, dir)
	if err != nil || !strings.HasPrefix(url, "https://mega.nz/folder/") {
		t.Fatalf("Link with a stale tree = %q, %v", url, err)
	}
	if got := c.Path(c.Node(f.Handle)); got != "/f.bin" {
		t.Errorf("after Link the moved file is at %q, want /f.bin (polled)", got)
	}
}
