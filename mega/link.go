package mega

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
)

// Link exports n as a public link and returns its URL:
// https://mega.nz/file/<handle>#<32-byte node key> for a file and
// https://mega.nz/folder/<handle>#<16-byte share key> for a folder.
// Exporting an exported node returns the same link. It is ExportLink
// without options.
func (c *Client) Link(ctx context.Context, n *Node) (string, error) {
	l, err := c.ExportLink(ctx, n, LinkOptions{})
	if err != nil {
		return "", err
	}
	return l.String(), nil
}

// LinkOptions are the options of ExportLink.
type LinkOptions struct {
	// Expires, if not zero, is when the link stops working: `l` carries
	// it as `ets` (Unix seconds). MEGA grants expiry to paid accounts
	// only; a server that refuses it answers an error, which ExportLink
	// returns wrapping ErrLinkExpiry.
	Expires time.Time
}

// ErrLinkExpiry is wrapped by ExportLink's error when the server refused
// the link's expiry time.
var ErrLinkExpiry = errors.New("mega: the server refused the link's expiry time")

// ExportLink exports n as a public link (`l`). Print it with Link.String,
// or Link.URL(LinkBase(api)) to name a local server.
//
// A folder is first shared with "EXP" (`s2`) under a fresh share key, with
// the keys of every node below it wrapped with that key, as MEGA's own
// clients do: the folder link's key is the share key. A folder shared
// before keeps its share key. Files uploaded or moved into it later carry
// their keys wrapped with it too (`cr` on `p` and `m`), so they open from
// the link.
//
// The key in the link decrypts the content: anyone with the link can read
// the file or folder.
func (c *Client) ExportLink(ctx context.Context, n *Node, opts LinkOptions) (Link, error) {
	if _, err := c.loggedIn(); err != nil {
		return Link{}, fmt.Errorf("link %v: %w", n, err)
	}
	if n == nil {
		return Link{}, fmt.Errorf("link: %w", errNilNode)
	}
	cur := c.current(n)
	var l Link
	switch {
	case cur.Type == FileNode && len(cur.key) == 32:
	case cur.Type == FolderNode && len(cur.key) == 16:
		l.Folder = true
	case cur.Type == FileNode || cur.Type == FolderNode:
		return Link{}, fmt.Errorf("link %v: %w", n, ErrNodeKey)
	default:
		return Link{}, fmt.Errorf("link %v: cannot export a %v", n, cur.Type)
	}
	l.Key = cur.key
	if l.Folder {
		var err error
		if l.Key, err = c.shareFolder(ctx, cur); err != nil {
			return Link{}, fmt.Errorf("link %v: share the folder: %w", n, err)
		}
	}
	req := megaapi.LinkRequest{A: "l", Node: cur.Handle}
	if !opts.Expires.IsZero() {
		if req.ETS = opts.Expires.Unix(); req.ETS <= time.Now().Unix() {
			return Link{}, fmt.Errorf("link %v: expiry %v is not in the future", n, opts.Expires)
		}
	}
	if err := c.call(ctx, "l", req, &l.Handle); err != nil {
		var ae *megaapi.Error
		if req.ETS != 0 && errors.As(err, &ae) && !ae.Code.Retryable() {
			return Link{}, fmt.Errorf("link %v: %w (expiry %s): %w", n, ErrLinkExpiry, opts.Expires.UTC().Format(time.RFC3339), err)
		}
		return Link{}, fmt.Errorf("link %v: %w", n, err)
	}
	if checkHandle(l.Handle) != nil {
		return Link{}, fmt.Errorf("link %v: malformed public handle %q", n, l.Handle)
	}
	ph := l.Handle
	c.updateNode(cur.Handle, func(m *Node) { m.PublicHandle = ph })
	return l, nil
}

// Unlink removes n's public link. For a folder it also removes the
// folder's "EXP" share (`s2` without an access level), so its share key
// opens nothing any more and a later link gets a fresh key.
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
	if c.current(n).Type != FolderNode {
		return nil
	}
	req := megaapi.UnshareRequest{A: "s2", Node: n.Handle, S: []megaapi.UnshareTarget{{U: "EXP"}}}
	if err := c.call(ctx, "s2", req, nil); err != nil {
		return fmt.Errorf("unlink %v: the link is removed, but not the folder's share: %w", n, err)
	}
	c.treeMu.Lock()
	if c.tree != nil {
		delete(c.tree.shareKeys, n.Handle)
	}
	c.treeMu.Unlock()
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

// shareCR returns the `cr` of a `p` or `m` into folder parent: for each
// folder among parent and its ancestors whose share key the client knows
// (it shared them, as Link does), the keys wrapped with that share key, so
// the nodes open from the folder's link too (mega-protocol.md §8).
// handles names the nodes: for `m` the moved nodes, for `p` the `h` of
// each entry of `n` (completion token or placeholder) in order, so a node
// index means the same whether a server counts it in `cr`'s node list or
// in `n` (MEGA's SDK leaves the list empty and counts in `n`). It is the
// zero value when no ancestor is shared.
func (c *Client) shareCR(parent string, handles []string, keys [][]byte) ([3][]any, error) {
	var cr [3][]any
	var shares [][]byte
	c.withTree(func(t *tree) {
		for h, i := parent, 0; h != "" && i <= len(t.nodes); i++ {
			if sk := t.shareKeys[h]; len(sk) == 16 {
				cr[0] = append(cr[0], h)
				shares = append(shares, sk)
			}
			n := t.nodes[h]
			if n == nil {
				break
			}
			h = n.Parent
		}
	})
	if len(shares) == 0 {
		return [3][]any{}, nil
	}
	cr[1] = []any{}
	for _, h := range handles {
		cr[1] = append(cr[1], h)
	}
	cr[2] = []any{}
	for si, sk := range shares {
		for ni, k := range keys {
			w, err := wrapKey(sk, k)
			if err != nil {
				return [3][]any{}, err
			}
			cr[2] = append(cr[2], si, ni, w)
		}
	}
	return cr, nil
}

// moveCR is shareCR for moving n's subtree into parent.
func (c *Client) moveCR(n *Node, parent string) ([3][]any, error) {
	var handles []string
	var keys [][]byte
	c.withTree(func(t *tree) {
		for _, h := range t.subtree(n.Handle) {
			if m := t.nodes[h]; m != nil && (len(m.key) == 16 || len(m.key) == 32) {
				handles = append(handles, h)
				keys = append(keys, m.key)
			}
		}
	})
	if len(keys) == 0 {
		return [3][]any{}, nil
	}
	return c.shareCR(parent, handles, keys)
}
