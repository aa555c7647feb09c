package mega

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"ferry/internal/retry"
	megaclient "ferry/mega"
)

// Cache file names inside Env.CacheDir.
const (
	cacheFileName = "session.bin"
	lockFileName  = "session.lock"
)

// sessionStore is a remote's session cache file.
type sessionStore struct {
	path     string // "" when caching is off
	lockPath string
	binding  []byte // additional data: e-mail and API URL
	secrets  cacheSecrets

	mu        sync.Mutex // guards key and writtenSN; held while writing
	key       *cacheKey  // derived key of the file, once known
	writtenSN string     // sn of the tree last read or written
}

func newSessionStore(dir string, c config) *sessionStore {
	s := &sessionStore{binding: cacheBinding(c.user, c.url),
		secrets: cacheSecrets{password: string(c.pass), cacheKey: string(c.cacheKey)}}
	if dir != "" {
		s.path = filepath.Join(dir, cacheFileName)
		s.lockPath = filepath.Join(dir, lockFileName)
	}
	return s
}

func (s *sessionStore) enabled() bool { return s.path != "" }

// stat returns the cache file's info, or nil.
func (s *sessionStore) stat() os.FileInfo {
	fi, err := os.Stat(s.path)
	if err != nil {
		return nil
	}
	return fi
}

// drop removes the cache file.
func (s *sessionStore) drop() error {
	if !s.enabled() {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writtenSN = ""
	if err := os.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// connect makes b's client usable: resume the cached session, or log in
// once. With a cache, a cold login holds the lock file, and a process that
// waited for it first tries the session the other one saved.
func (b *Backend) connect(ctx context.Context, prompt promptFunc) error {
	start := time.Now()
	if !b.store.enabled() {
		b.log.Debug("mega: no cache directory; logging in")
		return b.login(ctx, prompt)
	}
	// Housekeeping: temporary files of processes killed mid-save.
	if n, err := removeStaleTemps(filepath.Dir(b.store.path), time.Now()); n > 0 || err != nil {
		b.log.Debug("mega: removed temporary cache files left by killed processes", slog.Int(logKeyCount, n), slog.Any(logKeyErr, err))
	}
	before := b.store.stat()
	ok, err := b.resume(ctx)
	if err != nil {
		return err
	}
	if ok {
		b.log.Debug("mega: resumed the cached session", slog.Duration(logKeyDur, time.Since(start)))
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(b.store.lockPath), 0o700); err != nil {
		return fmt.Errorf("mega remote %q: cache directory: %w", b.cfg.remote, err)
	}
	unlock, err := lockFile(ctx, b.store.lockPath)
	if err != nil {
		return fmt.Errorf("mega remote %q: lock the session cache: %w", b.cfg.remote, err)
	}
	defer unlock()
	if after := b.store.stat(); after != nil && (before == nil || !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime())) {
		// Another process wrote a session while we waited for the lock.
		if ok, err := b.resume(ctx); err != nil || ok {
			return err
		}
	}
	return b.login(ctx, prompt)
}

// loginLocked logs in while holding the cache's lock file.
func (b *Backend) loginLocked(ctx context.Context, prompt promptFunc) error {
	if b.store.enabled() {
		if err := os.MkdirAll(filepath.Dir(b.store.lockPath), 0o700); err != nil {
			return fmt.Errorf("mega remote %q: cache directory: %w", b.cfg.remote, err)
		}
		unlock, err := lockFile(ctx, b.store.lockPath)
		if err != nil {
			return fmt.Errorf("mega remote %q: lock the session cache: %w", b.cfg.remote, err)
		}
		defer unlock()
	}
	return b.login(ctx, prompt)
}

// promptFunc is backend.Env.Prompt.
type promptFunc = func(ctx context.Context, question string, secret bool) (string, error)

// resume tries the cached session. It reports false, nil when the cache
// is missing or unusable, or the session is dead: the caller logs in then.
// Errors are reserved for failures a login would not fix (the network, a
// cancelled ctx), so they never cost a login.
func (b *Backend) resume(ctx context.Context) (bool, error) {
	s := b.store
	s.mu.Lock()
	st, f, err := readCache(s.path, s.secrets, s.binding, s.key)
	if err == nil {
		s.key = st.Key
	}
	s.mu.Unlock()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		b.log.Warn("mega: ignoring the session cache; logging in again (the cache will be replaced)",
			slog.String(logKeyPath, s.path), slog.Any(logKeyErr, err))
		return false, nil
	}
	defer f.Close()
	var sess megaclient.Session
	if err := sess.UnmarshalBinary(st.Session); err != nil {
		b.log.Warn("mega: ignoring the session cache; logging in again", slog.Any(logKeyErr, err))
		return false, nil
	}
	if !strings.EqualFold(sess.Email, b.cfg.user) || (sess.APIURL != "" && sess.APIURL != b.cfg.url) {
		b.log.Warn("mega: the session cache belongs to another account or API URL; logging in again")
		return false, nil
	}
	if err := b.c.Resume(ctx, sess); err != nil {
		return b.resumeFailed(ctx, err)
	}
	imported := false
	if st.Tree != nil {
		if err := b.c.ImportTree(st.Tree); err != nil {
			b.log.Warn("mega: the cached tree is unusable; fetching the tree", slog.Any(logKeyErr, err))
		} else {
			imported = true
		}
	}
	if imported {
		s.mu.Lock()
		s.writtenSN = b.c.SN()
		s.mu.Unlock()
		changed, err := b.c.Poll(ctx)
		if err != nil {
			return b.resumeFailed(ctx, err)
		}
		b.log.Debug("mega: applied the changes since the cached tree", slog.Bool("changed", changed))
	} else if err := b.c.FetchTree(ctx); err != nil {
		return b.resumeFailed(ctx, err)
	}
	b.pollMu.Lock()
	b.lastPoll = time.Now()
	b.pollMu.Unlock()
	return true, nil
}

// resumeFailed sorts an error of the warm start: a dead session or a
// session the account no longer accepts means log in; anything a login
// would not fix is returned.
func (b *Backend) resumeFailed(ctx context.Context, err error) (bool, error) {
	switch {
	case errors.Is(err, megaclient.ErrSessionExpired):
		b.log.Info("mega: the cached session has expired; logging in again")
		return false, nil
	case ctx.Err() != nil:
		return false, fmt.Errorf("mega remote %q: %w", b.cfg.remote, ctx.Err())
	case retry.IsRetryable(err), errors.Is(err, megaclient.ErrBlocked):
		return false, fmt.Errorf("mega remote %q: resume the session: %w", b.cfg.remote, err)
	}
	b.log.Warn("mega: the cached session is unusable; logging in again", slog.Any(logKeyErr, err))
	return false, nil
}

// login logs in with the password (asking for a two-factor PIN through
// prompt when needed), fetches the tree and saves the new session at once.
func (b *Backend) login(ctx context.Context, prompt promptFunc) error {
	remote := b.cfg.remote
	var opts megaclient.LoginOptions
	if prompt != nil {
		opts.MFA = func(ctx context.Context) (string, error) {
			pin, err := prompt(ctx, fmt.Sprintf("Two-factor authentication code for MEGA remote %q (%s)", remote, b.cfg.user), false)
			return strings.TrimSpace(pin), err
		}
	}
	b.log.Info("mega: logging in", slog.String(logKeyUser, b.cfg.user))
	err := b.c.Login(ctx, b.cfg.user, string(b.cfg.pass), opts)
	switch {
	case errors.Is(err, megaclient.ErrMFARequired) && prompt == nil:
		return fmt.Errorf("mega remote %q: the account needs a two-factor authentication code and there is no terminal to ask for it; run `ferry config reconnect %s:` in a terminal: %w", remote, remote, err)
	case errors.Is(err, megaclient.ErrWrongPassword):
		return fmt.Errorf("mega remote %q: login as %s failed; check the e-mail and password (`ferry config`): %w", remote, b.cfg.user, err)
	case err != nil:
		return fmt.Errorf("mega remote %q: login as %s: %w", remote, b.cfg.user, err)
	}
	// Save the session before anything else can fail, so this login is
	// the last one even if the tree fetch or the command fails.
	if err := b.save(true); err != nil {
		b.log.Warn("mega: could not save the session cache; the next command will log in again", slog.Any(logKeyErr, err))
	}
	if err := b.c.FetchTree(ctx); err != nil {
		return fmt.Errorf("mega remote %q: fetch the tree: %w", remote, err)
	}
	b.pollMu.Lock()
	b.lastPoll = time.Now()
	b.pollMu.Unlock()
	if err := b.save(true); err != nil {
		b.log.Warn("mega: could not save the session cache", slog.Any(logKeyErr, err))
	}
	return nil
}

// save writes the session and tree to the cache: always with force, else
// only when the tree changed since it was last read or written.
func (b *Backend) save(force bool) error {
	s := b.store
	if !s.enabled() {
		return nil
	}
	sess := b.c.Session()
	if sess.SID == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sn := b.c.SN()
	// A file read with Argon2id is rewritten with HKDF once the remote has
	// a cache_key, so the next process skips the stretching.
	upgrade := s.key != nil && s.key.params.kdf == cacheKDFArgon && s.secrets.cacheKey != ""
	if !force && !upgrade && !b.dirty.Load() && sn == s.writtenSN {
		return nil
	}
	if s.key == nil || upgrade {
		p, err := newKDFParams(s.secrets)
		if err != nil {
			return err
		}
		if s.key, err = deriveCacheKey(s.secrets, p); err != nil {
			return err
		}
	}
	raw, err := sess.MarshalBinary()
	if err != nil {
		return err
	}
	var tree func(io.Writer) error
	if sn != "" {
		tree = b.c.ExportTree
	}
	b.dirty.Store(false)
	start := time.Now()
	if err := writeCache(s.path, s.key, s.binding, raw, tree); err != nil {
		b.dirty.Store(true)
		return err
	}
	s.writtenSN = sn
	b.log.Debug("mega: saved the session cache", slog.Duration(logKeyDur, time.Since(start)))
	return nil
}

// refresh applies changes made by other clients, at most every pollEvery,
// and never while a mutation of this backend is in progress.
func (b *Backend) refresh(ctx context.Context) {
	if !b.pollMu.TryLock() {
		return
	}
	defer b.pollMu.Unlock()
	if time.Since(b.lastPoll) < pollEvery {
		return
	}
	if !b.mutating.TryLock() {
		return
	}
	defer b.mutating.Unlock()
	b.lastPoll = time.Now()
	if _, err := b.c.Poll(ctx); err != nil {
		b.log.Debug("mega: polling for changes failed", slog.Any(logKeyErr, err))
	}
}
