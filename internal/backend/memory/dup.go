package memory

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"ferry/internal/backend"
)

// DupBackend is an in-memory backend whose directories may hold several
// objects with one name, as MEGA's folders may (see the package doc). It
// is safe for concurrent use.
type DupBackend struct{ view }

// NewDuplicates returns a backend allowing duplicate names, configured by
// o, with a fresh, empty, private store.
func NewDuplicates(o Options) *DupBackend {
	return &DupBackend{newView(o, true)}
}

// PutDuplicate is Put without the replacing: it stores a new file at p
// beside any objects already there, files or directories, as other MEGA
// clients can. It returns the new entry.
func (b *DupBackend) PutDuplicate(ctx context.Context, p string, r io.Reader, size int64, modTime time.Time) (backend.Entry, error) {
	return b.put(ctx, p, r, size, modTime, false)
}

// MkdirDuplicate creates a new directory at dir beside any objects
// already there (Mkdir would use an existing directory), creating missing
// parents as Mkdir does. It returns the new entry.
func (b *DupBackend) MkdirDuplicate(ctx context.Context, dir string) (backend.Entry, error) {
	var e backend.Entry
	err := b.mutate(ctx, "mkdir", dir, func(dir string) error {
		if dir == "" {
			return fmt.Errorf("the root cannot have a duplicate: %w", fs.ErrInvalid)
		}
		if err := b.checkParents(backend.Dir(dir)); err != nil {
			return err
		}
		parent, err := b.mkdirs(backend.Dir(dir))
		if err != nil {
			return err
		}
		d := b.st.newNode(true, nil, time.Now())
		attach(parent, lastElem(b.elems(dir)), d)
		e = b.entry(dir, d)
		return nil
	})
	return e, err
}

// byEntry returns the node id names if it is still at p, or
// fs.ErrNotExist. The caller holds st.mu.
func (b *DupBackend) byEntry(p, id string) (*node, error) {
	if id == "" || p == "" {
		return nil, fs.ErrNotExist
	}
	for _, n := range b.nodesAt(p) {
		if idOf(n) == id {
			return n, nil
		}
	}
	return nil, fs.ErrNotExist
}

// OpenEntry implements backend.DuplicateNamer: Open of the one file e.ID
// names, whatever else shares its name.
func (b *DupBackend) OpenEntry(ctx context.Context, e backend.Entry, offset, length int64) (io.ReadCloser, error) {
	p, err := b.clean("open", e.Path)
	if err != nil {
		return nil, err
	}
	return b.open(ctx, p, offset, length, func() (*node, error) { return b.byEntry(p, e.ID) })
}

// RemoveEntry implements backend.DuplicateNamer: it removes the one
// object e.ID names, a file or a directory with its contents.
func (b *DupBackend) RemoveEntry(ctx context.Context, e backend.Entry) error {
	return b.mutate(ctx, "remove", e.Path, func(p string) error {
		return detachPicked(b.byEntry(p, e.ID))
	})
}

// RenameEntry implements backend.DuplicateNamer: it renames the one
// object e.ID names within its directory. Other objects named newName
// are left alone.
func (b *DupBackend) RenameEntry(ctx context.Context, e backend.Entry, newName string) (backend.Entry, error) {
	if newName == "" || newName == "." || newName == ".." || strings.Contains(newName, "/") {
		return backend.Entry{}, b.perr("rename", e.Path, fmt.Errorf("bad new name %q: %w", newName, fs.ErrInvalid))
	}
	var renamed backend.Entry
	err := b.mutate(ctx, "rename", e.Path, func(p string) error {
		n, err := b.byEntry(p, e.ID)
		if err != nil {
			return err
		}
		parent := n.parent
		detach(n)
		attach(parent, newName, n)
		renamed = b.entry(backend.Join(backend.Dir(p), newName), n)
		return nil
	})
	return renamed, err
}
