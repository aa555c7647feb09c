package vfs

import (
	"cmp"
	"context"
	"errors"
	"io/fs"
	"slices"
	"time"

	"ferry/internal/backend"
)

// child returns d's child name (loading d) or fs.ErrNotExist.
func (d *Node) child(ctx context.Context, name string) (*Node, error) {
	return d.Lookup(ctx, name)
}

// exists reports whether d has a child name.
func (d *Node) exists(ctx context.Context, name string) (bool, error) {
	_, err := d.child(ctx, name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// Mkdir creates directory name in d; fs.ErrExist if name is taken.
func (d *Node) Mkdir(ctx context.Context, name string) (*Node, error) {
	v := d.v
	p := backend.Join(d.Path(), name)
	if err := v.readOnly("mkdir", p); err != nil {
		return nil, err
	}
	if ok, err := d.exists(ctx, name); err != nil {
		return nil, err
	} else if ok {
		return nil, v.perr("mkdir", p, fs.ErrExist)
	}
	done := v.changing(d)
	err := v.b.Mkdir(ctx, p)
	var e backend.Entry
	if err == nil {
		e, err = v.b.Stat(ctx, p)
	}
	done()
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	c := v.nodeFor(e, d, name)
	d.mut++
	c.children, c.listed = map[string]*Node{}, time.Now()
	if d.children != nil {
		d.children[name] = c
	}
	return c, nil
}

// Rmdir removes the empty directory name of d.
func (d *Node) Rmdir(ctx context.Context, name string) error {
	v := d.v
	c, err := d.child(ctx, name)
	if err != nil {
		return err
	}
	e := c.Entry()
	if err := v.readOnly("rmdir", e.Path); err != nil {
		return err
	}
	if !e.IsDir {
		return v.perr("rmdir", e.Path, backend.ErrNotDir)
	}
	v.mu.Lock()
	dup := c.dup
	v.mu.Unlock()
	if dup {
		return v.perr("rmdir", e.Path, errors.Join(errors.New("one of several folders with this name"), errors.ErrUnsupported))
	}
	if c.hasWrites() {
		// A file whose upload is still to come: the backend's folder may
		// be empty, the VFS's is not.
		return v.perr("rmdir", e.Path, backend.ErrNotEmpty)
	}
	js := v.lockPending(func(p string) bool { return isUnder(p, e.Path) })
	defer unlockJobs(js)
	done := v.changing(d)
	err = v.b.Rmdir(ctx, e.Path)
	done()
	if err != nil {
		return err
	}
	v.dropJobs(js, "its folder was removed")
	v.detach(d, name, c)
	return nil
}

// hasWrites reports whether directory d has a cached child with a write
// file (being written, or waiting for a retry of its upload).
func (d *Node) hasWrites() bool {
	d.v.mu.Lock()
	defer d.v.mu.Unlock()
	for _, c := range d.children {
		if c.w != nil && !c.gone {
			return true
		}
	}
	return false
}

// Remove removes the file name of d. Handles open on it keep working on
// their data; nothing is uploaded for it any more, and its journal
// records (of this VFS's writes and of earlier VFSs' not yet replayed)
// go, so the file never comes back.
func (d *Node) Remove(ctx context.Context, name string) error {
	v := d.v
	c, err := d.child(ctx, name)
	if err != nil {
		return err
	}
	v.mu.Lock()
	e, dup, local, w := c.entry, c.dup, c.local, c.w
	v.mu.Unlock()
	if err := v.readOnly("remove", e.Path); err != nil {
		return err
	}
	if e.IsDir {
		return v.perr("remove", e.Path, backend.ErrIsDir)
	}
	// No upload of the file runs while it goes (one running is waited
	// for), and none starts after.
	if w != nil {
		w.mu.Lock()
		defer w.mu.Unlock()
		v.mu.Lock()
		e, dup, local = c.entry, c.dup, c.local // an upload that ended meanwhile made it a new object
		v.mu.Unlock()
	}
	js := v.lockPending(func(p string) bool { return p == e.Path })
	defer unlockJobs(js)
	done := v.changing(d)
	switch {
	case local: // never uploaded
	case dup:
		err = v.b.(backend.DuplicateNamer).RemoveEntry(ctx, e)
	default:
		err = v.b.Remove(ctx, e.Path)
	}
	done()
	if err != nil {
		return err
	}
	v.detach(d, name, c)
	if w != nil {
		w.dropLocked()
	}
	v.dropJobs(js, "the file was removed")
	return nil
}

// detach drops child c (shown as name) from d.
func (v *VFS) detach(d *Node, name string, c *Node) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if d.children[name] == c {
		delete(d.children, name)
	}
	c.gone = true
	d.mut++
}

// Rename moves the child name of d to newName in dir nd, replacing a
// file there, or an empty directory when the source is a directory. It
// uses the backend's Move; without one, a file is copied and the source
// removed, and a directory is errors.ErrUnsupported.
func (d *Node) Rename(ctx context.Context, name string, nd *Node, newName string) error {
	v := d.v
	c, err := d.child(ctx, name)
	if err != nil {
		return err
	}
	v.mu.Lock()
	e, dup, local := c.entry, c.dup, c.local
	dst := backend.Join(nd.entry.Path, newName)
	v.mu.Unlock()
	if err := v.readOnly("rename", e.Path); err != nil {
		return err
	}
	if nd.Ino() == c.Ino() || (e.IsDir && isBelow(nd, c)) {
		return v.perr("rename", e.Path, fs.ErrInvalid)
	}
	old, err := nd.child(ctx, newName)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		old, err = nil, nil
	case err != nil:
		return err
	case old == c:
		return nil
	default:
		oe := old.Entry()
		switch {
		case e.IsDir && !oe.IsDir:
			return v.perr("rename", dst, backend.ErrNotDir)
		case !e.IsDir && oe.IsDir:
			return v.perr("rename", dst, backend.ErrIsDir)
		case oe.IsDir:
			if err := nd.Rmdir(ctx, newName); err != nil {
				return err
			}
		case old.isDup():
			if err := nd.Remove(ctx, newName); err != nil {
				return err
			}
			old = nil
		}
	}
	// No upload of the file moved (or of the files in the folder moved)
	// or of the file replaced runs during the move; their journal
	// records follow them or go.
	ws := v.writesOf(c, old)
	for _, w := range ws {
		w.mu.Lock()
		defer w.mu.Unlock()
	}
	v.mu.Lock()
	e, dup, local = c.entry, c.dup, c.local // an upload that ended meanwhile made it a new object
	v.mu.Unlock()
	all := v.lockPending(func(p string) bool { return p == e.Path || e.IsDir && isUnder(p, e.Path) || !e.IsDir && p == dst })
	defer unlockJobs(all)
	var js, jd []*replayJob // the moved file's (or folder's), the replaced file's
	for _, j := range all {
		if j.path == dst {
			jd = append(jd, j)
		} else {
			js = append(js, j)
		}
	}
	var ne backend.Entry
	done := v.changing(d, nd)
	defer done() // after moved: a listing must not apply the backend's state before the VFS's
	switch {
	case local:
		ne = e
		ne.Path = dst
	case dup && d == nd:
		ne, err = v.b.(backend.DuplicateNamer).RenameEntry(ctx, e, newName)
	case dup:
		return v.perr("rename", e.Path, errors.Join(errors.New("one of several objects with this name cannot be moved to another folder"), errors.ErrUnsupported))
	default:
		ne, err = backend.Move(ctx, v.b, e.Path, dst)
		if errors.Is(err, errors.ErrUnsupported) && !e.IsDir {
			ne, err = v.copyRemove(ctx, e, dst)
		}
	}
	if err != nil {
		return err
	}
	v.moved(d, name, c, nd, newName, dst, old, ne, local)
	v.dropJobs(jd, "the file was replaced by a rename")
	v.retargetJobs(js, e.Path, dst)
	if old != nil && old != c {
		if ow := old.writer(); ow != nil {
			ow.dropLocked()
		}
	}
	for _, w := range ws {
		v.mu.Lock()
		n := w.n
		p, replaces, live := n.entry.Path, n.entry.ID, n.w == w && !n.gone
		if n.local {
			replaces = ""
		}
		v.mu.Unlock()
		if !live || !w.journalled {
			continue
		}
		if err := w.journal(p, replaces); err != nil {
			v.log.Error("vfs: cannot retarget the journal record of a renamed file; after a crash it is uploaded under its old name", "path", p, "err", err)
		}
	}
	return nil
}

// writesOf returns the write files of the nodes ns (nil ones skipped)
// and, for a directory, of the cached nodes inside it, ordered by inode
// number, the order they are locked in.
func (v *VFS) writesOf(ns ...*Node) []*writeFile {
	v.mu.Lock()
	defer v.mu.Unlock()
	var ws []*writeFile
	add := func(n *Node) {
		if n.w != nil && !slices.Contains(ws, n.w) {
			ws = append(ws, n.w)
		}
	}
	var walk func(d *Node)
	walk = func(d *Node) {
		for _, c := range d.children {
			add(c)
			if c.entry.IsDir {
				walk(c)
			}
		}
	}
	for _, n := range ns {
		if n == nil {
			continue
		}
		add(n)
		if n.entry.IsDir {
			walk(n)
		}
	}
	slices.SortFunc(ws, func(a, b *writeFile) int { return cmp.Compare(a.n.ino, b.n.ino) })
	return ws
}

// writer returns n's write file, or nil.
func (n *Node) writer() *writeFile {
	n.v.mu.Lock()
	defer n.v.mu.Unlock()
	return n.w
}

// moved updates the tree after child c (shown as name) of d moved to
// newName in nd as entry ne, replacing old.
func (v *VFS) moved(d *Node, name string, c, nd *Node, newName, dst string, old *Node, ne backend.Entry, local bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if d.children[name] == c {
		delete(d.children, name)
	}
	if old != nil && old != c {
		old.gone = true
	}
	d.mut++
	nd.mut++
	oldKey := key(c.entry)
	if local {
		c.entry.Path = dst
	} else {
		ne.Size, ne.IsDir = c.entry.Size, c.entry.IsDir
		if ne.ModTime.IsZero() {
			ne.ModTime = c.entry.ModTime
		}
		c.entry = ne
	}
	v.rekey(c, oldKey)
	c.parent, c.name, c.dup = nd, newName, false
	if nd.children != nil {
		nd.children[newName] = c
	}
	if c.entry.IsDir {
		v.repath(c)
	}
}

// isDup reports whether n is one of several objects with its name.
func (n *Node) isDup() bool {
	n.v.mu.Lock()
	defer n.v.mu.Unlock()
	return n.dup
}

// isBelow reports whether n is dir or inside it.
func isBelow(n, dir *Node) bool {
	n.v.mu.Lock()
	defer n.v.mu.Unlock()
	for ; n != nil; n = n.parent {
		if n == dir {
			return true
		}
	}
	return false
}

// repath gives the cached descendants of the moved directory d their new
// paths. The caller holds v.mu.
func (v *VFS) repath(d *Node) {
	for _, c := range d.children {
		oldKey := key(c.entry)
		c.entry.Path = backend.Join(d.entry.Path, c.entry.Name())
		v.rekey(c, oldKey)
		if c.entry.IsDir {
			v.repath(c)
		}
	}
}

// copyRemove moves file e to dst by copying it and removing the source.
func (v *VFS) copyRemove(ctx context.Context, e backend.Entry, dst string) (backend.Entry, error) {
	rc, err := backend.OpenEntry(ctx, v.b, e, 0, -1)
	if err != nil {
		return backend.Entry{}, err
	}
	defer rc.Close()
	ne, err := v.b.Put(ctx, dst, backend.ExactReader(rc, e.Size), e.Size, e.ModTime)
	if err != nil {
		return backend.Entry{}, err
	}
	return ne, v.b.Remove(ctx, e.Path)
}

// SetModTime sets the file's mtime: with the next upload when it is
// being written, else with the backend's ModTimeSetter (and
// errors.ErrUnsupported without one). A directory's mtime is kept only
// in the VFS.
func (n *Node) SetModTime(ctx context.Context, t time.Time) error {
	v := n.v
	v.mu.Lock()
	w, e := n.w, n.entry
	v.mu.Unlock()
	if err := v.readOnly("setmodtime", e.Path); err != nil {
		return err
	}
	if w != nil && w.setModTime(t) {
		return nil
	}
	if !e.IsDir {
		if err := backend.SetModTime(ctx, v.b, e.Path, t); err != nil {
			return err
		}
	}
	v.mu.Lock()
	n.entry.ModTime = t
	if e.IsDir {
		n.dirTime = t // the next listing of the parent brings the backend's time
	}
	v.mu.Unlock()
	return nil
}

// Truncate sets the file's size, uploading the result unless a write
// handle is open (then it goes up with that handle's flush).
func (n *Node) Truncate(ctx context.Context, size int64) error {
	h, err := n.v.Open(ctx, n, OpenWrite)
	if err != nil {
		return err
	}
	err = h.Truncate(ctx, size)
	if rerr := h.Release(ctx); err == nil {
		err = rerr
	}
	return err
}
