package vfstest

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"ferry/internal/backend"
	"ferry/internal/vfs"
)

// FS is what the suite needs of a file system: the os package on a
// mountpoint (Dir) or a VFS in process (InProcess). Names are
// slash-separated and relative to the root.
type FS interface {
	ReadFile(name string) ([]byte, error)
	WriteFile(name string, data []byte) error // create or truncate, write, close
	OpenFile(name string, flag int) (File, error)
	Mkdir(name string) error
	Remove(name string) error // a file or an empty directory, as os.Remove
	Rename(from, to string) error
	ReadDir(name string) ([]string, error) // sorted names
	Stat(name string) (Info, error)
	Chtimes(name string, mtime time.Time) error
	Truncate(name string, size int64) error
}

// File is an open file.
type File interface {
	io.ReaderAt
	io.WriterAt
	Truncate(size int64) error
	Sync() error
	Close() error
}

// Info describes a file.
type Info struct {
	Size    int64
	ModTime time.Time
	IsDir   bool
	Ino     uint64
}

// Dir is the file system at a directory (a mountpoint), through the os
// package.
func Dir(dir string) FS { return osFS(dir) }

type osFS string

func (d osFS) p(name string) string { return filepath.Join(string(d), filepath.FromSlash(name)) }

func (d osFS) ReadFile(name string) ([]byte, error) { return os.ReadFile(d.p(name)) }
func (d osFS) WriteFile(name string, data []byte) error {
	return os.WriteFile(d.p(name), data, 0o644)
}
func (d osFS) OpenFile(name string, flag int) (File, error) {
	return os.OpenFile(d.p(name), flag, 0o644)
}
func (d osFS) Mkdir(name string) error          { return os.Mkdir(d.p(name), 0o755) }
func (d osFS) Remove(name string) error         { return os.Remove(d.p(name)) }
func (d osFS) Rename(from, to string) error     { return os.Rename(d.p(from), d.p(to)) }
func (d osFS) Truncate(n string, s int64) error { return os.Truncate(d.p(n), s) }
func (d osFS) Chtimes(name string, t time.Time) error {
	return os.Chtimes(d.p(name), t, t)
}
func (d osFS) ReadDir(name string) ([]string, error) {
	des, err := os.ReadDir(d.p(name))
	var out []string
	for _, de := range des {
		out = append(out, de.Name())
	}
	return out, err
}
func (d osFS) Stat(name string) (Info, error) {
	fi, err := os.Stat(d.p(name))
	if err != nil {
		return Info{}, err
	}
	i := Info{Size: fi.Size(), ModTime: fi.ModTime(), IsDir: fi.IsDir()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		i.Ino = st.Ino
	}
	return i, nil
}

// InProcess is the file system of v, called directly.
func InProcess(v *vfs.VFS) FS { return vfsFS{v} }

type vfsFS struct{ v *vfs.VFS }

var ctx = context.Background()

// walk returns the node at name.
func (f vfsFS) walk(name string) (*vfs.Node, error) {
	n := f.v.Root()
	if name == "" || name == "." {
		return n, nil
	}
	for el := range strings.SplitSeq(name, "/") {
		c, err := n.Lookup(ctx, el)
		if err != nil {
			return nil, err
		}
		n = c
	}
	return n, nil
}

// parent returns the directory of name and name's last element.
func (f vfsFS) parent(name string) (*vfs.Node, string, error) {
	d, err := f.walk(backend.Dir(name))
	return d, path.Base(name), err
}

func (f vfsFS) ReadFile(name string) ([]byte, error) {
	fl, err := f.OpenFile(name, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer fl.Close()
	var out []byte
	buf := make([]byte, 128<<10)
	for off := int64(0); ; {
		n, err := fl.ReadAt(buf, off)
		out = append(out, buf[:n]...)
		off += int64(n)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

func (f vfsFS) WriteFile(name string, data []byte) error {
	fl, err := f.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return err
	}
	_, err = fl.WriteAt(data, 0)
	if cerr := fl.Close(); err == nil {
		err = cerr
	}
	return err
}

func (f vfsFS) OpenFile(name string, flag int) (File, error) {
	n, err := f.walk(name)
	if errors.Is(err, fs.ErrNotExist) && flag&os.O_CREATE != 0 {
		d, base, perr := f.parent(name)
		if perr != nil {
			return nil, perr
		}
		_, h, err := d.Create(ctx, base)
		if err != nil {
			return nil, err
		}
		return &vfsFile{h: h}, nil
	}
	if err != nil {
		return nil, err
	}
	mode := vfs.OpenRead
	if flag&(os.O_WRONLY|os.O_RDWR) != 0 {
		mode = vfs.OpenWrite
	}
	if flag&os.O_TRUNC != 0 {
		mode |= vfs.OpenTrunc
	}
	h, err := f.v.Open(ctx, n, mode)
	if err != nil {
		return nil, err
	}
	return &vfsFile{h: h}, nil
}

func (f vfsFS) Mkdir(name string) error {
	d, base, err := f.parent(name)
	if err == nil {
		_, err = d.Mkdir(ctx, base)
	}
	return err
}

func (f vfsFS) Remove(name string) error {
	d, base, err := f.parent(name)
	if err != nil {
		return err
	}
	n, err := d.Lookup(ctx, base)
	if err != nil {
		return err
	}
	if n.IsDir() {
		return d.Rmdir(ctx, base)
	}
	return d.Remove(ctx, base)
}

func (f vfsFS) Rename(from, to string) error {
	d, base, err := f.parent(from)
	if err != nil {
		return err
	}
	nd, nbase, err := f.parent(to)
	if err != nil {
		return err
	}
	return d.Rename(ctx, base, nd, nbase)
}

func (f vfsFS) ReadDir(name string) ([]string, error) {
	d, err := f.walk(name)
	if err != nil {
		return nil, err
	}
	ns, err := d.ReadDir(ctx)
	var out []string
	for _, n := range ns {
		out = append(out, n.Name())
	}
	return out, err
}

func (f vfsFS) Stat(name string) (Info, error) {
	n, err := f.walk(name)
	if err != nil {
		return Info{}, err
	}
	a := n.Attr()
	return Info{Size: a.Size, ModTime: a.ModTime, IsDir: a.IsDir, Ino: a.Ino}, nil
}

func (f vfsFS) Chtimes(name string, t time.Time) error {
	n, err := f.walk(name)
	if err != nil {
		return err
	}
	return n.SetModTime(ctx, t)
}

func (f vfsFS) Truncate(name string, size int64) error {
	n, err := f.walk(name)
	if err != nil {
		return err
	}
	return n.Truncate(ctx, size)
}

// vfsFile is a vfs.Handle as a File, closed as close(2) closes: flush,
// then release.
type vfsFile struct{ h *vfs.Handle }

func (f *vfsFile) ReadAt(p []byte, off int64) (int, error)  { return f.h.ReadAt(ctx, p, off) }
func (f *vfsFile) WriteAt(p []byte, off int64) (int, error) { return f.h.WriteAt(ctx, p, off) }
func (f *vfsFile) Truncate(size int64) error                { return f.h.Truncate(ctx, size) }
func (f *vfsFile) Sync() error                              { return f.h.Fsync(ctx) }
func (f *vfsFile) Close() error {
	err := f.h.Flush(ctx)
	if rerr := f.h.Release(ctx); err == nil {
		err = rerr
	}
	return err
}
