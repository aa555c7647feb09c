package mega

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ferry/internal/retry"
	"ferry/mega/megacrypto"
)

// DefaultAPIURL is MEGA's API endpoint.
const DefaultAPIURL = "https://g.api.mega.co.nz"

// EnvAPIURL names the environment variable that overrides the API URL when
// Options.APIURL is empty (go-mega reads the same variable).
const EnvAPIURL = "X_MEGA_API_URL"

// Defaults for zero Options fields.
const (
	DefaultUploadConcurrency   = 4
	DefaultDownloadConcurrency = 4
	DefaultMemoryBudget        = 32 << 20
)

// Log attribute keys.
const (
	logKeyCmd      = "cmd"
	logKeyID       = "id"
	logKeyArgs     = "args"
	logKeyReply    = "reply"
	logKeyDuration = "dur"
	logKeyErr      = "err"
	logKeyAttempt  = "attempt"
	logKeyDelay    = "delay"
	logKeyOp       = "op"
	logKeyBytes    = "bytes"
	logKeySN       = "sn"
	logKeyPackets  = "packets"
	logKeyNodes    = "nodes"
	logKeyUser     = "user"
	logKeyEasiness = "easiness"
)

// Options configure a Client. The zero value is usable.
type Options struct {
	// APIURL is the API base URL. Empty means $X_MEGA_API_URL, or
	// DefaultAPIURL when that is unset too. A trailing "/" is ignored.
	APIURL string
	// HTTPClient sends every request. Nil means a client with a transport
	// tuned for parallel transfers (keep-alive connections for every
	// concurrent request, larger socket buffers).
	HTTPClient *http.Client
	// Dial, if set, opens the connections of the default HTTP client
	// (ignored with HTTPClient); nil means net.Dialer's with a 30 s
	// connect timeout.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Logger receives operator logs; nil discards them. Secrets (session
	// ids, keys, tokens, passwords) are never logged.
	Logger *slog.Logger
	// Retry is the backoff policy for transient failures of every request.
	Retry retry.Policy
	// UploadConcurrency and DownloadConcurrency bound the HTTP requests in
	// flight per transfer. Zero means 4.
	UploadConcurrency, DownloadConcurrency int
	// MemoryBudget bounds the bytes of chunk buffers one transfer holds in
	// flight. Zero means 32 MiB; values below 1 MiB are raised to 1 MiB.
	MemoryBudget int64
	// Debug logs every API call at debug level, with secrets redacted.
	Debug bool
	// OnChange, if set, is called after Poll or Watch applied a batch of
	// action packets (or re-fetched the tree) that changed the local tree.
	// It runs on the polling goroutine and must not block for long.
	OnChange func()
}

// Client is a MEGA client: one account session, its node tree, and the
// transfers. Create it with New, then Login or Resume.
//
// All methods are safe for concurrent use. Methods that do I/O take a
// context first; none keeps it after returning.
type Client struct {
	api      string
	hc       *http.Client
	log      *slog.Logger
	policy   retry.Policy
	upConc   int
	downConc int
	budget   int64
	piece    int64 // bytes per upload POST / download range (whole chunks up to this)
	debug    bool
	onChange func()
	tag      string // `i` of our commands, echoed in their action packets
	// folder is the public handle of the folder link this client browses
	// (OpenFolderLink): every command runs in its context (`n=`), with
	// no session.
	folder string

	seq  atomic.Uint64 // request ids
	pool sync.Pool     // *[]byte chunk buffers of cap piece

	mu   sync.RWMutex // guards sess
	sess state

	treeMu sync.RWMutex // guards tree and gen
	tree   *tree
	gen    uint64 // counts local mutations of any tree, for Poll

	scMu sync.Mutex // serializes Poll and Watch
}

// state is the logged-in session.
type state struct {
	email string
	user  string // user handle, 11 chars
	sid   string
	mk    []byte // master key
	rsa   *megacrypto.RSAKey
}

// New returns a client. It does no I/O.
func New(opts Options) *Client {
	api := opts.APIURL
	if api == "" {
		api = os.Getenv(EnvAPIURL)
	}
	if api == "" {
		api = DefaultAPIURL
	}
	api = strings.TrimRight(api, "/")
	c := &Client{
		api:      api,
		hc:       opts.HTTPClient,
		log:      opts.Logger,
		policy:   opts.Retry,
		upConc:   opts.UploadConcurrency,
		downConc: opts.DownloadConcurrency,
		budget:   opts.MemoryBudget,
		debug:    opts.Debug,
		onChange: opts.OnChange,
		tag:      newTag(),
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.upConc <= 0 {
		c.upConc = DefaultUploadConcurrency
	}
	if c.downConc <= 0 {
		c.downConc = DefaultDownloadConcurrency
	}
	if c.budget <= 0 {
		c.budget = DefaultMemoryBudget
	}
	c.budget = max(c.budget, 1<<20)
	// Four pieces fit the budget; a piece holds at least one 1 MiB chunk
	// and at most 8 MiB. Eight 1 MiB chunks per piece let the MAC run
	// eight chains interleaved (megacrypto.MultiMAC), a third less CPU per
	// byte than four (BenchmarkOpenPiece), and halve the requests.
	c.piece = min(max(c.budget/4, 1<<20), 8<<20)
	if c.hc == nil {
		t := newTransport(max(c.upConc, c.downConc) + 4)
		if opts.Dial != nil {
			t.DialContext = opts.Dial
		}
		c.hc = &http.Client{Transport: t}
	}
	c.seq.Store(uint64(time.Now().UnixNano()) & 0xffffffff)
	return c
}

// newTransport returns an HTTP transport that keeps a connection alive for
// every concurrent request.
func newTransport(conns int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = max(t.MaxIdleConns, 2*conns)
	t.MaxIdleConnsPerHost = 2 * conns
	t.WriteBufferSize = 64 << 10
	t.ReadBufferSize = 64 << 10
	t.IdleConnTimeout = 90 * time.Second
	return t
}

// newTag returns a random 10-character command tag.
func newTag() string {
	var b [8]byte
	rand.Read(b[:])
	return megacrypto.B64Encode(b[:])[:10]
}

// getBuf returns a buffer of length n (at most c.piece) from the pool.
// When the pool is empty, a small n gets a buffer of its own size, which
// putBuf drops: a client uploading small files would otherwise allocate
// (and zero) a whole piece for each after every GC emptied the pool.
func (c *Client) getBuf(n int64) *[]byte {
	if v := c.pool.Get(); v != nil {
		b := v.(*[]byte)
		*b = (*b)[:n]
		return b
	}
	if n < c.piece/8 {
		b := make([]byte, n)
		return &b
	}
	b := make([]byte, n, c.piece)
	return &b
}

// putBuf returns a buffer to the pool.
func (c *Client) putBuf(b *[]byte) {
	if b != nil && int64(cap(*b)) == c.piece {
		c.pool.Put(b)
	}
}

// session returns a copy of the current session state.
func (c *Client) session() state {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.sess
}

// loggedIn returns the session or ErrNotLoggedIn.
func (c *Client) loggedIn() (state, error) {
	s := c.session()
	if s.sid == "" || len(s.mk) != 16 {
		return s, ErrNotLoggedIn
	}
	return s, nil
}
