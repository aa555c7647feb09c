package mega

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
)

// offlineClient returns a client "logged in" as user with mk (no server)
// holding the tree of the `f` reply body.
func offlineClient(tb testing.TB, user string, mk, body []byte) *Client {
	tb.Helper()
	c := New(Options{Logger: discardLogger()})
	c.sess = state{user: user, sid: "offline", mk: mk}
	t := newTree()
	if err := decodeFetch(json.NewDecoder(bytes.NewReader(body)), newKeyring(c.sess, t)); err != nil {
		tb.Fatal(err)
	}
	c.tree = t
	return c
}

// sameNodes reports the first difference between two trees' nodes.
func sameNodes(a, b *tree) error {
	if len(a.nodes) != len(b.nodes) {
		return fmt.Errorf("%d nodes, want %d", len(a.nodes), len(b.nodes))
	}
	for h, want := range b.nodes {
		got := a.nodes[h]
		if got == nil {
			return fmt.Errorf("node %s missing", h)
		}
		g, w := *got, *want
		if (g.Err == nil) != (w.Err == nil) {
			return fmt.Errorf("node %s: Err %v, want %v", h, g.Err, w.Err)
		}
		g.Err, w.Err = nil, nil
		if !g.CreatedAt.Equal(w.CreatedAt) || !g.ModTime.Equal(w.ModTime) {
			return fmt.Errorf("node %s: times %v %v, want %v %v", h, g.CreatedAt, g.ModTime, w.CreatedAt, w.ModTime)
		}
		g.CreatedAt, g.ModTime = w.CreatedAt, w.ModTime
		if !reflect.DeepEqual(g, w) {
			return fmt.Errorf("node %s:\n got %+v\nwant %+v", h, g, w)
		}
	}
	for p, ks := range b.kids {
		if len(a.kids[p]) != len(ks) {
			return fmt.Errorf("%s has %d children, want %d", p, len(a.kids[p]), len(ks))
		}
	}
	if len(a.kids) != len(b.kids) || a.root != b.root || a.inbox != b.inbox || a.rubbish != b.rubbish || a.sn != b.sn {
		return errors.New("child sets, special nodes or sn differ")
	}
	return nil
}

func TestExportImportBinary(t *testing.T) {
	mk := make([]byte, 16)
	rand.Read(mk)
	const user = "d5cBoeO7s9Q"
	c := offlineClient(t, user, mk, syntheticTree(t, 500, user, mk))
	// Odd nodes: an exported one, one whose key is wrapped with an unknown
	// share key, one whose attributes do not decrypt, an orphan.
	c.updateNode("00000001", func(n *Node) { n.PublicHandle = "PUBLIC01" })
	c.treeMu.Lock()
	c.tree.pending = nil
	kr := newKeyring(c.sess, c.tree)
	c.tree.put(kr.decode(&megaapi.Node{Handle: "shared01", Parent: "00000000", Owner: "otheruser00", Type: 0,
		Attr: "AAAAAAAAAAAAAAAAAAAAAA", Key: "sharehnd:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", TS: 5}))
	k, _ := wrapKey(mk, make([]byte, 16))
	c.tree.put(kr.decode(&megaapi.Node{Handle: "badattr1", Parent: "00000000", Owner: user, Type: 1,
		Attr: "AAAAAAAAAAAAAAAAAAAAAA", Key: user + ":" + k, TS: 6}))
	c.tree.put(kr.decode(&megaapi.Node{Handle: "orphan01", Parent: "nowhere1", Owner: user, Type: 1,
		Attr: c.tree.nodes["00000000"].attr, Key: user + ":" + k, TS: 7}))
	c.treeMu.Unlock()
	if c.Node("shared01").Err == nil || c.Node("badattr1").Err == nil {
		t.Fatal("odd nodes decrypted")
	}

	var buf bytes.Buffer
	if err := c.ExportTree(&buf); err != nil {
		t.Fatal(err)
	}
	c2 := offlineClient(t, user, mk, syntheticTree(t, 1, user, mk))
	if err := c2.ImportTree(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if err := sameNodes(c2.tree, c.tree); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(c2.Node("shared01").Err, errNeedShareKey) || !errors.Is(c2.Node("badattr1").Err, ErrNodeKey) {
		t.Errorf("errors after import: %v, %v", c2.Node("shared01").Err, c2.Node("badattr1").Err)
	}

	// Local mutations travel apart from the state at sn: the import shows
	// them, and rolls back to the exported sn's state.
	c.updateNode("00000002", func(n *Node) { n.Parent = "00000050" })
	c.mutate(func(t *tree, op *localOp) { op.remove(t, "00000100") })
	buf.Reset()
	if err := c.ExportTree(&buf); err != nil {
		t.Fatal(err)
	}
	if err := c2.ImportTree(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if err := sameNodes(c2.tree, c.tree); err != nil {
		t.Fatalf("with local changes: %v", err)
	}
	c.tree.rollback()
	c2.tree.rollback()
	if err := sameNodes(c2.tree, c.tree); err != nil {
		t.Fatalf("rolled back: %v", err)
	}

	// Damage is an error, never a panic or a partial tree.
	good := buf.Bytes()
	for i := 0; i < len(good); i += 1 + len(good)/300 {
		c3 := offlineClient(t, user, mk, syntheticTree(t, 1, user, mk))
		if err := c3.ImportTree(bytes.NewReader(good[:i])); err == nil {
			t.Fatalf("import of the first %d bytes of %d succeeded", i, len(good))
		}
	}
	if err := c2.ImportTree(io.MultiReader(bytes.NewReader(good), strings.NewReader("x"))); err == nil {
		t.Error("import with trailing data succeeded")
	}
	other := offlineClient(t, "otheruser00", mk, syntheticTree(t, 1, "otheruser00", mk))
	if err := other.ImportTree(bytes.NewReader(good)); err == nil {
		t.Error("import of another user's tree succeeded")
	}
}

// TestImportTreeJSON: exports of older versions (JSON lines, keys wrapped,
// attributes encrypted) still import.
func TestImportTreeJSON(t *testing.T) {
	mk := make([]byte, 16)
	rand.Read(mk)
	const user = "d5cBoeO7s9Q"
	c := offlineClient(t, user, mk, syntheticTree(t, 300, user, mk))
	c.updateNode("00000001", func(n *Node) { n.PublicHandle = "PUBLIC01" })
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.Encode(cacheHeader{V: treeCacheVersion, User: user, SN: c.tree.sn})
	for _, n := range c.tree.nodes {
		cn := cacheNode{Node: megaapi.Node{Handle: n.Handle, Parent: n.Parent, Owner: n.Owner, Type: int(n.Type),
			Attr: n.attr, Size: n.Size, TS: n.CreatedAt.Unix()}, PH: n.PublicHandle}
		if n.key != nil {
			k, _ := wrapKey(mk, n.key)
			cn.Key = user + ":" + k
		}
		enc.Encode(&cn)
	}
	c2 := offlineClient(t, user, mk, syntheticTree(t, 1, user, mk))
	if err := c2.ImportTree(&buf); err != nil {
		t.Fatal(err)
	}
	if err := sameNodes(c2.tree, c.tree); err != nil {
		t.Fatal(err)
	}
}

func TestSubtreeCycle(t *testing.T) {
	tr := newTree()
	tr.put(&Node{Handle: "root0000", Type: RootNode})
	tr.put(&Node{Handle: "xxxxxxxx", Parent: "yyyyyyyy", Type: FolderNode})
	tr.put(&Node{Handle: "yyyyyyyy", Parent: "xxxxxxxx", Type: FolderNode})
	tr.put(&Node{Handle: "zzzzzzzz", Parent: "yyyyyyyy", Type: FolderNode})
	if got := tr.subtree("xxxxxxxx"); len(got) != 3 {
		t.Errorf("subtree in a cycle = %v", got)
	}
	if !tr.within("zzzzzzzz", "xxxxxxxx") || tr.within("root0000", "xxxxxxxx") {
		t.Error("within is wrong")
	}
	n := 0
	tr.walk(func(*Node, map[string]*Node) { n++ })
	if n != 4 {
		t.Errorf("walk visited %d nodes, want 4", n)
	}
	tr.remove("xxxxxxxx")
	if len(tr.nodes) != 1 {
		t.Errorf("%d nodes left after removing the cycle", len(tr.nodes))
	}
}

// TestDecryptNameAttrs: the fast path agrees with DecryptAttrs.
func TestDecryptNameAttrs(t *testing.T) {
	key := make([]byte, 16)
	rand.Read(key)
	enc := func(plain string) string {
		p := []byte(plain)
		for len(p)%16 != 0 {
			p = append(p, 0)
		}
		kc, _ := megacrypto.NewKeyCipher(key)
		// CBC with a zero IV, by hand.
		var prev [16]byte
		for i := 0; i < len(p); i += 16 {
			for j := range 16 {
				p[i+j] ^= prev[j]
			}
			kc.Encrypt(p[i:i+16], p[i:i+16])
			copy(prev[:], p[i:i+16])
		}
		return megacrypto.B64Encode(p)
	}
	plains := []string{
		`MEGA{"n":"a"}`, `MEGA{"n":"file.jpg","c":"lGjTAJjxdKIc32EmgYbPLQQA8VNl"}`, `MEGA{"c":"x","n":"y"}`,
		`MEGA{"n":"é ü 日本"}`, `MEGA{"n":"a\"b"}`, `MEGA{"n":"a\u0041"}`, `MEGA{"n":"a","x":1}`,
		`MEGA{"n":null}`, `MEGA{"n":1}`, `MEGA{"n":"a",}`, `MEGA{"n":"a"} `, `MEGA{"n":"a"}x`,
		`MEGA{"n":"a","n":"b"}`, `MEGA{ "n":"a"}`, "MEGA{\"n\":\"\xff\"}", `MEGA{"n":"a"`, `MEGA{}`,
		`MEGA{"":"a"}`, `MEGB{"n":"a"}`, `MEGA{"n":"` + strings.Repeat("long ", 100) + `"}`, "MEGA{\"n\":\"a\tb\"}",
	}
	for _, p := range plains {
		s := enc(p)
		for _, s := range []string{s, s + "=", strings.ReplaceAll(s, "-", "+"), s[:len(s)-1], "", "!!!!"} {
			a, err1 := megacrypto.DecryptAttrs(key, s)
			name, fp, err2 := megacrypto.DecryptNameAttrs(key, s)
			if (err1 == nil) != (err2 == nil) || name != a.Name || fp != a.Fingerprint {
				t.Errorf("%q (%q): DecryptNameAttrs = %q, %q, %v; DecryptAttrs = %+v, %v", p, s, name, fp, err2, a, err1)
			}
		}
	}
}

func TestKeyCipher(t *testing.T) {
	mk := make([]byte, 16)
	rand.Read(mk)
	kc, err := megacrypto.NewKeyCipher(mk)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{16, 32} {
		key := make([]byte, size)
		rand.Read(key)
		w, _ := megacrypto.EncryptKey(mk, key)
		w2 := make([]byte, size)
		if err := kc.Encrypt(w2, key); err != nil || !bytes.Equal(w, w2) {
			t.Errorf("Encrypt = %x, %v; want %x", w2, err, w)
		}
		for _, s := range []string{megacrypto.B64Encode(w), megacrypto.B64Encode(w) + "=="} {
			got, err := kc.DecryptString(s)
			if err != nil || !bytes.Equal(got, key) {
				t.Errorf("DecryptString(%q) = %x, %v; want %x", s, got, err, key)
			}
		}
	}
	if _, err := kc.DecryptString("AAAA"); !errors.Is(err, megacrypto.ErrKeySize) {
		t.Errorf("DecryptString of 3 bytes: %v", err)
	}
	if _, err := kc.DecryptString("A!AA"); !errors.Is(err, megacrypto.ErrBase64) {
		t.Errorf("DecryptString of bad base64: %v", err)
	}
	if _, err := megacrypto.NewKeyCipher(make([]byte, 15)); err == nil {
		t.Error("NewKeyCipher accepted a 15-byte key")
	}
}

const benchTreeNodes = 100000

// benchTreeClient is an offline client with a synthetic tree of
// benchTreeNodes nodes (folders of 50 files).
func benchTreeClient(b *testing.B) *Client {
	mk := make([]byte, 16)
	rand.Read(mk)
	const user = "d5cBoeO7s9Q"
	return offlineClient(b, user, mk, syntheticTree(b, benchTreeNodes, user, mk))
}

// BenchmarkExportTree writes a 100,000-node tree (warm-start cache).
func BenchmarkExportTree(b *testing.B) {
	c := benchTreeClient(b)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := c.ExportTree(&buf); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportMetric(float64(buf.Len())/benchTreeNodes, "bytes/node")
}

// BenchmarkImportTree reads a 100,000-node tree (warm-start cache).
func BenchmarkImportTree(b *testing.B) {
	c := benchTreeClient(b)
	var buf bytes.Buffer
	if err := c.ExportTree(&buf); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if err := c.ImportTree(bytes.NewReader(buf.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchTreeNodes, "ns/node")
}

// FuzzImportTree: any damage to an export is an error or a consistent
// tree, never a panic or a hang.
func FuzzImportTree(f *testing.F) {
	mk := make([]byte, 16)
	const user = "d5cBoeO7s9Q"
	c := offlineClient(f, user, mk, syntheticTree(f, 20, user, mk))
	var buf bytes.Buffer
	if err := c.ExportTree(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	c.updateNode("00000002", func(n *Node) { n.Parent = "00000005" })
	buf.Reset()
	if err := c.ExportTree(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		c := offlineClient(t, user, mk, syntheticTree(t, 1, user, mk))
		if err := c.ImportTree(bytes.NewReader(data)); err != nil {
			return
		}
		if c.Root() == nil {
			t.Fatal("an import without error has no root")
		}
		c.Children(c.Root())
	})
}
