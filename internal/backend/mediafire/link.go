package mediafire

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"ferry/internal/backend"
)

// FTPPasswordEnv is the variable duplicity reads an mf:// URL's password
// from when the URL has none.
const FTPPasswordEnv = "FTP_PASSWORD"

// IsLink reports whether arg is a duplicity-style MediaFire URL,
// mf://user%40host@mediafire.com/path.
func IsLink(arg string) bool {
	return len(arg) >= 5 && strings.EqualFold(arg[:5], "mf://")
}

// parseLink splits an mf:// URL into the account's e-mail, the password
// if the URL has one, and the folder path (contract form).
func parseLink(arg string) (user, pass string, hasPass bool, root string, err error) {
	u, err := url.Parse(arg)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL itself may hold a password
		}
		return "", "", false, "", fmt.Errorf("mediafire URL %s: %w", RedactLink(arg), err)
	}
	if u.User == nil || u.User.Username() == "" {
		return "", "", false, "", fmt.Errorf("mediafire URL %s: no account: write mf://user%%40example.com@mediafire.com/folder", RedactLink(arg))
	}
	if u.Host == "" {
		return "", "", false, "", fmt.Errorf("mediafire URL %s: no host (write mediafire.com; it is ignored)", RedactLink(arg))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", "", false, "", fmt.Errorf("mediafire URL %s: a query or fragment is not allowed", RedactLink(arg))
	}
	root, err = backend.Clean(u.Path)
	if err != nil {
		return "", "", false, "", fmt.Errorf("mediafire URL %s: path: %w", RedactLink(arg), err)
	}
	pass, hasPass = u.User.Password()
	return u.User.Username(), pass, hasPass, root, nil
}

// CheckLink checks an mf:// URL's syntax without I/O.
func CheckLink(arg string) error {
	_, _, _, _, err := parseLink(arg)
	return err
}

// OpenLink opens the folder an mf:// URL names as a backend rooted there
// (the host is ignored, as duplicity does). The password comes from the
// URL, else $FTP_PASSWORD, else the pass option (--mediafire-pass,
// FERRY_MEDIAFIRE_PASS); cfg holds the other options. The returned path
// is "", the backend's root.
func OpenLink(ctx context.Context, arg string, cfg backend.ConfigMap, env backend.Env) (backend.Backend, string, error) {
	user, pass, hasPass, root, err := parseLink(arg)
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
	case os.Getenv(FTPPasswordEnv) != "":
		c[optPass] = os.Getenv(FTPPasswordEnv)
	}
	if c[optPass] == "" {
		return nil, "", fmt.Errorf("mediafire URL %s: no password: set %s (or FERRY_MEDIAFIRE_PASS), or put it in the URL", RedactLink(arg), FTPPasswordEnv)
	}
	b, err := New(ctx, "mf", c, root, env)
	if err != nil {
		return nil, "", err
	}
	return b, "", nil
}

// RedactLink returns arg with the password of its user part hidden.
func RedactLink(arg string) string {
	rest := arg[min(len(arg), 5):]
	at := strings.LastIndex(strings.SplitN(rest, "/", 2)[0], "@")
	if at < 0 {
		return arg
	}
	userinfo := rest[:at]
	if i := strings.Index(userinfo, ":"); i >= 0 {
		return arg[:5] + userinfo[:i] + ":***" + rest[at:]
	}
	return arg
}
