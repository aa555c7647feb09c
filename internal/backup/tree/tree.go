// Package tree is the encoding of ferry backup's tree blobs: one Tree per
// directory, listing its entries (files, directories, symlinks) with their
// metadata, the data blobs of each file and the subtree of each directory.
//
// # Encoding
//
// Encode is deterministic: the same tree gives the same bytes, so the same
// blob ID, and an unchanged directory hierarchy gives the same root tree ID.
// That is how a backup sees that nothing changed. The encoding is binary
// and compact (names are raw bytes, numbers are varints):
//
//	version      1 byte (1)
//	count        uvarint, the number of nodes
//	per node, in ascending byte order of the names:
//	  name       uvarint length, then the raw bytes
//	  type       1 byte: 1 file, 2 dir, 3 symlink
//	  mode       uvarint: the permission and special bits (setuid, setgid, sticky)
//	  mtime      varint Unix seconds, uvarint nanoseconds (< 1e9)
//	  size       uvarint
//	  inode, dev uvarint each
//	  uid, gid   uvarint each
//	  file:      uvarint count, then count 32-byte data blob IDs
//	  dir:       32-byte subtree ID
//	  symlink:   uvarint length, then the target's raw bytes
//
// Decode accepts exactly the bytes Encode writes (minimal varints, sorted
// and unique names, nothing left over), so a decoded tree encodes back to
// the same bytes, and it rejects names a restore must not create: empty,
// ".", "..", or containing "/" or NUL. Garbage gives an error, never a
// panic.
package tree

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"ferry/internal/backup/repo"
)

// The node types.
const (
	File    = "file"
	Dir     = "dir"
	Symlink = "symlink"
)

// Node is one entry of a directory.
type Node struct {
	// Name is the entry's name as raw bytes: invalid UTF-8 and newlines are
	// kept exactly.
	Name []byte
	// Type is File, Dir or Symlink.
	Type string
	// Mode holds the permission and special bits (fs.ModePerm, setuid,
	// setgid, sticky); Encode drops any other bits.
	Mode fs.FileMode
	// ModTime is the modification time, to the nanosecond.
	ModTime time.Time
	// Size is a file's length in bytes (0 for the other types).
	Size int64
	// Inode and Dev identify the source file, for the next backup's change
	// detection (modification time, size and inode equal: the content is
	// reused without reading it).
	Inode, Dev uint64
	// UID and GID are the owner's numeric IDs.
	UID, GID uint32
	// Target is a symlink's target, raw bytes.
	Target []byte
	// Content lists a file's data blobs in order.
	Content []repo.ID
	// Subtree is a directory's tree blob.
	Subtree repo.ID
}

// Tree is the content of one directory, its nodes sorted by Name bytes.
type Tree struct {
	Nodes []Node
}

// ErrCorrupt is wrapped by every Decode error.
var ErrCorrupt = errors.New("tree: corrupt tree blob")

// version is the first byte of every encoded tree.
const version = 1

// modeBits are the Mode bits a Node keeps.
const modeBits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

// The type bytes.
const (
	typeFile    = 1
	typeDir     = 2
	typeSymlink = 3
)

// Sort sorts t's nodes by name bytes.
func (t *Tree) Sort() {
	slices.SortFunc(t.Nodes, func(a, b Node) int { return bytes.Compare(a.Name, b.Name) })
}

// Find returns the node named name, or nil. The nodes must be sorted.
func (t *Tree) Find(name []byte) *Node {
	i, ok := slices.BinarySearchFunc(t.Nodes, name, func(n Node, name []byte) int { return bytes.Compare(n.Name, name) })
	if !ok {
		return nil
	}
	return &t.Nodes[i]
}

// Validate reports the first node Decode would reject in t's encoding: a
// bad name, an unknown type, a negative size, or names out of order or
// repeated. Encode does not check; a caller that builds trees from
// untrusted names checks with Validate first.
func (t *Tree) Validate() error {
	for i := range t.Nodes {
		n := &t.Nodes[i]
		if err := checkName(n.Name); err != nil {
			return err
		}
		if typeByte(n.Type) == 0 {
			return fmt.Errorf("%w: node %q: unknown type %q", ErrCorrupt, n.Name, n.Type)
		}
		if n.Size < 0 {
			return fmt.Errorf("%w: node %q: negative size %d", ErrCorrupt, n.Name, n.Size)
		}
		if i > 0 && bytes.Compare(t.Nodes[i-1].Name, n.Name) >= 0 {
			return fmt.Errorf("%w: node %q after %q: names not sorted or repeated", ErrCorrupt, n.Name, t.Nodes[i-1].Name)
		}
	}
	return nil
}

// Encode returns the encoding of t. Nodes are written in name order
// whatever their order in t (t is not modified).
func Encode(t *Tree) []byte {
	nodes := t.Nodes
	if !slices.IsSortedFunc(nodes, func(a, b Node) int { return bytes.Compare(a.Name, b.Name) }) {
		nodes = slices.Clone(nodes)
		slices.SortStableFunc(nodes, func(a, b Node) int { return bytes.Compare(a.Name, b.Name) })
	}
	b := make([]byte, 0, 1+len(nodes)*64)
	b = append(b, version)
	b = binary.AppendUvarint(b, uint64(len(nodes)))
	for i := range nodes {
		b = appendNode(b, &nodes[i])
	}
	return b
}

func appendNode(b []byte, n *Node) []byte {
	b = binary.AppendUvarint(b, uint64(len(n.Name)))
	b = append(b, n.Name...)
	tb := typeByte(n.Type)
	b = append(b, tb)
	b = binary.AppendUvarint(b, uint64(n.Mode&modeBits))
	b = binary.AppendVarint(b, n.ModTime.Unix())
	b = binary.AppendUvarint(b, uint64(n.ModTime.Nanosecond()))
	b = binary.AppendUvarint(b, uint64(max(n.Size, 0)))
	b = binary.AppendUvarint(b, n.Inode)
	b = binary.AppendUvarint(b, n.Dev)
	b = binary.AppendUvarint(b, uint64(n.UID))
	b = binary.AppendUvarint(b, uint64(n.GID))
	switch tb {
	case typeFile:
		b = binary.AppendUvarint(b, uint64(len(n.Content)))
		for _, id := range n.Content {
			b = append(b, id[:]...)
		}
	case typeDir:
		b = append(b, n.Subtree[:]...)
	case typeSymlink:
		b = binary.AppendUvarint(b, uint64(len(n.Target)))
		b = append(b, n.Target...)
	}
	return b
}

func typeByte(t string) byte {
	switch t {
	case File:
		return typeFile
	case Dir:
		return typeDir
	case Symlink:
		return typeSymlink
	}
	return 0
}

// checkName rejects names a restore must not create.
func checkName(name []byte) error {
	switch {
	case len(name) == 0:
		return fmt.Errorf("%w: empty name", ErrCorrupt)
	case string(name) == "." || string(name) == "..":
		return fmt.Errorf("%w: name %q", ErrCorrupt, name)
	case bytes.IndexByte(name, '/') >= 0:
		return fmt.Errorf("%w: name %q contains a slash", ErrCorrupt, name)
	case bytes.IndexByte(name, 0) >= 0:
		return fmt.Errorf("%w: name %q contains a NUL byte", ErrCorrupt, name)
	}
	return nil
}

// minNodeLen is the fewest bytes one node takes, even with the empty name
// Decode rejects later: name length, type, mode, seconds, nanoseconds,
// size, inode, dev, uid, gid, and a content count (dirs and symlinks take
// more). It bounds the node count Decode allocates for.
const minNodeLen = 11

// Decode parses an encoded tree. The nodes' byte slices are copies, not
// views of b.
func Decode(b []byte) (*Tree, error) {
	d := decoder{b: b}
	if v := d.byte("version"); d.err == nil && v != version {
		return nil, fmt.Errorf("%w: version %d (want %d)", ErrCorrupt, v, version)
	}
	count := d.uvarint("node count")
	if d.err == nil && count > uint64(len(d.b)/minNodeLen) {
		return nil, fmt.Errorf("%w: %d nodes in %d bytes", ErrCorrupt, count, len(b))
	}
	t := &Tree{}
	if count > 0 {
		t.Nodes = make([]Node, 0, count)
	}
	for i := uint64(0); d.err == nil && i < count; i++ {
		n := d.node()
		if d.err != nil {
			break
		}
		if len(t.Nodes) > 0 && bytes.Compare(t.Nodes[len(t.Nodes)-1].Name, n.Name) >= 0 {
			return nil, fmt.Errorf("%w: node %q after %q: names not sorted or repeated", ErrCorrupt, n.Name, t.Nodes[len(t.Nodes)-1].Name)
		}
		t.Nodes = append(t.Nodes, n)
	}
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the last node", ErrCorrupt, len(d.b))
	}
	return t, nil
}

// decoder reads b from the front; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
	}
}

func (d *decoder) byte(what string) byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail("truncated at the %s", what)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad or truncated varint at the %s", what)
		return 0
	}
	if n != uvarintLen(v) {
		d.fail("non-minimal varint at the %s", what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad or truncated varint at the %s", what)
		return 0
	}
	ux := uint64(v) << 1
	if v < 0 {
		ux = ^ux
	}
	if n != uvarintLen(ux) {
		d.fail("non-minimal varint at the %s", what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(n uint64, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("truncated in the %s (%d bytes wanted, %d left)", what, n, len(d.b))
		return nil
	}
	out := bytes.Clone(d.b[:n])
	d.b = d.b[n:]
	return out
}

func (d *decoder) id(what string) repo.ID {
	var id repo.ID
	copy(id[:], d.bytes(uint64(len(id)), what))
	return id
}

func (d *decoder) node() Node {
	var n Node
	n.Name = d.bytes(d.uvarint("name length"), "name")
	if d.err != nil {
		return n
	}
	if err := checkName(n.Name); err != nil {
		d.err = err
		return n
	}
	tb := d.byte("type")
	switch tb {
	case typeFile:
		n.Type = File
	case typeDir:
		n.Type = Dir
	case typeSymlink:
		n.Type = Symlink
	default:
		d.fail("node %q: unknown type %d", n.Name, tb)
		return n
	}
	mode := d.uvarint("mode")
	if mode&^uint64(modeBits) != 0 {
		d.fail("node %q: mode %#o has bits other than permissions", n.Name, mode)
		return n
	}
	n.Mode = fs.FileMode(mode)
	sec := d.varint("mtime")
	nsec := d.uvarint("mtime nanoseconds")
	if d.err == nil && nsec >= 1e9 {
		d.fail("node %q: %d nanoseconds", n.Name, nsec)
		return n
	}
	n.ModTime = time.Unix(sec, int64(nsec)).UTC()
	size := d.uvarint("size")
	if size > 1<<63-1 {
		d.fail("node %q: size %d", n.Name, size)
		return n
	}
	n.Size = int64(size)
	n.Inode = d.uvarint("inode")
	n.Dev = d.uvarint("dev")
	uid, gid := d.uvarint("uid"), d.uvarint("gid")
	if uid > 1<<32-1 || gid > 1<<32-1 {
		d.fail("node %q: uid %d or gid %d out of range", n.Name, uid, gid)
		return n
	}
	n.UID, n.GID = uint32(uid), uint32(gid)
	switch tb {
	case typeFile:
		count := d.uvarint("content count")
		if d.err == nil && count > uint64(len(d.b)/len(repo.ID{})) {
			d.fail("node %q: %d content IDs in %d bytes", n.Name, count, len(d.b))
			return n
		}
		if count > 0 {
			n.Content = make([]repo.ID, count)
		}
		for i := range n.Content {
			n.Content[i] = d.id("content")
		}
	case typeDir:
		n.Subtree = d.id("subtree")
	case typeSymlink:
		n.Target = d.bytes(d.uvarint("target length"), "target")
	}
	return n
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
