package megaserver

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	bolt "go.etcd.io/bbolt"

	"ferry/mega/megaapi"
)

// Shares. Only the "EXP" share exists here: the one a client creates before
// exporting a folder as a folder link (§8 "share folder"). The folder's
// record keeps the share key wrapped with the owner's master key (`ok`) and
// its handle authentication (`ha`), which `f` hands back to the owner in its
// `ok` list; the `cr` of `s2` (and of `p` and `m` into a shared folder)
// adds "/<folder>:<node key wrapped with the share key>" entries to the `k`
// strings of the folder's subtree, which a folder link's context shows
// (folderlink.go). `s2` without an access level removes the share and
// those entries. The server cannot check any of the keys, only their
// encodings and sizes.

// shareUserExport is the pseudo-user of a link share.
const shareUserExport = "EXP"

// shareTarget is one entry of `s2`'s `s`.
type shareTarget struct {
	U string `json:"u"`
	R *int   `json:"r"` // access level; absent would mean "remove the share"
}

type shareArgs struct {
	N  string          `json:"n"`
	S  []shareTarget   `json:"s"`
	OK string          `json:"ok"`
	HA string          `json:"ha"`
	CR json.RawMessage `json:"cr"`
}

// shareKeyUpdate is one triple of `cr`: node gets "share:key" in its `k`.
// idx is the node's index; node is "" when `cr` lists no nodes and the
// index counts the entries of `p`'s `n` (the SDK's form).
type shareKeyUpdate struct {
	share, node, key string
	idx              int
}

// sharePacket is the `s2` action packet. megaapi.Packet has no ok/ha/r.
type sharePacket struct {
	A  string `json:"a"`
	N  string `json:"n"`
	U  string `json:"u"`
	R  int    `json:"r"`
	OK string `json:"ok"`
	HA string `json:"ha"`
	TS int64  `json:"ts,omitempty"`
	OU string `json:"ou,omitempty"`
	I  string `json:"i,omitempty"`
}

// canonicalB64 reports whether s is unpadded base64url of one of the given
// decoded sizes, in its one canonical spelling (no padding, no standard
// alphabet, no line breaks, zero spare bits). Key strings are stored and
// compared verbatim, and "/" and ":" separate the entries of a `k` string,
// so nothing looser is accepted.
func canonicalB64(s string, sizes ...int) bool {
	if len(s) > 64 {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || base64.RawURLEncoding.EncodeToString(b) != s {
		return false
	}
	for _, n := range sizes {
		if len(b) == n {
			return true
		}
	}
	return false
}

// jsonInt decodes a JSON integer; null, fractions and other types fail.
func jsonInt(raw json.RawMessage) (int, bool) {
	if string(raw) == "null" {
		return 0, false
	}
	var n int
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, false
	}
	return n, true
}

// parseShareCR decodes the `cr` of `s2`: every share handle must be
// folder.
func parseShareCR(raw json.RawMessage, folder string) ([]shareKeyUpdate, []string, bool) {
	updates, shares, nodes, ok := parseCR(raw, 0)
	if !ok {
		return nil, nil, false
	}
	for _, h := range shares {
		if h != folder {
			return nil, nil, false
		}
	}
	return updates, nodes, true
}

// parseCR decodes `cr`: [[share handles],[node handles],[si,ni,key,...]].
// Handles are non-empty strings; keys are b64 of 16 or 32 bytes. With an
// empty node list, ni may instead count up to implicit (the entries of
// `p`'s `n`). A missing or null `cr` is no update.
func parseCR(raw json.RawMessage, implicit int) (updates []shareKeyUpdate, shares, nodes []string, ok bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil, nil, true
	}
	var parts []json.RawMessage
	if err := json.Unmarshal(raw, &parts); err != nil || len(parts) != 3 {
		return nil, nil, nil, false
	}
	var triples []json.RawMessage
	for i, v := range []any{&shares, &nodes, &triples} {
		if string(parts[i]) == "null" {
			return nil, nil, nil, false
		}
		if err := json.Unmarshal(parts[i], v); err != nil {
			return nil, nil, nil, false
		}
	}
	if len(triples)%3 != 0 {
		return nil, nil, nil, false
	}
	for _, h := range shares {
		if h == "" {
			return nil, nil, nil, false
		}
	}
	for _, h := range nodes {
		if h == "" {
			return nil, nil, nil, false
		}
	}
	numNodes := len(nodes)
	if numNodes == 0 {
		numNodes = implicit
	}
	updates = make([]shareKeyUpdate, 0, len(triples)/3)
	for i := 0; i < len(triples); i += 3 {
		si, ok1 := jsonInt(triples[i])
		ni, ok2 := jsonInt(triples[i+1])
		if !ok1 || !ok2 || si < 0 || si >= len(shares) || ni < 0 || ni >= numNodes {
			return nil, nil, nil, false
		}
		var key string
		if string(triples[i+2]) == "null" || json.Unmarshal(triples[i+2], &key) != nil || !canonicalB64(key, 16, 32) {
			return nil, nil, nil, false
		}
		u := shareKeyUpdate{share: shares[si], key: key, idx: ni}
		if len(nodes) > 0 {
			u.node = nodes[ni]
		}
		updates = append(updates, u)
	}
	return updates, shares, nodes, true
}

// keyFits reports whether a share-wrapped key has the size of n's key.
func keyFits(key string, n *nodeRec) bool {
	if n.T == megaapi.TypeFile {
		return canonicalB64(key, 32)
	}
	return canonicalB64(key, 16)
}

// enclosingShares returns the handles of the shared folders at or above
// n, the shares whose link a node placed under n is seen through.
func enclosingShares(tx *bolt.Tx, n *nodeRec) (map[string]bool, error) {
	out := map[string]bool{}
	for a := n; ; {
		if a.ShareOK != "" {
			out[a.H] = true
		}
		if a.P == "" {
			return out, nil
		}
		p, err := getNode(tx, a.P)
		if err != nil {
			return nil, err
		}
		a = p
	}
}

// withShareKey returns key string k with the entry of share set to wrapped:
// an existing entry for share is replaced, otherwise one is appended. The
// owner's entry stays first.
func withShareKey(k, share, wrapped string) string {
	entry := share + ":" + wrapped
	if k == "" {
		return entry
	}
	parts := strings.Split(k, "/")
	for i := 1; i < len(parts); i++ {
		if h, _, _ := strings.Cut(parts[i], ":"); h == share {
			parts[i] = entry
			return strings.Join(parts, "/")
		}
	}
	return k + "/" + entry
}

// cmdShare (`s2`) shares a folder with "EXP", the prerequisite of a folder
// link: it stores `ok`/`ha` on the folder, applies `cr` to the `k` strings
// of the folder's subtree and emits an `s2` packet. A folder already shared
// accepts the same `ok` again (and applies `cr`); a different one is EEXIST.
func (s *Server) cmdShare(c *call) result {
	var req shareArgs
	if err := decodeArgs(c, &req); err != nil || req.N == "" || len(req.S) == 0 {
		return codeResult(megaapi.EARGS)
	}
	removals := 0
	for _, t := range req.S {
		// Shares with users are not implemented.
		if t.U != shareUserExport || (t.R != nil && (*t.R < 0 || *t.R > 2)) {
			return codeResult(megaapi.EARGS)
		}
		if t.R == nil {
			removals++
		}
	}
	switch removals {
	case len(req.S):
		return s.unshare(c, req.N)
	case 0:
	default:
		return codeResult(megaapi.EARGS) // adding and removing at once
	}
	if !canonicalB64(req.OK, 16) || !canonicalB64(req.HA, 16) {
		return codeResult(megaapi.EARGS)
	}
	updates, nodes, ok := parseShareCR(req.CR, req.N)
	if !ok {
		return codeResult(megaapi.EARGS)
	}
	r := *req.S[0].R
	now := s.now().Unix()
	return s.mutate(c, func(tx *bolt.Tx, m *mutation) ([]byte, error) {
		folder, err := ownNode(tx, m.user, req.N)
		if err != nil {
			return nil, err
		}
		if folder.isRoot() {
			return nil, megaapi.EACCESS
		}
		if folder.T != megaapi.TypeFolder {
			return nil, megaapi.EARGS
		}
		if folder.ShareOK != "" && folder.ShareOK != req.OK {
			return nil, megaapi.EEXIST
		}
		// Every listed node must be the user's and inside the folder.
		inside := map[string]bool{folder.H: true}
		loaded := map[string]*nodeRec{folder.H: folder}
		for _, h := range nodes {
			n, err := shareSubtreeNode(tx, m.user, folder.H, h, inside, loaded)
			if err != nil {
				return nil, err
			}
			loaded[h] = n
		}
		if folder.ShareOK == "" {
			folder.ShareOK, folder.ShareHA, folder.ShareTS = req.OK, req.HA, now
		}
		for _, u := range updates {
			n := loaded[u.node]
			n.K = withShareKey(n.K, u.share, u.key)
		}
		written := make(map[string]bool, len(nodes)+1)
		for _, h := range append([]string{folder.H}, nodes...) {
			if written[h] {
				continue
			}
			written[h] = true
			if err := putNode(tx, loaded[h]); err != nil {
				return nil, err
			}
		}
		m.emitJSON(sharePacket{A: "s2", N: folder.H, U: shareUserExport, R: r,
			OK: folder.ShareOK, HA: folder.ShareHA, TS: folder.ShareTS, OU: m.user, I: m.tag})
		return []byte("0"), nil
	})
}

// shareRemovedPacket is the `s2` packet of a removed share: no `r` (the
// SDK reads a share without an access level as deleted).
type shareRemovedPacket struct {
	A  string `json:"a"`
	N  string `json:"n"`
	U  string `json:"u"`
	OU string `json:"ou,omitempty"`
	I  string `json:"i,omitempty"`
}

// unshare removes folder's "EXP" share (`s2` whose `s` entries have no
// `r`): it forgets the share key and drops the share's entries from the
// `k` strings of the subtree, so a later share under another key starts
// clean. A folder link of the folder stops working at once (its public
// handle stays until `l` removes it, and opens again if the folder is
// shared again). ENOENT if the folder is not shared.
func (s *Server) unshare(c *call, h string) result {
	return s.mutate(c, func(tx *bolt.Tx, m *mutation) ([]byte, error) {
		folder, err := ownNode(tx, m.user, h)
		if err != nil {
			return nil, err
		}
		if folder.isRoot() {
			return nil, megaapi.EACCESS
		}
		if folder.ShareOK == "" {
			return nil, megaapi.ENOENT
		}
		var changed []*nodeRec
		err = walkSubtree(tx, folder.H, func(n *nodeRec) error {
			if k := withoutShareKey(n.K, folder.H); k != n.K || n.H == folder.H {
				n.K = k
				changed = append(changed, n)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		for _, n := range changed {
			if n.H == folder.H {
				n.ShareOK, n.ShareHA, n.ShareTS = "", "", 0
			}
			if err := putNode(tx, n); err != nil {
				return nil, err
			}
		}
		m.emitJSON(shareRemovedPacket{A: "s2", N: folder.H, U: shareUserExport, OU: m.user, I: m.tag})
		return []byte("0"), nil
	})
}

// shareSubtreeNode loads node h for a share of folder: it must exist, be
// user's and lie in folder's subtree (ENOENT otherwise, as for any node the
// user cannot touch). inside memoizes ancestors already decided; loaded
// keeps records already read so updates go to one copy.
func shareSubtreeNode(tx *bolt.Tx, user, folder, h string, inside map[string]bool, loaded map[string]*nodeRec) (*nodeRec, error) {
	n := loaded[h]
	if n == nil {
		var err error
		if n, err = ownNode(tx, user, h); err != nil {
			return nil, err
		}
	}
	var path []string
	verdict := false
	for a := n; ; {
		if v, ok := inside[a.H]; ok {
			verdict = v
			break
		}
		path = append(path, a.H)
		if a.P == "" {
			break // reached a root without meeting folder
		}
		p, err := getNode(tx, a.P)
		if err != nil {
			return nil, err
		}
		a = p
	}
	for _, x := range path {
		inside[x] = verdict
	}
	if !verdict {
		return nil, megaapi.ENOENT
	}
	return n, nil
}
