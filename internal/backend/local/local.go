// Package local is the local-disk backend: a backend.Backend rooted at a
// directory of the machine's file system. It is the reference backend of
// the conformance suite (backendtest).
//
// # Names
//
// Paths map directly to files below the root. On Linux and other Unix
// systems a name may hold any byte except "/" and NUL, which covers every
// name the contract allows except those with NUL; no encoding is done.
// Names are not normalized (NFC and NFD forms are different files).
//
// # Writes
//
// Put writes to a temporary file named ".ferry-tmp-*" in the target
// directory, fsyncs it, sets its mtime and renames it over the target, so
// readers see the old file or the new one, never a mix, and a failed or
// cancelled Put leaves the old file alone. List hides names starting with
// ".ferry-tmp-", so a temporary file left by a crash stays out of
// listings (and out of syncs) until removed by hand.
//
// # What is listed
//
// List and Stat report regular files and directories. Symbolic links are
// followed; broken links and other special files (sockets, devices, FIFOs)
// are left out of listings.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"ferry/internal/backend"
)

// Compile-time checks of the optional interfaces local implements.
var (
	_ backend.Backend       = (*Backend)(nil)
	_ backend.Mover         = (*Backend)(nil)
	_ backend.Purger        = (*Backend)(nil)
	_ backend.Abouter       = (*Backend)(nil)
	_ backend.ModTimeSetter = (*Backend)(nil)
	_ backend.Precisioner   = (*Backend)(nil)
)

// TempPrefix starts the names of Put's temporary files, which List hides.
const TempPrefix = ".ferry-tmp-"

// Backend stores files below a local directory. It holds no state besides
// its root and is safe for concurrent use.
type Backend struct {
	name string // for String and errors
	root string // absolute, cleaned OS path
}

// New returns a backend rooted at dir, made absolute. The directory need
// not exist yet: Put and Mkdir create it.
func New(dir string) (*Backend, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, &backend.PathError{Op: "new", Backend: "local", Path: dir, Err: err}
	}
	return &Backend{name: "local:" + abs, root: abs}, nil
}

// String returns "local:" and the root directory (or the remote's name
// and root when built through Type).
func (b *Backend) String() string { return b.name }

// Precision is 1ns; the file system may keep less (ext4 and tmpfs keep
// nanoseconds, FAT two seconds).
func (b *Backend) Precision() time.Duration { return time.Nanosecond }

// Errors for objects of the wrong kind. Both match fs.ErrExist, as the
// contract asks when creating over an object of the other kind.
var (
	errFileInTheWay = fmt.Errorf("a file is in the way: %w: %w", backend.ErrNotDir, fs.ErrExist)
	errDirInTheWay  = fmt.Errorf("a directory is in the way: %w: %w", backend.ErrIsDir, fs.ErrExist)
)

// perr wraps err for op on p. It strips an *os.PathError (or
// *os.LinkError) directly around a system error, since the PathError
// names the path already, and keeps the errno so fs.ErrNotExist and
// friends match.
func (b *Backend) perr(op, p string, err error) error {
	switch e := err.(type) {
	case *fs.PathError:
		err = e.Err
	case *os.LinkError:
		err = e.Err
	}
	return &backend.PathError{Op: op, Backend: b.name, Path: p, Err: err}
}

// clean puts p into the contract's form and returns it with its OS path.
func (b *Backend) clean(op, p string) (string, string, error) {
	c, err := backend.Clean(p)
	if err != nil {
		return "", "", b.perr(op, p, fs.ErrInvalid)
	}
	if strings.IndexByte(c, 0) >= 0 {
		return "", "", b.perr(op, p, fmt.Errorf("NUL in name: %w", fs.ErrInvalid))
	}
	return c, b.full(c), nil
}

// full returns the OS path of contract path p.
func (b *Backend) full(p string) string {
	if p == "" {
		return b.root
	}
	return b.root + string(filepath.Separator) + filepath.FromSlash(p)
}

// notExist turns ENOTDIR (a file where a directory was expected while
// looking p up) into fs.ErrNotExist: a path below a file does not exist.
func notExist(err error) error {
	if errors.Is(err, syscall.ENOTDIR) {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("%w (%w)", fs.ErrNotExist, err)
	}
	return err
}

// entry describes p from its file info.
func (b *Backend) entry(p string, fi fs.FileInfo) backend.Entry {
	e := backend.Entry{Path: p, ModTime: fi.ModTime(), IsDir: fi.IsDir()}
	if !e.IsDir {
		e.Size = fi.Size()
	}
	return e
}

// List returns the files and directories directly inside dir, without
// Put's temporary files.
func (b *Backend) List(ctx context.Context, dir string) ([]backend.Entry, error) {
	dir, full, err := b.clean("list", dir)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, b.perr("list", dir, err)
	}
	des, err := os.ReadDir(full)
	if err != nil {
		return nil, b.perr("list", dir, notDirOrNotExist(full, err))
	}
	es := make([]backend.Entry, 0, len(des))
	for _, de := range des {
		if strings.HasPrefix(de.Name(), TempPrefix) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, b.perr("list", dir, err)
		}
		fi, err := os.Stat(filepath.Join(full, de.Name()))
		if err != nil || !(fi.Mode().IsRegular() || fi.IsDir()) {
			continue // vanished, broken link, or special file
		}
		es = append(es, b.entry(backend.Join(dir, de.Name()), fi))
	}
	return es, nil
}

// notDirOrNotExist classifies a failed ReadDir of full: ENOTDIR because
// full itself is a file is backend.ErrNotDir; ENOTDIR from a file higher
// up is fs.ErrNotExist.
func notDirOrNotExist(full string, err error) error {
	if !errors.Is(err, syscall.ENOTDIR) {
		return err
	}
	if fi, serr := os.Stat(full); serr == nil && !fi.IsDir() {
		return backend.ErrNotDir
	}
	return notExist(err)
}

// Stat describes p.
func (b *Backend) Stat(ctx context.Context, p string) (backend.Entry, error) {
	p, full, err := b.clean("stat", p)
	if err != nil {
		return backend.Entry{}, err
	}
	if err := ctx.Err(); err != nil {
		return backend.Entry{}, b.perr("stat", p, err)
	}
	fi, err := os.Stat(full)
	if err != nil {
		return backend.Entry{}, b.perr("stat", p, notExist(err))
	}
	return b.entry(p, fi), nil
}

// Open returns a reader of length bytes of p from offset (to the end when
// length < 0). The reader also implements io.ReaderAt and io.Seeker over
// that range. Reads do not watch ctx; Close the reader to stop.
func (b *Backend) Open(ctx context.Context, p string, offset, length int64) (io.ReadCloser, error) {
	p, full, err := b.clean("open", p)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, b.perr("open", p, err)
	}
	if offset < 0 {
		return nil, b.perr("open", p, fmt.Errorf("negative offset %d: %w", offset, fs.ErrInvalid))
	}
	// Refuse special files before opening: opening a FIFO blocks.
	if fi, err := os.Stat(full); err != nil {
		return nil, b.perr("open", p, notExist(err))
	} else if !fi.Mode().IsRegular() && !fi.IsDir() {
		return nil, b.perr("open", p, fmt.Errorf("not a regular file (%v): %w", fi.Mode().Type(), fs.ErrInvalid))
	}
	f, err := os.Open(full)
	if err != nil {
		return nil, b.perr("open", p, notExist(err))
	}
	fi, err := f.Stat()
	if err == nil && fi.IsDir() {
		err = backend.ErrIsDir
	}
	if err != nil {
		f.Close()
		return nil, b.perr("open", p, err)
	}
	size := fi.Size()
	offset = min(offset, size)
	end := size
	if length >= 0 {
		end = min(offset+length, size)
	}
	return &fileReader{SectionReader: io.NewSectionReader(f, offset, end-offset), f: f,
		b: b, p: p, size: size, mtime: fi.ModTime()}, nil
}

// fileReader reads a section of an open file. Before it delivers the
// section's last bytes it checks that the file still has the size and
// mtime it had when opened: a file written to while it is read (a log
// growing during an upload) fails with backend.ErrChanged rather than
// passing for a complete copy of either version.
type fileReader struct {
	*io.SectionReader
	f     *os.File
	b     *Backend
	p     string
	size  int64     // at Open
	mtime time.Time // at Open
	err   error     // sticky change error
}

// Read implements io.Reader.
func (r *fileReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.SectionReader.Read(p)
	if (n > 0 || err == io.EOF) && r.atEnd() {
		if cerr := r.changed(); cerr != nil {
			r.err = cerr
			return 0, cerr
		}
	}
	return n, err
}

// atEnd reports whether the section has been read to its end.
func (r *fileReader) atEnd() bool {
	pos, err := r.SectionReader.Seek(0, io.SeekCurrent)
	return err == nil && pos >= r.SectionReader.Size()
}

// changed reports, as an error, a change of the file since Open.
func (r *fileReader) changed() error {
	fi, err := r.f.Stat()
	if err != nil {
		return r.b.perr("read", r.p, err)
	}
	switch {
	case fi.Size() != r.size:
		return r.b.perr("read", r.p, fmt.Errorf("%w: size went from %d to %d bytes", backend.ErrChanged, r.size, fi.Size()))
	case !fi.ModTime().Equal(r.mtime):
		return r.b.perr("read", r.p, fmt.Errorf("%w: mtime went from %s to %s", backend.ErrChanged,
			r.mtime.Format(time.RFC3339Nano), fi.ModTime().Format(time.RFC3339Nano)))
	}
	return nil
}

// Close closes the file.
func (r *fileReader) Close() error { return r.f.Close() }

// mkdirAll creates the OS directory full and its parents; a file in the
// way is errFileInTheWay.
func mkdirAll(full string) error {
	err := os.MkdirAll(full, 0o777)
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EEXIST) {
		return errFileInTheWay
	}
	return err
}

// Put writes r to a temporary file beside p, fsyncs it, sets its mtime
// (a zero modTime leaves it at the time of writing) and renames it over
// p. It reads exactly size bytes; a reader that ends early is an error.
func (b *Backend) Put(ctx context.Context, p string, r io.Reader, size int64, modTime time.Time) (e backend.Entry, err error) {
	p, full, err := b.clean("put", p)
	if err != nil {
		return backend.Entry{}, err
	}
	if p == "" {
		return backend.Entry{}, b.perr("put", p, errDirInTheWay)
	}
	if err := ctx.Err(); err != nil {
		return backend.Entry{}, b.perr("put", p, err)
	}
	if size < 0 {
		return backend.Entry{}, b.perr("put", p, fmt.Errorf("negative size %d: %w", size, fs.ErrInvalid))
	}
	if fi, err := os.Stat(full); err == nil && fi.IsDir() {
		return backend.Entry{}, b.perr("put", p, errDirInTheWay)
	}
	dir := filepath.Dir(full)
	if err := mkdirAll(dir); err != nil {
		return backend.Entry{}, b.perr("put", p, err)
	}
	f, err := os.CreateTemp(dir, TempPrefix+"*")
	if err != nil {
		return backend.Entry{}, b.perr("put", p, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// CopyExact makes the source's final Read, where a verifying reader
	// reports a bad MAC or a changed file, before anything is committed.
	_, err = backend.CopyExact(f, backend.ContextReader(ctx, r), size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chtimes(tmp, modTime, modTime)
	}
	if err == nil {
		err = ctx.Err() // the last moment to back out
	}
	if err != nil {
		return backend.Entry{}, b.perr("put", p, err)
	}
	if err = os.Rename(tmp, full); err != nil {
		if errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
			err = errDirInTheWay
		}
		return backend.Entry{}, b.perr("put", p, err)
	}
	fi, err := os.Stat(full)
	if err != nil {
		return backend.Entry{}, b.perr("put", p, err)
	}
	return b.entry(p, fi), nil
}

// Mkdir creates dir and its missing parents.
func (b *Backend) Mkdir(ctx context.Context, dir string) error {
	dir, full, err := b.clean("mkdir", dir)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return b.perr("mkdir", dir, err)
	}
	if err := mkdirAll(full); err != nil {
		return b.perr("mkdir", dir, err)
	}
	return nil
}

// Rmdir removes the empty directory dir.
func (b *Backend) Rmdir(ctx context.Context, dir string) error {
	dir, full, err := b.clean("rmdir", dir)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return b.perr("rmdir", dir, err)
	}
	fi, err := os.Lstat(full)
	if err != nil {
		return b.perr("rmdir", dir, notExist(err))
	}
	if !fi.IsDir() {
		return b.perr("rmdir", dir, backend.ErrNotDir)
	}
	if err := syscall.Rmdir(full); err != nil {
		if errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
			err = fmt.Errorf("%w (%w)", backend.ErrNotEmpty, err)
		}
		return b.perr("rmdir", dir, err)
	}
	return nil
}

// Remove deletes file p.
func (b *Backend) Remove(ctx context.Context, p string) error {
	p, full, err := b.clean("remove", p)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return b.perr("remove", p, err)
	}
	fi, err := os.Lstat(full)
	if err != nil {
		return b.perr("remove", p, notExist(err))
	}
	if fi.IsDir() {
		return b.perr("remove", p, backend.ErrIsDir)
	}
	if err := syscall.Unlink(full); err != nil {
		return b.perr("remove", p, notExist(err))
	}
	return nil
}

// Move renames src to dst with os.Rename, creating dst's parents. An
// existing file at dst is replaced; an existing directory at dst, or a
// directory moved onto a file, is fs.ErrExist.
func (b *Backend) Move(ctx context.Context, src, dst string) (backend.Entry, error) {
	src, fsrc, err := b.clean("move", src)
	if err != nil {
		return backend.Entry{}, err
	}
	dst, fdst, err := b.clean("move", dst)
	if err != nil {
		return backend.Entry{}, err
	}
	if err := ctx.Err(); err != nil {
		return backend.Entry{}, b.perr("move", src, err)
	}
	sfi, err := os.Lstat(fsrc)
	if err != nil {
		return backend.Entry{}, b.perr("move", src, notExist(err))
	}
	if src == "" || dst == "" {
		return backend.Entry{}, b.perr("move", src, fmt.Errorf("cannot move the root or onto it: %w", fs.ErrInvalid))
	}
	if dfi, err := os.Lstat(fdst); err == nil && src != dst && (dfi.IsDir() || sfi.IsDir()) {
		return backend.Entry{}, b.perr("move", dst, fs.ErrExist)
	}
	if err := mkdirAll(filepath.Dir(fdst)); err != nil {
		return backend.Entry{}, b.perr("move", dst, err)
	}
	if err := os.Rename(fsrc, fdst); err != nil {
		return backend.Entry{}, b.perr("move", src, err)
	}
	fi, err := os.Stat(fdst)
	if err != nil {
		return backend.Entry{}, b.perr("move", dst, err)
	}
	return b.entry(dst, fi), nil
}

// Purge removes dir and everything below it.
func (b *Backend) Purge(ctx context.Context, dir string) error {
	dir, full, err := b.clean("purge", dir)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return b.perr("purge", dir, err)
	}
	fi, err := os.Lstat(full)
	if err != nil {
		return b.perr("purge", dir, notExist(err))
	}
	if !fi.IsDir() {
		return b.perr("purge", dir, backend.ErrNotDir)
	}
	if err := os.RemoveAll(full); err != nil {
		return b.perr("purge", dir, err)
	}
	return nil
}

// SetModTime sets p's mtime (and atime).
func (b *Backend) SetModTime(ctx context.Context, p string, t time.Time) error {
	p, full, err := b.clean("setmodtime", p)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return b.perr("setmodtime", p, err)
	}
	if err := os.Chtimes(full, t, t); err != nil {
		return b.perr("setmodtime", p, notExist(err))
	}
	return nil
}
