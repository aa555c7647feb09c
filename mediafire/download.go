package mediafire

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"

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

// Open reads length bytes of file f from offset (length < 0: to the end).
// A read of the whole file is verified against f.Hash: the reader
// confirms the stream's end and the hash before it returns the last
// bytes, and fails with ErrHashMismatch (or an error wrapping
// io.ErrUnexpectedEOF for a short stream) instead. A ranged read is
// verified the same way when the server sends the whole file and the
// range reaches its end; a partial range the server cuts (206) cannot be
// verified. Close releases the connection.
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
	if size == 0 || length == 0 {
		if offset == 0 && length == size {
			// Nothing to fetch, but an empty file still has a hash.
			h, want := newHash(f.Hash)
			if h != nil && !equal(h.Sum(nil), want) {
				return nil, ErrHashMismatch
			}
		}
		return io.NopCloser(strings.NewReader("")), nil
	}
	var rc io.ReadCloser
	err := retry.Do(ctx, c.policy("download"), func(ctx context.Context) error {
		link, err := c.DirectLink(ctx, f.QuickKey)
		if err != nil {
			return err
		}
		rc, err = c.get(ctx, link, f, size, offset, length)
		return err
	})
	if err != nil {
		return nil, err
	}
	return rc, nil
}

func equal(a, b []byte) bool { return string(a) == string(b) }

// get starts the GET of a direct link and wraps its body.
func (c *Client) get(ctx context.Context, link string, f *mfapi.FileInfo, size, offset, length int64) (io.ReadCloser, error) {
	const method = "download"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return nil, retry.Permanent(&TransportError{Method: method, Err: scrub(err)})
	}
	whole := offset == 0 && length == size
	if !whole {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", offset, offset+length-1))
	}
	c.counts.add(method)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, &TransportError{Method: method, Err: scrub(err)}
	}
	switch {
	case resp.StatusCode == http.StatusPartialContent && !whole:
		var start, end, total int64
		if _, err := fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-%d/%d", &start, &end, &total); err != nil ||
			start != offset || end != offset+length-1 || total != size {
			resp.Body.Close()
			return nil, &TransportError{Method: method, Status: resp.StatusCode, Err: fmt.Errorf("unexpected Content-Range %q", resp.Header.Get("Content-Range"))}
		}
		return &rangeReader{body: resp.Body, left: length}, nil
	case resp.StatusCode == http.StatusOK:
		r := &verifyReader{body: resp.Body, size: size, skip: offset, limit: offset + length}
		if offset+length == size {
			if r.h, r.want = newHash(f.Hash); r.h == nil {
				resp.Body.Close()
				return nil, retry.Permanent(fmt.Errorf("mediafire download %q: the file's hash %q is neither SHA-256 nor MD5, so its content cannot be verified", f.Filename, f.Hash))
			}
		}
		return r, nil
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		resp.Body.Close()
		return nil, retry.Permanent(&mfapi.Error{Code: mfapi.ErrQuickKey, Method: method, Status: resp.StatusCode})
	}
	resp.Body.Close()
	return nil, &TransportError{Method: method, Status: resp.StatusCode, Err: retry.NewStatusError(method, resp)}
}

// rangeReader reads exactly left bytes of a 206 body.
type rangeReader struct {
	body io.ReadCloser
	left int64
	err  error
}

func (r *rangeReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.left == 0 {
		r.err = io.EOF
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.body.Read(p)
	r.left -= int64(n)
	if err == io.EOF && r.left > 0 {
		err = fmt.Errorf("mediafire download: stream ended %d bytes early: %w", r.left, io.ErrUnexpectedEOF)
	}
	if err != nil {
		r.err = err
	}
	return n, err
}

func (r *rangeReader) Close() error { return r.body.Close() }

// verifyReader reads a whole-file body of size bytes, delivers the bytes
// in [skip, limit) and, when h is set (limit == size), hashes everything
// and compares with want before it delivers the last bytes: the Read that
// would return them returns ErrHashMismatch instead. A stream shorter or
// longer than size fails the same way. Errors are sticky.
type verifyReader struct {
	body        io.ReadCloser
	size        int64
	skip, limit int64 // deliver bytes [skip, limit)
	pos         int64 // bytes read from body
	h           hash.Hash
	want        []byte
	err         error
}

func (r *verifyReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	for r.pos < r.skip { // discard up to the range
		var buf [32 << 10]byte
		n, err := r.body.Read(buf[:min(int64(len(buf)), r.skip-r.pos)])
		r.consume(buf[:n])
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			r.err = r.fail(err)
			return 0, r.err
		}
	}
	if r.pos >= r.limit {
		r.err = io.EOF
		return 0, io.EOF
	}
	if int64(len(p)) > r.limit-r.pos {
		p = p[:r.limit-r.pos]
	}
	n, err := r.body.Read(p)
	r.consume(p[:n])
	if r.pos == r.limit {
		if r.limit == r.size && (err == nil || err == io.EOF) {
			err = r.end()
		}
		if err != nil && err != io.EOF {
			r.err = r.fail(err)
			return 0, r.err // hold the last bytes back
		}
		r.err = io.EOF
		return n, nil
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		r.err = r.fail(err)
	}
	return n, r.err
}

func (r *verifyReader) consume(b []byte) {
	r.pos += int64(len(b))
	if r.h != nil {
		r.h.Write(b)
	}
}

// end confirms the body has no more bytes and checks the hash.
func (r *verifyReader) end() error {
	var one [1]byte
	for {
		n, err := r.body.Read(one[:])
		if n > 0 {
			return fmt.Errorf("mediafire download: stream longer than the file's %d bytes: %w", r.size, ErrHashMismatch)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if r.h != nil && !equal(r.h.Sum(nil), r.want) {
		return ErrHashMismatch
	}
	return nil
}

func (r *verifyReader) fail(err error) error {
	if errors.Is(err, ErrHashMismatch) {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &TransportError{Method: "download", Err: fmt.Errorf("stream ended after %d of %d bytes: %w", r.pos, r.size, io.ErrUnexpectedEOF)}
	}
	return &TransportError{Method: "download", Err: scrub(err)}
}

func (r *verifyReader) Close() error { return r.body.Close() }
