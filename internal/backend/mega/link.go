package mega

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/internal/options"
	"ferry/internal/retry"
	megaclient "ferry/mega"
)

// ErrReadOnly is wrapped by every write to a LinkBackend. It is also
// fs.ErrPermission.
var ErrReadOnly = fmt.Errorf("MEGA links are read-only: %w", fs.ErrPermission)

// LinkBackend is a read-only backend over a MEGA file or folder link,
// opened with no account and no config (see OpenLink). A folder link's
// root is the linked folder; a file link's root holds the one file, under
// its name. Names decode as on a MEGA remote. Every write method fails
// with an error wrapping ErrReadOnly. It is safe for concurrent use.
type LinkBackend struct {
	link megaclient.Link
	log  *slog.Logger
	tree linkTree
	fl   *megaclient.FolderLink // nil for a file link

	files fileCache // download URLs of ranged reads
}

var (
	_ backend.Backend        = (*LinkBackend)(nil)
	_ backend.DuplicateNamer = (*LinkBackend)(nil)
	_ backend.Precisioner    = (*LinkBackend)(nil)
)

// linkTree is what a LinkBackend reads: a folder link's tree, or the one
// file of a file link.
type linkTree interface {
	LookupNames(names ...string) ([]*megaclient.Node, error)
	Children(n *megaclient.Node) []*megaclient.Node
	Node(handle string) *megaclient.Node
	Open(ctx context.Context, n *megaclient.Node) (*megaclient.File, error)
	NewReader(ctx context.Context, n *megaclient.Node) (io.ReadCloser, error)
}

// IsLink reports whether a command-line argument is meant as a MEGA link
// (then OpenLink opens it or says what is wrong with it): an http(s) URL
// on a MEGA host, or one whose path or fragment has a link's shape
// (/file/..., /folder/..., #!..., #F!...), as `ferry link` prints them for
// local servers.
func IsLink(arg string) bool {
	scheme, rest, ok := strings.Cut(arg, "://")
	if !ok || !strings.EqualFold(scheme, "https") && !strings.EqualFold(scheme, "http") {
		return false
	}
	hostPath, frag, _ := strings.Cut(rest, "#")
	host, p, _ := strings.Cut(hostPath, "/")
	return megaHost(host) || strings.HasPrefix(p, "file/") || strings.HasPrefix(p, "folder/") ||
		strings.HasPrefix(frag, "!") || strings.HasPrefix(frag, "F!")
}

// megaHost reports whether host (maybe with a port) is MEGA's.
func megaHost(host string) bool {
	host, _, _ = strings.Cut(strings.ToLower(host), ":")
	for _, d := range []string{"mega.nz", "mega.co.nz", "mega.io"} {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}

// SplitLink splits a link argument into the link and a path inside it:
// "<link>:<path>", where the first ":" after the key ("#...") starts the
// path (a key never holds one). Without one, path is "".
func SplitLink(arg string) (link, path string) {
	i := strings.IndexByte(arg, '#')
	if i < 0 {
		return arg, ""
	}
	j := strings.IndexByte(arg[i:], ':')
	if j < 0 {
		return arg, ""
	}
	return arg[:i+j], arg[i+j+1:]
}

// RedactLink returns a link argument with its key hidden, for messages.
func RedactLink(arg string) string {
	link, p := SplitLink(arg)
	if i := strings.IndexByte(link, '#'); i >= 0 {
		link = link[:i+1] + "…"
	}
	if p != "" {
		link += ":" + p
	}
	return link
}

// CheckLink checks a link argument's syntax without any I/O; errors
// wrap megaclient.ErrLink and never quote the key.
func CheckLink(arg string) error {
	link, _ := SplitLink(arg)
	_, err := megaclient.ParseLink(link)
	return err
}

// OpenLink opens a read-only backend on a link argument
// ("<link>[:<path>]", see SplitLink) and returns the contract path the
// argument names in it: for a file link, the file's name; for a folder
// link, the path (after "/folder/<node>" or "/file/<node>" in the link, if
// any, then after ":"). cfg may set url (the API server) and debug; with
// no url, $X_MEGA_API_URL is used, else the link's own host when it is
// not MEGA's (a link printed by `ferry link` for a local server), else
// MEGA's API. ctx is used only while opening.
func OpenLink(ctx context.Context, arg string, cfg backend.ConfigMap, env backend.Env) (*LinkBackend, string, error) {
	return openLink(ctx, arg, cfg, env)
}

func openLink(ctx context.Context, arg string, cfg backend.ConfigMap, env backend.Env, tweak ...func(*megaclient.Options)) (*LinkBackend, string, error) {
	raw, sub := SplitLink(arg)
	l, err := megaclient.ParseLink(raw)
	if err != nil {
		return nil, "", err
	}
	sub, err = backend.Clean(sub)
	if err != nil {
		return nil, "", fmt.Errorf("%s: path %q: %w", l.Redacted(), sub, fs.ErrInvalid)
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	debug, err := options.Bool("mega", "link", optDebug, cfg[optDebug])
	if err != nil {
		return nil, "", err
	}
	opts := megaclient.Options{APIURL: linkAPI(raw, cfg[optURL]), Logger: log, Debug: debug,
		Dial: env.Dial, Retry: retry.Policy{MaxAttempts: env.LowLevelRetries}}
	for _, f := range tweak {
		f(&opts)
	}
	b := &LinkBackend{link: l, log: log}
	if !l.Folder {
		f, err := megaclient.New(opts).OpenFileLink(ctx, l)
		if err != nil {
			return nil, "", err
		}
		name, ok := contractName(f.Node())
		if !ok {
			return nil, "", fmt.Errorf("%s: the file has no name", l.Redacted())
		}
		b.tree = &fileTree{f: f, name: f.Node().Name}
		if sub == "" {
			sub = name
		}
		return b, sub, nil
	}
	fl, err := megaclient.OpenFolderLink(ctx, opts, l)
	if err != nil {
		return nil, "", err
	}
	b.tree, b.fl = fl, fl
	if root := fl.Root(); root.Err != nil {
		return nil, "", fmt.Errorf("%s: the link's key does not decrypt the folder: %w", l.Redacted(), root.Err)
	}
	if l.Node != "" {
		n := fl.Node(l.Node)
		names, ok := fl.PathNames(n)
		if !ok {
			return nil, "", fmt.Errorf("%s: node %s is not in the folder: %w", l.Redacted(), l.Node, fs.ErrNotExist)
		}
		for i, m := range names {
			names[i] = nameCodec.Decode(m)
		}
		sub = backend.Join(append(names, sub)...)
	}
	return b, sub, nil
}

// linkAPI is the API URL for a link: url (--mega-url), else
// $X_MEGA_API_URL, else the link's host unless it is MEGA's, else ""
// (the client's default, MEGA's API).
func linkAPI(link, url string) string {
	if url = strings.TrimSpace(url); url != "" {
		return url
	}
	if os.Getenv(megaclient.EnvAPIURL) != "" {
		return ""
	}
	scheme, rest, _ := strings.Cut(link, "://")
	host, _, _ := strings.Cut(rest, "/")
	host, _, _ = strings.Cut(host, "#")
	if megaHost(host) {
		return ""
	}
	return strings.ToLower(scheme) + "://" + host
}

// String names the link with its key hidden.
func (b *LinkBackend) String() string { return b.link.Redacted() }

// Precision is MEGA's: whole seconds.
func (b *LinkBackend) Precision() time.Duration { return time.Second }

func (b *LinkBackend) pathErr(op, p string, err error) error {
	return &backend.PathError{Op: op, Backend: b.String(), Path: p, Err: err}
}

// lookup returns every node at contract path p.
func (b *LinkBackend) lookup(p string) ([]*megaclient.Node, error) { return lookupNodes(b.tree, p) }

// pick is Backend.pick for the link: the newest node at p that keep
// accepts, fs.ErrNotExist or kindErr.
func (b *LinkBackend) pick(p string, keep func(*megaclient.Node) bool, kindErr error) (*megaclient.Node, error) {
	ns, err := b.lookup(p)
	if err != nil {
		return nil, err
	}
	if n := newest(ns, keep); n != nil {
		return n, nil
	}
	return nil, kindErr
}

// List returns the entries in dir; duplicates have their handles as ID.
func (b *LinkBackend) List(ctx context.Context, dir string) ([]backend.Entry, error) {
	dir, err := backend.Clean(dir)
	if err != nil {
		return nil, b.pathErr("list", dir, fs.ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return nil, b.pathErr("list", dir, err)
	}
	ns, err := b.lookup(dir)
	if err != nil {
		return nil, b.pathErr("list", dir, err)
	}
	out, err := listNodes(b.tree, dir, ns, nil)
	if err != nil {
		return nil, b.pathErr("list", dir, err)
	}
	return out, nil
}

// Stat describes p.
func (b *LinkBackend) Stat(ctx context.Context, p string) (backend.Entry, error) {
	p, err := backend.Clean(p)
	if err != nil {
		return backend.Entry{}, b.pathErr("stat", p, fs.ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return backend.Entry{}, b.pathErr("stat", p, err)
	}
	n, err := b.pick(p, nil, fs.ErrNotExist)
	if err != nil {
		return backend.Entry{}, b.pathErr("stat", p, err)
	}
	return statEntry(p, n), nil
}

// Open reads length bytes of file p from offset; a whole read is
// MAC-verified, as on a MEGA remote.
func (b *LinkBackend) Open(ctx context.Context, p string, offset, length int64) (io.ReadCloser, error) {
	p, err := backend.Clean(p)
	if err != nil {
		return nil, b.pathErr("open", p, fs.ErrInvalid)
	}
	if offset < 0 {
		return nil, b.pathErr("open", p, fmt.Errorf("negative offset %d: %w", offset, fs.ErrInvalid))
	}
	if err := ctx.Err(); err != nil {
		return nil, b.pathErr("open", p, err)
	}
	n, err := b.pick(p, isFile, backend.ErrIsDir)
	if err != nil {
		return nil, b.pathErr("open", p, err)
	}
	return b.openNode(ctx, p, n, offset, length)
}

// OpenEntry opens the one node e.ID names.
func (b *LinkBackend) OpenEntry(ctx context.Context, e backend.Entry, offset, length int64) (io.ReadCloser, error) {
	if e.ID == "" {
		return b.Open(ctx, e.Path, offset, length)
	}
	if offset < 0 {
		return nil, b.pathErr("open", e.Path, fmt.Errorf("negative offset %d: %w", offset, fs.ErrInvalid))
	}
	if err := ctx.Err(); err != nil {
		return nil, b.pathErr("open", e.Path, err)
	}
	n := b.tree.Node(e.ID)
	if n == nil {
		return nil, b.pathErr("open", e.Path, fs.ErrNotExist)
	}
	if n.IsDir() {
		return nil, b.pathErr("open", e.Path, backend.ErrIsDir)
	}
	return b.openNode(ctx, e.Path, n, offset, length)
}

func (b *LinkBackend) openNode(ctx context.Context, p string, n *megaclient.Node, offset, length int64) (io.ReadCloser, error) {
	return openContent(ctx, b.tree, &b.files, b, p, n, offset, length)
}

// readOnly is the error of every write.
func (b *LinkBackend) readOnly(op, p string) error { return b.pathErr(op, p, ErrReadOnly) }

// Put fails: links are read-only.
func (b *LinkBackend) Put(_ context.Context, p string, _ io.Reader, _ int64, _ time.Time) (backend.Entry, error) {
	return backend.Entry{}, b.readOnly("put", p)
}

// Mkdir fails: links are read-only.
func (b *LinkBackend) Mkdir(_ context.Context, dir string) error { return b.readOnly("mkdir", dir) }

// Rmdir fails: links are read-only.
func (b *LinkBackend) Rmdir(_ context.Context, dir string) error { return b.readOnly("rmdir", dir) }

// Remove fails: links are read-only.
func (b *LinkBackend) Remove(_ context.Context, p string) error { return b.readOnly("remove", p) }

// RemoveEntry fails: links are read-only.
func (b *LinkBackend) RemoveEntry(_ context.Context, e backend.Entry) error {
	return b.readOnly("remove", e.Path)
}

// RenameEntry fails: links are read-only.
func (b *LinkBackend) RenameEntry(_ context.Context, e backend.Entry, _ string) (backend.Entry, error) {
	return backend.Entry{}, b.readOnly("rename", e.Path)
}

// fileTree is a file link as a tree: a root folder holding the file.
type fileTree struct {
	f    *megaclient.File
	name string // MEGA name of the file
}

var linkRoot = &megaclient.Node{Type: megaclient.FolderNode}

func (t *fileTree) LookupNames(names ...string) ([]*megaclient.Node, error) {
	switch {
	case len(names) == 0:
		return []*megaclient.Node{linkRoot}, nil
	case len(names) == 1 && names[0] == t.name:
		return []*megaclient.Node{t.f.Node()}, nil
	}
	return nil, fs.ErrNotExist
}

func (t *fileTree) Children(n *megaclient.Node) []*megaclient.Node {
	if n == linkRoot {
		return []*megaclient.Node{t.f.Node()}
	}
	return nil
}

func (t *fileTree) Node(h string) *megaclient.Node {
	if h == t.f.Node().Handle {
		return t.f.Node()
	}
	return nil
}

func (t *fileTree) Open(context.Context, *megaclient.Node) (*megaclient.File, error) { return t.f, nil }

func (t *fileTree) NewReader(ctx context.Context, _ *megaclient.Node) (io.ReadCloser, error) {
	return t.f.NewReader(ctx), nil
}
