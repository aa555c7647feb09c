package megaserver

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
)

// Uploads. Command `u` allocates an upload slot (in memory only) reached
// at /ul/<token>. POSTs to /ul/<token>/<offset> carry whole chunks, in any
// order and in parallel; they are written with WriteAt into a temporary
// file and their ranges recorded only when the whole POST arrived (and its
// checksum matched). The POST that completes the file fsyncs it, renames it
// into blobs/, fsyncs the directory and answers the completion token, which
// `p` turns into a node. A restart forgets slots: their URLs answer -8.
//
// A slot with no POST in progress for Limits.UploadIdleTTL is dropped (its
// URL answers -8), and at Limits.MaxUploadsPerUser the user's longest-idle
// slot makes room for a new one, so clients that die mid-upload cannot
// lock their account out of uploading.

const (
	completionTokLen = 36
	copyBufSize      = 64 << 10
)

type span struct{ start, end int64 }

// uploadSlot is one upload in progress.
type uploadSlot struct {
	token  string
	user   string
	size   int64
	binary bool // v>=2: binary completion token

	// rw is held shared while a POST writes into file and exclusively while
	// the file is finalized, so no write lands in a finished blob.
	rw sync.RWMutex

	mu       sync.Mutex // guards the fields below
	lastUsed time.Time  // start or end of the last data POST
	active   int        // data POSTs in progress
	dead     bool       // expired or recycled: no POST may start
	file     *os.File   // temporary file, created on the first data POST
	tmpPath  string
	ranges   []span // received, sorted and merged
	done     bool
	compTok  []byte // completion token as sent to the client
}

// completion is a finished upload waiting for `p`.
type completion struct {
	key     string // the token bytes as sent in the /ul reply
	slot    string // upload token
	user    string
	blob    string
	size    int64
	created time.Time
	claimed bool // a `p` is using it; guarded by Server.mu
}

type uploadArgs struct {
	S int64 `json:"s"`
	V int   `json:"v"`
}

// cmdUpload (`u`) allocates an upload slot for s bytes.
func (s *Server) cmdUpload(c *call) result {
	var req uploadArgs
	if err := decodeArgs(c, &req); err != nil || req.S < 0 {
		return codeResult(megaapi.EARGS)
	}
	user := c.sess.user
	var quota, used int64
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		if quota, err = userQuota(tx, user); err != nil {
			return err
		}
		used = getState(tx, user).Used
		return nil
	})
	if err != nil {
		return s.errResult(c, err)
	}
	if req.S > quota-used {
		return codeResult(megaapi.EOVERQUOTA)
	}
	tok := megacrypto.B64Encode(randomBytes(16))
	now := s.now()
	slot := &uploadSlot{token: tok, user: user, size: req.S, binary: req.V >= 2, lastUsed: now}
	for {
		s.mu.Lock()
		var mine []*uploadSlot
		for _, u := range s.uploads {
			if u.user == user {
				mine = append(mine, u)
			}
		}
		if max := s.limits.MaxUploadsPerUser; max == 0 || len(mine) < max {
			s.uploads[tok] = slot
			s.mu.Unlock()
			break
		}
		s.mu.Unlock()
		if !s.recycleSlot(mine) {
			return codeResult(megaapi.ETOOMANY) // every slot is receiving data
		}
	}
	return jsonResult(megaapi.UploadReply{URL: c.base + "/ul/" + tok})
}

// serveUpload handles POST /ul/<token>/<offset>[?c=|?d=].
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request, rest string) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeRaw(w, http.StatusMethodNotAllowed, "", nil)
		return
	}
	ctx := r.Context()
	if s.faults.hit(epUL, faultSlow) {
		s.sleepCtx(ctx, s.faults.slowDelay)
	}
	if s.faults.hit(epUL, faultHTTP500) {
		writeRaw(w, http.StatusInternalServerError, "", nil)
		return
	}
	tok, offStr, _ := strings.Cut(rest, "/")
	s.mu.Lock()
	slot := s.uploads[tok]
	s.mu.Unlock()
	if slot == nil || !slot.acquire(s.now()) {
		rejectBody(w, r, func(w http.ResponseWriter) { ulCode(w, megaapi.EEXPIRED) })
		return
	}
	defer func() { slot.release(s.now()) }()
	off, err := strconv.ParseInt(offStr, 10, 64)
	if offStr == "" {
		off, err = 0, nil
	}
	if err != nil || off < 0 {
		rejectBody(w, r, func(w http.ResponseWriter) { ulCode(w, megaapi.ERANGE) })
		return
	}
	q := r.URL.Query()
	sumParam, hasD := q.Get("c"), q.Has("d")
	if hasD {
		sumParam = q.Get("d")
	}
	var wantSum []byte
	if sumParam != "" {
		if wantSum, err = megacrypto.B64Decode(sumParam); err != nil || len(wantSum) != 12 {
			rejectBody(w, r, func(w http.ResponseWriter) { ulCode(w, megaapi.EARGS) })
			return
		}
	}
	if s.faults.hit(epUL, faultEAgain) {
		rejectBody(w, r, func(w http.ResponseWriter) { ulCode(w, megaapi.EAGAIN) })
		return
	}
	if off > slot.size || (r.ContentLength > 0 && off+r.ContentLength > slot.size) || !isChunkStart(off) {
		rejectBody(w, r, func(w http.ResponseWriter) { ulCode(w, megaapi.ERANGE) })
		return
	}

	n, sum, done, code := s.receiveShared(w, r, slot, off)
	switch {
	case code == codeHijacked:
		return // the fault injector closed the connection: nothing to answer
	case done != nil:
		s.ulReply(w, done) // already complete: nothing to write
		return
	case code == megaapi.ERANGE:
		rejectBody(w, r, func(w http.ResponseWriter) { ulCode(w, code) }) // the body is longer than the slot
		return
	case code != megaapi.OK:
		ulCode(w, code)
		return
	}
	end := off + n
	if end != slot.size && !isChunkStart(end) {
		ulCode(w, megaapi.ERANGE)
		return
	}
	if wantSum != nil && subtle.ConstantTimeCompare(wantSum, sum[:]) != 1 {
		ulCode(w, megaapi.EKEY)
		return
	}
	if !slot.record(off, end) {
		switch {
		case hasD:
			writeRaw(w, http.StatusOK, "text/plain", []byte("0"))
		default:
			writeRaw(w, http.StatusOK, "text/plain", nil)
		}
		return
	}
	tokBytes, err := s.finalizeUpload(slot)
	if err != nil {
		s.log.Error("finish upload", logKeyErr, err)
		ulCode(w, megaapi.EFAILED)
		return
	}
	s.ulReply(w, tokBytes)
}

// receiveShared runs receive under the slot's shared lock, unless the
// upload is already complete; then it returns the completion token.
func (s *Server) receiveShared(w http.ResponseWriter, r *http.Request, slot *uploadSlot, off int64) (n int64, sum [12]byte, done []byte, code megaapi.ErrorCode) {
	slot.rw.RLock()
	defer slot.rw.RUnlock() // also when a dropped connection aborts the handler
	if tok := slot.completed(); tok != nil {
		return 0, sum, tok, megaapi.OK
	}
	n, sum, code = s.receive(w, r, slot, off)
	return n, sum, nil, code
}

// receive copies the POST body into the slot's file at off. It returns the
// byte count and checksum, or a code when the body was truncated or too
// long (nothing is recorded then).
func (s *Server) receive(w http.ResponseWriter, r *http.Request, slot *uploadSlot, off int64) (int64, [12]byte, megaapi.ErrorCode) {
	var sum megacrypto.UploadChecksum
	f, err := slot.openFile(s.tmpDir)
	if err != nil {
		s.log.Error("open upload file", logKeyErr, err)
		return 0, sum.Sum(), megaapi.EFAILED
	}
	remaining := slot.size - off
	drop := s.faults.hit(epUL, faultDrop)
	dropAt := int64(-1)
	if drop {
		dropAt = max(r.ContentLength, 0) / 2
	}
	buf := make([]byte, copyBufSize)
	var n int64
	for {
		if drop && n >= dropAt {
			s.log.Debug("fault: dropping connection", logKeyFault, "drop", logKeyEndpoint, "ul")
			abortConnection(w)
			return 0, sum.Sum(), codeHijacked
		}
		want := int64(len(buf))
		if drop && dropAt-n < want {
			want = dropAt - n
		}
		k, rerr := r.Body.Read(buf[:want])
		if k > 0 {
			if n+int64(k) > remaining {
				return 0, sum.Sum(), megaapi.ERANGE
			}
			if _, err := f.WriteAt(buf[:k], off+n); err != nil {
				s.log.Error("write upload file", logKeyErr, err)
				return 0, sum.Sum(), megaapi.EFAILED
			}
			sum.Write(buf[:k])
			n += int64(k)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return 0, sum.Sum(), megaapi.EAGAIN // truncated: store nothing
		}
	}
	if r.ContentLength >= 0 && n != r.ContentLength {
		return 0, sum.Sum(), megaapi.EAGAIN
	}
	return n, sum.Sum(), megaapi.OK
}

// codeHijacked is receive's answer when the connection was taken over and
// closed (fault injection): the handler must not write anything more.
const codeHijacked megaapi.ErrorCode = 1

func ulCode(w http.ResponseWriter, code megaapi.ErrorCode) {
	writeRaw(w, http.StatusOK, "text/plain", strconv.AppendInt(nil, int64(code), 10))
}

func (s *Server) ulReply(w http.ResponseWriter, tok []byte) {
	writeRaw(w, http.StatusOK, "application/octet-stream", tok)
}

// isChunkStart reports whether off is a MEGA chunk boundary (§5.2).
func isChunkStart(off int64) bool {
	return off >= 0 && megacrypto.ChunkStart(off) == off
}

// acquire registers a data POST; it reports false if the slot has been
// dropped. A slot with a POST in progress is never expired or recycled.
func (u *uploadSlot) acquire(now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.dead {
		return false
	}
	u.active++
	u.lastUsed = now
	return true
}

func (u *uploadSlot) release(now time.Time) {
	u.mu.Lock()
	u.active--
	u.lastUsed = now
	u.mu.Unlock()
}

// kill marks the slot dead if no POST is in progress.
func (u *uploadSlot) kill() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.dead || u.active > 0 {
		return false
	}
	u.dead = true
	return true
}

func (u *uploadSlot) completed() []byte {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return u.compTok
	}
	return nil
}

func (u *uploadSlot) openFile(dir string) (*os.File, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.file != nil {
		return u.file, nil
	}
	f, err := os.CreateTemp(dir, "ul-*")
	if err != nil {
		return nil, err
	}
	u.file, u.tmpPath = f, f.Name()
	return f, nil
}

// record adds [start,end) to the received ranges and reports whether the
// file is now complete.
func (u *uploadSlot) record(start, end int64) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if end > start {
		u.ranges = append(u.ranges, span{start, end})
		sort.Slice(u.ranges, func(i, j int) bool { return u.ranges[i].start < u.ranges[j].start })
		merged := u.ranges[:1]
		for _, sp := range u.ranges[1:] {
			last := &merged[len(merged)-1]
			if sp.start <= last.end {
				last.end = max(last.end, sp.end)
				continue
			}
			merged = append(merged, sp)
		}
		u.ranges = merged
	}
	if u.size == 0 {
		return true
	}
	return len(u.ranges) == 1 && u.ranges[0].start == 0 && u.ranges[0].end == u.size
}

// discard closes and removes the temporary file of an unfinished upload.
func (u *uploadSlot) discard() {
	u.rw.Lock()
	defer u.rw.Unlock()
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.file != nil {
		u.file.Close()
		os.Remove(u.tmpPath)
		u.file = nil
	}
}

// finalizeUpload makes the received file a durable blob and registers its
// completion token. Later calls return the same token.
func (s *Server) finalizeUpload(u *uploadSlot) ([]byte, error) {
	u.rw.Lock()
	defer u.rw.Unlock()
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return u.compTok, nil
	}
	if u.file == nil { // empty file
		f, err := os.CreateTemp(s.tmpDir, "ul-*")
		if err != nil {
			return nil, err
		}
		u.file, u.tmpPath = f, f.Name()
	}
	if err := u.file.Truncate(u.size); err != nil {
		return nil, fmt.Errorf("truncate upload: %w", err)
	}
	if err := u.file.Sync(); err != nil {
		return nil, fmt.Errorf("sync upload: %w", err)
	}
	if err := u.file.Close(); err != nil {
		return nil, fmt.Errorf("close upload: %w", err)
	}
	u.file = nil
	blob := newBlobID()
	if err := os.Rename(u.tmpPath, s.blobPath(blob)); err != nil {
		return nil, fmt.Errorf("store upload: %w", err)
	}
	if err := syncDir(s.blobDir); err != nil {
		return nil, fmt.Errorf("store upload: %w", err)
	}
	var tok []byte
	if u.binary {
		tok = randomBytes(completionTokLen)
		tok[completionTokLen-1] = 0x01
	} else {
		tok = []byte(megacrypto.B64Encode(randomBytes(completionTokLen * 3 / 4)))
	}
	u.done, u.compTok = true, tok
	s.mu.Lock()
	s.completions[string(tok)] = &completion{key: string(tok), slot: u.token, user: u.user, blob: blob, size: u.size, created: s.now()}
	s.mu.Unlock()
	return tok, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	return errors.Join(err, d.Close())
}

// claimCompletion finds the completed upload named by a `p` entry's h (the
// token verbatim, or base64 of a binary token) and reserves it for one `p`.
func (s *Server) claimCompletion(h, user string) (*completion, megaapi.ErrorCode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.completions[h]
	if c == nil {
		if b, err := megacrypto.B64Decode(h); err == nil {
			c = s.completions[string(b)]
		}
	}
	if c == nil || c.user != user {
		return nil, megaapi.ENOENT
	}
	if c.claimed {
		return c, megaapi.EAGAIN // another `p` with this token is running
	}
	c.claimed = true
	return c, megaapi.OK
}

func (s *Server) releaseCompletion(c *completion) {
	s.mu.Lock()
	c.claimed = false
	s.mu.Unlock()
}

// consumeCompletion forgets a completion whose node now exists, and its slot.
func (s *Server) consumeCompletion(c *completion) {
	s.mu.Lock()
	delete(s.completions, c.key)
	delete(s.uploads, c.slot)
	s.mu.Unlock()
}

// recycleSlot drops the longest-idle slot of mine (one user's slots) to
// make room for a new one; it reports false if every slot is receiving
// data. A finished upload waiting for `p` counts as idle since it finished.
func (s *Server) recycleSlot(mine []*uploadSlot) bool {
	for {
		var oldest *uploadSlot
		var oldestAt time.Time
		for _, u := range mine {
			u.mu.Lock()
			idle := !u.dead && u.active == 0
			at := u.lastUsed
			u.mu.Unlock()
			if idle && (oldest == nil || at.Before(oldestAt)) {
				oldest, oldestAt = u, at
			}
		}
		if oldest == nil {
			return false
		}
		if s.dropSlot(oldest) {
			s.log.Debug("upload slots at the limit: recycled the longest-idle one", logKeyUser, oldest.user)
			return true
		}
		mine = slices.DeleteFunc(mine, func(u *uploadSlot) bool { return u == oldest })
	}
}

// dropSlot kills an idle slot and forgets it with its completion, if any
// (unless a `p` is using that); it reports whether it did.
func (s *Server) dropSlot(u *uploadSlot) bool {
	s.mu.Lock()
	var comp *completion
	if tok := u.completedToken(); tok != nil {
		if comp = s.completions[string(tok)]; comp != nil && comp.claimed {
			s.mu.Unlock()
			return false
		}
	}
	s.mu.Unlock()
	if !u.kill() {
		return false
	}
	s.mu.Lock()
	if s.uploads[u.token] == u {
		delete(s.uploads, u.token)
	}
	if comp != nil && s.completions[comp.key] == comp && !comp.claimed {
		delete(s.completions, comp.key)
	} else {
		comp = nil
	}
	s.mu.Unlock()
	u.discard()
	if comp != nil {
		s.removeUnreferencedBlobs([]string{comp.blob})
	}
	return true
}

// completedToken is the completion token of a finished slot, or nil.
func (u *uploadSlot) completedToken() []byte {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.compTok
}

// expireUploads drops slots idle for UploadIdleTTL and completed uploads
// nobody turned into a node in that time.
func (s *Server) expireUploads(now time.Time) {
	ttl := s.limits.UploadIdleTTL
	if ttl <= 0 {
		return
	}
	// Lock order is slot before Server.mu (finalizeUpload), so look at the
	// slots without holding Server.mu.
	s.mu.Lock()
	all := make([]*uploadSlot, 0, len(s.uploads))
	for _, u := range s.uploads {
		all = append(all, u)
	}
	s.mu.Unlock()
	for _, u := range all {
		u.mu.Lock()
		idle := u.active == 0 && !u.done && now.Sub(u.lastUsed) > ttl
		u.mu.Unlock()
		if idle {
			s.dropSlot(u)
		}
	}
	var blobs []string
	s.mu.Lock()
	for key, c := range s.completions {
		if !c.claimed && now.Sub(c.created) > ttl {
			delete(s.completions, key)
			delete(s.uploads, c.slot)
			blobs = append(blobs, c.blob)
		}
	}
	s.mu.Unlock()
	s.removeUnreferencedBlobs(blobs)
}

// removeUnreferencedBlobs removes the blob files no node references: a
// node always wins.
func (s *Server) removeUnreferencedBlobs(blobs []string) {
	if len(blobs) == 0 {
		return
	}
	_ = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketBlobs)
		for _, id := range blobs {
			if b.Get([]byte(id)) == nil {
				os.Remove(filepath.Join(s.blobDir, id))
			}
		}
		return nil
	})
}
