// Package dupurl parses duplicity's account URLs, scheme://user@host/path
// (mega://, mf://), for the backends that accept them: the account's
// e-mail (percent-encoded "@" in the user part), an optional password, the
// folder path, and the password's fallback to $FTP_PASSWORD as duplicity
// reads it. Messages never show the password. It imports no ferry package.
package dupurl

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// PasswordEnv is the variable duplicity reads a URL's password from when
// the URL has none.
const PasswordEnv = "FTP_PASSWORD"

// Scheme describes one service's URLs.
type Scheme struct {
	Prefix  string // "mega://", matched case-insensitively
	Service string // "mega", for messages: "mega URL ..."
	Example string // a well-formed URL, shown when the account is missing
	HostUse string // what the host is for, shown when it is missing
}

// Match reports whether arg starts with the scheme's prefix.
func (s Scheme) Match(arg string) bool {
	return len(arg) >= len(s.Prefix) && strings.EqualFold(arg[:len(s.Prefix)], s.Prefix)
}

// URL is a parsed URL. Path is the URL's path as written (the caller
// cleans it into its own form).
type URL struct {
	User, Pass string
	HasPass    bool
	Path       string
}

// Parse parses arg.
func (s Scheme) Parse(arg string) (URL, error) {
	u, err := url.Parse(arg)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL itself may hold a password
		}
		return URL{}, s.Errorf(arg, "%w", err)
	}
	if u.User == nil || u.User.Username() == "" {
		return URL{}, s.Errorf(arg, "no account: write %s", s.Example)
	}
	if u.Host == "" {
		return URL{}, s.Errorf(arg, "no host (%s)", s.HostUse)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return URL{}, s.Errorf(arg, "a query or fragment is not allowed")
	}
	pass, hasPass := u.User.Password()
	return URL{User: u.User.Username(), Pass: pass, HasPass: hasPass, Path: u.Path}, nil
}

// Password returns the URL's password, else $FTP_PASSWORD, else
// fallback (the backend's pass option); "" if none is set.
func (u URL) Password(fallback string) string {
	switch {
	case u.HasPass:
		return u.Pass
	case os.Getenv(PasswordEnv) != "":
		return os.Getenv(PasswordEnv)
	}
	return fallback
}

// Errorf returns an error about URL arg (redacted), e.g.
// `mega URL mega://a%40b@mega.nz/x: no password`.
func (s Scheme) Errorf(arg, format string, a ...any) error {
	return fmt.Errorf("%s URL %s: %w", s.Service, s.Redact(arg), fmt.Errorf(format, a...))
}

// Redact returns arg with the password of its user part hidden.
func (s Scheme) Redact(arg string) string {
	n := min(len(arg), len(s.Prefix))
	rest := arg[n:]
	at := strings.LastIndex(strings.SplitN(rest, "/", 2)[0], "@")
	if at < 0 {
		return arg
	}
	userinfo := rest[:at]
	if i := strings.Index(userinfo, ":"); i >= 0 {
		return arg[:n] + userinfo[:i] + ":***" + rest[at:]
	}
	return arg
}
