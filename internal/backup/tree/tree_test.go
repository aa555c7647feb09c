package tree

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"testing"
	"time"

	"ferry/internal/backup/repo"
)

func id(s string) repo.ID { return sha256.Sum256([]byte(s)) }

// sample has every node type, odd names (invalid UTF-8, a newline, a
// backslash, a long name), times before 1970 and with nanoseconds, and
// special mode bits.
func sample() *Tree {
	t := &Tree{Nodes: []Node{
		{Name: []byte("a\nb"), Type: File, Mode: 0o644, ModTime: time.Unix(1733112000, 123456789).UTC(), Size: 3 << 20,
			Inode: 1 << 40, Dev: 2049, UID: 1000, GID: 1000, Content: []repo.ID{id("1"), id("2"), id("3")}},
		{Name: []byte("dir"), Type: Dir, Mode: 0o755 | fs.ModeSetgid | fs.ModeSticky, ModTime: time.Unix(-86400, 1).UTC(),
			Inode: 7, Dev: 1, UID: 0, GID: 4294967295, Subtree: id("sub")},
		{Name: []byte("empty"), Type: File, Mode: 0o600, ModTime: time.Unix(0, 0).UTC()},
		{Name: []byte("link"), Type: Symlink, Mode: 0o777, ModTime: time.Unix(5, 0).UTC(), Target: []byte("../\xff\xfe target")},
		{Name: bytes.Repeat([]byte("n"), 255), Type: File, Mode: 0o755 | fs.ModeSetuid, ModTime: time.Unix(1, 999999999).UTC(), Size: 1,
			Content: []repo.ID{id("x")}},
		{Name: []byte("\xff\xfeinvalid utf-8 \\ ? < > &"), Type: File, Mode: 0o640, ModTime: time.Unix(2, 0).UTC()},
	}}
	t.Sort()
	return t
}

// equalNodes compares trees field by field: times with Equal, nil and
// empty slices alike.
func equalNodes(t *testing.T, got, want *Tree) {
	t.Helper()
	if len(got.Nodes) != len(want.Nodes) {
		t.Fatalf("got %d nodes, want %d", len(got.Nodes), len(want.Nodes))
	}
	for i := range want.Nodes {
		g, w := got.Nodes[i], want.Nodes[i]
		if !bytes.Equal(g.Name, w.Name) || g.Type != w.Type || g.Mode != w.Mode || !g.ModTime.Equal(w.ModTime) ||
			g.Size != w.Size || g.Inode != w.Inode || g.Dev != w.Dev || g.UID != w.UID || g.GID != w.GID ||
			!bytes.Equal(g.Target, w.Target) || len(g.Content) != len(w.Content) || g.Subtree != w.Subtree {
			t.Fatalf("node %d:\n got %+v\nwant %+v", i, g, w)
		}
		for j := range w.Content {
			if g.Content[j] != w.Content[j] {
				t.Fatalf("node %q content %d: got %s, want %s", w.Name, j, g.Content[j], w.Content[j])
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		tree *Tree
	}{
		{"empty", &Tree{}},
		{"sample", sample()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := Encode(tc.tree)
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			equalNodes(t, got, tc.tree)
			if again := Encode(got); !bytes.Equal(again, b) {
				t.Fatalf("encode of the decoded tree differs:\n got %x\nwant %x", again, b)
			}
		})
	}
}

// TestDeterministic: the same tree gives the same bytes whatever the order
// of its nodes, the location of its times, and whether a slice is nil or
// empty; a change to any field changes the bytes.
func TestDeterministic(t *testing.T) {
	want := Encode(sample())
	shuffled := sample()
	n := shuffled.Nodes
	n[0], n[3], n[5] = n[5], n[0], n[3]
	for i := range n {
		n[i].ModTime = n[i].ModTime.In(time.FixedZone("x", 3600*5))
		if n[i].Target == nil {
			n[i].Target = []byte{}
		}
	}
	before := fmt.Sprint(shuffled.Nodes)
	if got := Encode(shuffled); !bytes.Equal(got, want) {
		t.Fatalf("shuffled tree encodes differently")
	}
	if fmt.Sprint(shuffled.Nodes) != before {
		t.Fatal("Encode reordered the caller's nodes")
	}
	changes := map[string]func(*Node){
		"name":    func(n *Node) { n.Name = append(n.Name, 'x') },
		"mode":    func(n *Node) { n.Mode ^= 1 },
		"mtime":   func(n *Node) { n.ModTime = n.ModTime.Add(time.Nanosecond) },
		"size":    func(n *Node) { n.Size++ },
		"inode":   func(n *Node) { n.Inode++ },
		"dev":     func(n *Node) { n.Dev++ },
		"uid":     func(n *Node) { n.UID++ },
		"gid":     func(n *Node) { n.GID++ },
		"content": func(n *Node) { n.Content[0][31] ^= 1 },
	}
	for name, change := range changes {
		s := sample()
		change(&s.Nodes[0])
		if bytes.Equal(Encode(s), want) {
			t.Errorf("changing the %s does not change the encoding", name)
		}
	}
}

func TestFind(t *testing.T) {
	s := sample()
	for _, n := range s.Nodes {
		if got := s.Find(n.Name); got == nil || !bytes.Equal(got.Name, n.Name) {
			t.Errorf("Find(%q) = %v", n.Name, got)
		}
	}
	if got := s.Find([]byte("missing")); got != nil {
		t.Errorf("Find(missing) = %v", got)
	}
}

func TestDecodeRejects(t *testing.T) {
	good := Encode(sample())
	node := func(name string, typ byte, extra ...byte) []byte {
		b := []byte{version, 1}
		b = binary.AppendUvarint(b, uint64(len(name)))
		b = append(b, name...)
		b = append(b, typ, 0, 0, 0, 0, 0, 0, 0, 0)
		return append(b, extra...)
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"nil", nil, "truncated at the version"},
		{"version", []byte{2, 0}, "version 2"},
		{"truncated", good[:len(good)-1], "truncated"},
		{"trailing", append(bytes.Clone(good), 0), "bytes after the last node"},
		{"huge count", []byte{version, 0xff, 0xff, 0xff, 0xff, 0x0f}, "nodes in"},
		{"non-minimal count", []byte{version, 0x80, 0x00}, "non-minimal"},
		{"empty name", node("", typeFile, 0), "empty name"},
		{"dot", node(".", typeFile, 0), `name "."`},
		{"dotdot", node("..", typeDir, make([]byte, 32)...), `name ".."`},
		{"slash", node("a/b", typeFile, 0), "slash"},
		{"nul", node("a\x00", typeFile, 0), "NUL"},
		{"type", node("a", 9, 0), "unknown type 9"},
		{"content count", node("a", typeFile, 0x7f), "content IDs"},
		{"unsorted", append(append([]byte{version, 2}, node("b", typeFile, 0)[2:]...), node("a", typeFile, 0)[2:]...), "not sorted"},
		{"repeated", append(append([]byte{version, 2}, node("a", typeFile, 0)[2:]...), node("a", typeFile, 0)[2:]...), "not sorted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := Decode(tc.b)
			if err == nil {
				t.Fatalf("Decode = %+v, want an error", tr)
			}
			if !errors.Is(err, ErrCorrupt) || !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
				t.Fatalf("Decode error %q, want ErrCorrupt mentioning %q", err, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	if err := sample().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := sample()
	bad.Nodes[1].Name = []byte("x/y")
	if err := bad.Validate(); err == nil {
		t.Fatal("Validate accepted a name with a slash")
	}
	rep := sample()
	rep.Nodes[1].Name = rep.Nodes[0].Name
	if err := rep.Validate(); err == nil {
		t.Fatal("Validate accepted a repeated name")
	}
}

// FuzzDecode: garbage gives ErrCorrupt, never a panic, and whatever Decode
// accepts encodes back to exactly the same bytes.
func FuzzDecode(f *testing.F) {
	f.Add(Encode(sample()))
	f.Add(Encode(&Tree{}))
	f.Add([]byte{})
	f.Add([]byte{version, 1, 1, 'a', typeDir})
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", err)
			}
			return
		}
		if err := tr.Validate(); err != nil {
			t.Fatalf("decoded tree does not validate: %v", err)
		}
		if again := Encode(tr); !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", again, b)
		}
		tr2, err := Decode(Encode(tr))
		if err != nil || !reflect.DeepEqual(tr, tr2) {
			t.Fatalf("second decode: %v", err)
		}
	})
}

func benchTree(n int) *Tree {
	t := &Tree{}
	for i := range n {
		t.Nodes = append(t.Nodes, Node{Name: fmt.Appendf(nil, "file-%06d.txt", i), Type: File, Mode: 0o644,
			ModTime: time.Unix(1733112000+int64(i), int64(i)), Size: int64(i) * 1000, Inode: uint64(i) + 1e6,
			Dev: 2049, UID: 1000, GID: 1000, Content: []repo.ID{id(fmt.Sprint(i))}})
	}
	return t
}

func BenchmarkEncode(b *testing.B) {
	t := benchTree(1000)
	b.SetBytes(int64(len(Encode(t))))
	b.ReportAllocs()
	for b.Loop() {
		Encode(t)
	}
}

func BenchmarkDecode(b *testing.B) {
	enc := Encode(benchTree(1000))
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}
