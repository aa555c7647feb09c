package mega

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
)

// tree is the in-memory node tree. It is guarded by Client.treeMu.
//
// The tree is the server's state at sn plus the client's own mutations
// that sn does not include yet (pending). Each pending mutation can be
// undone, so a batch of action packets is applied to exactly the state
// the server had at sn (mega-protocol.md §7.4): roll the mutations back,
// apply the packets, and redo the mutations the batch cannot include.
type tree struct {
	nodes                map[string]*Node
	kids                 map[string]map[string]*Node // parent handle -> child handle -> child
	root, inbox, rubbish string
	sn                   string
	shareKeys            map[string][]byte // share handle -> 16-byte share key

	// byName indexes a directory's children by name for Lookup. It is
	// built lazily per parent (under namesMu, since Lookup holds only the
	// read lock) and dropped for a parent whenever its child set changes
	// (put, unlink, remove: all under the write lock).
	namesMu sync.Mutex
	byName  map[string]map[string][]*Node // parent handle -> name -> children

	pending []*localOp // local mutations not yet known to be in sn, oldest first
	// stale is set when pending overflowed (maxPendingOps): the local
	// mutations can no longer be rolled back, so the next Poll re-fetches
	// the tree instead of applying packets.
	stale bool
}

func newTree() *tree {
	return &tree{
		nodes:     make(map[string]*Node),
		kids:      make(map[string]map[string]*Node),
		shareKeys: make(map[string][]byte),
	}
}

// put inserts or replaces n (by handle), moving it between parents.
func (t *tree) put(n *Node) {
	if old := t.nodes[n.Handle]; old != nil {
		t.forgetNames(old.Parent)
		if old.Parent != n.Parent {
			t.unlink(old)
		}
	}
	t.forgetNames(n.Parent)
	t.nodes[n.Handle] = n
	t.link(n)
}

// link adds n (already in t.nodes) to its parent's child set and records
// the special nodes' handles.
func (t *tree) link(n *Node) {
	if n.Parent != "" {
		m := t.kids[n.Parent]
		if m == nil {
			m = make(map[string]*Node)
			t.kids[n.Parent] = m
		}
		m[n.Handle] = n
	}
	switch n.Type {
	case RootNode:
		t.root = n.Handle
	case InboxNode:
		t.inbox = n.Handle
	case RubbishNode:
		t.rubbish = n.Handle
	}
}

// unlink removes n from its parent's child set.
func (t *tree) unlink(n *Node) {
	t.forgetNames(n.Parent)
	if m := t.kids[n.Parent]; m != nil {
		delete(m, n.Handle)
		if len(m) == 0 {
			delete(t.kids, n.Parent)
		}
	}
}

// remove deletes the node h and its subtree.
func (t *tree) remove(h string) {
	n := t.nodes[h]
	if n == nil {
		return
	}
	t.unlink(n)
	stack := []string{h}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for k := range t.kids[p] {
			stack = append(stack, k)
		}
		delete(t.kids, p) // before its children are visited: ends cycles too
		t.forgetNames(p)
		delete(t.nodes, p)
	}
}

// forgetNames drops the name index of parent's children. Callers hold the
// write lock.
func (t *tree) forgetNames(parent string) {
	t.namesMu.Lock()
	delete(t.byName, parent)
	t.namesMu.Unlock()
}

// childrenNamed returns parent's children called name (the name index is
// built on first use). Callers hold at least the read lock.
func (t *tree) childrenNamed(parent, name string) []*Node {
	t.namesMu.Lock()
	defer t.namesMu.Unlock()
	idx, ok := t.byName[parent]
	if !ok {
		idx = make(map[string][]*Node, len(t.kids[parent]))
		for _, k := range t.kids[parent] {
			if k.Err == nil {
				idx[k.Name] = append(idx[k.Name], k)
			}
		}
		if t.byName == nil {
			t.byName = make(map[string]map[string][]*Node)
		}
		t.byName[parent] = idx
	}
	return idx[name]
}

// subtree returns h and all its descendants, each once, even if the
// child sets had a cycle.
func (t *tree) subtree(h string) []string {
	out := []string{h}
	if len(t.kids[h]) == 0 {
		return out
	}
	seen := map[string]bool{h: true}
	for i := 0; i < len(out); i++ {
		for k := range t.kids[out[i]] {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	return out
}

// within reports whether a is h or lies in h's subtree: putting h under
// parent a would then make a cycle.
func (t *tree) within(a, h string) bool {
	for i := 0; a != "" && i <= len(t.nodes); i++ {
		if a == h {
			return true
		}
		n := t.nodes[a]
		if n == nil {
			return false
		}
		a = n.Parent
	}
	return a != "" // a walk longer than the tree: already a cycle
}

// withTree runs fn with the tree under the read lock.
func (c *Client) withTree(fn func(t *tree)) bool {
	c.treeMu.RLock()
	defer c.treeMu.RUnlock()
	if c.tree == nil {
		return false
	}
	fn(c.tree)
	return true
}

// Root returns the Cloud Drive root, or nil before FetchTree.
func (c *Client) Root() *Node { return c.special(func(t *tree) string { return t.root }) }

// Rubbish returns the rubbish bin, or nil before FetchTree.
func (c *Client) Rubbish() *Node { return c.special(func(t *tree) string { return t.rubbish }) }

// Inbox returns the inbox ("Vault"), or nil before FetchTree.
func (c *Client) Inbox() *Node { return c.special(func(t *tree) string { return t.inbox }) }

func (c *Client) special(which func(t *tree) string) (n *Node) {
	c.withTree(func(t *tree) { n = t.nodes[which(t)] })
	return n
}

// Node returns the current node with the handle, or nil.
func (c *Client) Node(handle string) (n *Node) {
	c.withTree(func(t *tree) { n = t.nodes[handle] })
	return n
}

// SN returns the sequence number the local tree is current to ("" before
// FetchTree).
func (c *Client) SN() (sn string) {
	c.withTree(func(t *tree) { sn = t.sn })
	return sn
}

// Children returns n's children sorted by name, then handle.
func (c *Client) Children(n *Node) []*Node {
	if n == nil {
		return nil
	}
	var out []*Node
	c.withTree(func(t *tree) {
		out = make([]*Node, 0, len(t.kids[n.Handle]))
		for _, k := range t.kids[n.Handle] {
			out = append(out, k)
		}
	})
	slices.SortFunc(out, compareNodes)
	return out
}

// compareNodes orders nodes by name, then handle. (cmp.Or would compare
// the handles of every pair, not only of equal names.)
func compareNodes(a, b *Node) int {
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return strings.Compare(a.Handle, b.Handle)
}

// Lookup resolves a "/"-separated path relative to the Cloud Drive root
// ("" and "/" are the root). MEGA allows duplicate names, so every match
// is returned (sorted by handle); a path through several same-named
// folders follows all of them. A missing path gives an error wrapping
// fs.ErrNotExist; before FetchTree, ErrNoTree.
//
// A name holding "/" cannot be reached through a path string; LookupNames
// can reach it.
func (c *Client) Lookup(path string) ([]*Node, error) {
	var names []string
	for part := range strings.SplitSeq(path, "/") {
		if part != "" && part != "." {
			names = append(names, part)
		}
	}
	return c.lookup(path, names)
}

// LookupNames is Lookup of the path whose elements are names, each one
// node name taken as it is: it may hold "/" or be "." or "..", as MEGA
// allows. No names is the Cloud Drive root.
func (c *Client) LookupNames(names ...string) ([]*Node, error) {
	return c.lookup(strings.Join(names, "/"), names)
}

// lookup resolves names from the root; path names them in errors.
func (c *Client) lookup(path string, names []string) ([]*Node, error) {
	var out []*Node
	found := c.withTree(func(t *tree) {
		cur := []*Node{t.nodes[t.root]}
		for _, name := range names {
			var next []*Node
			for _, d := range cur {
				next = append(next, t.childrenNamed(d.Handle, name)...)
			}
			if cur = next; len(cur) == 0 {
				break
			}
		}
		out = cur
	})
	if !found {
		return nil, fmt.Errorf("lookup %q: %w", path, ErrNoTree)
	}
	if len(out) == 0 || out[0] == nil {
		return nil, &fs.PathError{Op: "lookup", Path: path, Err: fs.ErrNotExist}
	}
	slices.SortFunc(out, func(a, b *Node) int { return strings.Compare(a.Handle, b.Handle) })
	return out, nil
}

// PathNames returns the names of the nodes from the Cloud Drive root down
// to n (none for the root itself), each as it is (it may hold "/"). ok is
// false when n is not in the Cloud Drive (the rubbish bin, the inbox, or
// gone).
func (c *Client) PathNames(n *Node) (names []string, ok bool) {
	if n == nil {
		return nil, false
	}
	c.withTree(func(t *tree) {
		for cur := t.nodes[n.Handle]; cur != nil; cur = t.nodes[cur.Parent] {
			if cur.Handle == t.root { // the Cloud Drive, or a folder link's folder
				ok = true
				return
			}
			if cur.Type != FileNode && cur.Type != FolderNode || len(names) > 1<<16 {
				return // the rubbish bin or inbox; or a cycle, never expected
			}
			names = append(names, cur.Name)
		}
	})
	if !ok {
		return nil, false
	}
	slices.Reverse(names)
	return names, true
}

// Path returns n's "/"-separated path from the Cloud Drive root ("/" for
// the root itself). Paths of nodes in the rubbish bin or the inbox start
// with "/Rubbish Bin" or "/Vault".
func (c *Client) Path(n *Node) string {
	if n == nil {
		return ""
	}
	var parts []string
	c.withTree(func(t *tree) {
		for cur := t.nodes[n.Handle]; cur != nil; cur = t.nodes[cur.Parent] {
			if cur.Handle == t.root {
				return
			}
			switch cur.Type {
			case RootNode:
				return
			case RubbishNode:
				parts = append(parts, "Rubbish Bin")
				return
			case InboxNode:
				parts = append(parts, "Vault")
				return
			}
			parts = append(parts, cur.Name)
			if len(parts) > 1<<16 {
				return // a cycle; never expected
			}
		}
	})
	slices.Reverse(parts)
	return "/" + strings.Join(parts, "/")
}
