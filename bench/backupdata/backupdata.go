// Package backupdata writes the data set of the backup benchmark
// (bench/backup.sh): a directory tree that looks like a home directory to
// a backup tool, the same bytes for the same options on every machine.
//
// The default set is 1 GiB in 2,000 files:
//
//   - half of the bytes random (incompressible), half text (lines of logs
//     and source code that zstd compresses about 3-4x);
//   - 18% of the files byte-identical copies of other files, under other
//     names in other directories;
//   - a tree a few levels deep (about one directory per 12 files);
//   - sizes spread: most files small (up to 64 KiB), a quarter medium (up
//     to 2 MiB), a few large (up to 64 MiB).
//
// [Change] then changes 5% of the files as a day of work would: some
// appended to, some edited in the middle (same size), a few created and
// a few deleted. Both are deterministic: the same Options give the same
// names, sizes, contents and modification times.
package backupdata

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// Options describe a data set. The zero value of a field means its
// default.
type Options struct {
	Files   int    // number of files (default 2000)
	Bytes   int64  // total size of the files (default 1 GiB)
	MaxFile int64  // largest file (default 64 MiB)
	Seed    uint64 // any value; the same seed gives the same set (0 is a seed too)
	Workers int    // files written at once (default 2)
}

// Shares of the data set: the duplicate files, and the changed files of
// Change with how they are split.
const (
	DuplicateShare = 0.18
	ChangeShare    = 0.05
	newShare       = 0.10 // of the changed files, created
	deletedShare   = 0.10 // of the changed files, deleted
)

// BaseTime is the modification time of the generated files (file i gets
// BaseTime plus i minutes); changed and new files get ChangeTime plus a
// minute per change.
var (
	BaseTime   = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ChangeTime = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
)

func (o Options) withDefaults() Options {
	if o.Files <= 0 {
		o.Files = 2000
	}
	if o.Bytes <= 0 {
		o.Bytes = 1 << 30
	}
	if o.MaxFile <= 0 {
		o.MaxFile = 64 << 20
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	return o
}

// File is one file of a data set.
type File struct {
	Path    string // slash-separated, relative to the set's root
	Size    int64
	Kind    Kind
	Content int // index of its content; copies share the content of their original
	ModTime time.Time
}

// Plan is a data set's files, in the order they are written: originals
// first, then the copies.
type Plan struct {
	Options Options
	Dirs    []string // every directory, parents before children ("" is the root, not listed)
	Files   []File
}

// NewPlan lays out the data set of o without writing anything.
func NewPlan(o Options) *Plan {
	o = o.withDefaults()
	r := rand.New(rand.NewPCG(o.Seed, 0x706c616e))
	p := &Plan{Options: o}

	// Directories: each new one under a random existing one at most
	// three levels down, so the tree is a few levels deep and bushy.
	nd := max(1, o.Files/12)
	depth := map[string]int{"": 0}
	parents := []string{""}
	for i := range nd {
		parent := parents[r.IntN(len(parents))]
		d := filepath.ToSlash(filepath.Join(parent, fmt.Sprintf("%s-%d", sharedVocabulary[r.IntN(200)], i)))
		p.Dirs = append(p.Dirs, d)
		depth[d] = depth[parent] + 1
		if depth[d] < 4 {
			parents = append(parents, d)
		}
	}
	dirs := append([]string{""}, p.Dirs...)

	dups := int(math.Round(DuplicateShare * float64(o.Files)))
	orig := o.Files - dups
	sizes := make([]int64, orig)
	for i := range sizes {
		sizes[i] = drawSize(r)
	}
	sources := make([]int, dups)
	for i := range sources {
		sources[i] = r.IntN(orig)
	}
	scaleSizes(sizes, sources, o.Bytes, o.MaxFile)

	// Kinds: half of the bytes each, copies included. The heaviest
	// contents are placed first, each to the kind that has fewer bytes.
	weight := slices.Clone(sizes)
	for _, s := range sources {
		weight[s] += sizes[s]
	}
	order := make([]int, orig)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(weight[b], weight[a]) })
	kinds := make([]Kind, orig)
	var kb [2]int64
	for _, i := range order {
		k := Random
		if kb[Text] < kb[Random] {
			k = Text
		}
		kinds[i] = k
		kb[k] += weight[i]
	}

	for i := range orig {
		d := dirs[r.IntN(len(dirs))]
		p.Files = append(p.Files, File{
			Path: fileName(r, d, i, kinds[i]), Size: sizes[i], Kind: kinds[i], Content: i,
			ModTime: BaseTime.Add(time.Duration(i) * time.Minute),
		})
	}
	for j, s := range sources {
		src := p.Files[s]
		d := dirs[r.IntN(len(dirs))]
		for len(dirs) > 1 && d == dirOf(src.Path) {
			d = dirs[r.IntN(len(dirs))]
		}
		i := orig + j
		p.Files = append(p.Files, File{
			Path: fileName(r, d, i, src.Kind), Size: src.Size, Kind: src.Kind, Content: s,
			ModTime: BaseTime.Add(time.Duration(i) * time.Minute),
		})
	}
	return p
}

// drawSize draws an unscaled file size: 70% small (64 B - 64 KiB), 28%
// medium (64 KiB - 2 MiB), 2% large (2 - 64 MiB), each log-uniform.
func drawSize(r *rand.Rand) int64 {
	lo, hi := 64.0, 64.0*1024
	switch x := r.Float64(); {
	case x >= 0.98:
		lo, hi = 2<<20, 64<<20
	case x >= 0.70:
		lo, hi = 64<<10, 2<<20
	}
	return int64(lo * math.Pow(hi/lo, r.Float64()))
}

// scaleSizes scales sizes (originals; sources lists the original of each
// copy) so that all files together have total bytes, no file above
// maxFile. The largest original without copies is made maxFile long (if
// the total has room), so the set always holds one file of the largest
// size.
func scaleSizes(sizes []int64, sources []int, total, maxFile int64) {
	copies := make([]int, len(sizes))
	for _, s := range sources {
		copies[s]++
	}
	sum := func() int64 {
		var t int64
		for i, s := range sizes {
			t += s * int64(1+copies[i])
		}
		return t
	}
	pinned := -1
	for i, s := range sizes {
		if copies[i] == 0 && (pinned < 0 || s > sizes[pinned]) {
			pinned = i
		}
	}
	if pinned >= 0 && maxFile < total/2 {
		sizes[pinned] = maxFile
	} else {
		pinned = -1
	}
	for range 8 {
		t := sum()
		if t == total {
			return
		}
		var fixed int64
		if pinned >= 0 {
			fixed = sizes[pinned]
		}
		f := float64(total-fixed) / float64(t-fixed)
		for i, s := range sizes {
			if i != pinned {
				sizes[i] = min(maxFile, max(1, int64(float64(s)*f)))
			}
		}
	}
	// The rest, often a few bytes, goes to the largest original without
	// copies that has room.
	best := -1
	for i, s := range sizes {
		if copies[i] == 0 && i != pinned && (best < 0 || s > sizes[best]) && s < maxFile {
			best = i
		}
	}
	if best >= 0 {
		sizes[best] = max(1, sizes[best]+total-sum())
	}
}

// dirOf returns the directory of a plan path ("" for the root).
func dirOf(path string) string {
	if d := filepath.ToSlash(filepath.Dir(path)); d != "." {
		return d
	}
	return ""
}

func fileName(r *rand.Rand, dir string, i int, k Kind) string {
	ext := "bin"
	if k == Text {
		ext = extensions[r.IntN(len(extensions))]
	} else if r.IntN(2) == 0 {
		ext = []string{"jpg", "zst", "pack", "gpg"}[r.IntN(4)]
	}
	name := fmt.Sprintf("%s_%04d.%s", sharedVocabulary[r.IntN(len(sharedVocabulary))], i, ext)
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// Summary counts what Generate wrote.
type Summary struct {
	Files, Dirs, Duplicates int
	Bytes                   int64
	RandomBytes, TextBytes  int64
}

func (s Summary) String() string {
	return fmt.Sprintf("files=%d dirs=%d duplicates=%d bytes=%d random_bytes=%d text_bytes=%d",
		s.Files, s.Dirs, s.Duplicates, s.Bytes, s.RandomBytes, s.TextBytes)
}

// Summary counts the plan's files and bytes.
func (p *Plan) Summary() Summary {
	s := Summary{Files: len(p.Files), Dirs: len(p.Dirs)}
	for i, f := range p.Files {
		s.Bytes += f.Size
		if f.Kind == Random {
			s.RandomBytes += f.Size
		} else {
			s.TextBytes += f.Size
		}
		if f.Content != i {
			s.Duplicates++
		}
	}
	return s
}

// Generate writes the data set of o under root, which must not exist or
// be empty, and returns what it wrote.
func Generate(root string, o Options) (Summary, error) {
	p := NewPlan(o)
	if ents, err := os.ReadDir(root); err == nil && len(ents) > 0 {
		return Summary{}, fmt.Errorf("generate into %s: directory is not empty", root)
	}
	for _, d := range p.Dirs {
		if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(d)), 0o755); err != nil {
			return Summary{}, err
		}
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return Summary{}, err
	}
	orig := 0
	for i, f := range p.Files {
		if f.Content == i {
			orig++
		}
	}
	// Originals first (in parallel), then copies of them.
	if err := p.each(p.Files[:orig], func(f File, buf []byte) error {
		return writeFile(root, f, func(w io.Writer) error {
			return newStream(f.Kind, p.Options.Seed, uint64(f.Content)).writeN(w, f.Size, buf)
		})
	}); err != nil {
		return Summary{}, err
	}
	if err := p.each(p.Files[orig:], func(f File, buf []byte) error {
		src, err := os.Open(filepath.Join(root, filepath.FromSlash(p.Files[f.Content].Path)))
		if err != nil {
			return err
		}
		defer src.Close()
		return writeFile(root, f, func(w io.Writer) error {
			_, err := io.CopyBuffer(w, src, buf)
			return err
		})
	}); err != nil {
		return Summary{}, err
	}
	if err := setDirTimes(root, p.Dirs); err != nil {
		return Summary{}, err
	}
	return p.Summary(), nil
}

// each runs fn for every file, Options.Workers at once, and returns the
// first error.
func (p *Plan) each(files []File, fn func(File, []byte) error) error {
	ch := make(chan File)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for range p.Options.Workers {
		wg.Go(func() {
			buf := make([]byte, 256<<10)
			for f := range ch {
				if err := fn(f, buf); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("%s: %w", f.Path, err))
					mu.Unlock()
				}
			}
		})
	}
	for _, f := range files {
		ch <- f
	}
	close(ch)
	wg.Wait()
	return errors.Join(errs...)
}

// writeFile creates f under root with the bytes write writes, checks its
// size and sets its modification time.
func writeFile(root string, f File, write func(io.Writer) error) error {
	name := filepath.Join(root, filepath.FromSlash(f.Path))
	w, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if err := write(w); err != nil {
		w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if fi, err := os.Stat(name); err != nil {
		return err
	} else if fi.Size() != f.Size {
		return fmt.Errorf("wrote %d bytes, want %d", fi.Size(), f.Size)
	}
	return os.Chtimes(name, f.ModTime, f.ModTime)
}

// setDirTimes gives every directory BaseTime, deepest first, so that the
// tree's metadata is the same on every run.
func setDirTimes(root string, dirs []string) error {
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chtimes(filepath.Join(root, filepath.FromSlash(dirs[i])), BaseTime, BaseTime); err != nil {
			return err
		}
	}
	return os.Chtimes(root, BaseTime, BaseTime)
}
