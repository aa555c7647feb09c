package mediafire

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"ferry/internal/backend"
	mfclient "ferry/mediafire"
	"ferry/mediafire/mfapi"
)

// mtimePrefix starts a description that holds a file's mtime.
const mtimePrefix = "ferry-mtime:"

// mtimeDescription is the description that records t.
func mtimeDescription(t time.Time) string { return mtimePrefix + t.UTC().Format(time.RFC3339Nano) }

// fileTime is a file's mtime: a server's mtime field, else the one in
// its description, else its creation time.
func fileTime(fi *mfapi.FileInfo) time.Time {
	if !fi.Mtime.IsZero() {
		return fi.Mtime.Time
	}
	if s, ok := strings.CutPrefix(fi.Description, mtimePrefix); ok {
		if t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s)); err == nil {
			return t
		}
	}
	return fi.Created.Time
}

// full is the path of p from the account's root.
func (b *Backend) full(p string) string { return backend.Join(b.root, p) }

// rel is the contract path of full path f inside the backend.
func (b *Backend) rel(f string) string {
	if b.root == "" {
		return f
	}
	if f == b.root {
		return ""
	}
	return strings.TrimPrefix(f, b.root+"/")
}

// pathErr wraps err for operation op on contract path p, mapping the
// service's not-found and exists codes to fs.ErrNotExist and fs.ErrExist.
func (b *Backend) pathErr(op, p string, err error) error {
	if err == nil {
		return nil
	}
	var pe *backend.PathError
	if errors.As(err, &pe) {
		return err
	}
	switch code := mfapi.CodeOf(err); {
	case code.NotFound() && !errors.Is(err, fs.ErrNotExist):
		err = fmt.Errorf("%w: %w", fs.ErrNotExist, err)
	case code.Exists() && !errors.Is(err, fs.ErrExist):
		err = fmt.Errorf("%w: %w", fs.ErrExist, err)
	}
	return &backend.PathError{Op: op, Backend: b.String(), Path: p, Err: err}
}

// cachedDir returns the cached key of full folder path f.
func (b *Backend) cachedDir(f string) (string, bool) {
	b.dirMu.Lock()
	defer b.dirMu.Unlock()
	k, ok := b.dirs[f]
	return k, ok
}

// forget drops full path f and everything below it from the folder cache.
func (b *Backend) forget(f string) {
	b.dirMu.Lock()
	defer b.dirMu.Unlock()
	for p := range b.dirs {
		if p != "" && (f == "" || p == f || strings.HasPrefix(p, f+"/")) {
			delete(b.dirs, p)
		}
	}
	for p := range b.listed {
		if f == "" || p == f || strings.HasPrefix(p, f+"/") || p == backend.Dir(f) {
			delete(b.listed, p)
		}
	}
}

// isListed reports whether all sub-folders of full path f are cached.
func (b *Backend) isListed(f string) bool {
	b.dirMu.Lock()
	defer b.dirMu.Unlock()
	return b.listed[f]
}

// remember caches the key of full folder path f.
func (b *Backend) remember(f, key string) {
	b.dirMu.Lock()
	b.dirs[f] = key
	b.dirMu.Unlock()
}

// dirKey returns the key of full folder path f, or an error wrapping
// fs.ErrNotExist. A cached key the server no longer knows is looked up
// again once.
func (b *Backend) dirKey(ctx context.Context, f string) (string, error) {
	if k, ok := b.cachedDir(f); ok {
		return k, nil
	}
	parent := backend.Dir(f)
	if f == "" {
		return mfclient.RootKey, nil
	}
	pk, err := b.dirKey(ctx, parent)
	if err != nil {
		return "", err
	}
	if b.isListed(parent) {
		return "", fs.ErrNotExist // the parent's folders are all cached
	}
	folders, err := b.c.Folders(ctx, pk)
	if mfapi.CodeOf(err).NotFound() {
		b.forget(parent)
		if pk, err = b.dirKey(ctx, parent); err != nil {
			return "", err
		}
		folders, err = b.c.Folders(ctx, pk)
	}
	if err != nil {
		return "", err
	}
	b.rememberFolders(parent, folders)
	if k, ok := b.cachedDir(f); ok {
		return k, nil
	}
	return "", fs.ErrNotExist
}

// rememberFolders caches the sub-folders of full path parent, the first
// of each name (by creation, then key) when several share one.
func (b *Backend) rememberFolders(parent string, folders []mfapi.FolderInfo) {
	sortFolders(folders)
	b.dirMu.Lock()
	defer b.dirMu.Unlock()
	b.listed[parent] = true
	seen := map[string]bool{}
	for _, fo := range folders {
		name := decodeName(fo.Name)
		if seen[name] {
			continue
		}
		seen[name] = true
		b.dirs[backend.Join(parent, name)] = fo.FolderKey
	}
}

func sortFolders(fs []mfapi.FolderInfo) {
	sort.SliceStable(fs, func(i, j int) bool {
		if !fs[i].Created.Equal(fs[j].Created.Time) {
			return fs[i].Created.Before(fs[j].Created.Time)
		}
		return fs[i].FolderKey < fs[j].FolderKey
	})
}

// filesNamed returns the files of folder key whose contract name is name,
// newest first.
func (b *Backend) filesNamed(ctx context.Context, key, name string) ([]mfapi.FileInfo, error) {
	files, err := b.c.Files(ctx, key)
	if err != nil {
		return nil, err
	}
	var out []mfapi.FileInfo
	for _, fi := range files {
		if decodeName(fi.Filename) == name {
			out = append(out, fi)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created.Time) {
			return out[i].Created.After(out[j].Created.Time)
		}
		return out[i].Revision > out[j].Revision
	})
	return out, nil
}

// fileEntry is the entry of file fi in contract directory dir.
func (b *Backend) fileEntry(dir string, fi *mfapi.FileInfo) backend.Entry {
	return backend.Entry{Path: backend.Join(dir, decodeName(fi.Filename)), Size: int64(fi.Size),
		ModTime: fileTime(fi), ID: fi.QuickKey}
}

// dirEntry is the entry of folder fo in contract directory dir.
func dirEntry(dir string, fo *mfapi.FolderInfo) backend.Entry {
	return backend.Entry{Path: backend.Join(dir, decodeName(fo.Name)), IsDir: true,
		ModTime: fo.Created.Time, ID: fo.FolderKey}
}

// object is what a contract path names.
type object struct {
	parentKey string           // the key of the folder holding it
	dirKey    string           // set for a folder
	files     []mfapi.FileInfo // set for files, newest first
}

// resolve finds what contract path p names. A path below a file, or of
// nothing, is fs.ErrNotExist.
func (b *Backend) resolve(ctx context.Context, p string) (*object, error) {
	f := b.full(p)
	if p == "" {
		k, err := b.dirKey(ctx, f)
		if err != nil {
			return nil, err
		}
		return &object{dirKey: k}, nil
	}
	pk, err := b.dirKey(ctx, backend.Dir(f))
	if err != nil {
		return nil, err
	}
	if k, err := b.dirKey(ctx, f); err == nil {
		return &object{parentKey: pk, dirKey: k}, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	files, err := b.filesNamed(ctx, pk, path.Base(p))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fs.ErrNotExist
	}
	return &object{parentKey: pk, files: files}, nil
}

// mkdirAll returns the key of full folder path f, creating it and its
// missing parents; a file in the way is fs.ErrExist. Creations are
// serialized, so concurrent callers create a folder once.
func (b *Backend) mkdirAll(ctx context.Context, f string) (string, error) {
	if k, ok := b.cachedDir(f); ok {
		return k, nil
	}
	b.mkMu.Lock()
	defer b.mkMu.Unlock()
	return b.mkdirAllLocked(ctx, f)
}

func (b *Backend) mkdirAllLocked(ctx context.Context, f string) (string, error) {
	k, err := b.dirKey(ctx, f)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	pk, err := b.mkdirAllLocked(ctx, backend.Dir(f))
	if err != nil {
		return "", err
	}
	name := path.Base(f)
	enc, err := encodeName(name)
	if err != nil {
		return "", err
	}
	files, err := b.filesNamed(ctx, pk, name)
	if err != nil {
		return "", err
	}
	if len(files) > 0 {
		return "", fmt.Errorf("a file is in the way at %q: %w", b.rel(f), fs.ErrExist)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	k, err = b.c.CreateFolder(ctx, pk, enc)
	if err != nil {
		return "", err
	}
	b.remember(f, k)
	return k, nil
}
