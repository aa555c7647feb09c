package transfer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"
	"sync/atomic"

	"ferry/internal/backend"
)

// This file holds the engine's part of rclone's sync-semantics flags:
// the delete modes and --max-delete, --backup-dir and --suffix,
// --track-renames, --create-empty-src-dirs (decide.go has --update and
// --ignore-times, march.go --no-traverse and --delete-excluded).

// DeleteMode is when a sync deletes the destination's extraneous files.
type DeleteMode int

// Delete modes (rclone's --delete-after, --delete-before, --delete-during).
const (
	DeleteAfter  DeleteMode = iota // after every transfer, and only if nothing failed
	DeleteBefore                   // in a first pass over both trees, before any transfer
	DeleteDuring                   // as the walk finds them, while files transfer
)

// RenameStrategy is --track-renames-strategy: what, besides its size, a
// source-only file must share with an extraneous destination file to be
// taken for it, renamed. It is a set of the Rename values; the zero value
// means RenameHash.
type RenameStrategy uint8

// Rename strategies (rclone's hash, modtime and leaf).
const (
	// RenameHash: the same content, by MEGA fingerprint confirmed by the
	// whole file's MAC where one side can compute it; by the mtime where
	// neither side has fingerprints.
	RenameHash    RenameStrategy = 1 << iota
	RenameModTime                // the same modification time, within the modify window
	RenameLeaf                   // the same file name (in another directory)
)

// ParseRenameStrategy parses rclone's --track-renames-strategy: "hash",
// "modtime", "leaf" or several joined by commas ("modtime,leaf").
func ParseRenameStrategy(s string) (RenameStrategy, error) {
	var st RenameStrategy
	for name := range strings.SplitSeq(s, ",") {
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "hash":
			st |= RenameHash
		case "modtime":
			st |= RenameModTime
		case "leaf":
			st |= RenameLeaf
		default:
			return 0, fmt.Errorf("unknown track-renames strategy %q: want hash, modtime or leaf, or several joined by commas", name)
		}
	}
	return st, nil
}

// ErrImmutableModified is the failure of a file --immutable forbids
// replacing.
var ErrImmutableModified = errors.New("immutable file modified")

// ErrMaxDelete is the failure of the first deletion over --max-delete. It
// is fatal (exit code 7), as in rclone.
var ErrMaxDelete error = maxDeleteError{}

type maxDeleteError struct{}

func (maxDeleteError) Error() string { return "--max-delete threshold reached" }
func (maxDeleteError) Fatal() bool   { return true }

// syncFlags is the engine's state for the options in this file.
type syncFlags struct {
	renamer  backend.Mover // the destination's server-side move, or nil
	tracking bool          // --track-renames is in effect

	mu   sync.Mutex
	held []job // +checklocks:mu; source-only files waiting for a rename match

	deletes       atomic.Int64 // deletions attempted, counted against MaxDelete
	refused       atomic.Bool  // MaxDelete was reached
	duringWarn    sync.Once    // DeleteDuring's "not deleting" message
	deletedBefore bool         // DeleteBefore's pass is done: the main pass deletes nothing
}

// initSyncFlags checks which options apply to this run, as rclone does.
func (e *engine) initSyncFlags() {
	e.sf.renamer, _ = e.dst.Backend.(backend.Mover)
	if e.opts.TrackRenames {
		switch {
		case e.mode != modeSync:
			e.log.Error("Ignoring --track-renames as it doesn't work with copy or move, only sync")
		case e.sf.renamer == nil:
			e.log.Error("Ignoring --track-renames as the destination can't move files server-side")
		default:
			e.sf.tracking = true
			e.opts.DeleteMode = DeleteAfter // the matches need every deletion candidate
		}
	}
	if e.opts.NoTraverse && e.mode == modeSync {
		e.log.Error("Ignoring --no-traverse with sync")
		e.opts.NoTraverse = false
	}
}

// newMarcher is the run's marcher, calling handle for each pair.
func (e *engine) newMarcher(handle pairHandler) *marcher {
	m := &marcher{
		src: e.src, dst: e.dst, filter: e.opts.Filter, checkers: e.opts.checkers(), log: e.log,
		dstOnlyDirs: e.mode == modeSync,
		handle:      handle,
		listErr:     func(rel string, err error) { e.fail(rel, fmt.Errorf("list: %w", err)) },
		dirOnlyOnDst: func(rel string) {
			if e.sf.deletedBefore {
				return
			}
			e.mu.Lock()
			e.extraDir = append(e.extraDir, rel)
			e.mu.Unlock()
		},
		noTraverse:     e.opts.NoTraverse,
		deleteExcluded: e.mode == modeSync && e.opts.DeleteExcluded,
		hideDst:        e.backupInDst(e.dst.Path),
	}
	if e.opts.CreateEmptySrcDirs {
		m.dirOnlyOnSrc = e.makeDir
	}
	return m
}

// deleteBefore is DeleteBefore's first pass: it walks both trees only to
// find and delete the extraneous files and directories.
func (e *engine) deleteBefore(ctx context.Context) error {
	m := e.newMarcher(func(ctx context.Context, _ string, s, d *backend.Entry) {
		if s == nil {
			e.extraneous(ctx, *d)
		}
	})
	m.dirOnlyOnSrc = nil
	if err := m.run(ctx); err != nil {
		return err
	}
	if err := e.deleteExtraneous(ctx); err != nil {
		return err
	}
	e.mu.Lock()
	e.extra, e.extraDir = nil, nil
	e.mu.Unlock()
	e.sf.deletedBefore = true
	return nil
}

// extraneous handles the destination file d that the source lacks: kept
// for deletion after the transfers, or deleted now (DeleteDuring).
func (e *engine) extraneous(ctx context.Context, d backend.Entry) {
	switch {
	case e.sf.deletedBefore:
	case e.opts.DeleteMode == DeleteDuring:
		if e.errorCount() > 0 {
			e.sf.duringWarn.Do(func() {
				e.log.Error("not deleting files as there were IO errors")
			})
			return
		}
		e.deleteFile(ctx, d)
	default:
		e.mu.Lock()
		e.extra = append(e.extra, d)
		e.mu.Unlock()
	}
}

// errorCount is the number of failures so far.
func (e *engine) errorCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.nerr
}

// deleteFile deletes the extraneous destination file d, or moves it
// into the backup directory, unless MaxDelete is reached.
func (e *engine) deleteFile(ctx context.Context, d backend.Entry) {
	if ctx.Err() != nil {
		return
	}
	rel := relTo(e.dst.Path, d.Path)
	if e.opts.LimitDeletes && e.sf.deletes.Add(1) > int64(e.opts.MaxDelete) {
		if !e.sf.refused.Swap(true) {
			e.fail(rel, ErrMaxDelete)
		}
		return
	}
	reason := ""
	if e.backingUp() {
		reason = "moved into backup dir"
	}
	if !e.opts.DryRun {
		var err error
		if e.backingUp() {
			err = e.backup(ctx, d)
		} else {
			err = e.dst.Backend.Remove(ctx, d.Path)
		}
		if err != nil {
			if ctx.Err() == nil {
				e.fail(rel, fmt.Errorf("delete: %w", err))
			}
			return
		}
	}
	e.stats.deletes.Add(1)
	e.report(Event{Action: Deleted, Path: rel, Size: d.Size, Reason: reason, DryRun: e.opts.DryRun})
}

// deletesRefused reports whether MaxDelete stopped the deletions.
func (e *engine) deletesRefused() bool { return e.sf.refused.Load() }

// backingUp reports whether replaced and deleted files are kept
// (BackupDir or Suffix).
func (e *engine) backingUp() bool { return e.opts.BackupDir != "" || e.opts.Suffix != "" }

// backupPath is where the destination file p is kept: under BackupDir at
// its path relative to the destination (its name, for a single-file
// run), or beside itself, with Suffix.
func (e *engine) backupPath(p string) string {
	if b := e.opts.BackupDir; b != "" {
		rel := relTo(e.dst.Path, p)
		if rel == "" || !strings.HasPrefix(p, e.dst.Path) {
			rel = path.Base(p)
		}
		p = joinClean(b, rel)
	}
	return withSuffix(p, e.opts.Suffix, e.opts.SuffixKeepExtension)
}

// withSuffix appends suffix to p's name, before its extension with
// keepExt ("a/b.txt", "-1" gives "a/b-1.txt").
func withSuffix(p, suffix string, keepExt bool) string {
	if suffix == "" {
		return p
	}
	if keepExt {
		// A dot file's name (".bashrc") is no extension.
		if name := path.Base(p); path.Ext(name) != "" && path.Ext(name) != name {
			ext := path.Ext(name)
			return p[:len(p)-len(ext)] + suffix + ext
		}
	}
	return p + suffix
}

// backup moves the destination file d to its backupPath: server-side
// when the destination can, else copied within it and deleted. An older
// backup there is replaced.
func (e *engine) backup(ctx context.Context, d backend.Entry) error {
	to := e.backupPath(d.Path)
	if e.sf.renamer != nil {
		_, err := e.sf.renamer.Move(ctx, d.Path, to)
		if err == nil || !errors.Is(err, errors.ErrUnsupported) {
			if err != nil {
				return fmt.Errorf("back up to %s: %w", to, err)
			}
			return nil
		}
	}
	rc, err := backend.OpenEntry(ctx, e.dst.Backend, d, 0, -1)
	if err != nil {
		return fmt.Errorf("back up to %s: %w", to, err)
	}
	_, err = e.dst.Backend.Put(ctx, to, backend.ExactReader(rc, d.Size), d.Size, d.ModTime)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = e.dst.Backend.Remove(ctx, d.Path)
	}
	if err != nil {
		return fmt.Errorf("back up to %s: %w", to, err)
	}
	return nil
}

// backupInDst is BackupDir relative to the destination directory dstDir
// when it lies inside it, else "".
func (e *engine) backupInDst(dstDir string) string {
	b := e.opts.BackupDir
	switch {
	case b == "" || b == dstDir:
		return ""
	case dstDir == "":
		return b
	case strings.HasPrefix(b, dstDir+"/"):
		return b[len(dstDir)+1:]
	}
	return ""
}

// checkBackupDir refuses a BackupDir that overlaps the source, or the
// destination unless the filter excludes it there (rclone's rule: else
// a sync would delete its own backups, or back up into what it syncs).
// dstIsDir says whether the run's destination is a directory (not
// CopyFile's file path).
func (e *engine) checkBackupDir(dstIsDir bool) error {
	b := e.opts.BackupDir
	if b == "" {
		return nil
	}
	dstDir := e.dst.Path
	if !dstIsDir {
		if dstDir = path.Dir(dstDir); dstDir == "." {
			dstDir = ""
		}
	}
	if sameBackend(e.src.Backend, e.dst.Backend) && overlaps(b, e.src.Path) {
		return fmt.Errorf("--backup-dir %s and the source %s: %w", b, e.src, ErrOverlap)
	}
	if !overlaps(b, dstDir) {
		return nil
	}
	if rel := e.backupInDst(dstDir); rel != "" && !e.opts.Filter.IncludeDir(rel) {
		return nil
	}
	return fmt.Errorf("--backup-dir %s and the destination %s: %w (exclude it with a filter to keep it inside)", b, e.dst, ErrOverlap)
}

// holdForRenames keeps the source-only file j back until the walk is
// over, when --track-renames looks for it among the extraneous files.
func (e *engine) holdForRenames(j job) bool {
	if !e.sf.tracking {
		return false
	}
	e.sf.mu.Lock()
	e.sf.held = append(e.sf.held, j)
	e.sf.mu.Unlock()
	return true
}

// trackRenames matches each held source-only file with an extraneous
// destination file of the same size and, as the strategy says, content
// (fingerprints, or mtimes without them), mtime or name, and moves that
// one into place; the rest are enqueued.
func (e *engine) trackRenames(ctx context.Context, enqueue func(context.Context, job)) {
	if !e.sf.tracking {
		return
	}
	e.sf.mu.Lock()
	held := e.sf.held
	e.sf.held = nil
	e.sf.mu.Unlock()
	e.mu.Lock()
	extra := e.extra
	e.mu.Unlock()
	bySize := make(map[int64][]int, len(extra))
	for i, d := range extra {
		bySize[d.Size] = append(bySize[d.Size], i)
	}
	used := make([]bool, len(extra))
	for _, j := range held {
		if ctx.Err() != nil {
			return
		}
		if i, ok := e.renameMatch(ctx, j.src, extra, bySize[j.src.Size], used); ok && e.rename(ctx, j, extra[i]) {
			used[i] = true
			continue
		}
		enqueue(ctx, j)
	}
	kept := extra[:0:0]
	for i, d := range extra {
		if !used[i] {
			kept = append(kept, d)
		}
	}
	e.mu.Lock()
	e.extra = kept
	e.mu.Unlock()
}

// renameMatch finds the unused extraneous file among candidates (all of
// s's size) that s was renamed from, by the rename strategy.
func (e *engine) renameMatch(ctx context.Context, s backend.Entry, extra []backend.Entry, candidates []int, used []bool) (int, bool) {
	st := cmp.Or(e.opts.TrackRenamesStrategy, RenameHash)
	byHash := st&RenameHash != 0 && e.cmp.fp.owner != nil
	byTime := st&RenameModTime != 0 || st&RenameHash != 0 && e.cmp.fp.owner == nil
	srcFP := ""
	for _, i := range candidates {
		if used[i] {
			continue
		}
		d := extra[i]
		if st&RenameLeaf != 0 && path.Base(d.Path) != path.Base(s.Path) {
			continue
		}
		if byTime && !withinWindow(s.ModTime, d.ModTime, e.cmp.opts.window) {
			continue
		}
		if !byHash {
			return i, true
		}
		if srcFP == "" {
			var err error
			if srcFP, err = e.cmp.fp.of(ctx, e.src.Backend, s); err != nil || srcFP == "" {
				e.log.Debug("--track-renames: no fingerprint", logKeyPath, s.Path, logKeyError, err)
				return 0, false
			}
		}
		dstFP, err := e.cmp.fp.of(ctx, e.dst.Backend, d)
		if err != nil || dstFP == "" || !e.cmp.fp.same(srcFP, dstFP) {
			continue
		}
		// MEGA's fingerprint samples big files: where one side can MAC
		// the other's whole content under its key (reading the source,
		// downloading nothing), it confirms the match.
		applied, same, _, err := matchContent(ctx, e.src.Backend, e.dst.Backend, s, d)
		if !applied || (err == nil && same) {
			return i, true
		}
	}
	return 0, false
}

// rename moves the extraneous destination file d to j's destination.
// It reports false, having logged why, when the move failed and j
// should be copied instead.
func (e *engine) rename(ctx context.Context, j job, d backend.Entry) bool {
	from := relTo(e.dst.Path, d.Path)
	if !e.opts.DryRun {
		if _, err := e.sf.renamer.Move(ctx, d.Path, j.dstPath); err != nil {
			e.log.Warn("--track-renames: server-side move failed, copying instead", logKeyPath, j.rel, logKeyError, err)
			return false
		}
		if e.setter != nil && !withinWindow(j.src.ModTime, d.ModTime, e.cmp.opts.window) {
			if err := e.setter.SetModTime(ctx, j.dstPath, j.src.ModTime); err != nil {
				e.fail(j.rel, fmt.Errorf("set mtime after rename: %w", err))
			}
		}
	}
	e.stats.renames.Add(1)
	e.report(Event{Action: Moved, Path: j.rel, Size: j.src.Size, Reason: "renamed from " + from, DryRun: e.opts.DryRun})
	return true
}

// makeDir creates the destination directory rel
// (--create-empty-src-dirs).
func (e *engine) makeDir(ctx context.Context, rel string) {
	if !e.opts.DryRun {
		if err := e.dst.Backend.Mkdir(ctx, e.dst.path(rel)); err != nil {
			e.fail(rel, fmt.Errorf("make directory: %w", err))
			return
		}
	}
	e.report(Event{Action: MadeDir, Path: rel, DryRun: e.opts.DryRun})
}
