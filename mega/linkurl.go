package mega

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"ferry/mega/megacrypto"
)

// ErrLink is wrapped by ParseLink's errors: the text is not a MEGA file or
// folder link.
var ErrLink = errors.New("mega: not a valid MEGA link")

// Link is a parsed MEGA public link. Its Key opens the content: treat a
// Link (and its String) as a secret.
type Link struct {
	// Folder is true for a folder link, false for a file link.
	Folder bool
	// Handle is the public handle (8 characters), the link's identity on
	// the server (`g` with `p=` for a file, `n=` for a folder).
	Handle string
	// Key is the 32-byte node key of a file link or the 16-byte share
	// key of a folder link.
	Key []byte
	// Node, in a folder link, is the handle of the file or folder inside
	// it that the link points at ("/file/<h>", "/folder/<h>", "!<h>"),
	// or "" for the linked folder itself.
	Node string

	nodeKind string // "file" or "folder", as the link says; "" unknown
}

// ParseLink parses a MEGA link in any of the forms MEGA's apps print:
//
//	https://mega.nz/file/<handle>#<key>
//	https://mega.nz/folder/<handle>#<key>[/file/<node>|/folder/<node>]
//	https://mega.nz/#!<handle>!<key>
//	https://mega.nz/#F!<handle>!<key>[!<node>]
//
// The host is not checked (mega.nz, mega.co.nz, or the local server that
// made the link, as `ferry link` prints it) and does not say where the API
// is: a client opens the link on its own API URL. Errors wrap ErrLink and
// never quote the key.
func ParseLink(s string) (Link, error) {
	s = strings.TrimSpace(s)
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || !strings.EqualFold(scheme, "https") && !strings.EqualFold(scheme, "http") {
		return Link{}, fmt.Errorf("%w: want https://mega.nz/file/... or https://mega.nz/folder/...", ErrLink)
	}
	hostPath, frag, hasFrag := strings.Cut(rest, "#")
	host, p, _ := strings.Cut(hostPath, "/")
	if host == "" {
		return Link{}, fmt.Errorf("%w: no host", ErrLink)
	}
	if !hasFrag {
		return Link{}, fmt.Errorf("%w: no key (the part after \"#\"); a link without its key cannot be opened", ErrLink)
	}
	p = strings.Trim(p, "/")
	var l Link
	var key string
	switch {
	case p == "" && strings.HasPrefix(frag, "F!"):
		parts := strings.Split(frag[2:], "!")
		if len(parts) < 2 || len(parts) > 3 {
			return Link{}, fmt.Errorf("%w: want #F!<handle>!<key>[!<node>]", ErrLink)
		}
		l.Folder, l.Handle, key = true, parts[0], parts[1]
		if len(parts) == 3 {
			l.Node = parts[2]
		}
	case p == "" && strings.HasPrefix(frag, "!"):
		parts := strings.Split(frag[1:], "!")
		if len(parts) != 2 {
			return Link{}, fmt.Errorf("%w: want #!<handle>!<key>", ErrLink)
		}
		l.Handle, key = parts[0], parts[1]
	case strings.HasPrefix(p, "file/") || strings.HasPrefix(p, "folder/"):
		kind, h, _ := strings.Cut(p, "/")
		l.Folder, l.Handle = kind == "folder", h
		key = frag
		if l.Folder {
			var sub string
			key, sub, _ = strings.Cut(frag, "/")
			if sub != "" {
				subKind, n, _ := strings.Cut(sub, "/")
				if subKind != "file" && subKind != "folder" || n == "" {
					return Link{}, fmt.Errorf("%w: after the key, want /file/<handle> or /folder/<handle>", ErrLink)
				}
				l.Node, l.nodeKind = n, subKind
			}
		}
	default:
		return Link{}, fmt.Errorf("%w: want a path /file/<handle> or /folder/<handle>, or #!... or #F!...", ErrLink)
	}
	if err := checkHandle(l.Handle); err != nil {
		return Link{}, fmt.Errorf("%w: public handle %q: %v", ErrLink, l.Handle, err)
	}
	if l.Node != "" {
		if err := checkHandle(l.Node); err != nil {
			return Link{}, fmt.Errorf("%w: node handle %q: %v", ErrLink, l.Node, err)
		}
	}
	k, err := megacrypto.B64Decode(key)
	want := 32
	if l.Folder {
		want = 16
	}
	switch {
	case key == "":
		return Link{}, fmt.Errorf("%w: empty key", ErrLink)
	case err != nil:
		return Link{}, fmt.Errorf("%w: the key is not base64", ErrLink)
	case len(k) != want:
		return Link{}, fmt.Errorf("%w: key of %d bytes, want %d for a %s link", ErrLink, len(k), want, l.kind())
	}
	l.Key = k
	return l, nil
}

// checkHandle checks a node or public handle: 8 base64url characters.
func checkHandle(h string) error {
	if len(h) != 8 {
		return fmt.Errorf("%d characters, want 8", len(h))
	}
	if b, err := megacrypto.B64Decode(h); err != nil || len(b) != 6 {
		return errors.New("not base64")
	}
	return nil
}

func (l Link) kind() string {
	if l.Folder {
		return "folder"
	}
	return "file"
}

// String returns the link in MEGA's current form on mega.nz. It holds the
// key.
func (l Link) String() string { return l.URL("") }

// URL returns the link in MEGA's current form on base, the scheme and
// host of the web server that serves it ("" means https://mega.nz), e.g.
// http://127.0.0.1:4430/folder/<handle>#<key>. ParseLink reads it back.
func (l Link) URL(base string) string {
	if base == "" {
		base = "https://mega.nz"
	}
	s := strings.TrimRight(base, "/") + "/" + l.kind() + "/" + l.Handle + "#" + megacrypto.B64Encode(l.Key)
	if l.Folder && l.Node != "" {
		kind := l.nodeKind
		if kind == "" {
			kind = "folder" // the kind after the key only guides web apps
		}
		s += "/" + kind + "/" + l.Node
	}
	return s
}

// Redacted returns the link with its key hidden, for messages and logs.
func (l Link) Redacted() string {
	return "https://mega.nz/" + l.kind() + "/" + l.Handle + "#…"
}

// LinkBase returns the scheme and host to print links with for a client
// of apiURL: https://mega.nz for MEGA's own API (and "", the default),
// otherwise apiURL's scheme and host, so that a link made on a local
// server names it.
func LinkBase(apiURL string) string {
	if apiURL == "" || strings.TrimRight(apiURL, "/") == DefaultAPIURL {
		return "https://mega.nz"
	}
	u, err := url.Parse(apiURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "https://mega.nz"
	}
	if strings.HasSuffix(u.Hostname(), ".mega.co.nz") || strings.HasSuffix(u.Hostname(), ".mega.nz") {
		return "https://mega.nz"
	}
	return u.Scheme + "://" + u.Host
}
