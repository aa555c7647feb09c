package bench

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/bench/backupdata"
)

// manifestEntry is one file of a generated tree.
type manifestEntry struct {
	sum     [32]byte
	size    int64
	modTime time.Time
}

// manifest reads every file under root, keyed by its slash path.
func manifest(t *testing.T, root string) map[string]manifestEntry {
	t.Helper()
	m := make(map[string]manifestEntry)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		m[filepath.ToSlash(rel)] = manifestEntry{sha256.Sum256(b), fi.Size(), fi.ModTime()}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// flateRatio is how much DEFLATE shrinks b.
func flateRatio(t *testing.T, b []byte) float64 {
	var out bytes.Buffer
	w, _ := flate.NewWriter(&out, flate.DefaultCompression)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return float64(len(b)) / float64(out.Len())
}

// TestBackupData generates a small data set of the backup benchmark
// (bench/backup.sh) and checks its promises: the file count and total
// size, 18% byte-identical copies under other names in other
// directories, half of the bytes random and half text, a tree a few
// levels deep, the same bytes and times for the same seed and other bytes
// for another; then that Change changes 5% of the files (appended,
// edited in the middle with the size kept, created, deleted), and refuses
// to change the tree twice.
func TestBackupData(t *testing.T) {
	o := backupdata.Options{Files: 200, Bytes: 8 << 20, MaxFile: 2 << 20, Seed: 7}
	root := filepath.Join(t.TempDir(), "set")
	sum, err := backupdata.Generate(root, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(sum)
	m := manifest(t, root)
	if len(m) != o.Files || sum.Files != o.Files {
		t.Fatalf("%d files on disk, summary %d, want %d", len(m), sum.Files, o.Files)
	}
	var total, maxSize int64
	var small int
	byHash := make(map[[32]byte][]string)
	for p, e := range m {
		total += e.size
		maxSize = max(maxSize, e.size)
		if e.size <= 64<<10 {
			small++
		}
		byHash[e.sum] = append(byHash[e.sum], p)
	}
	if total != o.Bytes {
		t.Errorf("total %d bytes, want %d", total, o.Bytes)
	}
	if maxSize != o.MaxFile {
		t.Errorf("largest file %d bytes, want %d", maxSize, o.MaxFile)
	}
	if small < o.Files/2 {
		t.Errorf("%d of %d files <= 64 KiB, want most", small, o.Files)
	}
	dups := 0
	for _, paths := range byHash {
		dups += len(paths) - 1
		dirs := make(map[string]bool)
		for _, p := range paths {
			dirs[filepath.Dir(p)] = true
		}
		if len(dirs) < 2 && len(paths) > 1 {
			t.Errorf("copies %v share one directory", paths)
		}
	}
	if want := int(math.Round(0.18 * float64(o.Files))); dups != want || sum.Duplicates != want {
		t.Errorf("%d duplicate files (summary %d), want %d", dups, sum.Duplicates, want)
	}

	// Kinds: by the plan, and by what the bytes do under DEFLATE.
	p := backupdata.NewPlan(o)
	var random, text bytes.Buffer
	for _, f := range p.Files {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatal(err)
		}
		if f.Kind == backupdata.Random {
			random.Write(b)
		} else {
			text.Write(b)
		}
	}
	if share := float64(random.Len()) / float64(total); share < 0.45 || share > 0.55 {
		t.Errorf("random bytes are %.0f%% of the set, want about half", 100*share)
	}
	if r := flateRatio(t, random.Bytes()); r > 1.01 {
		t.Errorf("random bytes compress %.2fx", r)
	}
	if r := flateRatio(t, text.Bytes()); r < 2 || r > 6 {
		t.Errorf("text compresses %.2fx with DEFLATE, want 2-6x (zstd: 3-4x)", r)
	}
	if lines := strings.Count(text.String(), "\n"); lines < text.Len()/200 {
		t.Errorf("text has %d lines in %d bytes", lines, text.Len())
	}
	depth := 0
	for _, d := range p.Dirs {
		depth = max(depth, strings.Count(d, "/")+1)
	}
	if depth < 3 || len(p.Dirs) < o.Files/20 {
		t.Errorf("%d directories, %d levels deep; want a deeper tree", len(p.Dirs), depth)
	}

	// Determinism.
	again := filepath.Join(t.TempDir(), "again")
	if _, err := backupdata.Generate(again, o); err != nil {
		t.Fatal(err)
	}
	if m2 := manifest(t, again); !sameManifest(m, m2) {
		t.Error("the same options gave another tree")
	}
	other := o
	other.Seed++
	otherRoot := filepath.Join(t.TempDir(), "other")
	if _, err := backupdata.Generate(otherRoot, other); err != nil {
		t.Fatal(err)
	}
	for _, e := range manifest(t, otherRoot) {
		if _, ok := byHash[e.sum]; ok {
			t.Fatal("another seed gave a file of the first set")
		}
	}
	if _, err := backupdata.Generate(root, o); err == nil {
		t.Error("Generate into a full directory succeeded")
	}

	// Change.
	cs, err := backupdata.Change(root, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(cs)
	after := manifest(t, root)
	var changed, created, deleted, sameSize int
	for path, e := range m {
		a, ok := after[path]
		switch {
		case !ok:
			deleted++
		case a.sum != e.sum:
			changed++
			if a.size == e.size {
				sameSize++
			}
			if !a.modTime.After(e.modTime) {
				t.Errorf("%s changed but its time %v is not after %v", path, a.modTime, e.modTime)
			}
		case a.modTime != e.modTime:
			t.Errorf("%s unchanged but its time moved", path)
		}
	}
	for path := range after {
		if _, ok := m[path]; !ok {
			created++
		}
	}
	want := int(math.Round(0.05 * float64(o.Files)))
	if got := changed + created + deleted; got != want || cs.Changed() != want {
		t.Errorf("%d files changed, created or deleted (summary %d), want %d", got, cs.Changed(), want)
	}
	if created == 0 || deleted == 0 || sameSize == 0 || sameSize == changed ||
		created != cs.Created || deleted != cs.Deleted || sameSize != cs.Edited {
		t.Errorf("changed %d (%d of the same size), created %d, deleted %d; summary %v", changed, sameSize, created, deleted, cs)
	}
	if _, err := backupdata.Change(root, o); err == nil || !strings.Contains(err.Error(), "changed before") {
		t.Errorf("second Change: %v, want a refusal", err)
	}
	if !sameManifest(after, manifest(t, root)) {
		t.Error("the refused Change touched the tree")
	}
}

func sameManifest(a, b map[string]manifestEntry) bool {
	if len(a) != len(b) {
		return false
	}
	for p, e := range a {
		if f, ok := b[p]; !ok || f.sum != e.sum || f.size != e.size || !f.modTime.Equal(e.modTime) {
			return false
		}
	}
	return true
}
