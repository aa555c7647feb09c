package transfer

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ferry/internal/filter"
)

// listFile writes a --files-from list and returns its name.
func listFile(t *testing.T, content string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "files")
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestFilesFromLooksUp: with --files-from the engine looks up each listed
// path on both sides and lists no directory at all; a listed path the
// source lacks is skipped without an error (a sync deletes it from the
// destination, as its walk would); paths not listed are untouched.
func TestFilesFromLooksUp(t *testing.T) {
	f := factories()[0]
	inSrc, inDst := f.new(t), f.new(t)
	big := tree{}
	for i := range 200 {
		big[filepath.Join("big", string(rune('a'+i%26)), time.Duration(i).String()+".dat")] = file{data: "x"}
	}
	big["keep/a.txt"] = file{data: "a"}
	big["keep/deep/b.txt"] = file{data: "b"}
	big["top.txt"] = file{data: "t"}
	put(t, inSrc, "", big)
	put(t, inDst, "", tree{"gone.txt": {data: "g"}, "other.txt": {data: "o"}})
	src, dst := &listCounting{Backend: inSrc}, &listCounting{Backend: inDst}
	opts, rec := filteredOptions(t, filter.Options{FilesFrom: []string{listFile(t, "# three files\nkeep/a.txt\n/keep/deep/b.txt\ntop.txt\nmissing.txt\ngone.txt\nkeep\n../escape\n")}})
	if err := Copy(t.Context(), Location{src, ""}, Location{dst, ""}, opts); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"keep/a.txt": "a", "keep/deep/b.txt": "b", "top.txt": "t", "gone.txt": "g", "other.txt": "o"}
	if d := diffMaps(contents(t, inDst, ""), want); d != "" {
		t.Errorf("copy: destination:\n%s", d)
	}
	if n, m := src.lists.Load(), dst.lists.Load(); n != 0 || m != 0 {
		t.Errorf("copy --files-from listed %d source and %d destination directories, want none", n, m)
	}
	if got := rec.paths(Copied); !slices.Equal(got, []string{"keep/a.txt", "keep/deep/b.txt", "top.txt"}) {
		t.Errorf("copied %v", got)
	}

	// A sync deletes a listed file the source lacks, and nothing else.
	flt := opts.Filter
	opts, rec = testOptions(t)
	opts.Filter = flt
	if err := Sync(t.Context(), Location{src, ""}, Location{dst, ""}, opts); err != nil {
		t.Fatal(err)
	}
	delete(want, "gone.txt")
	if d := diffMaps(contents(t, inDst, ""), want); d != "" {
		t.Errorf("sync: destination:\n%s", d)
	}
	if got := rec.paths(Deleted); !slices.Equal(got, []string{"gone.txt"}) {
		t.Errorf("sync deleted %v", got)
	}

	// check sees the listed files only.
	res, err := Check(t.Context(), Location{src, ""}, Location{dst, ""}, CheckOptions{Filter: flt})
	if err != nil || res.Matches != 3 || res.MissingOnSrc != 0 || res.MissingOnDst != 0 {
		t.Errorf("check --files-from: %+v, %v", res, err)
	}
	if n := src.lists.Load(); n != 0 {
		t.Errorf("listed %d source directories", n)
	}
}

// TestExcludeIfPresent: a source directory holding the marker is
// excluded with everything below it, on both sides (a sync deletes
// nothing there), and so is the whole run when the root holds it.
func TestExcludeIfPresent(t *testing.T) {
	f := factories()[0]
	src, dst := f.new(t), f.new(t)
	put(t, src, "", tree{
		"dir1/file1": {data: "1"}, "dir1/dir2/file2": {data: "2"},
		"dir1/dir2/dir3/file3": {data: "3"}, "dir1/dir2/dir3/.ignore": {data: ""},
		"dir1/skipdir/marker/x": {data: "d"}, "dir1/skipdir/y": {data: "y"},
	})
	put(t, dst, "", tree{"dir1/dir2/dir3/old": {data: "old"}, "dir1/skipdir/z": {data: "z"}})
	opts, _ := filteredOptions(t, filter.Options{ExcludeIfPresent: []string{".ignore", "marker/"}})
	if err := Sync(t.Context(), Location{src, ""}, Location{dst, ""}, opts); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"dir1/file1": "1", "dir1/dir2/file2": "2", "dir1/dir2/dir3/old": "old", "dir1/skipdir/z": "z"}
	if d := diffMaps(contents(t, dst, ""), want); d != "" {
		t.Errorf("destination:\n%s", d)
	}

	put(t, src, "", tree{".ignore": {data: ""}, "new.txt": {data: "n"}})
	flt := opts.Filter
	opts, rec := testOptions(t)
	opts.Filter = flt
	if err := Sync(t.Context(), Location{src, ""}, Location{dst, ""}, opts); err != nil {
		t.Fatal(err)
	}
	if d := diffMaps(contents(t, dst, ""), want); d != "" || len(rec.events) != 0 {
		t.Errorf("a marker in the root: destination:\n%s\nevents %v", d, rec.events)
	}
}

// TestAgeFilter: --max-age and --min-age select files by mtime on both
// sides; directories are not aged.
func TestAgeFilter(t *testing.T) {
	f := factories()[0]
	src, dst := f.new(t), f.new(t)
	now := time.Now()
	put(t, src, "", tree{
		"old/new.txt": {data: "n", mtime: now.Add(-time.Hour)},
		"old/old.txt": {data: "o", mtime: now.Add(-10 * 24 * time.Hour)},
		"mid.txt":     {data: "m", mtime: now.Add(-3 * 24 * time.Hour)},
	})
	put(t, dst, "", tree{"stale.txt": {data: "s", mtime: now.Add(-30 * 24 * time.Hour)}})
	opts, _ := filteredOptions(t, filter.Options{MaxAge: "7d", Now: now})
	if err := Sync(t.Context(), Location{src, ""}, Location{dst, ""}, opts); err != nil {
		t.Fatal(err)
	}
	if d := diffMaps(contents(t, dst, ""), map[string]string{"old/new.txt": "n", "mid.txt": "m", "stale.txt": "s"}); d != "" {
		t.Errorf("--max-age 7d: destination:\n%s", d)
	}
	dst2 := f.new(t)
	opts, _ = filteredOptions(t, filter.Options{MinAge: "2d", MaxAge: "5d", Now: now})
	if err := Copy(t.Context(), Location{src, ""}, Location{dst2, ""}, opts); err != nil {
		t.Fatal(err)
	}
	if d := diffMaps(contents(t, dst2, ""), map[string]string{"mid.txt": "m"}); d != "" {
		t.Errorf("--min-age 2d --max-age 5d: destination:\n%s", d)
	}
}

// TestFilesFromStrict: with --files-from-strict a listed path the source
// lacks fails the run, naming it; the listed files that exist are still
// copied, and a sync deletes nothing.
func TestFilesFromStrict(t *testing.T) {
	f := factories()[0]
	src, dst := f.new(t), f.new(t)
	put(t, src, "", tree{"a.txt": {data: "a"}})
	put(t, dst, "", tree{"gone.txt": {data: "g"}})
	list := listFile(t, "a.txt\ngone.txt\n")
	for _, run := range []struct {
		name string
		fn   func(ctx context.Context, src, dst Location, opts Options) error
	}{{"copy", Copy}, {"sync", Sync}} {
		opts, _ := filteredOptions(t, filter.Options{FilesFrom: []string{list}, FilesFromStrict: true})
		err := run.fn(t.Context(), Location{src, ""}, Location{dst, ""}, opts)
		if err == nil || !strings.Contains(err.Error(), "gone.txt") {
			t.Errorf("%s --files-from-strict: err = %v, want one naming gone.txt", run.name, err)
		}
		want := map[string]string{"a.txt": "a", "gone.txt": "g"}
		if d := diffMaps(contents(t, dst, ""), want); d != "" {
			t.Errorf("%s: destination:\n%s", run.name, d)
		}
	}
}
