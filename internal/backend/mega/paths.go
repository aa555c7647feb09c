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

// lookup returns every node at p (MEGA allows duplicate names). A missing
// path is fs.ErrNotExist.
func (b *Backend) lookup(p string) ([]*megaclient.Node, error) {
	ns, err := b.c.Lookup(b.full(p))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fs.ErrNotExist
	}
	return ns, err
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

// validName reports whether a node name can appear in a contract path.
func validName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.Contains(name, "/")
}

// ensureDir returns the folder at contract path dir, creating it and its
// missing parents (the backend root included). A file in the way is
// errFileInTheWay.
func (b *Backend) ensureDir(ctx context.Context, dir string) (*megaclient.Node, error) {
	full := b.full(dir)
	if ns, err := b.c.Lookup(full); err == nil {
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
	prefix := ""
	for name := range strings.SplitSeq(full, "/") {
		if name == "" {
			continue
		}
		prefix = path.Join(prefix, name)
		ns, err := b.c.Lookup(prefix)
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
