package mediafire

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"ferry/internal/retry"
	"ferry/mediafire/mfapi"
)

// ErrHashMismatch is returned by a download whose content does not hash
// to the file's recorded hash. It is retryable (the bytes may have been
// damaged on the way).
var ErrHashMismatch error = hashError{}

type hashError struct{}

func (hashError) Error() string {
	return "mediafire: downloaded content does not match the file's hash"
}
func (hashError) Retryable() bool { return true }

func containsFold(s, sub string) bool { return strings.Contains(strings.ToLower(s), sub) }

// newHash returns the hash that verifies content recorded as hexHash:
// SHA-256 for 64 hex digits, MD5 (legacy files) for 32; nil when hexHash
// is neither, so the content cannot be verified.
func newHash(hexHash string) (hash.Hash, []byte) {
	want, err := hex.DecodeString(hexHash)
	if err != nil {
		return nil, nil
	}
	switch len(want) {
	case sha256.Size:
		return sha256.New(), want
	case md5.Size:
		return md5.New(), want
	}
	return nil, nil
}

// maxResumes bounds how often one download reconnects after its stream
// broke off.
const maxResumes = 5

// Open reads length bytes of file f from offset (length < 0: to the end).
// A read of the whole file is verified against f.Hash: the reader
// confirms the stream's end and the hash before it returns the last
// bytes, and fails with ErrHashMismatch instead, so no consumer can take
// unverified content for the file. A ranged read is not verified (the
// hash covers the whole file only). A stream that breaks off is resumed
// from where it stopped with a Range request, up to maxResumes times.
// Close releases the connection.
func (c *Client) Open(ctx context.Context, f *mfapi.FileInfo, offset, length int64) (io.ReadCloser, error) {
	size := int64(f.Size)
	if offset < 0 {
		return nil, fmt.Errorf("mediafire: open %q: negative offset", f.Filename)
	}
	if offset > size {
		offset = size
	}
	if length < 0 || offset+length > size {
		length = size - offset
	}
	r := &dlReader{ctx: ctx, c: c, f: f, size: size, pos: offset, end: offset + length}
	if offset == 0 && length == size {
		if r.h, r.want = newHash(f.Hash); r.h == nil {
			return nil, fmt.Errorf("mediafire: open %q: the file's hash %q is neither SHA-256 nor MD5, so its content cannot be verified", f.Filename, f.Hash)
		}
	}
	if length == 0 {
		if r.h != nil && !equal(r.h.Sum(nil), r.want) {
			return nil, ErrHashMismatch
		}
		r.err = io.EOF
		return r, nil
	}
	err := retry.Do(ctx, c.policy("download"), func(ctx context.Context) error {
		return r.connect(ctx, true)
	})
	if err != nil {
		return nil, err
	}
	if r.h != nil && size >= pipeMin {
		r.hp = newHashPipe(r.h)
	}
	return r, nil
}

func equal(a, b []byte) bool { return string(a) == string(b) }

// dlReader streams bytes [pos, end) of a file from its direct link,
// reconnecting where the stream broke off, and, when h is set (a whole
// read), verifies the hash before it returns the last bytes. Errors are
// sticky. ctx is the Open call's, kept for reconnections.
type dlReader struct {
	ctx     context.Context
	c       *Client
	f       *mfapi.FileInfo
	size    int64
	pos     int64 // file offset of the next byte
	end     int64
	link    string
	body    io.ReadCloser
	resumes int
	h       hash.Hash
	want    []byte
	hp      *hashPipe // hashes on a goroutine of its own when set (a large whole read)
	err     error
}

// connect opens the stream at pos, getting a direct link first if there
// is none (or newLink is set).
func (r *dlReader) connect(ctx context.Context, newLink bool) error {
	const method = "download"
	if r.link == "" || newLink {
		link, err := r.c.DirectLink(ctx, r.f.QuickKey)
		if err != nil {
			return err
		}
		r.link = link
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.link, nil)
	if err != nil {
		return retry.Permanent(&TransportError{Method: method, Err: scrub(err)})
	}
	if r.pos > 0 || r.end < r.size {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", r.pos, r.end-1))
	}
	r.c.counts.add(method)
	resp, err := r.c.hc.Do(req)
	if err != nil {
		return &TransportError{Method: method, Err: scrub(err)}
	}
	skip := int64(0)
	switch resp.StatusCode {
	case http.StatusPartialContent:
		var start, last, total int64
		if _, err := fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-%d/%d", &start, &last, &total); err != nil ||
			start != r.pos || last < start || total != r.size {
			resp.Body.Close()
			return &TransportError{Method: method, Status: resp.StatusCode, Err: fmt.Errorf("unexpected Content-Range %q", resp.Header.Get("Content-Range"))}
		}
	case http.StatusOK:
		skip = r.pos // the server ignored the range
	case http.StatusNotFound, http.StatusGone:
		resp.Body.Close()
		return retry.Permanent(&mfapi.Error{Code: mfapi.ErrQuickKey, Method: method, Status: resp.StatusCode})
	default:
		resp.Body.Close()
		return &TransportError{Method: method, Status: resp.StatusCode, Err: retry.NewStatusError(method, resp)}
	}
	if skip > 0 {
		if _, err := io.CopyN(io.Discard, resp.Body, skip); err != nil {
			resp.Body.Close()
			return &TransportError{Method: method, Status: resp.StatusCode, Err: scrub(err)}
		}
	}
	r.body = resp.Body
	return nil
}

func (r *dlReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.pos >= r.end {
		r.err = io.EOF
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, err := r.next(p)
	if err != nil {
		return 0, err
	}
	switch {
	case r.hp != nil:
		r.hp.write(p[:n])
	case r.h != nil:
		r.h.Write(p[:n])
	}
	if err := r.atEnd(); err != nil {
		return 0, err // hold the last bytes back
	}
	return n, nil
}

// WriteTo writes the rest of the stream to w, with the promise Read
// makes: the last bytes are written only after the hash confirmed them.
// A large whole read (the hashing goroutine) reads the network straight
// into the hashing blocks and writes them from there, with no copy.
func (r *dlReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	var scratch []byte
	for {
		if r.err == io.EOF {
			return total, nil
		} else if r.err != nil {
			return total, r.err
		}
		if r.pos >= r.end {
			r.err = io.EOF
			continue
		}
		var b []byte
		if r.hp != nil {
			b = r.hp.space()
		} else {
			if scratch == nil {
				scratch = make([]byte, 256<<10)
			}
			b = scratch
		}
		n, err := r.next(b)
		if err != nil {
			return total, err
		}
		switch {
		case r.hp != nil:
			r.hp.commit(n)
		case r.h != nil:
			r.h.Write(b[:n])
		}
		if err := r.atEnd(); err != nil {
			return total, err
		}
		m, err := w.Write(b[:n])
		total += int64(m)
		if err == nil && m < n {
			err = io.ErrShortWrite
		}
		if err != nil {
			return total, err
		}
	}
}

// atEnd, once the stream's last byte has been read, confirms the end and
// the hash (see finish) and makes the reader's error io.EOF, or the
// failure.
func (r *dlReader) atEnd() error {
	if r.pos < r.end {
		return nil
	}
	if err := r.finish(); err != nil {
		r.err = err
		return err
	}
	r.err = io.EOF
	return nil
}

// next reads the stream's next bytes (at most end-pos, pos < end) into p,
// connecting and reconnecting where the stream broke off, and returns how
// many; it returns an error only with no bytes. A failure after some
// bytes sticks in r.err for the next call.
func (r *dlReader) next(p []byte) (int, error) {
	if int64(len(p)) > r.end-r.pos {
		p = p[:r.end-r.pos]
	}
	for {
		if r.body == nil {
			if err := r.resume(nil); err != nil {
				return 0, err
			}
		}
		n, err := r.body.Read(p)
		r.pos += int64(n)
		if err != nil && r.pos < r.end {
			// Broken off (io.EOF before the end counts too): reconnect,
			// or fail when out of resumes.
			if rerr := r.resume(err); rerr != nil {
				if n > 0 {
					return n, nil // the error sticks for the next call
				}
				return 0, rerr
			}
		}
		if n > 0 {
			return n, nil
		}
	}
}

// finish confirms the whole file's end and hash (a no-op for ranges).
func (r *dlReader) finish() error {
	if r.h == nil {
		return nil
	}
	var one [1]byte
	for {
		n, err := r.body.Read(one[:])
		if n > 0 {
			return fmt.Errorf("mediafire download %q: stream longer than the file's %d bytes: %w", r.f.Filename, r.size, ErrHashMismatch)
		}
		if err != nil {
			break // io.EOF, or a failure after the last byte: the hash decides
		}
	}
	var sum []byte
	if r.hp != nil {
		sum = r.hp.sum()
	} else {
		sum = r.h.Sum(nil)
	}
	if !equal(sum, r.want) {
		return fmt.Errorf("mediafire download %q: %w", r.f.Filename, ErrHashMismatch)
	}
	return nil
}

// resume closes the broken stream (cause is why it broke, nil when there
// was none yet) and reconnects at pos, or sets the sticky error.
func (r *dlReader) resume(cause error) error {
	if r.body != nil {
		r.body.Close()
		r.body = nil
	}
	if cause != nil {
		if r.resumes >= maxResumes || r.ctx.Err() != nil {
			r.err = r.fail(cause)
			return r.err
		}
		r.resumes++
		r.c.log.DebugContext(r.ctx, "mediafire download resumes", slog.Int64("offset", r.pos), slog.Any(logKeyErr, scrub(cause)))
	}
	err := retry.Do(r.ctx, r.c.policy("download"), func(ctx context.Context) error {
		return r.connect(ctx, r.resumes > 1)
	})
	if err != nil {
		r.err = err
		return err
	}
	return nil
}

func (r *dlReader) fail(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return &TransportError{Method: "download", Err: fmt.Errorf("stream broke off after %d of %d bytes: %w", r.pos, r.end, scrub(err))}
}

// Close releases the connection (and stops the hashing goroutine).
func (r *dlReader) Close() error {
	if r.hp != nil {
		r.hp.stop()
	}
	if r.body != nil {
		err := r.body.Close()
		r.body = nil
		return err
	}
	return nil
}

// pipeMin is the smallest whole read hashed on a goroutine of its own:
// below it a goroutine and its blocks cost more than they save.
const pipeMin = 4 << 20

// Hashing blocks of a hashPipe: pipeBlock bytes each, pipeBlocks of them.
const (
	pipeBlock  = 1 << 20
	pipeBlocks = 4
)

// hashPipe feeds a hash on a goroutine of its own, so hashing a download
// overlaps reading it from the network (each alone runs at about the
// same speed on one core). Bytes collect in a block, by write (a copy) or
// by space and commit (read into the block in place); a full block is
// handed to the hasher when the next bytes need room, so the block that
// holds the latest bytes stays the reader's until then. At most
// pipeBlocks blocks exist, so a slow hash holds the reader back rather
// than buffering the file. The goroutine is started by newHashPipe and
// ended by sum or stop; sum hashes the last block itself, and that block
// stays valid until stop. A hashPipe is used by one goroutine (the
// reader's).
type hashPipe struct {
	h    hash.Hash
	cur  []byte      // the block being filled
	free chan []byte // blocks the hasher is done with
	full chan []byte // blocks for the hasher; closed by shutdown
	done chan struct{}
	out  []byte // the sum, once summed
	shut bool   // full is closed
}

func newHashPipe(h hash.Hash) *hashPipe {
	p := &hashPipe{h: h, free: make(chan []byte, pipeBlocks), full: make(chan []byte, pipeBlocks), done: make(chan struct{})}
	for range pipeBlocks - 1 {
		p.free <- pipePool.Get().([]byte)
	}
	p.cur = pipePool.Get().([]byte)
	go func() {
		defer close(p.done)
		for b := range p.full {
			p.h.Write(b)
			p.free <- b[:0]
		}
	}()
	return p
}

// space returns the room left in the current block, handing a full one
// to the hasher first.
func (p *hashPipe) space() []byte {
	if len(p.cur) == cap(p.cur) {
		p.full <- p.cur
		p.cur = <-p.free
	}
	return p.cur[len(p.cur):cap(p.cur)]
}

// commit adds the n bytes read into space() to the hashed stream.
func (p *hashPipe) commit(n int) { p.cur = p.cur[:len(p.cur)+n] }

// write adds a copy of b to the hashed stream.
func (p *hashPipe) write(b []byte) {
	for len(b) > 0 {
		k := copy(p.space(), b)
		p.commit(k)
		b = b[k:]
	}
}

// sum waits for the hasher, hashes the current block and returns the
// hash.
func (p *hashPipe) sum() []byte {
	if p.out == nil && !p.shut {
		p.shutdown()
		p.h.Write(p.cur)
		p.out = p.h.Sum(nil)
	}
	return p.out
}

// stop ends the goroutine (if sum has not) and releases the blocks.
func (p *hashPipe) stop() {
	if !p.shut {
		p.shutdown()
	}
	if p.cur != nil {
		pipePool.Put(p.cur[:0]) //nolint:staticcheck // a slice header is small; the block is what is reused
		p.cur = nil
	}
}

// shutdown closes full, waits for the goroutine and returns the blocks
// it is done with to pipePool.
func (p *hashPipe) shutdown() {
	close(p.full)
	p.shut = true
	<-p.done
	for {
		select {
		case b := <-p.free:
			pipePool.Put(b) //nolint:staticcheck // as in stop
		default:
			return
		}
	}
}

// pipePool holds hashPipe blocks between downloads.
var pipePool = sync.Pool{New: func() any { return make([]byte, 0, pipeBlock) }}
