package filter

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeTemp writes content to a new file and returns its name.
func writeTemp(t *testing.T, content string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "list")
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// checkFiles checks which of paths (files) opts lets through.
func checkFiles(t *testing.T, opts Options, want map[string]bool) {
	t.Helper()
	f, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	for p, w := range want {
		if got := f.IncludeFile(p, 1); got != w {
			t.Errorf("IncludeFile(%q) = %v, want %v\n%s", p, got, w, f.Dump())
		}
	}
}

// TestRuleOrder: rclone's order of precedence, whatever the order of the
// flags: --include, --include-from, --exclude, --exclude-from, --filter,
// --filter-from, then the "- **" an --include or --include-from implies
// (a "+" --filter implies nothing; "!" clears the rules before it but
// not that implied one).
func TestRuleOrder(t *testing.T) {
	t.Run("include before exclude", func(t *testing.T) {
		opts := Options{Exclude: []string{"*.jpg"}, Include: []string{"a.jpg"}}
		checkFiles(t, opts, map[string]bool{"a.jpg": true, "b.jpg": false, "c.txt": false})
		if f, _ := New(opts); len(f.Warnings()) != 1 {
			t.Errorf("mixing --include and --exclude: warnings %q", f.Warnings())
		}
		if f, _ := New(Options{Include: []string{"a"}, Filter: []string{"- b"}}); len(f.Warnings()) != 0 {
			t.Errorf("--include with --filter: warnings %q", f.Warnings())
		}
	})
	t.Run("exclude before filter", func(t *testing.T) {
		checkFiles(t, Options{Filter: []string{"+ *.tmp"}, Exclude: []string{"*.tmp"}},
			map[string]bool{"a.tmp": false, "b.txt": true})
	})
	t.Run("filter in order, no implied exclude", func(t *testing.T) {
		checkFiles(t, Options{Filter: []string{"- secret*.jpg", "+ *.jpg"}},
			map[string]bool{"secret1.jpg": false, "a.jpg": true, "a.txt": true})
	})
	t.Run("filter before filter-from", func(t *testing.T) {
		checkFiles(t, Options{FilterFrom: []string{writeTemp(t, "- *.jpg\n")}, Filter: []string{"+ a.jpg"}},
			map[string]bool{"a.jpg": true, "b.jpg": false})
	})
	t.Run("include-from implies exclude the rest", func(t *testing.T) {
		// The docs' include-file.txt.
		name := writeTemp(t, "# a sample include rule file\n*.jpg\nfile2.avi\n")
		checkFiles(t, Options{IncludeFrom: []string{name}},
			map[string]bool{"x/a.jpg": true, "file2.avi": true, "file1.avi": false})
	})
	t.Run("include before include-from before exclude-from", func(t *testing.T) {
		checkFiles(t, Options{
			ExcludeFrom: []string{writeTemp(t, "*.jpg\n")},
			IncludeFrom: []string{writeTemp(t, "b.jpg\n")},
			Include:     []string{"a.*"},
		}, map[string]bool{"a.jpg": true, "b.jpg": true, "c.jpg": false, "a.txt": true})
	})
	t.Run("exclude-from", func(t *testing.T) {
		// The docs' exclude-file.txt.
		name := writeTemp(t, "# a sample exclude rule file\n*.bak\n  file2.jpg  \n\n; comment\n")
		checkFiles(t, Options{ExcludeFrom: []string{name}},
			map[string]bool{"a.bak": false, "d/file2.jpg": false, "file1.jpg": true})
	})
	t.Run("bang clears includes, not the implied exclude", func(t *testing.T) {
		checkFiles(t, Options{Include: []string{"*.txt"}, Filter: []string{"!", "+ *.jpg"}},
			map[string]bool{"a.jpg": true, "a.txt": false})
	})
	t.Run("filter-from docs example", func(t *testing.T) {
		name := writeTemp(t, `# a sample filter rule file
- secret*.jpg
+ *.jpg
+ *.png
+ file2.avi
- /dir/Trash/**
+ /dir/**
# exclude everything else
- *
`)
		checkFiles(t, Options{FilterFrom: []string{name}}, map[string]bool{
			"file1.jpg": true, "x/file3.png": true, "file2.avi": true, "secret17.jpg": false,
			"dir/a.txt": true, "dir/Trash/a.txt": false, "other.txt": false,
		})
	})
	t.Run("bang in a filter file", func(t *testing.T) {
		name := writeTemp(t, "+ *.jpg\n+ *.gif\n!\n+ 42.doc\n- *\n")
		checkFiles(t, Options{FilterFrom: []string{name}},
			map[string]bool{"42.doc": true, "a.jpg": false, "a.gif": false})
	})
	t.Run("directory rules from --filter", func(t *testing.T) {
		f, err := New(Options{Filter: []string{"- /dir1/", "+ *.pdf", "- **"}})
		if err != nil {
			t.Fatal(err)
		}
		if f.IncludeDir("dir1") || !f.IncludeDir("dir3") || f.IncludeFile("dir1/a.pdf", 1) || !f.IncludeFile("dir3/a.pdf", 1) || f.IncludeFile("a.txt", 1) {
			t.Errorf("rules:\n%s", f.Dump())
		}
	})
}

// TestRulesFromStdin: "-" reads the rules from stdin.
func TestRulesFromStdin(t *testing.T) {
	checkFiles(t, Options{ExcludeFrom: []string{"-"}, Stdin: strings.NewReader("*.tmp\n")},
		map[string]bool{"a.tmp": false, "a.txt": true})
	checkFiles(t, Options{FilterFrom: []string{"-"}, Stdin: strings.NewReader("- *.jpg\n")},
		map[string]bool{"a.jpg": false, "a.txt": true})
}

func TestRuleErrors(t *testing.T) {
	tests := []struct {
		opts Options
		want string
	}{
		{Options{Filter: []string{"*.jpg"}}, `--filter "*.jpg"`},
		{Options{Filter: []string{"+ a[b"}}, `--filter "+ a[b"`},
		{Options{IncludeFrom: []string{writeTemp(t, "ok\na{b\n")}}, "list:2"},
		{Options{ExcludeFrom: []string{filepath.Join(t.TempDir(), "missing")}}, "--exclude-from"},
		{Options{FilesFrom: []string{writeTemp(t, "a\n")}, Exclude: []string{"*.tmp"}}, "--files-from"},
		{Options{FilesFromRaw: []string{writeTemp(t, "a\n")}, MinSize: 10}, "--files-from"},
		{Options{FilesFrom: []string{writeTemp(t, "a\n")}, MaxAge: "1d"}, "--files-from"},
		{Options{FilesFrom: []string{writeTemp(t, "a\n")}, ExcludeIfPresent: []string{".ignore"}}, "--files-from"},
		{Options{MaxAge: "soon"}, "--max-age"},
		{Options{MinAge: "2d", MaxAge: "1d"}, "--min-age"},
		{Options{ExcludeIfPresent: []string{"a/b"}}, "--exclude-if-present"},
	}
	for _, tc := range tests {
		if _, err := New(tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) error %v, want one containing %q", tc.opts, err, tc.want)
		}
	}
}

// TestFilesFrom: only the listed paths pass, and the directories holding
// them; --files-from trims lines and skips comments and blank lines,
// --files-from-raw takes every line as it is; leading "/" is dropped.
func TestFilesFrom(t *testing.T) {
	list := writeTemp(t, "# comment\n  file1.jpg  \n\n/subdir/file2.jpg\n; other comment\nfile1.jpg\na/b/c/d.txt\n")
	raw := writeTemp(t, " spaced \n#hash\n")
	nul := writeTemp(t, "new\nline\x00last")
	f, err := New(Options{FilesFrom: []string{list}, FilesFromRaw: []string{raw}, FilesFrom0: []string{nul}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"file1.jpg", "subdir/file2.jpg", "a/b/c/d.txt", " spaced ", "#hash", "new\nline", "last"}
	if got := f.Files(); !slices.Equal(got, want) {
		t.Errorf("Files() = %q, want %q", got, want)
	}
	for p, w := range map[string]bool{"file1.jpg": true, "subdir/file2.jpg": true, " spaced ": true, "#hash": true, "spaced": false, "file2.jpg": false, "comment": false} {
		if got := f.Include(p, 1, time.Now()); got != w {
			t.Errorf("Include(%q) = %v, want %v", p, got, w)
		}
	}
	for p, w := range map[string]bool{"subdir": true, "a": true, "a/b": true, "a/b/c": true, "other": false, "a/x": false} {
		if got := f.IncludeDir(p); got != w {
			t.Errorf("IncludeDir(%q) = %v, want %v", p, got, w)
		}
	}
	if !f.Active() || !f.HasFiles() {
		t.Error("a files-from filter is not active")
	}
	g, err := New(Options{FilesFrom: []string{writeTemp(t, "# nothing\n")}})
	if err != nil || !g.HasFiles() || g.IncludeFile("a", 1) || g.IncludeDir("d") {
		t.Errorf("an empty list lets things through (%v)", err)
	}
	for p, w := range map[string]bool{"a/b": true, "a": true, "a//b": false, "./a": false, "a/../b": false, "..": false, "": false} {
		if Clean(p) != w {
			t.Errorf("Clean(%q) = %v", p, !w)
		}
	}
}

func TestParseAge(t *testing.T) {
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"", time.Time{}},
		{"off", time.Time{}},
		{"90", now.Add(-90 * time.Second)},
		{"1.5h", now.Add(-90 * time.Minute)},
		{"100ms", now.Add(-100 * time.Millisecond)},
		{"10m", now.Add(-10 * time.Minute)},
		{"2d", now.Add(-48 * time.Hour)},
		{"1w", now.Add(-7 * 24 * time.Hour)},
		{"1M", now.Add(-30 * 24 * time.Hour)},
		{"1y", now.Add(-365 * 24 * time.Hour)},
		{"1d12h", now.Add(-36 * time.Hour)},
		{"2026-01-02", time.Date(2026, 1, 2, 0, 0, 0, 0, time.Local)},
		{"2026-01-02 15:04:05", time.Date(2026, 1, 2, 15, 4, 5, 0, time.Local)},
		{"2026-01-02T15:04:05Z", time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)},
		{"2026-01-02T15:04:05+02:00", time.Date(2026, 1, 2, 13, 4, 5, 0, time.UTC)},
	}
	for _, tc := range tests {
		got, err := ParseAge(tc.in, now)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseAge(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"soon", "1x", "-1", "d", "2026-13-01", "1d-2h"} {
		if _, err := ParseAge(bad, now); err == nil {
			t.Errorf("ParseAge(%q): no error", bad)
		}
	}
}

// TestAges: --max-age keeps files modified at or after now-age,
// --min-age those at or before; directories are not aged.
func TestAges(t *testing.T) {
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	f, err := New(Options{MaxAge: "10d", MinAge: "1d", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	for age, w := range map[time.Duration]bool{
		0: false, 23 * time.Hour: false, 24 * time.Hour: true, 5 * 24 * time.Hour: true,
		10 * 24 * time.Hour: true, 10*24*time.Hour + time.Second: false,
	} {
		if got := f.Include("a", 1, now.Add(-age)); got != w {
			t.Errorf("file %v old: %v, want %v", age, got, w)
		}
	}
	if !f.IncludeDir("old") || !f.Active() {
		t.Error("directories are aged, or the filter is inactive")
	}
	g, err := New(Options{MaxAge: "2026-06-01"})
	if err != nil {
		t.Fatal(err)
	}
	if g.Include("a", 1, time.Date(2026, 5, 31, 0, 0, 0, 0, time.Local)) || !g.Include("a", 1, time.Date(2026, 6, 2, 0, 0, 0, 0, time.Local)) {
		t.Error("--max-age DATE keeps files modified before the date")
	}
}

func TestIgnoreCase(t *testing.T) {
	checkFiles(t, Options{Include: []string{"zaphod.txt"}},
		map[string]bool{"zaphod.txt": true, "Zaphod.txt": false})
	checkFiles(t, Options{Include: []string{"zaphod.txt", "/Photos/*.JPG"}, IgnoreCase: true},
		map[string]bool{"zaphod.txt": true, "d/Zaphod.TXT": true, "photos/a.jpg": true, "x/photos/a.jpg": false})
	f, err := New(Options{Include: []string{"/Photos/*.JPG"}, IgnoreCase: true})
	if err != nil {
		t.Fatal(err)
	}
	if !f.IncludeDir("PHOTOS") || f.IncludeDir("music") {
		t.Error("--ignore-case: the implied directory rules keep case")
	}
}

func TestMarkers(t *testing.T) {
	f, err := New(Options{ExcludeIfPresent: []string{".ignore", "dir3/"}})
	if err != nil {
		t.Fatal(err)
	}
	if !f.IsMarker(".ignore", false) || f.IsMarker(".ignore", true) || !f.IsMarker("dir3", true) || f.IsMarker("dir3", false) || f.IsMarker("x", false) || !f.Active() {
		t.Errorf("markers %q", f.Markers())
	}
	var nilF *Filter
	if nilF.IsMarker(".ignore", false) || nilF.Markers() != nil || nilF.Files() != nil || nilF.HasFiles() {
		t.Error("a nil filter has markers or files")
	}
}

func TestDump(t *testing.T) {
	f, err := New(Options{Include: []string{"/a/*.jpg"}, MinSize: 1024, MaxAge: "2026-01-02T00:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	got := f.Dump()
	for _, want := range []string{
		"--- start filters ---\n", "Last-modified date must be equal or greater than: 2026-01-02 00:00:00 +0000 UTC\n",
		"Minimum size is: 1024 B\n",
		"--- File filter rules ---\n+ ^a/[^/]*\\.jpg$\n- ^.*$\n--- Directory filter rules ---\n+ ^a/$\n- ^.*$\n--- end filters ---\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Dump() lacks %q:\n%s", want, got)
		}
	}
}

// TestGlobRegexpsAndClasses: the examples of rclone's pattern table
// that go beyond plain globs: \d classes, [[:punct:]], {{regexp}}; and
// an include rule whose directories cannot be told still lets the walk
// into every directory.
func TestGlobRegexpsAndClasses(t *testing.T) {
	tests := []struct {
		glob string
		path string
		want bool
	}{
		{`*.\d\d\d`, "file.012", true},
		{`*.\d\d\d`, "dir/file.345", true},
		{`*.\d\d\d`, "file.abc", false},
		{`*.\?\?\?`, "file.???", true},
		{`*.\?\?\?`, "file.abc", false},
		{"*.{{jpe?g}}", "file.jpeg", true},
		{"*.{{jpe?g}}", "dir/file.jpg", true},
		{"*.{{jpe?g}}", "file.png", false},
		{"*.{{jpe?g}}", "dir/file.jpeeg", false},
		{"*.{{(?i)jpg}}", "file.JPG", true},
		{"{{start[^/]*end\\.jpg}}", "startXend.jpg", true},
		{"{{start[^/]*end\\.jpg}}", "start/end.jpg", false},
		{"??[^[:punct:]]*", "wheat/abc", true},
		{"??[^[:punct:]]*", "ab.c", false},
		{"[[:alpha:]]1", "x1", true},
		{"[[:alpha:]]1", "71", false},
	}
	for _, tc := range tests {
		re, err := globRegexp(tc.glob, false)
		if err != nil {
			t.Errorf("%q: %v", tc.glob, err)
			continue
		}
		if got := re.MatchString(tc.path); got != tc.want {
			t.Errorf("%q matches %q = %v, want %v (regexp %s)", tc.glob, tc.path, got, tc.want, re)
		}
	}
	if _, err := globRegexp("a{{b", false); err == nil {
		t.Error("unclosed {{: no error")
	}
	for _, g := range []string{"/{a/b,c}/*.txt", "/x/{{a.*}}/f"} {
		f, err := New(Options{Include: []string{g}})
		if err != nil {
			t.Fatal(err)
		}
		if !f.IncludeDir("a") || !f.IncludeDir("a/b") || !f.IncludeDir("x") {
			t.Errorf("--include %q keeps the walk out of directories that may hold matches:\n%s", g, f.Dump())
		}
	}
	checkFiles(t, Options{Include: []string{"/{a/b,c}/*.txt"}}, map[string]bool{"a/b/x.txt": true, "c/y.txt": true, "d/z.txt": false})
}
