package transfer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"

	"ferry/internal/backend"
)

// DedupeMode says what Dedupe does with duplicates that are not
// identical copies (rclone's --dedupe-mode).
type DedupeMode int

// Dedupe modes.
const (
	DedupeInteractive DedupeMode = iota // ask DedupeOptions.Choose for each name
	DedupeSkip                          // leave them
	DedupeFirst                         // keep the first listed
	DedupeNewest                        // keep the newest
	DedupeOldest                        // keep the oldest
	DedupeLargest                       // keep the largest
	DedupeSmallest                      // keep the smallest
	DedupeRename                        // rename them all to distinct names
	DedupeList                          // only report duplicates; change nothing
)

// dedupeModeNames are the --dedupe-mode spellings, indexed by DedupeMode.
var dedupeModeNames = []string{"interactive", "skip", "first", "newest", "oldest", "largest", "smallest", "rename", "list"}

// String returns the mode's name as --dedupe-mode spells it.
func (m DedupeMode) String() string {
	if int(m) < len(dedupeModeNames) {
		return dedupeModeNames[m]
	}
	return fmt.Sprintf("DedupeMode(%d)", int(m))
}

// ParseDedupeMode parses a --dedupe-mode value.
func ParseDedupeMode(s string) (DedupeMode, error) {
	if i := slices.Index(dedupeModeNames, strings.ToLower(s)); i >= 0 {
		return DedupeMode(i), nil
	}
	return 0, fmt.Errorf("unknown dedupe mode %q: want one of %s", s, strings.Join(dedupeModeNames, ", "))
}

// DedupeChoice is an interactive answer for one set of duplicates.
type DedupeChoice struct {
	// Action is DedupeSkip, DedupeRename, or DedupeFirst meaning "keep
	// the entry at index Keep and delete the others".
	Action DedupeMode
	Keep   int
}

// DedupeOptions tune a Dedupe.
type DedupeOptions struct {
	Mode   DedupeMode
	DryRun bool
	Stats  *Stats
	Logger *slog.Logger
	// Report receives Duplicate, Deleted, Kept, Renamed, Skipped and
	// Failed events. Paths are relative to the deduplicated directory.
	Report func(Event)
	// Choose answers DedupeInteractive for the duplicates dups of rel
	// (already without identical copies). Required in that mode.
	Choose func(ctx context.Context, rel string, dups []backend.Entry) (DedupeChoice, error)
	// Confirm, if set, is asked before each delete or rename that is not
	// a dry run (rclone's -i): action is "delete" or "rename to NAME" and
	// rel the object's path. false skips that change; an error stops the
	// run with it.
	Confirm func(ctx context.Context, action, rel string) (bool, error)
}

// Dedupe finds objects that share a name in the directories under loc
// (backends with backend.DuplicateNamer, e.g. MEGA) and resolves them
// like rclone dedupe. Identical copies, those with the same size and the
// same non-empty Entry.Fingerprint, are detected without downloading and
// all but the first are deleted in every mode except DedupeList (rclone's
// skip mode removes identical copies too). The remaining duplicates are
// handled by the mode. Duplicate directories are reported, renamed in
// DedupeRename mode, and otherwise left for the user: the contract cannot
// address their contents separately, so they are not merged. A backend
// without DuplicateNamer cannot have duplicates and Dedupe does nothing.
func Dedupe(ctx context.Context, loc Location, opts DedupeOptions) error {
	d := &deduper{loc: loc, opts: opts, log: loggerOr(opts.Logger), stats: opts.Stats}
	if d.stats == nil {
		d.stats = new(Stats)
	}
	if opts.DryRun {
		d.stats.dryRun.Store(true)
	}
	d.stats.begin()
	dn, ok := loc.Backend.(backend.DuplicateNamer)
	if !ok {
		d.log.Info("backend can't have duplicate names, nothing to do", logKeyPath, loc.String())
		return nil
	}
	if opts.Mode == DedupeInteractive && opts.Choose == nil {
		return errors.New("dedupe: interactive mode needs a terminal (or choose a --dedupe-mode)")
	}
	d.dn = dn
	if err := d.dir(ctx, loc.Path); err != nil {
		return err
	}
	if d.nerr > 0 {
		return &RunError{Errors: d.nerr, First: d.firstErr}
	}
	return nil
}

// deduper is the state of one Dedupe; it works in one goroutine.
type deduper struct {
	loc      Location
	dn       backend.DuplicateNamer
	opts     DedupeOptions
	log      *slog.Logger
	stats    *Stats
	nerr     int
	firstErr error
}

// dir deduplicates directory p and, depth first, its subdirectories.
func (d *deduper) dir(ctx context.Context, p string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	entries, err := d.loc.Backend.List(ctx, p)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d.fail(relTo(d.loc.Path, p), fmt.Errorf("list: %w", err))
		return nil
	}
	names := make(map[string]bool, len(entries))
	for _, e := range entries {
		names[e.Name()] = true
	}
	// Group by name, keeping the listing order within a name ("first").
	slices.SortStableFunc(entries, func(a, b backend.Entry) int { return strings.Compare(a.Name(), b.Name()) })
	var subdirs []string
	for i := 0; i < len(entries); {
		j := i + 1
		for j < len(entries) && entries[j].Name() == entries[i].Name() {
			j++
		}
		group := entries[i:j]
		i = j
		var files, dirs []backend.Entry
		for _, e := range group {
			if e.IsDir {
				dirs = append(dirs, e)
			} else {
				files = append(files, e)
			}
		}
		if len(dirs) > 1 {
			if err := d.dupDirs(ctx, dirs, names); err != nil {
				return err
			}
		}
		if len(dirs) > 0 && (len(dirs) == 1 || d.opts.Mode != DedupeRename || d.opts.DryRun) {
			subdirs = append(subdirs, dirs[0].Path)
		}
		if len(files) > 1 {
			if err := d.files(ctx, files, names); err != nil {
				return err
			}
		}
	}
	if d.opts.Mode == DedupeRename && !d.opts.DryRun {
		// Renamed directories are distinct now: list again to find them.
		if again, err := d.loc.Backend.List(ctx, p); err == nil {
			subdirs = subdirs[:0]
			for _, e := range again {
				if e.IsDir && !slices.Contains(subdirs, e.Path) {
					subdirs = append(subdirs, e.Path)
				}
			}
			slices.Sort(subdirs)
		}
	}
	for _, s := range subdirs {
		if err := d.dir(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// dupDirs handles several directories with one name.
func (d *deduper) dupDirs(ctx context.Context, dirs []backend.Entry, names map[string]bool) error {
	rel := relTo(d.loc.Path, dirs[0].Path)
	d.report(Event{Action: Duplicate, Path: rel + "/", Count: len(dirs), Reason: "directories"})
	if d.opts.Mode != DedupeRename {
		d.log.Warn("duplicate directories are not merged; use --dedupe-mode rename, or move their contents by hand", logKeyPath, rel, logKeyCount, len(dirs))
		return nil
	}
	return d.renameAll(ctx, dirs, names)
}

// files handles several files with one name.
func (d *deduper) files(ctx context.Context, files []backend.Entry, names map[string]bool) error {
	rel := relTo(d.loc.Path, files[0].Path)
	d.report(Event{Action: Duplicate, Path: rel, Count: len(files)})
	if d.opts.Mode == DedupeList {
		return nil
	}
	// Identical copies: same size and fingerprint. Keep the first of each.
	var rest []backend.Entry
	for i, e := range files {
		dup := false
		if e.Fingerprint != "" {
			for _, k := range files[:i] {
				if k.Size == e.Size && k.Fingerprint == e.Fingerprint {
					dup = true
					break
				}
			}
		}
		if !dup {
			rest = append(rest, e)
			continue
		}
		if err := d.remove(ctx, e, "identical copy"); err != nil {
			return err
		}
	}
	if len(rest) < 2 {
		return nil
	}
	mode := d.opts.Mode
	keep := 0
	switch mode {
	case DedupeInteractive:
		c, err := d.opts.Choose(ctx, rel, rest)
		if err != nil {
			return err
		}
		mode, keep = c.Action, c.Keep
		if mode == DedupeFirst && (keep < 0 || keep >= len(rest)) {
			return fmt.Errorf("dedupe %s: choice %d out of range", rel, keep+1)
		}
	case DedupeNewest:
		keep = pickIndex(rest, func(a, b backend.Entry) bool { return a.ModTime.After(b.ModTime) })
	case DedupeOldest:
		keep = pickIndex(rest, func(a, b backend.Entry) bool { return a.ModTime.Before(b.ModTime) })
	case DedupeLargest:
		keep = pickIndex(rest, func(a, b backend.Entry) bool { return a.Size > b.Size })
	case DedupeSmallest:
		keep = pickIndex(rest, func(a, b backend.Entry) bool { return a.Size < b.Size })
	}
	switch mode {
	case DedupeSkip, DedupeList:
		d.report(Event{Action: Skipped, Path: rel, Count: len(rest)})
		return nil
	case DedupeRename:
		return d.renameAll(ctx, rest, names)
	}
	d.report(Event{Action: Kept, Path: rel, ID: rest[keep].ID, Size: rest[keep].Size, Reason: mode.String()})
	for i, e := range rest {
		if i == keep {
			continue
		}
		if err := d.remove(ctx, e, "dedupe mode "+mode.String()); err != nil {
			return err
		}
	}
	return nil
}

// pickIndex returns the index of the entry better than all before it by
// better (the first among equals).
func pickIndex(es []backend.Entry, better func(a, b backend.Entry) bool) int {
	best := 0
	for i := 1; i < len(es); i++ {
		if better(es[i], es[best]) {
			best = i
		}
	}
	return best
}

// renameAll gives each entry a distinct name "name-N.ext", skipping names
// the directory already has (names, updated).
func (d *deduper) renameAll(ctx context.Context, es []backend.Entry, names map[string]bool) error {
	name := es[0].Name()
	ext := path.Ext(name)
	if es[0].IsDir {
		ext = ""
	}
	base := strings.TrimSuffix(name, ext)
	n := 1
	for _, e := range es {
		var newName string
		for {
			newName = base + "-" + strconv.Itoa(n) + ext
			n++
			if !names[newName] {
				break
			}
		}
		names[newName] = true
		rel := relTo(d.loc.Path, e.Path)
		newRel := backend.Join(backend.Dir(rel), newName)
		if !d.opts.DryRun {
			if err := ctx.Err(); err != nil {
				return err
			}
			if ok, err := d.confirm(ctx, "rename to "+newRel, rel); err != nil {
				return err
			} else if !ok {
				continue
			}
			if _, err := d.dn.RenameEntry(ctx, e, newName); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				d.fail(rel, fmt.Errorf("rename to %q: %w", newName, err))
				continue
			}
		}
		d.stats.renames.Add(1)
		d.report(Event{Action: Renamed, Path: rel, NewPath: newRel, ID: e.ID, Size: e.Size, DryRun: d.opts.DryRun})
	}
	return nil
}

// remove deletes one of several same-named objects.
func (d *deduper) remove(ctx context.Context, e backend.Entry, reason string) error {
	rel := relTo(d.loc.Path, e.Path)
	if !d.opts.DryRun {
		if err := ctx.Err(); err != nil {
			return err
		}
		if ok, err := d.confirm(ctx, "delete", rel); err != nil || !ok {
			return err
		}
		if err := d.dn.RemoveEntry(ctx, e); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			d.fail(rel, fmt.Errorf("delete %s: %w", e.ID, err))
			return nil
		}
	}
	d.stats.deletes.Add(1)
	d.report(Event{Action: Deleted, Path: rel, ID: e.ID, Size: e.Size, Reason: reason, DryRun: d.opts.DryRun})
	return nil
}

// confirm asks Confirm about one change; true without it.
func (d *deduper) confirm(ctx context.Context, action, rel string) (bool, error) {
	if d.opts.Confirm == nil {
		return true, nil
	}
	return d.opts.Confirm(ctx, action, rel)
}

// fail records a failure on rel and reports it.
func (d *deduper) fail(rel string, err error) {
	d.stats.addError(err)
	d.nerr++
	if d.firstErr == nil {
		d.firstErr = fmt.Errorf("%s: %w", rel, err)
	}
	d.report(Event{Action: Failed, Path: rel, Err: err})
}

// report passes ev to DedupeOptions.Report, if set.
func (d *deduper) report(ev Event) {
	if d.opts.Report != nil {
		d.opts.Report(ev)
	}
}
