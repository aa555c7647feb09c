package mediafireserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"ferry/internal/metadb"
)

// Options configure a Server. The zero value of every field except Dir is
// useful.
type Options struct {
	// Dir is the data directory: meta.db (bbolt), blobs/ and units/.
	// Required.
	Dir string
	// Logger receives operator logs; nil discards them. Passwords,
	// session and action tokens, secret keys and signatures are never
	// logged.
	Logger *slog.Logger
	// Faults injects failures for client tests; the zero value injects
	// none. SetFaults changes them while the server runs.
	Faults Faults
	// Apps are the application ids logins may name, each with its API
	// key ("" for none: the key is then left out of the login
	// signature). Nil means DefaultApps.
	Apps map[string]string
	// SessionTTL is how long a session token stays valid after its last
	// use; 0 means 24h. An expired token answers 105.
	SessionTTL time.Duration
	// StorageLimit is each account's storage limit in bytes; 0 means
	// 50 GiB.
	StorageLimit int64
	// MaxSessionsPerUser bounds an account's live session tokens: a login
	// beyond it ends the least recently used one (which then answers 105),
	// as MediaFire caps tokens per account. 0 means 32.
	MaxSessionsPerUser int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// DefaultApps are the applications a server knows without Options.Apps:
// duplicity's application id, which sends no API key.
var DefaultApps = map[string]string{"45593": ""}

// Log attribute keys.
const (
	logKeyErr    = "err"
	logKeyAction = "action"
	logKeyUser   = "user"
	logKeyCode   = "code"
	logKeyCount  = "count"
	logKeyFault  = "fault"
	logKeyPanic  = "panic"
	logKeyStack  = "stack"
)

const (
	defaultSessionTTL   = 24 * time.Hour
	defaultStorageLimit = 50 << 30
	defaultMaxSessions  = 32
	maxParamBytes       = 1 << 20
)

// Server is a persistent, multi-user stand-in for MediaFire's Core API.
// It implements http.Handler. All methods are safe for concurrent use.
type Server struct {
	opts    Options
	log     *slog.Logger
	db      *bolt.DB
	blobDir string
	unitDir string
	tmpDir  string
	secret  []byte // HMAC key of download links
	faults  *faultInjector
	stats   stats
	closing chan struct{}

	inflight sync.WaitGroup

	// unitLocks serialise the units of one resumable upload from the
	// bitmap update to the assembly: upload key -> *sync.Mutex.
	unitLocks sync.Map

	// fileHashes are the running hashes of resumable uploads in memory
	// (see fileHasher): upload key -> *fileHasher.
	fileHashes sync.Map

	// writeMu serialises the store's write transactions with the blob
	// files they add and remove, so a blob is never removed while a
	// transaction that references it is under way.
	writeMu sync.Mutex

	mu       sync.Mutex // guards the fields below
	closed   bool
	sessions map[string]*session     // by session token
	actions  map[string]*actionToken // by action token
	servers  []*http.Server
}

// Open opens (creating if needed) the store in opts.Dir, removes
// temporary files and orphan blobs left by a crash, and returns a Server
// ready to serve. A directory can be open in one Server (or process) at a
// time. Sessions live in memory: after a restart clients get 105 and log
// in again, as they do when a real session expires.
func Open(opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("mediafireserver: Options.Dir is empty")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Apps == nil {
		opts.Apps = DefaultApps
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = defaultSessionTTL
	}
	if opts.StorageLimit <= 0 {
		opts.StorageLimit = defaultStorageLimit
	}
	if opts.MaxSessionsPerUser <= 0 {
		opts.MaxSessionsPerUser = defaultMaxSessions
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	fi, err := newFaultInjector(opts.Faults)
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:     opts,
		log:      opts.Logger,
		blobDir:  filepath.Join(opts.Dir, "blobs"),
		unitDir:  filepath.Join(opts.Dir, "units"),
		tmpDir:   filepath.Join(opts.Dir, "tmp"),
		faults:   fi,
		closing:  make(chan struct{}),
		sessions: make(map[string]*session),
		actions:  make(map[string]*actionToken),
	}
	s.stats.calls = make(map[string]int64)
	for _, d := range []string{opts.Dir, s.blobDir, s.unitDir, s.tmpDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("mediafireserver: %w", err)
		}
	}
	db, err := metadb.Open(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("mediafireserver: %w", err)
	}
	s.db = db
	if err := s.initStore(); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.recoverFiles(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close stops the server: it closes the listeners of Serve, waits for the
// requests in progress and closes the store.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	servers := s.servers
	s.mu.Unlock()
	for _, hs := range servers {
		_ = hs.Close()
	}
	s.inflight.Wait()
	return s.db.Close()
}

// Serve accepts HTTP connections on ln until Shutdown or Close; then it
// returns http.ErrServerClosed. Wrap ln with tls.NewListener (see
// TestCA) to serve HTTPS: download links then say https too.
func (s *Server) Serve(ln net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          log.New(slogWriter{s.log}, "", 0),
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return http.ErrServerClosed
	}
	s.servers = append(s.servers, hs)
	s.mu.Unlock()
	return hs.Serve(ln)
}

// Shutdown stops the listeners of Serve and waits, until ctx ends, for
// the requests in progress. Close the Server afterwards.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	servers := slices.Clone(s.servers)
	s.mu.Unlock()
	var errs []error
	for _, hs := range servers {
		errs = append(errs, hs.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// slogWriter turns net/http's error log lines into warnings.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Warn(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.inflight.Add(1)
	return true
}

func (s *Server) now() time.Time { return s.opts.Now() }

// versionRE matches the version element of /api/<version>/<cat>/<m>.php.
var versionRE = regexp.MustCompile(`^\d+\.\d+$`)

// ServeHTTP routes /api/[<version>/]<category>/<method>.php (GET or POST)
// and the direct download links /download/<token>/<quickkey>/<name> (GET
// or HEAD).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		http.Error(w, "server closed", http.StatusServiceUnavailable)
		return
	}
	defer s.inflight.Done()
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler { //nolint:errorlint // sentinel value, not a wrapped error
				panic(v)
			}
			s.log.Error("panic serving request", logKeyPanic, fmt.Sprint(v), logKeyStack, string(debug.Stack()))
			panic(http.ErrAbortHandler)
		}
	}()
	p := collapseSlashes(r.URL.Path)
	if rest, ok := strings.CutPrefix(p, "/download/"); ok && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		s.serveDownload(w, r, rest)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rest, ok := strings.CutPrefix(p, "/api/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	parts := strings.Split(rest, "/")
	if len(parts) == 3 && versionRE.MatchString(parts[0]) {
		parts = parts[1:]
	}
	if len(parts) != 2 || !strings.HasSuffix(parts[1], ".php") {
		http.NotFound(w, r)
		return
	}
	action := parts[0] + "/" + strings.TrimSuffix(parts[1], ".php")
	s.serveCall(w, r, p, action)
}

// collapseSlashes turns runs of '/' into one.
func collapseSlashes(p string) string {
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	return p
}

// readParams returns a call's parameters (the URL query merged with a
// urlencoded body; for uploads the query alone) and the raw parameter
// string a signature covers: the body of an ordinary POST, else the URL
// query.
func readParams(r *http.Request, upload bool) (url.Values, string, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, "", fmt.Errorf("query: %w", err)
	}
	if upload || r.Method != http.MethodPost || strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		return q, r.URL.RawQuery, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxParamBytes+1))
	if err != nil {
		return nil, "", fmt.Errorf("body: %w", err)
	}
	if len(body) > maxParamBytes {
		return nil, "", errors.New("body: parameters over 1 MiB")
	}
	if len(body) == 0 {
		return q, r.URL.RawQuery, nil
	}
	raw := strings.TrimRight(string(body), "\r\n")
	b, err := url.ParseQuery(raw)
	if err != nil {
		return nil, "", fmt.Errorf("body: %w", err)
	}
	for k, v := range b {
		q[k] = append(q[k], v...)
	}
	return q, raw, nil
}
