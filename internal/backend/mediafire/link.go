package mediafire

import (
	"context"

	"ferry/internal/backend"
	"ferry/internal/backend/internal/dupurl"
)

// FTPPasswordEnv is the variable duplicity reads an mf:// URL's password
// from when the URL has none.
const FTPPasswordEnv = dupurl.PasswordEnv

// scheme is duplicity's MediaFire URL form.
var scheme = dupurl.Scheme{Prefix: "mf://", Service: "mediafire",
	Example: "mf://user%40example.com@mediafire.com/folder", HostUse: "write mediafire.com; it is ignored"}

// IsLink reports whether arg is a duplicity-style MediaFire URL,
// mf://user%40host@mediafire.com/path.
func IsLink(arg string) bool { return scheme.Match(arg) }

// parseLink splits an mf:// URL into the account's e-mail, the password
// if the URL has one, and the folder path (contract form).
func parseLink(arg string) (user, pass string, hasPass bool, root string, err error) {
	u, err := scheme.Parse(arg)
	if err != nil {
		return "", "", false, "", err
	}
	if root, err = backend.Clean(u.Path); err != nil {
		return "", "", false, "", scheme.Errorf(arg, "path: %w", err)
	}
	return u.User, u.Pass, u.HasPass, root, nil
}

// CheckLink checks an mf:// URL's syntax without any I/O.
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
	c[optPass] = dupurl.URL{Pass: pass, HasPass: hasPass}.Password(c[optPass])
	if c[optPass] == "" {
		return nil, "", scheme.Errorf(arg, "no password: set %s (or FERRY_MEDIAFIRE_PASS), or put it in the URL", FTPPasswordEnv)
	}
	b, err := New(ctx, "mf", c, root, env)
	if err != nil {
		return nil, "", err
	}
	return b, "", nil
}

// RedactLink returns arg with the password of its user part hidden.
func RedactLink(arg string) string { return scheme.Redact(arg) }
