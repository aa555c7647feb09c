// Package sub roots a backend at one of its directories: a backend.Backend
// whose "" is another backend's dir. ferry backup opens the repository at
// REMOTE:path this way, so the repository's object names ("config",
// "data/ab/...") stay relative to its own root.
package sub

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"ferry/internal/backend"
)

// Backend is a backend rooted at a directory of another. Its errors are
// the parent's, with a *backend.PathError rewritten to name s and the path
// as the caller gave it.
type Backend struct {
	b   backend.Backend
	dir string
}

var (
	_ backend.Backend     = (*Backend)(nil)
	_ backend.Precisioner = (*Backend)(nil)
)

// New returns b rooted at dir (in the contract's form; "" returns a
// wrapper of the whole of b). The directory need not exist: Put and Mkdir
// create it, and List of a missing one is fs.ErrNotExist as usual.
// Closing is the caller's business on b.
func New(b backend.Backend, dir string) *Backend { return &Backend{b: b, dir: dir} }

func (s *Backend) full(p string) string { return backend.Join(s.dir, p) }

// rel turns an entry's path back into one relative to s's root.
func (s *Backend) rel(e backend.Entry) backend.Entry {
	if s.dir != "" {
		e.Path = strings.TrimPrefix(strings.TrimPrefix(e.Path, s.dir), "/")
	}
	return e
}

// fix rewrites the parent's PathError for p.
func (s *Backend) fix(err error, p string) error {
	var pe *backend.PathError
	if err == nil || s.dir == "" || !errors.As(err, &pe) {
		return err
	}
	return &backend.PathError{Op: pe.Op, Backend: s.String(), Path: p, Err: pe.Err}
}

// String names the parent and the directory.
func (s *Backend) String() string {
	if s.dir == "" {
		return s.b.String()
	}
	return strings.TrimSuffix(s.b.String(), "/") + "/" + s.dir
}

// Precision is the parent's.
func (s *Backend) Precision() time.Duration { return backend.Precision(s.b) }

// List lists dir below the root.
func (s *Backend) List(ctx context.Context, dir string) ([]backend.Entry, error) {
	es, err := s.b.List(ctx, s.full(dir))
	for i := range es {
		es[i] = s.rel(es[i])
	}
	return es, s.fix(err, dir)
}

// Stat describes p below the root.
func (s *Backend) Stat(ctx context.Context, p string) (backend.Entry, error) {
	e, err := s.b.Stat(ctx, s.full(p))
	return s.rel(e), s.fix(err, p)
}

// Open reads p below the root.
func (s *Backend) Open(ctx context.Context, p string, offset, length int64) (io.ReadCloser, error) {
	rc, err := s.b.Open(ctx, s.full(p), offset, length)
	return rc, s.fix(err, p)
}

// Put stores p below the root.
func (s *Backend) Put(ctx context.Context, p string, r io.Reader, size int64, modTime time.Time) (backend.Entry, error) {
	e, err := s.b.Put(ctx, s.full(p), r, size, modTime)
	return s.rel(e), s.fix(err, p)
}

// Mkdir creates dir below the root.
func (s *Backend) Mkdir(ctx context.Context, dir string) error {
	return s.fix(s.b.Mkdir(ctx, s.full(dir)), dir)
}

// Rmdir removes dir below the root; the root itself is s's dir.
func (s *Backend) Rmdir(ctx context.Context, dir string) error {
	return s.fix(s.b.Rmdir(ctx, s.full(dir)), dir)
}

// Remove deletes p below the root.
func (s *Backend) Remove(ctx context.Context, p string) error {
	return s.fix(s.b.Remove(ctx, s.full(p)), p)
}
