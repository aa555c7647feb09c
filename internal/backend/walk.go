package backend

import (
	"context"
	"sort"
)

// WalkFunc is called for each entry Walk visits. Returning SkipDir from a
// directory's call skips its contents.
type WalkFunc func(e Entry) error

// SkipDir tells Walk not to descend into a directory.
var SkipDir = skipDir{}

type skipDir struct{}

func (skipDir) Error() string { return "skip this directory" }

// Walker is implemented by backends that can walk a tree faster than one
// List per directory (MEGA walks its in-memory tree). Walk has the
// contract of the package function Walk.
type Walker interface {
	Walk(ctx context.Context, dir string, maxDepth int, fn WalkFunc) error
}

// Walk lists dir and calls fn for every entry below it, sorted by path
// within each directory, depth-first. maxDepth limits recursion: 1 lists
// dir only, 0 or less is unlimited. A directory name that appears twice
// (MEGA allows duplicates) is reported twice but listed once, since List
// of that path returns the contents of both.
//
// Walk uses the backend's own Walker when it has one.
func Walk(ctx context.Context, b Backend, dir string, maxDepth int, fn WalkFunc) error {
	if w, ok := b.(Walker); ok {
		return w.Walk(ctx, dir, maxDepth, fn)
	}
	return walk(ctx, b, dir, 1, maxDepth, fn)
}

func walk(ctx context.Context, b Backend, dir string, depth, maxDepth int, fn WalkFunc) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	entries, err := b.List(ctx, dir)
	if err != nil {
		return err
	}
	SortEntries(entries)
	for i, e := range entries {
		err := fn(e)
		if err == SkipDir {
			continue
		}
		if err != nil {
			return err
		}
		if e.IsDir && (maxDepth <= 0 || depth < maxDepth) && !ListedBefore(entries, i) {
			if err := walk(ctx, b, e.Path, depth+1, maxDepth, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// SortEntries sorts entries by path, keeping the order of equal paths.
func SortEntries(entries []Entry) {
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].Path < entries[j].Path })
}

// ListedBefore reports whether entries (sorted by path) holds a directory
// with the path of entries[i] before i, so a walk has listed it already.
func ListedBefore(entries []Entry, i int) bool {
	for j := i - 1; j >= 0 && entries[j].Path == entries[i].Path; j-- {
		if entries[j].IsDir {
			return true
		}
	}
	return false
}
