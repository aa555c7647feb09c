package mega

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
)

// Link exports n as a public link and returns its URL:
// https://mega.nz/file/<handle>#<32-byte node key> for a file and
// https://mega.nz/folder/<handle>#<16-byte share key> for a folder.
// Exporting an exported node returns the same link.
//
// A folder is first shared with "EXP" (`s2`) under a fresh share key, with
// the keys of every node below it wrapped with that key, as MEGA's own
// clients do: the folder link's key is the share key. A folder shared
// before keeps its share key.
//
// The key in the URL's fragment decrypts the content: anyone with the URL
// can read the file or folder.
func (c *Client) Link(ctx context.Context, n *Node) (string, error) {
	if _, err := c.loggedIn(); err != nil {
		return "", fmt.Errorf("link %v: %w", n, err)
	}
	if n == nil {
		return "", fmt.Errorf("link: %w", errNilNode)
	}
	cur := c.current(n)
	var kind string
	switch {
	case cur.Type == FileNode && len(cur.key) == 32:
		kind = "file"
	case cur.Type == FolderNode && len(cur.key) == 16:
		kind = "folder"
	case cur.Type == FileNode || cur.Type == FolderNode:
		return "", fmt.Errorf("link %v: %w", n, ErrNodeKey)
	default:
		return "", fmt.Errorf("link %v: cannot export a %v", n, cur.Type)
	}
	key := cur.key
	if kind == "folder" {
		var err error
		if key, err = c.shareFolder(ctx, cur); err != nil {
			return "", fmt.Errorf("link %v: share the folder: %w", n, err)
		}
	}
	var ph string
	if err := c.call(ctx, "l", megaapi.LinkRequest{A: "l", Node: cur.Handle}, &ph); err != nil {
		return "", fmt.Errorf("link %v: %w", n, err)
	}
	if len(ph) != 8 {
		return "", fmt.Errorf("link %v: malformed public handle %q", n, ph)
	}
	c.updateNode(cur.Handle, func(m *Node) { m.PublicHandle = ph })
	return "https://mega.nz/" + kind + "/" + ph + "#" + megacrypto.B64Encode(key), nil
}

// Unlink removes n's public link.
func (c *Client) Unlink(ctx context.Context, n *Node) error {
	if _, err := c.loggedIn(); err != nil {
		return fmt.Errorf("unlink %v: %w", n, err)
	}
	if n == nil {
		return fmt.Errorf("unlink: %w", errNilNode)
	}
	if err := c.call(ctx, "l", megaapi.LinkRequest{A: "l", Node: n.Handle, D: 1}, nil); err != nil {
		return fmt.Errorf("unlink %v: %w", n, err)
	}
	c.updateNode(n.Handle, func(m *Node) { m.PublicHandle = "" })
	return nil
}

// shareFolder returns folder d's share key, sharing d with "EXP" first
// when it has none: a share key from crypto/rand, wrapped with the master
// key (`ok`), and the keys of d's subtree wrapped with it (`cr`). When the
// server finds the local subtree stale (ENOENT: a node moved or deleted
// elsewhere), it polls for the changes and tries once more.
func (c *Client) shareFolder(ctx context.Context, d *Node) ([]byte, error) {
	st, err := c.loggedIn()
	if err != nil {
		return nil, err
	}
	sk := make([]byte, 16)
	if _, err := rand.Read(sk); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		known, req, err := c.shareRequest(st, d, sk)
		if known != nil || err != nil {
			return known, err
		}
		err = c.call(ctx, "s2", req, nil)
		if err == nil {
			break
		}
		if attempt > 0 || !errors.Is(err, megaapi.ENOENT) {
			return nil, err
		}
		if _, err := c.Poll(ctx); err != nil {
			return nil, err
		}
	}
	c.treeMu.Lock()
	if c.tree != nil {
		c.tree.shareKeys[d.Handle] = sk
	}
	c.treeMu.Unlock()
	return sk, nil
}

// shareRequest returns d's known share key, or the `s2` request sharing
// d's current subtree under sk.
func (c *Client) shareRequest(st state, d *Node, sk []byte) ([]byte, megaapi.ShareRequest, error) {
	req := megaapi.ShareRequest{A: "s2", Node: d.Handle, S: []megaapi.ShareTarget{{U: "EXP"}},
		CR: [3][]any{{d.Handle}, {}, {}}}
	var known []byte
	var err error
	c.withTree(func(t *tree) {
		if k := t.shareKeys[d.Handle]; len(k) == 16 {
			known = k
			return
		}
		for _, h := range t.subtree(d.Handle) {
			n := t.nodes[h]
			if n == nil || (len(n.key) != 16 && len(n.key) != 32) {
				continue
			}
			w, werr := wrapKey(sk, n.key)
			if werr != nil {
				err = werr
				return
			}
			req.CR[2] = append(req.CR[2], 0, len(req.CR[1]), w)
			req.CR[1] = append(req.CR[1], h)
		}
	})
	if known != nil || err != nil {
		return known, req, err
	}
	if req.OK, err = wrapKey(st.mk, sk); err != nil {
		return nil, req, err
	}
	req.HA, err = megacrypto.HandleAuth(st.mk, d.Handle)
	return nil, req, err
}
