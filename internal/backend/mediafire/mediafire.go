package mediafire

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/internal/keyed"
	"ferry/internal/backend/internal/options"
	"ferry/internal/backend/internal/secret"
	"ferry/internal/retry"
	mfclient "ferry/mediafire"
)

// Type registers the MediaFire backend.
var Type = backend.Type{
	Name:        "mediafire",
	Description: "MediaFire",
	Options: []backend.Option{
		{Name: optUser, Help: "E-mail address of the MediaFire account.", Required: true},
		{Name: optPass, Help: "Password of the MediaFire account.", Required: true, Secret: true},
		{Name: optURL, Help: "MediaFire API base URL.\nChange it only to use a MediaFire-compatible server, such as `ferry serve mediafire`.",
			Default: mfclient.DefaultBaseURL, Advanced: true,
			Examples: []string{mfclient.DefaultBaseURL, "http://127.0.0.1:4431"}},
		{Name: optAppID, Help: "Application id used to log in (duplicity's by default, which needs no API key).",
			Default: mfclient.DefaultAppID, Advanced: true},
		{Name: optAPIKey, Help: "API key of the application, for applications that require one in the login signature.",
			Secret: true, Advanced: true},
		{Name: optAPIVersion, Help: "Core API version in the request paths (/api/<version>/).",
			Default: mfclient.DefaultAPIVersion, Advanced: true, Examples: []string{"1.5", "1.3"}},
		{Name: optHardDelete, Help: "Delete files permanently (purge) instead of moving them to the trash.",
			Default: "false", Advanced: true, Bool: true},
	},
	New: New,
}

// Option names.
const (
	optUser       = options.User
	optPass       = options.Pass
	optURL        = options.URL
	optAppID      = "app_id"
	optAPIKey     = "api_key"
	optAPIVersion = "api_version"
	optHardDelete = "hard_delete"
)

// Log attribute keys.
const (
	logKeyRemote = "remote"
	logKeyPath   = "path"
	logKeyErr    = "err"
)

// config is a parsed remote configuration.
type config struct {
	remote     string
	user       string
	pass       secret.String
	url        string
	appID      string
	apiKey     secret.String
	apiVersion string
	hardDelete bool
}

// parseConfig validates a remote's configuration. Errors name the remote
// and the option, never a secret value.
func parseConfig(remote string, cfg backend.ConfigMap) (config, error) {
	c := config{remote: remote, apiKey: secret.String(cfg[optAPIKey])}
	user, pass, url, err := options.Account("mediafire", remote, cfg, mfclient.DefaultBaseURL)
	if err != nil {
		return c, err
	}
	c.user, c.pass, c.url = user, secret.String(pass), url
	c.appID = strings.TrimSpace(cfg[optAppID])
	if c.appID == "" {
		c.appID = mfclient.DefaultAppID
	}
	if _, err := strconv.ParseUint(c.appID, 10, 64); err != nil {
		return c, fmt.Errorf("mediafire remote %q: option %q: %q is not a number", remote, optAppID, c.appID)
	}
	c.apiVersion = strings.TrimSpace(cfg[optAPIVersion])
	if c.apiVersion == "" {
		c.apiVersion = mfclient.DefaultAPIVersion
	}
	if !validVersion(c.apiVersion) {
		return c, fmt.Errorf("mediafire remote %q: option %q: %q is not a version such as 1.5", remote, optAPIVersion, c.apiVersion)
	}
	if c.hardDelete, err = options.Bool("mediafire", remote, optHardDelete, cfg[optHardDelete]); err != nil {
		return c, err
	}
	return c, nil
}

// validVersion reports a version of the form digits.digits.
func validVersion(v string) bool {
	a, b, ok := strings.Cut(v, ".")
	if !ok || a == "" || b == "" {
		return false
	}
	for _, r := range a + b {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Backend is a MediaFire remote rooted at a folder of the account. It is
// safe for concurrent use.
type Backend struct {
	cfg  config
	root string // folder path from the account's root, contract form
	c    *mfclient.Client
	log  *slog.Logger

	dirMu sync.Mutex        // guards dirs
	dirs  map[string]string // full contract path ("" the account root) -> folder key
	// listed holds the full paths whose sub-folders are all in dirs (a
	// listing cached them), so a name missing there is no folder.
	listed map[string]bool
	// mkMu serializes folder creation, so concurrent Puts into a new
	// folder create it once.
	mkMu sync.Mutex

	// names serializes Put, Move and Remove per full path.
	names keyed.Mutex
}

// Compile-time checks of the capabilities.
var (
	_ backend.Backend        = (*Backend)(nil)
	_ backend.Mover          = (*Backend)(nil)
	_ backend.Purger         = (*Backend)(nil)
	_ backend.Abouter        = (*Backend)(nil)
	_ backend.DuplicateNamer = (*Backend)(nil)
	_ backend.ModTimeSetter  = (*Backend)(nil)
	_ backend.Precisioner    = (*Backend)(nil)
)

// New opens the MediaFire remote named remote, rooted at the folder root
// (created when a Put or Mkdir needs it). It logs in, so wrong
// credentials fail here. ctx is used only during New.
func New(ctx context.Context, remote string, cfg backend.ConfigMap, root string, env backend.Env) (backend.Backend, error) {
	b, err := newBackend(remote, cfg, root, env)
	if err != nil {
		return nil, err
	}
	if err := b.c.Login(ctx); err != nil {
		return nil, fmt.Errorf("mediafire remote %q: log in as %s: %w", remote, b.cfg.user, err)
	}
	return b, nil
}

// newBackend builds a Backend without I/O; tweak adjusts client options
// (tests use it for fast retries).
func newBackend(remote string, cfg backend.ConfigMap, root string, env backend.Env, tweak ...func(*mfclient.Options)) (*Backend, error) {
	conf, err := parseConfig(remote, cfg)
	if err != nil {
		return nil, err
	}
	root, err = backend.Clean(root)
	if err != nil {
		return nil, fmt.Errorf("mediafire remote %q: root: %w", remote, err)
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With(slog.String(logKeyRemote, remote))
	opts := mfclient.Options{
		BaseURL: conf.url, APIVersion: conf.apiVersion, Email: conf.user, Password: string(conf.pass),
		AppID: conf.appID, APIKey: string(conf.apiKey), Logger: log,
		Dial: env.Dial, Retry: retry.Policy{MaxAttempts: env.LowLevelRetries},
	}
	for _, f := range tweak {
		f(&opts)
	}
	c, err := mfclient.New(opts)
	if err != nil {
		return nil, fmt.Errorf("mediafire remote %q: %w", remote, err)
	}
	return &Backend{cfg: conf, root: root, c: c, log: log, dirs: map[string]string{"": mfclient.RootKey},
		listed: map[string]bool{}}, nil
}

// String names the backend as remote:root.
func (b *Backend) String() string { return b.cfg.remote + ":" + b.root }

// Precision is a nanosecond: mtimes are kept in the description (see the
// package doc). Files without one show their creation time in seconds.
func (b *Backend) Precision() time.Duration { return time.Nanosecond }

// Client returns the MediaFire client (tests count its requests).
func (b *Backend) Client() *mfclient.Client { return b.c }
