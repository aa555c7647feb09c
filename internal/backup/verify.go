package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"time"

	"ferry/internal/backup/repo"
	"ferry/internal/backup/tree"
)

// Difference is one way a snapshot and a directory differ.
type Difference struct {
	// Path is slash separated, relative to the compared roots.
	Path string
	// What says how: "only in the snapshot", "only in the directory",
	// "type file in the snapshot, dir in the directory", "size ...",
	// "mtime ...", "mode ...", "symlink target ...", "content differs at
	// byte N".
	What string
}

func (d Difference) String() string { return d.Path + ": " + d.What }

// CompareData compares the snapshot tree root (or its part at p, slash
// separated, "" for all) with the directory src byte by byte, with mtimes
// (to the nanosecond), modes and symlink targets, and returns the
// differences in path order. It reads every data blob of every file it
// compares, verifying each. An error is returned for what stops the
// comparison (an unreadable blob, a missing directory), not for a
// difference.
func CompareData(ctx context.Context, r BlobLoader, root repo.ID, p, src string) ([]Difference, error) {
	c := &comparer{r: r}
	id, node, err := findPath(ctx, r, root, p)
	if err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	if node != nil {
		err = c.node(ctx, *node, filepath.Join(src, string(node.Name)), string(node.Name))
	} else {
		fi, serr := os.Stat(src)
		if serr != nil {
			return nil, fmt.Errorf("compare: %w", serr)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("compare: %s is not a directory", src)
		}
		err = c.dir(ctx, id, src, "")
	}
	return c.diffs, err
}

// comparer is one CompareData call.
type comparer struct {
	r     BlobLoader
	diffs []Difference
	buf   []byte
	fbuf  []byte
}

func (c *comparer) differ(p, format string, args ...any) {
	c.diffs = append(c.diffs, Difference{p, fmt.Sprintf(format, args...)})
}

// dir compares tree id with directory full (rel is its relative path).
func (c *comparer) dir(ctx context.Context, id repo.ID, full, rel string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t, err := loadTreeBlob(ctx, c.r, id)
	if err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	ents, err := os.ReadDir(full)
	if err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	slices.Sort(names)
	i, j := 0, 0
	for i < len(t.Nodes) || j < len(names) {
		switch {
		case j == len(names) || i < len(t.Nodes) && string(t.Nodes[i].Name) < names[j]:
			c.differ(path.Join(rel, string(t.Nodes[i].Name)), "only in the snapshot")
			i++
		case i == len(t.Nodes) || names[j] < string(t.Nodes[i].Name):
			c.differ(path.Join(rel, names[j]), "only in the directory")
			j++
		default:
			n := t.Nodes[i]
			if err := c.node(ctx, n, filepath.Join(full, names[j]), path.Join(rel, names[j])); err != nil {
				return err
			}
			i++
			j++
		}
	}
	return nil
}

// node compares n with the file at full.
func (c *comparer) node(ctx context.Context, n tree.Node, full, rel string) error {
	fi, err := os.Lstat(full)
	if errors.Is(err, fs.ErrNotExist) {
		c.differ(rel, "only in the snapshot")
		return nil
	}
	if err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	typ := "file"
	switch {
	case fi.IsDir():
		typ = "dir"
	case fi.Mode()&fs.ModeSymlink != 0:
		typ = "symlink"
	case !fi.Mode().IsRegular():
		typ = "special"
	}
	if typ != n.Type {
		c.differ(rel, "type %s in the snapshot, %s in the directory", n.Type, typ)
		return nil
	}
	const modeBits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky
	if typ != "symlink" && fi.Mode()&modeBits != n.Mode&modeBits {
		c.differ(rel, "mode %v in the snapshot, %v in the directory", n.Mode&modeBits, fi.Mode()&modeBits)
	}
	if typ != "dir" && !fi.ModTime().Equal(n.ModTime) {
		c.differ(rel, "mtime %s in the snapshot, %s in the directory", n.ModTime.UTC().Format(time.RFC3339Nano), fi.ModTime().UTC().Format(time.RFC3339Nano))
	}
	switch typ {
	case "dir":
		return c.dir(ctx, n.Subtree, full, rel)
	case "symlink":
		target, err := os.Readlink(full)
		if err != nil {
			return fmt.Errorf("compare: %w", err)
		}
		if target != string(n.Target) {
			c.differ(rel, "symlink target %q in the snapshot, %q in the directory", n.Target, target)
		}
	case "file":
		if fi.Size() != n.Size {
			c.differ(rel, "size %d in the snapshot, %d in the directory", n.Size, fi.Size())
			return nil
		}
		return c.content(ctx, n, full, rel)
	}
	return nil
}

// content compares a file's blobs with the file, reading both in step.
func (c *comparer) content(ctx context.Context, n tree.Node, full, rel string) error {
	f, err := os.Open(full)
	if err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	defer f.Close()
	var off int64
	for _, id := range n.Content {
		c.buf, err = c.r.LoadBlob(ctx, repo.DataBlob, id, c.buf[:0])
		if err != nil {
			return fmt.Errorf("compare %s: data blob %s: %w", rel, id.Short(), err)
		}
		c.fbuf = slices.Grow(c.fbuf[:0], len(c.buf))[:len(c.buf)]
		k, err := io.ReadFull(f, c.fbuf)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return fmt.Errorf("compare: %w", err)
		}
		if i := firstDiff(c.buf, c.fbuf[:k]); i >= 0 {
			c.differ(rel, "content differs at byte %d", off+int64(i))
			return nil
		}
		off += int64(len(c.buf))
	}
	return nil
}

// firstDiff returns the first index where a and b differ (one ending
// early counts), or -1.
func firstDiff(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
