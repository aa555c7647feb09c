package megaserver

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
)

// UserOptions are the server-side settings of a new account.
type UserOptions struct {
	// Name is the display name returned by `ug`.
	Name string
	// MFASecret turns on two-factor login: `us` then needs `mfa`, the
	// TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30 s steps) of this secret.
	// nil leaves 2FA off.
	MFASecret []byte
	// QuotaBytes is the storage quota; 0 means unlimited (reported as
	// 1 PiB).
	QuotaBytes int64
}

const unlimitedQuota = 1 << 50

// AddUser creates an account from the client-side signup values in a (the
// server never sees a password or master key) with empty Cloud Drive,
// Vault and Rubbish Bin nodes, and returns its user handle. An e-mail that
// already has an account is an error wrapping fs.ErrExist.
func (s *Server) AddUser(ctx context.Context, a *megacrypto.Account, opts UserOptions) (string, error) {
	if err := validateAccount(a); err != nil {
		return "", fmt.Errorf("megaserver: add user: %w", err)
	}
	if opts.QuotaBytes < 0 {
		return "", fmt.Errorf("megaserver: add user %s: negative quota", a.Email)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	email := normalizeEmail(a.Email)
	now := s.now().Unix()
	var handle string
	err := s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketEmails).Get([]byte(email)) != nil {
			return fmt.Errorf("megaserver: add user %s: %w", email, fs.ErrExist)
		}
		users := tx.Bucket(bucketUsers)
		for {
			handle = megacrypto.B64Encode(randomBytes(8))
			if users.Get([]byte(handle)) == nil {
				break
			}
		}
		u := &userRec{
			Handle: handle, Email: email, Name: opts.Name, Version: a.Version,
			Salt: bytes.Clone(a.Salt), AuthHash: bytes.Clone(a.AuthHash), MK: bytes.Clone(a.MasterKeyWrapped),
			Privk: a.Privk, Pubk: a.Pubk, TS: a.TS, MFA: bytes.Clone(opts.MFASecret),
			Quota: opts.QuotaBytes, Since: now,
		}
		for _, t := range []int{megaapi.TypeRoot, megaapi.TypeInbox, megaapi.TypeRubbish} {
			n := &nodeRec{H: newNodeHandle(tx), U: handle, T: t, TS: now}
			if err := putNode(tx, n); err != nil {
				return err
			}
			switch t {
			case megaapi.TypeRoot:
				u.Root = n.H
			case megaapi.TypeInbox:
				u.Inbox = n.H
			default:
				u.Rubbish = n.H
			}
		}
		if err := putUser(tx, u); err != nil {
			return err
		}
		if err := putState(tx, handle, userState{}); err != nil {
			return err
		}
		return tx.Bucket(bucketEmails).Put([]byte(email), []byte(handle))
	})
	if err != nil {
		return "", err
	}
	s.log.Info("added user", logKeyUser, handle)
	return handle, nil
}

func normalizeEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

func validateAccount(a *megacrypto.Account) error {
	if a == nil {
		return errors.New("nil account")
	}
	if normalizeEmail(a.Email) == "" {
		return errors.New("empty e-mail")
	}
	switch a.Version {
	case 1:
		if len(a.AuthHash) != 8 {
			return fmt.Errorf("v1 account %s: user hash is %d bytes, want 8", a.Email, len(a.AuthHash))
		}
	case 2:
		if len(a.AuthHash) != 16 || len(a.Salt) != 32 {
			return fmt.Errorf("v2 account %s: auth hash %d bytes (want 16), salt %d bytes (want 32)", a.Email, len(a.AuthHash), len(a.Salt))
		}
	default:
		return fmt.Errorf("account %s: version %d, want 1 or 2", a.Email, a.Version)
	}
	if len(a.MasterKeyWrapped) != 16 {
		return fmt.Errorf("account %s: wrapped master key is %d bytes, want 16", a.Email, len(a.MasterKeyWrapped))
	}
	if ts, err := megacrypto.B64Decode(a.TS); err != nil || len(ts) != 32 {
		return fmt.Errorf("account %s: ts must be 32 bytes of base64", a.Email)
	}
	if (a.Privk == "") != (a.Pubk == "") {
		return fmt.Errorf("account %s: privk and pubk must both be set or both empty", a.Email)
	}
	if a.Pubk != "" {
		if _, _, err := megacrypto.DecodePublicKey(a.Pubk); err != nil {
			return fmt.Errorf("account %s: pubk: %w", a.Email, err)
		}
		if !validPrivk(a.Privk) {
			return fmt.Errorf("account %s: privk is not a multiple of 16 bytes of base64", a.Email)
		}
	}
	return nil
}

func validPrivk(p string) bool {
	b, err := megacrypto.B64Decode(p)
	return err == nil && len(b) > 0 && len(b)%16 == 0 && len(b) <= 8192
}

// TOTP returns the RFC 6238 code (HMAC-SHA1, 6 digits, 30 s step) of secret
// at t: the PIN a 2FA login sends as `mfa`.
func TOTP(secret []byte, t time.Time) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(t.Unix()/30))
	h := hmac.New(sha1.New, secret)
	h.Write(msg[:])
	sum := h.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	code := binary.BigEndian.Uint32(sum[off:]) & 0x7fffffff
	return fmt.Sprintf("%06d", code%1000000)
}

func (s *Server) checkTOTP(secret []byte, pin string) bool {
	if len(pin) != 6 {
		return false
	}
	now := s.now()
	for _, d := range []time.Duration{0, -30 * time.Second, 30 * time.Second} {
		if subtle.ConstantTimeCompare([]byte(TOTP(secret, now.Add(d))), []byte(pin)) == 1 {
			return true
		}
	}
	return false
}

// Logins reports how many login attempts (`us` with this e-mail and past
// the hashcash check, successful or not) the account has seen since Open.
func (s *Server) Logins(email string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins[normalizeEmail(email)]
}

// countLogin records an attempt and reports whether the login limit
// allows it.
func (s *Server) countLogin(email string) bool {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logins[email]++
	limit := s.faults.loginsPerMinute
	if limit <= 0 {
		return true
	}
	recent := s.loginTimes[email][:0]
	for _, t := range s.loginTimes[email] {
		if now.Sub(t) < time.Minute {
			recent = append(recent, t)
		}
	}
	if len(recent) >= limit {
		s.loginTimes[email] = recent
		return false
	}
	s.loginTimes[email] = append(recent, now)
	return true
}

func (s *Server) expireLoginTimes(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for e, ts := range s.loginTimes {
		if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= time.Minute {
			delete(s.loginTimes, e)
		}
	}
}

// ---- commands ----

func (s *Server) cmdPrelogin(c *call) result {
	var req megaapi.PreloginRequest
	if err := decodeArgs(c, &req); err != nil || req.User == "" {
		return codeResult(megaapi.EARGS)
	}
	var u *userRec
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		u, err = userByEmail(tx, normalizeEmail(req.User))
		return err
	})
	if err != nil {
		return s.errResult(c, err)
	}
	if u.Version == 1 {
		return jsonResult(megaapi.PreloginReply{V: 1})
	}
	return jsonResult(megaapi.PreloginReply{V: 2, Salt: megacrypto.B64Encode(u.Salt)})
}

func (s *Server) cmdLogin(c *call) result {
	var req megaapi.LoginRequest
	if err := decodeArgs(c, &req); err != nil {
		return codeResult(megaapi.EARGS)
	}
	if req.User == "" && req.UH == "" {
		return s.resumeSession(c, req)
	}
	if req.User == "" || req.UH == "" || len(req.Sek) > 64 {
		return codeResult(megaapi.EARGS)
	}
	email := normalizeEmail(req.User)
	var u *userRec
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		u, err = userByEmail(tx, email)
		return err
	})
	if err != nil {
		return s.errResult(c, err)
	}
	if !s.countLogin(email) {
		s.log.Info("login limit reached", logKeyUser, u.Handle)
		return codeResult(megaapi.EBLOCKED)
	}
	if !checkUserHash(u, req.UH) {
		return codeResult(megaapi.ENOENT)
	}
	if u.MFA != nil && !s.checkTOTP(u.MFA, req.MFA) {
		return codeResult(megaapi.EMFAREQUIRED)
	}
	reply := megaapi.LoginReply{Key: megacrypto.B64Encode(u.MK), User: u.Handle, Ach: 1, Sek: req.Sek}
	var sid []byte
	if u.Pubk != "" {
		n, e, err := megacrypto.DecodePublicKey(u.Pubk)
		if err != nil {
			return s.errResult(c, fmt.Errorf("user %s pubk: %w", u.Handle, err))
		}
		if sid, err = megacrypto.NewSessionID(u.Handle, randReader{}); err != nil {
			return s.errResult(c, err)
		}
		if reply.CSID, err = megacrypto.EncryptSessionID(n, e, sid, randReader{}); err != nil {
			return s.errResult(c, err)
		}
		reply.Privk = u.Privk
	} else {
		// No RSA key: the session id is the tsid r || user || AES_mk(r),
		// which the client checks with its master key.
		ts, err := megacrypto.B64Decode(u.TS)
		if err != nil || len(ts) != 32 {
			return s.errResult(c, fmt.Errorf("user %s: bad ts", u.Handle))
		}
		sid = make([]byte, 0, 43)
		sid = append(sid, ts[:16]...)
		sid = append(sid, u.Handle...)
		sid = append(sid, ts[16:]...)
		reply.TSID = megacrypto.B64Encode(sid)
	}
	if err := s.createSession(sid, u.Handle, req.Sek); err != nil {
		return s.errResult(c, err)
	}
	s.log.Info("login", logKeyUser, u.Handle)
	return jsonResult(reply)
}

// randReader adapts randomBytes to io.Reader for megacrypto.
type randReader struct{}

func (randReader) Read(p []byte) (int, error) {
	copy(p, randomBytes(len(p)))
	return len(p), nil
}

func checkUserHash(u *userRec, uh string) bool {
	b, err := megacrypto.B64Decode(uh)
	if err != nil {
		return false
	}
	if u.Version == 1 {
		return subtle.ConstantTimeCompare(b, u.AuthHash) == 1
	}
	if len(b) != 16 {
		return false
	}
	sum := sha256.Sum256(b)
	return subtle.ConstantTimeCompare(sum[:16], u.AuthHash) == 1
}

func (s *Server) createSession(sid []byte, user, sek string) error {
	h := sha256.Sum256(sid)
	rec, err := json.Marshal(sessionRec{User: user, Sek: sek, Created: s.now().Unix()})
	if err != nil {
		return err
	}
	return s.commits.Do(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSessions).Put(h[:], rec)
	})
}

// resumeSession is the SDK's `us` without user/uh: it checks the URL sid
// and returns the account keys.
func (s *Server) resumeSession(c *call, req megaapi.LoginRequest) result {
	if c.sess == nil {
		return codeResult(megaapi.ESID)
	}
	var u *userRec
	var rec sessionRec
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		if u, err = getUser(tx, c.sess.user); err != nil {
			return err
		}
		if v := tx.Bucket(bucketSessions).Get(c.sess.hash[:]); v != nil {
			_ = json.Unmarshal(v, &rec)
		}
		return nil
	})
	if err != nil {
		return s.errResult(c, err)
	}
	sek := rec.Sek
	if sek == "" {
		sek = req.Sek
	}
	return jsonResult(megaapi.LoginReply{Key: megacrypto.B64Encode(u.MK), Privk: u.Privk, User: u.Handle, Ach: 1, Sek: sek})
}

func (s *Server) cmdLogout(c *call) result {
	err := s.commits.Do(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSessions).Delete(c.sess.hash[:])
	})
	if err != nil {
		return s.errResult(c, err)
	}
	return codeResult(megaapi.OK)
}

func (s *Server) cmdUserGet(c *call) result {
	var u *userRec
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		u, err = getUser(tx, c.sess.user)
		return err
	})
	if err != nil {
		return s.errResult(c, err)
	}
	reply := megaapi.UserReply{
		User: u.Handle, Email: u.Email, Name: u.Name, Key: megacrypto.B64Encode(u.MK),
		Privk: u.Privk, Pubk: u.Pubk, C: 1, S: 1, TS: u.TS, Since: u.Since,
	}
	if u.Version == 2 {
		reply.AAV = 2
		reply.AAS = megacrypto.B64Encode(u.Salt)
	}
	return jsonResult(reply)
}

// cmdUserPut (`up`) stores an RSA key pair on an account that has none.
// It answers the user handle, as MEGA does.
func (s *Server) cmdUserPut(c *call) result {
	var req megaapi.SetUserRequest
	if err := decodeArgs(c, &req); err != nil || req.Privk == "" || req.Pubk == "" {
		return codeResult(megaapi.EARGS)
	}
	if _, _, err := megacrypto.DecodePublicKey(req.Pubk); err != nil || !validPrivk(req.Privk) {
		return codeResult(megaapi.EARGS)
	}
	return s.mutate(c, func(tx *bolt.Tx, m *mutation) ([]byte, error) {
		u, err := getUser(tx, m.user)
		if err != nil {
			return nil, err
		}
		if u.Privk != "" || u.Pubk != "" {
			return nil, megaapi.EEXIST
		}
		u.Privk, u.Pubk = req.Privk, req.Pubk
		if err := putUser(tx, u); err != nil {
			return nil, err
		}
		return json.Marshal(u.Handle)
	})
}

func (s *Server) cmdQuota(c *call) result {
	var req megaapi.QuotaRequest
	if err := decodeArgs(c, &req); err != nil {
		return codeResult(megaapi.EARGS)
	}
	reply := megaapi.QuotaReply{Mxfer: unlimitedQuota}
	user := c.sess.user
	err := s.db.View(func(tx *bolt.Tx) error {
		u, err := getUser(tx, user)
		if err != nil {
			return err
		}
		st := getState(tx, u.Handle)
		reply.Mstrg, reply.Cstrg = quotaOf(u), st.Used
		s.mu.Lock()
		cached, ok := s.quotas[user]
		s.mu.Unlock()
		if ok && cached.counter == st.Counter {
			reply.Cstrgn = cached.perRoot
			return nil
		}
		// Every change to the tree advances the counter, so the walk is
		// needed only after a change.
		end, ok := s.beginWalk(c)
		if !ok {
			return megaapi.EAGAIN
		}
		defer end()
		perRoot := make(map[string][]int64, 3)
		for _, root := range []string{u.Root, u.Inbox, u.Rubbish} {
			var bytes, files, folders int64
			err := walkSubtree(tx, root, func(n *nodeRec) error {
				switch n.T {
				case megaapi.TypeFile:
					files++
					bytes += n.S
				case megaapi.TypeFolder:
					folders++
				}
				return nil
			})
			if err != nil {
				return err
			}
			perRoot[root] = []int64{bytes, files, folders, 0, 0}
		}
		s.mu.Lock()
		if prev, ok := s.quotas[user]; !ok || prev.counter <= st.Counter {
			s.quotas[user] = quotaCache{counter: st.Counter, perRoot: perRoot}
		}
		s.mu.Unlock()
		reply.Cstrgn = perRoot
		return nil
	})
	if err != nil {
		return s.errResult(c, err)
	}
	return jsonResult(reply)
}

// quotaCache is uq's per-root usage of one user ({bytes, files, folders,
// 0, 0} by root handle) as of event counter value counter. The maps are
// never modified once cached.
type quotaCache struct {
	counter uint64
	perRoot map[string][]int64
}

func quotaOf(u *userRec) int64 {
	if u.Quota > 0 {
		return u.Quota
	}
	return unlimitedQuota
}

// userQuota is quotaOf the record of user, decoding nothing else of it
// (its keys are most of it): `u` and `p` of every upload need only that.
func userQuota(tx *bolt.Tx, user string) (int64, error) {
	v := tx.Bucket(bucketUsers).Get([]byte(user))
	if v == nil {
		return 0, megaapi.ENOENT
	}
	var u struct {
		Quota int64 `json:"quota"`
	}
	if err := json.Unmarshal(v, &u); err != nil {
		return 0, fmt.Errorf("decode user %s: %w", user, err)
	}
	return quotaOf(&userRec{Quota: u.Quota}), nil
}

// ---- hashcash ----

const (
	challengeTTL = 10 * time.Minute
	maxChallenge = 10000
)

// sendChallenge answers 402 with a fresh X-Hashcash challenge.
func (s *Server) sendChallenge(w http.ResponseWriter) {
	tok := megacrypto.B64Encode(randomBytes(48))
	now := s.now()
	s.mu.Lock()
	if len(s.challenges) >= maxChallenge {
		s.expireChallengesLocked(now)
		for k := range s.challenges { // still full: drop arbitrary ones
			if len(s.challenges) < maxChallenge {
				break
			}
			delete(s.challenges, k)
		}
	}
	s.challenges[tok] = now.Add(challengeTTL)
	s.mu.Unlock()
	w.Header().Set("X-Hashcash", "1:"+strconv.Itoa(s.opts.HashcashEasiness)+":"+strconv.FormatInt(now.Unix(), 10)+":"+tok)
	writeRaw(w, http.StatusPaymentRequired, "", nil)
}

// checkHashcash verifies a "1:<token>:<nonce>" reply header: a token this
// server issued and has not seen used, and a valid proof of work.
func (s *Server) checkHashcash(header string) bool {
	parts := strings.Split(header, ":")
	if len(parts) != 3 || parts[0] != "1" {
		return false
	}
	tok, nonceB64 := parts[1], parts[2]
	s.mu.Lock()
	exp, ok := s.challenges[tok]
	delete(s.challenges, tok) // one use, valid or not
	s.mu.Unlock()
	if !ok || s.now().After(exp) {
		return false
	}
	token, err := megacrypto.B64Decode(tok)
	if err != nil || len(token) != 48 {
		return false
	}
	nb, err := megacrypto.B64Decode(nonceB64)
	if err != nil || len(nb) != 4 {
		return false
	}
	return megacrypto.HashcashValid(token, [4]byte(nb), byte(s.opts.HashcashEasiness))
}

func (s *Server) expireChallenges(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireChallengesLocked(now)
}

func (s *Server) expireChallengesLocked(now time.Time) {
	for k, exp := range s.challenges {
		if now.After(exp) {
			delete(s.challenges, k)
		}
	}
}
