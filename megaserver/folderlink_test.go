package megaserver_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
	"ferry/megaserver/megaservertest"
)

// The folder-link tests speak the wire format of mega-protocol.md with
// real MEGA crypto (megacrypto) and no client code: keys, attributes and
// contents are encrypted as a client would, so what a link context
// answers is checked by decrypting it.

// realNode is a node the test created, with its plain key.
type realNode struct {
	megaapi.Node
	name string
	key  []byte // 16-byte folder key or 32-byte file node key
	data []byte // a file's plaintext
}

// attrKey is the AES key of the node's attributes.
func attrKey(t *testing.T, key []byte) []byte {
	t.Helper()
	if len(key) == 16 {
		return key
	}
	fk, err := megacrypto.UnpackFileKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return fk.Key[:]
}

func wrap(t *testing.T, kek, key []byte) string {
	t.Helper()
	w, err := megacrypto.EncryptKey(kek, key)
	if err != nil {
		t.Fatal(err)
	}
	return megacrypto.B64Encode(w)
}

func encAttrs(t *testing.T, key []byte, name string) string {
	t.Helper()
	a, err := megacrypto.EncryptAttrs(attrKey(t, key), megacrypto.Attrs{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// realMkdir creates folder name under parent, with cr entries for the
// given shares (share handle -> share key).
func realMkdir(t *testing.T, c *client, mk []byte, parent, name string, shares map[string][]byte) realNode {
	t.Helper()
	key := randBytes(16)
	cmd := map[string]any{"a": "p", "t": parent, "n": []any{
		map[string]any{"h": "xxxxxxxx", "t": 1, "a": encAttrs(t, key, name), "k": wrap(t, mk, key)},
	}}
	if cr := crFor(t, shares, "xxxxxxxx", key); cr != nil {
		cmd["cr"] = cr
	}
	var rep megaapi.PutNodesReply
	c.do(cmd, &rep)
	return realNode{Node: rep.Nodes[0], name: name, key: key}
}

// crFor builds a `cr` giving node (as named in the command) its key under
// each share.
func crFor(t *testing.T, shares map[string][]byte, node string, key []byte) []any {
	t.Helper()
	if len(shares) == 0 {
		return nil
	}
	var hs []string
	triples := []any{}
	for h, sk := range shares {
		triples = append(triples, len(hs), 0, wrap(t, sk, key))
		hs = append(hs, h)
	}
	return []any{hs, []string{node}, triples}
}

// encryptFile encrypts data under a fresh file key and returns the
// ciphertext and the 32-byte node key (with its meta-MAC).
func encryptFile(t *testing.T, data []byte) ([]byte, []byte) {
	t.Helper()
	fk, err := megacrypto.NewFileKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ct := make([]byte, len(data))
	megacrypto.NewCTR(&fk, 0).XORKeyStream(ct, data)
	fk.MetaMAC = megacrypto.MetaMAC(&fk, chunkMACs(&fk, data))
	return ct, fk.Pack()
}

func chunkMACs(fk *megacrypto.FileKey, data []byte) [][16]byte {
	var macs [][16]byte
	for _, ch := range megacrypto.Chunks(int64(len(data))) {
		m := megacrypto.NewChunkMAC(fk)
		m.Write(data[ch.Offset : ch.Offset+ch.Size])
		macs = append(macs, m.Sum())
	}
	return macs
}

// realUpload uploads data as file name into parent: u, chunk POSTs, p
// (with cr entries for shares).
func realUpload(t *testing.T, c *client, mk []byte, parent, name string, data []byte, shares map[string][]byte) realNode {
	t.Helper()
	ct, key := encryptFile(t, data)
	tok := c.uploadAll(ct, 2)
	cmd := map[string]any{"a": "p", "t": parent, "n": []any{
		map[string]any{"h": tok, "t": 0, "a": encAttrs(t, key, name), "k": wrap(t, mk, key)},
	}}
	if cr := crFor(t, shares, tok, key); cr != nil {
		cmd["cr"] = cr
	}
	var rep megaapi.PutNodesReply
	c.do(cmd, &rep)
	return realNode{Node: rep.Nodes[0], name: name, key: key, data: data}
}

// linkFixture is alice's tree with an exported, shared folder:
//
//	root/photos (shared, exported)/sub/cat.bin
//	root/photos/notes.txt
//	root/private/secret.txt
type linkFixture struct {
	ts                *megaservertest.TestServer
	alice             *client
	mk                []byte
	root, rubbish     string
	dir, sub          realNode
	cat, notes        realNode
	private, secret   realNode
	shareKey          []byte
	ph                string
	link              *client // n=ph, no sid
	bob               *client
	bobDir, bobSecret megaapi.Node
}

func newLinkFixture(t *testing.T, opts ...megaservertest.Option) *linkFixture {
	t.Helper()
	ts := megaservertest.Start(t, opts...)
	sess := ts.Login(t, megaservertest.UserV2, megaservertest.PasswordV2)
	f := &linkFixture{ts: ts, alice: newClient(t, ts, sess), mk: sess.MasterKey}
	tr := f.alice.fetch()
	f.root, f.rubbish = tr.byType(megaapi.TypeRoot).Handle, tr.byType(megaapi.TypeRubbish).Handle
	a, mk := f.alice, f.mk
	f.dir = realMkdir(t, a, mk, f.root, "photos", nil)
	f.sub = realMkdir(t, a, mk, f.dir.Handle, "sub", nil)
	f.cat = realUpload(t, a, mk, f.sub.Handle, "cat.bin", randBytes(300000), nil)
	f.notes = realUpload(t, a, mk, f.dir.Handle, "notes.txt", []byte("remember the milk"), nil)
	f.private = realMkdir(t, a, mk, f.root, "private", nil)
	f.secret = realUpload(t, a, mk, f.private.Handle, "secret.txt", []byte("not for the link"), nil)

	// Share the folder with EXP under a fresh share key, then export it,
	// as MEGA's apps do.
	f.shareKey = randBytes(16)
	ha, err := megacrypto.HandleAuth(mk, f.dir.Handle)
	if err != nil {
		t.Fatal(err)
	}
	var keys [][2]string
	for _, n := range []realNode{f.dir, f.sub, f.cat, f.notes} {
		keys = append(keys, [2]string{n.Handle, wrap(t, f.shareKey, n.key)})
	}
	if got := a.code(s2(f.dir.Handle, wrap(t, mk, f.shareKey), ha, keys)); got != 0 {
		t.Fatalf("s2 = %d", got)
	}
	a.do(map[string]any{"a": "l", "n": f.dir.Handle}, &f.ph)
	f.link = &client{t: t, base: ts.URL, n: f.ph}
	f.link.id.Store(clientIDs.Add(1) * 1_000_000)

	f.bob = login(t, ts, megaservertest.UserV1, megaservertest.PasswordV1)
	f.bobDir = f.bob.mkdir(f.bob.root())
	f.bobSecret = f.bob.uploadFile(f.bobDir.Handle, []byte("bob's"))
	return f
}

// linkClient returns a client of the fixture's link that also sends sid.
func (f *linkFixture) linkClient(t *testing.T, ph, sid string) *client {
	c := &client{t: t, base: f.ts.URL, n: ph, sid: sid}
	c.id.Store(clientIDs.Add(1) * 1_000_000)
	return c
}

// checkLinkTree checks a link's `f`: exactly want, the folder first with
// no parent, parents before children, each key the share's entry and
// decrypting to the node's key, each name decrypting.
func checkLinkTree(t *testing.T, f *linkFixture, tr *tree, want ...realNode) {
	t.Helper()
	if len(tr.Nodes) == 0 || tr.Nodes[0].Handle != f.dir.Handle || tr.Nodes[0].Parent != "" {
		t.Fatalf("link f: first node %+v, want the folder %s without a parent", tr.Nodes, f.dir.Handle)
	}
	if tr.OK == nil || tr.SN == "" {
		t.Errorf("link f: ok %v sn %q, want [] and an sn", tr.OK, tr.SN)
	}
	var got, wantH []string
	seen := map[string]bool{}
	for i, n := range tr.Nodes {
		got = append(got, n.Handle)
		if i > 0 && !seen[n.Parent] {
			t.Errorf("link f: %s listed before its parent %s", n.Handle, n.Parent)
		}
		seen[n.Handle] = true
	}
	for _, n := range want {
		wantH = append(wantH, n.Handle)
	}
	slices.Sort(got)
	slices.Sort(wantH)
	if !slices.Equal(got, wantH) {
		t.Fatalf("link f lists %v, want %v", got, wantH)
	}
	for _, w := range want {
		n, _ := tr.find(w.Handle)
		share, wrapped, ok := strings.Cut(n.Key, ":")
		if !ok || share != f.dir.Handle || strings.Contains(wrapped, "/") {
			t.Errorf("%s: k %q, want %s:<key>", w.name, n.Key, f.dir.Handle)
			continue
		}
		b, err := megacrypto.B64Decode(wrapped)
		if err != nil {
			t.Fatal(err)
		}
		key, err := megacrypto.DecryptKey(f.shareKey, b)
		if err != nil || !bytes.Equal(key, w.key) {
			t.Errorf("%s: key under the share key does not decrypt to the node key", w.name)
			continue
		}
		a, err := megacrypto.DecryptAttrs(attrKey(t, key), n.Attr)
		if err != nil || a.Name != w.name {
			t.Errorf("%s: attributes decrypt to %q, %v", w.name, a.Name, err)
		}
		if n.Owner != f.alice.user {
			t.Errorf("%s: owner %q", w.name, n.Owner)
		}
	}
}

// linkDownload fetches a file through the link: `g` by node handle, the
// URL's bytes decrypted with the key from the link's `f` and MAC-checked.
func linkDownload(t *testing.T, link *client, shareKey []byte, h string) []byte {
	t.Helper()
	var tr tree
	link.do(map[string]any{"a": "f", "c": 1, "r": 1, "ca": 1}, &tr)
	n, ok := tr.find(h)
	if !ok {
		t.Fatalf("%s not in the link's tree", h)
	}
	_, wrapped, _ := strings.Cut(n.Key, ":")
	b, err := megacrypto.B64Decode(wrapped)
	if err != nil {
		t.Fatalf("k %q: %v", n.Key, err)
	}
	key, err := megacrypto.DecryptKey(shareKey, b)
	if err != nil {
		t.Fatal(err)
	}
	fk, err := megacrypto.UnpackFileKey(key)
	if err != nil {
		t.Fatal(err)
	}
	var g megaapi.DownloadReply
	link.do(map[string]any{"a": "g", "g": 1, "n": h, "ssl": 0}, &g)
	if g.Size != n.Size || g.Attr != n.Attr || !strings.HasPrefix(g.URL, "http") {
		t.Fatalf("g = %+v for node %+v", g, n)
	}
	status, ct := get(t, g.URL, nil)
	if status != http.StatusOK || int64(len(ct)) != g.Size {
		t.Fatalf("download: HTTP %d, %d bytes", status, len(ct))
	}
	plain := make([]byte, len(ct))
	megacrypto.NewCTR(&fk, 0).XORKeyStream(plain, ct)
	if mac := megacrypto.MetaMAC(&fk, chunkMACs(&fk, plain)); mac != fk.MetaMAC {
		t.Fatalf("download of %s: MAC mismatch", h)
	}
	return plain
}

// TestFolderLinkRaw: a client with only n=<public handle> lists exactly
// the exported subtree, decrypts it with the share key and downloads a
// file whose bytes MAC-verify.
func TestFolderLinkRaw(t *testing.T) {
	f := newLinkFixture(t)
	var tr tree
	f.link.do(map[string]any{"a": "f", "c": 1, "r": 1, "ca": 1}, &tr)
	checkLinkTree(t, f, &tr, f.dir, f.sub, f.cat, f.notes)
	if got := linkDownload(t, f.link, f.shareKey, f.cat.Handle); !bytes.Equal(got, f.cat.data) {
		t.Errorf("cat.bin through the link: bytes differ")
	}
	if got := linkDownload(t, f.link, f.shareKey, f.notes.Handle); !bytes.Equal(got, f.notes.data) {
		t.Errorf("notes.txt through the link: bytes differ")
	}
	// Several commands in one batch, like any batch.
	res := f.link.batch(map[string]any{"a": "g", "n": f.notes.Handle}, map[string]any{"a": "g", "n": f.cat.Handle})
	for i, r := range res {
		var g megaapi.DownloadReply
		if err := json.Unmarshal(r, &g); err != nil || g.Size == 0 || g.URL != "" {
			t.Errorf("batch result %d: %s", i, r)
		}
	}

	// n wins over a sid: bob's and alice's sessions see the link's view.
	for _, sid := range []string{f.bob.sid, f.alice.sid} {
		var tr tree
		f.linkClient(t, f.ph, sid).do(map[string]any{"a": "f", "c": 1}, &tr)
		checkLinkTree(t, f, &tr, f.dir, f.sub, f.cat, f.notes)
	}
	// The owner's own view is unchanged and reports the link.
	own := f.alice.fetch()
	if len(own.PH) != 1 || own.PH[0].PH != f.ph || own.PH[0].Handle != f.dir.Handle {
		t.Errorf("owner's ph = %+v", own.PH)
	}
	if n, _ := own.find(f.cat.Handle); !strings.HasPrefix(n.Key, f.alice.user+":") {
		t.Errorf("owner's k of cat.bin = %q", n.Key)
	}
}

// TestFolderLinkIsolation: a link context reaches nothing outside its
// subtree, never writes, and answers -9 for handles that are not folder
// links.
func TestFolderLinkIsolation(t *testing.T) {
	f := newLinkFixture(t)
	before := f.alice.fetch()
	bobBefore := f.bob.fetch()

	// Guessed handles outside the subtree: the owner's other nodes, the
	// roots, another user's nodes, the public handle itself.
	for _, sid := range []string{"", f.alice.sid, f.bob.sid} {
		link := f.linkClient(t, f.ph, sid)
		for name, h := range map[string]string{
			"owner's private folder": f.private.Handle, "owner's secret file": f.secret.Handle,
			"owner's root": f.root, "owner's rubbish bin": f.rubbish,
			"bob's folder": f.bobDir.Handle, "bob's file": f.bobSecret.Handle,
			"the public handle": f.ph, "malformed": "x",
		} {
			for _, cmd := range []map[string]any{
				{"a": "g", "g": 1, "n": h}, {"a": "g", "n": h},
			} {
				if got := link.code(cmd); got != -9 {
					t.Errorf("sid %q, %s: %v = %d, want -9", sid, name, cmd, got)
				}
			}
		}
		// The folder is not a file.
		if got := link.code(map[string]any{"a": "g", "g": 1, "n": f.dir.Handle}); got != -2 && got != -9 {
			t.Errorf("g of the folder = %d", got)
		}
	}

	// Every command that needs an account or changes anything is -11,
	// whatever it names.
	tok := f.alice.uploadAll([]byte("mine"), 0)
	mutating := []map[string]any{
		{"a": "p", "t": f.dir.Handle, "n": []any{map[string]any{"h": "xxxxxxxx", "t": 1, "a": randB64(16), "k": randB64(16)}}},
		{"a": "p", "t": f.sub.Handle, "n": []any{map[string]any{"h": tok, "t": 0, "a": randB64(16), "k": randB64(32)}}},
		{"a": "m", "n": f.cat.Handle, "t": f.dir.Handle},
		{"a": "m", "n": f.secret.Handle, "t": f.dir.Handle},
		{"a": "a", "n": f.cat.Handle, "at": randB64(16)},
		{"a": "a", "n": f.cat.Handle, "attr": randB64(16), "key": randB64(32)},
		{"a": "d", "n": f.cat.Handle},
		{"a": "d", "n": f.dir.Handle},
		{"a": "dr"},
		{"a": "l", "n": f.cat.Handle},
		{"a": "l", "n": f.dir.Handle, "d": 1},
		{"a": "s2", "n": f.dir.Handle, "s": []any{map[string]any{"u": "EXP"}}},
		{"a": "s2", "n": f.sub.Handle, "s": []any{map[string]any{"u": "EXP", "r": 0}}, "ok": randB64(16), "ha": randB64(16)},
		{"a": "u", "s": 10},
		{"a": "up", "pubk": randB64(16), "privk": randB64(16)},
		{"a": "ug"},
		{"a": "uq", "strg": 1, "xfer": 1},
		{"a": "sml"},
		{"a": "us0", "user": megaservertest.UserV2},
		{"a": "us", "user": megaservertest.UserV2, "uh": randB64(16)},
	}
	for _, sid := range []string{"", f.alice.sid} {
		link := f.linkClient(t, f.ph, sid)
		for _, cmd := range mutating {
			if got := link.code(cmd); got != -11 {
				t.Errorf("sid %q: %s = %d, want -11", sid, mustJSON(cmd), got)
			}
		}
		if got := link.code(map[string]any{"a": "nosuchcommand"}); got != -2 {
			t.Errorf("unknown command in a link context = %d, want -2", got)
		}
	}
	// Nothing changed, and alice's session still works (sml did not run).
	after := f.alice.fetch()
	if after.SN != before.SN || len(after.Nodes) != len(before.Nodes) {
		t.Errorf("alice's tree changed: sn %s -> %s, %d -> %d nodes", before.SN, after.SN, len(before.Nodes), len(after.Nodes))
	}
	for _, n := range before.Nodes {
		if m, _ := after.find(n.Handle); m != n {
			t.Errorf("node %s changed: %+v -> %+v", n.Handle, n, m)
		}
	}
	if b := f.bob.fetch(); b.SN != bobBefore.SN || len(b.Nodes) != len(bobBefore.Nodes) {
		t.Errorf("bob's tree changed")
	}

	// Handles that are not folder links: -9 (not -15), for f and g.
	var fileLink string
	f.alice.do(map[string]any{"a": "l", "n": f.notes.Handle}, &fileLink)
	unshared := realMkdir(t, f.alice, f.mk, f.root, "exported, not shared", nil)
	var unsharedPH string
	f.alice.do(map[string]any{"a": "l", "n": unshared.Handle}, &unsharedPH)
	for name, ph := range map[string]string{
		"unknown": "AAAAAAAA", "malformed": "x!", "too long": f.ph + "A",
		"a file link": fileLink, "an exported folder without a share": unsharedPH, "a node handle": f.dir.Handle,
	} {
		link := f.linkClient(t, ph, "")
		for _, cmd := range []map[string]any{{"a": "f", "c": 1}, {"a": "g", "g": 1, "n": f.cat.Handle}} {
			if got := link.code(cmd); got != -9 {
				t.Errorf("%s (n=%s): %s = %d, want -9", name, ph, mustJSON(cmd), got)
			}
		}
	}
	// A public file link still works in a link context (it needs none).
	var g megaapi.DownloadReply
	f.link.do(map[string]any{"a": "g", "g": 1, "p": fileLink}, &g)
	if g.Size != int64(len(f.notes.data)) {
		t.Errorf("g p= in a link context = %+v", g)
	}

	// Two tree walks in one request: the second is -3, as for a user.
	res := f.link.batch(map[string]any{"a": "f", "c": 1}, map[string]any{"a": "f", "c": 1})
	if string(res[1]) != "-3" {
		t.Errorf("second f in one link request = %s, want -3", abbrev(res[1]))
	}
}

// TestFolderLinkCloses: removing the link or the share, trashing or
// deleting the folder closes the context at once, and the download URLs it
// handed out stop working.
func TestFolderLinkCloses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		close func(f *linkFixture) map[string]any
		// reopen undoes close, if it can.
		reopen func(f *linkFixture) map[string]any
	}{
		{"link removed", func(f *linkFixture) map[string]any {
			return map[string]any{"a": "l", "n": f.dir.Handle, "d": 1}
		}, nil},
		{"share removed", func(f *linkFixture) map[string]any {
			return map[string]any{"a": "s2", "n": f.dir.Handle, "s": []any{map[string]any{"u": "EXP"}}}
		}, nil},
		{"folder trashed", func(f *linkFixture) map[string]any {
			return map[string]any{"a": "m", "n": f.dir.Handle, "t": f.rubbish}
		}, func(f *linkFixture) map[string]any {
			return map[string]any{"a": "m", "n": f.dir.Handle, "t": f.root}
		}},
		{"parent trashed", func(f *linkFixture) map[string]any {
			return map[string]any{"a": "m", "n": f.private.Handle, "t": f.rubbish} // not the link: must stay open
		}, nil},
		{"folder deleted", func(f *linkFixture) map[string]any {
			return map[string]any{"a": "d", "n": f.dir.Handle}
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newLinkFixture(t)
			var g megaapi.DownloadReply
			f.link.do(map[string]any{"a": "g", "g": 1, "n": f.notes.Handle}, &g)
			if got := f.alice.code(tc.close(f)); got != 0 {
				t.Fatalf("close = %d", got)
			}
			stays := tc.name == "parent trashed"
			want := -9
			if stays {
				want = 0
			}
			for _, cmd := range []map[string]any{{"a": "f", "c": 1}, {"a": "g", "g": 1, "n": f.notes.Handle}} {
				res := f.link.batch(cmd)[0]
				got, isCode := asCode(res)
				if !isCode {
					got = 0
				}
				if got != want {
					t.Errorf("%s after close: %s, want %d", mustJSON(cmd), abbrev(res), want)
				}
			}
			status, _ := get(t, g.URL, nil)
			if stays && status != http.StatusOK || !stays && status != http.StatusNotFound {
				t.Errorf("download URL from before: HTTP %d", status)
			}
			if tc.name == "share removed" {
				// The share's key entries are gone from the owner's tree.
				for _, n := range f.alice.fetch().Nodes {
					if strings.Contains(n.Key, "/") {
						t.Errorf("k of %s still has share entries: %q", n.Handle, n.Key)
					}
				}
				if got := okEntries(t, f.alice.fetch()); len(got) != 0 {
					t.Errorf("ok after unshare = %+v", got)
				}
				// Removing it again: there is none.
				if got := f.alice.code(tc.close(f)); got != -9 {
					t.Errorf("second unshare = %d, want -9", got)
				}
			}
			if tc.reopen != nil {
				if got := f.alice.code(tc.reopen(f)); got != 0 {
					t.Fatalf("reopen = %d", got)
				}
				var tr tree
				f.link.do(map[string]any{"a": "f", "c": 1}, &tr)
				checkLinkTree(t, f, &tr, f.dir, f.sub, f.cat, f.notes)
			}
		})
	}
}

// TestFolderLinkAddedLater: nodes put or moved into the shared folder
// after sharing open from the link when `cr` gives their share keys, and
// are listed without a key when it does not.
func TestFolderLinkAddedLater(t *testing.T) {
	f := newLinkFixture(t)
	a, mk := f.alice, f.mk
	shares := map[string][]byte{f.dir.Handle: f.shareKey}
	withCR := realUpload(t, a, mk, f.sub.Handle, "later.bin", randBytes(200000), shares)
	withoutCR := realUpload(t, a, mk, f.sub.Handle, "no-cr.bin", []byte("no share key"), nil)
	// The SDK's form: no node list, the index counts the entries of n.
	sdkData := randBytes(1000)
	sdkCT, sdkKey := encryptFile(t, sdkData)
	sdkTok := a.uploadAll(sdkCT, 2)
	var rep megaapi.PutNodesReply
	a.do(map[string]any{"a": "p", "t": f.dir.Handle, "n": []any{
		map[string]any{"h": "xxxxxxxx", "t": 1, "a": randB64(16), "k": randB64(16)},
		map[string]any{"h": sdkTok, "t": 0, "a": encAttrs(t, sdkKey, "sdk.bin"), "k": wrap(t, mk, sdkKey)},
	}, "cr": []any{[]string{f.dir.Handle}, []string{}, []any{0, 1, wrap(t, f.shareKey, sdkKey)}}}, &rep)
	sdkForm := realNode{Node: rep.Nodes[1], name: "sdk.bin", key: sdkKey, data: sdkData}
	keyless := rep.Nodes[0] // its folder key was not in cr
	folder := realMkdir(t, a, mk, f.dir.Handle, "new folder", shares)
	inFolder := realUpload(t, a, mk, folder.Handle, "deep.txt", []byte("deep"), shares)
	// Moved in from outside, with and without cr.
	moved := realUpload(t, a, mk, f.private.Handle, "moved.txt", []byte("moved in"), nil)
	movedNoCR := realUpload(t, a, mk, f.private.Handle, "moved-no-cr.txt", []byte("moved, no key"), nil)
	if got := a.code(map[string]any{"a": "m", "n": moved.Handle, "t": f.sub.Handle, "cr": crFor(t, shares, moved.Handle, moved.key)}); got != 0 {
		t.Fatalf("m with cr = %d", got)
	}
	if got := a.code(map[string]any{"a": "m", "n": movedNoCR.Handle, "t": f.sub.Handle}); got != 0 {
		t.Fatalf("m without cr = %d", got)
	}
	// A folder moved in with keys for itself and its child.
	mdir := realMkdir(t, a, mk, f.private.Handle, "moved dir", nil)
	mchild := realUpload(t, a, mk, mdir.Handle, "child.txt", []byte("child"), nil)
	cr := []any{[]string{f.dir.Handle}, []string{mdir.Handle, mchild.Handle},
		[]any{0, 0, wrap(t, f.shareKey, mdir.key), 0, 1, wrap(t, f.shareKey, mchild.key)}}
	if got := a.code(map[string]any{"a": "m", "n": mdir.Handle, "t": f.dir.Handle, "cr": cr}); got != 0 {
		t.Fatalf("m of a folder with cr = %d", got)
	}

	var tr tree
	f.link.do(map[string]any{"a": "f", "c": 1}, &tr)
	for _, n := range []realNode{withoutCR, movedNoCR} {
		ln, ok := tr.find(n.Handle)
		if !ok || ln.Key != "" {
			t.Errorf("%s (no cr): listed %v with k %q, want listed without k", n.name, ok, ln.Key)
		}
	}
	var keyed []*tree
	tr2 := tr
	tr2.Nodes = slices.DeleteFunc(slices.Clone(tr.Nodes), func(n megaapi.Node) bool {
		return n.Handle == withoutCR.Handle || n.Handle == movedNoCR.Handle || n.Handle == keyless.Handle
	})
	keyed = append(keyed, &tr2)
	checkLinkTree(t, f, keyed[0], f.dir, f.sub, f.cat, f.notes, withCR, folder, inFolder, moved, mdir, mchild, sdkForm)
	if n, ok := tr.find(keyless.Handle); !ok || n.Key != "" {
		t.Errorf("folder without a cr entry: listed %v, k %q", ok, n.Key)
	}
	for _, n := range []realNode{withCR, inFolder, moved, mchild, sdkForm} {
		if got := linkDownload(t, f.link, f.shareKey, n.Handle); !bytes.Equal(got, n.data) {
			t.Errorf("%s through the link: bytes differ", n.name)
		}
	}
	// The owner's k keeps the owner's entry first.
	own := a.fetch()
	if n, _ := own.find(withCR.Handle); !strings.HasPrefix(n.Key, a.user+":") || !strings.Contains(n.Key, "/"+f.dir.Handle+":") {
		t.Errorf("owner's k of later.bin = %q", n.Key)
	}

	// A cr for a share the target is not in is skipped: the node is made,
	// with no entry for it.
	elsewhere := realUpload(t, a, mk, f.private.Handle, "elsewhere.txt", []byte("x"), shares)
	if n, _ := a.fetch().find(elsewhere.Handle); strings.Contains(n.Key, "/") {
		t.Errorf("cr outside its share applied: k %q", n.Key)
	}
}

// TestPutMoveCRErrors: `cr` on p and m is checked like s2's.
func TestPutMoveCRErrors(t *testing.T) {
	f := newLinkFixture(t)
	a := f.alice
	before := a.fetch()
	folderCmd := func(cr any) map[string]any {
		return map[string]any{"a": "p", "t": f.dir.Handle, "cr": cr, "n": []any{
			map[string]any{"h": "ph1", "t": 1, "a": randB64(16), "k": randB64(16)},
		}}
	}
	share := []string{f.dir.Handle}
	moveCmd := func(n string, cr any) map[string]any {
		return map[string]any{"a": "m", "n": n, "t": f.sub.Handle, "cr": cr}
	}
	for _, tc := range []struct {
		name string
		cmd  map[string]any
		want int
	}{
		{"p: cr a string", folderCmd("x"), -2},
		{"p: cr of two lists", folderCmd([]any{share, []string{"ph1"}}), -2},
		{"p: cr names no entry", folderCmd([]any{share, []string{"other"}, []any{0, 0, randB64(16)}}), -2},
		{"p: file-sized key for a folder", folderCmd([]any{share, []string{"ph1"}, []any{0, 0, randB64(32)}}), -2},
		{"p: key not base64", folderCmd([]any{share, []string{"ph1"}, []any{0, 0, "!!!!!!!!!!!!!!!!!!!!!!"}}), -2},
		{"p: share handle malformed", folderCmd([]any{[]string{"x"}, []string{"ph1"}, []any{0, 0, randB64(16)}}), -2},
		{"p: index out of range", folderCmd([]any{share, []string{"ph1"}, []any{1, 0, randB64(16)}}), -2},
		{"p: incomplete triple", folderCmd([]any{share, []string{"ph1"}, []any{0, 0}}), -2},
		{"p: no node list, index past n", folderCmd([]any{share, []string{}, []any{0, 1, randB64(16)}}), -2},
		{"m: no node list", moveCmd(f.notes.Handle, []any{share, []string{}, []any{0, 0, randB64(32)}}), -2},
		{"m: cr a number", moveCmd(f.notes.Handle, 5), -2},
		{"m: node outside the moved subtree", moveCmd(f.notes.Handle, []any{share, []string{f.secret.Handle}, []any{0, 0, randB64(32)}}), -9},
		{"m: bob's node", moveCmd(f.notes.Handle, []any{share, []string{f.bobSecret.Handle}, []any{0, 0, randB64(32)}}), -9},
		{"m: folder-sized key for a file", moveCmd(f.notes.Handle, []any{share, []string{f.notes.Handle}, []any{0, 0, randB64(16)}}), -2},
		{"m: share handle malformed", moveCmd(f.notes.Handle, []any{[]string{""}, []string{f.notes.Handle}, []any{0, 0, randB64(32)}}), -2},
	} {
		if got := a.code(tc.cmd); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	if after := a.fetch(); after.SN != before.SN || len(after.Nodes) != len(before.Nodes) {
		t.Errorf("failed p/m changed the tree")
	}
}

// TestFolderLinkExpiry: `l` with `ets` stores an expiry; past it the link
// answers -8, for folder links and file links, also after a restart.
func TestFolderLinkExpiry(t *testing.T) {
	dir := t.TempDir()
	f := newLinkFixture(t, megaservertest.WithDir(dir))
	a := f.alice
	past, future := time.Now().Add(-time.Minute).Unix(), time.Now().Add(time.Hour).Unix()

	var ph string
	a.do(map[string]any{"a": "l", "n": f.dir.Handle, "ets": future}, &ph)
	if ph != f.ph {
		t.Errorf("l with ets on an exported folder = %q, want the same handle %q", ph, f.ph)
	}
	if got := f.link.batch(map[string]any{"a": "f", "c": 1})[0]; got[0] != '{' {
		t.Errorf("link before its expiry: %s", abbrev(got))
	}
	var fileLink string
	a.do(map[string]any{"a": "l", "n": f.notes.Handle, "ets": past}, &fileLink)
	var g megaapi.DownloadReply
	f.link.do(map[string]any{"a": "g", "g": 1, "n": f.notes.Handle}, &g)
	a.do(map[string]any{"a": "l", "n": f.dir.Handle, "ets": past}, &ph)

	check := func(when string) {
		t.Helper()
		for _, cmd := range []map[string]any{{"a": "f", "c": 1}, {"a": "g", "g": 1, "n": f.cat.Handle}} {
			if got := f.link.code(cmd); got != -8 {
				t.Errorf("%s: expired folder link: %s = %d, want -8", when, mustJSON(cmd), got)
			}
		}
		if got := newClient(t, f.ts, nil).code(map[string]any{"a": "g", "g": 1, "p": fileLink}); got != -8 {
			t.Errorf("%s: expired file link: g = %d, want -8", when, got)
		}
		if status, _ := get(t, g.URL, nil); status != http.StatusNotFound {
			t.Errorf("%s: download URL of an expired link: HTTP %d", when, status)
		}
		got := map[string]int64{}
		for _, l := range phEntries(t, a) {
			got[l.PH] = l.ETS
		}
		if got[f.ph] != past || got[fileLink] != past {
			t.Errorf("%s: owner's ph ets = %v, want %d for both", when, got, past)
		}
	}
	check("before restart")
	f.ts.Close()
	ts2 := megaservertest.Start(t, megaservertest.WithDir(dir))
	f.ts, a.base, f.link.base = ts2, ts2.URL, ts2.URL
	g.URL = ts2.URL + g.URL[strings.Index(g.URL, "/dl/"):]
	check("after restart")

	// ets 0 removes the expiry; l without ets keeps it.
	a.do(map[string]any{"a": "l", "n": f.dir.Handle, "ets": 0}, &ph)
	var tr tree
	f.link.do(map[string]any{"a": "f", "c": 1}, &tr)
	checkLinkTree(t, f, &tr, f.dir, f.sub, f.cat, f.notes)
	a.do(map[string]any{"a": "l", "n": f.notes.Handle}, &fileLink)
	if got := newClient(t, ts2, nil).code(map[string]any{"a": "g", "p": fileLink}); got != -8 {
		t.Errorf("l without ets cleared the expiry: g = %d", got)
	}
	for _, bad := range []any{-1, "soon", 1.5} {
		if got := a.code(map[string]any{"a": "l", "n": f.dir.Handle, "ets": bad}); got != -2 {
			t.Errorf("l with ets %v = %d, want -2", bad, got)
		}
	}
	// Removing and re-creating a link starts without an expiry.
	a.code(map[string]any{"a": "l", "n": f.notes.Handle, "d": 1})
	a.do(map[string]any{"a": "l", "n": f.notes.Handle}, &fileLink)
	var pg megaapi.DownloadReply
	newClient(t, ts2, nil).do(map[string]any{"a": "g", "p": fileLink}, &pg)
}

type phEntry struct {
	H   string `json:"h"`
	PH  string `json:"ph"`
	ETS int64  `json:"ets"`
}

func phEntries(t *testing.T, c *client) []phEntry {
	t.Helper()
	var rep struct {
		PH []phEntry `json:"ph"`
	}
	c.do(map[string]any{"a": "f", "c": 1}, &rep)
	return rep.PH
}

// TestFolderLinkSC: the event channel of a link reports a change of the
// owner's account as -6 (fetch the link's tree again) and otherwise hands
// out a wait URL.
func TestFolderLinkSC(t *testing.T) {
	f := newLinkFixture(t, megaservertest.WithWaitTimeout(5*time.Second))
	var tr tree
	f.link.do(map[string]any{"a": "f", "c": 1}, &tr)
	sc := func(ph, sn string) []byte {
		t.Helper()
		_, body := get(t, f.ts.URL+"/sc?sn="+sn+"&n="+ph+"&sid="+f.bob.sid, nil)
		return body
	}
	var rep megaapi.ScReply
	if err := json.Unmarshal(sc(f.ph, tr.SN), &rep); err != nil || rep.W == "" || rep.SN != tr.SN {
		t.Fatalf("sc of an unchanged link: %+v %v", rep, err)
	}
	done := make(chan int)
	go func() {
		resp, err := http.Get(rep.W)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	time.Sleep(50 * time.Millisecond)
	realMkdir(t, f.alice, f.mk, f.sub.Handle, "new", nil)
	select {
	case status := <-done:
		if status != http.StatusOK {
			t.Errorf("wait URL: HTTP %d", status)
		}
	case <-time.After(4 * time.Second):
		t.Fatalf("the wait URL did not return after a change")
	}
	if got := string(sc(f.ph, tr.SN)); got != "-6" {
		t.Errorf("sc after a change = %s, want -6", got)
	}
	if got := string(sc("AAAAAAAA", tr.SN)); got != "-9" {
		t.Errorf("sc of an unknown link = %s, want -9", got)
	}
}
