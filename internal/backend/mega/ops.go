package mega

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"time"

	"ferry/internal/backend"
	megaclient "ferry/mega"
)

// List returns the entries in dir, one per node: names MEGA holds twice
// appear twice, with their handles as Entry.ID. When dir itself names
// several folders, their contents are merged.
func (b *Backend) List(ctx context.Context, dir string) ([]backend.Entry, error) {
	dir, err := b.clean("list", dir)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, b.pathErr("list", dir, err)
	}
	b.refresh(ctx)
	ns, err := b.lookup(dir)
	if err != nil {
		return nil, b.pathErr("list", dir, err)
	}
	out, err := listNodes(b.c, dir, ns, func(k *megaclient.Node) {
		b.log.Debug("mega: skipping a node without a usable name",
			slog.String(logKeyHandle, k.Handle), slog.Any(logKeyErr, k.Err))
	})
	if err != nil {
		return nil, b.pathErr("list", dir, err)
	}
	return out, nil
}

// Walk implements backend.Walker: one path lookup, then the in-memory tree,
// instead of a lookup per directory.
func (b *Backend) Walk(ctx context.Context, dir string, maxDepth int, fn backend.WalkFunc) error {
	dir, err := b.clean("list", dir)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return b.pathErr("list", dir, err)
	}
	b.refresh(ctx)
	ns, err := b.lookup(dir)
	if err != nil {
		return b.pathErr("list", dir, err)
	}
	ns = slices.DeleteFunc(ns, isFile)
	if len(ns) == 0 {
		return b.pathErr("list", dir, backend.ErrNotDir)
	}
	return b.walk(ctx, dir, ns, 1, maxDepth, fn)
}

// walk calls fn for the children of the folders ds (one path: duplicates
// are merged, as List merges them) and recurses.
func (b *Backend) walk(ctx context.Context, dir string, ds []*megaclient.Node, depth, maxDepth int, fn backend.WalkFunc) error {
	if err := ctx.Err(); err != nil {
		return b.pathErr("list", dir, err)
	}
	var kids []*megaclient.Node
	for _, d := range ds {
		kids = append(kids, b.c.Children(d)...)
	}
	// Children come sorted by MEGA name; the walk is in contract order,
	// which differs only when a decoded name differs ("a/b" < "a0" but
	// "a／b" > "a0"), and only then is sorted again.
	kidNames := contractNames(kids)
	switch {
	case kidNames != nil:
		idx := make([]int, len(kids))
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(x, y int) int { return strings.Compare(kidNames[x], kidNames[y]) })
		sorted, sortedNames := make([]*megaclient.Node, len(kids)), make([]string, len(kids))
		for i, j := range idx {
			sorted[i], sortedNames[i] = kids[j], kidNames[j]
		}
		kids, kidNames = sorted, sortedNames
	case len(ds) > 1:
		slices.SortStableFunc(kids, func(x, y *megaclient.Node) int { return strings.Compare(x.Name, y.Name) })
	}
	nameOf := func(i int) string {
		if kidNames == nil {
			return kids[i].Name
		}
		return kidNames[i]
	}
	for i, k := range kids {
		name := nameOf(i)
		if name == "" {
			continue
		}
		p := backend.Join(dir, name)
		err := fn(entry(p, k))
		if err == backend.SkipDir {
			continue
		}
		if err != nil {
			return err
		}
		if !k.IsDir() || (maxDepth > 0 && depth >= maxDepth) {
			continue
		}
		// Same-named folders are listed once, together, at the first.
		first := true
		for j := i - 1; j >= 0 && nameOf(j) == name; j-- {
			if kids[j].IsDir() {
				first = false
			}
		}
		if !first {
			continue
		}
		sub := []*megaclient.Node{k}
		for j := i + 1; j < len(kids) && nameOf(j) == name; j++ {
			if kids[j].IsDir() {
				sub = append(sub, kids[j])
			}
		}
		if err := b.walk(ctx, p, sub, depth+1, maxDepth, fn); err != nil {
			return err
		}
	}
	return nil
}

// Stat describes p (the newest node when MEGA has several with its name).
func (b *Backend) Stat(ctx context.Context, p string) (backend.Entry, error) {
	p, err := b.clean("stat", p)
	if err != nil {
		return backend.Entry{}, err
	}
	if err := ctx.Err(); err != nil {
		return backend.Entry{}, b.pathErr("stat", p, err)
	}
	b.refresh(ctx)
	n, err := b.pick(p, nil, fs.ErrNotExist)
	if err != nil {
		return backend.Entry{}, b.pathErr("stat", p, err)
	}
	return statEntry(p, n), nil
}

// Open reads length bytes of file p from offset (length < 0: to the end).
// A read of the whole file is verified against its MAC: the reader's last
// Read then fails with megacrypto.ErrMAC instead of io.EOF on a mismatch.
// Ranged reads fetch only the bytes asked for, in pieces of at most 4 MiB,
// and cannot be verified. ctx bounds the whole read.
func (b *Backend) Open(ctx context.Context, p string, offset, length int64) (io.ReadCloser, error) {
	p, err := b.clean("open", p)
	if err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, b.pathErr("open", p, fmt.Errorf("negative offset %d: %w", offset, fs.ErrInvalid))
	}
	if err := ctx.Err(); err != nil {
		return nil, b.pathErr("open", p, err)
	}
	b.refresh(ctx)
	n, err := b.pick(p, isFile, backend.ErrIsDir)
	if err != nil {
		return nil, b.pathErr("open", p, err)
	}
	return b.openNode(ctx, p, n, offset, length)
}

// OpenEntry implements backend.DuplicateNamer: Open of the one node e.ID
// names, whatever else shares its name.
func (b *Backend) OpenEntry(ctx context.Context, e backend.Entry, offset, length int64) (io.ReadCloser, error) {
	if offset < 0 {
		return nil, b.pathErr("open", e.Path, fmt.Errorf("negative offset %d: %w", offset, fs.ErrInvalid))
	}
	if err := ctx.Err(); err != nil {
		return nil, b.pathErr("open", e.Path, err)
	}
	n, p, err := b.node("open", e)
	if err != nil {
		return nil, err
	}
	if n.IsDir() {
		return nil, b.pathErr("open", p, backend.ErrIsDir)
	}
	return b.openNode(ctx, p, n, offset, length)
}

// openNode opens file node n (at contract path p, for errors).
func (b *Backend) openNode(ctx context.Context, p string, n *megaclient.Node, offset, length int64) (io.ReadCloser, error) {
	return openContent(ctx, b.c, &b.files, b, p, n, offset, length)
}

// contentOpener opens MEGA file nodes: the account's client, or a link's
// tree.
type contentOpener interface {
	Open(ctx context.Context, n *megaclient.Node) (*megaclient.File, error)
	NewReader(ctx context.Context, n *megaclient.Node) (io.ReadCloser, error)
}

// openContent reads length bytes of file node n from offset (length < 0:
// to the end) through c. A read of the whole file is MAC-verified (the
// client's reader); a range is fetched exactly, with the download URL
// kept in files (one `g` per node, not per range). Errors name path p of
// backend b.
func openContent(ctx context.Context, c contentOpener, files *fileCache, b interface {
	pathErr(op, p string, err error) error
}, p string, n *megaclient.Node, offset, length int64) (io.ReadCloser, error) {
	end := n.Size
	if length >= 0 && length < n.Size-offset {
		end = offset + length
	}
	if offset >= end {
		return io.NopCloser(strings.NewReader("")), nil
	}
	if offset == 0 && end == n.Size {
		r, err := c.NewReader(ctx, n)
		if err != nil {
			return nil, b.pathErr("open", p, err)
		}
		return &pathReader{rc: r, b: b, p: p}, nil
	}
	f, err := files.open(ctx, c, n)
	if err != nil {
		return nil, b.pathErr("open", p, err)
	}
	if length >= 0 {
		return &pathReader{rc: &boundedRange{ctx: ctx, f: f, off: offset, end: end}, b: b, p: p}, nil
	}
	return &pathReader{rc: newRangeReader(ctx, f, offset, end, length >= 0), b: b, p: p}, nil
}

// boundedRange reads bytes [off, end) of a MEGA file. When the first
// Read's buffer holds the whole range (io.ReadFull's case, the VFS
// cache's fetches), it is one request straight into that buffer, with no
// copy; a range of at most rangeMaxPiece is one request into a buffer of
// its own; a longer one read in smaller buffers streams as a
// rangeReader, holding at most a piece.
type boundedRange struct {
	ctx      context.Context // the Open's, which bounds the read
	f        *megaclient.File
	off, end int64
	buf      []byte       // fetched, not yet read
	stream   *rangeReader // a long range read in small buffers
	err      error
}

func (r *boundedRange) Read(p []byte) (int, error) {
	if r.stream != nil {
		return r.stream.Read(p)
	}
	if len(r.buf) > 0 {
		n := copy(p, r.buf)
		r.buf = r.buf[n:]
		return n, nil
	}
	if r.err != nil {
		return 0, r.err
	}
	if r.off >= r.end {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	want := r.end - r.off
	if int64(len(p)) < want && want > rangeMaxPiece {
		r.stream = newRangeReader(r.ctx, r.f, r.off, r.end, true)
		r.off = r.end
		return r.stream.Read(p)
	}
	dst := p
	if int64(len(p)) < want {
		dst = make([]byte, want)
	}
	got, err := r.f.ReadAtContext(r.ctx, dst[:want], r.off)
	r.off = r.end
	if int64(got) < want {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		r.err = fmt.Errorf("read %d bytes at %d: %w", want, r.end-want, err)
		return 0, r.err
	}
	if int64(len(p)) < want {
		r.buf = dst[:want]
		n := copy(p, r.buf)
		r.buf = r.buf[n:]
		return n, nil
	}
	return got, nil
}

func (r *boundedRange) Close() error {
	if r.stream != nil {
		return r.stream.Close()
	}
	return nil
}

// pathReader wraps read errors in *backend.PathError.
type pathReader struct {
	rc io.ReadCloser
	b  interface {
		pathErr(op, p string, err error) error
	} // *Backend or *LinkBackend
	p string
}

func (r *pathReader) Read(buf []byte) (int, error) {
	n, err := r.rc.Read(buf)
	if err != nil && err != io.EOF {
		err = r.b.pathErr("read", r.p, err)
	}
	return n, err
}

func (r *pathReader) Close() error {
	if err := r.rc.Close(); err != nil {
		return r.b.pathErr("read", r.p, err)
	}
	return nil
}

// Range reads start with small pieces (cheap for short reads) and double
// up to rangeMaxPiece, the most memory a ranged read holds.
const (
	rangeFirstPiece = 256 << 10
	rangeMaxPiece   = 4 << 20
)

// rangeReader streams bytes [off, end) of a MEGA file: a goroutine fetches
// one piece while the reader consumes the previous one.
type rangeReader struct {
	pr     *io.PipeReader
	cancel context.CancelFunc
	done   chan struct{}
}

// newRangeReader starts the goroutine of a rangeReader. A bounded range
// (the caller gave a length) is wanted whole, so its first piece is as
// big as a piece may be.
func newRangeReader(ctx context.Context, f *megaclient.File, off, end int64, bounded bool) *rangeReader {
	ctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	r := &rangeReader{pr: pr, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		pw.CloseWithError(copyRange(ctx, f, pw, off, end, bounded))
	}()
	return r
}

// copyRange writes bytes [off, end) of f to w.
func copyRange(ctx context.Context, f *megaclient.File, w io.Writer, off, end int64, bounded bool) error {
	piece := int64(rangeFirstPiece)
	if bounded {
		piece = rangeMaxPiece
	}
	buf := make([]byte, min(int64(rangeMaxPiece), end-off))
	for off < end {
		n := min(piece, end-off)
		got, err := f.ReadAtContext(ctx, buf[:n], off)
		if int64(got) < n {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("read %d bytes at %d: %w", n, off, err)
		}
		if _, err := w.Write(buf[:got]); err != nil {
			return err
		}
		off += n
		piece = min(2*piece, rangeMaxPiece)
	}
	return nil
}

func (r *rangeReader) Read(p []byte) (int, error) { return r.pr.Read(p) }

// Close stops the fetching goroutine and waits for it.
func (r *rangeReader) Close() error {
	r.cancel()
	r.pr.Close()
	<-r.done
	return nil
}

// Put uploads r (size bytes) to p, creating missing parent folders. An
// existing file at p is removed only after the new file exists, so on
// error or cancellation the old file is unchanged and no partial file is
// left.
func (b *Backend) Put(ctx context.Context, p string, r io.Reader, size int64, modTime time.Time) (backend.Entry, error) {
	p, err := b.clean("put", p)
	if err != nil {
		return backend.Entry{}, err
	}
	if p == "" {
		return backend.Entry{}, b.pathErr("put", p, backend.ErrIsDir)
	}
	if size < 0 {
		return backend.Entry{}, b.pathErr("put", p, fmt.Errorf("negative size %d: %w", size, fs.ErrInvalid))
	}
	if err := ctx.Err(); err != nil {
		return backend.Entry{}, b.pathErr("put", p, err)
	}
	name, err := megaName(p)
	if err != nil {
		return backend.Entry{}, b.pathErr("put", p, err)
	}
	b.mutating.RLock()
	defer b.mutating.RUnlock()
	unlock := b.names.Lock(p)
	defer unlock()
	if ns, err := b.lookup(p); err == nil && newest(ns, isFile) == nil {
		return backend.Entry{}, b.pathErr("put", p, errDirInTheWay)
	}
	parent, err := b.ensureDir(ctx, backend.Dir(p))
	if err != nil {
		return backend.Entry{}, b.pathErr("put", p, err)
	}
	n, err := b.c.Upload(ctx, parent, name, r, size, modTime)
	if err != nil {
		return backend.Entry{}, b.pathErr("put", p, err)
	}
	b.dirty.Store(true)
	if err := b.replaceOld(ctx, p, n); err != nil {
		return entry(p, n), b.pathErr("put", p, err)
	}
	return entry(p, n), nil
}

// Mkdir creates dir and its missing parents; it is idempotent.
func (b *Backend) Mkdir(ctx context.Context, dir string) error {
	dir, err := b.clean("mkdir", dir)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return b.pathErr("mkdir", dir, err)
	}
	b.mutating.RLock()
	defer b.mutating.RUnlock()
	if _, err := b.ensureDir(ctx, dir); err != nil {
		return b.pathErr("mkdir", dir, err)
	}
	return nil
}

// Rmdir removes the empty folder dir (the newest of that name). It goes to
// the rubbish bin unless hard_delete is set.
func (b *Backend) Rmdir(ctx context.Context, dir string) error {
	dir, err := b.clean("rmdir", dir)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return b.pathErr("rmdir", dir, err)
	}
	if dir == "" && b.root == "" {
		return b.pathErr("rmdir", dir, errors.New("cannot remove the Cloud Drive root"))
	}
	b.mutating.RLock()
	defer b.mutating.RUnlock()
	unlock := b.names.Lock(dir)
	defer unlock()
	d, err := b.pick(dir, isDir, backend.ErrNotDir)
	if err != nil {
		return b.pathErr("rmdir", dir, err)
	}
	if kids := b.c.Children(d); len(kids) > 0 {
		return b.pathErr("rmdir", dir, notEmpty(kids))
	}
	if err := b.removeNode(ctx, d); err != nil {
		return b.pathErr("rmdir", dir, err)
	}
	return nil
}

// notEmpty is Rmdir's error for a folder holding kids. When List shows
// none of them (their attributes do not decrypt), it says so.
func notEmpty(kids []*megaclient.Node) error {
	for _, k := range kids {
		if _, ok := contractName(k); ok {
			return backend.ErrNotEmpty
		}
	}
	return fmt.Errorf("%w: it holds %d node(s) whose names cannot be read (attributes that do not decrypt), so they are not listed", backend.ErrNotEmpty, len(kids))
}

// Remove removes file p (the newest of that name): to the rubbish bin, or
// permanently with hard_delete.
func (b *Backend) Remove(ctx context.Context, p string) error {
	p, err := b.clean("remove", p)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return b.pathErr("remove", p, err)
	}
	b.mutating.RLock()
	defer b.mutating.RUnlock()
	unlock := b.names.Lock(p)
	defer unlock()
	n, err := b.pick(p, isFile, backend.ErrIsDir)
	if err != nil {
		return b.pathErr("remove", p, err)
	}
	if err := b.removeNode(ctx, n); err != nil {
		return b.pathErr("remove", p, err)
	}
	return nil
}
