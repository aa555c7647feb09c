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
	var visit func(rel string, srcExists, dstExists bool)
	visit = func(rel string, srcExists, dstExists bool) {
		if ctx.Err() != nil {
			return
		}
		srcList, dstList, ok := m.list(ctx, rel, srcExists, dstExists)
		if !ok {
			return
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
	}
	g.Go(func() error { visit("", true, true); return nil })
	_ = g.Wait()
	return ctx.Err()
}

// dispatch decides what the marcher does with one name.
func (m *marcher) dispatch(ctx context.Context, rel string, se, de *backend.Entry, schedule func(func()), visit func(string, bool, bool)) {
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
	if se != nil && !se.IsDir && !m.filter.IncludeFile(rel, se.Size) {
		se = nil
	}
	if de != nil && !de.IsDir && !m.deleteExcluded && !m.filter.IncludeFile(rel, de.Size) {
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
				visit(rel, false, true)
				if m.dirOnlyOnDst != nil && ctx.Err() == nil {
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
