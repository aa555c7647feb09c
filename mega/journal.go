package mega

// maxPendingOps bounds the local mutations a tree remembers between
// polls; beyond it the tree is marked stale.
const maxPendingOps = 1 << 16

// localOp is one local mutation applied ahead of the server's packets.
type localOp struct {
	gen  uint64                     // Client.gen when it was applied
	do   func(t *tree, op *localOp) // applies it, recording pre-images with op.set/op.remove
	undo []preimage                 // what do changed, in order
}

// preimage is a node as it was before a local mutation; n is nil if the
// node did not exist.
type preimage struct {
	h string
	n *Node
}

// set stores n, remembering the node it replaces.
func (op *localOp) set(t *tree, n *Node) {
	op.undo = append(op.undo, preimage{n.Handle, t.nodes[n.Handle]})
	t.put(n)
}

// remove deletes h and its subtree, remembering them.
func (op *localOp) remove(t *tree, h string) {
	for _, k := range t.subtree(h) {
		op.undo = append(op.undo, preimage{k, t.nodes[k]})
	}
	t.remove(h)
}

// record applies a local mutation and keeps it pending.
func (t *tree) record(gen uint64, do func(t *tree, op *localOp)) {
	op := &localOp{gen: gen, do: do}
	do(t, op)
	switch {
	case t.stale:
	case len(t.pending) >= maxPendingOps:
		t.stale, t.pending = true, nil
	default:
		t.pending = append(t.pending, op)
	}
}

// rollback undoes the pending mutations, newest first, leaving the
// server's state at sn; redo must follow before the lock is released.
func (t *tree) rollback() {
	for i := len(t.pending) - 1; i >= 0; i-- {
		op := t.pending[i]
		for j := len(op.undo) - 1; j >= 0; j-- {
			p := op.undo[j]
			if p.n == nil {
				t.remove(p.h)
			} else {
				t.put(p.n)
			}
		}
		op.undo = op.undo[:0]
	}
}

// redo re-applies the pending mutations for which keep (nil: all) is
// true, oldest first, and forgets the others.
func (t *tree) redo(keep func(op *localOp) bool) {
	kept := t.pending[:0]
	for _, op := range t.pending {
		if keep == nil || keep(op) {
			op.do(t, op)
			kept = append(kept, op)
		}
	}
	clear(t.pending[len(kept):])
	t.pending = kept
}
