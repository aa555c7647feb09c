package backendtest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"ferry/internal/backend"
)

// Modification times used by the checks: not "now", and with sub-second
// parts, so a backend that ignores or mangles mtimes is caught.
var (
	mtime1 = time.Date(2021, time.March, 4, 5, 6, 7, 890123456, time.UTC)
	mtime2 = time.Date(2009, time.November, 10, 23, 0, 0, 123456789, time.UTC)
	mtime3 = time.Date(2032, time.December, 31, 12, 59, 58, 500000000, time.UTC)
)

// content returns n pseudo-random bytes determined by seed.
func content(seed uint64, n int64) []byte {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	binary.LittleEndian.PutUint64(s[8:], uint64(n))
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(s).Read(b)
	return b
}

// plainReader hides every method but Read, so backends are tested with the
// bare io.Reader the contract promises (no Seek, WriterTo or Len).
type plainReader struct{ r io.Reader }

func (p plainReader) Read(b []byte) (int, error) { return p.r.Read(b) }

func newReader(data []byte) io.Reader { return plainReader{bytes.NewReader(data)} }

// put stores data at p with mtime mt and fails the test on error.
func put(t *testing.T, b backend.Backend, p string, data []byte, mt time.Time) backend.Entry {
	t.Helper()
	e, err := b.Put(t.Context(), p, newReader(data), int64(len(data)), mt)
	if err != nil {
		t.Fatalf("Put(%q, %d bytes): %v", p, len(data), err)
	}
	return e
}

// mkdir creates dir and fails the test on error.
func mkdir(t *testing.T, b backend.Backend, dir string) {
	t.Helper()
	if err := b.Mkdir(t.Context(), dir); err != nil {
		t.Fatalf("Mkdir(%q): %v", dir, err)
	}
}

// read opens p at [off, off+n) and reads it all, closing the reader.
func read(ctx context.Context, b backend.Backend, p string, off, n int64) ([]byte, error) {
	rc, err := b.Open(ctx, p, off, n)
	if err != nil {
		return nil, err
	}
	got, err := io.ReadAll(rc)
	if cerr := rc.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("Close: %w", cerr)
	}
	return got, err
}

// get reads all of p and fails the test on error.
func get(t *testing.T, b backend.Backend, p string) []byte {
	t.Helper()
	got, err := read(t.Context(), b, p, 0, -1)
	if err != nil {
		t.Fatalf("Open(%q, 0, -1): %v", p, err)
	}
	return got
}

// stat describes p and fails the test on error.
func stat(t *testing.T, b backend.Backend, p string) backend.Entry {
	t.Helper()
	e, err := b.Stat(t.Context(), p)
	if err != nil {
		t.Fatalf("Stat(%q): %v", p, err)
	}
	return e
}

// list lists dir sorted by path and fails the test on error.
func list(t *testing.T, b backend.Backend, dir string) []backend.Entry {
	t.Helper()
	es, err := b.List(t.Context(), dir)
	if err != nil {
		t.Fatalf("List(%q): %v", dir, err)
	}
	slices.SortFunc(es, func(a, b backend.Entry) int { return strings.Compare(a.Path, b.Path) })
	return es
}

// paths returns the paths of es, marking directories with a trailing "/".
func paths(es []backend.Entry) []string {
	ps := make([]string, len(es))
	for i, e := range es {
		ps[i] = e.Path
		if e.IsDir {
			ps[i] += "/"
		}
	}
	slices.Sort(ps)
	return ps
}

// wantContent reports an error unless got equals want.
func wantContent(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s: %s", what, diffBytes(got, want))
	}
}

// wantFile checks that p holds exactly data.
func wantFile(t *testing.T, b backend.Backend, p string, data []byte) {
	t.Helper()
	wantContent(t, fmt.Sprintf("content of %q", p), get(t, b, p), data)
}

// diffBytes describes how got differs from want without printing them.
func diffBytes(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf("got %d bytes, want %d; first difference at offset %d", len(got), len(want), i)
}

// sameTime reports whether got is want within b's precision.
func sameTime(b backend.Backend, got, want time.Time) bool {
	return got.Sub(want).Abs() <= backend.Precision(b)
}

// wantEntry checks e against the wanted path, kind, size and (for files
// with a non-zero mt) mtime.
func wantEntry(t *testing.T, b backend.Backend, what string, e backend.Entry, p string, isDir bool, size int64, mt time.Time) {
	t.Helper()
	if e.Path != p {
		t.Errorf("%s: Path %q, want %q", what, e.Path, p)
	}
	if e.IsDir != isDir {
		t.Errorf("%s: IsDir %v, want %v", what, e.IsDir, isDir)
	}
	if isDir && e.Size != 0 {
		t.Errorf("%s: directory with Size %d, want 0", what, e.Size)
	}
	if !isDir && e.Size != size {
		t.Errorf("%s: Size %d, want %d", what, e.Size, size)
	}
	if !isDir && !mt.IsZero() && !sameTime(b, e.ModTime, mt) {
		t.Errorf("%s: ModTime %v, want %v (precision %v)", what, e.ModTime, mt, backend.Precision(b))
	}
}

// wantErrIs reports an error unless errors.Is(err, target).
func wantErrIs(t *testing.T, err, target error, format string, args ...any) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want one matching %v", fmt.Sprintf(format, args...), err, target)
	}
}

// wantNotExist reports an error unless Stat(p) is fs.ErrNotExist.
func wantNotExist(t *testing.T, b backend.Backend, p string) {
	t.Helper()
	e, err := b.Stat(t.Context(), p)
	if err == nil {
		t.Errorf("Stat(%q) = %+v, want fs.ErrNotExist", p, e)
		return
	}
	wantErrIs(t, err, fs.ErrNotExist, "Stat(%q)", p)
}

// wantDir reports an error unless p is a directory.
func wantDir(t *testing.T, b backend.Backend, p string) {
	t.Helper()
	e, err := b.Stat(t.Context(), p)
	if err != nil {
		t.Errorf("Stat(%q): %v, want a directory", p, err)
	} else if !e.IsDir {
		t.Errorf("Stat(%q) = %+v, want a directory", p, e)
	}
}
