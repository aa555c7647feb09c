package megaserver

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"

	"ferry/mega/megaapi"
)

// Folder links (§1.1 `n=`, §8 "Folder-link browsing"). A request to /cs
// with `n=<public handle>` runs in a read-only context of one exported
// folder: a folder with a public handle (`l`) and an "EXP" share (`s2`).
// `n` wins over a `sid` sent with it, so a logged-in client that browses a
// link sees the link's view and nothing of its own account.
//
// In a link context `f` answers the folder's subtree, the folder first and
// without its parent, with each `k` cut down to the entry of the folder's
// share ("<folder>:<key wrapped with the share key>"; a node without one,
// such as a file added without `cr`, is listed without `k`); `g` by node
// handle serves files of the subtree, and `g` by public handle public file
// links as anywhere. Every other command answers -11 (EACCESS): there is no
// account to read or change. An unknown public handle, one of a file, one
// of a folder that is not shared or lies in the rubbish bin, answers -9;
// an expired link -8. The link is checked again in each command's read
// transaction, so removing the link or the share, trashing or deleting the
// folder closes the context for the next command.
//
// Download URLs handed out in a link context (and for public file links)
// carry the public handle: they stop working when the link does.

// linkView is an open folder link: the exported folder and its owner.
type linkView struct {
	ph     string
	folder *nodeRec
}

// openLink resolves public handle ph to the folder it exports, as of tx:
// ENOENT unless ph is a shared, exported folder outside the rubbish bin,
// EEXPIRED past its expiry.
func openLink(tx *bolt.Tx, ph string, now int64) (*linkView, error) {
	if len(ph) != nodeHandleLen {
		return nil, megaapi.ENOENT
	}
	h := tx.Bucket(bucketLinks).Get([]byte(ph))
	if h == nil {
		return nil, megaapi.ENOENT
	}
	n, err := getNode(tx, string(h))
	if err != nil {
		return nil, err
	}
	if n.T != megaapi.TypeFolder || n.PH != ph || n.ShareOK == "" {
		return nil, megaapi.ENOENT
	}
	trashed, err := inRubbish(tx, n)
	if err != nil {
		return nil, err
	}
	if trashed {
		return nil, megaapi.ENOENT
	}
	if linkExpired(n, now) {
		return nil, megaapi.EEXPIRED
	}
	return &linkView{ph: ph, folder: n}, nil
}

// linkExpired reports whether n's public link has passed its expiry.
func linkExpired(n *nodeRec, now int64) bool {
	return n.PHETS > 0 && now >= n.PHETS
}

// inRubbish reports whether n lies in its owner's rubbish bin.
func inRubbish(tx *bolt.Tx, n *nodeRec) (bool, error) {
	top := n
	for top.P != "" {
		p, err := getNode(tx, top.P)
		if err != nil {
			return false, err
		}
		top = p
	}
	return top.T == megaapi.TypeRubbish, nil
}

// contains reports whether n is the link's folder or lies below it.
func (v *linkView) contains(tx *bolt.Tx, n *nodeRec) (bool, error) {
	if n.U != v.folder.U {
		return false, nil
	}
	for a := n; ; {
		if a.H == v.folder.H {
			return true, nil
		}
		if a.P == "" {
			return false, nil
		}
		p, err := getNode(tx, a.P)
		if err != nil {
			return false, err
		}
		a = p
	}
}

// node returns the record of handle h if it is inside the link, ENOENT
// otherwise.
func (v *linkView) node(tx *bolt.Tx, h string) (*nodeRec, error) {
	n, err := getNode(tx, h)
	if err != nil {
		return nil, err
	}
	ok, err := v.contains(tx, n)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, megaapi.ENOENT
	}
	return n, nil
}

// wire is n as the link shows it: k reduced to the share's entry, and no
// parent for the link's folder.
func (v *linkView) wire(n *nodeRec) megaapi.Node {
	w := n.wire()
	w.Key = shareEntry(n.K, v.folder.H)
	if n.H == v.folder.H {
		w.Parent = ""
	}
	return w
}

// shareEntry returns the "share:key" entry of k for share, or "".
func shareEntry(k, share string) string {
	parts := strings.Split(k, "/")
	for _, p := range parts[1:] {
		if h, _, _ := strings.Cut(p, ":"); h == share {
			return p
		}
	}
	return ""
}

// withoutShareKey returns k without the entry of share.
func withoutShareKey(k, share string) string {
	parts := strings.Split(k, "/")
	out := parts[:1]
	for _, p := range parts[1:] {
		if h, _, _ := strings.Cut(p, ":"); h != share {
			out = append(out, p)
		}
	}
	return strings.Join(out, "/")
}

// linkCommands are the commands a folder-link context runs; every other
// known command answers EACCESS there.
var linkCommands = map[string]bool{"f": true, "g": true}

// cmdFetchLink is `f` in a link context: the folder's subtree, parents
// first, from one read transaction that also checks the link.
func (s *Server) cmdFetchLink(c *call) result {
	end, ok := s.beginWalk(c)
	if !ok {
		return codeResult(megaapi.EAGAIN)
	}
	now := s.now().Unix()
	return result{stream: func(w io.Writer) error {
		defer end()
		return s.db.View(func(tx *bolt.Tx) error {
			v, err := openLink(tx, c.link, now)
			if err != nil {
				code := s.codeOf(err)
				_, werr := io.WriteString(w, strconv.Itoa(int(code)))
				return werr
			}
			bw := bufio.NewWriterSize(w, 64<<10)
			enc := json.NewEncoder(bw)
			enc.SetEscapeHTML(false)
			bw.WriteString(`{"f":[`)
			first := true
			err = walkSubtree(tx, v.folder.H, func(n *nodeRec) error {
				if !first {
					bw.WriteByte(',')
				}
				first = false
				return enc.Encode(v.wire(n))
			})
			if err != nil {
				return err
			}
			bw.WriteString(`],"ok":[],"s":[],"u":[],"sn":"`)
			bw.WriteString(encodeSN(getState(tx, v.folder.U).Counter))
			bw.WriteString(`"}`)
			return bw.Flush()
		})
	}}
}

// serveSCLink answers `sc` for a folder link (`n=` instead of `sid`).
// Packets are not filtered per link: when the owner's account has changed
// since sn the answer is -6, and the client fetches the link's tree again;
// otherwise a wait URL that returns when the account changes.
func (s *Server) serveSCLink(w http.ResponseWriter, r *http.Request, ph string) {
	sn, ok := decodeSN(r.URL.Query().Get("sn"))
	if !ok {
		writeCode(w, int(megaapi.ETOOMANY))
		return
	}
	var owner string
	var cur uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		v, err := openLink(tx, ph, s.now().Unix())
		if err != nil {
			return err
		}
		owner, cur = v.folder.U, getState(tx, v.folder.U).Counter
		return nil
	})
	if err != nil {
		writeCode(w, int(s.codeOf(err)))
		return
	}
	if sn != cur {
		writeCode(w, int(megaapi.ETOOMANY))
		return
	}
	body, err := json.Marshal(megaapi.ScReply{SN: encodeSN(sn), W: s.baseURL(r) + "/wsc/" + s.waitToken(owner, sn)})
	if err != nil {
		writeCode(w, int(megaapi.EINTERNAL))
		return
	}
	writeRaw(w, http.StatusOK, "application/json", body)
}

// linkAllowsBlob reports whether public handle ph still gives access to
// blob: ph is a valid file link to it, or a valid folder link whose
// subtree holds it.
func (s *Server) linkAllowsBlob(ph, blob string) bool {
	allowed := false
	err := s.db.View(func(tx *bolt.Tx) error {
		h := tx.Bucket(bucketLinks).Get([]byte(ph))
		if h == nil {
			return nil
		}
		n, err := getNode(tx, string(h))
		if err != nil {
			return err
		}
		now := s.now().Unix()
		if n.T == megaapi.TypeFile {
			allowed = n.PH == ph && n.Blob == blob && !linkExpired(n, now)
			return nil
		}
		v, err := openLink(tx, ph, now)
		if err != nil {
			return nil
		}
		fh := tx.Bucket(bucketBlobs).Get([]byte(blob))
		if fh == nil {
			return nil
		}
		f, err := getNode(tx, string(fh))
		if err != nil {
			return nil
		}
		allowed, err = v.contains(tx, f)
		return err
	})
	if err != nil && megaapi.CodeOf(err) == megaapi.OK {
		s.log.Error("check link of download", logKeyErr, err)
	}
	return allowed && err == nil
}
