package mega

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/internal/backend"
	megaclient "ferry/mega"
	"ferry/megaserver"
	"ferry/megaserver/megaservertest"
)

// TestOneLogin runs the remote 100 times in a row like 100 `ferry link
// remote:file` commands (open, link, close) against a server that blocks
// the account after 20 logins a minute: one login serves them all.
func TestOneLogin(t *testing.T) {
	ts := megaservertest.Start(t, megaservertest.WithFaults("logins=20/min"))
	o := newOpener(t, ts)
	b, err := o.open(t.Context(), "links")
	if err != nil {
		t.Fatal(err)
	}
	put(t, b, "file.txt", []byte("hello"))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	var first string
	for i := range 100 {
		b, err := o.open(t.Context(), "links")
		if err != nil {
			t.Fatalf("run %d: open: %v", i, err)
		}
		link, err := b.PublicLink(t.Context(), "file.txt", false)
		if err != nil {
			t.Fatalf("run %d: link: %v", i, err)
		}
		if first == "" {
			first = link
		} else if link != first {
			t.Fatalf("run %d: link %q, want %q", i, link, first)
		}
		if err := b.Close(); err != nil {
			t.Fatalf("run %d: close: %v", i, err)
		}
	}
	if got := logins(ts); got != 1 {
		t.Errorf("server saw %d logins, want 1", got)
	}
	if got := o.log.count("f"); got != 1 {
		t.Errorf("%d full tree fetches, want 1 (the login's)", got)
	}
	if !strings.HasPrefix(first, ts.URL+"/file/") {
		t.Errorf("link %q", first)
	}
	checkNoSecrets(t, o)
}

// checkNoSecrets fails if the logs contain the password, the session id or
// the master key.
func checkNoSecrets(t *testing.T, o *opener) {
	t.Helper()
	b, err := o.open(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	s := b.c.Session()
	logs := o.log.text()
	for name, secret := range map[string]string{
		"password": megaservertest.PasswordV2,
		"sid":      s.SID,
		"mk":       string(s.MasterKey),
	} {
		if secret != "" && strings.Contains(logs, secret) {
			t.Errorf("the logs contain the %s", name)
		}
	}
}

// TestResumeAppliesPackets changes the tree with another client between
// two runs: the second run sees the change through action packets, without
// a login or a full fetch.
func TestResumeAppliesPackets(t *testing.T) {
	ts := megaservertest.Start(t)
	o := newOpener(t, ts)
	b, err := o.open(t.Context(), "shared")
	if err != nil {
		t.Fatal(err)
	}
	put(t, b, "old.txt", []byte("old"))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	other := megaclient.New(megaclient.Options{APIURL: ts.URL})
	if err := other.Login(t.Context(), megaservertest.UserV2, megaservertest.PasswordV2, megaclient.LoginOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := other.FetchTree(t.Context()); err != nil {
		t.Fatal(err)
	}
	dirs, err := other.Lookup("shared")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Mkdir(t.Context(), dirs[0], "new-dir"); err != nil {
		t.Fatal(err)
	}
	old, err := other.Lookup("shared/old.txt")
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Rename(t.Context(), old[0], "renamed.txt"); err != nil {
		t.Fatal(err)
	}
	loginsBefore, fetchesBefore := logins(ts), o.log.count("f")

	b2 := o.mustOpen("shared")
	entries, err := b2.List(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Path)
	}
	if got := strings.Join(sortStrings(names), ","); got != "new-dir,renamed.txt" {
		t.Errorf("List = %s, want new-dir,renamed.txt", got)
	}
	if got := logins(ts) - loginsBefore; got != 0 {
		t.Errorf("%d logins on resume", got)
	}
	if got := o.log.count("f") - fetchesBefore; got != 0 {
		t.Errorf("%d full fetches on resume, want 0", got)
	}
}

func sortStrings(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// TestDeadSessionFallsBack logs the cached session out on the server: the
// next run logs in once, rewrites the cache, and the run after resumes.
func TestDeadSessionFallsBack(t *testing.T) {
	ts := megaservertest.Start(t)
	o := newOpener(t, ts)
	b, err := o.open(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	sess := b.c.Session()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := logins(ts); got != 1 {
		t.Fatalf("%d logins after the first run", got)
	}

	killer := megaclient.New(megaclient.Options{APIURL: ts.URL})
	if err := killer.Resume(t.Context(), sess); err != nil {
		t.Fatal(err)
	}
	if err := killer.Logout(t.Context()); err != nil {
		t.Fatal(err)
	}

	b2, err := o.open(t.Context(), "")
	if err != nil {
		t.Fatalf("open after logout: %v", err)
	}
	if got := logins(ts); got != 2 {
		t.Errorf("%d logins after the dead session, want 2", got)
	}
	if b2.c.Session().SID == sess.SID {
		t.Errorf("still the dead session")
	}
	if err := b2.Close(); err != nil {
		t.Fatal(err)
	}
	b3 := o.mustOpen("")
	if _, err := b3.List(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	if got := logins(ts); got != 2 {
		t.Errorf("%d logins after the rewritten cache, want 2", got)
	}
}

// TestCorruptCache replaces the cache with garbage and other damage: the
// run warns, logs in once, and replaces the file.
func TestCorruptCache(t *testing.T) {
	ts := megaservertest.Start(t)
	o := newOpener(t, ts)
	path := filepath.Join(o.cacheDir, cacheFileName)
	b, err := o.open(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 1
	tests := []struct {
		name string
		data []byte
		// logins is 1 when the session cannot be trusted; a damaged tail
		// (after the authenticated session) only costs a tree fetch.
		logins int
	}{
		{"garbage", []byte("this is not a session cache at all, just garbage\x00\xff"), 1},
		{"empty", nil, 1},
		{"header only", good[:cacheHeaderLen], 1},
		{"truncated", good[:len(good)-1], 1},
		{"bit flip", flipped, 1},
		{"trailing data", append(bytes.Clone(good), 0), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			before := logins(ts)
			warnings := strings.Count(o.log.text(), "WARN")
			b, err := o.open(t.Context(), "")
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			if got := logins(ts) - before; got != tc.logins {
				t.Errorf("%d logins, want %d", got, tc.logins)
			}
			if strings.Count(o.log.text(), "WARN") == warnings {
				t.Errorf("no warning about the cache")
			}
			warnings = strings.Count(o.log.text(), "WARN")
			if _, err := o.open(t.Context(), ""); err != nil {
				t.Fatal(err)
			}
			if got := logins(ts) - before; got != tc.logins {
				t.Errorf("the cache was not replaced: %d logins, want %d", got, tc.logins)
			}
			if strings.Count(o.log.text(), "WARN") != warnings {
				t.Errorf("the replaced cache still warns")
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("cache mode %v, want 0600", fi.Mode().Perm())
			}
		})
	}
}

// TestCacheCredentials: only the remote's own password, e-mail and API
// URL decrypt its cache, and a wrong password never resumes the session.
func TestCacheCredentials(t *testing.T) {
	ts := megaservertest.Start(t)
	o := newOpener(t, ts)
	b, err := o.open(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	path := filepath.Join(o.cacheDir, cacheFileName)
	for _, tc := range []struct {
		name, password, email, url string
	}{
		{"wrong password", "not the password", megaservertest.UserV2, ts.URL},
		{"other e-mail", megaservertest.PasswordV2, megaservertest.UserV1, ts.URL},
		{"other URL", megaservertest.PasswordV2, megaservertest.UserV2, "http://127.0.0.1:1"},
	} {
		_, f, err := readCache(path, cacheSecrets{password: tc.password}, cacheBinding(tc.email, tc.url), nil)
		if f != nil {
			f.Close()
		}
		if !errors.Is(err, errCacheAuth) {
			t.Errorf("%s: readCache error %v, want errCacheAuth", tc.name, err)
		}
	}
	st, f, err := readCache(path, cacheSecrets{password: megaservertest.PasswordV2}, cacheBinding(strings.ToUpper(megaservertest.UserV2), ts.URL), nil)
	if err != nil {
		t.Fatalf("the right credentials: %v", err)
	}
	f.Close()
	if st.Tree == nil {
		t.Errorf("the cache holds no tree")
	}

	// A wrong password in the config must not resume through the cache:
	// it tries a login, which fails, and leaves the cache alone.
	before := logins(ts)
	o.cfg[optPass] = "not the password"
	if _, err := o.open(t.Context(), ""); !errors.Is(err, megaclient.ErrWrongPassword) {
		t.Fatalf("open with a wrong password: %v, want ErrWrongPassword", err)
	}
	if got := logins(ts) - before; got != 1 {
		t.Errorf("%d logins with the wrong password, want 1", got)
	}
	o.cfg[optPass] = megaservertest.PasswordV2
	if _, err := o.open(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	if got := logins(ts) - before; got != 1 {
		t.Errorf("the good cache was lost after a failed login: %d logins", got)
	}
}

// TestWrongPassword: the error names the remote, wraps ErrWrongPassword
// and does not contain the password.
func TestWrongPassword(t *testing.T) {
	ts := megaservertest.Start(t)
	o := newOpener(t, ts)
	const bad = "hunter2-wrong"
	o.cfg[optPass] = bad
	_, err := o.open(t.Context(), "")
	if !errors.Is(err, megaclient.ErrWrongPassword) {
		t.Fatalf("err = %v, want ErrWrongPassword", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, testRemote) {
		t.Errorf("error %q does not name the remote", msg)
	}
	if strings.Contains(msg, bad) || strings.Contains(o.log.text(), bad) {
		t.Errorf("the password leaked into the error or logs: %q", msg)
	}
	if _, err := os.Stat(filepath.Join(o.cacheDir, cacheFileName)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed login wrote a cache: %v", err)
	}
}

// TestMFA: a two-factor account logs in with a PIN from Env.Prompt;
// without a prompt the error says to run `ferry config reconnect`.
func TestMFA(t *testing.T) {
	ts := megaservertest.Start(t)
	secret := []byte("0123456789abcdefghij")
	const email, pw = "mfa@example.com", "mfa password"
	ts.AddUser(t, email, pw, megaservertest.UserOpts{MFASecret: secret})
	o := newOpener(t, ts)
	o.cfg[optUser], o.cfg[optPass] = email, pw

	_, err := o.open(t.Context(), "")
	if !errors.Is(err, megaclient.ErrMFARequired) || !strings.Contains(err.Error(), "ferry config reconnect "+testRemote+":") {
		t.Fatalf("without a prompt: %v", err)
	}

	asked := 0
	o.prompt = func(ctx context.Context, q string, secretInput bool) (string, error) {
		asked++
		return megaserver.TOTP(secret, time.Now()), nil
	}
	if err := Reconnect(t.Context(), testRemote, o.cfg, o.env()); err != nil {
		t.Fatalf("Reconnect: %v", err)
	}
	if asked != 1 {
		t.Errorf("asked %d times for a PIN", asked)
	}
	o.prompt = nil // the cached session needs no PIN
	b := o.mustOpen("")
	if _, err := b.List(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	// Refused without a prompt; then Reconnect's attempt without and
	// with the PIN. The cached session needs none.
	if got := ts.Server.Logins(email); got != 3 {
		t.Errorf("%d login attempts, want 3", got)
	}
}

// TestReconnect drops the cache and logs in afresh.
func TestReconnect(t *testing.T) {
	ts := megaservertest.Start(t)
	o := newOpener(t, ts)
	b := o.mustOpen("")
	old := b.c.Session().SID
	b.Close()
	if err := Type.Reconnect(t.Context(), testRemote, o.cfg, o.env()); err != nil {
		t.Fatal(err)
	}
	if got := logins(ts); got != 2 {
		t.Errorf("%d logins, want 2", got)
	}
	b2 := o.mustOpen("")
	if b2.c.Session().SID == old {
		t.Errorf("Reconnect kept the old session")
	}
	if got := logins(ts); got != 2 {
		t.Errorf("%d logins after Reconnect, want 2", got)
	}
}

// TestConcurrentColdOpens: processes that start together on a cold cache
// wait for one login (the lock file) instead of each logging in.
func TestConcurrentColdOpens(t *testing.T) {
	ts := megaservertest.Start(t)
	o := newOpener(t, ts)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			b, err := o.open(t.Context(), "")
			if err != nil {
				errs <- err
				return
			}
			errs <- b.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := logins(ts); got != 1 {
		t.Errorf("%d logins, want 1", got)
	}
}

// TestNoCacheDir works without caching (a login per New).
func TestNoCacheDir(t *testing.T) {
	ts := megaservertest.Start(t)
	b, err := New(t.Context(), testRemote, testConfig(ts), "x", backend.Env{Logger: slog0(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.(backend.Closer).Close()
	put(t, b, "a", []byte("a"))
	if got := b.String(); got != testRemote+":x" {
		t.Errorf("String = %q", got)
	}
}

// TestNewDoesNotKeepContext cancels New's ctx and keeps using the backend.
func TestNewDoesNotKeepContext(t *testing.T) {
	ts := megaservertest.Start(t)
	o := newOpener(t, ts)
	ctx, cancel := context.WithCancel(t.Context())
	b, err := o.open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	defer b.Close()
	put(t, b, "after-cancel", []byte("x"))
	rc, err := b.Open(t.Context(), "after-cancel", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if got, err := io.ReadAll(rc); err != nil || string(got) != "x" {
		t.Fatalf("read %q, %v", got, err)
	}
}

// TestParseConfig checks option validation.
func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     backend.ConfigMap
		wantErr string
	}{
		{"ok", backend.ConfigMap{optUser: "a@b", optPass: "p"}, ""},
		{"no user", backend.ConfigMap{optPass: "p"}, `"user"`},
		{"no pass", backend.ConfigMap{optUser: "a@b"}, `"pass"`},
		{"bad bool", backend.ConfigMap{optUser: "a@b", optPass: "p", optHardDelete: "maybe"}, `"hard_delete"`},
		{"bad url", backend.ConfigMap{optUser: "a@b", optPass: "p", optURL: "ftp://x"}, `"url"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseConfig("r", tc.cfg)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err = %v, want one naming %s", err, tc.wantErr)
			case tc.wantErr == "" && c.url != megaclient.DefaultAPIURL:
				t.Errorf("url = %q", c.url)
			}
			if err != nil && strings.Contains(err.Error(), "p\"") && tc.cfg[optPass] != "" {
				t.Errorf("error mentions the password: %v", err)
			}
		})
	}
	c, _ := parseConfig("r", backend.ConfigMap{optUser: "a@b", optPass: "s3cret"})
	for _, s := range []string{c.pass.String(), c.pass.GoString()} {
		if strings.Contains(s, "s3cret") {
			t.Errorf("secret printed: %s", s)
		}
	}
}

// TestCacheKeyUpgrade: a remote without a cache_key seals its cache with
// Argon2id; once the remote has one, the next process resumes that cache
// (no login) and rewrites it with HKDF at once, and a later change of cache_key
// costs one login, never a wrong resume.
func TestCacheKeyUpgrade(t *testing.T) {
	ts := megaservertest.Start(t)
	o := newOpener(t, ts)
	path := filepath.Join(o.cacheDir, cacheFileName)
	kdf := func() uint8 {
		t.Helper()
		h := make([]byte, cacheHeaderLen)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := io.ReadFull(f, h); err != nil {
			t.Fatal(err)
		}
		p, _, err := decodeHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		return p.kdf
	}
	openClose := func(mutate bool) {
		t.Helper()
		b, err := o.open(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		if mutate {
			if err := b.Mkdir(t.Context(), fmt.Sprintf("d%d", logins(ts))); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
	}
	openClose(false)
	if got := kdf(); got != cacheKDFArgon {
		t.Fatalf("without a cache_key the cache uses kdf %d, want Argon2id", got)
	}
	before := logins(ts)
	o.cfg[optCacheKey] = "first key"
	openClose(false)
	if got := kdf(); got != cacheKDFHKDF {
		t.Errorf("with a cache_key the rewritten cache uses kdf %d, want HKDF", got)
	}
	openClose(true)
	if got := logins(ts) - before; got != 0 {
		t.Errorf("%d logins after adding a cache_key, want 0", got)
	}
	o.cfg[optCacheKey] = "second key"
	openClose(false)
	if got := logins(ts) - before; got != 1 {
		t.Errorf("%d logins after changing the cache_key, want 1", got)
	}
}
