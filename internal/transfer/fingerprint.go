package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"

	"ferry/internal/backend"
	"ferry/mega/megacrypto"
)

// fingerprintOf returns e's fingerprint in MEGA's `c` format: e's own when
// it has one, otherwise computed from the content of e in b by reading only
// the sampled windows (at most 8 KiB, megacrypto.Fingerprint), so a local
// file is compared with a MEGA node without downloading the node.
func fingerprintOf(ctx context.Context, b backend.Backend, e backend.Entry) (string, error) {
	if e.Fingerprint != "" {
		return e.Fingerprint, nil
	}
	r := &rangeReaderAt{ctx: ctx, b: b, path: e.Path}
	defer r.close()
	fp, err := megacrypto.Fingerprint(r, e.Size, e.ModTime.Unix())
	if err != nil {
		return "", fmt.Errorf("fingerprint %s: %w", e.Path, err)
	}
	return fp, nil
}

// rangeReaderAt reads a file of a backend at offsets. When the backend's
// reader is itself an io.ReaderAt (an *os.File from a local backend) one
// Open serves every read; otherwise each ReadAt is a ranged Open.
//
// It holds ctx only for the duration of the fingerprintOf call that made
// it, like an http.Request.
type rangeReaderAt struct {
	ctx  context.Context
	b    backend.Backend
	path string
	rc   io.ReadCloser // the first Open, kept when it is an io.ReaderAt
	ra   io.ReaderAt
	open bool // the first Open was tried
}

// ReadAt implements io.ReaderAt.
func (r *rangeReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if !r.open {
		r.open = true
		rc, err := r.b.Open(r.ctx, r.path, 0, -1)
		if err != nil {
			return 0, err
		}
		if ra, ok := rc.(io.ReaderAt); ok {
			r.rc, r.ra = rc, ra
		} else if err := rc.Close(); err != nil {
			return 0, err
		}
	}
	if r.ra != nil {
		return r.ra.ReadAt(p, off)
	}
	rc, err := r.b.Open(r.ctx, r.path, off, int64(len(p)))
	if err != nil {
		return 0, err
	}
	n, err := io.ReadFull(rc, p)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return n, err
}

// close closes the reader kept from the first Open, if any.
func (r *rangeReaderAt) close() {
	if r.rc != nil {
		r.rc.Close()
	}
}

// matchContent confirms equal fingerprints with the whole content when
// exactly one side is a backend.ContentMatcher (MEGA): the other side's
// file is read and MAC'd under the matcher's key, so nothing is
// downloaded. applied is false when neither or both sides can match
// (two MEGA files have different keys; their fingerprints decide).
func matchContent(ctx context.Context, src, dst backend.Backend, s, d backend.Entry) (applied, same bool, err error) {
	sm, sok := src.(backend.ContentMatcher)
	dm, dok := dst.(backend.ContentMatcher)
	var (
		m     backend.ContentMatcher
		e, o  backend.Entry
		other backend.Backend
	)
	switch {
	case dok && !sok:
		m, e, other, o = dm, d, src, s
	case sok && !dok:
		m, e, other, o = sm, s, dst, d
	default:
		return false, false, nil
	}
	rc, err := backend.OpenEntry(ctx, other, o, 0, -1)
	if err != nil {
		return true, false, err
	}
	defer rc.Close()
	same, err = m.MatchContent(ctx, e, backend.ExactReader(rc, o.Size))
	if errors.Is(err, backend.ErrSizeMismatch) {
		return true, false, nil // longer or shorter than listed: not the same
	}
	return true, same, err
}
