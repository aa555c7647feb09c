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

// Walk lists dir and calls fn for every entry below it, sorted by path
// within each directory, depth-first. maxDepth limits recursion: 1 lists
// dir only, 0 or less is unlimited.
func Walk(ctx context.Context, b Backend, dir string, maxDepth int, fn WalkFunc) error {
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
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].Path < entries[j].Path })
	for _, e := range entries {
		err := fn(e)
		if err == SkipDir {
			continue
		}
		if err != nil {
			return err
		}
		if e.IsDir && (maxDepth <= 0 || depth < maxDepth) {
			if err := walk(ctx, b, e.Path, depth+1, maxDepth, fn); err != nil {
				return err
			}
		}
	}
	return nil
}
