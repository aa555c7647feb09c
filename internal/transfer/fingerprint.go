package transfer

import (
	"context"
	"errors"

	"ferry/internal/backend"
)

// fingerprints compares content fingerprints of two sides through the
// backend that owns their kind (backend.Fingerprinter): the engine never
// parses one.
type fingerprints struct {
	src, dst backend.Backend
	// owner is the destination's Fingerprinter if it has one, else the
	// source's; nil when neither side has fingerprints.
	owner backend.Fingerprinter
}

func newFingerprints(src, dst backend.Backend) fingerprints {
	f := fingerprints{src: src, dst: dst}
	if o, ok := dst.(backend.Fingerprinter); ok {
		f.owner = o
	} else if o, ok := src.(backend.Fingerprinter); ok {
		f.owner = o
	}
	return f
}

// same reports whether two fingerprints describe the same content.
func (f fingerprints) same(a, b string) bool {
	if f.owner == nil {
		return a == b
	}
	return f.owner.SameContent(a, b)
}

// of returns e's fingerprint: its own when it has one, otherwise computed
// by the owner from e's content in b (reading only what the owner's kind
// samples, so a local file is compared with a MEGA node without
// downloading the node).
func (f fingerprints) of(ctx context.Context, b backend.Backend, e backend.Entry) (string, error) {
	if e.Fingerprint != "" || f.owner == nil {
		return e.Fingerprint, nil
	}
	r := backend.NewReaderAt(b, e)
	defer r.Close()
	return f.owner.FingerprintOf(ctx, e, r.WithContext(ctx))
}

// equal computes what is missing and compares the fingerprints of source
// file s and destination file d.
func (f fingerprints) equal(ctx context.Context, s, d backend.Entry) (bool, error) {
	sf, err := f.of(ctx, f.src, s)
	if err != nil {
		return false, err
	}
	df, err := f.of(ctx, f.dst, d)
	if err != nil {
		return false, err
	}
	return f.same(sf, df), nil
}

// matchContent confirms equal fingerprints with the whole content when
// exactly one side is a backend.ContentMatcher (MEGA, MediaFire): the other side's
// file is read and MAC'd under the matcher's key, so nothing is
// downloaded. applied is false when neither or both sides can match
// (two MEGA files have different keys; their fingerprints decide).
// by names what the matcher compared (backend.ContentMatcher.MatchedBy).
func matchContent(ctx context.Context, src, dst backend.Backend, s, d backend.Entry) (applied, same bool, by string, err error) {
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
		return false, false, "", nil
	}
	by = m.MatchedBy()
	rc, err := backend.OpenEntry(ctx, other, o, 0, -1)
	if err != nil {
		return true, false, by, err
	}
	defer rc.Close()
	same, err = m.MatchContent(ctx, e, backend.ExactReader(rc, o.Size))
	if errors.Is(err, backend.ErrSizeMismatch) {
		return true, false, by, nil // longer or shorter than listed: not the same
	}
	return true, same, by, err
}
