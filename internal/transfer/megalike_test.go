package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/memory"
	"ferry/mega/megacrypto"
)

// megaLike is the memory backend's duplicate-names mode (which passes the
// conformance suite and keeps MEGA's whole-second mtimes) plus the one
// thing it leaves to MEGA: `c` fingerprints. Every file entry it returns
// carries megacrypto.Fingerprint of the file's content and mtime, which is
// what MEGA keeps in a node's `c` attribute, and it owns that kind of
// fingerprint (backend.Fingerprinter) as the MEGA backend does.
type megaLike struct {
	*memory.DupBackend
}

var (
	_ backend.DuplicateNamer = (*megaLike)(nil)
	_ backend.Fingerprinter  = (*megaLike)(nil)
	_ backend.Mover          = (*megaLike)(nil)
	_ backend.ModTimeSetter  = (*megaLike)(nil)
	_ backend.Precisioner    = (*megaLike)(nil)
)

// newMegaLike returns an empty megaLike that String shows as name + ":".
func newMegaLike(name string) *megaLike {
	return &megaLike{memory.NewDuplicates(memory.Options{Name: name, Precision: time.Second})}
}

// withFP returns e with its fingerprint, computed over the object e
// names; a non-nil err (of the call that gave e) is returned as it is.
// The read is in memory and not cancelled with ctx: a call that has
// succeeded is not turned into a failure.
func (m *megaLike) withFP(ctx context.Context, e backend.Entry, err error) (backend.Entry, error) {
	if err != nil || e.IsDir {
		return e, err
	}
	rc, err := m.DupBackend.OpenEntry(context.WithoutCancel(ctx), e, 0, -1)
	if err != nil {
		return backend.Entry{}, err
	}
	defer rc.Close()
	ra, ok := rc.(io.ReaderAt)
	if !ok {
		return backend.Entry{}, fmt.Errorf("fingerprint %s: the memory reader is no io.ReaderAt", e.Path)
	}
	if e.Fingerprint, err = megacrypto.Fingerprint(ra, e.Size, e.ModTime.Unix()); err != nil {
		return backend.Entry{}, fmt.Errorf("fingerprint %s: %w", e.Path, err)
	}
	return e, nil
}

// List lists dir with fingerprints. An object removed between the listing
// and its fingerprint is left out, as if listed a moment later.
func (m *megaLike) List(ctx context.Context, dir string) ([]backend.Entry, error) {
	es, err := m.DupBackend.List(ctx, dir)
	if err != nil {
		return nil, err
	}
	out := es[:0]
	for _, e := range es {
		e, err := m.withFP(ctx, e, nil)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func (m *megaLike) Stat(ctx context.Context, p string) (backend.Entry, error) {
	e, err := m.DupBackend.Stat(ctx, p)
	return m.withFP(ctx, e, err)
}

func (m *megaLike) Put(ctx context.Context, p string, r io.Reader, size int64, modTime time.Time) (backend.Entry, error) {
	e, err := m.DupBackend.Put(ctx, p, r, size, modTime)
	return m.withFP(ctx, e, err)
}

// PutDuplicate stores another file named p beside those there (test setup).
func (m *megaLike) PutDuplicate(ctx context.Context, p string, r io.Reader, size int64, modTime time.Time) (backend.Entry, error) {
	e, err := m.DupBackend.PutDuplicate(ctx, p, r, size, modTime)
	return m.withFP(ctx, e, err)
}

func (m *megaLike) Move(ctx context.Context, src, dst string) (backend.Entry, error) {
	e, err := m.DupBackend.Move(ctx, src, dst)
	return m.withFP(ctx, e, err)
}

func (m *megaLike) RenameEntry(ctx context.Context, e backend.Entry, newName string) (backend.Entry, error) {
	e, err := m.DupBackend.RenameEntry(ctx, e, newName)
	return m.withFP(ctx, e, err)
}

// FingerprintOf implements backend.Fingerprinter as the MEGA backend does.
func (m *megaLike) FingerprintOf(ctx context.Context, e backend.Entry, r io.ReaderAt) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return megacrypto.Fingerprint(r, e.Size, e.ModTime.Unix())
}

func (m *megaLike) SameContent(a, b string) bool { return megaSame(a, b) }

// megaSame compares `c` fingerprints by their CRC part, like the MEGA
// backend's SameContent; anything else whole.
func megaSame(a, b string) bool {
	ca, _, errA := megacrypto.ParseFingerprint(a)
	cb, _, errB := megacrypto.ParseFingerprint(b)
	if errA != nil || errB != nil {
		return a == b
	}
	return ca == cb
}
