package remote

import (
	"context"
	"errors"
	"fmt"
	"os"

	"ferry/internal/backend"
)

// ErrReadOnly is wrapped by OpenWritable's error for a public link: links
// are sources only.
var ErrReadOnly = errors.New("links are read-only: list, cat or copy from them, never to them")

// LinkType is a kind of public link (a MEGA file or folder link) that
// works wherever a source path does, with no config file and no login.
type LinkType struct {
	// Type is the backend type whose flags and environment variables
	// (--mega-url, FERRY_MEGA_URL, ...) configure the link's backend.
	// Stored remotes and defaults do not apply.
	Type backend.Type
	// Match reports whether a command-line argument is meant as such a
	// link; Open then opens it or says what is wrong with it.
	Match func(arg string) bool
	// Check checks arg's syntax without I/O (for errors that are the
	// user's: a malformed link is a usage error).
	Check func(arg string) error
	// Open opens a read-only backend on arg and returns the contract path
	// the argument names in it.
	Open func(ctx context.Context, arg string, cfg backend.ConfigMap, env backend.Env) (backend.Backend, string, error)
	// Redact returns arg with its secret (the key) hidden, for messages.
	Redact func(arg string) string
	// Writable marks URLs that name an account's folder rather than a
	// public link (MediaFire's duplicity-style mf://user@host/path):
	// OpenWritable opens them like any remote.
	Writable bool
	// CacheKey, when set, names the cache directory of the account a
	// writable URL names (no secret in it), so its session is resumed
	// across runs like a configured remote's.
	CacheKey func(arg string) string
}

// link returns the link type that claims arg, if any.
func (r *Resolver) link(arg string) (LinkType, bool) {
	for _, l := range r.Links {
		if l.Match(arg) {
			return l, true
		}
	}
	return LinkType{}, false
}

// IsLink reports whether arg is a public link (see Resolver.Links).
func (r *Resolver) IsLink(arg string) bool {
	_, ok := r.link(arg)
	return ok
}

// OpenWritable is Open for an argument that will be written to (a copy
// destination, mkdir, delete, ...): a public link is refused before
// anything is opened, with an error wrapping ErrReadOnly.
func (r *Resolver) OpenWritable(ctx context.Context, arg string) (*Ref, error) {
	if l, ok := r.link(arg); ok && !l.Writable {
		return nil, fmt.Errorf("%s: %w", l.Redact(arg), ErrReadOnly)
	}
	return r.Open(ctx, arg)
}

// openLink opens a public link argument. Its options come from flags and
// the environment only; links of one run with the same text share a
// backend.
func (r *Resolver) openLink(ctx context.Context, l LinkType, arg string) (*Ref, error) {
	if err := l.Check(arg); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSyntax, err)
	}
	cfg := backend.ConfigMap{}
	lookup := r.lookupEnv()
	for _, o := range l.Type.Options {
		if v, ok := r.Overrides[FlagName(l.Type.Name, o)]; ok {
			cfg[o.Name] = v
		} else if v, ok := lookup(EnvName(l.Type.Name, o)); ok && v != "" {
			cfg[o.Name] = v
		}
	}
	env := r.Env // no cache directory: a link has no session
	if l.CacheKey != nil {
		if env.CacheDir = r.CacheDir(l.CacheKey(arg)); env.CacheDir != "" {
			if err := os.MkdirAll(env.CacheDir, 0o700); err != nil {
				return nil, err
			}
		}
	}
	s, release, err := r.shareBuild(ctx, "link "+arg, func() (backend.Backend, string, error) {
		return l.Open(ctx, arg, cfg, env)
	})
	if err != nil {
		return nil, err
	}
	return &Ref{Backend: s.b, Path: s.path, release: release}, nil
}
