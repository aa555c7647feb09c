package megaserver

import (
	"crypto/hmac"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
)

// Downloads. `g` answers a URL /dl/<token> where the token is stateless:
// blob id, expiry and an HMAC under the server secret, so download URLs
// survive restarts, cost no memory and cannot be forged or pointed at
// another blob. A deleted node's blob is gone, so its URLs answer 404.

const (
	downloadTTL      = 24 * time.Hour
	downloadTokenLen = 16 + 8 + 16     // blob id, expiry, MAC
	linkTokenLen     = 16 + 8 + 6 + 16 // blob id, expiry, public handle, MAC
)

type getArgs struct {
	G   int    `json:"g"`
	N   string `json:"n"`
	P   string `json:"p"`
	SSL int    `json:"ssl"`
}

// cmdDownload (`g`) answers size, attributes and (with g:1) a download URL
// for an own node (`n`), a file of the folder link in a link context (`n`
// with `n=` on the request) or a public link (`p`, no session needed).
// URLs reached through a link carry its public handle and stop working
// with the link.
func (s *Server) cmdDownload(c *call) result {
	var req getArgs
	if err := decodeArgs(c, &req); err != nil {
		return codeResult(megaapi.EARGS)
	}
	var n *nodeRec
	via := "" // the public handle the node was reached through
	now := s.now().Unix()
	err := s.db.View(func(tx *bolt.Tx) error {
		switch {
		case req.P != "":
			h := tx.Bucket(bucketLinks).Get([]byte(req.P))
			if h == nil {
				return megaapi.ENOENT
			}
			var err error
			if n, err = getNode(tx, string(h)); err != nil {
				return err
			}
			if n.T == megaapi.TypeFile && linkExpired(n, now) {
				return megaapi.EEXPIRED
			}
			via = req.P
			return nil
		case req.N != "" && c.link != "":
			v, err := openLink(tx, c.link, now)
			if err != nil {
				return err
			}
			n, err = v.node(tx, req.N)
			via = c.link
			return err
		case req.N != "":
			if c.sess == nil {
				return megaapi.ESID
			}
			var err error
			n, err = ownNode(tx, c.sess.user, req.N)
			return err
		default:
			return megaapi.EARGS
		}
	})
	if err != nil {
		return s.errResult(c, err)
	}
	if n.T != megaapi.TypeFile || n.Blob == "" {
		return codeResult(megaapi.EARGS)
	}
	reply := megaapi.DownloadReply{Size: n.S, Attr: n.A, FA: n.FA}
	if req.G == 1 {
		reply.URL = c.base + "/dl/" + s.downloadToken(n.Blob, s.now().Add(downloadTTL), via)
	}
	return jsonResult(reply)
}

// downloadToken makes the URL token of blob, valid until exp; via is the
// public handle the blob was reached through ("" for the owner's own).
func (s *Server) downloadToken(blob string, exp time.Time, via string) string {
	id, _ := hex.DecodeString(blob)
	b := make([]byte, 0, linkTokenLen)
	b = append(b, id...)
	b = binary.BigEndian.AppendUint64(b, uint64(exp.Unix()))
	if via != "" {
		ph, err := megacrypto.B64Decode(via)
		if err != nil || len(ph) != 6 {
			panic("megaserver: download token for a malformed public handle") // handles come from the links bucket
		}
		b = append(b, ph...)
	}
	b = append(b, s.mac("dl", b)[:16]...)
	return megacrypto.B64Encode(b)
}

// parseDownloadToken returns the blob id of a valid, unexpired token, and
// the public handle it was reached through (or "").
func (s *Server) parseDownloadToken(tok string) (blob, via string, ok bool) {
	b, err := megacrypto.B64Decode(tok)
	if err != nil || (len(b) != downloadTokenLen && len(b) != linkTokenLen) {
		return "", "", false
	}
	msg := b[:len(b)-16]
	if !hmac.Equal(b[len(msg):], s.mac("dl", msg)[:16]) {
		return "", "", false
	}
	if s.now().Unix() > int64(binary.BigEndian.Uint64(b[16:24])) {
		return "", "", false
	}
	if len(msg) > 24 {
		via = megacrypto.B64Encode(msg[24:])
	}
	return hex.EncodeToString(b[:16]), via, true
}

// serveDownload handles GET|POST /dl/<token>[/<a>-<b>] (inclusive range)
// and Range headers on the bare URL.
func (s *Server) serveDownload(w http.ResponseWriter, r *http.Request, rest string) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, POST, HEAD")
		writeRaw(w, http.StatusMethodNotAllowed, "", nil)
		return
	}
	if s.faults.hit(epDL, faultSlow) {
		s.sleepCtx(r.Context(), s.faults.slowDelay)
	}
	if s.faults.hit(epDL, faultHTTP500) {
		writeRaw(w, http.StatusInternalServerError, "", nil)
		return
	}
	tok, rng, hasRange := strings.Cut(rest, "/")
	blob, via, ok := s.parseDownloadToken(tok)
	if !ok || (via != "" && !s.linkAllowsBlob(via, blob)) {
		http.NotFound(w, r)
		return
	}
	f, err := os.Open(s.blobPath(blob))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.log.Error("open blob", logKeyErr, err)
		}
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		writeRaw(w, http.StatusInternalServerError, "", nil)
		return
	}
	size := fi.Size()
	drop := s.faults.hit(epDL, faultDrop)
	w.Header().Set("Content-Type", "application/octet-stream")
	if !hasRange && !drop {
		http.ServeContent(w, r, "", time.Time{}, f)
		return
	}
	start, end := int64(0), size-1
	if hasRange && rng != "" {
		var ok bool
		if start, end, ok = parseRange(rng); !ok {
			rangeNotSatisfiable(w, size)
			return
		}
		if size == 0 && start == 0 && end == 0 {
			writeRaw(w, http.StatusOK, "application/octet-stream", nil)
			return
		}
		if start >= size {
			rangeNotSatisfiable(w, size)
			return
		}
		end = min(end, size-1)
	}
	n := max(end-start+1, 0)
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	// From the file itself, limited: the connection sends it with
	// sendfile (a section reader would cost a read and a write per 32 KiB).
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		abortConnection(w)
		return
	}
	if drop {
		s.log.Debug("fault: dropping connection", logKeyFault, "drop", logKeyEndpoint, "dl")
		_, _ = io.Copy(w, io.LimitReader(f, n/2))
		abortConnection(w)
		return
	}
	_, _ = io.Copy(w, io.LimitReader(f, n))
}

// parseRange parses "<a>-<b>" with 0 <= a <= b.
func parseRange(s string) (int64, int64, bool) {
	as, bs, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, false
	}
	a, err1 := strconv.ParseInt(as, 10, 64)
	b, err2 := strconv.ParseInt(bs, 10, 64)
	if err1 != nil || err2 != nil || a < 0 || b < a {
		return 0, 0, false
	}
	return a, b, true
}

func rangeNotSatisfiable(w http.ResponseWriter, size int64) {
	w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
	writeRaw(w, http.StatusRequestedRangeNotSatisfiable, "", nil)
}
