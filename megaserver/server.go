package megaserver

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"ferry/internal/metadb"
)

// Options configure a Server. The zero value of every field except Dir is
// useful.
type Options struct {
	// Dir is the data directory: meta.db (bbolt) and blobs/. Required.
	Dir string
	// Logger receives operator logs; nil discards them. Secrets (session
	// ids, tokens, keys) are never logged.
	Logger *slog.Logger
	// Faults injects errors for client tests; the zero value injects none.
	Faults Faults
	// HashcashEasiness, when 1..255, makes every login (`us`) answer HTTP 402
	// with an X-Hashcash challenge of that easiness until the client sends a
	// valid proof. 0 turns hashcash off.
	HashcashEasiness int
	// BaseURL is the scheme and host used in upload, download and wait URLs
	// (for example "https://mega.example.org"). Empty means "http://" plus
	// the request's Host header.
	BaseURL string
	// WaitTimeout bounds how long a wait URL (`w` of `sc`) blocks when
	// nothing changes. Default 30s.
	WaitTimeout time.Duration
	// MaxRequestBytes bounds a command (/cs) request body. Default 16 MiB.
	MaxRequestBytes int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Limits bound connections, timeouts and the work one request or user
	// may cause; zero fields take DefaultLimits.
	Limits Limits
}

// Log attribute keys.
const (
	logKeyErr      = "err"
	logKeyCmd      = "cmd"
	logKeyUser     = "user"
	logKeyEndpoint = "endpoint"
	logKeyCode     = "code"
	logKeyDir      = "dir"
	logKeyPanic    = "panic"
	logKeyStack    = "stack"
	logKeyCount    = "count"
	logKeyFault    = "fault"
	logKeyLimit    = "limit"
	logKeyOpen     = "open"
	logKeyRefused  = "refused"
	logKeyEvicted  = "evicted"
)

const (
	defaultWaitTimeout     = 30 * time.Second
	defaultMaxRequestBytes = 16 << 20
	janitorInterval        = 30 * time.Second
)

// Server is a persistent, multi-user, MEGA-compatible API server. It
// implements http.Handler; serve it with net/http over HTTP/1.1. All
// methods are safe for concurrent use.
type Server struct {
	opts    Options
	limits  Limits // opts.Limits with defaults
	log     *slog.Logger
	db      *bolt.DB
	commits *committer // the write transactions of commands
	blobDir string
	tmpDir  string
	secret  []byte // HMAC key for stateless download and wait tokens
	faults  *faultInjector
	closing chan struct{} // closed by Close
	// journalKeep is how many event batches per user stay pollable.
	journalKeep uint64

	inflight sync.WaitGroup // ServeHTTP calls in progress
	janitor  sync.WaitGroup

	mu sync.Mutex // guards the fields below
	// closed is set by Close; ServeHTTP refuses new requests afterwards.
	closed bool
	// uploads are the upload slots by URL token.
	uploads map[string]*uploadSlot
	// completions are finished uploads awaiting `p`, by completion token.
	completions map[string]*completion
	// notify holds one channel per user that is closed when that user's
	// event counter advances.
	notify map[string]chan struct{}
	// challenges are the outstanding hashcash tokens (b64) and their expiry.
	challenges map[string]time.Time
	// logins counts login attempts per e-mail; loginTimes keeps the recent
	// ones for the login limit.
	logins     map[string]int
	loginTimes map[string][]time.Time
	// replay caches recent replies by (session, request id).
	replay *replayCache
	// servers and limiters are those started by Serve.
	servers  []*http.Server
	limiters []*connLimiter
	// walks counts the whole-tree walks running per user.
	walks map[string]int
	// quotas caches each user's per-root usage (uq's cstrgn) as of an event
	// counter value.
	quotas map[string]quotaCache
}

// Open opens (creating if needed) the store in opts.Dir, removes temporary
// files and orphan blobs left by a crash, and returns a Server ready to
// serve. A directory can be open in one Server (or process) at a time.
func Open(opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("megaserver: Options.Dir is empty")
	}
	if opts.HashcashEasiness < 0 || opts.HashcashEasiness > 255 {
		return nil, fmt.Errorf("megaserver: hashcash easiness %d out of range 0..255", opts.HashcashEasiness)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.WaitTimeout <= 0 {
		opts.WaitTimeout = defaultWaitTimeout
	}
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = defaultMaxRequestBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	s := &Server{
		opts:        opts,
		limits:      opts.Limits.withDefaults(),
		log:         opts.Logger,
		blobDir:     filepath.Join(opts.Dir, "blobs"),
		tmpDir:      filepath.Join(opts.Dir, "tmp"),
		closing:     make(chan struct{}),
		journalKeep: defaultJournalKeep,
		uploads:     make(map[string]*uploadSlot),
		completions: make(map[string]*completion),
		notify:      make(map[string]chan struct{}),
		challenges:  make(map[string]time.Time),
		logins:      make(map[string]int),
		loginTimes:  make(map[string][]time.Time),
		replay:      newReplayCache(replayCacheEntries),
		walks:       make(map[string]int),
		quotas:      make(map[string]quotaCache),
	}
	fi, err := newFaultInjector(opts.Faults)
	if err != nil {
		return nil, err
	}
	s.faults = fi
	for _, d := range []string{opts.Dir, s.blobDir, s.tmpDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("megaserver: %w", err)
		}
	}
	db, err := metadb.Open(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("megaserver: %w", err)
	}
	s.db = db
	s.commits = &committer{db: db} // concurrent clients' commands share an fsync
	if err := s.initStore(); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.recoverFiles(); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.pruneReplayRecords(s.now()); err != nil {
		db.Close()
		return nil, fmt.Errorf("megaserver: prune replay records: %w", err)
	}
	s.janitor.Add(1)
	go s.runJanitor()
	return s, nil
}

// Close stops the server: it wakes blocked wait requests, waits for the
// requests in progress, stops background work, drops in-progress uploads
// and closes the store. Serve the handler with an http.Server that is shut
// down before or concurrently with Close.
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
	s.janitor.Wait()

	s.mu.Lock()
	slots := s.uploads
	s.uploads = make(map[string]*uploadSlot)
	s.mu.Unlock()
	for _, u := range slots {
		u.discard()
	}
	return s.db.Close()
}

// enter registers a request; it reports false once Close has begun.
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

// ServeHTTP routes MEGA API requests: /cs (commands), /sc and /wsc (event
// channel), /ul/ (upload data) and /dl/ (download data). Duplicate slashes
// in the path are ignored.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		http.Error(w, "server closed", http.StatusServiceUnavailable)
		return
	}
	defer s.inflight.Done()
	rw := &trackingWriter{ResponseWriter: w, rc: http.NewResponseController(w), writeTimeout: s.limits.WriteTimeout}
	rw.extendWrite() // also replaces a deadline left by an earlier request
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 && s.limits.BodyTimeout > 0 {
		r.Body = newBodyGuard(w, r, s.limits)
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler { //nolint:errorlint // sentinel value, not a wrapped error
				panic(v)
			}
			s.log.Error("panic serving request", logKeyPanic, fmt.Sprint(v), logKeyStack, string(debug.Stack()))
			if !rw.wrote {
				writeRaw(rw, http.StatusInternalServerError, "application/json", []byte("-1"))
			}
		}
	}()
	h := rw.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "X-Hashcash")
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Headers", "Content-Type, X-Hashcash")
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		rw.WriteHeader(http.StatusNoContent)
		return
	}
	p := collapseSlashes(r.URL.Path)
	switch {
	case p == "/cs":
		s.serveCS(rw, r)
	case p == "/sc":
		s.serveSC(rw, r)
	case p == "/wsc" || strings.HasPrefix(p, "/wsc/"):
		s.serveWait(rw, r, strings.TrimPrefix(strings.TrimPrefix(p, "/wsc"), "/"))
	case strings.HasPrefix(p, "/ul/"):
		s.serveUpload(rw, r, strings.TrimPrefix(p, "/ul/"))
	case strings.HasPrefix(p, "/dl/"):
		s.serveDownload(rw, r, strings.TrimPrefix(p, "/dl/"))
	default:
		http.NotFound(rw, r)
	}
}

// trackingWriter remembers whether anything was written, so the panic
// handler knows whether it can still send an error. It keeps Flush and
// Hijack reachable through http.ResponseController.
//
// It also pushes the connection's write deadline forward as data leaves
// (Limits.WriteTimeout), so a client that stops reading is cut while a
// long download at any ordinary speed is not.
type trackingWriter struct {
	http.ResponseWriter
	wrote        bool
	rc           *http.ResponseController
	writeTimeout time.Duration
	nextExtend   time.Time
}

func (t *trackingWriter) WriteHeader(code int) {
	t.wrote = true
	t.extendWrite()
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackingWriter) Write(b []byte) (int, error) {
	t.wrote = true
	t.extendWrite()
	return t.ResponseWriter.Write(b)
}

// ReadFrom keeps the underlying writer's sendfile path for downloads.
func (t *trackingWriter) ReadFrom(r io.Reader) (int64, error) {
	t.wrote = true
	return t.readFrom(r)
}

func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// collapseSlashes turns runs of '/' into one (go-mega may send //cs).
func collapseSlashes(p string) string {
	if !strings.Contains(p, "//") {
		return p
	}
	var b strings.Builder
	b.Grow(len(p))
	prev := byte(0)
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '/' && prev == '/' {
			continue
		}
		b.WriteByte(c)
		prev = c
	}
	return b.String()
}

// writeRaw writes a complete response with an exact Content-Length.
func writeRaw(w http.ResponseWriter, status int, contentType string, body []byte) {
	h := w.Header()
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeCode writes a bare MEGA error number as the whole body.
func writeCode(w http.ResponseWriter, code int) {
	writeRaw(w, http.StatusOK, "application/json", fmt.Appendf(nil, "%d", code))
}

// baseURL is the scheme://host prefix of URLs handed to clients.
func (s *Server) baseURL(r *http.Request) string {
	if s.opts.BaseURL != "" {
		return s.opts.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// randomBytes returns n bytes from crypto/rand.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("megaserver: crypto/rand: %v", err)) // crypto/rand never fails on supported systems
	}
	return b
}

// sleepCtx sleeps for d or until ctx ends or the server closes.
func (s *Server) sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-s.closing:
	}
}

// runJanitor expires upload slots, unclaimed completed uploads, hashcash
// challenges, replay entries and login windows until Close.
func (s *Server) runJanitor() {
	defer s.janitor.Done()
	interval := janitorInterval
	if ttl := s.limits.UploadIdleTTL; ttl > 0 {
		interval = max(min(interval, ttl/4), 10*time.Millisecond)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	lastPrune := s.now()
	for {
		select {
		case <-s.closing:
			return
		case <-t.C:
		}
		now := s.now()
		s.expireUploads(now)
		s.expireChallenges(now)
		s.replay.expire(now)
		s.expireLoginTimes(now)
		if now.Sub(lastPrune) > replayPruneInterval {
			lastPrune = now
			if err := s.pruneReplayRecords(now); err != nil {
				s.log.Warn("prune replay records", logKeyErr, err)
			}
		}
	}
}
