package mediafireserver

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"strconv"
	"strings"
	"time"

	"crypto/rand"

	bolt "go.etcd.io/bbolt"
)

// UserOptions are the optional settings of a new account.
type UserOptions struct {
	Name string // display name
}

// AddUser creates an account and returns its user id. An e-mail that
// already has an account is fs.ErrExist. The password must be ASCII, as
// the clients that sign logins require (§8.4 of the protocol spec).
func (s *Server) AddUser(ctx context.Context, email, password string, o UserOptions) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	email = strings.TrimSpace(email)
	if !strings.Contains(email, "@") {
		return "", fmt.Errorf("mediafireserver: %q is not an e-mail address", email)
	}
	if password == "" {
		return "", errors.New("mediafireserver: empty password")
	}
	for _, r := range email + password {
		if r > 127 {
			return "", errors.New("mediafireserver: e-mail and password must be ASCII (clients sign logins over ASCII bytes)")
		}
	}
	var id string
	err := s.update(func(tx *bolt.Tx, _ func(string)) error {
		key := []byte(strings.ToLower(email))
		if tx.Bucket(bucketEmails).Get(key) != nil {
			return fmt.Errorf("mediafireserver: account %s: %w", email, fs.ErrExist)
		}
		id = newKey(tx, bucketUsers, userIDLen)
		u := &userRec{
			ID: id, Email: email, Password: password, EKey: hex.EncodeToString(randomBytes(16)),
			Name: o.Name, Created: s.now().Unix(), Limit: s.opts.StorageLimit,
		}
		if err := tx.Bucket(bucketEmails).Put(key, []byte(id)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketEKeys).Put([]byte(u.EKey), []byte(id)); err != nil {
			return err
		}
		return putUser(tx, u)
	})
	if err != nil {
		return "", err
	}
	s.log.Info("account created", logKeyUser, id)
	return id, nil
}

// userByLogin finds the account of an e-mail or ekey login, or nil.
func userByLogin(tx *bolt.Tx, email, ekey string) *userRec {
	var id []byte
	switch {
	case email != "":
		id = tx.Bucket(bucketEmails).Get([]byte(strings.ToLower(email)))
	case ekey != "":
		id = tx.Bucket(bucketEKeys).Get([]byte(ekey))
	}
	if id == nil {
		return nil
	}
	u, err := getUser(tx, string(id))
	if err != nil {
		return nil
	}
	return u
}

// getSessionToken is user/get_session_token (§2.1).
func (c *call) getSessionToken() (fields, error) {
	appID := c.get("application_id")
	apiKey, ok := c.s.opts.Apps[appID]
	if !ok {
		return nil, apiErr(codeApplication)
	}
	email, ekey, password := c.get("email"), c.get("ekey"), c.get("password")
	var u *userRec
	if err := c.s.view(func(tx *bolt.Tx) error {
		u = userByLogin(tx, email, ekey)
		return nil
	}); err != nil {
		return nil, err
	}
	id := email
	if email == "" {
		id = ekey
	}
	want := LoginSignature(id, password, appID, apiKey)
	sigOK := equalHex(strings.ToLower(c.get("signature")), want)
	if u == nil || !sigOK || subtle.ConstantTimeCompare([]byte(password), []byte(u.Password)) != 1 {
		return nil, apiErr(codeCredentials)
	}
	sess := &session{token: randomKey(tokenLen), user: u.ID}
	sess.touch(c.s.now())
	f := fields{"session_token": sess.token, "ekey": u.EKey, "pkey": randomKey(10)}
	if v := c.get("token_version"); v == "2" {
		n, err := rand.Int(rand.Reader, big.NewInt(2147483646))
		if err != nil {
			return nil, err
		}
		sess.v2 = true
		sess.key = n.Uint64() + 1 // 1..2147483646
		now := c.s.now()
		sess.time = fmt.Sprintf("%d.%04d", now.Unix(), now.Nanosecond()/100000)
		f["secret_key"] = strconv.FormatUint(sess.key, 10)
		f["time"] = sess.time
	} else if v != "" && v != "1" {
		return nil, apiErrf(codeInvalidParam, "token_version %q: want 1 or 2", v)
	}
	c.s.addSession(sess)
	c.user = u.ID
	c.s.log.Info("login", logKeyUser, u.ID, "token_version", map[bool]string{true: "2", false: "1"}[sess.v2])
	return f, nil
}

// renewSessionToken is user/renew_session_token: the same token, its
// lifetime extended.
func (c *call) renewSessionToken() (fields, error) {
	return fields{"session_token": c.sess.token}, nil
}

// getActionToken is user/get_action_token (§2.3).
func (c *call) getActionToken() (fields, error) {
	kind := c.get("type")
	if kind != "upload" && kind != "image" {
		return nil, apiErrf(codeInvalidParam, "type %q: want upload or image", kind)
	}
	lifespan := 15 * time.Minute
	if v := c.get("lifespan"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 43200 {
			return nil, apiErrf(codeInvalidParam, "lifespan %q: want minutes 1..43200", v)
		}
		lifespan = time.Duration(n) * time.Minute
	}
	tok := randomKey(160)
	c.s.mu.Lock()
	now := c.s.now()
	for k, at := range c.s.actions { // drop the expired ones as new ones come
		if now.After(at.expires) {
			delete(c.s.actions, k)
		}
	}
	c.s.actions[tok] = &actionToken{user: c.user, kind: kind, expires: now.Add(lifespan)}
	c.s.mu.Unlock()
	return fields{"action_token": tok}, nil
}

// destroyActionToken is user/destroy_action_token; an unknown token is
// error 100, as the service answers.
func (c *call) destroyActionToken() (fields, error) {
	tok := c.get("action_token")
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	at := c.s.actions[tok]
	if at == nil || at.user != c.user {
		return nil, apiErrf(codeInternal, "Unknown or invalid action token")
	}
	delete(c.s.actions, tok)
	return fields{}, nil
}

// userGetInfo is user/get_info.
func (c *call) userGetInfo() (fields, error) {
	var u *userRec
	err := c.s.view(func(tx *bolt.Tx) (err error) {
		u, err = getUser(tx, c.user)
		return err
	})
	if err != nil {
		return nil, err
	}
	first, last, _ := strings.Cut(u.Name, " ")
	return fields{"user_info": fields{
		"email": u.Email, "display_name": u.Name, "first_name": first, "last_name": last,
		"created": formatTime(u.Created), "used_storage_size": itoa(u.Used), "storage_limit": itoa(u.Limit),
		"storage_limit_exceeded": yesNo(u.Used > u.Limit), "premium": "no", "validated": "yes",
	}}, nil
}

// formatTime is the API's date form, "YYYY-MM-DD HH:MM:SS" in UTC.
func formatTime(unix int64) string {
	return time.Unix(unix, 0).UTC().Format(time.DateTime)
}

// addSession registers sess, first dropping the user's expired sessions
// and, at Options.MaxSessionsPerUser, the least recently used one.
func (s *Server) addSession(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var oldest *session
	n := 0
	for tok, o := range s.sessions {
		if o.user != sess.user {
			continue
		}
		if now.Sub(o.lastUsedAt()) > s.opts.SessionTTL {
			delete(s.sessions, tok)
			continue
		}
		n++
		if oldest == nil || o.lastUsedAt().Before(oldest.lastUsedAt()) {
			oldest = o
		}
	}
	if n >= s.opts.MaxSessionsPerUser && oldest != nil {
		delete(s.sessions, oldest.token)
		s.log.Info("session limit reached; ended the least recently used session", logKeyUser, sess.user)
	}
	s.sessions[sess.token] = sess
}
