package mega

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"time"

	"ferry/internal/backend"
	megaclient "ferry/mega"
)

// Move moves or renames src (a file or folder) to dst without copying
// data, creating dst's parents. An existing file at dst is removed after
// the move; an existing folder at dst is fs.ErrExist.
func (b *Backend) Move(ctx context.Context, src, dst string) (backend.Entry, error) {
	src, err := b.clean("move", src)
	if err != nil {
		return backend.Entry{}, err
	}
	if dst, err = b.clean("move", dst); err != nil {
		return backend.Entry{}, err
	}
	if src == "" || dst == "" {
		return backend.Entry{}, b.pathErr("move", src, fmt.Errorf("cannot move the root or onto it: %w", fs.ErrInvalid))
	}
	name, err := megaName(dst)
	if err != nil {
		return backend.Entry{}, b.pathErr("move", dst, err)
	}
	if err := ctx.Err(); err != nil {
		return backend.Entry{}, b.pathErr("move", src, err)
	}
	b.mutating.RLock()
	defer b.mutating.RUnlock()
	unlock := b.names.Lock(dst)
	defer unlock()
	n, err := b.pick(src, nil, fs.ErrNotExist)
	if err != nil {
		return backend.Entry{}, b.pathErr("move", src, err)
	}
	if src == dst {
		return entry(dst, n), nil
	}
	if ns, err := b.lookup(dst); err == nil {
		for _, o := range ns {
			if o.IsDir() && o.Handle != n.Handle {
				return backend.Entry{}, b.pathErr("move", dst, fmt.Errorf("%w: %w", fs.ErrExist, backend.ErrIsDir))
			}
		}
		if n.IsDir() && newest(ns, isFile) != nil {
			return backend.Entry{}, b.pathErr("move", dst, errFileInTheWay)
		}
	}
	parent, err := b.ensureDir(ctx, backend.Dir(dst))
	if err != nil {
		return backend.Entry{}, b.pathErr("move", dst, err)
	}
	b.dirty.Store(true)
	if n.Parent != parent.Handle {
		if err := b.c.Move(ctx, n, parent); err != nil {
			return backend.Entry{}, b.pathErr("move", src, err)
		}
	}
	if n.Name != name {
		if err := b.c.Rename(ctx, n, name); err != nil {
			return backend.Entry{}, b.pathErr("move", src, fmt.Errorf("moved to %s but not renamed: %w", backend.Dir(dst), err))
		}
	}
	cur := b.c.Node(n.Handle)
	if cur == nil {
		return backend.Entry{}, b.pathErr("move", dst, fs.ErrNotExist)
	}
	if !cur.IsDir() {
		if err := b.replaceOld(ctx, dst, cur); err != nil {
			return entry(dst, cur), b.pathErr("move", dst, err)
		}
	}
	return entry(dst, cur), nil
}

// Purge removes dir and everything in it (every folder of that name): to
// the rubbish bin, or permanently with hard_delete. Purging the root
// removes the root folder itself, or, when the root is the Cloud Drive,
// everything in it.
func (b *Backend) Purge(ctx context.Context, dir string) error {
	dir, err := b.clean("purge", dir)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return b.pathErr("purge", dir, err)
	}
	b.mutating.RLock()
	defer b.mutating.RUnlock()
	unlock := b.names.Lock(dir)
	defer unlock()
	ns, err := b.lookup(dir)
	if err != nil {
		return b.pathErr("purge", dir, err)
	}
	var targets []*megaclient.Node
	for _, n := range ns {
		switch {
		case n.Type == megaclient.RootNode:
			targets = append(targets, b.c.Children(n)...)
		case n.IsDir():
			targets = append(targets, n)
		}
	}
	if len(targets) == 0 && newest(ns, isDir) == nil {
		return b.pathErr("purge", dir, backend.ErrNotDir)
	}
	var errs []error
	for _, n := range targets {
		if err := b.removeNode(ctx, n); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return b.pathErr("purge", dir, err)
	}
	return nil
}

// PublicLink exports p (a file or folder) and returns its link, or with
// unlink removes the link (and a folder's share) and returns "". The link
// names MEGA's web host (https://mega.nz/...) for MEGA's API, and the
// remote's own server otherwise (http://127.0.0.1:4430/folder/...#key), so
// that ferry opens it as printed. Its fragment holds the key: anyone with
// the link can read the content.
func (b *Backend) PublicLink(ctx context.Context, p string, unlink bool) (string, error) {
	if unlink {
		return "", b.unlink(ctx, p)
	}
	return b.PublicLinkExpire(ctx, p, 0)
}

// PublicLinkExpire is PublicLink with an expiry: the link stops working
// after expire (0: never). A server that refuses expiry gives an error
// wrapping megaclient.ErrLinkExpiry.
func (b *Backend) PublicLinkExpire(ctx context.Context, p string, expire time.Duration) (string, error) {
	if expire < 0 {
		return "", b.pathErr("link", p, fmt.Errorf("negative expiry %v: %w", expire, fs.ErrInvalid))
	}
	b.mutating.RLock()
	defer b.mutating.RUnlock()
	n, err := b.linkTarget(ctx, p)
	if err != nil {
		return "", err
	}
	var opts megaclient.LinkOptions
	if expire > 0 {
		opts.Expires = time.Now().Add(expire)
	}
	l, err := b.c.ExportLink(ctx, n, opts)
	if err != nil {
		return "", b.pathErr("link", p, err)
	}
	return l.URL(megaclient.LinkBase(b.cfg.url)), nil
}

// unlink removes p's link.
func (b *Backend) unlink(ctx context.Context, p string) error {
	b.mutating.RLock()
	defer b.mutating.RUnlock()
	n, err := b.linkTarget(ctx, p)
	if err != nil {
		return err
	}
	if err := b.c.Unlink(ctx, n); err != nil {
		return b.pathErr("unlink", p, err)
	}
	return nil
}

// linkTarget returns the node to link or unlink at p. Callers hold
// b.mutating.
func (b *Backend) linkTarget(ctx context.Context, p string) (*megaclient.Node, error) {
	p, err := b.clean("link", p)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, b.pathErr("link", p, err)
	}
	n, err := b.pick(p, nil, fs.ErrNotExist)
	if err != nil {
		return nil, b.pathErr("link", p, err)
	}
	b.dirty.Store(true)
	return n, nil
}

// About reports the account's quota; Trashed is the size of the files in
// the rubbish bin.
func (b *Backend) About(ctx context.Context) (backend.Usage, error) {
	q, err := b.c.Quota(ctx)
	if err != nil {
		return backend.Usage{}, b.pathErr("about", "", err)
	}
	u := backend.Usage{Total: q.Total, Used: q.Used, Free: max(q.Total-q.Used, 0), Trashed: -1}
	if bin := b.c.Rubbish(); bin != nil {
		u.Trashed = 0
		stack := []*megaclient.Node{bin}
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, k := range b.c.Children(n) {
				if k.IsDir() {
					stack = append(stack, k)
				} else {
					u.Trashed += k.Size
				}
			}
		}
	}
	return u, nil
}

// CleanUp empties the account's rubbish bin permanently.
func (b *Backend) CleanUp(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return b.pathErr("cleanup", "", err)
	}
	b.mutating.RLock()
	defer b.mutating.RUnlock()
	b.dirty.Store(true)
	if err := b.c.EmptyRubbish(ctx); err != nil {
		return b.pathErr("cleanup", "", err)
	}
	return nil
}

// node returns the node of e, checking it is still at e.Path.
func (b *Backend) node(op string, e backend.Entry) (*megaclient.Node, string, error) {
	p, err := b.clean(op, e.Path)
	if err != nil {
		return nil, "", err
	}
	n := b.c.Node(e.ID)
	if e.ID == "" || n == nil || p == "" {
		return nil, p, b.pathErr(op, p, fs.ErrNotExist)
	}
	want, err := b.megaNames(p)
	if err != nil {
		return nil, p, b.pathErr(op, p, err)
	}
	if got, ok := b.c.PathNames(n); !ok || !slices.Equal(got, want) {
		return nil, p, b.pathErr(op, p, fs.ErrNotExist)
	}
	return n, p, nil
}

// RemoveEntry removes the one node e.ID names (a file, or a folder with
// its contents): to the rubbish bin, or permanently with hard_delete.
func (b *Backend) RemoveEntry(ctx context.Context, e backend.Entry) error {
	if err := ctx.Err(); err != nil {
		return b.pathErr("remove", e.Path, err)
	}
	b.mutating.RLock()
	defer b.mutating.RUnlock()
	n, p, err := b.node("remove", e)
	if err != nil {
		return err
	}
	if err := b.removeNode(ctx, n); err != nil {
		return b.pathErr("remove", p, err)
	}
	return nil
}

// RenameEntry renames the one node e.ID names within its folder. Other
// nodes with newName are left alone (MEGA allows duplicates).
func (b *Backend) RenameEntry(ctx context.Context, e backend.Entry, newName string) (backend.Entry, error) {
	if err := ctx.Err(); err != nil {
		return backend.Entry{}, b.pathErr("rename", e.Path, err)
	}
	name, err := nameCodec.Encode(newName)
	if err != nil {
		return backend.Entry{}, b.pathErr("rename", e.Path, fmt.Errorf("bad new name: %w", err))
	}
	b.mutating.RLock()
	defer b.mutating.RUnlock()
	n, p, err := b.node("rename", e)
	if err != nil {
		return backend.Entry{}, err
	}
	b.dirty.Store(true)
	if err := b.c.Rename(ctx, n, name); err != nil {
		return backend.Entry{}, b.pathErr("rename", p, err)
	}
	cur := b.c.Node(n.Handle)
	if cur == nil {
		return backend.Entry{}, b.pathErr("rename", p, fs.ErrNotExist)
	}
	return entry(backend.Join(backend.Dir(p), newName), cur), nil
}

// SetModTime sets file p's mtime (whole seconds) in its `c` attribute.
func (b *Backend) SetModTime(ctx context.Context, p string, t time.Time) error {
	p, err := b.clean("setmodtime", p)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return b.pathErr("setmodtime", p, err)
	}
	b.mutating.RLock()
	defer b.mutating.RUnlock()
	n, err := b.pick(p, isFile, backend.ErrIsDir)
	if err != nil {
		return b.pathErr("setmodtime", p, err)
	}
	b.dirty.Store(true)
	if err := b.c.SetModTime(ctx, n, t); err != nil {
		return b.pathErr("setmodtime", p, err)
	}
	return nil
}

// MatchedBy implements backend.ContentMatcher.
func (b *Backend) MatchedBy() string { return "MEGA meta-MAC" }

// MatchContent reports whether r holds exactly the content of file e
// (the node e.ID names, or the newest file at e.Path without an ID),
// by comparing MEGA's meta-MAC; nothing is downloaded.
func (b *Backend) MatchContent(ctx context.Context, e backend.Entry, r io.Reader) (bool, error) {
	var n *megaclient.Node
	p := e.Path
	if e.ID != "" {
		var err error
		if n, p, err = b.node("match", e); err != nil {
			return false, err
		}
	} else {
		var err error
		if p, err = b.clean("match", e.Path); err != nil {
			return false, err
		}
		if n, err = b.pick(p, isFile, backend.ErrIsDir); err != nil {
			return false, b.pathErr("match", p, err)
		}
	}
	ok, err := b.c.MatchContent(ctx, n, r)
	if err != nil {
		return false, b.pathErr("match", p, err)
	}
	return ok, nil
}
