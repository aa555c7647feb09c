package transfer

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/local"
	"ferry/internal/backend/memory"
)

// growing is a local backend whose files grow while they are read: after
// the first Read of an open file, more bytes are appended to it (a log
// being written during the copy).
type growing struct {
	*local.Backend
	root string
}

func (g *growing) Open(ctx context.Context, p string, offset, length int64) (io.ReadCloser, error) {
	rc, err := g.Backend.Open(ctx, p, offset, length)
	if err != nil {
		return nil, err
	}
	return &growingReader{ReadCloser: rc, path: filepath.Join(g.root, filepath.FromSlash(p))}, nil
}

type growingReader struct { // appends once, to app.log only
	io.ReadCloser
	path  string
	grown bool
}

func (r *growingReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if !r.grown && strings.HasSuffix(r.path, "app.log") {
		r.grown = true
		f, ferr := os.OpenFile(r.path, os.O_APPEND|os.O_WRONLY, 0)
		if ferr != nil {
			return n, ferr
		}
		f.WriteString(strings.Repeat("more log lines\n", 100))
		f.Close()
	}
	return n, err
}

// TestSourceGrowingDuringCopyFails copies a file that grows while it is
// read. The copy of it must fail naming the change (not land truncated
// with the old mtime), the destination must not have it, and a file next
// to it that stays still is copied.
func TestSourceGrowingDuringCopyFails(t *testing.T) {
	root := t.TempDir()
	lb, err := local.New(root)
	if err != nil {
		t.Fatal(err)
	}
	put(t, lb, "", tree{"app.log": {data: strings.Repeat("log line\n", 50000)}, "still.txt": {data: "still"}})
	src := &growing{Backend: lb, root: root}
	dst := memory.New()
	opts, rec := testOptions(t)
	err = Copy(t.Context(), Location{src, ""}, Location{dst, ""}, opts)
	var re *RunError
	if !errors.As(err, &re) || !errors.Is(err, backend.ErrChanged) {
		t.Fatalf("Copy of a growing file = %v, want a RunError wrapping backend.ErrChanged", err)
	}
	if !strings.Contains(err.Error(), "size went from") {
		t.Errorf("error %q does not say how the file changed", err)
	}
	if got := contents(t, dst, ""); len(got) != 1 || got["still.txt"] != "still" {
		t.Errorf("destination has %v after the copy, want only still.txt", got)
	}
	if failed := rec.paths(Failed); len(failed) != 1 || failed[0] != "app.log" {
		t.Errorf("failed = %v, want [app.log]", failed)
	}
}

// TestLocalReaderDetectsChange reads a local file that is rewritten in
// place (same size, new mtime) between the reader's first and last Read:
// the last bytes are withheld and the error says the mtime moved. An
// untouched file reads clean, ranged or whole.
func TestLocalReaderDetectsChange(t *testing.T) {
	root := t.TempDir()
	lb, err := local.New(root)
	if err != nil {
		t.Fatal(err)
	}
	full := filepath.Join(root, "f")
	if err := os.WriteFile(full, []byte(strings.Repeat("x", 10000)), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	os.Chtimes(full, old, old)

	rc, err := lb.Open(t.Context(), "f", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(rc, make([]byte, 5000)); err != nil {
		t.Fatal(err)
	}
	later := old.Add(time.Hour)
	os.Chtimes(full, later, later)
	_, err = io.ReadFull(rc, make([]byte, 5000))
	rc.Close()
	if !errors.Is(err, backend.ErrChanged) || !strings.Contains(err.Error(), "mtime went from") {
		t.Fatalf("ReadFull of the last 5000 bytes after a change = %v, want ErrChanged (mtime)", err)
	}

	for _, r := range [][2]int64{{0, -1}, {100, 200}, {9990, 100}} {
		rc, err := lb.Open(t.Context(), "f", r[0], r[1])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(rc); err != nil {
			t.Errorf("read of an unchanged file (%d, %d): %v", r[0], r[1], err)
		}
		rc.Close()
	}
}
