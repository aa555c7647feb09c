package mega

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"ferry/mega/megaapi"
)

// treeCacheVersion is the ExportTree format version.
const treeCacheVersion = 1

// cacheHeader is the first line of an exported tree.
type cacheHeader struct {
	V    int    `json:"v"`
	User string `json:"user"`
	SN   string `json:"sn"`
}

// cacheNode is one exported node: the wire form, with the key re-wrapped
// under the master key, and the public handle.
type cacheNode struct {
	megaapi.Node
	PH string `json:"ph,omitempty"`
}

// ExportTree writes the local tree and its SN to w as JSON lines, so a
// later process can ImportTree it and continue with Poll instead of a full
// FetchTree. Names and keys stay encrypted as on the server (node keys
// wrapped with the master key, attributes encrypted with the node keys);
// handles, sizes and timestamps are in the clear.
func (c *Client) ExportTree(w io.Writer) error {
	st, err := c.loggedIn()
	if err != nil {
		return fmt.Errorf("export tree: %w", err)
	}
	c.treeMu.RLock()
	defer c.treeMu.RUnlock()
	t := c.tree
	if t == nil {
		return fmt.Errorf("export tree: %w", ErrNoTree)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(cacheHeader{V: treeCacheVersion, User: st.user, SN: t.sn}); err != nil {
		return fmt.Errorf("export tree: %w", err)
	}
	// Parents first, as in `f`: walk down from the top-level nodes.
	var werr error
	emit := func(n *Node) {
		if werr != nil {
			return
		}
		cn := cacheNode{Node: megaapi.Node{Handle: n.Handle, Parent: n.Parent, Owner: n.Owner, Type: int(n.Type),
			Attr: n.attr, Key: n.wireKey, Size: n.Size, TS: n.CreatedAt.Unix()}, PH: n.PublicHandle}
		if n.key != nil {
			k, err := wrapKey(st.mk, n.key)
			if err != nil {
				werr = err
				return
			}
			cn.Key = st.user + ":" + k
		}
		werr = enc.Encode(&cn)
	}
	for _, n := range t.nodes {
		if n.Parent == "" || t.nodes[n.Parent] == nil {
			emit(n)
			for _, h := range t.subtree(n.Handle)[1:] {
				emit(t.nodes[h])
			}
		}
	}
	if werr != nil {
		return fmt.Errorf("export tree: %w", werr)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("export tree: %w", err)
	}
	return nil
}

// ImportTree replaces the local tree with one written by ExportTree for the
// same account. Call Poll afterwards to catch up from its SN; if the server
// no longer has packets that old, Poll re-fetches the tree by itself.
func (c *Client) ImportTree(r io.Reader) error {
	st, err := c.loggedIn()
	if err != nil {
		return fmt.Errorf("import tree: %w", err)
	}
	dec := json.NewDecoder(bufio.NewReaderSize(r, 64<<10))
	var h cacheHeader
	if err := dec.Decode(&h); err != nil {
		return fmt.Errorf("import tree: header: %w", err)
	}
	switch {
	case h.V != treeCacheVersion:
		return fmt.Errorf("import tree: unsupported version %d", h.V)
	case h.User != st.user:
		return fmt.Errorf("import tree: the tree belongs to user %s, not %s", h.User, st.user)
	case h.SN == "":
		return errors.New("import tree: no sn")
	}
	t := newTree()
	t.sn = h.SN
	kr := &keyring{user: st.user, mk: st.mk, t: t}
	for {
		var cn cacheNode
		if err := dec.Decode(&cn); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("import tree: %w", err)
		}
		n := kr.decode(&cn.Node)
		n.PublicHandle = cn.PH
		t.put(n)
	}
	if t.root == "" {
		return errors.New("import tree: no root node")
	}
	c.treeMu.Lock()
	c.tree = t
	c.treeMu.Unlock()
	return nil
}
