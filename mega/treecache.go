package mega

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"ferry/mega/megaapi"
)

// treeCacheVersion is the version of the JSON-lines export that older
// versions of ExportTree wrote; ImportTree still reads it.
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

// ExportTree writes the local tree and its SN to w, so a later process can
// ImportTree it and continue with Poll instead of a full FetchTree. The
// export keeps apart the server's state at SN and this client's own
// mutations that SN does not include yet, so the Poll after ImportTree
// applies the packets since SN to the state they follow.
//
// The export holds every node's decrypted key, name and fingerprint (and
// handles, sizes and timestamps) in the clear, so that ImportTree needs no
// cryptography: anyone who reads it can decrypt the files it lists.
// Callers must store it encrypted and bound to the account, as
// internal/backend/mega does (AES-256-GCM under a key derived from the
// password).
func (c *Client) ExportTree(w io.Writer) error {
	st, err := c.loggedIn()
	if err != nil {
		return fmt.Errorf("export tree: %w", err)
	}
	c.treeMu.RLock()
	if t := c.tree; t == nil || len(t.pending) == 0 || t.stale {
		defer c.treeMu.RUnlock()
		if t == nil {
			return fmt.Errorf("export tree: %w", ErrNoTree)
		}
		return exportBinary(w, st.user, t, nil)
	}
	c.treeMu.RUnlock()
	// Write the state at sn (local mutations rolled back), then the
	// current version of each node they touched.
	c.treeMu.Lock()
	defer c.treeMu.Unlock()
	t := c.tree
	if t == nil {
		return fmt.Errorf("export tree: %w", ErrNoTree)
	}
	var overlay map[string]*Node
	if !t.stale && len(t.pending) > 0 {
		overlay = make(map[string]*Node)
		for _, op := range t.pending {
			for _, p := range op.undo {
				overlay[p.h] = t.nodes[p.h]
			}
		}
		t.rollback()
		defer t.redo(nil)
	}
	return exportBinary(w, st.user, t, overlay)
}

// The binary export format (version 2). Strings and byte strings are a
// uvarint length and the bytes; integers are varints.
//
//	magic "\x00FTB\x02"
//	flags byte (binStale), user, sn
//	uvarint share key count, then per key: handle, key
//	uvarint node count
//	per node: uvarint record length, then the record:
//	  flags byte (binErr, binWireKey), type byte
//	  uvarint owner: i > 0 is the i-th owner written so far, 0 a new one (string follows)
//	  size, ts, mtime (varints), uvarint child count
//	  handle, parent, public handle, name, fingerprint, encrypted attributes,
//	  key (the decrypted node key, or with binWireKey the `k` string)
//	uvarint 0
//	uvarint count, then that many handles: nodes local mutations removed
//	local mutations' versions of nodes, as records, then uvarint 0
//
// Nodes come parents first, so a folder's child count sizes its child
// set before the children arrive. The first byte, 0, tells the format
// from version 1's JSON lines, which start with '{'.
const binMagic = "\x00FTB\x02"

// Flags of the binary export.
const (
	binStale   = 1 << 0 // header: the tree must be re-fetched (tree.stale)
	binErr     = 1 << 0 // node: Err was set; ImportTree decrypts it again
	binWireKey = 1 << 1 // node: the key field is the wire `k`
)

// maxBinRecord bounds one node record (names are at most a few KiB).
const maxBinRecord = 1 << 20

// exportBinary writes t in the binary format, with the nodes of overlay
// (nil: removed) as the local mutations; the caller holds treeMu.
func exportBinary(w io.Writer, user string, t *tree, overlay map[string]*Node) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	b := make([]byte, 0, 512)
	b = append(b, binMagic...)
	flags := byte(0)
	if t.stale {
		flags |= binStale
	}
	b = append(b, flags)
	b = appendString(b, user)
	b = appendString(b, t.sn)
	b = binary.AppendUvarint(b, uint64(len(t.shareKeys)))
	for h, k := range t.shareKeys {
		b = appendString(b, h)
		b = appendBytes(b, k)
	}
	b = binary.AppendUvarint(b, uint64(len(t.nodes)))
	bw.Write(b)

	owners := make(map[string]uint64)
	var lastOwner string
	var lastRef uint64
	var rec []byte
	emit := func(n *Node, kids map[string]*Node) {
		rec = rec[:0]
		flags := byte(0)
		key := n.key
		if n.Err != nil {
			flags |= binErr
		}
		if key == nil && n.wireKey != "" {
			flags |= binWireKey
		}
		rec = append(rec, flags, byte(n.Type))
		if lastRef == 0 || n.Owner != lastOwner {
			ref, ok := owners[n.Owner]
			if !ok {
				ref = uint64(len(owners) + 1)
				owners[n.Owner] = ref
				rec = append(rec, 0)
				rec = appendString(rec, n.Owner)
			} else {
				rec = binary.AppendUvarint(rec, ref)
			}
			lastOwner, lastRef = n.Owner, ref
		} else {
			rec = binary.AppendUvarint(rec, lastRef)
		}
		rec = binary.AppendVarint(rec, n.Size)
		rec = binary.AppendVarint(rec, n.CreatedAt.Unix())
		rec = binary.AppendVarint(rec, n.ModTime.Unix())
		rec = binary.AppendUvarint(rec, uint64(len(kids)))
		rec = appendString(rec, n.Handle)
		rec = appendString(rec, n.Parent)
		rec = appendString(rec, n.PublicHandle)
		rec = appendString(rec, n.Name)
		rec = appendString(rec, n.Fingerprint)
		rec = appendString(rec, n.attr)
		if flags&binWireKey != 0 {
			rec = appendString(rec, n.wireKey)
		} else {
			rec = appendBytes(rec, key)
		}
		b = binary.AppendUvarint(b[:0], uint64(len(rec)))
		bw.Write(b)
		bw.Write(rec)
	}
	t.walk(emit)
	b = binary.AppendUvarint(b[:0], 0)
	var removed []string
	for h, n := range overlay {
		if n == nil {
			removed = append(removed, h)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(removed)))
	for _, h := range removed {
		b = appendString(b, h)
	}
	bw.Write(b)
	for _, n := range overlay {
		if n != nil {
			emit(n, t.kids[n.Handle])
		}
	}
	b = binary.AppendUvarint(b[:0], 0)
	bw.Write(b)
	if err := bw.Flush(); err != nil { // bufio keeps the first write error
		return fmt.Errorf("export tree: %w", err)
	}
	return nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendBytes(b, s []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// walk calls fn for every node of t, parents before their children, with
// the node's child set.
func (t *tree) walk(fn func(n *Node, kids map[string]*Node)) {
	var queue []*Node
	done := map[string]bool(nil) // after the first pass: the nodes visited
	visit := func(top *Node) int {
		queue = append(queue[:0], top)
		for i := 0; i < len(queue); i++ {
			n := queue[i]
			kids := t.kids[n.Handle]
			if done != nil {
				if done[n.Handle] {
					continue
				}
				done[n.Handle] = true
			}
			fn(n, kids)
			for _, k := range kids {
				if done == nil || !done[k.Handle] {
					queue = append(queue, k)
				}
			}
			if done == nil && len(queue) > len(t.nodes) {
				return -len(queue) // child sets that disagree with Parent: never expected
			}
		}
		return len(queue)
	}
	seen := 0
	for _, h := range []string{t.root, t.inbox, t.rubbish} {
		if n := t.nodes[h]; n != nil && n.Parent == "" {
			seen += visit(n)
		}
	}
	if seen == len(t.nodes) {
		return
	}
	// Other top-level nodes, orphans, and nodes hanging off a parent
	// cycle (never expected).
	done = make(map[string]bool, len(t.nodes))
	for _, h := range []string{t.root, t.inbox, t.rubbish} {
		if n := t.nodes[h]; n != nil && n.Parent == "" {
			for _, k := range t.subtree(h) {
				done[k] = true
			}
		}
	}
	for _, n := range t.nodes {
		if !done[n.Handle] && (n.Parent == "" || t.nodes[n.Parent] == nil) {
			visit(n)
		}
	}
	for _, n := range t.nodes {
		if !done[n.Handle] {
			visit(n)
		}
	}
}

// ImportTree replaces the local tree with one written by ExportTree for the
// same account (any version of ExportTree: the binary format, or the JSON
// lines of older versions). Call Poll afterwards to catch up from its SN;
// if the server no longer has packets that old, Poll re-fetches the tree
// by itself.
func (c *Client) ImportTree(r io.Reader) error {
	st, err := c.loggedIn()
	if err != nil {
		return fmt.Errorf("import tree: %w", err)
	}
	br := bufio.NewReaderSize(r, 64<<10)
	first, err := br.Peek(1)
	if err != nil {
		return fmt.Errorf("import tree: header: %w", noEOF(err))
	}
	if first[0] != binMagic[0] {
		return c.importJSON(st, br)
	}
	t, err := importBinary(st, br)
	if err != nil {
		return fmt.Errorf("import tree: %w", err)
	}
	c.setTree(t)
	return nil
}

// setTree installs t as the local tree.
func (c *Client) setTree(t *tree) {
	c.treeMu.Lock()
	c.tree = t
	c.treeMu.Unlock()
}

// noEOF turns io.EOF, which here always means a cut-off export, into
// io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// errBinFormat marks a malformed binary export.
var errBinFormat = errors.New("malformed tree export")

// importBinary reads the binary format (see binMagic).
func importBinary(st state, br *bufio.Reader) (*tree, error) {
	var magic [len(binMagic)]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil {
		return nil, fmt.Errorf("header: %w", noEOF(err))
	}
	if string(magic[:]) != binMagic {
		return nil, fmt.Errorf("unsupported format %q", magic[:])
	}
	flags, err := br.ReadByte()
	if err != nil {
		return nil, fmt.Errorf("header: %w", noEOF(err))
	}
	user, err := readBinString(br)
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	sn, err := readBinString(br)
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	switch {
	case user != st.user:
		return nil, fmt.Errorf("the tree belongs to user %s, not %s", user, st.user)
	case sn == "":
		return nil, errors.New("no sn")
	}
	t := newTree()
	t.sn = sn
	t.stale = flags&binStale != 0
	nkeys, err := binary.ReadUvarint(br)
	if err != nil {
		return nil, fmt.Errorf("header: %w", noEOF(err))
	}
	for range nkeys {
		h, err := readBinString(br)
		if err != nil {
			return nil, fmt.Errorf("share keys: %w", err)
		}
		k, err := readBinString(br)
		if err != nil {
			return nil, fmt.Errorf("share keys: %w", err)
		}
		t.shareKeys[h] = []byte(k)
	}
	count, err := binary.ReadUvarint(br)
	if err != nil {
		return nil, fmt.Errorf("header: %w", noEOF(err))
	}
	d := binDecoder{t: t, kr: newKeyring(st, t)}
	// count comes from the file: presize for it within bounds, so a
	// damaged count cannot make a huge allocation.
	d.slab = make([]Node, min(count, 1<<14))
	t.nodes = make(map[string]*Node, min(count, 1<<18))

	if err := d.read(br); err != nil {
		return nil, err
	}
	if t.root == "" {
		return nil, errors.New("no root node")
	}
	// The local mutations not in sn become the tree's pending mutation,
	// which the next Poll rolls back, or forgets once sn includes it.
	nremoved, err := binary.ReadUvarint(br)
	if err != nil {
		return nil, fmt.Errorf("local changes: %w", noEOF(err))
	}
	var removed []string
	for range nremoved {
		h, err := readBinString(br)
		if err != nil {
			return nil, fmt.Errorf("local changes: %w", err)
		}
		removed = append(removed, h)
	}
	d.overlay = true
	if err := d.read(br); err != nil {
		return nil, fmt.Errorf("local changes: %w", err)
	}
	if _, err := br.Peek(1); err != io.EOF {
		return nil, fmt.Errorf("data after the end of the export: %w", cmp.Or(err, errBinFormat))
	}
	if len(removed) > 0 || len(d.set) > 0 {
		set := d.set
		t.record(0, func(t *tree, op *localOp) {
			for _, n := range set { // the exporter's tree had no cycle
				op.set(t, n)
			}
			for _, h := range removed {
				op.remove(t, h)
			}
		})
	}
	return t, nil
}

// read decodes node records up to the terminating 0. Records are read
// into a buffer that becomes one string per chunk, so the nodes' strings
// share a few large allocations. Outside overlay mode, reading and parsing
// run on a goroutine of their own while this one inserts the nodes into
// the tree, so an import uses two cores.
func (d *binDecoder) read(br *bufio.Reader) error {
	if d.overlay {
		return d.readRecords(br, func(b []parsedNode) error {
			for _, pn := range b {
				n := pn.n
				if pn.redecode {
					n = d.redecode(n)
				}
				d.set = append(d.set, n)
			}
			return nil
		})
	}
	batches := make(chan []parsedNode, 4)
	stop := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		defer close(batches)
		errc <- d.readRecords(br, func(b []parsedNode) error {
			select {
			case batches <- b:
				return nil
			case <-stop:
				return errStopped
			}
		})
	}()
	var insertErr error
	for b := range batches {
		if insertErr != nil {
			continue // drain until the reader sees stop
		}
		for _, pn := range b {
			if err := d.insert(pn); err != nil {
				insertErr = err
				close(stop)
				break
			}
		}
	}
	if err := <-errc; insertErr == nil && err != nil {
		return err
	}
	return insertErr
}

// errStopped ends readRecords when the inserter has failed.
var errStopped = errors.New("import stopped")

// readRecords reads and parses records up to the terminating 0, handing
// them to emit a chunk at a time. It touches only the decoder's parse
// state (slab, keys, owners), never the tree.
func (d *binDecoder) readRecords(br *bufio.Reader, emit func([]parsedNode) error) error {
	const chunk = 256 << 10
	buf := make([]byte, 0, chunk)
	var ends []int
	for {
		l, err := binary.ReadUvarint(br)
		if err != nil {
			return fmt.Errorf("nodes: %w", noEOF(err))
		}
		if l == 0 || len(buf)+int(min(l, maxBinRecord)) > cap(buf) {
			b, err := d.records(string(buf), ends)
			if err != nil {
				return err
			}
			if len(b) > 0 {
				if err := emit(b); err != nil {
					return err
				}
			}
			buf, ends = buf[:0], ends[:0]
		}
		if l == 0 {
			return nil
		}
		if l > maxBinRecord {
			return fmt.Errorf("node record of %d bytes: %w", l, errBinFormat)
		}
		if int(l) > cap(buf) {
			buf = make([]byte, 0, l)
		}
		buf = buf[:len(buf)+int(l)]
		if _, err := io.ReadFull(br, buf[len(buf)-int(l):]); err != nil {
			return fmt.Errorf("nodes: %w", noEOF(err))
		}
		ends = append(ends, len(buf))
	}
}

// readBinString reads a uvarint length and that many bytes.
func readBinString(br *bufio.Reader) (string, error) {
	l, err := binary.ReadUvarint(br)
	if err != nil {
		return "", noEOF(err)
	}
	if l > maxBinRecord {
		return "", fmt.Errorf("string of %d bytes: %w", l, errBinFormat)
	}
	b := make([]byte, l)
	if _, err := io.ReadFull(br, b); err != nil {
		return "", noEOF(err)
	}
	return string(b), nil
}

// binDecoder turns binary node records into tree nodes.
type binDecoder struct {
	t      *tree
	kr     *keyring // only for nodes exported with an error
	slab   []Node   // nodes not handed out yet
	keys   []byte   // key bytes not handed out yet
	owners []string
	// overlay: records are local mutations, collected in set rather than
	// inserted.
	overlay bool
	set     []*Node
}

// parsedNode is a decoded record on its way into the tree.
type parsedNode struct {
	n        *Node
	nkids    uint64 // children the exporter's tree had
	redecode bool   // exported with an error: decrypt again
}

// records parses the records of s ending at ends.
func (d *binDecoder) records(s string, ends []int) ([]parsedNode, error) {
	out := make([]parsedNode, 0, len(ends))
	start := 0
	for _, end := range ends {
		p := binParser{s: s[:end], i: start}
		pn, err := d.parse(&p)
		if err != nil {
			return nil, err
		}
		out = append(out, pn)
		start = end
	}
	return out, nil
}

// parse decodes one record.
func (d *binDecoder) parse(p *binParser) (parsedNode, error) {
	if len(d.slab) == 0 {
		d.slab = make([]Node, 4096)
	}
	n := &d.slab[0]
	flags, typ := p.byte(), p.byte()
	n.Type = NodeType(int8(typ))
	switch o := p.uvarint(); {
	case o == 0:
		n.Owner = p.string()
		d.owners = append(d.owners, n.Owner)
	case o <= uint64(len(d.owners)):
		n.Owner = d.owners[o-1]
	default:
		p.bad = true
	}
	n.Size = p.varint()
	n.CreatedAt = time.Unix(p.varint(), 0)
	n.ModTime = time.Unix(p.varint(), 0)
	nkids := p.uvarint()
	n.Handle = p.string()
	n.Parent = p.string()
	n.PublicHandle = p.string()
	n.Name = p.string()
	n.Fingerprint = p.string()
	n.attr = p.string()
	key := p.string()
	if p.bad || p.i != len(p.s) || n.Handle == "" {
		return parsedNode{}, fmt.Errorf("node record: %w", errBinFormat)
	}
	d.slab = d.slab[1:]
	switch {
	case flags&binWireKey != 0:
		n.wireKey = key
	case key != "":
		if len(d.keys) < len(key) {
			d.keys = make([]byte, 64<<10)
		}
		n.key = d.keys[:len(key):len(key)]
		copy(n.key, key)
		d.keys = d.keys[len(key):]
	}
	return parsedNode{n: n, nkids: nkids, redecode: flags&binErr != 0}, nil
}

// insert adds a parsed node to the tree.
func (d *binDecoder) insert(pn parsedNode) error {
	n := pn.n
	if pn.redecode {
		n = d.redecode(n)
	}
	t := d.t
	// One map operation per node. ExportTree writes each handle once, so
	// a second record for a handle is damage.
	before := len(t.nodes)
	if t.nodes[n.Handle] = n; len(t.nodes) == before {
		return fmt.Errorf("node %s recorded twice: %w", n.Handle, errBinFormat)
	}
	t.link(n)
	if pn.nkids > 0 && t.kids[n.Handle] == nil {
		t.kids[n.Handle] = make(map[string]*Node, min(pn.nkids, 1<<16))
	}
	return nil
}

// redecode decrypts a node that had an error when it was exported, as
// FetchTree did (a share key may be known now).
func (d *binDecoder) redecode(n *Node) *Node {
	if n.key != nil {
		cp := *n
		d.kr.decryptAttrs(&cp)
		return &cp
	}
	w := megaapi.Node{Handle: n.Handle, Parent: n.Parent, Owner: n.Owner, Type: int(n.Type),
		Attr: n.attr, Key: n.wireKey, Size: n.Size, TS: n.CreatedAt.Unix()}
	m := d.kr.decode(&w)
	m.PublicHandle = n.PublicHandle
	return m
}

// binParser reads the fields of one record; bad is set on any overrun.
type binParser struct {
	s   string
	i   int
	bad bool
}

func (p *binParser) byte() byte {
	if p.i >= len(p.s) {
		p.bad = true
		return 0
	}
	p.i++
	return p.s[p.i-1]
}

func (p *binParser) uvarint() uint64 {
	var x uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if p.i >= len(p.s) {
			break
		}
		c := p.s[p.i]
		p.i++
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return x
		}
	}
	p.bad = true
	return 0
}

func (p *binParser) varint() int64 {
	u := p.uvarint()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

func (p *binParser) string() string {
	l := p.uvarint()
	if l > uint64(len(p.s)-p.i) {
		p.bad = true
		return ""
	}
	s := p.s[p.i : p.i+int(l)]
	p.i += int(l)
	return s
}

// importJSON reads the JSON-lines format (version 1) of older versions:
// node keys wrapped with the master key and attributes encrypted.
func (c *Client) importJSON(st state, br *bufio.Reader) error {
	dec := json.NewDecoder(br)
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
	kr := newKeyring(st, t)
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
	c.setTree(t)
	return nil
}
