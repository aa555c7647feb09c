// Package megaservertest starts a megaserver on 127.0.0.1 for tests, like
// net/http/httptest, with seeded accounts:
//
//	ts := megaservertest.Start(t)
//	// point a MEGA client at ts.URL and log in as
//	// megaservertest.UserV2 / megaservertest.PasswordV2
//
// The server stores its data in t.TempDir() (or the directory of WithDir,
// to test restarts) and is closed by t.Cleanup. Accounts are generated once
// per test binary and cached, so each Start costs milliseconds, not an RSA
// key generation.
package megaservertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
	"ferry/megaserver"
)

// Seeded accounts: a v2 (PBKDF2) account and a legacy v1 account, both with
// RSA keys.
const (
	UserV2     = "alice@example.com"
	PasswordV2 = "correct horse battery staple"
	UserV1     = "bob@example.com"
	PasswordV1 = "tr0ub4dor&3"
)

// TestServer is a running server.
type TestServer struct {
	// URL is the API base, "http://127.0.0.1:PORT" (no trailing slash).
	URL string
	// Server is the handler; use it for AddUser, Logins, ...
	Server *megaserver.Server
	// Dir is the data directory.
	Dir string

	served    chan struct{}
	closeOnce sync.Once
}

type config struct {
	dir         string
	faults      string
	hashcash    int
	logger      *slog.Logger
	waitTimeout time.Duration
	noSeed      bool
	limits      megaserver.Limits
	maxRequest  int64
}

// Option configures Start.
type Option func(*config)

// WithFaults sets a fault spec (megaserver.ParseFaults syntax).
func WithFaults(spec string) Option { return func(c *config) { c.faults = spec } }

// WithHashcash makes logins answer a hashcash challenge of easiness e
// (255 is the cheapest).
func WithHashcash(e int) Option { return func(c *config) { c.hashcash = e } }

// WithDir uses dir as the data directory instead of a fresh t.TempDir(),
// so a test can stop a server and start another on the same data.
func WithDir(dir string) Option { return func(c *config) { c.dir = dir } }

// WithLogger sets the server logger (default: text to t.Output()).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithWaitTimeout sets how long wait URLs block (default 30s).
func WithWaitTimeout(d time.Duration) Option { return func(c *config) { c.waitTimeout = d } }

// WithLimits sets the server's limits (zero fields take
// megaserver.DefaultLimits).
func WithLimits(l megaserver.Limits) Option { return func(c *config) { c.limits = l } }

// WithMaxRequestBytes bounds a /cs request body (default 16 MiB).
func WithMaxRequestBytes(n int64) Option { return func(c *config) { c.maxRequest = n } }

// WithoutSeedUsers skips creating UserV2 and UserV1.
func WithoutSeedUsers() Option { return func(c *config) { c.noSeed = true } }

// Start opens a server and serves it on 127.0.0.1:0 until the test ends.
func Start(t testing.TB, opts ...Option) *TestServer {
	t.Helper()
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.dir == "" {
		cfg.dir = t.TempDir()
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	faults, err := megaserver.ParseFaults(cfg.faults)
	if err != nil {
		t.Fatalf("megaservertest: %v", err)
	}
	srv, err := megaserver.Open(megaserver.Options{
		Dir:              cfg.dir,
		Logger:           cfg.logger,
		Faults:           faults,
		HashcashEasiness: cfg.hashcash,
		WaitTimeout:      cfg.waitTimeout,
		Limits:           cfg.limits,
		MaxRequestBytes:  cfg.maxRequest,
	})
	if err != nil {
		t.Fatalf("megaservertest: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		t.Fatalf("megaservertest: listen: %v", err)
	}
	ts := &TestServer{
		URL:    "http://" + ln.Addr().String(),
		Server: srv,
		Dir:    cfg.dir,
		served: make(chan struct{}),
	}
	go func() {
		defer close(ts.served)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(ts.Close)
	if !cfg.noSeed {
		ts.AddUser(t, UserV2, PasswordV2, UserOpts{})
		ts.AddUser(t, UserV1, PasswordV1, UserOpts{V1: true})
	}
	return ts
}

// Close stops serving and closes the server; the data directory stays.
// It is idempotent and also runs at the end of the test.
func (ts *TestServer) Close() {
	ts.closeOnce.Do(func() {
		_ = ts.Server.Close() // stops Serve too
		<-ts.served
	})
}

// UserOpts selects the kind of account AddUser creates.
type UserOpts struct {
	V1         bool   // legacy v1 account
	NoKeys     bool   // no RSA key pair (logs in with tsid, SDK style)
	MFASecret  []byte // TOTP secret; nil = no 2FA
	QuotaBytes int64  // 0 = unlimited
	Name       string
}

// AddUser creates an account (if the e-mail has none yet: with WithDir the
// account may survive from an earlier server) and returns its user handle,
// or "" if it already existed.
func (ts *TestServer) AddUser(t testing.TB, email, password string, opts UserOpts) string {
	t.Helper()
	a, err := Account(email, password, megacrypto.AccountOptions{V1: opts.V1, NoKeys: opts.NoKeys})
	if err != nil {
		t.Fatalf("megaservertest: account %s: %v", email, err)
	}
	h, err := ts.Server.AddUser(context.Background(), a, megaserver.UserOptions{
		Name: opts.Name, MFASecret: opts.MFASecret, QuotaBytes: opts.QuotaBytes,
	})
	if errors.Is(err, fs.ErrExist) {
		return ""
	}
	if err != nil {
		t.Fatalf("megaservertest: %v", err)
	}
	return h
}

type accountEntry struct {
	once sync.Once
	acct *megacrypto.Account
	err  error
}

var accounts sync.Map // key -> *accountEntry

// Account returns the signup values for (email, password, opts), computed
// once per test binary: RSA key generation is the slow part of signup.
func Account(email, password string, opts megacrypto.AccountOptions) (*megacrypto.Account, error) {
	key := fmt.Sprintf("%q|%q|%t|%t", email, password, opts.V1, opts.NoKeys)
	v, _ := accounts.LoadOrStore(key, &accountEntry{})
	e := v.(*accountEntry)
	e.once.Do(func() {
		e.acct, e.err = megacrypto.NewAccount(email, []byte(password), opts, rand.Reader)
	})
	return e.acct, e.err
}

// Session is a logged-in session obtained by Login.
type Session struct {
	SID       string // for ?sid=
	User      string // user handle
	MasterKey []byte
}

// Login logs in like a client (us0, us, csid or tsid) and fails the test on
// error.
func (ts *TestServer) Login(t testing.TB, email, password string) *Session {
	t.Helper()
	s, err := ts.TryLogin(context.Background(), email, password, "")
	if err != nil {
		t.Fatalf("megaservertest: login %s: %v", email, err)
	}
	return s
}

// TryLogin logs in with an optional 2FA pin, solving hashcash challenges.
// Server refusals are *megaapi.Error.
func (ts *TestServer) TryLogin(ctx context.Context, email, password, pin string) (*Session, error) {
	var pre megaapi.PreloginReply
	if err := ts.call(ctx, "", megaapi.PreloginRequest{A: "us0", User: email}, &pre); err != nil {
		return nil, err
	}
	req := megaapi.LoginRequest{A: "us", User: email, MFA: pin}
	var pwKey []byte
	switch pre.V {
	case 1:
		pwKey = megacrypto.PrepareKey([]byte(password))
		req.UH = megacrypto.UserHashV1(email, pwKey)
	case 2:
		salt, err := megacrypto.B64Decode(pre.Salt)
		if err != nil {
			return nil, err
		}
		var authKey []byte
		pwKey, authKey = megacrypto.DeriveV2([]byte(password), salt)
		req.UH = megacrypto.B64Encode(authKey)
		req.Sek = megacrypto.B64Encode(make([]byte, 16))
	default:
		return nil, fmt.Errorf("us0: version %d", pre.V)
	}
	var rep megaapi.LoginReply
	if err := ts.call(ctx, "", req, &rep); err != nil {
		return nil, err
	}
	wk, err := megacrypto.B64Decode(rep.Key)
	if err != nil {
		return nil, err
	}
	mk, err := megacrypto.DecryptKey(pwKey, wk)
	if err != nil {
		return nil, err
	}
	s := &Session{User: rep.User, MasterKey: mk}
	if rep.TSID != "" {
		s.SID = rep.TSID
		return s, nil
	}
	key, err := megacrypto.DecodePrivateKey(mk, rep.Privk)
	if err != nil {
		return nil, err
	}
	if s.SID, err = megacrypto.DecryptSessionID(key, rep.CSID); err != nil {
		return nil, err
	}
	return s, nil
}

// call posts one command and decodes its result, solving hashcash.
func (ts *TestServer) call(ctx context.Context, sid string, cmd, out any) error {
	body, err := json.Marshal([]any{cmd})
	if err != nil {
		return err
	}
	url := ts.URL + "/cs?id=" + strconv.FormatInt(time.Now().UnixNano(), 10)
	if sid != "" {
		url += "&sid=" + sid
	}
	hashcash := ""
	for range 5 {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		if hashcash != "" {
			req.Header.Set("X-Hashcash", hashcash)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode == http.StatusPaymentRequired {
			e, tok, err := megacrypto.ParseHashcash(resp.Header.Get("X-Hashcash"))
			if err != nil {
				return err
			}
			if hashcash, err = megacrypto.SolveHashcash(ctx, tok, e, 2); err != nil {
				return err
			}
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("cs: HTTP %s", resp.Status)
		}
		var code int
		if json.Unmarshal(data, &code) == nil {
			return &megaapi.Error{Code: megaapi.ErrorCode(code)}
		}
		var results []json.RawMessage
		if err := json.Unmarshal(data, &results); err != nil || len(results) != 1 {
			return fmt.Errorf("cs: bad reply %q", data)
		}
		if json.Unmarshal(results[0], &code) == nil && code < 0 {
			return &megaapi.Error{Code: megaapi.ErrorCode(code), Cmd: commandName(cmd)}
		}
		return json.Unmarshal(results[0], out)
	}
	return errors.New("cs: hashcash challenge not accepted")
}

func commandName(cmd any) string {
	b, _ := json.Marshal(cmd)
	var h megaapi.Command
	_ = json.Unmarshal(b, &h)
	return h.A
}
