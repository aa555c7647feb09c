package mediafire

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ferry/internal/retry"
)

// Defaults for zero fields of Options.
const (
	DefaultBaseURL      = "https://www.mediafire.com"
	DefaultAPIVersion   = "1.5"
	DefaultAppID        = "45593" // duplicity's application id, which needs no API key
	DefaultPollDeadline = 2 * time.Minute
)

// Options configure a Client. Email and Password are required.
type Options struct {
	// BaseURL is the service's address without "/api"; "" means
	// DefaultBaseURL. Tests point it at the stand-in server.
	BaseURL string
	// APIVersion is the "1.5" in /api/1.5/; "" means DefaultAPIVersion.
	APIVersion string
	Email      string
	Password   string
	// AppID is the application id; "" means DefaultAppID.
	AppID string
	// APIKey is the application's API key, for applications that require
	// one in the login signature; usually "".
	APIKey string
	// HTTPClient sends the requests; nil means a client with no overall
	// timeout (downloads may take long) but a response-header timeout.
	HTTPClient *http.Client
	// Dial, if set, opens the connections of the default HTTP client
	// (ignored with HTTPClient).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Logger gets one debug line per API call (method, status, duration;
	// never a secret); nil discards.
	Logger *slog.Logger
	// Retry is the backoff policy of calls; its zero value is
	// retry.Policy's (Op is set per call).
	Retry retry.Policy
	// PollDeadline bounds waiting for an upload to be processed; 0 means
	// DefaultPollDeadline.
	PollDeadline time.Duration
	// PollInterval is the first wait between polls (doubling to 2 s);
	// 0 means 250 ms.
	PollInterval time.Duration
	// UploadConcurrency is how many resumable units are sent at once;
	// 0 means 2.
	UploadConcurrency int
	// Sessions is how many session tokens the client holds at most, each
	// with its own key and its own serialised calls, so that this many
	// signed calls run at once; 0 means DefaultSessions, and more than
	// MaxSessions is refused (the service invalidates older tokens when
	// an account mints too many).
	Sessions int
}

// Session pool sizes (Options.Sessions).
const (
	DefaultSessions = 2
	MaxSessions     = 3
)

// secret is a string that never prints.
type secret string

func (secret) String() string { return "REDACTED" }

// GoString is String, so %#v does not print the secret either.
func (s secret) GoString() string { return s.String() }

// LogValue implements slog.LogValuer.
func (secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// slot is one session of the pool. Its calls are serialised by holding
// it: sess is used and changed only by the slot's holder.
type slot struct {
	sess    *session // nil until logged in, and after a call lost the key
	seq     int64    // the login (Client.logins) that made sess
	retired bool     // set by its holder: release drops the slot
}

// session is a logged-in session token and its signing state.
type session struct {
	token secret
	key   uint64 // the secret key; 0 for a version 1 token (unsigned)
	time  string // the login's time, verbatim
}

// String hides the whole session: fmt prints unexported fields without
// their String methods, so the session redacts itself.
func (*session) String() string { return "mediafire session (REDACTED)" }

// GoString is String.
func (s *session) GoString() string { return s.String() }

// LogValue implements slog.LogValuer.
func (*session) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Client is a MediaFire API client for one account. It is safe for
// concurrent use; see the package doc for how calls are serialised.
type Client struct {
	opts   Options
	pass   secret
	base   string // BaseURL without a trailing slash
	prefix string // "/api/1.5/"
	hc     *http.Client
	log    *slog.Logger

	// sem counts the slots in use: a value is sent for each slot taken
	// from idle, so a caller waits (ctx-aware) while all are busy.
	sem    chan struct{}
	idleMu sync.Mutex // guards idle and active
	idle   []*slot    // slots not in use, the most recently used last
	active int        // slots not retired
	logins atomic.Int64

	actMu  sync.Mutex // guards act
	act    actionToken
	counts counter
}

// actionToken is a cached upload action token.
type actionToken struct {
	token   secret
	expires time.Time
}

// counter counts requests by API method.
type counter struct {
	mu sync.Mutex // guards m
	m  map[string]int
	n  atomic.Int64
}

func (c *counter) add(method string) {
	c.n.Add(1)
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	c.m[method]++
	c.mu.Unlock()
}

// New returns a client; it does no I/O (the first call logs in).
func New(opts Options) (*Client, error) {
	if strings.TrimSpace(opts.Email) == "" {
		return nil, errors.New("mediafire: an e-mail address is required")
	}
	if opts.Password == "" {
		return nil, errors.New("mediafire: a password is required")
	}
	base := strings.TrimRight(strings.TrimSpace(opts.BaseURL), "/")
	if base == "" {
		base = DefaultBaseURL
	}
	if !strings.HasPrefix(base, "https://") && !strings.HasPrefix(base, "http://") {
		return nil, fmt.Errorf("mediafire: base URL %q is not an http(s) URL", base)
	}
	n := opts.Sessions
	if n == 0 {
		n = DefaultSessions
	}
	if n < 0 || n > MaxSessions {
		return nil, fmt.Errorf("mediafire: %d sessions: want 1 to %d", n, MaxSessions)
	}
	ver := opts.APIVersion
	if ver == "" {
		ver = DefaultAPIVersion
	}
	if opts.AppID == "" {
		opts.AppID = DefaultAppID
	}
	c := &Client{
		opts:   opts,
		pass:   secret(opts.Password),
		base:   base,
		prefix: "/api/" + ver + "/",
		hc:     opts.HTTPClient,
		log:    opts.Logger,
		sem:    make(chan struct{}, n),
	}
	for range n {
		c.idle = append(c.idle, &slot{})
	}
	c.active = n
	c.opts.Password = "" // kept only as a secret
	if c.hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.ResponseHeaderTimeout = 2 * time.Minute
		if opts.Dial != nil {
			tr.DialContext = opts.Dial
		}
		c.hc = &http.Client{Transport: tr}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Email is the account's e-mail address.
func (c *Client) Email() string { return c.opts.Email }

// Logins is how many logins the client has made.
func (c *Client) Logins() int { return int(c.logins.Load()) }

// Requests returns the number of HTTP requests made so far by API method
// ("folder/get_info", "download", ...), and their total.
func (c *Client) Requests() (map[string]int, int64) {
	c.counts.mu.Lock()
	defer c.counts.mu.Unlock()
	m := make(map[string]int, len(c.counts.m))
	for k, v := range c.counts.m {
		m[k] = v
	}
	return m, c.counts.n.Load()
}

// acquire takes a slot for one call or login, the most recently used
// idle one (so a client used by one caller at a time keeps one session),
// or fails with ctx's error.
func (c *Client) acquire(ctx context.Context) (*slot, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	c.idleMu.Lock()
	s := c.idle[len(c.idle)-1]
	c.idle = c.idle[:len(c.idle)-1]
	c.idleMu.Unlock()
	return s, nil
}

// release returns a slot taken by acquire. A retired slot is dropped and
// its place in sem kept taken, so the pool shrinks by one.
func (c *Client) release(s *slot) {
	c.idleMu.Lock()
	if s.retired {
		c.idleMu.Unlock()
		return
	}
	c.idle = append(c.idle, s)
	c.idleMu.Unlock()
	<-c.sem
}

// retire marks slot s (held by the caller) to be dropped on release when
// its session was ended (105) after another slot logged in: the account
// allows fewer live tokens than the pool holds, and each login would end
// another session. The last slot is never retired.
func (c *Client) retire(s *slot) {
	if c.logins.Load() <= s.seq {
		return // no login since this session's: not evicted by the pool
	}
	c.idleMu.Lock()
	defer c.idleMu.Unlock()
	if c.active > 1 {
		c.active--
		s.retired = true
	}
}

// Login logs in now (calls log in on demand; Login checks credentials
// early). An existing session is kept.
func (c *Client) Login(ctx context.Context) error {
	return retry.Do(ctx, c.policy("user/get_session_token"), func(ctx context.Context) error {
		s, err := c.acquire(ctx)
		if err != nil {
			return err
		}
		defer c.release(s)
		if s.sess != nil {
			return nil
		}
		return c.login(ctx, s)
	})
}

// policy is the retry policy for one API method.
func (c *Client) policy(op string) retry.Policy {
	p := c.opts.Retry
	p.Op = "mediafire " + op
	return p
}
