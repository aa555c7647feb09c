package transfer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"ferry/internal/backend"
	"ferry/internal/retry"
)

// mode is what a run does with the files it copies.
type mode int

const (
	modeCopy mode = iota // copy new and changed files
	modeSync             // copy, then delete extraneous destination files
	modeMove             // copy, deleting each source after its copy
)

// Copy copies the files under src into dst, skipping files the
// destination already has (see the package doc's Decisions). When src is
// a file it is copied into the directory dst.
func Copy(ctx context.Context, src, dst Location, opts Options) error {
	return runTree(ctx, modeCopy, src, dst, opts)
}

// Sync makes dst like src: it copies like Copy and then, if nothing
// failed, deletes destination files that src lacks and the directories
// they leave empty. Files the filter excludes are neither copied nor
// deleted.
func Sync(ctx context.Context, src, dst Location, opts Options) error {
	return runTree(ctx, modeSync, src, dst, opts)
}

// Move moves the files under src into dst: each source file is deleted
// once its copy is verified (or is already identical at the
// destination). Within one backend instance with backend.Mover, files are
// moved without copying data. Source directories are left in place.
func Move(ctx context.Context, src, dst Location, opts Options) error {
	return runTree(ctx, modeMove, src, dst, opts)
}

// CopyFile copies the file src to the file path dst (rclone's copyto),
// unless the destination is already identical.
func CopyFile(ctx context.Context, src, dst Location, opts Options) error {
	return runFile(ctx, modeCopy, src, dst, opts)
}

// MoveFile moves the file src to the file path dst (rclone's moveto).
func MoveFile(ctx context.Context, src, dst Location, opts Options) error {
	return runFile(ctx, modeMove, src, dst, opts)
}

// job is one file to copy or move.
type job struct {
	rel     string         // for reports
	src     backend.Entry  // source file (Path within the source backend)
	dst     *backend.Entry // existing destination file, or nil
	dstPath string         // destination path within its backend
}

// engine is the state of one Copy, Sync or Move run.
type engine struct {
	mode     mode
	src, dst Location
	opts     Options
	stats    *Stats
	log      *slog.Logger
	debug    bool // log is enabled at debug level (saves boxing per file)
	cmp      comparer
	mover    backend.Mover         // move within one backend instance; nil otherwise
	setter   backend.ModTimeSetter // the destination's, or nil

	fpWarn sync.Once // the warning that --checksum found no fingerprints
	cut    *cutoff   // MaxTransfer and MaxDuration; nil without them

	sf syncFlags // the state of the sync-semantics options (syncflags.go)

	mu       sync.Mutex
	nerr     int             // +checklocks:mu
	firstErr error           // +checklocks:mu
	extra    []backend.Entry // +checklocks:mu; sync: destination files to delete
	extraDir []string        // +checklocks:mu; sync: destination dirs to remove
}

// newEngine prepares a run: stats, logger, comparison options and the
// optional capabilities of the destination (and of a shared backend).
func newEngine(m mode, src, dst Location, opts Options) *engine {
	e := &engine{mode: m, src: src, dst: dst, opts: opts, stats: opts.Stats, log: loggerOr(opts.Logger)}
	if e.stats == nil {
		e.stats = new(Stats)
	}
	if opts.DryRun {
		e.stats.dryRun.Store(true)
	}
	e.stats.begin()
	e.debug = e.log.Enabled(context.Background(), slog.LevelDebug)
	e.setter, _ = dst.Backend.(backend.ModTimeSetter)
	e.cmp = newComparer(src.Backend, dst.Backend, compareOptions{
		checksum:       opts.Checksum,
		sizeOnly:       opts.SizeOnly,
		ignoreExisting: opts.IgnoreExisting,
		update:         opts.Update,
		ignoreTimes:    opts.IgnoreTimes,
		canSetModTime:  e.setter != nil,

		noUpdateModTime: opts.NoUpdateModTime,
	})
	if m == modeMove && sameBackend(src.Backend, dst.Backend) {
		e.mover, _ = src.Backend.(backend.Mover)
	}
	e.initSyncFlags()
	return e
}

// runTree runs a Copy, Sync or Move of the directory src.
func runTree(ctx context.Context, m mode, src, dst Location, opts Options) error {
	st, err := src.Backend.Stat(ctx, src.Path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("source %s: %w: %w", src, ErrDirNotFound, err)
		}
		return err
	}
	e := newEngine(m, src, dst, opts)
	if err := e.checkBackupDir(true); err != nil {
		return err
	}
	ctx, listCtx, stop := e.startCutoff(ctx)
	defer stop()
	if !st.IsDir {
		// rclone copies a single source file into the destination dir.
		return e.cut.finish(e.runFile(ctx, st, backend.Join(dst.Path, st.Name())))
	}
	if sameBackend(src.Backend, dst.Backend) && overlaps(src.Path, dst.Path) {
		return fmt.Errorf("%s and %s: %w", src, dst, ErrOverlap)
	}
	if m == modeSync && e.opts.DeleteMode == DeleteBefore {
		if err := e.deleteBefore(ctx); err != nil {
			return err
		}
		if e.deletesRefused() {
			return e.result() // fatal, as in rclone: nothing is copied
		}
	}

	// The listing runs up to MaxBacklog files ahead of the transfers, so
	// the totals are known early (the queue holds entries, not data).
	jobs := make(chan job, e.opts.maxBacklog())
	var workers errgroup.Group
	for range e.opts.transfers() {
		workers.Go(func() error {
			for j := range jobs {
				if ctx.Err() == nil {
					e.do(ctx, j)
				}
			}
			return nil
		})
	}
	enqueue := func(ctx context.Context, j job) {
		e.stats.queue(j.src.Size)
		select {
		case jobs <- j:
		case <-ctx.Done():
		}
	}
	mr := e.newMarcher(func(ctx context.Context, rel string, s, d *backend.Entry) {
		e.pair(ctx, rel, "", s, d, enqueue)
	})
	err = mr.run(listCtx)
	if err == nil {
		e.trackRenames(ctx, enqueue)
	}
	close(jobs)
	_ = workers.Wait()
	if err != nil {
		return e.cut.finish(err)
	}
	if err := ctx.Err(); err != nil {
		return e.cut.finish(err)
	}
	if m == modeSync && e.opts.DeleteMode != DeleteBefore {
		if err := e.deleteExtraneous(ctx); err != nil {
			return e.cut.finish(err)
		}
	}
	return e.cut.finish(e.result())
}

// runFile runs a CopyFile or MoveFile.
func runFile(ctx context.Context, m mode, src, dst Location, opts Options) error {
	st, err := src.Backend.Stat(ctx, src.Path)
	if err != nil {
		return err
	}
	if st.IsDir {
		return fmt.Errorf("source %s: %w", src, backend.ErrIsDir)
	}
	e := newEngine(m, src, dst, opts)
	if err := e.checkBackupDir(false); err != nil {
		return err
	}
	ctx, _, stop := e.startCutoff(ctx)
	defer stop()
	return e.cut.finish(e.runFile(ctx, st, dst.Path))
}

// runFile copies or moves the source file st to dstPath.
func (e *engine) runFile(ctx context.Context, st backend.Entry, dstPath string) error {
	if sameBackend(e.src.Backend, e.dst.Backend) && st.Path == dstPath {
		// Moving a file onto itself would find it "identical" and delete
		// the only copy.
		return fmt.Errorf("%s and %s: %w", e.src, e.dst, ErrOverlap)
	}
	rel := path.Base(dstPath)
	if dstPath == "" {
		rel = st.Name()
	}
	if !e.opts.Filter.Include(st.Name(), st.Size, st.ModTime) {
		e.log.Debug("excluded by filter", logKeyPath, rel)
		return nil
	}
	var dst *backend.Entry
	switch de, err := e.dst.Backend.Stat(ctx, dstPath); {
	case err == nil:
		dst = &de
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	e.pair(ctx, rel, dstPath, &st, dst, func(ctx context.Context, j job) {
		e.stats.queue(j.src.Size)
		e.do(ctx, j)
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	return e.result()
}

// pair decides about one name: s and d are the source and destination
// entries (either may be nil, not both directories). dstPath is the
// destination path, or "" for rel under the destination root (computed
// only when needed: most pairs of a big sync need none).
func (e *engine) pair(ctx context.Context, rel, dstPath string, s, d *backend.Entry, enqueue func(context.Context, job)) {
	if dstPath == "" && (d == nil || !d.IsDir) {
		if d != nil {
			dstPath = d.Path
		} else {
			dstPath = e.dst.path(rel)
		}
	}
	switch {
	case s == nil:
		if e.mode == modeSync {
			e.extraneous(ctx, *d)
		}
		return
	case s.IsDir:
		e.fail(rel, fmt.Errorf("can't replace file %s with a directory", e.dst.path(rel)))
		return
	case d != nil && d.IsDir:
		e.fail(rel, fmt.Errorf("can't replace directory %s with a file", d.Path))
		return
	case d == nil:
		j := job{rel: rel, src: *s, dstPath: dstPath}
		if !e.holdForRenames(j) {
			enqueue(ctx, j)
		}
		return
	}
	e.stats.totalChecks.Add(1)
	dec, reason, err := e.cmp.compare(ctx, *s, *d)
	if err != nil {
		e.stats.checks.Add(1)
		e.fail(rel, err)
		return
	}
	if reason == reasonNoFingerprints {
		e.fpWarn.Do(func() {
			e.log.Warn("--checksum: neither side has fingerprints, comparing sizes only")
		})
	}
	e.stats.checks.Add(1)
	switch dec {
	case decSkip:
		if e.debug {
			e.log.Debug("unchanged", logKeyPath, rel, logKeyReason, reason)
		}
		if e.mode == modeMove {
			e.removeSource(ctx, rel, *s, "destination identical")
		}
	case decSetModTime:
		e.setModTime(ctx, rel, dstPath, *s)
		if e.mode == modeMove {
			e.removeSource(ctx, rel, *s, "destination identical")
		}
	default:
		if e.opts.Immutable {
			e.fail(rel, fmt.Errorf("source and destination exist but do not match (%s): %w", reason, ErrImmutableModified))
			return
		}
		if e.debug {
			e.log.Debug("needs copying", logKeyPath, rel, logKeyReason, reason)
		}
		enqueue(ctx, job{rel: rel, src: *s, dst: d, dstPath: dstPath})
	}
}

// do carries out one job: copy or move a file.
func (e *engine) do(ctx context.Context, j job) {
	reason := "new"
	if j.dst != nil {
		reason = "replaced existing"
	}
	act := Copied
	if e.mode == modeMove {
		act = Moved
	}
	if !e.cut.admit(j.src.Size) {
		if e.debug {
			e.log.Debug("not started", logKeyPath, j.rel, logKeyReason, e.cut.stopped())
		}
		return
	}
	if e.opts.DryRun {
		t := e.stats.startTransfer(j.rel, j.src.Size)
		e.stats.addBytes(t, j.src.Size)
		e.stats.endTransfer(t, true)
		e.report(Event{Action: act, Path: j.rel, Size: j.src.Size, Reason: reason, DryRun: true})
		return
	}
	if j.dst != nil && e.backingUp() {
		if err := e.backup(ctx, *j.dst); err != nil {
			e.fail(j.rel, fmt.Errorf("not replacing the destination: %w", err))
			return
		}
		e.log.Info("Moved into backup dir", logKeyPath, j.rel)
	}
	if e.mover != nil {
		t := e.stats.startTransfer(j.rel, j.src.Size)
		moved, err := e.mover.Move(ctx, j.src.Path, j.dstPath)
		if err == nil && !moved.IsDir && moved.Size != j.src.Size {
			err = fmt.Errorf("moved file has size %d, want %d", moved.Size, j.src.Size)
		}
		if err != nil {
			e.stats.endTransfer(t, false)
			e.fail(j.rel, fmt.Errorf("move: %w", err))
			return
		}
		e.stats.addBytes(t, j.src.Size)
		e.stats.endTransfer(t, true)
		e.stats.renames.Add(1)
		e.report(Event{Action: Moved, Path: j.rel, Size: j.src.Size, Reason: "server-side"})
		return
	}
	var got backend.Entry
	policy := e.opts.retryPolicy()
	policy.Op = opTransfer
	ctx = e.stats.ObserveRetries(ctx, e.log, j.rel)
	err := retry.Do(ctx, policy, func(ctx context.Context) error {
		var err error
		got, err = e.copyFile(ctx, j)
		return err
	})
	if err != nil && ctx.Err() != nil && e.cut.stopped() != nil {
		// Cut by a hard cutoff: not a failure, the run reports the limit.
		e.log.Debug("transfer cut", logKeyPath, j.rel, logKeyReason, e.cut.stopped())
		return
	}
	if err != nil {
		e.fail(j.rel, err)
		return
	}
	if e.mode != modeMove {
		e.report(Event{Action: Copied, Path: j.rel, Size: j.src.Size, Reason: reason})
		return
	}
	if err := e.verify(ctx, j.src, got); err != nil {
		e.fail(j.rel, fmt.Errorf("not deleting the source: %w", err))
		return
	}
	if err := e.src.Backend.Remove(ctx, j.src.Path); err != nil {
		e.fail(j.rel, fmt.Errorf("copied, but deleting the source failed: %w", err))
		return
	}
	e.report(Event{Action: Moved, Path: j.rel, Size: j.src.Size, Reason: reason})
}

// copyFile streams j's source into the destination with the source mtime.
func (e *engine) copyFile(ctx context.Context, j job) (backend.Entry, error) {
	t := e.stats.startTransfer(j.rel, j.src.Size)
	ok := false
	defer func() { e.stats.endTransfer(t, ok) }()
	// The listed entry, by its identity: a name that several objects
	// share (MEGA) never gives the bytes of one and the size of another.
	rc, err := backend.OpenEntry(ctx, e.src.Backend, j.src, 0, -1)
	if err != nil {
		return backend.Entry{}, err
	}
	// ExactReader refuses a stream longer or shorter than the listing
	// and asks the source for its end before the last byte goes out, so
	// a verification failure there reaches every destination's Put.
	ar := &accountingReader{r: backend.ExactReader(rc, j.src.Size), done: ctx.Done(), stats: e.stats, t: t, limiter: e.opts.Limiter, cut: e.cut}
	got, err := e.dst.Backend.Put(ctx, j.dstPath, ar, j.src.Size, j.src.ModTime)
	if cerr := rc.Close(); err == nil && cerr != nil {
		err = cerr // a failure the source reported only at Close
	}
	if err != nil {
		return got, err
	}
	if ar.n != j.src.Size {
		return got, fmt.Errorf("source yielded %d bytes, want %d: %w", ar.n, j.src.Size, backend.ErrSizeMismatch)
	}
	if got.Size != j.src.Size {
		return got, fmt.Errorf("destination has %d bytes after the copy, want %d", got.Size, j.src.Size)
	}
	ok = true
	return got, nil
}

// verify checks a finished copy before its source is deleted: sizes, and
// fingerprints when either side has one (reading at most 8 KiB).
func (e *engine) verify(ctx context.Context, src, got backend.Entry) error {
	if got.Size != src.Size {
		return fmt.Errorf("destination has %d bytes, want %d", got.Size, src.Size)
	}
	if src.Fingerprint == "" && got.Fingerprint == "" {
		return nil
	}
	same, err := e.cmp.fp.equal(ctx, src, got)
	if err != nil {
		return err
	}
	if !same {
		return errors.New("fingerprints of source and copy differ")
	}
	return nil
}

// removeSource deletes a moved file's source whose destination is already
// identical.
func (e *engine) removeSource(ctx context.Context, rel string, s backend.Entry, reason string) {
	if !e.opts.DryRun {
		if err := ctx.Err(); err != nil {
			return
		}
		if err := e.src.Backend.Remove(ctx, s.Path); err != nil {
			e.fail(rel, fmt.Errorf("delete source: %w", err))
			return
		}
	}
	e.stats.deletes.Add(1)
	e.report(Event{Action: Deleted, Path: rel, Size: s.Size, Reason: "source, " + reason, DryRun: e.opts.DryRun})
}

// setModTime gives the destination the source mtime without copying.
func (e *engine) setModTime(ctx context.Context, rel, dstPath string, s backend.Entry) {
	if !e.opts.DryRun {
		if err := e.setter.SetModTime(ctx, dstPath, s.ModTime); err != nil {
			e.fail(rel, fmt.Errorf("set mtime: %w", err))
			return
		}
	}
	e.stats.modTimes.Add(1)
	e.report(Event{Action: ModTimeUpdated, Path: rel, Size: s.Size, DryRun: e.opts.DryRun})
}

// deleteExtraneous deletes the destination files and directories sync
// found only there, after all transfers and only if nothing failed.
func (e *engine) deleteExtraneous(ctx context.Context) error {
	e.mu.Lock()
	extra, dirs, nerr := e.extra, e.extraDir, e.nerr
	e.mu.Unlock()
	if len(extra) == 0 && len(dirs) == 0 {
		return nil
	}
	if nerr > 0 {
		// rclone's words: scripts grep for them.
		e.log.Error("not deleting files as there were IO errors", logKeyCount, len(extra)+len(dirs))
		return nil
	}
	if why := e.cut.stopped(); why != nil {
		e.log.Warn("not deleting files as the run stopped early", logKeyCount, len(extra), logKeyReason, why)
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.opts.transfers())
	for _, d := range extra {
		g.Go(func() error {
			e.deleteFile(gctx, d)
			return gctx.Err()
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if e.deletesRefused() {
		return nil // --max-delete: the directories stay too
	}
	// Deepest first, so parents are empty when their turn comes.
	slices.SortFunc(dirs, func(a, b string) int {
		if c := cmp.Compare(strings.Count(b, "/"), strings.Count(a, "/")); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	for _, rel := range dirs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !e.opts.DryRun {
			if err := e.dst.Backend.Rmdir(ctx, e.dst.path(rel)); err != nil {
				// Files the filter hid, or a failed delete, keep it.
				e.log.Debug("directory not removed", logKeyPath, rel, logKeyError, err)
				continue
			}
		}
		e.stats.deletedDirs.Add(1)
		e.report(Event{Action: RemovedDir, Path: rel, DryRun: e.opts.DryRun})
	}
	return nil
}

// fail records a failure on rel; an operation cancelled because the run
// stopped at a limit is no failure.
func (e *engine) fail(rel string, err error) {
	if e.cut.cancelled(err) {
		e.log.Debug("stopped", logKeyPath, rel, logKeyReason, e.cut.stopped(), logKeyError, err)
		return
	}
	e.stats.addError(err)
	e.mu.Lock()
	e.nerr++
	if e.firstErr == nil {
		e.firstErr = fmt.Errorf("%s: %w", rel, err)
	}
	e.mu.Unlock()
	e.log.Debug("failed", logKeyPath, rel, logKeyError, err)
	e.report(Event{Action: Failed, Path: rel, Err: err})
}

// report passes ev to Options.Report, if set.
func (e *engine) report(ev Event) {
	if e.opts.Report != nil {
		e.opts.Report(ev)
	}
}

// result is the run's error: nil, or a *RunError.
func (e *engine) result() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.nerr == 0 {
		return nil
	}
	return &RunError{Errors: e.nerr, First: e.firstErr}
}

// relTo returns p relative to dir (contract form).
func relTo(dir, p string) string {
	if dir == "" {
		return p
	}
	return strings.TrimPrefix(strings.TrimPrefix(p, dir), "/")
}

// accountingReader counts the bytes a transfer reads and applies the
// bandwidth limit. It holds ctx's Done channel (not ctx) for the one Put
// call it serves.
type accountingReader struct {
	r       io.Reader
	done    <-chan struct{}
	stats   *Stats
	t       *inflight
	limiter *DirLimiter
	cut     *cutoff // counts the bytes against MaxTransfer; may be nil
	n       int64   // bytes read so far
}

// Read implements io.Reader. Under a hard MaxTransfer it reads no byte
// past the limit (a file that ends at it still sees its end).
func (a *accountingReader) Read(p []byte) (int, error) {
	if room := a.cut.room(); room >= 0 && a.n < a.t.size {
		if room == 0 {
			return 0, ErrMaxTransfer
		}
		if int64(len(p)) > room {
			p = p[:room]
		}
	}
	n, err := a.r.Read(p)
	if n > 0 {
		a.n += int64(n)
		a.cut.add(n)
		a.stats.addBytes(a.t, int64(n))
		if !a.limiter.wait(a.done, n) {
			return n, context.Canceled
		}
	}
	return n, err
}
