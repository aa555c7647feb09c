package vfs

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"ferry/internal/backend"
)

// Node is a file or directory of the VFS. Its methods are safe for
// concurrent use.
type Node struct {
	v   *VFS
	ino uint64

	// Guarded by v.mu:
	entry    backend.Entry    // the backend object; Path is where it is now
	parent   *Node            // nil for the root
	name     string           // the name shown in parent (a duplicate's suffixed name)
	dup      bool             // entry shares its name with other objects in parent
	local    bool             // created through the VFS, not yet uploaded
	gone     bool             // removed (by us or, as a listing showed, elsewhere)
	children map[string]*Node // directories: shown name -> child; nil until listed
	listed   time.Time        // when children were listed
	stale    bool             // an outside change may have changed the listing
	mut      uint64           // directories: counts the VFS's own changes to the listing
	busy     int              // directories: the VFS's own changes to the listing in flight at the backend
	w        *writeFile       // files open for writing (or being uploaded)
	dirTime  time.Time        // directories: the mtime set through the VFS, which listings do not carry
}

// Attr is what the VFS knows of a node.
type Attr struct {
	Ino     uint64
	Size    int64
	ModTime time.Time
	IsDir   bool
}

// Ino returns the node's inode number.
func (n *Node) Ino() uint64 { return n.ino }

// IsDir reports a directory.
func (n *Node) IsDir() bool {
	n.v.mu.Lock()
	defer n.v.mu.Unlock()
	return n.entry.IsDir
}

// Path returns the node's backend path (Options.Root for the root).
func (n *Node) Path() string {
	n.v.mu.Lock()
	defer n.v.mu.Unlock()
	return n.entry.Path
}

// Name returns the node's shown name.
func (n *Node) Name() string {
	n.v.mu.Lock()
	defer n.v.mu.Unlock()
	return n.name
}

// Entry returns the backend entry the node stands for.
func (n *Node) Entry() backend.Entry {
	n.v.mu.Lock()
	defer n.v.mu.Unlock()
	return n.entry
}

// Attr returns the node's attributes; a file being written reports its
// temporary file's size and mtime.
func (n *Node) Attr() Attr {
	for try := 0; ; try++ {
		n.v.mu.Lock()
		a := Attr{Ino: n.ino, Size: n.entry.Size, ModTime: n.entry.ModTime, IsDir: n.entry.IsDir}
		if a.IsDir && !n.dirTime.IsZero() {
			a.ModTime = n.dirTime
		}
		w := n.w
		n.v.mu.Unlock()
		if w == nil {
			return a
		}
		size, mtime, ok, closed := w.attr()
		if ok {
			a.Size, a.ModTime = size, mtime
		}
		// A write file that closed since the entry was read finished its
		// upload (a background one waits on w's lock): the entry read
		// before is the old one, so read the uploaded one.
		if !closed || try > 0 {
			return a
		}
	}
}

// fresh reports whether d's cached listing can be used. The caller
// holds v.mu.
func (d *Node) fresh() bool {
	return d.children != nil && !d.stale && time.Since(d.listed) < d.v.opts.DirCacheTime
}

// Lookup returns the child called name of directory d.
func (d *Node) Lookup(ctx context.Context, name string) (*Node, error) {
	if err := d.load(ctx); err != nil {
		return nil, err
	}
	d.v.mu.Lock()
	defer d.v.mu.Unlock()
	if c := d.children[name]; c != nil {
		return c, nil
	}
	return nil, d.v.perr("lookup", backend.Join(d.entry.Path, name), fs.ErrNotExist)
}

// ReadDir returns the children of directory d, sorted by name.
func (d *Node) ReadDir(ctx context.Context) ([]*Node, error) {
	if err := d.load(ctx); err != nil {
		return nil, err
	}
	d.v.mu.Lock()
	defer d.v.mu.Unlock()
	out := make([]*Node, 0, len(d.children))
	for _, c := range d.children {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *Node) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// load lists d unless its cached listing is fresh.
func (d *Node) load(ctx context.Context) error {
	d.v.mu.Lock()
	if !d.entry.IsDir {
		d.v.mu.Unlock()
		return d.v.perr("list", d.entry.Path, backend.ErrNotDir)
	}
	ok := d.fresh()
	d.v.mu.Unlock()
	if ok {
		return nil
	}
	_, err := d.v.list(ctx, d)
	return err
}

// list lists directory d from the backend, replaces its cached children
// and returns what changed for the kernel's caches.
//
// A listing taken while the VFS changes d at the backend (an upload, a
// rename, a removal) may show that change half done: a rename over a
// file on MEGA moves the new node in before the old one goes, and such a
// listing applied after the rename shows both. So a listing is applied
// only when no change of d was in flight during it (busy) and none ended
// (mut); otherwise d is listed again, after the change if one is still
// running. When changes keep coming, the cached children stay as the VFS
// made them and d stays stale, to be listed at the next load.
func (v *VFS) list(ctx context.Context, d *Node) ([]Change, error) {
	const tries = 8
	for try := 0; ; try++ {
		v.mu.Lock()
		p, mut, busy := d.entry.Path, d.mut, d.busy
		v.mu.Unlock()
		if busy > 0 && try < tries {
			if err := pause(ctx, try); err != nil {
				return nil, err
			}
			continue
		}
		es, err := v.b.List(ctx, p)
		if err != nil {
			return nil, err
		}
		v.mu.Lock()
		if d.entry.Path != p || d.gone {
			v.mu.Unlock()
			return nil, nil // moved or removed meanwhile: the next load lists it
		}
		clean := d.mut == mut && d.busy == 0 && busy == 0
		if clean || (try >= tries && d.children == nil) {
			c := v.apply(d, es)
			v.mu.Unlock()
			return c, nil
		}
		if try >= tries {
			d.stale = true
			v.mu.Unlock()
			return nil, nil
		}
		v.mu.Unlock()
	}
}

// pause waits a little longer at each try for a change in flight to end.
func pause(ctx context.Context, try int) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Duration(1+try) * 5 * time.Millisecond):
		return nil
	}
}

// changing marks a change of the listings of dirs in flight at the
// backend (see list); the function it returns marks its end.
func (v *VFS) changing(dirs ...*Node) (done func()) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, d := range dirs {
		if d != nil {
			d.busy++
		}
	}
	return func() {
		v.mu.Lock()
		defer v.mu.Unlock()
		for _, d := range dirs {
			if d != nil {
				d.busy--
				d.mut++
			}
		}
	}
}

// apply makes es d's children. Files being written keep their names;
// nodes no longer listed are marked gone. The caller holds v.mu.
func (v *VFS) apply(d *Node, es []backend.Entry) []Change {
	old := d.children
	prev := map[*Node]backend.Entry{}
	for _, c := range old {
		prev[c] = c.entry
	}
	next := map[string]*Node{}
	for name, c := range old {
		if c.w != nil && !c.gone { // being written: the VFS knows better
			next[name] = c
		}
	}
	for _, g := range groupByName(es) {
		name := g[0].Name()
		if next[name] != nil {
			continue // our write in progress shadows it
		}
		if len(g) == 1 {
			c := v.nodeFor(g[0], d, name)
			c.dup = false
			next[name] = c
			continue
		}
		for i, e := range g {
			shown := name
			if i > 0 {
				shown = dupName(name, i+1, func(s string) bool { return next[s] != nil || hasName(es, s) })
			}
			c := v.nodeFor(e, d, shown)
			c.dup = true
			next[shown] = c
		}
	}
	var changes []Change
	if old != nil {
		for name, c := range old {
			if n := next[name]; n != c {
				if n == nil && c.parent == d {
					c.gone = true
				}
				changes = append(changes, Change{Dir: d, Name: name})
			}
		}
		for name, c := range next {
			o := old[name]
			if o == nil {
				changes = append(changes, Change{Dir: d, Name: name})
			} else if e := prev[c]; o == c && c.w == nil && (e.Size != c.entry.Size || !e.ModTime.Equal(c.entry.ModTime) || e.ID != c.entry.ID) {
				changes = append(changes, Change{Node: c})
			}
		}
	}
	d.children, d.listed, d.stale = next, time.Now(), false
	return changes
}

// groupByName groups entries by name, each group ordered by ID (shorter
// IDs first, so numeric IDs sort as numbers), groups by name.
func groupByName(es []backend.Entry) [][]backend.Entry {
	es = slices.Clone(es)
	slices.SortFunc(es, func(a, b backend.Entry) int {
		return cmp.Or(strings.Compare(a.Name(), b.Name()), cmp.Compare(len(a.ID), len(b.ID)), strings.Compare(a.ID, b.ID))
	})
	var out [][]backend.Entry
	for i := 0; i < len(es); {
		j := i + 1
		for j < len(es) && es[j].Name() == es[i].Name() {
			j++
		}
		out = append(out, es[i:j])
		i = j
	}
	return out
}

// hasName reports whether some entry of es is called name.
func hasName(es []backend.Entry, name string) bool {
	return slices.ContainsFunc(es, func(e backend.Entry) bool { return e.Name() == name })
}

// dupName returns the name shown for the k-th (k >= 2) object called
// name: "name (k).ext", or the next number free of taken.
func dupName(name string, k int, taken func(string) bool) string {
	ext := path.Ext(name)
	if ext == name { // ".bashrc" has no extension to keep
		ext = ""
	}
	base := strings.TrimSuffix(name, ext)
	for ; ; k++ {
		if s := fmt.Sprintf("%s (%d)%s", base, k, ext); !taken(s) {
			return s
		}
	}
}
