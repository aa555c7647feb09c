package mega

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"ferry/mega/megaapi"
	"ferry/megaserver"
	"ferry/megaserver/megaservertest"
)

func TestLogin(t *testing.T) {
	ts := megaservertest.Start(t)
	for _, tt := range []struct{ name, email, password string }{
		{"v2", megaservertest.UserV2, megaservertest.PasswordV2},
		{"v1", megaservertest.UserV1, megaservertest.PasswordV1},
		{"v2 upper-case e-mail", strings.ToUpper(megaservertest.UserV2), megaservertest.PasswordV2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := New(testOptions(t, ts))
			if err := c.Login(t.Context(), tt.email, tt.password, LoginOptions{}); err != nil {
				t.Fatalf("Login: %v", err)
			}
			s := c.Session()
			if s.SID == "" || len(s.MasterKey) != 16 || len(s.UserHandle) != 11 {
				t.Fatalf("Session() = %v with %d-byte sid, %d-byte master key", s, len(s.SID), len(s.MasterKey))
			}
			if err := c.FetchTree(t.Context()); err != nil {
				t.Fatalf("FetchTree: %v", err)
			}
			if c.Root() == nil || c.Rubbish() == nil || c.Inbox() == nil {
				t.Fatalf("root %v rubbish %v inbox %v", c.Root(), c.Rubbish(), c.Inbox())
			}
		})
	}
}

func TestLoginWrongPassword(t *testing.T) {
	ts := megaservertest.Start(t)
	for _, tt := range []struct{ name, email, password string }{
		{"v2", megaservertest.UserV2, "wrong"},
		{"v1", megaservertest.UserV1, "wrong"},
		{"unknown user", "nobody@example.com", "x"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := New(testOptions(t, ts))
			err := c.Login(t.Context(), tt.email, tt.password, LoginOptions{})
			if !errors.Is(err, ErrWrongPassword) {
				t.Fatalf("Login = %v, want ErrWrongPassword", err)
			}
			if c.Session().SID != "" {
				t.Errorf("session set after a failed login")
			}
			if err := c.FetchTree(t.Context()); !errors.Is(err, ErrNotLoggedIn) {
				t.Errorf("FetchTree after failed login = %v, want ErrNotLoggedIn", err)
			}
		})
	}
}

func TestLoginMFA(t *testing.T) {
	ts := megaservertest.Start(t)
	secret := []byte("12345678901234567890")
	const email, pw = "mfa@example.com", "pin protected"
	ts.AddUser(t, email, pw, megaservertest.UserOpts{MFASecret: secret})

	t.Run("no pin source", func(t *testing.T) {
		err := New(testOptions(t, ts)).Login(t.Context(), email, pw, LoginOptions{})
		if !errors.Is(err, ErrMFARequired) {
			t.Fatalf("Login = %v, want ErrMFARequired", err)
		}
	})
	t.Run("code", func(t *testing.T) {
		c := New(testOptions(t, ts))
		if err := c.Login(t.Context(), email, pw, LoginOptions{MFACode: megaserver.TOTP(secret, time.Now())}); err != nil {
			t.Fatalf("Login: %v", err)
		}
	})
	t.Run("callback", func(t *testing.T) {
		asked := 0
		c := New(testOptions(t, ts))
		err := c.Login(t.Context(), email, pw, LoginOptions{MFA: func(context.Context) (string, error) {
			asked++
			return megaserver.TOTP(secret, time.Now()), nil
		}})
		if err != nil || asked != 1 {
			t.Fatalf("Login = %v after %d prompts, want nil after 1", err, asked)
		}
	})
	t.Run("wrong pin", func(t *testing.T) {
		pin := megaserver.TOTP(secret, time.Now())
		bad := fmt.Sprintf("%06d", (atoi(pin)+500000)%1000000)
		err := New(testOptions(t, ts)).Login(t.Context(), email, pw, LoginOptions{MFACode: bad})
		if err == nil {
			t.Fatal("Login with a wrong PIN succeeded")
		}
		t.Logf("wrong PIN: %v", err)
	})
	t.Run("callback error", func(t *testing.T) {
		boom := errors.New("no terminal")
		err := New(testOptions(t, ts)).Login(t.Context(), email, pw, LoginOptions{MFA: func(context.Context) (string, error) { return "", boom }})
		if !errors.Is(err, boom) {
			t.Fatalf("Login = %v, want the callback's error", err)
		}
	})
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

func TestLoginHashcash(t *testing.T) {
	ts := megaservertest.Start(t, megaservertest.WithHashcash(255))
	c := New(testOptions(t, ts))
	if err := c.Login(t.Context(), megaservertest.UserV2, megaservertest.PasswordV2, LoginOptions{}); err != nil {
		t.Fatalf("Login behind hashcash: %v", err)
	}
	if err := c.FetchTree(t.Context()); err != nil {
		t.Fatalf("FetchTree: %v", err)
	}
}

func TestLoginWithoutKeys(t *testing.T) {
	ts := megaservertest.Start(t)
	const email, pw = "fresh@example.com", "no keys yet"
	ts.AddUser(t, email, pw, megaservertest.UserOpts{NoKeys: true})

	c := New(testOptions(t, ts))
	if err := c.Login(t.Context(), email, pw, LoginOptions{}); err != nil {
		t.Fatalf("first Login (tsid): %v", err)
	}
	if c.session().rsa == nil {
		t.Fatal("no RSA key generated")
	}
	if err := c.FetchTree(t.Context()); err != nil {
		t.Fatalf("FetchTree with the tsid session: %v", err)
	}
	// The second login must now get a csid, decrypted with the stored key.
	c2 := New(testOptions(t, ts))
	if err := c2.Login(t.Context(), email, pw, LoginOptions{}); err != nil {
		t.Fatalf("second Login: %v", err)
	}
	if c2.session().rsa == nil || c2.session().rsa.N.Cmp(c.session().rsa.N) != 0 {
		t.Fatal("second login did not use the generated key pair")
	}
	if err := c2.FetchTree(t.Context()); err != nil {
		t.Fatalf("FetchTree: %v", err)
	}
}

func TestSessionResume(t *testing.T) {
	ts := megaservertest.Start(t)
	c := newLoggedIn(t, ts)
	dir, err := c.Mkdir(t.Context(), c.Root(), "resumed")
	if err != nil {
		t.Fatal(err)
	}
	blob, err := c.Session().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	logins := ts.Server.Logins(megaservertest.UserV2)

	var s Session
	if err := s.UnmarshalBinary(blob); err != nil {
		t.Fatal(err)
	}
	c2 := New(testOptions(t, ts))
	if err := c2.Resume(t.Context(), s); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	if err := c2.FetchTree(t.Context()); err != nil {
		t.Fatalf("FetchTree after Resume: %v", err)
	}
	if c2.Node(dir.Handle) == nil || c2.Node(dir.Handle).Name != "resumed" {
		t.Fatalf("resumed client does not see the folder: %v", c2.Node(dir.Handle))
	}
	if got := ts.Server.Logins(megaservertest.UserV2); got != logins {
		t.Errorf("logins went from %d to %d: Resume logged in", logins, got)
	}

	// A wrong master key is caught.
	bad := s
	bad.MasterKey = make([]byte, 16)
	if err := New(testOptions(t, ts)).Resume(t.Context(), bad); err == nil {
		t.Error("Resume with a wrong master key succeeded")
	}

	// After Logout the session is gone for everyone.
	if err := c.Logout(t.Context()); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	if err := New(testOptions(t, ts)).Resume(t.Context(), s); !errors.Is(err, ErrSessionExpired) {
		t.Fatalf("Resume after Logout = %v, want ErrSessionExpired", err)
	}
	if err := c2.FetchTree(t.Context()); !errors.Is(err, ErrSessionExpired) || !errors.Is(err, megaapi.ESID) {
		t.Fatalf("FetchTree on a logged-out session = %v, want ErrSessionExpired", err)
	}
	if _, err := c2.Poll(t.Context()); !errors.Is(err, ErrSessionExpired) {
		t.Fatalf("Poll on a logged-out session = %v, want ErrSessionExpired", err)
	}
}

func TestSessionRedaction(t *testing.T) {
	s := Session{Email: "a@b.c", UserHandle: "d5cBoeO7s9Q", SID: "SECRETSID", MasterKey: []byte("0123456789abcdef")}
	for _, out := range []string{s.String(), fmt.Sprintf("%v", s), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s), s.LogValue().String()} {
		if strings.Contains(out, "SECRETSID") || strings.Contains(out, "0123456789abcdef") || strings.Contains(out, "MDEy") {
			t.Errorf("secret in %q", out)
		}
	}
}

func TestLoginBlocked(t *testing.T) {
	ts := megaservertest.Start(t, megaservertest.WithFaults("logins=2/min"))
	var err error
	for range 5 {
		if err = New(testOptions(t, ts)).Login(t.Context(), megaservertest.UserV1, megaservertest.PasswordV1, LoginOptions{}); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrBlocked) {
		t.Fatalf("Login over the limit = %v, want ErrBlocked", err)
	}
}
