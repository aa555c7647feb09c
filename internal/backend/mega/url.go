package mega

import (
	"context"
	"net/url"
	"os"
	"strings"

	"ferry/internal/backend"
	"ferry/internal/backend/internal/dupurl"
)

// duplicity's MEGA URLs: mega://user@mega.nz/folder/path, the account's
// folder (not a public link), writable, the password from the URL or
// $FTP_PASSWORD as duplicity reads it.

// urlScheme is duplicity's MEGA URL form.
var urlScheme = dupurl.Scheme{Prefix: "mega://", Service: "mega",
	Example: "mega://user%40example.com@mega.nz/folder", HostUse: "write mega.nz; the API server is --mega-url's"}

// IsURL reports whether a command-line argument is a duplicity-style
// mega:// URL (then OpenURL opens it or says what is wrong with it).
func IsURL(arg string) bool { return urlScheme.Match(arg) }

// parseURL parses a mega:// URL, its path in contract form.
func parseURL(arg string) (dupurl.URL, string, error) {
	u, err := urlScheme.Parse(arg)
	if err != nil {
		return u, "", err
	}
	root, err := backend.Clean(u.Path)
	if err != nil {
		return u, "", urlScheme.Errorf(arg, "path: %w", err)
	}
	return u, root, nil
}

// CheckURL checks a mega:// URL's syntax without any I/O.
func CheckURL(arg string) error {
	_, _, err := parseURL(arg)
	return err
}

// URLCacheKey names the session cache of a mega:// URL's account (no
// secret in it), so every command on the same account resumes one
// session: no login per run.
func URLCacheKey(arg string) string {
	u, _, err := parseURL(arg)
	if err != nil {
		return ""
	}
	return "mega-url-" + url.PathEscape(strings.ToLower(u.User))
}

// OpenURL opens the folder a mega:// URL names as a backend rooted there.
// The host is ignored, as duplicity does: the API server is the url
// option (--mega-url, FERRY_MEGA_URL), else $X_MEGA_API_URL, else MEGA's.
// The password comes from the URL, else $FTP_PASSWORD, else the pass
// option (--mega-pass, FERRY_MEGA_PASS). The returned path is "", the
// backend's root. The session is cached in env.CacheDir like a
// configured remote's.
func OpenURL(ctx context.Context, arg string, cfg backend.ConfigMap, env backend.Env) (backend.Backend, string, error) {
	u, root, err := parseURL(arg)
	if err != nil {
		return nil, "", err
	}
	c := backend.ConfigMap{}
	for k, v := range cfg {
		c[k] = v
	}
	c[optUser] = u.User
	if c[optPass] = u.Password(c[optPass]); c[optPass] == "" {
		return nil, "", urlScheme.Errorf(arg, "no password: set %s (or FERRY_MEGA_PASS), or put it in the URL", dupurl.PasswordEnv)
	}
	if c[optURL] == "" {
		if u := os.Getenv("X_MEGA_API_URL"); u != "" {
			c[optURL] = u
		}
	}
	b, err := New(ctx, RedactURL(arg), c, root, env)
	if err != nil {
		return nil, "", err
	}
	return b, "", nil
}

// RedactURL returns arg with the password of its user part hidden.
func RedactURL(arg string) string { return urlScheme.Redact(arg) }
