package mediafire

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/internal/retry"
	"ferry/mediafire/mfapi"
)

// signer is a minimal signing peer for the session state machine: it logs
// users in, checks call signatures over the raw body as §2.2 says,
// rotates the key after each good signed call and answers user/get_info.
// lose, when positive, makes the next that many signed calls rotate and
// then drop the connection (a reply lost after the key moved); html makes
// calls answer an HTML 502; codes queues error replies. The stand-in
// server (mediafireserver) is the full peer; this one isolates the
// client's key handling.
type signer struct {
	t  *testing.T
	mu sync.Mutex
	// guarded by mu
	keys    map[string]uint64 // session token -> secret key
	logins  int
	calls   map[string]int
	lose    int
	html    int
	codes   []int
	saw127  int
	secrets []string // values that must never reach a log or an error
}

const (
	testEmail = "alice@example.com"
	testPass  = "pa ss&wörd"
	testTime  = "1397755702.0581"
)

func newSigner(t *testing.T) (*signer, *httptest.Server) {
	s := &signer{t: t, calls: map[string]int{}, keys: map[string]uint64{}, secrets: []string{testPass}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func (s *signer) reply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, `{"response":{`+body+`,"current_api_version":"1.5"}}`)
}

func (s *signer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(raw))
	method := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/1.5/"), ".php")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[method]++
	if method == "user/get_session_token" {
		want := mfapi.LoginSignature(form.Get("email"), form.Get("password"), form.Get("application_id"), "")
		if form.Get("email") != testEmail || form.Get("password") != testPass || form.Get("signature") != want {
			s.reply(w, 403, `"result":"Error","error":107,"message":"The Credentials you entered are invalid"`)
			return
		}
		s.logins++
		tok := fmt.Sprintf("%0144d", s.logins)
		key := 1878520462 + uint64(s.logins)
		s.keys[tok] = key
		s.secrets = append(s.secrets, tok, fmt.Sprint(key))
		s.reply(w, 200, fmt.Sprintf(`"result":"Success","session_token":%q,"secret_key":"%d","time":%q,"ekey":"e","pkey":"p"`, tok, key, testTime))
		return
	}
	if len(s.codes) > 0 {
		code := s.codes[0]
		s.codes = s.codes[1:]
		s.reply(w, 900, fmt.Sprintf(`"result":"Error","error":%d,"message":"forced"`, code))
		return
	}
	tok := form.Get("session_token")
	key, ok := s.keys[tok]
	if !ok {
		s.reply(w, 403, `"result":"Error","error":105,"message":"The supplied Session Token is expired or invalid"`)
		return
	}
	body := string(raw)
	i := strings.LastIndex(body, "&signature=")
	if i < 0 {
		s.reply(w, 403, `"result":"Error","error":215,"message":"missing"`)
		return
	}
	sig := body[i+len("&signature="):]
	s.secrets = append(s.secrets, sig)
	if sig != mfapi.CallSignature(key, testTime, r.URL.Path, body[:i]) {
		s.saw127++
		s.reply(w, 403, `"result":"Error","error":127,"message":"The signature you specified is invalid"`)
		return
	}
	key = mfapi.NextKey(key)
	s.keys[tok] = key
	s.secrets = append(s.secrets, fmt.Sprint(key))
	if s.lose > 0 {
		s.lose--
		panic(http.ErrAbortHandler) // the key moved; the reply is lost
	}
	if s.html > 0 {
		s.html--
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(502)
		io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
		return
	}
	s.reply(w, 200, `"result":"Success","new_key":"yes","user_info":{"email":"`+testEmail+`","used_storage_size":"12"}`)
}

// testClient returns a client of srv with fast retries and its log.
func testClient(t *testing.T, base string, pass string) (*Client, *bytes.Buffer) {
	var logBuf bytes.Buffer
	var mu sync.Mutex
	c, err := New(Options{
		BaseURL: base, Email: testEmail, Password: pass,
		Logger:   slog.New(slog.NewTextHandler(lockedWriter{&mu, &logBuf}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Retry:    retry.Policy{Base: time.Millisecond, Cap: 5 * time.Millisecond, MaxAttempts: 5},
		Sessions: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, &logBuf
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// The key rotates once per signed call, so many calls in a row, also
// from concurrent goroutines, keep their signatures valid on one login.
func TestSessionRotationSerialised(t *testing.T) {
	s, srv := newSigner(t)
	c, _ := testClient(t, srv.URL, testPass)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				if _, err := c.UserInfo(t.Context()); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.logins != 1 || s.saw127 != 0 || s.calls["user/get_info"] != 80 {
		t.Errorf("logins %d, 127s %d, calls %d; want 1, 0, 80", s.logins, s.saw127, s.calls["user/get_info"])
	}
}

// A reply lost after the server rotated the key (a dropped connection,
// an HTML error page) is repaired by one new login: the caller sees
// success, and no call is signed with the stale key.
func TestLostReplyRelogin(t *testing.T) {
	for _, kind := range []string{"dropped", "html"} {
		t.Run(kind, func(t *testing.T) {
			s, srv := newSigner(t)
			c, _ := testClient(t, srv.URL, testPass)
			if _, err := c.UserInfo(t.Context()); err != nil {
				t.Fatal(err)
			}
			s.mu.Lock()
			if kind == "dropped" {
				s.lose = 1
			} else {
				s.html = 1
			}
			s.mu.Unlock()
			if _, err := c.UserInfo(t.Context()); err != nil {
				t.Fatalf("call after a lost reply: %v", err)
			}
			if _, err := c.UserInfo(t.Context()); err != nil {
				t.Fatal(err)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.logins != 2 || s.saw127 != 0 {
				t.Errorf("logins %d, 127s seen by the server %d; want 2 and 0", s.logins, s.saw127)
			}
		})
	}
}

// 105 and 127 from the server throw the session away and repeat the call
// on a new one; the caller never sees them.
func TestResyncCodes(t *testing.T) {
	for _, code := range []int{105, 127} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			s, srv := newSigner(t)
			c, _ := testClient(t, srv.URL, testPass)
			if _, err := c.UserInfo(t.Context()); err != nil {
				t.Fatal(err)
			}
			s.mu.Lock()
			s.codes = []int{code}
			s.mu.Unlock()
			if _, err := c.UserInfo(t.Context()); err != nil {
				t.Fatalf("call after %d: %v", code, err)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.logins != 2 {
				t.Errorf("logins %d, want 2", s.logins)
			}
		})
	}
}

// A pool of sessions runs signed calls side by side, each session on its
// own key: concurrent callers use every session, each logs in once, and
// no signature is ever wrong.
func TestSessionPool(t *testing.T) {
	s, srv := newSigner(t)
	c, _ := testClient(t, srv.URL, testPass)
	c.sem = make(chan struct{}, 3)
	c.idle = []*slot{{}, {}, {}}
	var wg sync.WaitGroup
	for range 9 {
		wg.Go(func() {
			for range 10 {
				if _, err := c.UserInfo(t.Context()); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.saw127 != 0 || s.calls["user/get_info"] != 90 {
		t.Errorf("127s %d, calls %d; want 0, 90", s.saw127, s.calls["user/get_info"])
	}
	if s.logins < 2 || s.logins > 3 {
		t.Errorf("%d logins for 3 sessions used concurrently, want 2 or 3", s.logins)
	}
	if c.Logins() != s.logins {
		t.Errorf("client counts %d logins, server %d", c.Logins(), s.logins)
	}
}

// Retryable codes are retried with backoff; fatal ones are not retried.
func TestRetryClasses(t *testing.T) {
	s, srv := newSigner(t)
	c, _ := testClient(t, srv.URL, testPass)
	s.mu.Lock()
	s.codes = []int{100, 163, 208}
	s.mu.Unlock()
	old := mfapi.RateLimitWait
	mfapi.RateLimitWait = time.Millisecond
	t.Cleanup(func() { mfapi.RateLimitWait = old })
	if _, err := c.UserInfo(t.Context()); err != nil {
		t.Fatalf("after 100, 163, 208: %v", err)
	}
	s.mu.Lock()
	s.codes = []int{114, 100}
	before := s.calls["user/get_info"]
	s.mu.Unlock()
	_, err := c.UserInfo(t.Context())
	if !errors.Is(err, mfapi.ErrAccessDenied) {
		t.Fatalf("err = %v, want 114", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.calls["user/get_info"] - before; n != 1 {
		t.Errorf("a fatal code was tried %d times, want 1", n)
	}
}

// Wrong credentials are fatal and tried once; nothing secret is in the
// error or the log.
func TestWrongPasswordFatal(t *testing.T) {
	s, srv := newSigner(t)
	c, logBuf := testClient(t, srv.URL, "wrong-pass-XYZ")
	_, err := c.UserInfo(t.Context())
	if !errors.Is(err, mfapi.ErrCredentials) {
		t.Fatalf("err = %v, want 107", err)
	}
	var f interface{ Fatal() bool }
	if !errors.As(err, &f) || !f.Fatal() {
		t.Errorf("107 is not fatal: %v", err)
	}
	s.mu.Lock()
	n := s.calls["user/get_session_token"]
	s.mu.Unlock()
	if n != 1 {
		t.Errorf("%d logins tried, want 1", n)
	}
	for _, out := range []string{err.Error(), logBuf.String()} {
		if strings.Contains(out, "wrong-pass-XYZ") {
			t.Errorf("password leaked: %s", out)
		}
	}
}

// No secret (password, session token, secret keys, signatures) reaches
// the log or an error, through successes, lost replies and failures.
func TestSecretsNeverLogged(t *testing.T) {
	s, srv := newSigner(t)
	c, logBuf := testClient(t, srv.URL, testPass)
	ctx := t.Context()
	var errs []string
	for i := range 6 {
		s.mu.Lock()
		switch i {
		case 1:
			s.lose = 1
		case 2:
			s.html = 1
		case 3:
			s.codes = []int{127}
		case 4:
			s.codes = []int{114}
		}
		s.mu.Unlock()
		if _, err := c.UserInfo(ctx); err != nil {
			errs = append(errs, err.Error(), fmt.Sprintf("%+v %#v", err, err))
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.UserInfo(cctx); err != nil {
		errs = append(errs, err.Error())
	}
	errs = append(errs, fmt.Sprintf("%+v %#v %+v", c.idle, c.idle, *c.idle[0]))
	if len(errs) == 0 {
		t.Fatal("no errors to check")
	}
	all := logBuf.String() + strings.Join(errs, "\n")
	if !strings.Contains(logBuf.String(), "user/get_info") {
		t.Fatalf("log has no calls: %s", logBuf.String())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sec := range s.secrets {
		if len(sec) >= 6 && strings.Contains(all, sec) {
			t.Errorf("secret %.12s… leaked into the log or an error:\n%s", sec, all)
		}
	}
	if strings.Contains(all, url.QueryEscape(testPass)) {
		t.Error("encoded password leaked")
	}
}
