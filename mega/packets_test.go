package mega

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
	"ferry/megaserver/megaservertest"
)

// offlineTree builds a tree of root/a/b/f (f a file) for apply tests.
func offlineTree(t *testing.T) (*tree, *keyring, map[string]megaapi.Node) {
	t.Helper()
	const user = "AAAAAAAAAAA"
	mk := make([]byte, 16)
	rand.Read(mk)
	tr := newTree()
	kr := &keyring{user: user, mk: mk, t: tr}
	wire := map[string]megaapi.Node{}
	folder := func(h, p, name string) {
		key := make([]byte, 16)
		rand.Read(key)
		a, _ := megacrypto.EncryptAttrs(key, megacrypto.Attrs{Name: name})
		k, _ := wrapKey(mk, key)
		wire[h] = megaapi.Node{Handle: h, Parent: p, Owner: user, Type: 1, Attr: a, Key: user + ":" + k, TS: 1}
	}
	wire["root0000"] = megaapi.Node{Handle: "root0000", Owner: user, Type: 2}
	wire["rubbish0"] = megaapi.Node{Handle: "rubbish0", Owner: user, Type: 4}
	folder("aaaaaaaa", "root0000", "a")
	folder("bbbbbbbb", "aaaaaaaa", "b")
	fk, _ := megacrypto.NewFileKey(rand.Reader)
	a, _ := megacrypto.EncryptAttrs(fk.Key[:], megacrypto.Attrs{Name: "f", Fingerprint: "aGVsbG8AAAAAAAAAAAAAAAQA8VNl"})
	k, _ := wrapKey(mk, fk.Pack())
	wire["ffffffff"] = megaapi.Node{Handle: "ffffffff", Parent: "bbbbbbbb", Owner: user, Type: 0, Attr: a, Key: user + ":" + k, Size: 5, TS: 1}
	for _, h := range []string{"root0000", "rubbish0", "aaaaaaaa", "bbbbbbbb", "ffffffff"} {
		w := wire[h]
		tr.put(kr.decode(&w))
	}
	return tr, kr, wire
}

func pathOf(tr *tree, h string) string {
	var parts []string
	for n := tr.nodes[h]; n != nil; n = tr.nodes[n.Parent] {
		parts = append([]string{n.Name}, parts...)
	}
	return strings.Join(parts, "/")
}

func TestApplyMoveInOneBatch(t *testing.T) {
	tr, kr, wire := offlineTree(t)
	b, f := wire["bbbbbbbb"], wire["ffffffff"]
	b.Parent = "rubbish0"
	batch := []megaapi.Packet{{A: "d", N: "bbbbbbbb", M: 1}, {A: "t", T: &megaapi.PacketTree{Nodes: []megaapi.Node{b, f}}}}
	for range 2 { // applying twice is harmless
		tr.apply(kr, batch)
		if got := pathOf(tr, "ffffffff"); got != "/b/f" {
			t.Fatalf("path after move = %q", got)
		}
		if tr.nodes["ffffffff"].Name != "f" || tr.nodes["bbbbbbbb"].Parent != "rubbish0" {
			t.Fatal("moved nodes lost")
		}
		if len(tr.kids["aaaaaaaa"]) != 0 || len(tr.kids["rubbish0"]) != 1 {
			t.Fatalf("child sets: a=%d rubbish=%d", len(tr.kids["aaaaaaaa"]), len(tr.kids["rubbish0"]))
		}
	}
}

func TestApplyMoveListingOnlyTheRoot(t *testing.T) {
	// Children not listed in the t of a move are removed (SDK semantics).
	tr, kr, wire := offlineTree(t)
	b := wire["bbbbbbbb"]
	b.Parent = "root0000"
	tr.apply(kr, []megaapi.Packet{{A: "d", N: "bbbbbbbb", M: 1}, {A: "t", T: &megaapi.PacketTree{Nodes: []megaapi.Node{b}}}})
	if tr.nodes["bbbbbbbb"] == nil || tr.nodes["ffffffff"] != nil {
		t.Fatalf("b=%v f=%v", tr.nodes["bbbbbbbb"], tr.nodes["ffffffff"])
	}
}

func TestApplyDeleteAndUnknown(t *testing.T) {
	tr, kr, _ := offlineTree(t)
	tr.apply(kr, []megaapi.Packet{
		{A: "d", N: "missing0"}, {A: "u", N: "missing0", At: "x"}, {A: "ph", H: "missing0", PH: "x"},
		{A: "zz"}, {A: "t"}, {A: "d", N: "aaaaaaaa"},
	})
	for _, h := range []string{"aaaaaaaa", "bbbbbbbb", "ffffffff"} {
		if tr.nodes[h] != nil {
			t.Errorf("%s survived the delete of its subtree", h)
		}
	}
	if len(tr.kids) != 0 || len(tr.nodes) != 2 {
		t.Errorf("leftovers: %d child sets, %d nodes", len(tr.kids), len(tr.nodes))
	}
}

func TestApplyAttributesAndLinks(t *testing.T) {
	tr, kr, _ := offlineTree(t)
	n := tr.nodes["ffffffff"]
	ak, _ := n.attrKey()
	at, _ := megacrypto.EncryptAttrs(ak, megacrypto.Attrs{Name: "g", Fingerprint: n.Fingerprint, Extra: map[string][]byte{"lbl": []byte("3")}})
	tr.apply(kr, []megaapi.Packet{{A: "u", N: "ffffffff", At: at}, {A: "ph", H: "ffffffff", PH: "pubhandl"}})
	if m := tr.nodes["ffffffff"]; m.Name != "g" || m.PublicHandle != "pubhandl" || m.Fingerprint != n.Fingerprint {
		t.Fatalf("after u+ph: %+v", m)
	}
	if n.Name != "f" {
		t.Fatal("the old snapshot changed")
	}
	tr.apply(kr, []megaapi.Packet{{A: "u", N: "ffffffff", At: "garbage"}, {A: "ph", H: "ffffffff", D: 1}})
	if m := tr.nodes["ffffffff"]; !errors.Is(m.Err, ErrNodeKey) || m.PublicHandle != "" {
		t.Fatalf("after bad u: %+v", m)
	}
}

func TestUndecryptableNodesKept(t *testing.T) {
	tr, kr, _ := offlineTree(t)
	for _, w := range []megaapi.Node{
		{Handle: "badkey00", Parent: "root0000", Type: 0, Key: "AAAAAAAAAAA:!!!!", Attr: "x"},
		{Handle: "noowner0", Parent: "root0000", Type: 1, Key: "BBBBBBBBBBB:AAAAAAAAAAAAAAAAAAAAAA", Attr: "x"},
		{Handle: "rsakey00", Parent: "root0000", Type: 0, Key: "AAAAAAAAAAA:" + strings.Repeat("A", 100), Attr: "x"},
		{Handle: "wrongsz0", Parent: "root0000", Type: 0, Key: "AAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA", Attr: "x"},
		{Handle: "badattr0", Parent: "root0000", Type: 1, Key: "AAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA", Attr: "AAAAAAAAAAAAAAAAAAAAAA"},
		{Handle: "nokey000", Parent: "root0000", Type: 1},
	} {
		n := kr.decode(&w)
		if !errors.Is(n.Err, ErrNodeKey) || n.Name != "" {
			t.Errorf("%s: Err=%v Name=%q", w.Handle, n.Err, n.Name)
		}
		tr.put(n)
	}
	if len(tr.kids["root0000"]) != 7 {
		t.Errorf("root has %d children, want 7", len(tr.kids["root0000"]))
	}
}

func TestPollRefetchesWhenSNTooOld(t *testing.T) {
	ts := megaservertest.Start(t)
	c := newLoggedIn(t, ts)
	c2 := newLoggedIn(t, ts)
	d := mkdir(t, c2, c2.Root(), "while away")
	var future [8]byte
	binary.LittleEndian.PutUint64(future[:], 1<<50)
	c.treeMu.Lock()
	c.tree.sn = megacrypto.B64Encode(future[:])
	c.treeMu.Unlock()
	changed, err := c.Poll(t.Context())
	if err != nil || !changed {
		t.Fatalf("Poll = %v, %v", changed, err)
	}
	if c.Node(d.Handle) == nil || c.SN() == megacrypto.B64Encode(future[:]) {
		t.Fatal("tree not re-fetched")
	}
}

// TestWatchBatchesBurst: while another client uploads a burst of files,
// Watch fetches the packets in batches (one OnChange per watchSettle at
// most, plus the first), not one poll per upload.
func TestWatchBatchesBurst(t *testing.T) {
	ts := megaservertest.Start(t)
	var changes atomic.Int32
	opts := testOptions(t, ts)
	opts.OnChange = func() { changes.Add(1) }
	w := newLoggedInAs(t, ts, opts, megaservertest.UserV2, megaservertest.PasswordV2)
	c := newLoggedIn(t, ts)
	d := mkdir(t, c, c.Root(), "burst")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Watch(ctx) }()
	for deadline := time.Now().Add(10 * time.Second); w.Node(d.Handle) == nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Watch did not deliver the folder")
		}
	}
	changes.Store(0)
	const files = 30
	start := time.Now()
	var last *Node
	for i := range files {
		last = upload(t, c, d, fmt.Sprintf("f%d", i), []byte("x"))
	}
	elapsed := time.Since(start)
	for deadline := time.Now().Add(10 * time.Second); w.Node(last.Handle) == nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Watch did not deliver the last file")
		}
	}
	cancel()
	<-done
	if got, max := int(changes.Load()), 2+int(elapsed/watchSettle); got > max || got >= files {
		t.Errorf("OnChange called %d times for %d uploads in %v, want at most %d", got, files, elapsed, max)
	}
}
