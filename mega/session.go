package mega

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
)

// Session is what a later process needs to act as a logged-in client
// without logging in again: pass it to Resume. It holds the session id and
// the master key, so anyone who has it has the account: store it
// encrypted. String, GoString and LogValue redact the secrets.
type Session struct {
	APIURL     string `json:"api,omitempty"` // the API the session belongs to
	Email      string `json:"email,omitempty"`
	UserHandle string `json:"user"`
	SID        string `json:"sid"`
	MasterKey  []byte `json:"mk"`
}

// sessionVersion is the MarshalBinary format version.
const sessionVersion = 1

// String describes the session without its secrets.
func (s Session) String() string {
	return fmt.Sprintf("mega.Session{Email: %q, UserHandle: %q, SID: REDACTED, MasterKey: REDACTED}", s.Email, s.UserHandle)
}

// GoString is String, so %#v does not print secrets either.
func (s Session) GoString() string { return s.String() }

// LogValue implements slog.LogValuer without the secrets.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(slog.String("email", s.Email), slog.String("user", s.UserHandle),
		slog.String("sid", "REDACTED"), slog.String("mk", "REDACTED"))
}

// MarshalBinary encodes the session (secrets included) as versioned JSON.
func (s Session) MarshalBinary() ([]byte, error) {
	type plain Session
	return json.Marshal(struct {
		V int `json:"v"`
		plain
	}{sessionVersion, plain(s)})
}

// UnmarshalBinary decodes MarshalBinary's output.
func (s *Session) UnmarshalBinary(b []byte) error {
	type plain Session
	var v struct {
		V int `json:"v"`
		plain
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("mega: decode session: %w", err)
	}
	if v.V != sessionVersion {
		return fmt.Errorf("mega: decode session: unsupported version %d", v.V)
	}
	*s = Session(v.plain)
	return nil
}

// Session exports the current session for Resume. It is the zero Session
// when the client is not logged in.
func (c *Client) Session() Session {
	st := c.session()
	if st.sid == "" {
		return Session{}
	}
	return Session{APIURL: c.api, Email: st.email, UserHandle: st.user, SID: st.sid, MasterKey: append([]byte(nil), st.mk...)}
}

// Resume continues a session exported by Session without a new login: it
// checks the session with one cheap `ug` call (which also proves the master
// key matches the account by decrypting its private key). An expired or
// logged-out session gives ErrSessionExpired; log in again then. On error
// the client's previous state is kept.
func (c *Client) Resume(ctx context.Context, s Session) error {
	if s.SID == "" || len(s.MasterKey) != 16 {
		return errors.New("mega: resume: session has no sid or master key")
	}
	if s.APIURL != "" && s.APIURL != c.api {
		return fmt.Errorf("mega: resume: session belongs to %s, not %s", s.APIURL, c.api)
	}
	var ug megaapi.UserReply
	if err := c.callAs(ctx, s.SID, "ug", megaapi.UserRequest{A: "ug"}, &ug); err != nil {
		return fmt.Errorf("mega: resume: %w", err)
	}
	if s.UserHandle != "" && ug.User != s.UserHandle {
		return fmt.Errorf("mega: resume: session is for user %s but the server says %s", s.UserHandle, ug.User)
	}
	st := state{email: s.Email, user: ug.User, sid: s.SID, mk: append([]byte(nil), s.MasterKey...)}
	if st.email == "" {
		st.email = ug.Email
	}
	if ug.Privk != "" {
		k, err := megacrypto.DecodePrivateKey(st.mk, ug.Privk)
		if err != nil {
			return fmt.Errorf("mega: resume: master key does not match the account: %w", err)
		}
		st.rsa = k
	}
	c.mu.Lock()
	c.sess = st
	c.mu.Unlock()
	return nil
}

// Logout ends the session on the server (`sml`) and forgets it and the
// tree locally, even if the server call fails.
func (c *Client) Logout(ctx context.Context) error {
	st := c.session()
	c.mu.Lock()
	c.sess = state{}
	c.mu.Unlock()
	c.treeMu.Lock()
	c.tree = nil
	c.treeMu.Unlock()
	if st.sid == "" {
		return nil
	}
	err := c.callAs(ctx, st.sid, "sml", megaapi.LogoutRequest{A: "sml"}, nil)
	if err != nil && !errors.Is(err, ErrSessionExpired) {
		return fmt.Errorf("mega: logout: %w", err)
	}
	return nil
}
