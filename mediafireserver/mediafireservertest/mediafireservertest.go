// Package mediafireservertest starts a mediafireserver on 127.0.0.1 for
// tests, like net/http/httptest, with seeded accounts:
//
//	ts := mediafireservertest.Start(t)
//	// point a MediaFire client at ts.URL and log in as
//	// mediafireservertest.User / mediafireservertest.Password with
//	// application id mediafireservertest.AppID
//
// The server stores its data in t.TempDir() (or the directory of WithDir,
// to test restarts) and is closed by t.Cleanup. WithTLS serves HTTPS with
// a test CA; TestServer.Client trusts it.
//
// Session is a minimal signer for raw protocol tests: it logs in, signs
// each call as the protocol spec says and follows new_key. It is a test
// tool, not a client: it neither retries nor logs in again.
package mediafireservertest

import (
	"context"
	"crypto/tls"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"

	"ferry/mediafireserver"
)

// Seeded accounts, and the application id (duplicity's, no API key).
const (
	User      = "alice@example.com"
	Password  = "correct horse battery staple"
	User2     = "bob@example.com"
	Password2 = "tr0ub4dor&3"
	AppID     = "45593"
)

// TestServer is a running server.
type TestServer struct {
	// URL is the API base, "http://127.0.0.1:PORT" or "https://..."
	// with WithTLS (no trailing slash).
	URL string
	// Server is the handler; use it for AddUser, SetFaults, Stats, ...
	Server *mediafireserver.Server
	// Dir is the data directory.
	Dir string
	// CA is the test CA with WithTLS, else nil.
	CA *mediafireserver.TestCA

	served    chan struct{}
	closeOnce sync.Once
}

type config struct {
	maxSessions int
	dir         string
	faults      string
	logger      *slog.Logger
	apps        map[string]string
	noSeed      bool
	tls         bool
}

// Option configures Start.
type Option func(*config)

// WithFaults sets a fault spec (mediafireserver.ParseFaults syntax).
func WithFaults(spec string) Option { return func(c *config) { c.faults = spec } }

// WithDir uses dir as the data directory instead of a fresh t.TempDir(),
// so a test can stop a server and start another on the same data.
func WithDir(dir string) Option { return func(c *config) { c.dir = dir } }

// WithLogger sets the server logger (default: text to t.Output()).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithApps sets the known applications (id -> API key); AppID is added
// when missing.
func WithApps(apps map[string]string) Option { return func(c *config) { c.apps = apps } }

// WithTLS serves HTTPS with a test CA made in the data directory.
func WithTLS() Option { return func(c *config) { c.tls = true } }

// WithMaxSessions sets Options.MaxSessionsPerUser.
func WithMaxSessions(n int) Option { return func(c *config) { c.maxSessions = n } }

// WithoutSeedUsers skips creating User and User2.
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
	faults, err := mediafireserver.ParseFaults(cfg.faults)
	if err != nil {
		t.Fatalf("mediafireservertest: %v", err)
	}
	apps := map[string]string{AppID: ""}
	for k, v := range cfg.apps {
		apps[k] = v
	}
	srv, err := mediafireserver.Open(mediafireserver.Options{
		Dir: cfg.dir, Logger: cfg.logger, Faults: faults, Apps: apps, MaxSessionsPerUser: cfg.maxSessions,
	})
	if err != nil {
		t.Fatalf("mediafireservertest: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		t.Fatalf("mediafireservertest: listen: %v", err)
	}
	ts := &TestServer{URL: "http://" + ln.Addr().String(), Server: srv, Dir: cfg.dir, served: make(chan struct{})}
	if cfg.tls {
		ca, err := mediafireserver.LoadOrCreateTestCA(cfg.dir)
		if err != nil {
			srv.Close()
			t.Fatalf("mediafireservertest: %v", err)
		}
		tc, err := ca.ServerConfig()
		if err != nil {
			srv.Close()
			t.Fatalf("mediafireservertest: %v", err)
		}
		ln = tls.NewListener(ln, tc)
		ts.URL, ts.CA = "https://"+ln.Addr().String(), ca
	}
	go func() {
		defer close(ts.served)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(ts.Close)
	if !cfg.noSeed {
		ts.AddUser(t, User, Password)
		ts.AddUser(t, User2, Password2)
	}
	return ts
}

// Close stops serving and closes the server; the data directory stays.
// It is idempotent and also runs at the end of the test.
func (ts *TestServer) Close() {
	ts.closeOnce.Do(func() {
		_ = ts.Server.Close()
		<-ts.served
	})
}

// AddUser creates an account (if the e-mail has none yet: with WithDir
// it may survive from an earlier server) and returns its user id, or ""
// if it already existed.
func (ts *TestServer) AddUser(t testing.TB, email, password string) string {
	t.Helper()
	id, err := ts.Server.AddUser(context.Background(), email, password, mediafireserver.UserOptions{})
	if errors.Is(err, fs.ErrExist) {
		return ""
	}
	if err != nil {
		t.Fatalf("mediafireservertest: %v", err)
	}
	return id
}

// Client is an HTTP client for the server: http.DefaultClient's
// behaviour, trusting the test CA with WithTLS.
func (ts *TestServer) Client() *http.Client {
	if ts.CA == nil {
		return &http.Client{}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: ts.CA.Pool(), MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr}
}
