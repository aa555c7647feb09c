package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"ferry/internal/backup/chunker"
	"ferry/internal/backup/repo"
	"ferry/internal/backup/tree"
)

// Backup backs up o.Paths into r and writes a snapshot, unless nothing
// changed since the parent snapshot (Result.Unchanged; then nothing is
// written). Source entries that cannot be read are left out and reported
// in Result.Err; the returned error is for failures that end the run (the
// repository, its backend, the context, bad options).
func Backup(ctx context.Context, r Repository, o Options) (*Result, error) {
	a, err := newArchiver(r, o)
	if err != nil {
		return nil, err
	}
	return a.run(ctx)
}

// archiver is one Backup run.
type archiver struct {
	r     Repository
	o     Options
	log   *slog.Logger
	paths []string // absolute sources
	skip  map[string]bool
	prog  *Progress

	st stats
	// open opens a source file for reading (os.Open; tests inject
	// failures and changes a real file system cannot produce on demand).
	open func(name string) (sourceFile, error)

	mu       sync.Mutex // guards errs and dryAdded
	errs     []error
	dryAdded map[repo.ID]bool // blobs a dry run would add
}

// stats are Stats as the run's goroutines count them.
type stats struct {
	files, dirs, sourceBytes                    atomic.Int64
	filesNew, bytesNew, filesChanged, bytesChgd atomic.Int64
	filesUnmodified, deleted                    atomic.Int64
	dirsNew, dirsChanged, dirsUnmodified        atomic.Int64
	bytesRead, dataBlobs, treeBlobs             atomic.Int64
	dataAdded, dataAddedChanged, addedStored    atomic.Int64
	treeAdded, dedup, errors, special           atomic.Int64
}

func newArchiver(r Repository, o Options) (*archiver, error) {
	if len(o.Paths) == 0 {
		return nil, errors.New("backup: no source paths")
	}
	a := &archiver{r: r, o: o, log: o.Logger, prog: o.Progress, dryAdded: map[repo.ID]bool{},
		open: openSource}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.prog == nil {
		a.prog = &Progress{}
	}
	seen := map[string]string{}
	for _, p := range o.Paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("backup: source %q: %w", p, err)
		}
		fi, err := os.Lstat(abs)
		if err != nil {
			return nil, fmt.Errorf("backup: source %w", err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			// A source given as a symlink is what it points to (symlinks
			// below a source are stored as links).
			if abs, err = filepath.EvalSymlinks(abs); err != nil {
				return nil, fmt.Errorf("backup: source %q: %w", p, err)
			}
		}
		base := filepath.Base(abs)
		if prev, ok := seen[base]; ok && len(o.Paths) > 1 {
			return nil, fmt.Errorf("backup: sources %q and %q have the same base name %q", prev, abs, base)
		}
		seen[base] = abs
		a.paths = append(a.paths, abs)
	}
	a.skip = map[string]bool{}
	for _, p := range o.Skip {
		if abs, err := filepath.Abs(p); err == nil {
			a.skip[abs] = true
		}
	}
	if a.o.Hostname == "" {
		a.o.Hostname, _ = os.Hostname()
	}
	if a.o.Username == "" {
		if u, err := user.Current(); err == nil {
			a.o.Username = u.Username
		}
	}
	if a.o.Readers <= 0 {
		a.o.Readers = 2
	}
	if a.o.Savers <= 0 {
		a.o.Savers = runtime.GOMAXPROCS(0)
	}
	return a, nil
}

// dir is a scanned directory: its tree, with the Subtree of each child
// directory filled in after the children are saved.
type dir struct {
	path     string     // for messages
	tree     tree.Tree  // nodes in name order
	children []*dir     // the dir nodes' scans, in node order
	childAt  []int      // index in tree.Nodes of each child
	drop     []bool     // per node: left out (unreadable)
	old      *tree.Node // the parent snapshot's node of this directory; nil if it is new
}

// fileWork is a file to read: its node in the dir's tree.
type fileWork struct {
	path    string
	d       *dir
	i       int       // index in d.tree.Nodes
	changed bool      // the parent snapshot has the file (with other content)
	ids     []repo.ID // the content, filled by the savers; guarded by mu
	mu      sync.Mutex
}

func (a *archiver) run(ctx context.Context) (*Result, error) {
	start := time.Now()
	snapTime := a.o.Time
	if snapTime.IsZero() {
		snapTime = start
	}
	parent, err := a.findParent(ctx)
	if err != nil {
		return nil, err
	}
	var oldRoot *tree.Tree
	if parent != nil {
		if oldRoot, err = a.loadTree(ctx, parent.Tree); err != nil {
			a.log.Warn("parent snapshot's tree unreadable: every file is read", "snapshot", parent.ID.Short(), "err", err)
			oldRoot = nil
		}
	}

	var work []*fileWork
	root, err := a.scanRoot(ctx, oldRoot, &work)
	if err != nil {
		return nil, err
	}
	a.prog.scanned.Store(true)

	if err := a.readFiles(ctx, work); err != nil {
		return nil, err
	}
	for _, w := range work {
		if !w.d.drop[w.i] {
			w.d.tree.Nodes[w.i].Content = w.ids
		}
	}
	rootID, err := a.saveTrees(ctx, root)
	if err != nil {
		return nil, err
	}

	res := &Result{Parent: parent, Root: rootID}
	res.Unchanged = parent != nil && parent.Tree == rootID
	// Blobs may be new even when the tree is not: the parent's blobs a
	// damaged repository lost are stored again. They are indexed either
	// way.
	if !a.o.DryRun && (!res.Unchanged || a.st.dataBlobs.Load()+a.st.treeBlobs.Load() > 0) {
		if err := a.r.Flush(ctx); err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
	}
	if !a.o.DryRun && !res.Unchanged {
		snap := &repo.Snapshot{
			Time: snapTime, Tree: rootID, Paths: a.paths,
			Hostname: a.o.Hostname, Username: a.o.Username, Tags: a.o.Tags,
		}
		if parent != nil {
			pid := parent.ID
			snap.Parent = &pid
		}
		res.Stats = a.stats(start)
		snap.Summary = summary(res.Stats)
		if _, err := a.r.SaveSnapshot(ctx, snap); err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		res.Snapshot = snap
	}
	res.Stats = a.stats(start)
	res.Err = errors.Join(a.errs...)
	return res, nil
}

// findParent returns the latest snapshot with the same host and paths.
func (a *archiver) findParent(ctx context.Context) (*repo.Snapshot, error) {
	snaps, err := a.r.Snapshots(ctx)
	if err != nil {
		return nil, fmt.Errorf("backup: list snapshots: %w", err)
	}
	want := slices.Clone(a.paths)
	slices.Sort(want)
	for i := len(snaps) - 1; i >= 0; i-- {
		s := &snaps[i]
		have := slices.Clone(s.Paths)
		slices.Sort(have)
		if s.Hostname == a.o.Hostname && slices.Equal(have, want) {
			return s, nil
		}
	}
	return nil, nil
}

func (a *archiver) loadTree(ctx context.Context, id repo.ID) (*tree.Tree, error) {
	b, err := a.r.LoadBlob(ctx, repo.TreeBlob, id, nil)
	if err != nil {
		return nil, err
	}
	return tree.Decode(b)
}

// fail records an entry left out.
func (a *archiver) fail(p string, err error) {
	a.log.Warn("left out of the backup", "path", p, "err", err)
	a.st.errors.Add(1)
	a.prog.errors.Add(1)
	a.mu.Lock()
	a.errs = append(a.errs, &FileError{Path: p, Err: err})
	a.mu.Unlock()
}

// scanRoot scans the sources into the root dir.
func (a *archiver) scanRoot(ctx context.Context, old *tree.Tree, work *[]*fileWork) (*dir, error) {
	if len(a.paths) == 1 {
		fi, err := os.Lstat(a.paths[0])
		if err != nil {
			return nil, fmt.Errorf("backup: source %w", err)
		}
		if fi.IsDir() {
			return a.scanDir(ctx, a.paths[0], "", old, work)
		}
	}
	// A synthetic root holding each source by its base name.
	d := &dir{path: "/"}
	for _, p := range a.paths {
		fi, err := os.Lstat(p)
		if err != nil {
			return nil, fmt.Errorf("backup: source %w", err)
		}
		n, ok := a.node(p, fi)
		if !ok {
			continue
		}
		d.tree.Nodes = append(d.tree.Nodes, n)
	}
	d.tree.Sort()
	d.drop = make([]bool, len(d.tree.Nodes))
	for i := range d.tree.Nodes {
		n := &d.tree.Nodes[i]
		p := a.paths[slices.IndexFunc(a.paths, func(s string) bool { return filepath.Base(s) == string(n.Name) })]
		var oldNode *tree.Node
		if old != nil {
			oldNode = old.Find(n.Name)
		}
		if err := a.addNode(ctx, d, i, p, "", oldNode, work); err != nil { // filter paths are relative to each source
			return nil, err
		}
	}
	a.countDeleted(d, old)
	return d, nil
}

// scanDir lists directory p (rel below its source) into a dir, compared
// with old, the parent snapshot's tree of it (nil if none).
func (a *archiver) scanDir(ctx context.Context, p, rel string, old *tree.Tree, work *[]*fileWork) (*dir, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d := &dir{path: p}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return nil, err
	}
	slices.Sort(names) // byte order, as trees are
	full := make([]string, 0, len(names))
	for _, name := range names {
		cp := filepath.Join(p, name)
		if a.skip[cp] {
			a.log.Info("not backed up: ferry's own data", "path", cp)
			continue
		}
		fi, err := os.Lstat(cp)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) { // gone since the listing: not an error
				a.fail(cp, err)
			}
			continue
		}
		crel := name
		if rel != "" {
			crel = rel + "/" + name
		}
		if a.o.Filter != nil {
			if fi.IsDir() && !a.o.Filter.IncludeDir(crel) || !fi.IsDir() && !a.o.Filter.IncludeFile(crel, fi.Size()) {
				continue
			}
		}
		n, ok := a.node(cp, fi)
		if !ok {
			continue
		}
		d.tree.Nodes = append(d.tree.Nodes, n)
		full = append(full, cp)
	}
	d.drop = make([]bool, len(d.tree.Nodes))
	for i := range d.tree.Nodes {
		n := &d.tree.Nodes[i]
		var oldNode *tree.Node
		if old != nil {
			oldNode = old.Find(n.Name)
		}
		crel := string(n.Name)
		if rel != "" {
			crel = rel + "/" + crel
		}
		if err := a.addNode(ctx, d, i, full[i], crel, oldNode, work); err != nil {
			return nil, err
		}
	}
	a.countDeleted(d, old)
	return d, nil
}

// countDeleted counts the entries of old that d no longer has.
func (a *archiver) countDeleted(d *dir, old *tree.Tree) {
	if old == nil {
		return
	}
	for i := range old.Nodes {
		if d.tree.Find(old.Nodes[i].Name) == nil {
			a.st.deleted.Add(1)
		}
	}
}

// node makes the node of the entry at p, without content or subtree;
// false for types a backup leaves out.
func (a *archiver) node(p string, fi fs.FileInfo) (tree.Node, bool) {
	n := tree.Node{
		Name:    []byte(fi.Name()),
		Mode:    fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky),
		ModTime: fi.ModTime(),
	}
	fillOwner(&n, fi)
	switch {
	case fi.Mode().IsRegular():
		n.Type, n.Size = tree.File, fi.Size()
	case fi.IsDir():
		n.Type = tree.Dir
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			a.fail(p, err)
			return n, false
		}
		n.Type, n.Target = tree.Symlink, []byte(target)
	default:
		a.log.Info("not backed up: not a file, directory or symlink", "path", p, "mode", fi.Mode().String())
		a.st.special.Add(1)
		return n, false
	}
	return n, true
}

// addNode decides what node i of d needs: a subdirectory is scanned, a
// file reused from old or queued for reading.
func (a *archiver) addNode(ctx context.Context, d *dir, i int, p, rel string, old *tree.Node, work *[]*fileWork) error {
	n := &d.tree.Nodes[i]
	if old != nil && old.Type != n.Type {
		old = nil
	}
	switch n.Type {
	case tree.Dir:
		a.st.dirs.Add(1)
		var oldTree *tree.Tree
		if old != nil {
			t, err := a.loadTree(ctx, old.Subtree)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				a.log.Warn("parent snapshot's tree unreadable: its files are read", "path", p, "err", err)
			}
			oldTree = t
		}
		sub, err := a.scanDir(ctx, p, rel, oldTree, work)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			a.fail(p, err)
			d.drop[i] = true
			return nil
		}
		sub.old = old
		d.children = append(d.children, sub)
		d.childAt = append(d.childAt, i)
	case tree.Symlink:
		a.st.files.Add(1)
		a.prog.totalFiles.Add(1)
		a.prog.files.Add(1)
		switch {
		case old == nil:
			a.st.filesNew.Add(1)
		case bytes.Equal(old.Target, n.Target) && old.ModTime.Equal(n.ModTime):
			a.st.filesUnmodified.Add(1)
		default:
			a.st.filesChanged.Add(1)
		}
	case tree.File:
		a.st.files.Add(1)
		a.st.sourceBytes.Add(n.Size)
		a.prog.totalFiles.Add(1)
		a.prog.totalBytes.Add(n.Size)
		if old != nil && a.unchanged(n, old) {
			n.Content = old.Content
			a.st.filesUnmodified.Add(1)
			a.prog.files.Add(1)
			a.prog.bytes.Add(n.Size)
			return nil
		}
		*work = append(*work, &fileWork{path: p, d: d, i: i, changed: old != nil})
	}
	return nil
}

// unchanged is the change detection rule: modification time, size and
// inode equal, and every blob still in the repository.
func (a *archiver) unchanged(n, old *tree.Node) bool {
	if !n.ModTime.Equal(old.ModTime) || n.Size != old.Size || n.Inode != old.Inode {
		return false
	}
	for _, id := range old.Content {
		if !a.r.HasBlob(repo.DataBlob, id) {
			return false
		}
	}
	return true
}

// chunk is one chunk on its way from a reader to a saver.
type chunk struct {
	w    *fileWork
	gen  *[]repo.ID // the attempt it belongs to
	idx  int
	data *[]byte
}

// readFiles reads, chunks and saves the queued files: Readers goroutines
// read and chunk, Savers goroutines hash, compress, encrypt and pack. The
// chunks in flight are bounded by a byte budget.
func (a *archiver) readFiles(ctx context.Context, work []*fileWork) error {
	if len(work) == 0 {
		return nil
	}
	params := a.r.ChunkerParams()
	budget := int64(a.o.Readers+a.o.Savers) * int64(params.Max)
	sem := semaphore.NewWeighted(budget)
	pool := sync.Pool{New: func() any { b := make([]byte, 0, params.Avg); return &b }}

	// The repository uploads a pack in the background with the context of
	// the SaveBlob that filled it, so the savers pass the run's context,
	// not the group's, which ends when this function returns.
	runCtx := ctx
	g, ctx := errgroup.WithContext(ctx)
	files := make(chan *fileWork)
	chunks := make(chan chunk, a.o.Savers)
	g.Go(func() error {
		defer close(files)
		for _, w := range work {
			select {
			case files <- w:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	var readers sync.WaitGroup
	for range a.o.Readers {
		readers.Add(1)
		g.Go(func() error {
			defer readers.Done()
			c := chunker.New(nil, a.r.ChunkerKey(), params)
			for w := range files {
				if err := a.readFile(ctx, c, w, chunks, sem, &pool); err != nil {
					return err
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		readers.Wait()
		close(chunks)
		return nil
	})
	for range a.o.Savers {
		g.Go(func() error {
			for ch := range chunks {
				err := ctx.Err()
				if err == nil {
					err = a.saveChunk(runCtx, ch)
				}
				n := int64(cap(*ch.data))
				*ch.data = (*ch.data)[:0]
				pool.Put(ch.data)
				sem.Release(min(n, budget))
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// saveChunk stores one chunk and records its ID in its file's attempt.
func (a *archiver) saveChunk(ctx context.Context, ch chunk) error {
	id, added, stored, err := a.saveBlob(ctx, repo.DataBlob, *ch.data)
	if err != nil {
		return fmt.Errorf("backup: %s: %w", ch.w.path, err)
	}
	n := int64(len(*ch.data))
	if added {
		a.st.dataBlobs.Add(1)
		a.st.dataAdded.Add(n)
		a.st.addedStored.Add(int64(stored))
		if ch.w.changed {
			a.st.dataAddedChanged.Add(n)
		}
	} else {
		a.st.dedup.Add(n)
	}
	ch.w.mu.Lock()
	(*ch.gen)[ch.idx] = id
	ch.w.mu.Unlock()
	return nil
}

// saveBlob is SaveBlob, or in a dry run the ID and whether it would be
// added.
func (a *archiver) saveBlob(ctx context.Context, t repo.BlobType, plain []byte) (repo.ID, bool, int, error) {
	if !a.o.DryRun {
		return a.r.SaveBlob(ctx, t, plain)
	}
	id := a.r.BlobID(plain)
	if a.r.HasBlob(t, id) {
		return id, false, 0, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.dryAdded[id] {
		return id, false, 0, nil
	}
	a.dryAdded[id] = true
	return id, true, len(plain), nil
}

// readFile reads one file, trying again once if it changes while it is
// read. A file that cannot be read or changes twice is left out; only
// errors that end the run are returned.
func (a *archiver) readFile(ctx context.Context, c *chunker.Chunker, w *fileWork, out chan<- chunk, sem *semaphore.Weighted, pool *sync.Pool) error {
	a.prog.current.Store(&w.path)
	n := &w.d.tree.Nodes[w.i]
	var lastErr error
	var done int64 // bytes counted in the progress so far
	for attempt := 0; attempt < 2; attempt++ {
		gen, fi, read, err := a.readOnce(ctx, c, w, out, sem, pool)
		done += read
		a.prog.bytes.Add(read)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			var fatal fatalError
			if errors.As(err, &fatal) {
				return fatal.err
			}
			lastErr = err
			break // unreadable: trying again would not help
		}
		if fi == nil { // changed while read
			lastErr = ErrFileChanged
			a.log.Info("file changed while it was read; reading it again", "path", w.path)
			continue
		}
		w.mu.Lock()
		w.ids = *gen
		w.mu.Unlock()
		// The node describes what was read.
		n.Size, n.ModTime = fi.Size(), fi.ModTime()
		n.Mode = fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
		fillOwner(n, fi)
		a.st.bytesRead.Add(read)
		if w.changed {
			a.st.filesChanged.Add(1)
			a.st.bytesChgd.Add(n.Size)
		} else {
			a.st.filesNew.Add(1)
			a.st.bytesNew.Add(n.Size)
		}
		a.prog.files.Add(1)
		a.prog.bytes.Add(n.Size - done) // the progress counts the file's size once
		return nil
	}
	w.d.drop[w.i] = true
	a.prog.files.Add(1)
	a.prog.bytes.Add(n.Size - done)
	if errors.Is(lastErr, fs.ErrNotExist) { // removed since the scan: gone, not unreadable
		a.log.Info("not backed up: removed during the backup", "path", w.path)
		return nil
	}
	a.fail(w.path, lastErr)
	return nil
}

// sourceFile is an open source file (*os.File).
type sourceFile interface {
	io.ReadCloser
	Stat() (fs.FileInfo, error)
}

// fatalError marks an error of readOnce that ends the run (ctx, a budget
// failure), as opposed to a source file that cannot be read.
type fatalError struct{ err error }

func (e fatalError) Error() string { return e.err.Error() }

// readOnce reads w's file once, sending its chunks to out. It returns the
// attempt's ID list (filled by the savers), and the file's info after the
// read, nil if the file changed during the read.
func (a *archiver) readOnce(ctx context.Context, c *chunker.Chunker, w *fileWork, out chan<- chunk, sem *semaphore.Weighted, pool *sync.Pool) (*[]repo.ID, fs.FileInfo, int64, error) {
	f, err := a.open(w.path)
	if err != nil {
		return nil, nil, 0, err
	}
	defer f.Close()
	before, err := f.Stat()
	if err != nil {
		return nil, nil, 0, err
	}
	if !before.Mode().IsRegular() {
		return nil, nil, 0, fmt.Errorf("no longer a regular file (%s)", before.Mode().Type())
	}
	gen := new([]repo.ID)
	c.Reset(f)
	var read int64
	for {
		bp := pool.Get().(*[]byte)
		b, err := c.Next((*bp)[:0])
		if err == io.EOF {
			pool.Put(bp)
			break
		}
		if err != nil {
			pool.Put(bp)
			return gen, nil, read, err
		}
		*bp = b
		read += int64(len(b))
		// The budget counts what the buffer holds on to, its capacity.
		if err := sem.Acquire(ctx, min(int64(cap(b)), int64(a.budget()))); err != nil {
			return gen, nil, read, fatalError{err}
		}
		w.mu.Lock()
		*gen = append(*gen, repo.ID{})
		idx := len(*gen) - 1
		w.mu.Unlock()
		select {
		case out <- chunk{w: w, gen: gen, idx: idx, data: bp}:
		case <-ctx.Done():
			return gen, nil, read, fatalError{ctx.Err()}
		}
	}
	after, err := f.Stat()
	if err != nil {
		return gen, nil, read, err
	}
	if after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) || read != after.Size() {
		return gen, nil, read, nil
	}
	return gen, after, read, nil
}

// budget is the byte budget of chunks in flight.
func (a *archiver) budget() int {
	return (a.o.Readers + a.o.Savers) * a.r.ChunkerParams().Max
}

// saveTrees saves d's tree and those below it, bottom up, and returns d's
// tree ID.
func (a *archiver) saveTrees(ctx context.Context, d *dir) (repo.ID, error) {
	for k, sub := range d.children {
		i := d.childAt[k]
		if d.drop[i] {
			continue
		}
		id, err := a.saveTrees(ctx, sub)
		if err != nil {
			return repo.ID{}, err
		}
		d.tree.Nodes[i].Subtree = id
		switch {
		case sub.old == nil:
			a.st.dirsNew.Add(1)
		case sub.old.Subtree == id:
			a.st.dirsUnmodified.Add(1)
		default:
			a.st.dirsChanged.Add(1)
		}
	}
	kept := d.tree.Nodes[:0:0]
	for i, n := range d.tree.Nodes {
		if !d.drop[i] {
			kept = append(kept, n)
		}
	}
	t := tree.Tree{Nodes: kept}
	if err := t.Validate(); err != nil {
		return repo.ID{}, fmt.Errorf("backup: %s: %w", d.path, err)
	}
	b := tree.Encode(&t)
	id, added, stored, err := a.saveBlob(ctx, repo.TreeBlob, b)
	if err != nil {
		return repo.ID{}, fmt.Errorf("backup: save tree of %s: %w", d.path, err)
	}
	if added {
		a.st.treeBlobs.Add(1)
		a.st.treeAdded.Add(int64(len(b)))
		a.st.addedStored.Add(int64(stored))
	}
	return id, nil
}

func (a *archiver) stats(start time.Time) Stats {
	s := &a.st
	return Stats{
		StartTime: start, EndTime: time.Now(),
		Files: s.files.Load(), Dirs: s.dirs.Load(), SourceBytes: s.sourceBytes.Load(),
		FilesNew: s.filesNew.Load(), BytesNew: s.bytesNew.Load(),
		FilesChanged: s.filesChanged.Load(), BytesChanged: s.bytesChgd.Load(),
		FilesUnmodified: s.filesUnmodified.Load(), Deleted: s.deleted.Load(),
		DirsNew: s.dirsNew.Load(), DirsChanged: s.dirsChanged.Load(), DirsUnmodified: s.dirsUnmodified.Load(),
		BytesRead: s.bytesRead.Load(), DataBlobs: s.dataBlobs.Load(), TreeBlobs: s.treeBlobs.Load(),
		DataAdded: s.dataAdded.Load(), DataAddedChanged: s.dataAddedChanged.Load(),
		DataAddedStored: s.addedStored.Load(), TreeAdded: s.treeAdded.Load(),
		DedupBytes: s.dedup.Load(), Errors: s.errors.Load(), SkippedSpecial: s.special.Load(),
	}
}

// summary is the snapshot's record of s.
func summary(s Stats) repo.Summary {
	return repo.Summary{
		FilesNew: s.FilesNew, FilesChanged: s.FilesChanged, FilesUnmodified: s.FilesUnmodified,
		FilesDeleted: s.Deleted,
		DirsNew:      s.DirsNew, DirsChanged: s.DirsChanged, DirsUnmodified: s.DirsUnmodified,
		DataBlobs: s.DataBlobs, TreeBlobs: s.TreeBlobs,
		DataAdded: s.DataAdded + s.TreeAdded, DataAddedStored: s.DataAddedStored,
		TotalFiles: s.Files, TotalBytes: s.SourceBytes, Errors: s.Errors,
	}
}
