package backend

import (
	"context"
	"errors"
	"io"
	"sync"
)

// ReaderAt reads a listed file of a backend at any offset, through
// OpenEntry. When the backend's reader is itself an io.ReaderAt (local
// files, memory) one Open serves every read; otherwise each read is a
// ranged Open of exactly the bytes asked for. Ranged reads are not
// verified against a whole-file MAC (see Backend.Open). It is safe for
// concurrent use; Close releases the reader kept from the first Open.
type ReaderAt struct {
	b Backend
	e Entry

	mu     sync.Mutex
	opened bool          // +checklocks:mu; the first Open was tried
	rc     io.ReadCloser // +checklocks:mu; kept when it is an io.ReaderAt
	ra     io.ReaderAt   // set with rc
}

// NewReaderAt returns a ReaderAt of the file e of b.
func NewReaderAt(b Backend, e Entry) *ReaderAt { return &ReaderAt{b: b, e: e} }

// Size returns the file's listed size.
func (r *ReaderAt) Size() int64 { return r.e.Size }

// ReadAtContext reads len(p) bytes at off, like io.ReaderAt: fewer bytes
// only at the end of the file, with io.EOF.
func (r *ReaderAt) ReadAtContext(ctx context.Context, p []byte, off int64) (int, error) {
	ra, err := r.shared(ctx)
	if err != nil {
		return 0, err
	}
	if ra != nil {
		return ra.ReadAt(p, off)
	}
	if off >= r.e.Size {
		return 0, io.EOF
	}
	rc, err := OpenEntry(ctx, r.b, r.e, off, int64(len(p)))
	if err != nil {
		return 0, err
	}
	n, err := io.ReadFull(rc, p)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || (err == nil && n < len(p)) {
		err = io.EOF
	}
	return n, err
}

// shared makes the first Open and returns its reader if it can serve
// every read (nil otherwise).
func (r *ReaderAt) shared(ctx context.Context) (io.ReaderAt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.opened {
		rc, err := OpenEntry(ctx, r.b, r.e, 0, -1)
		if err != nil {
			return nil, err
		}
		r.opened = true
		if ra, ok := rc.(io.ReaderAt); ok {
			r.rc, r.ra = rc, ra
		} else if err := rc.Close(); err != nil {
			return nil, err
		}
	}
	return r.ra, nil
}

// WithContext returns an io.ReaderAt whose reads use ctx, for functions
// that take a plain io.ReaderAt. Use it for the duration of one call, as
// an http.Request carries its context.
func (r *ReaderAt) WithContext(ctx context.Context) io.ReaderAt { return ctxReaderAt{ctx, r} }

type ctxReaderAt struct {
	ctx context.Context
	r   *ReaderAt
}

func (c ctxReaderAt) ReadAt(p []byte, off int64) (int, error) {
	return c.r.ReadAtContext(c.ctx, p, off)
}

// Close closes the reader kept from the first Open, if any.
func (r *ReaderAt) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rc == nil {
		return nil
	}
	err := r.rc.Close()
	r.rc, r.ra = nil, nil
	return err
}
