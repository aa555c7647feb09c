package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Errors of streams that do not match what was listed or announced.
var (
	// ErrSizeMismatch reports a stream longer or shorter than the size it
	// was announced or listed with.
	ErrSizeMismatch = errors.New("stream size differs from the expected size")
	// ErrChanged reports a source that changed while it was read (its
	// size or mtime moved): the bytes read are not one version of it.
	ErrChanged = errors.New("source changed while it was read")
)

// CopyExact copies exactly size bytes from r to w and then confirms that r
// ends there, with a final Read that must return io.EOF and no bytes. That
// last Read is where verifying readers (MEGA's MAC, local files that
// changed) report a failure, so a Put built on CopyExact cannot commit
// content its source refused. A short source, or one with bytes to spare,
// is an error wrapping ErrSizeMismatch; an error of r is returned as is.
// It returns the bytes written.
func CopyExact(w io.Writer, r io.Reader, size int64) (int64, error) {
	return io.Copy(w, ExactReader(r, size))
}

// ExactReader returns a reader of r that yields exactly size bytes and
// then io.EOF. It fails, with an error wrapping ErrSizeMismatch, on the
// Read that shows r to be longer or shorter. It checks r's end with an
// extra Read before it delivers the last byte, so a consumer that stops
// at size bytes (io.ReadFull, io.LimitReader) still sees a failure that
// r reports only at its end.
func ExactReader(r io.Reader, size int64) io.Reader {
	return &exactReader{r: r, left: size, size: size}
}

type exactReader struct {
	r    io.Reader
	left int64 // bytes still to deliver
	size int64
	err  error // sticky
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if e.left == 0 {
		e.err = e.end()
		if e.err == nil {
			e.err = io.EOF
		}
		return 0, e.err
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	switch {
	case e.left == 0:
		// Hold the last bytes back until r has confirmed its end.
		if err == nil || err == io.EOF {
			err = e.end()
		}
		if err != nil {
			e.err = err
			return 0, err
		}
		e.err = io.EOF
		return n, nil
	case err == io.EOF:
		e.err = fmt.Errorf("source ended after %d of %d bytes: %w", e.size-e.left, e.size, ErrSizeMismatch)
		return n, e.err
	case err != nil:
		e.err = err
	}
	return n, err
}

// end confirms that the underlying reader has no more bytes.
func (e *exactReader) end() error {
	var one [1]byte
	for {
		m, err := e.r.Read(one[:])
		switch {
		case m > 0:
			return fmt.Errorf("source has more than the %d bytes expected: %w", e.size, ErrSizeMismatch)
		case err == io.EOF:
			return nil
		case err != nil:
			return err
		}
	}
}

// OpenEntry opens the object e was listed as: by its ID when the backend
// allows duplicate names (DuplicateNamer) and e has one, so a name that
// several objects share never mixes them up; by its path otherwise. The
// arguments and the reader are Open's.
func OpenEntry(ctx context.Context, b Backend, e Entry, offset, length int64) (io.ReadCloser, error) {
	if dn, ok := b.(DuplicateNamer); ok && e.ID != "" {
		return dn.OpenEntry(ctx, e, offset, length)
	}
	return b.Open(ctx, e.Path, offset, length)
}

// ContextReader returns a reader of r whose Reads fail with ctx's error
// once ctx is done. Backends use it for sources of Put that do not watch
// ctx themselves. A nil r reads as empty.
func ContextReader(ctx context.Context, r io.Reader) io.Reader {
	if r == nil {
		r = eof{}
	}
	return ctxReader{ctx, r}
}

// eof is an empty reader.
type eof struct{}

func (eof) Read([]byte) (int, error) { return 0, io.EOF }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
