package transfer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"ferry/internal/backend"
	"ferry/internal/filter"
)

// pairHandler is called for each name seen under the roots, with the
// path relative to the roots and the source and destination entries (nil
// when missing; never both nil, never both directories: the marcher
// descends into those itself). It runs on checker goroutines and must be
// safe for concurrent use.
type pairHandler func(ctx context.Context, rel string, src, dst *backend.Entry)

// marcher walks a source and a destination tree in lock step.
type marcher struct {
	src, dst Location
	filter   *filter.Filter
	checkers int
	log      *slog.Logger
	// dstOnlyDirs: descend into directories only the destination has
	// (sync deletes their contents, check reports them).
	dstOnlyDirs bool
	handle      pairHandler
	// listErr is called when listing a directory fails.
	listErr func(rel string, err error)
	// dirOnlyOnDst is called for each directory the destination has and
	// the source lacks, in no particular order (its contents may still be
	// in progress); nil ignores them.
	dirOnlyOnDst func(rel string)

	// dirOnlyOnSrc is called for each source directory the destination
	// lacks, before its contents (--create-empty-src-dirs); nil ignores
	// them.
	dirOnlyOnSrc func(ctx context.Context, rel string)
	// noTraverse: the destination is never listed; each source file is
	// looked up with Stat (--no-traverse).
	noTraverse bool
	// deleteExcluded: the filter applies to the source only, so sync
	// sees (and deletes) the destination's excluded files too.
	deleteExcluded bool
	// hideDst is a destination directory (relative) never looked into,
	// whatever the filter says: the backup directory; "" hides nothing.
	hideDst string
}

// run walks the trees. It returns only ctx's error: listing failures go to
// listErr. A missing destination root counts as empty.
func (m *marcher) run(ctx context.Context) error {
	if m.filter.HasFiles() && !m.deleteExcluded {
		// With --delete-excluded a sync must see the destination's
		// unlisted files, so it walks.
		return m.runFiles(ctx)
	}
	var g errgroup.Group
	g.SetLimit(m.checkers)
	// schedule runs f on a free checker, or inline when all are busy:
	// a checker never waits for a slot, so the recursion cannot deadlock.
	var schedule func(f func())
	schedule = func(f func()) {
		if !g.TryGo(func() error { f(); return nil }) {
			f()
		}
	}
	var visit func(rel string, srcExists, dstExists bool) bool
	visit = func(rel string, srcExists, dstExists bool) bool {
		if ctx.Err() != nil {
			return true
		}
		srcList, dstList, ok := m.list(ctx, rel, srcExists, dstExists)
		if !ok {
			return true
		}
		// --exclude-if-present: the source's listing decides (the
		// destination's where only it has the directory), and the
		// directory is then excluded on both sides, as a rule excluding
		// it would be: nothing below it is copied, deleted or checked.
		marks := srcList
		if !srcExists {
			marks = dstList
		}
		if m.hasMarker(marks) {
			m.log.Debug("excluded: holds an --exclude-if-present name", logKeyPath, rel)
			return false
		}
		mergeByName(srcList, dstList, func(name string, s, d []backend.Entry) {
			if ctx.Err() != nil {
				return
			}
			childRel := joinClean(rel, name)
			se := m.pick("source", childRel, s)
			de := m.pick("destination", childRel, d)
			m.dispatch(ctx, childRel, se, de, schedule, visit)
		})
		return true
	}
	g.Go(func() error { visit("", true, true); return nil })
	_ = g.Wait()
	return ctx.Err()
}

// hasMarker reports whether a listing holds an --exclude-if-present name.
func (m *marcher) hasMarker(list []backend.Entry) bool {
	if m.filter.Markers() == nil {
		return false
	}
	for i := range list {
		if m.filter.IsMarker(list[i].Name(), list[i].IsDir) {
			return true
		}
	}
	return false
}

// dispatch decides what the marcher does with one name. visit returns
// false when it excluded the directory (--exclude-if-present).
func (m *marcher) dispatch(ctx context.Context, rel string, se, de *backend.Entry, schedule func(func()), visit func(string, bool, bool) bool) {
	if m.hideDst != "" && rel == m.hideDst {
		de = nil
	}
	srcDir := se != nil && se.IsDir
	dstDir := de != nil && de.IsDir
	if (srcDir || dstDir) && !m.filter.IncludeDir(rel) {
		if !m.deleteExcluded || !dstDir {
			return
		}
		// --delete-excluded: the destination's excluded directory goes,
		// the source's stays unseen.
		se, srcDir = nil, false
	}
	// Files the filter excludes are invisible on both sides (with
	// --delete-excluded, on the source only).
	if se != nil && !se.IsDir && !m.filter.Include(rel, se.Size, se.ModTime) {
		se = nil
	}
	if de != nil && !de.IsDir && !m.deleteExcluded && !m.filter.Include(rel, de.Size, de.ModTime) {
		de = nil
	}
	if m.noTraverse && se != nil && (!se.IsDir || m.dirOnlyOnSrc != nil) {
		var ok bool
		if de, ok = m.lookup(ctx, rel); !ok {
			return
		}
		dstDir = de != nil && de.IsDir
	}
	switch {
	case se == nil && de == nil:
	case srcDir && dstDir:
		schedule(func() { visit(rel, true, true) })
	case srcDir && de == nil:
		schedule(func() {
			if m.dirOnlyOnSrc != nil {
				m.dirOnlyOnSrc(ctx, rel)
			}
			visit(rel, true, false)
		})
	case dstDir && se == nil:
		if m.dstOnlyDirs {
			schedule(func() {
				if visit(rel, false, true) && m.dirOnlyOnDst != nil && ctx.Err() == nil {
					m.dirOnlyOnDst(rel)
				}
			})
		}
	default:
		m.handle(ctx, rel, se, de)
	}
}

// lookup is --no-traverse's Stat of rel on the destination: nil when it
// is missing; ok is false when the lookup failed (reported to listErr).
func (m *marcher) lookup(ctx context.Context, rel string) (e *backend.Entry, ok bool) {
	st, err := m.dst.Backend.Stat(ctx, m.dst.path(rel))
	switch {
	case err == nil:
		return &st, true
	case errors.Is(err, fs.ErrNotExist):
		return nil, true
	case ctx.Err() == nil:
		m.listErr(rel, fmt.Errorf("stat destination: %w", err))
	}
	return nil, false
}

// runFiles is run for a --files-from list: it looks up each listed path
// on both sides instead of walking the trees, so a few files named in a
// list are found at once in a tree of any size, with what the walk would
// have found (the filter lets nothing else through). A listed path the
// source lacks is logged and skipped, as rclone does; a sync still deletes
// it from the destination; with --files-from-strict it is an error, and
// a sync then deletes nothing. Listed directories match nothing.
func (m *marcher) runFiles(ctx context.Context) error {
	var g errgroup.Group
	g.SetLimit(m.checkers)
	for _, rel := range m.filter.Files() {
		if ctx.Err() != nil {
			break
		}
		if !filter.Clean(rel) {
			m.log.Info("--files-from: not a clean path, skipped", logKeyPath, rel)
			continue
		}
		g.Go(func() error {
			se, de, ok := m.stat(ctx, rel)
			if m.hideDst != "" && (rel == m.hideDst || strings.HasPrefix(rel, m.hideDst+"/")) {
				de = nil
			}
			switch {
			case !ok:
			case se == nil && m.filter.Strict():
				m.listErr(rel, fmt.Errorf("--files-from-strict: listed, but not in the source: %w", fs.ErrNotExist))
			case se != nil && se.IsDir || de != nil && de.IsDir:
				m.log.Debug("--files-from: a directory, skipped", logKeyPath, rel)
			case se == nil && de == nil:
				m.log.Info("--files-from: not found, skipped", logKeyPath, rel)
			default:
				if se == nil {
					m.log.Info("--files-from: not in the source", logKeyPath, rel)
				}
				m.handle(ctx, rel, se, de)
			}
			return nil
		})
	}
	_ = g.Wait()
	return ctx.Err()
}

// stat looks rel up on both sides at once; a side without it gives nil.
func (m *marcher) stat(ctx context.Context, rel string) (src, dst *backend.Entry, ok bool) {
	one := func(l Location) (*backend.Entry, error) {
		e, err := l.Backend.Stat(ctx, l.path(rel))
		switch {
		case errors.Is(err, fs.ErrNotExist) || errors.Is(err, backend.ErrNotDir):
			return nil, nil
		case err != nil:
			return nil, err
		}
		return &e, nil
	}
	var dstErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		dst, dstErr = one(m.dst)
	}()
	src, srcErr := one(m.src)
	<-done
	if ctx.Err() != nil {
		return nil, nil, false
	}
	for _, err := range []error{srcErr, dstErr} {
		if err != nil {
			m.listErr(rel, err)
			return nil, nil, false
		}
	}
	return src, dst, true
}

// list lists rel on the sides that have it, both at once (the source
// only, with noTraverse).
func (m *marcher) list(ctx context.Context, rel string, srcExists, dstExists bool) (src, dst []backend.Entry, ok bool) {
	dstExists = dstExists && !m.noTraverse
	var dstErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		if dstExists {
			dst, dstErr = m.dst.Backend.List(ctx, m.dst.path(rel))
			if errors.Is(dstErr, fs.ErrNotExist) {
				dst, dstErr = nil, nil
			}
		}
	}()
	var srcErr error
	if srcExists {
		src, srcErr = m.src.Backend.List(ctx, m.src.path(rel))
	}
	<-done
	if ctx.Err() != nil {
		return nil, nil, false
	}
	ok = true
	if srcErr != nil {
		m.listErr(rel, srcErr)
		ok = false
	}
	if dstErr != nil {
		m.listErr(rel, dstErr)
		ok = false
	}
	return src, dst, ok
}

// pick chooses the entry used for a name that one side lists several
// times (backends with backend.DuplicateNamer): a directory if there is
// one, else the file `ferry dedupe newest` would keep (newest mtime, then
// the largest, then the greatest ID, so every run picks the same one).
// The others are ignored with a warning, as rclone does. The engine
// opens the chosen entry by its ID, so its size and its bytes always
// belong to the same object.
func (m *marcher) pick(side, rel string, es []backend.Entry) *backend.Entry {
	switch len(es) {
	case 0:
		return nil
	case 1:
		return &es[0]
	}
	best := -1
	for i := range es {
		if best < 0 || preferEntry(es[i], es[best]) {
			best = i
		}
	}
	m.log.Warn("duplicate object found in "+side+", using the newest and ignoring the rest (see ferry dedupe)",
		logKeyPath, rel, logKeyCount, len(es), logKeyID, es[best].ID)
	return &es[best]
}

// preferEntry reports whether a is kept over b among same-named entries.
func preferEntry(a, b backend.Entry) bool {
	if a.IsDir != b.IsDir {
		return a.IsDir
	}
	if c := a.ModTime.Compare(b.ModTime); c != 0 {
		return c > 0
	}
	if a.Size != b.Size {
		return a.Size > b.Size
	}
	return a.ID > b.ID
}

// mergeByName sorts both listings by name and calls fn once per name with
// the entries each side has under it (usually zero or one), in the order
// the backend listed them.
func mergeByName(src, dst []backend.Entry, fn func(name string, s, d []backend.Entry)) {
	src, sn := sortByName(src)
	dst, dn := sortByName(dst)
	i, j := 0, 0
	for i < len(src) || j < len(dst) {
		var name string
		switch {
		case i == len(src):
			name = dn[j]
		case j == len(dst):
			name = sn[i]
		default:
			name = min(sn[i], dn[j])
		}
		i0, j0 := i, j
		for i < len(src) && sn[i] == name {
			i++
		}
		for j < len(dst) && dn[j] == name {
			j++
		}
		fn(name, src[i0:i], dst[j0:j])
	}
}

// sortByName returns es sorted by name, stable, and the names. The names
// are computed once and the entries moved once, which on big directories
// costs far less than a stable sort comparing Entry.Name.
func sortByName(es []backend.Entry) ([]backend.Entry, []string) {
	type key struct {
		name string
		i    int
	}
	keys := make([]key, len(es))
	for i := range es {
		keys[i] = key{es[i].Name(), i}
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	sorted := make([]backend.Entry, len(es))
	names := make([]string, len(es))
	for k, key := range keys {
		sorted[k], names[k] = es[key.i], key.name
	}
	return sorted, names
}
