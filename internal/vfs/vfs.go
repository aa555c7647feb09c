package vfs

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"ferry/internal/backend"
	"ferry/internal/retry"
)

// DefaultDirCacheTime is how long a listing is used when Options leaves
// DirCacheTime zero (rclone's --dir-cache-time default).
const DefaultDirCacheTime = 5 * time.Minute

// DefaultRetryFailed is the first wait before a failed upload is retried
// in the background when Options leaves RetryFailed zero.
const DefaultRetryFailed = 30 * time.Second

// maxRetryFailedFactor bounds the background retry's wait: it doubles
// after each round with a failure, up to this many times RetryFailed.
const maxRetryFailedFactor = 8

// DefaultUploadAttempts is how many times an upload at close or fsync
// is tried when Options leaves UploadRetry.MaxAttempts zero.
const DefaultUploadAttempts = 3

// ErrReadOnly is returned for mutations of a read-only VFS.
var ErrReadOnly = errors.New("read-only file system")

// WriteBackNow as Options.WriteBack makes a close return once the file
// is journalled and starts its upload at once, in the background.
const WriteBackNow time.Duration = -1

// Options configure a VFS. The zero value is usable.
type Options struct {
	// Root is the backend directory served as the VFS's root ("" is the
	// backend's root); Node paths are backend paths below it.
	Root string
	// CacheDir holds the files being written and the journal of uploads
	// not finished yet, per backend (see doc.go). Empty means
	// DefaultCacheDir().
	CacheDir string
	// UploadRetry is the backoff of uploads at flush, fsync and release
	// and of journal replays. MaxAttempts zero means
	// DefaultUploadAttempts; the other fields' zero values are
	// retry.Policy's defaults (50 ms doubling to 5 s). The backend retries
	// transient failures within each attempt itself (MEGA: every chunk),
	// so a few attempts keep a close in an outage from blocking for
	// minutes; what still fails is journalled and retried in the
	// background (RetryFailed).
	UploadRetry retry.Policy
	// RetryFailed is how long the VFS waits before it tries again, in the
	// background, the uploads whose retries at release failed and the
	// journal replays that failed. The wait doubles after each round with
	// a failure, up to 8 times RetryFailed, and a round starts at once
	// when an upload succeeds (the backend works again). Zero means
	// DefaultRetryFailed (30 s).
	RetryFailed time.Duration
	// DirCacheTime is how long a directory listing is trusted; zero
	// means DefaultDirCacheTime.
	DirCacheTime time.Duration
	// CacheMaxSize bounds the block cache (bytes of file content kept on
	// disk under CacheDir, see doc.go "Reads"): least recently used files
	// are evicted beyond it, never files open now. Zero means
	// DefaultCacheMaxSize (1 GiB); negative turns the cache off, so reads
	// go straight to the backend.
	CacheMaxSize int64
	// WriteBack, when positive, makes closing a written file return once
	// its content and journal record are on disk (fsynced), and uploads it
	// WriteBack later in the background (rclone's --vfs-write-back): a
	// program writing many files waits for none of the uploads, and a file
	// rewritten within WriteBack is uploaded once. close(2) then cannot
	// report the upload's error: a failure is logged and retried like any
	// failed upload, the journal keeps the file across a crash, and Sync
	// (at unmount) uploads whatever is still waiting. Fsync still uploads
	// at once, and reports the upload's error. WriteBackNow starts the
	// background upload at the close. Zero uploads at every close, which
	// then waits for the upload and reports its error.
	WriteBack time.Duration
	// Transfers is how many uploads of waiting files run at once
	// (write-back, retries and Sync); zero means DefaultTransfers.
	Transfers int
	// ReadOnly refuses every mutation with ErrReadOnly.
	ReadOnly bool
	// Logger gets operators' messages; nil discards them.
	Logger *slog.Logger
}

// DefaultCacheDir is $XDG_CACHE_HOME/ferry/vfs (os.UserCacheDir), or a
// directory under the system's temporary directory without one.
func DefaultCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "ferry", "vfs")
	}
	return filepath.Join(os.TempDir(), "ferry-vfs")
}

// Change says what a FUSE layer should drop from the kernel's caches:
// the entry Name of directory Dir (when Name is not empty), and the
// attributes and pages of Node (when not nil).
type Change struct {
	Dir  *Node
	Name string
	Node *Node
}

// VFS is a tree of Nodes over a backend. It is safe for concurrent use.
type VFS struct {
	b    backend.Backend
	opts Options
	log  *slog.Logger
	area area // where write files and journal records go
	// cache is the block cache of reads; nil when Options turn it off.
	cache *blockCache
	// rootPath is Options.Root, cleaned.
	rootPath string

	mu       sync.Mutex       // guards the fields below and every Node's tree fields
	root     *Node            // +checklocks:mu
	byKey    map[string]*Node // +checklocks:mu; identity -> node, never shrinks
	nextIno  uint64           // +checklocks:mu
	onChange func(Change)     // +checklocks:mu
	// failed holds the released write files whose upload failed: they
	// stay on their nodes (n.w) and the retrier uploads them.
	failed map[*writeFile]bool // +checklocks:mu
	// due holds the write files among failed that wait for their
	// write-back (Options.WriteBack), with the time it is due; the
	// retrier leaves them to the write-back until then.
	due map[*writeFile]time.Time // +checklocks:mu
	// pending holds the journal records of earlier VFSs not replayed yet,
	// so unlink and rename can drop or retarget them.
	pending map[*replayJob]bool // +checklocks:mu

	crashBeforePut func() error  // tests: fails an upload after its journal record is written
	afterCreate    func(d *Node) // tests: runs as soon as Create made a file visible in d
	replayed       chan struct{} // closed when the journal replay has ended

	stop    context.CancelFunc
	wg      sync.WaitGroup // the watcher and refresher goroutines
	refresh chan struct{}  // a token: listings went stale
	wake    chan struct{}  // a token: an upload succeeded, retry the failed ones now
	wbWake  chan struct{}  // a token: a write file was queued for write-back
}

// DefaultTransfers is Options.Transfers' default, the transfers of
// ferry copy.
const DefaultTransfers = 4

// New returns a VFS over b. When b is a backend.ChangeNotifier, it
// watches b until Close. ctx bounds only New's own work.
func New(ctx context.Context, b backend.Backend, o Options) (*VFS, error) {
	if o.UploadRetry.MaxAttempts == 0 {
		o.UploadRetry.MaxAttempts = DefaultUploadAttempts
	}
	if o.DirCacheTime == 0 {
		o.DirCacheTime = DefaultDirCacheTime
	}
	if o.CacheDir == "" {
		o.CacheDir = DefaultCacheDir()
	}
	if o.RetryFailed <= 0 {
		o.RetryFailed = DefaultRetryFailed
	}
	if o.Transfers <= 0 {
		o.Transfers = DefaultTransfers
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rootPath, err := backend.Clean(o.Root)
	if err != nil {
		return nil, err
	}
	root, err := b.Stat(ctx, rootPath)
	if err != nil {
		return nil, err
	}
	if !root.IsDir {
		return nil, &backend.PathError{Op: "mount", Backend: b.String(), Err: backend.ErrNotDir}
	}
	v := &VFS{b: b, opts: o, log: log, rootPath: rootPath, byKey: map[string]*Node{}, nextIno: 1,
		failed: map[*writeFile]bool{}, due: map[*writeFile]time.Time{}, wbWake: make(chan struct{}, 1), pending: map[*replayJob]bool{}, refresh: make(chan struct{}, 1), wake: make(chan struct{}, 1)}
	jobs, err := v.openArea()
	if err != nil {
		return nil, err
	}
	if o.CacheMaxSize >= 0 {
		max := o.CacheMaxSize
		if max == 0 {
			max = DefaultCacheMaxSize
		}
		if v.cache, err = openBlockCache(b, BackendCacheDir(o.CacheDir, b), max); err != nil {
			v.closeArea()
			return nil, err
		}
	}
	root.Path = rootPath
	v.root = v.nodeFor(root, nil, "")
	wctx, stop := context.WithCancel(context.Background())
	v.stop = stop
	if cn, ok := b.(backend.ChangeNotifier); ok {
		v.wg.Add(2)
		go v.watch(wctx, cn)
		go v.refresher(wctx)
	}
	v.replayed = make(chan struct{})
	v.wg.Add(1)
	go v.retrier(wctx)
	if o.WriteBack != 0 {
		v.wg.Add(1)
		go v.writeBacker(wctx)
	}
	if len(jobs) > 0 {
		log.Info("vfs: replaying journalled uploads in the background", "count", len(jobs))
		v.addPending(jobs)
		v.wg.Add(1)
		go v.replay(wctx, jobs)
	} else {
		close(v.replayed)
	}
	return v, nil
}

// Backend returns the backend the VFS is over.
func (v *VFS) Backend() backend.Backend { return v.b }

// Root returns the root directory.
func (v *VFS) Root() *Node {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.root
}

// ParallelReads reports whether reads of one file may come in any order
// and at once without weakening verification: true with the block
// cache, which checks a file read whole in any order. Without it only a
// whole read that comes in order, one read at a time, is verified.
func (v *VFS) ParallelReads() bool { return v.cache != nil }

// ReadOnly reports whether mutations are refused.
func (v *VFS) ReadOnly() bool { return v.opts.ReadOnly }

// OnChange sets the function told of outside changes (see Change). It is
// called from one goroutine at a time, never with a VFS lock held.
func (v *VFS) OnChange(fn func(Change)) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.onChange = fn
}

// Close stops watching the backend, replaying the journal and retrying
// failed uploads, and removes the data of files never flushed;
// journalled uploads stay for the next VFS (Sync first tries them once
// more). Handles still open fail afterwards.
func (v *VFS) Close() error {
	v.stop()
	v.wg.Wait()
	v.closeFailed()
	if v.cache != nil {
		v.cache.close()
	}
	return v.closeArea()
}

// watch runs the backend's ChangeNotify until ctx ends, restarting it
// after a failure.
func (v *VFS) watch(ctx context.Context, cn backend.ChangeNotifier) {
	defer v.wg.Done()
	for {
		err := cn.ChangeNotify(ctx, v.changed)
		if ctx.Err() != nil {
			return
		}
		v.log.Warn("vfs: watching for changes failed; listings are refreshed after --dir-cache-time until it works again", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
}

// changed is the ChangeNotify callback: it marks listings stale and
// wakes the refresher. It never blocks.
func (v *VFS) changed(dirs []string) {
	v.mu.Lock()
	if dirs == nil {
		for _, n := range v.byKey {
			n.stale = true
		}
	} else {
		for _, d := range dirs {
			for _, n := range v.byKey {
				if n.entry.IsDir && n.entry.Path == d {
					n.stale = true
				}
			}
		}
	}
	v.mu.Unlock()
	select {
	case v.refresh <- struct{}{}:
	default:
	}
}

// refresher lists the stale cached directories again and reports the
// differences to the OnChange function.
func (v *VFS) refresher(ctx context.Context) {
	defer v.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-v.refresh:
		}
		v.mu.Lock()
		var dirs []*Node
		for _, n := range v.byKey {
			if n.entry.IsDir && n.children != nil && n.stale && !n.gone {
				dirs = append(dirs, n)
			}
		}
		v.mu.Unlock()
		var changes []Change
		for _, d := range dirs {
			c, err := v.list(ctx, d)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				v.log.Debug("vfs: refresh listing", "dir", d.Path(), "err", err)
				continue
			}
			changes = append(changes, c...)
		}
		v.mu.Lock()
		fn := v.onChange
		v.mu.Unlock()
		if fn != nil {
			for _, c := range changes {
				fn(c)
			}
		}
	}
}

// key is the identity of an entry: its ID when it has one, else its path.
func key(e backend.Entry) string {
	if e.ID != "" {
		return "id:" + e.ID
	}
	return "path:" + e.Path
}

// nodeFor returns the node of e, made or updated, under parent with the
// shown name. The caller holds v.mu.
func (v *VFS) nodeFor(e backend.Entry, parent *Node, name string) *Node {
	k := key(e)
	n := v.byKey[k]
	if n == nil {
		n = &Node{v: v, ino: v.nextIno}
		v.nextIno++
		v.byKey[k] = n
	}
	n.entry, n.parent, n.name, n.gone, n.local = e, parent, name, false, false
	return n
}

// rekey records that n's identity changed from old to n.entry's (a new
// object after an upload, a path-keyed node renamed). The caller holds
// v.mu.
func (v *VFS) rekey(n *Node, old string) {
	if k := key(n.entry); k != old {
		if v.byKey[old] == n {
			delete(v.byKey, old)
		}
		v.byKey[k] = n
	}
}

// perr wraps err for the VFS's path p.
func (v *VFS) perr(op, p string, err error) error {
	var pe *backend.PathError
	if errors.As(err, &pe) {
		return err
	}
	return &backend.PathError{Op: op, Backend: v.b.String(), Path: p, Err: err}
}

// readOnly returns ErrReadOnly for op on p when the VFS is read-only.
func (v *VFS) readOnly(op, p string) error {
	if v.opts.ReadOnly {
		return v.perr(op, p, ErrReadOnly)
	}
	return nil
}

// Statfs reports the backend's usage (backend.About); errors.ErrUnsupported
// when the backend cannot tell.
func (v *VFS) Statfs(ctx context.Context) (backend.Usage, error) {
	return backend.About(ctx, v.b)
}

var _ = fs.ErrNotExist
