package backupdata

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// ChangeKind is what Change does to a file.
type ChangeKind uint8

const (
	Appended ChangeKind = iota // bytes added at the end
	Edited                     // a range in the middle overwritten, size kept
	Created                    // a new file
	Deleted                    // removed
)

func (k ChangeKind) String() string {
	return [...]string{"appended", "edited", "created", "deleted"}[k]
}

// FileChange is one change of a ChangePlan.
type FileChange struct {
	Kind    ChangeKind
	File    File  // the file as generated (Created: the new file)
	Offset  int64 // Edited: start of the overwritten range; Appended: old size
	Length  int64 // bytes written (Deleted: 0)
	ModTime time.Time
}

// ChangePlan lists the changes of Change for the set of o: 5% of the
// files, of them 10% created, 10% deleted and the rest appended to or
// edited in the middle in equal parts.
func ChangePlan(o Options) (*Plan, []FileChange) {
	p := NewPlan(o)
	o = p.Options
	r := rand.New(rand.NewPCG(o.Seed, 0x6368616e6765))
	n := int(math.Round(ChangeShare * float64(o.Files)))
	created := int(math.Round(newShare * float64(n)))
	deleted := int(math.Round(deletedShare * float64(n)))
	if n >= 4 {
		created, deleted = max(1, created), max(1, deleted)
	}
	appended := (n - created - deleted) / 2
	edited := n - created - deleted - appended

	var cs []FileChange
	at := func() time.Time { return ChangeTime.Add(time.Duration(len(cs)) * time.Minute) }
	perm := r.Perm(len(p.Files))
	for _, i := range perm[:deleted] {
		cs = append(cs, FileChange{Kind: Deleted, File: p.Files[i]})
	}
	for _, i := range perm[deleted : deleted+appended] {
		f := p.Files[i]
		l := min(1<<20, max(1<<10, f.Size/20))
		cs = append(cs, FileChange{Kind: Appended, File: f, Offset: f.Size, Length: l, ModTime: at()})
	}
	for _, i := range perm[deleted+appended : deleted+appended+edited] {
		f := p.Files[i]
		l := min(f.Size, min(64<<10, max(1<<10, f.Size/100)))
		cs = append(cs, FileChange{Kind: Edited, File: f, Offset: (f.Size - l) / 2, Length: l, ModTime: at()})
	}
	dirs := append([]string{""}, p.Dirs...)
	for j := range created {
		like := p.Files[r.IntN(len(p.Files))]
		k := Kind(j % 2)
		idx := len(p.Files) + j
		f := File{Path: fileName(r, dirs[r.IntN(len(dirs))], idx, k), Size: like.Size, Kind: k, Content: idx}
		f.ModTime = at()
		cs = append(cs, FileChange{Kind: Created, File: f, Length: f.Size, ModTime: f.ModTime})
	}
	return p, cs
}

// ChangeSummary counts what Change did.
type ChangeSummary struct {
	Appended, Edited, Created, Deleted int
	BytesWritten                       int64 // new bytes: appended, overwritten and created
}

// Changed is the number of files changed, created or deleted.
func (s ChangeSummary) Changed() int { return s.Appended + s.Edited + s.Created + s.Deleted }

func (s ChangeSummary) String() string {
	return fmt.Sprintf("changed=%d appended=%d edited=%d created=%d deleted=%d bytes_written=%d",
		s.Changed(), s.Appended, s.Edited, s.Created, s.Deleted, s.BytesWritten)
}

// Change applies the changes of ChangePlan(o) to the set Generate(root,
// o) wrote. It refuses a tree that is not that set as generated (for
// example one changed already), naming the first file that differs.
func Change(root string, o Options) (ChangeSummary, error) {
	p, cs := ChangePlan(o)
	var s ChangeSummary
	// Check first, so a wrong tree is left as it was.
	for _, c := range cs {
		name := filepath.Join(root, filepath.FromSlash(c.File.Path))
		fi, err := os.Lstat(name)
		switch {
		case c.Kind == Created && err == nil:
			return s, fmt.Errorf("change %s: %s exists already: the tree was changed before", root, c.File.Path)
		case c.Kind == Created:
		case err != nil:
			return s, fmt.Errorf("change %s: %w (not the data set of these options, or changed before)", root, err)
		case fi.Size() != c.File.Size || !fi.ModTime().Equal(c.File.ModTime):
			return s, fmt.Errorf("change %s: %s has size %d and time %v, want %d and %v: not the data set of these options, or changed before",
				root, c.File.Path, fi.Size(), fi.ModTime().UTC(), c.File.Size, c.File.ModTime)
		}
	}
	buf := make([]byte, 256<<10)
	for i, c := range cs {
		name := filepath.Join(root, filepath.FromSlash(c.File.Path))
		content := uint64(1)<<32 + uint64(i)
		switch c.Kind {
		case Deleted:
			if err := os.Remove(name); err != nil {
				return s, err
			}
			s.Deleted++
			continue
		case Created:
			if err := writeFile(root, c.File, func(w io.Writer) error {
				return newStream(c.File.Kind, p.Options.Seed, content).writeN(w, c.Length, buf)
			}); err != nil {
				return s, err
			}
			s.Created++
		case Appended, Edited:
			f, err := os.OpenFile(name, os.O_WRONLY, 0)
			if err != nil {
				return s, err
			}
			w := io.NewOffsetWriter(f, c.Offset)
			if err := newStream(c.File.Kind, p.Options.Seed, content).writeN(w, c.Length, buf); err != nil {
				f.Close()
				return s, err
			}
			if err := f.Close(); err != nil {
				return s, err
			}
			if err := os.Chtimes(name, c.ModTime, c.ModTime); err != nil {
				return s, err
			}
			if c.Kind == Appended {
				s.Appended++
			} else {
				s.Edited++
			}
		}
		s.BytesWritten += c.Length
	}
	return s, setDirTimes(root, p.Dirs)
}
