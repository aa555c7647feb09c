package mega

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
)

// Mutations send one command each and, once the server accepted it,
// update the local tree at once, so the caller sees its own change without
// waiting for the action packet (which is applied idempotently later).
// They take the node's handle from the *Node given; the key and attributes
// come from the current tree when it has the node.

// errNilNode is returned for a nil *Node argument.
var errNilNode = errors.New("nil node")

// current returns the tree's latest snapshot of n, or n itself.
func (c *Client) current(n *Node) *Node {
	if cur := c.Node(n.Handle); cur != nil {
		return cur
	}
	return n
}

// mutate applies a local mutation to the tree and keeps it pending until
// a Poll finds it in the server's state (see tree).
func (c *Client) mutate(do func(t *tree, op *localOp)) {
	c.treeMu.Lock()
	defer c.treeMu.Unlock()
	if c.tree == nil {
		return
	}
	c.gen++
	c.tree.record(c.gen, do)
}

// updateNode replaces the tree's node h by a copy changed by fn. fn may
// run again later, on whatever version of h the tree then has.
func (c *Client) updateNode(h string, fn func(n *Node)) {
	c.mutate(func(t *tree, op *localOp) {
		if old := t.nodes[h]; old != nil {
			n := *old
			fn(&n)
			if n.Parent != old.Parent && t.within(n.Parent, h) {
				return // the tree changed meanwhile; a later Poll sorts it out
			}
			op.set(t, &n)
		}
	})
}

// insertNodes decodes nodes returned by `p` and adds them to the tree.
func (c *Client) insertNodes(st state, ws []megaapi.Node) []*Node {
	c.treeMu.RLock()
	kr := newKeyring(st, c.tree)
	out := make([]*Node, 0, len(ws))
	for i := range ws {
		out = append(out, kr.decode(&ws[i]))
	}
	c.treeMu.RUnlock()
	c.mutate(func(t *tree, op *localOp) {
		for _, n := range out {
			op.set(t, n)
		}
	})
	return out
}

// Mkdir creates a folder named name in parent with a fresh random key and
// returns it. MEGA allows several children with the same name; Mkdir does
// not check for an existing one.
func (c *Client) Mkdir(ctx context.Context, parent *Node, name string) (*Node, error) {
	st, err := c.loggedIn()
	if err != nil {
		return nil, fmt.Errorf("mkdir %q: %w", name, err)
	}
	if !parent.IsDir() {
		return nil, fmt.Errorf("mkdir %q: parent %v is not a folder", name, parent)
	}
	if name == "" {
		return nil, errors.New("mkdir: empty name")
	}
	key := make([]byte, 16)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("mkdir %q: %w", name, err)
	}
	a, err := megacrypto.EncryptAttrs(key, megacrypto.Attrs{Name: name})
	if err != nil {
		return nil, fmt.Errorf("mkdir %q: %w", name, err)
	}
	k, err := wrapKey(st.mk, key)
	if err != nil {
		return nil, fmt.Errorf("mkdir %q: %w", name, err)
	}
	req := megaapi.PutNodesRequest{A: "p", Target: parent.Handle, I: c.tag,
		Nodes: []megaapi.NewNode{{Handle: "xxxxxxxx", Type: megaapi.TypeFolder, Attr: a, Key: k}}}
	if req.CR, err = c.shareCR(parent.Handle, []string{req.Nodes[0].Handle}, [][]byte{key}); err != nil {
		return nil, fmt.Errorf("mkdir %q: %w", name, err)
	}
	var rep megaapi.PutNodesReply
	if err := c.call(ctx, "p", req, &rep); err != nil {
		return nil, fmt.Errorf("mkdir %q in %v: %w", name, parent, err)
	}
	if len(rep.Nodes) == 0 {
		return nil, fmt.Errorf("mkdir %q: malformed reply: no node", name)
	}
	return c.insertNodes(st, rep.Nodes)[0], nil
}

// setAttrs rewrites n's attributes after edit changed them, keeping the
// attributes ferry does not know.
func (c *Client) setAttrs(ctx context.Context, n *Node, edit func(a *megacrypto.Attrs) error) error {
	if _, err := c.loggedIn(); err != nil {
		return err
	}
	if n == nil {
		return errNilNode
	}
	cur := c.current(n)
	ak, err := cur.attrKey()
	if err != nil {
		return err
	}
	a, err := megacrypto.DecryptAttrs(ak, cur.attr)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNodeKey, err)
	}
	if err := edit(&a); err != nil {
		return err
	}
	enc, err := megacrypto.EncryptAttrs(ak, a)
	if err != nil {
		return err
	}
	if err := c.call(ctx, "a", megaapi.SetAttrRequest{A: "a", Node: cur.Handle, Attr: enc, I: c.tag}, nil); err != nil {
		return err
	}
	c.updateNode(cur.Handle, func(m *Node) {
		m.attr = enc
		(&keyring{}).decryptAttrs(m)
	})
	return nil
}

// Rename sets n's name, keeping its other attributes (`c` and any others).
func (c *Client) Rename(ctx context.Context, n *Node, name string) error {
	if name == "" {
		return fmt.Errorf("rename %v: empty name", n)
	}
	err := c.setAttrs(ctx, n, func(a *megacrypto.Attrs) error { a.Name = name; return nil })
	if err != nil {
		return fmt.Errorf("rename %v to %q: %w", n, name, err)
	}
	return nil
}

// SetModTime rewrites the mtime in n's fingerprint attribute `c`, keeping
// its CRC part. Nodes without a fingerprint (folders, files uploaded by
// clients that write none) give an error wrapping errors.ErrUnsupported.
// MEGA stores whole seconds.
func (c *Client) SetModTime(ctx context.Context, n *Node, t time.Time) error {
	err := c.setAttrs(ctx, n, func(a *megacrypto.Attrs) error {
		if a.Fingerprint == "" {
			return fmt.Errorf("node has no fingerprint to hold an mtime: %w", errors.ErrUnsupported)
		}
		crc, _, err := megacrypto.ParseFingerprint(a.Fingerprint)
		if err != nil {
			return err
		}
		a.Fingerprint = megacrypto.FormatFingerprint(crc, t.Unix())
		return nil
	})
	if err != nil {
		return fmt.Errorf("set mtime of %v: %w", n, err)
	}
	return nil
}

// Move moves n into the folder newParent. Moving a folder into its own
// subtree fails with megaapi.ECIRCULAR.
func (c *Client) Move(ctx context.Context, n, newParent *Node) error {
	if _, err := c.loggedIn(); err != nil {
		return fmt.Errorf("move %v: %w", n, err)
	}
	if n == nil {
		return fmt.Errorf("move: %w", errNilNode)
	}
	if !newParent.IsDir() {
		return fmt.Errorf("move %v: target %v is not a folder", n, newParent)
	}
	req := megaapi.MoveRequest{A: "m", Node: n.Handle, Target: newParent.Handle, I: c.tag}
	var err error
	if req.CR, err = c.moveCR(c.current(n), newParent.Handle); err != nil {
		return fmt.Errorf("move %v: %w", n, err)
	}
	if err := c.call(ctx, "m", req, nil); err != nil {
		return fmt.Errorf("move %v to %v: %w", n, newParent, err)
	}
	c.updateNode(n.Handle, func(m *Node) { m.Parent = newParent.Handle })
	return nil
}

// Trash moves n to the rubbish bin.
func (c *Client) Trash(ctx context.Context, n *Node) error {
	bin := c.Rubbish()
	if bin == nil {
		return fmt.Errorf("trash %v: %w", n, ErrNoTree)
	}
	return c.Move(ctx, n, bin)
}

// Delete removes n and its subtree permanently.
func (c *Client) Delete(ctx context.Context, n *Node) error {
	if _, err := c.loggedIn(); err != nil {
		return fmt.Errorf("delete %v: %w", n, err)
	}
	if n == nil {
		return fmt.Errorf("delete: %w", errNilNode)
	}
	if err := c.call(ctx, "d", megaapi.DeleteRequest{A: "d", Node: n.Handle, I: c.tag}, nil); err != nil {
		return fmt.Errorf("delete %v: %w", n, err)
	}
	h := n.Handle
	c.mutate(func(t *tree, op *localOp) { op.remove(t, h) })
	return nil
}

// EmptyRubbish permanently deletes everything in the rubbish bin.
func (c *Client) EmptyRubbish(ctx context.Context) error {
	if _, err := c.loggedIn(); err != nil {
		return fmt.Errorf("empty rubbish bin: %w", err)
	}
	if err := c.call(ctx, "dr", megaapi.EmptyRubbishRequest{A: "dr"}, nil); err != nil {
		return fmt.Errorf("empty rubbish bin: %w", err)
	}
	c.mutate(func(t *tree, op *localOp) {
		for _, h := range slices.Collect(maps.Keys(t.kids[t.rubbish])) {
			op.remove(t, h)
		}
	})
	return nil
}

// Quota is the account's storage use.
type Quota struct {
	Used  int64 // bytes stored
	Total int64 // bytes allowed
}

// Quota returns the account's storage use (`uq`).
func (c *Client) Quota(ctx context.Context) (Quota, error) {
	if _, err := c.loggedIn(); err != nil {
		return Quota{}, fmt.Errorf("quota: %w", err)
	}
	var rep megaapi.QuotaReply
	if err := c.call(ctx, "uq", megaapi.QuotaRequest{A: "uq", Strg: 1, Xfer: 1}, &rep); err != nil {
		return Quota{}, fmt.Errorf("quota: %w", err)
	}
	return Quota{Used: rep.Cstrg, Total: rep.Mstrg}, nil
}
