package mediafireserver

import (
	"errors"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// authKind is how a method authenticates.
type authKind int

const (
	authNone    authKind = iota // user/get_session_token
	authSession                 // a session token, signed if v2
	authUpload                  // a session token, or an action token unsigned
)

// method is one API method.
type method struct {
	auth    authKind
	handler func(c *call) (fields, error)
}

// methods are the API methods the server answers, by action name.
var methods map[string]method

func init() {
	methods = map[string]method{
		"user/get_session_token":    {authNone, (*call).getSessionToken},
		"user/renew_session_token":  {authSession, (*call).renewSessionToken},
		"user/get_action_token":     {authSession, (*call).getActionToken},
		"user/destroy_action_token": {authSession, (*call).destroyActionToken},
		"user/get_info":             {authSession, (*call).userGetInfo},
		"folder/get_info":           {authSession, (*call).folderGetInfo},
		"folder/get_content":        {authSession, (*call).folderGetContent},
		"folder/create":             {authSession, (*call).folderCreate},
		"folder/update":             {authSession, (*call).folderUpdate},
		"folder/delete":             {authSession, (*call).folderDelete},
		"folder/purge":              {authSession, (*call).folderPurge},
		"file/get_info":             {authSession, (*call).fileGetInfo},
		"file/get_links":            {authSession, (*call).fileGetLinks},
		"file/delete":               {authSession, (*call).fileDelete},
		"file/purge":                {authSession, (*call).filePurge},
		"file/move":                 {authSession, (*call).fileMove},
		"file/update":               {authSession, (*call).fileUpdate},
		"upload/check":              {authSession, (*call).uploadCheck},
		"upload/instant":            {authSession, (*call).uploadInstant},
		"upload/simple":             {authUpload, (*call).uploadSimple},
		"upload/resumable":          {authUpload, (*call).uploadResumable},
		"upload/poll_upload":        {authSession, (*call).pollUpload},
	}
}

// session is a login session. Its mutex serialises the calls made with
// it: a v2 key is checked, the call runs and the key rotates as one step.
type session struct {
	mu    sync.Mutex
	token string
	user  string // user id
	v2    bool
	key   uint64 // secret key (v2)
	time  string // the login's time string (v2)
	// lastUsed is when a call last succeeded (Unix nanoseconds); it is
	// read under Server.mu, written under mu, so atomic.
	lastUsed atomic.Int64
}

func (s *session) lastUsedAt() time.Time { return time.Unix(0, s.lastUsed.Load()) }

func (s *session) touch(t time.Time) { s.lastUsed.Store(t.UnixNano()) }

// actionToken is a token from user/get_action_token.
type actionToken struct {
	user    string
	kind    string
	expires time.Time
}

// call is one API request in progress.
type call struct {
	s      *Server
	w      http.ResponseWriter
	r      *http.Request
	action string
	params url.Values
	user   string // user id, once authenticated
	sess   *session
}

func (c *call) get(k string) string { return c.params.Get(k) }

func (s *Server) serveCall(w http.ResponseWriter, r *http.Request, path, action string) {
	m, ok := methods[action]
	if !ok {
		s.stats.count("unknown") // not by name: a client could grow the map without end
		writeJSON(w, httpStatus(codeUnknownMethod), envelope(action, nil, apiErr(codeUnknownMethod), false))
		return
	}
	s.stats.count(action)
	params, raw, err := readParams(r, m.auth == authUpload)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, envelope(action, nil, apiErrf(codeInvalidParam, "Invalid parameters: %v", err), false))
		return
	}
	c := &call{s: s, w: w, r: r, action: action, params: params}

	// Faults that strike before anything is done.
	if s.faults.slowHit(action) {
		s.sleep(r, s.faults.slowDelay)
	}
	switch {
	case s.faultHit(action, FaultHTTP500):
		writeHTML(w, http.StatusInternalServerError)
		return
	case s.faultHit(action, FaultError100):
		c.fail(apiErr(codeInternal))
		return
	case s.faultHit(action, FaultRateLimit):
		c.fail(apiErr(codeRateLimit))
		return
	}

	var signed bool
	switch m.auth {
	case authSession, authUpload:
		token := params.Get("session_token")
		if token == "" {
			c.fail(apiErr(codeNoSession))
			return
		}
		if m.auth == authUpload {
			if at := s.actionToken(token); at != nil {
				c.user = at.user
				break
			}
		}
		sess := s.session(token)
		if sess == nil {
			c.fail(apiErr(codeSessionExpired))
			return
		}
		sess.mu.Lock()
		defer sess.mu.Unlock()
		if s.faultHit(action, FaultExpire) {
			s.dropSession(token)
			c.fail(apiErr(codeSessionExpired))
			return
		}
		if s.session(token) != sess { // expired or ended while this call waited
			c.fail(apiErr(codeSessionExpired))
			return
		}
		if sess.v2 {
			sig := params.Get("signature")
			if sig == "" {
				c.fail(apiErr(codeNoSignature))
				return
			}
			if !verifyCallSignature(sig, sess.key, sess.time, path, raw) {
				c.fail(apiErr(codeSignature))
				return
			}
			signed = true
		}
		c.user, c.sess = sess.user, sess
	}

	f, err := m.handler(c)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			s.log.Error("call failed", logKeyAction, action, logKeyUser, c.user, logKeyErr, err)
			ae = apiErr(codeInternal)
		}
		c.fail(ae)
		return
	}
	if signed {
		c.sess.key = NextSecretKey(c.sess.key)
	}
	if c.sess != nil {
		c.sess.touch(s.now())
	}
	switch {
	case s.faultHit(action, FaultLost):
		writeHTML(w, http.StatusBadGateway)
		return
	case s.faultHit(action, FaultDrop):
		panic(http.ErrAbortHandler) // closes the connection without a reply
	}
	s.log.Debug("call", logKeyAction, action, logKeyUser, c.user)
	writeJSON(w, http.StatusOK, envelope(action, f, nil, signed))
}

// fail answers the API error e.
func (c *call) fail(e *apiError) {
	c.s.log.Debug("call refused", logKeyAction, c.action, logKeyUser, c.user, logKeyCode, e.code)
	writeJSON(c.w, httpStatus(e.code), envelope(c.action, nil, e, false))
}

// sleep pauses for d, or until the request ends or the server closes.
func (s *Server) sleep(r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	case <-s.closing:
	}
}

// session returns the live session of token, or nil.
func (s *Server) session(token string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessions[token]
	if sess == nil {
		return nil
	}
	if s.now().Sub(sess.lastUsedAt()) > s.opts.SessionTTL {
		delete(s.sessions, token)
		return nil
	}
	return sess
}

func (s *Server) dropSession(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, token)
}

// actionToken returns the live action token, or nil.
func (s *Server) actionToken(token string) *actionToken {
	s.mu.Lock()
	defer s.mu.Unlock()
	at := s.actions[token]
	if at == nil {
		return nil
	}
	if s.now().After(at.expires) {
		delete(s.actions, token)
		return nil
	}
	return at
}

// ExpireSessions ends every session and action token, as a restart does;
// the next call with one answers 105.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.sessions)
	clear(s.actions)
}

// view runs fn in a read transaction.
func (s *Server) view(fn func(tx *bolt.Tx) error) error { return s.db.View(fn) }

// update runs fn in a write transaction. Hashes fn reports as released
// (through the release function) whose blobs no file references after the
// commit have their blob files removed.
func (s *Server) update(fn func(tx *bolt.Tx, release func(hash string)) error) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var released []string
	err := s.db.Update(func(tx *bolt.Tx) error {
		released = released[:0]
		return fn(tx, func(h string) { released = append(released, h) })
	})
	if err != nil {
		return err
	}
	if len(released) == 0 {
		return nil
	}
	var gone []string
	_ = s.db.View(func(tx *bolt.Tx) error {
		for _, h := range released {
			if blobRefs(tx, h) == 0 {
				gone = append(gone, h)
			}
		}
		return nil
	})
	for _, h := range gone {
		if err := removeFile(s.blobPath(h)); err != nil {
			s.log.Warn("remove blob", logKeyErr, err)
		}
	}
	return nil
}
