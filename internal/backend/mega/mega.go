package mega

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/internal/keyed"
	"ferry/internal/backend/internal/options"
	"ferry/internal/backend/internal/secret"
	"ferry/internal/retry"
	megaclient "ferry/mega"
)

// Type registers the MEGA backend.
var Type = backend.Type{
	Name:        "mega",
	Description: "MEGA",
	Options: []backend.Option{
		{Name: optUser, Help: "E-mail address of the MEGA account.", Required: true},
		{Name: optPass, Help: "Password of the MEGA account.", Required: true, Secret: true},
		{Name: optURL, Help: "MEGA API URL.\nChange it only to use a MEGA-compatible server, such as `ferry serve mega`.",
			Default: megaclient.DefaultAPIURL, Advanced: true,
			Examples: []string{megaclient.DefaultAPIURL, "http://127.0.0.1:4430"}},
		{Name: optHardDelete, Help: "Delete files permanently instead of moving them to the rubbish bin.",
			Default: "false", Advanced: true, Bool: true},
		{Name: optDebug, Help: "Log every MEGA API call (with -vv), secrets redacted.",
			Default: "false", Advanced: true, Bool: true},
		{Name: optCacheKey, Help: "Random key of the session cache, made by `ferry config` (never asked).\nWith it, resuming the cached session costs no password stretching.",
			Secret: true, Advanced: true, Generated: true},
	},
	New:       New,
	Reconnect: Reconnect,
}

// Option names.
const (
	optUser       = options.User
	optPass       = options.Pass
	optCacheKey   = "cache_key"
	optURL        = options.URL
	optHardDelete = "hard_delete"
	optDebug      = "debug"
)

// Log attribute keys.
const (
	logKeyRemote = "remote"
	logKeyErr    = "err"
	logKeyPath   = "path"
	logKeyHandle = "handle"
	logKeyCount  = "count"
	logKeyDur    = "dur"
	logKeyUser   = "user"
)

// pollEvery is how often reads look for changes made by other clients
// (action packets) while a backend is open.
const pollEvery = 5 * time.Second

// replaceTimeout bounds removing the old file after a Put or Move that
// replaced it; that step runs even if the caller's ctx was cancelled, so
// a finished upload does not leave two files with one name.
const replaceTimeout = 2 * time.Minute

// config is a parsed remote configuration.
type config struct {
	remote     string
	user       string
	pass       secret.String
	cacheKey   secret.String // "" when the remote has none
	url        string
	hardDelete bool
	debug      bool
}

// parseConfig validates a remote's configuration. Errors name the remote
// and the option, never a secret value.
func parseConfig(remote string, cfg backend.ConfigMap) (config, error) {
	c := config{remote: remote, cacheKey: secret.String(cfg[optCacheKey])}
	user, pass, url, err := options.Account("mega", remote, cfg, megaclient.DefaultAPIURL)
	if err != nil {
		return c, err
	}
	c.user, c.pass, c.url = user, secret.String(pass), url
	if c.hardDelete, err = options.Bool("mega", remote, optHardDelete, cfg[optHardDelete]); err != nil {
		return c, err
	}
	if c.debug, err = options.Bool("mega", remote, optDebug, cfg[optDebug]); err != nil {
		return c, err
	}
	return c, nil
}

// Backend is a MEGA remote rooted at a folder of the Cloud Drive. It is
// safe for concurrent use. Close it to save the session cache.
type Backend struct {
	cfg   config
	root  string // folder path inside the Cloud Drive, contract form
	c     *megaclient.Client
	log   *slog.Logger
	store *sessionStore

	// dirty is set by every mutation: the tree changed since the cache
	// was written.
	dirty atomic.Bool

	// dirMu serializes folder creation, so concurrent Puts into a new
	// folder create it once.
	dirMu sync.Mutex
	// names serializes Put, Move and Remove per destination path.
	names keyed.Mutex

	// mutating is held (shared) by every mutation and exclusively by
	// refresh, so action packets fetched before a mutation are never
	// applied after it (they would revert the local tree for a moment).
	mutating sync.RWMutex
	pollMu   sync.Mutex // guards lastPoll
	lastPoll time.Time

	closeOnce sync.Once
	closeErr  error

	notify notifier // ChangeNotify's listeners

	files fileCache // download URLs of ranged reads
}

// Compile-time checks of the capabilities.
var (
	_ backend.Backend        = (*Backend)(nil)
	_ backend.Mover          = (*Backend)(nil)
	_ backend.Purger         = (*Backend)(nil)
	_ backend.PublicLinker   = (*Backend)(nil)
	_ backend.Abouter        = (*Backend)(nil)
	_ backend.CleanUpper     = (*Backend)(nil)
	_ backend.DuplicateNamer = (*Backend)(nil)
	_ backend.ModTimeSetter  = (*Backend)(nil)
	_ backend.Precisioner    = (*Backend)(nil)
	_ backend.Closer         = (*Backend)(nil)
	_ backend.ChangeNotifier = (*Backend)(nil)
)

// New opens the MEGA remote named remote, rooted at the Cloud Drive folder
// root. It resumes the session cached in env.CacheDir when it can (no
// login), and otherwise logs in once and caches the new session. ctx is
// used only during New.
func New(ctx context.Context, remote string, cfg backend.ConfigMap, root string, env backend.Env) (backend.Backend, error) {
	b, err := newBackend(remote, cfg, root, env)
	if err != nil {
		return nil, err
	}
	if err := b.connect(ctx, env.Prompt); err != nil {
		return nil, err
	}
	return b, nil
}

// Reconnect drops the remote's cached session and logs in afresh, asking
// for a two-factor PIN through env.Prompt when the account needs one, then
// caches the new session and tree.
func Reconnect(ctx context.Context, remote string, cfg backend.ConfigMap, env backend.Env) error {
	b, err := newBackend(remote, cfg, "", env)
	if err != nil {
		return err
	}
	if err := b.store.drop(); err != nil {
		return fmt.Errorf("mega remote %q: drop the session cache: %w", remote, err)
	}
	if err := b.loginLocked(ctx, env.Prompt); err != nil {
		return err
	}
	return b.Close()
}

// newBackend builds a Backend without doing I/O. tweak, if set, adjusts
// the client options (tests use it for fast retries).
func newBackend(remote string, cfg backend.ConfigMap, root string, env backend.Env, tweak ...func(*megaclient.Options)) (*Backend, error) {
	conf, err := parseConfig(remote, cfg)
	if err != nil {
		return nil, err
	}
	root, err = backend.Clean(root)
	if err != nil {
		return nil, fmt.Errorf("mega remote %q: root: %w", remote, err)
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With(slog.String(logKeyRemote, remote))
	b := &Backend{
		cfg:   conf,
		root:  root,
		log:   log,
		store: newSessionStore(env.CacheDir, conf),
	}
	opts := megaclient.Options{APIURL: conf.url, Logger: log, Debug: conf.debug, OnChange: b.notify.changed,
		Dial: env.Dial, Retry: retry.Policy{MaxAttempts: env.LowLevelRetries}}
	for _, f := range tweak {
		f(&opts)
	}
	b.c = megaclient.New(opts)
	return b, nil
}

// String names the backend as remote:root.
func (b *Backend) String() string { return b.cfg.remote + ":" + b.root }

// Precision is MEGA's mtime precision: the `c` attribute stores seconds.
func (b *Backend) Precision() time.Duration { return time.Second }

// Close saves the session and the tree to the cache so the next command
// starts warm. It is idempotent. The client stays usable, but later
// changes are saved only by a later New's Close.
func (b *Backend) Close() error {
	b.closeOnce.Do(func() {
		if err := b.save(false); err != nil {
			b.closeErr = fmt.Errorf("mega remote %q: save the session cache: %w", b.cfg.remote, err)
		}
	})
	return b.closeErr
}
