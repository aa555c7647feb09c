package megaserver

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"slices"

	bolt "go.etcd.io/bbolt"

	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
)

const (
	maxAttrBytes   = 64 << 10 // decoded attribute size (SDK MAX_NODE_ATTRIBUTE_SIZE)
	maxPutNodes    = 10000
	maxFABytes     = 4096
	maxPlaceholder = 64
)

// validAttr reports whether a is base64 of a non-zero multiple of 16 bytes
// and at most 64 KiB: the only check possible without keys, and what
// go-mega needs not to panic.
func validAttr(a string) bool {
	if a == "" || len(a) > maxAttrBytes*4/3+4 {
		return false
	}
	b, err := megacrypto.B64Decode(a)
	return err == nil && len(b) > 0 && len(b)%16 == 0 && len(b) <= maxAttrBytes
}

// validKey checks a wrapped node key: 16 bytes for folders, 32 for files.
func validKey(k string, t int) bool {
	if len(k) > 64 {
		return false
	}
	b, err := megacrypto.B64Decode(k)
	if err != nil {
		return false
	}
	if t == megaapi.TypeFile {
		return len(b) == 32
	}
	return len(b) == 16
}

// cmdFetch (`f`) streams the whole tree of the session's user, parents
// before children, from one read transaction.
func (s *Server) cmdFetch(c *call) result {
	var req megaapi.FetchRequest
	if err := decodeArgs(c, &req); err != nil {
		return codeResult(megaapi.EARGS)
	}
	if c.link != "" {
		return s.cmdFetchLink(c)
	}
	end, ok := s.beginWalk(c)
	if !ok {
		return codeResult(megaapi.EAGAIN)
	}
	user := c.sess.user
	return result{stream: func(w io.Writer) error {
		defer end()
		return s.db.View(func(tx *bolt.Tx) error {
			u, err := getUser(tx, user)
			if err != nil {
				_, werr := io.WriteString(w, "-1")
				return errors.Join(err, werr)
			}
			bw := bufio.NewWriterSize(w, 64<<10)
			enc := json.NewEncoder(bw)
			enc.SetEscapeHTML(false)
			var links []publicLink
			var shares []megaapi.ShareKey
			bw.WriteString(`{"f":[`)
			first := true
			for _, root := range []string{u.Root, u.Inbox, u.Rubbish} {
				err := walkSubtree(tx, root, func(n *nodeRec) error {
					if !first {
						bw.WriteByte(',')
					}
					first = false
					if n.PH != "" {
						links = append(links, publicLink{Handle: n.H, PH: n.PH, TS: n.PHTS, ETS: n.PHETS})
					}
					if n.ShareOK != "" {
						shares = append(shares, megaapi.ShareKey{Handle: n.H, Key: n.ShareOK, HA: n.ShareHA})
					}
					return enc.Encode(n.wire()) // the trailing newline is valid JSON whitespace
				})
				if err != nil {
					return err
				}
			}
			bw.WriteString(`],"ok":`)
			if shares == nil {
				shares = []megaapi.ShareKey{}
			}
			if err := enc.Encode(shares); err != nil {
				return err
			}
			bw.WriteString(`,"s":[],"u":[],"sn":"`)
			bw.WriteString(encodeSN(getState(tx, user).Counter))
			bw.WriteString(`","ph":`)
			if links == nil {
				links = []publicLink{}
			}
			if err := enc.Encode(links); err != nil {
				return err
			}
			bw.WriteString(`}`)
			return bw.Flush()
		})
	}}
}

// publicLink is an entry of `f`'s `ph` list (§7.1 `{h,ph,ets?,w?}`).
type publicLink struct {
	Handle string `json:"h"`
	PH     string `json:"ph"`
	TS     int64  `json:"ts,omitempty"`
	ETS    int64  `json:"ets,omitempty"`
}

// linkPacket is the `ph` action packet (megaapi.Packet has no ets).
type linkPacket struct {
	A   string `json:"a"`
	H   string `json:"h"`
	PH  string `json:"ph"`
	D   int    `json:"d,omitempty"`
	ETS int64  `json:"ets,omitempty"`
	TS  int64  `json:"ts,omitempty"`
	OU  string `json:"ou,omitempty"`
	I   string `json:"i,omitempty"`
}

// putNodeArg is one entry of `p`'s `n`.
type putNodeArg struct {
	H  string `json:"h"`
	T  *int   `json:"t"`
	A  string `json:"a"`
	K  string `json:"k"`
	FA string `json:"fa"`
	P  string `json:"p"` // parent placeholder of an earlier entry (SDK batches)
}

type putNodesArgs struct {
	T  string          `json:"t"`
	N  []putNodeArg    `json:"n"`
	CR json.RawMessage `json:"cr"`
}

// cmdPutNodes (`p`) creates folders, and files from upload completion
// tokens, under the target folder.
//
// `cr` gives the new nodes keys under the shares they are created in
// (§8), as on `s2`: its node list names entries of `n` by their `h`
// (placeholder or completion token; a name shared by several entries means
// each of them), or is empty and the node indexes count the entries of
// `n` (the SDK's form); a share whose folder is not at
// or above the target (any more) is skipped, so a client racing an
// unshare still creates its nodes. A node created under a share without
// its key there is listed in the folder link but cannot be opened from it.
func (s *Server) cmdPutNodes(c *call) result {
	var req putNodesArgs
	if err := decodeArgs(c, &req); err != nil || len(req.N) == 0 || len(req.N) > maxPutNodes || req.T == "" {
		return codeResult(megaapi.EARGS)
	}
	shareKeys, ok := putNodesShareKeys(req)
	if !ok {
		return codeResult(megaapi.EARGS)
	}
	if res, ok := s.replayed(c); ok {
		return res // a retry must not trip over its own consumed tokens
	}
	user := c.sess.user
	files := make([]*completion, len(req.N))
	defer func() {
		for _, f := range files {
			if f != nil {
				s.releaseCompletion(f)
			}
		}
	}()
	placeholders := make(map[string]int)
	for i, n := range req.N {
		if n.T == nil || (*n.T != megaapi.TypeFile && *n.T != megaapi.TypeFolder) {
			return codeResult(megaapi.EARGS)
		}
		if !validAttr(n.A) || !validKey(n.K, *n.T) || len(n.FA) > maxFABytes || len(n.H) > 1024 {
			return codeResult(megaapi.EARGS)
		}
		if n.P != "" {
			if _, ok := placeholders[n.P]; !ok {
				return codeResult(megaapi.EARGS)
			}
		}
		if *n.T == megaapi.TypeFile {
			comp, code := s.claimCompletion(n.H, user)
			if code == megaapi.EAGAIN && slices.Contains(files, comp) {
				return codeResult(megaapi.EARGS) // the same token twice in one `p`
			}
			if code != megaapi.OK {
				return codeResult(code)
			}
			files[i] = comp
		} else if n.H != "" && len(n.H) <= maxPlaceholder {
			placeholders[n.H] = i
		}
	}
	now := s.now().Unix()
	res := s.mutate(c, func(tx *bolt.Tx, m *mutation) ([]byte, error) {
		quota, err := userQuota(tx, m.user)
		if err != nil {
			return nil, err
		}
		target, err := ownNode(tx, m.user, req.T)
		if err != nil {
			return nil, err
		}
		if target.T == megaapi.TypeFile {
			return nil, megaapi.EARGS
		}
		var shares map[string]bool
		if len(shareKeys) > 0 {
			if shares, err = enclosingShares(tx, target); err != nil {
				return nil, err
			}
		}
		st := getState(tx, m.user)
		created := make([]megaapi.Node, 0, len(req.N))
		handles := make(map[string]string) // placeholder -> new handle
		blobs := tx.Bucket(bucketBlobs)
		children := tx.Bucket(bucketChildren)
		for i, arg := range req.N {
			parent := target.H
			if arg.P != "" {
				parent = handles[arg.P]
			}
			n := &nodeRec{H: newNodeHandle(tx), P: parent, U: m.user, T: *arg.T, A: arg.A,
				K: m.user + ":" + arg.K, TS: now, FA: arg.FA}
			if shareKeys != nil {
				for _, u := range shareKeys[i] {
					if shares[u.share] {
						n.K = withShareKey(n.K, u.share, u.key)
					}
				}
			}
			if comp := files[i]; comp != nil {
				if blobs.Get([]byte(comp.blob)) != nil {
					return nil, megaapi.ENOENT // token already used
				}
				n.S, n.Blob = comp.size, comp.blob
				st.Used += comp.size
				if st.Used > quota {
					return nil, megaapi.EOVERQUOTA
				}
				if err := blobs.Put([]byte(comp.blob), []byte(n.H)); err != nil {
					return nil, err
				}
			} else if _, ok := placeholders[arg.H]; ok && placeholders[arg.H] == i {
				handles[arg.H] = n.H
			}
			if err := putNode(tx, n); err != nil {
				return nil, err
			}
			if err := children.Put(childKey(parent, n.H), nil); err != nil {
				return nil, err
			}
			created = append(created, n.wire())
		}
		if err := putState(tx, m.user, st); err != nil {
			return nil, err
		}
		m.emit(megaapi.Packet{A: "t", T: &megaapi.PacketTree{Nodes: created}})
		return json.Marshal(megaapi.PutNodesReply{Nodes: created})
	})
	if len(res.body) > 0 && res.body[0] == '{' {
		for i, f := range files {
			if f != nil {
				s.consumeCompletion(f)
				files[i] = nil
			}
		}
	}
	return res
}

// putNodesShareKeys checks `p`'s `cr` and returns its key updates by
// entry of `n`.
func putNodesShareKeys(req putNodesArgs) ([][]shareKeyUpdate, bool) {
	updates, shares, _, ok := parseCR(req.CR, len(req.N))
	if !ok || !allNodeHandles(shares) {
		return nil, false
	}
	if len(updates) == 0 {
		return nil, true
	}
	byEntry := make([][]shareKeyUpdate, len(req.N))
	byH := make(map[string][]int, len(req.N))
	for i, n := range req.N {
		if n.H != "" {
			byH[n.H] = append(byH[n.H], i)
		}
	}
	for _, u := range updates {
		entries := byH[u.node]
		if u.node == "" {
			entries = []int{u.idx} // the SDK's form: no node list, ni counts `n`
		}
		if len(entries) == 0 {
			return nil, false // names no new node
		}
		for _, i := range entries {
			if req.N[i].T == nil || !keyFits(u.key, &nodeRec{T: *req.N[i].T}) {
				return nil, false
			}
			byEntry[i] = append(byEntry[i], u)
		}
	}
	return byEntry, true
}

func allNodeHandles(hs []string) bool {
	for _, h := range hs {
		if len(h) != nodeHandleLen {
			return false
		}
	}
	return true
}

type moveArgs struct {
	N  string          `json:"n"`
	T  string          `json:"t"`
	CR json.RawMessage `json:"cr"`
}

// cmdMove (`m`) moves a node under another folder; it emits `d` with m:1
// and a `t` with the moved subtree in one packet batch.
//
// `cr` gives the moved nodes keys under the shares they move into, as on
// `p`: its nodes must be the moved node or lie below it (ENOENT
// otherwise), and a share not at or above the new parent is skipped.
// Entries of shares the nodes leave stay in their `k` strings; no link
// reaches them outside the share's folder.
func (s *Server) cmdMove(c *call) result {
	var req moveArgs
	if err := decodeArgs(c, &req); err != nil || req.N == "" || req.T == "" {
		return codeResult(megaapi.EARGS)
	}
	updates, crShares, _, ok := parseCR(req.CR, 0)
	if !ok || !allNodeHandles(crShares) {
		return codeResult(megaapi.EARGS)
	}
	return s.mutate(c, func(tx *bolt.Tx, m *mutation) ([]byte, error) {
		n, err := ownNode(tx, m.user, req.N)
		if err != nil {
			return nil, err
		}
		if n.isRoot() {
			return nil, megaapi.EACCESS
		}
		t, err := ownNode(tx, m.user, req.T)
		if err != nil {
			return nil, err
		}
		if t.T == megaapi.TypeFile {
			return nil, megaapi.EARGS
		}
		// t must not be n or inside n's subtree.
		for a := t; ; {
			if a.H == n.H {
				return nil, megaapi.ECIRCULAR
			}
			if a.P == "" {
				break
			}
			if a, err = getNode(tx, a.P); err != nil {
				return nil, err
			}
		}
		loaded := map[string]*nodeRec{n.H: n}
		if len(updates) > 0 {
			shares, err := enclosingShares(tx, t)
			if err != nil {
				return nil, err
			}
			inside := map[string]bool{n.H: true}
			for _, u := range updates {
				x, err := shareSubtreeNode(tx, m.user, n.H, u.node, inside, loaded)
				if err != nil {
					return nil, err
				}
				loaded[u.node] = x
				if !keyFits(u.key, x) {
					return nil, megaapi.EARGS
				}
				if shares[u.share] {
					x.K = withShareKey(x.K, u.share, u.key)
				}
			}
		}
		children := tx.Bucket(bucketChildren)
		if err := children.Delete(childKey(n.P, n.H)); err != nil {
			return nil, err
		}
		n.P = t.H
		for _, x := range loaded {
			if err := putNode(tx, x); err != nil {
				return nil, err
			}
		}
		if err := children.Put(childKey(n.P, n.H), nil); err != nil {
			return nil, err
		}
		var subtree []megaapi.Node
		err = walkSubtree(tx, n.H, func(x *nodeRec) error {
			subtree = append(subtree, x.wire())
			return nil
		})
		if err != nil {
			return nil, err
		}
		m.emit(megaapi.Packet{A: "d", N: n.H, M: 1})
		m.emit(megaapi.Packet{A: "t", T: &megaapi.PacketTree{Nodes: subtree}})
		return []byte("0"), nil
	})
}

type setAttrArgs struct {
	N    string `json:"n"`
	At   string `json:"at"`
	Attr string `json:"attr"`
	Key  string `json:"key"`
}

// cmdSetAttr (`a`) replaces a node's attributes (`at`, or go-mega's
// `attr`); it emits `u`.
func (s *Server) cmdSetAttr(c *call) result {
	var req setAttrArgs
	if err := decodeArgs(c, &req); err != nil || req.N == "" {
		return codeResult(megaapi.EARGS)
	}
	at := req.At
	if at == "" {
		at = req.Attr
	}
	if !validAttr(at) {
		return codeResult(megaapi.EARGS)
	}
	return s.mutate(c, func(tx *bolt.Tx, m *mutation) ([]byte, error) {
		n, err := ownNode(tx, m.user, req.N)
		if err != nil {
			return nil, err
		}
		if n.isRoot() {
			return nil, megaapi.EACCESS
		}
		n.A = at
		if err := putNode(tx, n); err != nil {
			return nil, err
		}
		m.emit(megaapi.Packet{A: "u", N: n.H, U: n.U, At: at, TS: n.TS})
		return []byte("0"), nil
	})
}

type nodeArgs struct {
	N string `json:"n"`
}

// cmdDelete (`d`) deletes a subtree permanently; it emits `d`.
func (s *Server) cmdDelete(c *call) result {
	var req nodeArgs
	if err := decodeArgs(c, &req); err != nil || req.N == "" {
		return codeResult(megaapi.EARGS)
	}
	return s.mutate(c, func(tx *bolt.Tx, m *mutation) ([]byte, error) {
		n, err := ownNode(tx, m.user, req.N)
		if err != nil {
			return nil, err
		}
		if n.isRoot() {
			return nil, megaapi.EACCESS
		}
		if err := s.deleteSubtree(tx, m, n); err != nil {
			return nil, err
		}
		m.emit(megaapi.Packet{A: "d", N: n.H})
		return []byte("0"), nil
	})
}

// cmdEmptyRubbish (`dr`) deletes everything in the rubbish bin.
func (s *Server) cmdEmptyRubbish(c *call) result {
	return s.mutate(c, func(tx *bolt.Tx, m *mutation) ([]byte, error) {
		u, err := getUser(tx, m.user)
		if err != nil {
			return nil, err
		}
		var kids []string
		err = eachChild(tx, u.Rubbish, func(h string) error {
			kids = append(kids, h)
			return nil
		})
		if err != nil {
			return nil, err
		}
		for _, h := range kids {
			n, err := getNode(tx, h)
			if err != nil {
				return nil, err
			}
			if err := s.deleteSubtree(tx, m, n); err != nil {
				return nil, err
			}
			m.emit(megaapi.Packet{A: "d", N: h})
		}
		return []byte("0"), nil
	})
}

// deleteSubtree removes n and its descendants with their links, child
// entries and blob references; the blob files go after the commit.
func (s *Server) deleteSubtree(tx *bolt.Tx, m *mutation, n *nodeRec) error {
	var doomed []*nodeRec
	if err := walkSubtree(tx, n.H, func(x *nodeRec) error {
		doomed = append(doomed, x)
		return nil
	}); err != nil {
		return err
	}
	st := getState(tx, m.user)
	nodes, children := tx.Bucket(bucketNodes), tx.Bucket(bucketChildren)
	blobs, links := tx.Bucket(bucketBlobs), tx.Bucket(bucketLinks)
	var files []string
	for _, x := range doomed {
		if err := nodes.Delete([]byte(x.H)); err != nil {
			return err
		}
		if err := children.Delete(childKey(x.P, x.H)); err != nil {
			return err
		}
		if x.PH != "" {
			if err := links.Delete([]byte(x.PH)); err != nil {
				return err
			}
		}
		if x.Blob != "" {
			if err := blobs.Delete([]byte(x.Blob)); err != nil {
				return err
			}
			st.Used -= x.S
			files = append(files, x.Blob)
		}
	}
	if st.Used < 0 {
		st.Used = 0
	}
	if err := putState(tx, m.user, st); err != nil {
		return err
	}
	if len(files) > 0 {
		m.after = append(m.after, func() {
			for _, b := range files {
				if err := os.Remove(s.blobPath(b)); err != nil && !errors.Is(err, os.ErrNotExist) {
					s.log.Warn("remove blob", logKeyErr, err)
				}
			}
		})
	}
	return nil
}

type linkArgs struct {
	N   string `json:"n"`
	D   int    `json:"d"`
	ETS *int64 `json:"ets"`
}

// cmdLink (`l`) exports a node as a public link and answers its public
// handle (the same one if already exported); with d:1 it removes the link.
// `ets` (Unix seconds) sets the link's expiry, also on a link that exists;
// 0 removes it, and without `ets` an existing link keeps its expiry.
func (s *Server) cmdLink(c *call) result {
	var req linkArgs
	if err := decodeArgs(c, &req); err != nil || req.N == "" || (req.ETS != nil && *req.ETS < 0) {
		return codeResult(megaapi.EARGS)
	}
	now := s.now().Unix()
	return s.mutate(c, func(tx *bolt.Tx, m *mutation) ([]byte, error) {
		n, err := ownNode(tx, m.user, req.N)
		if err != nil {
			return nil, err
		}
		if n.isRoot() {
			return nil, megaapi.EACCESS
		}
		links := tx.Bucket(bucketLinks)
		if req.D == 1 {
			if n.PH == "" {
				return nil, megaapi.ENOENT
			}
			if err := links.Delete([]byte(n.PH)); err != nil {
				return nil, err
			}
			m.emitJSON(linkPacket{A: "ph", H: n.H, PH: n.PH, D: 1, TS: now, OU: m.user, I: m.tag})
			n.PH, n.PHTS, n.PHETS = "", 0, 0
			if err := putNode(tx, n); err != nil {
				return nil, err
			}
			return []byte("0"), nil
		}
		changed := false
		if n.PH == "" {
			n.PH, n.PHTS, n.PHETS = newPublicHandle(tx), now, 0
			if err := links.Put([]byte(n.PH), []byte(n.H)); err != nil {
				return nil, err
			}
			changed = true
		}
		if req.ETS != nil && *req.ETS != n.PHETS {
			n.PHETS, changed = *req.ETS, true
		}
		if changed {
			if err := putNode(tx, n); err != nil {
				return nil, err
			}
			m.emitJSON(linkPacket{A: "ph", H: n.H, PH: n.PH, ETS: n.PHETS, TS: now, OU: m.user, I: m.tag})
		}
		return json.Marshal(n.PH)
	})
}
