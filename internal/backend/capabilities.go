package backend

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"
)

// The helpers below call an optional capability, or report that b lacks
// it with an error wrapping errors.ErrUnsupported, so callers (commands,
// rc, the vfs) need no type assertion and say the same thing.

// unsupported is the error of a missing capability.
func unsupported(op string, b Backend, p, what string) error {
	return &PathError{Op: op, Backend: b.String(), Path: p, Err: fmt.Errorf("%s: %w", what, errors.ErrUnsupported)}
}

// PublicLink creates (or removes) a public link to p with b's
// PublicLinker.
func PublicLink(ctx context.Context, b Backend, p string, unlink bool) (string, error) {
	if l, ok := b.(PublicLinker); ok {
		return l.PublicLink(ctx, p, unlink)
	}
	return "", unsupported("publiclink", b, p, "no public links")
}

// About reports b's usage with its Abouter.
func About(ctx context.Context, b Backend) (Usage, error) {
	if a, ok := b.(Abouter); ok {
		return a.About(ctx)
	}
	return Usage{}, unsupported("about", b, "", "no usage report")
}

// CleanUp empties b's trash with its CleanUpper.
func CleanUp(ctx context.Context, b Backend) error {
	if c, ok := b.(CleanUpper); ok {
		return c.CleanUp(ctx)
	}
	return unsupported("cleanup", b, "", "no trash to empty")
}

// SetModTime sets p's mtime with b's ModTimeSetter.
func SetModTime(ctx context.Context, b Backend, p string, t time.Time) error {
	if s, ok := b.(ModTimeSetter); ok {
		return s.SetModTime(ctx, p, t)
	}
	return unsupported("setmodtime", b, p, "mtimes cannot be changed in place")
}

// Move moves src to dst within b with its Mover.
func Move(ctx context.Context, b Backend, src, dst string) (Entry, error) {
	if m, ok := b.(Mover); ok {
		return m.Move(ctx, src, dst)
	}
	return Entry{}, unsupported("move", b, src, "no server-side move")
}

// Purge removes directory dir and everything in it: with b's Purger, or
// else file by file, then the directories deepest first (dir itself
// too, unless it is the root).
func Purge(ctx context.Context, b Backend, dir string) error {
	if p, ok := b.(Purger); ok {
		return p.Purge(ctx, dir)
	}
	var files, dirs []string
	err := Walk(ctx, b, dir, 0, func(e Entry) error {
		if e.IsDir {
			dirs = append(dirs, e.Path)
		} else {
			files = append(files, e.Path)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := b.Remove(ctx, f); err != nil {
			return err
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		if err := b.Rmdir(ctx, d); err != nil {
			return err
		}
	}
	if dir == "" {
		return nil
	}
	return b.Rmdir(ctx, dir)
}
