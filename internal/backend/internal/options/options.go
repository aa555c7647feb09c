// Package options parses the configuration options the account backends
// (mega, mediafire) share, with the same rules and error messages.
// Errors name the remote and the option, never a password.
package options

import (
	"fmt"
	"strconv"
	"strings"
)

// Option names every account backend has.
const (
	User = "user"
	Pass = "pass"
	URL  = "url"
)

// Account returns the user, password and API URL of remote, a kind
// ("mega", "mediafire") remote, from cfg's user, pass and url options.
// The user and the password are required; the URL defaults to
// defaultURL, loses trailing slashes and must be http or https.
func Account(kind, remote string, cfg map[string]string, defaultURL string) (user, pass, url string, err error) {
	user, pass = strings.TrimSpace(cfg[User]), cfg[Pass]
	if user == "" {
		return "", "", "", fmt.Errorf("%s remote %q: option %q (the account's e-mail) is required", kind, remote, User)
	}
	if pass == "" {
		return "", "", "", fmt.Errorf("%s remote %q: option %q is required", kind, remote, Pass)
	}
	url = strings.TrimRight(strings.TrimSpace(cfg[URL]), "/")
	if url == "" {
		url = defaultURL
	}
	if !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://") {
		return "", "", "", fmt.Errorf("%s remote %q: option %q: %q is not an http(s) URL", kind, remote, URL, url)
	}
	return user, pass, url, nil
}

// Bool parses option name of remote: empty is false.
func Bool(kind, remote, name, v string) (bool, error) {
	if v = strings.TrimSpace(v); v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s remote %q: option %q: %q is not true or false", kind, remote, name, v)
	}
	return b, nil
}
