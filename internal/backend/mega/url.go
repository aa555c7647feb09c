package mega

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"ferry/internal/backend"
)

// duplicity's MEGA URLs: mega://user@mega.nz/folder/path, the account's
// folder (not a public link), writable, the password from the URL or
// $FTP_PASSWORD as duplicity reads it.

// ftpPasswordEnv is the variable duplicity reads a URL's password from.
const ftpPasswordEnv = "FTP_PASSWORD"

// IsURL reports whether a command-line argument is a duplicity-style
// mega:// URL (then OpenURL opens it or says what is wrong with it).
func IsURL(arg string) bool {
	return len(arg) >= 7 && strings.EqualFold(arg[:7], "mega://")
}

// parseURL splits a mega:// URL into the account's e-mail, the password
// if the URL has one, and the folder path (contract form).
func parseURL(arg string) (user, pass string, hasPass bool, root string, err error) {
	u, err := url.Parse(arg)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL itself may hold a password
		}
		return "", "", false, "", fmt.Errorf("mega URL %s: %w", RedactURL(arg), err)
	}
	if u.User == nil || u.User.Username() == "" {
		return "", "", false, "", fmt.Errorf("mega URL %s: no account: write mega://user%%40example.com@mega.nz/folder", RedactURL(arg))
	}
	if u.Host == "" {
		return "", "", false, "", fmt.Errorf("mega URL %s: no host (write mega.nz; the API server is --mega-url's)", RedactURL(arg))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", "", false, "", fmt.Errorf("mega URL %s: a query or fragment is not allowed", RedactURL(arg))
	}
	root, err = backend.Clean(u.Path)
	if err != nil {
		return "", "", false, "", fmt.Errorf("mega URL %s: path: %w", RedactURL(arg), err)
	}
	pass, hasPass = u.User.Password()
	return u.User.Username(), pass, hasPass, root, nil
}

// CheckURL checks a mega:// URL's syntax without any I/O.
func CheckURL(arg string) error {
	_, _, _, _, err := parseURL(arg)
	return err
}

// URLCacheKey names the session cache of a mega:// URL's account (no
// secret in it), so every command on the same account resumes one
// session: no login per run.
func URLCacheKey(arg string) string {
	user, _, _, _, err := parseURL(arg)
	if err != nil {
		return ""
	}
	return "mega-url-" + url.PathEscape(strings.ToLower(user))
}

// OpenURL opens the folder a mega:// URL names as a backend rooted there.
// The host is ignored, as duplicity does: the API server is the url
// option (--mega-url, FERRY_MEGA_URL), else $X_MEGA_API_URL, else MEGA's.
// The password comes from the URL, else $FTP_PASSWORD, else the pass
// option (--mega-pass, FERRY_MEGA_PASS). The returned path is "", the
// backend's root. The session is cached in env.CacheDir like a
// configured remote's.
func OpenURL(ctx context.Context, arg string, cfg backend.ConfigMap, env backend.Env) (backend.Backend, string, error) {
	user, pass, hasPass, root, err := parseURL(arg)
	if err != nil {
		return nil, "", err
	}
	c := backend.ConfigMap{}
	for k, v := range cfg {
		c[k] = v
	}
	c[optUser] = user
	switch {
	case hasPass:
		c[optPass] = pass
	case os.Getenv(ftpPasswordEnv) != "":
		c[optPass] = os.Getenv(ftpPasswordEnv)
	}
	if c[optPass] == "" {
		return nil, "", fmt.Errorf("mega URL %s: no password: set %s (or FERRY_MEGA_PASS), or put it in the URL", RedactURL(arg), ftpPasswordEnv)
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
func RedactURL(arg string) string {
	rest := arg[min(len(arg), 7):]
	at := strings.LastIndex(strings.SplitN(rest, "/", 2)[0], "@")
	if at < 0 {
		return arg
	}
	userinfo := rest[:at]
	if i := strings.Index(userinfo, ":"); i >= 0 {
		return arg[:7] + userinfo[:i] + ":***" + rest[at:]
	}
	return arg
}
