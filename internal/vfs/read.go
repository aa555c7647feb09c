package vfs

import (
	"context"
	"errors"
	"io"

	"ferry/internal/backend"
)

// Read-ahead window of a sequential stream.
const (
	minWindow = 128 << 10
	maxWindow = 16 << 20
)

// reader reads one handle's file from the backend: sequential reads from
// one stream with a growing read-ahead buffer, other reads ranged. It is
// used under its handle's mutex.
type reader struct {
	b  backend.Backend
	e  backend.Entry
	ra *backend.ReaderAt // ranged reads

	rc     io.ReadCloser // the stream, or nil; it is at bufOff+len(buf)
	cancel context.CancelFunc
	buf    []byte // read ahead from the stream, starting at bufOff
	bufOff int64
	window int   // the next refill's size
	last   int64 // where the previous read ended
	err    error // the stream's failure, returned for every read past it
	// Streams and refills counts the backend streams opened and refills
	// made (tests look at them).
	streams, refills int
}

func newReader(b backend.Backend, e backend.Entry) *reader {
	return &reader{b: b, e: e, ra: backend.NewReaderAt(b, e), window: minWindow}
}

// readAt reads len(p) bytes at off, fewer only at the end with io.EOF.
func (r *reader) readAt(ctx context.Context, p []byte, off int64) (int, error) {
	size := r.e.Size
	if off >= size {
		return 0, io.EOF
	}
	want := min(int64(len(p)), size-off)
	p = p[:want]
	sequential := off == r.last || (len(r.buf) > 0 && off >= r.bufOff && off <= r.bufOff+int64(len(r.buf)))
	if !sequential {
		r.closeStream()
		r.window = minWindow
		n, err := r.ra.ReadAtContext(ctx, p, off)
		r.last = off + int64(n)
		if err == io.EOF && int64(n) == want {
			err = nil
		}
		return r.eof(n, off, err)
	}
	if r.rc == nil && r.err == nil && !(off >= r.bufOff && off+want <= r.bufOff+int64(len(r.buf))) {
		if err := r.open(off); err != nil {
			return 0, err
		}
	}
	n := 0
	for n < len(p) {
		cur := off + int64(n)
		if cur >= r.bufOff && cur < r.bufOff+int64(len(r.buf)) {
			n += copy(p[n:], r.buf[cur-r.bufOff:])
			continue
		}
		if r.err != nil {
			return n, r.err
		}
		if r.rc == nil {
			if err := r.open(cur); err != nil {
				return n, err
			}
		}
		if err := r.fill(); err != nil {
			r.err = err
			r.closeStream()
			return n, err
		}
	}
	r.last = off + int64(n)
	return r.eof(n, off, nil)
}

// eof adds io.EOF to a read that reached the end of the file.
func (r *reader) eof(n int, off int64, err error) (int, error) {
	if err == nil && off+int64(n) >= r.e.Size {
		err = io.EOF
	}
	return n, err
}

// open starts the stream at off, to the end of the file: from 0 it is a
// full read, which a verifying backend checks.
func (r *reader) open(off int64) error {
	ctx, cancel := context.WithCancel(context.Background()) // the stream outlives each read; closed with the handle
	rc, err := backend.OpenEntry(ctx, r.b, r.e, off, -1)
	if err != nil {
		cancel()
		return err
	}
	r.rc, r.cancel, r.buf, r.bufOff = rc, cancel, r.buf[:0], off
	r.streams++
	return nil
}

// fill replaces the buffer with the next window of the stream.
func (r *reader) fill() error {
	next := r.bufOff + int64(len(r.buf))
	n := min(int64(r.window), r.e.Size-next)
	if cap(r.buf) < int(n) {
		r.buf = make([]byte, n)
	}
	r.buf = r.buf[:n]
	m, err := io.ReadFull(r.rc, r.buf)
	r.buf, r.bufOff = r.buf[:m], next
	r.refills++
	if r.window < maxWindow {
		r.window *= 2
	}
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return errors.Join(errors.New("the file is shorter than listed"), backend.ErrSizeMismatch)
		}
		return err
	}
	if next+int64(m) == r.e.Size {
		// The last byte is in: let a verifying reader report its verdict
		// (MEGA checks the MAC when it reaches the end).
		var one [1]byte
		if k, err := r.rc.Read(one[:]); k > 0 {
			return errors.Join(errors.New("the file is longer than listed"), backend.ErrSizeMismatch)
		} else if err != nil && err != io.EOF {
			return err
		}
		err := r.rc.Close()
		r.cancel()
		r.rc, r.cancel = nil, nil
		return err
	}
	return nil
}

func (r *reader) closeStream() error {
	if r.rc == nil {
		return nil
	}
	err := r.rc.Close()
	r.cancel()
	r.rc, r.cancel = nil, nil
	r.buf, r.bufOff = r.buf[:0], 0
	return err
}

// close releases the stream and the ranged reader.
func (r *reader) close() error {
	r.closeStream()
	return r.ra.Close()
}
