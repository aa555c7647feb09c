package megaserver_test

import (
	"encoding/json"
	"strings"
	"testing"

	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
	"ferry/megaserver/megaservertest"
)

// shareFixture is alice's tree for the share tests:
// root/dir/sub/file, root/dir/dfile and root/outside/ofile.
type shareFixture struct {
	alice                          *client
	mk                             []byte
	root, rubbish                  string
	dir, sub, file, dfile, outside megaapi.Node
	ofile                          megaapi.Node
}

func newShareFixture(t *testing.T, ts *megaservertest.TestServer) *shareFixture {
	t.Helper()
	sess := ts.Login(t, megaservertest.UserV2, megaservertest.PasswordV2)
	f := &shareFixture{alice: newClient(t, ts, sess), mk: sess.MasterKey}
	tr := f.alice.fetch()
	f.root, f.rubbish = tr.byType(megaapi.TypeRoot).Handle, tr.byType(megaapi.TypeRubbish).Handle
	f.dir = f.alice.mkdir(f.root)
	f.sub = f.alice.mkdir(f.dir.Handle)
	f.file = f.alice.uploadFile(f.sub.Handle, []byte("shared file"))
	f.dfile = f.alice.uploadFile(f.dir.Handle, []byte("another"))
	f.outside = f.alice.mkdir(f.root)
	f.ofile = f.alice.uploadFile(f.outside.Handle, []byte("not shared"))
	return f
}

// shareKeys returns `ok` and `ha` for sharing folder h as a client would
// compute them (the server cannot check them).
func shareKeys(t *testing.T, mk []byte, h string) (ok, ha string) {
	t.Helper()
	w, err := megacrypto.EncryptKey(mk, randBytes(16))
	if err != nil {
		t.Fatal(err)
	}
	ha, err = megacrypto.HandleAuth(mk, h)
	if err != nil {
		t.Fatal(err)
	}
	return megacrypto.B64Encode(w), ha
}

// s2 builds an `s2` command sharing folder with EXP; keys maps node
// handles to their wrapped keys for `cr`.
func s2(folder, ok, ha string, keys [][2]string) map[string]any {
	var nodes []string
	triples := []any{}
	for i, kv := range keys {
		nodes = append(nodes, kv[0])
		triples = append(triples, 0, i, kv[1])
	}
	if nodes == nil {
		nodes = []string{}
	}
	return map[string]any{"a": "s2", "n": folder, "s": []any{map[string]any{"u": "EXP", "r": 0}},
		"ok": ok, "ha": ha, "cr": []any{[]string{folder}, nodes, triples}}
}

func okEntries(t *testing.T, tr *tree) []megaapi.ShareKey {
	t.Helper()
	out := []megaapi.ShareKey{}
	for _, raw := range tr.OK {
		var sk megaapi.ShareKey
		if err := json.Unmarshal(raw, &sk); err != nil {
			t.Fatalf("ok entry %s: %v", raw, err)
		}
		out = append(out, sk)
	}
	return out
}

func TestShareFolder(t *testing.T) {
	ts := megaservertest.Start(t)
	f := newShareFixture(t, ts)
	alice := f.alice
	second := login(t, ts, megaservertest.UserV2, megaservertest.PasswordV2)
	bob := login(t, ts, megaservertest.UserV1, megaservertest.PasswordV1)
	sn := second.fetch().SN
	bsn := bob.fetch().SN

	ok, ha := shareKeys(t, f.mk, f.dir.Handle)
	kDir, kSub, kFile := randB64(16), randB64(16), randB64(32)
	cmd := s2(f.dir.Handle, ok, ha, [][2]string{{f.dir.Handle, kDir}, {f.sub.Handle, kSub}, {f.file.Handle, kFile}})
	cmd["i"] = "sharetag"
	// Inside a batch, like any command.
	res := alice.batch(map[string]any{"a": "ug"}, cmd)
	if string(res[1]) != "0" {
		t.Fatalf("s2 = %s, want 0", res[1])
	}

	tr := alice.fetch()
	if got := okEntries(t, tr); len(got) != 1 || got[0] != (megaapi.ShareKey{Handle: f.dir.Handle, Key: ok, HA: ha}) {
		t.Errorf("f ok = %+v, want the share of %s", got, f.dir.Handle)
	}
	want := map[string]string{
		f.dir.Handle:     f.dir.Key + "/" + f.dir.Handle + ":" + kDir,
		f.sub.Handle:     f.sub.Key + "/" + f.dir.Handle + ":" + kSub,
		f.file.Handle:    f.file.Key + "/" + f.dir.Handle + ":" + kFile,
		f.dfile.Handle:   f.dfile.Key, // not in cr
		f.outside.Handle: f.outside.Key,
		f.ofile.Handle:   f.ofile.Key,
	}
	for h, k := range want {
		if n, _ := tr.find(h); n.Key != k {
			t.Errorf("k of %s = %q, want %q", h, n.Key, k)
		}
	}

	// The other session of alice learns about it; the packet follows the
	// server's conventions (a first, ou, i).
	rep, code := second.poll(sn)
	if code != 0 || len(rep.Packets) != 1 {
		t.Fatalf("second session poll: %+v %d", rep, code)
	}
	raw := rep.Packets[0]
	if !strings.HasPrefix(string(raw), `{"a":"s2",`) {
		t.Errorf("packet %s does not start with a:s2", raw)
	}
	var p map[string]any
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{"n": f.dir.Handle, "u": "EXP", "r": 0.0, "ok": ok, "ha": ha, "ou": alice.user, "i": "sharetag"} {
		if p[k] != v {
			t.Errorf("packet %s: %s = %v, want %v", raw, k, p[k], v)
		}
	}
	// Bob sees neither packets nor the share.
	if rep, _ := bob.poll(bsn); rep.W == "" || len(rep.Packets) != 0 {
		t.Errorf("bob sees packets: %+v", rep)
	}
	if got := okEntries(t, bob.fetch()); len(got) != 0 {
		t.Errorf("bob's f ok = %+v", got)
	}

	// Again with the same ok: accepted, cr applied; an entry for the same
	// share is replaced, not repeated.
	kFile2, kDfile := randB64(32), randB64(32)
	if got := alice.code(s2(f.dir.Handle, ok, ha, [][2]string{{f.file.Handle, kFile2}, {f.dfile.Handle, kDfile}})); got != 0 {
		t.Fatalf("second s2 with the same ok = %d, want 0", got)
	}
	tr = alice.fetch()
	want[f.file.Handle] = f.file.Key + "/" + f.dir.Handle + ":" + kFile2
	want[f.dfile.Handle] = f.dfile.Key + "/" + f.dir.Handle + ":" + kDfile
	for h, k := range want {
		if n, _ := tr.find(h); n.Key != k {
			t.Errorf("after second s2: k of %s = %q, want %q", h, n.Key, k)
		}
	}
	if got := okEntries(t, tr); len(got) != 1 {
		t.Errorf("after second s2: ok = %+v", got)
	}

	// A different ok is EEXIST and changes nothing.
	ok2, _ := shareKeys(t, f.mk, f.dir.Handle)
	if got := alice.code(s2(f.dir.Handle, ok2, ha, [][2]string{{f.file.Handle, randB64(32)}})); got != -12 {
		t.Errorf("s2 with another ok = %d, want -12", got)
	}
	tr = alice.fetch()
	if got := okEntries(t, tr); len(got) != 1 || got[0].Key != ok {
		t.Errorf("after -12: ok = %+v", got)
	}
	if n, _ := tr.find(f.file.Handle); n.Key != want[f.file.Handle] {
		t.Errorf("after -12: k of file = %q", n.Key)
	}

	// A nested share adds its own entry after the first one's.
	ok3, ha3 := shareKeys(t, f.mk, f.sub.Handle)
	kFile3 := randB64(32)
	if got := alice.code(s2(f.sub.Handle, ok3, ha3, [][2]string{{f.file.Handle, kFile3}})); got != 0 {
		t.Fatalf("nested s2 = %d", got)
	}
	tr = alice.fetch()
	if n, _ := tr.find(f.file.Handle); n.Key != want[f.file.Handle]+"/"+f.sub.Handle+":"+kFile3 {
		t.Errorf("nested share: k of file = %q", n.Key)
	}
	if got := okEntries(t, tr); len(got) != 2 {
		t.Errorf("nested share: ok = %+v", got)
	}

	// Moving a shared folder keeps the share; deleting it drops it.
	if got := alice.code(map[string]any{"a": "m", "n": f.sub.Handle, "t": f.outside.Handle}); got != 0 {
		t.Fatalf("move = %d", got)
	}
	if got := okEntries(t, alice.fetch()); len(got) != 2 {
		t.Errorf("after move: ok = %+v", got)
	}
	if got := alice.code(map[string]any{"a": "d", "n": f.sub.Handle}); got != 0 {
		t.Fatalf("delete = %d", got)
	}
	if got := okEntries(t, alice.fetch()); len(got) != 1 || got[0].Handle != f.dir.Handle {
		t.Errorf("after delete: ok = %+v", got)
	}
	if got := okEntries(t, bob.fetch()); len(got) != 0 {
		t.Errorf("bob's f ok = %+v", got)
	}
}

func TestShareErrors(t *testing.T) {
	ts := megaservertest.Start(t)
	f := newShareFixture(t, ts)
	alice := f.alice
	bob := login(t, ts, megaservertest.UserV1, megaservertest.PasswordV1)
	bobDir := bob.mkdir(bob.root())
	bobFile := bob.uploadFile(bobDir.Handle, []byte("bob's"))
	ok, ha := shareKeys(t, f.mk, f.dir.Handle)
	before := alice.fetch()
	bobBefore := bob.fetch()

	exp := []any{map[string]any{"u": "EXP", "r": 0}}
	with := func(k string, v any) map[string]any {
		cmd := s2(f.dir.Handle, ok, ha, [][2]string{{f.sub.Handle, randB64(16)}})
		if v == nil {
			delete(cmd, k)
		} else {
			cmd[k] = v
		}
		return cmd
	}
	cr := func(v any) map[string]any { return with("cr", v) }
	type tc struct {
		name string
		who  *client
		cmd  map[string]any
		want int
	}
	cases := []tc{
		// The folder.
		{"foreign folder", bob, s2(f.dir.Handle, ok, ha, nil), -9},
		{"foreign folder with own cr", bob, s2(f.dir.Handle, ok, ha, [][2]string{{bobDir.Handle, randB64(16)}}), -9},
		{"missing folder", alice, s2("AAAAAAAA", ok, ha, nil), -9},
		{"malformed handle", alice, s2("xyz", ok, ha, nil), -9},
		{"file instead of folder", alice, s2(f.file.Handle, ok, ha, nil), -2},
		{"root", alice, s2(f.root, ok, ha, nil), -11},
		{"rubbish bin", alice, s2(f.rubbish, ok, ha, nil), -11},
		// cr nodes.
		{"node outside the subtree", alice, s2(f.dir.Handle, ok, ha, [][2]string{{f.sub.Handle, randB64(16)}, {f.ofile.Handle, randB64(32)}}), -9},
		{"folder outside the subtree", alice, s2(f.dir.Handle, ok, ha, [][2]string{{f.outside.Handle, randB64(16)}}), -9},
		{"root as node", alice, s2(f.dir.Handle, ok, ha, [][2]string{{f.root, randB64(16)}}), -9},
		{"other user's node", alice, s2(f.dir.Handle, ok, ha, [][2]string{{bobFile.Handle, randB64(32)}}), -9},
		{"missing node", alice, s2(f.dir.Handle, ok, ha, [][2]string{{"AAAAAAAA", randB64(16)}}), -9},
		{"listed node without triple outside", alice, cr([]any{[]string{f.dir.Handle}, []string{f.sub.Handle, f.ofile.Handle}, []any{0, 0, randB64(16)}}), -9},
		{"share handle is not n", alice, cr([]any{[]string{f.sub.Handle}, []string{f.sub.Handle}, []any{0, 0, randB64(16)}}), -2},
		// Encodings.
		{"ok not base64", alice, with("ok", "!!!!!!!!!!!!!!!!!!!!!!"), -2},
		{"ok of 15 bytes", alice, with("ok", randB64(15)), -2},
		{"ok of 32 bytes", alice, with("ok", randB64(32)), -2},
		{"ok empty", alice, with("ok", ""), -2},
		{"ok missing", alice, with("ok", nil), -2},
		{"ok padded", alice, with("ok", ok+"=="), -2},
		{"ha of 8 bytes", alice, with("ha", randB64(8)), -2},
		{"ha missing", alice, with("ha", nil), -2},
		{"key of 17 bytes", alice, cr([]any{[]string{f.dir.Handle}, []string{f.sub.Handle}, []any{0, 0, randB64(17)}}), -2},
		{"key of 24 bytes", alice, cr([]any{[]string{f.dir.Handle}, []string{f.sub.Handle}, []any{0, 0, randB64(24)}}), -2},
		{"key standard alphabet", alice, cr([]any{[]string{f.dir.Handle}, []string{f.sub.Handle}, []any{0, 0, "+/+/+/+/+/+/+/+/+/+/+w"}}), -2},
		{"key with separators", alice, cr([]any{[]string{f.dir.Handle}, []string{f.sub.Handle}, []any{0, 0, "AAAAAAAAAA:AAAAAAAAAAA"}}), -2},
		{"key empty", alice, cr([]any{[]string{f.dir.Handle}, []string{f.sub.Handle}, []any{0, 0, ""}}), -2},
		// Types and shapes.
		{"n a number", alice, with("n", 7), -2},
		{"n empty", alice, with("n", ""), -2},
		{"ok a number", alice, with("ok", 5), -2},
		{"ha an object", alice, with("ha", map[string]any{}), -2},
		{"s a string", alice, with("s", "EXP"), -2},
		{"s missing", alice, with("s", nil), -2},
		{"s empty", alice, with("s", []any{}), -2},
		{"s with a user", alice, with("s", []any{map[string]any{"u": "bob@example.com", "r": 0}}), -2},
		{"s without r: removes a share there is not", alice, with("s", []any{map[string]any{"u": "EXP"}}), -9},
		{"s adding and removing", alice, with("s", []any{map[string]any{"u": "EXP", "r": 0}, map[string]any{"u": "EXP"}}), -2},
		{"s with r a string", alice, with("s", []any{map[string]any{"u": "EXP", "r": "0"}}), -2},
		{"s with r 3", alice, with("s", []any{map[string]any{"u": "EXP", "r": 3}}), -2},
		{"s entry a number", alice, with("s", []any{1}), -2},
		{"cr a string", alice, cr("x"), -2},
		{"cr an object", alice, cr(map[string]any{}), -2},
		{"cr of two lists", alice, cr([]any{[]string{f.dir.Handle}, []string{f.sub.Handle}}), -2},
		{"cr of nulls", alice, cr([]any{nil, nil, nil}), -2},
		{"cr lists of numbers", alice, cr([]any{[]int{1}, []int{2}, []any{0, 0, randB64(16)}}), -2},
		{"cr triples incomplete", alice, cr([]any{[]string{f.dir.Handle}, []string{f.sub.Handle}, []any{0, 0}}), -2},
		{"cr index a string", alice, cr([]any{[]string{f.dir.Handle}, []string{f.sub.Handle}, []any{"0", 0, randB64(16)}}), -2},
		{"cr index a fraction", alice, cr([]any{[]string{f.dir.Handle}, []string{f.sub.Handle}, []any{0, 0.5, randB64(16)}}), -2},
		{"cr index null", alice, cr([]any{[]string{f.dir.Handle}, []string{f.sub.Handle}, []any{0, nil, randB64(16)}}), -2},
		{"cr share index out of range", alice, cr([]any{[]string{f.dir.Handle}, []string{f.sub.Handle}, []any{1, 0, randB64(16)}}), -2},
		{"cr node index out of range", alice, cr([]any{[]string{f.dir.Handle}, []string{f.sub.Handle}, []any{0, 1, randB64(16)}}), -2},
		{"cr negative index", alice, cr([]any{[]string{f.dir.Handle}, []string{f.sub.Handle}, []any{0, -1, randB64(16)}}), -2},
		{"cr key a number", alice, cr([]any{[]string{f.dir.Handle}, []string{f.sub.Handle}, []any{0, 0, 16}}), -2},
		{"cr key null", alice, cr([]any{[]string{f.dir.Handle}, []string{f.sub.Handle}, []any{0, 0, nil}}), -2},
		{"cr null node handle", alice, cr([]any{[]string{f.dir.Handle}, []any{nil}, []any{0, 0, randB64(16)}}), -2},
		{"cr without share handles", alice, cr([]any{[]string{}, []string{f.sub.Handle}, []any{0, 0, randB64(16)}}), -2},
	}
	for _, c := range cases {
		if got := c.who.code(c.cmd); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	// Raw bodies the client helper cannot produce.
	for _, body := range []string{
		`[{"a":"s2","n":"` + f.dir.Handle + `","s":[{"u":"EXP","r":0}],"ok":"` + ok + `","ha":"` + ha + `","cr":[[` + `"` + f.dir.Handle + `"],["` + f.sub.Handle + `"],[0,0,"` + randB64(16) + `"]`,
		`[{"a":"s2","n":["` + f.dir.Handle + `"]}]`,
		`[{"a":"s2","n":"` + f.dir.Handle + `","s":null,"ok":"` + ok + `","ha":"` + ha + `"}]`,
		`[{"a":"s2","n":"` + f.dir.Handle + `","s":[{"u":"EXP","r":1e400}],"ok":"` + ok + `","ha":"` + ha + `"}]`,
	} {
		_, reply := alice.post(alice.nextID(), body)
		if s := string(reply); s != "-2" && s != "[-2]" {
			t.Errorf("body %s: %s, want -2", abbrev([]byte(body)), reply)
		}
	}

	// Nothing changed: no share, no key entries (failed commands are
	// atomic: the valid first triple of "node outside the subtree" left no
	// trace), on either side.
	for _, side := range []struct {
		c      *client
		before *tree
	}{{alice, before}, {bob, bobBefore}} {
		after := side.c.fetch()
		if got := okEntries(t, after); len(got) != 0 {
			t.Errorf("ok after failed s2s: %+v", got)
		}
		if len(after.Nodes) != len(side.before.Nodes) || after.SN != side.before.SN {
			t.Errorf("tree changed: %d nodes sn %s, was %d %s", len(after.Nodes), after.SN, len(side.before.Nodes), side.before.SN)
		}
		for _, n := range side.before.Nodes {
			if m, _ := after.find(n.Handle); m.Key != n.Key {
				t.Errorf("k of %s changed: %q -> %q", n.Handle, n.Key, m.Key)
			}
		}
	}

	// Without cr (or with an empty one) the share is still stored.
	if got := alice.code(map[string]any{"a": "s2", "n": f.dir.Handle, "s": exp, "ok": ok, "ha": ha}); got != 0 {
		t.Errorf("s2 without cr = %d, want 0", got)
	}
	if got := alice.code(s2(f.dir.Handle, ok, ha, nil)); got != 0 {
		t.Errorf("s2 with an empty cr = %d, want 0", got)
	}
	if got := okEntries(t, alice.fetch()); len(got) != 1 || got[0].Key != ok {
		t.Errorf("ok = %+v", got)
	}
}

func TestSharePersists(t *testing.T) {
	dir := t.TempDir()
	ts := megaservertest.Start(t, megaservertest.WithDir(dir))
	f := newShareFixture(t, ts)
	ok, ha := shareKeys(t, f.mk, f.dir.Handle)
	kSub, kFile := randB64(16), randB64(32)
	if got := f.alice.code(s2(f.dir.Handle, ok, ha, [][2]string{{f.sub.Handle, kSub}, {f.file.Handle, kFile}})); got != 0 {
		t.Fatalf("s2 = %d", got)
	}
	before := f.alice.fetch()
	ts.Close()

	ts2 := megaservertest.Start(t, megaservertest.WithDir(dir))
	f.alice.base = ts2.URL // sessions persist
	after := f.alice.fetch()
	if got := okEntries(t, after); len(got) != 1 || got[0] != (megaapi.ShareKey{Handle: f.dir.Handle, Key: ok, HA: ha}) {
		t.Errorf("ok after restart = %+v", got)
	}
	if after.SN != before.SN {
		t.Errorf("sn %s after restart, was %s", after.SN, before.SN)
	}
	for h, k := range map[string]string{
		f.sub.Handle:  f.sub.Key + "/" + f.dir.Handle + ":" + kSub,
		f.file.Handle: f.file.Key + "/" + f.dir.Handle + ":" + kFile,
	} {
		if n, _ := after.find(h); n.Key != k {
			t.Errorf("k of %s after restart = %q, want %q", h, n.Key, k)
		}
	}
	// The stored ok still decides: the same one is accepted, another not.
	if got := f.alice.code(s2(f.dir.Handle, ok, ha, nil)); got != 0 {
		t.Errorf("same ok after restart = %d, want 0", got)
	}
	if ok2, _ := shareKeys(t, f.mk, f.dir.Handle); f.alice.code(s2(f.dir.Handle, ok2, ha, nil)) != -12 {
		t.Errorf("another ok after restart: want -12")
	}
}
