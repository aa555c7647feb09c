package mega

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"strings"

	"ferry/internal/backend"
	"ferry/internal/backend/encoding"
	megaclient "ferry/mega"
)

// errFileInTheWay reports a file where a folder is needed; it is both
// backend.ErrNotDir and fs.ErrExist.
var errFileInTheWay = fmt.Errorf("a file is in the way: %w: %w", backend.ErrNotDir, fs.ErrExist)

// errDirInTheWay reports a folder where a file is to be written; it is
// both backend.ErrIsDir and fs.ErrExist.
var errDirInTheWay = fmt.Errorf("a directory is in the way: %w: %w", backend.ErrIsDir, fs.ErrExist)

// pathErr wraps err for op on p.
func (b *Backend) pathErr(op, p string, err error) error {
	return &backend.PathError{Op: op, Backend: b.String(), Path: p, Err: err}
}

// full maps a contract path to a path inside the Cloud Drive.
func (b *Backend) full(p string) string { return backend.Join(b.root, p) }

// clean puts a caller's path into the contract's form.
func (b *Backend) clean(op, p string) (string, error) {
	c, err := backend.Clean(p)
	if err != nil {
		return "", b.pathErr(op, p, fs.ErrInvalid)
	}
	return c, nil
}

// nameCodec is the code between contract names and MEGA's node names (see
// the package doc): MEGA's names are UTF-8 and may hold "/" and NUL or be
// "." or "..", so "/" shows as '／', NUL as '␀', "." as "．", ".." as
// "．．", and an invalid byte of a local name is stored as ‛ and two hex
// digits, rclone's form.
var nameCodec = encoding.New(encoding.Slash, encoding.NUL)

// megaNames returns the node names of the elements of contract path p
// below the Cloud Drive root (the backend root included). A name that is
// not a contract name (with NUL) is fs.ErrInvalid.
func (b *Backend) megaNames(p string) ([]string, error) { return encodeNames(b.full(p)) }

// encodeNames returns the node names of the elements of contract path p.
func encodeNames(p string) ([]string, error) {
	if p == "" {
		return nil, nil
	}
	out := make([]string, 0, strings.Count(p, "/")+1)
	for el := range strings.SplitSeq(p, "/") {
		m, err := nameCodec.Encode(el)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// nodeTree is what the read side needs of a MEGA tree: the account's
// client, or a link's tree.
type nodeTree interface {
	LookupNames(names ...string) ([]*megaclient.Node, error)
	Children(n *megaclient.Node) []*megaclient.Node
}

// lookupNodes returns every node at contract path p of t (MEGA allows
// duplicate names). A missing path is fs.ErrNotExist.
func lookupNodes(t nodeTree, p string) ([]*megaclient.Node, error) {
	ms, err := encodeNames(p)
	if err != nil {
		return nil, err
	}
	ns, err := t.LookupNames(ms...)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fs.ErrNotExist
	}
	return ns, err
}

// listNodes returns the entries inside the folders among ns, which are
// at contract path dir, merged (one folder name may stand for several
// nodes). skipped, if set, hears of children without a usable name.
// None of ns a folder is backend.ErrNotDir.
func listNodes(t nodeTree, dir string, ns []*megaclient.Node, skipped func(*megaclient.Node)) ([]backend.Entry, error) {
	var out []backend.Entry
	dirs := 0
	for _, d := range ns {
		if !d.IsDir() {
			continue
		}
		dirs++
		for _, k := range t.Children(d) {
			name, ok := contractName(k)
			if !ok {
				if skipped != nil {
					skipped(k)
				}
				continue
			}
			out = append(out, entry(backend.Join(dir, name), k))
		}
	}
	if dirs == 0 {
		return nil, backend.ErrNotDir
	}
	return out, nil
}

// statEntry is Stat's entry for node n at contract path p: the root "" is
// always a directory.
func statEntry(p string, n *megaclient.Node) backend.Entry {
	e := entry(p, n)
	if p == "" {
		e.IsDir, e.Size = true, 0
	}
	return e
}

// megaName returns the node name for the last element of contract path p.
func megaName(p string) (string, error) { return nameCodec.Encode(path.Base(p)) }

// lookup returns every node at p (MEGA allows duplicate names). A missing
// path is fs.ErrNotExist.
func (b *Backend) lookup(p string) ([]*megaclient.Node, error) {
	return lookupNodes(b.c, b.full(p))
}

func isDir(n *megaclient.Node) bool  { return n.IsDir() }
func isFile(n *megaclient.Node) bool { return !n.IsDir() }

// newest returns the most recently created node of ns that keep accepts
// (ties broken by handle), or nil.
func newest(ns []*megaclient.Node, keep func(*megaclient.Node) bool) *megaclient.Node {
	var best *megaclient.Node
	for _, n := range ns {
		if keep != nil && !keep(n) {
			continue
		}
		if best == nil || n.CreatedAt.After(best.CreatedAt) ||
			(n.CreatedAt.Equal(best.CreatedAt) && n.Handle > best.Handle) {
			best = n
		}
	}
	return best
}

// pick returns the newest node at p that keep accepts and says at debug
// level when p names several nodes. It returns fs.ErrNotExist when p is
// missing, and kindErr when p exists but only as the other kind.
func (b *Backend) pick(p string, keep func(*megaclient.Node) bool, kindErr error) (*megaclient.Node, error) {
	ns, err := b.lookup(p)
	if err != nil {
		return nil, err
	}
	n := newest(ns, keep)
	if n == nil {
		return nil, kindErr
	}
	if len(ns) > 1 {
		b.log.Debug("mega: several nodes have this name; using the newest",
			slog.String(logKeyPath, p), slog.Int(logKeyCount, len(ns)), slog.String(logKeyHandle, n.Handle))
	}
	return n, nil
}

// entry describes node n at contract path p.
func entry(p string, n *megaclient.Node) backend.Entry {
	e := backend.Entry{Path: p, ModTime: n.ModTime, IsDir: n.IsDir(), ID: n.Handle}
	if !e.IsDir {
		e.Size = n.Size
		e.Fingerprint = n.Fingerprint
	}
	return e
}

// contractName returns the contract name of node k, and false for a node
// that cannot be named: its attributes did not decrypt, or its name is
// empty. Every other MEGA name decodes to a distinct contract name.
func contractName(k *megaclient.Node) (string, bool) {
	if k.Err != nil || k.Name == "" {
		return "", false
	}
	return nameCodec.Decode(k.Name), true
}

// contractNames returns the contract names of ns ("" for a node without
// one), or nil when every node has one and it is its MEGA name, as nearly
// always: then nothing is allocated.
func contractNames(ns []*megaclient.Node) []string {
	var out []string
	for i, k := range ns {
		name, ok := contractName(k)
		if out == nil && ok && name == k.Name {
			continue
		}
		if out == nil {
			out = make([]string, len(ns))
			for j := range i {
				out[j] = ns[j].Name
			}
		}
		out[i] = name
	}
	return out
}

// ensureDir returns the folder at contract path dir, creating it and its
// missing parents (the backend root included). A file in the way is
// errFileInTheWay.
func (b *Backend) ensureDir(ctx context.Context, dir string) (*megaclient.Node, error) {
	ms, err := b.megaNames(dir)
	if err != nil {
		return nil, err
	}
	if ns, err := b.c.LookupNames(ms...); err == nil {
		if d := newest(ns, isDir); d != nil {
			return d, nil
		}
	}
	b.dirMu.Lock()
	defer b.dirMu.Unlock()
	cur := b.c.Root()
	if cur == nil {
		return nil, megaclient.ErrNoTree
	}
	for i, name := range ms {
		ns, err := b.c.LookupNames(ms[:i+1]...)
		switch {
		case err == nil:
			if d := newest(ns, isDir); d != nil {
				cur = d
				continue
			}
			return nil, errFileInTheWay
		case !errors.Is(err, fs.ErrNotExist):
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		d, err := b.c.Mkdir(ctx, cur, name)
		if err != nil {
			return nil, err
		}
		b.dirty.Store(true)
		cur = d
	}
	return cur, nil
}

// removeNode trashes n, or deletes it with hard_delete.
func (b *Backend) removeNode(ctx context.Context, n *megaclient.Node) error {
	b.dirty.Store(true)
	b.files.forget(n.Handle)
	if b.cfg.hardDelete {
		return b.c.Delete(ctx, n)
	}
	return b.c.Trash(ctx, n)
}

// replaceOld removes the files at p other than keep, after keep was
// written there. It runs without the caller's cancellation (bounded by
// replaceTimeout): the new file exists, and stopping now would leave two.
func (b *Backend) replaceOld(ctx context.Context, p string, keep *megaclient.Node) error {
	ns, err := b.lookup(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), replaceTimeout)
	defer cancel()
	var errs []error
	for _, n := range ns {
		if n.Handle == keep.Handle || n.IsDir() {
			continue
		}
		if err := b.removeNode(ctx, n); err != nil {
			errs = append(errs, fmt.Errorf("remove the replaced file %s: %w", n.Handle, err))
		}
	}
	return errors.Join(errs...)
}
