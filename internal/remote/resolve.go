package remote

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"ferry/internal/backend"
	"ferry/internal/config"
)

// LocalType is the name of the backend type that plain (remote-less)
// paths open with. Such paths are made absolute against the working
// directory and opened on a backend rooted at "/" (its "root" option).
// Paths on named local remotes are relative to the remote's root, as on
// any remote.
const LocalType = "local"

// ErrNotFound is wrapped by the error for a remote missing from the config
// file: `remote "x" not found in /path/ferry.conf (run "ferry config")`.
var ErrNotFound = errors.New("not found")

// ErrUnsupported is wrapped by Reconnect for types without sessions.
var ErrUnsupported = errors.New("not supported")

// Resolver opens "remote:path" arguments: it finds the remote in the
// config file, works out its options (command-line flag > environment >
// config file > default) and builds its backend. Backends are shared: a
// remote opened twice (as the source and destination of one copy) is built
// once, and closed when its last Ref is closed. It is safe for concurrent
// use.
type Resolver struct {
	// Types is the registry (Registry()).
	Types []backend.Type
	// Config loads the config file; it is called once, on first use, so a
	// command on local paths never reads (or asks the password of) the
	// config file.
	Config func(ctx context.Context) (*config.File, error)
	// Overrides are option values from command-line flags, keyed by
	// FlagName ("mega-user").
	Overrides map[string]string
	// LookupEnv reads the environment (FERRY_MEGA_USER, ...); nil means
	// os.LookupEnv. Empty values count as unset.
	LookupEnv func(string) (string, bool)
	// CacheRoot holds a cache directory per remote (DefaultCacheRoot);
	// "" disables caching.
	CacheRoot string
	// Env is passed to backends; CacheDir is set per remote.
	Env backend.Env
	// Links are the public links that open as sources with no config
	// (Links()); nil means none.
	Links []LinkType

	mu     sync.Mutex
	cfg    *config.File // loaded config, guarded by mu
	cfgErr error        // guarded by mu
	open   map[string]*shared
}

// shared is one open backend and its users.
type shared struct {
	ready chan struct{} // closed when b and err are set
	b     backend.Backend
	path  string // for a link: the path its argument names
	err   error
	refs  int // guarded by Resolver.mu
}

// Ref is an opened "remote:path": the remote's backend (rooted at the
// remote's root) and the path within it.
type Ref struct {
	Backend backend.Backend
	Path    string // in the contract's form, "" = the remote's root
	Remote  string // remote name, "" for a local path
	release func() error
	once    sync.Once
}

// Close releases the backend; the last Close of a shared backend closes it.
// A nil Ref's Close does nothing; a second Close does nothing.
func (r *Ref) Close() error {
	if r == nil {
		return nil
	}
	var err error
	r.once.Do(func() {
		if r.release != nil {
			err = r.release()
		}
	})
	return err
}

// Type returns the registered type called name.
func (r *Resolver) Type(name string) (backend.Type, bool) {
	i := slices.IndexFunc(r.Types, func(t backend.Type) bool { return t.Name == name })
	if i < 0 {
		return backend.Type{}, false
	}
	return r.Types[i], true
}

// typeNames lists the registered types for messages.
func (r *Resolver) typeNames() string {
	names := make([]string, len(r.Types))
	for i, t := range r.Types {
		names[i] = t.Name
	}
	return strings.Join(names, ", ")
}

// File returns the config file, loading it on first use (which may ask
// for its password).
func (r *Resolver) File(ctx context.Context) (*config.File, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cfg == nil && r.cfgErr == nil {
		r.cfg, r.cfgErr = r.Config(ctx)
		if errors.Is(r.cfgErr, context.Canceled) || errors.Is(r.cfgErr, context.DeadlineExceeded) {
			cfgErr := r.cfgErr
			r.cfgErr = nil // not sticky: a later call may ask again
			return nil, cfgErr
		}
	}
	return r.cfg, r.cfgErr
}

// CacheDir is the cache directory of remote name ("" when caching is off
// or for connection strings and local paths).
func (r *Resolver) CacheDir(name string) string {
	if r.CacheRoot == "" || name == "" || strings.HasPrefix(name, ":") {
		return ""
	}
	return filepath.Join(r.CacheRoot, name)
}

// Options resolves remote name (a config section or a ":type,k=v"
// connection string) to its type and option values, secrets revealed.
func (r *Resolver) Options(ctx context.Context, name string) (backend.Type, backend.ConfigMap, error) {
	if strings.HasPrefix(name, ":") {
		typ, opts := connection(name)
		t, ok := r.Type(typ)
		if !ok {
			return t, nil, fmt.Errorf("%q: %w: unknown backend type %q (known: %s)", redact(name), ErrSyntax, typ, r.typeNames())
		}
		stored := config.NewRemote(":" + typ)
		for k, v := range opts {
			o, ok := config.FindOption(t.Options, k)
			if !ok {
				return t, nil, &config.OptionError{Remote: ":" + typ, Option: k, Err: fmt.Errorf("%w for type %s", config.ErrUnknownOption, typ)}
			}
			if err := stored.SetValue(o, v); err != nil {
				return t, nil, err
			}
		}
		return r.layer(t, ":"+typ, stored, "")
	}
	f, err := r.File(ctx)
	if err != nil {
		return backend.Type{}, nil, err
	}
	rem := f.Remote(name)
	if rem == nil {
		return backend.Type{}, nil, fmt.Errorf("remote %q %w in %s (run \"ferry config\")", name, ErrNotFound, f.Path())
	}
	typ := rem.Type()
	t, ok := r.Type(typ)
	if !ok {
		oe := &config.OptionError{File: f.Path(), Line: rem.Line(config.KeyType), Remote: name, Option: config.KeyType}
		if typ == "" {
			oe.Line = rem.Line("")
			oe.Err = fmt.Errorf("not set (one of %s)", r.typeNames())
		} else {
			oe.Err = fmt.Errorf("unknown backend type %q (known: %s)", typ, r.typeNames())
		}
		return t, nil, oe
	}
	if err := f.Check(rem, t.Options); err != nil {
		return t, nil, err
	}
	return r.layer(t, name, rem, f.Path())
}

// layer stacks flag > environment > stored > default and checks the
// result.
func (r *Resolver) layer(t backend.Type, name string, stored *config.Remote, file string) (backend.Type, backend.ConfigMap, error) {
	m, err := stored.Values(t.Options)
	if err != nil {
		var oe *config.OptionError
		if errors.As(err, &oe) {
			oe.File = file
		}
		return t, nil, err
	}
	lookup := r.lookupEnv()
	for _, o := range t.Options {
		from := ""
		if v, ok := r.Overrides[FlagName(t.Name, o)]; ok {
			m[o.Name], from = v, "--"+FlagName(t.Name, o)
		} else if v, ok := lookup(EnvName(t.Name, o)); ok && v != "" {
			m[o.Name], from = v, "$"+EnvName(t.Name, o)
		}
		if from != "" {
			if err := config.CheckValue(o, m[o.Name]); err != nil {
				return t, nil, fmt.Errorf("%s: %w", from, err)
			}
		}
		if o.Required && m[o.Name] == "" {
			return t, nil, &config.OptionError{Remote: name, Option: o.Name, Err: fmt.Errorf(
				"%w (set it with \"ferry config update %s %s=...\", --%s or $%s)",
				config.ErrRequired, name, o.Name, FlagName(t.Name, o), EnvName(t.Name, o))}
		}
	}
	return t, m, nil
}

// lookupEnv is LookupEnv or os.LookupEnv.
func (r *Resolver) lookupEnv() func(string) (string, bool) {
	if r.LookupEnv != nil {
		return r.LookupEnv
	}
	return os.LookupEnv
}

// Open resolves arg ("remote:path", ":type:path", a local path, or a
// public link such as https://mega.nz/folder/<handle>#<key>, see Links)
// to a backend and the path within it. Close the Ref when done.
func (r *Resolver) Open(ctx context.Context, arg string) (*Ref, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if l, ok := r.link(arg); ok {
		return r.openLink(ctx, l, arg)
	}
	name, p, err := Parse(arg)
	if err != nil {
		return nil, err
	}
	var (
		t   backend.Type
		cfg backend.ConfigMap
	)
	if name == "" {
		lt, ok := r.Type(LocalType)
		if !ok {
			return nil, fmt.Errorf("%q: no local backend registered", arg)
		}
		_, cfg, err = r.layer(lt, LocalType, config.NewRemote(LocalType), "")
		t = lt
	} else {
		t, cfg, err = r.Options(ctx, name)
	}
	if err != nil {
		return nil, err
	}
	if name == "" {
		// A plain path is an OS path, relative to the working directory,
		// on a local backend rooted at the filesystem's root.
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", arg, err)
		}
		p = filepath.ToSlash(abs)
		cfg["root"] = "/"
	}
	cp, err := backend.Clean(p)
	if err != nil {
		return nil, fmt.Errorf("%q: %w: path escapes the remote's root", redact(arg), ErrSyntax)
	}
	b, release, err := r.share(ctx, name, t, cfg)
	if err != nil {
		return nil, err
	}
	return &Ref{Backend: b, Path: cp, Remote: name, release: release}, nil
}

// share returns the open backend of remote name, building it if needed.
func (r *Resolver) share(ctx context.Context, name string, t backend.Type, cfg backend.ConfigMap) (backend.Backend, func() error, error) {
	s, release, err := r.shareBuild(ctx, name, func() (backend.Backend, string, error) {
		b, err := r.build(ctx, name, t, cfg)
		return b, "", err
	})
	if err != nil {
		return nil, nil, err
	}
	return s.b, release, nil
}

// shareBuild returns the open backend under key, building it with build
// (which also gives the path a link argument names) if needed.
func (r *Resolver) shareBuild(ctx context.Context, key string, build func() (backend.Backend, string, error)) (*shared, func() error, error) {
	r.mu.Lock()
	if r.open == nil {
		r.open = map[string]*shared{}
	}
	s := r.open[key]
	if s == nil {
		s = &shared{ready: make(chan struct{})}
		r.open[key] = s
		s.refs++
		r.mu.Unlock()
		s.b, s.path, s.err = build()
		if s.err != nil {
			r.mu.Lock()
			delete(r.open, key)
			r.mu.Unlock()
		}
		close(s.ready)
	} else {
		s.refs++
		r.mu.Unlock()
		select {
		case <-s.ready:
		case <-ctx.Done():
			r.unref(key, s)
			return nil, nil, ctx.Err()
		}
	}
	if s.err != nil {
		return nil, nil, s.err
	}
	return s, func() error { return r.unref(key, s) }, nil
}

// unref drops one reference to s, closing its backend after the last.
func (r *Resolver) unref(key string, s *shared) error {
	r.mu.Lock()
	s.refs--
	last := s.refs == 0
	if last && r.open[key] == s {
		delete(r.open, key)
	}
	r.mu.Unlock()
	if last && s.b != nil {
		if c, ok := s.b.(backend.Closer); ok {
			return c.Close()
		}
	}
	return nil
}

// build calls the type's constructor with the remote's environment.
func (r *Resolver) build(ctx context.Context, name string, t backend.Type, cfg backend.ConfigMap) (backend.Backend, error) {
	env, err := r.EnvFor(name)
	if err != nil {
		return nil, err
	}
	remoteName := name
	if strings.HasPrefix(name, ":") {
		remoteName = ":" + t.Name // no options (secrets) in names
	}
	// Constructors' errors name the remote themselves (mega remote "x": ...).
	return t.New(ctx, remoteName, cfg, "", env)
}

// EnvFor is r.Env with remote name's cache directory, created 0700.
func (r *Resolver) EnvFor(name string) (backend.Env, error) {
	env := r.Env
	env.CacheDir = r.CacheDir(name)
	if env.CacheDir != "" {
		if err := os.MkdirAll(env.CacheDir, 0o700); err != nil {
			return env, fmt.Errorf("cache directory: %w", err)
		}
	}
	return env, nil
}

// Reconnect drops remote name's cached session and logs in afresh through
// its type's Reconnect (asking for a two-factor PIN through Env.Prompt).
func (r *Resolver) Reconnect(ctx context.Context, name string) error {
	t, cfg, err := r.Options(ctx, name)
	if err != nil {
		return err
	}
	if t.Reconnect == nil {
		return fmt.Errorf("remote %q (type %s): reconnect %w: it has no session", name, t.Name, ErrUnsupported)
	}
	env, err := r.EnvFor(name)
	if err != nil {
		return err
	}
	return t.Reconnect(ctx, name, cfg, env)
}

// redact hides the values of a connection string's options, which may be
// secrets: ":mega,user=a,pass=b:x" -> ":mega,user=***,pass=***:x".
func redact(arg string) string {
	if !strings.HasPrefix(arg, ":") {
		return arg
	}
	spec, rest, hasPath := strings.Cut(arg[1:], ":")
	parts := strings.Split(spec, ",")
	for i := 1; i < len(parts); i++ {
		if k, _, ok := strings.Cut(parts[i], "="); ok {
			parts[i] = k + "=***"
		}
	}
	out := ":" + strings.Join(parts, ",")
	if hasPath {
		out += ":" + rest
	}
	return out
}
