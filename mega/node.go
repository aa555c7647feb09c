package mega

import (
	"fmt"
	"time"

	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
)

// NodeType is a node's kind (MEGA field `t`).
type NodeType int

// Node types.
const (
	FileNode    NodeType = megaapi.TypeFile
	FolderNode  NodeType = megaapi.TypeFolder
	RootNode    NodeType = megaapi.TypeRoot    // "Cloud Drive"
	InboxNode   NodeType = megaapi.TypeInbox   // "Vault"
	RubbishNode NodeType = megaapi.TypeRubbish // rubbish bin
)

func (t NodeType) String() string {
	switch t {
	case FileNode:
		return "file"
	case FolderNode:
		return "folder"
	case RootNode:
		return "root"
	case InboxNode:
		return "inbox"
	case RubbishNode:
		return "rubbish"
	}
	return fmt.Sprintf("type(%d)", int(t))
}

// Node is a file or folder as last seen by the client. Nodes are immutable
// snapshots: when the tree changes (a mutation, an action packet) the
// client stores a new *Node under the same handle, so a *Node you hold
// never changes under you; look it up again with Client.Node for the
// current state.
type Node struct {
	Handle string   // 8-character node handle
	Parent string   // parent handle; "" for the root, inbox and rubbish bin
	Owner  string   // owner's user handle
	Type   NodeType //
	Name   string   // decrypted name; "" when Err is set
	Size   int64    // bytes, files only
	// Fingerprint is the `c` attribute (content CRC and mtime), "" if none.
	Fingerprint string
	// ModTime is the mtime from Fingerprint, or CreatedAt without one.
	ModTime time.Time
	// CreatedAt is when the node was created on the server (`ts`).
	CreatedAt time.Time
	// PublicHandle is the public link handle while the node is exported.
	PublicHandle string
	// Err is non-nil (wrapping ErrNodeKey) when the node's key or
	// attributes could not be decrypted; Name is then empty. Such nodes stay
	// in the tree so nothing vanishes silently.
	Err error

	key     []byte // node key: 16 bytes (folder) or 32 (file); nil if unknown
	attr    string // encrypted attributes as on the wire
	wireKey string // `k` as received, kept when key is nil
}

// IsDir reports whether n holds children (folder, root, inbox, rubbish).
func (n *Node) IsDir() bool { return n != nil && n.Type != FileNode }

// String returns the name and handle, for messages.
func (n *Node) String() string {
	if n == nil {
		return "<nil node>"
	}
	switch n.Type {
	case RootNode:
		return "Cloud Drive (" + n.Handle + ")"
	case InboxNode:
		return "Vault (" + n.Handle + ")"
	case RubbishNode:
		return "Rubbish Bin (" + n.Handle + ")"
	}
	return fmt.Sprintf("%q (%s)", n.Name, n.Handle)
}

// fileKey returns the file key material of a file node.
func (n *Node) fileKey() (megacrypto.FileKey, error) {
	if n.Type != FileNode {
		return megacrypto.FileKey{}, fmt.Errorf("%v is a %v, not a file", n, n.Type)
	}
	if len(n.key) != 32 {
		return megacrypto.FileKey{}, fmt.Errorf("%v: %w", n, ErrNodeKey)
	}
	return megacrypto.UnpackFileKey(n.key)
}

// attrKey returns the AES key of n's attributes.
func (n *Node) attrKey() ([]byte, error) {
	switch {
	case n.Type == FileNode && len(n.key) == 32:
		fk, _ := megacrypto.UnpackFileKey(n.key)
		return fk.Key[:], nil
	case n.Type == FolderNode && len(n.key) == 16:
		return n.key, nil
	}
	return nil, fmt.Errorf("%v: %w", n, ErrNodeKey)
}
