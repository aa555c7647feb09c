package mediafire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"ferry/internal/backend"
	mfclient "ferry/mediafire"
	"ferry/mediafire/mfapi"
)

// Compile-time check of the duplicate-name capability's methods.
var _ backend.DuplicateNamer = (*Backend)(nil)

// stale reports whether err says a cached folder key is gone (another
// client removed the folder), and if so drops the folder cache, so the
// operation can be tried once more from the names.
func (b *Backend) stale(err error) bool {
	if err == nil {
		return false
	}
	var ue *mfapi.UploadError
	if mfapi.CodeOf(err) != mfapi.ErrFolderKey &&
		!(errors.As(err, &ue) && (ue.Result == mfapi.UploadFolderMissing || ue.Result == mfapi.UploadFolderTrashed || ue.FileError == 14)) {
		return false
	}
	b.forget("")
	return true
}

// finishTimeout bounds the steps that run after an upload even when the
// caller's ctx was cancelled (recording the mtime, removing a replaced
// file), so a committed file is not left half-described.
const finishTimeout = 2 * time.Minute

// skipCheckLimit is the largest Put sent without upload/check first: for
// files this small a possible instant upload saves less than the call
// costs, and a sync skips unchanged files before it puts anything.
const skipCheckLimit = 64 << 10

// memSpool is the largest Put kept in memory rather than in a temporary
// file while its hash is computed.
const memSpool = 1 << 20

// List returns the entries of dir. A missing backend root lists as empty.
func (b *Backend) List(ctx context.Context, dir string) ([]backend.Entry, error) {
	v, err := b.list1(ctx, dir)
	if b.stale(err) {
		v, err = b.list1(ctx, dir)
	}
	return v, err
}

// list1 is List without the second try after a stale folder key.
func (b *Backend) list1(ctx context.Context, dir string) ([]backend.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, b.pathErr("list", dir, err)
	}
	f := b.full(dir)
	key, err := b.dirKey(ctx, f)
	if errors.Is(err, fs.ErrNotExist) {
		if dir == "" {
			return nil, nil
		}
		if o, rerr := b.resolve(ctx, dir); rerr == nil && o.dirKey == "" {
			err = backend.ErrNotDir
		}
	}
	if err != nil {
		return nil, b.pathErr("list", dir, err)
	}
	folders, files, err := b.c.Content(ctx, key)
	if mfapi.CodeOf(err).NotFound() {
		b.forget(f)
		return nil, b.pathErr("list", dir, fs.ErrNotExist)
	}
	if err != nil {
		return nil, b.pathErr("list", dir, err)
	}
	b.rememberFolders(f, folders)
	out := make([]backend.Entry, 0, len(folders)+len(files))
	for i := range folders {
		out = append(out, dirEntry(dir, &folders[i]))
	}
	for i := range files {
		out = append(out, b.fileEntry(dir, &files[i]))
	}
	return out, nil
}

// Stat describes p; a path that names several files describes the newest.
func (b *Backend) Stat(ctx context.Context, p string) (backend.Entry, error) {
	v, err := b.stat1(ctx, p)
	if b.stale(err) {
		v, err = b.stat1(ctx, p)
	}
	return v, err
}

// stat1 is Stat without the second try after a stale folder key.
func (b *Backend) stat1(ctx context.Context, p string) (backend.Entry, error) {
	if err := ctx.Err(); err != nil {
		return backend.Entry{}, b.pathErr("stat", p, err)
	}
	if p == "" {
		return backend.Entry{IsDir: true}, nil
	}
	o, err := b.resolve(ctx, p)
	if err != nil {
		return backend.Entry{}, b.pathErr("stat", p, err)
	}
	if o.dirKey != "" {
		return backend.Entry{Path: p, IsDir: true, ID: o.dirKey}, nil
	}
	return b.fileEntry(backend.Dir(p), &o.files[0]), nil
}

// Open reads a range of file p (the newest of that name). Whole reads are
// verified against the file's SHA-256.
func (b *Backend) Open(ctx context.Context, p string, offset, length int64) (io.ReadCloser, error) {
	v, err := b.open1(ctx, p, offset, length)
	if b.stale(err) {
		v, err = b.open1(ctx, p, offset, length)
	}
	return v, err
}

// open1 is Open without the second try after a stale folder key.
func (b *Backend) open1(ctx context.Context, p string, offset, length int64) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, b.pathErr("open", p, err)
	}
	if p == "" {
		return nil, b.pathErr("open", p, backend.ErrIsDir)
	}
	o, err := b.resolve(ctx, p)
	if err != nil {
		return nil, b.pathErr("open", p, err)
	}
	if o.dirKey != "" {
		return nil, b.pathErr("open", p, backend.ErrIsDir)
	}
	return b.open(ctx, "open", p, &o.files[0], offset, length)
}

func (b *Backend) open(ctx context.Context, op, p string, fi *mfapi.FileInfo, offset, length int64) (io.ReadCloser, error) {
	rc, err := b.c.Open(ctx, fi, offset, length)
	if err != nil {
		return nil, b.pathErr(op, p, err)
	}
	return rc, nil
}

// OpenEntry opens the one file e.ID names.
func (b *Backend) OpenEntry(ctx context.Context, e backend.Entry, offset, length int64) (io.ReadCloser, error) {
	if e.ID == "" || e.IsDir {
		return b.Open(ctx, e.Path, offset, length)
	}
	fi, err := b.c.FileInfo(ctx, e.ID)
	if err != nil {
		return nil, b.pathErr("open", e.Path, err)
	}
	return b.open(ctx, "open", e.Path, fi, offset, length)
}

// Put stores r at p. The source is read to its end and hashed first
// (and copied aside unless it can be read again; see the package doc), so
// a short, long or failing source leaves nothing behind.
func (b *Backend) Put(ctx context.Context, p string, r io.Reader, size int64, modTime time.Time) (backend.Entry, error) {
	if err := ctx.Err(); err != nil {
		return backend.Entry{}, b.pathErr("put", p, err)
	}
	if p == "" {
		return backend.Entry{}, b.pathErr("put", p, backend.ErrIsDir)
	}
	enc, err := encodeName(path.Base(p))
	if err != nil {
		return backend.Entry{}, b.pathErr("put", p, err)
	}
	sp, err := spool(ctx, r, size)
	if err != nil {
		return backend.Entry{}, b.pathErr("put", p, err)
	}
	defer sp.cleanup()
	unlock := b.names.Lock(b.full(p))
	defer unlock()
	e, err := b.put1(ctx, p, enc, sp, size, modTime)
	if b.stale(err) {
		e, err = b.put1(ctx, p, enc, sp, size, modTime)
	}
	return e, err
}

// put1 uploads the spooled src as p (MediaFire name enc), holding p's
// lock.
func (b *Backend) put1(ctx context.Context, p, enc string, sp *spooled, size int64, modTime time.Time) (backend.Entry, error) {
	f := b.full(p)
	pk, err := b.mkdirAll(ctx, backend.Dir(f))
	if err != nil {
		return backend.Entry{}, b.pathErr("put", p, err)
	}
	if _, err := b.dirKey(ctx, f); err == nil {
		return backend.Entry{}, b.pathErr("put", p, fmt.Errorf("a directory is in the way: %w", fs.ErrExist))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return backend.Entry{}, b.pathErr("put", p, err)
	}
	if err := ctx.Err(); err != nil {
		return backend.Entry{}, b.pathErr("put", p, err)
	}
	fi, err := b.c.Upload(ctx, pk, enc, sp.src, size, mfclient.UploadOptions{Hash: sp.sum, ModTime: modTime,
		SkipCheck: size <= skipCheckLimit, Units: sp.units})
	if err != nil {
		return backend.Entry{}, b.pathErr("put", p, err)
	}
	if !modTime.IsZero() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
		defer cancel()
		d := mtimeDescription(modTime)
		if err := b.c.UpdateFile(fctx, fi.QuickKey, mfclient.FileUpdate{Description: &d}); err != nil {
			return backend.Entry{}, b.pathErr("put", p, fmt.Errorf("record the mtime: %w", err))
		}
		fi.Description = d
	}
	e := b.fileEntry(backend.Dir(p), fi)
	e.Path = p
	return e, nil
}

// Mkdir creates dir and its parents.
func (b *Backend) Mkdir(ctx context.Context, dir string) error {
	err := b.mkdir1(ctx, dir)
	if b.stale(err) {
		err = b.mkdir1(ctx, dir)
	}
	return err
}

// mkdir1 is Mkdir without the second try after a stale folder key.
func (b *Backend) mkdir1(ctx context.Context, dir string) error {
	if err := ctx.Err(); err != nil {
		return b.pathErr("mkdir", dir, err)
	}
	if dir == "" {
		if b.root == "" {
			return nil
		}
	}
	_, err := b.mkdirAll(ctx, b.full(dir))
	return b.pathErr("mkdir", dir, err)
}

// Rmdir removes the empty directory dir.
func (b *Backend) Rmdir(ctx context.Context, dir string) error {
	err := b.rmdir1(ctx, dir)
	if b.stale(err) {
		err = b.rmdir1(ctx, dir)
	}
	return err
}

// rmdir1 is Rmdir without the second try after a stale folder key.
func (b *Backend) rmdir1(ctx context.Context, dir string) error {
	if err := ctx.Err(); err != nil {
		return b.pathErr("rmdir", dir, err)
	}
	f := b.full(dir)
	if f == "" {
		return b.pathErr("rmdir", dir, fmt.Errorf("the account's root cannot be removed: %w", fs.ErrPermission))
	}
	o, err := b.resolve(ctx, dir)
	if err != nil {
		return b.pathErr("rmdir", dir, err)
	}
	if o.dirKey == "" {
		return b.pathErr("rmdir", dir, backend.ErrNotDir)
	}
	folders, files, err := b.c.Content(ctx, o.dirKey)
	if err != nil {
		return b.pathErr("rmdir", dir, err)
	}
	if len(folders)+len(files) > 0 {
		return b.pathErr("rmdir", dir, backend.ErrNotEmpty)
	}
	b.forget(f)
	return b.pathErr("rmdir", dir, b.c.DeleteFolder(ctx, o.dirKey, b.cfg.hardDelete))
}

// Remove deletes file p (the newest of that name).
func (b *Backend) Remove(ctx context.Context, p string) error {
	err := b.remove1(ctx, p)
	if b.stale(err) {
		err = b.remove1(ctx, p)
	}
	return err
}

// remove1 is Remove without the second try after a stale folder key.
func (b *Backend) remove1(ctx context.Context, p string) error {
	if err := ctx.Err(); err != nil {
		return b.pathErr("remove", p, err)
	}
	if p == "" {
		return b.pathErr("remove", p, backend.ErrIsDir)
	}
	unlock := b.names.Lock(b.full(p))
	defer unlock()
	o, err := b.resolve(ctx, p)
	if err != nil {
		return b.pathErr("remove", p, err)
	}
	if o.dirKey != "" {
		return b.pathErr("remove", p, backend.ErrIsDir)
	}
	return b.pathErr("remove", p, b.c.DeleteFile(ctx, o.files[0].QuickKey, b.cfg.hardDelete))
}

// RemoveEntry deletes the one file e.ID names.
func (b *Backend) RemoveEntry(ctx context.Context, e backend.Entry) error {
	if e.ID == "" || e.IsDir {
		return b.Remove(ctx, e.Path)
	}
	if err := ctx.Err(); err != nil {
		return b.pathErr("remove", e.Path, err)
	}
	// Look first: a delete repeated after a lost reply counts "no such
	// file" as done, so it cannot tell a file that was already gone.
	if _, err := b.c.FileInfo(ctx, e.ID); err != nil {
		return b.pathErr("remove", e.Path, err)
	}
	return b.pathErr("remove", e.Path, b.c.DeleteFile(ctx, e.ID, b.cfg.hardDelete))
}

// RenameEntry renames the one file e.ID names within its directory.
func (b *Backend) RenameEntry(ctx context.Context, e backend.Entry, newName string) (backend.Entry, error) {
	if e.ID == "" || e.IsDir {
		return b.Move(ctx, e.Path, backend.Join(backend.Dir(e.Path), newName))
	}
	if err := ctx.Err(); err != nil {
		return backend.Entry{}, b.pathErr("rename", e.Path, err)
	}
	enc, err := encodeName(newName)
	if err != nil {
		return backend.Entry{}, b.pathErr("rename", e.Path, err)
	}
	if err := b.c.UpdateFile(ctx, e.ID, mfclient.FileUpdate{Name: enc}); err != nil {
		return backend.Entry{}, b.pathErr("rename", e.Path, err)
	}
	fi, err := b.c.FileInfo(ctx, e.ID)
	if err != nil {
		return backend.Entry{}, b.pathErr("rename", e.Path, err)
	}
	return b.fileEntry(backend.Dir(e.Path), fi), nil
}

// SetModTime records t as file p's mtime.
func (b *Backend) SetModTime(ctx context.Context, p string, t time.Time) error {
	err := b.setModTime1(ctx, p, t)
	if b.stale(err) {
		err = b.setModTime1(ctx, p, t)
	}
	return err
}

// setModTime1 is SetModTime without the second try after a stale folder key.
func (b *Backend) setModTime1(ctx context.Context, p string, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return b.pathErr("setmodtime", p, err)
	}
	o, err := b.resolve(ctx, p)
	if err != nil {
		return b.pathErr("setmodtime", p, err)
	}
	if o.dirKey != "" {
		return b.pathErr("setmodtime", p, backend.ErrIsDir)
	}
	d := mtimeDescription(t)
	return b.pathErr("setmodtime", p, b.c.UpdateFile(ctx, o.files[0].QuickKey, mfclient.FileUpdate{Description: &d}))
}

// Purge removes dir and everything in it.
func (b *Backend) Purge(ctx context.Context, dir string) error {
	err := b.purge1(ctx, dir)
	if b.stale(err) {
		err = b.purge1(ctx, dir)
	}
	return err
}

// purge1 is Purge without the second try after a stale folder key.
func (b *Backend) purge1(ctx context.Context, dir string) error {
	if err := ctx.Err(); err != nil {
		return b.pathErr("purge", dir, err)
	}
	f := b.full(dir)
	o, err := b.resolve(ctx, dir)
	if err != nil {
		return b.pathErr("purge", dir, err)
	}
	if o.dirKey == "" {
		return b.pathErr("purge", dir, backend.ErrNotDir)
	}
	if f == "" {
		// The account's root stays; its contents go.
		folders, files, err := b.c.Content(ctx, o.dirKey)
		if err != nil {
			return b.pathErr("purge", dir, err)
		}
		for _, fo := range folders {
			if err := b.c.DeleteFolder(ctx, fo.FolderKey, b.cfg.hardDelete); err != nil {
				return b.pathErr("purge", dir, err)
			}
		}
		for _, fi := range files {
			if err := b.c.DeleteFile(ctx, fi.QuickKey, b.cfg.hardDelete); err != nil {
				return b.pathErr("purge", dir, err)
			}
		}
		b.forget("")
		return nil
	}
	b.forget(f)
	return b.pathErr("purge", dir, b.c.DeleteFolder(ctx, o.dirKey, b.cfg.hardDelete))
}

// About reports the account's storage.
func (b *Backend) About(ctx context.Context) (backend.Usage, error) {
	ui, err := b.c.UserInfo(ctx)
	if err != nil {
		return backend.Usage{}, b.pathErr("about", "", err)
	}
	u := backend.Usage{Total: -1, Used: int64(ui.UsedStorageSize), Free: -1, Trashed: -1}
	if ui.StorageLimit > 0 {
		u.Total = int64(ui.StorageLimit)
		u.Free = max(0, u.Total-u.Used)
	}
	return u, nil
}

// Move moves file or directory src to dst. An existing file at dst is
// replaced; a directory at dst is fs.ErrExist. A directory moves within
// its parent by a rename, and elsewhere by creating dst and moving its
// contents into it (the API has no folder move that ferry relies on).
func (b *Backend) Move(ctx context.Context, src, dst string) (backend.Entry, error) {
	v, err := b.move1(ctx, src, dst)
	if b.stale(err) {
		v, err = b.move1(ctx, src, dst)
	}
	return v, err
}

// move1 is Move without the second try after a stale folder key.
func (b *Backend) move1(ctx context.Context, src, dst string) (backend.Entry, error) {
	if err := ctx.Err(); err != nil {
		return backend.Entry{}, b.pathErr("move", src, err)
	}
	if src == "" || dst == "" {
		return backend.Entry{}, b.pathErr("move", src, fmt.Errorf("cannot move the root: %w", fs.ErrInvalid))
	}
	if dst == src {
		return b.Stat(ctx, src)
	}
	if strings.HasPrefix(dst, src+"/") {
		return backend.Entry{}, b.pathErr("move", src, fmt.Errorf("cannot move %q into itself: %w", src, fs.ErrInvalid))
	}
	name, err := encodeName(path.Base(dst))
	if err != nil {
		return backend.Entry{}, b.pathErr("move", dst, err)
	}
	o, err := b.resolve(ctx, src)
	if err != nil {
		return backend.Entry{}, b.pathErr("move", src, err)
	}
	fdst := b.full(dst)
	unlock := b.names.Lock(fdst)
	defer unlock()
	dpk, err := b.mkdirAll(ctx, backend.Dir(fdst))
	if err != nil {
		return backend.Entry{}, b.pathErr("move", dst, err)
	}
	if _, err := b.dirKey(ctx, fdst); err == nil {
		return backend.Entry{}, b.pathErr("move", dst, fmt.Errorf("a directory is in the way: %w", fs.ErrExist))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return backend.Entry{}, b.pathErr("move", dst, err)
	}
	replaced, err := b.filesNamed(ctx, dpk, path.Base(dst))
	if err != nil {
		return backend.Entry{}, b.pathErr("move", dst, err)
	}
	if o.dirKey != "" {
		if len(replaced) > 0 {
			return backend.Entry{}, b.pathErr("move", dst, fmt.Errorf("a file is in the way: %w", fs.ErrExist))
		}
		if err := b.moveDir(ctx, o, b.full(src), fdst, dpk, name); err != nil {
			return backend.Entry{}, b.pathErr("move", src, err)
		}
		return backend.Entry{Path: dst, IsDir: true}, nil
	}
	fi := o.files[0]
	if o.parentKey != dpk {
		if err := b.c.MoveFile(ctx, fi.QuickKey, dpk); err != nil {
			return backend.Entry{}, b.pathErr("move", src, err)
		}
	}
	if fi.Filename != name {
		if err := b.c.UpdateFile(ctx, fi.QuickKey, mfclient.FileUpdate{Name: name}); err != nil {
			return backend.Entry{}, b.pathErr("move", src, err)
		}
		fi.Filename = name
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	for _, r := range replaced {
		if r.QuickKey == fi.QuickKey {
			continue
		}
		if err := b.c.DeleteFile(fctx, r.QuickKey, b.cfg.hardDelete); err != nil && !mfapi.CodeOf(err).NotFound() {
			return backend.Entry{}, b.pathErr("move", dst, fmt.Errorf("remove the replaced file: %w", err))
		}
	}
	e := b.fileEntry(backend.Dir(dst), &fi)
	e.Path = dst
	return e, nil
}

// moveDir moves folder o (full path fsrc) to full path fdst, named name
// in folder dpk.
func (b *Backend) moveDir(ctx context.Context, o *object, fsrc, fdst, dpk, name string) error {
	b.forget(fsrc)
	if o.parentKey == dpk {
		if err := b.c.UpdateFolder(ctx, o.dirKey, mfclient.FolderUpdate{Name: name}); err != nil {
			return err
		}
		b.remember(fdst, o.dirKey)
		return nil
	}
	if err := b.moveTree(ctx, o.dirKey, dpk, name); err != nil {
		return err
	}
	b.forget(fdst)
	return nil
}

// moveTree recreates folder key as name inside folder parent, moving its
// files and, recursively, its folders, then deletes the emptied folder.
func (b *Backend) moveTree(ctx context.Context, key, parent, name string) error {
	nk, err := b.c.CreateFolder(ctx, parent, name)
	if err != nil {
		return err
	}
	folders, files, err := b.c.Content(ctx, key)
	if err != nil {
		return err
	}
	for _, fi := range files {
		if err := b.c.MoveFile(ctx, fi.QuickKey, nk); err != nil {
			return err
		}
	}
	for _, fo := range folders {
		if err := b.moveTree(ctx, fo.FolderKey, nk, fo.Name); err != nil {
			return err
		}
	}
	return b.c.DeleteFolder(ctx, key, true)
}
