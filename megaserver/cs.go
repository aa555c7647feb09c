package megaserver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"

	bolt "go.etcd.io/bbolt"

	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
)

const (
	maxTagLen       = 256 // longest accepted `i`
	maxRequestIDLen = 64  // longest `id` used as a replay key
)

// session is an authenticated login session.
type session struct {
	user string
	hash [32]byte // SHA256 of the decoded sid
}

// call is one command of a /cs request.
type call struct {
	ctx   context.Context
	r     *http.Request
	sess  *session // nil without a (valid) sid, and in a link context
	link  string   // the public handle of `n=`: a folder-link context
	reqID string   // the request's `id`
	idx   int      // position in the batch
	raw   json.RawMessage
	name  string // command name (`a`)
	tag   string // the command's `i`, echoed in action packets
	base  string // scheme://host for URLs in replies
	batch *batchState
}

// batchState is what the commands of one request have spent.
type batchState struct {
	walks int // whole-tree walks begun
}

// result is one command's reply: a JSON value in body, or a stream that
// writes it (used by `f` so large trees are never held in memory).
type result struct {
	body   []byte
	stream func(w io.Writer) error
}

func codeResult(c megaapi.ErrorCode) result {
	return result{body: strconv.AppendInt(nil, int64(c), 10)}
}

func jsonResult(v any) result {
	b, err := json.Marshal(v)
	if err != nil {
		return codeResult(megaapi.EINTERNAL)
	}
	return result{body: b}
}

// errResult maps an error to a command result: MEGA codes pass through,
// anything else is logged and answered EINTERNAL.
func (s *Server) errResult(c *call, err error) result {
	code := megaapi.CodeOf(err)
	if code == megaapi.OK {
		s.log.Error("command failed", logKeyCmd, c.name, logKeyErr, err)
		code = megaapi.EINTERNAL
	}
	return codeResult(code)
}

type command struct {
	fn      func(s *Server, c *call) result
	session bool // needs a valid sid
}

// commands is the command table of /cs.
var commands = map[string]command{
	"us0": {fn: (*Server).cmdPrelogin},
	"us":  {fn: (*Server).cmdLogin},
	"sml": {fn: (*Server).cmdLogout, session: true},
	"ug":  {fn: (*Server).cmdUserGet, session: true},
	"up":  {fn: (*Server).cmdUserPut, session: true},
	"uq":  {fn: (*Server).cmdQuota, session: true},
	"f":   {fn: (*Server).cmdFetch, session: true},
	"p":   {fn: (*Server).cmdPutNodes, session: true},
	"m":   {fn: (*Server).cmdMove, session: true},
	"a":   {fn: (*Server).cmdSetAttr, session: true},
	"d":   {fn: (*Server).cmdDelete, session: true},
	"dr":  {fn: (*Server).cmdEmptyRubbish, session: true},
	"l":   {fn: (*Server).cmdLink, session: true},
	"s2":  {fn: (*Server).cmdShare, session: true},
	"u":   {fn: (*Server).cmdUpload, session: true},
	"g":   {fn: (*Server).cmdDownload}, // public handles need no session
}

// serveCS handles POST /cs: a JSON array of commands, answered by an array
// of results or by a bare number for a whole-request error.
// replyWriters buffer /cs replies (32 KiB each): one allocated and
// cleared per request was most of a small command's garbage.
var replyWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 32<<10) }}

func (s *Server) serveCS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeRaw(w, http.StatusMethodNotAllowed, "", nil)
		return
	}
	ctx := r.Context()
	if s.faults.hit(epCS, faultSlow) {
		s.sleepCtx(ctx, s.faults.slowDelay)
	}
	if s.faults.hit(epCS, faultHTTP500) {
		writeRaw(w, http.StatusInternalServerError, "", nil)
		return
	}
	limit := s.opts.MaxRequestBytes
	if r.ContentLength > limit {
		rejectBody(w, r, func(w http.ResponseWriter) { writeCode(w, int(megaapi.EARGS)) })
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		if bodyTimedOut(r) {
			w.Header().Set("Connection", "close")
			writeRaw(w, http.StatusRequestTimeout, "", nil)
		}
		return // otherwise the client went away mid-body; nothing ran
	}
	if int64(len(body)) > limit {
		rejectBody(w, r, func(w http.ResponseWriter) { writeCode(w, int(megaapi.EARGS)) })
		return
	}
	raws, ok := parseBatch(body, s.limits.MaxBatchCommands)
	if !ok {
		writeCode(w, int(megaapi.EARGS))
		return
	}
	q := r.URL.Query()
	var sess *session
	link := q.Get("n") // a folder-link context wins over any sid
	if sid := q.Get("sid"); sid != "" && link == "" {
		// A stale sid on a pure login request is ignored, so a client that
		// re-logs in without clearing its old session id recovers.
		if sess, err = s.lookupSession(sid); err != nil && !(megaapi.CodeOf(err) == megaapi.ESID && onlyLogin(raws)) {
			writeCode(w, int(megaapi.CodeOf(err)))
			return
		}
	}
	if s.faults.hit(epCS, faultEAgain) {
		writeCode(w, int(megaapi.EAGAIN))
		return
	}
	if s.opts.HashcashEasiness > 0 && hasLogin(raws) && !s.checkHashcash(r.Header.Get("X-Hashcash")) {
		s.sendChallenge(w)
		return
	}

	// A repeated (sid, id) with the same body gets the same reply.
	var cacheKey string
	bodyHash := sha256.Sum256(body)
	id := q.Get("id")
	if sess != nil && id != "" && len(id) <= maxRequestIDLen {
		cacheKey = string(sess.hash[:]) + "\x00" + id
		if reply, ok := s.replay.get(cacheKey, bodyHash); ok {
			s.writeReply(w, reply, s.faults.hit(epCS, faultDrop))
			return
		}
	}

	drop := s.faults.hit(epCS, faultDrop)
	var buf bytes.Buffer
	var out io.Writer = &buf
	var bw *bufio.Writer
	capture := &capWriter{limit: replayMaxReply}
	if !drop {
		w.Header().Set("Content-Type", "application/json")
		bw = replyWriters.Get().(*bufio.Writer)
		bw.Reset(w)
		defer func() {
			bw.Reset(nil)
			replyWriters.Put(bw)
		}()
		out = io.MultiWriter(bw, capture)
	}
	base := s.baseURL(r)
	batch := &batchState{}
	if _, err := io.WriteString(out, "["); err != nil {
		return
	}
	for i, raw := range raws {
		if i > 0 {
			if _, err := io.WriteString(out, ","); err != nil {
				return
			}
		}
		c := &call{ctx: ctx, r: r, sess: sess, link: link, reqID: id, idx: i, raw: raw, base: base, batch: batch}
		res := s.runCommand(c)
		if s.log.Enabled(ctx, slog.LevelDebug) {
			s.logCommand(ctx, c, res)
		}
		if err := s.writeResult(out, c, res); err != nil {
			return // the client went away
		}
	}
	if _, err := io.WriteString(out, "]"); err != nil {
		return
	}
	if drop {
		reply := buf.Bytes()
		if cacheKey != "" && len(reply) <= replayMaxReply {
			s.replay.put(cacheKey, bodyHash, bytes.Clone(reply), s.now())
		}
		s.writeReply(w, reply, true)
		return
	}
	if err := bw.Flush(); err != nil {
		return
	}
	if cacheKey != "" && !capture.overflow {
		s.replay.put(cacheKey, bodyHash, capture.buf.Bytes(), s.now())
	}
}

// logCommand logs a command's name, user and error code (never arguments:
// they hold keys and tokens).
func (s *Server) logCommand(ctx context.Context, c *call, res result) {
	user := ""
	if c.sess != nil {
		user = c.sess.user
	}
	code := 0
	if res.stream == nil && len(res.body) > 0 && res.body[0] == '-' {
		code, _ = strconv.Atoi(string(res.body))
	}
	s.log.LogAttrs(ctx, slog.LevelDebug, "command", slog.String(logKeyCmd, c.name), slog.String(logKeyUser, user), slog.Int(logKeyCode, code))
}

// parseBatch splits a request body into its commands. The body must be a
// JSON array of at most max commands (0: no bound).
func parseBatch(body []byte, max int) ([]json.RawMessage, bool) {
	t := bytes.TrimLeft(body, " \t\r\n")
	if len(t) == 0 || t[0] != '[' {
		return nil, false
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(t, &raws); err != nil {
		return nil, false
	}
	if max > 0 && len(raws) > max {
		return nil, false
	}
	return raws, true
}

// writeReply sends a complete reply; with drop it sends half of it and
// then cuts the connection (fault injection).
func (s *Server) writeReply(w http.ResponseWriter, reply []byte, drop bool) {
	if !drop {
		writeRaw(w, http.StatusOK, "application/json", reply)
		return
	}
	s.log.Debug("fault: dropping connection", logKeyFault, "drop", logKeyEndpoint, "cs")
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(reply)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(reply[:len(reply)/2])
	abortConnection(w)
}

// abortConnection flushes what was written and closes the connection so the
// client sees a truncated response.
func abortConnection(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	if conn, _, err := rc.Hijack(); err == nil {
		_ = conn.Close()
		return
	}
	panic(http.ErrAbortHandler)
}

// runCommand decodes the command head and dispatches it. A panic becomes
// EINTERNAL for this command only.
func (s *Server) runCommand(c *call) (res result) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("panic in command", logKeyCmd, c.name, logKeyPanic, fmt.Sprint(v), logKeyStack, string(debug.Stack()))
			res = codeResult(megaapi.EINTERNAL)
		}
	}()
	var head struct {
		A json.RawMessage `json:"a"`
		I json.RawMessage `json:"i"`
	}
	if err := json.Unmarshal(c.raw, &head); err != nil || len(head.A) == 0 {
		return codeResult(megaapi.EARGS)
	}
	if err := json.Unmarshal(head.A, &c.name); err != nil {
		return codeResult(megaapi.EARGS)
	}
	cmd, ok := commands[c.name]
	if !ok {
		return codeResult(megaapi.EARGS)
	}
	if len(head.I) > 0 && string(head.I) != "null" {
		if err := json.Unmarshal(head.I, &c.tag); err != nil || len(c.tag) > maxTagLen {
			return codeResult(megaapi.EARGS)
		}
	}
	if c.link != "" {
		if !linkCommands[c.name] {
			return codeResult(megaapi.EACCESS) // a folder link reads; it has no account
		}
	} else if cmd.session && c.sess == nil {
		return codeResult(megaapi.ESID)
	}
	return cmd.fn(s, c)
}

// writeResult writes one command's result; streams that fail before
// writing anything become EINTERNAL.
func (s *Server) writeResult(out io.Writer, c *call, res result) (err error) {
	if res.stream == nil {
		_, err = out.Write(res.body)
		return err
	}
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("panic streaming reply", logKeyCmd, c.name, logKeyPanic, fmt.Sprint(v), logKeyStack, string(debug.Stack()))
			err = errors.New("panic while streaming")
		}
	}()
	return res.stream(out)
}

// beginWalk reserves a whole-tree walk for c: one per request and
// Limits.MaxTreeWalksPerUser at once per user, or per public handle in a
// folder-link context. It returns the function that ends the walk, or
// false when over budget (the command answers EAGAIN).
func (s *Server) beginWalk(c *call) (end func(), ok bool) {
	if c.batch != nil {
		if c.batch.walks > 0 {
			return nil, false
		}
		c.batch.walks++
	}
	var user string
	if c.link != "" {
		user = "n=" + c.link // cannot collide with a user handle
	} else {
		user = c.sess.user
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if max := s.limits.MaxTreeWalksPerUser; max > 0 && s.walks[user] >= max {
		return nil, false
	}
	s.walks[user]++
	return func() {
		s.mu.Lock()
		if s.walks[user]--; s.walks[user] <= 0 {
			delete(s.walks, user)
		}
		s.mu.Unlock()
	}, true
}

// decodeArgs unmarshals a command into v; type mismatches are EARGS.
func decodeArgs(c *call, v any) error {
	if err := json.Unmarshal(c.raw, v); err != nil {
		return megaapi.EARGS
	}
	return nil
}

// capWriter keeps the first limit bytes written; beyond that it only
// records that it overflowed.
type capWriter struct {
	buf      bytes.Buffer
	limit    int
	overflow bool
}

func (w *capWriter) Write(p []byte) (int, error) {
	if !w.overflow {
		if w.buf.Len()+len(p) > w.limit {
			w.overflow = true
			w.buf = bytes.Buffer{}
		} else {
			w.buf.Write(p)
		}
	}
	return len(p), nil
}

// ---- sessions ----

func sidHash(sid string) ([32]byte, bool) {
	b, err := megacrypto.B64Decode(sid)
	if err != nil || len(b) != 43 {
		return [32]byte{}, false
	}
	return sha256.Sum256(b), true
}

// lookupSession validates a sid; unknown or malformed ones are ESID.
func (s *Server) lookupSession(sid string) (*session, error) {
	h, ok := sidHash(sid)
	if !ok {
		return nil, megaapi.ESID
	}
	var rec sessionRec
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketSessions).Get(h[:])
		if v == nil {
			return megaapi.ESID
		}
		if err := json.Unmarshal(v, &rec); err != nil {
			return megaapi.ESID
		}
		if tx.Bucket(bucketUsers).Get([]byte(rec.User)) == nil {
			return megaapi.ESID
		}
		return nil
	})
	if err != nil {
		if megaapi.CodeOf(err) == megaapi.OK {
			s.log.Error("session lookup", logKeyErr, err)
			return nil, megaapi.EINTERNAL
		}
		return nil, err
	}
	return &session{user: rec.User, hash: h}, nil
}

// onlyLogin reports whether every command is us0 or a password login.
func onlyLogin(raws []json.RawMessage) bool {
	for _, raw := range raws {
		var head struct {
			A    any `json:"a"`
			User any `json:"user"`
		}
		if json.Unmarshal(raw, &head) != nil || !(head.A == "us0" || head.A == "us" && head.User != nil) {
			return false
		}
	}
	return len(raws) > 0
}

// hasLogin reports whether a batch contains a password login (`us` with
// `user`), the commands hashcash protects.
func hasLogin(raws []json.RawMessage) bool {
	for _, raw := range raws {
		var head struct {
			A    any `json:"a"`
			User any `json:"user"`
		}
		if json.Unmarshal(raw, &head) == nil && head.A == "us" && head.User != nil {
			return true
		}
	}
	return false
}
