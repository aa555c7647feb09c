package memory

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"ferry/internal/backend"
)

// Compile-time checks of the optional interfaces of both modes; only
// DupBackend is a backend.DuplicateNamer.
var (
	_ backend.Backend        = (*Backend)(nil)
	_ backend.Mover          = (*Backend)(nil)
	_ backend.Purger         = (*Backend)(nil)
	_ backend.ModTimeSetter  = (*Backend)(nil)
	_ backend.Abouter        = (*Backend)(nil)
	_ backend.Precisioner    = (*Backend)(nil)
	_ backend.Backend        = (*DupBackend)(nil)
	_ backend.DuplicateNamer = (*DupBackend)(nil)
	_ backend.Mover          = (*DupBackend)(nil)
	_ backend.Purger         = (*DupBackend)(nil)
	_ backend.ModTimeSetter  = (*DupBackend)(nil)
	_ backend.Abouter        = (*DupBackend)(nil)
	_ backend.Precisioner    = (*DupBackend)(nil)
)

// Options configure a memory backend. The zero value is New's backend.
type Options struct {
	// Name names the backend in String and errors: "mega" shows as
	// "mega:". Empty means "memory".
	Name string
	// Precision is the mtime precision: stored mtimes are truncated to
	// it, and Precision reports it (time.Second for MEGA's whole
	// seconds). Zero or less keeps nanoseconds.
	Precision time.Duration
}

// Backend is an in-memory backend with unique names, rooted at a
// directory of a store. It is safe for concurrent use.
type Backend struct{ view }

// New returns a backend with a fresh, empty, private store.
func New() *Backend { return NewWithOptions(Options{}) }

// NewWithOptions returns a backend configured by o with a fresh, empty,
// private store.
func NewWithOptions(o Options) *Backend {
	return &Backend{newView(o, false)}
}

// newView returns a view of a fresh store configured by o.
func newView(o Options, dups bool) view {
	name := o.Name
	if name == "" {
		name = "memory"
	}
	return view{name: name + ":", st: newStore(dups, o.Precision)}
}

// view is a backend rooted at a directory of a store: the code Backend
// and DupBackend share. Every method but String takes st.mu.
type view struct {
	name string // for String and errors
	root string // the backend's root within st, in the contract's form
	st   *store
}

// store is a tree of files and directories.
type store struct {
	dups bool          // several objects may share a name (DupBackend)
	prec time.Duration // stored mtimes are truncated to it when > 1ns

	// mu guards top, lastID and every node reachable from top: the
	// children maps and slices and each node's fields. A file's data
	// slice is never modified after it is stored (Put stores a new
	// slice), so readers may keep using a slice after unlocking. A
	// children slice is never written through once stored (detach and
	// attach store new ones, or append past its length), so a caller may
	// range over one while it detaches nodes.
	mu     sync.RWMutex
	top    *node
	tops   []*node // just top: where path lookups start, without allocating
	lastID uint64
}

func newStore(dups bool, prec time.Duration) *store {
	st := &store{dups: dups, prec: prec}
	st.top = st.newNode(true, nil, time.Now())
	st.tops = []*node{st.top}
	return st
}

// node is a file (children == nil) or a directory.
type node struct {
	id       uint64             // creation order in the store: the newest of several has the largest
	parent   *node              // nil for the store's top directory
	name     string             // the name in parent
	children map[string][]*node // by name; each slice non-empty, in id order; several only with dups
	data     []byte
	mtime    time.Time
}

func (n *node) isDir() bool { return n.children != nil }

func isDir(n *node) bool  { return n.isDir() }
func isFile(n *node) bool { return !n.isDir() }

// newNode returns a detached directory (dir) or file with a new id. The
// caller holds mu for writing (or owns st alone).
func (st *store) newNode(dir bool, data []byte, mt time.Time) *node {
	st.lastID++
	n := &node{id: st.lastID, data: data, mtime: st.trunc(mt)}
	if dir {
		n.children = map[string][]*node{}
	}
	return n
}

// trunc returns t at the store's precision.
func (st *store) trunc(t time.Time) time.Time {
	if st.prec > time.Nanosecond {
		return t.Truncate(st.prec)
	}
	return t
}

// attach puts n into directory parent under name, after any older nodes
// with that name.
func attach(parent *node, name string, n *node) {
	n.parent, n.name = parent, name
	ks := parent.children[name]
	if len(ks) == 0 || ks[len(ks)-1].id < n.id {
		parent.children[name] = append(ks, n)
		return
	}
	i, _ := slices.BinarySearchFunc(ks, n.id, func(k *node, id uint64) int { return compareIDs(k.id, id) })
	parent.children[name] = slices.Concat(ks[:i], []*node{n}, ks[i:])
}

// detach takes n out of its directory. It stores a new slice rather than
// editing the old one, which callers may be ranging over.
func detach(n *node) {
	ks := n.parent.children[n.name]
	if len(ks) == 1 {
		delete(n.parent.children, n.name)
	} else {
		n.parent.children[n.name] = slices.DeleteFunc(slices.Clone(ks), func(k *node) bool { return k == n })
	}
	n.parent = nil
}

func compareIDs(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// newest returns the node of ns with the largest id that keep accepts
// (nil keeps all), or nil.
func newest(ns []*node, keep func(*node) bool) *node {
	var best *node
	for _, n := range ns {
		if (keep == nil || keep(n)) && (best == nil || n.id > best.id) {
			best = n
		}
	}
	return best
}

// String returns "memory:" (or Options.Name and ":") followed by the root.
func (b *view) String() string { return b.name }

// Precision returns the mtime precision (Options.Precision).
func (b *view) Precision() time.Duration {
	if b.st.prec > time.Nanosecond {
		return b.st.prec
	}
	return time.Nanosecond
}

// errors for paths of the wrong kind; they match fs.ErrExist, as the
// contract asks when creating over an object of the other kind.
var (
	errFileInTheWay = fmt.Errorf("a file is in the way: %w: %w", backend.ErrNotDir, fs.ErrExist)
	errDirInTheWay  = fmt.Errorf("a directory is in the way: %w: %w", backend.ErrIsDir, fs.ErrExist)
)

// perr wraps err for op on p.
func (b *view) perr(op, p string, err error) error {
	return &backend.PathError{Op: op, Backend: b.name, Path: p, Err: err}
}

// clean puts p into the contract's form.
func (b *view) clean(op, p string) (string, error) {
	c, err := backend.Clean(p)
	if err != nil {
		return "", b.perr(op, p, fs.ErrInvalid)
	}
	return c, nil
}

// mutate runs fn on p in the contract's form with st.mu held for
// writing, unless ctx is already done (a cancelled ctx never starts a
// mutation). Errors of fn are wrapped for op on p.
func (b *view) mutate(ctx context.Context, op, p string, fn func(p string) error) error {
	p, err := b.clean(op, p)
	if err != nil {
		return err
	}
	b.st.mu.Lock()
	defer b.st.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return b.perr(op, p, err)
	}
	if err := fn(p); err != nil {
		return b.perr(op, p, err)
	}
	return nil
}

// elems returns the store path elements of backend path p.
func (b *view) elems(p string) []string {
	full := backend.Join(b.root, p)
	if full == "" {
		return nil
	}
	return strings.Split(full, "/")
}

// step returns the nodes named name in the directories among cur, in id
// order. The result may be a children slice of the store: the caller
// reads it and does not keep it past unlocking.
func step(cur []*node, name string) []*node {
	var out []*node
	merged := false
	for _, d := range cur {
		ks := d.children[name] // nil for a file
		switch {
		case len(ks) == 0:
		case out == nil:
			out = ks
		default:
			out = append(slices.Clip(out), ks...) // a new array, not the store's
			merged = true
		}
	}
	if merged {
		slices.SortFunc(out, func(x, y *node) int { return compareIDs(x.id, y.id) })
	}
	return out
}

// nodesAt returns every node at p, in id order (several only with dups),
// or nil for a missing path, including a path below a file. The caller
// holds st.mu and treats the result as step's.
func (b *view) nodesAt(p string) []*node {
	cur := b.st.tops
	for _, el := range b.elems(p) {
		if cur = step(cur, el); len(cur) == 0 {
			return nil
		}
	}
	return cur
}

// pick returns the newest node at p that keep accepts: fs.ErrNotExist
// when p is missing, kindErr when it holds only the other kind. The
// caller holds st.mu.
func (b *view) pick(p string, keep func(*node) bool, kindErr error) (*node, error) {
	ns := b.nodesAt(p)
	if len(ns) == 0 {
		return nil, fs.ErrNotExist
	}
	n := newest(ns, keep)
	if n == nil {
		return nil, kindErr
	}
	return n, nil
}

// mkdirs returns the directory at dir, creating it and its parents: the
// newest directory of each name on the way, a new one where there is
// none. A file in the way is errFileInTheWay. The caller holds st.mu for
// writing.
func (b *view) mkdirs(dir string) (*node, error) {
	cur := b.st.tops
	for _, el := range b.elems(dir) {
		next := step(cur, el)
		if len(next) == 0 {
			d := b.st.newNode(true, nil, time.Now())
			attach(newest(cur, isDir), el, d)
			next = []*node{d}
		} else if newest(next, isDir) == nil {
			return nil, errFileInTheWay
		}
		cur = next
	}
	return newest(cur, isDir), nil
}

// checkParents reports errFileInTheWay if only a file sits where one of
// dir's directories should be, without creating anything. The caller
// holds st.mu.
func (b *view) checkParents(dir string) error {
	cur := b.st.tops
	for _, el := range b.elems(dir) {
		next := step(cur, el)
		if len(next) == 0 {
			return nil
		}
		if newest(next, isDir) == nil {
			return errFileInTheWay
		}
		cur = next
	}
	return nil
}

// entry describes n at p; IDs are given only with dups.
func (b *view) entry(p string, n *node) backend.Entry {
	e := backend.Entry{Path: p, ModTime: n.mtime, IsDir: n.isDir()}
	if !e.IsDir {
		e.Size = int64(len(n.data))
	}
	if b.st.dups {
		e.ID = idOf(n)
	}
	return e
}

// idOf returns n's Entry.ID in a store with dups.
func idOf(n *node) string { return strconv.FormatUint(n.id, 10) }

// List returns the entries directly inside dir: with duplicates, one per
// object, and the merged contents when dir names several directories.
func (b *view) List(ctx context.Context, dir string) ([]backend.Entry, error) {
	dir, err := b.clean("list", dir)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, b.perr("list", dir, err)
	}
	b.st.mu.RLock()
	defer b.st.mu.RUnlock()
	ns := b.nodesAt(dir)
	if len(ns) == 0 {
		return nil, b.perr("list", dir, fs.ErrNotExist)
	}
	var kids []*node
	dirs := 0
	for _, d := range ns {
		if !d.isDir() {
			continue
		}
		dirs++
		for _, ks := range d.children {
			kids = append(kids, ks...)
		}
	}
	if dirs == 0 {
		return nil, b.perr("list", dir, backend.ErrNotDir)
	}
	if dirs > 1 {
		// Oldest first within a name, across the merged directories.
		slices.SortFunc(kids, func(x, y *node) int { return compareIDs(x.id, y.id) })
	}
	es := make([]backend.Entry, 0, len(kids))
	for _, k := range kids {
		es = append(es, b.entry(backend.Join(dir, k.name), k))
	}
	return es, nil
}

// Stat describes p (the newest object when several have its name).
func (b *view) Stat(ctx context.Context, p string) (backend.Entry, error) {
	p, err := b.clean("stat", p)
	if err != nil {
		return backend.Entry{}, err
	}
	if err := ctx.Err(); err != nil {
		return backend.Entry{}, b.perr("stat", p, err)
	}
	b.st.mu.RLock()
	defer b.st.mu.RUnlock()
	n, err := b.pick(p, nil, fs.ErrNotExist)
	if err != nil {
		return backend.Entry{}, b.perr("stat", p, err)
	}
	return b.entry(p, n), nil
}

// Open returns a reader of length bytes of file p (the newest file when
// several have its name) from offset (to the end when length < 0). The
// reader also implements io.ReaderAt and io.Seeker.
func (b *view) Open(ctx context.Context, p string, offset, length int64) (io.ReadCloser, error) {
	p, err := b.clean("open", p)
	if err != nil {
		return nil, err
	}
	return b.open(ctx, p, offset, length, func() (*node, error) { return b.pick(p, isFile, backend.ErrIsDir) })
}

// open is Open of the node find returns (called with st.mu held).
func (b *view) open(ctx context.Context, p string, offset, length int64, find func() (*node, error)) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, b.perr("open", p, err)
	}
	if offset < 0 {
		return nil, b.perr("open", p, fmt.Errorf("negative offset %d: %w", offset, fs.ErrInvalid))
	}
	b.st.mu.RLock()
	n, err := find()
	var data []byte
	if err == nil && n.isDir() {
		err = backend.ErrIsDir
	} else if err == nil {
		data = n.data
	}
	b.st.mu.RUnlock()
	if err != nil {
		return nil, b.perr("open", p, err)
	}
	size := int64(len(data))
	offset = min(offset, size)
	end := size
	if length >= 0 {
		end = min(offset+length, size)
	}
	return reader{io.NewSectionReader(bytes.NewReader(data), offset, end-offset)}, nil
}

// reader is a section of an immutable data slice.
type reader struct{ *io.SectionReader }

// Close does nothing.
func (reader) Close() error { return nil }

// Put reads all of r, then stores it at p. A zero modTime means now.
// With duplicates, every other file at p is removed once the new one is
// stored.
func (b *view) Put(ctx context.Context, p string, r io.Reader, size int64, modTime time.Time) (backend.Entry, error) {
	return b.put(ctx, p, r, size, modTime, true)
}

// put is Put; without replace it keeps the files at p (PutDuplicate).
func (b *view) put(ctx context.Context, p string, r io.Reader, size int64, modTime time.Time, replace bool) (backend.Entry, error) {
	p, err := b.clean("put", p)
	if err != nil {
		return backend.Entry{}, err
	}
	if p == "" {
		return backend.Entry{}, b.perr("put", p, errDirInTheWay)
	}
	if err := ctx.Err(); err != nil {
		return backend.Entry{}, b.perr("put", p, err)
	}
	if size < 0 {
		return backend.Entry{}, b.perr("put", p, fmt.Errorf("negative size %d: %w", size, fs.ErrInvalid))
	}
	// Fail early, before reading, when the path cannot be created.
	b.st.mu.RLock()
	err = b.checkParents(backend.Dir(p))
	if err == nil && replace {
		err = b.dirInTheWay(p)
	}
	b.st.mu.RUnlock()
	if err != nil {
		return backend.Entry{}, b.perr("put", p, err)
	}

	buf := bytes.NewBuffer(make([]byte, 0, size))
	if _, err := backend.CopyExact(buf, backend.ContextReader(ctx, r), size); err != nil {
		return backend.Entry{}, b.perr("put", p, err)
	}
	data := buf.Bytes()
	if modTime.IsZero() {
		modTime = time.Now()
	}

	b.st.mu.Lock()
	defer b.st.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return backend.Entry{}, b.perr("put", p, err)
	}
	if replace {
		if err := b.dirInTheWay(p); err != nil {
			return backend.Entry{}, b.perr("put", p, err)
		}
	}
	if err := b.checkParents(backend.Dir(p)); err != nil {
		return backend.Entry{}, b.perr("put", p, err)
	}
	parent, err := b.mkdirs(backend.Dir(p))
	if err != nil {
		return backend.Entry{}, b.perr("put", p, err)
	}
	old := b.nodesAt(p)
	f := b.st.newNode(false, data, modTime)
	attach(parent, lastElem(b.elems(p)), f)
	if replace {
		removeFiles(old)
	}
	return b.entry(p, f), nil
}

// dirInTheWay reports errDirInTheWay when p holds directories and no
// file. The caller holds st.mu.
func (b *view) dirInTheWay(p string) error {
	if ns := b.nodesAt(p); len(ns) > 0 && newest(ns, isFile) == nil {
		return errDirInTheWay
	}
	return nil
}

// removeFiles detaches the files among ns (directories stay).
func removeFiles(ns []*node) {
	for _, n := range ns {
		if !n.isDir() {
			detach(n)
		}
	}
}

func lastElem(els []string) string { return els[len(els)-1] }

// Mkdir creates dir and its missing parents.
func (b *view) Mkdir(ctx context.Context, dir string) error {
	return b.mutate(ctx, "mkdir", dir, func(dir string) error {
		if err := b.checkParents(dir); err != nil {
			return err
		}
		_, err := b.mkdirs(dir)
		return err
	})
}

// errTop refuses to remove the store's top directory.
var errTop = fmt.Errorf("the store's top directory: %w", fs.ErrInvalid)

// Rmdir removes the empty directory dir (the newest directory when
// several have its name).
func (b *view) Rmdir(ctx context.Context, dir string) error {
	return b.mutate(ctx, "rmdir", dir, func(dir string) error {
		d, err := b.pick(dir, isDir, backend.ErrNotDir)
		switch {
		case err != nil:
			return err
		case len(d.children) > 0:
			return backend.ErrNotEmpty
		case d.parent == nil:
			return errTop
		}
		detach(d)
		return nil
	})
}

// Remove deletes file p (the newest file when several have its name).
func (b *view) Remove(ctx context.Context, p string) error {
	return b.mutate(ctx, "remove", p, func(p string) error {
		return detachPicked(b.pick(p, isFile, backend.ErrIsDir))
	})
}

// detachPicked detaches n unless err (of the lookup that found n) is set.
func detachPicked(n *node, err error) error {
	if err != nil {
		return err
	}
	detach(n)
	return nil
}

// Move moves a file or directory from src to dst (the newest object when
// several have src's name), creating dst's parents. Existing files at
// dst are replaced; an existing directory at dst, or a directory moved
// onto a file, is fs.ErrExist.
func (b *view) Move(ctx context.Context, src, dst string) (backend.Entry, error) {
	src, err := b.clean("move", src)
	if err != nil {
		return backend.Entry{}, err
	}
	if dst, err = b.clean("move", dst); err != nil {
		return backend.Entry{}, err
	}
	b.st.mu.Lock()
	defer b.st.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return backend.Entry{}, b.perr("move", src, err)
	}
	if src == "" || dst == "" {
		return backend.Entry{}, b.perr("move", src, fmt.Errorf("cannot move the root or onto it: %w", fs.ErrInvalid))
	}
	n, err := b.pick(src, nil, fs.ErrNotExist)
	if err != nil {
		return backend.Entry{}, b.perr("move", src, err)
	}
	if src == dst {
		return b.entry(dst, n), nil
	}
	if n.isDir() && strings.HasPrefix(dst+"/", src+"/") {
		return backend.Entry{}, b.perr("move", dst, fmt.Errorf("cannot move %q into itself: %w", src, fs.ErrInvalid))
	}
	old := b.nodesAt(dst)
	for _, o := range old {
		if o.isDir() || n.isDir() {
			return backend.Entry{}, b.perr("move", dst, fs.ErrExist)
		}
	}
	if err := b.checkParents(backend.Dir(dst)); err != nil {
		return backend.Entry{}, b.perr("move", dst, err)
	}
	dparent, err := b.mkdirs(backend.Dir(dst))
	if err != nil {
		return backend.Entry{}, b.perr("move", dst, err)
	}
	detach(n)
	removeFiles(old)
	attach(dparent, lastElem(b.elems(dst)), n)
	return b.entry(dst, n), nil
}

// Purge removes dir and everything below it (every directory of that
// name).
func (b *view) Purge(ctx context.Context, dir string) error {
	return b.mutate(ctx, "purge", dir, func(dir string) error {
		ns := b.nodesAt(dir)
		if len(ns) == 0 {
			return fs.ErrNotExist
		}
		if newest(ns, isDir) == nil {
			return backend.ErrNotDir
		}
		for _, d := range ns {
			switch {
			case !d.isDir():
			case d.parent == nil:
				clear(d.children)
			default:
				detach(d)
			}
		}
		return nil
	})
}

// SetModTime sets p's mtime (at the backend's precision). With
// duplicates it changes the newest file at p, as MEGA does; otherwise
// the object at p, file or directory.
func (b *view) SetModTime(ctx context.Context, p string, t time.Time) error {
	return b.mutate(ctx, "setmodtime", p, func(p string) error {
		keep, kindErr := func(*node) bool { return true }, fs.ErrNotExist
		if b.st.dups {
			keep, kindErr = isFile, backend.ErrIsDir
		}
		n, err := b.pick(p, keep, kindErr)
		if err != nil {
			return err
		}
		n.mtime = b.st.trunc(t)
		return nil
	})
}

// About reports the bytes stored below the backend's root as Used; Total
// and Free are unknown and nothing is ever trashed.
func (b *view) About(ctx context.Context) (backend.Usage, error) {
	if err := ctx.Err(); err != nil {
		return backend.Usage{}, b.perr("about", "", err)
	}
	b.st.mu.RLock()
	defer b.st.mu.RUnlock()
	u := backend.Usage{Total: -1, Free: -1}
	var walk func(n *node)
	walk = func(n *node) {
		u.Used += int64(len(n.data))
		for _, ks := range n.children {
			for _, k := range ks {
				walk(k)
			}
		}
	}
	for _, n := range b.nodesAt("") {
		walk(n)
	}
	return u, nil
}
