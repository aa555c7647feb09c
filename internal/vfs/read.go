package vfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"ferry/internal/backend"
)

// Read-ahead window of a sequential stream (maxWindow without the block
// cache; with it, maxAhead).
const (
	minWindow = 128 << 10
	maxWindow = 16 << 20
)

// fileReader reads one handle's file.
type fileReader interface {
	// read reads len(p) bytes at off, fewer only at the end with io.EOF,
	// and returns them: p[:n], or memory of its own that no one changes.
	read(ctx context.Context, p []byte, off int64) ([]byte, error)
	close() error
}

// reader reads one handle's file from the backend when the block cache
// is off: sequential reads from one stream with a growing read-ahead
// buffer, other reads ranged. It is not safe for concurrent use
// (lockedReader serialises it).
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

// errReadRetries is the error of a read whose cached chunk failed its
// MAC check, or left memory, again after it was fetched again.
var errReadRetries = errors.New("the cached copy failed again after a new fetch")

// cachedReader reads one handle's file through the block cache. Reads
// run in parallel; mu guards only the sequential-read state.
type cachedReader struct {
	o *cacheObj

	mu     sync.Mutex
	last   int64 // +checklocks:mu; where the furthest sequential read ended
	window int64 // +checklocks:mu; the read-ahead window
	streak int   // +checklocks:mu; reads in a row near the last one
}

func newCachedReader(ctx context.Context, c *blockCache, e backend.Entry) (*cachedReader, error) {
	o, err := c.get(ctx, e)
	if err != nil {
		return nil, err
	}
	return &cachedReader{o: o, window: minWindow, streak: 1}, nil // a read from 0 is sequential
}

// read reads len(p) bytes at off, fewer only at the end with io.EOF:
// into p, or, for checked chunks in memory, none of it copied (see
// cacheObj.read).
// A read near where the last ones ended (within the window or 8 reads
// of its size: the kernel sends sequential reads out of order) is
// sequential once the one before it was too, or from offset 0: it
// doubles the read-ahead window (128 KiB up to maxAhead, 32 MiB)
// and starts read-ahead fetches past it. Any other read fetches only
// what it asks for, rounded to 4 KiB.
func (r *cachedReader) read(ctx context.Context, p []byte, off int64) ([]byte, error) {
	size := r.o.e.Size
	if off >= size {
		return nil, io.EOF
	}
	want := min(int64(len(p)), size-off)
	p = p[:want]
	end := off + want
	r.mu.Lock()
	d := off - r.last
	// Near: within the window, or a few reads of this size (the kernel
	// sends up to 1 MiB per read, several at a time).
	near := max(r.window, 8*want)
	if d >= -near && d <= near {
		r.streak++
		r.last = max(r.last, end)
	} else {
		r.streak, r.window, r.last = 0, minWindow, end
	}
	// Two random reads may land near each other by chance; a third in a
	// row will not.
	sequential := r.streak >= 2
	if sequential {
		r.window = min(2*r.window, maxAhead)
	}
	ahead, furthest := r.window, max(r.last, end)
	r.mu.Unlock()
	if sequential && furthest < size {
		// From the end of the chunk where the furthest sequential read
		// ended: this read fetches up to the end of its own chunk itself,
		// so it completes (and checks) that chunk, and reads ahead of it
		// (the kernel's come out of order) fetch theirs: what is before
		// may be read already, and gone from memory.
		c := r.o.chunks[r.o.chunkAt(furthest-1)]
		r.o.prefetch(c.Offset+c.Size, furthest+ahead)
	}
	var last error
	for range 3 {
		if err := r.o.ensure(ctx, off, end, sequential); err != nil {
			return nil, err
		}
		b, err := r.o.read(p, off)
		if errors.Is(err, errCorruptCache) || errors.Is(err, errChunkGone) {
			last = err
			continue // dropped: fetch it again
		}
		if err == nil && end == size {
			err = io.EOF
		}
		return b, err
	}
	return nil, fmt.Errorf("read %s at %d: %w: %w", r.o.e.Path, off, errReadRetries, last)
}

func (r *cachedReader) close() error {
	r.o.c.put(r.o)
	return nil
}

// lockedReader serialises the reads of a reader without a cache.
type lockedReader struct {
	mu sync.Mutex
	r  *reader // +checklocks:mu
}

func (l *lockedReader) read(ctx context.Context, p []byte, off int64) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.r.readAt(ctx, p, off)
	return p[:n], err
}

func (l *lockedReader) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.close()
}
