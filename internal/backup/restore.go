package backup

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"ferry/internal/backup/repo"
	"ferry/internal/backup/tree"
)

// RestoreRepository is what Restore needs of a repository: trees, blob
// locations and ranged pack reads. *repo.Repository implements it.
type RestoreRepository interface {
	LoadBlob(ctx context.Context, t repo.BlobType, id repo.ID, buf []byte) ([]byte, error)
	Lookup(t repo.BlobType, id repo.ID) (repo.PackedBlob, bool)
	OpenPackRange(ctx context.Context, pack repo.ID, t repo.BlobType, off, length int64) (io.ReadCloser, error)
	DecodeBlob(pb repo.PackedBlob, stored []byte, buf []byte) ([]byte, error)
	BlobID(plain []byte) repo.ID
}

var _ RestoreRepository = (*repo.Repository)(nil)

// RestoreOptions are Restore's settings. The zero value restores the whole
// snapshot with default concurrency.
type RestoreOptions struct {
	// Path restores only this file or directory of the snapshot (slash
	// separated, relative to the snapshot's root); "" is everything. A
	// directory's contents go into the destination; a file goes into it
	// under its own name.
	Path string
	// Verify, on a rerun into the same destination, reads a file that is
	// already there with the right size and mtime and compares its
	// content with the snapshot's blobs before it skips it.
	Verify bool
	// Packs is the number of pack ranges read at once (default 4).
	Packs int
	// MaxGap is the largest run of unneeded bytes between two needed
	// blobs of a pack that is read and thrown away to save a request
	// (default 1 MiB).
	MaxGap int64
	// Progress, when set, is called after each restored or skipped file
	// and each pack range read, from several goroutines but never at the
	// same time.
	Progress func(RestoreProgress)
	Logger   *slog.Logger
}

// RestoreProgress is a running count for RestoreOptions.Progress: files
// finished (written or found complete) and file bytes written or found
// complete, of the totals.
type RestoreProgress struct {
	Files, TotalFiles int
	Bytes, TotalBytes int64
}

// RestoreStats says what Restore did.
type RestoreStats struct {
	Files, Dirs, Symlinks int   // restored (written, created or already complete)
	Bytes                 int64 // file bytes restored
	FilesSkipped          int   // files already complete in the destination
	BytesSkipped          int64
	Blobs                 int   // distinct data blobs fetched
	Ranges                int   // pack ranges read
	BytesRead             int64 // stored bytes read from packs, gaps included
}

// Restore writes the tree root of a snapshot, or its part o.Path, into the
// directory dest, creating it. It reads each needed range of each pack
// once, several at a time, decodes each needed blob once and writes it
// into every file that holds it. A file is written under a temporary name
// beside its final one and renamed when complete; modes, mtimes (to the
// nanosecond) and, when running as root, owners are set; directories get
// their mode and mtime last, deepest first. Names are restored byte for
// byte; a name that could leave dest ("", ".", "..", or one holding "/" or
// NUL) is an error.
//
// Restore is resumable: run again into the same dest, it skips the files
// that are there with the snapshot's size and mtime (and, with o.Verify,
// content) and writes the rest. It stops at the first error (a blob whose
// tag or ID does not verify is one), leaving complete files in place and
// removing its temporary files.
func Restore(ctx context.Context, r RestoreRepository, root repo.ID, dest string, o RestoreOptions) (RestoreStats, error) {
	if o.Packs <= 0 {
		o.Packs = 4
	}
	if o.MaxGap <= 0 {
		o.MaxGap = 1 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	rs := &restorer{r: r, o: o, dest: dest}
	if err := rs.plan(ctx, root); err != nil {
		return rs.stats, err
	}
	err := rs.run(ctx)
	return rs.stats, err
}

// restorer is one Restore call.
type restorer struct {
	r    RestoreRepository
	o    RestoreOptions
	dest string

	dirs     []plannedDir
	files    []*plannedFile
	symlinks []plannedLink

	mu       sync.Mutex // guards stats and progress after plan
	stats    RestoreStats
	progress RestoreProgress
}

type plannedDir struct {
	path string // absolute
	node tree.Node
}

type plannedLink struct {
	path string
	node tree.Node
}

// plannedFile is one file to write. remaining counts the blob writes still
// to do; the writer that brings it to zero finishes the file.
type plannedFile struct {
	path      string // final absolute path
	temp      string
	node      tree.Node
	remaining atomic.Int64
	failed    atomic.Bool
}

// blobTarget is where one decoded blob goes: a file and the offset.
type blobTarget struct {
	file *plannedFile
	off  int64
}

// neededBlob is a blob to fetch and everywhere it goes.
type neededBlob struct {
	id      repo.ID
	pb      repo.PackedBlob
	targets []blobTarget
	first   int // index of the first file that needs it, for ordering
}

// checkName reports a tree name that is unsafe as a path element.
func checkName(name []byte) error {
	s := string(name)
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\x00") {
		return fmt.Errorf("restore: the snapshot holds the unsafe name %q", s)
	}
	return nil
}

// plan walks the snapshot's tree below o.Path and lists what to create.
func (rs *restorer) plan(ctx context.Context, root repo.ID) error {
	id, node, err := findPath(ctx, rs.r, root, rs.o.Path)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := os.MkdirAll(rs.dest, 0o700); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if node == nil { // a directory: its contents go into dest
		return rs.walk(ctx, id, rs.dest)
	}
	return rs.add(ctx, *node, filepath.Join(rs.dest, string(node.Name)))
}

// BlobLoader is what reading a snapshot's trees and files needs of a
// repository: blob plaintexts. *repo.Repository implements it.
type BlobLoader interface {
	LoadBlob(ctx context.Context, t repo.BlobType, id repo.ID, buf []byte) ([]byte, error)
}

// findPath resolves p (slash separated) below the tree root: for a
// directory it returns its subtree ID and a nil node, for anything else
// its node.
func findPath(ctx context.Context, r BlobLoader, root repo.ID, p string) (repo.ID, *tree.Node, error) {
	id := root
	p = strings.Trim(p, "/")
	if p == "" {
		return id, nil, nil
	}
	elems := strings.Split(p, "/")
	for i, name := range elems {
		t, err := loadTreeBlob(ctx, r, id)
		if err != nil {
			return id, nil, err
		}
		n, ok := findNode(t, []byte(name))
		if !ok {
			return id, nil, fmt.Errorf("%q is not in the snapshot: %w", strings.Join(elems[:i+1], "/"), fs.ErrNotExist)
		}
		if n.Type != "dir" {
			if i != len(elems)-1 {
				return id, nil, fmt.Errorf("%q is not a directory", strings.Join(elems[:i+1], "/"))
			}
			return id, &n, nil
		}
		id = n.Subtree
	}
	return id, nil, nil
}

func findNode(t *tree.Tree, name []byte) (tree.Node, bool) {
	i, ok := slices.BinarySearchFunc(t.Nodes, name, func(n tree.Node, name []byte) int {
		return bytes.Compare(n.Name, name)
	})
	if !ok {
		return tree.Node{}, false
	}
	return t.Nodes[i], true
}

// loadTreeBlob loads and decodes tree blob id.
func loadTreeBlob(ctx context.Context, r BlobLoader, id repo.ID) (*tree.Tree, error) {
	b, err := r.LoadBlob(ctx, repo.TreeBlob, id, nil)
	if err != nil {
		return nil, fmt.Errorf("load tree %s: %w", id.Short(), err)
	}
	t, err := tree.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("tree %s: %w", id.Short(), err)
	}
	return t, nil
}

// walk plans the nodes of tree id into directory dir.
func (rs *restorer) walk(ctx context.Context, id repo.ID, dir string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t, err := loadTreeBlob(ctx, rs.r, id)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	for _, n := range t.Nodes {
		if err := rs.add(ctx, n, filepath.Join(dir, string(n.Name))); err != nil {
			return err
		}
	}
	return nil
}

// add plans one node at path p.
func (rs *restorer) add(ctx context.Context, n tree.Node, p string) error {
	if err := checkName(n.Name); err != nil {
		return err
	}
	switch n.Type {
	case "dir":
		rs.dirs = append(rs.dirs, plannedDir{p, n})
		return rs.walk(ctx, n.Subtree, p)
	case "symlink":
		rs.symlinks = append(rs.symlinks, plannedLink{p, n})
	case "file":
		rs.files = append(rs.files, &plannedFile{
			path: p,
			temp: filepath.Join(filepath.Dir(p), "."+filepath.Base(p)+".ferry-restore"),
			node: n,
		})
	default:
		rs.o.Logger.Warn("restore: skipping a node of unknown type", "path", p, "type", n.Type)
	}
	return nil
}

// run creates the directories, writes the files, the symlinks, and then
// the directories' metadata.
func (rs *restorer) run(ctx context.Context) error {
	for _, d := range rs.dirs {
		if err := makeDir(d.path); err != nil {
			return err
		}
	}
	for _, f := range rs.files {
		rs.progress.TotalFiles++
		rs.progress.TotalBytes += f.node.Size
	}
	blobs, err := rs.prepareFiles(ctx)
	if err == nil {
		err = rs.fetch(ctx, blobs)
	}
	if err != nil {
		// Complete files stay; the unfinished ones are written again by
		// the next run.
		for _, f := range rs.files {
			if f.remaining.Load() > 0 || f.failed.Load() {
				os.Remove(f.temp)
			}
		}
		return err
	}
	for _, l := range rs.symlinks {
		if err := restoreSymlink(l.path, l.node); err != nil {
			return err
		}
		rs.stats.Symlinks++
	}
	// Deepest first, so setting a directory's mtime is the last change in it.
	for i := len(rs.dirs) - 1; i >= 0; i-- {
		d := rs.dirs[i]
		if err := setMeta(d.path, d.node, false); err != nil {
			return err
		}
		rs.stats.Dirs++
	}
	return nil
}

// prepareFiles skips the files already complete, finishes the empty ones,
// creates the temporary files of the rest and returns the blobs they need,
// grouped by pack and ordered by the first file that needs each pack.
func (rs *restorer) prepareFiles(ctx context.Context) ([]*neededBlob, error) {
	byID := make(map[repo.ID]*neededBlob)
	var order []*neededBlob
	for fi, f := range rs.files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		done, err := rs.complete(ctx, f)
		if err != nil {
			return nil, err
		}
		if done {
			rs.fileDone(f, true)
			continue
		}
		if err := rs.createTemp(f); err != nil {
			return nil, err
		}
		var off int64
		for _, id := range f.node.Content {
			pb, ok := rs.r.Lookup(repo.DataBlob, id)
			if !ok {
				return nil, fmt.Errorf("restore %s: data blob %s is in no pack of the index", f.path, id.Short())
			}
			nb := byID[id]
			if nb == nil {
				nb = &neededBlob{id: id, pb: pb, first: fi}
				byID[id] = nb
				order = append(order, nb)
			}
			nb.targets = append(nb.targets, blobTarget{f, off})
			off += int64(pb.RawLength)
		}
		if off != f.node.Size {
			return nil, fmt.Errorf("restore %s: the blobs hold %d bytes, the snapshot says %d", f.path, off, f.node.Size)
		}
		f.remaining.Store(int64(len(f.node.Content)))
		if len(f.node.Content) == 0 {
			if err := rs.finishFile(f); err != nil {
				return nil, err
			}
		}
	}
	rs.stats.Blobs = len(order)
	return order, nil
}

// complete reports whether f is already in the destination as the
// snapshot has it.
func (rs *restorer) complete(ctx context.Context, f *plannedFile) (bool, error) {
	fi, err := os.Lstat(f.path)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != f.node.Size || !fi.ModTime().Equal(f.node.ModTime) {
		return false, nil
	}
	if fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != f.node.Mode&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) {
		return false, nil
	}
	if !rs.o.Verify {
		return true, nil
	}
	same, err := rs.sameContent(ctx, f)
	if err != nil {
		return false, err
	}
	if !same {
		rs.o.Logger.Info("restore: content differs, restoring again", "path", f.path)
	}
	return same, nil
}

// sameContent reads the file at f.path piece by piece, as the snapshot's
// blobs cut it, and compares each piece's keyed ID with the blob's.
func (rs *restorer) sameContent(ctx context.Context, f *plannedFile) (bool, error) {
	fh, err := os.Open(f.path)
	if err != nil {
		return false, nil
	}
	defer fh.Close()
	var buf []byte
	for _, id := range f.node.Content {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		pb, ok := rs.r.Lookup(repo.DataBlob, id)
		if !ok {
			return false, fmt.Errorf("restore %s: data blob %s is in no pack of the index", f.path, id.Short())
		}
		buf = slices.Grow(buf[:0], int(pb.RawLength))[:pb.RawLength]
		if _, err := io.ReadFull(fh, buf); err != nil {
			return false, nil
		}
		if rs.r.BlobID(buf) != id {
			return false, nil
		}
	}
	return true, nil
}

// makeDir creates directory p, whose parent exists and is a directory.
// Something else at p (a file, or a symlink that would lead the restore
// out of its destination) is replaced.
func makeDir(p string) error {
	fi, err := os.Lstat(p)
	switch {
	case err == nil && fi.IsDir():
		return nil
	case err == nil:
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("restore: %w", err)
	}
	if err := os.Mkdir(p, 0o700); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return nil
}

// createTemp creates f's temporary file anew (never through a symlink
// left at its name) with f's size.
func (rs *restorer) createTemp(f *plannedFile) error {
	if err := os.Remove(f.temp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("restore: %w", err)
	}
	fh, err := os.OpenFile(f.temp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	err = fh.Truncate(f.node.Size)
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return nil
}

// finishFile sets a complete temporary file's metadata and renames it.
func (rs *restorer) finishFile(f *plannedFile) error {
	if err := setMeta(f.temp, f.node, false); err != nil {
		return err
	}
	if err := os.Rename(f.temp, f.path); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	rs.fileDone(f, false)
	return nil
}

func (rs *restorer) fileDone(f *plannedFile, skipped bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.stats.Files++
	rs.stats.Bytes += f.node.Size
	if skipped {
		rs.stats.FilesSkipped++
		rs.stats.BytesSkipped += f.node.Size
	}
	rs.progress.Files++
	if skipped {
		rs.progress.Bytes += f.node.Size
	}
	if rs.o.Progress != nil {
		rs.o.Progress(rs.progress)
	}
}

// packRange is a run of a pack's needed blobs read with one request.
type packRange struct {
	pack     repo.ID
	off, end int64
	blobs    []*neededBlob // by offset
	first    int
}

// ranges groups blobs by pack and cuts each pack's needed blobs into
// ranges separated by more than MaxGap unneeded bytes, in the order of
// the first file that needs them.
func (rs *restorer) ranges(blobs []*neededBlob) []packRange {
	byPack := make(map[repo.ID][]*neededBlob)
	var packs []repo.ID
	for _, b := range blobs {
		if _, ok := byPack[b.pb.Pack]; !ok {
			packs = append(packs, b.pb.Pack)
		}
		byPack[b.pb.Pack] = append(byPack[b.pb.Pack], b)
	}
	var out []packRange
	for _, p := range packs {
		bs := byPack[p]
		slices.SortFunc(bs, func(a, b *neededBlob) int { return cmp.Compare(int64(a.pb.Offset), int64(b.pb.Offset)) })
		var cur *packRange
		for _, b := range bs {
			off, end := int64(b.pb.Offset), int64(b.pb.Offset)+int64(b.pb.Length)
			if cur == nil || off-cur.end > rs.o.MaxGap || off < cur.end {
				out = append(out, packRange{pack: p, off: off, end: end, first: b.first})
				cur = &out[len(out)-1]
			} else {
				cur.end = end
			}
			cur.blobs = append(cur.blobs, b)
			cur.first = min(cur.first, b.first)
		}
	}
	slices.SortStableFunc(out, func(a, b packRange) int { return a.first - b.first })
	return out
}

// fetch reads the ranges, o.Packs at a time, and writes their blobs.
func (rs *restorer) fetch(ctx context.Context, blobs []*neededBlob) error {
	rgs := rs.ranges(blobs)
	g, ctx := errgroup.WithContext(ctx)
	work := make(chan *packRange)
	g.Go(func() error {
		defer close(work)
		for i := range rgs {
			select {
			case work <- &rgs[i]:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	for range rs.o.Packs {
		g.Go(func() error {
			var stored, plain []byte
			for pr := range work {
				if err := ctx.Err(); err != nil {
					return err
				}
				var err error
				if stored, plain, err = rs.readRange(ctx, pr, stored, plain); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// readRange reads one pack range and writes each blob to its targets.
// stored and plain are reused buffers.
func (rs *restorer) readRange(ctx context.Context, pr *packRange, stored, plain []byte) ([]byte, []byte, error) {
	rc, err := rs.r.OpenPackRange(ctx, pr.pack, repo.DataBlob, pr.off, pr.end-pr.off)
	if err != nil {
		return stored, plain, fmt.Errorf("restore: read pack %s: %w", pr.pack.Short(), err)
	}
	defer rc.Close()
	of := make(openFiles)
	defer of.closeAll()
	pos := pr.off
	var written int64
	for _, b := range pr.blobs {
		if gap := int64(b.pb.Offset) - pos; gap > 0 {
			if _, err := io.CopyN(io.Discard, rc, gap); err != nil {
				return stored, plain, fmt.Errorf("restore: read pack %s: %w", pr.pack.Short(), eofShort(err))
			}
		}
		stored = slices.Grow(stored[:0], int(b.pb.Length))[:b.pb.Length]
		if _, err := io.ReadFull(rc, stored); err != nil {
			return stored, plain, fmt.Errorf("restore: read pack %s: %w", pr.pack.Short(), eofShort(err))
		}
		pos = int64(b.pb.Offset) + int64(b.pb.Length)
		plain, err = rs.r.DecodeBlob(b.pb, stored, plain[:0])
		if err != nil {
			return stored, plain, fmt.Errorf("restore: blob %s in pack %s: %w", b.id.Short(), pr.pack.Short(), err)
		}
		for _, t := range b.targets {
			if err := rs.writeBlob(of, t, plain); err != nil {
				return stored, plain, err
			}
			written += int64(len(plain))
		}
	}
	if err := of.closeAll(); err != nil {
		return stored, plain, fmt.Errorf("restore: %w", err)
	}
	rs.mu.Lock()
	rs.stats.Ranges++
	rs.stats.BytesRead += pr.end - pr.off
	rs.progress.Bytes += written
	if rs.o.Progress != nil {
		rs.o.Progress(rs.progress)
	}
	rs.mu.Unlock()
	return stored, plain, nil
}

func eofShort(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// openFiles are the temporary files one worker has open while it reads
// a pack range, so consecutive blobs of one file cost one open. A file is
// closed before it is finished and when the range ends.
type openFiles map[*plannedFile]*os.File

// maxOpenFiles bounds the files one worker keeps open.
const maxOpenFiles = 16

func (of openFiles) closeAll() error {
	var first error
	for f, fh := range of {
		if err := fh.Close(); err != nil && first == nil {
			first = err
		}
		delete(of, f)
	}
	return first
}

// writeBlob writes plain at t.off in t's temporary file and finishes the
// file when it was its last blob.
func (rs *restorer) writeBlob(of openFiles, t blobTarget, plain []byte) error {
	f := t.file
	fh, ok := of[f]
	var err error
	if !ok {
		if len(of) >= maxOpenFiles {
			err = of.closeAll()
		}
		if err == nil {
			fh, err = os.OpenFile(f.temp, os.O_WRONLY, 0)
		}
		if err == nil {
			of[f] = fh
		}
	}
	if err == nil {
		_, err = fh.WriteAt(plain, t.off)
	}
	if err != nil {
		f.failed.Store(true)
		return fmt.Errorf("restore: %w", err)
	}
	if f.remaining.Add(-1) == 0 {
		delete(of, f)
		if err := fh.Close(); err != nil {
			f.failed.Store(true)
			return fmt.Errorf("restore: %w", err)
		}
		return rs.finishFile(f)
	}
	return nil
}

// restoreSymlink creates the symlink n at p, replacing what is there
// unless it already is that link.
func restoreSymlink(p string, n tree.Node) error {
	if cur, err := os.Readlink(p); err == nil && cur == string(n.Target) {
		return setMeta(p, n, true)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("restore: %w", err)
	}
	if err := os.Symlink(string(n.Target), p); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return setMeta(p, n, true)
}

// setMeta sets the owner (as root), mode and mtime of p to n's. A
// symlink gets its owner and mtime only.
func setMeta(p string, n tree.Node, symlink bool) error {
	if os.Geteuid() == 0 {
		if err := os.Lchown(p, int(n.UID), int(n.GID)); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
	}
	if !symlink {
		if err := os.Chmod(p, n.Mode&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
	}
	if err := setModTime(p, n.ModTime); err != nil {
		return fmt.Errorf("restore: set mtime of %s: %w", p, err)
	}
	return nil
}
