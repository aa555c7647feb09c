// Package memory is an in-memory backend.Backend for tests: engine tests
// run over it, and it passes the conformance suite (backendtest).
//
// Files live in a tree of maps in the process's memory; Put reads the
// whole stream before storing it. Names are unique within a directory
// (no backend.DuplicateNamer), mtimes are kept to the nanosecond, and any
// name the contract allows can be stored.
//
// Backends from New each have their own private store. Type.New shares a
// store between backends built with the same "store" option, so that a
// test can write through one remote and read through another.
package memory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"
	"time"

	"ferry/internal/backend"
)

// Compile-time checks of the optional interfaces memory implements.
var (
	_ backend.Backend       = (*Backend)(nil)
	_ backend.Mover         = (*Backend)(nil)
	_ backend.Purger        = (*Backend)(nil)
	_ backend.ModTimeSetter = (*Backend)(nil)
	_ backend.Abouter       = (*Backend)(nil)
)

// Backend is an in-memory backend rooted at a directory of a store. It is
// safe for concurrent use.
type Backend struct {
	name string // for String and errors
	root string // the backend's root within st, in the contract's form
	st   *store
}

// store is a tree of files and directories.
type store struct {
	// mu guards top and every node reachable from it: the children maps
	// and each node's fields. A file's data slice is never modified after
	// it is stored (Put stores a new slice), so readers may keep using a
	// slice after unlocking.
	mu  sync.RWMutex
	top *node
}

// node is a file (children == nil) or a directory.
type node struct {
	children map[string]*node
	data     []byte
	mtime    time.Time
}

func (n *node) isDir() bool { return n.children != nil }

func newDir(mt time.Time) *node { return &node{children: map[string]*node{}, mtime: mt} }

// New returns a backend with a fresh, empty, private store.
func New() *Backend {
	return &Backend{name: "memory:", st: &store{top: newDir(time.Now())}}
}

// String returns "memory:" followed by the root (and the store name when
// the store is shared).
func (b *Backend) String() string { return b.name }

// errors for paths of the wrong kind; they match fs.ErrExist, as the
// contract asks when creating over an object of the other kind.
var (
	errFileInTheWay = fmt.Errorf("a file is in the way: %w: %w", backend.ErrNotDir, fs.ErrExist)
	errDirInTheWay  = fmt.Errorf("a directory is in the way: %w: %w", backend.ErrIsDir, fs.ErrExist)
)

// perr wraps err for op on p.
func (b *Backend) perr(op, p string, err error) error {
	return &backend.PathError{Op: op, Backend: b.name, Path: p, Err: err}
}

// clean puts p into the contract's form.
func (b *Backend) clean(op, p string) (string, error) {
	c, err := backend.Clean(p)
	if err != nil {
		return "", b.perr(op, p, fs.ErrInvalid)
	}
	return c, nil
}

// elems returns the store path elements of backend path p.
func (b *Backend) elems(p string) []string {
	full := backend.Join(b.root, p)
	if full == "" {
		return nil
	}
	return strings.Split(full, "/")
}

// lookup finds the node at p. It returns fs.ErrNotExist for missing paths,
// including paths below a file. The caller holds st.mu.
func (b *Backend) lookup(p string) (*node, error) {
	n := b.st.top
	for _, el := range b.elems(p) {
		if !n.isDir() {
			return nil, fs.ErrNotExist
		}
		c, ok := n.children[el]
		if !ok {
			return nil, fs.ErrNotExist
		}
		n = c
	}
	return n, nil
}

// mkdirs returns the directory at dir, creating it and its parents. A file
// in the way is errFileInTheWay. The caller holds st.mu for writing.
func (b *Backend) mkdirs(dir string) (*node, error) {
	n := b.st.top
	for _, el := range b.elems(dir) {
		c, ok := n.children[el]
		if !ok {
			c = newDir(time.Now())
			n.children[el] = c
		} else if !c.isDir() {
			return nil, errFileInTheWay
		}
		n = c
	}
	return n, nil
}

// checkParents reports errFileInTheWay if a file sits where one of dir's
// directories should be, without creating anything. The caller holds
// st.mu.
func (b *Backend) checkParents(dir string) error {
	n := b.st.top
	for _, el := range b.elems(dir) {
		c, ok := n.children[el]
		if !ok {
			return nil
		}
		if !c.isDir() {
			return errFileInTheWay
		}
		n = c
	}
	return nil
}

func (b *Backend) entry(p string, n *node) backend.Entry {
	e := backend.Entry{Path: p, ModTime: n.mtime, IsDir: n.isDir()}
	if !e.IsDir {
		e.Size = int64(len(n.data))
	}
	return e
}

// List returns the entries directly inside dir.
func (b *Backend) List(ctx context.Context, dir string) ([]backend.Entry, error) {
	dir, err := b.clean("list", dir)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, b.perr("list", dir, err)
	}
	b.st.mu.RLock()
	defer b.st.mu.RUnlock()
	n, err := b.lookup(dir)
	if err != nil {
		return nil, b.perr("list", dir, err)
	}
	if !n.isDir() {
		return nil, b.perr("list", dir, backend.ErrNotDir)
	}
	es := make([]backend.Entry, 0, len(n.children))
	for name, c := range n.children {
		es = append(es, b.entry(backend.Join(dir, name), c))
	}
	return es, nil
}

// Stat describes p.
func (b *Backend) Stat(ctx context.Context, p string) (backend.Entry, error) {
	p, err := b.clean("stat", p)
	if err != nil {
		return backend.Entry{}, err
	}
	if err := ctx.Err(); err != nil {
		return backend.Entry{}, b.perr("stat", p, err)
	}
	b.st.mu.RLock()
	defer b.st.mu.RUnlock()
	n, err := b.lookup(p)
	if err != nil {
		return backend.Entry{}, b.perr("stat", p, err)
	}
	return b.entry(p, n), nil
}

// Open returns a reader of length bytes of p from offset (to the end when
// length < 0). The reader also implements io.ReaderAt and io.Seeker.
func (b *Backend) Open(ctx context.Context, p string, offset, length int64) (io.ReadCloser, error) {
	p, err := b.clean("open", p)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, b.perr("open", p, err)
	}
	if offset < 0 {
		return nil, b.perr("open", p, fmt.Errorf("negative offset %d: %w", offset, fs.ErrInvalid))
	}
	b.st.mu.RLock()
	n, err := b.lookup(p)
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
func (b *Backend) Put(ctx context.Context, p string, r io.Reader, size int64, modTime time.Time) (backend.Entry, error) {
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
	if n, lerr := b.lookup(p); err == nil && lerr == nil && n.isDir() {
		err = errDirInTheWay
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
	if cur, err := b.lookup(p); err == nil && cur.isDir() {
		return backend.Entry{}, b.perr("put", p, errDirInTheWay)
	}
	if err := b.checkParents(backend.Dir(p)); err != nil {
		return backend.Entry{}, b.perr("put", p, err)
	}
	parent, err := b.mkdirs(backend.Dir(p))
	if err != nil {
		return backend.Entry{}, b.perr("put", p, err)
	}
	f := &node{data: data, mtime: modTime}
	parent.children[lastElem(b.elems(p))] = f
	return b.entry(p, f), nil
}

func lastElem(els []string) string { return els[len(els)-1] }

// Mkdir creates dir and its missing parents.
func (b *Backend) Mkdir(ctx context.Context, dir string) error {
	dir, err := b.clean("mkdir", dir)
	if err != nil {
		return err
	}
	b.st.mu.Lock()
	defer b.st.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return b.perr("mkdir", dir, err)
	}
	if err := b.checkParents(dir); err != nil {
		return b.perr("mkdir", dir, err)
	}
	if _, err := b.mkdirs(dir); err != nil {
		return b.perr("mkdir", dir, err)
	}
	return nil
}

// parentOf returns the directory holding p and p's name. The caller holds
// st.mu.
func (b *Backend) parentOf(p string) (*node, string, error) {
	els := b.elems(p)
	if len(els) == 0 {
		return nil, "", fmt.Errorf("the store's top directory: %w", fs.ErrInvalid)
	}
	parent := b.st.top
	for _, el := range els[:len(els)-1] {
		c, ok := parent.children[el]
		if !ok || !c.isDir() {
			return nil, "", fs.ErrNotExist
		}
		parent = c
	}
	if _, ok := parent.children[els[len(els)-1]]; !ok {
		return nil, "", fs.ErrNotExist
	}
	return parent, els[len(els)-1], nil
}

// Rmdir removes the empty directory dir.
func (b *Backend) Rmdir(ctx context.Context, dir string) error {
	dir, err := b.clean("rmdir", dir)
	if err != nil {
		return err
	}
	b.st.mu.Lock()
	defer b.st.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return b.perr("rmdir", dir, err)
	}
	n, err := b.lookup(dir)
	switch {
	case err != nil:
		return b.perr("rmdir", dir, err)
	case !n.isDir():
		return b.perr("rmdir", dir, backend.ErrNotDir)
	case len(n.children) > 0:
		return b.perr("rmdir", dir, backend.ErrNotEmpty)
	}
	parent, name, err := b.parentOf(dir)
	if err != nil {
		return b.perr("rmdir", dir, err)
	}
	delete(parent.children, name)
	return nil
}

// Remove deletes file p.
func (b *Backend) Remove(ctx context.Context, p string) error {
	p, err := b.clean("remove", p)
	if err != nil {
		return err
	}
	b.st.mu.Lock()
	defer b.st.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return b.perr("remove", p, err)
	}
	n, err := b.lookup(p)
	if err != nil {
		return b.perr("remove", p, err)
	}
	if n.isDir() {
		return b.perr("remove", p, backend.ErrIsDir)
	}
	parent, name, err := b.parentOf(p)
	if err != nil {
		return b.perr("remove", p, err)
	}
	delete(parent.children, name)
	return nil
}

// Move moves a file or directory from src to dst, creating dst's parents.
// An existing file at dst is replaced; an existing directory at dst, or a
// directory moved onto a file, is fs.ErrExist.
func (b *Backend) Move(ctx context.Context, src, dst string) (backend.Entry, error) {
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
	sparent, sname, err := b.parentOf(src)
	if err != nil {
		return backend.Entry{}, b.perr("move", src, err)
	}
	n := sparent.children[sname]
	if src == dst {
		return b.entry(dst, n), nil
	}
	if n.isDir() && strings.HasPrefix(dst+"/", src+"/") {
		return backend.Entry{}, b.perr("move", dst, fmt.Errorf("cannot move %q into itself: %w", src, fs.ErrInvalid))
	}
	if cur, err := b.lookup(dst); err == nil && (cur.isDir() || n.isDir()) {
		return backend.Entry{}, b.perr("move", dst, fs.ErrExist)
	}
	if err := b.checkParents(backend.Dir(dst)); err != nil {
		return backend.Entry{}, b.perr("move", dst, err)
	}
	dparent, err := b.mkdirs(backend.Dir(dst))
	if err != nil {
		return backend.Entry{}, b.perr("move", dst, err)
	}
	delete(sparent.children, sname)
	dparent.children[lastElem(b.elems(dst))] = n
	return b.entry(dst, n), nil
}

// Purge removes dir and everything below it.
func (b *Backend) Purge(ctx context.Context, dir string) error {
	dir, err := b.clean("purge", dir)
	if err != nil {
		return err
	}
	b.st.mu.Lock()
	defer b.st.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return b.perr("purge", dir, err)
	}
	n, err := b.lookup(dir)
	if err != nil {
		return b.perr("purge", dir, err)
	}
	if !n.isDir() {
		return b.perr("purge", dir, backend.ErrNotDir)
	}
	if len(b.elems(dir)) == 0 {
		clear(n.children)
		return nil
	}
	parent, name, err := b.parentOf(dir)
	if err != nil {
		return b.perr("purge", dir, err)
	}
	delete(parent.children, name)
	return nil
}

// SetModTime sets p's mtime.
func (b *Backend) SetModTime(ctx context.Context, p string, t time.Time) error {
	p, err := b.clean("setmodtime", p)
	if err != nil {
		return err
	}
	b.st.mu.Lock()
	defer b.st.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return b.perr("setmodtime", p, err)
	}
	n, err := b.lookup(p)
	if err != nil {
		return b.perr("setmodtime", p, err)
	}
	n.mtime = t
	return nil
}

// About reports the bytes stored below the backend's root as Used; Total
// and Free are unknown and nothing is ever trashed.
func (b *Backend) About(ctx context.Context) (backend.Usage, error) {
	if err := ctx.Err(); err != nil {
		return backend.Usage{}, b.perr("about", "", err)
	}
	b.st.mu.RLock()
	defer b.st.mu.RUnlock()
	u := backend.Usage{Total: -1, Free: -1}
	n, err := b.lookup("")
	if errors.Is(err, fs.ErrNotExist) {
		return u, nil
	}
	var walk func(n *node)
	walk = func(n *node) {
		u.Used += int64(len(n.data))
		for _, c := range n.children {
			walk(c)
		}
	}
	walk(n)
	return u, nil
}
