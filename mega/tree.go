package mega

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"slices"
	"strings"
	"sync"
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

// keyring decrypts nodes for one account.
type keyring struct {
	user string
	mk   []byte
	mkc  *megacrypto.KeyCipher // mk expanded once; nil: use mk
	t    *tree                 // for share keys
}

// newKeyring returns the keyring of st's account for t.
func newKeyring(st state, t *tree) *keyring {
	kr := &keyring{user: st.user, mk: st.mk, t: t}
	kr.mkc, _ = megacrypto.NewKeyCipher(st.mk) // nil if mk is malformed: DecryptKey reports it
	return kr
}

// errNeedShareKey marks a node whose key is wrapped with a share key the
// client does not know (yet).
var errNeedShareKey = fmt.Errorf("key wrapped with an unknown share key: %w", ErrNodeKey)

// decode turns a wire node into a Node, decrypting its key and attributes.
// It never fails: problems are recorded in Node.Err.
func (kr *keyring) decode(w *megaapi.Node) *Node {
	n := &Node{
		Handle:    w.Handle,
		Parent:    w.Parent,
		Owner:     w.Owner,
		Type:      NodeType(w.Type),
		Size:      w.Size,
		CreatedAt: time.Unix(w.TS, 0),
		attr:      w.Attr,
	}
	n.ModTime = n.CreatedAt
	if n.Type != FileNode && n.Type != FolderNode {
		n.Parent = "" // roots have no parent
		return n
	}
	key, err := kr.nodeKey(w.Key)
	if err != nil {
		n.wireKey = w.Key
		n.Err = fmt.Errorf("node %s: %w", w.Handle, err)
		return n
	}
	n.key = key
	kr.decryptAttrs(n)
	return n
}

// decryptAttrs fills n's name, fingerprint and mtime from n.attr.
func (kr *keyring) decryptAttrs(n *Node) {
	ak, err := n.attrKey()
	if err != nil {
		n.Err = fmt.Errorf("node %s: key of %d bytes for a %v: %w", n.Handle, len(n.key), n.Type, ErrNodeKey)
		return
	}
	name, fp, err := megacrypto.DecryptNameAttrs(ak, n.attr)
	if err != nil {
		n.Err = fmt.Errorf("node %s: %w: %w", n.Handle, ErrNodeKey, err)
		n.Name, n.Fingerprint = "", ""
		return
	}
	n.Err = nil
	n.Name = name
	n.Fingerprint = fp
	n.ModTime = fingerprintTime(fp, n.CreatedAt)
}

// fingerprintTime returns the mtime of fingerprint fp, or def without one.
func fingerprintTime(fp string, def time.Time) time.Time {
	if fp != "" {
		if _, mt, err := megacrypto.ParseFingerprint(fp); err == nil {
			return time.Unix(mt, 0)
		}
	}
	return def
}

// nodeKey picks and unwraps the usable entry of a `k` string
// "<handle>:<b64 key>[/<handle>:<b64 key>...]".
func (kr *keyring) nodeKey(k string) ([]byte, error) {
	if k == "" {
		return nil, fmt.Errorf("no key: %w", ErrNodeKey)
	}
	var firstErr error
	for part := range strings.SplitSeq(k, "/") {
		h, wrapped, ok := strings.Cut(part, ":")
		if !ok {
			continue
		}
		var kek []byte
		switch {
		case h == kr.user && kr.mkc != nil && len(wrapped) <= 43:
			key, err := kr.mkc.DecryptString(wrapped)
			if err == nil && len(key) != 16 && len(key) != 32 {
				err = fmt.Errorf("wrapped key of %d bytes: %w", len(key), megacrypto.ErrKeySize)
			}
			if err != nil {
				firstErr = cmp.Or(firstErr, fmt.Errorf("%w: %w", ErrNodeKey, err))
				continue
			}
			return key, nil
		case h == kr.user:
			kek = kr.mk
		case kr.t != nil && kr.t.shareKeys[h] != nil:
			kek = kr.t.shareKeys[h]
		default:
			continue
		}
		if len(wrapped) > 43 {
			firstErr = cmp.Or(firstErr, fmt.Errorf("RSA-wrapped node keys are not supported: %w", ErrNodeKey))
			continue
		}
		b, err := megacrypto.B64Decode(wrapped)
		if err == nil && len(b) != 16 && len(b) != 32 {
			err = fmt.Errorf("wrapped key of %d bytes: %w", len(b), megacrypto.ErrKeySize)
		}
		if err != nil {
			firstErr = cmp.Or(firstErr, fmt.Errorf("%w: %w", ErrNodeKey, err))
			continue
		}
		key, err := megacrypto.DecryptKey(kek, b)
		if err != nil {
			firstErr = cmp.Or(firstErr, fmt.Errorf("%w: %w", ErrNodeKey, err))
			continue
		}
		return key, nil
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return nil, errNeedShareKey
}

// wrapKey returns the `k` value for a key we created: b64(AES_mk(key)).
func wrapKey(mk, key []byte) (string, error) {
	w, err := megacrypto.EncryptKey(mk, key)
	if err != nil {
		return "", err
	}
	return megacrypto.B64Encode(w), nil
}

// FetchTree loads the whole node tree with `f`, replacing the local tree.
// The reply is decoded as a stream, node by node.
func (c *Client) FetchTree(ctx context.Context) error {
	st, err := c.loggedIn()
	if err != nil {
		return fmt.Errorf("fetch tree: %w", err)
	}
	body, err := json.Marshal([1]any{megaapi.FetchRequest{A: "f", C: 1}})
	if err != nil {
		return fmt.Errorf("fetch tree: %w", err)
	}
	var t *tree
	err = c.cs(ctx, st.sid, "f", body, func(dec *json.Decoder) error {
		t = newTree()
		return decodeFetch(dec, newKeyring(st, t))
	})
	if err != nil {
		return fmt.Errorf("fetch tree: %w", err)
	}
	c.treeMu.Lock()
	c.tree = t
	c.treeMu.Unlock()
	c.log.Debug("fetched tree", logKeyNodes, len(t.nodes), logKeySN, t.sn)
	return nil
}

// decodeFetch streams an `f` result into kr.t.
func decodeFetch(dec *json.Decoder, kr *keyring) error {
	t := kr.t
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("cs f: read reply: %w", truncated(err))
	}
	switch v := tok.(type) {
	case float64:
		if v < 0 {
			return apiError("f", megaapi.ErrorCode(v))
		}
		return fmt.Errorf("cs f: malformed reply: result %v", v)
	case json.Delim:
		if v != '{' {
			return fmt.Errorf("cs f: malformed reply: result starts with %v", v)
		}
	default:
		return fmt.Errorf("cs f: malformed reply: result is a %T", tok)
	}
	var links []megaapi.PublicLink
	var pending []*Node // nodes waiting for a share key from `ok`
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("cs f: read reply: %w", truncated(err))
		}
		key, _ := tok.(string)
		switch key {
		case "f":
			if err := expectDelim(dec, '['); err != nil {
				return err
			}
			p, err := decodeNodes(dec, kr)
			pending = append(pending, p...)
			if err != nil {
				return err
			}
			if err := expectDelim(dec, ']'); err != nil {
				return err
			}
		case "ok":
			var oks []megaapi.ShareKey
			if err := dec.Decode(&oks); err != nil {
				return fmt.Errorf("cs f: share keys: %w", jsonErr(err))
			}
			for _, sk := range oks {
				kr.addShareKey(sk)
			}
		case "sn":
			if err := dec.Decode(&t.sn); err != nil {
				return fmt.Errorf("cs f: sn: %w", jsonErr(err))
			}
		case "ph":
			if err := dec.Decode(&links); err != nil {
				return fmt.Errorf("cs f: public links: %w", jsonErr(err))
			}
		default:
			if err := skipValue(dec); err != nil {
				return err
			}
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return err
	}
	for _, n := range pending {
		w := megaapi.Node{Handle: n.Handle, Parent: n.Parent, Owner: n.Owner, Type: int(n.Type),
			Attr: n.attr, Key: n.wireKey, Size: n.Size, TS: n.CreatedAt.Unix()}
		t.put(kr.decode(&w))
	}
	for _, l := range links {
		if n := t.nodes[l.Handle]; n != nil {
			cp := *n
			cp.PublicHandle = l.PH
			t.put(&cp)
		}
	}
	if t.root == "" {
		return errors.New("cs f: malformed reply: no root node")
	}
	if t.sn == "" {
		return errors.New("cs f: malformed reply: no sn")
	}
	return nil
}

// nodeBatch is how many wire nodes decodeNodes hands to a decrypter at once.
const nodeBatch = 256

// decodeNodes streams the nodes of an `f` list into kr.t: this goroutine
// parses JSON while GOMAXPROCS-1 (at least one) others decrypt keys and
// attributes, and one more inserts the results. It returns the nodes that
// wait for a share key. All its goroutines have ended when it returns.
func decodeNodes(dec *json.Decoder, kr *keyring) (pending []*Node, err error) {
	workers := max(runtime.GOMAXPROCS(0)-1, 1)
	batches := make(chan []megaapi.Node, workers)
	results := make(chan []*Node, workers)
	var decrypters, inserter sync.WaitGroup
	for range workers {
		decrypters.Go(func() {
			for b := range batches {
				out := make([]*Node, len(b))
				for i := range b {
					out[i] = kr.decode(&b[i])
				}
				results <- out
			}
		})
	}
	inserter.Go(func() {
		for ns := range results {
			for _, n := range ns {
				if errors.Is(n.Err, errNeedShareKey) {
					pending = append(pending, n)
				}
				kr.t.put(n)
			}
		}
	})
	batch := make([]megaapi.Node, 0, nodeBatch)
	for dec.More() {
		batch = append(batch, megaapi.Node{})
		if err = dec.Decode(&batch[len(batch)-1]); err != nil {
			err = fmt.Errorf("cs f: node: %w", jsonErr(err))
			batch = batch[:0]
			break
		}
		if len(batch) == nodeBatch {
			batches <- batch
			batch = make([]megaapi.Node, 0, nodeBatch)
		}
	}
	if len(batch) > 0 {
		batches <- batch
	}
	close(batches)
	decrypters.Wait()
	close(results)
	inserter.Wait()
	return pending, err
}

// addShareKey records a share key from an `ok` entry after checking its
// handle authentication `ha`.
func (kr *keyring) addShareKey(sk megaapi.ShareKey) {
	ha, err := megacrypto.HandleAuth(kr.mk, sk.Handle)
	if err != nil || ha != sk.HA {
		return
	}
	w, err := megacrypto.B64Decode(sk.Key)
	if err != nil || len(w) != 16 {
		return
	}
	if k, err := megacrypto.DecryptKey(kr.mk, w); err == nil {
		kr.t.shareKeys[sk.Handle] = k
	}
}

// expectDelim reads the delimiter d.
func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("cs f: read reply: %w", jsonErr(err))
	}
	if got, ok := tok.(json.Delim); !ok || got != d {
		return fmt.Errorf("cs f: malformed reply: got %v, want %v", tok, d)
	}
	return nil
}

// skipValue consumes one JSON value without keeping it.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("cs f: read reply: %w", jsonErr(err))
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				depth++
			default:
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}

// jsonErr classifies a decoder error: truncation stays retryable, a type
// or syntax error is a malformed reply.
func jsonErr(err error) error {
	err = truncated(err)
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if errors.As(err, &se) || errors.As(err, &te) {
		return fmt.Errorf("malformed reply: %w", err)
	}
	return err
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
			if cur.Type == RootNode {
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
