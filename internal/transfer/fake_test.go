package transfer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"ferry/internal/backend"
	"ferry/mega/megacrypto"
)

// dupFS is a small in-memory backend for what the shared fakes may not
// do: several objects with one name (backend.DuplicateNamer) and MEGA
// fingerprints (megaFP), at a chosen mtime precision. It is not a
// conformance-tested backend; engine tests that need only the contract
// also run over backend/memory and backend/local.
type dupFS struct {
	name      string
	precision time.Duration
	megaFP    bool // compute MEGA `c` fingerprints on Put

	mu     sync.Mutex
	nextID int
	objs   map[string][]*dupObj // path -> objects; dirs have isDir
}

type dupObj struct {
	id    string
	isDir bool
	data  []byte
	mtime time.Time
	fp    string
}

var (
	_ backend.DuplicateNamer = (*dupFS)(nil)
	_ backend.Mover          = (*dupFS)(nil)
	_ backend.ModTimeSetter  = (*dupFS)(nil)
	_ backend.Precisioner    = (*dupFS)(nil)
)

func newDupFS(name string, precision time.Duration, megaFP bool) *dupFS {
	return &dupFS{name: name, precision: precision, megaFP: megaFP, objs: map[string][]*dupObj{"": {{id: "root", isDir: true}}}}
}

func (f *dupFS) String() string           { return f.name }
func (f *dupFS) Precision() time.Duration { return f.precision }
func (f *dupFS) perr(op, p string, err error) error {
	return &backend.PathError{Op: op, Backend: f.name, Path: p, Err: err}
}

func (f *dupFS) entry(p string, o *dupObj) backend.Entry {
	return backend.Entry{Path: p, Size: int64(len(o.data)), ModTime: o.mtime, IsDir: o.isDir, ID: o.id, Fingerprint: o.fp}
}

func (f *dupFS) List(ctx context.Context, dir string) ([]backend.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.objs[dir]
	if len(d) == 0 {
		return nil, f.perr("list", dir, fs.ErrNotExist)
	}
	if !d[0].isDir {
		return nil, f.perr("list", dir, backend.ErrNotDir)
	}
	var out []backend.Entry
	for p, os := range f.objs {
		if p != "" && backend.Dir(p) == dir {
			for _, o := range os {
				out = append(out, f.entry(p, o))
			}
		}
	}
	return out, nil
}

func (f *dupFS) Stat(ctx context.Context, p string) (backend.Entry, error) {
	if err := ctx.Err(); err != nil {
		return backend.Entry{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	os := f.objs[p]
	if len(os) == 0 {
		return backend.Entry{}, f.perr("stat", p, fs.ErrNotExist)
	}
	return f.entry(p, os[0]), nil
}

func (f *dupFS) Open(ctx context.Context, p string, offset, length int64) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	os := f.objs[p]
	if len(os) == 0 {
		return nil, f.perr("open", p, fs.ErrNotExist)
	}
	if os[0].isDir {
		return nil, f.perr("open", p, backend.ErrIsDir)
	}
	data := os[0].data
	offset = min(offset, int64(len(data)))
	end := int64(len(data))
	if length >= 0 {
		end = min(end, offset+length)
	}
	return io.NopCloser(bytes.NewReader(data[offset:end])), nil
}

func (f *dupFS) OpenEntry(ctx context.Context, e backend.Entry, offset, length int64) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	os := f.objs[e.Path]
	i := slices.IndexFunc(os, func(o *dupObj) bool { return o.id == e.ID })
	if i < 0 {
		return nil, f.perr("open", e.Path, fs.ErrNotExist)
	}
	if os[i].isDir {
		return nil, f.perr("open", e.Path, backend.ErrIsDir)
	}
	data := os[i].data
	offset = min(offset, int64(len(data)))
	end := int64(len(data))
	if length >= 0 {
		end = min(end, offset+length)
	}
	return io.NopCloser(bytes.NewReader(data[offset:end])), nil
}

func (f *dupFS) mkdirLocked(dir string) error {
	if dir == "" {
		return nil
	}
	if os := f.objs[dir]; len(os) > 0 {
		if !os[0].isDir {
			return f.perr("mkdir", dir, fs.ErrExist)
		}
		return nil
	}
	if err := f.mkdirLocked(backend.Dir(dir)); err != nil {
		return err
	}
	f.nextID++
	f.objs[dir] = []*dupObj{{id: "d" + strconv.Itoa(f.nextID), isDir: true}}
	return nil
}

func (f *dupFS) Put(ctx context.Context, p string, r io.Reader, size int64, modTime time.Time) (backend.Entry, error) {
	data, err := io.ReadAll(io.LimitReader(r, size+1))
	if err != nil {
		return backend.Entry{}, f.perr("put", p, err)
	}
	if int64(len(data)) != size {
		return backend.Entry{}, f.perr("put", p, fmt.Errorf("got %d bytes, want %d", len(data), size))
	}
	if err := ctx.Err(); err != nil {
		return backend.Entry{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addLocked(p, data, modTime, true)
}

// addLocked stores a file; replace overwrites the first object at p,
// otherwise a duplicate is added.
func (f *dupFS) addLocked(p string, data []byte, modTime time.Time, replace bool) (backend.Entry, error) {
	if err := f.mkdirLocked(backend.Dir(p)); err != nil {
		return backend.Entry{}, err
	}
	if os := f.objs[p]; len(os) > 0 && os[0].isDir {
		return backend.Entry{}, f.perr("put", p, fs.ErrExist)
	}
	mt := modTime.Truncate(f.precision)
	f.nextID++
	o := &dupObj{id: "f" + strconv.Itoa(f.nextID), data: data, mtime: mt}
	if f.megaFP {
		fp, err := megacrypto.Fingerprint(bytes.NewReader(data), int64(len(data)), mt.Unix())
		if err != nil {
			return backend.Entry{}, err
		}
		o.fp = fp
	}
	if replace && len(f.objs[p]) > 0 {
		f.objs[p][0] = o
	} else {
		f.objs[p] = append(f.objs[p], o)
	}
	return f.entry(p, o), nil
}

// addDup stores another object named p (test setup).
func (f *dupFS) addDup(p string, data string, modTime time.Time) backend.Entry {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, err := f.addLocked(p, []byte(data), modTime, false)
	if err != nil {
		panic(err)
	}
	return e
}

func (f *dupFS) Mkdir(ctx context.Context, dir string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mkdirLocked(dir)
}

func (f *dupFS) Rmdir(ctx context.Context, dir string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.objs[dir]) == 0 {
		return f.perr("rmdir", dir, fs.ErrNotExist)
	}
	for p := range f.objs {
		if p != "" && backend.Dir(p) == dir {
			return f.perr("rmdir", dir, backend.ErrNotEmpty)
		}
	}
	delete(f.objs, dir)
	return nil
}

func (f *dupFS) Remove(ctx context.Context, p string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	os := f.objs[p]
	if len(os) == 0 {
		return f.perr("remove", p, fs.ErrNotExist)
	}
	if os[0].isDir {
		return f.perr("remove", p, backend.ErrIsDir)
	}
	f.dropLocked(p, os[0].id)
	return nil
}

func (f *dupFS) dropLocked(p, id string) bool {
	os := f.objs[p]
	i := slices.IndexFunc(os, func(o *dupObj) bool { return o.id == id })
	if i < 0 {
		return false
	}
	os = slices.Delete(os, i, i+1)
	if len(os) == 0 {
		delete(f.objs, p)
	} else {
		f.objs[p] = os
	}
	return true
}

func (f *dupFS) Move(ctx context.Context, src, dst string) (backend.Entry, error) {
	if err := ctx.Err(); err != nil {
		return backend.Entry{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	os := f.objs[src]
	if len(os) == 0 || os[0].isDir {
		return backend.Entry{}, f.perr("move", src, fs.ErrNotExist)
	}
	o := os[0]
	f.dropLocked(src, o.id)
	if err := f.mkdirLocked(backend.Dir(dst)); err != nil {
		return backend.Entry{}, err
	}
	f.objs[dst] = []*dupObj{o}
	return f.entry(dst, o), nil
}

func (f *dupFS) SetModTime(ctx context.Context, p string, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	os := f.objs[p]
	if len(os) == 0 {
		return f.perr("setmodtime", p, fs.ErrNotExist)
	}
	o := os[0]
	o.mtime = t.Truncate(f.precision)
	if f.megaFP {
		o.fp, _ = megacrypto.Fingerprint(bytes.NewReader(o.data), int64(len(o.data)), o.mtime.Unix())
	}
	return nil
}

func (f *dupFS) RemoveEntry(ctx context.Context, e backend.Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.dropLocked(e.Path, e.ID) {
		return f.perr("remove", e.Path, fs.ErrNotExist)
	}
	return nil
}

func (f *dupFS) RenameEntry(ctx context.Context, e backend.Entry, newName string) (backend.Entry, error) {
	if err := ctx.Err(); err != nil {
		return backend.Entry{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	os := f.objs[e.Path]
	i := slices.IndexFunc(os, func(o *dupObj) bool { return o.id == e.ID })
	if i < 0 {
		return backend.Entry{}, f.perr("rename", e.Path, fs.ErrNotExist)
	}
	o := os[i]
	f.dropLocked(e.Path, e.ID)
	np := backend.Join(backend.Dir(e.Path), newName)
	f.objs[np] = append(f.objs[np], o)
	if o.isDir {
		// Move the children along.
		for p, cs := range f.objs {
			if strings.HasPrefix(p, e.Path+"/") {
				delete(f.objs, p)
				f.objs[np+strings.TrimPrefix(p, e.Path)] = cs
			}
		}
	}
	return f.entry(np, o), nil
}

// FingerprintOf and SameContent make dupFS the owner of MEGA `c`
// fingerprints when megaFP is set (backend.Fingerprinter), as the MEGA
// backend is.
func (f *dupFS) FingerprintOf(ctx context.Context, e backend.Entry, r io.ReaderAt) (string, error) {
	if !f.megaFP {
		return "", nil
	}
	return megacrypto.Fingerprint(r, e.Size, e.ModTime.Unix())
}

func (f *dupFS) SameContent(a, b string) bool { return megaSame(a, b) }

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
